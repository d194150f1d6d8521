//! Wireshark cross-check: seeded random SE frames (802.15.4 + ZigBee NWK + APS + ZCL) are
//! written to a pcap (link type 230), dissected by `tshark`, and every field tshark reports is
//! compared with what we wrote: the ZCL header; every command of every cluster the codec has,
//! in both directions (row tables in `tshark/fields.rs` and `tshark/rows_*.rs`); every
//! foundation command 0x00–0x16 with attribute records of every data type Wireshark can show
//! (`tshark/foundation.rs`, `tshark/values.rs`); and the MAC/NWK/APS headers. A field tshark
//! shows that we did not write, a packet with a malformed marker or an unexplained expert item
//! fails, and so does a codec command that is never generated or a command field without a row.
//! Known Wireshark 4.0 deviations are explicit, listed exceptions (`fields::exceptions()`,
//! printed at the end of a run). Without `tshark` on PATH the test prints a notice and passes
//! (CI installs it).
//!
//! `ZSE_TSHARK_SEED=<n>` replays a run; `ZSE_TSHARK_ROUNDS=<n>` changes how many rounds of
//! every command are sent (default 40).

// Test code: indexing, unwrapping and panicking are how it reports a failure.
#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

mod tshark;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tshark::dissection::{
    self, check, unix_time, zigbee_time, Expect, Packet, Want, PI_ERROR, PI_MALFORMED, PI_NOTE,
};
use tshark::fields::{
    self, not_dissected, rows, Dissection, Kind, Scope, ALLOWED_EXPERTS, CLUSTERS, HEADER_FIELDS,
    MALFORMED_ALLOWED, NOT_DISSECTED,
};
use tshark::gen::{self, Rng, ZclSample};
use tshark::lower::{self, Lower};
use zse::cluster::ClusterCommand;
use zse::frame::mac::{self, MacHeader};
use zse::frame::nwk::NwkHeader;
use zse::frame::{
    build_se_frame, parse_se_frame, AuxHeader, KeyIdentifier, NwkSecurity, PanId, ShortAddr,
};
use zse::pcap::{PcapWriter, LINKTYPE_IEEE802_15_4_WITHFCS};
use zse::zcl::{ClusterId, Direction, Eui64, Frame, FrameType, Payload};
use zse::ErrorKind;

/// One frame written to the capture and what tshark must make of it.
struct Sent {
    what: String,
    bytes: Vec<u8>,
    /// Expected fields anywhere in the packet.
    want: Vec<(&'static str, Want)>,
    /// The ZCL content, when tshark can see it (no NWK/APS encryption).
    zcl: Option<ZclSample>,
    /// Expected `frame.protocols`; `None` = only "no undissected bytes" (no `data`).
    protocols: Option<String>,
    /// Expert items allowed on this frame besides [`ALLOWED_EXPERTS`].
    extra_experts: &'static [&'static str],
}

