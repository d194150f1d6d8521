//! ZCL attribute values (ZCL §2.5.2; se10.md §1.5) as Wireshark 4.0 shows them: which field
//! carries each data type, and the attributes whose cluster dissector decodes them by id.

use super::dissection::{zigbee_time, Expect, Want};
use super::fields::{ClusterSpec, Kind};
use zse::wire::Reader;
use zse::zcl::{AttributeId, DataType, Value};

/// Whose attribute a record addresses, which decides the attribute-id field Wireshark uses.
#[derive(Debug, Clone, Copy)]
pub struct AttrSide {
    pub cluster: &'static ClusterSpec,
    /// A client attribute (e.g. DRLC's UtilityEnrollmentGroup) rather than a server one.
    pub client: bool,
}

impl AttrSide {
    /// The tshark field of attribute ids on this side.
    pub fn id_field(self) -> &'static str {
        if self.client {
            self.cluster.attr_client_id
        } else {
            self.cluster.attr_id
        }
    }

    /// The other side (a reporting record with direction 0x01 concerns the sender's attribute).
    pub fn flipped(self) -> Self {
        Self { client: !self.client, ..self }
    }
}

/// An attribute that Wireshark's cluster dissector decodes by its id, whatever the data type
/// byte says. Records for it are generated with this data type and checked against these
/// fields instead of the generic `zbee_zcl.attr.*` one.
#[derive(Debug, Clone, Copy)]
pub struct SpecialAttribute {
    pub cluster: u16,
    /// `None`: Wireshark decodes it on both sides.
    pub client: Option<bool>,
    pub id: u16,
    pub data_type: DataType,
    pub fields: &'static [(&'static str, Kind)],
}

const fn special(
    cluster: u16,
    client: Option<bool>,
    id: u16,
    data_type: DataType,
    fields: &'static [(&'static str, Kind)],
) -> SpecialAttribute {
    SpecialAttribute { cluster, client, id, data_type, fields }
}

/// Found by sending a Uint8 record for every attribute id of every covered cluster on both
/// sides and listing those that tshark did not show as `zbee_zcl.attr.uint8`.
pub const SPECIAL_ATTRIBUTES: &[SpecialAttribute] = &[
    // Basic (ZCL §3.2.2.2): PowerSource, DeviceEnabled, AlarmMask, DisableLocalConfig.
    special(
        0x0000,
        None,
        0x0007,
        DataType::ENUM8,
        &[("zbee_zcl_general.basic.attr.pwr_src", Kind::Uint)],
    ),
    special(
        0x0000,
        None,
        0x0012,
        DataType::BOOLEAN,
        &[("zbee_zcl_general.basic.attr.dev_en", Kind::Uint)],
    ),
    special(
        0x0000,
        None,
        0x0013,
        DataType::BITMAP8,
        &[
            ("zbee_zcl_general.basic.attr.alarm_mask", Kind::Uint),
            ("zbee_zcl_general.basic.attr.alarm_mask.gen_hw_fault", Kind::Flag(0x01)),
            ("zbee_zcl_general.basic.attr.alarm_mask.gen_sw_fault", Kind::Flag(0x02)),
            ("zbee_zcl_general.basic.attr.alarm_mask.reserved", Kind::Bits(0xFC)),
        ],
    ),
    special(
        0x0000,
        None,
        0x0014,
        DataType::BITMAP8,
        &[
            ("zbee_zcl_general.basic.attr.dis_loc_cfg", Kind::Uint),
            ("zbee_zcl_general.basic.attr.dis_loc_cfg.reset", Kind::Flag(0x01)),
            ("zbee_zcl_general.basic.attr.dis_loc_cfg.dev_cfg", Kind::Flag(0x02)),
            ("zbee_zcl_general.basic.attr.dis_loc_cfg.reserved", Kind::Bits(0xFC)),
        ],
    ),
    // Identify (ZCL §3.5.2.2): IdentifyTime.
    special(
        0x0003,
        None,
        0x0000,
        DataType::UINT16,
        &[("zbee_zcl_general.identify.attr.identify_time", Kind::Uint)],
    ),
    // Time (ZCL §3.12.2.2; se10.md §2.2): TimeStatus.
    special(
        0x000A,
        None,
        0x0001,
        DataType::BITMAP8,
        &[
            ("zbee_zcl_general.time.attr.time_status", Kind::Uint),
            ("zbee_zcl_general.time.attr.time_status.master", Kind::Flag(0x01)),
            ("zbee_zcl_general.time.attr.time_status.synchronized", Kind::Flag(0x02)),
            ("zbee_zcl_general.time.attr.time_status.master_zone_dst", Kind::Flag(0x04)),
            ("zbee_zcl_general.time.attr.time_status.superseding", Kind::Flag(0x08)),
        ],
    ),
    // The SE clusters' AttributeReportingStatus (0xFFFE, enum8; SE 1.1+).
    special(
        0x0700,
        None,
        0xFFFE,
        DataType::ENUM8,
        &[("zbee_zcl_se.price.attr.attr_reporting_status", Kind::Uint)],
    ),
    special(
        0x0701,
        None,
        0xFFFE,
        DataType::ENUM8,
        &[("zbee_zcl_se.drlc.attr.attr_reporting_status", Kind::Uint)],
    ),
    special(
        0x0702,
        None,
        0xFFFE,
        DataType::ENUM8,
        &[("zbee_zcl_se.met.attr.attr_reporting_status", Kind::Uint)],
    ),
];

