//! Scratch driver for profiling the engine on the standard workloads (not a benchmark: see
//! `benches/book_peers.rs`). `exp w1|w2|w3 [runs]`; `NOBC=1` turns off book-change output,
//! `LA=1` runs the stream through `Engine::apply_all` (look-ahead). `ALT=1` alternates one
//! command at a time and `apply_all` in one process and prints the median of each (ns/op) and
//! their ratio: the way to compare the two on a noisy machine.
use tickforge_benches::{contender, workloads};
fn main() {
    let which = std::env::args().nth(1).unwrap_or("w1".into());
    let runs: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let book_changes = std::env::var_os("NOBC").is_none();
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
    let per_op = |t: std::time::Duration| t.as_nanos() as f64 / ops.len() as f64;
    if std::env::var_os("ALT").is_some() {
        let (mut one, mut all) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (t, a) = contender::run(&commands, contender::Mode { book_changes, look_ahead: false });
            one.push(per_op(t));
            let (t, b) = contender::run(&commands, contender::Mode { book_changes, look_ahead: true });
            assert_eq!(a, b, "both ways must end in the same state");
            all.push(per_op(t));
        }
        let (m1, m2) = (tickforge_benches::median(one), tickforge_benches::median(all));
        println!("{which} one at a time {m1:.1}, apply_all {m2:.1} ns/op (medians of {runs}), ratio {:.3}", m2 / m1);
        return;
    }
    let mode = contender::Mode { book_changes, look_ahead: std::env::var_os("LA").is_some() };
    for _ in 0..runs {
        let (t, s) = contender::run(&commands, mode);
        println!("{which} {:.1} ns/op {:?}", per_op(t), s);
    }
}
