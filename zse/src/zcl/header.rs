//! The ZCL frame header (ZCL §2.4.1; se10.md §1.1–1.2).

use crate::error::{ErrorKind, Result};
use crate::wire::{Reader, Writer};

/// Frame type, bits 0–1 of the frame control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FrameType {
    /// Profile-wide ("foundation" / global) command, e.g. Read Attributes.
    Global,
    /// Command specific to the cluster named in the APS header.
    ClusterSpecific,
}

/// Direction, bit 3 of the frame control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Direction {
    /// Sent by a cluster client to the server (e.g. GetCurrentPrice, ReportEventStatus).
    ClientToServer,
    /// Sent by the server to a client (e.g. PublishPrice, DisplayMessage).
    ServerToClient,
}

impl FrameType {
    /// Bits 0–1 of the frame control field; `None` for the reserved values 2 and 3.
    #[inline]
    const fn from_control(control: u8) -> Option<Self> {
        match control & fc::FRAME_TYPE {
            0 => Some(Self::Global),
            1 => Some(Self::ClusterSpecific),
            _ => None,
        }
    }
}

mod fc {
    pub const FRAME_TYPE: u8 = 0x03;
    pub const MANUFACTURER_SPECIFIC: u8 = 0x04;
    pub const DIRECTION: u8 = 0x08;
    pub const DISABLE_DEFAULT_RESPONSE: u8 = 0x10;
}

/// The decoded ZCL header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Header {
    pub frame_type: FrameType,
    /// Present iff the manufacturer-specific bit is set.
    pub manufacturer_code: Option<u16>,
    pub direction: Direction,
    /// The receiver shall not send a Default Response unless there is an error.
    pub disable_default_response: bool,
    /// Transaction sequence number; a response echoes the request's.
    pub tsn: u8,
    pub command_id: u8,
}

impl Header {
    /// Parses the header; returns it and the payload that follows.
    /// Reserved frame-control bits 5–7 are ignored as ZCL requires of receivers.
    #[inline]
    pub fn parse(frame: &[u8]) -> Result<(Self, &[u8])> {
        match Self::parse_fast(frame) {
            Some(parsed) => Ok(parsed),
            None => Self::parse_slow(frame),
        }
    }

    /// The common case in one length check: a whole 3-byte header without manufacturer code.
    /// `None` otherwise ([`Header::parse`] then reads the header field by field).
    #[inline]
    pub(crate) fn parse_fast(frame: &[u8]) -> Option<(Self, &[u8])> {
        let (&[control, tsn, command_id], body) = frame.split_first_chunk::<3>()?;
        if control & fc::MANUFACTURER_SPECIFIC != 0 {
            return None;
        }
        let frame_type = FrameType::from_control(control)?;
        Some((Self::from_parts(control, frame_type, None, tsn, command_id), body))
    }

    /// [`Header::parse`] field by field: manufacturer-specific headers, and every error.
    #[cold]
    #[inline(never)]
    fn parse_slow(frame: &[u8]) -> Result<(Self, &[u8])> {
        let mut r = Reader::new(frame);
        let control = r.u8("frame_control")?;
        let frame_type = FrameType::from_control(control).ok_or(crate::Error::new(
            ErrorKind::InvalidValue,
            0,
            "frame_control.frame_type",
        ))?;
        let manufacturer_code = if control & fc::MANUFACTURER_SPECIFIC != 0 {
            Some(r.u16("manufacturer_code")?)
        } else {
            None
        };
        let tsn = r.u8("tsn")?;
        let command_id = r.u8("command_id")?;
        Ok((Self::from_parts(control, frame_type, manufacturer_code, tsn, command_id), r.rest()))
    }

    #[inline]
    const fn from_parts(
        control: u8,
        frame_type: FrameType,
        manufacturer_code: Option<u16>,
        tsn: u8,
        command_id: u8,
    ) -> Self {
        Self {
            frame_type,
            manufacturer_code,
            direction: if control & fc::DIRECTION != 0 {
                Direction::ServerToClient
            } else {
                Direction::ClientToServer
            },
            disable_default_response: control & fc::DISABLE_DEFAULT_RESPONSE != 0,
            tsn,
            command_id,
        }
    }

