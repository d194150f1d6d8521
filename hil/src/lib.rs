//! `hil`: a hardware-in-the-loop runner for the gateway (design.md §2). Named scenarios run
//! against a real coordinator (`--port /dev/ttyACM0`) or the simulator (`--sim`, which spawns
//! `esi-sim`); the runner starts the gateway with its broker and drives it as a portal over
//! MQTT, then writes per-scenario results (terminal, JUnit XML) and a latency/throughput report
//! (Markdown and JSON).
//!
//! The library is also the toolkit of the workspace's end-to-end tests (`tests/`): finding the
//! binaries, spawning the simulator and the gateway, and a portal client.

pub mod bins;
pub mod contract;
pub mod gwproc;
pub mod portal;
pub mod report;
pub mod runner;
pub mod scenarios;
pub mod sim;
