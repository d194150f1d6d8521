//! Messages, confirmations, DR events and opt-outs, prices, meter reads, power and switch
//! changes: the daemon against the ESI simulator on ptys.

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
use gateway::ops::types::{DrEvent, PublishPrice, SendMessage, Targets};
use gateway::ops::Event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_to_a_group_with_per_recipient_outcomes_and_confirmation() {
    // dev0 IHD (esi 0), dev1 PCT (esi 1), dev2 LCS (esi 0), dev3 IHD (esi 1).
    let (_dir, sim, d, gw) = online(SimConfig::new(21, 2, 4)).await;
    provision_and_pair(&gw, &sim, 0, 0).await;
    provision_and_pair(&gw, &sim, 3, 1).await;
    // dev2 is provisioned but never joins: undeliverable.
    let p = gateway::ops::types::Provision {
        esi_id: esi_id(0),
        meter_number: meter(0),
        eui64: sim.eui(2),
        install_code: sim.install_code(2),
        label: "switch".into(),
        join_window_minutes: None,
    };
    gw.provision(&tdsp(), p).await.unwrap();
    let group = gw.group_create(&tdsp(), "north", &[esi_id(0), esi_id(1)]).await.unwrap();
    assert_eq!(group.esi_ids.len(), 2);

    let mut rx = gw.subscribe();
    let msg = SendMessage {
        targets: Targets { group: Some("north".into()), ..Targets::default() },
        priority: Some("high".into()),
        text: "Peak pricing 4-7 pm today. Please reduce use.".into(),
        importance: Some("high".into()),
        confirmation_required: true,
        duration_minutes: Some(120),
        ..SendMessage::default()
    };
    let a = gw.send_message(&tdsp(), msg).await.unwrap();
    assert_eq!(a.deliveries.len(), 3);
    assert_eq!(a.message_id, Some(a.request_id as u32));
    let states = final_states(&gw, a.request_id, 30).await;
    assert_eq!(states[&sim.eui(0)], "delivered");
    assert_eq!(states[&sim.eui(3)], "delivered");
    assert_eq!(states[&sim.eui(2)], "undeliverable");
    let status = gw.message_status(a.request_id).await.unwrap();
    let und = status.deliveries.iter().find(|d| d.eui64 == sim.eui(2)).unwrap();
    assert!(und.last_error.as_deref().unwrap().contains("not paired"), "{und:?}");

    // The user of display 1 confirms: the delivery becomes `confirmed`, at once on the channel.
    sim.control(&format!("ihd 1 confirm {}", a.request_id));
    let eui0 = sim.eui(0);
    wait_event(
        &mut rx,
        15,
        "confirmation",
        |e| matches!(e, Event::Delivery(d) if d.eui64 == eui0 && d.state == "confirmed"),
    )
    .await;
    let states = final_states(&gw, a.request_id, 5).await;
    assert_eq!(states[&sim.eui(0)], "confirmed");

    // Every transition was an event: sent and delivered for each reached device.
    let s = gw.message_status(a.request_id).await.unwrap();
    assert!(s.deliveries.iter().all(|d| d.retries == 0));

    // Cancel: the devices that have it get a CancelMessage.
    let c = gw.cancel_message(&tdsp(), a.request_id).await.unwrap();
    let cancel = c.cancel_request.unwrap();
    assert_eq!(cancel.kind, "message_cancel");
    let states = final_states(&gw, cancel.request_id, 30).await;
    assert!(states.values().all(|s| s == "delivered"), "{states:?}");

    // Bad input.
    let long = SendMessage {
        targets: Targets { esi_ids: vec![esi_id(0)], ..Targets::default() },
        text: "x".repeat(60),
        ..SendMessage::default()
    };
    assert_eq!(
        gw.send_message(&tdsp(), long.clone()).await.unwrap_err().code,
        ErrorCode::TextTooLong
    );
    let past = SendMessage {
        text: "hi".into(),
        start_time: Some("2020-01-01T00:00:00Z".into()),
        duration_minutes: Some(5),
        ..long.clone()
    };
    assert_eq!(gw.send_message(&tdsp(), past).await.unwrap_err().code, ErrorCode::InvalidTime);
    let garbled =
        SendMessage { text: "hi".into(), start_time: Some("tomorrow".into()), ..long.clone() };
    assert_eq!(gw.send_message(&tdsp(), garbled).await.unwrap_err().code, ErrorCode::InvalidTime);
    let nowhere = SendMessage {
        text: "hi".into(),
        targets: Targets { esi_ids: vec!["1".into()], ..Targets::default() },
        ..long.clone()
    };
    assert_eq!(gw.send_message(&tdsp(), nowhere).await.unwrap_err().code, ErrorCode::UnknownEsi);
    let pending_only = SendMessage {
        text: "hi".into(),
        targets: Targets {
            esi_ids: vec![esi_id(0)],
            devices: Some(vec![sim.eui(2)]),
            ..Targets::default()
        },
        ..long
    };
    assert_eq!(
        gw.send_message(&tdsp(), pending_only).await.unwrap_err().code,
        ErrorCode::NotPaired
    );
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dr_event_opt_out_price_meter_power_and_switch() {
    // dev0 IHD, dev1 PCT, dev2 LCS on one ESI.
    let (_dir, sim, d, gw) = online(SimConfig::new(22, 1, 3)).await;
    for i in 0..3 {
        provision_and_pair(&gw, &sim, i, 0).await;
    }
    let mut rx = gw.subscribe();

    // DR event for HVAC: the thermostat receives it; its user opts out; the opt-out reaches the
    // event channel at once.
    let ev = DrEvent {
        targets: Targets {
            esi_ids: vec![esi_id(0)],
            devices: Some(vec![sim.eui(1)]),
            ..Targets::default()
        },
        device_classes: vec!["hvac".into(), "strip_heater".into()],
        duration_minutes: 60,
        criticality: 3,
        cooling_temperature_offset: Some(2.0),
        ..DrEvent::default()
    };
    let a = gw.drlc_event(&tdsp(), ev).await.unwrap();
    let id = a.issuer_event_id.unwrap();
    let states = final_states(&gw, a.request_id, 30).await;
    assert_eq!(states[&sim.eui(1)], "delivered");
    let eui1 = sim.eui(1);
    wait_event(&mut rx, 15, "event received", |e| {
        matches!(e, Event::Drlc(s) if s.eui64 == eui1 && s.issuer_event_id == id && s.status == "received")
    })
    .await;
    sim.control(&format!("pct 1 opt-out {id}"));
    let e = wait_event(
        &mut rx,
        15,
        "opt-out",
        |e| matches!(e, Event::Drlc(s) if s.eui64 == eui1 && s.status == "opt_out"),
    )
    .await;
    let Event::Drlc(e) = e else { unreachable!() };
    assert_eq!(
        (e.issuer_event_id, e.status_code, e.esi_id.as_str()),
        (id, 0x04, esi_id(0).as_str())
    );
    let bad = DrEvent { criticality: 0, ..DrEvent::default() };
    assert_eq!(gw.drlc_event(&tdsp(), bad).await.unwrap_err().code, ErrorCode::BadRequest);

    // Price: stored on the ESI (one delivery per ESI).
    let price = PublishPrice {
        targets: Targets { esi_ids: vec![esi_id(0)], ..Targets::default() },
        provider_id: 42,
        rate_label: "PEAK".into(),
        currency: 840,
        price: 1234,
        price_trailing_digit: 4,
        price_tier: 2,
        number_of_price_tiers: 3,
        duration_minutes: Some(60),
        ..PublishPrice::default()
    };
    let p = gw.publish_price(&tdsp(), price).await.unwrap();
    assert_eq!(p.deliveries.len(), 1);
    let states = final_states(&gw, p.request_id, 30).await;
    assert_eq!(states["0000000000000000"], "delivered");

    // Meter read: kWh with three decimals from the meter's multiplier and divisor.
    let r = gw.meter_read(&esi_id(0)).await.unwrap();
    let kwh = r.summation_delivered_kwh.unwrap();
    assert!(kwh >= 12_345.678, "{r:?}");
    assert_eq!((kwh * 1000.0).round() / 1000.0, kwh);
    assert!(!r.stale && r.missing_reason.is_none());

    // Power failure and switch change: events at once; status follows.
    sim.control("power fail");
    wait_event(
        &mut rx,
        15,
        "power off",
        |e| matches!(e, Event::Meter(m) if m.power.as_deref() == Some("off")),
    )
    .await;
    let s = gw.meter_status(&esi_id(0), false).await.unwrap();
    assert_eq!((s.power.as_deref(), s.stale), (Some("off"), false));
    sim.control("power restore");
    wait_event(
        &mut rx,
        15,
        "power on",
        |e| matches!(e, Event::Meter(m) if m.power.as_deref() == Some("on")),
    )
    .await;
    sim.control("switch open");
    wait_event(
        &mut rx,
        15,
        "switch open",
        |e| matches!(e, Event::Meter(m) if m.switch.as_deref() == Some("open")),
    )
    .await;
    let s = gw.meter_status(&esi_id(0), true).await.unwrap();
    assert_eq!(
        (s.power.as_deref(), s.switch.as_deref(), s.link.as_str()),
        (Some("on"), Some("open"), "online")
    );
    sim.check();
    d.shutdown().await;
}
