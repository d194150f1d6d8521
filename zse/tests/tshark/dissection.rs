//! Running `tshark` and reading its JSON: every packet becomes per-layer maps from field name to
//! the values tshark displayed, plus the expert items and malformed markers found anywhere in it.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Expert-info severities (Wireshark `epan/proto.h`, `PI_SEVERITY_MASK` values).
pub const PI_NOTE: u64 = 0x0040_0000;
pub const PI_ERROR: u64 = 0x0080_0000;
/// Expert-info group of malformed packets (`PI_MALFORMED`).
pub const PI_MALFORMED: u64 = 0x0700_0000;

/// Field name → every value tshark displayed for it, in order.
pub type Fields = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone)]
pub struct Expert {
    /// The expert field (e.g. `zbee_zcl_se.msg.msg_ctrl.deprecated`).
    pub field: String,
    pub message: String,
    pub severity: u64,
    pub group: u64,
}

#[derive(Debug, Default)]
pub struct Packet {
    /// Layer name (`wpan`, `zbee_nwk`, `zbee_aps`, `zbee_zcl`, …) → its fields.
    pub layers: BTreeMap<String, Fields>,
    pub experts: Vec<Expert>,
    /// Paths of `_ws.malformed` items.
    pub malformed: Vec<String>,
    /// `frame.protocols`, e.g. `wpan:zbee_nwk:zbee_aps:zbee_zcl:zbee_zcl_se.msg`.
    pub protocols: String,
}

impl Packet {
    pub fn layer(&self, name: &str) -> Option<&Fields> {
        self.layers.get(name)
    }

    /// Values of `field` in whichever layer has it.
    pub fn values(&self, field: &str) -> Vec<&str> {
        self.layers.values().filter_map(|l| l.get(field)).flatten().map(String::as_str).collect()
    }
}

/// Whether `tshark` can be run.
pub fn available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The first line of `tshark --version` (field names were taken from 4.0.17).
pub fn version() -> String {
    Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("tshark").to_owned())
        .unwrap_or_default()
}

/// Dissects every packet of a capture file.
pub fn dissect(pcap: &Path) -> Vec<Packet> {
    let out = Command::new("tshark")
        .args(["-n", "-T", "json", "--no-duplicate-keys", "-r"])
        .arg(pcap)
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("tshark JSON");
    json.as_array()
        .expect("a JSON array of packets")
        .iter()
        .map(|p| {
            let layers = &p["_source"]["layers"];
            let mut packet = Packet::default();
            for (name, layer) in layers.as_object().expect("layers object") {
                let mut fields = Fields::new();
                collect(layer, name, &mut fields, &mut packet);
                packet.layers.insert(name.clone(), fields);
            }
            layers["frame"]["frame.protocols"]
                .as_str()
                .unwrap_or("")
                .clone_into(&mut packet.protocols);
            packet
        })
        .collect()
}

fn collect(v: &Value, path: &str, fields: &mut Fields, packet: &mut Packet) {
    let Some(obj) = v.as_object() else { return };
    for (key, value) in obj {
        let here = format!("{path}/{key}");
        if key.starts_with("_ws.malformed") {
            packet.malformed.push(here.clone());
        }
        if key == "_ws.expert" {
            for item in as_list(value) {
                packet.experts.push(expert(item));
            }
            continue;
        }
        for item in as_list(value) {
            match item {
                Value::String(s) => fields.entry(key.clone()).or_default().push(s.clone()),
                Value::Object(_) => collect(item, &here, fields, packet),
                other => fields.entry(key.clone()).or_default().push(other.to_string()),
            }
        }
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn expert(v: &Value) -> Expert {
    let obj = v.as_object().cloned().unwrap_or_default();
    let num =
        |k: &str| obj.get(k).and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0);
    Expert {
        field: obj.keys().find(|k| !k.starts_with("_ws.expert")).cloned().unwrap_or_default(),
        message: obj.get("_ws.expert.message").and_then(Value::as_str).unwrap_or("").to_owned(),
        severity: num("_ws.expert.severity"),
        group: num("_ws.expert.group"),
    }
}

/// What tshark must show for one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The field must not appear.
    Absent,
    /// The field must appear; its value is not compared (a documented Wireshark quirk).
    Present,
    /// An unsigned number (tshark prints decimal or `0x…` hex; booleans as 0/1).
    Uint(u64),
    /// A signed number (printed in decimal).
    Int(i64),
    /// Exactly this text.
    Text(String),
    /// Bytes or an EUI-64, compared as lower-case hex without separators.
    Hex(String),
    /// Every occurrence, in order.
    Uints(Vec<u64>),
}

pub fn parse_uint(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Checks one field; returns a description of the mismatch.
pub fn check(values: &[&str], want: &Want) -> Result<(), String> {
    let single = || match values {
        [v] => Ok(*v),
        _ => Err(format!("expected one value, tshark shows {values:?}")),
    };
    let ok = match want {
        Want::Absent => values.is_empty(),
        Want::Present => !values.is_empty(),
        Want::Uint(n) => parse_uint(single()?) == Some(*n),
        Want::Int(n) => single()?.parse::<i64>().ok() == Some(*n),
        Want::Text(t) => single()? == t,
        Want::Hex(h) => single()?.replace([':', '-'], "").to_lowercase() == *h,
        Want::Uints(ns) => {
            values.len() == ns.len()
                && values.iter().zip(ns).all(|(v, n)| parse_uint(v) == Some(*n))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("tshark shows {values:?}, expected {want:?}"))
    }
}

/// Formats a ZigBee UTCTime (seconds since 2000-01-01 UTC) as tshark prints absolute times.
pub fn zigbee_time(secs: u64) -> String {
    let unix = secs + 946_684_800;
    let (days, rem) = (unix / 86_400, unix % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {day:>2}, {year} {:02}:{:02}:{:02}.000000000 UTC",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn zigbee_time_matches_tshark_format() {
    assert_eq!(zigbee_time(1000), "Jan  1, 2000 00:16:40.000000000 UTC");
    assert_eq!(zigbee_time(0x1234_5678), "Sep  4, 2009 22:51:36.000000000 UTC");
    assert_eq!(zigbee_time(u64::from(u32::MAX)), "Feb  7, 2136 06:28:15.000000000 UTC");
}
