//! NWK and APS frame security on top of CCM* (ZigBee PRO §4.3.1, §4.4.1; se10.md §8.4–§8.6),
//! in place and without allocating.
//!
//! Outgoing ([`secure_nwk`], [`secure_aps`]): the unsecured frame gets the security bit in its
//! frame control and an auxiliary header after its header; then, with the real level (5,
//! [`NWK_SECURITY_LEVEL`]) patched into the header's control byte, the payload is encrypted with
//! the nonce `source ‖ frame counter ‖ control` and the authenticated data `a` = the layer's
//! header up to and including the auxiliary header; the 4-byte MIC is appended; and the level
//! bits are cleared again, because ZigBee PRO sends them as 0 (se10.md §8.4).
//!
//! Incoming ([`unsecure_nwk`], [`unsecure_aps`]): the receiver substitutes the level in the same
//! way (whatever the level bits hold on the air), decrypts in place and checks the MIC; the frame
//! bytes are left as received except for the payload, which is plaintext on success and zeros on
//! a MIC mismatch.
//!
//! Keys: NWK frames use the network key; APS frames use a key derived from the link key shared
//! with the partner according to the key identifier: the link key itself (data key, 0), the
//! key-transport key (2) or the key-load key (3) (se10.md §8.3; [`aps_key`]).
//! [`crate::frame::parse_secured_se_frame`] and [`crate::frame::SeFrameBuilder::build_encrypted`]
//! apply both layers to whole Smart Energy frames; [`KeyStore`] and [`CounterCheck`] are what they
//! need on the receiving side.
//!
//! The layout checks use the same header parsers as the rest of [`crate::frame`], so a frame
//! that cannot be parsed is refused before any byte is changed.

use super::aps::{self, ApsHeader};
use super::nwk::{self, NwkHeader};
use super::{AuxHeader, KeyIdentifier, ShortAddr};
use crate::error::{Error, ErrorKind};
use crate::field::Repr;
use crate::security::aux_header::{AuxHeaderView, NWK_SECURITY_LEVEL};
use crate::security::{
    key_load_key, key_transport_key, CcmStar, FrameCounterCheck, Key128, Nonce, SecurityError,
};
use crate::wire::Reader;
use crate::zcl::Eui64;
use core::fmt;
use core::ops::Range;

/// Length of the MIC at the ZigBee PRO / SE security level (ENC-MIC-32): 4 bytes.
pub const MIC_LEN: usize = NWK_SECURITY_LEVEL.mic_len();

/// Why a frame could not be secured or unsecured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameSecurityError {
    /// The frame could not be read or written: a truncated or invalid header, a frame without
    /// (or, when securing, already with) the security bit, or a buffer too small for the
    /// auxiliary header and the MIC. The offset counts from the start of the buffer handed in.
    Frame(Error),
    /// CCM* refused the frame ([`SecurityError::MicMismatch`]: wrong key, or a frame modified on
    /// the way) or the freshness check did ([`SecurityError::FrameCounterRegression`]).
    Security(SecurityError),
    /// No key for this frame: no network key with its key sequence number, or no link key for
    /// its sender, or an APS frame secured with the network key handed to a link-key function.
    NoKey(KeyIdentifier),
    /// The nonce needs the sender's EUI-64, and the frame carries it neither in the auxiliary
    /// header (extended nonce off) nor in the NWK header, and the address map does not know it.
    UnknownSource,
}

impl From<Error> for FrameSecurityError {
    fn from(e: Error) -> Self {
        Self::Frame(e)
    }
}

impl From<SecurityError> for FrameSecurityError {
    fn from(e: SecurityError) -> Self {
        Self::Security(e)
    }
}

