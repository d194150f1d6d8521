//! Discovery of attributes and commands (ZCL §2.4.13–2.4.14; the Discover Commands and Discover
//! Attributes Extended commands came with ZCL rev. 5/6, §2.5.19–2.5.24 there; se10.md §1.4).
//! SE 1.0 devices only use Discover Attributes, and rarely; the rest decodes captures of newer
//! stacks.

use super::CommandId;
use crate::error::{Error, ErrorKind, Result};
use crate::field::{fixed_struct, newtype};
use crate::wire::Reader;
use crate::zcl::{AttributeId, DataType};

fixed_struct! {
    /// Discover Attributes (0x0C; ZCL §2.4.13) and Discover Attributes Extended (0x15; ZCL
    /// rev. 6 §2.5.23), which share this layout (se10.md §1.4).
    pub struct DiscoverAttributes / DiscoverAttributesView {
        /// The first attribute id to report (inclusive).
        start_attribute_id: AttributeId,
        /// At most this many attributes in the response.
        maximum_attribute_ids: u8,
    }
}

fixed_struct! {
    /// Discover Commands Received (0x11) and Discover Commands Generated (0x13) (ZCL rev. 6
    /// §2.5.19/§2.5.21; se10.md §1.4), which share this layout.
    pub struct DiscoverCommands / DiscoverCommandsView {
        /// The first command id to report (inclusive).
        start_command_id: u8,
        /// At most this many command ids in the response.
        maximum_command_ids: u8,
    }
}

/// Reads the leading boolean of the discovery responses. Only 0x00 and 0x01 are accepted: any
/// other value (including the boolean "invalid" 0xFF) would not survive a round trip as `bool`.
fn read_discovery_complete(r: &mut Reader<'_>) -> Result<bool> {
    let at = r.pos();
    match r.u8("discovery_complete")? {
        0x00 => Ok(false),
        0x01 => Ok(true),
        _ => Err(Error::new(ErrorKind::InvalidValue, at, "discovery_complete")),
    }
}

/// A discovery response: `discovery_complete`, then a list of records.
macro_rules! discovery_response {
    (
        $(#[$m:meta])*
        pub struct $name:ident<'a> { $field:ident : $rec:ty }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name<'a> {
            /// `true`: nothing beyond the listed entries is left to discover.
            pub discovery_complete: bool,
            #[cfg_attr(feature = "serde", serde(borrow))]
            pub $field: $crate::zcl::Records<'a, $rec>,
        }

        impl<'a> $name<'a> {
            pub const fn new(discovery_complete: bool, records: &'a [$rec]) -> Self {
                Self { discovery_complete, $field: $crate::zcl::Records::Slice(records) }
            }
        }

        impl<'a> $crate::field::Repr<'a> for $name<'a> {
            fn parse(payload: &'a [u8]) -> Result<Self> {
                let mut r = Reader::new(payload);
                let discovery_complete = read_discovery_complete(&mut r)?;
                Ok(Self { discovery_complete, $field: $crate::zcl::Records::read_to_end(&mut r)? })
            }
            fn buffer_len(&self) -> usize {
                1 + self.$field.buffer_len()
            }
            fn emit(&self, buf: &mut [u8]) -> Result<usize> {
                let mut w = $crate::wire::Writer::new(buf);
                w.u8(u8::from(self.discovery_complete), "discovery_complete")?;
                self.$field.write(&mut w)?;
                Ok(w.pos())
            }
        }
    };
}

fixed_record! {
    /// Attribute information of Discover Attributes Response (ZCL §2.4.14.1). The data type is
    /// only an id here (no value follows), so unknown ids are kept.
    pub struct AttributeInformation {
        attribute_id: AttributeId,
        attribute_data_type: DataType,
    }
}

discovery_response! {
    /// Discover Attributes Response (0x0D; ZCL §2.4.14; se10.md §1.4).
    pub struct DiscoverAttributesResponse<'a> { attributes: AttributeInformation }
}

discovery_response! {
    /// Discover Commands Received Response (0x12) and Discover Commands Generated Response (0x14)
    /// (ZCL rev. 6 §2.5.20/§2.5.22; se10.md §1.4).
    pub struct DiscoverCommandsResponse<'a> { command_ids: CommandId }
}

newtype! {
    /// Attribute access control bitmap of Discover Attributes Extended Response (ZCL rev. 6
    /// §2.5.24; se10.md §1.4). Reserved bits are kept.
    pub struct AccessControl(u8);
}

impl AccessControl {
    pub const READABLE: u8 = 0x01;
    pub const WRITEABLE: u8 = 0x02;
    pub const REPORTABLE: u8 = 0x04;

    pub const fn readable(self) -> bool {
        self.0 & Self::READABLE != 0
    }
    pub const fn writeable(self) -> bool {
        self.0 & Self::WRITEABLE != 0
    }
    pub const fn reportable(self) -> bool {
        self.0 & Self::REPORTABLE != 0
    }
}

fixed_record! {
    /// Extended attribute information of Discover Attributes Extended Response (ZCL rev. 6
    /// §2.5.24.1).
    pub struct ExtendedAttributeInformation {
        attribute_id: AttributeId,
        attribute_data_type: DataType,
        attribute_access_control: AccessControl,
    }
}

