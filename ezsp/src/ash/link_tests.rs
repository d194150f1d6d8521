#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::ash::{FLAG, SUBSTITUTE};
use alloc::vec;
use proptest::prelude::*;

struct Pair {
    host: Link,
    ncp: Link,
    now: u64,
    to_host: Vec<Vec<u8>>,
    to_ncp: Vec<Vec<u8>>,
}

impl Pair {
    fn new(cfg: LinkConfig) -> Self {
        let mut p = Self {
            host: Link::new(Role::Host, cfg),
            ncp: Link::new(Role::Ncp, cfg),
            now: 0,
            to_host: vec![],
            to_ncp: vec![],
        };
        p.host.reset(0, ResetCode::SOFTWARE);
        p
    }
    /// Moves bytes until quiet; `mangle` may change or drop each chunk in flight.
    fn run(&mut self, mut mangle: impl FnMut(bool, Vec<u8>) -> Option<Vec<u8>>) {
        for _ in 0..1000 {
            let mut moved = false;
            if let Some(b) = self.host.poll_transmit() {
                moved = true;
                if let Some(b) = mangle(true, b) {
                    self.ncp.handle_bytes(self.now, &b);
                }
            }
            if let Some(b) = self.ncp.poll_transmit() {
                moved = true;
                if let Some(b) = mangle(false, b) {
                    self.host.handle_bytes(self.now, &b);
                }
            }
            while let Some(e) = self.host.poll_event() {
                if let LinkEvent::Data(d) = e {
                    self.to_host.push(d);
                }
            }
            while let Some(e) = self.ncp.poll_event() {
                if let LinkEvent::Data(d) = e {
                    self.to_ncp.push(d);
                }
            }
            if !moved {
                let next =
                    [self.host.poll_timeout(), self.ncp.poll_timeout()].into_iter().flatten().min();
                match next {
                    Some(t) => {
                        self.now = self.now.max(t);
                        self.host.handle_timeout(self.now);
                        self.ncp.handle_timeout(self.now);
                    }
                    None => return,
                }
            }
        }
        panic!("link did not settle");
    }
}

#[test]
fn reset_handshake_and_data() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    assert_eq!(p.host.state(), LinkState::Connected);
    p.host.send(p.now, &[0, 0, 0, 8]).unwrap();
    p.ncp.send(p.now, &[1, 2, 3]).unwrap();
    p.run(|_, b| Some(b));
    assert_eq!(p.to_ncp, vec![vec![0, 0, 0, 8]]);
    assert_eq!(p.to_host, vec![vec![1, 2, 3]]);
    assert_eq!(p.host.pending(), 0);
    assert_eq!(p.ncp.pending(), 0);
}

#[test]
fn host_data_before_rstack_refused() {
    let mut h = Link::new(Role::Host, LinkConfig::default());
    assert_eq!(h.send(0, &[1, 2, 3]), Err(SendError::NotConnected));
}

#[test]
fn lost_frame_is_retransmitted() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.host.send(p.now, b"abc").unwrap();
    let mut dropped = false;
    p.run(|to_ncp, b| {
        if to_ncp && !dropped {
            dropped = true;
            None
        } else {
            Some(b)
        }
    });
    assert_eq!(p.to_ncp, vec![b"abc".to_vec()]);
    assert_eq!(p.host.counters().retransmissions, 1);
}

#[test]
fn lost_ack_gives_duplicate_acked_not_delivered_twice() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.host.send(p.now, b"abc").unwrap();
    let mut dropped = false;
    p.run(|to_ncp, b| {
        if !to_ncp && !dropped {
            dropped = true;
            None
        } else {
            Some(b)
        }
    });
    assert_eq!(p.to_ncp, vec![b"abc".to_vec()]);
    assert_eq!(p.ncp.counters().duplicates, 1);
}

#[test]
fn corrupted_frame_is_naked_and_resent() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.host.send(p.now, b"hello").unwrap();
    let mut done = false;
    p.run(|to_ncp, mut b| {
        if to_ncp && !done {
            done = true;
            b[1] ^= 0x01;
        }
        Some(b)
    });
    assert_eq!(p.to_ncp, vec![b"hello".to_vec()]);
    assert_eq!(p.ncp.counters().naks_sent, 1);
    assert_eq!(p.host.counters().naks_received, 1);
}

