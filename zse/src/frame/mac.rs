//! IEEE 802.15.4-2006 MAC frames (IEEE 802.15.4-2006 §7.2.1): frame control, sequence number,
//! addressing fields and the borrowed MAC payload. ZigBee sends every NWK frame in a MAC data
//! frame with short addresses and PAN ID compression ([`MacHeader::data`]).
//!
//! MAC-layer security is not used by ZigBee (it secures at NWK and APS), so a frame with the
//! security-enabled bit is refused with [`ErrorKind::InvalidValue`] on field
//! [`SECURITY_ENABLED_FIELD`]. The FCS is not part of [`MacFrame`]: captures use pcap link type
//! 230 (no FCS) and radios append it in hardware; [`fcs`], [`append_fcs`] and [`strip_fcs`]
//! compute and check it when needed.

use super::layer::{view_common, Layer, LayerHeader};
use super::{PanId, ShortAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::field::{Field, Repr};
use crate::wire::{Reader, Writer};
use crate::zcl::Eui64;

/// aMaxPHYPacketSize: the largest PSDU (MAC frame including its 2-byte FCS).
pub const MAX_PHY_PACKET_SIZE: usize = 127;
/// Length of the frame check sequence.
pub const FCS_LEN: usize = 2;
/// The largest MAC frame without its FCS (what pcap link type 230 carries).
pub const MAX_FRAME_LEN: usize = MAX_PHY_PACKET_SIZE - FCS_LEN;

/// The `field` of the error returned for a frame with the security-enabled bit set.
pub const SECURITY_ENABLED_FIELD: &str = "mac.frame_control.security_enabled";

/// Frame control bits (IEEE 802.15.4-2006 §7.2.1.1).
mod fc {
    pub const FRAME_TYPE: u16 = 0x0007;
    pub const SECURITY_ENABLED: u16 = 0x0008;
    pub const FRAME_PENDING: u16 = 0x0010;
    pub const ACK_REQUEST: u16 = 0x0020;
    pub const PAN_ID_COMPRESSION: u16 = 0x0040;
    /// Bits 7–9: reserved in 2006; in 802.15.4-2015 bits 8 and 9 (IE present, sequence number
    /// suppression) change the layout, so they are refused rather than ignored.
    pub const RESERVED: u16 = 0x0380;
    pub const DST_MODE_SHIFT: u16 = 10;
    pub const VERSION_SHIFT: u16 = 12;
    pub const SRC_MODE_SHIFT: u16 = 14;
    /// Addressing modes (2 bits each).
    pub const MODE_NONE: u16 = 0;
    pub const MODE_SHORT: u16 = 2;
    pub const MODE_EXTENDED: u16 = 3;
}

/// Frame type, frame-control bits 0–2. Values 4–7 are reserved in 802.15.4-2006 and refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MacFrameType {
    Beacon = 0,
    Data = 1,
    Ack = 2,
    Command = 3,
}

/// Frame version, frame-control bits 12–13. 802.15.4-2015 frames (2) use other addressing
/// rules and are refused, as is the reserved value 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FrameVersion {
    /// 802.15.4-2003 compatible; what ZigBee stacks send for unsecured MAC frames.
    Ieee2003 = 0,
    Ieee2006 = 1,
}

/// A MAC address: short (16-bit) or extended (EUI-64, little-endian on the air).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MacAddress {
    Short(ShortAddr),
    Extended(Eui64),
}

impl MacAddress {
    const fn mode(self) -> u16 {
        match self {
            Self::Short(_) => fc::MODE_SHORT,
            Self::Extended(_) => fc::MODE_EXTENDED,
        }
    }

    const fn len(self) -> usize {
        match self {
            Self::Short(_) => 2,
            Self::Extended(_) => 8,
        }
    }

    fn read(r: &mut Reader<'_>, mode: u16, field: &'static str) -> Result<Option<Self>> {
        Ok(match mode {
            fc::MODE_SHORT => Some(Self::Short(ShortAddr::read(r, field)?)),
            fc::MODE_EXTENDED => Some(Self::Extended(Eui64::read(r, field)?)),
            _ => None,
        })
    }

    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        match self {
            Self::Short(a) => a.write(w, field),
            Self::Extended(a) => a.write(w, field),
        }
    }
}

