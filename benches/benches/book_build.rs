//! Book building from a large generated capture: every message of a 20-million-message ITCH
//! 5.0 day decoded, normalised and applied to L3 books on one thread, beside the `itchy` crate
//! *parsing* the same bytes (no book) in the same run. All read from memory.
//!
//! Two ways of ours: `Engine::apply_itch` (what book building uses: one dispatch on the type
//! byte, the record built and applied in the same arm) and the general path (`itch::decode`,
//! `normalize::record`, `Engine::apply`: two dispatches). Both must end with the same state hash.
//!
//! `cargo bench -p tickforge-benches --bench book_build` generates the capture once into
//! `target/tickforge-20m.itch` (seed 20, 8 symbols; `TF_BOOK_BUILD_MESSAGES` changes the size)
//! and prints a Markdown table: ns per message and messages/s, median of 5 runs each. Before
//! timing it checks both sides count the same messages and that our books end with zero unknown
//! references.

use std::time::Instant;
use tickforge_benches::median;
use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::{normalize, source::Messages, Format};
use tickforge_wire::{itch, Record};

fn build_fused(bytes: &[u8]) -> (u64, Engine) {
    let mut engine = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
    let mut out: Vec<Record> = Vec::with_capacity(16);
    let mut n = 0u64;
    for m in Messages::new(Format::BinaryFile, bytes) {
        n += 1;
        out.clear();
        let _ = engine.apply_itch(m, &mut out);
    }
    (n, engine)
}

fn build(bytes: &[u8]) -> (u64, Engine) {
    let mut engine = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
    let mut out: Vec<Record> = Vec::with_capacity(16);
    let mut n = 0u64;
    for m in Messages::new(Format::BinaryFile, bytes) {
        n += 1;
        if let Ok(msg) = itch::decode(m) {
            if let Some(r) = normalize::record(&msg) {
                out.clear();
                engine.apply(&r, &mut out);
            }
        }
    }
    (n, engine)
}

fn itchy_parse(bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    for m in itchy::MessageStream::from_reader(bytes).flatten() {
        std::hint::black_box(&m);
        n += 1;
    }
    n
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / test harness probing
    }
    let messages: u64 = std::env::var("TF_BOOK_BUILD_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000_000);
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join(format!("tickforge-{}m.itch", messages / 1_000_000));
    if !path.exists() {
        eprintln!("generating {} ({messages} messages, seed 20) ...", path.display());
        let bytes = tickforge_feed::generate::generate(&tickforge_feed::generate::GenerateConfig {
            messages,
            symbols: 8,
            seed: 20,
        });
        std::fs::write(&path, bytes).expect("write the capture");
    }
    let bytes = std::fs::read(&path).expect("read the capture");
    let (ours_n, engine) = build_fused(&bytes);
    let (general_n, general) = build(&bytes);
    let theirs_n = itchy_parse(&bytes);
    assert_eq!(ours_n, theirs_n, "both must see every message");
    assert_eq!(general_n, theirs_n, "both must see every message");
    assert_eq!(engine.stats().unknown_refs, 0, "a consistent capture rebuilds with no unknown references");
    assert_eq!(engine.state_hash(), general.state_hash(), "both of our paths must build the same books");
    drop(general);
    eprintln!(
        "{ours_n} messages, {} orders resting at the end, state hash {:016x}",
        engine.order_count(),
        engine.state_hash()
    );

    let (mut ours, mut general, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let (n, e) = build_fused(&bytes);
        ours.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        std::hint::black_box(e.order_count());
        drop(e);
        let t = Instant::now();
        let (n, e) = build(&bytes);
        general.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        std::hint::black_box(e.order_count());
        drop(e);
        let t = Instant::now();
        let n = itchy_parse(&bytes);
        theirs.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    let (o, g, t) = (median(ours.clone()), median(general.clone()), median(theirs.clone()));
    println!("| {} messages ({:.0} MB), median of 5 | ns per message | messages/s |", ours_n, bytes.len() as f64 / 1e6);
    println!("|---|---|---|");
    println!("| tickforge: `apply_itch` (decode, normalise, L3 books; one dispatch) | {o:.1} | {:.1} M |", 1e3 / o);
    println!("| tickforge: `itch::decode` + `normalize::record` + `Engine::apply` | {g:.1} | {:.1} M |", 1e3 / g);
    println!("| itchy: parse only | {t:.1} | {:.1} M |", 1e3 / t);
    println!(
        "\nruns (ns/msg): apply_itch {ours:.1?}, general path {general:.1?}, itchy {theirs:.1?}; apply_itch takes {:.2}x itchy's time",
        o / t
    );
}