impl fmt::Display for FrameSecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => e.fmt(f),
            Self::Security(e) => e.fmt(f),
            Self::NoKey(id) => write!(f, "no key for key identifier {id:?}"),
            Self::UnknownSource => f.write_str("the sender's EUI-64 for the nonce is not known"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FrameSecurityError {}

impl FrameSecurityError {
    /// The same error with a frame offset moved by `base` bytes.
    #[must_use]
    pub const fn shifted(self, base: usize) -> Self {
        match self {
            Self::Frame(e) => Self::Frame(e.shifted(base)),
            other => other,
        }
    }

    /// This error as a codec [`Error`] (for the frame builders, which return [`crate::Result`]):
    /// `layer` names the security field of the layer ("nwk.security", "aps.security") for the
    /// errors that are not about a byte position.
    pub(crate) fn into_error(self, base: usize, layer: &'static str) -> Error {
        match self {
            Self::Frame(e) => e.shifted(base),
            Self::Security(_) => Error::new(ErrorKind::BadLength, base, layer),
            Self::NoKey(_) | Self::UnknownSource => {
                Error::new(ErrorKind::InvalidValue, base, layer)
            }
        }
    }
}

type Result<T> = core::result::Result<T, FrameSecurityError>;

/// Where a layer's security sits after [`unsecure_nwk`] / [`unsecure_aps`], as offsets into
/// the buffer handed in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unsecured {
    /// Length of the layer's header, auxiliary header included: the plaintext starts here.
    pub header_len: usize,
    /// The plaintext payload (the MIC follows it and ends the buffer).
    pub payload: Range<usize>,
    /// The auxiliary header as received (level bits as on the air).
    pub aux_header: AuxHeader,
    /// The EUI-64 used in the nonce: the sender that applied this layer's security. Feed it
    /// with `aux_header.frame_counter` to a [`CounterCheck`].
    pub source: Eui64,
}

/// The key an APS frame with key identifier `key_id` is secured with, given the link key shared
/// with the partner (se10.md §8.3): the link key for [`KeyIdentifier::Data`], the key-transport
/// or key-load key derived from it for [`KeyIdentifier::KeyTransport`] /
/// [`KeyIdentifier::KeyLoad`]. `None` for [`KeyIdentifier::Network`] (the network key).
pub fn aps_key(link_key: &Key128, key_id: KeyIdentifier) -> Option<Key128> {
    match key_id {
        KeyIdentifier::Data => Some(link_key.clone()),
        KeyIdentifier::KeyTransport => Some(key_transport_key(link_key)),
        KeyIdentifier::KeyLoad => Some(key_load_key(link_key)),
        KeyIdentifier::Network => None,
    }
}

/// Secures the unsecured NWK frame in `buf[..frame_len]` (NWK header, then the APS frame) in
/// place with the network `key`: sets the security bit, inserts the 14-byte auxiliary header
/// (network key, extended nonce with `source`, `frame_counter`, `key_sequence_number`; level
/// bits 0 on the air), encrypts the payload at level 5 and appends the MIC. Returns the new
/// frame length, `frame_len + 18`; `buf` must have room for it.
pub fn secure_nwk(
    buf: &mut [u8],
    frame_len: usize,
    key: &Key128,
    source: Eui64,
    frame_counter: u32,
    key_sequence_number: u8,
) -> Result<usize> {
    let header_len = {
        let mut r = Reader::new(layer(buf, frame_len)?);
        if NwkHeader::read(&mut r)?.aux_header.is_some() {
            return Err(Error::new(ErrorKind::InvalidValue, 0, "nwk.security").into());
        }
        r.pos()
    };
    let aux = AuxHeader::nwk(frame_counter, source, key_sequence_number);
    let [_, fc_high] = nwk::fc::SECURITY.to_le_bytes();
    insert_aux(buf, frame_len, header_len, &aux, 1, fc_high)?;
    seal(buf, header_len, header_len + aux.buffer_len(), frame_len - header_len, key, None)
}

/// Undoes NWK security in place: `frame` is a whole secured NWK frame (header with auxiliary
/// header, ciphertext, MIC) and `key` the network key. The nonce's source is the auxiliary
/// header's EUI-64, or the NWK header's source IEEE address when the extended nonce is off.
/// On success the payload range holds the APS frame in plaintext; on a MIC mismatch it holds
/// zeros.
pub fn unsecure_nwk(frame: &mut [u8], key: &Key128) -> Result<Unsecured> {
    let (header_len, aux, src_ieee) = nwk_layout(frame)?;
    open(frame, header_len.saturating_sub(aux.buffer_len()), header_len, key, src_ieee)
}

