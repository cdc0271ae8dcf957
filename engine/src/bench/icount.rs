//! Instruction counts of the core's work, measured with valgrind's callgrind: the same number on
//! every run whatever the machine's load, so a change that makes the core slower shows up even
//! where timings are noise.
//!
//! Each scenario prepares its state outside the measured region, then runs one `measured_*`
//! function; callgrind counts only inside functions matching `*icount::measured*`
//! (`--collect-atstart=no --toggle-collect`). The parent re-runs an executable (the `tickforge`
//! binary, or a bench) under valgrind once per scenario; the child prints `ops N` so the parent
//! can divide.
//!
//! Scenarios:
//! - `add`: a limit order that rests at an existing level of a 1,000-order book;
//! - `cancel`: cancelling a resting order;
//! - `cross`: a limit order that fully fills one resting order of the same size;
//! - `decode`: decoding and normalising one ITCH message of the capture;
//! - `book`: applying one normalised record of the capture to the L3 books;
//! - `book_all`: the same records through [`Engine::apply_all`] (look-ahead), so a change that
//!   makes the look-ahead path cost more than it did shows up beside `book`;
//! - `build`: book building from the capture's bytes with `Engine::apply_itch` (decode,
//!   normalise and apply in one dispatch, no book-change output), per ITCH message. Its count
//!   depends on the market-data handlers being inlined into the decoder's arms; this scenario
//!   is what notices if a change undoes that.

use crate::{Engine, EngineConfig, InstrumentConfig};
use anyhow::{bail, Context, Result};
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use tickforge_wire::{Kind, Record, Side, TimeInForce};

/// One instruction-count scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name (the figure is `icount/NAME`).
    pub name: &'static str,
    /// What one operation is.
    pub what: &'static str,
    /// Whether it reads the capture's ITCH bytes directly, so needs an ITCH capture
    /// (BinaryFILE, pcap or pcapng); the others run on any input `tickforge replay` reads.
    pub reads_itch: bool,
}

const fn scenario(name: &'static str, what: &'static str, reads_itch: bool) -> Scenario {
    Scenario { name, what, reads_itch }
}

/// The scenarios.
pub const SCENARIOS: [Scenario; 7] = [
    scenario("add", "limit order resting at an existing level", false),
    scenario("cancel", "cancel of a resting order", false),
    scenario("cross", "limit order filling one resting order", false),
    scenario("decode", "ITCH message decoded and normalised", true),
    scenario("book", "capture record applied to the L3 books", false),
    scenario("book_all", "capture record applied to the L3 books through apply_all", false),
    scenario("build", "ITCH message decoded and applied to the L3 books (apply_itch)", true),
];

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

/// Measured: applying `cmds` one by one.
#[inline(never)]
pub fn measured_apply(e: &mut Engine, cmds: &[Record], out: &mut Vec<Record>) {
    for c in cmds {
        out.clear();
        e.apply(black_box(c), out);
    }
}

/// Measured: applying `cmds` through [`Engine::apply_all`].
#[inline(never)]
pub fn measured_apply_all(e: &mut Engine, cmds: &[Record], out: &mut Vec<Record>) {
    e.apply_all(black_box(cmds), out, |_, out| out.clear());
}

/// Measured: decoding and normalising every message of a capture's bytes.
#[inline(never)]
pub fn measured_decode(format: tickforge_feed::Format, bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    for m in tickforge_feed::source::Messages::new(format, bytes) {
        if let Ok(msg) = tickforge_wire::itch::decode(m) {
            if let Some(r) = tickforge_feed::normalize::record(&msg) {
                black_box(&r);
            }
        }
        n += 1;
    }
    n
}

/// Measured: building the books from every message of a capture's bytes with
/// [`Engine::apply_itch`]; returns the messages read.
#[inline(never)]
pub fn measured_build(e: &mut Engine, format: tickforge_feed::Format, bytes: &[u8], out: &mut Vec<Record>) -> u64 {
    let mut n = 0u64;
    for m in tickforge_feed::source::Messages::new(format, bytes) {
        out.clear();
        let _ = e.apply_itch(black_box(m), out);
        n += 1;
    }
    n
}

