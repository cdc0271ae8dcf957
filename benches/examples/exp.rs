//! Scratch driver for profiling the engine on the standard workloads (not a benchmark: see
//! `benches/book_peers.rs`). `exp w1|w2|w3 [runs]`; `NOBC=1` turns off book-change output.
use tickforge_benches::{contender, workloads};
fn main() {
    let which = std::env::args().nth(1).unwrap_or("w1".into());
    let runs: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let bc = std::env::var_os("NOBC").is_none();
    let ops = match which.as_str() {
        "w1" => workloads::w1(2_000_000),
        "w2" => workloads::w2(1_000_000),
        _ => {
            let p = tickforge_feed::shared::require("captures/quantcup/quantcup1_score_feed.csv", "w3")
                .expect("w3 needs ../shared");
            workloads::w3(&std::fs::read_to_string(p).unwrap()).unwrap()
        }
    };
    let commands: Vec<_> = ops.iter().map(contender::command).collect();
    for _ in 0..runs {
        let (t, s) = contender::run(&commands, bc);
        println!("{which} {:.1} ns/op {:?}", t.as_nanos() as f64 / ops.len() as f64, s);
    }
}
