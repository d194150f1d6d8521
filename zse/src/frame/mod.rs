//! The layers under ZCL: IEEE 802.15.4 MAC ([`mac`]), ZigBee NWK ([`nwk`]) and APS ([`aps`]),
//! the auxiliary security header both ZigBee layers share ([`AuxHeader`], owned by
//! [`crate::security::aux_header`] and re-exported here), NWK and APS security with CCM*
//! ([`secure`]), and the composition of a whole Smart Energy frame ([`SeFrameBuilder`],
//! [`build_se_frame`], [`build_secured_se_frame`], [`parse_se_frame`],
//! [`parse_secured_se_frame`]).
//!
//! Each layer follows the crate's pattern: a plain-data header `Repr` (`…Header`, with
//! `parse`/`buffer_len`/`emit`), a frame `Repr` that adds the borrowed payload (`…Frame`), and a
//! zero-copy typed view (`…FrameView`). Flags that only say whether a field is present are not
//! stored: they follow from the `Option` fields, so a header cannot claim a field it lacks. Flags
//! and fields that cannot go together (e.g. a group address in a unicast APS frame) are rejected
//! by `emit` with [`crate::ErrorKind::InvalidValue`] naming the field.
//!
//! Parsers are strict about bits that change the layout in other revisions (802.15.4-2015 frame
//! control bits, reserved frame types and delivery modes): such frames are refused with
//! `InvalidValue` rather than decoded with a guessed layout, so that every frame that parses also
//! re-emits to the same bytes.

pub mod aps;
mod layer;
pub mod mac;
pub mod nwk;
mod se;
pub mod secure;

/// The auxiliary security header is [`crate::security::aux_header`]'s, shared by both layers.
pub use crate::security::aux_header::{AuxHeader, KeyIdentifier, SecurityControl};
pub use layer::{Layer, LayerHeader};
pub use se::{
    build_se_frame, build_secured_se_frame, parse_se_frame, parse_secured_se_frame, FrameKeys,
    NwkKey, NwkSecurity, SeFrame, SeFrameBuilder,
};
pub use secure::{CounterCheck, FrameSecurityError, KeyStore, Keyring};

use crate::field::{newtype, Field};
use crate::wire::{Reader, Writer};
use crate::zcl::Record;
use crate::Result;

newtype! {
    /// A 16-bit short address: an 802.15.4 MAC short address or a ZigBee NWK address
    /// (se10.md §9.2). The coordinator (usually the ESI) is 0x0000.
    pub struct ShortAddr(u16);
}

impl ShortAddr {
    /// The ZigBee coordinator / trust centre.
    pub const COORDINATOR: Self = Self(0x0000);
    /// NWK broadcast to all routers and the coordinator.
    pub const BROADCAST_ROUTERS: Self = Self(0xFFFC);
    /// NWK broadcast to all devices with the receiver on when idle.
    pub const BROADCAST_RX_ON_WHEN_IDLE: Self = Self(0xFFFD);
    /// Broadcast to every device (MAC and NWK).
    pub const BROADCAST: Self = Self(0xFFFF);

    /// True for the MAC/NWK broadcast addresses 0xFFF8–0xFFFF (0xFFF8–0xFFFB are reserved
    /// broadcast values in ZigBee PRO).
    pub const fn is_broadcast(self) -> bool {
        self.0 >= 0xFFF8
    }
}

impl<'a> Record<'a> for ShortAddr {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Field::read(r, "relay_list")
    }
    fn buffer_len(&self) -> usize {
        2
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        Field::write(*self, w, "relay_list")
    }
}

newtype! {
    /// An 802.15.4 PAN identifier. 0xFFFF is the broadcast PAN id.
    pub struct PanId(u16);
}

impl PanId {
    pub const BROADCAST: Self = Self(0xFFFF);
}

/// Serializes borrowed payload bytes as a hex string.
#[cfg(feature = "serde")]
fn serialize_payload<S: serde::Serializer>(
    bytes: &&[u8],
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    crate::hex::serialize_hex(bytes, s)
}
