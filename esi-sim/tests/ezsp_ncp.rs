//! The emulated EZSP NCP (`--ncp ezsp`) driven by the `ezsp` crate's host over the simulated
//! serial line, in virtual time: version negotiation, network formation, transient keys, joins,
//! APS unicasts both ways, NCP resets, serial corruption.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use esi_sim::command::{Action, DeviceRef, Target};
use esi_sim::node::NodeKind;
use esi_sim::{Sim, SimConfig};
use ezsp::ash::{LinkConfig, ResetCode};
use ezsp::ezsp::types::{aps_option, security_bitmask, OUTGOING_DIRECT};
use ezsp::ezsp::{
    ApsFrame, Callback, Command, DeviceUpdate, EmberStatus, Eui64, InitialSecurityState,
    JoinDecision, Key, NetworkParameters, Response, SendUnicast,
};
use ezsp::host::{CommandError, Host, HostEvent};

struct Rig {
    sim: Sim,
    host: Host,
    events: Vec<HostEvent>,
}

impl Rig {
    fn new(max_version: u8, devices: usize, tweak: impl FnOnce(&mut SimConfig)) -> Self {
        let mut cfg = SimConfig::new(7, 1, devices);
        cfg.node = NodeKind::Ezsp { max_version };
        tweak(&mut cfg);
        let sim = Sim::new(cfg).unwrap();
        let mut host = Host::new(LinkConfig::default(), 13);
        host.start(sim.now);
        Self { sim, host, events: vec![] }
    }

    fn pump(&mut self) {
        while let Some(b) = self.host.poll_transmit() {
            self.sim.host_input(0, &b);
        }
        let out = self.sim.take_host_output(0);
        if !out.is_empty() {
            self.host.handle_bytes(self.sim.now, &out);
        }
        while let Some(e) = self.host.poll_event() {
            self.events.push(e);
        }
    }

    /// Runs virtual time in 10 ms steps until `done` holds for the events so far.
    fn until(&mut self, max_ms: u64, mut done: impl FnMut(&[HostEvent]) -> bool) -> bool {
        let limit = self.sim.now + max_ms;
        loop {
            self.pump();
            if done(&self.events) {
                return true;
            }
            if self.sim.now >= limit {
                return false;
            }
            self.sim.run_for(10).unwrap_or_else(|v| panic!("{v}"));
            self.host.handle_timeout(self.sim.now);
        }
    }

    fn ready(&mut self) -> u8 {
        assert!(
            self.until(10_000, |e| e.iter().any(|e| matches!(e, HostEvent::Ready { .. }))),
            "{:?}",
            self.events
        );
        self.host.version()
    }

    fn call(&mut self, cmd: Command) -> Response {
        let what = format!("{cmd:?}");
        let seq = self.host.command(self.sim.now, cmd).unwrap();
        let mut found = None;
        let ok = self.until(10_000, |evs| {
            found = evs.iter().find_map(|e| match e {
                HostEvent::Response { sequence, response } if *sequence == seq => {
                    Some(response.clone())
                }
                _ => None,
            });
            found.is_some()
        });
        assert!(ok, "no response to {what}: {:?}", self.events);
        self.events
            .retain(|e| !matches!(e, HostEvent::Response { sequence, .. } if *sequence == seq));
        found.unwrap()
    }

    fn callbacks(&self) -> impl Iterator<Item = &Callback> {
        self.events.iter().filter_map(|e| match e {
            HostEvent::Callback(c) => Some(c),
            _ => None,
        })
    }

    fn form(&mut self) -> NetworkParameters {
        let sec = InitialSecurityState {
            bitmask: security_bitmask::HAVE_PRECONFIGURED_KEY
                | security_bitmask::HAVE_NETWORK_KEY
                | security_bitmask::REQUIRE_ENCRYPTED_KEY,
            preconfigured_key: Key([0x5A; 16]),
            network_key: Key([0x11; 16]),
            network_key_sequence_number: 0,
            preconfigured_trust_center_eui64: Eui64::default(),
        };
        assert_eq!(
            self.call(Command::SetInitialSecurityState(sec)),
            Response::SetInitialSecurityState { status: EmberStatus::SUCCESS }
        );
        let p = NetworkParameters {
            extended_pan_id: [1, 2, 3, 4, 5, 6, 7, 8],
            pan_id: 0x1A62,
            radio_tx_power: 8,
            radio_channel: 15,
            channels: 1 << 15,
            ..NetworkParameters::default()
        };
        assert_eq!(
            self.call(Command::FormNetwork(p)),
            Response::FormNetwork { status: EmberStatus::SUCCESS }
        );
        assert!(self.until(1_000, |e| e.iter().any(|e| matches!(
            e,
            HostEvent::Callback(Callback::StackStatus { status: EmberStatus::NETWORK_UP })
        ))));
        p
    }

