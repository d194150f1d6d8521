//! Cross-check of `zse::security` against an independent Python implementation
//! (`tests/crypto_crosscheck.py`: bit-by-bit CRC, MMO/HMAC-MMO and CCM* built on the
//! `cryptography` package's AES-ECB/CTR/CCM).
//!
//! The interpreter is the shared cross-check virtualenv (`tests/common`: created on first use,
//! or `ZSE_PYTHON`); `ZSE_SKIP_PY_XCHECK=1` skips on an offline machine. Inputs are random from
//! one seed, printed on every run; `ZSE_CROSSCHECK_SEED=<n>` replays a run.

use xcheck as common;

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use zse::security::install_code::{crc16_x25, CODE_LENGTHS};
use zse::security::{
    aes_mmo_hash, hmac_mmo, link_key_from_install_code, CcmStar, InstallCode, Key128, Nonce,
    SecurityLevel,
};

/// SplitMix64: small, seedable, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Between 0 and `max - 1` random bytes.
    fn bytes_below(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        self.bytes(N).try_into().expect("N bytes")
    }
}

fn hex(b: &[u8]) -> String {
    zse::hex::Hex(b).to_string()
}

fn unhex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    let mut out = vec![0u8; s.len() / 2];
    assert_eq!(zse::hex::decode_into(s, &mut out), Some(s.len() / 2), "bad hex from python: {s}");
    out
}

struct CcmCase {
    key: [u8; 16],
    nonce: [u8; 13],
    aad: Vec<u8>,
    payload: Vec<u8>,
}

#[test]
fn crosscheck_against_python() {
    if common::skip_python() {
        eprintln!("crypto_crosscheck: ZSE_SKIP_PY_XCHECK=1, skipping the Python cross-check");
        return;
    }
    let python = common::python();
    let seed = std::env::var("ZSE_CROSSCHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("crypto_crosscheck: seed {seed} (replay with ZSE_CROSSCHECK_SEED={seed})");
    let mut rng = Rng(seed);

    // Install codes of every length: CRC over the code, link key over code + CRC.
    let codes: Vec<InstallCode> = (0..200)
        .map(|i| {
            let len = CODE_LENGTHS[i % CODE_LENGTHS.len()];
            InstallCode::from_code(&rng.bytes(len)).expect("valid length")
        })
        .collect();
    // MMO messages around the padding boundaries, plus the long (>= 2^16-bit) form.
    let mut messages: Vec<Vec<u8>> = (0..100).map(|_| rng.bytes_below(80)).collect();
    let long = 9000 + rng.below(100);
    for len in [13, 14, 15, 16, 8191, 8192, 8201, 8202, long] {
        messages.push(rng.bytes(len));
    }
    let hmacs: Vec<([u8; 16], Vec<u8>)> =
        (0..50).map(|_| (rng.array(), rng.bytes_below(40))).collect();
    let ccm_cases: Vec<CcmCase> = (0..400)
        .map(|i| {
            let mut nonce: [u8; 13] = rng.array();
            nonce[12] = (nonce[12] & !0x07) | (i % 8) as u8;
            CcmCase {
                key: rng.array(),
                nonce,
                aad: rng.bytes_below(48),
                payload: rng.bytes_below(100),
            }
        })
        .collect();

    let request = json!({
        "crc": codes.iter().map(|c| hex(c.code())).collect::<Vec<_>>(),
        "link_keys": codes.iter().map(|c| hex(c.as_bytes())).collect::<Vec<_>>(),
        "mmo": messages.iter().map(|m| hex(m)).collect::<Vec<_>>(),
        "hmac": hmacs.iter().map(|(k, m)| json!({"key": hex(k), "message": hex(m)})).collect::<Vec<_>>(),
        "ccm": ccm_cases.iter().map(|c| json!({
            "key": hex(&c.key), "nonce": hex(&c.nonce), "aad": hex(&c.aad), "payload": hex(&c.payload),
        })).collect::<Vec<_>>(),
    });
    let response = run_python(python.as_os_str(), &request);

    let crcs = response["crc"].as_array().expect("crc list");
    let keys = response["link_keys"].as_array().expect("link_keys list");
    assert_eq!((crcs.len(), keys.len()), (codes.len(), codes.len()));
    for ((code, crc), key) in codes.iter().zip(crcs).zip(keys) {
        assert_eq!(Some(u64::from(crc16_x25(code.code()))), crc.as_u64(), "seed {seed}");
        assert_eq!(u64::from(code.crc()), crc.as_u64().unwrap_or(0), "seed {seed}");
        let want: [u8; 16] = unhex(key).try_into().expect("16 bytes");
        assert!(link_key_from_install_code(code) == Key128::new(want), "link key, seed {seed}");
    }

    let mmos = response["mmo"].as_array().expect("mmo list");
    assert_eq!(mmos.len(), messages.len());
    for (m, want) in messages.iter().zip(mmos) {
        assert_eq!(aes_mmo_hash(m).to_vec(), unhex(want), "MMO of {} bytes, seed {seed}", m.len());
    }

    let macs = response["hmac"].as_array().expect("hmac list");
    assert_eq!(macs.len(), hmacs.len());
    for ((k, m), want) in hmacs.iter().zip(macs) {
        assert_eq!(hmac_mmo(&Key128::new(*k), m).to_vec(), unhex(want), "seed {seed}");
    }

    let outs = response["ccm"].as_array().expect("ccm list");
    assert_eq!(outs.len(), ccm_cases.len());
    for (i, (c, want)) in ccm_cases.iter().zip(outs).enumerate() {
        let nonce = Nonce::from_bytes(c.nonce);
        let level: SecurityLevel = nonce.level();
        let ccm = CcmStar::new(&Key128::new(c.key));
        let mut payload = c.payload.clone();
        let mut mic = vec![0u8; level.mic_len()];
        ccm.encrypt_in_place(&nonce, &c.aad, &mut payload, &mut mic).expect("encrypt");
        let ctx = format!("case {i}, level {level:?}, seed {seed}");
        assert_eq!(payload, unhex(&want["payload"]), "payload, {ctx}");
        assert_eq!(mic, unhex(&want["mic"]), "MIC, {ctx}");
        ccm.decrypt_in_place(&nonce, &c.aad, &mut payload, &mic).expect("decrypt");
        assert_eq!(payload, c.payload, "round trip, {ctx}");
    }
    eprintln!(
        "crypto_crosscheck: {} install codes, {} MMO, {} HMAC, {} CCM* cases agree",
        codes.len(),
        messages.len(),
        hmacs.len(),
        ccm_cases.len()
    );
}

fn run_python(python: &std::ffi::OsStr, request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/crypto_crosscheck.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the cross-check Python interpreter");
    let input = serde_json::to_vec(request).expect("json");
    child.stdin.take().expect("stdin").write_all(&input).expect("write request");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}
