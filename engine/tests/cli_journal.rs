//! `tickforge journal verify` and `inspect` on a journal written by the library.

use std::process::Command;
use tickforge_replay::journal::{Journal, JournalConfig, RECORD_ENTRY_LEN};
use tickforge_wire::{Kind, Record, Side};

fn tickforge(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickforge")).args(args).output().unwrap()
}

#[test]
fn verify_inspect_and_corruption() {
    let dir = std::env::temp_dir().join(format!("tf-cli-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut j, _) = Journal::open(&dir, JournalConfig { segment_size: 1 << 16, ..JournalConfig::default() }).unwrap();
    for i in 1..=2_000u64 {
        let mut r = Record::new(Kind::MdAdd);
        r.order_id = i;
        r.side = Side::Buy as u8;
        r.price = 1_000_000 + i as i64;
        r.qty = 100;
        r.ts_event = 34_200_000_000_000 + i;
        j.append(&r).unwrap();
    }
    drop(j);
    let d = dir.to_str().unwrap();
    let out = tickforge(&["journal", "verify", "--json", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["records"].as_u64(), v["last_seq"].as_u64(), v["torn_tail_bytes"].as_u64()),
        (Some(2000), Some(2000), Some(0))
    );
    assert!(v["segments"].as_u64().unwrap() > 1, "64 KiB segments roll");

    let out = tickforge(&["journal", "inspect", d, "--from", "1500", "--count", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].trim_start().starts_with("1500") && lines[0].contains("MdAdd") && lines[0].contains("px 1001500"),
        "{text}"
    );
    assert!(lines[0].contains("09:30:00.000001500"), "{text}");
    let out = tickforge(&["journal", "inspect", d, "--from", "9999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no entry with sequence 9999"));

    // `tail` follows: it prints what is there from --from, then waits for more.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["journal", "tail", d, "--from", "1995"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut l = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut l).unwrap();
        lines.push(l);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lines[0].trim_start().starts_with("1995") && lines[5].trim_start().starts_with("2000"), "{lines:?}");

    // A flipped bit in the first segment: exit 1, naming the file and offset.
    let seg = dir.join("000000000000.tfj");
    let mut bytes = std::fs::read(&seg).unwrap();
    let off = 64 + 10 * RECORD_ENTRY_LEN + 40;
    bytes[off] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    let out = tickforge(&["journal", "verify", d]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("000000000000.tfj")
            && err.contains(&format!("offset {}", 64 + 10 * RECORD_ENTRY_LEN))
            && err.contains("sequence 11"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
