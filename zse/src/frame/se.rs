//! A whole Smart Energy frame on the air: 802.15.4 MAC data frame ⟶ ZigBee NWK data frame ⟶
//! APS data frame (profile 0x0109) ⟶ ZCL frame. [`SeFrameBuilder`] / [`build_se_frame`] wrap
//! the bytes of a ZCL frame (from [`crate::zcl::Frame::emit`]); [`parse_se_frame`] takes them
//! apart again.
//!
//! Security (se10.md §8.4–§8.6), in place and without allocating:
//! * [`build_secured_se_frame`] / [`SeFrameBuilder::build_encrypted`] secure the layers that
//!   carry an auxiliary header with real CCM*: APS with a link key (or a key derived from it),
//!   then NWK with the network key ([`FrameKeys`]).
//! * [`parse_secured_se_frame`] undoes both layers with keys from a [`KeyStore`], checks the
//!   MICs and, when given [`CounterCheck`]s, the frame counters; the ZCL frame is then plaintext.
//! * [`build_se_frame`] keeps a hook for NWK security ([`NwkSecurity`]; [`NwkKey`] is the CCM*
//!   one), and writes APS auxiliary headers as given (the caller supplies the APS payload as it
//!   goes on the air).
//!
//! Frames are built without FCS, as pcap link type 230 carries them and as radios that append
//! the FCS in hardware expect them.

use super::aps::{ApsFrameType, ApsHeader};
use super::mac::{MacFrameType, MacHeader, MAX_FRAME_LEN};
use super::nwk::{NwkFrameType, NwkHeader};
use super::secure::{
    aps_key, nwk_layout, open_checked, CounterCheck, FrameSecurityError, KeyStore,
};
use super::{AuxHeader, KeyIdentifier, PanId, ShortAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::field::Repr;
use crate::security::Key128;
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
/// secures the NWK payload; without an auxiliary header it is not called. An APS auxiliary
/// header is written as given and `zcl` taken as the APS payload as it goes on the air (use
/// [`build_secured_se_frame`] to encrypt it). The frame must fit in one 802.15.4 frame
/// ([`MAX_FRAME_LEN`] bytes without FCS); longer frames are refused with [`ErrorKind::BadLength`]
/// (APS fragmentation is the caller's business).
pub fn build_se_frame(
    mac: &MacHeader,
    nwk: &NwkHeader<'_>,
    aps: &ApsHeader,
    zcl: &[u8],
    buf: &mut [u8],
    security: Option<&mut dyn NwkSecurity>,
) -> Result<usize> {
    let l = write_layers(mac, nwk, aps, zcl, buf)?;
    let end = match (&nwk.aux_header, security) {
        (None, _) => l.end,
        (Some(_), None) => {
            return Err(Error::new(ErrorKind::InvalidValue, l.nwk_start, "nwk.security"))
        }
        (Some(_), Some(sec)) => {
            let nwk_frame = buf.get_mut(l.nwk_start..).unwrap_or(&mut []);
            let secured = sec
                .secure(nwk_frame, l.aps_start - l.nwk_start, l.end - l.aps_start)
                .map_err(|e| e.shifted(l.nwk_start))?;
            l.aps_start + secured
        }
    };
    check_frame_len(end)
}

/// Like [`build_se_frame`], but secures with CCM* every layer that carries an auxiliary header
/// (se10.md §8.4–§8.6): first APS (payload `zcl`) with the key its key identifier names
/// (derived from `keys.link_key`, or `keys.network_key` for key identifier 1), then NWK (payload
/// the whole APS frame with its MIC) with `keys.network_key`. The APS nonce takes its source
/// from the APS auxiliary header, or from `nwk.src_ieee` when the extended nonce is off. Level
/// bits are sent as 0. A missing key or source is an [`ErrorKind::InvalidValue`] on
/// `nwk.security` / `aps.security`.
pub fn build_secured_se_frame(
    mac: &MacHeader,
    nwk: &NwkHeader<'_>,
    aps: &ApsHeader,
    zcl: &[u8],
    buf: &mut [u8],
    keys: FrameKeys<'_>,
) -> Result<usize> {
    let l = write_layers(mac, nwk, aps, zcl, buf)?;
    let mut end = l.end;
    if let Some(aux) = &aps.aux_header {
        let bad = || Error::new(ErrorKind::InvalidValue, l.aps_start, "aps.security");
        let key_id = aux.security_control.key_identifier();
        let key = match key_id {
            KeyIdentifier::Network => keys.network_key.cloned(),
            _ => keys.link_key.and_then(|k| aps_key(k, key_id)),
        }
        .ok_or_else(bad)?;
        let layer = buf.get_mut(l.aps_start..).unwrap_or(&mut []);
        let aps_len = l.zcl_start - l.aps_start;
        end = l.aps_start
            + super::secure::seal_layer(layer, aux, aps_len, zcl.len(), &key, nwk.src_ieee)
                .map_err(|e| e.into_error(l.aps_start, "aps.security"))?;
    }
    if let Some(aux) = &nwk.aux_header {
        let bad = Error::new(ErrorKind::InvalidValue, l.nwk_start, "nwk.security");
        let key = keys.network_key.ok_or(bad)?;
        let layer = buf.get_mut(l.nwk_start..).unwrap_or(&mut []);
        let header_len = l.aps_start - l.nwk_start;
        end = l.nwk_start
            + super::secure::seal_layer(layer, aux, header_len, end - l.aps_start, key, None)
                .map_err(|e| e.into_error(l.nwk_start, "nwk.security"))?;
    }
    check_frame_len(end)
}

/// The keys [`build_secured_se_frame`] secures with.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameKeys<'k> {
    /// For NWK security (and APS frames with key identifier 1).
    pub network_key: Option<&'k Key128>,
    /// The link key shared with the destination, for APS security.
    pub link_key: Option<&'k Key128>,
}

