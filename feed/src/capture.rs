//! Opening a capture file: memory-mapped, its format detected from its first bytes.
//!
//! A gzip-compressed capture (Nasdaq ships its BinaryFILE days as `.gz`) is recognised by its
//! magic number and inflated into memory once, before replay, so the feed stage never
//! decompresses on its hot path; the inner format is then detected as for a plain file.

use crate::CaptureError;
use std::fs::File;
use std::path::Path;

/// Capture formats recognised by [`Format::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Nasdaq BinaryFILE: `[u16 BE length][ITCH message]` repeated.
    BinaryFile,
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    Pcapng,
}

impl Format {
    /// Detects the format from the first bytes of a file. Anything that is not a pcap or pcapng
    /// file is taken as BinaryFILE, whose decoder then reports what it finds.
    pub fn detect(head: &[u8]) -> Format {
        match head.get(..4) {
            Some(
                [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d],
            ) => Format::Pcap,
            Some([0x0a, 0x0d, 0x0d, 0x0a]) => Format::Pcapng,
            _ => Format::BinaryFile,
        }
    }

    /// The format's name as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            Format::BinaryFile => "binaryfile",
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
        }
    }
}

/// A capture file mapped into memory (or inflated into it, when gzip-compressed).
#[derive(Debug)]
pub struct Capture {
    data: Data,
    /// The detected format (of the decompressed bytes).
    pub format: Format,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
}

#[derive(Debug)]
enum Data {
    Empty,
    Mapped(mmap::Map),
    Inflated(Vec<u8>),
}

/// Whether `head` starts with gzip's magic number.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

impl Capture {
    /// Maps `path` read-only (inflating it if gzip-compressed) and detects its format. An empty
    /// file is a valid, empty BinaryFILE.
    pub fn open(path: &Path) -> Result<Capture, CaptureError> {
        let io = |source| CaptureError::Io { path: path.display().to_string(), source };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut data = if len == 0 { Data::Empty } else { Data::Mapped(mmap::Map::new(&file).map_err(io)?) };
        let mut gzip = false;
        if let Data::Mapped(m) = &data {
            if is_gzip(m.bytes()) {
                // Concatenated members are one stream (as `gzip -c a b > c` writes them).
                let mut out = Vec::with_capacity(m.bytes().len().saturating_mul(3));
                std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(m.bytes()), &mut out).map_err(
                    |e| CaptureError::Io {
                        path: path.display().to_string(),
                        source: std::io::Error::new(e.kind(), format!("gzip: {e}")),
                    },
                )?;
                data = Data::Inflated(out);
                gzip = true;
            }
        }
        let mut capture = Capture { data, format: Format::BinaryFile, gzip };
        capture.format = Format::detect(capture.bytes());
        Ok(capture)
    }

    /// The file's bytes (decompressed).
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Empty => &[],
            Data::Mapped(m) => m.bytes(),
            Data::Inflated(v) => v,
        }
    }

    /// The format's name, with `+gzip` when the file was compressed.
    pub fn describe(&self) -> String {
        if self.gzip {
            format!("{}+gzip", self.format.name())
        } else {
            self.format.name().to_string()
        }
    }
}

#[allow(unsafe_code, reason = "mapping a file is unsafe by nature; the invariant is stated below")]
mod mmap {
    use std::fs::File;

    #[derive(Debug)]
    pub(super) struct Map(memmap2::Mmap);

    impl Map {
        pub(super) fn new(file: &File) -> std::io::Result<Map> {
            // SAFETY: the map is read-only and we only read captures that nothing else writes
            // while we replay them; if another process truncated the file, reads past the new end
            // would fault (SIGBUS), which memmap2 documents and which we accept for captures.
            let map = unsafe { memmap2::Mmap::map(file)? };
            Ok(Map(map))
        }

        pub(super) fn bytes(&self) -> &[u8] {
            &self.0
        }
    }
}
