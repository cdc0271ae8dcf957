//! Engine restart: the matching stage journals every input; rebuilding an engine from the
//! journal gives the state hash the engine had when it stopped, and a restarted pipeline
//! continues the sequence and ends where applying everything in one go would.

use tickforge_engine::pipeline::{self, PipelineConfig};
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig};
use tickforge_replay::journal::{Journal, JournalConfig, JournalReader};
use tickforge_wire::{Kind, Record, Side, TimeInForce};

/// Order entry for two accounts on two instruments: limits that rest and cross, cancels.
fn orders(from: u64, n: u64) -> Vec<Record> {
    (from..from + n)
        .map(|i| {
            let mut r = Record::new(if i % 5 == 4 { Kind::CancelOrder } else { Kind::NewOrder });
            r.session = 1 + (i % 2) as u16;
            r.instrument = (i % 2) as u16;
            if r.kind == Kind::CancelOrder as u8 {
                r.order_id = i - 3;
                r.session = 1 + ((i - 3) % 2) as u16;
                r.instrument = ((i - 3) % 2) as u16;
            } else {
                r.order_id = i;
                r.side = if (i / 2) % 2 == 0 { Side::Buy as u8 } else { Side::Sell as u8 };
                r.price = 10_000 + ((i * 7) % 11) as i64 - 5;
                r.qty = 1 + (i % 9) as u32 * 10;
                r.tif = TimeInForce::Gtc as u8;
            }
            r.ts_event = 34_200_000_000_000 + i;
            r
        })
        .collect()
}

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.add_instrument(0, InstrumentConfig::default());
    e.add_instrument(1, InstrumentConfig::default());
    e
}

fn run(engine: Engine, records: &[Record], journal: &mut Journal) -> Engine {
    let config = PipelineConfig { first_seq: journal.next_seq(), ..PipelineConfig::default() };
    let mut next = 0;
    let report = pipeline::run(
        &config,
        engine,
        |buf: &mut [Record]| {
            let n = buf.len().min(records.len() - next);
            buf[..n].copy_from_slice(&records[next..next + n]);
            next += n;
            n
        },
        |r: &Record| {
            journal.append(r).expect("journal append");
        },
        |_r: &Record| {},
    );
    report.engine
}

fn rebuild(dir: &std::path::Path) -> Engine {
    let mut e = engine();
    let mut out = Vec::new();
    for entry in JournalReader::open(dir).unwrap() {
        out.clear();
        e.apply(&entry.unwrap().record, &mut out);
    }
    e
}

#[test]
fn rebuilding_from_the_journal_gives_the_same_state_and_a_restart_continues() {
    let dir = std::env::temp_dir().join(format!("tf-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = orders(1, 50_000);
    let second = orders(50_001, 30_000);

    let (mut j, _) = Journal::open(&dir, JournalConfig::default()).unwrap();
    let e = run(engine(), &first, &mut j);
    let stopped = e.state_hash();
    assert!(e.stats().fills > 1_000, "the flow must trade: {:?}", e.stats());
    drop(j);
    assert_eq!(rebuild(&dir).state_hash(), stopped, "journal replay differs from the engine that wrote it");

    // Restart: recover, rebuild, continue from the journal's next sequence.
    let (mut j, rec) = Journal::open(&dir, JournalConfig::default()).unwrap();
    assert_eq!((rec.records, rec.next_seq, rec.dropped_bytes), (50_000, 50_001, 0));
    let e = run(rebuild(&dir), &second, &mut j);
    assert_eq!(j.last_seq(), 80_000);
    drop(j);

    let mut direct = engine();
    let mut out = Vec::new();
    for r in first.iter().chain(&second) {
        out.clear();
        direct.apply(r, &mut out);
    }
    assert_eq!(e.state_hash(), direct.state_hash());
    assert_eq!(rebuild(&dir).state_hash(), direct.state_hash());
    let _ = std::fs::remove_dir_all(&dir);
}
