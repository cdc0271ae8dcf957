//! Opening a capture file: memory-mapped, its format detected from its first bytes.

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

/// A capture file mapped into memory.
#[derive(Debug)]
pub struct Capture {
    map: Option<mmap::Map>,
    /// The detected format.
    pub format: Format,
}

impl Capture {
    /// Maps `path` read-only and detects its format. An empty file is a valid, empty BinaryFILE.
    pub fn open(path: &Path) -> Result<Capture, CaptureError> {
        let io = |source| CaptureError::Io { path: path.display().to_string(), source };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let map = if len == 0 { None } else { Some(mmap::Map::new(&file).map_err(io)?) };
        let format = Format::detect(map.as_ref().map_or(&[][..], |m| m.bytes()));
        Ok(Capture { map, format })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], |m| m.bytes())
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