fn seed() -> u64 {
    std::env::var("ZSE_TSHARK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

fn rounds() -> usize {
    std::env::var("ZSE_TSHARK_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40)
}

/// Wraps a ZCL sample in random headers, simplifying them if the frame would not fit.
fn data_frame(rng: &mut Rng, zcl: ZclSample) -> Sent {
    let full = lower::random(rng, zcl.cluster);
    let mut buf = [0u8; 256];
    let (l, n) = match build_se_frame(&full.mac, &full.nwk, &full.aps, &zcl.bytes, &mut buf, None) {
        Ok(n) => (full, n),
        Err(e) if e.kind == ErrorKind::BadLength => {
            let l = lower::without_options(&full);
            let n = build_se_frame(&l.mac, &l.nwk, &l.aps, &zcl.bytes, &mut buf, None)
                .unwrap_or_else(|e| panic!("{} does not fit one frame: {e}", zcl.command));
            (l, n)
        }
        Err(e) => panic!("build {}: {e}", zcl.command),
    };
    // Our own parser must take the frame apart into exactly what we built.
    let parsed = parse_se_frame(&buf[..n]).expect("parse_se_frame of a built frame");
    assert_eq!((parsed.mac, &parsed.nwk, parsed.aps), (l.mac, &l.nwk, Some(l.aps)));
    assert_eq!(parsed.zcl(), Some(&zcl.bytes[..]));
    let chain = "wpan:zbee_nwk:zbee_aps:zbee_zcl";
    let (_, dissection) = zcl_expectations(&zcl);
    let tail = if dissection == Dissection::DataTail { ":data" } else { "" };
    let protocols = match zcl.scope {
        // Wireshark leaves a manufacturer-specific payload undissected, as `data`.
        _ if zcl.header.manufacturer_code.is_some() => {
            Some(if zcl.bytes.len() > 5 { format!("{chain}:data") } else { chain.to_owned() })
        }
        // A misparsed payload may end anywhere (see NOT_DISSECTED).
        _ if dissection == Dissection::HeaderOnly => None,
        Scope::Cluster(id) => Some(format!("{chain}:{}{tail}", fields::cluster(id).protocol)),
        Scope::Foundation => Some(format!("{chain}{tail}")),
    };
    Sent {
        what: format!("{} on cluster 0x{:04x}", zcl.command, zcl.cluster),
        bytes: buf[..n].to_vec(),
        want: lower::expectations(&l),
        protocols,
        zcl: Some(zcl),
        extra_experts: &[],
    }
}

/// An APS acknowledgement for a random data frame (no ZCL).
fn ack_frame(rng: &mut Rng) -> Sent {
    let cluster = rng.pick(CLUSTERS).id;
    let data = lower::random(rng, cluster);
    let mut aps = data.aps;
    aps.addressing = aps.addressing.filter(|_| rng.chance(70));
    if aps.addressing.is_none() {
        aps.frame_type = zse::frame::aps::ApsFrameType::Command;
    }
    aps.delivery_mode = zse::frame::aps::DeliveryMode::Unicast;
    if let Some(a) = &mut aps.addressing {
        a.destination = zse::frame::aps::ApsDestination::Endpoint(1 + rng.below(240) as u8);
    }
    let ack = aps.ack().expect("unicast data and commands are acknowledged");
    let (src, dst) = (ShortAddr(rng.below(0xFFF8) as u16), ShortAddr(rng.below(0xFFF8) as u16));
    let mac = MacHeader::data(rng.u8(), PanId(rng.below(0xFFFF) as u16), dst, src);
    let nwk = NwkHeader::data(dst, src, rng.u8(), rng.u8(), None);
    let mut bytes = vec![0u8; 64];
    let mut n = zse::field::Repr::emit(&mac, &mut bytes).expect("mac");
    n += zse::field::Repr::emit(&nwk, &mut bytes[n..]).expect("nwk");
    n += zse::field::Repr::emit(&ack, &mut bytes[n..]).expect("aps");
    bytes.truncate(n);
    let l = Lower { mac, nwk, aps: ack };
    Sent {
        what: format!("APS {} ack", if ack.ack_format { "command" } else { "data" }),
        bytes,
        want: lower::expectations(&l),
        zcl: None,
        protocols: Some("wpan:zbee_nwk:zbee_aps".into()),
        extra_experts: &[],
    }
}

/// Fills the NWK payload with random "ciphertext" and a random MIC (we have no key; tshark
/// cannot decrypt, but must find the auxiliary header's fields where we put them).
struct FakeCipher<'r> {
    rng: &'r mut Rng,
    mic: [u8; 4],
}

impl NwkSecurity for FakeCipher<'_> {
    fn secure(
        &mut self,
        f: &mut [u8],
        header_len: usize,
        payload_len: usize,
    ) -> zse::Result<usize> {
        for b in &mut f[header_len..header_len + payload_len] {
            *b = self.rng.u8();
        }
        self.mic = [self.rng.u8(), self.rng.u8(), self.rng.u8(), self.rng.u8()];
        let end = header_len + payload_len;
        f.get_mut(end..end + 4)
            .ok_or(zse::Error::new(ErrorKind::BufferTooSmall { needed: 4 }, end, "mic"))?
            .copy_from_slice(&self.mic);
        Ok(payload_len + 4)
    }
}

/// Expert items Wireshark raises when it has no key for a secured frame (the ciphertext is then
/// left undissected, as `data`).
const UNDECRYPTABLE: &[&str] = &["zbee_sec.encrypted_payload", "zbee_sec.extended_source_unknown"];

/// A frame with NWK security (network key, extended nonce) around a random ZCL frame.
fn nwk_secured_frame(rng: &mut Rng, zcl: &ZclSample) -> Sent {
    let mut l = lower::without_options(&lower::random(rng, zcl.cluster));
    let aux = AuxHeader::nwk(rng.u32(), Eui64(rng.next_u64()), rng.u8());
    l.nwk.aux_header = Some(aux);
    let mut buf = [0u8; 256];
    let mut cipher = FakeCipher { rng, mic: [0; 4] };
    let n = build_se_frame(&l.mac, &l.nwk, &l.aps, &zcl.bytes, &mut buf, Some(&mut cipher))
        .expect("build secured");
    let mut want: Vec<_> =
        lower::expectations(&l).into_iter().filter(|(f, _)| !f.starts_with("zbee_aps")).collect();
    want.extend(lower::security_expectations(&aux, &cipher.mic));
    Sent {
        what: format!("NWK-secured {}", zcl.command),
        bytes: buf[..n].to_vec(),
        want,
        zcl: None,
        protocols: Some("wpan:zbee_nwk:data".into()),
        extra_experts: UNDECRYPTABLE,
    }
}

/// A frame with APS security (link key) around random ciphertext.
fn aps_secured_frame(rng: &mut Rng, zcl: &ZclSample) -> Sent {
    let mut l = lower::without_options(&lower::random(rng, zcl.cluster));
    let src = rng.chance(50).then(|| Eui64(rng.next_u64()));
    let aux = AuxHeader::aps(KeyIdentifier::Data, rng.u32(), src);
    l.aps.aux_header = Some(aux);
    let mut payload: Vec<u8> = (0..zcl.bytes.len() + 4).map(|_| rng.u8()).collect();
    let mic: Vec<u8> = payload.split_off(zcl.bytes.len());
    payload.extend_from_slice(&mic);
    let mut buf = [0u8; 256];
    let n = build_se_frame(&l.mac, &l.nwk, &l.aps, &payload, &mut buf, None)
        .expect("build APS-secured");
    let mut want = lower::expectations(&l);
    want.extend(lower::security_expectations(&aux, &mic));
    Sent {
        what: format!("APS-secured {}", zcl.command),
        bytes: buf[..n].to_vec(),
        want,
        zcl: None,
        protocols: Some("wpan:zbee_nwk:zbee_aps:data".into()),
        extra_experts: UNDECRYPTABLE,
    }
}

/// The tshark field that carries the command id of a ZCL frame.
fn command_id_field(zcl: &ZclSample) -> &'static str {
    let spec = fields::cluster(zcl.cluster);
    match (zcl.header.frame_type, zcl.header.direction) {
        _ if zcl.header.manufacturer_code.is_some() => "zbee_zcl.cs.cmd.id",
        (FrameType::Global, _) => "zbee_zcl.cmd.id",
        (FrameType::ClusterSpecific, Direction::ServerToClient) => spec.server_to_client_command,
        (FrameType::ClusterSpecific, Direction::ClientToServer) => spec.client_to_server_command,
    }
}

