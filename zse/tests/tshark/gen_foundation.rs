//! Seeded random foundation commands (ZCL §2.4; se10.md §1.3–1.4): every command id 0x00–0x16,
//! with attribute records of every data type Wireshark can show, on random covered clusters in
//! both directions.

use super::fields::{self, Scope, CLUSTERS};
use super::foundation::reporting_type_misread;
use super::gen::{emit, Rng, ZclSample};
use super::values::{avoided, dissected, special_attribute, AttrSide};
use serde_json::Value as Json;
use zse::cluster::{attributes, drlc};
use zse::field::{Int24, Octets, Uint24, Uint40, Uint48, Uint56};
use zse::wire::Writer;
use zse::zcl::foundation::{
    self, AttributeInformation, AttributeRecord, AttributeReportingConfigurationRecord,
    AttributeStatusRecord, Command, CommandId, ExtendedAttributeInformation,
    ReadAttributeStatusRecord, ReportingConfiguration, ReportingConfigurationStatusRecord,
    ReportingDirection, WriteAttributeRecord, WriteAttributeStatusRecord,
};
use zse::zcl::{
    AttributeId, ClusterId, Collection, DataType, Direction, Eui64, Frame, FrameType, Header,
    KeyValue, Payload, SignedN, Status, UtcTime, Value, ZclStr,
};

/// Every data type id the codec can size.
const TYPES: &[u8] = &[
    0x00, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D,
    0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D,
    0x2E, 0x2F, 0x30, 0x31, 0x38, 0x39, 0x3A, 0x41, 0x42, 0x43, 0x44, 0x48, 0x4C, 0x50, 0x51, 0xE0,
    0xE1, 0xE2, 0xE8, 0xE9, 0xEA, 0xF0, 0xF1, 0xFF,
];

/// Element types of generated arrays, sets and bags.
const ELEMENT_TYPES: &[u8] = &[0x20, 0x21, 0x29, 0x18, 0x30, 0xE2, 0x42];

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// A data type Wireshark can show (any but [`super::values::UNDISSECTED_TYPES`]).
fn random_type(rng: &mut Rng) -> DataType {
    loop {
        let t = DataType(rng.pick(TYPES));
        if dissected(t) {
            return t;
        }
    }
}

fn float_bits(rng: &mut Rng) -> u32 {
    let special =
        [0, 0x8000_0000, 0x3F80_0000, 0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF, 1];
    let bits = rng.or_special(&special, Rng::u32);
    // Random bits with an all-ones exponent would be NaNs with payloads, which C prints as
    // "nan" or "-nan" by sign: keep random values finite (the canonical NaN is a special).
    if bits & 0x7F80_0000 == 0x7F80_0000 && !special.contains(&bits) {
        bits & !0x4000_0000
    } else {
        bits
    }
}

fn double_bits(rng: &mut Rng) -> u64 {
    let special =
        [0, 1 << 63, 0x3FF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0000, 1];
    let bits = rng.or_special(&special, Rng::u64);
    if bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 && !special.contains(&bits) {
        bits & !0x4000_0000_0000_0000
    } else {
        bits
    }
}

fn signed(rng: &mut Rng, bytes: u32) -> i64 {
    let bits = 8 * bytes;
    let (min, max) = (i64::MIN >> (64 - bits), i64::MAX >> (64 - bits));
    rng.or_special(&[min, max, 0, -1], |rng| (rng.u64() as i64) >> (64 - bits))
}

fn unsigned(rng: &mut Rng, bytes: u32) -> u64 {
    let max = if bytes == 8 { u64::MAX } else { (1 << (8 * bytes)) - 1 };
    rng.or_special(&[0, max], |rng| rng.u64() & max)
}

fn bytes_of(v: &Value<'_>) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    v.write(&mut w).expect("element fits");
    let n = w.pos();
    buf[..n].to_vec()
}

/// Up to 8 random bytes, or (sometimes) the invalid string.
fn octets(rng: &mut Rng) -> ZclStr<'static> {
    if rng.chance(10) {
        return ZclStr::INVALID;
    }
    ZclStr::new(leak((0..rng.below(9)).map(|_| rng.u8()).collect()))
}

/// Up to 8 printable ASCII characters, or (sometimes) the invalid string.
fn text(rng: &mut Rng) -> ZclStr<'static> {
    if rng.chance(10) {
        ZclStr::INVALID
    } else {
        ZclStr::from_str(rng.text(8))
    }
}

