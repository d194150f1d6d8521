//! Messaging cluster 0x0703 (SE 1.0 §D.5; se10.md §5): text messages from the ESI to in-home
//! displays, and the display's confirmation back.
//!
//! The ESI is the server. `DisplayMessage`/`CancelMessage` go server→client;
//! `GetLastMessage`/`MessageConfirmation` go client→server.

use crate::error::Result;
use crate::field::{command_set, fixed_struct, newtype, Repr};
use crate::wire::{Fast, Reader, Writer};
use crate::zcl::{UtcTime, ZclStr};

/// Cluster id.
pub const CLUSTER_ID: u16 = 0x0703;

newtype! {
    /// Message Control bitmap (SE 1.0 §D.5.2.3.1.1.1; se10.md §5.3).
    pub struct MessageControl(u8);
}

impl MessageControl {
    /// Bits 0–1: transmission mode (0 normal, 1 normal + anonymous Inter-PAN, 2 Inter-PAN only).
    pub const TRANSMISSION_MASK: u8 = 0x03;
    /// Bits 2–3: importance level.
    pub const IMPORTANCE_MASK: u8 = 0x0C;
    /// Bit 7: the display must send MessageConfirmation once the user acknowledges.
    pub const MESSAGE_CONFIRMATION_REQUIRED: u8 = 0x80;

    /// Builds a control byte from its parts (transmission "normal only").
    pub const fn new(importance: Importance, confirmation_required: bool) -> Self {
        let mut v = (importance as u8) << 2;
        if confirmation_required {
            v |= Self::MESSAGE_CONFIRMATION_REQUIRED;
        }
        Self(v)
    }

    pub const fn transmission(self) -> u8 {
        self.0 & Self::TRANSMISSION_MASK
    }

    pub const fn importance(self) -> Importance {
        match (self.0 & Self::IMPORTANCE_MASK) >> 2 {
            0 => Importance::Low,
            1 => Importance::Medium,
            2 => Importance::High,
            _ => Importance::Critical,
        }
    }

    pub const fn confirmation_required(self) -> bool {
        self.0 & Self::MESSAGE_CONFIRMATION_REQUIRED != 0
    }
}

/// Importance level, Message Control bits 2–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Importance {
    Low = 0,
    Medium = 1,
    High = 2,
    Critical = 3,
}

/// DisplayMessage (s→c 0x00; SE 1.0 §D.5.2.3.1; se10.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DisplayMessage<'a> {
    pub message_id: u32,
    pub message_control: MessageControl,
    /// [`UtcTime::NOW`] = display now.
    pub start_time: UtcTime,
    /// 0xFFFF = until changed or cancelled.
    pub duration_in_minutes: u16,
    /// Character string; the length byte counts bytes (UTF-8), not characters.
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub message: ZclStr<'a>,
    /// SE 1.2 optional trailing byte; `None` in SE 1.0 frames.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub extended_message_control: Option<u8>,
}

impl DisplayMessage<'_> {
    /// Duration value meaning "until changed".
    pub const UNTIL_CHANGED: u16 = 0xFFFF;
}

impl<'a> DisplayMessage<'a> {
    /// [`Repr::parse`] of a well-formed payload: the 11 fixed bytes checked once, then the
    /// message. `None` for anything [`Self::parse_fields`] must report.
    #[inline]
    fn parse_fast(payload: &'a [u8]) -> Option<Self> {
        let mut r = Fast::new(payload);
        let mut f = r.run::<11>()?;
        Some(Self {
            message_id: f.u32()?,
            message_control: MessageControl(f.u8()?),
            start_time: UtcTime(f.u32()?),
            duration_in_minutes: f.u16()?,
            message: r.short_string()?,
            extended_message_control: r.optional(Fast::u8)?,
        })
    }

    /// Field-by-field parse: the reference [`Self::parse_fast`] must agree with, and the path
    /// that reports the first missing field of a bad payload.
    #[cold]
    #[inline(never)]
    fn parse_fields(payload: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        Ok(Self {
            message_id: r.u32("message_id")?,
            message_control: MessageControl(r.u8("message_control")?),
            start_time: UtcTime(r.u32("start_time")?),
            duration_in_minutes: r.u16("duration_in_minutes")?,
            message: r.short_string("message")?,
            extended_message_control: r.optional(|r| r.u8("extended_message_control"))?,
        })
    }
}

impl<'a> Repr<'a> for DisplayMessage<'a> {
    /// The fast path, inlined into callers so the fields land directly in their frame; the
    /// field-by-field parse runs only for payloads that fail.
    #[inline]
    fn parse(payload: &'a [u8]) -> Result<Self> {
        match Self::parse_fast(payload) {
            Some(message) => Ok(message),
            None => Self::parse_fields(payload),
        }
    }

    fn buffer_len(&self) -> usize {
        11 + self.message.short_len() + usize::from(self.extended_message_control.is_some())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.message_id, "message_id")?;
        w.u8(self.message_control.0, "message_control")?;
        w.u32(self.start_time.0, "start_time")?;
        w.u16(self.duration_in_minutes, "duration_in_minutes")?;
        w.short_string(self.message, "message")?;
        if let Some(x) = self.extended_message_control {
            w.u8(x, "extended_message_control")?;
        }
        Ok(w.pos())
    }
}

fixed_struct! {
    /// CancelMessage (s→c 0x01; SE 1.0 §D.5.2.3.2; se10.md §5.4).
    pub struct CancelMessage / CancelMessageView {
        message_id: u32,
        /// Kept by SE 1.0 for compatibility; ignored by later revisions.
        message_control: MessageControl,
    }
}

