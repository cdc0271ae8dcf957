//! `tickforge capture convert`: BinaryFILE → pcap → BinaryFILE gives back the same bytes;
//! tshark's moldudp64 dissector reads the pcap's packets; LOBSTER and DBN files become ITCH
//! that `itchy` decodes and that rebuilds exactly the books the original files build.

use std::path::{Path, PathBuf};
use std::process::Command;
use tickforge_engine::pipeline::PipelineConfig;
use tickforge_engine::replay;

fn tickforge(args: &[&std::ffi::OsStr]) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tf-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn convert(input: &Path, out: &Path, to: &str) {
    tickforge(&[
        "capture".as_ref(),
        "convert".as_ref(),
        input.as_os_str(),
        out.as_os_str(),
        "--to".as_ref(),
        to.as_ref(),
    ]);
}

fn itchy_count(path: &Path) -> usize {
    let mut n = 0;
    for m in itchy::MessageStream::from_file(path).unwrap() {
        m.expect("itchy decodes every message");
        n += 1;
    }
    n
}

#[test]
fn binaryfile_to_pcap_and_back_is_lossless_and_tshark_reads_the_packets() {
    let sample = replay::default_capture();
    let (pcap, back) = (temp("sample.pcap"), temp("sample-back.itch"));
    convert(&sample, &pcap, "pcap");
    convert(&pcap, &back, "itch");
    assert!(
        std::fs::read(&sample).unwrap() == std::fs::read(&back).unwrap(),
        "BinaryFILE → pcap → BinaryFILE changed bytes"
    );
    let config = PipelineConfig::default();
    let (a, b) = (replay::replay(&sample, &config, None).unwrap(), replay::replay(&pcap, &config, None).unwrap());
    assert_eq!((a.messages, &a.state_hash, &a.output_hash), (b.messages, &b.state_hash, &b.output_hash));

    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tshark is required under CI (.ci/run installs it)");
        eprintln!("SKIPPED: tshark not installed");
        return;
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-d", "udp.port==26400,moldudp64", "-T", "fields", "-E", "separator=|"])
        .args(["-e", "moldudp64.session", "-e", "moldudp64.sequence", "-e", "moldudp64.count"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut next = 1u64;
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[0], "TICKFORGE1", "{line}");
        assert_eq!(f[1].parse::<u64>().unwrap(), next, "packets carry consecutive sequence numbers: {line}");
        next += f[2].parse::<u64>().unwrap();
    }
    assert_eq!(next - 1, a.messages, "tshark counts every message of the capture");
}

#[test]
fn lobster_and_dbn_become_itch_that_builds_the_same_books() {
    let lobster = tickforge_feed::shared::require(
        "captures/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv",
        "LOBSTER conversion",
    );
    let dbn = tickforge_feed::shared::require("captures/dbn/test_data.mbo.v3.dbn.zst", "DBN conversion");
    let config = PipelineConfig::default();
    for (input, name) in [(lobster, "amzn.itch"), (dbn, "dbn.itch")] {
        let Some(input) = input else { continue };
        let out = temp(name);
        convert(&input, &out, "itch");
        let direct = replay::replay(&input, &config, None).unwrap();
        let converted = replay::replay(&out, &config, None).unwrap();
        assert_eq!(converted.malformed, 0);
        assert_eq!(converted.state_hash, direct.state_hash, "{}: the same books", input.display());
        assert_eq!(converted.unknown_refs, direct.unknown_refs, "{}", input.display());
        assert_eq!(itchy_count(&out) as u64, converted.messages, "itchy decodes all of {}", out.display());
    }
}

#[test]
fn conversion_errors_are_clear() {
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["capture", "convert", "/nonexistent.itch", "/tmp/x.pcap", "--to", "pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["capture", "convert", "x", "y", "--to", "csv"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target"));
}