/// Offsets of the layers [`write_layers`] wrote.
struct Layers {
    nwk_start: usize,
    aps_start: usize,
    zcl_start: usize,
    end: usize,
}

/// Checks that every layer is a data frame and writes the headers and `zcl`.
fn write_layers(
    mac: &MacHeader,
    nwk: &NwkHeader<'_>,
    aps: &ApsHeader,
    zcl: &[u8],
    buf: &mut [u8],
) -> Result<Layers> {
    if mac.frame_type != MacFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, 0, "mac.frame_type"));
    }
    let nwk_start = mac.buffer_len();
    if nwk.frame_type != NwkFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, nwk_start, "nwk.frame_type"));
    }
    let aps_start = nwk_start + nwk.buffer_len();
    if aps.frame_type != ApsFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, aps_start, "aps.frame_type"));
    }
    let mut w = Writer::new(buf);
    mac.write(&mut w)?;
    nwk.write(&mut w)?;
    aps.write(&mut w)?;
    let zcl_start = w.pos();
    w.bytes(zcl, "zcl")?;
    Ok(Layers { nwk_start, aps_start, zcl_start, end: w.pos() })
}

fn check_frame_len(end: usize) -> Result<usize> {
    if end > MAX_FRAME_LEN {
        return Err(Error::new(ErrorKind::BadLength, MAX_FRAME_LEN, "mac_frame"));
    }
    Ok(end)
}

/// The [`NwkSecurity`] hook with real CCM*: secures the NWK payload with the network key at
/// level 5 using the auxiliary header already in the NWK header (se10.md §8.4–§8.6).
#[derive(Debug, Clone, Copy)]
pub struct NwkKey<'k>(pub &'k Key128);

impl NwkSecurity for NwkKey<'_> {
    fn secure(
        &mut self,
        nwk_frame: &mut [u8],
        header_len: usize,
        payload_len: usize,
    ) -> Result<usize> {
        let (parsed_len, aux, src_ieee) =
            nwk_layout(nwk_frame).map_err(|e| e.into_error(0, "nwk.security"))?;
        if parsed_len != header_len {
            return Err(Error::new(ErrorKind::BadLength, 0, "nwk.header_len"));
        }
        let end =
            super::secure::seal_layer(nwk_frame, &aux, header_len, payload_len, self.0, src_ieee)
                .map_err(|e| e.into_error(0, "nwk.security"))?;
        Ok(end - header_len)
    }
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

    /// Marks the NWK frame as secured with `aux`; build with [`SeFrameBuilder::build_secured`]
    /// (a hook) or [`SeFrameBuilder::build_encrypted`] (CCM* with the network key).
    #[must_use]
    pub const fn nwk_security(mut self, aux: AuxHeader) -> Self {
        self.nwk.aux_header = Some(aux);
        self
    }

    /// NWK security with the network key as ZigBee PRO sends it (se10.md §8.5): key sequence
    /// number `key_sequence_number`, extended nonce with the transmitting device's `source`,
    /// its outgoing NWK `frame_counter`. Build with [`SeFrameBuilder::build_encrypted`].
    #[must_use]
    pub const fn nwk_encrypted(
        self,
        source: Eui64,
        frame_counter: u32,
        key_sequence_number: u8,
    ) -> Self {
        self.nwk_security(AuxHeader::nwk(frame_counter, source, key_sequence_number))
    }

    /// APS security with a link-derived key (`key_id`: [`KeyIdentifier::Data`] for SE cluster
    /// traffic, APS frame control then `0x60`; se10.md §9.1) and the sender's outgoing APS
    /// `frame_counter`. With `source` the header carries the sender's EUI-64 (extended nonce);
    /// without it the nonce takes the NWK source IEEE address, which must then be set
    /// ([`SeFrameBuilder::src_ieee`]). Build with [`SeFrameBuilder::build_encrypted`].
    #[must_use]
    pub const fn aps_encrypted(
        mut self,
        key_id: KeyIdentifier,
        frame_counter: u32,
        source: Option<Eui64>,
    ) -> Self {
        self.aps.aux_header = Some(AuxHeader::aps(key_id, frame_counter, source));
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

    /// Builds a frame with CCM* on every layer that has an auxiliary header
    /// ([`SeFrameBuilder::nwk_encrypted`], [`SeFrameBuilder::aps_encrypted`]); see
    /// [`build_secured_se_frame`].
    pub fn build_encrypted(
        &self,
        zcl: &[u8],
        buf: &mut [u8],
        keys: FrameKeys<'_>,
    ) -> Result<usize> {
        build_secured_se_frame(&self.mac, &self.nwk, &self.aps, zcl, buf, keys)
    }
}