/// Attribute ids decoded by id that the generators leave out, with the reason.
pub const AVOIDED_ATTRIBUTES: &[(u16, bool, u16, u16, &str)] = &[(
    0x0702,
    true,
    0x0000,
    0x0004,
    "Metering client attributes 0x0000-0x0004 are SE 1.2's notification-flag bitmaps; Wireshark \
     decodes two dozen flags each that SE 1.0 does not define",
)];

/// The special decoding of an attribute, if Wireshark has one.
pub fn special_attribute(side: AttrSide, id: u16) -> Option<&'static SpecialAttribute> {
    SPECIAL_ATTRIBUTES.iter().find(|s| {
        s.cluster == side.cluster.id && s.id == id && s.client.is_none_or(|c| c == side.client)
    })
}

/// Whether the generators must not use this attribute id on this side.
pub fn avoided(side: AttrSide, id: u16) -> bool {
    AVOIDED_ATTRIBUTES.iter().any(|&(cluster, client, from, to, _)| {
        cluster == side.cluster.id && client == side.client && (from..=to).contains(&id)
    })
}

/// Data types Wireshark 4.0 cannot skip: it shows no value for them and takes their bytes as
/// the next record, so the generators never use them.
pub const UNDISSECTED_TYPES: &[(DataType, &str)] = &[(
    DataType::STRUCTURE,
    "Wireshark 4.0 has no decoder for structures (0x4C) and reads their members as new records",
)];

/// The value as an unsigned integer, for the special attributes (enum, bitmap, boolean, uint).
fn uint_of(v: &Value<'_>) -> u64 {
    match *v {
        Value::Enum8(x) | Value::Bitmap8(x) | Value::Boolean(x) | Value::Uint8(x) => x.into(),
        Value::Uint16(x) | Value::Enum16(x) | Value::Bitmap16(x) => x.into(),
        ref other => panic!("special attribute with an unexpected value {other:?}"),
    }
}

fn le_hex(bytes: &[u8]) -> Want {
    Want::Hex(zse::hex::Hex(bytes).to_string())
}

/// Expected fields of one attribute's `[data type, value]` after its id: the data type field,
/// then the value as the cluster dissector (special attributes) or the generic one shows it.
pub fn typed_value(e: &mut Expect, v: &Value<'_>, side: AttrSide, attr: AttributeId) {
    e.push("zbee_zcl.attr.data.type", Want::Uint(v.data_type().0.into()));
    value(e, v, side, attr);
}

