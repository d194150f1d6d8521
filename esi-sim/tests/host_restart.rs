//! The host (gateway) restarts while the coordinator's answer is on its way: the coordinator
//! keeps its link session id, re-sends the unacknowledged `Result` in the restarted host's
//! session, and the simulator's invariants accept that (docs/host-link.md §3; `esi_sim::tap`).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use esi_sim::host::SimHost;
use firmware::host_link::{Command, Report, ResultCode};

#[test]
fn host_restart_before_acking_a_result_gets_it_again_without_a_violation() {
    let mut sim = sim(77, 1, 0);
    start(&mut sim);
    let seen = sim.esis[0].tap.requests_seen;
    let id = sim.host(0).unwrap().send(Command::ListDevices);
    // Run until the coordinator has the request (its Result is then on the line back)...
    let got = sim.run_until(10_000, |s| s.esis[0].tap.requests_seen > seen).unwrap();
    assert!(got);
    assert!(sim.esis[0].host.as_ref().unwrap().result(id).is_none());
    // ...and restart the gateway: a new endpoint with a new session seed.
    sim.esis[0].host = Some(SimHost::new(0x5EED_0001));

    let ok = sim
        .run_until(20_000, |s| s.esis[0].host.as_ref().unwrap().result(id).is_some())
        .unwrap_or_else(|v| panic!("{v}"));
    let h = sim.esis[0].host.as_ref().unwrap();
    assert!(ok, "the restarted host never got the Result:\n{}", h.transcript_text());
    assert_eq!(h.result(id).unwrap().code, ResultCode::SUCCESS);
    // Acknowledged now: never sent again, and every request is answered.
    sim.run_for(20_000).unwrap_or_else(|v| panic!("{v}"));
    let h = sim.esis[0].host.as_ref().unwrap();
    let results = h.reports(|r| matches!(r, Report::Result(x) if x.request_id == id)).count();
    assert_eq!(results, 1, "{}", h.transcript_text());
    let lists = h.reports(|r| matches!(r, Report::DeviceList(_))).count();
    assert_eq!(lists, 1, "{}", h.transcript_text());
    assert!(sim.unanswered().is_empty());
}
