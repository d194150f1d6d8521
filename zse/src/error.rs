//! One error type for every parser and emitter in the crate.
//!
//! Every error names the byte offset (relative to the start of the buffer the caller handed in)
//! where decoding stopped, so a lab engineer can point at the exact byte of a captured frame.

use core::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case", tag = "kind"))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The buffer ended before a field of `needed` bytes could be read.
    Truncated { needed: usize },
    /// A length field (string, array, record count) disagrees with the bytes available.
    BadLength,
    /// An emit target buffer is too small for `buffer_len()` bytes.
    BufferTooSmall { needed: usize },
    /// A field holds a value the specification does not allow (e.g. a reserved frame type).
    InvalidValue,
    /// A ZCL data-type id that this codec does not know, so its length cannot be known.
    UnknownDataType(u8),
    /// A command id that is not defined for this cluster and direction (callers usually keep the
    /// frame as [`crate::zcl::Payload::Unknown`] instead and answer with a default response).
    UnknownCommand(u8),
    /// Bytes left over after a fixed-length structure that must end the frame.
    TrailingBytes,
}

/// A decoding or encoding error with the offset where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Error {
    pub kind: ErrorKind,
    /// Byte offset in the input (decode) or output (encode) buffer.
    pub offset: usize,
    /// The field being read or written when the error happened.
    pub field: &'static str,
}

impl Error {
    pub const fn new(kind: ErrorKind, offset: usize, field: &'static str) -> Self {
        Self { kind, offset, field }
    }

    /// The same error, moved by `base` bytes: used when a sub-parser worked on a slice that began
    /// `base` bytes into the caller's buffer.
    #[must_use]
    pub const fn shifted(self, base: usize) -> Self {
        Self { kind: self.kind, offset: self.offset + base, field: self.field }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Truncated { needed } => write!(
                f,
                "truncated at byte offset {}: field `{}` needs {needed} more byte(s)",
                self.offset, self.field
            ),
            ErrorKind::BadLength => {
                write!(f, "bad length at byte offset {} in field `{}`", self.offset, self.field)
            }
            ErrorKind::BufferTooSmall { needed } => write!(
                f,
                "output buffer too small at byte offset {}: field `{}` needs {needed} byte(s)",
                self.offset, self.field
            ),
            ErrorKind::InvalidValue => {
                write!(f, "invalid value at byte offset {} in field `{}`", self.offset, self.field)
            }
            ErrorKind::UnknownDataType(t) => write!(
                f,
                "unknown ZCL data type 0x{t:02x} at byte offset {} in field `{}`",
                self.offset, self.field
            ),
            ErrorKind::UnknownCommand(c) => write!(
                f,
                "unknown command id 0x{c:02x} at byte offset {} (`{}`)",
                self.offset, self.field
            ),
            ErrorKind::TrailingBytes => write!(
                f,
                "unexpected trailing bytes at byte offset {} after `{}`",
                self.offset, self.field
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Result alias used across the crate.
pub type Result<T> = core::result::Result<T, Error>;
