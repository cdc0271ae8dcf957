//! Building blocks shared by every fixed-layout message: the field table the spec tests read,
//! ASCII "Alpha" fields, ITCH's 6-byte timestamp, and the macro that declares a message struct.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// One field of a fixed-layout message, as the compiler laid it out.
///
/// `offset` counts from the first byte of the message (the type byte is offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    /// The field's name, spelled as in the specification CSVs under `shared/specs/`.
    pub name: &'static str,
    /// Byte offset from the start of the message.
    pub offset: usize,
    /// Width in bytes.
    pub len: usize,
}

/// ASCII "Alpha" field helpers: left-justified, space-padded.
#[derive(Debug, Clone, Copy)]
pub struct Alpha;

impl Alpha {
    /// Pads `text` with spaces to `N` bytes; longer text is cut at `N` bytes.
    pub fn pad<const N: usize>(text: &str) -> [u8; N] {
        let mut out = [b' '; N];
        let bytes = text.as_bytes();
        let n = bytes.len().min(N);
        out[..n].copy_from_slice(&bytes[..n]);
        out
    }

    /// The text of an Alpha field without its trailing spaces (or NULs). Non-UTF-8 bytes give
    /// `"?"` rather than a panic: the field is opaque to us and a caller printing it wants text.
    pub fn trim(field: &[u8]) -> &str {
        let end = field.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
        core::str::from_utf8(&field[..end]).unwrap_or("?")
    }
}

/// ITCH 5.0 timestamp: nanoseconds since midnight as a 6-byte big-endian integer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(transparent)]
pub struct Timestamp48(pub [u8; 6]);

impl Timestamp48 {
    /// The largest value the field can hold (2^48 - 1 ns, about 78 hours).
    pub const MAX: u64 = (1 << 48) - 1;

    /// Builds the field from nanoseconds since midnight; values above [`Self::MAX`] keep their low 48 bits.
    pub const fn new(nanos: u64) -> Self {
        let b = nanos.to_be_bytes();
        Self([b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// Nanoseconds since midnight.
    pub const fn get(self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }
}

impl core::fmt::Debug for Timestamp48 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Timestamp48({})", self.get())
    }
}

/// Declares fixed-layout message structs: zerocopy derives, a compile-time size check, and the
/// `TYPE`, `LEN`, `NAME` and `FIELDS` constants.
///
/// `FIELDS` is computed with `offset_of!` and `size_of`, so it describes the struct as compiled,
/// not as someone typed it: the spec table tests compare it with the CSVs.
macro_rules! fixed_messages {
    ($(
        $(#[$meta:meta])*
        $ty_byte:literal $name:ident ($spec:literal, $len:literal) {
            $( $(#[$fmeta:meta])* $field:ident : $fty:ty ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug,
            zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::KnownLayout,
            zerocopy::Immutable, zerocopy::Unaligned)]
        #[repr(C)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $len);
        const _: () = assert!(core::mem::align_of::<$name>() == 1);

        impl $name {
            /// The message type byte.
            pub const TYPE: u8 = $ty_byte;
            /// Length of the fixed part in bytes, the type byte included.
            pub const LEN: usize = $len;
            /// The message's name in the specification tables.
            pub const NAME: &'static str = $spec;
            /// Every field with its offset and width, as compiled.
            pub const FIELDS: &'static [$crate::FieldLayout] = &[$(
                $crate::FieldLayout {
                    name: stringify!($field),
                    offset: core::mem::offset_of!($name, $field),
                    len: core::mem::size_of::<$fty>(),
                },
            )*];
        }
    )*};
}
pub(crate) use fixed_messages;

/// Declares the enum over a protocol's message structs, with `decode`, `message_len`,
/// `layout` and `TYPES` for that protocol (one use per module).
macro_rules! message_enum {
    ($(#[$meta:meta])* $enum_name:ident; $($name:ident),* $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $enum_name<'a> { $(
            #[doc = concat!("See [`", stringify!($name), "`].")]
            $name(&'a $name),
        )* }

        /// Every message type byte, in specification order.
        pub const TYPES: &[u8] = &[$($name::TYPE),*];

        /// Message length by type byte, 0 for unknown types: one load instead of a branch per
        /// type, which matters when the type sequence is unpredictable (real feeds).
        const LEN_BY_TYPE: [u16; 256] = {
            let mut t = [0u16; 256];
            $( t[$name::TYPE as usize] = $name::LEN as u16; )*
            t
        };

        /// Length of a message of type `message_type`, or `None` if this protocol (and direction) has no such type.
        #[inline]
        pub const fn message_len(message_type: u8) -> Option<usize> {
            match LEN_BY_TYPE[message_type as usize] { 0 => None, n => Some(n as usize) }
        }

        /// Specification name and field table of a message type (for the table tests and tools).
        pub fn layout(message_type: u8) -> Option<(&'static str, &'static [$crate::FieldLayout])> {
            match message_type { $( $name::TYPE => Some(($name::NAME, $name::FIELDS)), )* _ => None }
        }

        /// Decodes one message. `bytes` must be exactly one message (the BinaryFILE and
        /// MoldUDP64 framings give the length).
        #[inline(always)]
        pub fn decode(bytes: &[u8]) -> Result<$enum_name<'_>, $crate::DecodeError> {
            let &message_type = bytes.first().ok_or($crate::DecodeError::Empty)?;
            let expected = usize::from(LEN_BY_TYPE[usize::from(message_type)]);
            if expected == 0 {
                return Err($crate::DecodeError::UnknownType(message_type));
            }
            if bytes.len() != expected {
                return Err($crate::DecodeError::Length { message_type, expected, got: bytes.len() });
            }
            // The length is right for the type, so the casts below cannot fail; the error arm
            // only keeps this free of panics.
            let bad = $crate::DecodeError::Length { message_type, expected, got: bytes.len() };
            match message_type {
                $( $name::TYPE => <$name as zerocopy::FromBytes>::ref_from_bytes(bytes).map($enum_name::$name).map_err(|_| bad), )*
                other => Err($crate::DecodeError::UnknownType(other)),
            }
        }

        impl<'a> $enum_name<'a> {
            /// The message's bytes: exactly what was decoded, or what to send.
            #[inline]
            pub fn as_bytes(&self) -> &'a [u8] {
                match *self { $( $enum_name::$name(m) => zerocopy::IntoBytes::as_bytes(m), )* }
            }
        }
    };
}
pub(crate) use message_enum;