/// An SE frame taken apart by [`parse_se_frame`] or [`parse_secured_se_frame`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SeFrame<'a> {
    pub mac: MacHeader,
    pub nwk: NwkHeader<'a>,
    /// The NWK payload: the APS frame, or, under NWK security, ciphertext + MIC as on the air
    /// ([`parse_se_frame`]) or the plaintext APS frame without the MIC ([`parse_secured_se_frame`]).
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serialize_payload"))]
    pub nwk_payload: &'a [u8],
    /// The APS header; `None` when the NWK payload is encrypted.
    pub aps: Option<ApsHeader>,
    /// The APS payload (empty when `aps` is `None`): the ZCL frame, or, under APS security,
    /// ciphertext + MIC ([`parse_se_frame`]) or the plaintext without the MIC
    /// ([`parse_secured_se_frame`]).
    #[cfg_attr(feature = "serde", serde(serialize_with = "super::serialize_payload"))]
    pub aps_payload: &'a [u8],
    /// Whether [`parse_secured_se_frame`] removed NWK or APS security (MICs verified): the
    /// payloads above are then plaintext although the headers say "secured".
    pub decrypted: bool,
}

impl<'a> SeFrame<'a> {
    /// The ZCL frame (header and payload), if it is readable: an APS data frame whose layers are
    /// unsecured or were decrypted.
    pub fn zcl(&self) -> Option<&'a [u8]> {
        self.aps
            .filter(|a| {
                a.frame_type == ApsFrameType::Data && (a.aux_header.is_none() || self.decrypted)
            })
            .map(|_| self.aps_payload)
    }

    /// The cluster the ZCL frame belongs to (for [`crate::zcl::Frame::parse`]).
    pub fn cluster_id(&self) -> Option<ClusterId> {
        self.aps.and_then(|a| a.addressing).map(|a| a.cluster_id)
    }

    /// Whether the frame came with NWK security (network key).
    pub fn nwk_secured(&self) -> bool {
        self.nwk.aux_header.is_some()
    }

    /// Whether the APS layer came with APS security (link key); `false` when the APS header is
    /// unknown (NWK payload still encrypted).
    pub fn aps_secured(&self) -> bool {
        self.aps.is_some_and(|a| a.aux_header.is_some())
    }
}

/// Takes a MAC frame (without FCS) carrying a NWK data frame apart. The APS header is parsed
/// only when the NWK layer is unsecured. Error offsets count from the start of `frame`.
pub fn parse_se_frame(frame: &[u8]) -> Result<SeFrame<'_>> {
    let mut r = Reader::new(frame);
    let mac = read_mac(&mut r)?;
    let nwk_start = r.pos();
    let nwk = read_nwk(&mut r, nwk_start)?;
    let nwk_payload = r.rest();
    let (aps, aps_payload) = if nwk.aux_header.is_none() {
        (Some(ApsHeader::read(&mut r)?), r.take_rest())
    } else {
        (None, &[][..])
    };
    Ok(SeFrame { mac, nwk, nwk_payload, aps, aps_payload, decrypted: false })
}

