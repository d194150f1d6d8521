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

    /// Moves `rest` past one record without decoding it; `None` exactly where [`Record::read`]
    /// fails (`rest` is then unspecified). [`Records::read_to_end`] validates received lists
    /// with it and falls back to `read` only to report an error, so an override must accept
    /// exactly what `read` accepts and consume the same bytes. The default calls `read`;
    /// records holding a [`crate::zcl::Value`] override it with a length walk.
    #[inline]
    fn skip(rest: &mut &'a [u8]) -> Option<()> {
        let mut r = Reader::new(rest);
        Self::read(&mut r).ok()?;
        *rest = r.rest();
        Some(())
    }
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
        let mut rest = bytes;
        while !rest.is_empty() {
            if T::skip(&mut rest).is_none() {
                return Self::read_to_end_slow(r);
            }
        }
        r.take_rest();
        Ok(Self::Encoded(bytes))
    }

    /// [`Self::read_to_end`] record by record with [`Record::read`], for the error (offset and
    /// field) of a list that [`Record::skip`] refused.
    #[cold]
    #[inline(never)]
    fn read_to_end_slow(r: &mut Reader<'a>) -> Result<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zcl::foundation::{ReadAttributeStatusRecord, WriteAttributeRecord};
    use proptest::prelude::*;

    /// [`Records::read_to_end`] (validation by [`Record::skip`]) gives the result and leaves the
    /// reader where reading record by record does, errors included.
    fn check_read_to_end<'a, T: Record<'a> + PartialEq + fmt::Debug + 'a>(
        bytes: &'a [u8],
    ) -> core::result::Result<(), TestCaseError> {
        let (mut fast, mut slow) = (Reader::new(bytes), Reader::new(bytes));
        let (a, b) =
            (Records::<T>::read_to_end(&mut fast), Records::<T>::read_to_end_slow(&mut slow));
        prop_assert_eq!(a.is_ok(), b.is_ok());
        match (a, b) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(fast.pos(), slow.pos());
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => {}
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn read_to_end_agrees_with_record_by_record(
            bytes in prop_oneof![
                crate::zcl::foundation::strategy::records(
                    (any::<u16>(), crate::zcl::foundation::strategy::typed_value()).prop_map(
                        |(id, value)| {
                            let mut out = crate::zcl::foundation::strategy::Vec::from(id.to_le_bytes());
                            out.push(0);
                            out.extend(value);
                            out
                        },
                    ),
                ),
                proptest::collection::vec(any::<u8>(), 0..48),
            ],
        ) {
            for len in 0..=bytes.len() {
                check_read_to_end::<ReadAttributeStatusRecord<'_>>(&bytes[..len])?;
                check_read_to_end::<WriteAttributeRecord<'_>>(&bytes[..len])?;
            }
        }
    }
}
