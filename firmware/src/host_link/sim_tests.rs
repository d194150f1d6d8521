//! Deterministic simulation of a lossy serial link between a host and a coordinator endpoint.
//!
//! One seed decides everything: frame loss, byte corruption, duplication, garbage between
//! frames, latency, how received bytes are chunked, and when the applications "stall" (do not
//! poll events). Time is virtual, in 1 ms ticks. The wire keeps byte order (a serial line does
//! not reorder). A failure prints the seed and the tick.

use super::frame::{decode_raw, Feed, FrameDecoder, Incoming};
use super::testutil::*;
use super::*;
use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;

/// xorshift64* — small, seedable, no extra crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

#[derive(Clone, Copy)]
struct Faults {
    drop: u64,
    corrupt: u64,
    duplicate: u64,
    garbage: u64,
    stall: u64,
    max_latency_ms: u64,
}

const CLEAN: Faults =
    Faults { drop: 0, corrupt: 0, duplicate: 0, garbage: 0, stall: 0, max_latency_ms: 3 };

/// One direction of the serial line.
#[derive(Default)]
struct Wire {
    queue: VecDeque<(u64, Vec<u8>)>,
    last_at: u64,
    /// Transmissions of each `Data` sequence number, read from the frames as sent.
    data_tx: BTreeMap<u16, u32>,
    decoder: Option<FrameDecoder<MAX_RAW_LEN>>,
}

impl Wire {
    fn send<M: Message>(&mut self, rng: &mut Rng, f: Faults, now: u64, frame: &[u8]) {
        let dec = self.decoder.get_or_insert_with(FrameDecoder::new);
        for &b in frame {
            if let Feed::Frame(_) = dec.feed(b) {
                if let Ok(Incoming::Packet(Packet::Data { seq, .. })) = decode_raw::<M>(dec.frame())
                {
                    *self.data_tx.entry(seq).or_default() += 1;
                }
            }
        }
        if rng.chance(f.drop) {
            return;
        }
        let mut bytes = Vec::new();
        if rng.chance(f.garbage) {
            bytes.extend((0..=rng.below(40)).map(|_| rng.next() as u8));
        }
        bytes.extend_from_slice(frame);
        if rng.chance(f.corrupt) {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 + rng.below(255) as u8;
        }
        let at = self.last_at.max(now + 1 + rng.below(f.max_latency_ms));
        self.last_at = at;
        if rng.chance(f.duplicate) {
            self.queue.push_back((at, bytes.clone()));
        }
        self.queue.push_back((at, bytes));
    }

    fn due(&mut self, now: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(at, _)| *at <= now) {
            out.extend(self.queue.pop_front().unwrap().1);
        }
        out
    }
}

/// One application: what it sent, what it got, what it learned about its frames.
struct App<Tx, Rx> {
    to_send: VecDeque<Tx>,
    sent: Vec<Tx>,
    pending: BTreeMap<u16, usize>,
    acked: Vec<usize>,
    failed: Vec<usize>,
    received: Vec<Rx>,
    heartbeats: usize,
    connects: usize,
}

impl<Tx: Message + Clone, Rx: Message> App<Tx, Rx> {
    fn new(msgs: Vec<Tx>) -> Self {
        Self {
            to_send: msgs.into(),
            sent: Vec::new(),
            pending: BTreeMap::new(),
            acked: Vec::new(),
            failed: Vec::new(),
            received: Vec::new(),
            heartbeats: 0,
            connects: 0,
        }
    }

    fn poll(&mut self, ep: &mut LinkEndpoint<Tx, Rx>, is_heartbeat: impl Fn(&Rx) -> bool) {
        while let Some(ev) = ep.poll_event() {
            match ev {
                LinkEvent::Received(m) if is_heartbeat(&m) => self.heartbeats += 1,
                LinkEvent::Received(m) => self.received.push(m),
                LinkEvent::Acked(s) => self.acked.push(self.pending.remove(&s.0).unwrap()),
                LinkEvent::Failed { seq, .. } => {
                    self.failed.push(self.pending.remove(&seq.0).unwrap());
                }
                LinkEvent::Connected(_) => self.connects += 1,
                LinkEvent::Refused { .. } => panic!("refused"),
                LinkEvent::Disconnected | LinkEvent::ProtocolError { .. } => {}
            }
        }
    }