    /// The frame control byte this header encodes to.
    pub const fn frame_control(&self) -> u8 {
        let mut c = match self.frame_type {
            FrameType::Global => 0,
            FrameType::ClusterSpecific => 1,
        };
        if self.manufacturer_code.is_some() {
            c |= fc::MANUFACTURER_SPECIFIC;
        }
        if matches!(self.direction, Direction::ServerToClient) {
            c |= fc::DIRECTION;
        }
        if self.disable_default_response {
            c |= fc::DISABLE_DEFAULT_RESPONSE;
        }
        c
    }

    /// 3 bytes, or 5 with a manufacturer code.
    pub const fn buffer_len(&self) -> usize {
        if self.manufacturer_code.is_some() {
            5
        } else {
            3
        }
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.frame_control(), "frame_control")?;
        if let Some(code) = self.manufacturer_code {
            w.u16(code, "manufacturer_code")?;
        }
        w.u8(self.tsn, "tsn")?;
        w.u8(self.command_id, "command_id")?;
        Ok(w.pos())
    }
}

/// Zero-copy view of a whole ZCL frame (header + payload).
#[derive(Debug, Clone, Copy)]
pub struct FrameView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> FrameView<T> {
    /// Checks that the header is complete (3 or 5 bytes as the frame control says).
    pub fn new_checked(buffer: T) -> Result<Self> {
        Header::parse(buffer.as_ref())?;
        Ok(Self { buffer })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn frame_control(&self) -> u8 {
        self.bytes().first().copied().unwrap_or(0)
    }

    pub fn is_manufacturer_specific(&self) -> bool {
        self.frame_control() & fc::MANUFACTURER_SPECIFIC != 0
    }

    fn header_len(&self) -> usize {
        if self.is_manufacturer_specific() {
            5
        } else {
            3
        }
    }

    pub fn manufacturer_code(&self) -> Option<u16> {
        let b = self.bytes();
        match (self.is_manufacturer_specific(), b.get(1), b.get(2)) {
            (true, Some(&lo), Some(&hi)) => Some(u16::from_le_bytes([lo, hi])),
            _ => None,
        }
    }

    pub fn tsn(&self) -> u8 {
        self.bytes().get(self.header_len() - 2).copied().unwrap_or(0)
    }

    pub fn command_id(&self) -> u8 {
        self.bytes().get(self.header_len() - 1).copied().unwrap_or(0)
    }

    pub fn payload(&self) -> &[u8] {
        self.bytes().get(self.header_len()..).unwrap_or(&[])
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_manufacturer_specific_header() {
        let bytes = [0x1D, 0x5F, 0x11, 0x42, 0x07, 0xAA];
        let (h, payload) = Header::parse(&bytes).unwrap();
        assert_eq!(h.frame_type, FrameType::ClusterSpecific);
        assert_eq!(h.manufacturer_code, Some(0x115F));
        assert_eq!(h.direction, Direction::ServerToClient);
        assert!(h.disable_default_response);
        assert_eq!((h.tsn, h.command_id), (0x42, 0x07));
        assert_eq!(payload, &[0xAA]);
        let mut out = [0u8; 5];
        assert_eq!(h.emit(&mut out).unwrap(), 5);
        assert_eq!(&out, &bytes[..5]);
        let v = FrameView::new_checked(&bytes[..]).unwrap();
        assert_eq!((v.tsn(), v.command_id(), v.manufacturer_code()), (0x42, 7, Some(0x115F)));
        assert_eq!(v.payload(), &[0xAA]);
    }

    /// The one-check fast path and the field-by-field parse agree on every frame control value
    /// and every length around the header's.
    #[test]
    fn fast_path_agrees_with_field_by_field() {
        for control in 0..=u8::MAX {
            let bytes = [control, 0x5F, 0x11, 0x42, 0x07, 0xAA];
            for len in 0..=bytes.len() {
                let frame = &bytes[..len];
                assert_eq!(Header::parse(frame), Header::parse_slow(frame), "{frame:02x?}");
                if let Some(fast) = Header::parse_fast(frame) {
                    assert_eq!(Ok(fast), Header::parse_slow(frame));
                }
            }
        }
    }

    #[test]
    fn rejects_reserved_frame_type_and_truncation() {
        assert_eq!(Header::parse(&[0x02, 0, 0]).unwrap_err().kind, ErrorKind::InvalidValue);
        let e = Header::parse(&[0x04, 0x01]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 1 });
        assert_eq!(e.offset, 1);
    }
}
