//! Unit tests of the link endpoint: handshake, refusal, acknowledgement, retransmission,
//! duplicates, flow control, rejection of unknown variants, session restarts.

use super::frame::{FrameError, Incoming};
use super::testutil::*;
use super::*;

#[test]
fn handshake_connects_both_ends() {
    let mut p = Pair::new();
    assert_eq!(p.host.send(0, &sample_requests()[2]), Err(LinkError::NotConnected));
    p.pump();
    assert!(matches!(p.host_events[..], [LinkEvent::Connected(h)] if h.node == coordinator_node()));
    assert!(matches!(p.coord_events[..], [LinkEvent::Connected(h)] if h.node == host_node()));
    assert_eq!(p.host.peer().unwrap().node.slot_capacity, 16);
    assert_eq!(p.host.poll_timeout(), None);
}

#[test]
fn incompatible_major_version_is_refused() {
    let mut p = Pair::new();
    let mut hello = Hello {
        protocol: ProtocolVersion { major: 2, minor: 0 },
        node: host_node(),
        session: 1,
        first_seq: 0,
    };
    p.coord.handle_bytes(0, &wire_of(&Packet::<Request>::Hello(hello)));
    let ev = drain_events(&mut p.coord);
    assert!(matches!(ev[..], [LinkEvent::Refused { by_peer: false, refusal }]
        if refusal.reason == RefusalReason::INCOMPATIBLE_VERSION));
    assert_eq!(p.coord.state(), LinkState::Refused);
    // The refusal goes out first; no Hello from a refused endpoint.
    p.host.handle_bytes(0, &drain_tx(&mut p.coord));
    let ev = drain_events(&mut p.host);
    assert!(ev.iter().any(|e| matches!(e, LinkEvent::Refused { by_peer: true, refusal }
            if refusal.version == PROTOCOL_VERSION)));
    assert_eq!(p.host.state(), LinkState::Refused);
    p.advance(10_000);
    assert!(drain_tx(&mut p.coord).is_empty() && drain_tx(&mut p.host).is_empty());
    // A compatible Hello (e.g. after an upgrade) still connects; so does reconnect().
    hello.protocol = PROTOCOL_VERSION;
    p.coord.handle_bytes(0, &wire_of(&Packet::<Request>::Hello(hello)));
    assert!(p.coord.is_connected());
    p.host.reconnect(p.now);
    p.pump();
    assert!(p.host.is_connected() && p.coord.is_connected());
}

#[test]
fn same_role_is_refused() {
    let mut a = HostEndpoint::new(LinkConfig::new(host_node(), 1));
    let mut b = HostEndpoint::new(LinkConfig::new(host_node(), 2));
    b.handle_bytes(0, &drain_tx(&mut a));
    assert!(drain_events(&mut b).iter().any(|e| matches!(e, LinkEvent::Refused { refusal, .. }
            if refusal.reason == RefusalReason::ROLE_MISMATCH)));
}

#[test]
fn data_is_acked_delivered_once_and_duplicates_reacked() {
    let mut p = Pair::connected();
    let reqs = sample_requests();
    let seq = p.host.send(p.now, &reqs[1]).unwrap();
    let first = drain_tx(&mut p.host);
    // The wire duplicates the frame.
    p.coord.handle_bytes(p.now, &first);
    p.coord.handle_bytes(p.now, &first);
    assert_eq!(drain_events(&mut p.coord), [LinkEvent::Received(reqs[1].clone())]);
    assert_eq!(p.coord.counters().duplicates, 1);
    p.host.handle_bytes(p.now, &drain_tx(&mut p.coord));
    assert_eq!(drain_events(&mut p.host), [LinkEvent::Acked(seq)]);
    assert_eq!(p.host.in_flight(), 0);
    assert_eq!(p.host.poll_timeout(), None);
}

#[test]
fn lost_frame_is_retransmitted_then_session_restarts() {
    let mut p = Pair::connected();
    let rto = u64::from(LinkConfig::DEFAULT_RETRANSMIT_TIMEOUT_MS);
    let seq = p.host.send(p.now, &sample_requests()[2]).unwrap();
    for _ in 0..=LinkConfig::DEFAULT_MAX_RETRIES {
        let out = drain_tx(&mut p.host); // lost every time
        assert!(matches!(unwrap_frame::<Request>(&out),
            Ok(Incoming::Packet(Packet::Data { seq: s, .. })) if s == seq.0));
        assert_eq!(p.host.poll_timeout(), Some(p.now + rto));
        p.advance(rto);
    }
    assert_eq!(p.host.counters().retransmissions, u32::from(LinkConfig::DEFAULT_MAX_RETRIES));
    let ev = drain_events(&mut p.host);
    assert_eq!(
        ev,
        [LinkEvent::Failed { seq, reason: FailReason::RetriesExhausted }, LinkEvent::Disconnected]
    );
    assert_eq!(p.host.state(), LinkState::Connecting);
    // The new Hello (new session) resynchronises the coordinator, which restarts too.
    p.pump();
    assert!(p.host.is_connected());
    assert!(matches!(p.coord_events[..], [LinkEvent::Disconnected, LinkEvent::Connected(_)]));
    let seq2 = p.host.send(p.now, &sample_requests()[3]).unwrap();
    assert_eq!(seq2, Seq(seq.0 + 1));
    p.pump();
    assert!(p.host_events.contains(&LinkEvent::Acked(seq2)));
    assert_eq!(p.coord_events.last(), Some(&LinkEvent::Received(sample_requests()[3].clone())));
}

