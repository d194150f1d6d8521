//! The serial line between the gateway (host) and one ESI, in virtual time: bytes are paced at
//! the baud rate (8N1: 10 bit times per byte), so throughput is what a real UART gives, and the
//! fault plan drops or corrupts single bytes. An "unplugged" line loses everything written to
//! it until it is plugged back.
//!
//! The line only moves bytes; who writes and reads them (the coordinator, an in-process host,
//! a pseudo-terminal) is the simulator's business.

use crate::faults::SerialFaults;
use crate::rng::SimRng;
use std::collections::VecDeque;

/// Default bit rate (design.md §3).
pub const DEFAULT_BAUD: u32 = 115_200;

/// One direction.
#[derive(Debug, Default)]
struct Pipe {
    /// (virtual ns the byte has fully arrived, byte).
    queue: VecDeque<(u64, u8)>,
    /// When the line is free for the next byte, ns.
    busy_until: u64,
}

/// Line counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SerialCounters {
    pub bytes_to_node: u64,
    pub bytes_to_host: u64,
    pub dropped: u64,
    pub corrupted: u64,
    /// Bytes written while unplugged.
    pub lost_unplugged: u64,
}

/// A full-duplex serial line.
#[derive(Debug)]
pub struct SerialLine {
    /// Nanoseconds per byte.
    byte_ns: u64,
    to_node: Pipe,
    to_host: Pipe,
    rng: SimRng,
    pub faults: SerialFaults,
    /// Unplugged until this virtual ms.
    down_until: Option<u64>,
    pub counters: SerialCounters,
}

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToNode,
    ToHost,
}

impl SerialLine {
    pub fn new(baud: u32, rng: SimRng, faults: SerialFaults) -> Self {
        let byte_ns = 10_000_000_000 / u64::from(baud.max(1));
        Self {
            byte_ns,
            to_node: Pipe::default(),
            to_host: Pipe::default(),
            rng,
            faults,
            down_until: None,
            counters: SerialCounters::default(),
        }
    }

    /// Bytes per second the line carries.
    pub fn bytes_per_second(&self) -> u64 {
        1_000_000_000 / self.byte_ns.max(1)
    }

    pub fn is_up(&self, now: u64) -> bool {
        self.down_until.is_none_or(|t| t <= now)
    }

    /// Unplugs the line until `until` (virtual ms); bytes in transit are lost.
    pub fn unplug(&mut self, until: u64) {
        self.down_until = Some(until);
        for pipe in [&mut self.to_node, &mut self.to_host] {
            self.counters.lost_unplugged += pipe.queue.len() as u64;
            pipe.queue.clear();
        }
    }

    /// Writes bytes at virtual `now` (ms).
    pub fn write(&mut self, now: u64, dir: Direction, bytes: &[u8]) {
        if !self.is_up(now) {
            self.counters.lost_unplugged += bytes.len() as u64;
            return;
        }
        let pipe = match dir {
            Direction::ToNode => &mut self.to_node,
            Direction::ToHost => &mut self.to_host,
        };
        let mut t = pipe.busy_until.max(now * 1_000_000);
        for &b in bytes {
            t += self.byte_ns;
            // Fixed number of draws per byte (replay does not depend on the probabilities).
            let drop = self.rng.chance(self.faults.drop);
            let corrupt = self.rng.chance(self.faults.corruption);
            let bit = self.rng.below(8) as u8;
            if drop {
                self.counters.dropped += 1;
                continue;
            }
            let b = if corrupt {
                self.counters.corrupted += 1;
                b ^ (1 << bit)
            } else {
                b
            };
            pipe.queue.push_back((t, b));
        }
        pipe.busy_until = t;
        match dir {
            Direction::ToNode => self.counters.bytes_to_node += bytes.len() as u64,
            Direction::ToHost => self.counters.bytes_to_host += bytes.len() as u64,
        }
    }

    /// The bytes that have fully arrived by `now` (ms).
    pub fn read(&mut self, now: u64, dir: Direction) -> Vec<u8> {
        let pipe = match dir {
            Direction::ToNode => &mut self.to_node,
            Direction::ToHost => &mut self.to_host,
        };
        let limit = now.saturating_mul(1_000_000);
        let mut out = Vec::new();
        while let Some(&(t, b)) = pipe.queue.front() {
            if t > limit {
                break;
            }
            out.push(b);
            pipe.queue.pop_front();
        }
        out
    }

    /// When the next byte arrives (ms, rounded up), or the line comes back.
    pub fn poll_timeout(&self) -> Option<u64> {
        let next = [&self.to_node, &self.to_host]
            .into_iter()
            .filter_map(|p| p.queue.front().map(|&(t, _)| t.div_ceil(1_000_000)))
            .min();
        [next, self.down_until].into_iter().flatten().min()
    }

    /// Ends an unplug that is over.
    pub fn plug_if_due(&mut self, now: u64) -> bool {
        if self.down_until.is_some_and(|t| t <= now) {
            self.down_until = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_bytes_at_the_baud_rate() {
        let mut l = SerialLine::new(115_200, SimRng::new(1), SerialFaults::default());
        assert_eq!(l.bytes_per_second(), 11_520);
        l.write(0, Direction::ToHost, &[0xAA; 1152]);
        // 1152 bytes need 100 ms.
        assert_eq!(l.read(50, Direction::ToHost).len(), 576);
        assert_eq!(l.poll_timeout(), Some(51));
        assert_eq!(l.read(100, Direction::ToHost).len(), 576);
        assert_eq!(l.poll_timeout(), None);
        assert!(l.read(1000, Direction::ToNode).is_empty());
    }

    #[test]
    fn faults_and_unplug() {
        let faults = SerialFaults { drop: 1.0, corruption: 0.0 };
        let mut l = SerialLine::new(115_200, SimRng::new(1), faults);
        l.write(0, Direction::ToNode, &[1, 2, 3]);
        assert!(l.read(10, Direction::ToNode).is_empty());
        assert_eq!(l.counters.dropped, 3);
        l.faults = SerialFaults { drop: 0.0, corruption: 1.0 };
        l.write(10, Direction::ToNode, &[0]);
        assert_eq!(l.read(20, Direction::ToNode)[0].count_ones(), 1);
        l.unplug(100);
        assert!(!l.is_up(50));
        l.write(50, Direction::ToHost, &[9]);
        assert_eq!(l.counters.lost_unplugged, 1);
        assert_eq!(l.poll_timeout(), Some(100));
        assert!(l.plug_if_due(100));
        assert!(l.is_up(100));
    }
}
