//! `tickforge replay` on the bundled capture: it runs on a fresh clone (no ../shared needed),
//! finds no unknown references, and gives the same output and state hashes every time.

use std::process::Command;
use tickforge_engine::pipeline::PipelineConfig;
use tickforge_engine::replay;

#[test]
fn the_bundled_capture_replays_deterministically() {
    let path = replay::default_capture();
    assert!(path.exists(), "{} is committed with the repository", path.display());
    let config = PipelineConfig::default();
    let a = replay::replay(&path, &config, None).unwrap();
    let b = replay::replay(&path, &config, None).unwrap();
    assert_eq!(a.messages, 100_040);
    assert_eq!((a.unknown_refs, a.malformed), (0, 0));
    assert!(a.fills > 10_000 && a.resting_orders > 1_000, "{a:?}");
    assert_eq!((a.output_hash.as_str(), a.state_hash.as_str()), (b.output_hash.as_str(), b.state_hash.as_str()));
}

#[test]
fn the_cli_replays_the_bundled_capture_by_default_and_journals_it() {
    let dir = std::env::temp_dir().join(format!("tf-replay-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["replay", "--json", "--journal"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["unknown_refs"], 0);
    // The journal holds every book record, in sequence, and rebuilds the same books.
    let records = v["records"].as_u64().unwrap();
    let check = tickforge_replay::journal::verify(&dir).unwrap();
    assert_eq!((check.records, check.first_seq, check.last_seq), (records, 1, records));
    let mut e = tickforge_engine::Engine::new(tickforge_engine::EngineConfig::default());
    let mut sink = Vec::new();
    for entry in tickforge_replay::journal::JournalReader::open(&dir).unwrap() {
        sink.clear();
        e.apply(&entry.unwrap().record, &mut sink);
    }
    assert_eq!(format!("{:016x}", e.state_hash()), v["state_hash"].as_str().unwrap());
    let again = Command::new(env!("CARGO_BIN_EXE_tickforge")).args(["replay", "--journal"]).arg(&dir).output().unwrap();
    assert!(!again.status.success(), "a journal that already holds records is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
    let _ = std::fs::remove_dir_all(&dir);
}
