//! Support for the Wireshark cross-check (`tests/tshark_crosscheck.rs`).

pub mod dissection;
pub mod fields;
pub mod gen;
pub mod lower;
