//! A whole Smart Energy frame on the air: 802.15.4 MAC data frame ⟶ ZigBee NWK data frame ⟶
//! APS data frame (profile 0x0109) ⟶ ZCL frame. [`SeFrameBuilder`] / [`build_se_frame`] wrap
//! the bytes of a ZCL frame (from [`crate::zcl::Frame::emit`]); [`parse_se_frame`] takes them
//! apart again.
//!
//! NWK security is a hook: give the NWK header an [`AuxHeader`] and pass an [`NwkSecurity`]
//! implementation that encrypts the NWK payload in place and appends the MIC (CCM* lives in
//! another module). Frames are built without FCS, as pcap link type 230 carries them and as
//! radios that append the FCS in hardware expect them.

use super::aps::{ApsFrameType, ApsHeader};
use super::mac::{MacFrameType, MacHeader, MAX_FRAME_LEN};
use super::nwk::{NwkFrameType, NwkHeader};
use super::{AuxHeader, PanId, ShortAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::field::Repr;
use crate::wire::{Reader, Writer};
use crate::zcl::{ClusterId, Eui64};

/// Applies NWK security to a frame being built.
pub trait NwkSecurity {
    /// `nwk_frame` starts at the NWK frame control and runs to the end of the caller's buffer.
    /// Its first `header_len` bytes are the NWK header with the auxiliary header as on the air
    /// (security level bits 0; the authenticated data uses level 5, se10.md §8.6); the next
    /// `payload_len` bytes are the plaintext NWK payload (APS + ZCL). Encrypt the payload in
    /// place, write the MIC after it and return the secured payload length (ciphertext + MIC).
    fn secure(
        &mut self,
        nwk_frame: &mut [u8],
        header_len: usize,
        payload_len: usize,
    ) -> Result<usize>;
}

/// Wraps `zcl` (a complete ZCL frame: header and payload) into APS, NWK and MAC headers and
/// writes the MAC frame (without FCS) into `buf`; returns its length.
///
/// Every layer must be a data frame. When `nwk.aux_header` is set, `security` must be given and
/// secures the NWK payload; without an auxiliary header it is not called. The frame must fit
/// in one 802.15.4 frame ([`MAX_FRAME_LEN`] bytes without FCS); longer frames are refused with
/// [`ErrorKind::BadLength`] (APS fragmentation is the caller's business).
pub fn build_se_frame(
    mac: &MacHeader,
    nwk: &NwkHeader<'_>,
    aps: &ApsHeader,
    zcl: &[u8],
    buf: &mut [u8],
    security: Option<&mut dyn NwkSecurity>,
) -> Result<usize> {
    if mac.frame_type != MacFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, 0, "mac.frame_type"));
    }
    let nwk_start = mac.buffer_len();
    if nwk.frame_type != NwkFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, nwk_start, "nwk.frame_type"));
    }
    let nwk_header_len = nwk.buffer_len();
    let aps_start = nwk_start + nwk_header_len;
    if aps.frame_type != ApsFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, aps_start, "aps.frame_type"));
    }
    let mut w = Writer::new(buf);
    mac.write(&mut w)?;
    nwk.write(&mut w)?;
    aps.write(&mut w)?;
    w.bytes(zcl, "zcl")?;
    let end = w.pos();
    let end = match (&nwk.aux_header, security) {
        (None, _) => end,
        (Some(_), None) => {
            return Err(Error::new(ErrorKind::InvalidValue, nwk_start, "nwk.security"))
        }
        (Some(_), Some(sec)) => {
            let nwk_frame = buf.get_mut(nwk_start..).unwrap_or(&mut []);
            let secured = sec
                .secure(nwk_frame, nwk_header_len, end - aps_start)
                .map_err(|e| e.shifted(nwk_start))?;
            aps_start + secured
        }
    };
    if end > MAX_FRAME_LEN {
        return Err(Error::new(ErrorKind::BadLength, MAX_FRAME_LEN, "mac_frame"));
    }
    Ok(end)
}

