//! The ZigBee application support (APS) frame (ZigBee PRO §2.2.5; se10.md §9.1): data frames
//! (endpoint or group addressing, cluster, profile, APS counter), command frames,
//! acknowledgements (data acks with endpoints/cluster/profile, command acks without), the
//! extended header used for fragmentation, and the auxiliary header of APS security.
//!
//! The indirect delivery mode (ZigBee 2004, reserved since 2006) and frame type 3 (inter-PAN,
//! which has its own stub NWK header) are refused. Security and extended-header flags follow
//! from the `Option` fields.

use super::layer::{view_common, Layer, LayerHeader};
use super::AuxHeader;
use crate::error::{Error, ErrorKind, Result};
use crate::field::{Field, Repr};
use crate::wire::{Reader, Writer};
use crate::zcl::{ClusterId, SE_PROFILE_ID};

/// Frame control bits (ZigBee PRO §2.2.5.1.1; se10.md §9.1).
pub(super) mod fc {
    pub const FRAME_TYPE: u8 = 0x03;
    pub const DELIVERY_MODE: u8 = 0x0C;
    pub const DELIVERY_MODE_SHIFT: u8 = 2;
    pub const ACK_FORMAT: u8 = 0x10;
    pub const SECURITY: u8 = 0x20;
    pub const ACK_REQUEST: u8 = 0x40;
    pub const EXTENDED_HEADER: u8 = 0x80;
}

/// APS frame type, frame-control bits 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ApsFrameType {
    Data = 0,
    Command = 1,
    Ack = 2,
}

/// Delivery mode, frame-control bits 2–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum DeliveryMode {
    Unicast = 0,
    /// Broadcast to an endpoint (0xFF = all endpoints) of every device in the NWK broadcast.
    Broadcast = 2,
    /// To every endpoint in a group: a group address replaces the destination endpoint.
    Group = 3,
}

/// Where an endpoint-addressed frame goes: an endpoint (unicast, broadcast) or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ApsDestination {
    Endpoint(u8),
    Group(u16),
}

/// The endpoint addressing of data frames and data acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ApsAddressing {
    /// `Group` exactly when the delivery mode is group.
    pub destination: ApsDestination,
    pub cluster_id: ClusterId,
    /// 0x0109 for Smart Energy ([`SE_PROFILE_ID`]).
    pub profile_id: u16,
    pub src_endpoint: u8,
}

/// Fragmentation subfield of the extended frame control (ZigBee PRO §2.2.5.1.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Fragmentation {
    NotFragmented = 0,
    /// First block; the block number field holds the number of blocks.
    FirstBlock = 1,
    /// A later block; the block number field holds its index.
    SubsequentBlock = 2,
}

/// Extended header (ZigBee PRO §2.2.5.1.8): extended frame control, then a block number when
/// fragmented, then (acknowledgements only) the bitfield of received blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExtendedHeader {
    pub fragmentation: Fragmentation,
    /// Present exactly when fragmented.
    pub block_number: Option<u8>,
    /// Present exactly in fragmented acknowledgements.
    pub ack_bitfield: Option<u8>,
}

impl ExtendedHeader {
    fn read(r: &mut Reader<'_>, frame_type: ApsFrameType) -> Result<Self> {
        let start = r.pos();
        let efc = r.u8("aps.extended_frame_control")?;
        let fragmentation = match efc {
            0 => Fragmentation::NotFragmented,
            1 => Fragmentation::FirstBlock,
            2 => Fragmentation::SubsequentBlock,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    start,
                    "aps.extended_frame_control",
                ))
            }
        };
        let fragmented = fragmentation != Fragmentation::NotFragmented;
        let block_number = if fragmented { Some(r.u8("aps.block_number")?) } else { None };
        let ack_bitfield = if fragmented && frame_type == ApsFrameType::Ack {
            Some(r.u8("aps.ack_bitfield")?)
        } else {
            None
        };
        Ok(Self { fragmentation, block_number, ack_bitfield })
    }

    fn buffer_len(self) -> usize {
        1 + usize::from(self.block_number.is_some()) + usize::from(self.ack_bitfield.is_some())
    }

    fn write(self, w: &mut Writer<'_>, frame_type: ApsFrameType) -> Result<()> {
        let fragmented = self.fragmentation != Fragmentation::NotFragmented;
        if self.block_number.is_some() != fragmented {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aps.block_number"));
        }
        if self.ack_bitfield.is_some() != (fragmented && frame_type == ApsFrameType::Ack) {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "aps.ack_bitfield"));
        }
        w.u8(self.fragmentation as u8, "aps.extended_frame_control")?;
        if let Some(b) = self.block_number {
            w.u8(b, "aps.block_number")?;
        }
        if let Some(b) = self.ack_bitfield {
            w.u8(b, "aps.ack_bitfield")?;
        }
        Ok(())
    }
}

