//! Repeated records inside foundation commands (`[attr_id, status, type, value]*` and friends),
//! kept as borrowed bytes after one validating pass, so parsing never allocates.

use crate::error::Result;
use crate::wire::{Reader, Writer};
use core::fmt;

/// One record of a repeated list.
pub trait Record<'a>: Sized + Clone {
    fn read(r: &mut Reader<'a>) -> Result<Self>;
    fn buffer_len(&self) -> usize;
    fn write(&self, w: &mut Writer<'_>) -> Result<()>;
}

/// A list of records: either the validated bytes of a received frame, or records supplied by the
/// caller for emitting (a borrowed slice, or a `Vec` with the `alloc` feature).
#[derive(Clone)]
pub enum Records<'a, T> {
    /// Bytes that were validated record by record when the frame was parsed.
    Encoded(&'a [u8]),
    /// Records to emit, borrowed.
    Slice(&'a [T]),
    /// Records to emit, owned.
    #[cfg(feature = "alloc")]
    Vec(alloc::vec::Vec<T>),
}

impl<'a, T: Record<'a>> Records<'a, T> {
    /// Reads records until the reader is empty; every record is checked now so that iterating
    /// later cannot fail.
    pub fn read_to_end(r: &mut Reader<'a>) -> Result<Self> {
        let bytes = r.rest();
        while !r.is_empty() {
            T::read(r)?;
        }
        Ok(Self::Encoded(bytes))
    }

    /// Iterates the records in order.
    pub fn iter(&self) -> RecordIter<'_, 'a, T> {
        match self {
            Self::Encoded(b) => RecordIter::Encoded(Reader::new(b)),
            Self::Slice(s) => RecordIter::Slice(s.iter()),
            #[cfg(feature = "alloc")]
            Self::Vec(v) => RecordIter::Slice(v.iter()),
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    // `_` stands for `Slice` and, with `alloc`, `Vec`.
    #[allow(clippy::match_wildcard_for_single_variants)]
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Encoded(b) => b.len(),
            _ => self.iter().map(|r| r.buffer_len()).sum(),
        }
    }

    #[allow(clippy::match_wildcard_for_single_variants)]
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Self::Encoded(b) => w.bytes(b, "records"),
            _ => self.iter().try_for_each(|rec| rec.write(w)),
        }
    }
}

/// Iterator over [`Records`].
#[derive(Debug)]
pub enum RecordIter<'s, 'a, T> {
    Encoded(Reader<'a>),
    Slice(core::slice::Iter<'s, T>),
}

impl<'a, T: Record<'a>> Iterator for RecordIter<'_, 'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            // Validated at parse time; a failure here would mean the bytes changed, so stop.
            Self::Encoded(r) if !r.is_empty() => T::read(r).ok(),
            Self::Encoded(_) => None,
            Self::Slice(it) => it.next().cloned(),
        }
    }
}

impl<'s, 'a, T: Record<'a>> IntoIterator for &'s Records<'a, T> {
    type Item = T;
    type IntoIter = RecordIter<'s, 'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Record<'a> + PartialEq> PartialEq for Records<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a, T: Record<'a> + fmt::Debug> fmt::Debug for Records<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "serde")]
impl<'a, T: Record<'a> + serde::Serialize> serde::Serialize for Records<'a, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Deserializing needs somewhere to put the records: with `alloc` they go into a `Vec`.
#[cfg(all(feature = "serde", feature = "alloc"))]
impl<'de: 'a, 'a, T: Record<'a> + serde::Deserialize<'de>> serde::Deserialize<'de>
    for Records<'a, T>
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        alloc::vec::Vec::<T>::deserialize(d).map(Self::Vec)
    }
}

#[cfg(all(feature = "serde", not(feature = "alloc")))]
impl<'de: 'a, 'a, T: Record<'a>> serde::Deserialize<'de> for Records<'a, T> {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> core::result::Result<Self, D::Error> {
        Err(serde::de::Error::custom("record lists need the `alloc` feature to deserialize"))
    }
}
