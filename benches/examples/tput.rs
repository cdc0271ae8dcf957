//! Scratch driver (not a benchmark: see `benches/ring_peers.rs`): one-at-a-time throughput,
//! tickforge ring against `rtrb`, alternating. `tput [rounds] [n]`; `REC=1` for 64-byte records;
//! `BATCH=1` for 64-byte records in batches of 64.
use std::time::Instant;
use tickforge_benches::pingpong::pin;
type Rec = tickforge_wire::Record;

/// Runs `produce` on core 0 and `consume` on core 1 (it returns the sum of the `n` values it
/// received, checked against 0 + 1 + ... + n-1); millions of items per second until the
/// consumer has them all.
fn timed(n: u64, produce: impl FnOnce() + Send, consume: impl FnOnce() -> u64 + Send) -> f64 {
    std::thread::scope(|s| {
        let t = Instant::now();
        let c = s.spawn(move || {
            pin(1);
            let sum = consume();
            assert_eq!(sum, n * (n - 1) / 2, "items lost, duplicated or corrupted");
            t.elapsed()
        });
        s.spawn(move || {
            pin(0);
            produce();
        });
        n as f64 / c.join().unwrap().as_secs_f64() / 1e6
    })
}

/// One item at a time: `push(i)` until it succeeds, `pop()` until `n` have arrived.
fn one_at_a_time(n: u64, mut push: impl FnMut(u64) -> bool + Send, mut pop: impl FnMut() -> Option<u64> + Send) -> f64 {
    timed(
        n,
        move || {
            let mut i = 0;
            while i < n {
                if push(i) {
                    i += 1;
                }
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                if let Some(v) = pop() {
                    sum += v;
                    count += 1;
                }
            }
            sum
        },
    )
}

fn rec(seq: u64) -> Rec {
    Rec { seq, ..Rec::default() }
}

/// 64-byte records in batches of 64 through our ring, as `ring_peers` moves them.
fn batched_tf(n: u64) -> f64 {
    let (mut p, mut c) = tickforge_engine::ring::ring::<Rec>(4096);
    timed(
        n,
        move || {
            let mut i = 0;
            while i < n {
                i += p.push_with(64.min(n - i) as usize, |k| rec(i + k as u64)) as u64;
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                count += c.pop_with(64, |r| sum += r.seq) as u64;
            }
            sum
        },
    )
}

/// The same through rtrb's chunk API.
fn batched_rtrb(n: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<Rec>::new(4096);
    timed(
        n,
        move || {
            let mut i = 0;
            while i < n {
                let k = 64u64.min(n - i).min(p.slots() as u64) as usize;
                if k > 0 {
                    let start = i;
                    let chunk = p.write_chunk_uninit(k).unwrap();
                    i += chunk.fill_from_iter((0..k as u64).map(|j| rec(start + j))) as u64;
                }
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                let k = c.slots().min(64);
                if k > 0 {
                    for r in c.read_chunk(k).unwrap() {
                        sum += r.seq;
                        count += 1;
                    }
                }
            }
            sum
        },
    )
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let n: u64 = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(5_000_000);
    let records = std::env::var_os("REC").is_some();
    let batched = std::env::var_os("BATCH").is_some();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        if batched {
            a.push(batched_tf(n));
            b.push(batched_rtrb(n));
        } else if records {
            let (mut p, mut c) = tickforge_engine::ring::ring::<Rec>(4096);
            a.push(one_at_a_time(n, move |i| p.push(rec(i)).is_ok(), move || c.pop().map(|r| r.seq)));
            let (mut p, mut c) = rtrb::RingBuffer::<Rec>::new(4096);
            b.push(one_at_a_time(n, move |i| p.push(rec(i)).is_ok(), move || c.pop().ok().map(|r| r.seq)));
        } else {
            let (mut p, mut c) = tickforge_engine::ring::ring::<u64>(4096);
            a.push(one_at_a_time(n, move |i| p.push(i).is_ok(), move || c.pop()));
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(4096);
            b.push(one_at_a_time(n, move |i| p.push(i).is_ok(), move || c.pop().ok()));
        }
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let what = if batched {
        "batches of 64 records"
    } else if records {
        "records one at a time"
    } else {
        "u64 one at a time"
    };
    println!("{what}\ntf   M/s {a:.1?}\nrtrb M/s {b:.1?}");
}