/// Expected fields of a value without its data type byte (a reportable change, an element).
pub fn value(e: &mut Expect, v: &Value<'_>, side: AttrSide, attr: AttributeId) {
    if let Some(s) = special_attribute(side, attr.0) {
        assert_eq!(
            v.data_type(),
            s.data_type,
            "special attribute 0x{:04x} with another type",
            s.id
        );
        let n = uint_of(v);
        for &(field, kind) in s.fields {
            let want = match kind {
                Kind::Uint => Want::Uint(n),
                Kind::Flag(mask) => Want::Uint(u64::from(n & mask != 0)),
                Kind::Bits(mask) => Want::Uint((n & mask) >> mask.trailing_zeros()),
                other => panic!("kind {other:?} in a special attribute"),
            };
            e.push(field, want);
        }
        return;
    }
    generic(e, v, side);
}

/// Wireshark's `dissect_zcl_attr_data` (4.0): the field each data type is shown in.
#[allow(clippy::too_many_lines)] // one arm per data type
fn generic(out: &mut Expect, value: &Value<'_>, side: AttrSide) {
    let mut bytes = [0u8; 16];
    let mut raw = |v: &Value<'_>| {
        let mut w = zse::wire::Writer::new(&mut bytes);
        v.write(&mut w).expect("value fits 16 bytes");
        let n = w.pos();
        le_hex(&bytes[..n])
    };
    let (field, want): (&'static str, Want) = match *value {
        Value::NoData | Value::Unknown => return,
        // Data8..Data64, semi-precision floats, BACnet OIDs, IEEE addresses and keys are shown
        // as their bytes, in wire order.
        Value::Data8(_)
        | Value::Data16(_)
        | Value::Data24(_)
        | Value::Data32(_)
        | Value::Data40(_)
        | Value::Data48(_)
        | Value::Data56(_)
        | Value::Data64(_)
        | Value::SemiFloat(_)
        | Value::BacnetOid(_)
        | Value::IeeeAddress(_)
        | Value::SecurityKey(_) => ("zbee_zcl.attr.bytes", raw(value)),
        Value::Boolean(b) => ("zbee_zcl.attr.boolean", Want::Uint(u64::from(b != 0))),
        Value::Bitmap8(x) => ("zbee_zcl.attr.bitmap8", Want::Uint(x.into())),
        Value::Bitmap16(x) => ("zbee_zcl.attr.bitmap16", Want::Uint(x.into())),
        Value::Bitmap24(x) => ("zbee_zcl.attr.bitmap24", Want::Uint(x.0.into())),
        Value::Bitmap32(x) => ("zbee_zcl.attr.bitmap32", Want::Uint(x.into())),
        Value::Bitmap40(x) => ("zbee_zcl.attr.bitmap40", Want::Uint(x.0)),
        Value::Bitmap48(x) => ("zbee_zcl.attr.bitmap48", Want::Uint(x.0)),
        Value::Bitmap56(x) => ("zbee_zcl.attr.bitmap56", Want::Uint(x.0)),
        Value::Bitmap64(x) => ("zbee_zcl.attr.bitmap64", Want::Uint(x)),
        // Enumerations are shown as unsigned integers of their width.
        Value::Uint8(x) | Value::Enum8(x) => ("zbee_zcl.attr.uint8", Want::Uint(x.into())),
        Value::Uint16(x) | Value::Enum16(x) => ("zbee_zcl.attr.uint16", Want::Uint(x.into())),
        Value::Uint24(x) => ("zbee_zcl.attr.uint24", Want::Uint(x.0.into())),
        Value::Uint32(x) => ("zbee_zcl.attr.uint32", Want::Uint(x.into())),
        Value::Uint40(x) => ("zbee_zcl.attr.uint40", Want::Uint(x.0)),
        Value::Uint48(x) => ("zbee_zcl.attr.uint48", Want::Uint(x.0)),
        Value::Uint56(x) => ("zbee_zcl.attr.uint56", Want::Uint(x.0)),
        Value::Uint64(x) => ("zbee_zcl.attr.uint64", Want::Uint(x)),
        Value::Int8(x) => ("zbee_zcl.attr.int8", Want::Int(x.into())),
        Value::Int16(x) => ("zbee_zcl.attr.int16", Want::Int(x.into())),
        Value::Int24(x) => ("zbee_zcl.attr.int24", Want::Int(x.0.into())),
        Value::Int32(x) => ("zbee_zcl.attr.int32", Want::Int(x.into())),
        // Wireshark has no int40/48/56 fields: all wide signed integers go to int64.
        Value::Int40(x) => ("zbee_zcl.attr.int64", Want::Int(x.0)),
        Value::Int48(x) => ("zbee_zcl.attr.int64", Want::Int(x.0)),
        Value::Int56(x) => ("zbee_zcl.attr.int64", Want::Int(x.0)),
        Value::Int64(x) => ("zbee_zcl.attr.int64", Want::Int(x)),
        // Single floats print with 6 significant digits (%g), doubles with 15.
        Value::SingleFloat(bits) => {
            ("zbee_zcl.attr.float", Want::Float { value: f32::from_bits(bits).into(), digits: 6 })
        }
        Value::DoubleFloat(bits) => {
            ("zbee_zcl.attr.float", Want::Float { value: f64::from_bits(bits), digits: 15 })
        }
        // The invalid string (length 0xFF / 0xFFFF) is shown empty.
        Value::OctetString(s) | Value::LongOctetString(s) => {
            ("zbee_zcl.attr.ostr", le_hex(s.bytes().unwrap_or(&[])))
        }
        Value::CharacterString(s) | Value::LongCharacterString(s) => (
            "zbee_zcl.attr.str",
            Want::Text(
                s.bytes()
                    .map_or("", |b| std::str::from_utf8(b).expect("generated strings are ASCII"))
                    .to_owned(),
            ),
        ),
        Value::Array(coll) | Value::Set(coll) | Value::Bag(coll) => {
            let (ty_field, count_field) = match value {
                Value::Array(_) => {
                    ("zbee_zcl.attr.array.elements_type", "zbee_zcl.attr.array.elements_num")
                }
                Value::Set(_) => {
                    ("zbee_zcl.attr.set.elements_type", "zbee_zcl.attr.set.elements_num")
                }
                _ => ("zbee_zcl.attr.bag.elements_type", "zbee_zcl.attr.bag.elements_num"),
            };
            out.push(ty_field, Want::Uint(coll.element_type.0.into()));
            out.push(count_field, Want::Uint(coll.count.into()));
            let mut r = Reader::new(coll.elements);
            for _ in 0..coll.count {
                let element = Value::read(coll.element_type, &mut r).expect("element");
                generic(out, &element, side);
            }
            return;
        }
        Value::Structure(_) => panic!("structures are not generated (UNDISSECTED_TYPES)"),
        Value::TimeOfDay(time) => {
            let [hours, mins, secs, csecs] = time.0;
            out.push("zbee_zcl.attr.hours", Want::Uint(hours.into()));
            out.push("zbee_zcl.attr.mins", Want::Uint(mins.into()));
            out.push("zbee_zcl.attr.secs", Want::Uint(secs.into()));
            out.push("zbee_zcl.attr.csecs", Want::Uint(csecs.into()));
            return;
        }
        Value::Date(date) => {
            // The year byte is years since 1900, shown raw.
            let [year, month, day, weekday] = date.0;
            out.push("zbee_zcl.attr.yy", Want::Uint(year.into()));
            out.push("zbee_zcl.attr.mm", Want::Uint(month.into()));
            out.push("zbee_zcl.attr.md", Want::Uint(day.into()));
            out.push("zbee_zcl.attr.wd", Want::Uint(weekday.into()));
            return;
        }
        Value::UtcTime(t) => ("zbee_zcl.attr.utc", Want::Text(zigbee_time(t.0.into()))),
        Value::ClusterId(c) => ("zbee_zcl.attr.cid", Want::Uint(c.0.into())),
        // An attribute id as a value is shown in the cluster's attribute-id field.
        Value::AttributeId(a) => (side.id_field(), Want::Uint(a.0.into())),
    };
    out.push(field, want);
}

/// Kinds a generated value can take (all but [`UNDISSECTED_TYPES`]).
pub fn dissected(ty: DataType) -> bool {
    !UNDISSECTED_TYPES.iter().any(|(t, _)| *t == ty)
}