/// Runs one scenario (in the child, under valgrind) and prints `ops N`.
pub fn child(scenario: &str, capture: &Path) -> Result<()> {
    let mut out = Vec::with_capacity(1024);
    let ops = match scenario {
        "add" | "cancel" | "cross" => {
            let mut e = engine();
            prefill(&mut e, &mut out);
            let cmds: Vec<Record> = match scenario {
                "add" => (0..N).map(|i| limit(i + 1, Side::Buy, 9_950 + (i % 40) as i64, 100)).collect(),
                "cancel" => {
                    let adds: Vec<Record> =
                        (0..N).map(|i| limit(i + 1, Side::Buy, 9_950 + (i % 40) as i64, 100)).collect();
                    setup_apply(&mut e, &adds, &mut out);
                    (0..N)
                        .map(|i| {
                            let mut c = Record::new(Kind::CancelOrder);
                            c.order_id = i + 1;
                            c.session = 1;
                            c
                        })
                        .collect()
                }
                _ => {
                    // N resting asks at 10,000 (better than the prefill), each filled by one buy.
                    let asks: Vec<Record> = (0..N).map(|i| limit(i + 1, Side::Sell, 10_000, 100)).collect();
                    setup_apply(&mut e, &asks, &mut out);
                    (0..N).map(|i| limit(N + i + 1, Side::Buy, 10_000, 100)).collect()
                }
            };
            measured_apply(&mut e, &cmds, &mut out);
            let expected = if scenario == "add" { 1_000 + N as usize } else { 1_000 };
            if e.order_count() != expected {
                bail!("{scenario}: {} orders resting, expected {expected}", e.order_count());
            }
            N
        }
        "decode" => {
            let c = tickforge_feed::Capture::open(capture)?;
            measured_decode(c.format, c.bytes())
        }
        "book" | "book_all" => {
            let input = crate::replay::Input::open(capture, crate::replay::InputFormat::Auto)?;
            let mut reader = input.reader()?;
            let mut records = vec![Record::default(); 1 << 20];
            let mut all = Vec::new();
            loop {
                let n = reader.fill(&mut records);
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&records[..n]);
            }
            let mut e = crate::replay::input::replay_engine();
            if scenario == "book" {
                measured_apply(&mut e, &all, &mut out);
            } else {
                measured_apply_all(&mut e, &all, &mut out);
            }
            all.len() as u64
        }
        "build" => {
            let c = tickforge_feed::Capture::open(capture)?;
            let mut e = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
            let n = measured_build(&mut e, c.format, c.bytes(), &mut out);
            // Unknown references are normal in a real capture that starts mid-day; only an
            // input with no ITCH messages at all leaves nothing to count.
            if e.stats().records == 0 {
                bail!("build: no ITCH messages applied from {}", capture.display());
            }
            n
        }
        other => bail!("unknown instruction-count scenario {other:?}"),
    };
    println!("ops {ops}");
    Ok(())
}

/// Setup that must not be counted: the same loop, under a name the toggle does not match.
#[inline(never)]
fn setup_apply(e: &mut Engine, cmds: &[Record], out: &mut Vec<Record>) {
    for c in cmds {
        out.clear();
        e.apply(c, out);
    }
}

/// Whether valgrind can be run.
pub fn valgrind_available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Instructions per operation of `scenario`: runs `exe args` under callgrind (with `env` set)
/// and divides the count in the measured region by the `ops N` the child prints.
pub fn count(scenario: &str, exe: &Path, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Result<f64> {
    let out_file = std::env::temp_dir().join(format!("tickforge-icount-{scenario}-{}.out", std::process::id()));
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=*icount::measured_*"])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .context("running valgrind")?;
    let text = std::fs::read_to_string(&out_file);
    let _ = std::fs::remove_file(&out_file);
    if !output.status.success() {
        bail!("{scenario}: valgrind failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let text = text.with_context(|| format!("reading {}", out_file.display()))?;
    let total: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{scenario}: no totals in callgrind output"))?;
    let ops: u64 = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("ops ")?.trim().parse().ok())
        .with_context(|| format!("{scenario}: the child printed no `ops N` line"))?;
    if ops == 0 {
        bail!("{scenario}: no operations");
    }
    Ok(total as f64 / ops as f64)
}
