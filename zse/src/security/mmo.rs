//! AES-MMO-128, the ZigBee block-cipher-based hash (Matyas–Meyer–Oseas; ZigBee specification
//! Annex B.6; se10.md §8.2), and what SE builds on it: the install-code link key (se10.md §8.1)
//! and the HMAC-MMO keyed hash of ZigBee Annex B.1.4 (se10.md §8.3).

use super::install_code::InstallCode;
use super::key::Key128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;

const BLOCK: usize = 16;

/// Messages shorter than this many bytes (< 2¹⁶ bits) get the short padding: a 16-bit length.
const SHORT_FORM_LIMIT: u64 = 8192;

/// Streaming AES-MMO-128 hash (se10.md §8.2): H₀ = 0¹²⁸, Hⱼ = AES(key = Hⱼ₋₁, Mⱼ) ⊕ Mⱼ over the
/// padded message.
///
/// Padding: a `1` bit (byte 0x80), zero bytes, then the message length in bits as a 16-bit
/// big-endian number, the whole a multiple of 16 bytes. Messages of 2¹⁶ bits (8192 bytes) or more
/// use the long form: zero bytes up to 10 mod 16, the bit length as a 32-bit big-endian number,
/// then two zero bytes (ZigBee Annex B.6; the same thresholds and layout as Silicon Labs'
/// EmberZNet `aes-mmo.c`, `SMALL_BIT_STRING_LENGTH` 3 / `BIG_BIT_STRING_LENGTH` 7). The hash is
/// only defined below 2³² bits (512 MiB); longer inputs have their bit length taken modulo 2³².
///
/// The chaining value is the AES key, so every block costs one key expansion.
#[derive(Clone)]
pub struct AesMmo {
    h: [u8; BLOCK],
    buf: [u8; BLOCK],
    buf_len: usize,
    total: u64,
}

impl Default for AesMmo {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for AesMmo {
    /// The state is derived from (possibly secret) input, so it is not printed.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AesMmo(<redacted>, {} bytes hashed)", self.total)
    }
}

impl AesMmo {
    pub const fn new() -> Self {
        Self { h: [0; BLOCK], buf: [0; BLOCK], buf_len: 0, total: 0 }
    }

    /// Adds `data` to the message.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (BLOCK - self.buf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.buf.get_mut(self.buf_len..self.buf_len + take) {
                dst.copy_from_slice(head);
            }
            self.buf_len += take;
            data = rest;
            if self.buf_len == BLOCK {
                compress(&mut self.h, &self.buf);
                self.buf_len = 0;
            }
        }
    }

    /// Pads the message and returns the hash.
    pub fn finalize(mut self) -> [u8; BLOCK] {
        let bits = self.total.wrapping_mul(8);
        let long = self.total >= SHORT_FORM_LIMIT;
        // Bytes the length field (plus the 0x80 byte) needs at the end of the last block.
        let needed = if long { 7 } else { 3 };
        let mut block = [0u8; BLOCK];
        if let Some(dst) = block.get_mut(..self.buf_len) {
            dst.copy_from_slice(self.buf.get(..self.buf_len).unwrap_or(&[]));
        }
        if let Some(b) = block.get_mut(self.buf_len) {
            *b = 0x80;
        }
        if BLOCK - self.buf_len < needed {
            compress(&mut self.h, &block);
            block = [0u8; BLOCK];
        }
        if long {
            // 32-bit length at bytes 10..14, then 16 zero bits.
            let len = (bits as u32).to_be_bytes();
            let [_, _, _, _, _, _, _, _, _, _, l0, l1, l2, l3, _, _] = &mut block;
            (*l0, *l1, *l2, *l3) = (len[0], len[1], len[2], len[3]);
        } else {
            let len = (bits as u16).to_be_bytes();
            let [.., l0, l1] = &mut block;
            (*l0, *l1) = (len[0], len[1]);
        }
        compress(&mut self.h, &block);
        self.h
    }
}

/// One MMO step: h ← AES_h(m) ⊕ m.
fn compress(h: &mut [u8; BLOCK], m: &[u8; BLOCK]) {
    let cipher = Aes128::new(&(*h).into());
    let mut out = aes::Block::from(*m);
    cipher.encrypt_block(&mut out);
    for ((hi, oi), mi) in h.iter_mut().zip(out.iter()).zip(m.iter()) {
        *hi = oi ^ mi;
    }
}

/// AES-MMO-128 hash of `data` (se10.md §8.2).
pub fn aes_mmo_hash(data: &[u8]) -> [u8; BLOCK] {
    let mut h = AesMmo::new();
    h.update(data);
    h.finalize()
}

/// The preconfigured trust-center link key of a device that joins with `code`: the AES-MMO hash
/// of the install code including its two CRC bytes (se10.md §8.1).
pub fn link_key_from_install_code(code: &InstallCode) -> Key128 {
    Key128::new(aes_mmo_hash(code.as_bytes()))
}

