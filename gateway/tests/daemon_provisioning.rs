//! Provisioning through the daemon against the ESI simulator on a pty: pending → paired, full
//! slot table, wrong install codes, de-provisioning rules, bulk CSV.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    clippy::float_cmp,
    clippy::format_push_string
)]

mod common;

use common::*;
use esi_sim::SimConfig;
use gateway::error::ErrorCode;
use gateway::grants::Role;
use gateway::ops::types::{Deprovision, Provision};
use gateway::ops::{Caller, Event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_to_paired_and_device_list() {
    let (_dir, sim, d, gw) = online(SimConfig::new(11, 1, 2)).await;
    let mut rx = gw.subscribe();
    let t0 = std::time::Instant::now();
    provision_and_pair(&gw, &sim, 0, 0).await;
    let took = t0.elapsed();
    let list = gw.devices(&esi_id(0)).await.unwrap();
    assert_eq!(list.capacity, Some(10));
    assert_eq!((list.provisioned, list.pending), (1, 0));
    let dev = &list.devices[0];
    assert_eq!(
        (dev.eui64.as_str(), dev.state.as_str(), dev.label.as_str()),
        (sim.eui(0).as_str(), "paired", "device 1")
    );
    assert!(dev.slot.is_some());
    // The device events went out at once, in order: pending (on provisioning), joining, paired.
    let mut states = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Device(d) = e {
            states.push(d.state);
        }
    }
    assert_eq!(states.first().map(String::as_str), Some("pending"), "{states:?}");
    assert_eq!(states.last().map(String::as_str), Some("paired"), "{states:?}");
    eprintln!("provisioning to paired took {took:?}");

    // A second provisioning of the same device is refused.
    let again = Provision {
        esi_id: esi_id(0),
        meter_number: meter(0),
        eui64: sim.eui(0),
        install_code: sim.install_code(0),
        label: String::new(),
        join_window_minutes: None,
    };
    assert_eq!(gw.provision(&tdsp(), again).await.unwrap_err().code, ErrorCode::AlreadyProvisioned);
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_typed_errors() {
    let (_dir, sim, d, gw) = online(SimConfig::new(12, 1, 1)).await;
    let good = Provision {
        esi_id: esi_id(0),
        meter_number: meter(0),
        eui64: sim.eui(0),
        install_code: sim.install_code(0),
        label: "IHD".into(),
        join_window_minutes: Some(60),
    };
    let code = |p: Provision| {
        let gw = gw.clone();
        async move { gw.provision(&tdsp(), p).await.unwrap_err() }
    };
    assert_eq!(
        code(Provision { esi_id: "999".into(), ..good.clone() }).await.code,
        ErrorCode::UnknownEsi
    );
    assert_eq!(
        code(Provision { meter_number: "M9".into(), ..good.clone() }).await.code,
        ErrorCode::MeterMismatch
    );
    assert_eq!(
        code(Provision { eui64: "12".into(), ..good.clone() }).await.code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(Provision { join_window_minutes: Some(0), ..good.clone() }).await.code,
        ErrorCode::BadRequest
    );
    // A typo in the install code: CRC fails; the error does not repeat the code.
    let mut typo = sim.install_code(0);
    let last = if typo.ends_with('0') { '1' } else { '0' };
    typo.pop();
    typo.push(last);
    let e = code(Provision { install_code: typo.clone(), ..good.clone() }).await;
    assert_eq!(e.code, ErrorCode::BadInstallCode);
    assert!(e.message.contains("CRC") && !e.message.contains(&typo[..8]), "{e}");
    // A label for another device.
    let other = format!("Z:000B57FFFE123456$I:{}", sim.install_code(0));
    assert_eq!(
        code(Provision { install_code: other, ..good.clone() }).await.code,
        ErrorCode::BadInstallCode
    );
    // Nothing reached the ESI.
    assert_eq!(gw.devices(&esi_id(0)).await.unwrap().provisioned, 0);

    // A valid code that is not the device's own: accepted (the CRC is right) but the device
    // cannot join with it; it stays pending.
    let foreign =
        Provision { install_code: "83FED3407A939723A5C639B26916D505C3B5".into(), ..good.clone() };
    assert_eq!(gw.provision(&tdsp(), foreign).await.unwrap().state, "pending");
    sim.control("device 1 rejoin");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let list = gw.devices(&esi_id(0)).await.unwrap();
    assert_eq!((list.pending, list.devices[0].state.as_str()), (1, "pending"));

    // Only the TDSP removes a pending entry (BR-081.003).
    let rm =
        Deprovision { esi_id: esi_id(0), eui64: sim.eui(0), reason: "provisioning_error".into() };
    let rep = Caller::new("rep-1", Role::Rep);
    assert_eq!(gw.deprovision(&rep, rm.clone()).await.unwrap_err().code, ErrorCode::NotAuthorized);
    assert_eq!(
        gw.deprovision(&tdsp(), Deprovision { reason: "bored".into(), ..rm.clone() })
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    let mut rx = gw.subscribe();
    let out = gw.deprovision(&tdsp(), rm.clone()).await.unwrap();
    assert_eq!((out.state.as_str(), out.reason.as_str()), ("unpaired", "provisioning_error"));
    let e = wait_event(
        &mut rx,
        5,
        "unpaired",
        |e| matches!(e, Event::Device(d) if d.state == "unpaired"),
    )
    .await;
    let Event::Device(e) = e else { unreachable!() };
    assert_eq!(e.reason.as_deref(), Some("provisioning_error"));
    assert_eq!(gw.deprovision(&tdsp(), rm).await.unwrap_err().code, ErrorCode::NotPaired);
    assert_eq!(gw.devices(&esi_id(0)).await.unwrap().provisioned, 0);

    // Now with the right code it pairs.
    provision_and_pair(&gw, &sim, 0, 0).await;
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_full_names_capacity_and_occupants_and_bulk_reports_per_line() {
    let mut cfg = SimConfig::new(13, 1, 0);
    cfg.slots = 5;
    let (_dir, sim, d, gw) = online(cfg).await;
    // Seven devices from a CSV: five fit, one has a bad code, one finds the table full.
    let code = "83FED3407A939723A5C639B26916D505C3B5";
    let mut csv = String::from("# field sheet\nesi_id,meter_number,eui64,install_code,label\n");
    for i in 1..=7u64 {
        let c = if i == 3 { "83FED3407A939723A5C639B26916D505C3B6" } else { code };
        csv.push_str(&format!(
            "{},{},00:0d:6f:00:00:00:00:{i:02x},{c},\"IHD, room {i}\"\n",
            esi_id(0),
            meter(0)
        ));
    }
    let lines = gw.bulk_provision(&tdsp(), &csv).await.unwrap();
    let summary: Vec<(usize, &str, Option<ErrorCode>)> = lines
        .iter()
        .map(|l| (l.line, l.status.as_str(), l.error.as_ref().map(|e| e.code)))
        .collect();
    assert_eq!(
        summary,
        vec![
            (3, "ok", None),
            (4, "ok", None),
            (5, "error", Some(ErrorCode::BadInstallCode)),
            (6, "ok", None),
            (7, "ok", None),
            (8, "ok", None),
            (9, "error", Some(ErrorCode::SlotsFull)),
        ]
    );
    let full = lines[6].error.as_ref().unwrap();
    assert!(full.message.contains("all 5 slots"), "{full}");
    assert!(full.message.contains("000d6f0000000001 (pending \"IHD, room 1\")"), "{full}");
    assert!(!full.message.contains(code), "no secrets in errors");
    let list = gw.devices(&esi_id(0)).await.unwrap();
    assert_eq!(
        (list.capacity, list.provisioned, list.pending, list.slots_free),
        (Some(5), 5, 5, Some(0))
    );
    // Bulk de-provisioning frees slots, per line.
    let rm = format!("esi_id,eui64,reason\n{e},000d6f0000000001,customer_request\n{e},000d6f0000000099,move_out\n", e = esi_id(0));
    let out = gw.bulk_deprovision(&tdsp(), &rm).await.unwrap();
    assert_eq!(out[0].status, "ok");
    assert_eq!(out[1].error.as_ref().unwrap().code, ErrorCode::NotPaired);
    assert_eq!(gw.devices(&esi_id(0)).await.unwrap().slots_free, Some(1));
    sim.check();
    d.shutdown().await;
}
