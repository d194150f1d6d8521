//! Property tests: every message round-trips; arbitrary bytes never panic the decoder and never
//! produce a message nobody sent.

use super::frame::Incoming;
use super::testutil::*;
use super::types::*;
use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::vec; // the macro, for prop_oneof! with many arms
use std::vec::Vec;

fn hstring<const N: usize>() -> impl Strategy<Value = heapless::String<N>> {
    "\\PC{0,100}".prop_map(|s| {
        let mut out = heapless::String::new();
        for c in s.chars() {
            if out.push(c).is_err() {
                break;
            }
        }
        out
    })
}

fn hvec<T: core::fmt::Debug, const N: usize>(
    item: impl Strategy<Value = T>,
) -> impl Strategy<Value = heapless::Vec<T, N>> {
    vec(item, 0..=N).prop_map(|v| v.into_iter().collect())
}

fn eui64() -> impl Strategy<Value = Eui64> {
    any::<u64>().prop_map(Eui64)
}

fn targets() -> impl Strategy<Value = Targets> {
    prop_oneof![Just(Targets::All), hvec(eui64()).prop_map(Targets::Devices)]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (eui64(), any::<[u8; 16]>(), any::<u32>()).prop_map(|(eui64, k, join_window_s)| {
            Command::AddDevice(AddDevice { eui64, link_key: LinkKey::new(k), join_window_s })
        }),
        (eui64(), any::<u8>()).prop_map(|(eui64, r)| Command::RemoveDevice(RemoveDevice {
            eui64,
            reason: RemoveReason(r)
        })),
        Just(Command::ListDevices),
        (
            (any::<u32>(), hstring(), any::<u32>(), any::<u8>(), any::<u16>(), any::<[u8; 2]>()),
            (any::<u32>(), any::<u16>(), any::<u32>(), any::<u8>(), any::<u32>(), any::<u8>()),
            (any::<u32>(), any::<[u8; 2]>(), targets()),
        )
            .prop_map(
                |((provider_id, rate_label, ie, uom, cur, nib), b, (acd, ac, targets))| {
                    Command::PublishPrice(PublishPrice {
                        provider_id,
                        rate_label,
                        issuer_event_id: ie,
                        unit_of_measure: uom,
                        currency: cur,
                        price_trailing_digit_and_price_tier: nib[0],
                        number_of_price_tiers_and_register_tier: nib[1],
                        start_time: b.0,
                        duration_in_minutes: b.1,
                        price: b.2,
                        price_ratio: b.3,
                        generation_price: b.4,
                        generation_price_ratio: b.5,
                        alternate_cost_delivered: acd,
                        alternate_cost_unit: ac[0],
                        alternate_cost_trailing_digit: ac[1],
                        targets,
                    })
                }
            ),
        (any::<u32>(), any::<u8>(), any::<u32>(), any::<u16>(), hstring(), targets()).prop_map(
            |(message_id, message_control, start_time, duration_in_minutes, message, targets)| {
                Command::DisplayMessage(DisplayMessage {
                    message_id,
                    message_control,
                    start_time,
                    duration_in_minutes,
                    message,
                    targets,
                })
            }
        ),
        (any::<u32>(), any::<u8>(), targets()).prop_map(
            |(message_id, message_control, targets)| {
                Command::CancelMessage(CancelMessage { message_id, message_control, targets })
            }
        ),
        (
            (any::<u32>(), any::<u16>(), any::<u8>(), any::<u32>(), any::<u16>(), any::<u8>()),
            (any::<[u8; 2]>(), any::<[i16; 2]>(), any::<i8>(), any::<[u8; 2]>(), targets()),
        )
            .prop_map(|(a, (off, sp, alap, dc_ec, targets))| {
                Command::LoadControlEvent(LoadControlEvent {
                    issuer_event_id: a.0,
                    device_class: a.1,
                    utility_enrollment_group: a.2,
                    start_time: a.3,
                    duration_in_minutes: a.4,
                    criticality_level: a.5,
                    cooling_temperature_offset: off[0],
                    heating_temperature_offset: off[1],
                    cooling_temperature_set_point: sp[0],
                    heating_temperature_set_point: sp[1],
                    average_load_adjustment_percentage: alap,
                    duty_cycle: dc_ec[0],
                    event_control: dc_ec[1],
                    targets,
                })
            }),
        (any::<u32>(), any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>(), targets()).prop_map(
            |(ie, dc, ueg, cc, et, targets)| {
                Command::CancelLoadControlEvent(CancelLoadControlEvent {
                    issuer_event_id: ie,
                    device_class: dc,
                    utility_enrollment_group: ueg,
                    cancel_control: cc,
                    effective_time: et,
                    targets,
                })
            }
        ),
        (any::<u8>(), targets()).prop_map(|(cancel_control, targets)| {
            Command::CancelAllLoadControlEvents(CancelAllLoadControlEvents {
                cancel_control,
                targets,
            })
        }),
        hvec(any::<u16>())
            .prop_map(|attribute_ids| Command::ReadMeter(ReadMeter { attribute_ids })),
        Just(Command::GetStatus),
        any::<u32>().prop_map(|utc| Command::SetTime(SetTime { utc })),
        Just(Command::Reset),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (any::<u32>(), command()).prop_map(|(request_id, command)| Request { request_id, command })
}

