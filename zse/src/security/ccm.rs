//! CCM* as ZigBee uses it (ZigBee specification Annex A; se10.md §8.4, §8.6): AES-128, a 13-byte
//! nonce, a 2-byte length field (L = 2), and eight security levels that choose between
//! encryption and a 0/4/8/16-byte MIC.
//!
//! Where the work is done:
//! * levels 5–7 (encryption with a MIC, level 5 being what ZigBee PRO and SE use on every secured
//!   frame): the RustCrypto `ccm` crate (`Ccm<Aes128, U4 | U8 | U16, U13>`), which is plain CCM;
//!   CCM* with M ≥ 4 and encryption is exactly CCM.
//! * levels 1–3 (MIC only) are hand-written here: in ZigBee CCM* the unencrypted payload belongs
//!   to the authenticated data `a` (a = header ‖ payload) and the message `m` is empty. The `ccm`
//!   crate could compute that MIC only if header and payload sat in one contiguous slice, which
//!   this in-place API (separate `aad` and `payload`) cannot promise without a copy buffer.
//! * level 4 (encryption, no MIC) is hand-written here: CCM* with M = 0 is just the CTR part of
//!   CCM (counter blocks A₁, A₂, …), and `ccm` has no tag length 0.
//! * level 0 does nothing.
//!
//! Test vectors: the ZigBee specification's CCM* example (Annex C, level 6) and IEEE 802.15.4
//! Annex C.2.1–C.2.3 (levels 2, 4 and 6), see the tests below.

use super::aux_header::SecurityControl;
use super::key::{ct_eq, Key128};
use super::SecurityError;
use crate::zcl::Eui64;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use ccm::aead::AeadInOut;
use ccm::consts::{U13, U16, U4, U8};
use ccm::Ccm;

const BLOCK: usize = 16;
/// CCM* length-field size in ZigBee (L = 2): payloads up to 65535 bytes.
const L: usize = 2;

/// CCM* security level (se10.md §8.4), the low three bits of the security control byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[repr(u8)]
pub enum SecurityLevel {
    None = 0,
    Mic32 = 1,
    Mic64 = 2,
    Mic128 = 3,
    Enc = 4,
    /// The level of every ZigBee PRO / SE secured frame (nwkSecurityLevel = 5).
    EncMic32 = 5,
    EncMic64 = 6,
    EncMic128 = 7,
}

impl SecurityLevel {
    /// All levels, in order.
    pub const ALL: [Self; 8] = [
        Self::None,
        Self::Mic32,
        Self::Mic64,
        Self::Mic128,
        Self::Enc,
        Self::EncMic32,
        Self::EncMic64,
        Self::EncMic128,
    ];

    /// The level in the low three bits of `bits` (other bits ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0x07 {
            0 => Self::None,
            1 => Self::Mic32,
            2 => Self::Mic64,
            3 => Self::Mic128,
            4 => Self::Enc,
            5 => Self::EncMic32,
            6 => Self::EncMic64,
            _ => Self::EncMic128,
        }
    }

    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// MIC length in bytes: 0, 4, 8 or 16.
    pub const fn mic_len(self) -> usize {
        match self.bits() & 0x03 {
            0 => 0,
            1 => 4,
            2 => 8,
            _ => 16,
        }
    }

    /// Whether the payload is encrypted.
    pub const fn encrypts(self) -> bool {
        self.bits() & 0x04 != 0
    }
}

/// The 13-byte ZigBee CCM* nonce (se10.md §8.6): source EUI-64 (little-endian, as on the air),
/// frame counter (little-endian), security control byte with the real security level. The level
/// in byte 12 is the level [`encrypt_in_place`] and [`decrypt_in_place`] apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; 13]);

impl Nonce {
    /// Builds the nonce. `security_control` must carry the real level (not the 0 sent on the air;
    /// see [`SecurityControl::effective`]).
    pub fn new(source: Eui64, frame_counter: u32, security_control: SecurityControl) -> Self {
        let mut n = [0u8; 13];
        let parts = source.to_le_bytes().into_iter().chain(frame_counter.to_le_bytes());
        for (dst, src) in n.iter_mut().zip(parts.chain([security_control.0])) {
            *dst = src;
        }
        Self(n)
    }

    pub const fn from_bytes(bytes: [u8; 13]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 13] {
        &self.0
    }

    pub fn source(&self) -> Eui64 {
        let mut le = [0u8; 8];
        le.copy_from_slice(self.0.get(..8).unwrap_or(&[0; 8]));
        Eui64(u64::from_le_bytes(le))
    }

    pub fn frame_counter(&self) -> u32 {
        let [.., a, b, c, d, _] = self.0;
        u32::from_le_bytes([a, b, c, d])
    }

    pub fn security_control(&self) -> SecurityControl {
        let [.., control] = self.0;
        SecurityControl(control)
    }

    /// The security level the nonce commits to.
    pub fn level(&self) -> SecurityLevel {
        self.security_control().level()
    }
}

