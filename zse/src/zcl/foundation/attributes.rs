//! Reading, writing and reporting attribute values (ZCL §2.4.1–2.4.6 and §2.4.11;
//! se10.md §1.4): the commands an ESI answers for Basic, Time, Price and Metering attributes.

use super::{read_typed_value, skip_typed_value, typed_value_len};
use crate::error::{Error, ErrorKind, Result};
use crate::wire::{Fast, Reader, Writer};
use crate::zcl::{AttributeId, Record, Status, TypedValue, Value};

record_list! {
    /// Read Attributes (0x00; ZCL §2.4.1; se10.md §1.4): `[attribute_id]*`, the attributes to
    /// read. Answered with [`ReadAttributesResponse`].
    pub struct ReadAttributes<'a> { attribute_ids: AttributeId }
}

/// Read Attribute Status Record (ZCL §2.4.2.1; se10.md §1.4): attribute id, status, and the
/// attribute's type and value only when the status is SUCCESS (e.g. UNSUPPORTED_ATTRIBUTE records
/// are three bytes long).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReadAttributeStatusRecord<'a> {
    pub attribute_id: AttributeId,
    pub status: Status,
    /// Data type and value; `Some` exactly when `status` is SUCCESS (emit refuses otherwise).
    #[cfg_attr(feature = "serde", serde(borrow, default, skip_serializing_if = "Option::is_none"))]
    pub value: Option<Value<'a>>,
}

impl<'a> ReadAttributeStatusRecord<'a> {
    /// A SUCCESS record carrying the attribute's value.
    pub const fn success(attribute_id: AttributeId, value: Value<'a>) -> Self {
        Self { attribute_id, status: Status::SUCCESS, value: Some(value) }
    }

    /// A failure record (typically [`Status::UNSUPPORTED_ATTRIBUTE`] or
    /// [`Status::WRITE_ONLY`]); `status` should not be SUCCESS.
    pub const fn failure(attribute_id: AttributeId, status: Status) -> Self {
        Self { attribute_id, status, value: None }
    }
}

impl<'a> Record<'a> for ReadAttributeStatusRecord<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let attribute_id = AttributeId(r.u16("attribute_id")?);
        let status = Status(r.u8("status")?);
        let value = if status == Status::SUCCESS { Some(read_typed_value(r)?) } else { None };
        Ok(Self { attribute_id, status, value })
    }

    #[inline]
    fn skip(rest: &mut &'a [u8]) -> Option<()> {
        let mut f = Fast::new(rest);
        f.u16()?;
        if f.u8()? == Status::SUCCESS.0 {
            skip_typed_value(&mut f)?;
        }
        *rest = f.rest();
        Some(())
    }

    fn buffer_len(&self) -> usize {
        3 + self.value.as_ref().map_or(0, typed_value_len)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        if (self.status == Status::SUCCESS) != self.value.is_some() {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "value"));
        }
        w.u16(self.attribute_id.0, "attribute_id")?;
        w.u8(self.status.0, "status")?;
        match &self.value {
            Some(v) => TypedValue::write(v, w),
            None => Ok(()),
        }
    }
}

record_list! {
    /// Read Attributes Response (0x01; ZCL §2.4.2; se10.md §1.4): one
    /// [`ReadAttributeStatusRecord`] per requested attribute, in request order.
    pub struct ReadAttributesResponse<'a> { records: ReadAttributeStatusRecord<'a> }
}

/// Declares an `[attribute_id, data_type, value]` record.
macro_rules! attribute_value_record {
    ($(#[$m:meta])* pub struct $name:ident<'a>;) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name<'a> {
            pub attribute_id: AttributeId,
            /// Data type and value.
            #[cfg_attr(feature = "serde", serde(borrow))]
            pub value: Value<'a>,
        }

        impl<'a> $name<'a> {
            pub const fn new(attribute_id: AttributeId, value: Value<'a>) -> Self {
                Self { attribute_id, value }
            }
        }

        impl<'a> Record<'a> for $name<'a> {
            fn read(r: &mut Reader<'a>) -> Result<Self> {
                let attribute_id = AttributeId(r.u16("attribute_id")?);
                Ok(Self { attribute_id, value: read_typed_value(r)? })
            }
            #[inline]
            fn skip(rest: &mut &'a [u8]) -> Option<()> {
                let mut f = Fast::new(rest);
                f.u16()?;
                skip_typed_value(&mut f)?;
                *rest = f.rest();
                Some(())
            }
            fn buffer_len(&self) -> usize {
                2 + typed_value_len(&self.value)
            }
            fn write(&self, w: &mut Writer<'_>) -> Result<()> {
                w.u16(self.attribute_id.0, "attribute_id")?;
                TypedValue::write(&self.value, w)
            }
        }
    };
}

