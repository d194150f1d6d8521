//! Capture of all radio traffic as a pcap file (link type 230, 802.15.4 without FCS), with the
//! real MAC, NWK and APS headers built by `zse::frame`, so Wireshark decodes the SE clusters.
//!
//! Timestamps are the simulation's virtual time on the configured wall-clock epoch, so a replay
//! writes the same file. Corrupted transmissions are captured corrupted.
//!
//! Security ([`Capture::secure_for_capture`] decides, per frame): every frame is NWK-encrypted with its
//! PAN's network key (ZigBee PRO, ENC-MIC-32, extended nonce with the sender's EUI-64 and a
//! per-sender frame counter), so Wireshark decodes it given the network key the simulator
//! prints. Optionally ([`Capture::with_link_keys`]) the SE data frames are also APS-encrypted
//! with the device's install-code link key, as on a real SE network; Wireshark then needs those
//! keys too. A frame that would not fit in one 802.15.4 frame once secured (APS fragmentation
//! is not modelled) is captured in the clear and counted in [`Capture::unsecured`].

use crate::medium::{AirBody, AirFrame};
use firmware::esi::ApsSecurity;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;
use zse::frame::aps::ApsHeader;
use zse::frame::mac::MacHeader;
use zse::frame::nwk::NwkHeader;
use zse::frame::secure::secure_nwk;
use zse::frame::{FrameKeys, KeyIdentifier, PanId, SeFrameBuilder, ShortAddr};
use zse::pcap::PcapWriter;
use zse::security::Key128;
use zse::wire::Writer;
use zse::zcl::Eui64;

/// Keys of one PAN, for [`Capture::secure_for_capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanKeys {
    pub pan_id: u16,
    pub network_key: [u8; 16],
}

/// A capture being written.
pub struct Capture {
    out: PcapWriter<Box<dyn Write>>,
    epoch_unix_ms: u64,
    keys: Vec<PanKeys>,
    /// Device link keys by EUI-64, when SE frames are APS-encrypted too.
    link_keys: Option<BTreeMap<Eui64, Key128>>,
    /// Outgoing NWK and APS frame counters per sender.
    counters: BTreeMap<Eui64, (u32, u32)>,
    pub frames: u64,
    /// Frames that did not encode (never expected; counted rather than dropped silently).
    pub encode_failures: u64,
    /// Frames captured without security because they would not fit once secured.
    pub unsecured: u64,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("frames", &self.frames).finish_non_exhaustive()
    }
}

impl Capture {
    /// Writes to `out` (the global header at once).
    pub fn new(out: Box<dyn Write>, epoch_unix_ms: u64, keys: Vec<PanKeys>) -> io::Result<Self> {
        Ok(Self {
            out: PcapWriter::new(out)?,
            epoch_unix_ms,
            keys,
            link_keys: None,
            counters: BTreeMap::new(),
            frames: 0,
            encode_failures: 0,
            unsecured: 0,
        })
    }

    /// Also APS-encrypts SE data frames with these link keys (device EUI-64 → key).
    #[must_use]
    pub fn with_link_keys(mut self, keys: BTreeMap<Eui64, Key128>) -> Self {
        self.link_keys = Some(keys);
        self
    }

