//! The `tickforge` command-line tool.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;
use cli::journal::JournalCommand;

/// tickforge: a low-latency trading engine. Replays exchange captures, runs a venue, and reports latency.
#[derive(Debug, Parser)]
#[command(
    name = "tickforge",
    version,
    after_help = "\
Still being built (tracked in the issue list):
  serve     OUCH 5.0 listeners"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a capture or journal through the pinned feed -> matching -> gateway pipeline, at
    /// full speed, paced (--rate) or at the capture's own pace (--speed realtime|Nx), and print a
    /// summary: counts, per-stage latencies, output and state hashes. With no CAPTURE, replays
    /// the sample bundled in captures/.
    Replay {
        /// Nasdaq BinaryFILE ITCH 5.0 (plain or .gz), pcap/pcapng with MoldUDP64, a Databento
        /// DBN MBO file (plain or .zst), a LOBSTER *_message_*.csv, or a tickforge journal
        /// directory.
        capture: Option<PathBuf>,
        /// Input format: auto, itch, pcap, journal, dbn, lobster.
        #[arg(long, default_value = "auto")]
        format: tickforge_engine::replay::InputFormat,
        /// max (as fast as possible), realtime (the capture's own timestamps), or Nx (N times
        /// faster than recorded, e.g. 10x or 0.5x).
        #[arg(long, default_value = "max", conflicts_with = "rate")]
        speed: String,
        /// Release records at this many per second and measure open-loop latency from each
        /// record's planned release time.
        #[arg(long)]
        rate: Option<f64>,
        /// Stage placement, e.g. feed=0,matching=1,gateway=0 (default: adapted to this machine).
        #[arg(long)]
        pin: Option<String>,
        /// Journal every sequenced record into this (empty) directory.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Write report.json, HdrHistogram interval logs and report.html into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Publish the sequenced market data as ITCH 5.0 over MoldUDP64 to this address
        /// (unicast or a multicast group), with a retransmission server.
        #[arg(long)]
        publish: Option<std::net::SocketAddr>,
        /// Address the retransmission server listens on (default: the publish port + 1, on
        /// loopback when publishing to loopback).
        #[arg(long, requires = "publish")]
        rerequest: Option<std::net::SocketAddr>,
        /// Largest MoldUDP64 datagram, bytes.
        #[arg(long, default_value_t = 1400, requires = "publish")]
        packet_size: usize,
        /// Drop this fraction of published datagrams on purpose (testing receivers), e.g. 0.01.
        #[arg(long, requires = "publish")]
        drop_rate: Option<f64>,
        /// Also write every published datagram into this pcap.
        #[arg(long, requires = "publish")]
        publish_pcap: Option<PathBuf>,
        /// Keep answering re-requests this long after the end of session, milliseconds.
        #[arg(long, default_value_t = 1000, requires = "publish")]
        linger_ms: u64,
        /// Length of one latency interval in the report, milliseconds.
        #[arg(long, default_value_t = 100.0)]
        interval_ms: f64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The standard benchmark suite: replays of the bundled capture (max speed and paced) and
    /// instruction counts of the core operations under valgrind; saved as a baseline or
    /// compared with one (exit 1 when anything gated regresses beyond the tolerance).
    Bench {
        /// Save the figures to this file.
        #[arg(long)]
        save: Option<PathBuf>,
        /// Compare with this saved baseline.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Allowed regression, percent.
        #[arg(long, default_value_t = 5.0)]
        tolerance: f64,
        /// Also gate on times and rates (noisy on shared machines; instruction counts always gate).
        #[arg(long)]
        gate_times: bool,
        /// The capture to replay (default: the bundled one).
        #[arg(long)]
        capture: Option<PathBuf>,
        /// Replays per figure (the median is kept).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Run a venue: OUCH 4.2 over SoupBinTCP 3.0 on a TCP listener. With no --config: loopback,
    /// demo accounts demo/demo and demo2/demo2 (each may hold several sessions), instruments
    /// AAPL, MSFT, SPY. With --journal, everything is journaled and a restart from the same
    /// directory resumes the day (books, tokens, sequence numbers). Ctrl-C stops it cleanly.
    Serve {
        /// Venue file (TOML): listen address, accounts (credentials, instruments, self-trade
        /// prevention, throttle), instruments (tick, band, limits), journal. See the README.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:15000, or the config's). Beyond loopback
        /// only with a config whose accounts have real passwords.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Journal directory: created if new, resumed if it holds a day already.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Publish market data (ITCH 5.0 over MoldUDP64) to this address, unicast or multicast,
        /// with a retransmission server on the next port. Default: the config's, else none.
        #[arg(long, value_name = "ADDR")]
        market_data: Option<std::net::SocketAddr>,
        /// Run the engine on its own thread pinned to this core (busy-spinning), fed by the event
        /// loop through rings. Default: the last core on machines with 3 or more, else the
        /// event-loop thread itself.
        #[arg(long, value_name = "CORE", conflicts_with = "matching_inline")]
        matching_core: Option<usize>,
        /// Keep the engine on the event-loop thread, whatever the core count.
        #[arg(long)]
        matching_inline: bool,
        /// End the trading day at this time (HH:MM:SS, UTC): day orders expire, each account
        /// gets the end-of-day system event, later entries are rejected. Default: the config's,
        /// else never.
        #[arg(long, value_name = "HH:MM:SS")]
        end_of_day: Option<String>,
        /// Size the day's order tables for this many orders (entries and replacements) at
        /// start; beyond it the token table grows, rehashing every token of the day on the
        /// event-loop thread. Default: the config's, else 1,048,576.
        #[arg(long, value_name = "N")]
        orders_per_day: Option<usize>,
        /// Stop after this many seconds (default: run until Ctrl-C or SIGTERM).
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Connectivity tester and load generator for `tickforge serve`: sessions entering,
    /// cancelling and replacing orders; every order must reach exactly one final state (exit 1
    /// if any is lost or duplicated); enter -> accepted round-trip percentiles.
    Client {
        /// The server.
        #[arg(long, default_value = "127.0.0.1:15000")]
        connect: std::net::SocketAddr,
        /// Username (default: the demo accounts, sessions alternating between demo and demo2).
        #[arg(long, requires = "password")]
        user: Option<String>,
        /// Password.
        #[arg(long)]
        password: Option<String>,
        /// Sessions.
        #[arg(long, default_value_t = 2)]
        sessions: usize,
        /// Orders per session.
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        /// Orders per second per session (default: as fast as possible).
        #[arg(long)]
        rate: Option<f64>,
        /// Symbol to trade.
        #[arg(long, default_value = "AAPL")]
        symbol: String,
        /// Two characters that start every order token of this run (default: from the clock;
        /// tokens are day-unique, so a second run against the same server needs another tag).
        #[arg(long)]
        run_tag: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Receive ITCH 5.0 over MoldUDP64 (e.g. from `replay --publish`), recover lost datagrams
    /// from the retransmission server, rebuild the books and print the state hash. Exits 1 if
    /// the session did not end complete.
    Listen {
        /// Address to receive on (a multicast group is joined).
        addr: std::net::SocketAddr,
        /// The publisher's retransmission server (default: the data port + 1 on loopback).
        #[arg(long)]
        rerequest: Option<std::net::SocketAddr>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60.0)]
        timeout_s: f64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Internal: one instruction-count scenario, run under valgrind by `tickforge bench`.
    #[command(hide = true)]
    IcountChild {
        /// The scenario.
        scenario: String,
        /// The capture it reads, if any.
        capture: PathBuf,
    },
    /// The books of a capture as they stood at a moment: top levels with price, shares and
    /// order count, per instrument.
    Book {
        /// The capture (BinaryFILE ITCH 5.0, or pcap/pcapng with MoldUDP64).
        capture: PathBuf,
        /// Only this symbol.
        #[arg(long)]
        symbol: Option<String>,
        /// The book at this time of day, HH:MM:SS[.fraction] (messages stamped later are not applied).
        #[arg(long, conflicts_with = "after")]
        at: Option<String>,
        /// The book after the first N messages.
        #[arg(long)]
        after: Option<u64>,
        /// Levels per side.
        #[arg(long, default_value_t = 5)]
        levels: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Work with capture files (Nasdaq BinaryFILE ITCH 5.0, pcap/pcapng with MoldUDP64).
    Capture {
        #[command(subcommand)]
        command: CaptureCommand,
    },
    /// Verify, inspect and follow an engine journal.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
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
    /// Write a realistic, deterministic ITCH 5.0 day (BinaryFILE): the same seed gives the same bytes.
    Generate {
        /// Approximate number of book messages.
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Number of symbols.
        #[arg(long, default_value_t = 8)]
        symbols: u16,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file.
        out: PathBuf,
    },
    /// Convert a capture: LOBSTER, DBN, a market-data journal or a pcap to a Nasdaq BinaryFILE,
    /// or any of them to a pcap of MoldUDP64 packets.
    Convert {
        /// The input (any format `tickforge replay` reads).
        input: PathBuf,
        /// The output file.
        out: PathBuf,
        /// Output framing: itch (BinaryFILE) or pcap (MoldUDP64 over UDP).
        #[arg(long)]
        to: tickforge_engine::convert::Target,
        /// Input format: auto, itch, pcap, journal, dbn, lobster.
        #[arg(long, default_value = "auto")]
        format: tickforge_engine::replay::InputFormat,
        /// Largest UDP payload per MoldUDP64 packet (pcap output).
        #[arg(long, default_value_t = 1400)]
        packet_size: usize,
    },
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
        Command::Replay {
            capture,
            format,
            speed,
            rate,
            pin,
            journal,
            report,
            publish,
            rerequest,
            packet_size,
            drop_rate,
            publish_pcap,
            linger_ms,
            interval_ms,
            json,
        } => {
            use tickforge_engine::pipeline::{Pacing, PipelineConfig, Topology};
            let pacing = match rate {
                Some(r) if !(r > 0.0 && r.is_finite()) => {
                    anyhow::bail!("--rate must be a positive number of records per second")
                }
                Some(r) => Pacing::Rate(r),
                None => parse_speed(&speed)?,
            };
            if !(interval_ms > 0.0 && interval_ms.is_finite()) {
                anyhow::bail!("--interval-ms must be a positive number of milliseconds");
            }
            let path = capture.unwrap_or_else(tickforge_engine::replay::default_capture);
            if !path.exists() {
                anyhow::bail!("capture {} not found (make one with `tickforge capture generate OUT`)", path.display());
            }
            let cores = tickforge_engine::pipeline::topology::available_cores();
            let topology = match pin {
                Some(spec) => Topology::parse(&spec, cores)?,
                None => Topology::default_for(cores),
            };
            let interval = std::time::Duration::from_secs_f64(interval_ms / 1e3);
            let config = PipelineConfig { topology, pacing, interval: Some(interval), ..Default::default() };
            let input = tickforge_engine::replay::Input::open(&path, format)?;
            if let Some(dir) = &journal {
                if dir.canonicalize().ok() == path.canonicalize().ok() {
                    anyhow::bail!(
                        "--journal {} is the input being replayed; journal into another directory",
                        dir.display()
                    );
                }
            }
            let mut j = match &journal {
                Some(dir) => {
                    let (j, rec) = tickforge_replay::journal::Journal::open(dir, Default::default())?;
                    if rec.records > 0 {
                        anyhow::bail!(
                            "journal {} already holds {} records; replay into an empty directory",
                            dir.display(),
                            rec.records
                        );
                    }
                    Some(j)
                }
                None => None,
            };
            let mut publisher = match publish {
                Some(dest) => Some(publisher(dest, rerequest, packet_size, drop_rate, publish_pcap.is_some())?),
                None => None,
            };
            let mut options = tickforge_engine::replay::ReplayOptions {
                progress: true,
                symbols: if publisher.is_some() { input.symbol_table() } else { Vec::new() },
                publisher: publisher.as_mut(),
            };
            let run = tickforge_engine::replay::replay_input(&input, &config, j.as_mut(), &mut options)?;
            if let Some(p) = &mut publisher {
                let (sent, dropped, errors) = p.datagrams();
                eprintln!(
                    "published {} messages to {} in {sent} datagrams ({dropped} dropped on purpose, {errors} send errors); answering re-requests for {linger_ms} ms",
                    p.publisher().next_seq() - 1,
                    publish.map_or(String::new(), |a| a.to_string())
                );
                p.linger(std::time::Duration::from_millis(linger_ms));
                if let (Some(path), Some(bytes)) = (&publish_pcap, p.tee_bytes()) {
                    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
                }
            }
            if let Some(dir) = &report {
                let settings = tickforge_engine::replay::report::Settings {
                    command: std::env::args().collect::<Vec<_>>().join(" "),
                    pacing: config.pacing.describe(),
                    topology: config.topology.describe(),
                    ring_capacity: config.ring_capacity,
                    batch: config.batch,
                    interval_ms: Some(interval_ms),
                    journal: journal.as_ref().map(|p| p.display().to_string()),
                };
                tickforge_engine::replay::report::write(dir, &run.summary, &run.timeline, &settings)?;
            }
            if json {
                println!("{}", serde_json::to_string(&run.summary)?);
            } else {
                print!("{}", run.summary.to_text());
                if let Some(dir) = &report {
                    println!("report       {}", dir.join("report.html").display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { save, baseline, tolerance, gate_times, capture, runs, json } => {
            use tickforge_engine::bench;
            if !(tolerance >= 0.0 && tolerance.is_finite()) {
                anyhow::bail!("--tolerance must be a non-negative percentage");
            }
            let capture = capture.unwrap_or_else(tickforge_engine::replay::default_capture);
            let old = match &baseline {
                Some(p) => Some(bench::Baseline::load(p)?),
                None => None,
            };
            let figures = bench::run_suite(&capture, runs.max(1), !json)?;
            let new = bench::Baseline::new(figures);
            if let Some(p) = &save {
                new.save(p)?;
                eprintln!("saved {}", p.display());
            }
            let cmp = old.as_ref().map(|o| bench::compare(o, &new, tolerance, gate_times));
            if json {
                println!("{}", serde_json::json!({ "figures": new, "comparison": cmp }));
            } else {
                match &cmp {
                    Some(c) => print!("{}", c.to_text()),
                    None => print!("{}", new.to_text()),
                }
            }
            Ok(match cmp {
                Some(c) if c.regressions > 0 => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            })
        }
        Command::Serve {
            config,
            listen,
            journal,
            market_data,
            matching_core,
            matching_inline,
            end_of_day,
            orders_per_day,
            seconds,
        } => {
            use tickforge_engine::gateway::{config as venue_file, server};
            let mut cfg = match &config {
                Some(path) => venue_file::load(path).map_err(anyhow::Error::msg)?,
                None => server::ServeConfig::demo(),
            };
            if let Some(l) = listen {
                cfg.listen = l;
            }
            if journal.is_some() {
                cfg.journal = journal;
            }
            if market_data.is_some() {
                cfg.market_data = market_data;
            }
            cfg.matching = match (matching_core, matching_inline) {
                (_, true) => None,
                (Some(core), false) => {
                    let cores = core_affinity::get_core_ids().map_or(1, |c| c.len());
                    if core >= cores {
                        anyhow::bail!("--matching-core {core}: this machine has cores 0 to {}", cores - 1);
                    }
                    Some(tickforge_engine::gateway::matching::MatchingPlacement {
                        core: Some(core),
                        wait: tickforge_engine::wait::WaitStrategy::BusySpin,
                    })
                }
                (None, false) => tickforge_engine::gateway::matching::MatchingPlacement::for_this_machine(),
            };
            if let Some(t) = end_of_day {
                cfg.end_of_day =
                    Some(venue_file::time_of_day(&t).map_err(|e| anyhow::anyhow!("--end-of-day {t}: {e}"))?);
            }
            if let Some(n) = orders_per_day {
                cfg.orders_per_day = n;
            }
            if let Some(why) = cfg.exposure_problem() {
                anyhow::bail!("serve: {why}");
            }
            let mut server = server::Server::bind(cfg.clone()).map_err(|e| anyhow::anyhow!("serve: {e}"))?;
            let accounts = if cfg.demo {
                "demo accounts demo/demo and demo2/demo2".to_string()
            } else {
                format!("accounts {}", cfg.accounts.iter().map(|a| a.username.as_str()).collect::<Vec<_>>().join(", "))
            };
            let journal = cfg
                .journal
                .as_ref()
                .map_or("no journal (nothing survives a restart)".to_string(), |j| format!("journal {}", j.display()));
            let md = match (cfg.market_data, server.market_data_rerequest_addr()) {
                (Some(dest), Some(rr)) => format!("market data to {dest} (re-requests on {rr})"),
                _ => "no market data".to_string(),
            };
            let matching = match cfg.matching.and_then(|m| m.core) {
                Some(core) => format!("matching on core {core}"),
                None => "matching on the event-loop thread".to_string(),
            };
            eprintln!(
                "tickforge serve: OUCH 4.2 over SoupBinTCP 3.0 on {}; {accounts}; instruments {}; {journal}; {md}; {matching}",
                server.local_addr()?,
                cfg.symbols().join(", ")
            );
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            {
                let stop = stop.clone();
                ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
                    .context("installing the Ctrl-C handler")?;
            }
            if let Some(s) = seconds {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_secs_f64(s.max(0.0)));
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                });
            }
            server.run(&stop)?;
            server.flush_journal().map_err(|e| anyhow::anyhow!("serve: flushing the journal: {e}"))?;
            eprintln!(
                "tickforge serve: stopped; state hash {:016x}; {}",
                server.state_hash(),
                serde_json::to_string(&server.stats)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Client { connect, user, password, sessions, orders, rate, symbol, run_tag, json } => {
            let run_tag = match run_tag.as_deref().map(str::as_bytes) {
                None => None,
                Some(&[a, b]) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => Some([a, b]),
                Some(_) => anyhow::bail!("--run-tag: two letters or digits"),
            };
            if rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
                anyhow::bail!("--rate must be a positive number of orders per second");
            }
            let accounts = match (user, password) {
                (Some(u), Some(p)) => vec![(u, p)],
                _ => vec![("demo".to_string(), "demo".to_string()), ("demo2".to_string(), "demo2".to_string())],
            };
            let config = tickforge_engine::gateway::client::ClientConfig {
                connect,
                accounts,
                sessions,
                orders,
                rate,
                symbol,
                timeout: std::time::Duration::from_secs(30),
                run_tag,
            };
            let report = tickforge_engine::gateway::client::run(&config)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(if report.lost == 0 && report.duplicates == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Listen { addr, rerequest, timeout_s, json } => {
            let rerequest = rerequest.unwrap_or_else(|| {
                std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port().wrapping_add(1))
            });
            let mut receiver = tickforge_feed::mold::udp::UdpReceiver::bind(addr, rerequest, Default::default())
                .with_context(|| format!("listening on {addr}"))?;
            eprintln!("listening on {addr}, re-requests to {rerequest}");
            let summary =
                tickforge_engine::listen::listen(&mut receiver, std::time::Duration::from_secs_f64(timeout_s))?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                print!("{}", summary.to_text());
            }
            Ok(if summary.complete && summary.transport.lost == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::IcountChild { scenario, capture } => {
            tickforge_engine::bench::icount::child(&scenario, &capture)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Book { capture, symbol, at, after, levels, json } => {
            use tickforge_engine::snapshot::{self, Moment};
            let moment = match (at, after) {
                (Some(t), _) => Moment::At(
                    snapshot::parse_time_of_day(&t)
                        .with_context(|| format!("--at {t:?}: expected HH:MM:SS[.fraction]"))?,
                ),
                (None, Some(n)) => Moment::After(n),
                (None, None) => Moment::End,
            };
            let snap = snapshot::snapshot(&capture, moment, symbol.as_deref(), levels)?;
            if json {
                println!("{}", serde_json::to_string(&snap)?);
            } else {
                print!("{}", snap.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Capture { command: CaptureCommand::Generate { messages, symbols, seed, out } } => {
            let bytes = tickforge_feed::generate::generate(&tickforge_feed::generate::GenerateConfig {
                messages,
                symbols,
                seed,
            });
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Capture { command: CaptureCommand::Convert { input, out, to, format, packet_size } } => {
            let summary = tickforge_engine::convert::convert(&input, format, &out, to, packet_size)?;
            eprint!("{}", summary.to_text(&out));
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Journal { command } => cli::journal::run(command),
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

/// The MoldUDP64 publisher of `replay --publish`.
fn publisher(
    dest: std::net::SocketAddr,
    rerequest: Option<std::net::SocketAddr>,
    packet_size: usize,
    drop_rate: Option<f64>,
    tee: bool,
) -> Result<tickforge_feed::mold::udp::UdpPublisher> {
    use tickforge_feed::mold;
    if !(64..=65_507).contains(&packet_size) {
        anyhow::bail!("--packet-size {packet_size}: between 64 and 65507 bytes");
    }
    let rerequest = rerequest.unwrap_or_else(|| {
        let ip = if dest.ip().is_loopback() { dest.ip() } else { std::net::Ipv4Addr::UNSPECIFIED.into() };
        std::net::SocketAddr::new(ip, dest.port().wrapping_add(1))
    });
    let mut p = mold::udp::UdpPublisher::bind(
        dest,
        rerequest,
        mold::session("TICKFORGE1"),
        packet_size,
        std::time::Duration::from_secs(1),
    )
    .with_context(|| format!("publishing to {dest}, retransmission server on {rerequest}"))?;
    if let Some(rate) = drop_rate {
        if !(0.0..=1.0).contains(&rate) {
            anyhow::bail!("--drop-rate {rate}: a fraction between 0 and 1");
        }
        p.drop_datagrams((rate * 1e6) as u64, 0x5EED);
    }
    if tee {
        p.tee();
    }
    Ok(p)
}

/// `--speed`: max, realtime, or Nx.
fn parse_speed(s: &str) -> Result<tickforge_engine::pipeline::Pacing> {
    use tickforge_engine::pipeline::Pacing;
    match s {
        "max" => Ok(Pacing::Max),
        "realtime" => Ok(Pacing::EventTime { speed: 1.0 }),
        _ => match s.strip_suffix('x').and_then(|n| n.parse::<f64>().ok()) {
            Some(speed) if speed > 0.0 && speed.is_finite() => Ok(Pacing::EventTime { speed }),
            _ => anyhow::bail!("--speed {s:?}: expected max, realtime, or a speed-up such as 10x or 0.5x"),
        },
    }
}