attribute_value_record! {
    /// Write Attribute Record (ZCL §2.4.3.1; se10.md §1.4): attribute id, data type, value.
    pub struct WriteAttributeRecord<'a>;
}

record_list! {
    /// Write Attributes (0x02; ZCL §2.4.3), Write Attributes Undivided (0x03; §2.4.4: all or
    /// nothing) and Write Attributes No Response (0x05; §2.4.6): the same `[attribute_id,
    /// data_type, value]*` payload; the command id alone says how the receiver answers.
    pub struct WriteAttributes<'a> { records: WriteAttributeRecord<'a> }
}

fixed_record! {
    /// Write Attribute Status Record (ZCL §2.4.5.1; se10.md §1.4), sent only for attributes that
    /// were not written.
    pub struct WriteAttributeStatusRecord {
        status: Status,
        attribute_id: AttributeId,
    }
}

status_response! {
    /// Write Attributes Response (0x04; ZCL §2.4.5; se10.md §1.4): a single SUCCESS byte when
    /// every attribute was written, otherwise one [`WriteAttributeStatusRecord`] per attribute
    /// that was not (e.g. READ_ONLY 0x88 for an SE attribute).
    pub enum WriteAttributesResponse<'a> { WriteAttributeStatusRecord }
}

attribute_value_record! {
    /// Attribute Report (ZCL §2.4.11.1; se10.md §1.4): attribute id, data type, value.
    pub struct AttributeReport<'a>;
}

