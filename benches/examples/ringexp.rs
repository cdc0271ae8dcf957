//! Scratch: tickforge ring vs rtrb, u64 one at a time (not a benchmark; see benches/ring_peers.rs).
use std::time::Instant;
fn pin(c: usize) {
    let _ = core_affinity::set_for_current(core_affinity::CoreId { id: c });
}
fn main() {
    let n = 20_000_000u64;
    for _ in 0..3 {
        let (mut p, mut c) = tickforge_engine::ring::ring::<u64>(4096);
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(move || {
                pin(0);
                let mut i = 0;
                while i < n {
                    if p.push(i).is_ok() {
                        i += 1;
                    }
                }
            });
            s.spawn(move || {
                pin(1);
                let mut k = 0;
                let mut sum = 0u64;
                while k < n {
                    if let Some(v) = c.pop() {
                        sum += v;
                        k += 1;
                    }
                }
                assert_eq!(sum, n * (n - 1) / 2);
            });
        });
        let a = t.elapsed();
        let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(4096);
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(move || {
                pin(0);
                let mut i = 0;
                while i < n {
                    if p.push(i).is_ok() {
                        i += 1;
                    }
                }
            });
            s.spawn(move || {
                pin(1);
                let mut k = 0;
                let mut sum = 0u64;
                while k < n {
                    if let Ok(v) = c.pop() {
                        sum += v;
                        k += 1;
                    }
                }
                assert_eq!(sum, n * (n - 1) / 2);
            });
        });
        let b = t.elapsed();
        println!(
            "tickforge {:.1} M/s   rtrb {:.1} M/s",
            n as f64 / a.as_secs_f64() / 1e6,
            n as f64 / b.as_secs_f64() / 1e6
        );
    }
}