fn report() -> impl Strategy<Value = Report> {
    let detail = prop_oneof![
        Just(ResultDetail::None),
        any::<[u8; 2]>().prop_map(|s| ResultDetail::Slot { slot: s[0], slots_free: s[1] }),
        any::<u8>().prop_map(|count| ResultDetail::Deliveries { count }),
    ];
    let outcome = prop_oneof![
        Just(DeliveryOutcome::ApsAcked),
        any::<u8>().prop_map(DeliveryOutcome::ZclStatus),
        any::<u8>().prop_map(|retries| DeliveryOutcome::Timeout { retries }),
    ];
    let entry = (any::<u8>(), eui64(), any::<u8>(), any::<u32>(), any::<u8>(), any::<u32>())
        .prop_map(|(slot, eui64, s, last_seen, lqi, join_deadline)| DeviceEntry {
            slot,
            eui64,
            state: DeviceState(s),
            last_seen,
            lqi,
            join_deadline,
        });
    let record = (any::<u16>(), any::<u8>(), any::<u8>(), hvec(any::<u8>())).prop_map(
        |(attribute_id, status, data_type, value)| AttributeRecord {
            attribute_id,
            status,
            data_type,
            value,
        },
    );
    let counters = (any::<[u32; 6]>(), any::<[u8; 2]>()).prop_map(|(c, s)| HeartbeatCounters {
        link_frames_rx: c[0],
        link_errors: c[1],
        link_retransmissions: c[2],
        aps_tx: c[3],
        aps_acked: c[4],
        aps_failed: c[5],
        slots_used: s[0],
        devices_paired: s[1],
    });
    prop_oneof![
        (any::<u32>(), any::<u8>(), detail).prop_map(|(request_id, c, detail)| {
            Report::Result(RequestResult { request_id, code: ResultCode(c), detail })
        }),
        (any::<u32>(), eui64(), outcome).prop_map(|(request_id, eui64, outcome)| {
            Report::DeliveryResult(DeliveryResult { request_id, eui64, outcome })
        }),
        (any::<u32>(), eui64(), any::<u32>()).prop_map(|(message_id, eui64, t)| {
            Report::MessageConfirmed(MessageConfirmed { message_id, eui64, confirmation_time: t })
        }),
        (any::<(u32, u8, u32, u8)>(), eui64(), any::<[i16; 2]>(), any::<(i8, u8, u8)>()).prop_map(
            |(a, eui64, sp, b)| Report::EventStatus(EventStatus {
                issuer_event_id: a.0,
                eui64,
                event_status: a.1,
                event_status_time: a.2,
                criticality_level_applied: a.3,
                cooling_temperature_set_point_applied: sp[0],
                heating_temperature_set_point_applied: sp[1],
                average_load_adjustment_percentage_applied: b.0,
                duty_cycle_applied: b.1,
                event_control: b.2,
            })
        ),
        (eui64(), any::<u8>()).prop_map(|(eui64, s)| Report::DeviceEvent(DeviceEvent {
            eui64,
            state: DeviceState(s)
        })),
        (any::<u32>(), any::<u8>(), hvec(entry)).prop_map(|(request_id, capacity, entries)| {
            Report::DeviceList(DeviceList { request_id, capacity, entries })
        }),
        (any::<Option<u32>>(), any::<u32>(), hvec(record)).prop_map(
            |(request_id, timestamp, records)| {
                Report::MeterReading(MeterReading { request_id, timestamp, records })
            }
        ),
        (any::<Option<u32>>(), any::<[u8; 2]>(), any::<u32>()).prop_map(|(request_id, ps, at)| {
            Report::PowerSwitchStatus(PowerSwitchStatus {
                request_id,
                power: PowerState(ps[0]),
                switch: SwitchState(ps[1]),
                at,
            })
        }),
        (any::<u32>(), any::<u32>(), counters).prop_map(|(uptime_s, utc, counters)| {
            Report::Heartbeat(Heartbeat { uptime_s, utc, counters })
        }),
        (any::<u8>(), hstring())
            .prop_map(|(c, detail)| Report::Error(ErrorReport { code: ErrorCode(c), detail })),
    ]
}