/// Where each addressing field sits, derived from a frame control value already checked by
/// [`check_frame_control`].
#[derive(Debug, Clone, Copy)]
struct Layout {
    dst_mode: u16,
    src_mode: u16,
    src_pan: bool,
}

impl Layout {
    const fn of(fc: u16) -> Self {
        let dst_mode = (fc >> fc::DST_MODE_SHIFT) & 3;
        let src_mode = (fc >> fc::SRC_MODE_SHIFT) & 3;
        Self { dst_mode, src_mode, src_pan: src_mode != 0 && fc & fc::PAN_ID_COMPRESSION == 0 }
    }

    const fn addr_len(mode: u16) -> usize {
        match mode {
            fc::MODE_SHORT => 2,
            fc::MODE_EXTENDED => 8,
            _ => 0,
        }
    }

    /// Offset of the destination PAN id (present iff a destination address is).
    const DST_PAN: usize = 3;

    const fn dst_addr(self) -> usize {
        Self::DST_PAN + if self.dst_mode != 0 { 2 } else { 0 }
    }

    const fn src_pan(self) -> usize {
        self.dst_addr() + Self::addr_len(self.dst_mode)
    }

    const fn src_addr(self) -> usize {
        self.src_pan() + if self.src_pan { 2 } else { 0 }
    }

    const fn header_len(self) -> usize {
        self.src_addr() + Self::addr_len(self.src_mode)
    }
}

/// Checks the frame control field of a received frame; the error names the offending subfield.
fn check_frame_control(fc: u16) -> core::result::Result<(), &'static str> {
    let dst_mode = (fc >> fc::DST_MODE_SHIFT) & 3;
    let src_mode = (fc >> fc::SRC_MODE_SHIFT) & 3;
    if fc & fc::FRAME_TYPE > 3 {
        Err("mac.frame_control.frame_type")
    } else if fc & fc::SECURITY_ENABLED != 0 {
        Err(SECURITY_ENABLED_FIELD)
    } else if fc & fc::RESERVED != 0 {
        Err("mac.frame_control.reserved")
    } else if (fc >> fc::VERSION_SHIFT) & 3 > 1 {
        Err("mac.frame_control.frame_version")
    } else if dst_mode == 1 {
        Err("mac.frame_control.dst_addressing_mode")
    } else if src_mode == 1 {
        Err("mac.frame_control.src_addressing_mode")
    } else if fc & fc::PAN_ID_COMPRESSION != 0
        && (dst_mode == fc::MODE_NONE || src_mode == fc::MODE_NONE)
    {
        // 802.15.4-2006 §7.2.1.1.5: compression only when both addresses are present.
        Err("mac.frame_control.pan_id_compression")
    } else {
        Ok(())
    }
}

/// The MAC header of a frame (IEEE 802.15.4-2006 §7.2.1): everything before the payload.
///
/// Addressing modes are not stored: they follow from `dst_addr`/`src_addr`. A PAN id is present
/// with its address, except the source PAN id under PAN ID compression (it equals the
/// destination's then, see [`MacHeader::src_pan_id_or_dst`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MacHeader {
    pub frame_type: MacFrameType,
    /// The sender has more data for the recipient (indirect transmission).
    pub frame_pending: bool,
    pub ack_request: bool,
    /// Source PAN id omitted because it equals the destination PAN id.
    pub pan_id_compression: bool,
    pub frame_version: FrameVersion,
    pub sequence_number: u8,
    pub dst_pan_id: Option<PanId>,
    pub dst_addr: Option<MacAddress>,
    pub src_pan_id: Option<PanId>,
    pub src_addr: Option<MacAddress>,
}

impl MacHeader {
    /// An intra-PAN data frame between short addresses, as ZigBee sends every NWK frame:
    /// frame version 2003, PAN ID compression, ack requested unless `dst` is the broadcast
    /// address (802.15.4 never acknowledges broadcasts).
    pub const fn data(sequence_number: u8, pan_id: PanId, dst: ShortAddr, src: ShortAddr) -> Self {
        Self {
            frame_type: MacFrameType::Data,
            frame_pending: false,
            ack_request: dst.0 != ShortAddr::BROADCAST.0,
            pan_id_compression: true,
            frame_version: FrameVersion::Ieee2003,
            sequence_number,
            dst_pan_id: Some(pan_id),
            dst_addr: Some(MacAddress::Short(dst)),
            src_pan_id: None,
            src_addr: Some(MacAddress::Short(src)),
        }
    }