/// Takes a received MAC frame (without FCS) apart like [`parse_se_frame`], undoing NWK and APS
/// security in place (se10.md §8.4–§8.6): the network key is looked up by the key sequence
/// number, the APS key derived from the link key of the APS sender per the key identifier; each
/// MIC is checked; with `nwk_counters` / `aps_counters` each layer's frame counter must be
/// greater than the last one accepted from its sender (checked before decrypting, recorded only
/// after the MIC verified). On success the returned frame borrows the decrypted bytes and
/// [`SeFrame::zcl`] gives the plaintext ZCL frame.
///
/// Nonce sources: the auxiliary header's EUI-64; without an extended nonce, the NWK source IEEE
/// address, else [`KeyStore::ieee_address`] of the NWK source address (right for frames received
/// straight from their originator). Unsecured layers are passed through, so a receiver that
/// requires security checks [`SeFrame::nwk_secured`] / [`SeFrame::aps_secured`]. On an error the
/// payload of the layer that failed is zeroed (MIC mismatch) or left as received.
pub fn parse_secured_se_frame<'f>(
    frame: &'f mut [u8],
    keys: &dyn KeyStore,
    nwk_counters: Option<&mut dyn CounterCheck>,
    aps_counters: Option<&mut dyn CounterCheck>,
) -> core::result::Result<SeFrame<'f>, FrameSecurityError> {
    let (nwk_start, nwk_header_len, nwk_aux, nwk_src_ieee, nwk_src) = {
        let mut r = Reader::new(frame);
        read_mac(&mut r)?;
        let nwk_start = r.pos();
        let nwk = read_nwk(&mut r, nwk_start)?;
        (nwk_start, r.pos() - nwk_start, nwk.aux_header, nwk.src_ieee, nwk.src_addr)
    };
    let source_if_absent = nwk_src_ieee.or_else(|| keys.ieee_address(nwk_src));
    let aps_start = nwk_start + nwk_header_len;
    let mut nwk_end = frame.len();
    if let Some(aux) = &nwk_aux {
        let key_id = aux.security_control.key_identifier();
        let key = aux.key_sequence_number.and_then(|seq| keys.network_key(seq));
        let key = key.ok_or(FrameSecurityError::NoKey(key_id))?;
        let layer = frame.get_mut(nwk_start..).unwrap_or(&mut []);
        let u = open_checked(layer, aux, nwk_header_len, &key, source_if_absent, nwk_counters)
            .map_err(|e| e.shifted(nwk_start))?;
        nwk_end = nwk_start + u.payload.end;
    }
    let aps_bytes = frame.get(aps_start..nwk_end).unwrap_or(&[]);
    let aps = ApsHeader::parse(aps_bytes).map_err(|e| e.shifted(aps_start))?;
    let aps_header_len = aps.buffer_len();
    let mut aps_end = nwk_end;
    if let Some(aux) = &aps.aux_header {
        let key_id = aux.security_control.key_identifier();
        let source = aux.source_address.or(source_if_absent);
        let key = match (key_id, aux.key_sequence_number) {
            (KeyIdentifier::Network, Some(seq)) => keys.network_key(seq),
            _ => source.and_then(|s| keys.link_key(s)).and_then(|k| aps_key(&k, key_id)),
        };
        let key = key.ok_or(if source.is_none() {
            FrameSecurityError::UnknownSource
        } else {
            FrameSecurityError::NoKey(key_id)
        })?;
        let layer = frame.get_mut(aps_start..nwk_end).unwrap_or(&mut []);
        let u = open_checked(layer, aux, aps_header_len, &key, source, aps_counters)
            .map_err(|e| e.shifted(aps_start))?;
        aps_end = aps_start + u.payload.end;
    }
    let frame: &'f [u8] = frame;
    let mut r = Reader::new(frame);
    let mac = read_mac(&mut r)?;
    let nwk = read_nwk(&mut r, nwk_start)?;
    let nwk_payload = frame.get(aps_start..nwk_end).unwrap_or(&[]);
    let aps_payload = frame.get(aps_start + aps_header_len..aps_end).unwrap_or(&[]);
    let decrypted = nwk_aux.is_some() || aps.aux_header.is_some();
    Ok(SeFrame { mac, nwk, nwk_payload, aps: Some(aps), aps_payload, decrypted })
}

/// Reads the MAC header of a data frame.
fn read_mac(r: &mut Reader<'_>) -> Result<MacHeader> {
    let mac = MacHeader::read(r)?;
    if mac.frame_type != MacFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, 0, "mac.frame_type"));
    }
    Ok(mac)
}

/// Reads the NWK header of a data frame starting at `nwk_start`.
fn read_nwk<'a>(r: &mut Reader<'a>, nwk_start: usize) -> Result<NwkHeader<'a>> {
    let nwk = NwkHeader::read(r)?;
    if nwk.frame_type != NwkFrameType::Data {
        return Err(Error::new(ErrorKind::InvalidValue, nwk_start, "nwk.frame_type"));
    }
    Ok(nwk)
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
