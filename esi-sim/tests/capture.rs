//! The pcap of a run: every record is an 802.15.4 frame that `zse` parses down to a ZCL frame
//! (or an APS ack), the same seed writes the same file, and Wireshark (when installed) decodes
//! the SE clusters.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use esi_sim::pcap::Capture;
use esi_sim::{Sim, SimConfig};
use zse::frame::aps::ApsFrameType;
use zse::frame::parse_se_frame;
use zse::pcap::PcapReader;
use zse::zcl::Frame;

fn run(path: &std::path::Path, seed: u64) {
    let mut cfg = SimConfig::new(seed, 1, 3).with_in_process_hosts();
    cfg.faults.radio.loss = 0.05;
    let mut sim = Sim::new(cfg.clone()).unwrap();
    sim.medium.set_capture(Capture::create(path, cfg.epoch_unix_ms, sim.pan_keys()).unwrap());
    sim.bootstrap_hosts();
    sim.run_for(180_000).unwrap();
    sim.medium.capture_mut().unwrap().flush().unwrap();
}

#[test]
fn capture_parses_and_replays() {
    let dir = std::env::temp_dir().join(format!("esi-sim-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.pcap"), dir.join("b.pcap"));
    run(&a, 21);
    run(&b, 21);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same seed, same capture");
    let reader = PcapReader::new(&bytes[..]).unwrap();
    assert_eq!(reader.linktype, zse::pcap::LINKTYPE_IEEE802_15_4_NOFCS);
    let (mut data, mut acks) = (0, 0);
    for rec in reader {
        let rec = rec.unwrap();
        let f = parse_se_frame(&rec.data).unwrap();
        let aps = f.aps.unwrap();
        match aps.frame_type {
            ApsFrameType::Ack => acks += 1,
            _ => {
                Frame::parse(f.cluster_id().unwrap(), f.zcl().unwrap()).unwrap();
                data += 1;
            }
        }
        // Virtual time on the 2026-01-01 epoch.
        assert!(rec.timestamp.as_secs() >= 1_767_225_600);
    }
    assert!(data > 10 && acks > 10, "{data} data, {acks} acks");
    if std::process::Command::new("tshark").arg("-v").output().is_ok() {
        let out = std::process::Command::new("tshark").arg("-r").arg(&a).arg("-Y").arg("zbee_zcl_se.price || zbee_zcl_se.msg || zbee_zcl_se.drlc || zbee_zcl").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Get Current Price") && text.contains("ZigBee SE"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
