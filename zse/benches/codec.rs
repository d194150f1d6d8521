//! Decode and encode rates of SE frames (`cargo bench -p zse --bench codec`).
//!
//! The frames are in `benches/frames.json` (ZCL header included); `benches/zigpy_baseline.py`
//! times zigpy on the very same bytes and `benches/compare.sh` prints the ratio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use zse::zcl::Frame;

mod common;
use common::frames;

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (name, cluster, bytes) in frames() {
        // The frame must decode to a typed command, not fall back to Unknown.
        let f = Frame::parse(cluster, &bytes).expect(&name);
        assert!(!matches!(f.payload, zse::zcl::Payload::Unknown(_)), "{name} decoded as Unknown");
        g.bench_function(&name, |b| {
            b.iter(|| Frame::parse(black_box(cluster), black_box(&bytes)).unwrap());
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    for (name, cluster, bytes) in frames() {
        let frame = Frame::parse(cluster, &bytes).unwrap();
        let mut out = [0u8; 128];
        g.bench_function(&name, |b| {
            b.iter(|| black_box(&frame).emit(black_box(&mut out)).unwrap());
        });
    }
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