#[test]
fn window_is_bounded_until_outcomes_are_polled() {
    let mut p = Pair::connected();
    let r = &sample_requests()[2];
    for _ in 0..4 {
        p.host.send(p.now, r).unwrap();
    }
    assert_eq!(p.host.send(p.now, r), Err(LinkError::WindowFull));
    let mut buf = [0u8; MAX_WIRE_LEN];
    while let Some(n) = p.host.poll_transmit(&mut buf) {
        p.coord.handle_bytes(p.now, &buf[..n]);
        assert_eq!(drain_events(&mut p.coord).len(), 1);
    }
    p.host.handle_bytes(p.now, &drain_tx(&mut p.coord));
    // Acked, but the outcomes are not polled yet: still full.
    assert_eq!(p.host.send(p.now, r), Err(LinkError::WindowFull));
    assert_eq!(drain_events(&mut p.host).len(), 4);
    assert!(p.host.send(p.now, r).is_ok());
}

#[test]
fn receiver_backpressure_leaves_frames_unacked() {
    let mut p = Pair::connected();
    let r = &sample_requests()[2];
    for _ in 0..3 {
        p.host.send(p.now, r).unwrap();
    }
    p.coord.handle_bytes(p.now, &drain_tx(&mut p.host));
    // RXQ = 2: the third is dropped, not acked.
    assert_eq!(p.coord.counters().rx_dropped_busy, 1);
    p.host.handle_bytes(p.now, &drain_tx(&mut p.coord));
    assert_eq!(drain_events(&mut p.host).len(), 2);
    assert_eq!(drain_events(&mut p.coord).len(), 2);
    p.advance(1000);
    p.pump();
    assert_eq!(p.coord_events, [LinkEvent::Received(r.clone())]);
}

#[test]
fn unknown_variant_from_a_newer_peer_is_rejected_not_fatal() {
    let mut p = Pair::connected();
    // A Data frame carrying Command tag 13, as a newer host would send it, with seq 0.
    p.coord.handle_bytes(p.now, &wire_from_body(&[0x03, 0x00, 0x2A, 0x0D, 0x01, 0x02]));
    let ev = drain_events(&mut p.coord);
    assert!(matches!(ev[..], [LinkEvent::ProtocolError {
        error: ProtocolError::Frame(FrameError::Unsupported { seq: Some(0) }),
        counters,
    }] if counters.unsupported == 1));
    let reply = drain_tx(&mut p.coord);
    assert_eq!(
        unwrap_frame::<Report>(&reply),
        Ok(Incoming::Packet(Packet::Error(LinkFault {
            code: LinkErrorCode::UNSUPPORTED,
            seq: Some(0)
        })))
    );
    // Its retransmission gets the same answer; the sequence number was used up, so the next
    // frame (seq 1) is delivered.
    p.coord.handle_bytes(p.now, &wire_from_body(&[0x03, 0x00, 0x2A, 0x0D, 0x01, 0x02]));
    assert_eq!(drain_tx(&mut p.coord), reply);
    let next = Packet::Data { seq: 1, msg: sample_requests()[10].clone() };
    p.coord.handle_bytes(p.now, &wire_of(&next));
    assert!(
        drain_events(&mut p.coord).contains(&LinkEvent::Received(sample_requests()[10].clone()))
    );
}

#[test]
fn sender_learns_of_rejection() {
    let mut p = Pair::connected();
    let seq = p.host.send(p.now, &sample_requests()[2]).unwrap();
    drain_tx(&mut p.host);
    let fault =
        Packet::<Report>::Error(LinkFault { code: LinkErrorCode::UNSUPPORTED, seq: Some(seq.0) });
    p.host.handle_bytes(p.now, &wire_of(&fault));
    assert_eq!(
        drain_events(&mut p.host),
        [LinkEvent::Failed { seq, reason: FailReason::Rejected(LinkErrorCode::UNSUPPORTED) }]
    );
    assert_eq!(p.host.poll_timeout(), None);
}

