//! The crate's error type.

use thiserror::Error;

/// A capture could not be opened or parsed.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The pcap/pcapng structure is broken.
    #[error("{format} structure broken at file offset {offset}: {what}")]
    Structure {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// File offset of the broken block or record.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A link-layer type we cannot take apart.
    #[error("unsupported link type {0} (Ethernet, raw IPv4 and Linux cooked captures are supported)")]
    LinkType(u32),
}
