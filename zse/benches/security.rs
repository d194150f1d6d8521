//! Link-key derivation and CCM* throughput (`cargo bench -p zse --bench security`).
//! `benches/crypto_baseline.py` measures the same operations with the `cryptography` package
//! (OpenSSL AES) in the same run; `benches/compare.py` prints the ratios.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use zse::security::{
    link_key_from_install_code, CcmStar, InstallCode, Key128, KeyIdentifier, Nonce,
    SecurityControl, SecurityLevel,
};
use zse::zcl::Eui64;

fn link_key(c: &mut Criterion) {
    let code = InstallCode::parse("83FED3407A939723A5C639B26916D505C3B5").unwrap();
    let mut g = c.benchmark_group("link_key");
    g.throughput(Throughput::Elements(1));
    g.bench_function("install_code_16", |b| {
        b.iter(|| link_key_from_install_code(black_box(&code)));
    });
    g.finish();
}

fn ccm(c: &mut Criterion) {
    let key = Key128::new([0x5A; 16]);
    let ccm = CcmStar::new(&key);
    let control = SecurityControl::new(SecurityLevel::EncMic32, KeyIdentifier::Network, true);
    let nonce = Nonce::new(Eui64(0x000D_6F00_0102_0304), 0x1234, control);
    let aad = [0x48u8, 0x02, 0x00, 0x00, 0x01, 0x00, 0x1E, 0x42, 0x28, 0x34, 0x12, 0x00, 0x00];
    let mut payload = [0xA5u8; 80];
    let mut mic = [0u8; 4];
    let mut g = c.benchmark_group("ccm_star_mic32_80B");
    // encrypt + decrypt of one 80-byte payload per iteration
    g.throughput(Throughput::Bytes(80));
    g.bench_function("encrypt_decrypt", |b| {
        b.iter(|| {
            ccm.encrypt_in_place(&nonce, &aad, &mut payload, &mut mic).unwrap();
            ccm.decrypt_in_place(&nonce, &aad, black_box(&mut payload), &mic).unwrap();
        });
    });
    g.finish();
}

criterion_group!(benches, link_key, ccm);
criterion_main!(benches);
