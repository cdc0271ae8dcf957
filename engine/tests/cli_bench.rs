//! `tickforge bench`: a fresh baseline compares clean against itself, and a baseline doctored to
//! be 20 % better than the code makes it exit non-zero, naming what regressed. Instruction
//! counts are the gate, so this holds however loaded the machine is.

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickforge")).arg("bench").args(["--runs", "1"]).args(args).output().unwrap()
}

#[test]
fn a_baseline_gates_regressions_and_passes_itself() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("SKIPPED: valgrind not installed (.ci/run installs it; apt-get install valgrind)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("baseline.json");
    let out = bench(&["--save", base.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    let figures = saved["figures"].as_array().unwrap();
    let names: Vec<&str> = figures.iter().map(|f| f["name"].as_str().unwrap()).collect();
    for want in [
        "icount/add",
        "icount/cancel",
        "icount/cross",
        "icount/decode",
        "icount/book",
        "icount/book_all",
        "icount/build",
        "replay/max/records_per_s",
        "replay/1M/e2e_p99",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let same = bench(&["--baseline", base.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&same.stdout);
    assert!(same.status.success(), "against its own fresh baseline: {text}");
    assert!(text.contains("0 regression(s)"), "{text}");

    // Every figure 20 % better than the code: lower-is-better values cut, rates raised.
    let mut doctored = saved.clone();
    for f in doctored["figures"].as_array_mut().unwrap() {
        let v = f["value"].as_f64().unwrap();
        f["value"] = serde_json::json!(if f["better"] == "lower" { v * 0.8 } else { v * 1.25 });
    }
    let bad = dir.join("doctored.json");
    std::fs::write(&bad, doctored.to_string()).unwrap();
    let worse = bench(&["--baseline", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&worse.stdout);
    assert_eq!(worse.status.code(), Some(1), "{text}");
    assert!(text.contains("REGRESSED") && text.contains("icount/add"), "{text}");

    // Not a baseline: a clear error, exit 2.
    std::fs::write(&bad, "{}").unwrap();
    let broken = bench(&["--baseline", bad.to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("not a tickforge bench baseline"));
    let _ = std::fs::remove_dir_all(&dir);
}
