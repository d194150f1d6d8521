//! The virtual 802.15.4 medium: frames between the ESIs' radios and the HAN devices, with the
//! fault plan's loss, delay and corruption applied per transmission.
//!
//! Each ESI runs its own PAN; a frame is heard only by its addressee (one hop, no routing). A
//! frame takes `base_latency_ms` plus the plan's random extra delay; frames from one sender to
//! one receiver keep their order unless the plan adds delay. A corrupted frame is captured as
//! corrupted and then dropped by the receiver, as the 802.15.4 FCS (or the NWK MIC) would drop
//! it. Every transmission, lost or not, goes to the capture (a sniffer next to the sender).
//!
//! APS reliability (acknowledgement, retransmission, duplicate rejection) is the stations'
//! business: see [`ApsRetry`] and [`ApsDedupe`].

use crate::faults::RadioFaults;
use crate::pcap::Capture;
use crate::rng::SimRng;
use firmware::esi::ApsSecurity;
use std::collections::{BTreeMap, VecDeque};
use zse::zcl::{ClusterId, Eui64};

/// One-hop latency of an unfaulted frame (a 50-byte frame at 250 kbit/s is ~2 ms on air, plus
/// CSMA backoff and the receiver's processing).
pub const BASE_LATENCY_MS: u64 = 4;
/// apsAckWaitDuration for a one-hop network (ZigBee PRO: 0.05 s × 2 × nwkMaxDepth + security
/// processing), rounded to what stacks use.
pub const APS_ACK_WAIT_MS: u64 = 1_600;
/// apscMaxFrameRetries.
pub const APS_MAX_RETRIES: u8 = 3;

/// Something on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Station {
    /// The radio of ESI `n` (NWK address 0x0000 of its PAN).
    Esi(usize),
    /// HAN device `n` (index into the simulator's device list).
    Device(usize),
}

/// The APS part of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AirBody {
    Data {
        src_endpoint: u8,
        dst_endpoint: u8,
        cluster: ClusterId,
        profile: u16,
        aps_counter: u8,
        ack_requested: bool,
        security: ApsSecurity,
        /// The ZCL frame.
        zcl: Vec<u8>,
    },
    /// APS acknowledgement of the data frame with `aps_counter`.
    Ack { src_endpoint: u8, dst_endpoint: u8, cluster: ClusterId, profile: u16, aps_counter: u8 },
}

/// One frame on the air.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirFrame {
    pub pan_id: u16,
    pub from: Station,
    pub to: Station,
    pub src_short: u16,
    pub dst_short: u16,
    /// The sender's EUI-64 (carried in the NWK header).
    pub src_eui64: Eui64,
    /// The addressee's EUI-64, when the sender knows it (captures use it to pick the link key).
    pub dst_eui64: Option<Eui64>,
    pub mac_seq: u8,
    pub nwk_seq: u8,
    pub body: AirBody,
}

/// A frame that reached its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub frame: AirFrame,
    /// Link quality the receiver measured.
    pub lqi: u8,
}

/// Medium counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediumCounters {
    pub transmitted: u64,
    pub lost: u64,
    pub corrupted: u64,
    pub delayed: u64,
    pub delivered: u64,
}

/// The shared air.
#[derive(Debug)]
pub struct Medium {
    rng: SimRng,
    pub faults: RadioFaults,
    /// Frames in flight by (arrival time, transmission number): a deterministic order.
    in_flight: BTreeMap<(u64, u64), AirFrame>,
    /// Last arrival time per (sender, receiver), to keep per-link order without extra delay.
    last_arrival: BTreeMap<(Station, Station), u64>,
    next_id: u64,
    pub counters: MediumCounters,
    capture: Option<Capture>,
}

impl Medium {
    pub fn new(rng: SimRng, faults: RadioFaults) -> Self {
        Self {
            rng,
            faults,
            in_flight: BTreeMap::new(),
            last_arrival: BTreeMap::new(),
            next_id: 0,
            counters: MediumCounters::default(),
            capture: None,
        }
    }

    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    pub fn capture_mut(&mut self) -> Option<&mut Capture> {
        self.capture.as_mut()
    }