/// The ZCL header fields and the command id.
fn header_expectations(zcl: &ZclSample) -> Vec<(&'static str, Want)> {
    let h = &zcl.header;
    vec![
        ("zbee_zcl.type", Want::Uint(h.frame_control() as u64 & 0x03)),
        ("zbee_zcl.ms", Want::Uint(u64::from(h.manufacturer_code.is_some()))),
        ("zbee_zcl.dir", Want::Uint(u64::from(h.direction == Direction::ServerToClient))),
        ("zbee_zcl.ddr", Want::Uint(u64::from(h.disable_default_response))),
        ("zbee_zcl.cmd.tsn", Want::Uint(u64::from(h.tsn))),
        ("zbee_zcl.cmd.mc", h.manufacturer_code.map_or(Want::Absent, |m| Want::Uint(m.into()))),
        (command_id_field(zcl), Want::Uint(u64::from(h.command_id))),
    ]
}

/// One row's expected occurrences from our field's JSON value.
fn row_expectations(e: &mut Expect, row: &fields::Row, value: &serde_json::Value) {
    let uint = || {
        value
            .as_u64()
            .unwrap_or_else(|| panic!("{}.{} is not a number: {value}", row.command, row.field))
    };
    let hex = || value.as_str().expect("octets as hex").to_lowercase();
    if value.is_null() {
        match row.kind {
            Kind::HexOrEmpty(_) => e.push(row.tshark, Want::Hex(String::new())),
            Kind::TextOrInvalid => e.push(row.tshark, Want::Text(String::new())),
            _ => e.none(row.tshark),
        }
        return;
    }
    match row.kind {
        Kind::Uint => e.push(row.tshark, Want::Uint(uint())),
        Kind::Int => e.push(row.tshark, Want::Int(value.as_i64().expect("signed number"))),
        Kind::Bits(mask) => {
            e.push(row.tshark, Want::Uint((uint() & mask) >> mask.trailing_zeros()));
        }
        Kind::Flag(mask) => e.push(row.tshark, Want::Uint(u64::from(uint() & mask != 0))),
        Kind::Text | Kind::TextOrInvalid => {
            e.push(row.tshark, Want::Text(value.as_str().expect("UTF-8 text").to_owned()));
        }
        Kind::ZigbeeTime => e.push(row.tshark, Want::Text(zigbee_time(uint()))),
        Kind::UnixTime(_) => e.push(row.tshark, Want::Text(unix_time(uint()))),
        Kind::UintList => {
            e.none(row.tshark);
            for x in value.as_array().expect("a list") {
                e.push(row.tshark, Want::Uint(x.as_u64().expect("number")));
            }
        }
        Kind::Hex | Kind::HexOrEmpty(_) => e.push(row.tshark, Want::Hex(hex())),
        Kind::HexRange(from, to) => {
            e.push(row.tshark, Want::Hex(hex()[2 * from..2 * to].to_owned()));
        }
        Kind::Deviation(kind, _) => {
            row_expectations(e, &fields::Row { kind: *kind, ..*row }, value);
        }
    }
}

