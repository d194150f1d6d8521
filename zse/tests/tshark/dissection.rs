//! Running `tshark` and reading its JSON: every packet becomes per-layer maps from field name to
//! the values tshark displayed, plus the expert items and malformed markers found anywhere in it.

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
    /// The layer it was found in (`zbee_zcl`, `_ws.malformed`, …).
    pub layer: String,
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
///
/// The JSON is read with its key order and duplicate keys kept (no `--no-duplicate-keys`, no
/// `serde_json::Value`, whose maps may sort keys): repeated records (a Read Attributes Response's
/// status records, profile intervals) must come out in wire order, and tshark names their subtrees
/// after their values ("Status Record, Uint8: 5"), so a sorted or merged map would reorder them.
pub fn dissect(pcap: &Path) -> Vec<Packet> {
    let out = Command::new("tshark")
        .args(["-n", "-T", "json", "-r"])
        .arg(pcap)
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("tshark JSON is UTF-8");
    let json = Json::parse(&text);
    json.items()
        .iter()
        .map(|p| {
            let mut packet = Packet::default();
            for (name, layer) in
                p.get("_source").and_then(|s| s.get("layers")).map_or(&[][..], Json::entries)
            {
                let mut fields = packet.layers.remove(name).unwrap_or_default();
                collect(layer, name, &mut fields, &mut packet);
                if name == "frame" {
                    if let Some(Json::Str(s)) = layer.get("frame.protocols") {
                        s.clone_into(&mut packet.protocols);
                    }
                }
                packet.layers.insert(name.clone(), fields);
            }
            packet
        })
        .collect()
}

fn collect(v: &Json, path: &str, fields: &mut Fields, packet: &mut Packet) {
    for (key, value) in v.entries() {
        let here = format!("{path}/{key}");
        if key.starts_with("_ws.malformed") {
            packet.malformed.push(here.clone());
        }
        if key == "_ws.expert" {
            let layer = path.split('/').next().unwrap_or(path);
            for item in value.as_list() {
                packet.experts.push(expert(item, layer));
            }
            continue;
        }
        for item in value.as_list() {
            match item {
                Json::Str(s) | Json::Scalar(s) => {
                    fields.entry(key.clone()).or_default().push(s.clone());
                }
                Json::Obj(_) => collect(item, &here, fields, packet),
                Json::Arr(_) => {}
            }
        }
    }
}