/// postcard round trip, size bound, and the full frame path (CRC + COBS + de-framer).
fn check_message<M: Message + Clone + PartialEq + core::fmt::Debug>(m: &M, seq: u16) {
    let mut buf = [0u8; 1024];
    let bytes = postcard::to_slice(m, &mut buf).unwrap();
    assert!(bytes.len() <= M::POSTCARD_MAX_SIZE);
    assert_eq!(&postcard::from_bytes::<M>(bytes).unwrap(), m);
    let p = Packet::Data { seq, msg: m.clone() };
    assert_eq!(unwrap_frame::<M>(&wire_of(&p)), Ok(Incoming::Packet(p)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(r in request(), seq in any::<u16>()) {
        check_message(&r, seq);
    }

    #[test]
    fn reports_round_trip(r in report(), seq in any::<u16>()) {
        check_message(&r, seq);
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..4000)) {
        fuzz_decode(&bytes);
    }

    /// Valid frames interleaved with random garbage: whatever the endpoint delivers was sent,
    /// once, in order; and when every piece of garbage is closed by a delimiter (so it cannot
    /// swallow the next frame), everything is delivered.
    #[test]
    fn garbage_never_yields_unsent_messages(
        msgs in vec(request(), 1..12),
        garbage in vec((vec(any::<u8>(), 0..80), any::<bool>()), 12),
        cuts in vec(1usize..97, 1..8),
    ) {
        let mut coord =
            LinkEndpoint::<Report, Request, 4, 16>::new(LinkConfig::new(coordinator_node(), 3));
        let hello = Hello { protocol: PROTOCOL_VERSION, node: host_node(), session: 5, first_seq: 0 };
        let mut stream = wire_of(&Packet::<Request>::Hello(hello));
        for (i, (m, (g, delimited))) in msgs.iter().zip(&garbage).enumerate() {
            stream.extend_from_slice(g);
            if *delimited {
                stream.push(0);
            }
            stream.extend(wire_of(&Packet::Data { seq: i as u16, msg: m.clone() }));
        }
        let mut wire = [0u8; MAX_WIRE_LEN];
        let mut received = Vec::new();
        let mut rest = &stream[..];
        for c in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, r) = rest.split_at((*c).min(rest.len()));
            rest = r;
            coord.handle_bytes(0, chunk);
            while let Some(ev) = coord.poll_event() {
                if let LinkEvent::Received(m) = ev {
                    received.push(m);
                }
            }
            while coord.poll_transmit(&mut wire).is_some() {}
        }
        let mut it = msgs.iter();
        for r in &received {
            prop_assert!(it.any(|m| m == r), "{r:?} was not sent (or not in order)");
        }
        if garbage.iter().take(msgs.len()).all(|g| g.1) {
            prop_assert_eq!(&received, &msgs);
        }
    }
}