/// Expected ZCL fields: the header, then the command's fields (table rows for cluster commands,
/// `foundation.rs` for foundation commands), and how much of the payload Wireshark dissects.
fn zcl_expectations(zcl: &ZclSample) -> (Vec<(&'static str, Want)>, Dissection) {
    let mut v = header_expectations(zcl);
    if zcl.header.manufacturer_code.is_some() {
        return (v, Dissection::Full);
    }
    let mut e = Expect::default();
    let dissection = match zcl.scope {
        Scope::Cluster(_) if not_dissected(zcl.scope, zcl.command).is_some() => {
            Dissection::HeaderOnly
        }
        Scope::Cluster(_) => {
            for row in rows().filter(|r| r.scope == zcl.scope && r.command == zcl.command) {
                row_expectations(&mut e, row, &zcl.fields[row.field]);
            }
            Dissection::Full
        }
        Scope::Foundation => {
            let frame = Frame::parse(ClusterId(zcl.cluster), &zcl.bytes).expect("our own frame");
            let Payload::Foundation(command) = &frame.payload else { panic!("not foundation") };
            tshark::foundation::expectations(
                &mut e,
                fields::cluster(zcl.cluster),
                zcl.header.direction,
                command,
            )
        }
    };
    if dissection != Dissection::HeaderOnly {
        v.extend(e.into_wants());
    }
    (v, dissection)
}

fn is_field_name(key: &str) -> bool {
    key.contains('.') && !key.contains(' ') && !key.starts_with("_ws.")
}

/// Checks one packet; returns how many field values were compared.
fn check_packet(sent: &Sent, p: &Packet, problems: &mut Vec<String>) -> usize {
    let mut fail = |m: String| problems.push(format!("{}: {m}", sent.what));
    let misparsed =
        sent.zcl.as_ref().is_some_and(|z| zcl_expectations(z).1 == Dissection::HeaderOnly);
    let malformed_allowed = misparsed
        || sent.zcl.as_ref().is_some_and(|z| {
            MALFORMED_ALLOWED.iter().any(|(s, c, _)| *s == z.scope && *c == z.command)
        });
    for m in &p.malformed {
        if !malformed_allowed {
            fail(format!("malformed: {m}"));
        }
    }
    for e in &p.experts {
        let allowed = ALLOWED_EXPERTS.iter().any(|(f, _)| *f == e.field)
            || sent.extra_experts.contains(&e.field.as_str());
        let malformed = e.group == PI_MALFORMED || e.field == "_ws.malformed.expert";
        // A payload Wireshark misreads may raise anything in the ZCL layer, nothing below it.
        let zcl_layer = e.layer == "zbee_zcl" || e.layer == "_ws.malformed";
        if (misparsed && zcl_layer) || (malformed && malformed_allowed) {
            continue;
        }
        if e.severity >= PI_ERROR || e.group == PI_MALFORMED || (e.severity >= PI_NOTE && !allowed)
        {
            fail(format!("expert item {} ({}): {}", e.field, e.severity, e.message));
        }
    }
    let expect_data = misparsed || sent.protocols.as_deref().is_some_and(|p| p.ends_with(":data"));
    if !expect_data && p.protocols.split(':').any(|proto| proto == "data") {
        fail(format!("undissected bytes: protocols {}", p.protocols));
    }
    if let Some(want) = &sent.protocols {
        if &p.protocols != want {
            fail(format!("protocols {} != {want}", p.protocols));
        }
    }
    let mut wants = sent.want.clone();
    if let Some(zcl) = &sent.zcl {
        let (zcl_wants, _) = zcl_expectations(zcl);
        // Every field tshark decoded in the ZCL layer must be one we expect (but a misparsed
        // payload's fields are Wireshark's wrong layout, see NOT_DISSECTED).
        let known: BTreeSet<&str> =
            zcl_wants.iter().map(|(f, _)| *f).chain(HEADER_FIELDS.iter().copied()).collect();
        let keys = p.layer("zbee_zcl").into_iter().flat_map(|l| l.keys());
        for key in keys.filter(|_| !misparsed) {
            if is_field_name(key) && !known.contains(key.as_str()) && !key.ends_with("_tree") {
                fail(format!(
                    "tshark decoded a field we did not write: {key} = {:?}",
                    p.values(key)
                ));
            }
        }
        wants.extend(zcl_wants);
    }
    for (field, want) in &wants {
        if let Err(m) = check(&p.values(field), want) {
            fail(format!("{field}: {m}"));
        }
    }
    wants.len()
}

/// Commands of a covered cluster that no generator produced: the table cannot be trusted for
/// them.
fn coverage(samples: &[ZclSample], problems: &mut Vec<String>) {
    let seen: BTreeSet<(Scope, &str)> = samples.iter().map(|s| (s.scope, s.command)).collect();
    let seen_dir: BTreeSet<(Scope, bool, &str)> = samples
        .iter()
        .map(|s| (s.scope, s.header.direction == Direction::ServerToClient, s.command))
        .collect();
    for spec in CLUSTERS {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            for (_, name) in ClusterCommand::commands(ClusterId(spec.id), dir) {
                let key = (Scope::Cluster(spec.id), dir == Direction::ServerToClient, *name);
                if !seen_dir.contains(&key) {
                    problems.push(format!(
                        "cluster 0x{:04x} command {name} ({dir:?}) is never generated (gen.rs)",
                        spec.id
                    ));
                }
            }
        }
    }
    // Every field of every cluster command must be compared by at least one row (or the
    // command be listed in NOT_DISSECTED): a field without a row would go unchecked.
    let unmapped: BTreeSet<String> = samples
        .iter()
        .filter(|s| matches!(s.scope, Scope::Cluster(_)) && s.command != gen::MANUFACTURER_SPECIFIC)
        .filter(|s| not_dissected(s.scope, s.command).is_none())
        .flat_map(|s| {
            s.fields.as_object().into_iter().flat_map(|o| o.keys()).filter_map(move |key| {
                let mapped =
                    rows().any(|r| r.scope == s.scope && r.command == s.command && r.field == key);
                (!mapped).then(|| format!("{}.{key} has no table row (fields.rs)", s.command))
            })
        })
        .collect();
    problems.extend(unmapped);
    for (_, name) in zse::zcl::foundation::Command::COMMANDS {
        if !seen.contains(&(Scope::Foundation, *name)) {
            problems.push(format!("foundation command {name} is never generated (gen.rs)"));
        }
    }
    for (scope, command, _, _) in NOT_DISSECTED {
        if !seen.contains(&(*scope, *command)) {
            problems.push(format!("NOT_DISSECTED names {command}, never generated"));
        }
    }
    for row in rows() {
        if !seen.contains(&(row.scope, row.command)) {
            problems.push(format!(
                "table row {}.{} names a command never generated",
                row.command, row.field
            ));
        }
    }
    // Clusters the codec knows but the cross-check does not cover yet.
    let uncovered: Vec<String> = (0..=0xFFFFu16)
        .filter(|id| !CLUSTERS.iter().any(|c| c.id == *id))
        .filter(|id| {
            [Direction::ClientToServer, Direction::ServerToClient]
                .iter()
                .any(|d| !ClusterCommand::commands(ClusterId(*id), *d).is_empty())
        })
        .map(|id| format!("0x{id:04x}"))
        .collect();
    if !uncovered.is_empty() {
        eprintln!("NOTICE: clusters with commands not cross-checked against tshark yet: {uncovered:?} (add rows to tests/tshark/fields.rs)");
    }
}

