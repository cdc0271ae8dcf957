//! Crash test: a child process appends as fast as it can and is killed with SIGKILL at random
//! moments, 60 times, reopening the same journal each time. After every kill, recovery must
//! find a contiguous sequence with every checksum valid, every record intact, and nothing
//! missing that the child had reported as durable under the policy in force:
//! - `None`: the child reports each sequence once `append` returned (a process crash keeps the
//!   page cache, so that is the promise);
//! - `Async`: it reports `durable_seq()` (flushed);
//! - `Sync`: it reports the last sequence of each batch once `append_batch` returned.
//!
//! The child is this test binary re-run with `TF_CRASH_CHILD` set.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tickforge_replay::journal::{self, Durability, Journal, JournalConfig, JournalReader};
use tickforge_wire::{Kind, Record};

fn config(policy: &str) -> JournalConfig {
    let durability = match policy {
        "sync" => Durability::Sync,
        "async" => Durability::Async { every_records: 512, every: Duration::from_millis(2) },
        _ => Durability::None,
    };
    // Small segments so kills also land around rolls.
    JournalConfig { segment_size: 256 << 10, prefault: true, durability }
}

fn rec(seq: u64) -> Record {
    let mut r = Record::new(Kind::MdAdd);
    r.order_id = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    r.qty = (seq % 997) as u32;
    r
}

/// The child: append forever, reporting what is durable under the policy.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(policy)) = (std::env::var("TF_CRASH_CHILD"), std::env::var("TF_CRASH_POLICY")) else { return };
    let (mut j, _) = Journal::open(&PathBuf::from(dir), config(&policy)).unwrap();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    let mut batch = Vec::with_capacity(32);
    loop {
        match policy.as_str() {
            "sync" => {
                batch.clear();
                let first = j.next_seq();
                batch.extend((0..32).map(|k| rec(first + k)));
                let last = j.append_batch(&batch).unwrap();
                writeln!(out, "{last}").unwrap();
            }
            "async" => {
                let s = j.next_seq();
                j.append(&rec(s)).unwrap();
                if s % 256 == 0 {
                    writeln!(out, "{}", j.durable_seq()).unwrap();
                }
            }
            _ => {
                let s = j.next_seq();
                j.append(&rec(s)).unwrap();
                if s % 64 == 0 {
                    writeln!(out, "{s}").unwrap();
                }
            }
        }
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_reported_durable() {
    if std::env::var_os("TF_CRASH_CHILD").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tf-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().unwrap();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut reported_max = 0u64;
    let mut torn_rounds = 0;
    for round in 0..60 {
        let policy = ["none", "async", "sync"][round % 3];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(5 + x % 60);
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("TF_CRASH_CHILD", &dir)
            .env("TF_CRASH_POLICY", policy)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            let mut max = 0u64;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = line.trim().parse::<u64>() {
                    max = max.max(v);
                }
            }
            max
        });
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reported = lines.join().unwrap();
        reported_max = reported_max.max(reported);

        // Recovery: contiguous, valid, and nothing reported durable is missing.
        let (j, rec_report) = Journal::open(&dir, config(policy)).unwrap();
        let last = j.last_seq();
        drop(j);
        torn_rounds += usize::from(rec_report.dropped_bytes > 0);
        assert!(last >= reported_max, "round {round} ({policy}): recovered up to {last}, but {reported_max} was reported durable ({rec_report:?})");
        let v = journal::verify(&dir).unwrap();
        assert_eq!(v.torn_tail_bytes, 0, "recovery left a torn tail");
        assert_eq!(v.last_seq, last);
        let mut expected = 1;
        for e in JournalReader::open(&dir).unwrap() {
            let e = e.unwrap();
            assert_eq!(e.seq, expected, "round {round}: gap or reorder");
            assert_eq!(e.record.order_id, rec(e.seq).order_id, "round {round}: record {} damaged", e.seq);
            expected += 1;
        }
        assert_eq!(expected - 1, last);
    }
    assert!(reported_max > 1000, "the child barely ran ({reported_max}); the test proves little");
    eprintln!(
        "60 kills; {torn_rounds} left a torn tail that recovery dropped; last sequence reported durable {reported_max}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