/// A CCM* context: the AES-128 key schedule of one key, reusable for many frames.
#[derive(Clone)]
pub struct CcmStar {
    cipher: Aes128,
}

impl core::fmt::Debug for CcmStar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CcmStar(<redacted>)")
    }
}

impl CcmStar {
    pub fn new(key: &Key128) -> Self {
        Self { cipher: Aes128::new(&(*key.as_bytes()).into()) }
    }

    /// Secures a payload in place at the level in `nonce`: encrypts `payload` (levels 4–7) and
    /// writes the MIC over `aad` and `payload` to `mic_out`, which must be exactly
    /// `nonce.level().mic_len()` bytes long. `aad` is the frame header up to and including the
    /// auxiliary header, with the real level in its security control byte (se10.md §8.6).
    pub fn encrypt_in_place(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        payload: &mut [u8],
        mic_out: &mut [u8],
    ) -> Result<(), SecurityError> {
        let level = nonce.level();
        check_lengths(level, aad, payload, mic_out.len())?;
        match level {
            SecurityLevel::None => Ok(()),
            SecurityLevel::Mic32 | SecurityLevel::Mic64 | SecurityLevel::Mic128 => {
                let tag = self.mic_only(nonce, aad, payload);
                mic_out.copy_from_slice(tag.get(..mic_out.len()).unwrap_or(&[]));
                Ok(())
            }
            SecurityLevel::Enc => {
                self.ctr(nonce, payload);
                Ok(())
            }
            SecurityLevel::EncMic32 => self.seal::<U4>(nonce, aad, payload, mic_out),
            SecurityLevel::EncMic64 => self.seal::<U8>(nonce, aad, payload, mic_out),
            SecurityLevel::EncMic128 => self.seal::<U16>(nonce, aad, payload, mic_out),
        }
    }

    /// Unsecures a received payload in place at the level in `nonce`: decrypts `payload` (levels
    /// 4–7) and checks `mic` (levels 1–3 and 5–7). On [`SecurityError::MicMismatch`] the payload
    /// has been overwritten with zeros. Level 4 has no MIC and cannot detect anything.
    pub fn decrypt_in_place(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        payload: &mut [u8],
        mic: &[u8],
    ) -> Result<(), SecurityError> {
        let level = nonce.level();
        check_lengths(level, aad, payload, mic.len())?;
        match level {
            SecurityLevel::None => Ok(()),
            SecurityLevel::Mic32 | SecurityLevel::Mic64 | SecurityLevel::Mic128 => {
                let tag = self.mic_only(nonce, aad, payload);
                if ct_eq(tag.get(..mic.len()).unwrap_or(&[]), mic) {
                    Ok(())
                } else {
                    payload.fill(0);
                    Err(SecurityError::MicMismatch)
                }
            }
            SecurityLevel::Enc => {
                self.ctr(nonce, payload);
                Ok(())
            }
            SecurityLevel::EncMic32 => self.open::<U4>(nonce, aad, payload, mic),
            SecurityLevel::EncMic64 => self.open::<U8>(nonce, aad, payload, mic),
            SecurityLevel::EncMic128 => self.open::<U16>(nonce, aad, payload, mic),
        }
    }

    fn seal<M>(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        payload: &mut [u8],
        mic_out: &mut [u8],
    ) -> Result<(), SecurityError>
    where
        M: ccm::aead::array::ArraySize + ccm::TagSize,
    {
        let ccm: Ccm<Aes128, M, U13> = Ccm::from(self.cipher.clone());
        let tag = ccm
            .encrypt_inout_detached(&(*nonce.as_bytes()).into(), aad, payload.into())
            .map_err(|_| SecurityError::BadLength)?;
        mic_out.copy_from_slice(tag.as_slice());
        Ok(())
    }

    fn open<M>(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        payload: &mut [u8],
        mic: &[u8],
    ) -> Result<(), SecurityError>
    where
        M: ccm::aead::array::ArraySize + ccm::TagSize,
    {
        let ccm: Ccm<Aes128, M, U13> = Ccm::from(self.cipher.clone());
        let tag = ccm::Tag::<M>::try_from(mic).map_err(|_| SecurityError::BadLength)?;
        // The crate zeroes the buffer itself when the tag does not verify.
        ccm.decrypt_inout_detached(&(*nonce.as_bytes()).into(), aad, payload.into(), &tag)
            .map_err(|_| SecurityError::MicMismatch)
    }

    fn encrypt_block(&self, block: &[u8; BLOCK]) -> [u8; BLOCK] {
        let mut b = aes::Block::from(*block);
        self.cipher.encrypt_block(&mut b);
        b.into()
    }

