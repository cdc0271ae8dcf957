//! One segment file, mapped: header encoding, entry encoding, and the scan that finds the valid
//! prefix (shared by recovery and the readers).
#![allow(unsafe_code, reason = "file mapping and atomic access to the length words inside it")]
// Deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use super::{
    io, JournalError, ENTRY_HEADER_LEN, HEADER_LEN, MAGIC, MAX_MESSAGE_LEN, TYPE_END, TYPE_MESSAGE, TYPE_RECORD,
    VERSION,
};
use memmap2::{Mmap, MmapMut};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Entry bytes for a payload, rounded up to 8.
pub(crate) const fn entry_len(payload: usize) -> usize {
    (ENTRY_HEADER_LEN + payload + 7) & !7
}

/// The checksum of an entry: CRC-32C of its bytes from the sequence to the end of the payload
/// (one contiguous run, so one call), with the type byte XORed into the top byte.
pub(crate) fn checksum(seq_and_payload: &[u8], entry_type: u8) -> u32 {
    crc32c::crc32c(seq_and_payload) ^ (u32::from(entry_type) << 24)
}

/// The decoded header of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) number: u64,
    pub(crate) first_seq: u64,
    pub(crate) size: u64,
}

pub(crate) fn encode_header(h: &Header) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(MAGIC);
    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
    b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    b[16..24].copy_from_slice(&h.number.to_le_bytes());
    b[24..32].copy_from_slice(&h.first_seq.to_le_bytes());
    b[32..40].copy_from_slice(&h.size.to_le_bytes());
    let crc = crc32c::crc32c(&b[0..40]);
    b[40..44].copy_from_slice(&crc.to_le_bytes());
    b
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn decode_header(b: &[u8]) -> Result<Header, &'static str> {
    if b.len() < HEADER_LEN {
        return Err("file shorter than a header");
    }
    if &b[0..8] != MAGIC {
        return Err("bad magic");
    }
    if le32(b, 8) != VERSION {
        return Err("unsupported format version");
    }
    if le32(b, 40) != crc32c::crc32c(&b[0..40]) {
        return Err("header checksum mismatch");
    }
    let h = Header { number: le64(b, 16), first_seq: le64(b, 24), size: le64(b, 32) };
    if h.size != b.len() as u64 {
        return Err("header size differs from the file size");
    }
    Ok(h)
}

/// Loads the length word at `off` with `Acquire` (pairs with the writer's `Release` store).
fn load_len_word(bytes: &[u8], off: usize) -> u32 {
    let p = bytes[off..off + 4].as_ptr();
    debug_assert_eq!(p as usize % 4, 0);
    // SAFETY: `off` is 8-aligned within a page-aligned mapping, so `p` is 4-aligned and valid
    // for 4 bytes (bounds checked by the slice above) for as long as `bytes` lives; other
    // threads and processes only access this word atomically.
    unsafe { AtomicU32::from_ptr(p.cast_mut().cast::<u32>()) }.load(Ordering::Acquire)
}

/// What a scan of one segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Offset just past the last valid entry.
    pub(crate) end: usize,
    /// Valid entries (records and messages).
    pub(crate) records: u64,
    /// Sequence the next entry would have.
    pub(crate) next_seq: u64,
    /// The segment ends with an end-of-segment entry.
    pub(crate) closed: bool,
    /// Damage after the valid prefix: (offset, what, valid entries follow).
    pub(crate) damage: Option<(usize, &'static str, bool)>,
    /// Bytes from `end` to the last non-zero byte (what a torn tail leaves behind).
    pub(crate) junk: usize,
}

/// Checks the entry at `off`; returns its total length, type and sequence when valid.
fn check_entry(
    bytes: &[u8],
    off: usize,
    word: u32,
    expected_seq: Option<u64>,
) -> Result<(usize, u8, u64), &'static str> {
    let len = (word & 0x00FF_FFFF) as usize;
    let ty = (word >> 24) as u8;
    if ty == TYPE_END {
        return if len == 0 { Ok((ENTRY_HEADER_LEN, ty, 0)) } else { Err("end marker with a payload") };
    }
    let valid = match ty {
        TYPE_RECORD => len == core::mem::size_of::<tickforge_wire::Record>(),
        TYPE_MESSAGE => (1..=MAX_MESSAGE_LEN).contains(&len),
        _ => false,
    };
    if !valid {
        return Err("bad length or type word");
    }
    let total = entry_len(len);
    if off + total > bytes.len() {
        return Err("entry runs past the end of the segment");
    }
    let seq = le64(bytes, off + 8);
    if le32(bytes, off + 4) != checksum(&bytes[off + 8..off + ENTRY_HEADER_LEN + len], ty) {
        return Err("checksum mismatch");
    }
    if expected_seq.is_some_and(|e| e != seq) {
        return Err("sequence out of order");
    }
    Ok((total, ty, seq))
}

