//! Host-link garbage never crashes the simulator: damaged frames are counted (and answered with
//! link Error frames where the CRC was good) and a host that speaks the protocol still gets
//! through.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use esi_sim::rng::SimRng;
use esi_sim::{Sim, SimConfig};
use firmware::host_link::{
    Command, HostEndpoint, LinkConfig, LinkEvent, NodeInfo, Report, Request, ResultCode, Role,
    SoftwareVersion, MAX_WIRE_LEN,
};
use proptest::prelude::*;

fn host() -> HostEndpoint {
    let node = NodeInfo {
        role: Role::Host,
        software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
        esi_eui64: firmware::host_link::Eui64(0),
        slot_capacity: 0,
    };
    HostEndpoint::new(LinkConfig::new(node, 5))
}

/// Drives an external host through `sim.host_input` / `take_host_output`, with `garbage`
/// written to the line before each of the host's frames.
fn exchange(sim: &mut Sim, garbage: &[u8]) -> Option<ResultCode> {
    let mut h = host();
    let mut buf = [0u8; MAX_WIRE_LEN];
    let mut sent = false;
    for _ in 0..2_000 {
        let now = sim.now;
        h.handle_timeout(now);
        while let Some(n) = h.poll_transmit(&mut buf) {
            sim.host_input(0, garbage);
            sim.host_input(0, &buf[..n]);
        }
        sim.run_for(10).unwrap_or_else(|v| panic!("{v}"));
        let out = sim.take_host_output(0);
        h.handle_bytes(sim.now, &out);
        while let Some(ev) = h.poll_event() {
            if let LinkEvent::Received(Report::Result(r)) = ev {
                if r.request_id == 7 {
                    return Some(r.code);
                }
            }
        }
        if h.is_connected() && !sent {
            sent =
                h.send(sim.now, &Request { request_id: 7, command: Command::ListDevices }).is_ok();
        }
    }
    None
}

#[test]
fn garbage_is_counted_and_the_link_still_works() {
    let mut sim = Sim::new(SimConfig::new(3, 1, 1)).unwrap();
    let mut rng = SimRng::new(9);
    for _ in 0..50 {
        let junk: Vec<u8> = (0..rng.range(1, 300)).map(|_| rng.byte()).collect();
        sim.host_input(0, &junk);
        sim.run_for(50).unwrap();
    }
    assert!(sim.esis[0].node.snapshot(sim.now).link_receive_errors > 0);
    // Garbage (ending in a delimiter, so it cannot swallow the next frame) before every frame.
    let code = exchange(&mut sim, &[0x13, 0x37, 0xFF, 0x00, 0x02, 0x01, 0x00]);
    assert_eq!(code, Some(ResultCode::SUCCESS));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn any_bytes_leave_the_simulator_standing(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..20)) {
        let mut sim = Sim::new(SimConfig::new(4, 1, 1)).unwrap();
        for c in &chunks {
            sim.host_input(0, c);
            sim.run_for(20).unwrap();
        }
        prop_assert!(sim.run_for(5_000).is_ok());
    }
}
