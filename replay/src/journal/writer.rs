//! The writer: appends, rolls segments, flushes per the durability policy, and recovers on open.

use super::segment::{describe_tail, entry_len, scan_chain, Header, Prepared, SegmentMut};
use super::{
    io, list_segments, segment_name, Durability, JournalConfig, JournalError, ENTRY_HEADER_LEN, HEADER_LEN,
    MAX_MESSAGE_LEN, RECORD_ENTRY_LEN, TYPE_END, TYPE_MESSAGE, TYPE_RECORD,
};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Instant;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Record;

/// What opening a journal found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recovery {
    /// Segment files found.
    pub segments: usize,
    /// Valid records found.
    pub records: u64,
    /// The sequence the next append gets.
    pub next_seq: u64,
    /// Bytes of a torn tail that were zeroed.
    pub dropped_bytes: u64,
    /// Record entries' worth of torn tail dropped (rounded up).
    pub dropped_entries: u64,
    /// Why the tail was torn, if it was.
    pub torn: Option<String>,
}

/// The append side of a journal. One writer per directory.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    config: JournalConfig,
    seg: SegmentMut,
    pos: usize,
    next_seq: u64,
    flushed_to: usize,
    durable_seq: u64,
    since_flush: u64,
    last_flush: Instant,
    /// The next segment, being prepared on a helper thread.
    next: Option<Receiver<Result<Prepared, JournalError>>>,
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Wait for the helper and delete the segment it prepared: nothing will use it.
        if let Some(Ok(p)) = self.next.take().and_then(|rx| rx.recv().ok()) {
            p.discard();
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, recovering its tail.
    pub fn open(dir: &Path, config: JournalConfig) -> Result<(Journal, Recovery), JournalError> {
        let config = JournalConfig {
            segment_size: (config.segment_size.max((HEADER_LEN + RECORD_ENTRY_LEN + ENTRY_HEADER_LEN) as u64)) & !7,
            ..config
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        // Segments a crashed writer was preparing: never installed, never holding data.
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_name().to_str().is_some_and(|n| n.ends_with(".tmp") && n.contains(".tfj.")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let segs = list_segments(dir)?;
        let mut rec = Recovery {
            segments: segs.len(),
            records: 0,
            next_seq: 1,
            dropped_bytes: 0,
            dropped_entries: 0,
            torn: None,
        };
        let Some((last_no, _)) = segs.last() else {
            let header = Header { number: 0, first_seq: 1, size: config.segment_size };
            let seg = SegmentMut::create(
                dir.join(segment_name(0)),
                header,
                config.prefault,
                config.durability != Durability::None,
            )?;
            let mut j = Journal::at(dir, config, seg, HEADER_LEN, 1);
            j.prepare_next();
            return Ok((j, rec));
        };
        let scans = scan_chain(&segs)?;
        let Some(last) = scans.last() else { unreachable!("segs is not empty") };
        let mut seg = SegmentMut::open(last.path.clone())?;
        let sc = &last.scan;
        if sc.junk > 0 {
            // A torn tail: an entry cut short (length word never stored, or a write that only
            // partly reached the file). Zero it so the next append starts clean.
            seg.zero(sc.end, sc.end + sc.junk);
            rec.dropped_bytes = sc.junk as u64;
            rec.dropped_entries = sc.junk.div_ceil(RECORD_ENTRY_LEN) as u64;
            rec.torn = describe_tail(&last.path, sc);
            if config.durability != Durability::None {
                seg.flush(sc.end, sc.end + sc.junk)?;
            }
        }
        rec.records = scans.iter().map(|s| s.scan.records).sum();
        rec.next_seq = sc.next_seq;
        let mut j = Journal::at(dir, config, seg, sc.end, sc.next_seq);
        if sc.closed {
            // Crashed between closing this segment and creating the next.
            j.open_next(*last_no + 1)?;
        } else {
            j.prepare_next();
        }
        Ok((j, rec))
    }

    fn at(dir: &Path, config: JournalConfig, seg: SegmentMut, pos: usize, next_seq: u64) -> Journal {
        Journal {
            dir: dir.to_path_buf(),
            config,
            seg,
            pos,
            next_seq,
            flushed_to: pos,
            durable_seq: next_seq - 1,
            since_flush: 0,
            last_flush: Instant::now(),
            next: None,
        }
    }

    /// Starts preparing the segment after the current one on a helper thread.
    fn prepare_next(&mut self) {
        let path = self.dir.join(segment_name(self.seg.header.number + 1));
        let (size, prefault) = (self.config.segment_size, self.config.prefault);
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("tickforge-journal-prep".into()).spawn(move || {
            let _ = tx.send(Prepared::new(path, size, prefault));
        });
        self.next = spawned.ok().map(|_| rx);
    }

    /// The sequence the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last sequence appended (visible to readers; survives a process crash).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The last sequence known flushed to storage (survives power loss).
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn open_next(&mut self, number: u64) -> Result<(), JournalError> {
        let header = Header { number, first_seq: self.next_seq, size: self.config.segment_size };
        let durable = self.config.durability != Durability::None;
        let prepared = match self.next.take().and_then(|rx| rx.recv().ok()) {
            Some(Ok(p)) => p,
            // No helper result (or it failed): prepare here, reporting any error.
            _ => Prepared::new(self.dir.join(segment_name(number)), self.config.segment_size, self.config.prefault)?,
        };
        self.seg = prepared.install(header, durable)?;
        self.pos = HEADER_LEN;
        self.flushed_to = HEADER_LEN;
        self.prepare_next();
        Ok(())
    }

    #[cold]
    fn roll(&mut self) -> Result<(), JournalError> {
        self.seg.write_entry(self.pos, 0, TYPE_END, &[]);
        self.pos += ENTRY_HEADER_LEN;
        if self.config.durability != Durability::None {
            self.seg.flush(self.flushed_to, self.pos)?;
            self.durable_seq = self.next_seq - 1;
        }
        let next = self.seg.header.number + 1;
        self.open_next(next)
    }

    /// Appends one record. Its `seq` must be 0 (the journal assigns it) or the next sequence.
    /// Returns the sequence.
    #[inline]
    pub fn append(&mut self, record: &Record) -> Result<u64, JournalError> {
        let seq = self.write(record)?;
        match self.config.durability {
            Durability::None => {}
            Durability::Sync => self.flush()?,
            Durability::Async { every_records, every } => {
                self.since_flush += 1;
                // The clock is read once every 256 appends, not per append.
                if self.since_flush >= every_records
                    || (self.since_flush & 255 == 0 && self.last_flush.elapsed() >= every)
                {
                    self.flush()?;
                }
            }
        }
        Ok(seq)
    }

    /// Appends a batch; under `Sync` it is flushed once before returning. Returns the last sequence.
    pub fn append_batch(&mut self, records: &[Record]) -> Result<u64, JournalError> {
        for r in records {
            self.write(r)?;
        }
        match self.config.durability {
            Durability::None => {}
            Durability::Sync => self.flush()?,
            Durability::Async { every_records, every } => {
                self.since_flush += records.len() as u64;
                if self.since_flush >= every_records || self.last_flush.elapsed() >= every {
                    self.flush()?;
                }
            }
        }
        Ok(self.next_seq - 1)
    }

    #[inline]
    fn write(&mut self, record: &Record) -> Result<u64, JournalError> {
        let seq = self.next_seq;
        if record.seq != 0 && record.seq != seq {
            return Err(JournalError::OutOfSequence { expected: seq, got: record.seq });
        }
        if self.pos + RECORD_ENTRY_LEN + ENTRY_HEADER_LEN > self.seg.len() {
            self.roll()?;
        }
        let mut r = *record;
        r.seq = seq;
        self.seg.write_entry(self.pos, seq, TYPE_RECORD, r.as_bytes());
        self.pos += RECORD_ENTRY_LEN;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Appends an opaque message entry (1 to [`MAX_MESSAGE_LEN`] bytes; it must also fit in an
    /// empty segment). Flushed like a record under `Sync`; counted like one under `Async`.
    /// Returns its sequence.
    pub fn append_message(&mut self, payload: &[u8]) -> Result<u64, JournalError> {
        let total = entry_len(payload.len());
        if payload.is_empty()
            || payload.len() > MAX_MESSAGE_LEN
            || HEADER_LEN + total + ENTRY_HEADER_LEN > self.seg.len()
        {
            return Err(JournalError::MessageSize { len: payload.len() });
        }
        if self.pos + total + ENTRY_HEADER_LEN > self.seg.len() {
            self.roll()?;
        }
        let seq = self.next_seq;
        self.seg.write_entry(self.pos, seq, TYPE_MESSAGE, payload);
        self.pos += total;
        self.next_seq += 1;
        match self.config.durability {
            Durability::None => {}
            Durability::Sync => self.flush()?,
            Durability::Async { every_records, every } => {
                self.since_flush += 1;
                if self.since_flush >= every_records || self.last_flush.elapsed() >= every {
                    self.flush()?;
                }
            }
        }
        Ok(seq)
    }

    /// Flushes everything appended so far to storage.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.seg.flush(self.flushed_to, self.pos)?;
        self.flushed_to = self.pos;
        self.durable_seq = self.next_seq - 1;
        self.since_flush = 0;
        self.last_flush = Instant::now();
        Ok(())
    }
}
