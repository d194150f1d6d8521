//! Capture of all radio traffic as a pcap file (link type 230, 802.15.4 without FCS), with the
//! real MAC, NWK and APS headers built by `zse::frame`, so Wireshark decodes the SE clusters.
//!
//! Timestamps are the simulation's virtual time on the configured wall-clock epoch, so a replay
//! writes the same file. Corrupted transmissions are captured corrupted.
//!
//! Security: every frame passes through [`secure_for_capture`], the one place where NWK
//! encryption with the network key (and APS encryption with the device's link key) belongs.
//! Until `zse` offers frame encryption, it leaves frames in the clear, which Wireshark decodes
//! without any key; the simulator still prints each PAN's network key for when it does.

use crate::medium::{AirBody, AirFrame};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;
use zse::frame::aps::ApsHeader;
use zse::frame::mac::MacHeader;
use zse::frame::nwk::NwkHeader;
use zse::frame::{PanId, SeFrameBuilder, ShortAddr};
use zse::pcap::PcapWriter;
use zse::wire::Writer;

/// Keys of one PAN, for [`secure_for_capture`].
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
    pub frames: u64,
    /// Frames that did not encode (never expected; counted rather than dropped silently).
    pub encode_failures: u64,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("frames", &self.frames).finish_non_exhaustive()
    }
}

impl Capture {
    /// Writes to `out` (the global header at once).
    pub fn new(out: Box<dyn Write>, epoch_unix_ms: u64, keys: Vec<PanKeys>) -> io::Result<Self> {
        Ok(Self { out: PcapWriter::new(out)?, epoch_unix_ms, keys, frames: 0, encode_failures: 0 })
    }

    pub fn create(path: &Path, epoch_unix_ms: u64, keys: Vec<PanKeys>) -> io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        Self::new(Box::new(file), epoch_unix_ms, keys)
    }

    /// Records one transmission at virtual `now`; `corruption` flips one byte (chosen by it).
    pub fn record(&mut self, now: u64, frame: &AirFrame, corruption: Option<u64>) {
        let Some(mut bytes) = encode(frame) else {
            self.encode_failures += 1;
            return;
        };
        let keys = self.keys.iter().find(|k| k.pan_id == frame.pan_id).copied();
        secure_for_capture(&mut bytes, frame, keys);
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

/// The hook where NWK (network key) and APS (link key) security go; see the module docs.
/// Frames stay in the clear for now.
pub fn secure_for_capture(_bytes: &mut Vec<u8>, _frame: &AirFrame, _keys: Option<PanKeys>) {}

/// MAC ⟶ NWK ⟶ APS (⟶ ZCL) bytes of a frame, without FCS.
pub fn encode(frame: &AirFrame) -> Option<Vec<u8>> {
    let pan = PanId(frame.pan_id);
    let (src, dst) = (ShortAddr(frame.src_short), ShortAddr(frame.dst_short));
    let mut buf = [0u8; 127];
    let n = match &frame.body {
        AirBody::Data {
            src_endpoint,
            dst_endpoint,
            cluster,
            aps_counter,
            ack_requested,
            zcl,
            ..
        } => {
            let mut b = SeFrameBuilder::unicast(pan, src, *src_endpoint, dst, *dst_endpoint, *cluster)
                .sequence(frame.mac_seq, frame.nwk_seq, *aps_counter)
                .src_ieee(frame.src_eui64);
            b.aps.ack_request = *ack_requested;
            b.build(zcl, &mut buf).ok()?
        }
        AirBody::Ack { src_endpoint, dst_endpoint, cluster, aps_counter, .. } => {
            // The ack of a data frame that went from `dst_endpoint` to `src_endpoint`.
            let acked = ApsHeader::unicast(*src_endpoint, *cluster, *dst_endpoint, *aps_counter);
            let aps = acked.ack()?;
            let mac = MacHeader::data(frame.mac_seq, pan, dst, src);
            let nwk = NwkHeader::data(dst, src, SeFrameBuilder::DEFAULT_RADIUS, frame.nwk_seq, Some(frame.src_eui64));
            let mut w = Writer::new(&mut buf);
            mac.write(&mut w).ok()?;
            nwk.write(&mut w).ok()?;
            aps.write(&mut w).ok()?;
            w.pos()
        }
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
