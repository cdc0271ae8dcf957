//! `tickforge capture stats` end to end: the real binary on real and broken files.

use std::process::Command;

fn tickforge(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickforge")).args(args).output().expect("run tickforge")
}

fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared/{rel} not found");
        None
    }
}

#[test]
fn json_report_of_a_real_pcap_with_a_vlan_tag() {
    let Some(p) = shared("captures/pcap/nasdaq-totalview-itch50-20230822/OrderExecuted.pcap") else { return };
    let out = tickforge(&["capture", "stats", "--json", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["messages"], 5);
    assert_eq!(v["by_type"]["E"], 5);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["format"], "pcap");
    assert_eq!(v["first_timestamp_ns"], 34_199_999_934_561u64);
}

#[test]
fn table_report_and_malformed_messages_with_offsets() {
    let dir = std::env::temp_dir().join(format!("tf-stats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("broken.itch");
    // One good Order Delete, one with a wrong length, then a truncated tail.
    let mut bytes = vec![0, 19, b'D'];
    bytes.extend_from_slice(&[0; 18]);
    bytes.extend_from_slice(&[0, 5, b'D', 1, 2, 3, 4]);
    bytes.extend_from_slice(&[0, 40, b'A', 1]);
    std::fs::write(&f, &bytes).unwrap();
    let out = tickforge(&["capture", "stats", f.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("messages    1"), "{text}");
    assert!(text.contains("errors      2"), "{text}");
    assert!(text.contains("first error at offset 23: message type 'D' needs 19 bytes, got 5"), "{text}");
    assert!(text.contains("order_delete_message"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = tickforge(&["capture", "stats", "/nonexistent/file.itch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/file.itch") && err.contains("No such file"), "{err}");
}
