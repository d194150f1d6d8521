//! The suites. Each `run` starts its own world and returns a [`crate::report::Report`].

pub mod abuse;
pub mod crash;
pub mod load;
pub mod outage;
pub mod serial;
pub mod storage;
