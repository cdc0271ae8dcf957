//! The `tickforge` command-line tool.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// tickforge: a low-latency trading engine. Replays exchange captures, runs a venue, and reports latency.
#[derive(Debug, Parser)]
#[command(
    name = "tickforge",
    version,
    after_help = "\
Subcommands still being built (tracked in the issue list):
  replay    push a capture or journal through the pinned pipeline and report latency
  serve     run a venue: OUCH over SoupBinTCP in, ITCH 5.0 over MoldUDP64 out
  client    connectivity tester and load generator for `serve`
  bench     the standard benchmark suite, compared with a saved baseline
  verify    check a book reconstruction against a reference (LOBSTER)
  journal   verify, inspect and follow an engine journal
  book      the book of an instrument at a moment of a capture"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with capture files (Nasdaq BinaryFILE ITCH 5.0, pcap/pcapng with MoldUDP64).
    Capture {
        #[command(subcommand)]
        command: CaptureCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CaptureCommand {
    /// Decode every message of a capture and print counts per type, first and last timestamps,
    /// and malformed messages with the offset of the first.
    Stats {
        /// The capture file. The framing is detected from its first bytes.
        file: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tickforge: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Capture { command: CaptureCommand::Stats { file, json } } => {
            let capture = tickforge_feed::Capture::open(&file)?;
            let stats = tickforge_feed::stats::compute(capture.format, capture.bytes())
                .with_context(|| format!("reading {}", file.display()))?;
            if json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                print!("{}", stats.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
