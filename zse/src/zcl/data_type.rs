//! ZCL data type identifiers (ZCL §2.5.2, Table 2-10; se10.md §1.5).

use crate::field::newtype;

newtype! {
    /// A ZCL data type id. Kept open so unknown ids survive and can be reported precisely.
    pub struct DataType(u8);
}

impl DataType {
    pub const NO_DATA: Self = Self(0x00);
    pub const DATA8: Self = Self(0x08);
    pub const DATA16: Self = Self(0x09);
    pub const DATA24: Self = Self(0x0A);
    pub const DATA32: Self = Self(0x0B);
    pub const DATA40: Self = Self(0x0C);
    pub const DATA48: Self = Self(0x0D);
    pub const DATA56: Self = Self(0x0E);
    pub const DATA64: Self = Self(0x0F);
    pub const BOOLEAN: Self = Self(0x10);
    pub const BITMAP8: Self = Self(0x18);
    pub const BITMAP16: Self = Self(0x19);
    pub const BITMAP24: Self = Self(0x1A);
    pub const BITMAP32: Self = Self(0x1B);
    pub const BITMAP40: Self = Self(0x1C);
    pub const BITMAP48: Self = Self(0x1D);
    pub const BITMAP56: Self = Self(0x1E);
    pub const BITMAP64: Self = Self(0x1F);
    pub const UINT8: Self = Self(0x20);
    pub const UINT16: Self = Self(0x21);
    pub const UINT24: Self = Self(0x22);
    pub const UINT32: Self = Self(0x23);
    pub const UINT40: Self = Self(0x24);
    pub const UINT48: Self = Self(0x25);
    pub const UINT56: Self = Self(0x26);
    pub const UINT64: Self = Self(0x27);
    pub const INT8: Self = Self(0x28);
    pub const INT16: Self = Self(0x29);
    pub const INT24: Self = Self(0x2A);
    pub const INT32: Self = Self(0x2B);
    pub const INT40: Self = Self(0x2C);
    pub const INT48: Self = Self(0x2D);
    pub const INT56: Self = Self(0x2E);
    pub const INT64: Self = Self(0x2F);
    pub const ENUM8: Self = Self(0x30);
    pub const ENUM16: Self = Self(0x31);
    pub const SEMI_FLOAT: Self = Self(0x38);
    pub const SINGLE_FLOAT: Self = Self(0x39);
    pub const DOUBLE_FLOAT: Self = Self(0x3A);
    pub const OCTET_STRING: Self = Self(0x41);
    pub const CHARACTER_STRING: Self = Self(0x42);
    pub const LONG_OCTET_STRING: Self = Self(0x43);
    pub const LONG_CHARACTER_STRING: Self = Self(0x44);
    pub const ARRAY: Self = Self(0x48);
    pub const STRUCTURE: Self = Self(0x4C);
    pub const SET: Self = Self(0x50);
    pub const BAG: Self = Self(0x51);
    pub const TIME_OF_DAY: Self = Self(0xE0);
    pub const DATE: Self = Self(0xE1);
    pub const UTC_TIME: Self = Self(0xE2);
    pub const CLUSTER_ID: Self = Self(0xE8);
    pub const ATTRIBUTE_ID: Self = Self(0xE9);
    pub const BACNET_OID: Self = Self(0xEA);
    pub const IEEE_ADDRESS: Self = Self(0xF0);
    pub const SECURITY_KEY: Self = Self(0xF1);
    pub const UNKNOWN: Self = Self(0xFF);

    /// Encoded size of a value of this type when it is fixed; `None` for strings, collections and
    /// ids this codec does not know.
    pub const fn fixed_len(self) -> Option<usize> {
        Some(match self.0 {
            0x00 | 0xFF => 0,
            0x08..=0x0F => (self.0 - 0x08 + 1) as usize,
            0x10 | 0x30 => 1,
            0x18..=0x1F => (self.0 - 0x18 + 1) as usize,
            0x20..=0x27 => (self.0 - 0x20 + 1) as usize,
            0x28..=0x2F => (self.0 - 0x28 + 1) as usize,
            0x31 | 0x38 | 0xE8 | 0xE9 => 2,
            0x39 | 0xE0 | 0xE1 | 0xE2 | 0xEA => 4,
            0x3A | 0xF0 => 8,
            0xF1 => 16,
            _ => return None,
        })
    }

    /// [`Self::fixed_len`] by table lookup, for decode fast paths (the `match` above compiles
    /// to a chain of range tests).
    #[inline]
    pub(crate) fn fixed_len_fast(self) -> Option<usize> {
        match FIXED_LEN.get(usize::from(self.0)) {
            Some(&len) if len != VARIABLE => Some(usize::from(len)),
            _ => None,
        }
    }

    /// Whether this codec knows how to size values of the type at all.
    pub const fn is_known(self) -> bool {
        self.fixed_len().is_some() || matches!(self.0, 0x41..=0x44 | 0x48 | 0x4C | 0x50 | 0x51)
    }

    /// "Analog" types carry a reportable-change field in Configure Reporting (ZCL §2.5.7.1.7).
    pub const fn is_analog(self) -> bool {
        matches!(self.0, 0x20..=0x2F | 0x38..=0x3A | 0xE0..=0xE2)
    }

    /// Lower-case name as used in the JSON form of [`super::Value`].
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "no_data",
            0x08 => "data8",
            0x09 => "data16",
            0x0A => "data24",
            0x0B => "data32",
            0x0C => "data40",
            0x0D => "data48",
            0x0E => "data56",
            0x0F => "data64",
            0x10 => "boolean",
            0x18 => "bitmap8",
            0x19 => "bitmap16",
            0x1A => "bitmap24",
            0x1B => "bitmap32",
            0x1C => "bitmap40",
            0x1D => "bitmap48",
            0x1E => "bitmap56",
            0x1F => "bitmap64",
            0x20 => "uint8",
            0x21 => "uint16",
            0x22 => "uint24",
            0x23 => "uint32",
            0x24 => "uint40",
            0x25 => "uint48",
            0x26 => "uint56",
            0x27 => "uint64",
            0x28 => "int8",
            0x29 => "int16",
            0x2A => "int24",
            0x2B => "int32",
            0x2C => "int40",
            0x2D => "int48",
            0x2E => "int56",
            0x2F => "int64",
            0x30 => "enum8",
            0x31 => "enum16",
            0x38 => "semi_float",
            0x39 => "single_float",
            0x3A => "double_float",
            0x41 => "octet_string",
            0x42 => "character_string",
            0x43 => "long_octet_string",
            0x44 => "long_character_string",
            0x48 => "array",
            0x4C => "structure",
            0x50 => "set",
            0x51 => "bag",
            0xE0 => "time_of_day",
            0xE1 => "date",
            0xE2 => "utc_time",
            0xE8 => "cluster_id",
            0xE9 => "attribute_id",
            0xEA => "bacnet_oid",
            0xF0 => "ieee_address",
            0xF1 => "security_key",
            0xFF => "unknown",
            _ => return None,
        })
    }
}

/// Marks a type without a fixed length in [`FIXED_LEN`].
const VARIABLE: u8 = 0xFF;

/// [`DataType::fixed_len`] of every type id, [`VARIABLE`] for `None`.
const FIXED_LEN: [u8; 256] = {
    let mut table = [VARIABLE; 256];
    let mut id = 0;
    while id < 256 {
        if let Some(len) = DataType(id as u8).fixed_len() {
            // Evaluated at compile time: an index out of range would fail the build.
            #[allow(clippy::indexing_slicing)]
            {
                table[id] = len as u8;
            }
        }
        id += 1;
    }
    table
};
