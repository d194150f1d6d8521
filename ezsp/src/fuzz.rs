//! Fuzz entry points, plain functions so that `ezsp/fuzz` (cargo-fuzz) and the proptests in
//! `cargo test` run the same code. Each checks invariants with `assert!`: a failure is a bug.
#![allow(clippy::panic, clippy::manual_assert)]

use crate::ash::{self, Decoder, DecoderEvent, Link, LinkConfig, Role};
use crate::ezsp::{Command, NcpFrame, MAX_VERSION, MIN_VERSION};
use alloc::vec::Vec;

/// Arbitrary bytes into the ASH deframer and into a link at each end: no panic; every frame
/// decoded re-encodes to bytes that decode to the same frame; link memory stays bounded.
pub fn ash_decode(data: &[u8]) {
    let mut d = Decoder::new();
    d.feed(data, |ev| {
        if let DecoderEvent::Frame(f) = ev {
            let mut wire = Vec::new();
            ash::encode(&f, &mut wire);
            let mut again = Vec::new();
            Decoder::new().feed(&wire, |e| again.push(e));
            assert!(again == [DecoderEvent::Frame(f.clone())], "re-encode of {f:?} differs");
        }
    });
    for role in [Role::Host, Role::Ncp] {
        let mut link = Link::new(role, LinkConfig::default());
        link.reset(0, ash::ResetCode::POWER_ON);
        let mut now = 0;
        for chunk in data.chunks(7) {
            now += 50;
            link.handle_bytes(now, chunk);
            link.handle_timeout(now);
            let _ = link.send(now, chunk);
            while link.poll_event().is_some() {}
            let _ = link.poll_transmit();
        }
        assert!(link.pending() <= LinkConfig::default().queue_limit + 7);
    }
}

/// Arbitrary bytes as an EZSP frame in each direction and version: no panic; whatever parses
/// re-encodes to a frame that parses to the same value.
pub fn ezsp_frame(data: &[u8]) {
    for version in MIN_VERSION..=MAX_VERSION {
        if let Ok((hdr, cmd)) = Command::decode(version, data) {
            let mut out = Vec::new();
            cmd.encode(hdr.sequence, hdr.format == crate::ezsp::Format::Legacy, &mut out);
            let again = Command::decode(version, &out).map(|(_, c)| c);
            assert!(again.as_ref() == Ok(&cmd), "command {cmd:?} re-encodes to {out:02x?}");
        }
        if let Ok((hdr, f)) = NcpFrame::decode(version, data) {
            let mut out = Vec::new();
            match &f {
                NcpFrame::Response(r) => {
                    r.encode(hdr.sequence, hdr.format == crate::ezsp::Format::Legacy, &mut out);
                }
                NcpFrame::Callback(c) => c.encode(hdr.sequence, &mut out),
            }
            let again = NcpFrame::decode(version, &out).map(|(_, f)| f);
            assert!(again.as_ref() == Ok(&f), "frame {f:?} re-encodes to {out:02x?}");
        }
    }
}
