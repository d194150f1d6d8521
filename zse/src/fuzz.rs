//! Fuzz entry points. Each takes arbitrary bytes, runs a parser, and checks the codec laws on
//! whatever parses; a law violation panics (that is what the fuzzer looks for). The same functions
//! run under proptest in `cargo test` and replay the committed corpus in `zse/tests/fuzz_corpus.rs`,
//! so `cargo fuzz` is not needed to exercise them.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::zcl::{ClusterId, Frame};

/// Largest frame the round-trip buffer holds; ZCL frames fit an 802.15.4 frame (127 bytes), but
/// the fuzzer may try longer ones.
const MAX: usize = 4096;

/// `data` = cluster id (2 bytes, LE) followed by a ZCL frame.
pub fn zcl_frame(data: &[u8]) {
    let (Some(&lo), Some(&hi)) = (data.first(), data.get(1)) else { return };
    let cluster = ClusterId(u16::from_le_bytes([lo, hi]));
    let bytes = data.get(2..).unwrap_or(&[]);
    let Ok(frame) = Frame::parse(cluster, bytes) else { return };
    let len = frame.buffer_len();
    if len > MAX {
        return;
    }
    let mut out = [0u8; MAX];
    let n = frame.emit(&mut out).expect("emit of a parsed frame");
    assert_eq!(n, len, "emit length != buffer_len");
    let again = Frame::parse(cluster, &out[..n]).expect("re-parse of an emitted frame");
    assert_eq!(again, frame, "parse(emit(x)) != x");
}
