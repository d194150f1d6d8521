//! Random MAC/NWK/APS headers around the ZCL frames, and what tshark must show for them.

use super::dissection::Want;
use super::gen::Rng;
use zse::frame::aps::{ApsDestination, ApsFrameType, ApsHeader};
use zse::frame::mac::{FrameVersion, MacAddress, MacHeader};
use zse::frame::nwk::{DiscoverRoute, MulticastControl, NwkHeader, SourceRoute};
use zse::frame::{AuxHeader, PanId, ShortAddr};
use zse::zcl::{ClusterId, Eui64, Records};

/// The headers of one frame.
#[derive(Debug, Clone)]
pub struct Lower {
    pub mac: MacHeader,
    pub nwk: NwkHeader<'static>,
    pub aps: ApsHeader,
}

fn unicast_addr(rng: &mut Rng) -> ShortAddr {
    ShortAddr(rng.below(0xFFF8) as u16)
}

fn eui(rng: &mut Rng) -> Eui64 {
    Eui64(rng.next_u64())
}

/// Random headers for a data frame on `cluster`: unicast (with optional IEEE addresses and a
/// source route), broadcast or group delivery, optional NWK multicast.
pub fn random(rng: &mut Rng, cluster: u16) -> Lower {
    let pan = PanId(rng.below(0xFFFF) as u16);
    let (src, dst) = (unicast_addr(rng), unicast_addr(rng));
    let src_ep = 1 + rng.below(240) as u8;
    let cluster = ClusterId(cluster);
    let mut l = match rng.below(10) {
        0 => {
            // Broadcast: NWK to a broadcast group, MAC to 0xFFFF, APS to endpoint 0xFF or one.
            let nwk_dst = rng.pick(&[
                ShortAddr::BROADCAST,
                ShortAddr::BROADCAST_RX_ON_WHEN_IDLE,
                ShortAddr::BROADCAST_ROUTERS,
            ]);
            let ep = if rng.chance(50) { 0xFF } else { 1 + rng.below(240) as u8 };
            Lower {
                mac: MacHeader::data(rng.u8(), pan, ShortAddr::BROADCAST, src),
                nwk: NwkHeader::data(nwk_dst, src, rng.u8(), rng.u8(), None),
                aps: ApsHeader::broadcast(ep, cluster, src_ep, rng.u8()),
            }
        }
        1 => {
            // Group delivery, sent as a NWK broadcast (or, sometimes, NWK multicast).
            let group = rng.u16();
            let mut nwk = NwkHeader::data(
                ShortAddr::BROADCAST_RX_ON_WHEN_IDLE,
                src,
                rng.u8(),
                rng.u8(),
                None,
            );
            let mut mac_dst = ShortAddr::BROADCAST;
            if rng.chance(50) {
                nwk.dst_addr = ShortAddr(group);
                nwk.multicast_control = Some(MulticastControl(rng.u8()));
                mac_dst = unicast_addr(rng);
            }
            Lower {
                mac: MacHeader::data(rng.u8(), pan, mac_dst, src),
                nwk,
                aps: ApsHeader::group(group, cluster, src_ep, rng.u8()),
            }
        }
        _ => {
            let mut nwk = NwkHeader::data(dst, src, 1 + rng.below(30) as u8, rng.u8(), None);
            let mac_dst = if rng.chance(70) { dst } else { unicast_addr(rng) };
            nwk.dst_ieee = rng.chance(20).then(|| eui(rng));
            if rng.chance(15) {
                let relays: Vec<ShortAddr> =
                    (0..=rng.below(3)).map(|_| unicast_addr(rng)).collect();
                let relays: &'static [ShortAddr] = Box::leak(relays.into_boxed_slice());
                let relay_index = rng.below(relays.len() as u64) as u8;
                nwk.source_route =
                    Some(SourceRoute { relay_index, relay_list: Records::Slice(relays) });
            }
            let mut aps = ApsHeader::unicast(1 + rng.below(240) as u8, cluster, src_ep, rng.u8());
            aps.ack_request = rng.chance(80);
            Lower { mac: MacHeader::data(rng.u8(), pan, mac_dst, src), nwk, aps }
        }
    };
    l.nwk.src_ieee = rng.chance(40).then(|| eui(rng));
    l.nwk.discover_route = DiscoverRoute(rng.below(2) as u8);
    if rng.chance(30) {
        l.mac.frame_version = FrameVersion::Ieee2006;
    }
    l.mac.frame_pending = rng.chance(10);
    l
}

/// The same frame without the optional NWK fields (when the full one is too long for 802.15.4).
pub fn without_options(l: &Lower) -> Lower {
    let mut l = l.clone();
    l.nwk.dst_ieee = None;
    l.nwk.src_ieee = None;
    l.nwk.source_route = None;
    l
}

fn flag(b: bool) -> Want {
    Want::Uint(u64::from(b))
}

fn hex(e: Eui64) -> Want {
    Want::Hex(e.to_string())
}