    /// Counter block Aᵢ: flags (L − 1), nonce, i as a 16-bit big-endian number.
    fn counter_block(nonce: &Nonce, i: u16) -> [u8; BLOCK] {
        let mut a = [0u8; BLOCK];
        let [i_hi, i_lo] = i.to_be_bytes();
        let parts = [(L - 1) as u8].into_iter().chain(*nonce.as_bytes()).chain([i_hi, i_lo]);
        for (dst, src) in a.iter_mut().zip(parts) {
            *dst = src;
        }
        a
    }

    /// CCM* encryption/decryption transformation without a MIC (level 4): XOR with E(A₁), E(A₂), …
    fn ctr(&self, nonce: &Nonce, payload: &mut [u8]) {
        for (i, chunk) in payload.chunks_mut(BLOCK).enumerate() {
            // check_lengths keeps payload ≤ 65535 bytes, so i + 1 ≤ 4096.
            let keystream = self.encrypt_block(&Self::counter_block(nonce, (i + 1) as u16));
            for (p, k) in chunk.iter_mut().zip(keystream) {
                *p ^= k;
            }
        }
    }

    /// The encrypted MIC of a MIC-only level (1–3): CBC-MAC over B₀ (flags, nonce, l(m) = 0) and
    /// l(a) ‖ a with a = aad ‖ payload (zero-padded to the block size), then T ⊕ E(A₀). The
    /// caller truncates to the level's MIC length; M enters through the flags of B₀.
    fn mic_only(&self, nonce: &Nonce, aad: &[u8], payload: &[u8]) -> [u8; BLOCK] {
        let level = nonce.level();
        let a_len = aad.len() + payload.len();
        let m_tick = ((level.mic_len().saturating_sub(2)) / 2) as u8;
        let flags = (u8::from(a_len > 0) << 6) | (m_tick << 3) | (L - 1) as u8;
        let mut b0 = [0u8; BLOCK];
        for (dst, src) in b0.iter_mut().zip([flags].into_iter().chain(*nonce.as_bytes())) {
            *dst = src; // l(m) = 0 leaves the last two bytes zero.
        }
        let mut mac = CbcMac { x: self.encrypt_block(&b0), buf: [0; BLOCK], used: 0, ccm: self };
        if a_len > 0 {
            // check_lengths keeps a_len < 0xFF00: the 2-byte form of l(a).
            mac.update(&(a_len as u16).to_be_bytes());
            mac.update(aad);
            mac.update(payload);
            mac.pad();
        }
        let s0 = self.encrypt_block(&Self::counter_block(nonce, 0));
        let mut t = mac.x;
        for (ti, si) in t.iter_mut().zip(s0) {
            *ti ^= si;
        }
        t
    }
}

/// CBC-MAC over a stream of byte slices (for the MIC-only levels).
struct CbcMac<'c> {
    x: [u8; BLOCK],
    buf: [u8; BLOCK],
    used: usize,
    ccm: &'c CcmStar,
}

impl CbcMac<'_> {
    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            if let Some(b) = self.buf.get_mut(self.used) {
                *b = byte;
            }
            self.used += 1;
            if self.used == BLOCK {
                self.absorb();
            }
        }
    }

    /// Zero-pads the last partial block and absorbs it.
    fn pad(&mut self) {
        if self.used > 0 {
            if let Some(rest) = self.buf.get_mut(self.used..) {
                rest.fill(0);
            }
            self.absorb();
        }
    }

    fn absorb(&mut self) {
        for (xi, bi) in self.x.iter_mut().zip(self.buf) {
            *xi ^= bi;
        }
        self.x = self.ccm.encrypt_block(&self.x);
        self.used = 0;
    }
}

/// MIC buffer matches the level; payload fits L = 2; a (for MIC-only levels: aad ‖ payload) fits
/// the 2-byte l(a) encoding (< 0xFF00 bytes; ZigBee frames are at most 127 bytes).
fn check_lengths(
    level: SecurityLevel,
    aad: &[u8],
    payload: &[u8],
    mic_len: usize,
) -> Result<(), SecurityError> {
    let a_len = aad.len() + if level.encrypts() { 0 } else { payload.len() };
    if mic_len != level.mic_len() || payload.len() > 0xFFFF || a_len >= 0xFF00 {
        return Err(SecurityError::BadLength);
    }
    Ok(())
}

/// One-shot form of [`CcmStar::encrypt_in_place`] (expands the key each call).
pub fn encrypt_in_place(
    key: &Key128,
    nonce: &Nonce,
    aad: &[u8],
    payload: &mut [u8],
    mic_out: &mut [u8],
) -> Result<(), SecurityError> {
    CcmStar::new(key).encrypt_in_place(nonce, aad, payload, mic_out)
}

/// One-shot form of [`CcmStar::decrypt_in_place`] (expands the key each call).
pub fn decrypt_in_place(
    key: &Key128,
    nonce: &Nonce,
    aad: &[u8],
    payload: &mut [u8],
    mic: &[u8],
) -> Result<(), SecurityError> {
    CcmStar::new(key).decrypt_in_place(nonce, aad, payload, mic)
}

#[cfg(test)]
mod tests;