/// The APS header (ZigBee PRO §2.2.5.1; se10.md §9.1).
///
/// `addressing` is present in data frames and data acknowledgements (`ack_format` false) and
/// absent in command frames and command acknowledgements; `emit` refuses a header where it
/// disagrees with the frame type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ApsHeader {
    pub frame_type: ApsFrameType,
    pub delivery_mode: DeliveryMode,
    /// In acknowledgements: true = ack of an APS command (no endpoint addressing).
    pub ack_format: bool,
    /// Ask the destination for an APS acknowledgement.
    pub ack_request: bool,
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub addressing: Option<ApsAddressing>,
    /// APS counter: duplicate rejection and matching acknowledgements to frames.
    pub counter: u8,
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub extended_header: Option<ExtendedHeader>,
    /// APS security (link key); the payload is then encrypted and followed by the MIC.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub aux_header: Option<AuxHeader>,
}

impl ApsHeader {
    const fn data(
        delivery_mode: DeliveryMode,
        destination: ApsDestination,
        cluster_id: ClusterId,
        src_endpoint: u8,
        counter: u8,
        ack_request: bool,
    ) -> Self {
        Self {
            frame_type: ApsFrameType::Data,
            delivery_mode,
            ack_format: false,
            ack_request,
            addressing: Some(ApsAddressing {
                destination,
                cluster_id,
                profile_id: SE_PROFILE_ID,
                src_endpoint,
            }),
            counter,
            extended_header: None,
            aux_header: None,
        }
    }

    /// An SE unicast data frame requesting an APS ack (frame control 0x40, se10.md §9.1).
    pub const fn unicast(
        dst_endpoint: u8,
        cluster_id: ClusterId,
        src_endpoint: u8,
        counter: u8,
    ) -> Self {
        let dst = ApsDestination::Endpoint(dst_endpoint);
        Self::data(DeliveryMode::Unicast, dst, cluster_id, src_endpoint, counter, true)
    }

    /// An SE data frame broadcast to `dst_endpoint` (0xFF: all endpoints); never acknowledged.
    pub const fn broadcast(
        dst_endpoint: u8,
        cluster_id: ClusterId,
        src_endpoint: u8,
        counter: u8,
    ) -> Self {
        let dst = ApsDestination::Endpoint(dst_endpoint);
        Self::data(DeliveryMode::Broadcast, dst, cluster_id, src_endpoint, counter, false)
    }

    /// An SE data frame to a group; never acknowledged.
    pub const fn group(group: u16, cluster_id: ClusterId, src_endpoint: u8, counter: u8) -> Self {
        let dst = ApsDestination::Group(group);
        Self::data(DeliveryMode::Group, dst, cluster_id, src_endpoint, counter, false)
    }

    /// The acknowledgement a receiver sends for this frame: a data ack with the endpoints
    /// swapped, or a command ack. `None` for acknowledgements and group deliveries.
    pub fn ack(&self) -> Option<Self> {
        let addressing = match (self.frame_type, self.addressing) {
            (ApsFrameType::Data, Some(a)) => match a.destination {
                ApsDestination::Endpoint(dst) => Some(ApsAddressing {
                    destination: ApsDestination::Endpoint(a.src_endpoint),
                    src_endpoint: dst,
                    ..a
                }),
                ApsDestination::Group(_) => return None,
            },
            (ApsFrameType::Command, _) => None,
            _ => return None,
        };
        Some(Self {
            frame_type: ApsFrameType::Ack,
            delivery_mode: DeliveryMode::Unicast,
            ack_format: addressing.is_none(),
            ack_request: false,
            addressing,
            counter: self.counter,
            extended_header: None,
            aux_header: None,
        })
    }