/// A random value of type `ty`, small enough for a few records per frame.
pub fn value_of(rng: &mut Rng, ty: DataType) -> Value<'static> {
    let u = |rng: &mut Rng, n| unsigned(rng, n);
    match ty.0 {
        0x00 => Value::NoData,
        0xFF => Value::Unknown,
        0x08 => Value::Data8(u(rng, 1) as u8),
        0x09 => Value::Data16(u(rng, 2) as u16),
        0x0A => Value::Data24(Uint24(u(rng, 3) as u32)),
        0x0B => Value::Data32(u(rng, 4) as u32),
        0x0C => Value::Data40(Uint40(u(rng, 5))),
        0x0D => Value::Data48(Uint48(u(rng, 6))),
        0x0E => Value::Data56(Uint56(u(rng, 7))),
        0x0F => Value::Data64(u(rng, 8)),
        0x10 => Value::Boolean(rng.or_special(&[0, 1, 0xFF], Rng::u8)),
        0x18 => Value::Bitmap8(u(rng, 1) as u8),
        0x19 => Value::Bitmap16(u(rng, 2) as u16),
        0x1A => Value::Bitmap24(Uint24(u(rng, 3) as u32)),
        0x1B => Value::Bitmap32(u(rng, 4) as u32),
        0x1C => Value::Bitmap40(Uint40(u(rng, 5))),
        0x1D => Value::Bitmap48(Uint48(u(rng, 6))),
        0x1E => Value::Bitmap56(Uint56(u(rng, 7))),
        0x1F => Value::Bitmap64(u(rng, 8)),
        0x20 => Value::Uint8(u(rng, 1) as u8),
        0x21 => Value::Uint16(u(rng, 2) as u16),
        0x22 => Value::Uint24(Uint24(u(rng, 3) as u32)),
        0x23 => Value::Uint32(u(rng, 4) as u32),
        0x24 => Value::Uint40(Uint40(u(rng, 5))),
        0x25 => Value::Uint48(Uint48(u(rng, 6))),
        0x26 => Value::Uint56(Uint56(u(rng, 7))),
        0x27 => Value::Uint64(u(rng, 8)),
        0x28 => Value::Int8(signed(rng, 1) as i8),
        0x29 => Value::Int16(signed(rng, 2) as i16),
        0x2A => Value::Int24(Int24(signed(rng, 3) as i32)),
        0x2B => Value::Int32(signed(rng, 4) as i32),
        0x2C => Value::Int40(SignedN(signed(rng, 5))),
        0x2D => Value::Int48(SignedN(signed(rng, 6))),
        0x2E => Value::Int56(SignedN(signed(rng, 7))),
        0x2F => Value::Int64(signed(rng, 8)),
        0x30 => Value::Enum8(u(rng, 1) as u8),
        0x31 => Value::Enum16(u(rng, 2) as u16),
        0x38 => Value::SemiFloat(u(rng, 2) as u16),
        0x39 => Value::SingleFloat(float_bits(rng)),
        0x3A => Value::DoubleFloat(double_bits(rng)),
        0x41 => Value::OctetString(octets(rng)),
        0x42 => Value::CharacterString(text(rng)),
        0x43 => Value::LongOctetString(octets(rng)),
        0x44 => Value::LongCharacterString(text(rng)),
        0x48 | 0x50 | 0x51 => {
            let element_type = DataType(rng.pick(ELEMENT_TYPES));
            let count = rng.below(4) as u16;
            let mut elements = Vec::new();
            for _ in 0..count {
                elements.extend(bytes_of(&value_of(rng, element_type)));
            }
            let c = Collection { element_type, count, elements: leak(elements) };
            match ty.0 {
                0x48 => Value::Array(c),
                0x50 => Value::Set(c),
                _ => Value::Bag(c),
            }
        }
        0xE0 => Value::TimeOfDay(Octets(rng.bytes())),
        0xE1 => Value::Date(Octets(rng.bytes())),
        0xE2 => Value::UtcTime(UtcTime(rng.u32_edgy())),
        0xE8 => Value::ClusterId(ClusterId(rng.u16_edgy())),
        0xE9 => Value::AttributeId(AttributeId(rng.u16_edgy())),
        0xEA => Value::BacnetOid(rng.u32_edgy()),
        0xF0 => Value::IeeeAddress(Eui64(rng.u64())),
        0xF1 => Value::SecurityKey(KeyValue(rng.bytes())),
        other => panic!("no generator for data type 0x{other:02x}"),
    }
}

