//! `gateway`: the daemon between the portal (MQTT) and the ESIs (serial host link): durable store
//! and scheduler, coordinator supervisors, operations, polling, authentication, grants and audit
//! (design.md §2, §4–§9).

pub mod audit;
pub mod auth;
#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod grants;
pub mod metrics;
pub mod model;
pub mod mqtt;
pub mod ops;
pub mod polling;
pub mod provisioning;
pub mod scheduler;
pub mod store;
