//! Fuzz entry point: arbitrary bytes as APS indications (and interleaved confirms and timeouts)
//! into an ESI with one paired device. Plain function so `cargo fuzz` and proptest share it.

use super::{
    Action, ApsHandle, ApsIndication, ApsSecurity, ApsStatus, Command, Esi, EsiConfig, Instant,
    LinkKey, NoMetrology, RequestId, TimeSetting,
};
use zse::zcl::{ClusterId, Eui64, UtcTime, SE_PROFILE_ID};

/// The paired device the fuzzer speaks as.
pub const FUZZ_DEVICE: Eui64 = Eui64(0x0011_2233_4455_6677);

/// Feeds `data` to a fresh ESI. Layout, repeated: a control byte (bits 0–2 cluster choice, bits
/// 3–4 security, bit 5 broadcast, bit 6 "confirm instead", bit 7 "timeout first"), a length
/// byte, then that many payload bytes. Never panics; drains every action.
pub fn fuzz_aps_intake(data: &[u8]) {
    let mut esi: Esi<5, 2, 5> = Esi::new(EsiConfig::default(), NoMetrology);
    let mut now = Instant(0);
    let rid = RequestId(1);
    esi.handle_command(now, rid, Command::SetTime(TimeSetting::utc(UtcTime(600_000_000))));
    let key = LinkKey::from_bytes([7; 16]);
    esi.handle_command(
        now,
        rid,
        Command::AddDevice { eui64: FUZZ_DEVICE, link_key: key, join_window_secs: 3600 },
    );
    let _ = esi.handle_join_request(now, FUZZ_DEVICE, 0x1234);
    esi.handle_key_established(now, FUZZ_DEVICE);
    drain(&mut esi);
    let clusters = [0x0000, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800, 0x0006];
    let mut rest = data;
    while let [control, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        now = now.add_millis(u64::from(*len) * 97);
        if control & 0x80 != 0 {
            esi.handle_timeout(now);
        }
        if control & 0x40 != 0 {
            esi.handle_aps_confirm(now, ApsHandle(*len), ApsStatus(control & 0x01));
            drain(&mut esi);
            continue;
        }
        let security = match (control >> 3) & 0x03 {
            0 | 1 => ApsSecurity::LinkKey,
            2 => ApsSecurity::NetworkOnly,
            _ => ApsSecurity::None,
        };
        let cluster = clusters.get(usize::from(control & 0x07)).copied().unwrap_or(0);
        esi.handle_aps_indication(
            now,
            ApsIndication {
                src_short: 0x1234,
                src_eui64: (control & 0x20 == 0).then_some(FUZZ_DEVICE),
                src_endpoint: 1,
                dst_endpoint: 1,
                cluster: ClusterId(cluster),
                profile: SE_PROFILE_ID,
                security,
                broadcast: control & 0x20 != 0,
                lqi: Some(*len),
                payload,
            },
        );
        drain(&mut esi);
    }
}

fn drain<const S: usize, const E: usize, const P: usize>(esi: &mut Esi<S, E, P>) {
    while let Some(action) = esi.poll_action() {
        if let Action::SendAps(frame) = action {
            // Everything the core emits must itself decode.
            let _ = zse::zcl::Frame::parse(frame.cluster, &frame.payload);
        }
    }
}