    fn device_eui(&self, i: usize) -> Eui64 {
        Eui64::from_u64(self.sim.devices[i].spec.eui64.0)
    }

    fn key_device(&mut self, i: usize) {
        let key = Key(*self.sim.devices[i].spec.label_link_key().unwrap().as_bytes());
        let partner = self.device_eui(i);
        let r = if self.host.version() >= 12 {
            self.call(Command::ImportTransientKey { partner, key, flags: 0 })
        } else {
            self.call(Command::AddTransientLinkKey { partner, key })
        };
        assert!(
            matches!(r, Response::ImportTransientKey { status } if status.0 == 0)
                || r == Response::AddTransientLinkKey { status: EmberStatus::SUCCESS },
            "{r:?}"
        );
    }

    fn join_all(&mut self, n: usize) {
        for i in 0..n {
            let _ = self.sim.apply(&Action::Rejoin { device: DeviceRef::Index(i) });
        }
    }
}

#[test]
fn negotiates_v13_forms_admits_keyed_devices_and_exchanges_aps() {
    let mut r = Rig::new(13, 3, |_| {});
    assert_eq!(r.ready(), 13);
    let ncp_eui = Eui64::from_u64(r.sim.esis[0].radio.eui64.0);
    assert_eq!(r.call(Command::GetEui64), Response::GetEui64 { eui64: ncp_eui });
    assert_eq!(r.call(Command::GetNodeId), Response::GetNodeId { node_id: 0 });
    assert!(matches!(
        r.call(Command::NetworkInit { bitmask: 0 }),
        Response::NetworkInit { status: EmberStatus::NOT_JOINED }
    ));
    let p = r.form();
    assert!(
        matches!(r.call(Command::GetNetworkParameters), Response::GetNetworkParameters { status: EmberStatus::SUCCESS, parameters, .. } if parameters == p)
    );
    // Devices 0 and 1 get keys; device 2 does not and is refused.
    r.key_device(0);
    r.key_device(1);
    assert_eq!(
        r.call(Command::PermitJoining { duration: 60 }),
        Response::PermitJoining { status: EmberStatus::SUCCESS }
    );
    r.join_all(3);
    let euis = [r.device_eui(0), r.device_eui(1), r.device_eui(2)];
    let joined = |evs: &[HostEvent], eui: Eui64, d: JoinDecision| {
        evs.iter().any(|e| matches!(e, HostEvent::Callback(Callback::TrustCenterJoin { eui64, decision, status: DeviceUpdate::STANDARD_SECURITY_UNSECURED_JOIN, .. }) if *eui64 == eui && *decision == d))
    };
    assert!(
        r.until(20_000, |e| joined(e, euis[0], JoinDecision::USE_PRECONFIGURED_KEY)
            && joined(e, euis[1], JoinDecision::USE_PRECONFIGURED_KEY)),
        "{:?}",
        r.events
    );
    assert!(
        r.until(20_000, |e| joined(e, euis[2], JoinDecision::DENY_JOIN)),
        "device without a key: {:?}",
        r.events
    );
    assert!(r.sim.devices[2].short().is_none());
    // The joined devices talk SE (a Time read first), APS-encrypted, on profile 0x0109.
    assert!(r.until(20_000, |e| e.iter().any(|e| matches!(e, HostEvent::Callback(Callback::IncomingMessage(m)) if m.aps.profile_id == 0x0109 && m.aps.options & aps_option::ENCRYPTION != 0))));
    let ihd_short = r.sim.devices[0].short().unwrap();
    // A DisplayMessage (Messaging cluster 0x0703, server → client command 0x00) to the IHD.
    let mut zcl = vec![0x09, 0x42, 0x00];
    zcl.extend_from_slice(&7u32.to_le_bytes()); // message id
    zcl.push(0x00); // control
    zcl.extend_from_slice(&0u32.to_le_bytes()); // start now
    zcl.extend_from_slice(&60u16.to_le_bytes()); // duration
    zcl.push(5);
    zcl.extend_from_slice(b"hello");
    let aps = ApsFrame {
        profile_id: 0x0109,
        cluster_id: 0x0703,
        source_endpoint: 1,
        destination_endpoint: 1,
        options: aps_option::RETRY | aps_option::ENCRYPTION,
        ..ApsFrame::default()
    };
    let send = SendUnicast {
        kind: OUTGOING_DIRECT,
        destination: ihd_short,
        aps,
        tag: 42,
        message: zcl.clone(),
    };
    assert!(matches!(
        r.call(Command::SendUnicast(send)),
        Response::SendUnicast { status: EmberStatus::SUCCESS, .. }
    ));
    assert!(r.until(10_000, |e| e.iter().any(|e| matches!(e, HostEvent::Callback(Callback::MessageSent(m)) if m.tag == 42 && m.status == EmberStatus::SUCCESS && m.destination == ihd_short))), "{:?}", r.events);
    let shown = r.sim.devices[0].status(r.sim.now);
    assert!(shown.contains("hello"), "the IHD shows the message: {shown}");
    // An unknown destination fails at once.
    let bad =
        SendUnicast { kind: OUTGOING_DIRECT, destination: 0x7777, aps, tag: 43, message: zcl };
    assert!(matches!(
        r.call(Command::SendUnicast(bad)),
        Response::SendUnicast { status: EmberStatus::DELIVERY_FAILED, .. }
    ));
    // A device that leaves is reported.
    let _ = r.sim.apply(&Action::Leave { device: DeviceRef::Index(1) });
    assert!(r.until(2_000, |e| e.iter().any(|e| matches!(e, HostEvent::Callback(Callback::TrustCenterJoin { status: DeviceUpdate::DEVICE_LEFT, eui64, .. }) if *eui64 == euis[1]))));
    assert!(r
        .callbacks()
        .any(|c| matches!(c, Callback::StackStatus { status: EmberStatus::NETWORK_OPENED })));
}

