//! The pause a venue's token table costs when it grows: enters `N` orders (default 4,000,000)
//! through the OUCH translator, once with the tables sized for the day
//! (`Translator::with_capacity`, as `tickforge serve` does with `orders_per_day`) and once
//! unsized (`Translator::new`), and prints the longest single entry of each and the total. The
//! unsized table rehashes every token entered so far each time it doubles, on the thread that
//! handles every session. `cargo run --release -p tickforge-benches --example token_table [N]`
use std::time::{Duration, Instant};
use tickforge_engine::gateway::ouch::Translator;
use tickforge_wire::ouch42::inbound;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

fn run(mut t: Translator, n: usize) -> (Duration, usize, Duration) {
    let mut o = inbound::EnterOrder::day([b' '; 14], b'B', 100, Alpha::pad("AAPL"), 1_000_000, *b"DEMO");
    let (mut worst, mut worst_at) = (Duration::ZERO, 0);
    let start = Instant::now();
    for i in 0..n {
        o.order_token = Alpha::pad(&format!("{i:014}"));
        let t0 = Instant::now();
        let c = t.inbound(1, o.as_bytes(), 0).expect("a valid order");
        let took = t0.elapsed();
        std::hint::black_box(c);
        if took > worst {
            (worst, worst_at) = (took, i + 1);
        }
    }
    (worst, worst_at, start.elapsed())
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(4_000_000);
    for (name, t) in
        [("sized for the day", Translator::with_capacity(&["AAPL"], n)), ("unsized", Translator::new(&["AAPL"]))]
    {
        let (worst, at, total) = run(t, n);
        println!("{name:>17}: {n} orders in {total:.2?}; longest entry {worst:.2?} (order {at})");
    }
}
