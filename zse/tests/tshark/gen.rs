//! Seeded random SE traffic: commands of every covered cluster in both directions, with the
//! special values SE uses (0, all ones, "now", "until changed", "not used").

use super::fields::{Scope, CLUSTERS};
use serde_json::Value;
use zse::cluster::{
    basic, drlc, identify, key_establishment as ke, messaging, metering, price, ClusterCommand,
};
use zse::field::{Octets, Uint24};
use zse::zcl::{Direction, Frame, FrameType, Header, Payload, UtcTime, ZclStr};

/// SplitMix64: small, seedable, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn u8(&mut self) -> u8 {
        self.next_u64() as u8
    }
    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }
    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Printable ASCII of 0..=max bytes, leaked so commands can borrow it for the whole test.
    pub fn text(&mut self, max: u64) -> &'static str {
        let len = self.below(max + 1);
        let s: String = (0..len).map(|_| char::from(0x20 + self.below(0x5F) as u8)).collect();
        Box::leak(s.into_boxed_str())
    }

    /// A value that is often one of the special ones SE uses (0, all-ones, "now"/"until changed").
    pub fn u32_edgy(&mut self) -> u32 {
        match self.below(6) {
            0 => 0,
            1 => u32::MAX,
            _ => self.u32(),
        }
    }
    pub fn u16_edgy(&mut self) -> u16 {
        match self.below(6) {
            0 => 0,
            1 => u16::MAX,
            _ => self.u16(),
        }
    }
    pub fn u8_edgy(&mut self) -> u8 {
        match self.below(6) {
            0 => 0,
            1 => u8::MAX,
            _ => self.u8(),
        }
    }
    pub fn u64(&mut self) -> u64 {
        self.next_u64()
    }

    /// One of `special` (often), or a random value.
    pub fn or_special<T: Copy>(&mut self, special: &[T], random: impl FnOnce(&mut Self) -> T) -> T {
        if self.chance(40) {
            self.pick(special)
        } else {
            random(self)
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        for b in &mut a {
            *b = self.u8();
        }
        a
    }

    pub fn direction(&mut self) -> Direction {
        if self.chance(50) {
            Direction::ServerToClient
        } else {
            Direction::ClientToServer
        }
    }
}

/// One ZCL frame with what we expect tshark to find in it.
#[derive(Debug, Clone)]
pub struct ZclSample {
    pub cluster: u16,
    pub scope: Scope,
    /// The command name (`DisplayMessage`, `DefaultResponse`).
    pub command: &'static str,
    pub header: Header,
    /// A cluster command's fields as our serde form (`{"message_id": 1, ...}`), taken from
    /// parsing the emitted bytes back, so they are what is on the wire. `Null` for foundation
    /// commands, whose expectations come from the parsed frame itself (`foundation.rs`).
    pub fields: Value,
    pub bytes: Vec<u8>,
}

type Generator = fn(&mut Rng) -> Vec<ClusterCommand<'static>>;

/// Random commands of each covered cluster (every command at least once per call).
pub const GENERATORS: &[(u16, Generator)] = &[
    (basic::CLUSTER_ID, gen_basic),
    (identify::CLUSTER_ID, gen_identify),
    (messaging::CLUSTER_ID, gen_messaging),
    (price::CLUSTER_ID, gen_price),
    (drlc::CLUSTER_ID, gen_drlc),
    (metering::CLUSTER_ID, gen_metering),
    (ke::CLUSTER_ID, gen_key_establishment),
];

fn gen_basic(_: &mut Rng) -> Vec<ClusterCommand<'static>> {
    vec![ClusterCommand::BasicClient(basic::ClientCommand::ResetToFactoryDefaults(
        basic::ResetToFactoryDefaults {},
    ))]
}

fn gen_identify(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    vec![
        ClusterCommand::IdentifyClient(identify::ClientCommand::Identify(identify::Identify {
            identify_time: rng.u16_edgy(),
        })),
        ClusterCommand::IdentifyClient(identify::ClientCommand::IdentifyQuery(
            identify::IdentifyQuery {},
        )),
        ClusterCommand::IdentifyServer(identify::ServerCommand::IdentifyQueryResponse(
            identify::IdentifyQueryResponse { timeout: rng.u16_edgy() },
        )),
    ]
}