fixed_struct! {
    /// GetLastMessage (c→s 0x00; SE 1.0 §D.5.3.3.1): no payload. The ESI answers with
    /// DisplayMessage or a Default Response NOT_FOUND.
    pub struct GetLastMessage / GetLastMessageView {}
}

/// MessageConfirmation (c→s 0x01; SE 1.0 §D.5.3.3.2; se10.md §5.6). SE 1.0 sends exactly the
/// first two fields; SE 1.2 may append a control byte and a response string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MessageConfirmation<'a> {
    pub message_id: u32,
    pub confirmation_time: UtcTime,
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub message_confirmation_control: Option<u8>,
    #[cfg_attr(feature = "serde", serde(borrow, default, skip_serializing_if = "Option::is_none"))]
    pub message_response: Option<ZclStr<'a>>,
}

impl<'a> Repr<'a> for MessageConfirmation<'a> {
    fn parse(payload: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        let message_id = r.u32("message_id")?;
        let confirmation_time = UtcTime(r.u32("confirmation_time")?);
        let message_confirmation_control = r.optional(|r| r.u8("message_confirmation_control"))?;
        let message_response = r.optional(|r| r.short_string("message_response"))?;
        Ok(Self { message_id, confirmation_time, message_confirmation_control, message_response })
    }

    fn buffer_len(&self) -> usize {
        // A response string can only be sent after the control byte.
        8 + usize::from(
            self.message_confirmation_control.is_some() || self.message_response.is_some(),
        ) + self.message_response.map_or(0, |s| s.short_len())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.message_id, "message_id")?;
        w.u32(self.confirmation_time.0, "confirmation_time")?;
        if self.message_confirmation_control.is_some() || self.message_response.is_some() {
            w.u8(self.message_confirmation_control.unwrap_or(0), "message_confirmation_control")?;
        }
        if let Some(s) = self.message_response {
            w.short_string(s, "message_response")?;
        }
        Ok(w.pos())
    }
}

command_set! {
    /// Commands generated by the Messaging server (ESI → display).
    pub enum ServerCommand<'a> {
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x00 => DisplayMessage(DisplayMessage<'a>),
        0x01 => CancelMessage(CancelMessage),
    }
}

command_set! {
    /// Commands generated by the Messaging client (display → ESI).
    pub enum ClientCommand<'a> {
        0x00 => GetLastMessage(GetLastMessage),
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x01 => MessageConfirmation(MessageConfirmation<'a>),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_message_layout() {
        // id 0x01020304, control 0x88 (high + confirm), start now, 60 min, "Hi"
        let bytes = [4, 3, 2, 1, 0x88, 0, 0, 0, 0, 60, 0, 2, b'H', b'i'];
        let m = DisplayMessage::parse(&bytes).unwrap();
        assert_eq!(m.message_id, 0x0102_0304);
        assert_eq!(m.message_control.importance(), Importance::High);
        assert!(m.message_control.confirmation_required());
        assert_eq!(m.start_time, UtcTime::NOW);
        assert_eq!(m.duration_in_minutes, 60);
        assert_eq!(m.message.as_str(), Some("Hi"));
        assert_eq!(m.extended_message_control, None);
        let mut out = [0u8; 32];
        assert_eq!(m.emit(&mut out).unwrap(), bytes.len());
        assert_eq!(&out[..bytes.len()], &bytes);
        assert_eq!(MessageControl::new(Importance::High, true), MessageControl(0x88));
    }

    #[test]
    fn message_length_byte_overrun_is_an_error() {
        let bytes = [4, 3, 2, 1, 0x00, 0, 0, 0, 0, 60, 0, 5, b'H', b'i'];
        let e = DisplayMessage::parse(&bytes).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Truncated { needed: 3 });
        assert_eq!(e.offset, 12);
    }

    #[test]
    fn confirmation_se10_and_se12_forms() {
        let se10 = [1, 0, 0, 0, 0x10, 0, 0, 0];
        let c = MessageConfirmation::parse(&se10).unwrap();
        assert_eq!((c.message_id, c.confirmation_time), (1, UtcTime(0x10)));
        assert_eq!(c.buffer_len(), 8);
        let view = CancelMessageView::new_checked(&[9u8, 0, 0, 0, 0x80][..]).unwrap();
        assert_eq!(view.message_id(), 9);
        assert!(view.message_control().confirmation_required());
        assert!(CancelMessageView::new_checked(&[9u8, 0, 0, 0][..]).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            check_roundtrip::<DisplayMessage<'_>>(&bytes);
            check_roundtrip::<CancelMessage>(&bytes);
            check_roundtrip::<GetLastMessage>(&bytes);
            check_roundtrip::<MessageConfirmation<'_>>(&bytes);
            prop_assert_eq!(DisplayMessage::parse(&bytes), DisplayMessage::parse_fields(&bytes));
        }

        /// DisplayMessage payloads whose length byte is close to the bytes present: the fast
        /// path agrees with the field-by-field parse (errors included) at every truncation.
        #[test]
        fn display_message_fast_path(
            fixed in proptest::collection::vec(any::<u8>(), 11),
            message in proptest::collection::vec(any::<u8>(), 0..20),
            length_delta in -2i8..=2,
            extended in proptest::option::of(any::<u8>()),
        ) {
            let mut bytes = fixed;
            let len = (message.len() as i16 + i16::from(length_delta)).clamp(0, 0xFF) as u8;
            bytes.push(len);
            bytes.extend_from_slice(&message);
            bytes.extend(extended);
            for len in 0..=bytes.len() {
                let cut = &bytes[..len];
                prop_assert_eq!(DisplayMessage::parse(cut), DisplayMessage::parse_fields(cut));
            }
        }
    }
}