/// The usual shape of an SE frame, one hop, short MAC addresses: set what differs from the
/// defaults and call [`SeFrameBuilder::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeFrameBuilder {
    pub mac: MacHeader,
    pub nwk: NwkHeader<'static>,
    pub aps: ApsHeader,
}

impl SeFrameBuilder {
    /// Radius ZigBee PRO stacks commonly use (2 × nwkMaxDepth).
    pub const DEFAULT_RADIUS: u8 = 30;

    /// A unicast APS data frame (profile 0x0109, APS ack requested) from `src` to `dst`, sent
    /// directly (MAC addresses = NWK addresses), NWK route discovery enabled, no security,
    /// all sequence numbers 0.
    pub const fn unicast(
        pan_id: PanId,
        src: ShortAddr,
        src_endpoint: u8,
        dst: ShortAddr,
        dst_endpoint: u8,
        cluster_id: ClusterId,
    ) -> Self {
        Self {
            mac: MacHeader::data(0, pan_id, dst, src),
            nwk: NwkHeader::data(dst, src, Self::DEFAULT_RADIUS, 0, None),
            aps: ApsHeader::unicast(dst_endpoint, cluster_id, src_endpoint, 0),
        }
    }

    /// Sets the MAC sequence number, the NWK sequence number and the APS counter.
    #[must_use]
    pub const fn sequence(mut self, mac: u8, nwk: u8, aps_counter: u8) -> Self {
        self.mac.sequence_number = mac;
        self.nwk.sequence_number = nwk;
        self.aps.counter = aps_counter;
        self
    }

    /// Carries the sender's EUI-64 in the NWK header.
    #[must_use]
    pub const fn src_ieee(mut self, ieee: Eui64) -> Self {
        self.nwk.src_ieee = Some(ieee);
        self
    }

    /// Marks the NWK frame as secured with `aux`; build with [`SeFrameBuilder::build_secured`].
    #[must_use]
    pub const fn nwk_security(mut self, aux: AuxHeader) -> Self {
        self.nwk.aux_header = Some(aux);
        self
    }

    /// Builds an unsecured frame around `zcl` (see [`build_se_frame`]).
    pub fn build(&self, zcl: &[u8], buf: &mut [u8]) -> Result<usize> {
        build_se_frame(&self.mac, &self.nwk, &self.aps, zcl, buf, None)
    }

    /// Builds a frame whose NWK payload `security` encrypts.
    pub fn build_secured(
        &self,
        zcl: &[u8],
        buf: &mut [u8],
        security: &mut dyn NwkSecurity,
    ) -> Result<usize> {
        build_se_frame(&self.mac, &self.nwk, &self.aps, zcl, buf, Some(security))
    }
}

/// An SE frame taken apart by [`parse_se_frame`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SeFrame<'a> {
    pub mac: MacHeader,
    pub nwk: NwkHeader<'a>,
    /// The NWK payload as on the air: the APS frame, or ciphertext + MIC under NWK security.
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serialize_payload"))]
    pub nwk_payload: &'a [u8],
    /// The APS header; `None` when the NWK payload is encrypted.
    pub aps: Option<ApsHeader>,
    /// The APS payload (empty when `aps` is `None`): the ZCL frame, or ciphertext + MIC under
    /// APS security.
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serialize_payload"))]
    pub aps_payload: &'a [u8],
}

impl<'a> SeFrame<'a> {
    /// The ZCL frame (header and payload), if it is readable: no NWK or APS security and an
    /// APS data frame.
    pub fn zcl(&self) -> Option<&'a [u8]> {
        self.aps
            .filter(|a| a.frame_type == ApsFrameType::Data && a.aux_header.is_none())
            .map(|_| self.aps_payload)
    }

    /// The cluster the ZCL frame belongs to (for [`crate::zcl::Frame::parse`]).
    pub fn cluster_id(&self) -> Option<ClusterId> {
        self.aps.and_then(|a| a.addressing).map(|a| a.cluster_id)
    }
}