fn gen_messaging(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use messaging::{ClientCommand as C, ServerCommand as S};
    let message_control = messaging::MessageControl(rng.u8());
    let display = messaging::DisplayMessage {
        message_id: rng.u32_edgy(),
        message_control,
        start_time: UtcTime(rng.u32_edgy()),
        duration_in_minutes: rng.u16_edgy(),
        message: if rng.chance(10) { ZclStr::INVALID } else { ZclStr::from_str(rng.text(40)) },
        extended_message_control: rng.chance(30).then(|| rng.u8()),
    };
    let control = rng.chance(40).then(|| rng.u8());
    let confirmation = messaging::MessageConfirmation {
        message_id: rng.u32_edgy(),
        confirmation_time: UtcTime(rng.u32_edgy()),
        message_confirmation_control: control,
        message_response: control
            .filter(|_| rng.chance(50))
            .map(|_| ZclStr::from_str(rng.text(20))),
    };
    vec![
        ClusterCommand::MessagingServer(S::DisplayMessage(display)),
        ClusterCommand::MessagingServer(S::CancelMessage(messaging::CancelMessage {
            message_id: rng.u32_edgy(),
            message_control: messaging::MessageControl(if rng.chance(60) { 0 } else { rng.u8() }),
        })),
        ClusterCommand::MessagingClient(C::GetLastMessage(messaging::GetLastMessage {})),
        ClusterCommand::MessagingClient(C::MessageConfirmation(confirmation)),
    ]
}

fn gen_price(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use price::{ClientCommand as C, ServerCommand as S};
    // Fields 12–19 are present up to a random one (none, the SE 1.0 form 1–14, SE 1.1's
    // 1–19, or any cut between): every optional field is sometimes there, sometimes not.
    let optional = rng.below(9);
    let nu8 = |rng: &mut Rng| rng.or_special(&[price::NOT_USED_U8, 0], Rng::u8);
    let nu32 = |rng: &mut Rng| rng.or_special(&[price::NOT_USED_U32, 0], Rng::u32);
    let publish = price::PublishPrice {
        provider_id: rng.u32_edgy(),
        rate_label: if rng.chance(10) {
            ZclStr::INVALID
        } else {
            ZclStr::from_str(rng.text(price::PublishPrice::RATE_LABEL_MAX_LEN as u64))
        },
        issuer_event_id: rng.u32_edgy(),
        current_time: UtcTime(rng.u32_edgy()),
        unit_of_measure: metering::UnitOfMeasure(
            rng.or_special(&[0x00, 0x01, 0x80, 0xFF], Rng::u8),
        ),
        currency: rng.or_special(&[840, 826, 978, 0xFFFF], Rng::u16),
        price_trailing_digit_and_price_tier: price::PriceTrailingDigitAndPriceTier(rng.u8_edgy()),
        number_of_price_tiers_and_register_tier: price::NumberOfPriceTiersAndRegisterTier(
            rng.u8_edgy(),
        ),
        start_time: UtcTime(rng.u32_edgy()),
        duration_in_minutes: rng.or_special(&[price::DURATION_UNTIL_CHANGED, 0, 1440], Rng::u16),
        price: rng.u32_edgy(),
        price_ratio: (optional > 0).then(|| nu8(rng)),
        generation_price: (optional > 1).then(|| nu32(rng)),
        generation_price_ratio: (optional > 2).then(|| nu8(rng)),
        alternate_cost_delivered: (optional > 3).then(|| nu32(rng)),
        alternate_cost_unit: (optional > 4).then(|| price::AlternateCostUnit(nu8(rng))),
        alternate_cost_trailing_digit: (optional > 5)
            .then(|| price::AlternateCostTrailingDigit(rng.u8_edgy())),
        number_of_block_thresholds: (optional > 6).then(|| rng.u8_edgy()),
        price_control: (optional > 7).then(|| price::PriceControl(rng.u8_edgy())),
    };
    let block = price::PublishBlockPeriod {
        provider_id: rng.u32_edgy(),
        issuer_event_id: rng.u32_edgy(),
        block_period_start_time: UtcTime(rng.u32_edgy()),
        block_period_duration_in_minutes: Uint24(
            rng.or_special(&[0, 1440, Uint24::MAX], |rng| rng.u32() & Uint24::MAX),
        ),
        number_of_price_tiers_and_number_of_block_thresholds:
            price::NumberOfPriceTiersAndNumberOfBlockThresholds(rng.u8_edgy()),
        block_period_control: price::BlockPeriodControl(rng.u8_edgy()),
    };
    vec![
        ClusterCommand::PriceClient(C::GetCurrentPrice(price::GetCurrentPrice {
            command_options: price::CommandOptions(rng.u8_edgy()),
        })),
        ClusterCommand::PriceClient(C::GetScheduledPrices(price::GetScheduledPrices {
            start_time: UtcTime(rng.u32_edgy()),
            number_of_events: rng.u8_edgy(),
        })),
        ClusterCommand::PriceClient(C::PriceAcknowledgement(price::PriceAcknowledgement {
            provider_id: rng.u32_edgy(),
            issuer_event_id: rng.u32_edgy(),
            price_ack_time: UtcTime(rng.u32_edgy()),
            control: price::PriceControl(rng.u8_edgy()),
        })),
        ClusterCommand::PriceClient(C::GetBlockPeriods(price::GetBlockPeriods {
            start_time: UtcTime(rng.u32_edgy()),
            number_of_events: rng.u8_edgy(),
        })),
        ClusterCommand::PriceServer(S::PublishPrice(publish)),
        ClusterCommand::PriceServer(S::PublishBlockPeriod(block)),
    ]
}

