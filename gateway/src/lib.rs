//! `gateway`: the daemon between the portal (MQTT) and the ESIs (serial host link): durable store
//! and scheduler, authentication, grants and audit (design.md §2, §4, §7–§9).

pub mod audit;
pub mod auth;
pub mod error;
pub mod grants;
pub mod model;
pub mod scheduler;
pub mod store;