#[test]
fn negotiates_down_to_v8_and_uses_add_transient_link_key() {
    let mut r = Rig::new(8, 1, |_| {});
    assert_eq!(r.ready(), 8);
    assert_eq!(
        r.host.command(
            r.sim.now,
            Command::ImportTransientKey {
                partner: Eui64::default(),
                key: Key::default(),
                flags: 0
            }
        ),
        Err(CommandError::NotInVersion)
    );
    r.form();
    r.key_device(0);
    assert_eq!(
        r.call(Command::PermitJoining { duration: 30 }),
        Response::PermitJoining { status: EmberStatus::SUCCESS }
    );
    r.join_all(1);
    assert!(r.until(20_000, |e| e
        .iter()
        .any(|e| matches!(e, HostEvent::Callback(Callback::ChildJoin { joining: true, .. })))));
    // Joining closes by itself.
    assert!(r.until(40_000, |e| e.iter().any(|e| matches!(
        e,
        HostEvent::Callback(Callback::StackStatus { status: EmberStatus::NETWORK_CLOSED })
    ))));
}

#[test]
fn ncp_reset_is_reported_and_the_network_resumes() {
    let mut r = Rig::new(13, 1, |_| {});
    r.ready();
    r.form();
    r.events.clear();
    r.sim.apply(&Action::Reset { esi: Target::All }).unwrap();
    assert!(
        r.until(2_000, |e| e.contains(&HostEvent::NcpReset(ResetCode::POWER_ON))),
        "{:?}",
        r.events
    );
    // The host starts again; the formed network survives (NVM) and resumes with networkInit.
    r.host.start(r.sim.now);
    r.events.clear();
    r.ready();
    assert_eq!(
        r.call(Command::NetworkInit { bitmask: 0 }),
        Response::NetworkInit { status: EmberStatus::SUCCESS }
    );
    assert!(r.until(1_000, |e| e.iter().any(|e| matches!(
        e,
        HostEvent::Callback(Callback::StackStatus { status: EmberStatus::NETWORK_UP })
    ))));
}