record_list! {
    /// Report Attributes (0x0A; ZCL §2.4.11; se10.md §1.4): `[attribute_id, data_type, value]*`,
    /// sent by a device whose reporting was configured (e.g. a meter pushing
    /// CurrentSummationDelivered).
    pub struct ReportAttributes<'a> { records: AttributeReport<'a> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Int24, Repr, Uint48};
    use crate::zcl::{Records, ZclStr};

    fn emit<'a, T: Repr<'a>>(t: &T, out: &mut [u8; 64]) -> usize {
        let n = t.emit(out).unwrap();
        assert_eq!(n, t.buffer_len());
        n
    }

    #[test]
    fn read_attributes_layout() {
        let bytes = [0x00, 0x00, 0x00, 0x04];
        let c = ReadAttributes::parse(&bytes).unwrap();
        assert_eq!(c.attribute_ids, Records::Slice(&[AttributeId(0x0000), AttributeId(0x0400)]));
        let mut out = [0u8; 64];
        let n = emit(&ReadAttributes::new(&[AttributeId(0), AttributeId(0x0400)]), &mut out);
        assert_eq!(&out[..n], &bytes);
        let e = ReadAttributes::parse(&bytes[..3]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 2, "attribute_id")
        );
    }

    /// Metering CurrentSummationDelivered (0x0000, uint48) = 123456, then
    /// CurrentSummationReceived (0x0001) UNSUPPORTED_ATTRIBUTE.
    const READ_RSP: [u8; 13] =
        [0x00, 0x00, 0x00, 0x25, 0x40, 0xE2, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x86];

    #[test]
    fn read_attributes_response_layout() {
        let c = ReadAttributesResponse::parse(&READ_RSP).unwrap();
        let expected = [
            ReadAttributeStatusRecord::success(AttributeId(0), Value::Uint48(Uint48(123_456))),
            ReadAttributeStatusRecord::failure(AttributeId(1), Status::UNSUPPORTED_ATTRIBUTE),
        ];
        assert_eq!(c.records, Records::Slice(&expected));
        assert_eq!(c.records.len(), 2);
        let mut out = [0u8; 64];
        let n = emit(&ReadAttributesResponse::new(&expected), &mut out);
        assert_eq!(&out[..n], &READ_RSP);
    }

    #[test]
    fn read_attributes_response_truncation() {
        let cases: [(usize, usize, usize, &str); 6] = [
            // (cut at, error offset, bytes missing, field)
            (1, 0, 1, "attribute_id"),
            (2, 2, 1, "status"),
            (3, 3, 1, "data_type"),
            (7, 4, 3, "value"),
            (11, 10, 1, "attribute_id"),
            (12, 12, 1, "status"),
        ];
        for (cut, offset, needed, field) in cases {
            let e = ReadAttributesResponse::parse(&READ_RSP[..cut]).unwrap_err();
            assert_eq!(
                (e.kind, e.offset, e.field),
                (ErrorKind::Truncated { needed }, offset, field)
            );
        }
    }

    #[test]
    fn unknown_data_type_names_the_type_byte() {
        let mut bytes = READ_RSP;
        bytes[3] = 0x77;
        let e = ReadAttributesResponse::parse(&bytes).unwrap_err();
        assert_eq!((e.kind, e.offset, e.field), (ErrorKind::UnknownDataType(0x77), 3, "data_type"));
        // In a later record the offset still counts from the payload start.
        let report = [0x00, 0x04, 0x2A, 0x0C, 0xFE, 0xFF, 0x00, 0x00, 0x05];
        let e = ReportAttributes::parse(&report).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::UnknownDataType(0x05), 8));
    }

    #[test]
    fn inconsistent_read_record_is_not_emitted() {
        let mut out = [0u8; 64];
        let bad = [ReadAttributeStatusRecord {
            attribute_id: AttributeId(0),
            status: Status::SUCCESS,
            value: None,
        }];
        let e = ReadAttributesResponse::new(&bad).emit(&mut out).unwrap_err();
        assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "value"));
        let bad = [ReadAttributeStatusRecord {
            attribute_id: AttributeId(0),
            status: Status::FAILURE,
            value: Some(Value::Uint8(1)),
        }];
        assert!(ReadAttributesResponse::new(&bad).emit(&mut out).is_err());
    }

    #[test]
    fn write_attributes_layout() {
        // Basic LocationDescription (0x0010) = "Lab", DeviceEnabled (0x0012) = true.
        let bytes = [0x10, 0x00, 0x42, 0x03, b'L', b'a', b'b', 0x12, 0x00, 0x10, 0x01];
        let recs = [
            WriteAttributeRecord::new(
                AttributeId(0x0010),
                Value::CharacterString(ZclStr::from_str("Lab")),
            ),
            WriteAttributeRecord::new(AttributeId(0x0012), Value::Boolean(1)),
        ];
        assert_eq!(WriteAttributes::parse(&bytes).unwrap().records, Records::Slice(&recs));
        let mut out = [0u8; 64];
        let n = emit(&WriteAttributes::new(&recs), &mut out);
        assert_eq!(&out[..n], &bytes);
        // String length overruns the payload.
        let e = WriteAttributes::parse(&bytes[..6]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated { needed: 1 }, 4));
    }

    #[test]
    fn write_attributes_response_forms() {
        let mut out = [0u8; 64];
        assert_eq!(
            WriteAttributesResponse::parse(&[0x00]).unwrap(),
            WriteAttributesResponse::AllSuccess
        );
        let n = emit(&WriteAttributesResponse::new(&[]), &mut out);
        assert_eq!(&out[..n], &[0x00]);

        let bytes = [0x88, 0x10, 0x00, 0x86, 0x99, 0x00];
        let recs = [
            WriteAttributeStatusRecord {
                status: Status::READ_ONLY,
                attribute_id: AttributeId(0x0010),
            },
            WriteAttributeStatusRecord {
                status: Status::UNSUPPORTED_ATTRIBUTE,
                attribute_id: AttributeId(0x0099),
            },
        ];
        let c = WriteAttributesResponse::parse(&bytes).unwrap();
        assert_eq!(c, WriteAttributesResponse::StatusRecords(Records::Slice(&recs)));
        let n = emit(&WriteAttributesResponse::new(&recs), &mut out);
        assert_eq!(&out[..n], &bytes);

        // A SUCCESS record with its attribute id is a record, not the one-byte form.
        let c = WriteAttributesResponse::parse(&[0x00, 0x10, 0x00]).unwrap();
        assert!(matches!(c, WriteAttributesResponse::StatusRecords(r) if r.len() == 1));

        for (bytes, offset, needed, field) in [
            (&[][..], 0, 1, "status"),
            (&[0x88][..], 1, 2, "attribute_id"),
            (&[0x00, 0x10][..], 1, 1, "attribute_id"),
            (&[0x88, 0x10, 0x00, 0x86][..], 4, 2, "attribute_id"),
        ] {
            let e = WriteAttributesResponse::parse(bytes).unwrap_err();
            assert_eq!(
                (e.kind, e.offset, e.field),
                (ErrorKind::Truncated { needed }, offset, field)
            );
        }
        let empty = WriteAttributesResponse::StatusRecords(Records::Slice(&[]));
        assert_eq!(empty.emit(&mut out).unwrap_err().kind, ErrorKind::InvalidValue);
    }

    #[test]
    fn report_attributes_layout() {
        // Metering InstantaneousDemand (0x0400, int24) = -500, CurrentSummationDelivered = 1.
        let bytes = [0x00, 0x04, 0x2A, 0x0C, 0xFE, 0xFF, 0x00, 0x00, 0x25, 1, 0, 0, 0, 0, 0];
        let recs = [
            AttributeReport::new(AttributeId(0x0400), Value::Int24(Int24(-500))),
            AttributeReport::new(AttributeId(0x0000), Value::Uint48(Uint48(1))),
        ];
        assert_eq!(ReportAttributes::parse(&bytes).unwrap().records, Records::Slice(&recs));
        let mut out = [0u8; 64];
        let n = emit(&ReportAttributes::new(&recs), &mut out);
        assert_eq!(&out[..n], &bytes);
    }
}

