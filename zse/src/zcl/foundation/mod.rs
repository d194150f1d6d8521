//! ZCL foundation (profile-wide, "global") commands 0x00–0x16 (ZCL §2.4; se10.md §1.3–1.4).
//!
//! A foundation command is sent with frame type "global" on any cluster; the header's direction
//! bit says whether the server's or the client's attribute set is addressed. An SE 1.0 ESI needs
//! Read Attributes (+ Response) for Basic, Time, Price and Metering, Default Response for
//! everything, and Configure Reporting / Report Attributes for meters that push readings; the
//! rest are decoded so a capture can be read byte for byte.
//!
//! Submodules by concept (everything is re-exported here):
//! * `attributes`: read, write and report attribute values (0x00–0x05, 0x0A),
//! * `reporting`: configure and read reporting configuration (0x06–0x09),
//! * `discover`: discover attributes and commands (0x0C–0x0D, 0x11–0x16),
//! * `structured`: the structured read/write commands (0x0E–0x10), kept raw.
//!
//! Repeated records are [`Records`](crate::zcl::Records) (validated borrowed bytes on receive, caller slices or `Vec`s
//! on send), so nothing here allocates. Every record type implements [`Record`].

use crate::error::{Error, ErrorKind, Result};
use crate::field::{command_set, fixed_struct, newtype, Field};
use crate::wire::{Fast, Reader, Writer};
use crate::zcl::{AttributeId, DataType, Record, Status, Value};

/// A record made only of fixed-width [`Field`]s, in wire order.
macro_rules! fixed_record {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name { $( $(#[$fm])* pub $field: $ty, )* }

        impl $name {
            /// Encoded length in bytes.
            pub const LEN: usize = 0 $( + <$ty as $crate::field::Field>::LEN )*;
        }

        impl $crate::zcl::Record<'_> for $name {
            fn read(r: &mut $crate::wire::Reader<'_>) -> $crate::Result<Self> {
                Ok(Self { $( $field: <$ty as $crate::field::Field>::read(r, stringify!($field))?, )* })
            }
            fn buffer_len(&self) -> usize {
                Self::LEN
            }
            fn write(&self, w: &mut $crate::wire::Writer<'_>) -> $crate::Result<()> {
                $( <$ty as $crate::field::Field>::write(self.$field, w, stringify!($field))?; )*
                Ok(())
            }
        }
    };
}

/// A command whose whole payload is one list of records.
macro_rules! record_list {
    (
        $(#[$m:meta])*
        pub struct $name:ident<'a> { $field:ident : $rec:ty }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name<'a> {
            #[cfg_attr(feature = "serde", serde(borrow))]
            pub $field: $crate::zcl::Records<'a, $rec>,
        }

        impl<'a> $name<'a> {
            /// A command that will emit `records`, in order.
            pub const fn new(records: &'a [$rec]) -> Self {
                Self { $field: $crate::zcl::Records::Slice(records) }
            }
        }

        impl<'a> $crate::field::Repr<'a> for $name<'a> {
            fn parse(payload: &'a [u8]) -> $crate::Result<Self> {
                let mut r = $crate::wire::Reader::new(payload);
                Ok(Self { $field: $crate::zcl::Records::read_to_end(&mut r)? })
            }
            fn buffer_len(&self) -> usize {
                self.$field.buffer_len()
            }
            fn emit(&self, buf: &mut [u8]) -> $crate::Result<usize> {
                let mut w = $crate::wire::Writer::new(buf);
                self.$field.write(&mut w)?;
                Ok(w.pos())
            }
        }
    };
}

/// A response that is either one SUCCESS status byte (everything succeeded) or a list of status
/// records (Write Attributes Response, Configure Reporting Response).
macro_rules! status_response {
    (
        $(#[$m:meta])*
        pub enum $name:ident<'a> { $rec:ty }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize),
                   serde(rename_all = "snake_case"))]
        pub enum $name<'a> {
            /// The one-byte form: a single SUCCESS status and nothing else.
            AllSuccess,
            /// One record per attribute that was not accepted. Records carrying SUCCESS are kept
            /// as received (some stacks send them).
            StatusRecords(
                #[cfg_attr(feature = "serde", serde(borrow))] $crate::zcl::Records<'a, $rec>,
            ),
        }

        impl<'a> $name<'a> {
            /// The response for a request whose failures are `failures`: the one-byte
            /// [`Self::AllSuccess`] form when there are none, as ZCL requires.
            pub const fn new(failures: &'a [$rec]) -> Self {
                if failures.is_empty() {
                    Self::AllSuccess
                } else {
                    Self::StatusRecords($crate::zcl::Records::Slice(failures))
                }
            }
        }

        impl<'a> $crate::field::Repr<'a> for $name<'a> {
            /// Exactly one byte 0x00 is the all-success form; anything else must be whole
            /// records. An empty payload is truncated (at least the status byte is mandatory).
            fn parse(payload: &'a [u8]) -> $crate::Result<Self> {
                let mut r = $crate::wire::Reader::new(payload);
                if payload == [$crate::zcl::Status::SUCCESS.0] {
                    return Ok(Self::AllSuccess);
                }
                if r.is_empty() {
                    return Err(r.truncated(1, "status"));
                }
                Ok(Self::StatusRecords($crate::zcl::Records::read_to_end(&mut r)?))
            }
            fn buffer_len(&self) -> usize {
                match self {
                    Self::AllSuccess => 1,
                    Self::StatusRecords(records) => records.buffer_len(),
                }
            }
            /// An empty record list is refused ([`ErrorKind::InvalidValue`]): it would put an
            /// empty payload on the air; use [`Self::AllSuccess`].
            fn emit(&self, buf: &mut [u8]) -> $crate::Result<usize> {
                let mut w = $crate::wire::Writer::new(buf);
                match self {
                    Self::AllSuccess => w.u8($crate::zcl::Status::SUCCESS.0, "status")?,
                    Self::StatusRecords(records) if records.is_empty() => {
                        return Err($crate::Error::new(
                            $crate::ErrorKind::InvalidValue,
                            0,
                            "status_records",
                        ));
                    }
                    Self::StatusRecords(records) => records.write(&mut w)?,
                }
                Ok(w.pos())
            }
        }
    };
}