    /// The source PAN id, taking PAN ID compression into account.
    pub fn src_pan_id_or_dst(&self) -> Option<PanId> {
        if self.pan_id_compression {
            self.dst_pan_id
        } else {
            self.src_pan_id
        }
    }

    /// The frame control field this header encodes to.
    pub fn frame_control(&self) -> u16 {
        let mode = |a: Option<MacAddress>| a.map_or(fc::MODE_NONE, MacAddress::mode);
        let mut v = self.frame_type as u16
            | (mode(self.dst_addr) << fc::DST_MODE_SHIFT)
            | ((self.frame_version as u16) << fc::VERSION_SHIFT)
            | (mode(self.src_addr) << fc::SRC_MODE_SHIFT);
        for (flag, bit) in [
            (self.frame_pending, fc::FRAME_PENDING),
            (self.ack_request, fc::ACK_REQUEST),
            (self.pan_id_compression, fc::PAN_ID_COMPRESSION),
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
        let fc = r.u16("mac.frame_control")?;
        check_frame_control(fc).map_err(|f| Error::new(ErrorKind::InvalidValue, start, f))?;
        let layout = Layout::of(fc);
        let sequence_number = r.u8("mac.sequence_number")?;
        let dst_pan_id = match layout.dst_mode {
            fc::MODE_NONE => None,
            _ => Some(PanId::read(r, "mac.dst_pan_id")?),
        };
        let dst_addr = MacAddress::read(r, layout.dst_mode, "mac.dst_addr")?;
        let src_pan_id =
            if layout.src_pan { Some(PanId::read(r, "mac.src_pan_id")?) } else { None };
        let src_addr = MacAddress::read(r, layout.src_mode, "mac.src_addr")?;
        Ok(Self {
            frame_type: match fc & fc::FRAME_TYPE {
                0 => MacFrameType::Beacon,
                1 => MacFrameType::Data,
                2 => MacFrameType::Ack,
                _ => MacFrameType::Command,
            },
            frame_pending: fc & fc::FRAME_PENDING != 0,
            ack_request: fc & fc::ACK_REQUEST != 0,
            pan_id_compression: fc & fc::PAN_ID_COMPRESSION != 0,
            frame_version: if fc & (3 << fc::VERSION_SHIFT) == 0 {
                FrameVersion::Ieee2003
            } else {
                FrameVersion::Ieee2006
            },
            sequence_number,
            dst_pan_id,
            dst_addr,
            src_pan_id,
            src_addr,
        })
    }

    /// Writes the header; refuses PAN ids that disagree with the addresses.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let bad = |field| Err(Error::new(ErrorKind::InvalidValue, w.pos(), field));
        if self.dst_pan_id.is_some() != self.dst_addr.is_some() {
            return bad("mac.dst_pan_id");
        }
        if self.pan_id_compression && (self.dst_addr.is_none() || self.src_addr.is_none()) {
            return bad("mac.pan_id_compression");
        }
        if self.src_pan_id.is_some() != (self.src_addr.is_some() && !self.pan_id_compression) {
            return bad("mac.src_pan_id");
        }
        w.u16(self.frame_control(), "mac.frame_control")?;
        w.u8(self.sequence_number, "mac.sequence_number")?;
        if let Some(p) = self.dst_pan_id {
            p.write(w, "mac.dst_pan_id")?;
        }
        if let Some(a) = self.dst_addr {
            a.write(w, "mac.dst_addr")?;
        }
        if let Some(p) = self.src_pan_id {
            p.write(w, "mac.src_pan_id")?;
        }
        if let Some(a) = self.src_addr {
            a.write(w, "mac.src_addr")?;
        }
        Ok(())
    }
}