/// Secures the unsecured APS frame in `buf[..frame_len]` (APS header, then the payload) in place
/// with the key that `key_id` derives from `link_key` ([`aps_key`]): sets the security bit,
/// inserts the auxiliary header (with `source` when `extended_nonce`, 13 bytes, else 5), encrypts
/// at level 5 and appends the MIC. `source` is the sender's EUI-64, part of the nonce either
/// way. Returns the new frame length. [`KeyIdentifier::Network`] is refused with
/// [`FrameSecurityError::NoKey`].
pub fn secure_aps(
    buf: &mut [u8],
    frame_len: usize,
    link_key: &Key128,
    key_id: KeyIdentifier,
    source: Eui64,
    frame_counter: u32,
    extended_nonce: bool,
) -> Result<usize> {
    let key = aps_key(link_key, key_id).ok_or(FrameSecurityError::NoKey(key_id))?;
    let header = ApsHeader::parse(layer(buf, frame_len)?)?;
    if header.aux_header.is_some() {
        return Err(Error::new(ErrorKind::InvalidValue, 0, "aps.security").into());
    }
    let header_len = header.buffer_len();
    let aux = AuxHeader::aps(key_id, frame_counter, extended_nonce.then_some(source));
    insert_aux(buf, frame_len, header_len, &aux, 0, aps::fc::SECURITY)?;
    let payload_at = header_len + aux.buffer_len();
    seal(buf, header_len, payload_at, frame_len - header_len, &key, Some(source))
}

/// Undoes APS security in place: `frame` is a whole secured APS frame (header with auxiliary
/// header, ciphertext, MIC), `link_key` the link key shared with the sender, from which the key
/// is derived per the key identifier ([`aps_key`]). Without an extended nonce the sender's
/// EUI-64 must come from `source_if_absent` (the NWK source IEEE address or the address map).
pub fn unsecure_aps(
    frame: &mut [u8],
    link_key: &Key128,
    source_if_absent: Option<Eui64>,
) -> Result<Unsecured> {
    let header = ApsHeader::parse(frame)?;
    let aux = header.aux_header.ok_or(Error::new(ErrorKind::InvalidValue, 0, "aps.security"))?;
    let key_id = aux.security_control.key_identifier();
    let key = aps_key(link_key, key_id).ok_or(FrameSecurityError::NoKey(key_id))?;
    let header_len = header.buffer_len();
    open(frame, header_len.saturating_sub(aux.buffer_len()), header_len, &key, source_if_absent)
}

/// The keys a receiver holds, looked up by what a secured frame names.
pub trait KeyStore {
    /// The network key with this key sequence number (from the auxiliary header).
    fn network_key(&self, key_sequence_number: u8) -> Option<Key128>;
    /// The link key shared with `partner` (the sender of an APS-secured frame).
    fn link_key(&self, partner: Eui64) -> Option<Key128>;
    /// The EUI-64 behind a NWK short address (the address map), for nonces of frames that carry
    /// the sender's EUI-64 neither in the auxiliary header nor in the NWK header.
    fn ieee_address(&self, _nwk_addr: ShortAddr) -> Option<Eui64> {
        None
    }
}

/// A [`KeyStore`] over borrowed tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keyring<'k> {
    /// Network keys by key sequence number.
    pub network_keys: &'k [(u8, Key128)],
    /// Link keys by partner EUI-64.
    pub link_keys: &'k [(Eui64, Key128)],
    /// NWK address → EUI-64.
    pub address_map: &'k [(ShortAddr, Eui64)],
}

impl KeyStore for Keyring<'_> {
    fn network_key(&self, key_sequence_number: u8) -> Option<Key128> {
        let found = self.network_keys.iter().find(|(seq, _)| *seq == key_sequence_number);
        found.map(|(_, k)| k.clone())
    }

    fn link_key(&self, partner: Eui64) -> Option<Key128> {
        self.link_keys.iter().find(|(eui, _)| *eui == partner).map(|(_, k)| k.clone())
    }

    fn ieee_address(&self, nwk_addr: ShortAddr) -> Option<Eui64> {
        self.address_map.iter().find(|(a, _)| *a == nwk_addr).map(|(_, e)| *e)
    }
}

