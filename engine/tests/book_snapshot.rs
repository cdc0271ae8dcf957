//! `tickforge book`: the books at a moment equal those of an engine fed the same messages
//! directly, and the CLI prints them.

use tickforge_engine::replay::default_capture;
use tickforge_engine::snapshot::{snapshot, Moment};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::{normalize, source::Messages, Capture};
use tickforge_wire::{itch, Side};

fn direct(n: u64) -> Engine {
    let cap = Capture::open(&default_capture()).unwrap();
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    for bytes in Messages::new(cap.format, cap.bytes()).take(n as usize) {
        if let Some(r) = normalize::record(&itch::decode(bytes).unwrap()) {
            out.clear();
            e.apply(&r, &mut out);
        }
    }
    e
}

#[test]
fn snapshots_match_an_engine_fed_directly() {
    for n in [1_000u64, 40_000, 100_040] {
        let snap = snapshot(&default_capture(), Moment::After(n), None, 4).unwrap();
        assert_eq!(snap.messages, n);
        let e = direct(n);
        assert_eq!(snap.books.len(), 8);
        for b in &snap.books {
            assert_eq!(b.bids, e.depth(b.locate, Side::Buy, 4), "{} after {n}", b.symbol);
            assert_eq!(b.asks, e.depth(b.locate, Side::Sell, 4), "{} after {n}", b.symbol);
        }
    }
    let noon = snapshot(&default_capture(), Moment::At(12 * 3_600_000_000_000), Some("msft"), 3).unwrap();
    assert_eq!(noon.books.len(), 1);
    assert_eq!(noon.books[0].symbol, "MSFT");
    assert!(noon.last_timestamp_ns <= 12 * 3_600_000_000_000);
    assert!(snapshot(&default_capture(), Moment::End, Some("NOPE"), 3).is_err());
}

#[test]
fn the_cli_prints_a_book() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args([
            "book",
            default_capture().to_str().unwrap(),
            "--symbol",
            "AAPL",
            "--at",
            "12:00:00",
            "--levels",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["books"][0]["symbol"], "AAPL");
    assert_eq!(v["books"][0]["bids"].as_array().unwrap().len(), 3);
    assert_eq!(v["unknown_refs"], 0);
}