    /// Whether this frame type / ack format carries endpoint addressing.
    const fn has_addressing(frame_type: ApsFrameType, ack_format: bool) -> bool {
        match frame_type {
            ApsFrameType::Data => true,
            ApsFrameType::Ack => !ack_format,
            ApsFrameType::Command => false,
        }
    }

    /// The frame control byte this header encodes to.
    pub fn frame_control(&self) -> u8 {
        let mut v = self.frame_type as u8 | ((self.delivery_mode as u8) << fc::DELIVERY_MODE_SHIFT);
        for (flag, bit) in [
            (self.ack_format, fc::ACK_FORMAT),
            (self.aux_header.is_some(), fc::SECURITY),
            (self.ack_request, fc::ACK_REQUEST),
            (self.extended_header.is_some(), fc::EXTENDED_HEADER),
        ] {
            if flag {
                v |= bit;
            }
        }
        v
    }

    /// Reads a header at the reader's position.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.pos();
        let fc = r.u8("aps.frame_control")?;
        let bad = |field| Error::new(ErrorKind::InvalidValue, start, field);
        let frame_type = match fc & fc::FRAME_TYPE {
            0 => ApsFrameType::Data,
            1 => ApsFrameType::Command,
            2 => ApsFrameType::Ack,
            _ => return Err(bad("aps.frame_control.frame_type")),
        };
        let delivery_mode = match (fc & fc::DELIVERY_MODE) >> fc::DELIVERY_MODE_SHIFT {
            0 => DeliveryMode::Unicast,
            2 => DeliveryMode::Broadcast,
            3 => DeliveryMode::Group,
            _ => return Err(bad("aps.frame_control.delivery_mode")),
        };
        let ack_format = fc & fc::ACK_FORMAT != 0;
        let addressing = if Self::has_addressing(frame_type, ack_format) {
            let destination = if delivery_mode == DeliveryMode::Group {
                ApsDestination::Group(r.u16("aps.group_address")?)
            } else {
                ApsDestination::Endpoint(r.u8("aps.dst_endpoint")?)
            };
            Some(ApsAddressing {
                destination,
                cluster_id: ClusterId::read(r, "aps.cluster_id")?,
                profile_id: r.u16("aps.profile_id")?,
                src_endpoint: r.u8("aps.src_endpoint")?,
            })
        } else {
            None
        };
        let counter = r.u8("aps.counter")?;
        let extended_header = if fc & fc::EXTENDED_HEADER != 0 {
            Some(ExtendedHeader::read(r, frame_type)?)
        } else {
            None
        };
        let aux_header = if fc & fc::SECURITY != 0 { Some(AuxHeader::read(r)?) } else { None };
        Ok(Self {
            frame_type,
            delivery_mode,
            ack_format,
            ack_request: fc & fc::ACK_REQUEST != 0,
            addressing,
            counter,
            extended_header,
            aux_header,
        })
    }

    /// Writes the header; refuses addressing that disagrees with the frame type or delivery
    /// mode.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let bad = |field| Err(Error::new(ErrorKind::InvalidValue, w.pos(), field));
        if self.addressing.is_some() != Self::has_addressing(self.frame_type, self.ack_format) {
            return bad("aps.addressing");
        }
        if let Some(a) = self.addressing {
            let group = matches!(a.destination, ApsDestination::Group(_));
            if group != (self.delivery_mode == DeliveryMode::Group) {
                return bad("aps.destination");
            }
        }
        w.u8(self.frame_control(), "aps.frame_control")?;
        if let Some(a) = self.addressing {
            match a.destination {
                ApsDestination::Endpoint(e) => w.u8(e, "aps.dst_endpoint")?,
                ApsDestination::Group(g) => w.u16(g, "aps.group_address")?,
            }
            a.cluster_id.write(w, "aps.cluster_id")?;
            w.u16(a.profile_id, "aps.profile_id")?;
            w.u8(a.src_endpoint, "aps.src_endpoint")?;
        }
        w.u8(self.counter, "aps.counter")?;
        if let Some(x) = self.extended_header {
            x.write(w, self.frame_type)?;
        }
        if let Some(a) = &self.aux_header {
            a.write(w)?;
        }
        Ok(())
    }
}

impl Repr<'_> for ApsHeader {
    fn parse(payload: &[u8]) -> Result<Self> {
        Self::parse_header(payload)
    }

    fn buffer_len(&self) -> usize {
        let addressing = self.addressing.map_or(0, |a| match a.destination {
            ApsDestination::Endpoint(_) => 6,
            ApsDestination::Group(_) => 7,
        });
        2 + addressing
            + self.extended_header.map_or(0, ExtendedHeader::buffer_len)
            + self.aux_header.as_ref().map_or(0, Repr::buffer_len)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.emit_header(buf)
    }
}