impl Repr<'_> for MacHeader {
    fn parse(payload: &[u8]) -> Result<Self> {
        Self::parse_header(payload)
    }

    fn buffer_len(&self) -> usize {
        let pan = |p: Option<PanId>| if p.is_some() { 2 } else { 0 };
        let addr = |a: Option<MacAddress>| a.map_or(0, MacAddress::len);
        3 + pan(self.dst_pan_id) + addr(self.dst_addr) + pan(self.src_pan_id) + addr(self.src_addr)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.emit_header(buf)
    }
}

impl LayerHeader<'_> for MacHeader {
    const FRAME_NAME: &'static str = "MacFrame";
    const PAYLOAD_FIELD: &'static str = "mac.payload";

    fn read_header(r: &mut Reader<'_>) -> Result<Self> {
        MacHeader::read(r)
    }

    fn write_header(&self, w: &mut Writer<'_>) -> Result<()> {
        MacHeader::write(self, w)
    }
}

/// A MAC frame without its FCS: header and borrowed payload (the NWK frame, for data frames).
pub type MacFrame<'a> = Layer<'a, MacHeader>;

/// Zero-copy view of a MAC frame (without FCS). `new_checked` validates the frame control
/// field and the header length once; accessors then read exactly their bytes.
#[derive(Debug, Clone, Copy)]
pub struct MacFrameView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MacFrameView<T> {
    view_common!(MacHeader, "mac");

    fn layout(&self) -> Layout {
        Layout::of(self.frame_control())
    }

    fn addr_at(&self, offset: usize, mode: u16) -> Option<MacAddress> {
        let bytes = self.buffer.as_ref().get(offset..).unwrap_or(&[]);
        MacAddress::read(&mut Reader::new(bytes), mode, "mac").ok().flatten()
    }

    pub fn frame_control(&self) -> u16 {
        self.at(0)
    }

    pub fn frame_type(&self) -> MacFrameType {
        match self.frame_control() & fc::FRAME_TYPE {
            0 => MacFrameType::Beacon,
            1 => MacFrameType::Data,
            2 => MacFrameType::Ack,
            _ => MacFrameType::Command,
        }
    }

    pub fn frame_pending(&self) -> bool {
        self.frame_control() & fc::FRAME_PENDING != 0
    }

    pub fn ack_request(&self) -> bool {
        self.frame_control() & fc::ACK_REQUEST != 0
    }

    pub fn pan_id_compression(&self) -> bool {
        self.frame_control() & fc::PAN_ID_COMPRESSION != 0
    }

    pub fn sequence_number(&self) -> u8 {
        self.at(2)
    }

    pub fn dst_pan_id(&self) -> Option<PanId> {
        (self.layout().dst_mode != fc::MODE_NONE).then(|| self.at(Layout::DST_PAN))
    }

    pub fn dst_addr(&self) -> Option<MacAddress> {
        let l = self.layout();
        self.addr_at(l.dst_addr(), l.dst_mode)
    }

    pub fn src_pan_id(&self) -> Option<PanId> {
        let l = self.layout();
        l.src_pan.then(|| self.at(l.src_pan()))
    }

    pub fn src_addr(&self) -> Option<MacAddress> {
        let l = self.layout();
        self.addr_at(l.src_addr(), l.src_mode)
    }

    pub fn header_len(&self) -> usize {
        self.layout().header_len()
    }

    /// The MAC payload (for data frames: the NWK frame).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
}

/// The 802.15.4 frame check sequence: ITU-T CRC-16 as 802.15.4-2006 §7.2.1.9 specifies it
/// (polynomial x¹⁶+x¹²+x⁵+1, reflected, initial value 0, no final XOR; the catalogue name is
/// CRC-16/KERMIT). It is sent least-significant byte first.
pub fn fcs(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (0..8).fold(crc ^ u16::from(b), |c, _| if c & 1 != 0 { (c >> 1) ^ 0x8408 } else { c >> 1 })
    })
}

/// Appends the FCS after the `len`-byte frame at the start of `buf`; returns the new length.
pub fn append_fcs(buf: &mut [u8], len: usize) -> Result<usize> {
    let frame = buf.get(..len).ok_or(Error::new(ErrorKind::BadLength, len, "mac.fcs"))?;
    let crc = fcs(frame);
    let tail = buf.get_mut(len..).unwrap_or(&mut []);
    Writer::new(tail).u16(crc, "mac.fcs").map_err(|e| e.shifted(len))?;
    Ok(len + FCS_LEN)
}

