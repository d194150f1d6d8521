//! Silicon Labs EZSP over ASH, for EmberZNet network co-processors (NCPs) such as the EFR32 USB
//! sticks most labs own.
//!
//! Two layers, both sans-IO (style.md §2) and `no_std` with `alloc`:
//!
//! * [`ash`]: the Asynchronous Serial Host protocol (UG101): byte stuffing, CRC-CCITT, data
//!   randomisation, DATA/ACK/NAK/RST/RSTACK/ERROR frames and a link state machine with frame
//!   numbers, a sliding window, retransmission timers and reset handling. Either end of the
//!   link: the host (a gateway) or the NCP (the emulation in `esi-sim`).
//! * [`ezsp`]: the EmberZNet Serial Protocol (UG100) frames that ride in ASH DATA frames: the
//!   legacy header the `version` command uses and the extended header of protocol versions 8
//!   and up, and typed commands, responses and callbacks for what a Smart Energy trust centre
//!   needs (network formation, security, transient link keys, permit join, APS unicasts).
//!
//! Every parser returns a `Result` and never panics, whatever the input (fuzzed: `ezsp/fuzz`).
//! Layouts come from UG100/UG101 and were checked against bellows (zigpy/bellows), an
//! independent open-source host; see `docs/ezsp.md`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod ash;
pub mod ezsp;
pub mod fuzz;
pub mod host;

pub use ezsp::{Callback, Command, Response};