impl LayerHeader<'_> for ApsHeader {
    const FRAME_NAME: &'static str = "ApsFrame";
    const PAYLOAD_FIELD: &'static str = "aps.payload";

    fn read_header(r: &mut Reader<'_>) -> Result<Self> {
        ApsHeader::read(r)
    }

    fn write_header(&self, w: &mut Writer<'_>) -> Result<()> {
        ApsHeader::write(self, w)
    }
}

/// An APS frame: header and borrowed payload (the ZCL frame for SE data frames; ciphertext and
/// MIC under APS security; the command id and fields for APS commands; empty for acks).
pub type ApsFrame<'a> = Layer<'a, ApsHeader>;

/// Zero-copy view of an APS frame; `new_checked` validates the whole header once.
#[derive(Debug, Clone, Copy)]
pub struct ApsFrameView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ApsFrameView<T> {
    view_common!(ApsHeader, "aps");

    pub fn frame_control(&self) -> u8 {
        self.at(0)
    }

    pub fn frame_type(&self) -> ApsFrameType {
        match self.frame_control() & fc::FRAME_TYPE {
            0 => ApsFrameType::Data,
            1 => ApsFrameType::Command,
            _ => ApsFrameType::Ack,
        }
    }

    pub fn delivery_mode(&self) -> DeliveryMode {
        match (self.frame_control() & fc::DELIVERY_MODE) >> fc::DELIVERY_MODE_SHIFT {
            0 => DeliveryMode::Unicast,
            2 => DeliveryMode::Broadcast,
            _ => DeliveryMode::Group,
        }
    }

    pub fn ack_format(&self) -> bool {
        self.frame_control() & fc::ACK_FORMAT != 0
    }

    pub fn security(&self) -> bool {
        self.frame_control() & fc::SECURITY != 0
    }

    pub fn ack_request(&self) -> bool {
        self.frame_control() & fc::ACK_REQUEST != 0
    }

    fn has_addressing(&self) -> bool {
        ApsHeader::has_addressing(self.frame_type(), self.ack_format())
    }

    fn is_group(&self) -> bool {
        self.delivery_mode() == DeliveryMode::Group
    }

    /// Offset of the cluster id (when addressed).
    fn cluster_offset(&self) -> usize {
        if self.is_group() {
            3
        } else {
            2
        }
    }

    fn counter_offset(&self) -> usize {
        if self.has_addressing() {
            self.cluster_offset() + 5
        } else {
            1
        }
    }

    pub fn dst_endpoint(&self) -> Option<u8> {
        (self.has_addressing() && !self.is_group()).then(|| self.at(1))
    }

    pub fn group_address(&self) -> Option<u16> {
        (self.has_addressing() && self.is_group()).then(|| self.at(1))
    }

    pub fn cluster_id(&self) -> Option<ClusterId> {
        self.has_addressing().then(|| self.at(self.cluster_offset()))
    }

    pub fn profile_id(&self) -> Option<u16> {
        self.has_addressing().then(|| self.at(self.cluster_offset() + 2))
    }

    pub fn src_endpoint(&self) -> Option<u8> {
        self.has_addressing().then(|| self.at(self.cluster_offset() + 4))
    }

    pub fn counter(&self) -> u8 {
        self.at(self.counter_offset())
    }

    fn header(&self) -> Option<ApsHeader> {
        ApsHeader::parse(self.buffer.as_ref()).ok()
    }

    pub fn extended_header(&self) -> Option<ExtendedHeader> {
        let bytes = self.buffer.as_ref().get(self.counter_offset() + 1..).unwrap_or(&[]);
        let present = self.frame_control() & fc::EXTENDED_HEADER != 0;
        present
            .then(|| ExtendedHeader::read(&mut Reader::new(bytes), self.frame_type()).ok())
            .flatten()
    }

    pub fn aux_header(&self) -> Option<AuxHeader> {
        self.header().and_then(|h| h.aux_header)
    }

    pub fn header_len(&self) -> usize {
        self.header().as_ref().map_or(0, Repr::buffer_len)
    }

    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::KeyIdentifier;