fn write_pcap(path: &PathBuf, linktype: u32, frames: impl Iterator<Item = Vec<u8>>) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create pcap"));
    let mut w = PcapWriter::with_linktype(file, linktype).expect("pcap header");
    for (i, f) in frames.enumerate() {
        w.write_packet(Duration::new(1_700_000_000 + i as u64, 0), &f).expect("write packet");
    }
    w.flush().expect("flush pcap");
}

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[test]
fn tshark_decodes_what_we_write() {
    if !dissection::available() {
        eprintln!(
            "NOTICE: tshark not found on PATH; skipping the Wireshark cross-check (CI installs it)"
        );
        return;
    }
    let seed = seed();
    eprintln!(
        "tshark cross-check with {}: seed {seed} (replay with ZSE_TSHARK_SEED={seed})",
        dissection::version()
    );
    let mut rng = Rng::new(seed);
    let mut samples = Vec::new();
    let mut sent = Vec::new();
    for _ in 0..rounds() {
        for zcl in gen::zcl_round(&mut rng) {
            samples.push(zcl.clone());
            match rng.below(20) {
                0 => sent.push(nwk_secured_frame(&mut rng, &zcl)),
                1 => sent.push(aps_secured_frame(&mut rng, &zcl)),
                2 => sent.push(ack_frame(&mut rng)),
                _ => {}
            }
            sent.push(data_frame(&mut rng, zcl));
        }
    }
    let path = tmp(&format!("tshark-crosscheck-{seed}.pcap"));
    write_pcap(&path, zse::pcap::LINKTYPE_IEEE802_15_4_NOFCS, sent.iter().map(|s| s.bytes.clone()));
    let packets = dissection::dissect(&path);
    assert_eq!(packets.len(), sent.len(), "tshark read a different number of packets");
    let mut problems = Vec::new();
    let mut compared = 0;
    let mut stats = tshark::stats::Stats::default();
    for (i, (s, p)) in sent.iter().zip(&packets).enumerate() {
        if let Some(zcl) = &s.zcl {
            let (wants, _) = zcl_expectations(zcl);
            let payload = &wants[header_expectations(zcl).len()..];
            stats.add(zcl.scope, zcl.header.direction, zcl.command, payload);
        }
        let before = problems.len();
        compared += check_packet(s, p, &mut problems);
        for m in &mut problems[before..] {
            *m = format!("frame {}: {m}", i + 1);
        }
    }
    coverage(&samples, &mut problems);
    assert!(
        problems.is_empty(),
        "{} mismatch(es) with tshark (seed {seed}; capture kept at {}):\n{}",
        problems.len(),
        path.display(),
        problems.join("\n")
    );
    let _ = std::fs::remove_file(&path);
    eprintln!("tshark agreed on {} frames ({compared} fields compared)", sent.len());
    for line in stats.lines() {
        eprintln!("  {line}");
    }
    eprintln!("Known Wireshark 4.0 deviations in effect (fields.rs, values.rs):");
    for line in fields::exceptions() {
        eprintln!("  - {line}");
    }
}

