//! Wireshark cross-check: seeded random SE frames (802.15.4 + ZigBee NWK + APS + ZCL) are
//! written to a pcap (link type 230), dissected by `tshark`, and every field tshark reports is
//! compared with what we wrote — ZCL header, command fields (table in `tshark/fields.rs`), and
//! the MAC/NWK/APS headers. A packet with a malformed marker or an unexplained expert item
//! fails. Without `tshark` on PATH the test prints a notice and passes (CI installs it).
//!
//! `ZSE_TSHARK_SEED=<n>` replays a run; `ZSE_TSHARK_ROUNDS=<n>` changes how many rounds of
//! every command are sent (default 40).

// Test code: indexing, unwrapping and panicking are how it reports a failure.
#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

mod tshark;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tshark::dissection::{self, check, zigbee_time, Packet, Want, PI_ERROR, PI_MALFORMED, PI_NOTE};
use tshark::fields::{Kind, Scope, ALLOWED_EXPERTS, CLUSTERS, HEADER_FIELDS, ROWS};
use tshark::gen::{self, Rng, ZclSample};
use tshark::lower::{self, Lower};
use zse::cluster::ClusterCommand;
use zse::frame::mac::{self, MacHeader};
use zse::frame::nwk::NwkHeader;
use zse::frame::{
    build_se_frame, parse_se_frame, AuxHeader, KeyIdentifier, NwkSecurity, PanId, ShortAddr,
};
use zse::pcap::{PcapWriter, LINKTYPE_IEEE802_15_4_WITHFCS};
use zse::zcl::{ClusterId, Direction, Eui64, FrameType};
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
    let protocols = match zcl.scope {
        // Wireshark leaves a manufacturer-specific payload undissected, as `data`.
        _ if zcl.header.manufacturer_code.is_some() => {
            Some(if zcl.bytes.len() > 5 { format!("{chain}:data") } else { chain.to_owned() })
        }
        Scope::Cluster(id) => {
            CLUSTERS.iter().find(|c| c.id == id).map(|c| format!("{chain}:{}", c.protocol))
        }
        Scope::Foundation => None,
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
    let spec = CLUSTERS.iter().find(|c| c.id == zcl.cluster).expect("cluster spec");
    match (zcl.header.frame_type, zcl.header.direction) {
        _ if zcl.header.manufacturer_code.is_some() => "zbee_zcl.cs.cmd.id",
        (FrameType::Global, _) => "zbee_zcl.cmd.id",
        (FrameType::ClusterSpecific, Direction::ServerToClient) => spec.server_to_client_command,
        (FrameType::ClusterSpecific, Direction::ClientToServer) => spec.client_to_server_command,
    }
}

/// Expected ZCL fields from the header and the table rows of the command.
fn zcl_expectations(zcl: &ZclSample) -> Vec<(&'static str, Want)> {
    let h = &zcl.header;
    let spec = CLUSTERS.iter().find(|c| c.id == zcl.cluster).expect("cluster spec");
    let mut v = vec![
        ("zbee_zcl.type", Want::Uint(h.frame_control() as u64 & 0x03)),
        ("zbee_zcl.ms", Want::Uint(u64::from(h.manufacturer_code.is_some()))),
        ("zbee_zcl.dir", Want::Uint(u64::from(h.direction == Direction::ServerToClient))),
        ("zbee_zcl.ddr", Want::Uint(u64::from(h.disable_default_response))),
        ("zbee_zcl.cmd.tsn", Want::Uint(u64::from(h.tsn))),
        ("zbee_zcl.cmd.mc", h.manufacturer_code.map_or(Want::Absent, |m| Want::Uint(m.into()))),
        (command_id_field(zcl), Want::Uint(u64::from(h.command_id))),
    ];
    for row in ROWS.iter().filter(|r| r.scope == zcl.scope && r.command == zcl.command) {
        let tshark = if row.tshark == "@attr_id" { spec.attr_id } else { row.tshark };
        let value = &zcl.fields[row.field];
        let uint = || {
            value
                .as_u64()
                .unwrap_or_else(|| panic!("{}.{} is not a number: {value}", row.command, row.field))
        };
        let want = if value.is_null() {
            Want::Absent
        } else {
            match row.kind {
                Kind::Uint => Want::Uint(uint()),
                Kind::Int => Want::Int(value.as_i64().expect("signed number")),
                Kind::Bits(mask) => Want::Uint((uint() & mask) >> mask.trailing_zeros()),
                Kind::Flag(mask) => Want::Uint(u64::from(uint() & mask != 0)),
                Kind::Text => Want::Text(value.as_str().expect("UTF-8 text").to_owned()),
                Kind::ZigbeeTime => Want::Text(zigbee_time(uint())),
                Kind::UintList => Want::Uints(
                    value
                        .as_array()
                        .expect("a list")
                        .iter()
                        .map(|x| x.as_u64().expect("number"))
                        .collect(),
                ),
                Kind::Quirk(_) => Want::Present,
            }
        };
        v.push((tshark, want));
    }
    v
}

fn is_field_name(key: &str) -> bool {
    key.contains('.') && !key.contains(' ') && !key.starts_with("_ws.")
}

/// Checks one packet; returns how many field values were compared.
fn check_packet(sent: &Sent, p: &Packet, problems: &mut Vec<String>) -> usize {
    let mut fail = |m: String| problems.push(format!("{}: {m}", sent.what));
    for m in &p.malformed {
        fail(format!("malformed: {m}"));
    }
    for e in &p.experts {
        let allowed = ALLOWED_EXPERTS.iter().any(|(f, _)| *f == e.field)
            || sent.extra_experts.contains(&e.field.as_str());
        if e.severity >= PI_ERROR || e.group == PI_MALFORMED || (e.severity >= PI_NOTE && !allowed)
        {
            fail(format!("expert item {} ({}): {}", e.field, e.severity, e.message));
        }
    }
    let expect_data = sent.protocols.as_deref().is_some_and(|p| p.ends_with(":data"));
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
        let zcl_wants = zcl_expectations(zcl);
        // Every field tshark decoded in the ZCL layer must be one we expect.
        let known: BTreeSet<&str> =
            zcl_wants.iter().map(|(f, _)| *f).chain(HEADER_FIELDS.iter().copied()).collect();
        for key in p.layer("zbee_zcl").into_iter().flat_map(|l| l.keys()) {
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
    for spec in CLUSTERS {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            for (_, name) in ClusterCommand::commands(ClusterId(spec.id), dir) {
                if !seen.contains(&(Scope::Cluster(spec.id), *name)) {
                    problems.push(format!(
                        "cluster 0x{:04x} command {name} is never generated (gen.rs)",
                        spec.id
                    ));
                }
            }
        }
    }
    for (_, name) in zse::zcl::foundation::Command::COMMANDS {
        if !seen.contains(&(Scope::Foundation, *name)) {
            problems.push(format!("foundation command {name} is never generated (gen.rs)"));
        }
    }
    for row in ROWS {
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
    for (i, (s, p)) in sent.iter().zip(&packets).enumerate() {
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
    eprintln!("tshark agreed on {} frames ({compared} field values compared)", sent.len());
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
