//! Decodes the benchmark frames of `benches/frames.json` in a loop, for instruction counting
//! (`valgrind --tool=callgrind`) where wall-clock timing is too noisy.
//!
//! ```sh
//! CARGO_TARGET_DIR=target cargo build --release -p zse --example decode_loop
//! valgrind --tool=callgrind target/release/examples/decode_loop publish_price 100000
//! ```
//!
//! Arguments: an optional frame name (default: all frames) and an iteration count (default
//! 1,000,000). Instructions per frame = (Ir with N iterations − Ir with 0 iterations) / N;
//! `docs/performance.md` ("zse codec") has the script that computes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use std::hint::black_box;
use zse::zcl::{ClusterId, Frame, Payload};

fn frames() -> Vec<(String, ClusterId, Vec<u8>)> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../benches/frames.json")).unwrap();
    json.as_object()
        .unwrap()
        .iter()
        .map(|(name, f)| {
            let cluster =
                u16::from_str_radix(f["cluster"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            let hex = f["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name.clone(), ClusterId(cluster), bytes)
        })
        .collect()
}

/// One decode, kept out of line so profiles show it as one entry.
#[inline(never)]
fn decode(cluster: ClusterId, bytes: &[u8]) -> bool {
    let f = Frame::parse(black_box(cluster), black_box(bytes)).unwrap();
    black_box(&f);
    !matches!(f.payload, Payload::Unknown(_))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut only, mut n) = (None, 1_000_000u64);
    for a in args.by_ref() {
        match a.parse() {
            Ok(v) => n = v,
            Err(_) => only = Some(a),
        }
    }
    let frames = frames();
    if let Some(name) = &only {
        assert!(frames.iter().any(|(f, _, _)| f == name), "no frame named {name}");
    }
    for (name, cluster, bytes) in frames {
        if only.as_ref().is_some_and(|o| *o != name) {
            continue;
        }
        assert!(decode(cluster, &bytes), "{name} decoded as Unknown");
        let t = std::time::Instant::now();
        for _ in 0..n {
            decode(cluster, &bytes);
        }
        let ns = t.elapsed().as_secs_f64() * 1e9 / n.max(1) as f64;
        println!("{name}: {n} decodes, {ns:.1} ns/frame");
    }
}