    /// SE unicast data frame: frame control 0x40 (data, unicast, ack request), dst endpoint 1,
    /// cluster 0x0703 (Messaging), profile 0x0109, src endpoint 2, APS counter 0x17; then ZCL.
    const SE_UNICAST: [u8; 11] = [0x40, 0x01, 0x03, 0x07, 0x09, 0x01, 0x02, 0x17, 0x09, 0x01, 0x01];

    #[test]
    fn se_unicast_layout() {
        let f = ApsFrame::parse(&SE_UNICAST).unwrap();
        assert_eq!(f.header, ApsHeader::unicast(1, ClusterId::MESSAGING, 2, 0x17));
        assert_eq!(f.header.frame_control(), 0x40);
        assert_eq!(f.header.buffer_len(), 8);
        assert_eq!(f.payload, &[0x09, 0x01, 0x01]);
        let mut out = [0u8; 11];
        assert_eq!(f.emit(&mut out).unwrap(), 11);
        assert_eq!(out, SE_UNICAST);

        let v = ApsFrameView::new_checked(&SE_UNICAST[..]).unwrap();
        assert_eq!(
            (v.frame_type(), v.delivery_mode()),
            (ApsFrameType::Data, DeliveryMode::Unicast)
        );
        assert!(v.ack_request() && !v.security() && !v.ack_format());
        assert_eq!((v.dst_endpoint(), v.group_address()), (Some(1), None));
        assert_eq!(v.cluster_id(), Some(ClusterId::MESSAGING));
        assert_eq!((v.profile_id(), v.src_endpoint()), (Some(0x0109), Some(2)));
        assert_eq!(v.counter(), 0x17);
        assert_eq!((v.extended_header(), v.aux_header()), (None, None));
        assert_eq!(v.payload(), &[0x09, 0x01, 0x01]);
    }

    #[test]
    fn group_delivery_has_group_address_and_no_dst_endpoint() {
        // fc 0x0C: data, group. Group 0x1234, cluster Price 0x0700, profile SE, src ep 1, ctr 5.
        let bytes = [0x0C, 0x34, 0x12, 0x00, 0x07, 0x09, 0x01, 0x01, 0x05];
        let h = ApsHeader::parse(&bytes).unwrap();
        assert_eq!(h, ApsHeader::group(0x1234, ClusterId::PRICE, 1, 5));
        assert_eq!(h.ack(), None);
        let mut out = [0u8; 9];
        assert_eq!(h.emit(&mut out).unwrap(), 9);
        assert_eq!(out, bytes);
        let v = ApsFrameView::new_checked(&bytes[..]).unwrap();
        assert_eq!((v.dst_endpoint(), v.group_address()), (None, Some(0x1234)));
        assert_eq!(
            (v.cluster_id(), v.src_endpoint(), v.counter()),
            (Some(ClusterId::PRICE), Some(1), 5)
        );
    }

    #[test]
    fn acks() {
        // Data ack for SE_UNICAST: fc 0x02, dst ep 2, cluster, profile, src ep 1, counter 0x17.
        let data_ack = [0x02, 0x02, 0x03, 0x07, 0x09, 0x01, 0x01, 0x17];
        let h = ApsHeader::parse(&SE_UNICAST).unwrap();
        let ack = h.ack().unwrap();
        assert_eq!(ApsHeader::parse(&data_ack).unwrap(), ack);
        let mut out = [0u8; 8];
        assert_eq!(ack.emit(&mut out).unwrap(), 8);
        assert_eq!(out, data_ack);
        // Command ack: fc 0x12 (ack, ack format), counter only.
        let cmd = ApsHeader { frame_type: ApsFrameType::Command, addressing: None, ..h };
        let cmd_ack = cmd.ack().unwrap();
        assert_eq!(cmd_ack.frame_control(), 0x12);
        assert_eq!(cmd_ack.buffer_len(), 2);
        assert_eq!(ApsHeader::parse(&[0x12, 0x17]).unwrap(), cmd_ack);
        let v = ApsFrameView::new_checked(&[0x12u8, 0x17][..]).unwrap();
        assert_eq!((v.cluster_id(), v.counter()), (None, 0x17));
        assert_eq!(cmd_ack.ack(), None);
    }

