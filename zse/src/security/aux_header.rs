//! The auxiliary security header of secured NWK and APS frames (ZigBee specification §4.5.1;
//! se10.md §8.5): security control, frame counter, optional source EUI-64, optional key sequence
//! number. One type for both layers: the plain-data [`AuxHeader`] (what
//! [`NwkHeader`](crate::frame::nwk::NwkHeader) and [`ApsHeader`](crate::frame::aps::ApsHeader)
//! carry, re-exported as `zse::frame::AuxHeader`) and the zero-copy [`AuxHeaderView`] over frame
//! bytes, which can also patch the level bits in place.
//!
//! The "level bits are 0 on the air" rule (se10.md §8.4): ZigBee PRO transmits the security level
//! field as 0; sender and receiver put the real level (nwkSecurityLevel, 5 in SE) back into the
//! control byte before building the nonce and the authenticated data. Use
//! [`SecurityControl::effective`] for the nonce and [`AuxHeaderView::set_security_level`] to patch
//! the header bytes that are part of `a`, then [`AuxHeaderView::set_security_level`] with
//! [`SecurityLevel::None`] again before transmitting. [`crate::frame::secure`] does all of this
//! for whole NWK and APS frames.

use super::ccm::{Nonce, SecurityLevel};
use crate::error::{Error, ErrorKind, Result};
use crate::field::{Field, Repr};
use crate::wire::{Reader, Writer};
use crate::zcl::Eui64;

/// The security level every ZigBee PRO / Smart Energy network uses (nwkSecurityLevel = 5,
/// ENC-MIC-32), and so the level to substitute for the 0 sent on the air.
pub const NWK_SECURITY_LEVEL: SecurityLevel = SecurityLevel::EncMic32;

/// Which key secured a frame: bits 3–4 of the security control byte (se10.md §8.5). Every value
/// of the two bits is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[repr(u8)]
pub enum KeyIdentifier {
    /// An APS link key ("data key").
    Data = 0,
    /// The network key; the header then carries a key sequence number.
    Network = 1,
    /// Key-transport key, HMAC-MMO(link key, 0x00) (se10.md §8.3).
    KeyTransport = 2,
    /// Key-load key, HMAC-MMO(link key, 0x02).
    KeyLoad = 3,
}

impl KeyIdentifier {
    /// The identifier in the low two bits of `bits` (other bits ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0x03 {
            0 => Self::Data,
            1 => Self::Network,
            2 => Self::KeyTransport,
            _ => Self::KeyLoad,
        }
    }
}

/// The security control byte (se10.md §8.5): bits 0–2 security level, bits 3–4 key identifier,
/// bit 5 extended nonce (source EUI-64 present), bits 6–7 reserved (kept as received, so that
/// every header re-emits to the same bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct SecurityControl(pub u8);

impl SecurityControl {
    pub const LEVEL_MASK: u8 = 0x07;
    pub const KEY_ID_MASK: u8 = 0x18;
    pub const KEY_ID_SHIFT: u8 = 3;
    pub const EXTENDED_NONCE: u8 = 0x20;
    pub const RESERVED_MASK: u8 = 0xC0;

    /// NWK-layer security as sent: level bits 0, network key, extended nonce (`0x28`).
    pub const NWK_ON_AIR: Self = Self::new(SecurityLevel::None, KeyIdentifier::Network, true);

    pub const fn new(level: SecurityLevel, key_id: KeyIdentifier, extended_nonce: bool) -> Self {
        let nonce = if extended_nonce { Self::EXTENDED_NONCE } else { 0 };
        Self(level.bits() | ((key_id as u8) << Self::KEY_ID_SHIFT) | nonce)
    }

    /// The level field as it stands (0 for a frame as received from the air).
    pub const fn level(self) -> SecurityLevel {
        SecurityLevel::from_bits(self.0)
    }

    pub const fn key_identifier(self) -> KeyIdentifier {
        KeyIdentifier::from_bits(self.0 >> Self::KEY_ID_SHIFT)
    }

    /// Whether the source EUI-64 is in the header.
    pub const fn extended_nonce(self) -> bool {
        self.0 & Self::EXTENDED_NONCE != 0
    }

    /// The same byte with the level field replaced.
    #[must_use]
    pub const fn with_level(self, level: SecurityLevel) -> Self {
        Self((self.0 & !Self::LEVEL_MASK) | level.bits())
    }

    /// The byte as transmitted: level bits cleared (se10.md §8.4).
    #[must_use]
    pub const fn on_air(self) -> Self {
        self.with_level(SecurityLevel::None)
    }

    /// The byte to use in the nonce and the authenticated data of a received frame: the level
    /// field is replaced by `nwk_security_level` (normally [`NWK_SECURITY_LEVEL`]) whatever it
    /// holds on the air. ZigBee 2006 and later send 0 there, and a receiver that trusted a
    /// non-zero field would let the sender pick a weaker level; Nerivec/zigbee-on-host
    /// (`src/zigbee/zigbee.ts`, `decodeZigbeeSecurityHeader`) likewise ignores the received bits.
    #[must_use]
    pub const fn effective(self, nwk_security_level: SecurityLevel) -> Self {
        self.with_level(nwk_security_level)
    }
}

impl Field for SecurityControl {
    const LEN: usize = 1;
    const ZERO: Self = Self(0);
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        r.u8(field).map(Self)
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        w.u8(self.0, field)
    }
}

/// Byte layout (ZigBee §4.5.1; se10.md §8.5). The optional fields follow in this order.
mod field {
    pub const SECURITY_CONTROL: usize = 0;
    pub const FRAME_COUNTER: core::ops::Range<usize> = 1..5;
    pub const SOURCE_ADDRESS: core::ops::Range<usize> = 5..13;
}