/// Incoming frame counters of one counter space (NWK, or APS), for the freshness check: `check`
/// before decrypting, `accept` once the MIC verified. [`FrameCounterCheck`] is the usual one.
pub trait CounterCheck {
    fn check(&self, source: Eui64, counter: u32) -> core::result::Result<(), SecurityError>;
    fn accept(&mut self, source: Eui64, counter: u32) -> core::result::Result<(), SecurityError>;
}

impl<const N: usize> CounterCheck for FrameCounterCheck<N> {
    fn check(&self, source: Eui64, counter: u32) -> core::result::Result<(), SecurityError> {
        FrameCounterCheck::check(self, source, counter)
    }

    fn accept(&mut self, source: Eui64, counter: u32) -> core::result::Result<(), SecurityError> {
        FrameCounterCheck::accept(self, source, counter)
    }
}

/// Undoes one layer's security (see [`unsecure_nwk`]) with the freshness check around it:
/// `check` before decrypting, `accept` after the MIC verified, so that neither a replayed nor a
/// forged frame moves the counter.
pub(crate) fn open_checked(
    layer: &mut [u8],
    aux: &AuxHeader,
    header_len: usize,
    key: &Key128,
    source_if_absent: Option<Eui64>,
    counters: Option<&mut dyn CounterCheck>,
) -> Result<Unsecured> {
    let source =
        aux.source_address.or(source_if_absent).ok_or(FrameSecurityError::UnknownSource)?;
    if let Some(c) = &counters {
        c.check(source, aux.frame_counter)?;
    }
    let u =
        open(layer, header_len.saturating_sub(aux.buffer_len()), header_len, key, Some(source))?;
    if let Some(c) = counters {
        c.accept(u.source, aux.frame_counter)?;
    }
    Ok(u)
}

/// Secures one layer whose headers are already written (auxiliary header included, at the end
/// of the `header_len` header bytes): encrypts `layer[header_len..header_len + payload_len]`,
/// appends the MIC, returns the end of the MIC.
pub(crate) fn seal_layer(
    layer: &mut [u8],
    aux: &AuxHeader,
    header_len: usize,
    payload_len: usize,
    key: &Key128,
    source_if_absent: Option<Eui64>,
) -> Result<usize> {
    let aux_at = header_len.saturating_sub(aux.buffer_len());
    seal(layer, aux_at, header_len, payload_len, key, source_if_absent)
}

/// NWK header length, its auxiliary header (the frame must be secured) and its source IEEE
/// address.
pub(crate) fn nwk_layout(frame: &[u8]) -> Result<(usize, AuxHeader, Option<Eui64>)> {
    let mut r = Reader::new(frame);
    let header = NwkHeader::read(&mut r)?;
    let aux = header.aux_header.ok_or(Error::new(ErrorKind::InvalidValue, 0, "nwk.security"))?;
    Ok((r.pos(), aux, header.src_ieee))
}

/// `buf[..len]`, or a truncation error.
fn layer(buf: &[u8], len: usize) -> Result<&[u8]> {
    let needed = len.saturating_sub(buf.len());
    Ok(buf.get(..len).ok_or(Error::new(ErrorKind::Truncated { needed }, buf.len(), "frame"))?)
}

/// Makes room for `aux` after the header (moving the payload), writes it, and sets the security
/// bit (`bit` in frame-control byte `fc_byte`). Checks first that the secured frame fits.
fn insert_aux(
    buf: &mut [u8],
    frame_len: usize,
    header_len: usize,
    aux: &AuxHeader,
    fc_byte: usize,
    bit: u8,
) -> Result<()> {
    let aux_len = aux.buffer_len();
    if buf.len() < frame_len + aux_len + MIC_LEN {
        let needed = aux_len + MIC_LEN;
        return Err(Error::new(ErrorKind::BufferTooSmall { needed }, frame_len, "aux").into());
    }
    buf.copy_within(header_len..frame_len, header_len + aux_len);
    let aux_bytes = buf.get_mut(header_len..header_len + aux_len).unwrap_or(&mut []);
    aux.emit(aux_bytes).map_err(|e| e.shifted(header_len))?;
    if let Some(fc) = buf.get_mut(fc_byte) {
        *fc |= bit;
    }
    Ok(())
}