    #[test]
    fn extended_header_and_security() {
        // Fragmented data ack: fc 0x82 (ack, ext header); ext fc 1 (first), block 3, bitfield.
        let frag_ack = [0x82, 0x02, 0x03, 0x07, 0x09, 0x01, 0x01, 0x17, 0x01, 0x03, 0x07];
        let h = ApsHeader::parse(&frag_ack).unwrap();
        let x = ExtendedHeader {
            fragmentation: Fragmentation::FirstBlock,
            block_number: Some(3),
            ack_bitfield: Some(0x07),
        };
        assert_eq!(h.extended_header, Some(x));
        assert_eq!(h.buffer_len(), frag_ack.len());
        let v = ApsFrameView::new_checked(&frag_ack[..]).unwrap();
        assert_eq!(v.extended_header(), Some(x));
        // Secured, fragmented data frame: fc 0xE0, ext fc 2, block 1, aux header (data key, no
        // extended nonce), then ciphertext.
        let secured = [0xE0, 1, 0x03, 0x07, 0x09, 0x01, 2, 9, 0x02, 0x01, 0x00, 5, 0, 0, 0, 0xAB];
        let f = ApsFrame::parse(&secured).unwrap();
        assert_eq!(f.header.aux_header, Some(AuxHeader::aps(KeyIdentifier::Data, 5, None)));
        assert_eq!(
            f.header.extended_header.map(|x| (x.fragmentation, x.block_number, x.ack_bitfield)),
            Some((Fragmentation::SubsequentBlock, Some(1), None))
        );
        assert_eq!(f.payload, &[0xAB]);
        let v = ApsFrameView::new_checked(&secured[..]).unwrap();
        assert_eq!(
            (v.aux_header(), v.header_len(), v.payload()),
            (f.header.aux_header, 15, &[0xAB][..])
        );
    }

    #[test]
    fn truncation_offsets() {
        for (len, offset, field) in [
            (0, 0, "aps.frame_control"),
            (1, 1, "aps.dst_endpoint"),
            (2, 2, "aps.cluster_id"),
            (4, 4, "aps.profile_id"),
            (6, 6, "aps.src_endpoint"),
            (7, 7, "aps.counter"),
        ] {
            let e = ApsHeader::parse(&SE_UNICAST[..len]).unwrap_err();
            assert_eq!((e.offset, e.field), (offset, field), "len {len}");
            assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
        }
        let e = ApsHeader::parse(&[0x0C, 0x34]).unwrap_err();
        assert_eq!((e.offset, e.field), (1, "aps.group_address"));
        let e = ApsHeader::parse(&[0x82, 2, 3, 7, 9, 1, 1, 0x17, 0x01, 0x03]).unwrap_err();
        assert_eq!((e.offset, e.field), (10, "aps.ack_bitfield"));
    }

    #[test]
    fn refuses_reserved_values_and_inconsistent_addressing() {
        assert_eq!(ApsHeader::parse(&[0x43, 0]).unwrap_err().field, "aps.frame_control.frame_type");
        assert_eq!(
            ApsHeader::parse(&[0x44, 0]).unwrap_err().field,
            "aps.frame_control.delivery_mode"
        );
        let e = ApsHeader::parse(&[0x81, 0x17, 0x04]).unwrap_err();
        assert_eq!((e.offset, e.field), (2, "aps.extended_frame_control"));
        let mut h = ApsHeader::unicast(1, ClusterId::PRICE, 1, 0);
        h.delivery_mode = DeliveryMode::Group;
        assert_eq!(h.emit(&mut [0u8; 16]).unwrap_err().field, "aps.destination");
        h.frame_type = ApsFrameType::Command;
        assert_eq!(h.emit(&mut [0u8; 16]).unwrap_err().field, "aps.addressing");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            check_roundtrip::<ApsHeader>(&bytes);
            check_roundtrip::<ApsFrame<'_>>(&bytes);
            if let Ok(v) = ApsFrameView::new_checked(&bytes[..]) {
                let h = ApsHeader::parse(&bytes).unwrap();
                prop_assert_eq!(v.cluster_id(), h.addressing.map(|a| a.cluster_id));
                prop_assert_eq!(v.src_endpoint(), h.addressing.map(|a| a.src_endpoint));
                prop_assert_eq!(v.counter(), h.counter);
                prop_assert_eq!(v.extended_header(), h.extended_header);
                prop_assert_eq!(v.header_len(), h.buffer_len());
            }
        }
    }
}