fn gen_drlc(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use drlc::{ClientCommand as C, ServerCommand as S};
    let device_class =
        |rng: &mut Rng| drlc::DeviceClass(rng.or_special(&[0, 0x0FFF, 0xFFFF], Rng::u16));
    let set_point = |rng: &mut Rng| {
        rng.or_special(&[drlc::LoadControlEvent::SET_POINT_NOT_USED, i16::MAX, 0, 2100], |rng| {
            rng.u16() as i16
        })
    };
    let percentage = |rng: &mut Rng| {
        rng.or_special(
            &[drlc::LoadControlEvent::AVERAGE_LOAD_ADJUSTMENT_NOT_USED, -100, 100, 0],
            |rng| rng.u8() as i8,
        )
    };
    let not_used = |rng: &mut Rng| rng.or_special(&[0xFF, 0, 100], Rng::u8);
    let event = drlc::LoadControlEvent {
        issuer_event_id: rng.u32_edgy(),
        device_class: device_class(rng),
        utility_enrollment_group: rng.u8_edgy(),
        start_time: UtcTime(rng.u32_edgy()),
        duration_in_minutes: rng
            .or_special(&[0, drlc::LoadControlEvent::MAX_DURATION_IN_MINUTES, u16::MAX], Rng::u16),
        criticality_level: drlc::CriticalityLevel(rng.or_special(&[1, 7, 9, 0x0F, 0], Rng::u8)),
        cooling_temperature_offset: not_used(rng),
        heating_temperature_offset: not_used(rng),
        cooling_temperature_set_point: set_point(rng),
        heating_temperature_set_point: set_point(rng),
        average_load_adjustment_percentage: percentage(rng),
        duty_cycle: not_used(rng),
        event_control: drlc::EventControl(rng.u8_edgy()),
    };
    let report = drlc::ReportEventStatus {
        issuer_event_id: rng.u32_edgy(),
        event_status: drlc::EventStatus(rng.or_special(&[0x01, 0x06, 0xF8, 0xFE], Rng::u8)),
        event_status_time: UtcTime(rng.u32_edgy()),
        criticality_level_applied: drlc::CriticalityLevel(rng.u8_edgy()),
        cooling_temperature_set_point_applied: set_point(rng),
        heating_temperature_set_point_applied: set_point(rng),
        average_load_adjustment_percentage_applied: percentage(rng),
        duty_cycle_applied: not_used(rng),
        event_control: drlc::EventControl(rng.u8_edgy()),
        signature_type: drlc::SignatureType(rng.or_special(&[0, 1], Rng::u8)),
        signature: rng.chance(60).then(|| Octets(rng.bytes())),
    };
    vec![
        ClusterCommand::DrlcServer(S::LoadControlEvent(event)),
        ClusterCommand::DrlcServer(S::CancelLoadControlEvent(drlc::CancelLoadControlEvent {
            issuer_event_id: rng.u32_edgy(),
            device_class: device_class(rng),
            utility_enrollment_group: rng.u8_edgy(),
            cancel_control: drlc::CancelControl(rng.u8_edgy()),
            effective_time: UtcTime(rng.u32_edgy()),
        })),
        ClusterCommand::DrlcServer(S::CancelAllLoadControlEvents(
            drlc::CancelAllLoadControlEvents { cancel_control: drlc::CancelControl(rng.u8_edgy()) },
        )),
        ClusterCommand::DrlcClient(C::ReportEventStatus(report)),
        ClusterCommand::DrlcClient(C::GetScheduledEvents(drlc::GetScheduledEvents {
            start_time: UtcTime(rng.u32_edgy()),
            number_of_events: rng.u8_edgy(),
        })),
    ]
}

