//! Readers: sequential scan, tail-follow of a journal being written, seek by sequence, and
//! read-only verification.
//!
//! # Seeking
//!
//! The sparse index is the segments' first sequences (one entry per segment, from the headers).
//! Within a segment, record entries have a fixed size, so the entry for a sequence is found by
//! arithmetic; the entry there is validated (checksum and sequence) before it is used, and a
//! mismatch falls back to scanning the segment.
// Deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use super::segment::{describe_tail, scan_chain, SegmentRo};
use super::{list_segments, JournalError, HEADER_LEN, RECORD_ENTRY_LEN, TYPE_END, TYPE_MESSAGE};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tickforge_wire::zerocopy::FromBytes;
use tickforge_wire::Record;

/// One journaled record and where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its sequence.
    pub seq: u64,
    /// The record.
    pub record: Record,
    /// Segment number.
    pub segment: u64,
    /// Byte offset of the entry in the segment file.
    pub offset: u64,
}

/// One entry of either type, from [`JournalReader::next_item`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A record entry.
    Record(Entry),
    /// A message entry.
    Message {
        /// Its sequence.
        seq: u64,
        /// The message.
        bytes: &'a [u8],
        /// Segment number.
        segment: u64,
        /// Byte offset of the entry in the segment file.
        offset: u64,
    },
}

/// Reads a journal in sequence order. [`JournalReader::next_entry`] returns `Ok(None)` at the
/// current end; call it again later to see records appended since (or use [`Follow`]).
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    seg_no: u64,
    seg: Option<SegmentRo>,
    off: usize,
    next_seq: u64,
}

impl JournalReader {
    /// A reader at the start of the journal in `dir`.
    pub fn open(dir: &Path) -> Result<JournalReader, JournalError> {
        let segs = list_segments(dir)?;
        let mut r = JournalReader { dir: dir.to_path_buf(), seg_no: 0, seg: None, off: HEADER_LEN, next_seq: 1 };
        if let Some((n, path)) = segs.first() {
            let s = SegmentRo::open(path.clone())?;
            r.seg_no = *n;
            r.next_seq = s.header.first_seq;
            r.seg = Some(s);
        }
        Ok(r)
    }

    /// The sequence the next entry will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next record, `Ok(None)` if none has been written yet, or an error for a damaged entry
    /// (with its segment, offset and expected sequence). Message entries are skipped.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, JournalError> {
        loop {
            match self.next_item()? {
                None => return Ok(None),
                Some(Item::Record(e)) => return Ok(Some(e)),
                Some(Item::Message { .. }) => {}
            }
        }
    }

    /// The next entry of either type, `Ok(None)` if none has been written yet, or an error for a
    /// damaged entry. A message borrows the mapped bytes until the next call.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, JournalError> {
        // Find the entry first, then borrow its bytes (the loop replaces `self.seg`).
        let (seq, ty, offset, len) = loop {
            let Some(seg) = &self.seg else {
                // Nothing was there when we opened: look again.
                let segs = list_segments(&self.dir)?;
                let Some((n, path)) = segs.first() else { return Ok(None) };
                let s = SegmentRo::open(path.clone())?;
                self.seg_no = *n;
                self.next_seq = s.header.first_seq;
                self.seg = Some(s);
                continue;
            };
            match seg.entry(self.off, self.next_seq) {
                Ok(None) => return Ok(None),
                Ok(Some((_, ty, _))) if ty == TYPE_END => {
                    let next = self.dir.join(super::segment_name(self.seg_no + 1));
                    if !next.exists() {
                        return Ok(None); // the writer is creating it
                    }
                    let s = match SegmentRo::open(next) {
                        Ok(s) => s,
                        Err(JournalError::BadHeader { .. }) => return Ok(None), // header not written yet
                        Err(e) => return Err(e),
                    };
                    self.seg_no += 1;
                    self.off = HEADER_LEN;
                    self.seg = Some(s);
                }
                Ok(Some((total, ty, seq))) => {
                    let offset = self.off;
                    let len = (seg.len_word(offset) & 0x00FF_FFFF) as usize;
                    self.off += total;
                    self.next_seq += 1;
                    break (seq, ty, offset, len);
                }
                Err(what) => {
                    return Err(JournalError::Corrupt {
                        path: seg.path.clone(),
                        offset: self.off as u64,
                        seq: self.next_seq,
                        what,
                    });
                }
            }
        };
        let Some(seg) = &self.seg else { unreachable!("the loop found an entry in a segment") };
        let at = offset + super::ENTRY_HEADER_LEN;
        let payload = &seg.bytes()[at..at + len];
        let (segment, offset) = (self.seg_no, offset as u64);
        if ty == TYPE_MESSAGE {
            return Ok(Some(Item::Message { seq, bytes: payload, segment, offset }));
        }
        let record = Record::read_from_bytes(payload).map_err(|_| JournalError::Corrupt {
            path: seg.path.clone(),
            offset,
            seq,
            what: "short record",
        })?;
        Ok(Some(Item::Record(Entry { seq, record, segment, offset })))
    }

    /// Positions the reader so the next entry is `seq` (or the end, if `seq` is beyond it).
    /// Returns whether `seq` exists now.
    pub fn seek(&mut self, seq: u64) -> Result<bool, JournalError> {
        let segs = list_segments(&self.dir)?;
        // Sparse index: the last segment whose first sequence is <= seq.
        let mut chosen = None;
        for (n, path) in &segs {
            let s = SegmentRo::open(path.clone())?;
            if s.header.first_seq <= seq {
                chosen = Some((*n, s));
            } else {
                break;
            }
        }
        let Some((n, seg)) = chosen else { return Ok(false) };
        let first = seg.header.first_seq;
        let guess = HEADER_LEN as u64 + (seq - first).saturating_mul(RECORD_ENTRY_LEN as u64);
        self.seg_no = n;
        if guess + (RECORD_ENTRY_LEN as u64) <= seg.bytes().len() as u64 {
            if let Ok(Some(_)) = seg.entry(guess as usize, seq) {
                self.off = guess as usize;
                self.next_seq = seq;
                self.seg = Some(seg);
                return Ok(true);
            }
        }
        // Fall back to walking the segment.
        self.off = HEADER_LEN;
        self.next_seq = first;
        self.seg = Some(seg);
        while self.next_seq < seq {
            if self.next_item()?.is_none() {
                return Ok(false);
            }
        }
        Ok(self.next_seq == seq && self.seg.as_ref().is_some_and(|s| matches!(s.entry(self.off, seq), Ok(Some(_)))))
    }
}

