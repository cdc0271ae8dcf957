//! Scratch driver (not a benchmark: see `benches/ring_peers.rs`): one-at-a-time throughput,
//! tickforge ring against `rtrb`, alternating. `tput [rounds] [n]`; `REC=1` for 64-byte records;
//! `BATCH=1` for 64-byte records in batches of 64.
use std::time::Instant;
use tickforge_benches::pingpong::pin;
type Rec = tickforge_wire::Record;
fn run<P: FnMut(u64) -> bool + Send, C: FnMut() -> Option<u64> + Send>(n: u64, mut push: P, mut pop: C) -> f64 {
    std::thread::scope(|s| {
        let t = Instant::now();
        let c = s.spawn(move || {
            pin(1);
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                if let Some(v) = pop() {
                    sum += v;
                    count += 1;
                }
            }
            assert_eq!(sum, n * (n - 1) / 2);
            t.elapsed()
        });
        s.spawn(move || {
            pin(0);
            let mut i = 0;
            while i < n {
                if push(i) {
                    i += 1;
                }
            }
        });
        n as f64 / c.join().unwrap().as_secs_f64() / 1e6
    })
}
fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let n: u64 = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(5_000_000);
    let rec = std::env::var_os("REC").is_some();
    if std::env::var_os("BATCH").is_some() {
        // 64-byte records in batches of 64, as `ring_peers` moves them.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            a.push(batched_tf(n));
            b.push(batched_rtrb(n));
        }
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        println!("batches of 64 records\ntf   M/s {a:.1?}\nrtrb M/s {b:.1?}");
        return;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        if rec {
            let (mut p, mut c) = tickforge_engine::ring::ring::<Rec>(4096);
            a.push(run(n, move |i| p.push(Rec { seq: i, ..Rec::default() }).is_ok(), move || c.pop().map(|r| r.seq)));
            let (mut p, mut c) = rtrb::RingBuffer::<Rec>::new(4096);
            b.push(run(
                n,
                move |i| p.push(Rec { seq: i, ..Rec::default() }).is_ok(),
                move || c.pop().ok().map(|r| r.seq),
            ));
        } else {
            let (mut p, mut c) = tickforge_engine::ring::ring::<u64>(4096);
            a.push(run(n, move |i| p.push(i).is_ok(), move || c.pop()));
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(4096);
            b.push(run(n, move |i| p.push(i).is_ok(), move || c.pop().ok()));
        }
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    println!("tf   M/s {:.1?}\nrtrb M/s {:.1?}", a, b);
}

fn batched_tf(n: u64) -> f64 {
    let (mut p, mut c) = tickforge_engine::ring::ring::<Rec>(4096);
    std::thread::scope(|s| {
        let t = Instant::now();
        let h = s.spawn(move || {
            pin(1);
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                c.pop_with(64, |r| {
                    sum += r.seq;
                    count += 1;
                });
            }
            assert_eq!(sum, n * (n - 1) / 2);
            t.elapsed()
        });
        s.spawn(move || {
            pin(0);
            let mut i = 0;
            while i < n {
                i += p.push_with(64.min(n - i) as usize, |k| Rec { seq: i + k as u64, ..Rec::default() }) as u64;
            }
        });
        n as f64 / h.join().unwrap().as_secs_f64() / 1e6
    })
}

fn batched_rtrb(n: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<Rec>::new(4096);
    std::thread::scope(|s| {
        let t = Instant::now();
        let h = s.spawn(move || {
            pin(1);
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
            assert_eq!(sum, n * (n - 1) / 2);
            t.elapsed()
        });
        s.spawn(move || {
            pin(0);
            let mut i = 0;
            while i < n {
                let k = 64u64.min(n - i).min(p.slots() as u64) as usize;
                if k > 0 {
                    let chunk = p.write_chunk_uninit(k).unwrap();
                    let start = i;
                    i += chunk.fill_from_iter((0..k as u64).map(|j| Rec { seq: start + j, ..Rec::default() })) as u64;
                }
            }
        });
        n as f64 / h.join().unwrap().as_secs_f64() / 1e6
    })
}
