//! Scratch driver (not a benchmark: see `benches/ring_peers.rs`): ping-pong round trips through
//! two rings, tickforge's against `rtrb`'s, alternating in each round so both see the same
//! machine. `rtt [rounds]` prints each round's p50 in ns, sorted. Push and pop are kept out of
//! line so their code can be compared with `objdump`.
use tickforge_benches::pingpong;
use tickforge_engine::ring;

#[inline(never)]
fn tf_push(p: &mut ring::Producer<u64>, v: u64) -> bool {
    p.push(v).is_ok()
}
#[inline(never)]
fn tf_pop(c: &mut ring::Consumer<u64>) -> Option<u64> {
    c.pop()
}
#[inline(never)]
fn rb_push(p: &mut rtrb::Producer<u64>, v: u64) -> bool {
    p.push(v).is_ok()
}
#[inline(never)]
fn rb_pop(c: &mut rtrb::Consumer<u64>) -> Option<u64> {
    c.pop().ok()
}

/// `n` round trips; returns the median in ns.
fn round_trips<AP, AC, BP, BC>(n: usize, a_push: AP, a_pop: AC, b_pop: BC, b_push: BP) -> u64
where
    AP: FnMut(u64) -> bool + Send,
    AC: FnMut() -> Option<u64> + Send,
    BP: FnMut(u64) -> bool + Send,
    BC: FnMut() -> Option<u64> + Send,
{
    let mut took = Vec::with_capacity(n);
    pingpong::round_trips(n, a_push, a_pop, b_pop, b_push, |ns| took.push(ns));
    took.sort_unstable();
    took[n / 2]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let n = 50_000;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (mut ap, mut bc) = ring::ring::<u64>(64);
        let (mut bp, mut ac) = ring::ring::<u64>(64);
        ours.push(round_trips(
            n,
            move |v| tf_push(&mut ap, v),
            move || tf_pop(&mut ac),
            move || tf_pop(&mut bc),
            move |v| tf_push(&mut bp, v),
        ));
        let (mut ap, mut bc) = rtrb::RingBuffer::<u64>::new(64);
        let (mut bp, mut ac) = rtrb::RingBuffer::<u64>::new(64);
        theirs.push(round_trips(
            n,
            move |v| rb_push(&mut ap, v),
            move || rb_pop(&mut ac),
            move || rb_pop(&mut bc),
            move |v| rb_push(&mut bp, v),
        ));
    }
    ours.sort_unstable();
    theirs.sort_unstable();
    println!("round trip p50 (ns) per round\ntickforge {ours:?}\nrtrb      {theirs:?}");
}