/// Scans a segment's entries from the header on, expecting sequences from `first_seq`.
pub(crate) fn scan(bytes: &[u8], first_seq: u64) -> Scan {
    let mut off = HEADER_LEN;
    let mut seq = first_seq;
    let mut records = 0;
    let mut s = Scan { end: off, records: 0, next_seq: seq, closed: false, damage: None, junk: 0 };
    while off + ENTRY_HEADER_LEN <= bytes.len() {
        let word = load_len_word(bytes, off);
        if word == 0 {
            break;
        }
        match check_entry(bytes, off, word, Some(seq)) {
            Ok((total, TYPE_END, _)) => {
                off += total;
                s.closed = true;
                break;
            }
            Ok((total, _, _)) => {
                off += total;
                seq += 1;
                records += 1;
            }
            Err(what) => {
                // Torn tail or corruption? Look for any valid entry further on.
                let mut probe = off + 8;
                let mut follows = false;
                while probe + ENTRY_HEADER_LEN <= bytes.len() {
                    let w = load_len_word(bytes, probe);
                    if w != 0 && check_entry(bytes, probe, w, None).is_ok_and(|(_, ty, q)| ty != TYPE_END && q > seq) {
                        follows = true;
                        break;
                    }
                    probe += 8;
                }
                s.damage = Some((off, what, follows));
                break;
            }
        }
    }
    s.end = off;
    s.records = records;
    s.next_seq = seq;
    let last_nonzero = bytes[off.min(bytes.len())..].iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    s.junk = last_nonzero;
    s
}

/// One segment's header and scan, from [`scan_chain`].
#[derive(Debug)]
pub(crate) struct SegmentScan {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    pub(crate) scan: Scan,
}

/// Scans a journal's segments in order (read-only), checking what recovery and verification
/// both require: each segment's first sequence follows the previous segment, every segment but
/// the last ends with an end marker and no damage, and damage in the last one is a torn tail
/// only if no valid entry follows it. Anything else is a [`JournalError::Corrupt`] naming the
/// file, offset and sequence.
pub(crate) fn scan_chain(segs: &[(u64, PathBuf)]) -> Result<Vec<SegmentScan>, JournalError> {
    let mut out = Vec::with_capacity(segs.len());
    let mut expected = None;
    for (k, (_, path)) in segs.iter().enumerate() {
        let s = SegmentRo::open(path.clone())?;
        let first = *expected.get_or_insert(s.header.first_seq);
        let corrupt = |offset: usize, seq: u64, what: &'static str| JournalError::Corrupt {
            path: path.clone(),
            offset: offset as u64,
            seq,
            what,
        };
        if s.header.first_seq != first {
            return Err(corrupt(24, first, "segment's first sequence does not follow the previous segment"));
        }
        let sc = scan(s.bytes(), first);
        let last = k + 1 == segs.len();
        match sc.damage {
            Some((offset, what, follows)) if follows || !last => return Err(corrupt(offset, sc.next_seq, what)),
            _ if !last && !sc.closed => {
                return Err(corrupt(
                    sc.end,
                    sc.next_seq,
                    "segment ends without an end marker but later segments exist",
                ));
            }
            _ => {}
        }
        expected = Some(sc.next_seq);
        out.push(SegmentScan { path: path.clone(), header: s.header, scan: sc });
    }
    Ok(out)
}

/// What a torn tail looks like, for reports.
pub(crate) fn describe_tail(path: &Path, sc: &Scan) -> Option<String> {
    match sc.damage {
        Some((offset, what, _)) => Some(format!("{} at offset {offset}: {what}", path.display())),
        None if sc.junk > 0 => {
            Some(format!("{} at offset {}: partial entry without a length word", path.display(), sc.end))
        }
        None => None,
    }
}

/// A segment mapped for writing.
#[derive(Debug)]
pub(crate) struct SegmentMut {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    map: MmapMut,
}

fn map_mut(file: &File, path: &Path) -> Result<MmapMut, JournalError> {
    // SAFETY: the journal's writer is the only process that writes its segment files (the
    // directory is the writer's); readers map them read-only and access the length words
    // atomically. Truncation by another program would fault (SIGBUS), as memmap2 documents.
    unsafe { MmapMut::map_mut(file) }.map_err(io(path))
}

impl SegmentMut {
    /// Creates and maps a new segment (failing if the file exists), optionally pre-faulted.
    pub(crate) fn create(
        path: PathBuf,
        header: Header,
        prefault: bool,
        durable: bool,
    ) -> Result<SegmentMut, JournalError> {
        Prepared::new(path, header.size, prefault)?.install(header, durable)
    }

