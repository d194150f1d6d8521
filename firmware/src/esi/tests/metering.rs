//! Metering server scenarios (the ESI's own meter through the `Metrology` trait).

use super::*;
use zse::field::{Int24, Uint24, Uint48};

#[test]
fn read_attributes_from_metrology() {
    let mut h = Harness::new();
    h.pair(IHD);
    let ids = [0x0000, 0x0400, 0x0200, 0x0300, 0x0301, 0x0302, 0x0303, 0x0306, 0x0001, 0x0999];
    let out = h.rx(IHD, ClusterId::METERING, &read_attributes(&ids, 0x21));
    let (header, records) = read_attributes_response(only_frame(&out));
    assert_eq!(header.tsn, 0x21);
    let values: Vec<_> = records.iter().map(|r| (r.0, r.1, r.2)).collect();
    assert_eq!(
        values,
        std::vec![
            (0x0000, Status::SUCCESS, Some(Value::Uint48(Uint48(123_456)))),
            (0x0400, Status::SUCCESS, Some(Value::Int24(Int24(-1500)))),
            // The fake meter cannot tell its status: missing, not zero.
            (0x0200, Status::UNSUPPORTED_ATTRIBUTE, None),
            (0x0300, Status::SUCCESS, Some(Value::Enum8(0))),
            (0x0301, Status::SUCCESS, Some(Value::Uint24(Uint24(1)))),
            (0x0302, Status::SUCCESS, Some(Value::Uint24(Uint24(1000)))),
            (0x0303, Status::SUCCESS, Some(Value::Bitmap8(0xAB))),
            (0x0306, Status::SUCCESS, Some(Value::Bitmap8(0))),
            (0x0001, Status::UNSUPPORTED_ATTRIBUTE, None),
            (0x0999, Status::UNSUPPORTED_ATTRIBUTE, None),
        ]
    );
}

#[test]
fn host_read_meter_is_scaled_and_timestamped() {
    let mut h = Harness::new();
    h.advance(3_000);
    h.esi.meter_mut().status = Some(MeterStatus(0));
    let out = h.command(Command::ReadMeter { attributes: &[] });
    let Some(Ok(CommandOk::MeterReading(r))) = result_of(&out) else { panic!("{out:?}") };
    assert_eq!(r.read_at, Some(UtcTime(T0 + 3)));
    assert_eq!((r.formatting.multiplier, r.formatting.divisor), (1, 1000));
    let got: Vec<_> = r.attributes.iter().map(|a| (a.id, a.value)).collect();
    assert_eq!(
        got,
        std::vec![
            (0x0000, Some(crate::esi::metering::MeterValue::Unsigned(123_456))),
            (0x0200, Some(crate::esi::metering::MeterValue::Bits(0))),
            (0x0400, Some(crate::esi::metering::MeterValue::Signed(-1500))),
        ]
    );
    h.esi.meter_mut().summation = None;
    let out = h.command(Command::ReadMeter { attributes: &[0x0000] });
    let Some(Ok(CommandOk::MeterReading(r))) = result_of(&out) else { panic!() };
    assert_eq!(r.attributes[0].value, None);
    let out = h.command(Command::ReadMeter { attributes: &[0x0000, 0x0777] });
    assert_eq!(result_of(&out), Some(Err(CommandError::UnsupportedAttribute(0x0777))));
}

#[test]
fn power_and_switch_changes_are_reported() {
    let mut h = Harness::new();
    let changes = |out: &[Action]| -> Vec<(PowerState, SwitchState)> {
        outcomes(out)
            .into_iter()
            .filter_map(|o| match o {
                Outcome::PowerSwitchStatus { power, switch, .. } => Some((*power, *switch)),
                _ => None,
            })
            .collect()
    };
    assert!(changes(&h.advance(1_000)).is_empty());
    h.esi.meter_mut().status = Some(MeterStatus(0));
    assert_eq!(changes(&h.advance(1_000)), std::vec![(PowerState::On, SwitchState::Closed)]);
    assert!(changes(&h.advance(1_000)).is_empty());
    h.esi.meter_mut().status =
        Some(MeterStatus(MeterStatus::POWER_FAILURE | MeterStatus::SERVICE_DISCONNECT_OPEN));
    assert_eq!(changes(&h.advance(1_000)), std::vec![(PowerState::Off, SwitchState::Open)]);
    let out = h.command(Command::GetStatus);
    let Some(Ok(CommandOk::Status(s))) = result_of(&out) else { panic!() };
    assert_eq!(
        (s.power, s.switch, s.capacity),
        (Some(PowerState::Off), Some(SwitchState::Open), 16)
    );
}