/// A JSON value with object entries in document order, duplicates kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Str(String),
    /// A number, `true`, `false` or `null`, as written.
    Scalar(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses a whole document (tshark's output: panics on malformed JSON).
    pub fn parse(text: &str) -> Json {
        let mut p = JsonParser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing bytes after the JSON document");
        v
    }

    /// The entries of an object (empty for anything else).
    pub fn entries(&self) -> &[(String, Json)] {
        match self {
            Json::Obj(e) => e,
            _ => &[],
        }
    }

    /// The items of an array (empty for anything else).
    pub fn items(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }

    /// The first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.entries().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// An array's items, or the value itself.
    fn as_list(&self) -> Vec<&Json> {
        match self {
            Json::Arr(a) => a.iter().collect(),
            other => vec![other],
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) | Json::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        *self.s.get(self.i).unwrap_or_else(|| panic!("JSON ends early at {}", self.i))
    }

    fn expect(&mut self, c: u8) {
        assert_eq!(self.peek(), c, "JSON: expected {:?} at {}", c as char, self.i);
        self.i += 1;
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                if self.peek() == b'}' {
                    self.i += 1;
                    return Json::Obj(entries);
                }
                loop {
                    let key = self.string();
                    self.expect(b':');
                    entries.push((key, self.value()));
                    if self.peek() == b',' {
                        self.i += 1;
                    } else {
                        self.expect(b'}');
                        return Json::Obj(entries);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == b']' {
                    self.i += 1;
                    return Json::Arr(items);
                }
                loop {
                    items.push(self.value());
                    if self.peek() == b',' {
                        self.i += 1;
                    } else {
                        self.expect(b']');
                        return Json::Arr(items);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| !b",]} \t\r\n".contains(c)) {
                    self.i += 1;
                }
                Json::Scalar(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).expect("\\u escape");
        self.i += 4;
        u32::from_str_radix(h, 16).expect("\\u escape")
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let mut u = self.hex4();
                            if (0xD800..0xDC00).contains(&u) && self.s.get(self.i) == Some(&b'\\') {
                                self.i += 2;
                                u = 0x10000 + ((u - 0xD800) << 10) + (self.hex4() - 0xDC00);
                            }
                            char::from_u32(u).unwrap_or('\u{fffd}')
                        }
                        other => char::from(other),
                    };
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                other => out.push(other),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn expert(v: &Json, layer: &str) -> Expert {
    let num = |k: &str| v.get(k).and_then(Json::as_str).and_then(|s| s.parse().ok()).unwrap_or(0);
    Expert {
        layer: layer.to_owned(),
        field: v
            .entries()
            .iter()
            .map(|(k, _)| k)
            .find(|k| !k.starts_with("_ws.expert"))
            .cloned()
            .unwrap_or_default(),
        message: v.get("_ws.expert.message").and_then(Json::as_str).unwrap_or("").to_owned(),
        severity: num("_ws.expert.severity"),
        group: num("_ws.expert.group"),
    }
}

/// What tshark must show for one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The field must not appear.
    Absent,
    /// An unsigned number (tshark prints decimal or `0x…` hex; booleans as 0/1).
    Uint(u64),
    /// A signed number (printed in decimal).
    Int(i64),
    /// Exactly this text.
    Text(String),
    /// Bytes or an EUI-64, compared as lower-case hex without separators.
    Hex(String),
    /// A floating-point number, printed by tshark with `digits` significant digits (`%g`): equal
    /// up to the rounding of that many digits; NaN and infinities as `nan`, `inf`, `-inf`.
    Float { value: f64, digits: i32 },
    /// Every occurrence, in order.
    Uints(Vec<u64>),
    /// Every occurrence, in order, each matching one scalar want (an empty list = absent).
    List(Vec<Want>),
}

/// Expected occurrences per tshark field, in wire order; built up field by field and record by
/// record, then turned into one [`Want::List`] per field.
#[derive(Debug, Default)]
pub struct Expect(Vec<(&'static str, Vec<Want>)>);

impl Expect {
    fn slot(&mut self, field: &'static str) -> &mut Vec<Want> {
        let i = if let Some(i) = self.0.iter().position(|(f, _)| *f == field) {
            i
        } else {
            self.0.push((field, Vec::new()));
            self.0.len() - 1
        };
        &mut self.0[i].1
    }

    /// One more occurrence of `field`.
    pub fn push(&mut self, field: &'static str, want: Want) {
        self.slot(field).push(want);
    }

    /// `field` must not occur (unless something else pushes an occurrence).
    pub fn none(&mut self, field: &'static str) {
        self.slot(field);
    }

    pub fn into_wants(self) -> Vec<(&'static str, Want)> {
        self.0.into_iter().map(|(f, ws)| (f, Want::List(ws))).collect()
    }
}

pub fn parse_uint(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Whether one displayed value matches a scalar want.
fn matches(v: &str, want: &Want) -> bool {
    match want {
        Want::Uint(n) => parse_uint(v) == Some(*n),
        Want::Int(n) => v.parse::<i64>().ok() == Some(*n),
        Want::Text(t) => v == t,
        Want::Hex(h) => v.replace([':', '-'], "").to_lowercase() == *h,
        Want::Float { value, digits } => {
            if value.is_nan() {
                return v == "nan";
            }
            if value.is_infinite() {
                return v == if *value > 0.0 { "inf" } else { "-inf" };
            }
            let Ok(shown) = v.parse::<f64>() else { return false };
            // `%g` keeps `digits` significant digits: half a unit of the last one.
            let tolerance = value.abs() * 10f64.powi(1 - digits) / 2.0;
            (shown - value).abs() <= tolerance * 1.000_001
                && shown.is_sign_negative() == value.is_sign_negative()
        }
        Want::Absent | Want::Uints(_) | Want::List(_) => false,
    }
}

/// Checks one field; returns a description of the mismatch.
pub fn check(values: &[&str], want: &Want) -> Result<(), String> {
    let ok = match want {
        Want::Absent => values.is_empty(),
        Want::Uints(ns) => {
            values.len() == ns.len()
                && values.iter().zip(ns).all(|(v, n)| parse_uint(v) == Some(*n))
        }
        Want::List(ws) => {
            values.len() == ws.len() && values.iter().zip(ws).all(|(v, w)| matches(v, w))
        }
        scalar => match values {
            [v] => matches(v, scalar),
            _ => return Err(format!("expected one value, tshark shows {values:?}, want {want:?}")),
        },
    };
    if ok {
        Ok(())
    } else {
        Err(format!("tshark shows {values:?}, expected {want:?}"))
    }
}

/// Formats a ZigBee UTCTime (seconds since 2000-01-01 UTC) as tshark prints absolute times.
pub fn zigbee_time(secs: u64) -> String {
    unix_time(secs + 946_684_800)
}

/// Formats seconds since 1970-01-01 UTC as tshark prints absolute times.
pub fn unix_time(unix: u64) -> String {
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
