//! Random SE ZCL frames for `tshark_secured.rs`, built with the crate's cluster `Repr`s, each
//! with the tshark fields (Wireshark 4.0 names) and values it must show.

use std::fmt::Write as _;
use zse::cluster::{drlc, messaging, metering, price, ClusterCommand};
use zse::field::{Octets, Uint24, Uint48};
use zse::security::Key128;
use zse::zcl::foundation::{
    Command as Foundation, ReadAttributeStatusRecord, ReadAttributesResponse,
};
use zse::zcl::{
    AttributeId, ClusterId, Direction, Frame, FrameType, Header, Payload, Status, UtcTime, Value,
    ZclStr,
};

/// splitmix64: one seed decides every frame.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    pub fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    pub fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn key(&mut self) -> Key128 {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.next().to_le_bytes());
        k[8..].copy_from_slice(&self.next().to_le_bytes());
        Key128::new(k)
    }
    /// Printable ASCII words (Wireshark shows strings as text).
    pub fn text(&mut self, max: u64) -> String {
        const WORDS: &[&str] =
            &["Peak", "price", "alert", "tier 2", "Save", "energy", "now", "kWh", "DR event", "ok"];
        let mut s = String::new();
        let target = self.below(max + 1) as usize;
        while s.len() < target {
            let w = WORDS[self.below(WORDS.len() as u64) as usize];
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(w);
        }
        s.truncate(target);
        s.trim_end().to_owned()
    }
}

/// What tshark must show for one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// One value per occurrence, in order (numbers may be printed in decimal or 0x-hex).
    Uints(Vec<u64>),
    Ints(Vec<i64>),
    Texts(Vec<String>),
    /// Byte strings / EUI-64s, compared without separators, lower case.
    Hexes(Vec<String>),
}

pub fn uint(v: impl Into<u64>) -> Want {
    Want::Uints(vec![v.into()])
}

pub fn int(v: impl Into<i64>) -> Want {
    Want::Ints(vec![v.into()])
}

pub fn text(s: &str) -> Want {
    Want::Texts(vec![s.to_owned()])
}

