//! ZCL foundation (profile-wide) commands (ZCL §2.4; se10.md §1.3–1.4).

use crate::error::Result;
use crate::field::{command_set, fixed_struct, Field, Repr};
use crate::wire::{Reader, Writer};
use crate::zcl::{AttributeId, Record, Records, Status};

impl<'a> Record<'a> for AttributeId {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Field::read(r, "attribute_id")
    }
    fn buffer_len(&self) -> usize {
        2
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        Field::write(*self, w, "attribute_id")
    }
}

/// Read Attributes (0x00; ZCL §2.4.1): the attribute ids to read.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReadAttributes<'a> {
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub attribute_ids: Records<'a, AttributeId>,
}

impl<'a> Repr<'a> for ReadAttributes<'a> {
    fn parse(payload: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        Ok(Self { attribute_ids: Records::read_to_end(&mut r)? })
    }
    fn buffer_len(&self) -> usize {
        self.attribute_ids.buffer_len()
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.attribute_ids.write(&mut w)?;
        Ok(w.pos())
    }
}

fixed_struct! {
    /// Default Response (0x0B; ZCL §2.4.12): the command answered and its status.
    pub struct DefaultResponse / DefaultResponseView {
        command_id: u8,
        status: Status,
    }
}

command_set! {
    /// The foundation commands (the direction bit selects server or client attributes).
    pub enum Command<'a> {
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x00 => ReadAttributes(ReadAttributes<'a>),
        0x0B => DefaultResponse(DefaultResponse),
    }
}
