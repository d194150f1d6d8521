//! Support for the Wireshark cross-check (`tests/tshark_crosscheck.rs`).

pub mod dissection;
pub mod fields;
pub mod foundation;
pub mod gen;
pub mod gen_foundation;
pub mod lower;
pub mod rows_drlc;
pub mod rows_ke;
pub mod rows_metering;
pub mod rows_price;
pub mod stats;
pub mod values;
