//! Scenario tests through the host link and the simulated radio: messages and confirmation, a
//! DR event with an opt-out, price polling, power failure and service switch.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use esi_sim::command::{Action, DeviceRef, Target};
use esi_sim::device::{Behavior, DeviceKind};
use esi_sim::Sim;
use firmware::host_link::{
    Command, DeliveryOutcome, DisplayMessage, LoadControlEvent, PowerState, PublishPrice,
    ReadMeter, Report, ResultCode, SwitchState, Targets,
};

fn message(id: u32, text: &str, confirm: bool) -> Command {
    Command::DisplayMessage(DisplayMessage {
        message_id: id,
        message_control: if confirm { 0x80 } else { 0x00 },
        start_time: 0,
        duration_in_minutes: 60,
        message: text.try_into().unwrap(),
        targets: Targets::All,
    })
}

fn ihd(sim: &Sim, n: usize) -> &esi_sim::device::ihd::Ihd {
    let i = sim.devices_of(DeviceKind::Ihd)[n];
    match &sim.devices[i].behavior {
        Behavior::Ihd(b) => b,
        _ => unreachable!(),
    }
}

#[test]
fn message_is_displayed_and_confirmed_on_command() {
    let mut sim = sim(10, 1, 1);
    start(&mut sim);
    pair(&mut sim, 0);
    let id = sim.host(0).unwrap().send(message(77, "Peak pricing 4-7pm", true));
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    assert!(sim.run_until(60_000, |s| ihd(s, 0).message.is_some()).unwrap());
    assert_eq!(ihd(&sim, 0).message.as_ref().unwrap().text, "Peak pricing 4-7pm");
    let delivered = sim.run_until(60_000, |s| {
        s.esis[0]
            .host
            .as_ref()
            .unwrap()
            .reports(|r| matches!(r, Report::DeliveryResult(d) if d.request_id == id))
            .count()
            == 1
    });
    assert!(delivered.unwrap());
    let out = sim
        .apply(&Action::Confirm { device: DeviceRef::Kind(DeviceKind::Ihd, 0), message_id: None });
    assert_eq!(out, Ok("confirmed message 77".into()));
    let confirmed = sim
        .run_until(60_000, |s| {
            s.esis[0]
                .host
                .as_ref()
                .unwrap()
                .reports(|r| matches!(r, Report::MessageConfirmed(m) if m.message_id == 77))
                .count()
                == 1
        })
        .unwrap();
    assert!(confirmed);
    let eui = sim.devices[0].spec.eui64;
    let h = sim.esis[0].host.as_ref().unwrap();
    let Some(Report::MessageConfirmed(m)) =
        h.reports(|r| matches!(r, Report::MessageConfirmed(_))).next()
    else {
        unreachable!()
    };
    assert_eq!(m.eui64, eui.into());
    assert!(m.confirmation_time >= T0);
}

#[test]
fn message_is_confirmed_after_the_configured_delay() {
    let mut cfg = esi_sim::SimConfig::new(11, 1, 1).with_in_process_hosts();
    cfg.devices[0].confirm_after_ms = Some(10_000);
    let mut sim = Sim::new(cfg).unwrap();
    start(&mut sim);
    pair(&mut sim, 0);
    let id = sim.host(0).unwrap().send(message(5, "Call us", true));
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    let confirmed = sim
        .run_until(120_000, |s| {
            s.esis[0]
                .host
                .as_ref()
                .unwrap()
                .reports(|r| matches!(r, Report::MessageConfirmed(m) if m.message_id == 5))
                .count()
                == 1
        })
        .unwrap();
    assert!(confirmed, "{}", sim.devices_text());
    assert_eq!(ihd(&sim, 0).confirmations_sent, 1);
}

fn dr_event(id: u32, class: u16, minutes: u16) -> Command {
    Command::LoadControlEvent(LoadControlEvent {
        issuer_event_id: id,
        device_class: class,
        utility_enrollment_group: 0,
        start_time: 0,
        duration_in_minutes: minutes,
        criticality_level: 1,
        cooling_temperature_offset: 0xFF,
        heating_temperature_offset: 0xFF,
        cooling_temperature_set_point: 2_600,
        heating_temperature_set_point: i16::MIN,
        average_load_adjustment_percentage: i8::MIN,
        duty_cycle: 0xFF,
        event_control: 0,
        targets: Targets::All,
    })
}