    fn send(&mut self, now: u64, ep: &mut LinkEndpoint<Tx, Rx>) {
        while let Some(m) = self.to_send.front() {
            match ep.send(now, m) {
                Ok(seq) => {
                    self.pending.insert(seq.0, self.sent.len());
                    self.sent.push(self.to_send.pop_front().unwrap());
                }
                Err(LinkError::WindowFull | LinkError::NotConnected) => return,
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    fn settled(&self) -> bool {
        self.to_send.is_empty() && self.pending.is_empty()
    }
}

fn report(i: u32) -> Report {
    match i % 4 {
        0 => Report::Result(RequestResult {
            request_id: i,
            code: ResultCode::SUCCESS,
            detail: ResultDetail::Deliveries { count: 3 },
        }),
        1 => Report::DeviceList(DeviceList {
            request_id: i,
            capacity: 16,
            entries: (0..16)
                .map(|s| DeviceEntry {
                    slot: s,
                    eui64: Eui64(u64::MAX - u64::from(s)),
                    state: DeviceState::KEY_ESTABLISHED,
                    last_seen: i,
                    lqi: 200,
                    join_deadline: 0,
                })
                .collect(),
        }),
        2 => Report::DeliveryResult(DeliveryResult {
            request_id: i,
            eui64: Eui64(7),
            outcome: DeliveryOutcome::Timeout { retries: 3 },
        }),
        _ => Report::EventStatus(EventStatus {
            issuer_event_id: i,
            eui64: Eui64(9),
            event_status: EventStatus::OPT_OUT,
            event_status_time: i,
            criticality_level_applied: 3,
            cooling_temperature_set_point_applied: i16::MIN,
            heating_temperature_set_point_applied: i16::MIN,
            average_load_adjustment_percentage_applied: i8::MIN,
            duty_cycle_applied: 0xFF,
            event_control: 0,
        }),
    }
}

fn requests(n: u32) -> Vec<Request> {
    let samples = sample_requests();
    (0..n)
        .map(|i| Request {
            request_id: i,
            command: samples[i as usize % samples.len()].command.clone(),
        })
        .collect()
}

fn is_heartbeat(r: &Report) -> bool {
    matches!(r, Report::Heartbeat(_))
}

/// `got` is `sent` with some items missing, in the same order, nothing repeated.
fn is_ordered_subset<T: PartialEq>(got: &[T], sent: &[T]) -> bool {
    let mut it = sent.iter();
    got.iter().all(|g| it.any(|s| s == g))
}

struct Sim {
    seed: u64,
    rng: Rng,
    now: u64,
    host: HostEndpoint,
    coord: CoordinatorEndpoint,
    h2c: Wire,
    c2h: Wire,
    host_app: App<Request, Report>,
    coord_app: App<Report, Request>,
    heartbeats_sent: usize,
}

impl Sim {
    fn new(seed: u64, retries: u8, n: u32) -> Self {
        let mut hc = LinkConfig::new(host_node(), seed as u32);
        let mut cc = LinkConfig::new(coordinator_node(), (seed >> 32) as u32 ^ 0x5555);
        for c in [&mut hc, &mut cc] {
            c.max_retries = retries;
            c.retransmit_timeout_ms = 60;
            c.hello_interval_ms = 200;
        }
        Self {
            seed,
            rng: Rng::new(seed),
            now: 0,
            host: HostEndpoint::new(hc),
            coord: CoordinatorEndpoint::new(cc),
            h2c: Wire::default(),
            c2h: Wire::default(),
            host_app: App::new(requests(n)),
            coord_app: App::new((0..n).map(report).collect()),
            heartbeats_sent: 0,
        }
    }

    /// Feeds `bytes` to an endpoint in random-sized pieces.
    fn feed<Tx: Message, Rx: Message>(
        rng: &mut Rng,
        now: u64,
        ep: &mut LinkEndpoint<Tx, Rx>,
        mut bytes: &[u8],
    ) {
        while !bytes.is_empty() {
            let n = (1 + rng.below(64) as usize).min(bytes.len());
            ep.handle_bytes(now, &bytes[..n]);
            bytes = &bytes[n..];
        }
    }

    fn tick(&mut self, f: Faults) {
        self.now += 1;
        let now = self.now;
        let to_coord = self.h2c.due(now);
        Self::feed(&mut self.rng, now, &mut self.coord, &to_coord);
        let to_host = self.c2h.due(now);
        Self::feed(&mut self.rng, now, &mut self.host, &to_host);
        for t in [self.host.poll_timeout(), self.coord.poll_timeout()] {
            assert!(t.is_none_or(|t| t >= now - 1), "seed {} tick {now}: timer missed", self.seed);
        }
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
        if self.coord.poll_timeout().is_some_and(|t| t <= now) {
            self.coord.handle_timeout(now);
        }
        if !self.rng.chance(f.stall) {
            self.host_app.poll(&mut self.host, is_heartbeat);
            self.host_app.send(now, &mut self.host);
        }
        if !self.rng.chance(f.stall) {
            self.coord_app.poll(&mut self.coord, |_| false);
            self.coord_app.send(now, &mut self.coord);
        }
        let mut buf = [0u8; MAX_WIRE_LEN];
        if now.is_multiple_of(97) && self.coord.is_connected() {
            let hb = Report::Heartbeat(Heartbeat {
                uptime_s: (now / 1000) as u32,
                utc: 0,
                counters: HeartbeatCounters::default(),
            });
            let n = self.coord.send_unreliable(&hb, &mut buf).unwrap();
            self.c2h.send::<Report>(&mut self.rng, f, now, &buf[..n]);
            self.heartbeats_sent += 1;
        }
        while let Some(n) = self.host.poll_transmit(&mut buf) {
            self.h2c.send::<Request>(&mut self.rng, f, now, &buf[..n]);
        }
        while let Some(n) = self.coord.poll_transmit(&mut buf) {
            self.c2h.send::<Report>(&mut self.rng, f, now, &buf[..n]);
        }
    }

    fn run_until_settled(&mut self, f: Faults, limit: u64) {
        let end = self.now + limit;
        while !(self.host_app.settled() && self.coord_app.settled()) {
            assert!(self.now < end, "seed {}: not settled by tick {}", self.seed, self.now);
            self.tick(f);
        }
        // Let the last acks and deliveries drain.
        for _ in 0..500 {
            self.tick(CLEAN);
        }
    }

    /// Every `Data` frame was put on the wire at most 1 + max_retries times.
    fn report(&self) {
        std::println!(
            "seed {:#x}: {} ticks, host {:?} {:?}, coord {:?}",
            self.seed,
            self.now,
            (self.host_app.acked.len(), self.host_app.failed.len(), self.host_app.connects),
            self.host.counters(),
            self.coord.counters()
        );
    }

    fn assert_retries_bounded(&self, retries: u8) {
        for w in [&self.h2c, &self.c2h] {
            let worst = w.data_tx.values().max().copied().unwrap_or(0);
            assert!(worst <= 1 + u32::from(retries), "seed {}: {worst} transmissions", self.seed);
        }
    }
}

#[test]
fn lossy_link_delivers_every_message_exactly_once_in_order() {
    let faults =
        Faults { drop: 50, corrupt: 30, duplicate: 30, garbage: 20, stall: 50, max_latency_ms: 15 };
    for seed in [1, 0xDEAD_BEEF, 0x1234_5678_9ABC_DEF0] {
        let mut sim = Sim::new(seed, 10, 300);
        sim.run_until_settled(faults, 400_000);
        sim.report();
        let (h, c) = (&sim.host_app, &sim.coord_app);
        assert!(h.failed.is_empty() && c.failed.is_empty(), "seed {seed}: failures");
        assert_eq!(c.received, h.sent, "seed {seed}: host → coordinator");
        assert_eq!(h.received, c.sent, "seed {seed}: coordinator → host");
        assert_eq!(h.acked.len(), 300);
        assert_eq!(c.acked.len(), 300);
        assert!(h.heartbeats > 0 && sim.heartbeats_sent > 0);
        sim.assert_retries_bounded(10);
        // The faults were really exercised.
        let (hc, cc) = (sim.host.counters(), sim.coord.counters());
        assert!(hc.crc_errors + cc.crc_errors > 0, "seed {seed}");
        assert!(hc.duplicates + cc.duplicates > 0, "seed {seed}");
        assert!(hc.retransmissions + cc.retransmissions > 0, "seed {seed}");
        assert!(hc.rx_dropped_busy + cc.rx_dropped_busy > 0, "seed {seed}");
        assert_eq!(hc.retries_exhausted + cc.retries_exhausted, 0);
        assert_eq!((h.connects, c.connects), (1, 1), "seed {seed}: one session");
    }
}

#[test]
fn heavy_loss_fails_bounded_then_recovers() {
    let heavy = Faults {
        drop: 350,
        corrupt: 100,
        duplicate: 50,
        garbage: 50,
        stall: 100,
        max_latency_ms: 30,
    };
    for seed in [7, 0xC0FFEE] {
        let mut sim = Sim::new(seed, 3, 200);
        sim.run_until_settled(heavy, 2_000_000);
        sim.report();
        let (h, c) = (&sim.host_app, &sim.coord_app);
        assert!(!h.failed.is_empty() || !c.failed.is_empty(), "seed {seed}: no failures");
        assert!(h.connects > 1 && c.connects > 1, "seed {seed}: no session restart");
        sim.assert_retries_bounded(3);
        // Whatever arrived arrived once and in order; whatever was acked arrived.
        assert!(is_ordered_subset(&c.received, &h.sent), "seed {seed}");
        assert!(is_ordered_subset(&h.received, &c.sent), "seed {seed}");
        for &i in &h.acked {
            assert!(c.received.contains(&h.sent[i]), "seed {seed}: acked but lost");
        }
        for &i in &c.acked {
            assert!(h.received.contains(&c.sent[i]), "seed {seed}: acked but lost");
        }
        // Once the line is clean again, a new batch goes through completely.
        let (h_before, c_before) = (c.received.len(), h.received.len());
        sim.host_app.to_send.extend(requests(20));
        sim.coord_app.to_send.extend((1000..1020).map(report));
        sim.run_until_settled(CLEAN, 100_000);
        let (h, c) = (&sim.host_app, &sim.coord_app);
        assert_eq!(c.received[h_before..], h.sent[h.sent.len() - 20..], "seed {seed}");
        assert_eq!(h.received[c_before..], c.sent[c.sent.len() - 20..], "seed {seed}");
    }
}
