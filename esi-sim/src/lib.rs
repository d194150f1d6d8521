//! `esi-sim`: an ESI simulator for labs and CI (design.md §2).
//!
//! One or more ESIs — each the firmware's coordinator (ESI core + host-link endpoint) with a
//! simulated meter — and a set of simulated HAN devices (in-home displays, thermostats, load
//! switches) on a virtual 802.15.4 medium, all in deterministic virtual time driven by one seed
//! ([`sim`]). Each ESI's host link is a simulated serial line paced at the baud rate; the binary
//! puts it on a pseudo-terminal ([`pty`]) so the gateway opens it as it would `/dev/ttyACM0`,
//! while tests drive it with an in-process host ([`host`]).
//!
//! Modules, one per concept: [`rng`] (the seed), [`metrology`] (the meter), [`medium`] (the air),
//! [`radio`] (stack state under each station), [`device`] (IHD, PCT, LCS), [`node`] (the firmware
//! behind a small trait), [`serial`] (the line), [`tap`] (host-request accounting),
//! [`faults`] (the fault plan), [`command`] (the action language), [`scenario`] (TOML files),
//! [`control`] (stdin / unix-socket control channel), [`pcap`] (capture), [`invariants`],
//! [`sim`] (the loop), [`realtime`] (the wall-clock driver used by the binary).

pub mod command;
pub mod control;
pub mod device;
pub mod faults;
pub mod host;
pub mod invariants;
pub mod medium;
pub mod metrology;
pub mod node;
pub mod pcap;
pub mod pty;
pub mod radio;
pub mod realtime;
pub mod rng;
pub mod scenario;
pub mod serial;
pub mod sim;
pub mod tap;

pub use sim::{Sim, SimConfig};