    /// Maps an existing segment for writing (recovery, continuing after a restart).
    pub(crate) fn open(path: PathBuf) -> Result<SegmentMut, JournalError> {
        let file = OpenOptions::new().read(true).write(true).open(&path).map_err(io(&path))?;
        let map = map_mut(&file, &path)?;
        let header = decode_header(&map).map_err(|what| JournalError::BadHeader { path: path.clone(), what })?;
        Ok(SegmentMut { path, header, map })
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Writes an entry at `off` (8-aligned, with room), storing its length word last.
    #[inline]
    pub(crate) fn write_entry(&mut self, off: usize, seq: u64, entry_type: u8, payload: &[u8]) {
        let end = off + ENTRY_HEADER_LEN + payload.len();
        self.map[off + 8..off + 16].copy_from_slice(&seq.to_le_bytes());
        self.map[off + ENTRY_HEADER_LEN..end].copy_from_slice(payload);
        // Checksummed from the bytes just written (still in L1).
        let crc = checksum(&self.map[off + 8..end], entry_type);
        self.map[off + 4..off + 8].copy_from_slice(&crc.to_le_bytes());
        let word = (payload.len() as u32) | u32::from(entry_type) << 24;
        let p = self.map[off..off + 4].as_mut_ptr();
        // SAFETY: as in `load_len_word`: 4-aligned, in bounds, only accessed atomically by
        // others. The Release store publishes the bytes written above.
        unsafe { AtomicU32::from_ptr(p.cast::<u32>()) }.store(word, Ordering::Release);
    }

    /// Zeroes `[from, to)` (dropping a torn tail).
    pub(crate) fn zero(&mut self, from: usize, to: usize) {
        self.map[from..to].fill(0);
    }

    /// Flushes `[from, to)` to storage (msync).
    pub(crate) fn flush(&self, from: usize, to: usize) -> Result<(), JournalError> {
        if to > from {
            self.map.flush_range(from, to - from).map_err(io(&self.path))?;
        }
        Ok(())
    }
}

/// A segment file made ready ahead of time: allocated, mapped and pre-faulted under a temporary
/// name, without a header. [`Prepared::install`] writes the header and renames it into place,
/// so a crash at any moment never leaves a segment file without a valid header (a leftover
/// `.tmp` file is ignored and replaced). The writer prepares the next segment on a helper
/// thread while it fills the current one, so rolling over costs a header write and a rename,
/// not the allocation and page faults of a whole segment.
#[derive(Debug)]
pub(crate) struct Prepared {
    path: PathBuf,
    tmp: PathBuf,
    map: MmapMut,
}

impl Prepared {
    pub(crate) fn new(path: PathBuf, size: u64, prefault: bool) -> Result<Prepared, JournalError> {
        // A name no other writer (or an earlier writer's helper thread) can be using.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tfj.{}.{unique}.tmp", std::process::id()));
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&tmp).map_err(io(&tmp))?;
        file.set_len(size).map_err(io(&tmp))?;
        let mut map = map_mut(&file, &tmp)?;
        if prefault {
            // Faults every page in now, so appends never take a page fault. Older kernels
            // (before 5.14) refuse the advice; touching one byte per page does the same.
            if map.advise(memmap2::Advice::PopulateWrite).is_err() {
                for i in (0..map.len()).step_by(4096) {
                    map[i] = 0;
                }
            }
        }
        Ok(Prepared { path, tmp, map })
    }

    /// Deletes the unused file.
    pub(crate) fn discard(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }

    pub(crate) fn install(mut self, header: Header, durable: bool) -> Result<SegmentMut, JournalError> {
        self.map[..HEADER_LEN].copy_from_slice(&encode_header(&header));
        if durable {
            self.map.flush_range(0, HEADER_LEN).map_err(io(&self.tmp))?;
        }
        if self.path.exists() {
            return Err(JournalError::Io {
                path: self.path,
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            });
        }
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        if durable {
            if let Some(dir) = self.path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
            }
        }
        Ok(SegmentMut { path: self.path, header, map: self.map })
    }
}

/// A segment mapped read-only (readers, verification).
#[derive(Debug)]
pub(crate) struct SegmentRo {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    map: Mmap,
}

impl SegmentRo {
    pub(crate) fn open(path: PathBuf) -> Result<SegmentRo, JournalError> {
        let file = File::open(&path).map_err(io(&path))?;
        // SAFETY: read-only mapping of a segment; the writer only appends (length word last,
        // atomically) and never truncates, so the bytes we read stay valid.
        let map = unsafe { Mmap::map(&file) }.map_err(io(&path))?;
        let header = decode_header(&map).map_err(|what| JournalError::BadHeader { path: path.clone(), what })?;
        Ok(SegmentRo { path, header, map })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The length word at `off`, loaded with `Acquire`.
    pub(crate) fn len_word(&self, off: usize) -> u32 {
        load_len_word(&self.map, off)
    }

    /// The entry at `off` if it is complete and valid: (total length, type, sequence).
    pub(crate) fn entry(&self, off: usize, expected_seq: u64) -> Result<Option<(usize, u8, u64)>, &'static str> {
        if off + ENTRY_HEADER_LEN > self.map.len() {
            return Ok(None);
        }
        let word = self.len_word(off);
        if word == 0 {
            return Ok(None);
        }
        check_entry(&self.map, off, word, Some(expected_seq)).map(Some)
    }
}