/// CCM* at level 5 over one layer: `layer[..payload_at]` is the header, ending with the
/// auxiliary header at `aux_at`; `layer[payload_at..payload_at + len]` the plaintext. Encrypts
/// it, writes the MIC after it and leaves the level bits 0. Returns the end of the MIC.
fn seal(
    layer: &mut [u8],
    aux_at: usize,
    payload_at: usize,
    len: usize,
    key: &Key128,
    source_if_absent: Option<Eui64>,
) -> Result<usize> {
    let end = payload_at + len + MIC_LEN;
    if layer.len() < end {
        let e = ErrorKind::BufferTooSmall { needed: MIC_LEN };
        return Err(Error::new(e, payload_at + len, "mic").into());
    }
    let aux = aux_view(layer, aux_at, payload_at)?.to_repr();
    let nonce = aux.nonce(NWK_SECURITY_LEVEL, source_if_absent);
    let nonce = nonce.ok_or(FrameSecurityError::UnknownSource)?;
    set_level(layer, aux_at, payload_at, NWK_SECURITY_LEVEL);
    let result = split(layer, payload_at, len).and_then(|(aad, payload, mic)| {
        CcmStar::new(key).encrypt_in_place(&nonce, aad, payload, mic).map_err(Into::into)
    });
    set_level(layer, aux_at, payload_at, crate::security::SecurityLevel::None);
    result.map(|()| end)
}

/// Undoes [`seal`]: `layer` ends with the MIC. The level is substituted whatever the received
/// level bits say, and those bits are restored afterwards.
fn open(
    layer: &mut [u8],
    aux_at: usize,
    payload_at: usize,
    key: &Key128,
    source_if_absent: Option<Eui64>,
) -> Result<Unsecured> {
    let aux = aux_view(layer, aux_at, payload_at)?.to_repr();
    let available = layer.len();
    let len = available.checked_sub(payload_at + MIC_LEN).ok_or_else(|| {
        let needed = payload_at + MIC_LEN - available;
        Error::new(ErrorKind::Truncated { needed }, available, "mic")
    })?;
    let source =
        aux.source_address.or(source_if_absent).ok_or(FrameSecurityError::UnknownSource)?;
    let control = aux.security_control.effective(NWK_SECURITY_LEVEL);
    let nonce = Nonce::new(source, aux.frame_counter, control);
    set_level(layer, aux_at, payload_at, NWK_SECURITY_LEVEL);
    let result = split(layer, payload_at, len).and_then(|(aad, payload, mic)| {
        CcmStar::new(key).decrypt_in_place(&nonce, aad, payload, mic).map_err(Into::into)
    });
    set_level(layer, aux_at, payload_at, aux.security_control.level());
    result?;
    Ok(Unsecured {
        header_len: payload_at,
        payload: payload_at..payload_at + len,
        aux_header: aux,
        source,
    })
}

fn aux_view(layer: &[u8], aux_at: usize, payload_at: usize) -> Result<AuxHeaderView<&[u8]>> {
    let bytes = layer.get(aux_at..payload_at).unwrap_or(&[]);
    Ok(AuxHeaderView::new_checked(bytes).map_err(|e| e.shifted(aux_at))?)
}

fn set_level(
    layer: &mut [u8],
    aux_at: usize,
    payload_at: usize,
    level: crate::security::SecurityLevel,
) {
    if let Some(Ok(mut view)) = layer.get_mut(aux_at..payload_at).map(AuxHeaderView::new_checked) {
        view.set_security_level(level);
    }
}

/// `(aad, payload, mic)` = `layer[..payload_at]`, the next `len` bytes, the next [`MIC_LEN`].
fn split(layer: &mut [u8], payload_at: usize, len: usize) -> Result<(&[u8], &mut [u8], &mut [u8])> {
    let short =
        || Error::new(ErrorKind::BufferTooSmall { needed: MIC_LEN }, payload_at + len, "mic");
    let (aad, rest) = layer.split_at_mut_checked(payload_at).ok_or_else(short)?;
    let (payload, rest) = rest.split_at_mut_checked(len).ok_or_else(short)?;
    let mic = rest.get_mut(..MIC_LEN).ok_or_else(short)?;
    Ok((aad, payload, mic))
}

#[cfg(test)]
mod tests;