mod attributes;
mod discover;
mod reporting;
mod structured;

pub use attributes::{
    AttributeReport, ReadAttributeStatusRecord, ReadAttributes, ReadAttributesResponse,
    ReportAttributes, WriteAttributeRecord, WriteAttributeStatusRecord, WriteAttributes,
    WriteAttributesResponse,
};
pub use discover::{
    AccessControl, AttributeInformation, DiscoverAttributes, DiscoverAttributesExtendedResponse,
    DiscoverAttributesResponse, DiscoverAttributesView, DiscoverCommands, DiscoverCommandsResponse,
    DiscoverCommandsView, ExtendedAttributeInformation,
};
pub use reporting::{
    AttributeRecord, AttributeReportingConfigurationRecord, AttributeStatusRecord,
    ConfigureReporting, ConfigureReportingResponse, ReadReportingConfiguration,
    ReadReportingConfigurationResponse, ReportingConfiguration, ReportingConfigurationStatusRecord,
    ReportingDirection,
};
pub use structured::{RawBytes, RawPayload};

impl Record<'_> for AttributeId {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Field::read(r, "attribute_id")
    }
    fn buffer_len(&self) -> usize {
        2
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        Field::write(*self, w, "attribute_id")
    }
}

newtype! {
    /// A command identifier as listed by Discover Commands Received/Generated Response
    /// (ZCL rev. 6 §2.5.20).
    pub struct CommandId(u8);
}

impl Record<'_> for CommandId {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Field::read(r, "command_id")
    }
    fn buffer_len(&self) -> usize {
        1
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        Field::write(*self, w, "command_id")
    }
}

/// Reads a `[data_type, value]` pair. Unlike [`crate::zcl::TypedValue::read`], a data type this
/// codec cannot size is reported at the offset of the type byte itself, which is the byte a lab
/// engineer has to look at.
pub(crate) fn read_typed_value<'a>(r: &mut Reader<'a>) -> Result<Value<'a>> {
    let at = r.pos();
    let ty = DataType(r.u8("data_type")?);
    if !ty.is_known() {
        return Err(Error::new(ErrorKind::UnknownDataType(ty.0), at, "data_type"));
    }
    Value::read(ty, r)
}

/// Moves past a `[data_type, value]` pair; `None` exactly where [`read_typed_value`] fails
/// (the [`Record::skip`] of records holding a value). Fixed-size values and strings are skipped
/// by their length; collections and structures, whose elements must be walked, are read.
#[inline]
pub(crate) fn skip_typed_value(f: &mut Fast<'_>) -> Option<()> {
    let ty = DataType(f.u8()?);
    match ty.fixed_len_fast() {
        Some(len) => f.bytes(len).map(drop),
        None => match ty.0 {
            0x41 | 0x42 => f.short_string().map(drop),
            0x43 | 0x44 => f.long_string().map(drop),
            _ => {
                *f = Fast::new(skip_value_slow(ty, f.rest())?);
                Some(())
            }
        },
    }
}

