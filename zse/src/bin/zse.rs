//! `zse`: decode and encode ZCL / Smart Energy frames from the command line, for labs and scripts.
//!
//! ```text
//! zse decode --cluster 0x0703 0988012a000000880000000001003c0002 4869
//! zse encode '{"cluster":1795,"direction":"server_to_client",...}'   # or JSON on stdin
//! zse commands [--cluster <id>]
//! ```
//! `decode` prints one JSON object; errors go to stderr as one line naming the byte offset, with
//! exit status 1 (2 for usage errors).

#![allow(clippy::indexing_slicing)] // argument vectors and hex pairs are length-checked here

use serde_json::{json, Map, Value};
use std::io::Read;
use std::process::ExitCode;
use zse::cluster::{cluster_name, ClusterCommand};
use zse::zcl::{foundation, ClusterId, Direction, Frame, FrameType, Header, Payload};

const USAGE: &str = "usage:
  zse decode --cluster <id> <hex>...   decode one ZCL frame (hex, separators allowed)
  zse encode [<json>]                   encode the JSON that `decode` prints (stdin if omitted)
  zse commands [--cluster <id>]         list known clusters and command ids
cluster ids: 0x0700, 1792, or a name: basic identify time price drlc metering messaging key_establishment";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("zse: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Input(msg)) => {
            eprintln!("zse: error: {msg}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Input(String),
}

fn run(args: &[String]) -> Result<String, Failure> {
    match args.first().map(String::as_str) {
        Some("decode") => {
            let (cluster, rest) = take_cluster(&args[1..])?;
            let cluster = cluster.ok_or_else(|| Failure::Usage("decode needs --cluster".into()))?;
            if rest.is_empty() {
                return Err(Failure::Usage("decode needs the frame as hex".into()));
            }
            let bytes = parse_hex(&rest.concat()).map_err(Failure::Input)?;
            decode(cluster, &bytes).map(|v| v.to_string()).map_err(Failure::Input)
        }
        Some("encode") => {
            let text = if let Some(t) = args.get(1) {
                t.clone()
            } else {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| Failure::Input(format!("reading stdin: {e}")))?;
                s
            };
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| Failure::Input(format!("bad JSON: {e}")))?;
            encode(&value).map(|b| zse::hex::Hex(&b).to_string()).map_err(Failure::Input)
        }
        Some("commands") => {
            let (cluster, _) = take_cluster(&args[1..])?;
            Ok(list_commands(cluster).to_string())
        }
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage("missing command".into())),
    }
}

/// Extracts `--cluster <id>` from the arguments.
fn take_cluster(args: &[String]) -> Result<(Option<ClusterId>, Vec<String>), Failure> {
    let mut cluster = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--cluster" || a == "-c" {
            let v = it.next().ok_or_else(|| Failure::Usage("--cluster needs a value".into()))?;
            cluster = Some(parse_cluster(v).map_err(Failure::Usage)?);
        } else if let Some(v) = a.strip_prefix("--cluster=") {
            cluster = Some(parse_cluster(v).map_err(Failure::Usage)?);
        } else {
            rest.push(a.clone());
        }
    }
    Ok((cluster, rest))
}

fn parse_cluster(text: &str) -> Result<ClusterId, String> {
    let t = text.trim().to_ascii_lowercase();
    let named = match t.replace(['-', '_'], "").as_str() {
        "basic" => Some(0x0000),
        "identify" => Some(0x0003),
        "time" => Some(0x000A),
        "price" => Some(0x0700),
        "drlc" | "demandresponseloadcontrol" | "loadcontrol" => Some(0x0701),
        "metering" | "simplemetering" => Some(0x0702),
        "messaging" => Some(0x0703),
        "keyestablishment" | "cbke" => Some(0x0800),
        _ => None,
    };
    if let Some(id) = named {
        return Ok(ClusterId(id));
    }
    let parsed = match t.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16),
        None => t.parse::<u16>(),
    };
    parsed.map(ClusterId).map_err(|_| format!("bad cluster id `{text}`"))
}

/// Hex with optional `0x` prefix and separators (spaces, `:`, `-`).
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let digits: Vec<u8> =
        t.bytes().filter(|c| !matches!(c, b' ' | b':' | b'-' | b'\t' | b'\n')).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex input has an odd number of digits ({})", digits.len()));
    }
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(i, p)| match (zse::hex::nibble(p[0]), zse::hex::nibble(p[1])) {
            (Some(h), Some(l)) => Ok((h << 4) | l),
            _ => Err(format!("hex input: not a hex digit in byte {i}")),
        })
        .collect()
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "client_to_server",
        Direction::ServerToClient => "server_to_client",
    }
}

/// Decodes one frame into the JSON object documented in the README.
fn decode(cluster: ClusterId, bytes: &[u8]) -> Result<Value, String> {
    let frame = Frame::parse(cluster, bytes).map_err(|e| e.to_string())?;
    let h = frame.header;
    let (command, fields) = match &frame.payload {
        Payload::Foundation(c) => split_command(serde_json::to_value(c)),
        Payload::Cluster(c) => split_command(serde_json::to_value(c)),
        Payload::Unknown(p) => {
            ("Unknown".to_string(), json!({ "payload": zse::hex::Hex(p).to_string() }))
        }
    };
    Ok(json!({
        "cluster": cluster.0,
        "cluster_name": cluster_name(cluster),
        "direction": direction_name(h.direction),
        "frame_type": match h.frame_type { FrameType::Global => "global", FrameType::ClusterSpecific => "cluster_specific" },
        "manufacturer_code": h.manufacturer_code,
        "disable_default_response": h.disable_default_response,
        "tsn": h.tsn,
        "command_id": h.command_id,
        "command": command,
        "fields": fields,
    }))
}