/// What tshark must show for the MAC, NWK and APS headers.
pub fn expectations(l: &Lower) -> Vec<(&'static str, Want)> {
    let (mac, nwk, aps) = (&l.mac, &l.nwk, &l.aps);
    let short = |a: Option<MacAddress>| match a {
        Some(MacAddress::Short(s)) => Want::Uint(u64::from(s.0)),
        _ => Want::Absent,
    };
    let mut v = vec![
        ("wpan.frame_type", Want::Uint(mac.frame_type as u64)),
        ("wpan.security", flag(false)),
        ("wpan.pending", flag(mac.frame_pending)),
        ("wpan.ack_request", flag(mac.ack_request)),
        ("wpan.pan_id_compression", flag(mac.pan_id_compression)),
        ("wpan.version", Want::Uint(mac.frame_version as u64)),
        ("wpan.seq_no", Want::Uint(u64::from(mac.sequence_number))),
        ("wpan.dst_pan", mac.dst_pan_id.map_or(Want::Absent, |p| Want::Uint(u64::from(p.0)))),
        ("wpan.dst16", short(mac.dst_addr)),
        ("wpan.src16", short(mac.src_addr)),
        ("zbee_nwk.frame_type", Want::Uint(nwk.frame_type as u64)),
        ("zbee_nwk.proto_version", Want::Uint(2)),
        ("zbee_nwk.discovery", Want::Uint(u64::from(nwk.discover_route.0))),
        ("zbee_nwk.multicast", flag(nwk.multicast_control.is_some())),
        ("zbee_nwk.security", flag(nwk.aux_header.is_some())),
        ("zbee_nwk.src_route", flag(nwk.source_route.is_some())),
        ("zbee_nwk.ext_dst", flag(nwk.dst_ieee.is_some())),
        ("zbee_nwk.ext_src", flag(nwk.src_ieee.is_some())),
        ("zbee_nwk.dst", Want::Uint(u64::from(nwk.dst_addr.0))),
        ("zbee_nwk.src", Want::Uint(u64::from(nwk.src_addr.0))),
        ("zbee_nwk.radius", Want::Uint(u64::from(nwk.radius))),
        ("zbee_nwk.seqno", Want::Uint(u64::from(nwk.sequence_number))),
        ("zbee_nwk.dst64", nwk.dst_ieee.map_or(Want::Absent, hex)),
    ];
    // Without an IEEE address in the frame Wireshark may still show one it learnt earlier.
    if let Some(e) = nwk.src_ieee {
        v.push(("zbee_nwk.src64", hex(e)));
    }
    let m = nwk.multicast_control;
    v.push(("zbee_nwk.multicast.mode", m.map_or(Want::Absent, |m| Want::Uint(m.mode().into()))));
    v.push((
        "zbee_nwk.multicast.radius",
        m.map_or(Want::Absent, |m| Want::Uint(m.non_member_radius().into())),
    ));
    v.push((
        "zbee_nwk.multicast.max_radius",
        m.map_or(Want::Absent, |m| Want::Uint(m.max_non_member_radius().into())),
    ));
    let sr = nwk.source_route.as_ref();
    v.push((
        "zbee_nwk.relay.count",
        sr.map_or(Want::Absent, |s| Want::Uint(s.relay_list.len() as u64)),
    ));
    v.push(("zbee_nwk.relay.index", sr.map_or(Want::Absent, |s| Want::Uint(s.relay_index.into()))));
    v.push((
        "zbee_nwk.relay",
        sr.map_or(Want::Absent, |s| {
            Want::Uints(s.relay_list.iter().map(|a| u64::from(a.0)).collect())
        }),
    ));
    v.extend(aps_expectations(aps));
    v
}

pub fn aps_expectations(aps: &ApsHeader) -> Vec<(&'static str, Want)> {
    let a = aps.addressing;
    let dst_ep = a.and_then(|a| match a.destination {
        ApsDestination::Endpoint(e) => Some(u64::from(e)),
        ApsDestination::Group(_) => None,
    });
    let group = a.and_then(|a| match a.destination {
        ApsDestination::Group(g) => Some(u64::from(g)),
        ApsDestination::Endpoint(_) => None,
    });
    let opt = |x: Option<u64>| x.map_or(Want::Absent, Want::Uint);
    let mut v = vec![
        ("zbee_aps.type", Want::Uint(aps.frame_type as u64)),
        ("zbee_aps.delivery", Want::Uint(aps.delivery_mode as u64)),
        ("zbee_aps.security", flag(aps.aux_header.is_some())),
        ("zbee_aps.ack_req", flag(aps.ack_request)),
        ("zbee_aps.ext_header", flag(aps.extended_header.is_some())),
        ("zbee_aps.dst", opt(dst_ep)),
        ("zbee_aps.group", opt(group)),
        ("zbee_aps.cluster", opt(a.map(|a| u64::from(a.cluster_id.0)))),
        ("zbee_aps.profile", opt(a.map(|a| u64::from(a.profile_id)))),
        ("zbee_aps.src", opt(a.map(|a| u64::from(a.src_endpoint)))),
        ("zbee_aps.counter", Want::Uint(u64::from(aps.counter))),
    ];
    if aps.frame_type == ApsFrameType::Ack {
        v.push(("zbee_aps.ack_format", flag(aps.ack_format)));
    }
    v
}

/// What tshark must show for an auxiliary security header.
pub fn security_expectations(aux: &AuxHeader, mic: &[u8]) -> Vec<(&'static str, Want)> {
    let c = aux.security_control;
    vec![
        ("zbee.sec.key_id", Want::Uint(c.key_identifier() as u64)),
        ("zbee.sec.ext_nonce", flag(c.extended_nonce())),
        ("zbee.sec.counter", Want::Uint(u64::from(aux.frame_counter))),
        ("zbee.sec.src64", aux.source_address.map_or(Want::Absent, hex)),
        (
            "zbee.sec.key_seqno",
            aux.key_sequence_number.map_or(Want::Absent, |k| Want::Uint(k.into())),
        ),
        ("zbee.sec.mic", Want::Hex(zse::hex::Hex(mic).to_string())),
    ]
}
