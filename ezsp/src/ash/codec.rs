//! Byte stuffing and the streaming deframer (UG101 §2.2, §4.2).

use super::frame::{Frame, FrameError};
use super::{is_reserved, CANCEL, ESCAPE, FLAG, MAX_FRAME, SUBSTITUTE, XOFF, XON};
use alloc::vec::Vec;

/// Appends `frame`, stuffed and ended by a Flag Byte, to `out`.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    let mut raw = Vec::with_capacity(8);
    frame.emit(&mut raw);
    stuff(&raw, out);
    out.push(FLAG);
}

/// Appends `raw` with every reserved byte escaped (Escape Byte, then the byte with bit 5
/// inverted).
pub fn stuff(raw: &[u8], out: &mut Vec<u8>) {
    for &b in raw {
        if is_reserved(b) {
            out.extend_from_slice(&[ESCAPE, b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
}

/// What the deframer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecoderEvent {
    Frame(Frame),
    /// Bytes ended by a Flag Byte that are not a valid frame (the receiver NAKs).
    Bad(FrameError),
    /// A Cancel Byte discarded a partial frame (no NAK: the sender meant it).
    Cancelled,
}

/// Streaming deframer: feed bytes in any chunking, get frames and errors out.
///
/// Follows UG101 §4.2: a Cancel Byte discards the frame in progress; a Substitute Byte marks it
/// bad and everything up to the next Flag Byte is dropped; XON/XOFF are removed wherever they
/// appear; a frame longer than the largest legal frame is dropped (and reported) at its Flag
/// Byte. Memory is bounded by [`MAX_FRAME`].
#[derive(Debug, Default, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    escaped: bool,
    /// Discarding until the next Flag Byte (after a Substitute Byte).
    discarding: bool,
    overflow: bool,
    bad_escape: Option<usize>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one byte; returns an event when a frame ended.
    pub fn push(&mut self, b: u8) -> Option<DecoderEvent> {
        match b {
            FLAG => {
                let ev = self.finish();
                self.reset();
                ev
            }
            CANCEL => {
                let had = !self.buf.is_empty() || self.escaped;
                self.reset();
                had.then_some(DecoderEvent::Cancelled)
            }
            SUBSTITUTE => {
                self.reset();
                self.discarding = true;
                None
            }
            XON | XOFF => None,
            _ if self.discarding => None,
            ESCAPE => {
                if self.escaped && self.bad_escape.is_none() {
                    self.bad_escape = Some(self.buf.len());
                }
                self.escaped = true;
                None
            }
            _ => {
                let b = if self.escaped {
                    self.escaped = false;
                    let u = b ^ 0x20;
                    if !is_reserved(u) && self.bad_escape.is_none() {
                        self.bad_escape = Some(self.buf.len());
                    }
                    u
                } else {
                    b
                };
                if self.buf.len() < MAX_FRAME {
                    self.buf.push(b);
                } else {
                    self.overflow = true;
                }
                None
            }
        }
    }

    /// Feeds `bytes`, handing each event to `on_event`.
    pub fn feed(&mut self, bytes: &[u8], mut on_event: impl FnMut(DecoderEvent)) {
        for &b in bytes {
            if let Some(ev) = self.push(b) {
                on_event(ev);
            }
        }
    }

    fn finish(&self) -> Option<DecoderEvent> {
        if self.discarding {
            return None; // already known bad (Substitute Byte)
        }
        if self.buf.is_empty() && !self.escaped && !self.overflow {
            return None; // back-to-back Flag Bytes
        }
        if self.overflow {
            return Some(DecoderEvent::Bad(FrameError::TooLong { len: self.buf.len() + 1 }));
        }
        if self.escaped {
            return Some(DecoderEvent::Bad(FrameError::BadEscape { offset: self.buf.len() }));
        }
        if let Some(offset) = self.bad_escape {
            return Some(DecoderEvent::Bad(FrameError::BadEscape { offset }));
        }
        Some(match Frame::parse(&self.buf) {
            Ok(f) => DecoderEvent::Frame(f),
            Err(e) => DecoderEvent::Bad(e),
        })
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.escaped = false;
        self.discarding = false;
        self.overflow = false;
        self.bad_escape = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn decode_all(bytes: &[u8]) -> Vec<DecoderEvent> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        d.feed(bytes, |e| out.push(e));
        out
    }

    #[test]
    fn stuffing_round_trip() {
        let f = Frame::Data {
            frm_num: 3,
            re_tx: true,
            ack_num: 5,
            data: vec![0x7E ^ 0x42, 0x11, 0x7D, 0x1A, 0x18, 0x13],
        };
        let mut wire = Vec::new();
        encode(&f, &mut wire);
        assert_eq!(wire.last(), Some(&FLAG));
        assert!(!wire[..wire.len() - 1].iter().any(|b| is_reserved(*b) && *b != ESCAPE));
        assert_eq!(decode_all(&wire), vec![DecoderEvent::Frame(f)]);
    }

    #[test]
    fn cancel_and_substitute() {
        let mut wire = vec![0x01, 0x02, CANCEL];
        encode(&Frame::Rst, &mut wire);
        wire.extend_from_slice(&[0x05, SUBSTITUTE, 0x81, 0x60, 0x59, FLAG]);
        encode(&Frame::Ack { ack_num: 1, not_ready: false }, &mut wire);
        assert_eq!(
            decode_all(&wire),
            vec![
                DecoderEvent::Cancelled,
                DecoderEvent::Frame(Frame::Rst),
                DecoderEvent::Frame(Frame::Ack { ack_num: 1, not_ready: false })
            ]
        );
    }

    #[test]
    fn xon_xoff_inside_frame_ignored() {
        assert_eq!(
            decode_all(&[0x81, XON, 0x60, XOFF, 0x59, FLAG]),
            vec![DecoderEvent::Frame(Frame::Ack { ack_num: 1, not_ready: false })]
        );
    }

    #[test]
    fn overlong_and_bad_escape() {
        let mut wire = vec![0x00; MAX_FRAME + 10];
        wire.push(FLAG);
        assert!(matches!(decode_all(&wire)[..], [DecoderEvent::Bad(FrameError::TooLong { .. })]));
        assert!(matches!(
            decode_all(&[0x81, ESCAPE, 0x00, 0x59, FLAG])[..],
            [DecoderEvent::Bad(FrameError::BadEscape { offset: 1 })]
        ));
        assert!(matches!(
            decode_all(&[0x81, ESCAPE, FLAG])[..],
            [DecoderEvent::Bad(FrameError::BadEscape { .. })]
        ));
    }
}