    /// Puts a frame on the air at `now`.
    pub fn transmit(&mut self, now: u64, frame: AirFrame) {
        self.counters.transmitted += 1;
        // Always draw the same number of values per frame, so a change of one probability
        // does not shift every later draw.
        let lost = self.rng.chance(self.faults.loss);
        let corrupt = self.rng.chance(self.faults.corruption);
        let corrupt_pick = self.rng.next_u64();
        let delayed = self.rng.chance(self.faults.delay_probability);
        let extra = self.rng.range(1, self.faults.delay_max_ms.max(1));
        let corruption = corrupt.then_some(corrupt_pick);
        if let Some(c) = self.capture.as_mut() {
            c.record(now, &frame, corruption);
        }
        if lost {
            self.counters.lost += 1;
            return;
        }
        if corrupt {
            // The receiver's FCS check drops it.
            self.counters.corrupted += 1;
            return;
        }
        let link = (frame.from, frame.to);
        let mut at = now + BASE_LATENCY_MS;
        if delayed && self.faults.delay_max_ms > 0 {
            self.counters.delayed += 1;
            at += extra;
        } else if let Some(&last) = self.last_arrival.get(&link) {
            at = at.max(last);
        }
        self.last_arrival.insert(link, at);
        self.next_id += 1;
        self.in_flight.insert((at, self.next_id), frame);
    }

    /// When the next frame arrives.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.in_flight.keys().next().map(|k| k.0)
    }

    /// The next frame due at or before `now`.
    pub fn poll_delivery(&mut self, now: u64) -> Option<Delivery> {
        let (&key, _) = self.in_flight.iter().next().filter(|(k, _)| k.0 <= now)?;
        let frame = self.in_flight.remove(&key)?;
        self.counters.delivered += 1;
        let lqi = lqi_of(frame.from, frame.to);
        Some(Delivery { frame, lqi })
    }

    /// Drops every frame in flight to or from `station` (it lost power or left).
    pub fn purge(&mut self, station: Station) {
        self.in_flight.retain(|_, f| f.from != station && f.to != station);
    }
}

/// A fixed link quality per link, so captures and device lists are stable.
fn lqi_of(from: Station, to: Station) -> u8 {
    let n = match (from, to) {
        (Station::Device(d), _) | (_, Station::Device(d)) => d as u64,
        _ => 0,
    };
    200 + (n.wrapping_mul(37) % 56) as u8
}

/// APS acknowledged transmissions of one station: retransmit after [`APS_ACK_WAIT_MS`], give
/// up after [`APS_MAX_RETRIES`] retransmissions. `T` tags a transmission for its confirm.
#[derive(Debug)]
pub struct ApsRetry<T> {
    pending: Vec<Pending<T>>,
}

#[derive(Debug)]
struct Pending<T> {
    tag: T,
    frame: AirFrame,
    retries: u8,
    deadline: u64,
}

/// What `ApsRetry::handle_timeout` decided.
#[derive(Debug)]
pub enum RetryStep<T> {
    /// Send this frame again.
    Resend(AirFrame),
    /// No acknowledgement after the last retry.
    Failed(T),
}

impl<T: Copy> ApsRetry<T> {
    pub fn new() -> Self {
        Self { pending: Vec::new() }
    }

    /// Remembers a frame just sent that asked for an acknowledgement.
    pub fn sent(&mut self, now: u64, tag: T, frame: AirFrame) {
        self.pending.push(Pending { tag, frame, retries: 0, deadline: now + APS_ACK_WAIT_MS });
    }

