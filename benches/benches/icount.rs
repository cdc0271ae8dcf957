//! Instruction counts of the matching core's basic operations, measured with valgrind's
//! callgrind: the same number on every run whatever the machine's load, so a change that makes
//! the core slower shows up even where timings are noise.
//!
//! Scenarios (each on an engine prepared outside the measured region):
//! - `add`: a limit order that rests at an existing level of a 1,000-order book;
//! - `cancel`: cancelling a resting order;
//! - `cross`: a limit order that fully fills one resting order of the same size.
//!
//! `cargo bench -p tickforge-benches --bench icount` prints instructions per operation. The
//! parent process re-runs itself under `valgrind --tool=callgrind` once per scenario, counting
//! only inside the `measured` function; without valgrind it says so and exits 0.

use std::hint::black_box;
use std::process::Command;
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig};
use tickforge_wire::{Kind, Record, Side, TimeInForce};

const N: u64 = 10_000;

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig { max_orders: 1 << 16, dense_ids: 1 << 20, ..EngineConfig::default() });
    e.add_instrument(0, InstrumentConfig::default());
    e
}

fn limit(id: u64, side: Side, price: i64, qty: u32) -> Record {
    let mut r = Record::new(Kind::NewOrder);
    r.order_id = id;
    r.session = 1;
    r.side = side as u8;
    r.price = price;
    r.qty = qty;
    r.tif = TimeInForce::Gtc as u8;
    r
}

/// 1,000 resting orders: bids 9,900..9,999 and asks 10,001..10,100, ten per level.
fn prefill(e: &mut Engine, out: &mut Vec<Record>) {
    for i in 0..1_000u64 {
        let (side, price) = if i % 2 == 0 {
            (Side::Buy, 9_900 + (i / 2 % 100) as i64)
        } else {
            (Side::Sell, 10_001 + (i / 2 % 100) as i64)
        };
        out.clear();
        e.apply(&limit(1_000_000 + i, side, price, 100), out);
    }
}

/// The measured region: callgrind counts only inside this function.
#[inline(never)]
fn measured(e: &mut Engine, cmds: &[Record], out: &mut Vec<Record>) {
    for c in cmds {
        out.clear();
        e.apply(black_box(c), out);
    }
}

fn child(scenario: &str) {
    let mut e = engine();
    let mut out = Vec::with_capacity(1024);
    prefill(&mut e, &mut out);
    match scenario {
        "add" => {
            let cmds: Vec<Record> = (0..N).map(|i| limit(i + 1, Side::Buy, 9_950 + (i % 40) as i64, 100)).collect();
            measured(&mut e, &cmds, &mut out);
            assert_eq!(e.order_count(), 1_000 + N as usize);
        }
        "cancel" => {
            for i in 0..N {
                out.clear();
                e.apply(&limit(i + 1, Side::Buy, 9_950 + (i % 40) as i64, 100), &mut out);
            }
            let cmds: Vec<Record> = (0..N)
                .map(|i| {
                    let mut c = Record::new(Kind::CancelOrder);
                    c.order_id = i + 1;
                    c.session = 1;
                    c
                })
                .collect();
            measured(&mut e, &cmds, &mut out);
            assert_eq!(e.order_count(), 1_000);
        }
        "cross" => {
            // N resting asks at 10,000 (better than the prefill), each filled by one buy.
            for i in 0..N {
                out.clear();
                e.apply(&limit(i + 1, Side::Sell, 10_000, 100), &mut out);
            }
            let cmds: Vec<Record> = (0..N).map(|i| limit(N + i + 1, Side::Buy, 10_000, 100)).collect();
            measured(&mut e, &cmds, &mut out);
            assert_eq!(e.order_count(), 1_000);
            assert_eq!(e.stats().fills, N);
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Instructions counted by callgrind for one scenario.
fn count(scenario: &str) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out_file = std::env::temp_dir().join(format!("tickforge-icount-{scenario}-{}.out", std::process::id()));
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no"])
        .arg("--toggle-collect=*icount::measured*")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&exe)
        .env("TF_ICOUNT_CHILD", scenario)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.status.success() {
        return Err(format!("valgrind failed: {}", String::from_utf8_lossy(&status.stderr)));
    }
    let text = std::fs::read_to_string(&out_file).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out_file);
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no totals in callgrind output".to_string())
}

fn main() {
    if let Ok(s) = std::env::var("TF_ICOUNT_CHILD") {
        child(&s);
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind not found: instruction counts skipped (apt-get install valgrind)");
        return;
    }
    println!("| operation | instructions per operation (callgrind, {N} operations) |\n|---|---|");
    for scenario in ["add", "cancel", "cross"] {
        match count(scenario) {
            Ok(total) => println!("| {scenario} | {:.1} |", total as f64 / N as f64),
            Err(e) => {
                eprintln!("{scenario}: {e}");
                std::process::exit(1);
            }
        }
    }
}
