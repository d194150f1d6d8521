//! ESI application core (SE 1.0): slot table, provisioning, Price/Messaging/DRLC/Time servers,
//! metering server and the host-link protocol. `no_std`, no allocator, sans-IO.
//!
//! This crate is filled by the `firmware` issue; until then it only fixes the crate boundary
//! shown in `design.md` §2.
#![no_std]

#[cfg(any(test, feature = "host"))]
extern crate std;

pub mod coordinator;
pub mod esi;
pub mod host_link;
#[cfg(test)]
mod testutil;