#[cfg(test)]
mod proptests {
    use super::super::strategy::{records, typed_value, Vec};
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    /// `[attribute_id, status, (type, value if SUCCESS)]`.
    fn read_status_record() -> impl Strategy<Value = Vec<u8>> {
        (any::<u16>(), prop_oneof![Just(0u8), any::<u8>()], typed_value()).prop_map(
            |(id, status, value)| {
                let mut out = Vec::from(id.to_le_bytes());
                out.push(status);
                if status == 0 {
                    out.extend(value);
                }
                out
            },
        )
    }

    fn value_record() -> impl Strategy<Value = Vec<u8>> {
        (any::<u16>(), typed_value()).prop_map(|(id, value)| {
            let mut out = Vec::from(id.to_le_bytes());
            out.extend(value);
            out
        })
    }

    /// [`Record::skip`] accepts exactly what [`Record::read`] accepts and consumes as much.
    fn check_skip<'a, T: Record<'a>>(bytes: &'a [u8]) -> core::result::Result<(), TestCaseError> {
        let mut rest = bytes;
        let skipped = T::skip(&mut rest);
        let mut r = Reader::new(bytes);
        let read = T::read(&mut r);
        prop_assert_eq!(skipped.is_some(), read.is_ok(), "{:02x?}", bytes);
        if skipped.is_some() {
            prop_assert_eq!(rest.len(), r.remaining(), "{:02x?}", bytes);
        }
        Ok(())
    }

    fn check_skips(bytes: &[u8]) -> core::result::Result<(), TestCaseError> {
        check_skip::<ReadAttributeStatusRecord<'_>>(bytes)?;
        check_skip::<WriteAttributeRecord<'_>>(bytes)?;
        check_skip::<AttributeReport<'_>>(bytes)
    }

    /// Every data type id, with value bytes that make strings and collections short, long,
    /// invalid (0xFF…) or empty, cut at every length.
    #[test]
    fn skip_agrees_with_read_for_every_type() {
        for ty in 0..=u8::MAX {
            for fill in [0x00, 0x01, 0x02, 0x03, 0x20, 0xFF] {
                let mut bytes = [fill; 24];
                bytes[..3].copy_from_slice(&[0x00, 0x04, 0x00]); // id; status SUCCESS
                for at in [2, 3] {
                    // ReadAttributeStatusRecord has the type at 3, the others at 2.
                    let mut b = bytes;
                    b[at] = ty;
                    for len in 0..=b.len() {
                        check_skips(&b[..len]).unwrap();
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn skip_agrees_with_read(
            bytes in prop_oneof![
                read_status_record(),
                value_record(),
                proptest::collection::vec(any::<u8>(), 0..32),
            ],
        ) {
            for len in 0..=bytes.len() {
                check_skips(&bytes[..len])?;
            }
        }

        #[test]
        fn roundtrip_random(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check_roundtrip::<ReadAttributes<'_>>(&bytes);
            check_roundtrip::<ReadAttributesResponse<'_>>(&bytes);
            check_roundtrip::<WriteAttributes<'_>>(&bytes);
            check_roundtrip::<WriteAttributesResponse<'_>>(&bytes);
            check_roundtrip::<ReportAttributes<'_>>(&bytes);
        }

        #[test]
        fn roundtrip_valid_read_responses(bytes in records(read_status_record())) {
            prop_assert!(check_roundtrip::<ReadAttributesResponse<'_>>(&bytes).is_some());
        }

        #[test]
        fn roundtrip_valid_value_records(bytes in records(value_record())) {
            prop_assert!(check_roundtrip::<WriteAttributes<'_>>(&bytes).is_some());
            prop_assert!(check_roundtrip::<ReportAttributes<'_>>(&bytes).is_some());
        }
    }
}