/// Collections, structures and unknown types: [`Value::read`] (unknown types fail there too).
/// Returns the bytes after the value. (Takes and returns plain slices so that the caller's
/// cursor stays in registers.)
#[inline(never)]
fn skip_value_slow(ty: DataType, rest: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(rest);
    Value::read(ty, &mut r).ok()?;
    Some(r.rest())
}

/// Encoded length of a `[data_type, value]` pair.
pub(crate) fn typed_value_len(v: &Value<'_>) -> usize {
    1 + v.value_len()
}

fixed_struct! {
    /// Default Response (0x0B; ZCL §2.4.12; se10.md §1.4): the command answered and its status.
    /// Sent for a unicast command that has no specific response (unless the request set Disable
    /// Default Response and succeeded), and never in reply to another Default Response.
    pub struct DefaultResponse / DefaultResponseView {
        /// The command id of the received command being answered.
        command_id: u8,
        status: Status,
    }
}

impl DefaultResponse {
    /// The Default Response to command `command_id` with `status`.
    pub const fn new(command_id: u8, status: Status) -> Self {
        Self { command_id, status }
    }
}

command_set! {
    /// The foundation commands, by ZCL command id (se10.md §1.3). Write Attributes (0x02),
    /// Undivided (0x03) and No Response (0x05) share one layout, as do the two Discover Commands
    /// requests, their responses, and the two Discover Attributes requests.
    pub enum Command<'a> {
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x00 => ReadAttributes(ReadAttributes<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x01 => ReadAttributesResponse(ReadAttributesResponse<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x02 => WriteAttributes(WriteAttributes<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x03 => WriteAttributesUndivided(WriteAttributes<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x04 => WriteAttributesResponse(WriteAttributesResponse<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x05 => WriteAttributesNoResponse(WriteAttributes<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x06 => ConfigureReporting(ConfigureReporting<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x07 => ConfigureReportingResponse(ConfigureReportingResponse<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x08 => ReadReportingConfiguration(ReadReportingConfiguration<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x09 => ReadReportingConfigurationResponse(ReadReportingConfigurationResponse<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x0A => ReportAttributes(ReportAttributes<'a>),
        0x0B => DefaultResponse(DefaultResponse),
        0x0C => DiscoverAttributes(DiscoverAttributes),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x0D => DiscoverAttributesResponse(DiscoverAttributesResponse<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x0E => ReadAttributesStructured(RawPayload<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x0F => WriteAttributesStructured(RawPayload<'a>),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x10 => WriteAttributesStructuredResponse(RawPayload<'a>),
        0x11 => DiscoverCommandsReceived(DiscoverCommands),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x12 => DiscoverCommandsReceivedResponse(DiscoverCommandsResponse<'a>),
        0x13 => DiscoverCommandsGenerated(DiscoverCommands),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x14 => DiscoverCommandsGeneratedResponse(DiscoverCommandsResponse<'a>),
        0x15 => DiscoverAttributesExtended(DiscoverAttributes),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x16 => DiscoverAttributesExtendedResponse(DiscoverAttributesExtendedResponse<'a>),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Repr, Uint48};
    use crate::zcl::Records;

    #[test]
    fn default_response_layout() {
        let d = DefaultResponse::new(0x00, Status::UNSUP_CLUSTER_COMMAND);
        let mut out = [0u8; 2];
        assert_eq!(d.emit(&mut out).unwrap(), 2);
        assert_eq!(out, [0x00, 0x81]);
        assert_eq!(DefaultResponse::parse(&out).unwrap(), d);
        let e = DefaultResponse::parse(&[0x00]).unwrap_err();
        assert_eq!((e.kind, e.offset, e.field), (ErrorKind::Truncated { needed: 1 }, 1, "status"));
    }

    #[test]
    fn every_id_dispatches() {
        assert_eq!(Command::COMMANDS.len(), 0x17);
        for (i, &(id, name)) in Command::COMMANDS.iter().enumerate() {
            assert_eq!(usize::from(id), i, "{name}");
        }
        assert_eq!(Command::parse(0x17, &[]).unwrap(), None);
        // One small valid payload per id; each must dispatch to the named variant and re-emit
        // byte for byte.
        let samples: [(u8, &str, &[u8]); 0x17] = [
            (0x00, "ReadAttributes", &[0x00, 0x04]),
            (0x01, "ReadAttributesResponse", &[0x00, 0x04, 0x86]),
            (0x02, "WriteAttributes", &[0x00, 0x04, 0x20, 0x07]),
            (0x03, "WriteAttributesUndivided", &[0x00, 0x04, 0x20, 0x07]),
            (0x04, "WriteAttributesResponse", &[0x00]),
            (0x05, "WriteAttributesNoResponse", &[0x00, 0x04, 0x20, 0x07]),
            (0x06, "ConfigureReporting", &[0x01, 0x00, 0x04, 0x3C, 0x00]),
            (0x07, "ConfigureReportingResponse", &[0x00]),
            (0x08, "ReadReportingConfiguration", &[0x00, 0x00, 0x04]),
            (0x09, "ReadReportingConfigurationResponse", &[0x8B, 0x00, 0x00, 0x04]),
            (0x0A, "ReportAttributes", &[0x00, 0x04, 0x2A, 0x01, 0x00, 0x00]),
            (0x0B, "DefaultResponse", &[0x06, 0x00]),
            (0x0C, "DiscoverAttributes", &[0x00, 0x00, 0x10]),
            (0x0D, "DiscoverAttributesResponse", &[0x01]),
            (0x0E, "ReadAttributesStructured", &[0x10, 0x00, 0x00]),
            (0x0F, "WriteAttributesStructured", &[0x10, 0x00, 0x00, 0x20, 0x01]),
            (0x10, "WriteAttributesStructuredResponse", &[0x00]),
            (0x11, "DiscoverCommandsReceived", &[0x00, 0x10]),
            (0x12, "DiscoverCommandsReceivedResponse", &[0x01, 0x00, 0x01]),
            (0x13, "DiscoverCommandsGenerated", &[0x00, 0x10]),
            (0x14, "DiscoverCommandsGeneratedResponse", &[0x01, 0x00]),
            (0x15, "DiscoverAttributesExtended", &[0x00, 0x00, 0x10]),
            (0x16, "DiscoverAttributesExtendedResponse", &[0x01, 0x00, 0x00, 0x25, 0x05]),
        ];
        for (id, name, payload) in samples {
            let c = Command::parse(id, payload).unwrap().unwrap();
            assert_eq!((c.command_id(), c.name()), (id, name));
            let mut out = [0u8; 16];
            let n = c.emit(&mut out).unwrap();
            assert_eq!(&out[..n], payload, "{}", c.name());
            assert_eq!(c.buffer_len(), n);
        }
    }

    #[test]
    fn errors_keep_payload_offsets() {
        // Write Attributes Undivided with a uint16 value cut short.
        let e = Command::parse(0x03, &[0x00, 0x04, 0x21, 0x07]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated { needed: 1 }, 3));
    }

    #[test]
    fn frame_level_dispatch() {
        // Global, s→c, DDR; TSN 0x42; Read Attributes Response: 0x0000 uint48 = 5.
        let bytes = [0x18, 0x42, 0x01, 0x00, 0x00, 0x00, 0x25, 5, 0, 0, 0, 0, 0];
        let f = crate::zcl::Frame::parse(crate::zcl::ClusterId::METERING, &bytes).unwrap();
        let crate::zcl::Payload::Foundation(Command::ReadAttributesResponse(rsp)) = &f.payload
        else {
            panic!("not a read attributes response: {f:?}");
        };
        let recs: [ReadAttributeStatusRecord<'_>; 1] =
            [ReadAttributeStatusRecord::success(AttributeId(0), Value::Uint48(Uint48(5)))];
        assert_eq!(rsp.records, Records::Slice(&recs));
        // Offsets in errors are shifted past the 3-byte header.
        let e =
            crate::zcl::Frame::parse(crate::zcl::ClusterId::METERING, &bytes[..10]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated { needed: 3 }, 7));
    }

    #[cfg(all(feature = "serde", feature = "std"))]
    #[test]
    fn serde_json_round_trip() {
        use serde::Deserialize;
        let recs = [
            ReadAttributeStatusRecord::success(AttributeId(0x0000), Value::Uint48(Uint48(1234))),
            ReadAttributeStatusRecord::failure(AttributeId(0x0400), Status::UNSUPPORTED_ATTRIBUTE),
            ReadAttributeStatusRecord::success(
                AttributeId(0x0300),
                Value::CharacterString(crate::zcl::ZclStr::from_str("kWh")),
            ),
        ];
        let cmd = Command::ReadAttributesResponse(ReadAttributesResponse::new(&recs));
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json["command"], "ReadAttributesResponse");
        assert_eq!(json["fields"]["records"][0]["value"]["type"], "uint48");
        assert_eq!(json["fields"]["records"][0]["value"]["value"], 1234);
        assert_eq!(json["fields"]["records"][1]["status"], 0x86);
        assert!(json["fields"]["records"][1].get("value").is_none());
        let back = Command::deserialize(&json).unwrap();
        assert_eq!(back, cmd);
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        let n = cmd.emit(&mut a).unwrap();
        assert_eq!(back.emit(&mut b).unwrap(), n);
        assert_eq!(a[..n], b[..n]);

        // The other shapes: all-success form, tagged reporting configuration, raw payload.
        for cmd in [
            Command::WriteAttributesResponse(WriteAttributesResponse::AllSuccess),
            Command::ConfigureReporting(ConfigureReporting::new(&[
                AttributeReportingConfigurationRecord {
                    attribute_id: AttributeId(0x0400),
                    configuration: ReportingConfiguration::SendReports {
                        attribute_data_type: DataType::INT24,
                        minimum_reporting_interval: 1,
                        maximum_reporting_interval: 60,
                        reportable_change: Some(Value::Int24(crate::field::Int24(10))),
                    },
                },
            ])),
            Command::WriteAttributesStructured(RawPayload::new(&[0x01, 0x02, 0xAB])),
        ] {
            let json = serde_json::to_value(&cmd).unwrap();
            let back = Command::deserialize(&json).unwrap();
            assert_eq!(back, cmd, "{json}");
        }
    }
}

/// Generators of *valid* encodings, so property tests reach past the first record.
#[cfg(test)]
pub(crate) mod strategy {
    extern crate std;
    use crate::zcl::DataType;
    use proptest::prelude::*;
    pub(crate) use std::vec::Vec;

    /// Fixed-size types, analog and discrete.
    const FIXED: [u8; 22] = [
        0x00, 0x08, 0x10, 0x18, 0x1B, 0x20, 0x21, 0x22, 0x25, 0x27, 0x29, 0x2A, 0x2C, 0x2D, 0x30,
        0x31, 0x39, 0x3A, 0xE0, 0xE2, 0xF0, 0xFF,
    ];
    const ANALOG: [u8; 12] =
        [0x20, 0x21, 0x22, 0x24, 0x25, 0x28, 0x2A, 0x2E, 0x38, 0x39, 0xE1, 0xE2];

    fn fixed(types: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(types).prop_flat_map(|t| {
            let n = DataType(t).fixed_len().unwrap_or(0);
            proptest::collection::vec(any::<u8>(), n).prop_map(move |mut v| {
                v.insert(0, t);
                v
            })
        })
    }

    /// `[data_type, value]` of a valid value: fixed-size types, strings (including the invalid
    /// string) and a small uint8 array.
    pub(crate) fn typed_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            fixed(&FIXED),
            (
                prop::sample::select(&[0x41u8, 0x42][..]),
                proptest::collection::vec(any::<u8>(), 0..8)
            )
                .prop_map(|(t, s)| {
                    let mut v = Vec::from([t, s.len() as u8]);
                    v.extend(s);
                    v
                }),
            Just(Vec::from([0x42, 0xFF])),
            Just(Vec::from([0x48, 0x20, 0x02, 0x00, 0x07, 0x09])),
        ]
    }

    /// `[data_type, value]` of an analog type (those with a reportable change).
    pub(crate) fn analog_value() -> impl Strategy<Value = Vec<u8>> {
        fixed(&ANALOG)
    }

    /// Up to four records, concatenated.
    pub(crate) fn records(
        record: impl Strategy<Value = Vec<u8>>,
    ) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(record, 0..5).prop_map(|r| r.concat())
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check_roundtrip::<DefaultResponse>(&bytes);
            for &(id, _) in Command::COMMANDS {
                if let Ok(Some(c)) = Command::parse(id, &bytes) {
                    let mut out = [0u8; 128];
                    let n = c.emit(&mut out).unwrap();
                    prop_assert_eq!(n, c.buffer_len());
                    prop_assert_eq!(&out[..n], &bytes[..n]);
                }
            }
        }
    }
}
