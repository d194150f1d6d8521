//! One ASH frame: control byte and data (UG101 §2–3), without stuffing or the Flag Byte.

use super::{crc16, randomise, ASH_VERSION, MAX_DATA};
use alloc::vec::Vec;
use core::fmt;

/// Why an NCP reset or failed (RSTACK / ERROR frames; UG101 §3.3–3.4, EZSP `NcpResetCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResetCode(pub u8);

impl ResetCode {
    pub const UNKNOWN: Self = Self(0x00);
    pub const EXTERNAL: Self = Self(0x01);
    pub const POWER_ON: Self = Self(0x02);
    pub const WATCHDOG: Self = Self(0x03);
    pub const ASSERT: Self = Self(0x06);
    pub const BOOTLOADER: Self = Self(0x09);
    /// The reset the host asked for with RST.
    pub const SOFTWARE: Self = Self(0x0B);
    /// The NCP gave up waiting for acknowledgements.
    pub const ACK_TIMEOUTS: Self = Self(0x51);
}

/// A decoded ASH frame.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// An EZSP frame (`data` is de-randomised) with the sender's frame number, the number of
    /// the next frame it expects (`ack_num`), and whether this is a retransmission.
    Data { frm_num: u8, re_tx: bool, ack_num: u8, data: Vec<u8> },
    /// Acknowledges every frame before `ack_num`; `not_ready` asks the peer to hold callbacks.
    Ack { ack_num: u8, not_ready: bool },
    /// Like `Ack`, and asks for retransmission from `ack_num` on.
    Nak { ack_num: u8, not_ready: bool },
    /// Host → NCP: reset.
    Rst,
    /// NCP → host: reset done (ASH version, reset reason).
    RstAck { version: u8, code: ResetCode },
    /// NCP → host: the NCP entered the failed state.
    Error { version: u8, code: ResetCode },
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data { frm_num, re_tx, ack_num, data } => write!(
                f,
                "DATA(frm {frm_num}, ack {ack_num}{}, {} bytes)",
                if *re_tx { ", reTx" } else { "" },
                data.len()
            ),
            Self::Ack { ack_num, not_ready } => write!(f, "ACK({ack_num}, nRdy {not_ready})"),
            Self::Nak { ack_num, not_ready } => write!(f, "NAK({ack_num}, nRdy {not_ready})"),
            Self::Rst => f.write_str("RST"),
            Self::RstAck { version, code } => write!(f, "RSTACK(v{version}, code {:#04x})", code.0),
            Self::Error { version, code } => write!(f, "ERROR(v{version}, code {:#04x})", code.0),
        }
    }
}

/// Why bytes between two Flag Bytes are not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer than 3 bytes (control + CRC).
    TooShort { len: usize },
    /// More than [`super::MAX_FRAME`] bytes.
    TooLong { len: usize },
    /// The CRC does not match.
    BadCrc { expected: u16, found: u16 },
    /// No frame type has this control byte.
    BadControl { control: u8 },
    /// The data field's length is wrong for the frame type.
    BadLength { control: u8, len: usize },
    /// An Escape Byte followed by a byte that was not a reserved byte, or at the frame's end.
    BadEscape { offset: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(f, "ASH frame too short ({len} bytes, need 3)"),
            Self::TooLong { len } => write!(f, "ASH frame too long ({len} bytes)"),
            Self::BadCrc { expected, found } => {
                write!(f, "ASH CRC mismatch: computed {expected:#06x}, frame has {found:#06x}")
            }
            Self::BadControl { control } => write!(f, "unknown ASH control byte {control:#04x}"),
            Self::BadLength { control, len } => {
                write!(f, "ASH frame with control {control:#04x} has a {len}-byte data field")
            }
            Self::BadEscape { offset } => write!(f, "bad ASH escape at offset {offset}"),
        }
    }
}

impl Frame {
    /// Parses an unstuffed frame (control, data, CRC).
    pub fn parse(raw: &[u8]) -> Result<Self, FrameError> {
        let len = raw.len();
        if len < 3 {
            return Err(FrameError::TooShort { len });
        }
        if len > super::MAX_FRAME {
            return Err(FrameError::TooLong { len });
        }
        let (body, crc) = raw.split_at(len - 2);
        let found = match crc {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            _ => return Err(FrameError::TooShort { len }),
        };
        let expected = crc16(body);
        if expected != found {
            return Err(FrameError::BadCrc { expected, found });
        }
        let Some((&control, data)) = body.split_first() else {
            return Err(FrameError::TooShort { len });
        };
        let bad_len = || FrameError::BadLength { control, len: data.len() };
        if control & 0x80 == 0 {
            if data.is_empty() {
                return Err(bad_len());
            }
            let mut data = data.to_vec();
            randomise(&mut data);
            return Ok(Self::Data {
                frm_num: (control >> 4) & 0x07,
                re_tx: control & 0x08 != 0,
                ack_num: control & 0x07,
                data,
            });
        }
        let ack_num = control & 0x07;
        let not_ready = control & 0x08 != 0;
        match control & 0xE0 {
            0x80 if data.is_empty() => return Ok(Self::Ack { ack_num, not_ready }),
            0xA0 if data.is_empty() => return Ok(Self::Nak { ack_num, not_ready }),
            0x80 | 0xA0 => return Err(bad_len()),
            _ => {}
        }
        match (control, data) {
            (0xC0, []) => Ok(Self::Rst),
            (0xC1, [version, code]) => {
                Ok(Self::RstAck { version: *version, code: ResetCode(*code) })
            }
            (0xC2, [version, code]) => {
                Ok(Self::Error { version: *version, code: ResetCode(*code) })
            }
            (0xC0..=0xC2, _) => Err(bad_len()),
            _ => Err(FrameError::BadControl { control }),
        }
    }