discovery_response! {
    /// Discover Attributes Extended Response (0x16; ZCL rev. 6 §2.5.24; se10.md §1.4).
    pub struct DiscoverAttributesExtendedResponse<'a> { attributes: ExtendedAttributeInformation }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Repr;
    use crate::zcl::Records;

    #[test]
    fn discover_attributes_layout() {
        let c = DiscoverAttributes::parse(&[0x00, 0x04, 0x10]).unwrap();
        assert_eq!((c.start_attribute_id, c.maximum_attribute_ids), (AttributeId(0x0400), 16));
        let v = DiscoverAttributesView::new_checked(&[0x00u8, 0x04, 0x10][..]).unwrap();
        assert_eq!(v.start_attribute_id(), AttributeId(0x0400));
        let e = DiscoverAttributes::parse(&[0x00, 0x04]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 2, "maximum_attribute_ids")
        );
    }

    #[test]
    fn discover_attributes_response_layout() {
        // Complete; CurrentSummationDelivered uint48, InstantaneousDemand int24.
        let bytes = [0x01, 0x00, 0x00, 0x25, 0x00, 0x04, 0x2A];
        let attrs = [
            AttributeInformation {
                attribute_id: AttributeId(0),
                attribute_data_type: DataType::UINT48,
            },
            AttributeInformation {
                attribute_id: AttributeId(0x0400),
                attribute_data_type: DataType::INT24,
            },
        ];
        let c = DiscoverAttributesResponse::parse(&bytes).unwrap();
        assert_eq!(c, DiscoverAttributesResponse::new(true, &attrs));
        let mut out = [0u8; 16];
        assert_eq!(c.emit(&mut out).unwrap(), 7);
        assert_eq!(out[..7], bytes);

        let e = DiscoverAttributesResponse::parse(&bytes[..3]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 3, "attribute_data_type")
        );
        let e = DiscoverAttributesResponse::parse(&[]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 0, "discovery_complete")
        );
        let e = DiscoverAttributesResponse::parse(&[0x02]).unwrap_err();
        assert_eq!((e.kind, e.offset, e.field), (ErrorKind::InvalidValue, 0, "discovery_complete"));
        // Nothing discovered: just the flag.
        let c = DiscoverAttributesResponse::parse(&[0x01]).unwrap();
        assert!(c.discovery_complete && c.attributes.is_empty());
    }

    #[test]
    fn discover_commands_layout() {
        let c = DiscoverCommands::parse(&[0x00, 0x10]).unwrap();
        assert_eq!(c, DiscoverCommands { start_command_id: 0, maximum_command_ids: 16 });
        // Not complete; commands 0x00, 0x01, 0x02.
        let bytes = [0x00, 0x00, 0x01, 0x02];
        let c = DiscoverCommandsResponse::parse(&bytes).unwrap();
        assert!(!c.discovery_complete);
        assert_eq!(c.command_ids, Records::Slice(&[CommandId(0), CommandId(1), CommandId(2)]));
        let mut out = [0u8; 8];
        assert_eq!(c.emit(&mut out).unwrap(), 4);
        assert_eq!(out[..4], bytes);
    }

    #[test]
    fn discover_attributes_extended_response_layout() {
        let bytes = [0x01, 0x00, 0x00, 0x25, 0x05, 0x10, 0x00, 0x42, 0x03];
        let c = DiscoverAttributesExtendedResponse::parse(&bytes).unwrap();
        let attrs: [ExtendedAttributeInformation; 2] = [
            ExtendedAttributeInformation {
                attribute_id: AttributeId(0),
                attribute_data_type: DataType::UINT48,
                attribute_access_control: AccessControl(0x05),
            },
            ExtendedAttributeInformation {
                attribute_id: AttributeId(0x0010),
                attribute_data_type: DataType::CHARACTER_STRING,
                attribute_access_control: AccessControl(0x03),
            },
        ];
        assert_eq!(c, DiscoverAttributesExtendedResponse::new(true, &attrs));
        let first = attrs[0].attribute_access_control;
        assert!(first.readable() && !first.writeable() && first.reportable());
        let mut out = [0u8; 16];
        assert_eq!(c.emit(&mut out).unwrap(), bytes.len());
        assert_eq!(out[..bytes.len()], bytes);
        let e = DiscoverAttributesExtendedResponse::parse(&bytes[..8]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 8, "attribute_access_control")
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(flag in 0u8..2, rest in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut bytes = rest.clone();
            bytes.insert(0, flag);
            for input in [&rest[..], &bytes[..]] {
                check_roundtrip::<DiscoverAttributes>(input);
                check_roundtrip::<DiscoverCommands>(input);
                check_roundtrip::<DiscoverAttributesResponse<'_>>(input);
                check_roundtrip::<DiscoverCommandsResponse<'_>>(input);
                check_roundtrip::<DiscoverAttributesExtendedResponse<'_>>(input);
            }
            // With a valid flag, the response of one-byte records always parses.
            prop_assert!(check_roundtrip::<DiscoverCommandsResponse<'_>>(&bytes).is_some());
        }
    }
}