/// Splits serde's `{"command": name, "fields": {...}}` into its parts.
fn split_command(v: serde_json::Result<Value>) -> (String, Value) {
    match v {
        Ok(Value::Object(mut m)) => {
            let name = m.remove("command").and_then(|n| n.as_str().map(str::to_owned));
            (name.unwrap_or_default(), m.remove("fields").unwrap_or(Value::Object(Map::new())))
        }
        Ok(other) => (String::new(), other),
        Err(e) => ("Unserializable".into(), json!({ "error": e.to_string() })),
    }
}

fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value, String> {
    obj.get(key).ok_or_else(|| format!("missing field `{key}`"))
}

fn u8_field(obj: &Map<String, Value>, key: &str) -> Result<u8, String> {
    field(obj, key)?
        .as_u64()
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| format!("field `{key}` must be an integer 0..=255"))
}

/// Encodes the JSON form produced by [`decode`] back to bytes.
fn encode(value: &Value) -> Result<Vec<u8>, String> {
    let obj = value.as_object().ok_or("expected a JSON object")?;
    let cluster = match field(obj, "cluster")? {
        Value::Number(n) => n
            .as_u64()
            .and_then(|v| u16::try_from(v).ok())
            .map(ClusterId)
            .ok_or("field `cluster` out of range")?,
        Value::String(s) => parse_cluster(s)?,
        _ => return Err("field `cluster` must be a number or string".into()),
    };
    let direction = match field(obj, "direction")?.as_str() {
        Some("client_to_server") => Direction::ClientToServer,
        Some("server_to_client") => Direction::ServerToClient,
        _ => return Err("field `direction` must be client_to_server or server_to_client".into()),
    };
    let frame_type = match field(obj, "frame_type")?.as_str() {
        Some("global") => FrameType::Global,
        Some("cluster_specific") => FrameType::ClusterSpecific,
        _ => return Err("field `frame_type` must be global or cluster_specific".into()),
    };
    let manufacturer_code = match obj.get("manufacturer_code") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .ok_or("field `manufacturer_code` must be null or 0..=65535")?,
        ),
    };
    let disable_default_response =
        obj.get("disable_default_response").and_then(Value::as_bool).unwrap_or(false);
    let tsn = u8_field(obj, "tsn")?;
    let command = field(obj, "command")?.as_str().ok_or("field `command` must be a string")?;
    let fields = obj.get("fields").cloned().unwrap_or(Value::Object(Map::new()));

    let tagged = json!({ "command": command, "fields": fields });
    let unknown_payload;
    let payload = if command == "Unknown" {
        let hex = fields.get("payload").and_then(Value::as_str).unwrap_or("");
        unknown_payload = parse_hex(hex)?;
        Payload::Unknown(&unknown_payload)
    } else if manufacturer_code.is_some() {
        return Err("manufacturer-specific frames can only be encoded as command `Unknown`".into());
    } else {
        match frame_type {
            FrameType::Global => Payload::Foundation(
                <foundation::Command as serde::Deserialize>::deserialize(&tagged)
                    .map_err(|e| format!("fields of `{command}`: {e}"))?,
            ),
            FrameType::ClusterSpecific => Payload::Cluster(
                ClusterCommand::deserialize_for(cluster, direction, &tagged)
                    .map_err(|e| format!("fields of `{command}`: {e}"))?
                    .ok_or_else(|| {
                        format!(
                            "cluster 0x{:04x} has no commands {}",
                            cluster.0,
                            direction_name(direction)
                        )
                    })?,
            ),
        }
    };
    let command_id = match &payload {
        Payload::Foundation(c) => c.command_id(),
        Payload::Cluster(c) => c.command_id(),
        Payload::Unknown(_) => u8_field(obj, "command_id")?,
    };
    if let Some(given) = obj.get("command_id").and_then(Value::as_u64) {
        if given != u64::from(command_id) {
            return Err(format!(
                "field `command_id` is {given} but command `{command}` has id {command_id}"
            ));
        }
    }
    let header = Header {
        frame_type,
        manufacturer_code,
        direction,
        disable_default_response,
        tsn,
        command_id,
    };
    let frame = Frame { header, payload };
    let mut out = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut out).map_err(|e| e.to_string())?;
    out.truncate(n);
    Ok(out)
}

fn list_commands(only: Option<ClusterId>) -> Value {
    let clusters = [0x0000u16, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800];
    let list: Vec<Value> = clusters
        .iter()
        .map(|&c| ClusterId(c))
        .filter(|c| only.is_none_or(|o| o == *c))
        .map(|c| {
            let side = |d| {
                ClusterCommand::commands(c, d)
                    .iter()
                    .map(|(id, name)| json!({"id": id, "name": name}))
                    .collect::<Vec<_>>()
            };
            json!({
                "cluster": c.0,
                "name": cluster_name(c),
                "client_to_server": side(Direction::ClientToServer),
                "server_to_client": side(Direction::ServerToClient),
            })
        })
        .collect();
    Value::Array(list)
}
