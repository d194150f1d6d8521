//! ASH, the Asynchronous Serial Host protocol (Silicon Labs UG101) that carries EZSP frames over
//! a UART.
//!
//! A frame on the wire is `control, data…, CRC-16 (big-endian)`, byte-stuffed and ended by a Flag
//! Byte (0x7E). The data field of DATA frames is XORed with a fixed pseudo-random sequence so
//! that EZSP's many zero bytes do not line up with the reserved bytes.
//!
//! * [`frame`]: one frame's control byte and data ([`Frame`]), parse and emit.
//! * [`codec`]: byte stuffing and the streaming deframer ([`Decoder`]).
//! * [`link`]: the link state machine ([`Link`]) for either end.

pub mod codec;
pub mod frame;
pub mod link;

pub use codec::{encode, Decoder, DecoderEvent};
pub use frame::{Frame, FrameError, ResetCode};
pub use link::{FailReason, Link, LinkConfig, LinkCounters, LinkEvent, LinkState, Role, SendError};

/// Flag Byte: ends a frame (UG101 §2.2).
pub const FLAG: u8 = 0x7E;
/// Escape Byte: the next byte has bit 5 inverted.
pub const ESCAPE: u8 = 0x7D;
/// XON: resume transmission (software flow control; ignored inside frames).
pub const XON: u8 = 0x11;
/// XOFF: stop transmission.
pub const XOFF: u8 = 0x13;
/// Substitute Byte: a UART error replaced a byte; the frame it is in is discarded.
pub const SUBSTITUTE: u8 = 0x18;
/// Cancel Byte: discard the frame in progress.
pub const CANCEL: u8 = 0x1A;

/// Whether `b` must be escaped on the wire.
pub const fn is_reserved(b: u8) -> bool {
    matches!(b, FLAG | ESCAPE | XON | XOFF | SUBSTITUTE | CANCEL)
}

/// ASH protocol version carried in RSTACK and ERROR frames.
pub const ASH_VERSION: u8 = 0x02;

/// Largest EZSP frame a DATA frame carries (UG101 gives 128 for the data field; later EZSP
/// versions send up to 220 bytes, so both ends here accept up to this).
pub const MAX_DATA: usize = 220;

/// Largest unstuffed frame: control byte, data, CRC.
pub const MAX_FRAME: usize = 1 + MAX_DATA + 2;

/// CRC-CCITT as ASH uses it: polynomial 0x1021, initial value 0xFFFF, no reflection, no final
/// XOR (CRC-16/IBM-3740; Python's `binascii.crc_hqx(data, 0xFFFF)`). Sent most significant byte
/// first.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// XORs `data` with ASH's pseudo-random sequence (UG101 §4.3: an 8-bit LFSR seeded with 0x42;
/// after each byte, shift right and, if the bit shifted out was 1, XOR with 0xB8). Applying it
/// twice restores the input.
pub fn randomise(data: &mut [u8]) {
    let mut rand: u8 = 0x42;
    for b in data {
        *b ^= rand;
        rand = if rand & 1 == 0 { rand >> 1 } else { (rand >> 1) ^ 0xB8 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        // CRC-16/IBM-3740 check value for "123456789".
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn rst_frame_known_bytes() {
        // UG101 §3: the host's RST is sent as CANCEL, C0 38 BC, FLAG.
        assert_eq!(crc16(&[0xC0]), 0x38BC);
    }

    #[test]
    fn random_sequence_starts_as_ug101() {
        // UG101 §4.3: the sequence begins 42 21 A8 54 2A.
        let mut d = [0u8; 5];
        randomise(&mut d);
        assert_eq!(d, [0x42, 0x21, 0xA8, 0x54, 0x2A]);
    }
}