pub fn hex_bytes(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A ZCL frame and what tshark must decode from it.
pub struct Zcl {
    pub what: &'static str,
    pub cluster: ClusterId,
    /// The Wireshark protocol of the cluster, last in `frame.protocols` (none for a foundation
    /// command: Wireshark then stops at `zbee_zcl`).
    pub protocol: Option<&'static str>,
    /// Sent by the ESI (server → client) or by a device.
    pub from_esi: bool,
    pub bytes: Vec<u8>,
    pub want: Vec<(&'static str, Want)>,
}

pub fn emit(frame: &Frame<'_>) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let n = frame.emit(&mut buf).expect("emit ZCL");
    buf[..n].to_vec()
}

pub fn zcl_header_wants(h: &Header, command_field: &'static str) -> Vec<(&'static str, Want)> {
    vec![
        ("zbee_zcl.type", uint(h.frame_control() & 0x03)),
        ("zbee_zcl.dir", uint(u8::from(h.direction == Direction::ServerToClient))),
        ("zbee_zcl.ddr", uint(u8::from(h.disable_default_response))),
        ("zbee_zcl.cmd.tsn", uint(h.tsn)),
        (command_field, uint(h.command_id)),
    ]
}

pub fn display_message(rng: &mut Rng) -> Zcl {
    let text_ = rng.text(24);
    // Transmission 0–2, importance 0–3, confirmation bit 7.
    let control = (rng.u8() % 3) | (rng.u8() & 0x0C) | (rng.u8() & 0x80);
    let m = messaging::DisplayMessage {
        message_id: rng.u32(),
        message_control: messaging::MessageControl(control),
        start_time: UtcTime(rng.u32()),
        duration_in_minutes: rng.u16(),
        message: ZclStr::from_str(&text_),
        extended_message_control: None,
    };
    let cmd = ClusterCommand::MessagingServer(messaging::ServerCommand::DisplayMessage(m));
    let f = Frame::cluster(cmd, rng.u8(), rng.chance(50));
    let mut want = zcl_header_wants(&f.header, "zbee_zcl_se.msg.cmd.srv_tx.id");
    want.extend([
        ("zbee_zcl_se.msg.message.id", uint(m.message_id)),
        ("zbee_zcl_se.msg.message.ctrl", uint(control)),
        ("zbee_zcl_se.msg.message.start_time", uint(m.start_time.0)),
        ("zbee_zcl_se.msg.message.duration", uint(m.duration_in_minutes)),
        ("zbee_zcl_se.msg.message", text(&text_)),
    ]);
    Zcl {
        what: "DisplayMessage",
        cluster: ClusterId::MESSAGING,
        protocol: Some("zbee_zcl_se.msg"),
        from_esi: true,
        bytes: emit(&f),
        want,
    }
}

pub fn publish_price(rng: &mut Rng) -> Zcl {
    let label = rng.text(12);
    let p = price::PublishPrice {
        provider_id: rng.u32(),
        rate_label: ZclStr::from_str(&label),
        issuer_event_id: rng.u32(),
        current_time: UtcTime(rng.u32()),
        unit_of_measure: metering::UnitOfMeasure(rng.u8() % 8),
        currency: [840, 826, 978][rng.below(3) as usize],
        price_trailing_digit_and_price_tier: price::PriceTrailingDigitAndPriceTier(rng.u8()),
        number_of_price_tiers_and_register_tier: price::NumberOfPriceTiersAndRegisterTier(rng.u8()),
        start_time: UtcTime(rng.u32()),
        duration_in_minutes: rng.u16(),
        price: rng.u32(),
        price_ratio: Some(rng.u8()),
        generation_price: Some(rng.u32()),
        generation_price_ratio: Some(rng.u8()),
        alternate_cost_delivered: None,
        alternate_cost_unit: None,
        alternate_cost_trailing_digit: None,
        number_of_block_thresholds: None,
        price_control: None,
    };
    let cmd = ClusterCommand::PriceServer(price::ServerCommand::PublishPrice(p));
    let f = Frame::cluster(cmd, rng.u8(), rng.chance(50));
    let mut want = zcl_header_wants(&f.header, "zbee_zcl_se.price.cmd.srv_tx.id");
    want.extend([
        ("zbee_zcl_se.price.provider_id", uint(p.provider_id)),
        ("zbee_zcl_se.price.rate_label", text(&label)),
        ("zbee_zcl_se.price.issuer_event_id", uint(p.issuer_event_id)),
        ("zbee_zcl_se.price.unit_of_measure", uint(p.unit_of_measure.0)),
        ("zbee_zcl_se.price.currency", uint(p.currency)),
        ("zbee_zcl_se.price.duration_in_minutes", uint(p.duration_in_minutes)),
        ("zbee_zcl_se.price.price", uint(p.price)),
        ("zbee_zcl_se.price.price.ratio", uint(p.price_ratio.unwrap())),
        ("zbee_zcl_se.price.generation_price", uint(p.generation_price.unwrap())),
        ("zbee_zcl_se.price.generation_price.ratio", uint(p.generation_price_ratio.unwrap())),
    ]);
    Zcl {
        what: "PublishPrice",
        cluster: ClusterId::PRICE,
        protocol: Some("zbee_zcl_se.price"),
        from_esi: true,
        bytes: emit(&f),
        want,
    }
}

pub fn load_control_event(rng: &mut Rng) -> Zcl {
    let e = drlc::LoadControlEvent {
        issuer_event_id: rng.u32(),
        device_class: drlc::DeviceClass(rng.u16() & 0x0FFF),
        utility_enrollment_group: rng.u8(),
        start_time: UtcTime(rng.u32()),
        duration_in_minutes: rng.below(1441) as u16,
        criticality_level: drlc::CriticalityLevel(1 + rng.u8() % 9),
        cooling_temperature_offset: rng.u8(),
        heating_temperature_offset: rng.u8(),
        cooling_temperature_set_point: rng.u16() as i16,
        heating_temperature_set_point: rng.u16() as i16,
        average_load_adjustment_percentage: rng.u8() as i8,
        duty_cycle: rng.u8(),
        event_control: drlc::EventControl(rng.u8() & 0x03),
    };
    let cmd = ClusterCommand::DrlcServer(drlc::ServerCommand::LoadControlEvent(e));
    let f = Frame::cluster(cmd, rng.u8(), rng.chance(50));
    let mut want = zcl_header_wants(&f.header, "zbee_zcl_se.drlc.cmd.srv_tx.id");
    want.extend([
        ("zbee_zcl_se.drlc.issuer_id", uint(e.issuer_event_id)),
        ("zbee_zcl_se.drlc.device_class", uint(e.device_class.0)),
        ("zbee_zcl_se.drlc.utility_enrollment_group", uint(e.utility_enrollment_group)),
        ("zbee_zcl_se.drlc.start_time", uint(e.start_time.0)),
        ("zbee_zcl_se.drlc.duration_in_minutes", uint(e.duration_in_minutes)),
        ("zbee_zcl_se.drlc.criticality_level", uint(e.criticality_level.0)),
        ("zbee_zcl_se.drlc.cooling_temperature_offset", uint(e.cooling_temperature_offset)),
        ("zbee_zcl_se.drlc.heating_temperature_offset", uint(e.heating_temperature_offset)),
        ("zbee_zcl_se.drlc.cooling_temperature_set_point", int(e.cooling_temperature_set_point)),
        ("zbee_zcl_se.drlc.heating_temperature_set_point", int(e.heating_temperature_set_point)),
        (
            "zbee_zcl_se.drlc.average_load_adjustment_percentage",
            int(e.average_load_adjustment_percentage),
        ),
        ("zbee_zcl_se.drlc.duty_cycle", uint(e.duty_cycle)),
        ("zbee_zcl_se.drlc.event_control", uint(e.event_control.0)),
    ]);
    Zcl {
        what: "LoadControlEvent",
        cluster: ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
        protocol: Some("zbee_zcl_se.drlc"),
        from_esi: true,
        bytes: emit(&f),
        want,
    }
}

pub fn report_event_status(rng: &mut Rng) -> Zcl {
    let mut signature = [0u8; 42];
    for b in &mut signature {
        *b = rng.u8();
    }
    let r = drlc::ReportEventStatus {
        issuer_event_id: rng.u32(),
        event_status: drlc::EventStatus(
            [0x01, 0x02, 0x03, 0x06, 0x07, 0xF8][rng.below(6) as usize],
        ),
        event_status_time: UtcTime(rng.u32()),
        criticality_level_applied: drlc::CriticalityLevel(1 + rng.u8() % 9),
        cooling_temperature_set_point_applied: rng.u16() as i16,
        heating_temperature_set_point_applied: rng.u16() as i16,
        average_load_adjustment_percentage_applied: rng.u8() as i8,
        duty_cycle_applied: rng.u8(),
        event_control: drlc::EventControl(rng.u8() & 0x03),
        signature_type: drlc::SignatureType(rng.u8() & 0x01),
        signature: Some(Octets(signature)),
    };
    let cmd = ClusterCommand::DrlcClient(drlc::ClientCommand::ReportEventStatus(r));
    let f = Frame::cluster(cmd, rng.u8(), rng.chance(50));
    let mut want = zcl_header_wants(&f.header, "zbee_zcl_se.drlc.cmd.srv_rx.id");
    want.extend([
        ("zbee_zcl_se.drlc.report_event.issuer_id", uint(r.issuer_event_id)),
        ("zbee_zcl_se.drlc.report_event.event_status", uint(r.event_status.0)),
        (
            "zbee_zcl_se.drlc.report_event.criticality_level_applied",
            uint(r.criticality_level_applied.0),
        ),
        (
            "zbee_zcl_se.drlc.report_event.cooling_temperature_set_point_applied",
            int(r.cooling_temperature_set_point_applied),
        ),
        (
            "zbee_zcl_se.drlc.report_event.heating_temperature_set_point_applied",
            int(r.heating_temperature_set_point_applied),
        ),
        (
            "zbee_zcl_se.drlc.report_event.average_load_adjustment_percentage_applied",
            int(r.average_load_adjustment_percentage_applied),
        ),
        ("zbee_zcl_se.drlc.report_event.duty_cycle_applied", uint(r.duty_cycle_applied)),
        ("zbee_zcl_se.drlc.report_event.event_control", uint(r.event_control.0)),
        ("zbee_zcl_se.drlc.report_event.signature_type", uint(r.signature_type.0)),
        ("zbee_zcl_se.drlc.report_event.signature", Want::Hexes(vec![hex_bytes(&signature)])),
    ]);
    Zcl {
        what: "ReportEventStatus",
        cluster: ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
        protocol: Some("zbee_zcl_se.drlc"),
        from_esi: false,
        bytes: emit(&f),
        want,
    }
}

pub fn read_attributes_response(rng: &mut Rng) -> Zcl {
    let summation = rng.next() & 0xFFFF_FFFF_FFFF;
    let divisor = 1 + u32::from(rng.u16());
    let records = [
        ReadAttributeStatusRecord::success(AttributeId(0x0000), Value::Uint48(Uint48(summation))),
        ReadAttributeStatusRecord::success(AttributeId(0x0302), Value::Uint24(Uint24(divisor))),
        ReadAttributeStatusRecord::failure(AttributeId(0x0400), Status::UNSUPPORTED_ATTRIBUTE),
    ];
    let header = Header {
        frame_type: FrameType::Global,
        manufacturer_code: None,
        direction: Direction::ServerToClient,
        disable_default_response: true,
        tsn: rng.u8(),
        command_id: 0x01,
    };
    let cmd = Foundation::ReadAttributesResponse(ReadAttributesResponse::new(&records));
    let f = Frame { header, payload: Payload::Foundation(cmd) };
    let mut want = zcl_header_wants(&f.header, "zbee_zcl.cmd.id");
    want.extend([
        ("zbee_zcl_se.met.attr_id", Want::Uints(vec![0x0000, 0x0302, 0x0400])),
        ("zbee_zcl.attr.status", Want::Uints(vec![0x00, 0x00, 0x86])),
        ("zbee_zcl.attr.uint48", uint(summation)),
        ("zbee_zcl.attr.uint24", uint(divisor)),
    ]);
    Zcl {
        what: "ReadAttributesResponse",
        cluster: ClusterId::METERING,
        protocol: None,
        from_esi: false,
        bytes: emit(&f),
        want,
    }
}
