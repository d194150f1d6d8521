//! The fuzz entry points under proptest, and the committed fuzz corpus replayed as regression
//! tests (`zse/fuzz/corpus/<target>/*`).
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use std::path::Path;

/// Every cluster this crate knows, so random frames reach each dispatcher.
const CLUSTERS: [u16; 9] = [0x0000, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800, 0x1234];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    #[test]
    fn zcl_frame_never_panics(
        cluster in prop::sample::select(&CLUSTERS[..]),
        fc in prop::sample::select(&[0x00u8, 0x01, 0x08, 0x09, 0x18, 0x19, 0x04, 0x0d][..]),
        cmd in 0u8..0x18,
        body in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let mut data = cluster.to_le_bytes().to_vec();
        data.push(fc);
        if fc & 0x04 != 0 { data.extend_from_slice(&[0x5f, 0x11]); }
        data.push(7);
        data.push(cmd);
        data.extend_from_slice(&body);
        zse::fuzz::zcl_frame(&data);
    }

    #[test]
    fn install_code_text_never_panics(text in "[0-9A-Fa-f:$%IZ ,|;\\-]{0,60}") {
        zse::fuzz::install_code_text(text.as_bytes());
    }

    #[test]
    fn aux_header_and_ccm_never_panic(data in prop::collection::vec(any::<u8>(), 0..120)) {
        zse::fuzz::aux_header(&data);
        zse::fuzz::ccm_star(&data);
    }

    #[test]
    fn se_frame_never_panics(data in prop::collection::vec(any::<u8>(), 0..127)) {
        zse::fuzz::se_frame(&data);
    }

    #[test]
    fn zcl_frame_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..128)) {
        zse::fuzz::zcl_frame(&data);
    }
}

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn corpus_zcl_frame() {
    replay("zcl_frame", zse::fuzz::zcl_frame);
}

#[test]
fn corpus_install_code_text() {
    replay("install_code_text", zse::fuzz::install_code_text);
}

#[test]
fn corpus_aux_header() {
    replay("aux_header", zse::fuzz::aux_header);
}

#[test]
fn corpus_ccm_star() {
    replay("ccm_star", zse::fuzz::ccm_star);
}

#[test]
fn corpus_se_frame() {
    replay("se_frame", zse::fuzz::se_frame);
}
