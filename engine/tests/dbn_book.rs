//! Book building from Databento MBO actions: the shared DBN files apply cleanly, and each
//! action does what Databento documents (modify keeps priority only for a smaller size at the
//! same price; fill reduces the resting order; clear empties the book).

use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::dbn::{self, Mbo};
use tickforge_wire::Side;

fn apply(e: &mut Engine, m: &Mbo) {
    let mut out = Vec::new();
    if let Some(r) = dbn::to_record(m, 0) {
        e.apply(&r, &mut out);
    }
    e.check_invariants().unwrap();
}

fn mbo(action: u8, side: u8, id: u64, price_dollars: i64, size: u32) -> Mbo {
    Mbo {
        instrument_id: 5482,
        publisher_id: 1,
        ts_event: 1_609_160_400_000_000_000,
        order_id: id,
        price: price_dollars * 1_000_000_000,
        size,
        flags: 0,
        channel_id: 0,
        action,
        side,
        ts_recv: 0,
        sequence: 0,
    }
}

#[test]
fn mbo_actions_mirror_the_documented_semantics() {
    let mut e = Engine::new(EngineConfig::default());
    apply(&mut e, &mbo(b'A', b'B', 1, 3720, 10));
    apply(&mut e, &mbo(b'A', b'B', 2, 3720, 5));
    let ids = |e: &Engine| e.orders(0, Side::Buy).iter().map(|o| (o.id, o.visible)).collect::<Vec<_>>();
    apply(&mut e, &mbo(b'M', b'B', 1, 3720, 8));
    assert_eq!(ids(&e), vec![(1, 8), (2, 5)], "smaller size at the same price keeps priority");
    apply(&mut e, &mbo(b'M', b'B', 1, 3720, 9));
    assert_eq!(ids(&e), vec![(2, 5), (1, 9)], "a larger size goes to the back");
    apply(&mut e, &mbo(b'F', b'B', 2, 3720, 2));
    apply(&mut e, &mbo(b'T', b'A', 0, 3720, 2));
    assert_eq!(ids(&e), vec![(2, 3), (1, 9)]);
    apply(&mut e, &mbo(b'C', b'B', 2, 3720, 3));
    assert_eq!(ids(&e), vec![(1, 9)]);
    assert_eq!(e.top_of_book(0).bid.unwrap().price, 37_200_000, "Price(4): $3,720.0000");
    apply(&mut e, &mbo(b'R', b'N', 0, 0, 0));
    assert_eq!(e.order_count(), 0);
    assert_eq!(e.stats().unknown_refs, 0);
}

#[test]
fn the_shared_dbn_files_build_books() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/dbn");
    if !dir.exists() {
        eprintln!("SKIPPED: ../shared/captures/dbn not found");
        return;
    }
    for name in ["test_data.mbo.dbn", "test_data.mbo.v3.dbn", "test_data.mbo.v3.dbn.zst"] {
        let raw = std::fs::read(dir.join(name)).unwrap();
        let (_, records) = dbn::read_mbo(&dbn::decompress(&raw).unwrap()).unwrap();
        let mut e = Engine::new(EngineConfig::default());
        for m in &records {
            apply(&mut e, m);
        }
        // Two records of a CME ESH1 sample, both about orders that started before the sample:
        // counted as unknown, never a panic.
        let s = e.stats();
        assert_eq!(s.records as usize, records.iter().filter(|m| dbn::to_record(m, 0).is_some()).count(), "{name}");
        assert!(s.unknown_refs as usize <= records.len(), "{name}: {s:?}");
    }
}
