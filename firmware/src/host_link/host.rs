//! Host-side conveniences (feature `host`, needs `std`): a monotonic clock in the endpoint's
//! milliseconds, writing pending frames to any `std::io::Write`, and `std::error::Error` impls.
//! The protocol logic stays in the `no_std` core; nothing here is needed to speak it.

use super::endpoint::LinkError;
use super::frame::{encode_frame, EncodeError, FrameError, Packet, MAX_WIRE_LEN};
use super::{LinkEndpoint, Message};
use core::fmt;
use std::io;
use std::time::{Duration, Instant};
use std::vec::Vec;

/// Milliseconds since the clock was made: the `now` the endpoint wants.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Self { start: Instant::now() }
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long to wait for the endpoint's next timer (`None`: no timer pending).
    pub fn until(&self, deadline_ms: Option<u64>) -> Option<Duration> {
        deadline_ms.map(|d| Duration::from_millis(d.saturating_sub(self.now_ms())))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl<Tx: Message, Rx: Message, const W: usize, const R: usize> LinkEndpoint<Tx, Rx, W, R> {
    /// Writes every frame `poll_transmit` has into `out`; returns the bytes written.
    pub fn transmit_to(&mut self, out: &mut impl io::Write) -> io::Result<usize> {
        let mut buf = [0u8; MAX_WIRE_LEN];
        let mut total = 0;
        while let Some(n) = self.poll_transmit(&mut buf) {
            out.write_all(buf.get(..n).unwrap_or_default())?;
            total += n;
        }
        Ok(total)
    }
}

/// One whole frame as a `Vec`, delimiters included (tests, tools, captures).
pub fn frame_to_vec<M: serde::Serialize>(packet: &Packet<M>) -> Result<Vec<u8>, EncodeError> {
    let mut buf = [0u8; MAX_WIRE_LEN];
    let n = encode_frame(packet, &mut buf)?;
    Ok(buf.get(..n).unwrap_or_default().to_vec())
}

impl std::error::Error for LinkError {}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cobs => f.write_str("bad COBS framing"),
            Self::Oversize => f.write_str("frame too long"),
            Self::Runt => f.write_str("frame too short"),
            Self::Crc => f.write_str("CRC mismatch"),
            Self::Malformed { seq } => write!(f, "undecodable frame (seq {seq:?})"),
            Self::Unsupported { seq } => write!(f, "unsupported frame (seq {seq:?})"),
        }
    }
}

impl std::error::Error for FrameError {}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "buffer too small for the frame",
            Self::Serialize => "message did not serialize",
        })
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::super::testutil::{coordinator_node, host_node};
    use super::super::{CoordinatorEndpoint, HostEndpoint, LinkConfig, LinkEvent};
    use super::*;

    #[test]
    fn transmit_to_a_writer() {
        let clock = Clock::new();
        let mut host = HostEndpoint::new(LinkConfig::new(host_node(), 1));
        let mut coord = CoordinatorEndpoint::new(LinkConfig::new(coordinator_node(), 2));
        let mut wire = Vec::new();
        assert!(host.transmit_to(&mut wire).unwrap() > 0);
        coord.handle_bytes(clock.now_ms(), &wire);
        assert!(matches!(coord.poll_event(), Some(LinkEvent::Connected(_))));
        assert!(clock.until(Some(0)).is_some_and(|d| d.is_zero()));
        let e: std::boxed::Box<dyn std::error::Error> = std::boxed::Box::new(LinkError::WindowFull);
        assert_eq!(std::string::ToString::to_string(&e), "host link send window full");
    }
}
