//! `tickforge replay` on the bundled capture: it runs on a fresh clone (no ../shared needed),
//! finds no unknown references, and gives the same output and state hashes every time.

use std::io::Write;
use std::process::Command;
use tickforge_engine::pipeline::PipelineConfig;
use tickforge_engine::replay;

#[test]
fn the_bundled_capture_replays_deterministically() {
    let path = replay::default_capture();
    assert!(path.exists(), "{} is committed with the repository", path.display());
    let config = PipelineConfig::default();
    let a = replay::replay(&path, &config, None).unwrap();
    let b = replay::replay(&path, &config, None).unwrap();
    assert_eq!(a.messages, 100_040);
    assert_eq!((a.unknown_refs, a.malformed), (0, 0));
    assert!(a.fills > 10_000 && a.resting_orders > 1_000, "{a:?}");
    assert_eq!((a.output_hash.as_str(), a.state_hash.as_str()), (b.output_hash.as_str(), b.state_hash.as_str()));
}

#[test]
fn the_cli_replays_the_bundled_capture_by_default_and_journals_it() {
    let dir = std::env::temp_dir().join(format!("tf-replay-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["replay", "--json", "--journal"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["unknown_refs"], 0);
    // The journal holds every book record, in sequence, and rebuilds the same books.
    let records = v["records"].as_u64().unwrap();
    let check = tickforge_replay::journal::verify(&dir).unwrap();
    assert_eq!((check.records, check.first_seq, check.last_seq), (records, 1, records));
    let mut e = tickforge_engine::Engine::new(tickforge_engine::EngineConfig::default());
    let mut sink = Vec::new();
    for entry in tickforge_replay::journal::JournalReader::open(&dir).unwrap() {
        sink.clear();
        e.apply(&entry.unwrap().record, &mut sink);
    }
    assert_eq!(format!("{:016x}", e.state_hash()), v["state_hash"].as_str().unwrap());
    // Replaying the journal itself gives the same books and the same outputs.
    let from_journal =
        Command::new(env!("CARGO_BIN_EXE_tickforge")).args(["replay", "--json"]).arg(&dir).output().unwrap();
    assert!(from_journal.status.success(), "{}", String::from_utf8_lossy(&from_journal.stderr));
    let j: serde_json::Value = serde_json::from_slice(&from_journal.stdout).unwrap();
    assert_eq!(j["format"], "journal");
    assert_eq!(j["records"], v["records"]);
    assert_eq!((&j["state_hash"], &j["output_hash"]), (&v["state_hash"], &v["output_hash"]));
    // `tickforge bench` runs its ITCH-only instruction counts on the capture, not the journal.
    let open = |p: &std::path::Path| replay::Input::open(p, replay::InputFormat::Auto).unwrap();
    assert!(open(&replay::default_capture()).is_itch());
    assert!(!open(&dir).is_itch(), "a journal holds records, not ITCH bytes");
    let again = Command::new(env!("CARGO_BIN_EXE_tickforge")).args(["replay", "--journal"]).arg(&dir).output().unwrap();
    assert!(!again.status.success(), "a journal that already holds records is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("tf-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn a_gzip_capture_replays_like_the_plain_one() {
    let plain = replay::default_capture();
    let gz = temp("sample.itch.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    enc.finish().unwrap();
    let config = PipelineConfig::default();
    let a = replay::replay(&plain, &config, None).unwrap();
    let b = replay::replay(&gz, &config, None).unwrap();
    assert_eq!(b.format, "binaryfile+gzip");
    assert_eq!((a.messages, &a.output_hash, &a.state_hash), (b.messages, &b.output_hash, &b.state_hash));
    // A truncated gzip file is an error that says so, not a short replay.
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    let err = replay::replay(&gz, &config, None).unwrap_err();
    assert!(format!("{err:#}").contains("gzip"), "{err:#}");
    let _ = std::fs::remove_file(&gz);
}

#[test]
fn the_report_directory_holds_json_interval_logs_and_html() {
    let dir = temp("report");
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["replay", "--rate", "400000", "--interval-ms", "20", "--report"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let records = report["summary"]["records"].as_u64().unwrap();
    assert_eq!(records, 100_026);
    assert!(report["settings"]["pacing"].as_str().unwrap().contains("400000"));
    assert!(!report["machine"]["cpu"].as_str().unwrap().is_empty());
    let intervals = report["intervals"].as_array().unwrap();
    assert!(intervals.len() >= 5, "a 0.25 s run in 20 ms intervals: {}", intervals.len());
    let per_interval: u64 = intervals.iter().map(|i| i["records"].as_u64().unwrap()).sum();
    assert_eq!(per_interval, records, "every record is in exactly one interval");
    // Each stage's interval log, read back by the hdrhistogram crate's own parser, holds every
    // record once, and its histograms add up to the summary's percentiles.
    for stage in ["feed", "matching", "gateway", "end_to_end"] {
        let log = std::fs::read(dir.join(format!("{stage}.hlog"))).unwrap();
        let mut total: hdrhistogram::Histogram<u64> = hdrhistogram::Histogram::new(3).unwrap();
        let mut lines = 0;
        let mut de = hdrhistogram::serialization::Deserializer::new();
        for item in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
            if let hdrhistogram::serialization::interval_log::LogEntry::Interval(h) = item.unwrap() {
                assert_eq!(h.tag().map(|t| t.as_str()), Some(stage));
                let bytes = base64_decode(h.encoded_histogram());
                let hist: hdrhistogram::Histogram<u64> = de.deserialize(&mut &bytes[..]).unwrap();
                total.add(&hist).unwrap();
                lines += 1;
            }
        }
        assert_eq!(lines, intervals.len(), "{stage}");
        assert_eq!(total.len(), records, "{stage}");
        let key = if stage == "end_to_end" { "end_to_end" } else { stage };
        assert_eq!(total.max(), report["summary"]["latency_ns"][key]["max"].as_u64().unwrap(), "{stage}");
        assert!(!report["distributions"][stage].as_array().unwrap().is_empty());
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 5, "four distributions and latency over time");
    assert!(!html.contains("<script") && !html.contains("src="), "self-contained: nothing to fetch");
    assert!(html.contains(report["summary"]["state_hash"].as_str().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard base64 (the interval log's encoding), decoded here so the check does not go
/// through our own writer's code.
fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = acc << 6 | A.iter().position(|a| *a == c).expect("base64 alphabet") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn bad_arguments_and_inputs_get_clear_errors() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_tickforge")).args(args).output().unwrap();
    for (args, says) in [
        (&["replay", "--speed", "fast"][..], "--speed"),
        (&["replay", "--rate", "0"][..], "--rate"),
        (&["replay", "/nonexistent/file.itch"][..], "not found"),
        (&["replay", "--format", "pcap"][..], "pcap"),
        (&["replay", "--format", "csv"][..], "unknown format"),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn shared_lobster_and_dbn_files_replay() {
    let Some(lobster) = tickforge_feed::shared::require(
        "captures/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv",
        "LOBSTER replay",
    ) else {
        return;
    };
    let config = PipelineConfig::default();
    let s = replay::replay(&lobster, &config, None).unwrap();
    let lines = std::fs::read_to_string(&lobster).unwrap().lines().count() as u64;
    assert_eq!(s.format, "lobster");
    assert!(s.notes[0].contains("orderbook"), "{:?}", s.notes);
    // Hidden executions, crosses and halts produce no record; everything else does, plus one
    // synthetic order per starting level (two: the file is level 1).
    let visible = std::fs::read_to_string(&lobster)
        .unwrap()
        .lines()
        .filter(|l| matches!(l.split(',').nth(1), Some("1" | "2" | "3" | "4")))
        .count() as u64;
    assert_eq!((s.messages, s.records), (visible + 2, visible + 2));
    assert!(lines > visible && s.fills > 0, "{s:?}");
    let again = replay::replay(&lobster, &config, None).unwrap();
    assert_eq!((s.state_hash, s.output_hash), (again.state_hash, again.output_hash));

    let Some(dbn) = tickforge_feed::shared::require("captures/dbn/test_data.mbo.v3.dbn.zst", "DBN replay") else {
        return;
    };
    let d = replay::replay(&dbn, &config, None).unwrap();
    assert_eq!(d.format, "dbn v3 mbo");
    assert!(d.records > 0 && d.instruments == 1, "{d:?}");
}

/// The bundled capture's first `len` bytes (cut inside a message), with the type byte of
/// message `bad` (counted from 1) replaced by one ITCH does not have. Returns the bytes and the
/// offset of that message (after its length prefix).
fn damaged_capture(len: usize, bad: usize) -> (Vec<u8>, usize) {
    let mut bytes = std::fs::read(replay::default_capture()).unwrap();
    bytes.truncate(len);
    let (mut at, mut n) = (0, 0);
    loop {
        n += 1;
        let msg_len = usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
        if n == bad {
            bytes[at + 2] = b'!';
            return (bytes, at + 2);
        }
        at += 2 + msg_len;
    }
}

#[test]
fn a_damaged_capture_says_what_was_wrong_and_where() {
    let (bytes, offset) = damaged_capture(20_000, 50);
    let path = temp("damaged");
    std::fs::write(&path, &bytes).unwrap();
    let s = replay::replay(&path, &PipelineConfig::default(), None).unwrap();
    assert_eq!(s.malformed, 2, "{s:?}");
    assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
    assert!(
        s.problems[0].starts_with("message 50 (") && s.problems[0].contains(&format!("at byte {offset})")),
        "{}",
        s.problems[0]
    );
    assert!(s.problems[0].contains("unknown message type 0x21"), "{}", s.problems[0]);
    assert!(s.problems[1].contains("BinaryFILE framing broke: truncated at offset"), "{}", s.problems[1]);
    assert!(s.problems[1].ends_with("bytes from there to the end were not read"), "{}", s.problems[1]);
    // The terminal summary and `tickforge book` say the same.
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge")).arg("replay").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("problem      {}", s.problems[0])), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge")).arg("book").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 malformed") && text.contains(&format!("problem: {}", s.problems[0])), "{text}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_file_with_nothing_readable_is_an_error_not_an_empty_run() {
    let path = temp("garbage");
    // A length prefix far past the end of the file: not one message can be framed.
    std::fs::write(&path, [0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge")).arg("replay").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could be read as binaryfile") && err.contains("truncated at offset 0"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_packet_capture_without_market_data_is_an_error_that_says_so() {
    use tickforge_feed::pcap::{Writer, LINKTYPE_ETHERNET};
    let path = temp("no-mold");
    let mut w = Writer::new(LINKTYPE_ETHERNET);
    let mut arp = vec![0xff; 12];
    arp.extend_from_slice(&[0x08, 0x06]); // EtherType ARP: not IPv4, not UDP
    arp.resize(42, 0);
    w.frame(1, &arp);
    w.frame(2, &arp);
    std::fs::write(&path, w.into_bytes()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge")).arg("replay").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could be read as pcap: 2 packets, none of them MoldUDP64: no market data to read"), "{err}");
    let _ = std::fs::remove_file(&path);
}