fn gen_metering(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use metering::{ClientCommand as C, ServerCommand as S};
    let intervals: Vec<metering::Interval> = (0..rng.below(21))
        .map(|_| {
            metering::Interval(
                rng.or_special(&[0, metering::Interval::INVALID.0], |rng| rng.u32() & 0xFF_FFFF),
            )
        })
        .collect();
    let intervals: &'static [metering::Interval] = Box::leak(intervals.into_boxed_slice());
    let response = metering::GetProfileResponse::new(
        UtcTime(rng.u32_edgy()),
        metering::GetProfileStatus(rng.or_special(&[0, 5], Rng::u8)),
        metering::ProfileIntervalPeriod(rng.or_special(&[0, 7], Rng::u8)),
        intervals,
    )
    .expect("at most 20 intervals");
    vec![
        ClusterCommand::MeteringClient(C::GetProfile(metering::GetProfile {
            interval_channel: metering::IntervalChannel(rng.or_special(&[0, 1], Rng::u8)),
            end_time: UtcTime(rng.u32_edgy()),
            number_of_periods: rng.u8_edgy(),
        })),
        ClusterCommand::MeteringClient(C::RequestMirrorResponse(metering::RequestMirrorResponse {
            endpoint_id: rng.or_special(
                &[1, 0xF0, metering::RequestMirrorResponse::MIRROR_NOT_POSSIBLE],
                Rng::u16,
            ),
        })),
        ClusterCommand::MeteringClient(C::MirrorRemoved(metering::MirrorRemoved {
            removed_endpoint_id: rng.or_special(&[1, metering::MirrorRemoved::FAILURE], Rng::u16),
        })),
        ClusterCommand::MeteringClient(C::RequestFastPollMode(metering::RequestFastPollMode {
            fast_poll_update_period: rng.u8_edgy(),
            duration: rng.or_special(&[0, 15], Rng::u8),
        })),
        ClusterCommand::MeteringServer(S::GetProfileResponse(response)),
        ClusterCommand::MeteringServer(S::RequestMirror(metering::RequestMirror {})),
        ClusterCommand::MeteringServer(S::RemoveMirror(metering::RemoveMirror {})),
        ClusterCommand::MeteringServer(S::RequestFastPollModeResponse(
            metering::RequestFastPollModeResponse {
                applied_update_period: rng.u8_edgy(),
                fast_poll_mode_endtime: UtcTime(rng.u32_edgy()),
            },
        )),
    ]
}

fn gen_key_establishment(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use ke::{ClientCommand as C, ServerCommand as S};
    // The Initiate commands carry Suite 1's 48-byte certificate (the only size the codec
    // writes), so they announce Suite 1; Wireshark picks the certificate layout by that field.
    let suite_1 = ke::KeyEstablishmentSuite::CRYPTO_SUITE_1;
    // TerminateKeyEstablishment lists every suite the sender supports: any bitmap.
    let suite = |rng: &mut Rng| ke::KeyEstablishmentSuite(rng.or_special(&[1, 2, 3], Rng::u16));
    let time = |rng: &mut Rng| rng.or_special(&[0, 0xFE, 0xFF], Rng::u8);
    let terminate = |rng: &mut Rng| ke::TerminateKeyEstablishment {
        status_code: ke::KeyEstablishmentStatus(rng.or_special(&[1, 3, 5, 6], Rng::u8)),
        wait_time: time(rng),
        key_establishment_suite: suite(rng),
    };
    vec![
        ClusterCommand::KeyEstablishmentClient(C::InitiateKeyEstablishmentRequest(
            ke::InitiateKeyEstablishmentRequest {
                key_establishment_suite: suite_1,
                ephemeral_data_generate_time: time(rng),
                confirm_key_generate_time: time(rng),
                identity: Octets(rng.bytes()),
            },
        )),
        ClusterCommand::KeyEstablishmentClient(C::EphemeralDataRequest(ke::EphemeralDataRequest {
            ephemeral_data: Octets(rng.bytes()),
        })),
        ClusterCommand::KeyEstablishmentClient(C::ConfirmKeyDataRequest(
            ke::ConfirmKeyDataRequest { secure_message_authentication_code: Octets(rng.bytes()) },
        )),
        ClusterCommand::KeyEstablishmentClient(C::TerminateKeyEstablishment(terminate(rng))),
        ClusterCommand::KeyEstablishmentServer(S::InitiateKeyEstablishmentResponse(
            ke::InitiateKeyEstablishmentResponse {
                requested_key_establishment_suite: suite_1,
                ephemeral_data_generate_time: time(rng),
                confirm_key_generate_time: time(rng),
                identity: Octets(rng.bytes()),
            },
        )),
        ClusterCommand::KeyEstablishmentServer(S::EphemeralDataResponse(
            ke::EphemeralDataResponse { ephemeral_data: Octets(rng.bytes()) },
        )),
        ClusterCommand::KeyEstablishmentServer(S::ConfirmKeyResponse(ke::ConfirmKeyResponse {
            secure_message_authentication_code: Octets(rng.bytes()),
        })),
        ClusterCommand::KeyEstablishmentServer(S::TerminateKeyEstablishment(terminate(rng))),
    ]
}

