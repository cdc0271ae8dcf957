//! Scratch driver: how much time the machine takes away from a busy core. `gaps [seconds]`
//! pins one thread to each core, all spinning on the clock at once, and prints for each core
//! the gaps between consecutive reads longer than 5 µs and 20 µs (count and share of the run)
//! and the longest. A record passing through the pipeline while either core is in such a gap is
//! that much later, so the share bounds the latency percentiles a paced replay can show here.
use std::time::{Duration, Instant};

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let run = Duration::from_secs(seconds);
    std::thread::scope(|s| {
        for core in cores {
            s.spawn(move || {
                let pinned = core_affinity::set_for_current(core);
                let (mut over5, mut lost5, mut over20, mut lost20, mut longest) =
                    (0u64, Duration::ZERO, 0u64, Duration::ZERO, Duration::ZERO);
                let start = Instant::now();
                let mut last = start;
                while last - start < run {
                    let now = Instant::now();
                    let gap = now - last;
                    if gap > Duration::from_micros(5) {
                        over5 += 1;
                        lost5 += gap;
                    }
                    if gap > Duration::from_micros(20) {
                        over20 += 1;
                        lost20 += gap;
                    }
                    longest = longest.max(gap);
                    last = now;
                }
                let share = |d: Duration| 100.0 * d.as_secs_f64() / (last - start).as_secs_f64();
                println!(
                    "core {} (pinned: {pinned}): {over5} gaps over 5 µs, {:.2} % of the time; \
                     {over20} over 20 µs, {:.2} %; longest {:.0} µs",
                    core.id,
                    share(lost5),
                    share(lost20),
                    longest.as_secs_f64() * 1e6
                );
            });
        }
    });
}