/// A random attribute on `side`: one the codec defines (with its data type), one Wireshark
/// decodes by id ([`super::values::SPECIAL_ATTRIBUTES`], with its data type), an edge id or a
/// random one. Returns the id and the data type its values must have, if fixed.
fn attribute(rng: &mut Rng, side: AttrSide) -> (AttributeId, Option<DataType>) {
    let cluster = ClusterId(side.cluster.id);
    let table = if side.client {
        if side.cluster.id == drlc::CLUSTER_ID {
            drlc::CLIENT_ATTRIBUTES
        } else {
            &[]
        }
    } else {
        attributes(cluster)
    };
    loop {
        let id = match rng.below(10) {
            0..=3 if !table.is_empty() => rng.pick(table).id,
            4 => rng.pick(&[0x0000, 0xFFFF, 0xFFFE, 0x0001, 0x0007, 0x0012, 0x0013, 0x0014]),
            _ => rng.u16(),
        };
        if avoided(side, id) {
            continue;
        }
        let ty = special_attribute(side, id)
            .map(|s| s.data_type)
            .or_else(|| table.iter().find(|a| a.id == id).map(|a| a.data_type));
        return (AttributeId(id), ty);
    }
}

/// A random attribute and a value for it.
fn attribute_value(rng: &mut Rng, side: AttrSide) -> (AttributeId, Value<'static>) {
    let (id, ty) = attribute(rng, side);
    let ty = ty.unwrap_or_else(|| random_type(rng));
    (id, value_of(rng, ty))
}

fn failure_status(rng: &mut Rng) -> Status {
    let any = Status(1 + rng.below(255) as u8);
    rng.pick(&[
        Status::UNSUPPORTED_ATTRIBUTE,
        Status::WRITE_ONLY,
        Status::UNREPORTABLE_ATTRIBUTE,
        any,
    ])
}

fn reporting_direction(rng: &mut Rng) -> ReportingDirection {
    rng.pick(&[ReportingDirection::SEND_REPORTS, ReportingDirection::RECEIVE_REPORTS])
}

/// The side of a reporting record's attribute (see `foundation::record_side`).
fn record_side(side: AttrSide, direction: ReportingDirection) -> AttrSide {
    if direction == ReportingDirection::RECEIVE_REPORTS {
        side.flipped()
    } else {
        side
    }
}

/// A reporting configuration for `direction`, with a data type Wireshark reads as the codec
/// writes it (see [`reporting_type_misread`]).
fn configuration(
    rng: &mut Rng,
    direction: ReportingDirection,
    fixed: Option<DataType>,
) -> ReportingConfiguration<'static> {
    if direction == ReportingDirection::RECEIVE_REPORTS {
        return ReportingConfiguration::ReceiveReports { timeout_period: rng.u16_edgy() };
    }
    // The attribute's own type when it has one (a special attribute must keep it: Wireshark
    // decodes its reportable change by id), otherwise any type Wireshark reads like ZCL.
    let ty = match fixed {
        Some(t) if !reporting_type_misread(t) => t,
        _ => loop {
            let t = random_type(rng);
            if !reporting_type_misread(t) {
                break t;
            }
        },
    };
    ReportingConfiguration::SendReports {
        attribute_data_type: ty,
        minimum_reporting_interval: rng.u16_edgy(),
        maximum_reporting_interval: rng.u16_edgy(),
        reportable_change: ty.is_analog().then(|| value_of(rng, ty)),
    }
}

/// An attribute for a reporting record: a fixed data type must not be one Wireshark misreads.
fn reporting_attribute(rng: &mut Rng, side: AttrSide) -> (AttributeId, Option<DataType>) {
    loop {
        let (id, ty) = attribute(rng, side);
        if ty.is_none_or(|t| !reporting_type_misread(t) || special_attribute(side, id.0).is_none())
        {
            return (id, ty);
        }
    }
}

fn n(rng: &mut Rng, max: u64) -> usize {
    1 + rng.below(max) as usize
}