/// Splits serde's `{"command": Name, "fields": {...}}` form.
fn command_json(v: &Value) -> (&'static str, Value) {
    let name = v["command"].as_str().expect("command name").to_owned();
    (Box::leak(name.into_boxed_str()), v["fields"].clone())
}

pub fn emit(frame: &Frame<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut buf).expect("emit ZCL frame");
    assert_eq!(n, buf.len());
    buf
}

/// A ZCL frame for a cluster command, with a random TSN and disable-default-response bit. The
/// expected fields come from parsing the emitted bytes back with our own codec.
pub fn cluster_sample(rng: &mut Rng, command: &ClusterCommand<'static>) -> ZclSample {
    let frame = Frame::cluster(command.clone(), rng.u8(), rng.chance(50));
    let bytes = emit(&frame);
    let parsed = Frame::parse(command.cluster_id(), &bytes).expect("parse what we emitted");
    let Payload::Cluster(back) = &parsed.payload else {
        panic!("{} parsed as {parsed:?}", command.name())
    };
    assert_eq!(back, command, "parsing back {} gives another command", command.name());
    let (name, fields) = command_json(&serde_json::to_value(back).expect("serialize"));
    ZclSample {
        cluster: command.cluster_id().0,
        scope: Scope::Cluster(command.cluster_id().0),
        command: name,
        header: frame.header,
        fields,
        bytes,
    }
}

/// A manufacturer-specific cluster command (opaque payload) on a random covered cluster, to
/// exercise the ZCL header's manufacturer code.
pub fn manufacturer_sample(rng: &mut Rng) -> ZclSample {
    let cluster = rng.pick(CLUSTERS).id;
    let payload: Vec<u8> = (0..rng.below(8)).map(|_| rng.u8()).collect();
    let payload: &'static [u8] = Box::leak(payload.into_boxed_slice());
    let header = Header {
        frame_type: FrameType::ClusterSpecific,
        manufacturer_code: Some(rng.u16()),
        direction: rng.direction(),
        disable_default_response: rng.chance(50),
        tsn: rng.u8(),
        command_id: rng.u8(),
    };
    let frame = Frame { header, payload: Payload::Unknown(payload) };
    ZclSample {
        cluster,
        scope: Scope::Cluster(cluster),
        command: MANUFACTURER_SPECIFIC,
        header,
        fields: Value::Object(serde_json::Map::new()),
        bytes: emit(&frame),
    }
}

/// The command name used for [`manufacturer_sample`]s.
pub const MANUFACTURER_SPECIFIC: &str = "(manufacturer-specific)";

/// One round: every generator once, every foundation command once.
pub fn zcl_round(rng: &mut Rng) -> Vec<ZclSample> {
    let mut out = Vec::new();
    for (_, generate) in GENERATORS {
        for command in generate(rng) {
            out.push(cluster_sample(rng, &command));
        }
    }
    out.extend(super::gen_foundation::foundation_samples(rng));
    out.push(manufacturer_sample(rng));
    out
}
