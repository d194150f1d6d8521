//! `zse`: a ZigBee Smart Energy 1.0 codec.
//!
//! * [`zcl`]: the ZCL header, data types and values, foundation commands, and [`zcl::Frame`],
//!   which dispatches a received frame to a typed command.
//! * [`cluster`]: Basic, Identify, Time, Price, DRLC, Metering, Messaging, Key Establishment.
//!
//! Every command type is a plain-data `Repr` with `parse(&[u8])`, `buffer_len()` and
//! `emit(&mut [u8])` ([`field::Repr`]); fixed-layout commands also get a zero-copy typed view
//! (`…View::new_checked(buf)` with one accessor per field). Nothing allocates; strings are
//! borrowed from the frame. No input can make a parser panic or read out of bounds: every failure
//! is an [`Error`] that names the byte offset and the field.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod cluster;
mod error;
pub mod field;
pub mod frame;
#[doc(hidden)]
pub mod fuzz;
pub mod hex;
#[cfg(feature = "std")]
pub mod pcap;
pub mod security;
pub mod wire;
pub mod zcl;

#[cfg(test)]
pub(crate) mod testutil;

pub use error::{Error, ErrorKind, Result};