/// Takes a MAC frame (without FCS) carrying a NWK data frame apart. The APS header is parsed
/// only when the NWK layer is unsecured. Error offsets count from the start of `frame`.
pub fn parse_se_frame(frame: &[u8]) -> Result<SeFrame<'_>> {
    let mut r = Reader::new(frame);
    let mac = MacHeader::read(&mut r)?;
    if mac.frame_type != MacFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, 0, "mac.frame_type"));
    }
    let nwk_start = r.pos();
    let nwk = NwkHeader::read(&mut r)?;
    if nwk.frame_type != NwkFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, nwk_start, "nwk.frame_type"));
    }
    let nwk_payload = r.rest();
    let (aps, aps_payload) = if nwk.aux_header.is_none() {
        (Some(ApsHeader::read(&mut r)?), r.take_rest())
    } else {
        (None, &[][..])
    };
    Ok(SeFrame { mac, nwk, nwk_payload, aps, aps_payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{messaging, ClusterCommand};
    use crate::zcl::{Frame, Payload, UtcTime};

    /// MessageConfirmation from a display (0x1A2B, endpoint 1) to the ESI (0x0000, endpoint 9)
    /// on PAN 0xBEEF, written out by hand from the layout tables.
    const CONFIRMATION: [u8; 36] = [
        // MAC: fc 0x8861, seq 0x10, dst PAN 0xBEEF, dst 0x0000, src 0x1A2B
        0x61, 0x88, 0x10, 0xEF, 0xBE, 0x00, 0x00, 0x2B, 0x1A,
        // NWK: fc 0x0048, dst 0x0000, src 0x1A2B, radius 30, seq 0x20
        0x48, 0x00, 0x00, 0x00, 0x2B, 0x1A, 0x1E, 0x20,
        // APS: fc 0x40, dst ep 9, cluster 0x0703, profile 0x0109, src ep 1, counter 0x30
        0x40, 0x09, 0x03, 0x07, 0x09, 0x01, 0x01, 0x30,
        // ZCL: fc 0x01 (cluster, c→s), tsn 0x40, cmd 0x01; id 0x11223344, time 0x01020304
        0x01, 0x40, 0x01, 0x44, 0x33, 0x22, 0x11, 0x04, 0x03, 0x02, 0x01,
    ];

    fn confirmation_builder() -> SeFrameBuilder {
        SeFrameBuilder::unicast(
            PanId(0xBEEF),
            ShortAddr(0x1A2B),
            1,
            ShortAddr::COORDINATOR,
            9,
            ClusterId::MESSAGING,
        )
        .sequence(0x10, 0x20, 0x30)
    }

    #[test]
    fn builds_a_message_confirmation_byte_for_byte() {
        let cmd = messaging::ClientCommand::MessageConfirmation(messaging::MessageConfirmation {
            message_id: 0x1122_3344,
            confirmation_time: UtcTime(0x0102_0304),
            message_confirmation_control: None,
            message_response: None,
        });
        let zcl = Frame::cluster(ClusterCommand::MessagingClient(cmd), 0x40, false);
        let mut zcl_buf = [0u8; 64];
        let zcl_len = zcl.emit(&mut zcl_buf).unwrap();
        let mut buf = [0u8; 127];
        let n = confirmation_builder().build(&zcl_buf[..zcl_len], &mut buf).unwrap();
        assert_eq!(&buf[..n], &CONFIRMATION);
    }

    #[test]
    fn parses_back_to_the_zcl_command() {
        let f = parse_se_frame(&CONFIRMATION).unwrap();
        let b = confirmation_builder();
        assert_eq!((f.mac, &f.nwk, f.aps), (b.mac, &b.nwk, Some(b.aps)));
        assert_eq!(f.cluster_id(), Some(ClusterId::MESSAGING));
        let zcl = Frame::parse(f.cluster_id().unwrap(), f.zcl().unwrap()).unwrap();
        let Payload::Cluster(ClusterCommand::MessagingClient(
            messaging::ClientCommand::MessageConfirmation(c),
        )) = zcl.payload
        else {
            panic!("not a MessageConfirmation: {zcl:?}");
        };
        assert_eq!(c.message_id, 0x1122_3344);
        // Offsets of errors count from the start of the MAC frame.
        let e = parse_se_frame(&CONFIRMATION[..20]).unwrap_err();
        assert_eq!((e.offset, e.field), (19, "aps.cluster_id"));
    }

    /// A stand-in for CCM*: XORs the payload and appends a 4-byte "MIC" of the header length.
    struct FakeSecurity;

    impl NwkSecurity for FakeSecurity {
        fn secure(&mut self, f: &mut [u8], header_len: usize, payload_len: usize) -> Result<usize> {
            let mut w = Writer::new(f.get_mut(header_len + payload_len..).unwrap());
            w.u32(header_len as u32, "mic")?;
            for b in &mut f[header_len..header_len + payload_len] {
                *b ^= 0xFF;
            }
            Ok(payload_len + 4)
        }
    }

    #[test]
    fn nwk_security_hook() {
        let aux = AuxHeader::nwk(7, Eui64(0x000D_6F00_0000_0001), 0);
        let b = confirmation_builder().nwk_security(aux);
        let zcl = [0x01, 0x40, 0x00];
        let mut buf = [0u8; 127];
        assert_eq!(b.build(&zcl, &mut buf).unwrap_err().field, "nwk.security");
        let n = b.build_secured(&zcl, &mut buf, &mut FakeSecurity).unwrap();
        // MAC 9 + NWK 8 + aux 14 + APS 8 + ZCL 3 + MIC 4.
        assert_eq!(n, 46);
        let f = parse_se_frame(&buf[..n]).unwrap();
        assert_eq!(f.nwk.aux_header, Some(aux));
        assert_eq!((f.aps, f.zcl()), (None, None));
        assert_eq!(f.nwk_payload.len(), 8 + 3 + 4);
        assert_eq!(f.nwk_payload[0], 0x40 ^ 0xFF);
        assert_eq!(f.nwk_payload[11..], 22u32.to_le_bytes());
    }

    #[test]
    fn refuses_oversized_and_non_data_frames() {
        let b = confirmation_builder();
        let mut buf = [0u8; 200];
        let big = [0u8; 101]; // 9 + 8 + 8 + 101 = 126 > 125
        assert_eq!(b.build(&big, &mut buf).unwrap_err().kind, ErrorKind::BadLength);
        let mut cmd = b.clone();
        cmd.aps.frame_type = ApsFrameType::Command;
        assert_eq!(cmd.build(&[0], &mut buf).unwrap_err().field, "aps.frame_type");
        let mut beacon = b.clone();
        beacon.mac.frame_type = MacFrameType::Beacon;
        assert_eq!(beacon.build(&[0], &mut buf).unwrap_err().field, "mac.frame_type");
        assert!(b.build(&[0; 3], &mut buf[..27]).is_err());
        assert_eq!(b.build(&[0; 3], &mut buf[..28]), Ok(28));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics_and_rebuilds(bytes in proptest::collection::vec(any::<u8>(), 0..127)) {
            if let Ok(f) = parse_se_frame(&bytes) {
                if let (Some(aps), Some(zcl)) = (f.aps, f.zcl()) {
                    let mut out = [0u8; 256];
                    let built = build_se_frame(&f.mac, &f.nwk, &aps, zcl, &mut out, None);
                    if let Ok(n) = built {
                        prop_assert_eq!(&out[..n], &bytes[..]);
                    }
                }
            }
        }
    }
}