#[test]
fn survives_serial_corruption_and_drops() {
    let mut r = Rig::new(13, 1, |c| {
        c.faults.serial.corruption = 0.002;
        c.faults.serial.drop = 0.002;
    });
    r.ready();
    for _ in 0..40 {
        assert!(matches!(r.call(Command::GetEui64), Response::GetEui64 { .. }));
    }
    let c = r.host.link().counters();
    assert!(c.retransmissions + c.naks_received + c.bad_frames > 0, "faults were injected: {c:?}");
}

/// Talks to the NCP node directly through a host-side ASH link, with hand-made EZSP frames.
#[test]
fn commands_before_version_and_unknown_frames_get_invalid_command() {
    use esi_sim::node::{ncp::EzspNcp, EsiNode};
    use ezsp::ash::{Link, LinkEvent, Role};
    use ezsp::ezsp::{EzspStatus, Header, NcpFrame};
    let mut ncp = EzspNcp::new(zse::zcl::Eui64(0x000D_6FFF_FE00_0001), 13);
    let mut link = Link::new(Role::Host, LinkConfig::default());
    let mut buf = [0u8; 512];
    let mut exchange = |link: &mut Link, frame: Option<Vec<u8>>| -> Vec<Vec<u8>> {
        if let Some(f) = frame {
            link.send(0, &f).unwrap();
        }
        let mut got = vec![];
        for _ in 0..10 {
            while let Some(b) = link.poll_transmit() {
                ncp.handle_serial_bytes(0, &b);
            }
            while let Some(n) = ncp.poll_serial_transmit(&mut buf) {
                link.handle_bytes(0, &buf[..n]);
            }
            while let Some(e) = link.poll_event() {
                if let LinkEvent::Data(d) = e {
                    got.push(d);
                }
            }
        }
        got
    };
    link.reset(0, ResetCode::SOFTWARE);
    assert!(exchange(&mut link, None).is_empty());
    let invalid = |frames: &[Vec<u8>], seq: u8| -> EzspStatus {
        match NcpFrame::decode(13, &frames[0]) {
            Ok((h, NcpFrame::Response(Response::InvalidCommand { status })))
                if h.sequence == seq =>
            {
                status
            }
            other => panic!("{other:?}"),
        }
    };
    // getEui64 before version: ERROR_VERSION_NOT_SET.
    let mut f = vec![];
    Command::GetEui64.encode(1, false, &mut f);
    assert_eq!(invalid(&exchange(&mut link, Some(f)), 1), EzspStatus::ERROR_VERSION_NOT_SET);
    // version (legacy), answered in the legacy header.
    let mut f = vec![];
    Command::Version { desired: 13 }.encode(2, true, &mut f);
    let got = exchange(&mut link, Some(f));
    assert_eq!(got[0], vec![2, 0x80, 0x00, 13, 0x02, 0x50, 0x74]);
    // An unknown frame id, a truncated command, a secured header.
    let mut f = vec![];
    Header::command(3, 0x00FE).emit(&mut f);
    assert_eq!(invalid(&exchange(&mut link, Some(f)), 3), EzspStatus::ERROR_INVALID_FRAME_ID);
    let mut f = vec![];
    Command::PermitJoining { duration: 1 }.encode(4, false, &mut f);
    f.pop();
    assert_eq!(invalid(&exchange(&mut link, Some(f)), 4), EzspStatus::ERROR_TRUNCATED);
    assert_eq!(
        invalid(&exchange(&mut link, Some(vec![5, 0x00, 0x81, 0x26, 0x00])), 5),
        EzspStatus::ERROR_UNSUPPORTED_CONTROL
    );
    // … and the NCP still answers.
    let mut f = vec![];
    Command::GetNodeId.encode(6, false, &mut f);
    let got = exchange(&mut link, Some(f));
    assert!(matches!(
        NcpFrame::decode(13, &got[0]),
        Ok((_, NcpFrame::Response(Response::GetNodeId { node_id: 0 })))
    ));
    assert_eq!(ncp.bad_commands, 4);
}