/// Checks and removes the FCS at the end of `frame`; `InvalidValue` if it does not match.
pub fn strip_fcs(frame: &[u8]) -> Result<&[u8]> {
    let len = frame.len();
    let body_len = len.checked_sub(FCS_LEN).ok_or_else(|| {
        Error::new(ErrorKind::Truncated { needed: FCS_LEN.saturating_sub(len) }, len, "mac.fcs")
    })?;
    let (body, tail) = frame.split_at(body_len);
    let sent = Reader::new(tail).u16("mac.fcs")?;
    if sent == fcs(body) {
        Ok(body)
    } else {
        Err(Error::new(ErrorKind::InvalidValue, body_len, "mac.fcs"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typical ZigBee unicast data frame header: data, ack request, PAN ID compression,
    /// short destination and source, frame version 2003 → frame control 0x8861.
    const ZIGBEE_DATA: [u8; 12] =
        [0x61, 0x88, 0x2A, 0x34, 0x12, 0x00, 0x00, 0x01, 0x00, 0xAA, 0xBB, 0xCC];

    #[test]
    fn zigbee_data_frame_layout() {
        let f = MacFrame::parse(&ZIGBEE_DATA).unwrap();
        let h = f.header;
        assert_eq!(h, MacHeader::data(0x2A, PanId(0x1234), ShortAddr(0x0000), ShortAddr(0x0001)));
        assert_eq!(h.frame_control(), 0x8861);
        assert_eq!(h.src_pan_id_or_dst(), Some(PanId(0x1234)));
        assert_eq!(h.buffer_len(), 9);
        assert_eq!(f.payload, &[0xAA, 0xBB, 0xCC]);
        let mut out = [0u8; 12];
        assert_eq!(f.emit(&mut out).unwrap(), 12);
        assert_eq!(out, ZIGBEE_DATA);

        let v = MacFrameView::new_checked(&ZIGBEE_DATA[..]).unwrap();
        assert_eq!(v.frame_type(), MacFrameType::Data);
        assert!(v.ack_request() && v.pan_id_compression() && !v.frame_pending());
        assert_eq!(v.sequence_number(), 0x2A);
        assert_eq!(v.dst_pan_id(), Some(PanId(0x1234)));
        assert_eq!(v.dst_addr(), Some(MacAddress::Short(ShortAddr(0))));
        assert_eq!(v.src_pan_id(), None);
        assert_eq!(v.src_addr(), Some(MacAddress::Short(ShortAddr(1))));
        assert_eq!(v.payload(), &[0xAA, 0xBB, 0xCC]);
    }

    #[test]
    fn broadcast_data_has_no_ack_request() {
        let h = MacHeader::data(0, PanId(0x1234), ShortAddr::BROADCAST, ShortAddr(0));
        assert_eq!(h.frame_control(), 0x8841);
    }

    #[test]
    fn extended_source_with_separate_pan_ids() {
        // Data, 2006, no compression: dst short 0xFFFF on PAN 0xFFFF, src extended on PAN 0x1234.
        // fc = 0x0001 | dst short (2<<10) | version 1 (1<<12) | src ext (3<<14) = 0xD801.
        let bytes = [0x01, 0xD8, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x34, 0x12, 8, 7, 6, 5, 4, 3, 2, 1];
        let h = MacHeader::parse(&bytes).unwrap();
        assert_eq!(h.frame_version, FrameVersion::Ieee2006);
        assert_eq!(h.dst_pan_id, Some(PanId::BROADCAST));
        assert_eq!(h.src_pan_id, Some(PanId(0x1234)));
        assert_eq!(h.src_addr, Some(MacAddress::Extended(Eui64(0x0102_0304_0506_0708))));
        assert_eq!(h.buffer_len(), bytes.len());
        let v = MacFrameView::new_checked(&bytes[..]).unwrap();
        assert_eq!(v.src_pan_id(), Some(PanId(0x1234)));
        assert_eq!(v.src_addr(), h.src_addr);
        assert_eq!(v.header_len(), 17);
    }

    #[test]
    fn ack_frame_is_three_bytes() {
        let h = MacHeader::parse(&[0x02, 0x00, 0x07]).unwrap();
        assert_eq!((h.frame_type, h.sequence_number, h.dst_addr), (MacFrameType::Ack, 7, None));
        assert_eq!(h.buffer_len(), 3);
    }

    #[test]
    fn truncation_offsets() {
        for (len, offset, field) in [
            (0, 0, "mac.frame_control"),
            (1, 0, "mac.frame_control"),
            (2, 2, "mac.sequence_number"),
            (3, 3, "mac.dst_pan_id"),
            (4, 3, "mac.dst_pan_id"),
            (5, 5, "mac.dst_addr"),
            (7, 7, "mac.src_addr"),
            (8, 7, "mac.src_addr"),
        ] {
            let e = MacHeader::parse(&ZIGBEE_DATA[..len]).unwrap_err();
            assert_eq!((e.offset, e.field), (offset, field), "len {len}");
            assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
        }
    }

    #[test]
    fn refuses_security_reserved_and_bad_modes() {
        let refused = |fc: u16| MacHeader::parse(&[fc as u8, (fc >> 8) as u8, 0, 0, 0, 0, 0, 0, 0]);
        let e = refused(0x8869).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::InvalidValue, 0, SECURITY_ENABLED_FIELD)
        );
        assert_eq!(refused(0x8865).unwrap_err().field, "mac.frame_control.frame_type");
        assert_eq!(refused(0x8961).unwrap_err().field, "mac.frame_control.reserved");
        assert_eq!(refused(0xA861).unwrap_err().field, "mac.frame_control.frame_version");
        assert_eq!(refused(0x8461).unwrap_err().field, "mac.frame_control.dst_addressing_mode");
        assert_eq!(refused(0x0841).unwrap_err().field, "mac.frame_control.pan_id_compression");
        assert!(MacFrameView::new_checked(&[0x69u8, 0x88, 0, 0, 0, 0, 0, 0, 0][..]).is_err());
    }

    #[test]
    fn emit_refuses_inconsistent_pan_ids() {
        let mut h = MacHeader::data(0, PanId(1), ShortAddr(2), ShortAddr(3));
        h.src_pan_id = Some(PanId(1));
        assert_eq!(h.emit(&mut [0u8; 16]).unwrap_err().field, "mac.src_pan_id");
        h.src_pan_id = None;
        h.dst_pan_id = None;
        assert_eq!(h.emit(&mut [0u8; 16]).unwrap_err().field, "mac.dst_pan_id");
    }

    #[test]
    fn fcs_check_value_and_frame() {
        // CRC-16/KERMIT catalogue check value.
        assert_eq!(fcs(b"123456789"), 0x2189);
        let mut buf = [0u8; 16];
        buf[..3].copy_from_slice(&[0x02, 0x00, 0x07]);
        let n = append_fcs(&mut buf, 3).unwrap();
        assert_eq!(n, 5);
        assert_eq!(strip_fcs(&buf[..n]).unwrap(), &[0x02, 0x00, 0x07]);
        buf[4] ^= 1;
        assert_eq!(strip_fcs(&buf[..n]).unwrap_err().kind, ErrorKind::InvalidValue);
        assert!(strip_fcs(&[1]).is_err());
        assert!(append_fcs(&mut buf[..4], 3).is_err());
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
            check_roundtrip::<MacHeader>(&bytes);
            check_roundtrip::<MacFrame<'_>>(&bytes);
            if let Ok(v) = MacFrameView::new_checked(&bytes[..]) {
                let h = MacHeader::parse(&bytes).unwrap();
                prop_assert_eq!(v.dst_addr(), h.dst_addr);
                prop_assert_eq!(v.src_addr(), h.src_addr);
                prop_assert_eq!(v.src_pan_id(), h.src_pan_id);
                prop_assert_eq!(v.header_len(), h.buffer_len());
            }
        }

        /// Valid-looking data frames (fc low byte 0x41/0x61 etc.) so the round trip is not
        /// dominated by rejected frame controls.
        #[test]
        fn roundtrip_data(fc_hi in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 0..30)) {
            let mut bytes = rest;
            bytes.insert(0, fc_hi & 0xCC);
            bytes.insert(0, 0x41);
            check_roundtrip::<MacFrame<'_>>(&bytes);
        }
    }
}
