//! Book building from the real ITCH files in `../shared/captures/itch/`: every message goes
//! through the normaliser into the engine. The RITCH test file is sampled and obfuscated, so
//! references to orders it never added must be counted (PROVENANCE: 117 E/X/D/U messages
//! precede their Add), never fatal.

use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::{normalize, shared};
use tickforge_wire::{binaryfile, itch};

fn build(path: &std::path::Path) -> Engine {
    let bytes = std::fs::read(path).unwrap();
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::with_capacity(64);
    for f in binaryfile::Reader::new(&bytes) {
        let m = itch::decode(f.unwrap().bytes).unwrap();
        if let Some(r) = normalize::record(&m) {
            out.clear();
            e.apply(&r, &mut out);
        }
    }
    e.check_invariants().unwrap();
    e
}

#[test]
fn unknown_references_in_the_sampled_test_file_are_counted() {
    let Some(p) = shared::require("captures/itch/ex20101224.TEST_ITCH_50", "ITCH book building") else { return };
    let e = build(&p);
    let s = e.stats();
    assert_eq!(s.unknown_refs, 117, "{s:?}");
    assert_eq!(s.duplicate_adds, 0);
    assert!(e.order_count() > 0);
    // Determinism: the same file, the same book.
    assert_eq!(build(&p).state_hash(), e.state_hash());
}

#[test]
fn the_real_nasdaq_messages_build_books() {
    let Some(p) =
        shared::require("captures/itch/omi_nasdaq_totalview_itch50_messages.binaryfile", "ITCH book building")
    else {
        return;
    };
    let e = build(&p);
    let s = e.stats();
    // 42 A + 7 F adds; the E/C/X/D/U messages are samples from elsewhere in the day.
    assert!(e.order_count() <= 49, "{s:?}");
    assert_eq!(s.records, 42 + 7 + 6 + 5 + 5 + 7 + 6 + 5 + 5 + 6, "book-related messages only: {s:?}");
}

/// A long generated day keeps a realistic book: orders live and die around an equilibrium
/// (2,000 resting per symbol) instead of piling up, and the book stays consistent throughout.
#[test]
fn a_long_generated_day_keeps_a_bounded_consistent_book() {
    let bytes = tickforge_feed::generate::generate(&tickforge_feed::generate::GenerateConfig {
        messages: 400_000,
        symbols: 2,
        seed: 5,
    });
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    let mut peak = 0;
    for f in binaryfile::Reader::new(&bytes) {
        if let Some(r) = normalize::record(&itch::decode(f.unwrap().bytes).unwrap()) {
            out.clear();
            e.apply(&r, &mut out);
            peak = peak.max(e.order_count());
        }
    }
    assert_eq!(e.stats().unknown_refs, 0);
    // The halted symbol's messages are all adds for 1/50 of the day (up to 4,000 more orders).
    assert!(peak > 3_000 && peak < 9_000, "2 symbols x 2,000 resting orders, peak {peak}");
    assert!(e.order_count() < 4_800, "back to the equilibrium by the close: {}", e.order_count());
    e.check_invariants().unwrap();
}

/// `Engine::apply_itch` (one dispatch) against decode + normalise + `apply`: the same outputs
/// after every message (book changes on), the same counters and the same final books, on a
/// generated day and on the real files when `../shared` is present.
#[test]
fn apply_itch_is_decode_normalise_apply() {
    fn compare(bytes: &[u8], what: &str) {
        let mut a = Engine::new(EngineConfig::default());
        let mut b = Engine::new(EngineConfig::default());
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        for (i, f) in binaryfile::Reader::new(bytes).enumerate() {
            let m = f.unwrap().bytes;
            out_a.clear();
            out_b.clear();
            let decoded = itch::decode(m);
            if let Ok(Some(r)) = decoded.as_ref().map(normalize::record) {
                a.apply(&r, &mut out_a);
            }
            assert_eq!(b.apply_itch(m, &mut out_b).err(), decoded.err(), "{what}: message {i}");
            assert_eq!(out_a, out_b, "{what}: outputs of message {i}");
        }
        assert_eq!(a.stats(), b.stats(), "{what}");
        assert_eq!(a.state_hash(), b.state_hash(), "{what}");
    }
    let day = tickforge_feed::generate::generate(&tickforge_feed::generate::GenerateConfig {
        messages: 100_000,
        symbols: 3,
        seed: 11,
    });
    compare(&day, "generated day");
    for name in ["ex20101224.TEST_ITCH_50", "omi_nasdaq_totalview_itch50_messages.binaryfile"] {
        if let Some(p) = shared::require(&format!("captures/itch/{name}"), "apply_itch on real files") {
            compare(&std::fs::read(p).unwrap(), name);
        }
    }
}
