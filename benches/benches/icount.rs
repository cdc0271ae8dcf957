//! Instruction counts of the core's work under valgrind's callgrind: the same number on every
//! run whatever the machine's load. The scenarios live in `tickforge_engine::bench::icount`
//! (shared with `tickforge bench`, which gates on them); this bench prints them as a table.
//!
//! `cargo bench -p tickforge-benches --bench icount` re-runs itself under valgrind once per
//! scenario; without valgrind it says so and exits 0.

use tickforge_engine::bench::icount;

fn main() {
    let capture = tickforge_engine::replay::default_capture();
    if let Ok(s) = std::env::var("TF_ICOUNT_CHILD") {
        icount::child(&s, &capture).expect("scenario failed");
        return;
    }
    if !icount::valgrind_available() {
        eprintln!("valgrind not found: instruction counts skipped (apt-get install valgrind)");
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    println!("| operation | instructions per operation (callgrind) |\n|---|---|");
    for icount::Scenario { name: scenario, what, .. } in icount::SCENARIOS {
        match icount::count(scenario, &exe, &[], &[("TF_ICOUNT_CHILD", scenario)]) {
            Ok(per_op) => println!("| {scenario}: {what} | {per_op:.1} |"),
            Err(e) => {
                eprintln!("{e:#}");
                std::process::exit(1);
            }
        }
    }
}