/// 0 (the one-byte all-success form) or 1..=3 failure records.
fn failures(rng: &mut Rng) -> usize {
    if rng.chance(40) {
        0
    } else {
        n(rng, 3)
    }
}

fn writes(rng: &mut Rng, request: AttrSide) -> foundation::WriteAttributes<'static> {
    let records = (0..n(rng, 3))
        .map(|_| {
            let (id, v) = attribute_value(rng, request);
            WriteAttributeRecord::new(id, v)
        })
        .collect();
    foundation::WriteAttributes::new(leak(records))
}

fn discover(rng: &mut Rng) -> foundation::DiscoverAttributes {
    foundation::DiscoverAttributes {
        start_attribute_id: AttributeId(rng.u16_edgy()),
        maximum_attribute_ids: rng.u8_edgy(),
    }
}

fn discover_commands(rng: &mut Rng) -> foundation::DiscoverCommands {
    foundation::DiscoverCommands {
        start_command_id: rng.u8_edgy(),
        maximum_command_ids: rng.u8_edgy(),
    }
}

fn command_ids(rng: &mut Rng) -> foundation::DiscoverCommandsResponse<'static> {
    let ids = (0..rng.below(7)).map(|_| CommandId(rng.u8())).collect();
    foundation::DiscoverCommandsResponse::new(rng.chance(50), leak(ids))
}

fn raw(rng: &mut Rng) -> foundation::RawPayload<'static> {
    foundation::RawPayload::new(leak((0..rng.below(12)).map(|_| rng.u8()).collect()))
}