fn statuses(sim: &Sim, event: u32) -> Vec<(u64, u8)> {
    sim.esis[0]
        .host
        .as_ref()
        .unwrap()
        .reports(|_| true)
        .filter_map(|r| match r {
            Report::EventStatus(s) if s.issuer_event_id == event => {
                Some((s.eui64.0, s.event_status))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn dr_event_runs_and_a_thermostat_opts_out() {
    // Devices: IHD, PCT, LCS on one ESI.
    let mut sim = sim(12, 1, 3);
    start(&mut sim);
    for i in 0..3 {
        pair(&mut sim, i);
    }
    let (pct, lcs) = (sim.devices[1].spec.eui64.0, sim.devices[2].spec.eui64.0);
    // HVAC and water heater classes.
    let id = sim.host(0).unwrap().send(dr_event(900, 0x0007, 10));
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    let started = sim
        .run_until(60_000, |s| {
            let st = statuses(s, 900);
            st.contains(&(pct, 0x02)) && st.contains(&(lcs, 0x02))
        })
        .unwrap();
    assert!(started, "{:?}", statuses(&sim, 900));
    assert!(statuses(&sim, 900).contains(&(pct, 0x01)), "received reported first");
    let out = sim
        .apply(&Action::OptOut { device: DeviceRef::Kind(DeviceKind::Pct, 0), event: Some(900) });
    assert_eq!(out, Ok("opted out of event 900".into()));
    assert!(sim.run_until(30_000, |s| statuses(s, 900).contains(&(pct, 0x04))).unwrap());
    // The event ends after 10 minutes: the LCS completes it, the PCT reports partial completion.
    sim.run_for(11 * 60_000).unwrap();
    let st = statuses(&sim, 900);
    assert!(st.contains(&(lcs, 0x03)), "{st:?}");
    assert!(st.contains(&(pct, 0x08)), "{st:?}");
    // The ESI forgot the event at its end (checked by the invariants every step too).
    assert!(sim.esis[0].node.snapshot(sim.now).dr_events.is_empty());
    assert!(sim.unanswered().is_empty());
}

#[test]
fn price_is_polled_and_pushed() {
    let mut sim = sim(13, 1, 1);
    start(&mut sim);
    pair(&mut sim, 0);
    let price = Command::PublishPrice(PublishPrice {
        provider_id: 1,
        rate_label: "TOU".try_into().unwrap(),
        issuer_event_id: 10,
        unit_of_measure: 0,
        currency: 840,
        price_trailing_digit_and_price_tier: 0x31,
        number_of_price_tiers_and_register_tier: 0x31,
        start_time: 0,
        duration_in_minutes: 0xFFFF,
        price: 1_234,
        price_ratio: 0xFF,
        generation_price: u32::MAX,
        generation_price_ratio: 0xFF,
        alternate_cost_delivered: u32::MAX,
        alternate_cost_unit: 0xFF,
        alternate_cost_trailing_digit: 0,
        targets: Targets::All,
    });
    let id = sim.host(0).unwrap().send(price);
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    assert!(sim
        .run_until(120_000, |s| ihd(s, 0).price.as_ref().is_some_and(|p| p.price == 1_234))
        .unwrap());
    let p = ihd(&sim, 0).price.clone().unwrap();
    assert_eq!((p.trailing_digits, p.tier, p.rate_label.as_str()), (3, 1, "TOU"));
    assert!(sim.devices_text().contains("price 1.234"), "{}", sim.devices_text());
    // The display's polls keep reaching the ESI (its last-seen time moves on).
    let deliveries: Vec<_> = sim.esis[0]
        .host
        .as_ref()
        .unwrap()
        .reports(|r| matches!(r, Report::DeliveryResult(_)))
        .cloned()
        .collect();
    assert!(deliveries
        .iter()
        .all(|r| matches!(r, Report::DeliveryResult(d) if d.outcome == DeliveryOutcome::ApsAcked)));
}

fn power_reports(sim: &Sim) -> Vec<(PowerState, SwitchState)> {
    sim.esis[0]
        .host
        .as_ref()
        .unwrap()
        .reports(|_| true)
        .filter_map(|r| match r {
            Report::PowerSwitchStatus(p) if p.request_id.is_none() => Some((p.power, p.switch)),
            _ => None,
        })
        .collect()
}

#[test]
fn power_failure_and_switch_changes_reach_the_host() {
    let mut sim = sim(14, 1, 0);
    start(&mut sim);
    sim.run_for(5_000).unwrap();
    sim.apply(&Action::Power { esi: Target::One(0), on: false }).unwrap();
    assert!(sim
        .run_until(10_000, |s| power_reports(s).last()
            == Some(&(PowerState::OFF, SwitchState::CLOSED)))
        .unwrap());
    sim.apply(&Action::Power { esi: Target::All, on: true }).unwrap();
    sim.apply(&Action::Switch { esi: Target::One(0), closed: false }).unwrap();
    assert!(sim
        .run_until(10_000, |s| power_reports(s).last()
            == Some(&(PowerState::ON, SwitchState::OPEN)))
        .unwrap());
    // A meter read shows the summation standing still while the switch is open.
    let read = |sim: &mut Sim| {
        let id = sim
            .host(0)
            .unwrap()
            .send(Command::ReadMeter(ReadMeter { attribute_ids: heapless::Vec::new() }));
        assert_eq!(wait_result(sim, 0, id), ResultCode::SUCCESS);
        let reading = |s: &Sim| {
            s.esis[0].host.as_ref().unwrap().reports(|_| true).find_map(|r| match r {
                Report::MeterReading(m) if m.request_id == Some(id) => Some(m.records.clone()),
                _ => None,
            })
        };
        assert!(sim.run_until(10_000, |s| reading(s).is_some()).unwrap());
        let records = reading(sim).unwrap();
        // CurrentSummationDelivered, uint48, present (missing is not zero: BR-001.002).
        let summation = records.iter().find(|r| r.attribute_id == 0x0000).unwrap();
        assert_eq!((summation.status, summation.data_type), (0x00, 0x25));
        summation.value.clone()
    };
    let a = read(&mut sim);
    sim.run_for(600_000).unwrap();
    assert_eq!(read(&mut sim), a);
    sim.apply(&Action::Switch { esi: Target::One(0), closed: true }).unwrap();
    sim.run_for(600_000).unwrap();
    assert_ne!(read(&mut sim), a);
    let status = sim.host(0).unwrap().send(Command::GetStatus);
    assert_eq!(wait_result(&mut sim, 0, status), ResultCode::SUCCESS);
}
