//! `tickforge bench`: the standard benchmark suite, saved as a baseline or compared with one.
//!
//! Figures:
//! - instruction counts per operation of the core's work ([`icount`], callgrind): exact enough
//!   to gate on, on any machine, however loaded;
//! - replays of the bundled capture at max speed (records per second, service times) and paced
//!   at 100,000 and 1,000,000 records/s (open-loop end-to-end latency): the median of `runs`
//!   replays each. Times are reported, and gate only with `--gate-times`: on a shared machine
//!   they move by more than any sensible tolerance from one run to the next.
//!
//! - the machine's own hiccups: per core, with every core busy at once, the share of a pinned
//!   busy thread's time lost to gaps over 20 µs and the longest gap (reported): the floor under
//!   every tail latency measured here.
//!
//! Every replay must end in the same output and state hashes, or the suite fails: a figure from
//! a run that computed something else is not comparable.
//!
//! A baseline is a JSON file (figures, machine, version). Comparison lists every figure with
//! old, new and change; a gated figure worse by more than the tolerance (or missing) is a
//! regression, and `tickforge bench` then exits 1.

pub mod icount;

use crate::pipeline::{Pacing, PipelineConfig};
use crate::replay::report::Machine;
use crate::replay::{Input, InputFormat, ReplayOptions};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (instructions, latency).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// One figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    /// Stable name, e.g. `icount/add` or `replay/1M/e2e_p99`.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Value.
    pub value: f64,
    /// Which way is better.
    pub better: Better,
    /// Whether it gates by default (instruction counts).
    pub gate: bool,
}

/// A saved set of figures.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    /// File format version.
    pub version: u32,
    /// tickforge version that measured it.
    pub tickforge: String,
    /// Where.
    pub machine: String,
    /// When (seconds since the Unix epoch).
    pub created: u64,
    /// The figures.
    pub figures: Vec<Figure>,
}

impl Baseline {
    /// Figures measured now, here.
    pub fn new(figures: Vec<Figure>) -> Baseline {
        let m = Machine::here();
        Baseline {
            version: 1,
            tickforge: m.tickforge.to_string(),
            machine: format!("{} ({} CPUs), host {}", m.cpu, m.cpus, m.host),
            created: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            figures,
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading baseline {}", path.display()))?;
        let b: Baseline = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a tickforge bench baseline", path.display()))?;
        if b.version != 1 {
            bail!("{}: baseline version {} (this tickforge reads version 1)", path.display(), b.version);
        }
        Ok(b)
    }

    /// Writes it.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing baseline {}", path.display()))
    }

    /// A table of the figures.
    pub fn to_text(&self) -> String {
        let mut t = format!("{:<28} {:>14}  {}\n", "figure", "value", "unit");
        for f in &self.figures {
            t += &format!("{:<28} {:>14.1}  {}{}\n", f.name, f.value, f.unit, if f.gate { "" } else { " (reported)" });
        }
        t
    }
}

/// One line of a comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    /// Figure name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Baseline value.
    pub old: f64,
    /// New value (`None`: not measured this time).
    pub new: Option<f64>,
    /// Change in percent, positive when worse.
    pub worse_pct: Option<f64>,
    /// Whether it gates.
    pub gated: bool,
    /// `ok`, `improved`, `REGRESSED`, `worse (not gated)`, `MISSING`, `context` (machine).
    pub verdict: &'static str,
}

/// A baseline compared with new figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    /// Tolerance, percent.
    pub tolerance_pct: f64,
    /// Every figure of the baseline.
    pub changes: Vec<Change>,
    /// Gated figures worse than the tolerance, or missing.
    pub regressions: usize,
}