impl Iterator for JournalReader {
    type Item = Result<Entry, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// Follows a journal another process is writing: waits for each next entry.
#[derive(Debug)]
pub struct Follow {
    /// The underlying reader.
    pub reader: JournalReader,
    /// How long to sleep when caught up.
    pub poll: Duration,
}

impl Follow {
    /// The next entry, waiting for it; gives up (returning `Ok(None)`) once `stop()` is true
    /// while caught up.
    pub fn next_entry(&mut self, stop: impl Fn() -> bool) -> Result<Option<Entry>, JournalError> {
        loop {
            if let Some(e) = self.reader.next_entry()? {
                return Ok(Some(e));
            }
            if stop() {
                return Ok(None);
            }
            #[allow(clippy::disallowed_methods, reason = "following a live journal: polling is the point")]
            std::thread::sleep(self.poll);
        }
    }
}

/// What `journal verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Segment files.
    pub segments: usize,
    /// Valid entries (records and messages).
    pub records: u64,
    /// First sequence (0 if empty).
    pub first_seq: u64,
    /// Last sequence (0 if empty).
    pub last_seq: u64,
    /// Bytes of torn tail in the last segment (recovery would drop them).
    pub torn_tail_bytes: u64,
    /// Where and why the tail is torn.
    pub torn: Option<String>,
}

/// Checks a whole journal read-only: every checksum, sequence continuity, segment order.
/// Damage followed by valid entries is an error; a torn tail is reported, not repaired.
pub fn verify(dir: &Path) -> Result<VerifyReport, JournalError> {
    let segs = list_segments(dir)?;
    let scans = scan_chain(&segs)?;
    let records: u64 = scans.iter().map(|s| s.scan.records).sum();
    let (first_seq, last_seq) = match (scans.first(), scans.last()) {
        (Some(f), Some(l)) if records > 0 => (f.header.first_seq, l.scan.next_seq - 1),
        _ => (0, 0),
    };
    let last = scans.last();
    Ok(VerifyReport {
        segments: segs.len(),
        records,
        first_seq,
        last_seq,
        torn_tail_bytes: last.map_or(0, |l| l.scan.junk as u64),
        torn: last.and_then(|l| describe_tail(&l.path, &l.scan)),
    })
}
