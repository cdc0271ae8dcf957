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
    /// Check our book reconstruction against a reference.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VerifyCommand {
    /// Replay a LOBSTER message file and compare the book after every message with LOBSTER's
    /// orderbook file. Exits 1 on any mismatch.
    Lobster {
        /// The `*_message_N.csv` file.
        #[arg(long)]
        messages: PathBuf,
        /// The matching `*_orderbook_N.csv` file.
        #[arg(long)]
        orderbook: PathBuf,
        /// Compare only the top N levels (default: all levels in the file).
        #[arg(long)]
        levels: Option<usize>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
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
        Command::Verify { command: VerifyCommand::Lobster { messages, orderbook, levels, json } } => {
            let read = |p: &PathBuf| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
            let report = tickforge_engine::lobster::verify(&read(&messages)?, &read(&orderbook)?, levels)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(if report.mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}