/// Compares `new` with `old`.
pub fn compare(old: &Baseline, new: &Baseline, tolerance_pct: f64, gate_times: bool) -> Comparison {
    let mut changes = Vec::new();
    let mut regressions = 0;
    for o in &old.figures {
        let gated = o.gate || gate_times;
        let n = new.figures.iter().find(|f| f.name == o.name).map(|f| f.value);
        let worse_pct = n.map(|n| {
            let change = if o.value == 0.0 { 0.0 } else { (n - o.value) / o.value.abs() * 100.0 };
            if o.better == Better::Lower {
                change
            } else {
                -change
            }
        });
        let verdict = match worse_pct {
            // The machine's hiccups are context for the other figures, not a property of the code.
            _ if o.name.starts_with("machine/") => "context",
            None if gated => "MISSING",
            None => "missing (not gated)",
            Some(w) if w > tolerance_pct && gated => "REGRESSED",
            Some(w) if w > tolerance_pct => "worse (not gated)",
            Some(w) if w < -tolerance_pct => "improved",
            Some(_) => "ok",
        };
        if verdict == "REGRESSED" || verdict == "MISSING" {
            regressions += 1;
        }
        changes.push(Change {
            name: o.name.clone(),
            unit: o.unit.clone(),
            old: o.value,
            new: n,
            worse_pct,
            gated,
            verdict,
        });
    }
    Comparison { tolerance_pct, changes, regressions }
}

