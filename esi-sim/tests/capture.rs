//! The pcap of a run: every record is an 802.15.4 frame, NWK-encrypted with the network key
//! the simulator prints, that `zse` decrypts and parses down to a ZCL frame (or an APS ack); the
//! same seed writes the same file; and Wireshark (when installed), given the network key,
//! decodes the SE clusters.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use esi_sim::pcap::Capture;
use esi_sim::{Sim, SimConfig};
use zse::frame::aps::ApsFrameType;
use zse::frame::{parse_se_frame, parse_secured_se_frame, Keyring};
use zse::pcap::PcapReader;
use zse::security::Key128;
use zse::zcl::Frame;

fn run(path: &std::path::Path, seed: u64) -> [u8; 16] {
    let mut cfg = SimConfig::new(seed, 1, 3).with_in_process_hosts();
    cfg.faults.radio.loss = 0.05;
    let mut sim = Sim::new(cfg.clone()).unwrap();
    sim.medium.set_capture(Capture::create(path, cfg.epoch_unix_ms, sim.pan_keys()).unwrap());
    sim.bootstrap_hosts();
    sim.run_for(180_000).unwrap();
    sim.medium.capture_mut().unwrap().flush().unwrap();
    assert_eq!(sim.medium.capture_mut().unwrap().unsecured, 0);
    sim.esis[0].radio.network_key
}

#[test]
fn capture_parses_and_replays() {
    let dir = std::env::temp_dir().join(format!("esi-sim-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.pcap"), dir.join("b.pcap"));
    let key = run(&a, 21);
    run(&b, 21);
    let network_keys = [(0u8, Key128::new(key))];
    let keys = Keyring { network_keys: &network_keys, link_keys: &[], address_map: &[] };
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same seed, same capture");
    let reader = PcapReader::new(&bytes[..]).unwrap();
    assert_eq!(reader.linktype, zse::pcap::LINKTYPE_IEEE802_15_4_NOFCS);
    let (mut data, mut acks) = (0, 0);
    for rec in reader {
        let mut rec = rec.unwrap();
        // On the air only the NWK header is readable.
        let raw = parse_se_frame(&rec.data).unwrap();
        assert!(raw.nwk.aux_header.is_some() && raw.aps.is_none());
        let f = parse_secured_se_frame(&mut rec.data, &keys, None, None).unwrap();
        let aps = f.aps.unwrap();
        if aps.frame_type == ApsFrameType::Ack {
            acks += 1;
        } else {
            Frame::parse(f.cluster_id().unwrap(), f.zcl().unwrap()).unwrap();
            data += 1;
        }
        // Virtual time on the 2026-01-01 epoch.
        assert!(rec.timestamp.as_secs() >= 1_767_225_600);
    }
    assert!(data > 10 && acks > 10, "{data} data, {acks} acks");
    if std::process::Command::new("tshark").arg("-v").output().is_ok() {
        let hex = key.iter().fold(String::new(), |s, b| s + &format!("{b:02X}"));
        let out = std::process::Command::new("tshark")
            .arg("-o")
            .arg(format!("uat:zigbee_pc_keys:\"{hex}\",\"Normal\",\"esi-sim\""))
            .arg("-r")
            .arg(&a)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Get Current Price") && text.contains("ZigBee SE"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