#[test]
fn silent_ncp_fails_the_link_after_ack_timeouts() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.host.send(p.now, b"x").unwrap();
    p.run(|to_ncp, b| (!to_ncp).then_some(b));
    assert_eq!(p.host.state(), LinkState::Failed);
    assert_eq!(p.host.counters().retransmissions, 4);
}

#[test]
fn nak_storm_fails_the_link() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.host.send(p.now, b"x").unwrap();
    let _ = p.host.poll_transmit();
    // A peer that NAKs everything (a broken NCP, a line that garbles every frame).
    for i in 0..10 {
        let mut nak = vec![];
        crate::ash::encode(&Frame::Nak { ack_num: 0, not_ready: false }, &mut nak);
        p.host.handle_bytes(p.now + i, &nak);
        let _ = p.host.poll_transmit();
    }
    assert_eq!(p.host.state(), LinkState::Failed);
    assert_eq!(p.host.poll_event(), Some(LinkEvent::Failed(FailReason::AckTimeouts)));
    assert_eq!(p.host.counters().retransmissions, 4);
}

#[test]
fn rst_unanswered_fails() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|to_ncp, b| (!to_ncp).then_some(b));
    assert_eq!(p.host.state(), LinkState::Failed);
}

#[test]
fn ncp_reset_mid_session_is_seen_by_host() {
    let mut p = Pair::new(LinkConfig::default());
    p.run(|_, b| Some(b));
    p.ncp.reset(p.now, ResetCode::POWER_ON);
    let mut ev = vec![];
    if let Some(b) = p.ncp.poll_transmit() {
        p.host.handle_bytes(p.now, &b);
    }
    while let Some(e) = p.host.poll_event() {
        ev.push(e);
    }
    assert_eq!(ev, vec![LinkEvent::Reset(ResetCode::POWER_ON)]);
}

#[test]
fn ncp_error_frame_fails_host() {
    let mut h = Link::new(Role::Host, LinkConfig::default());
    h.reset(0, ResetCode::SOFTWARE);
    let mut wire = vec![];
    crate::ash::encode(&Frame::rst_ack(ResetCode::SOFTWARE), &mut wire);
    crate::ash::encode(&Frame::Error { version: 2, code: ResetCode::ASSERT }, &mut wire);
    h.handle_bytes(1, &wire);
    assert_eq!(h.poll_event(), Some(LinkEvent::Reset(ResetCode::SOFTWARE)));
    assert_eq!(h.poll_event(), Some(LinkEvent::Failed(FailReason::NcpError(ResetCode::ASSERT))));
    assert_eq!(h.state(), LinkState::Failed);
}

#[test]
fn window_of_three_keeps_order() {
    let cfg = LinkConfig { window: 3, ..LinkConfig::default() };
    let mut p = Pair::new(cfg);
    p.run(|_, b| Some(b));
    for i in 0..20u8 {
        p.host.send(p.now, &[i, i, i]).unwrap();
    }
    p.run(|_, b| Some(b));
    assert_eq!(p.to_ncp, (0..20u8).map(|i| vec![i, i, i]).collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Under random chunk loss, byte corruption and Substitute bytes, the link delivers every
    /// frame in order exactly once, or fails (never duplicates, reorders or invents data).
    #[test]
    fn delivers_in_order_or_fails(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..12),
        faults in proptest::collection::vec(0u8..20, 64),
        window in 1u8..=7,
    ) {
        let cfg = LinkConfig { window, ..LinkConfig::default() };
        let mut p = Pair::new(cfg);
        p.run(|_, b| Some(b));
        prop_assume!(p.host.state() == LinkState::Connected);
        for m in &msgs {
            p.host.send(p.now, m).unwrap();
            p.ncp.send(p.now, m).unwrap();
        }
        let mut i = 0usize;
        p.run(|_, mut b| {
            let f = faults[i % faults.len()];
            i += 1;
            match f {
                0 => None,
                1 if !b.is_empty() => { let k = i % b.len(); b[k] ^= 0x5A; Some(b) }
                2 => { b.insert(0, SUBSTITUTE); Some(b) }
                3 => { b.push(FLAG); Some(b) }
                _ => Some(b),
            }
        });
        for (got, state) in [(&p.to_ncp, p.host.state()), (&p.to_host, p.ncp.state())] {
            prop_assert!(got.len() <= msgs.len());
            prop_assert_eq!(&msgs[..got.len()], &got[..]);
            if state == LinkState::Connected {
                prop_assert_eq!(got.len(), msgs.len());
            }
        }
    }
}