    /// The control byte.
    pub fn control(&self) -> u8 {
        match self {
            Self::Data { frm_num, re_tx, ack_num, .. } => {
                ((frm_num & 7) << 4) | (u8::from(*re_tx) << 3) | (ack_num & 7)
            }
            Self::Ack { ack_num, not_ready } => 0x80 | (u8::from(*not_ready) << 3) | (ack_num & 7),
            Self::Nak { ack_num, not_ready } => 0xA0 | (u8::from(*not_ready) << 3) | (ack_num & 7),
            Self::Rst => 0xC0,
            Self::RstAck { .. } => 0xC1,
            Self::Error { .. } => 0xC2,
        }
    }

    /// Appends the unstuffed frame (control, data, CRC) to `out`. DATA frames longer than
    /// [`MAX_DATA`] are the caller's bug: [`super::Link::send`] refuses them first; here the data
    /// is truncated to `MAX_DATA` rather than emitting a frame no peer accepts.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.control());
        match self {
            Self::Data { data, .. } => {
                let n = data.len().min(MAX_DATA);
                let from = out.len();
                out.extend_from_slice(data.get(..n).unwrap_or_default());
                if let Some(d) = out.get_mut(from..) {
                    randomise(d);
                }
            }
            Self::RstAck { version, code } | Self::Error { version, code } => {
                out.extend_from_slice(&[*version, code.0]);
            }
            Self::Ack { .. } | Self::Nak { .. } | Self::Rst => {}
        }
        let crc = crc16(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&crc.to_be_bytes());
    }

    /// RSTACK with the current ASH version.
    pub fn rst_ack(code: ResetCode) -> Self {
        Self::RstAck { version: ASH_VERSION, code }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn ug101_examples() {
        // UG101 §4.5 examples: ACK with ackNum 1 is 81 60 59; NAK with ackNum 6 is A6 34 DC;
        // RSTACK (v2, power-on) is C1 02 02 9B 7B.
        let mut out = Vec::new();
        Frame::Ack { ack_num: 1, not_ready: false }.emit(&mut out);
        assert_eq!(out, [0x81, 0x60, 0x59]);
        out.clear();
        Frame::Nak { ack_num: 6, not_ready: false }.emit(&mut out);
        assert_eq!(out, [0xA6, 0x34, 0xDC]);
        out.clear();
        Frame::rst_ack(ResetCode::POWER_ON).emit(&mut out);
        assert_eq!(out, [0xC1, 0x02, 0x02, 0x9B, 0x7B]);
        // A DATA frame carrying the legacy `version` command (seq 0, desired version 4): UG101
        // gives 00 42 21 A8 50 ED 2C (data randomised: 00 00 00 04 → 42 21 A8 50).
        out.clear();
        Frame::Data { frm_num: 0, re_tx: false, ack_num: 0, data: vec![0, 0, 0, 4] }.emit(&mut out);
        assert_eq!(out, [0x00, 0x42, 0x21, 0xA8, 0x50, 0xED, 0x2C]);
        assert_eq!(
            Frame::parse(&out),
            Ok(Frame::Data { frm_num: 0, re_tx: false, ack_num: 0, data: vec![0, 0, 0, 4] })
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(Frame::parse(&[0x81, 0x60]), Err(FrameError::TooShort { len: 2 }));
        assert!(matches!(Frame::parse(&[0x81, 0x60, 0x58]), Err(FrameError::BadCrc { .. })));
        let mut bad = vec![0xE0];
        bad.extend_from_slice(&crc16(&[0xE0]).to_be_bytes());
        assert_eq!(Frame::parse(&bad), Err(FrameError::BadControl { control: 0xE0 }));
        let mut rstack_short = vec![0xC1, 0x02];
        rstack_short.extend_from_slice(&crc16(&[0xC1, 0x02]).to_be_bytes());
        assert_eq!(
            Frame::parse(&rstack_short),
            Err(FrameError::BadLength { control: 0xC1, len: 1 })
        );
    }
}