/// The FCS we compute is the one Wireshark checks (link type 195 carries frames with FCS).
#[test]
fn tshark_accepts_our_fcs() {
    if !dissection::available() {
        eprintln!("NOTICE: tshark not found on PATH; skipping the FCS cross-check");
        return;
    }
    let mut rng = Rng::new(seed());
    let mut frames = Vec::new();
    for zcl in gen::zcl_round(&mut rng) {
        let mut f = data_frame(&mut rng, zcl).bytes;
        let len = f.len();
        f.resize(len + mac::FCS_LEN, 0);
        mac::append_fcs(&mut f, len).expect("append FCS");
        frames.push(f);
    }
    let mut bad = frames[0].clone();
    *bad.last_mut().expect("non-empty") ^= 0x01;
    frames.push(bad);
    let path = tmp("tshark-fcs.pcap");
    write_pcap(&path, LINKTYPE_IEEE802_15_4_WITHFCS, frames.iter().cloned());
    let packets = dissection::dissect(&path);
    assert_eq!(packets.len(), frames.len());
    let (last, good) = packets.split_last().expect("packets");
    for (i, p) in good.iter().enumerate() {
        assert_eq!(p.values("wpan.fcs_ok"), ["1"], "frame {}: tshark rejects our FCS", i + 1);
        assert_eq!(
            p.values("wpan.fcs"),
            [format!("0x{:04x}", mac::fcs(&frames[i][..frames[i].len() - 2]))]
        );
    }
    assert_eq!(last.values("wpan.fcs_ok"), ["0"], "a corrupted FCS must be flagged");
    let _ = std::fs::remove_file(&path);
}