impl Comparison {
    /// The table.
    pub fn to_text(&self) -> String {
        let mut t =
            format!("{:<28} {:>14} {:>14} {:>9}  {:<10} verdict\n", "figure", "baseline", "now", "worse by", "unit");
        for c in &self.changes {
            t += &format!(
                "{:<28} {:>14.1} {:>14} {:>9}  {:<10} {}\n",
                c.name,
                c.old,
                c.new.map_or("-".to_string(), |v| format!("{v:.1}")),
                c.worse_pct.map_or("-".to_string(), |w| format!("{w:+.1}%")),
                c.unit,
                c.verdict
            );
        }
        t += &format!(
            "\n{} regression(s) beyond {:.1} % among gated figures{}\n",
            self.regressions,
            self.tolerance_pct,
            if self.regressions > 0 { ": FAIL" } else { ": ok" }
        );
        t
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// How much of their time pinned, busy threads lose to the machine, one per core in `cores`,
/// all at once (as the pipeline's stages run): each spins on the clock for `dur` and adds up
/// every gap over 20 µs (interrupts, other tenants, the hypervisor). Returns, per core, the
/// fraction of time lost and the longest gap in ns. No tail latency below what this shows is
/// possible on the machine, whatever the engine does.
pub fn hiccups(cores: usize, dur: std::time::Duration) -> Vec<(f64, u64)> {
    let threads: Vec<_> = (0..cores)
        .map(|core| {
            std::thread::spawn(move || {
                core_affinity::set_for_current(core_affinity::CoreId { id: core });
                let clock = quanta::Clock::new();
                let ticks = ticks_per_ns(&clock);
                let start = clock.raw();
                let end = start + (dur.as_secs_f64() * ticks * 1e9) as u64;
                let (mut last, mut lost, mut worst) = (start, 0u64, 0u64);
                while last < end {
                    let now = clock.raw();
                    let gap = clock.delta_as_nanos(last, now);
                    if gap > 20_000 {
                        lost += gap;
                        worst = worst.max(gap);
                    }
                    last = now;
                }
                (lost as f64 / dur.as_nanos() as f64, worst)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap_or((0.0, 0))).collect()
}

fn ticks_per_ns(clock: &quanta::Clock) -> f64 {
    let (r0, t0) = (clock.raw(), std::time::Instant::now());
    std::thread::sleep(std::time::Duration::from_millis(10));
    (clock.raw() - r0) as f64 / t0.elapsed().as_nanos() as f64
}

/// Runs the suite on `capture`, `runs` replays per replay figure; progress lines on stderr when
/// `chatty`.
pub fn run_suite(capture: &Path, runs: usize, chatty: bool) -> Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let say = |s: String| {
        if chatty {
            eprintln!("{s}");
        }
    };
    if icount::valgrind_available() {
        let exe = std::env::current_exe().context("locating the tickforge binary")?;
        let itch = crate::replay::Input::open(capture, crate::replay::InputFormat::Auto)?.is_itch();
        for icount::Scenario { name: scenario, what, reads_itch } in icount::SCENARIOS {
            if reads_itch && !itch {
                say(format!("instruction count: {scenario} skipped ({} is not an ITCH capture)", capture.display()));
                continue;
            }
            say(format!("instruction count: {scenario} ({what}) under callgrind ..."));
            let per_op =
                icount::count(scenario, &exe, &["icount-child".as_ref(), scenario.as_ref(), capture.as_os_str()], &[])?;
            figures.push(Figure {
                name: format!("icount/{scenario}"),
                unit: "instr/op".into(),
                value: per_op,
                better: Better::Lower,
                gate: true,
            });
        }
    } else {
        say("valgrind not found: instruction counts skipped (apt-get install valgrind)".to_string());
    }

    let cores = crate::pipeline::topology::available_cores();
    say(format!("machine hiccups: a busy loop pinned on each of {cores} cores for 1 s ..."));
    for (core, (lost, worst)) in hiccups(cores.min(16), std::time::Duration::from_secs(1)).into_iter().enumerate() {
        let fig = |name: String, unit: &str, value: f64| Figure {
            name,
            unit: unit.into(),
            value,
            better: Better::Lower,
            gate: false,
        };
        figures.push(fig(format!("machine/core{core}_time_lost"), "%", lost * 100.0));
        figures.push(fig(format!("machine/core{core}_longest_gap"), "ns", worst as f64));
    }

    let input = Input::open(capture, InputFormat::Auto)?;
    let mut hashes: Option<(String, String)> = None;
    let settings: [(&str, Pacing); 3] =
        [("max", Pacing::Max), ("100k", Pacing::Rate(100_000.0)), ("1M", Pacing::Rate(1_000_000.0))];
    for (label, pacing) in settings {
        let mut samples: Vec<[f64; 4]> = Vec::new();
        for i in 0..runs {
            say(format!("replay {label} ({}), run {}/{runs} ...", pacing.describe(), i + 1));
            let config = PipelineConfig { pacing, ..PipelineConfig::default() };
            let run = crate::replay::replay_input(&input, &config, None, &mut ReplayOptions::default())?;
            let s = &run.summary;
            let h = (s.output_hash.clone(), s.state_hash.clone());
            match &hashes {
                None => hashes = Some(h),
                Some(first) if *first != h => bail!(
                    "replay {label} ended in output/state hash {}/{}, earlier runs in {}/{}: figures not comparable",
                    h.0,
                    h.1,
                    first.0,
                    first.1
                ),
                Some(_) => {}
            }
            let e = &s.latency_ns.end_to_end;
            samples.push([s.records_per_second, e.p50 as f64, e.p99 as f64, e.p999 as f64]);
        }
        let col = |k: usize| median(samples.iter().map(|s| s[k]).collect());
        let fig = |name: String, unit: &str, value: f64, better: Better| Figure {
            name,
            unit: unit.to_string(),
            value,
            better,
            gate: false,
        };
        if pacing == Pacing::Max {
            figures.push(fig(format!("replay/{label}/records_per_s"), "records/s", col(0), Better::Higher));
            figures.push(fig(format!("replay/{label}/service_p50"), "ns", col(1), Better::Lower));
            figures.push(fig(format!("replay/{label}/service_p99"), "ns", col(2), Better::Lower));
        } else {
            figures.push(fig(format!("replay/{label}/e2e_p50"), "ns", col(1), Better::Lower));
            figures.push(fig(format!("replay/{label}/e2e_p99"), "ns", col(2), Better::Lower));
            figures.push(fig(format!("replay/{label}/e2e_p99.9"), "ns", col(3), Better::Lower));
        }
    }
    Ok(figures)
}