/// HMAC-MMO keyed hash (ZigBee Annex B.1.4; se10.md §8.3):
/// `MMO((K ⊕ opad) ‖ MMO((K ⊕ ipad) ‖ message))` with ipad = 0x36…, opad = 0x5C… (16 bytes, the
/// hash block size, so the key is used as is). Also the MAC of CBKE key confirmation.
pub fn hmac_mmo(key: &Key128, message: &[u8]) -> [u8; BLOCK] {
    let pad = |byte: u8| {
        let mut p = *key.as_bytes();
        for b in &mut p {
            *b ^= byte;
        }
        p
    };
    let mut inner = AesMmo::new();
    inner.update(&pad(0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = AesMmo::new();
    outer.update(&pad(0x5C));
    outer.update(&inner);
    outer.finalize()
}

/// Key-transport key: HMAC-MMO of the link key over the single byte 0x00; protects APS
/// Transport-Key commands that carry a network key (aux header key identifier 2; se10.md §8.3,
/// Wireshark `packet-zbee-security.c`).
pub fn key_transport_key(link_key: &Key128) -> Key128 {
    Key128::new(hmac_mmo(link_key, &[0x00]))
}

/// Key-load key: HMAC-MMO of the link key over the single byte 0x02; protects APS commands that
/// carry a link key (aux header key identifier 3; se10.md §8.3).
pub fn key_load_key(link_key: &Key128) -> Key128 {
    Key128::new(hmac_mmo(link_key, &[0x02]))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn h(s: &str) -> Vec<u8> {
        let mut out = std::vec![0u8; s.len() / 2];
        assert_eq!(crate::hex::decode_into(s, &mut out), Some(s.len() / 2));
        out
    }

    fn key(s: &str) -> Key128 {
        Key128::new(h(s).try_into().unwrap())
    }

    /// All four rows of se10.md §8.1 (zigbee-herdsman test/zspec/utils.test.ts; rows 3–4 are the
    /// inner and outer hash inputs of the ZigBee spec's keyed-hash example).
    #[test]
    fn spec_vectors() {
        for (input, want) in [
            ("83FED3407A939723A5C639FF4C12", "58C1828CF7F1C3FE29E7B1024AD84BFA"),
            ("83FED3407A939723A5C639B26916D505C3B5", "66B6900981E1EE3CA4206B6B861C02BB"),
            ("76777475727370717E7F7C7D7A7B7879C0", "3C3D537529A7A9A03F669DCD886CB52C"),
            (
                "1C1D1E1F18191A1B14151617101112133C3D537529A7A9A03F669DCD886CB52C",
                "4512807BF94CB3400F0E2C25FB76E999",
            ),
        ] {
            assert_eq!(aes_mmo_hash(&h(input)).as_slice(), h(want).as_slice(), "{input}");
        }
    }

    #[test]
    fn link_keys_from_spec_install_codes() {
        for (code, want) in [
            ("83FED3407A939723A5C639FF4C12", "58C1828CF7F1C3FE29E7B1024AD84BFA"),
            ("83FED3407A939723A5C639B26916D505C3B5", "66B6900981E1EE3CA4206B6B861C02BB"),
        ] {
            let ic = InstallCode::parse(code).unwrap();
            assert_eq!(link_key_from_install_code(&ic), key(want));
        }
    }

    /// ZigBee spec keyed-hash example (Annex C.6.1 in the PRO specification; its intermediate
    /// hashes are rows 3–4 of se10.md §8.1): key 40 41 … 4F, message 0xC0.
    #[test]
    fn hmac_mmo_spec_example() {
        let k = key("404142434445464748494A4B4C4D4E4F");
        assert_eq!(hmac_mmo(&k, &[0xC0]).as_slice(), h("4512807BF94CB3400F0E2C25FB76E999"));
    }

    /// The key-transport key of "ZigBeeAlliance09", a widely published interoperability value
    /// (e.g. in the public Rust ZigBee stacks' tests that hash `DEFAULT_LINK_KEY` with 0x00).
    #[test]
    fn key_transport_key_of_default_link_key() {
        let kt = key_transport_key(&Key128::ZIGBEE_ALLIANCE_09);
        assert_eq!(kt, key("4BAB0F173E1434A2D572E1C1EF478782"));
        let kl = key_load_key(&Key128::ZIGBEE_ALLIANCE_09);
        assert_ne!(kl, kt);
        assert_eq!(kl.as_bytes(), &hmac_mmo(&Key128::ZIGBEE_ALLIANCE_09, &[0x02]));
    }

    /// Padding boundaries: 13 bytes fit the 0x80 and the 16-bit length in one block, 14 do not;
    /// 8191 bytes use the short form, 8192 the long form (whose extra block starts at 10 bytes
    /// of the last block). Checked against a from-scratch one-shot padding.
    #[test]
    fn padding_boundaries_match_one_shot() {
        for len in [0usize, 1, 13, 14, 15, 16, 17, 29, 30, 8191, 8192, 8192 + 9, 8192 + 10, 9000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(aes_mmo_hash(&data), one_shot(&data), "len {len}");
        }
    }

    /// The padding of se10.md §8.2 written out on a heap buffer, then hashed block by block.
    fn one_shot(data: &[u8]) -> [u8; 16] {
        let mut m = data.to_vec();
        let bits = data.len() as u64 * 8;
        m.push(0x80);
        if bits < 1 << 16 {
            while m.len() % 16 != 14 {
                m.push(0);
            }
            m.extend_from_slice(&(bits as u16).to_be_bytes());
        } else {
            while m.len() % 16 != 10 {
                m.push(0);
            }
            m.extend_from_slice(&(bits as u32).to_be_bytes());
            m.extend_from_slice(&[0, 0]);
        }
        let mut hv = [0u8; 16];
        for block in m.chunks_exact(16) {
            compress(&mut hv, block.try_into().unwrap());
        }
        hv
    }

    proptest! {
        #[test]
        fn streaming_equals_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..100),
            split in 0usize..100,
        ) {
            let split = split.min(data.len());
            let mut s = AesMmo::new();
            s.update(&data[..split]);
            s.update(&data[split..]);
            prop_assert_eq!(s.finalize(), one_shot(&data));
        }
    }
}