    pub fn create(path: &Path, epoch_unix_ms: u64, keys: Vec<PanKeys>) -> io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        Self::new(Box::new(file), epoch_unix_ms, keys)
    }

    /// Records one transmission at virtual `now`; `corruption` flips one byte (chosen by it).
    pub fn record(&mut self, now: u64, frame: &AirFrame, corruption: Option<u64>) {
        let keys = self.keys.iter().find(|k| k.pan_id == frame.pan_id).copied();
        let secured = keys.and_then(|k| self.secure_for_capture(frame, &k));
        let mut bytes = if let Some(b) = secured {
            b
        } else {
            let Some(b) = encode(frame) else {
                self.encode_failures += 1;
                return;
            };
            self.unsecured += u64::from(keys.is_some());
            b
        };
        if let Some(c) = corruption {
            let i = (c % bytes.len().max(1) as u64) as usize;
            if let Some(b) = bytes.get_mut(i) {
                *b ^= ((c >> 8) as u8) | 1;
            }
        }
        let ts = Duration::from_millis(self.epoch_unix_ms.saturating_add(now));
        if self.out.write_packet(ts, &bytes).is_ok() {
            self.frames += 1;
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Capture {
    /// The frame as it goes on the air, secured (see the module docs); `None` if it does not
    /// fit once secured.
    pub fn secure_for_capture(&mut self, frame: &AirFrame, keys: &PanKeys) -> Option<Vec<u8>> {
        let network_key = Key128::new(keys.network_key);
        let counters = self.counters.entry(frame.src_eui64).or_insert((0, 0));
        counters.0 = counters.0.wrapping_add(1);
        let nwk_counter = counters.0;
        let mut buf = [0u8; 127];
        match &frame.body {
            AirBody::Data { security, .. } => {
                // The partner's link key: the device's, whichever end sent it.
                let partner = match frame.from {
                    crate::medium::Station::Device(_) => Some(frame.src_eui64),
                    crate::medium::Station::Esi(_) => None,
                };
                let link_key = match (&self.link_keys, security) {
                    (Some(map), ApsSecurity::LinkKey) => {
                        partner.or(frame.dst_eui64).and_then(|e| map.get(&e)).cloned()
                    }
                    _ => None,
                };
                let mut b = builder(frame)?.nwk_encrypted(frame.src_eui64, nwk_counter, 0);
                if link_key.is_some() {
                    let c = self.counters.entry(frame.src_eui64).or_insert((0, 0));
                    c.1 = c.1.wrapping_add(1);
                    b = b.aps_encrypted(KeyIdentifier::Data, c.1, None);
                }
                let AirBody::Data { zcl, .. } = &frame.body else { return None };
                let keys =
                    FrameKeys { network_key: Some(&network_key), link_key: link_key.as_ref() };
                let n = b.build_encrypted(zcl, &mut buf, keys).ok()?;
                buf.get(..n).map(<[u8]>::to_vec)
            }
            AirBody::Ack { .. } => {
                let (mac_len, total) = write_ack(frame, &mut buf)?;
                let nwk = buf.get_mut(mac_len..)?;
                let n =
                    secure_nwk(nwk, total - mac_len, &network_key, frame.src_eui64, nwk_counter, 0)
                        .ok()?;
                buf.get(..mac_len + n).map(<[u8]>::to_vec)
            }
        }
    }
}

/// The builder for a data frame's headers.
fn builder(frame: &AirFrame) -> Option<SeFrameBuilder> {
    let AirBody::Data { src_endpoint, dst_endpoint, cluster, aps_counter, ack_requested, .. } =
        &frame.body
    else {
        return None;
    };
    let pan = PanId(frame.pan_id);
    let (src, dst) = (ShortAddr(frame.src_short), ShortAddr(frame.dst_short));
    let mut b = SeFrameBuilder::unicast(pan, src, *src_endpoint, dst, *dst_endpoint, *cluster)
        .sequence(frame.mac_seq, frame.nwk_seq, *aps_counter)
        .src_ieee(frame.src_eui64);
    b.aps.ack_request = *ack_requested;
    Some(b)
}

/// Writes an APS ack's MAC, NWK and APS headers; returns (MAC header length, total length).
fn write_ack(frame: &AirFrame, buf: &mut [u8]) -> Option<(usize, usize)> {
    let AirBody::Ack { src_endpoint, dst_endpoint, cluster, aps_counter, .. } = &frame.body else {
        return None;
    };
    let pan = PanId(frame.pan_id);
    let (src, dst) = (ShortAddr(frame.src_short), ShortAddr(frame.dst_short));
    // The ack of a data frame that went from `dst_endpoint` to `src_endpoint`.
    let acked = ApsHeader::unicast(*src_endpoint, *cluster, *dst_endpoint, *aps_counter);
    let aps = acked.ack()?;
    let mac = MacHeader::data(frame.mac_seq, pan, dst, src);
    let nwk = NwkHeader::data(
        dst,
        src,
        SeFrameBuilder::DEFAULT_RADIUS,
        frame.nwk_seq,
        Some(frame.src_eui64),
    );
    let mut w = Writer::new(buf);
    mac.write(&mut w).ok()?;
    let mac_len = w.pos();
    nwk.write(&mut w).ok()?;
    aps.write(&mut w).ok()?;
    Some((mac_len, w.pos()))
}

/// MAC ⟶ NWK ⟶ APS (⟶ ZCL) bytes of a frame, without FCS and without security.
pub fn encode(frame: &AirFrame) -> Option<Vec<u8>> {
    let mut buf = [0u8; 127];
    let n = match &frame.body {
        AirBody::Data { zcl, .. } => builder(frame)?.build(zcl, &mut buf).ok()?,
        AirBody::Ack { .. } => write_ack(frame, &mut buf)?.1,
    };
    buf.get(..n).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::medium::Station;
    use firmware::esi::ApsSecurity;
    use zse::frame::aps::ApsFrameType;
    use zse::frame::parse_se_frame;
    use zse::zcl::{ClusterId, Eui64};

    fn data() -> AirFrame {
        AirFrame {
            pan_id: 0x1A62,
            from: Station::Device(0),
            to: Station::Esi(0),
            src_short: 0x2B1A,
            dst_short: 0x0000,
            src_eui64: Eui64(0x000D_6F00_0000_0001),
            dst_eui64: None,
            mac_seq: 3,
            nwk_seq: 4,
            body: AirBody::Data {
                src_endpoint: 1,
                dst_endpoint: 9,
                cluster: ClusterId::MESSAGING,
                profile: 0x0109,
                aps_counter: 5,
                ack_requested: true,
                security: ApsSecurity::LinkKey,
                zcl: vec![0x01, 0x40, 0x00],
            },
        }
    }

    #[test]
    fn data_and_ack_frames_parse_back() {
        let bytes = encode(&data()).unwrap();
        let f = parse_se_frame(&bytes).unwrap();
        assert_eq!(f.zcl(), Some(&[0x01, 0x40, 0x00][..]));
        assert_eq!(f.cluster_id(), Some(ClusterId::MESSAGING));
        assert_eq!(f.nwk.src_ieee, Some(Eui64(0x000D_6F00_0000_0001)));
        let ack = AirFrame {
            from: Station::Esi(0),
            to: Station::Device(0),
            src_short: 0,
            dst_short: 0x2B1A,
            body: AirBody::Ack {
                src_endpoint: 9,
                dst_endpoint: 1,
                cluster: ClusterId::MESSAGING,
                profile: 0x0109,
                aps_counter: 5,
            },
            ..data()
        };
        let bytes = encode(&ack).unwrap();
        let f = parse_se_frame(&bytes).unwrap();
        let aps = f.aps.unwrap();
        assert_eq!((aps.frame_type, aps.counter), (ApsFrameType::Ack, 5));
    }

    #[test]
    fn capture_writes_records_with_virtual_timestamps() {
        let mut c = Capture::new(Box::new(Vec::new()), 1_000, vec![]).unwrap();
        c.record(500, &data(), None);
        c.record(600, &data(), Some(0x1234));
        assert_eq!(c.frames, 2);
    }
}
