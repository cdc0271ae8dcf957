//! A progress bar for long replays: how far through the input, records and their rate, ETA.
//!
//! The feed stage publishes its position with one relaxed store per batch; a separate,
//! unpinned thread reads it ten times a second and draws. Nothing is drawn when standard error
//! is not a terminal (indicatif hides the bar), so logs and CI output stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where the feed stage is: input position and records fed.
#[derive(Debug, Default)]
pub(crate) struct Position {
    /// In the units of `Input::len`.
    pub(crate) at: AtomicU64,
    /// Records handed to the pipeline.
    pub(crate) records: AtomicU64,
}

/// The drawing thread.
#[derive(Debug)]
pub(crate) struct Progress {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<ProgressBar>,
}

impl Progress {
    /// Starts drawing `position` against `total` (a spinner when the total is unknown).
    pub(crate) fn start(total: Option<u64>, bytes: bool, position: Arc<Position>) -> Progress {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(10)),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10)),
        };
        let template = match (total, bytes) {
            (Some(_), true) => "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {msg} ETA {eta}",
            (Some(_), false) => "{elapsed_precise} [{wide_bar}] {pos}/{len} {msg} ETA {eta}",
            (None, _) => "{elapsed_precise} {spinner} {msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, bar) = (stop.clone(), bar.clone());
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let records = position.records.load(Ordering::Relaxed);
                    bar.set_position(position.at.load(Ordering::Relaxed));
                    let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!("{records} records, {:.2} M/s", rate / 1e6));
                    std::thread::sleep(Duration::from_millis(100));
                }
                bar
            })
        };
        Progress { stop, thread }
    }

    /// Stops drawing and clears the bar.
    pub(crate) fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(bar) = self.thread.join() {
            bar.finish_and_clear();
        }
    }
}