/// A random foundation command `id`. `request` is the side a request addresses (the
/// receiver's attributes), `own` the side of a response or report (the sender's).
#[allow(clippy::too_many_lines)]
fn command(rng: &mut Rng, id: u8, request: AttrSide, own: AttrSide) -> Command<'static> {
    match id {
        0x00 => {
            let ids = (0..n(rng, 5)).map(|_| attribute(rng, request).0).collect();
            Command::ReadAttributes(foundation::ReadAttributes::new(leak(ids)))
        }
        0x01 => {
            let records = (0..n(rng, 4))
                .map(|_| {
                    let (id, v) = attribute_value(rng, own);
                    if rng.chance(65) {
                        ReadAttributeStatusRecord::success(id, v)
                    } else {
                        ReadAttributeStatusRecord::failure(id, failure_status(rng))
                    }
                })
                .collect();
            Command::ReadAttributesResponse(foundation::ReadAttributesResponse::new(leak(records)))
        }
        0x02 => Command::WriteAttributes(writes(rng, request)),
        0x03 => Command::WriteAttributesUndivided(writes(rng, request)),
        0x04 => {
            // ZCL §2.5.5.1: records only for attributes that failed; SUCCESS is the one-byte
            // form (Wireshark, like the spec, reads no attribute id after a SUCCESS status).
            let records = (0..failures(rng))
                .map(|_| WriteAttributeStatusRecord {
                    status: failure_status(rng),
                    attribute_id: attribute(rng, own).0,
                })
                .collect();
            Command::WriteAttributesResponse(foundation::WriteAttributesResponse::new(leak(
                records,
            )))
        }
        0x05 => Command::WriteAttributesNoResponse(writes(rng, request)),
        0x06 => {
            let records = (0..n(rng, 3))
                .map(|_| {
                    let dir = reporting_direction(rng);
                    let (id, ty) = reporting_attribute(rng, record_side(request, dir));
                    AttributeReportingConfigurationRecord {
                        attribute_id: id,
                        configuration: configuration(rng, dir, ty),
                    }
                })
                .collect();
            Command::ConfigureReporting(foundation::ConfigureReporting::new(leak(records)))
        }
        0x07 => {
            let records = (0..failures(rng))
                .map(|_| {
                    let direction = reporting_direction(rng);
                    let attribute_id = attribute(rng, record_side(own, direction)).0;
                    AttributeStatusRecord { status: failure_status(rng), direction, attribute_id }
                })
                .collect();
            Command::ConfigureReportingResponse(foundation::ConfigureReportingResponse::new(leak(
                records,
            )))
        }
        0x08 => {
            let records = (0..n(rng, 4))
                .map(|_| {
                    let direction = reporting_direction(rng);
                    let attribute_id = attribute(rng, record_side(request, direction)).0;
                    AttributeRecord { direction, attribute_id }
                })
                .collect();
            Command::ReadReportingConfiguration(foundation::ReadReportingConfiguration::new(leak(
                records,
            )))
        }
        0x09 => {
            let records = (0..n(rng, 3))
                .map(|_| {
                    let direction = reporting_direction(rng);
                    let (id, ty) = reporting_attribute(rng, record_side(own, direction));
                    if rng.chance(65) {
                        ReportingConfigurationStatusRecord::success(
                            id,
                            configuration(rng, direction, ty),
                        )
                    } else {
                        ReportingConfigurationStatusRecord::failure(
                            failure_status(rng),
                            direction,
                            id,
                        )
                    }
                })
                .collect();
            Command::ReadReportingConfigurationResponse(
                foundation::ReadReportingConfigurationResponse::new(leak(records)),
            )
        }
        0x0A => {
            let records = (0..n(rng, 4))
                .map(|_| {
                    let (id, v) = attribute_value(rng, own);
                    foundation::AttributeReport::new(id, v)
                })
                .collect();
            Command::ReportAttributes(foundation::ReportAttributes::new(leak(records)))
        }
        0x0B => {
            let any = Status(rng.u8());
            let status =
                rng.pick(&[Status::SUCCESS, Status::NOT_FOUND, Status::UNSUP_CLUSTER_COMMAND, any]);
            Command::DefaultResponse(foundation::DefaultResponse::new(rng.u8(), status))
        }
        0x0C => Command::DiscoverAttributes(discover(rng)),
        0x0D => {
            let records = (0..rng.below(6))
                .map(|_| AttributeInformation {
                    attribute_id: attribute(rng, own).0,
                    attribute_data_type: DataType(rng.u8()),
                })
                .collect();
            Command::DiscoverAttributesResponse(foundation::DiscoverAttributesResponse::new(
                rng.chance(50),
                leak(records),
            ))
        }
        0x0E => Command::ReadAttributesStructured(raw(rng)),
        0x0F => Command::WriteAttributesStructured(raw(rng)),
        0x10 => Command::WriteAttributesStructuredResponse(raw(rng)),
        0x11 => Command::DiscoverCommandsReceived(discover_commands(rng)),
        0x12 => Command::DiscoverCommandsReceivedResponse(command_ids(rng)),
        0x13 => Command::DiscoverCommandsGenerated(discover_commands(rng)),
        0x14 => Command::DiscoverCommandsGeneratedResponse(command_ids(rng)),
        0x15 => Command::DiscoverAttributesExtended(discover(rng)),
        0x16 => {
            let records = (0..rng.below(4))
                .map(|_| ExtendedAttributeInformation {
                    attribute_id: attribute(rng, own).0,
                    attribute_data_type: DataType(rng.u8()),
                    attribute_access_control: foundation::AccessControl(rng.u8()),
                })
                .collect();
            Command::DiscoverAttributesExtendedResponse(
                foundation::DiscoverAttributesExtendedResponse::new(rng.chance(50), leak(records)),
            )
        }
        other => panic!("no generator for foundation command 0x{other:02x}"),
    }
}

/// Random foundation commands (every one once), each on a random covered cluster and direction.
pub fn foundation_samples(rng: &mut Rng) -> Vec<ZclSample> {
    let mut out = Vec::new();
    for &(id, _) in foundation::Command::COMMANDS {
        let cluster = fields::cluster(rng.pick(CLUSTERS).id);
        let direction = rng.direction();
        let request = AttrSide { cluster, client: direction == Direction::ServerToClient };
        let own = AttrSide { cluster, client: direction == Direction::ClientToServer };
        let command = command(rng, id, request, own);
        let header = Header {
            frame_type: FrameType::Global,
            manufacturer_code: None,
            direction,
            disable_default_response: rng.chance(50),
            tsn: rng.u8(),
            command_id: command.command_id(),
        };
        let bytes = emit(&Frame { header, payload: Payload::Foundation(command.clone()) });
        let parsed = Frame::parse(ClusterId(cluster.id), &bytes).expect("parse what we emitted");
        assert_eq!(
            parsed.payload,
            Payload::Foundation(command.clone()),
            "{} round trip",
            command.name()
        );
        out.push(ZclSample {
            cluster: cluster.id,
            scope: Scope::Foundation,
            command: command.name(),
            header,
            fields: Json::Null,
            bytes,
        });
    }
    out
}
