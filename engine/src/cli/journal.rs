//! `tickforge journal verify|inspect|tail`: reading a journal directory from the command line.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum JournalCommand {
    /// Check every segment, checksum and sequence, read-only. Exit status 1 on corruption.
    Verify {
        /// The journal directory.
        path: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print entries as text: records, and the message entries a venue journals (its day
    /// header and each inbound OUCH message, decoded).
    Inspect {
        /// The journal directory.
        path: PathBuf,
        /// First sequence to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// How many entries to print.
        #[arg(long, default_value_t = 20)]
        count: u64,
    },
    /// Print records as they are appended by a running writer (Ctrl-C to stop).
    Tail {
        /// The journal directory.
        path: PathBuf,
        /// First sequence to print (default: the current end).
        #[arg(long)]
        from: Option<u64>,
    },
}

/// One journal entry as a line of text.
fn describe(e: &tickforge_replay::journal::Entry) -> String {
    let r = &e.record;
    let kind = r.kind().map_or_else(|raw| format!("kind {raw}"), |k| format!("{k:?}"));
    format!(
        "{:>12} {:<16} instr {:<5} sess {:<5} side {} id {:<12} px {:<10} qty {:<8} aux {:<12} t {}",
        e.seq,
        kind,
        r.instrument,
        r.session,
        match r.side {
            1 => "B",
            2 => "S",
            _ => "-",
        },
        r.order_id,
        r.price,
        r.qty,
        r.aux,
        tickforge_feed::stats::format_time_of_day(r.ts_event)
    )
}

/// Runs one `journal` subcommand.
pub(crate) fn run(command: JournalCommand) -> Result<ExitCode> {
    use tickforge_replay::journal::{self, Follow, JournalReader};
    match command {
        JournalCommand::Verify { path, json } => match journal::verify(&path) {
            Ok(v) => {
                if json {
                    println!("{}", serde_json::to_string(&v)?);
                } else {
                    println!(
                        "segments   {}\nrecords    {}\nsequences  {}..={}\ntorn tail  {} bytes{}",
                        v.segments,
                        v.records,
                        v.first_seq,
                        v.last_seq,
                        v.torn_tail_bytes,
                        v.torn.as_ref().map_or(String::new(), |t| format!(" ({t}; reopening the journal drops it)"))
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ journal::JournalError::Corrupt { .. }) => {
                if json {
                    println!("{}", serde_json::json!({ "error": e.to_string() }));
                } else {
                    eprintln!("tickforge: journal corrupt: {e}");
                }
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        },
        JournalCommand::Inspect { path, from, count } => {
            let mut r = JournalReader::open(&path)?;
            if !r.seek(from)? {
                anyhow::bail!(
                    "{}: no entry with sequence {from} (the journal has {} entries)",
                    path.display(),
                    journal::verify(&path).map_or(0, |v| v.records)
                );
            }
            for _ in 0..count {
                match r.next_item()? {
                    Some(journal::Item::Record(e)) => println!("{}", describe(&e)),
                    Some(journal::Item::Message { seq, bytes, .. }) => println!(
                        "{seq:>12} {:<16} {}",
                        "Message",
                        tickforge_engine::gateway::venue_journal::describe_message(bytes)
                    ),
                    None => break,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        JournalCommand::Tail { path, from } => {
            let mut reader = JournalReader::open(&path)?;
            let start = match from {
                Some(s) => s,
                None => journal::verify(&path).map_or(1, |v| v.last_seq + 1),
            };
            reader.seek(start)?;
            let mut f = Follow { reader, poll: std::time::Duration::from_millis(1) };
            while let Some(e) = f.next_entry(|| false)? {
                println!("{}", describe(&e));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
