//! The auxiliary security header shared by ZigBee NWK and APS security (ZigBee PRO §4.5.1;
//! se10.md §8.5). This is the header only; CCM* itself lives elsewhere. A minimal local type
//! for the frame layer: it will be unified with `crate::security`'s later.

use crate::error::{Error, ErrorKind, Result};
use crate::field::{newtype, Field, Repr};
use crate::wire::{Reader, Writer};
use crate::zcl::Eui64;

/// The security level ZigBee PRO / SE always uses: ENC-MIC-32 (se10.md §8.4). On the air the
/// level bits of [`SecurityControl`] are sent as 0 and both ends substitute this value.
pub const SECURITY_LEVEL_ENC_MIC_32: u8 = 5;

/// Key identifier, bits 3–4 of the security control byte (se10.md §8.5). All four values are
/// defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum KeyIdentifier {
    /// APS data key (a link key).
    Data = 0,
    /// The network key; the header then carries a key sequence number.
    Network = 1,
    /// Key-transport key (hash of the link key with 0x00).
    KeyTransport = 2,
    /// Key-load key (hash of the link key with 0x02).
    KeyLoad = 3,
}

newtype! {
    /// Security control byte of the auxiliary header (se10.md §8.5). Kept as the raw byte so
    /// that reserved bits 6–7 survive a round trip.
    pub struct SecurityControl(u8);
}

impl SecurityControl {
    pub const LEVEL_MASK: u8 = 0x07;
    pub const KEY_ID_MASK: u8 = 0x18;
    pub const KEY_ID_SHIFT: u8 = 3;
    /// The source EUI-64 is present in the header (and used in the nonce).
    pub const EXTENDED_NONCE: u8 = 0x20;
    pub const RESERVED_MASK: u8 = 0xC0;

    /// NWK security as sent on the air: network key, extended nonce, level bits 0 (`0x28`).
    pub const NWK: Self = Self(0x28);

    /// A control byte with level bits 0 (as on the air).
    pub const fn new(key: KeyIdentifier, extended_nonce: bool) -> Self {
        let mut v = (key as u8) << Self::KEY_ID_SHIFT;
        if extended_nonce {
            v |= Self::EXTENDED_NONCE;
        }
        Self(v)
    }

    /// The level bits as carried (normally 0 on the air; see [`SECURITY_LEVEL_ENC_MIC_32`]).
    pub const fn security_level(self) -> u8 {
        self.0 & Self::LEVEL_MASK
    }

    /// The same byte with the level bits replaced (for the CCM* nonce and authenticated data).
    #[must_use]
    pub const fn with_security_level(self, level: u8) -> Self {
        Self((self.0 & !Self::LEVEL_MASK) | (level & Self::LEVEL_MASK))
    }

    pub const fn key_identifier(self) -> KeyIdentifier {
        match (self.0 & Self::KEY_ID_MASK) >> Self::KEY_ID_SHIFT {
            0 => KeyIdentifier::Data,
            1 => KeyIdentifier::Network,
            2 => KeyIdentifier::KeyTransport,
            _ => KeyIdentifier::KeyLoad,
        }
    }

    pub const fn extended_nonce(self) -> bool {
        self.0 & Self::EXTENDED_NONCE != 0
    }

    /// MIC length in bytes for a security level (se10.md §8.4): 0, 4, 8 or 16.
    pub const fn mic_len(level: u8) -> usize {
        match level & 0x03 {
            0 => 0,
            1 => 4,
            2 => 8,
            _ => 16,
        }
    }
}

/// Auxiliary security header (ZigBee PRO §4.5.1; se10.md §8.5): 5, 6, 13 or 14 bytes.
///
/// `source_address` is present exactly when the control byte's extended-nonce bit is set, and
/// `key_sequence_number` exactly when the key identifier is [`KeyIdentifier::Network`]; `emit`
/// refuses a header whose options disagree with its control byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuxHeader {
    pub security_control: SecurityControl,
    pub frame_counter: u32,
    /// The sender's EUI-64 (extended nonce).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub source_address: Option<Eui64>,
    /// Sequence number of the network key used (network-key security only).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub key_sequence_number: Option<u8>,
}

impl AuxHeader {
    /// The NWK-layer header: network key, extended nonce, level 0 on the air (14 bytes).
    pub const fn nwk(frame_counter: u32, source_address: Eui64, key_sequence_number: u8) -> Self {
        Self {
            security_control: SecurityControl::NWK,
            frame_counter,
            source_address: Some(source_address),
            key_sequence_number: Some(key_sequence_number),
        }
    }

