//! Ping-pong round trips through two queues between threads pinned to cores 0 and 1, shared by
//! the `ring_peers` bench and the `rtt` profiling driver so both time the same loop.

use quanta::Clock;

/// Pins the calling thread to `core` (best effort: an unpinnable machine still runs).
pub fn pin(core: usize) {
    let _ = core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

/// `n` round trips: the ping thread (core 0) pushes `i` with `a_push` and spins on `a_pop` until
/// it comes back; the pong thread (core 1) spins on `b_pop` and pushes what it gets with
/// `b_push`. Each round trip is timed with the TSC and handed to `record` in nanoseconds.
///
/// # Panics
///
/// If a value comes back other than the one sent (a lost or reordered item).
pub fn round_trips<AP, AC, BP, BC>(
    n: usize,
    mut a_push: AP,
    mut a_pop: AC,
    mut b_pop: BC,
    mut b_push: BP,
    mut record: impl FnMut(u64) + Send,
) where
    AP: FnMut(u64) -> bool + Send,
    AC: FnMut() -> Option<u64> + Send,
    BP: FnMut(u64) -> bool + Send,
    BC: FnMut() -> Option<u64> + Send,
{
    let clock = Clock::new();
    std::thread::scope(|s| {
        s.spawn(move || {
            pin(1);
            let mut seen = 0;
            while seen < n {
                if let Some(v) = b_pop() {
                    while !b_push(v) {}
                    seen += 1;
                }
            }
        });
        s.spawn(move || {
            pin(0);
            for i in 0..n as u64 {
                let t0 = clock.raw();
                while !a_push(i) {}
                let v = loop {
                    if let Some(v) = a_pop() {
                        break v;
                    }
                };
                assert_eq!(v, i, "round trip {i} came back as {v}");
                record(clock.delta_as_nanos(t0, clock.raw()));
            }
        });
    });
}