    /// An acknowledgement arrived from `from` for `aps_counter`: the matching tag.
    pub fn acked(&mut self, from: Station, aps_counter: u8) -> Option<T> {
        let i = self.pending.iter().position(|p| {
            p.frame.to == from
                && matches!(p.frame.body, AirBody::Data { aps_counter: c, .. } if c == aps_counter)
        })?;
        Some(self.pending.remove(i).tag)
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Retransmissions and failures due at `now`, in send order.
    pub fn handle_timeout(&mut self, now: u64) -> VecDeque<RetryStep<T>> {
        let mut out = VecDeque::new();
        let mut i = 0;
        while let Some(p) = self.pending.get_mut(i) {
            if p.deadline > now {
                i += 1;
                continue;
            }
            if p.retries >= APS_MAX_RETRIES {
                let p = self.pending.remove(i);
                out.push_back(RetryStep::Failed(p.tag));
                continue;
            }
            p.retries += 1;
            p.deadline = now + APS_ACK_WAIT_MS;
            out.push_back(RetryStep::Resend(p.frame.clone()));
            i += 1;
        }
        out
    }

    /// Forgets everything (the station restarted or left).
    pub fn clear(&mut self) -> Vec<T> {
        self.pending.drain(..).map(|p| p.tag).collect()
    }
}

impl<T: Copy> Default for ApsRetry<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// APS duplicate rejection: a retransmitted frame (same source and APS counter, seen recently)
/// is acknowledged again but not handed up twice.
#[derive(Debug, Default)]
pub struct ApsDedupe {
    recent: VecDeque<(Station, u8, u64)>,
}

/// How long an (source, counter) pair is remembered (apsDuplicateRejectionTimeout-like).
const DEDUPE_WINDOW_MS: u64 = 10_000;

impl ApsDedupe {
    /// True if the frame is new (and remembers it).
    pub fn is_new(&mut self, now: u64, from: Station, counter: u8) -> bool {
        while self.recent.front().is_some_and(|e| e.2 + DEDUPE_WINDOW_MS < now) {
            self.recent.pop_front();
        }
        if self.recent.iter().any(|e| e.0 == from && e.1 == counter) {
            return false;
        }
        self.recent.push_back((from, counter, now));
        true
    }

    pub fn clear(&mut self) {
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(counter: u8) -> AirFrame {
        AirFrame {
            pan_id: 0x1A62,
            from: Station::Esi(0),
            to: Station::Device(3),
            src_short: 0,
            dst_short: 0x1234,
            src_eui64: Eui64(1),
            dst_eui64: None,
            mac_seq: 0,
            nwk_seq: 0,
            body: AirBody::Data {
                src_endpoint: 1,
                dst_endpoint: 1,
                cluster: ClusterId::MESSAGING,
                profile: 0x0109,
                aps_counter: counter,
                ack_requested: true,
                security: ApsSecurity::LinkKey,
                zcl: vec![0x19, 0x00, 0x00],
            },
        }
    }

    #[test]
    fn clean_medium_delivers_in_order_after_latency() {
        let mut m = Medium::new(SimRng::new(1), RadioFaults::default());
        m.transmit(10, frame(1));
        m.transmit(10, frame(2));
        assert_eq!(m.poll_timeout(), Some(10 + BASE_LATENCY_MS));
        assert!(m.poll_delivery(13).is_none());
        let a = m.poll_delivery(14).unwrap();
        let b = m.poll_delivery(14).unwrap();
        assert_eq!((a.frame, b.frame), (frame(1), frame(2)));
        assert!(a.lqi >= 200);
    }

    #[test]
    fn total_loss_delivers_nothing() {
        let faults = RadioFaults { loss: 1.0, ..RadioFaults::default() };
        let mut m = Medium::new(SimRng::new(1), faults);
        m.transmit(0, frame(1));
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(m.counters.lost, 1);
    }

    #[test]
    fn retry_resends_then_fails_and_ack_stops_it() {
        let mut r = ApsRetry::new();
        r.sent(0, 7u8, frame(1));
        r.sent(0, 8u8, frame(2));
        assert_eq!(r.acked(Station::Device(3), 2), Some(8));
        let mut resent = 0;
        let mut t = 0;
        loop {
            t += APS_ACK_WAIT_MS;
            let steps = r.handle_timeout(t);
            if let Some(RetryStep::Failed(tag)) = steps.front() {
                assert_eq!(*tag, 7);
                break;
            }
            resent += steps.len();
        }
        assert_eq!(resent, usize::from(APS_MAX_RETRIES));
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn dedupe_rejects_repeats_within_the_window() {
        let mut d = ApsDedupe::default();
        assert!(d.is_new(0, Station::Device(1), 5));
        assert!(!d.is_new(100, Station::Device(1), 5));
        assert!(d.is_new(100, Station::Device(2), 5));
        assert!(d.is_new(20_000, Station::Device(1), 5));
    }
}