    /// An APS-layer header with a link-derived key (no key sequence number).
    pub const fn aps(key: KeyIdentifier, frame_counter: u32, source: Option<Eui64>) -> Self {
        Self {
            security_control: SecurityControl::new(key, source.is_some()),
            frame_counter,
            source_address: source,
            key_sequence_number: None,
        }
    }

    /// Reads the header at the reader's position (offsets in errors stay relative to the
    /// reader's buffer).
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let security_control = SecurityControl(r.u8("aux.security_control")?);
        let frame_counter = r.u32("aux.frame_counter")?;
        let source_address = if security_control.extended_nonce() {
            Some(Eui64::read(r, "aux.source_address")?)
        } else {
            None
        };
        let key_sequence_number = if security_control.key_identifier() == KeyIdentifier::Network {
            Some(r.u8("aux.key_sequence_number")?)
        } else {
            None
        };
        Ok(Self { security_control, frame_counter, source_address, key_sequence_number })
    }

    /// Writes the header; refuses options that disagree with the control byte.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let c = self.security_control;
        if self.source_address.is_some() != c.extended_nonce() {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aux.source_address"));
        }
        if self.key_sequence_number.is_some() != (c.key_identifier() == KeyIdentifier::Network) {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aux.key_sequence_number"));
        }
        w.u8(c.0, "aux.security_control")?;
        w.u32(self.frame_counter, "aux.frame_counter")?;
        if let Some(src) = self.source_address {
            src.write(w, "aux.source_address")?;
        }
        if let Some(k) = self.key_sequence_number {
            w.u8(k, "aux.key_sequence_number")?;
        }
        Ok(())
    }
}

impl Repr<'_> for AuxHeader {
    fn parse(payload: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(payload))
    }

    fn buffer_len(&self) -> usize {
        5 + if self.source_address.is_some() { 8 } else { 0 }
            + usize::from(self.key_sequence_number.is_some())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.pos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nwk_aux_header_layout() {
        // control 0x28 (network key, extended nonce, level 0 on air), counter 0x00000102,
        // source 00:0D:6F:00:00:00:00:01 (LE on air), key sequence 0.
        let bytes = [0x28, 0x02, 0x01, 0, 0, 0x01, 0, 0, 0, 0, 0x6F, 0x0D, 0x00, 0x00];
        let h = AuxHeader::parse(&bytes).unwrap();
        assert_eq!(h, AuxHeader::nwk(0x102, Eui64(0x000D_6F00_0000_0001), 0));
        assert_eq!(h.security_control.key_identifier(), KeyIdentifier::Network);
        assert_eq!(h.security_control.security_level(), 0);
        assert_eq!(h.security_control.with_security_level(5), SecurityControl(0x2D));
        assert_eq!(h.buffer_len(), 14);
        let mut out = [0u8; 14];
        assert_eq!(h.emit(&mut out).unwrap(), 14);
        assert_eq!(out, bytes);
    }

    #[test]
    fn aps_aux_header_forms() {
        // Link key (data key) without extended nonce: control + counter only.
        let h = AuxHeader::parse(&[0x00, 1, 0, 0, 0]).unwrap();
        assert_eq!((h.buffer_len(), h.frame_counter, h.source_address), (5, 1, None));
        // Key-transport key with extended nonce: 13 bytes.
        let h = AuxHeader::aps(KeyIdentifier::KeyTransport, 7, Some(Eui64(1)));
        assert_eq!(h.security_control, SecurityControl(0x30));
        assert_eq!(h.buffer_len(), 13);
        assert_eq!(SecurityControl::mic_len(SECURITY_LEVEL_ENC_MIC_32), 4);
    }

    #[test]
    fn truncation_and_inconsistent_options() {
        let e = AuxHeader::parse(&[0x28, 1, 0, 0, 0, 9]).unwrap_err();
        assert_eq!((e.offset, e.field), (5, "aux.source_address"));
        let e = AuxHeader::parse(&[0x08, 1, 0, 0, 0]).unwrap_err();
        assert_eq!((e.offset, e.field), (5, "aux.key_sequence_number"));
        let bad = AuxHeader {
            key_sequence_number: Some(1),
            ..AuxHeader::aps(KeyIdentifier::Data, 0, None)
        };
        assert_eq!(bad.emit(&mut [0u8; 16]).unwrap_err().kind, ErrorKind::InvalidValue);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            check_roundtrip::<AuxHeader>(&bytes);
        }
    }
}