#[test]
fn garbage_is_counted_and_answered_only_when_intact() {
    let mut p = Pair::connected();
    // A run cut by a delimiter, then two well-framed frames with wrong CRCs.
    p.coord.handle_bytes(p.now, &[0x55; 40]);
    p.coord.handle_bytes(
        p.now,
        &[0x00, 0x05, 0x11, 0x22, 0x33, 0x44, 0x00, 0x04, 0x11, 0x22, 0x33, 0x00],
    );
    let c = *p.coord.counters();
    assert_eq!((c.crc_errors, c.cobs_errors), (2, 1), "{c:?}");
    assert!(drain_tx(&mut p.coord).is_empty(), "no reply to damaged frames");
    // One coalesced protocol-error event.
    assert_eq!(drain_events(&mut p.coord).len(), 1);
    // Intact but undecodable: answered.
    p.coord.handle_bytes(p.now, &wire_from_body(&[0x09]));
    assert!(!drain_tx(&mut p.coord).is_empty());
    assert!(p.coord.is_connected());
}

#[test]
fn peer_restart_fails_pending_and_resyncs() {
    let mut p = Pair::connected();
    let seq = p.host.send(p.now, &sample_requests()[2]).unwrap();
    drain_tx(&mut p.host); // lost
                           // The coordinator reboots.
    p.coord = CoordinatorEndpoint::new(LinkConfig::new(coordinator_node(), 0x9000));
    p.pump();
    assert_eq!(
        p.host_events,
        [
            LinkEvent::Failed { seq, reason: FailReason::SessionEnded },
            LinkEvent::Disconnected,
            LinkEvent::Connected(*p.host.peer().unwrap()),
        ]
    );
    // Retransmitted Hellos of the same session do not reset again.
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        node: coordinator_node(),
        session: 0x9000,
        first_seq: 0,
    };
    p.host.handle_bytes(p.now, &wire_of(&Packet::<Report>::Hello(hello)));
    assert!(drain_events(&mut p.host).is_empty());
    let seq = p.host.send(p.now, &sample_requests()[3]).unwrap();
    p.pump();
    assert!(p.host_events.contains(&LinkEvent::Acked(seq)));
}

/// A coordinator that reboots with the same session seed (a misconfiguration: no RNG, no boot
/// counter) looks like a retransmitted Hello; the sequence-number mismatch is detected and both
/// ends resynchronise within a few retransmission timeouts.
#[test]
fn reboot_with_the_same_session_seed_recovers() {
    let mut p = Pair::connected();
    // Both ends have sent a few frames, so their sequence numbers have moved on.
    for (q, r) in sample_requests()[..3].iter().zip(sample_reports()) {
        p.host.send(p.now, q).unwrap();
        p.coord.send(p.now, &r).unwrap();
        p.pump();
    }
    p.host_events.clear();
    p.coord = CoordinatorEndpoint::new(LinkConfig::new(coordinator_node(), 0x2000));
    let report = sample_reports().remove(4);
    let request = sample_requests().remove(5);
    let (mut report_sent, mut request_sent) = (false, false);
    let (mut report_got, mut request_got) = (false, false);
    for _ in 0..100 {
        p.pump();
        if !report_sent && p.coord.is_connected() {
            report_sent = p.coord.send(p.now, &report).is_ok();
        }
        if !request_sent && p.host.is_connected() {
            request_sent = p.host.send(p.now, &request).is_ok();
        }
        // Failed frames are sent again by the applications, as the gateway and firmware would.
        for e in p.host_events.drain(..) {
            match e {
                LinkEvent::Received(r) => report_got |= r == report,
                LinkEvent::Failed { .. } => request_sent = false,
                _ => {}
            }
        }
        for e in p.coord_events.drain(..) {
            match e {
                LinkEvent::Received(r) => request_got |= r == request,
                LinkEvent::Failed { .. } => report_sent = false,
                _ => {}
            }
        }
        if report_got && request_got {
            break;
        }
        p.advance(100);
    }
    assert!(report_got && request_got, "{} ms", p.now);
    assert!(p.now <= 1000, "{} ms", p.now);
    assert!(p.host.counters().desyncs + p.coord.counters().desyncs > 0);
    assert!(p.host.counters().sessions >= 2, "{:?}", p.host.counters());
}

#[test]
fn datagrams_are_unacknowledged() {
    let mut p = Pair::connected();
    let hb = Report::Heartbeat(Heartbeat {
        uptime_s: 5,
        utc: 0,
        counters: HeartbeatCounters::default(),
    });
    let mut buf = [0u8; MAX_WIRE_LEN];
    assert_eq!(p.coord.send_unreliable(&hb, &mut buf[..10]), Err(LinkError::BufferTooSmall));
    let n = p.coord.send_unreliable(&hb, &mut buf).unwrap();
    let before = p.host.counters().frames_tx;
    p.host.handle_bytes(p.now, &buf[..n]);
    p.pump();
    assert_eq!(p.host_events, [LinkEvent::Received(hb)]);
    assert_eq!(p.host.counters().frames_tx, before, "nothing sent back");
}
