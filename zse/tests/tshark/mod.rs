//! Support for the Wireshark cross-check (`tests/tshark_crosscheck.rs`).

pub mod dissection;
pub mod fields;
pub mod foundation;
pub mod gen;
pub mod gen_foundation;
pub mod lower;
pub mod rows_se;
pub mod stats;
pub mod values;