/// Auxiliary security header (ZigBee PRO §4.5.1; se10.md §8.5): 5, 6, 13 or 14 bytes.
///
/// `source_address` is present exactly when the control byte's extended-nonce bit is set, and
/// `key_sequence_number` exactly when the key identifier is [`KeyIdentifier::Network`];
/// [`Repr::emit`] refuses a header whose options disagree with its control byte. Error fields are
/// named `aux.…` because the header is always read inside a NWK or APS frame.
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
    /// The NWK-layer header as sent: network key, extended nonce, level 0 on the air (control
    /// `0x28`, 14 bytes; se10.md §8.5).
    pub const fn nwk(frame_counter: u32, source_address: Eui64, key_sequence_number: u8) -> Self {
        Self {
            security_control: SecurityControl::NWK_ON_AIR,
            frame_counter,
            source_address: Some(source_address),
            key_sequence_number: Some(key_sequence_number),
        }
    }

    /// An APS-layer header as sent, secured with a link-derived key (`key` is not
    /// [`KeyIdentifier::Network`], so there is no key sequence number): control `0x00`/`0x20`
    /// (data key), `0x10`/`0x30` (key-transport key), with the source EUI-64 when `source` is
    /// `Some` (5 or 13 bytes).
    pub const fn aps(key: KeyIdentifier, frame_counter: u32, source: Option<Eui64>) -> Self {
        Self {
            security_control: SecurityControl::new(SecurityLevel::None, key, source.is_some()),
            frame_counter,
            source_address: source,
            key_sequence_number: None,
        }
    }

    /// The CCM* nonce for this header (se10.md §8.6), with `level` in the control byte (see
    /// [`SecurityControl::effective`]). Without an extended nonce the source comes from
    /// `source_if_absent` (the NWK source IEEE address or the address map); `None` if neither is
    /// known.
    pub fn nonce(&self, level: SecurityLevel, source_if_absent: Option<Eui64>) -> Option<Nonce> {
        let source = self.source_address.or(source_if_absent)?;
        Some(Nonce::new(source, self.frame_counter, self.security_control.with_level(level)))
    }

    /// Reads the header at the reader's position (error offsets stay relative to the reader's
    /// buffer, so a header inside a frame reports frame offsets).
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let security_control = SecurityControl::read(r, "aux.security_control")?;
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

    /// Writes the header; refuses optional fields that disagree with the control byte.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let c = self.security_control;
        if self.source_address.is_some() != c.extended_nonce() {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aux.source_address"));
        }
        if self.key_sequence_number.is_some() != (c.key_identifier() == KeyIdentifier::Network) {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aux.key_sequence_number"));
        }
        c.write(w, "aux.security_control")?;
        w.u32(self.frame_counter, "aux.frame_counter")?;
        if let Some(source) = self.source_address {
            source.write(w, "aux.source_address")?;
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
        5 + 8 * usize::from(self.source_address.is_some())
            + usize::from(self.key_sequence_number.is_some())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.pos())
    }
}

/// Zero-copy view of an auxiliary security header at the start of `buffer` (which may continue
/// with the payload). Lengths are checked once, in [`new_checked`](Self::new_checked).
#[derive(Debug, Clone)]
pub struct AuxHeaderView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AuxHeaderView<T> {
    /// Checks that the buffer holds the whole header its control byte announces.
    pub fn new_checked(buffer: T) -> Result<Self> {
        AuxHeader::parse(buffer.as_ref())?;
        Ok(Self { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn security_control(&self) -> SecurityControl {
        SecurityControl(self.buffer.as_ref().get(field::SECURITY_CONTROL).copied().unwrap_or(0))
    }

    pub fn frame_counter(&self) -> u32 {
        self.array(field::FRAME_COUNTER).map_or(0, u32::from_le_bytes)
    }

    pub fn source_address(&self) -> Option<Eui64> {
        if !self.security_control().extended_nonce() {
            return None;
        }
        self.array(field::SOURCE_ADDRESS).map(|b| Eui64(u64::from_le_bytes(b)))
    }

    pub fn key_sequence_number(&self) -> Option<u8> {
        if self.security_control().key_identifier() != KeyIdentifier::Network {
            return None;
        }
        self.buffer.as_ref().get(self.header_len() - 1).copied()
    }

    /// Length of the header: 5, 6, 13 or 14 bytes.
    pub fn header_len(&self) -> usize {
        let c = self.security_control();
        5 + 8 * usize::from(c.extended_nonce())
            + usize::from(c.key_identifier() == KeyIdentifier::Network)
    }

    /// The bytes after the header (encrypted payload and MIC).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }

    pub fn to_repr(&self) -> AuxHeader {
        AuxHeader {
            security_control: self.security_control(),
            frame_counter: self.frame_counter(),
            source_address: self.source_address(),
            key_sequence_number: self.key_sequence_number(),
        }
    }

    fn array<const N: usize>(&self, range: core::ops::Range<usize>) -> Option<[u8; N]> {
        self.buffer.as_ref().get(range).and_then(|s| s.try_into().ok())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AuxHeaderView<T> {
    /// Writes `level` into the level bits of the control byte in the frame: the real level before
    /// computing or checking the MIC over the header (which is part of `a`), and
    /// [`SecurityLevel::None`] again before transmitting (se10.md §8.4).
    pub fn set_security_level(&mut self, level: SecurityLevel) {
        let control = self.security_control().with_level(level);
        if let Some(b) = self.buffer.as_mut().get_mut(field::SECURITY_CONTROL) {
            *b = control.0;
        }
    }
}

#[cfg(test)]
mod tests;
