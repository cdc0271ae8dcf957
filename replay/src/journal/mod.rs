//! The journal: every inbound record, sequenced, so a crash or a replay rebuilds exactly the
//! same state.
//!
//! # Layout
//!
//! A journal is a directory of segment files `NNNNNNNNNNNN.tfj` (segment number, 12 digits).
//! Each segment is preallocated to the configured size and starts with a 64-byte header:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | magic | `TFJOURNL` |
//! | 8 | version | u32 LE, 1 |
//! | 12 | header length | u32 LE, 64 |
//! | 16 | segment number | u64 LE |
//! | 24 | first sequence | u64 LE: the sequence of the segment's first entry |
//! | 32 | segment size | u64 LE |
//! | 40 | header checksum | u32 LE, CRC-32C of bytes 0..40 |
//!
//! Entries follow, each 8-byte aligned:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | length and type | u32 LE: payload length in the low 24 bits, entry type in the high 8 (1 = record, 2 = message, 0xFF = end of segment); **0 means not written yet** |
//! | 4 | checksum | u32 LE: CRC-32C of bytes 8.. (sequence and payload), the type byte XORed into its top byte |
//! | 8 | sequence | u64 LE |
//! | 16 | payload | a 64-byte [`Record`] for type 1; 1 to 4096 opaque bytes for type 2, zero-padded to 8 |
//!
//! Records and messages share one sequence, so a message journaled just before the record it
//! explains stays next to it through any replay.
//!
//! # Visibility
//!
//! The writer fills checksum, sequence and payload first and stores the length word last,
//! atomically with `Release` ordering. A reader (in this process or another, through its own
//! mapping of the same file) loads the length word with `Acquire`: a non-zero value means the
//! whole entry is there. A reader never sees half an entry. When a segment is full the writer
//! stores an end-of-segment entry and continues in the next file.
//!
//! # Durability
//!
//! [`Durability`] is the user's choice:
//!
//! | policy | what an acknowledged append survives |
//! |---|---|
//! | `None` | a crash of the process (`kill -9` included): the mapped pages belong to the kernel's page cache. Not a power loss or kernel crash. |
//! | `Async { every_records, every }` | as `None`, plus power loss for everything up to the last completed flush: every N records or T elapsed (checked every 256 appends), the written range is flushed (`msync`) and [`Journal::durable_seq`] advances. |
//! | `Sync` | power loss and kernel crash: each [`Journal::append_batch`] flushes its range before returning, so `durable_seq` covers everything returned. |
//!
//! # Recovery
//!
//! Opening a journal scans every segment. The valid prefix ends at the first entry whose length
//! word is 0. An entry with a bad checksum, or a sequence out of order, that is the last thing
//! written is a *torn tail* (a write cut short); it and any bytes after it are zeroed, and the
//! report says how many bytes and entries were dropped. The same damage followed by valid
//! entries is *corruption in the middle*: opening fails with an error naming the segment file,
//! the offset and the sequence; nothing is skipped in silence. Reopening continues the sequence.

mod reader;
mod segment;
mod writer;

pub use reader::{verify, Entry, Follow, Item, JournalReader, VerifyReport};
pub use writer::{Journal, Recovery};

use std::path::{Path, PathBuf};
use std::time::Duration;
use tickforge_wire::Record;

/// Bytes of the segment header.
pub const HEADER_LEN: usize = 64;
/// Bytes of an entry header.
pub const ENTRY_HEADER_LEN: usize = 16;
/// Entry type: a 64-byte record.
pub const TYPE_RECORD: u8 = 1;
/// Entry type: an opaque message of 1 to [`MAX_MESSAGE_LEN`] bytes that is not a record (the
/// order-entry gateway's inbound messages, say, which it needs to rebuild its own state on a
/// restart). Record readers skip them; [`JournalReader::next_item`] returns them.
pub const TYPE_MESSAGE: u8 = 2;
/// Largest payload of a message entry.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Entry type: end of segment; the next entry is in the next file.
pub const TYPE_END: u8 = 0xFF;
const MAGIC: &[u8; 8] = b"TFJOURNL";
const VERSION: u32 = 1;
/// Bytes one record entry takes.
pub const RECORD_ENTRY_LEN: usize = ENTRY_HEADER_LEN + core::mem::size_of::<Record>();

/// When appended records are flushed to storage; see the module docs for what each survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Page cache only.
    None,
    /// Flush every `every_records` records or every `every`, whichever comes first.
    Async {
        /// Records between flushes.
        every_records: u64,
        /// Longest time between flushes.
        every: Duration,
    },
    /// Flush each batch before `append_batch` returns.
    Sync,
}

/// Settings of a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalConfig {
    /// Bytes per segment file (rounded down to a multiple of 8; at least one record entry).
    pub segment_size: u64,
    /// Pre-fault each new segment for writing (`MADV_POPULATE_WRITE`), so appends do not take
    /// page faults; see `BENCHMARKS.md` for what it changes.
    pub prefault: bool,
    /// The flush policy.
    pub durability: Durability,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { segment_size: 64 << 20, prefault: true, durability: Durability::None }
    }
}

/// Something the journal could not do.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A segment whose header is not a tickforge journal header.
    #[error("{path}: not a tickforge journal segment ({what})")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: &'static str,
    },
    /// Damage in the middle of the journal: valid entries follow it.
    #[error("{path}: corrupt entry at offset {offset} (expected sequence {seq}): {what}; valid entries follow, so this is not a torn tail")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the entry in that file.
        offset: u64,
        /// The sequence the entry should have had.
        seq: u64,
        /// What was wrong.
        what: &'static str,
    },
    /// Segments missing or out of order.
    #[error("{path}: segment {found} where {expected} was expected")]
    MissingSegment {
        /// The directory.
        path: PathBuf,
        /// The segment number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// A message entry that is empty or longer than [`MAX_MESSAGE_LEN`].
    #[error("journal message of {len} bytes: a message entry holds 1 to {MAX_MESSAGE_LEN} bytes")]
    MessageSize {
        /// Its length.
        len: usize,
    },
    /// A record whose sequence is not the next one.
    #[error("append of sequence {got}, but the journal's next sequence is {expected}")]
    OutOfSequence {
        /// The next sequence.
        expected: u64,
        /// The record's.
        got: u64,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

/// The file name of segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("{n:012}.tfj")
}

/// Segment files of a journal directory, sorted by number.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut v = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in rd {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".tfj")) else { continue };
        if let Ok(n) = stem.parse::<u64>() {
            v.push((n, entry.path()));
        }
    }
    v.sort();
    for (k, (n, _)) in v.iter().enumerate() {
        let expected = v[0].0 + k as u64;
        if *n != expected {
            return Err(JournalError::MissingSegment { path: dir.to_path_buf(), expected, found: *n });
        }
    }
    Ok(v)
}
