//! `gateway`: see `design.md` §2 for what this crate owns. It is filled by its own issue; until then it
//! only fixes the crate boundary.

pub mod model;
pub mod scheduler;
pub mod store;
