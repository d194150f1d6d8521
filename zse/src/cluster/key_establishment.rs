//! Key Establishment cluster 0x0800 (SE 1.0 Annex C.3; se10.md §7): the frames of
//! Certificate-Based Key Establishment (CBKE). Only the frames: the ECMQV / ECDSA computations
//! are not part of this codec.
//!
//! The joining device is normally the client (initiator) and the ESI the server (responder).
//! Field sizes are those of Crypto Suite 1 (sect163k1): a 48-byte implicit certificate, a
//! 22-byte compressed ephemeral public key and a 16-byte MAC, all raw octets without a length
//! prefix. A frame for another suite (Suite 2, SE 1.2+, 74-byte certificates) would parse here
//! with its raw fields cut at Suite 1 lengths, so a receiver must check the suite field of
//! InitiateKeyEstablishmentRequest and answer anything but [`KeyEstablishmentSuite::CRYPTO_SUITE_1`]
//! with TerminateKeyEstablishment UNSUPPORTED_SUITE.

use super::AttributeDef;
use crate::field::{command_set, fixed_struct, newtype, Octets};
use crate::zcl::DataType;

/// Cluster id.
pub const CLUSTER_ID: u16 = 0x0800;

/// Attribute ids (SE 1.0 §C.3.1.2; se10.md §7). The same id exists on client and server.
pub mod attr {
    /// enum16 (bit-coded), read-only: the suites the device supports.
    pub const KEY_ESTABLISHMENT_SUITE: u16 = 0x0000;
}

/// Attribute table: id, spec name, data type.
pub const ATTRIBUTES: &[AttributeDef] =
    &[AttributeDef::new(attr::KEY_ESTABLISHMENT_SUITE, "KeyEstablishmentSuite", DataType::ENUM16)];

/// Length of the Identity field (a Suite 1 implicit certificate).
pub const IDENTITY_LEN: usize = 48;
/// Length of the Ephemeral Data field (a Suite 1 compressed public key).
pub const EPHEMERAL_DATA_LEN: usize = 22;
/// Length of the Secure Message Authentication Code field.
pub const MAC_LEN: usize = 16;

newtype! {
    /// KeyEstablishmentSuite, bitmap16 (SE 1.0 §C.3.1.2.1; se10.md §7): one bit per crypto suite.
    /// The attribute lists every suite supported; a request or response sets exactly one bit.
    pub struct KeyEstablishmentSuite(u16);
}

impl KeyEstablishmentSuite {
    /// ECMQV + ECDSA on sect163k1, AES-MMO (the SE 1.0 suite).
    pub const CRYPTO_SUITE_1: Self = Self(0x0001);
    /// sect283k1 (SE 1.2+).
    pub const CRYPTO_SUITE_2: Self = Self(0x0002);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

newtype! {
    /// Status Code of TerminateKeyEstablishment, enum8 (SE 1.0 §C.3.1.3.4; se10.md §7).
    pub struct KeyEstablishmentStatus(u8);
}

impl KeyEstablishmentStatus {
    /// The partner certificate's issuer is not a known certificate authority.
    pub const UNKNOWN_ISSUER: Self = Self(0x01);
    /// Key confirmation (MAC check) failed.
    pub const BAD_KEY_CONFIRM: Self = Self(0x02);
    /// A malformed or out-of-sequence message.
    pub const BAD_MESSAGE: Self = Self(0x03);
    /// No resources now; retry after Wait Time.
    pub const NO_RESOURCES: Self = Self(0x04);
    /// The requested suite is not supported.
    pub const UNSUPPORTED_SUITE: Self = Self(0x05);
    /// The certificate's type, curve, hash or another parameter is invalid (SE 1.1).
    pub const INVALID_CERTIFICATE: Self = Self(0x06);

    /// The specification's name, if the value is defined.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x01 => "UNKNOWN_ISSUER",
            0x02 => "BAD_KEY_CONFIRM",
            0x03 => "BAD_MESSAGE",
            0x04 => "NO_RESOURCES",
            0x05 => "UNSUPPORTED_SUITE",
            0x06 => "INVALID_CERTIFICATE",
            _ => return None,
        })
    }
}

fixed_struct! {
    /// InitiateKeyEstablishmentRequest (c→s 0x00; SE 1.0 §C.3.1.3.1; se10.md §7).
    pub struct InitiateKeyEstablishmentRequest / InitiateKeyEstablishmentRequestView {
        key_establishment_suite: KeyEstablishmentSuite,
        /// Seconds the initiator needs to produce EphemeralDataRequest (0x00–0xFE).
        ephemeral_data_generate_time: u8,
        /// Seconds the initiator needs to produce ConfirmKeyDataRequest (0x00–0xFE).
        confirm_key_generate_time: u8,
        /// The initiator's implicit certificate.
        identity: Octets<IDENTITY_LEN>,
    }
}

fixed_struct! {
    /// EphemeralDataRequest (c→s 0x01; SE 1.0 §C.3.1.3.2; se10.md §7).
    pub struct EphemeralDataRequest / EphemeralDataRequestView {
        /// The initiator's ephemeral public key.
        ephemeral_data: Octets<EPHEMERAL_DATA_LEN>,
    }
}

fixed_struct! {
    /// ConfirmKeyDataRequest (c→s 0x02; SE 1.0 §C.3.1.3.3; se10.md §7).
    pub struct ConfirmKeyDataRequest / ConfirmKeyDataRequestView {
        /// MACU, the initiator's key confirmation.
        secure_message_authentication_code: Octets<MAC_LEN>,
    }
}

fixed_struct! {
    /// TerminateKeyEstablishment (0x03 in both directions; SE 1.0 §C.3.1.3.4 / §C.3.1.4.4;
    /// se10.md §7): either side ends the exchange.
    pub struct TerminateKeyEstablishment / TerminateKeyEstablishmentView {
        status_code: KeyEstablishmentStatus,
        /// Seconds the initiator should wait before trying again (0x00–0xFE).
        wait_time: u8,
        /// The sender's KeyEstablishmentSuite attribute (the suites it supports).
        key_establishment_suite: KeyEstablishmentSuite,
    }
}

fixed_struct! {
    /// InitiateKeyEstablishmentResponse (s→c 0x00; SE 1.0 §C.3.1.4.1; se10.md §7).
    pub struct InitiateKeyEstablishmentResponse / InitiateKeyEstablishmentResponseView {
        /// The suite the initiator asked for (one bit set).
        requested_key_establishment_suite: KeyEstablishmentSuite,
        /// Seconds the responder needs to produce EphemeralDataResponse (0x00–0xFE).
        ephemeral_data_generate_time: u8,
        /// Seconds the responder needs to produce ConfirmKeyResponse (0x00–0xFE).
        confirm_key_generate_time: u8,
        /// The responder's implicit certificate.
        identity: Octets<IDENTITY_LEN>,
    }
}

fixed_struct! {
    /// EphemeralDataResponse (s→c 0x01; SE 1.0 §C.3.1.4.2; se10.md §7).
    pub struct EphemeralDataResponse / EphemeralDataResponseView {
        /// The responder's ephemeral public key.
        ephemeral_data: Octets<EPHEMERAL_DATA_LEN>,
    }
}

fixed_struct! {
    /// ConfirmKeyResponse (s→c 0x02; SE 1.0 §C.3.1.4.3; se10.md §7).
    pub struct ConfirmKeyResponse / ConfirmKeyResponseView {
        /// MACV, the responder's key confirmation.
        secure_message_authentication_code: Octets<MAC_LEN>,
    }
}

command_set! {
    /// Commands generated by the Key Establishment client (the initiator).
    pub enum ClientCommand {
        0x00 => InitiateKeyEstablishmentRequest(InitiateKeyEstablishmentRequest),
        0x01 => EphemeralDataRequest(EphemeralDataRequest),
        0x02 => ConfirmKeyDataRequest(ConfirmKeyDataRequest),
        0x03 => TerminateKeyEstablishment(TerminateKeyEstablishment),
    }
}

command_set! {
    /// Commands generated by the Key Establishment server (the responder, normally the ESI).
    pub enum ServerCommand {
        0x00 => InitiateKeyEstablishmentResponse(InitiateKeyEstablishmentResponse),
        0x01 => EphemeralDataResponse(EphemeralDataResponse),
        0x02 => ConfirmKeyResponse(ConfirmKeyResponse),
        0x03 => TerminateKeyEstablishment(TerminateKeyEstablishment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Repr;
    use crate::ErrorKind;

    /// 0x00, 0x01, 0x02, … as a fixed array.
    fn counting<const N: usize>(start: u8) -> [u8; N] {
        let mut a = [0u8; N];
        for (i, b) in a.iter_mut().enumerate() {
            *b = start.wrapping_add(i as u8);
        }
        a
    }

    fn emit_eq<'a, T: Repr<'a>>(v: &T, bytes: &[u8]) {
        let mut out = [0u8; 64];
        let n = v.emit(&mut out).unwrap();
        assert_eq!(n, v.buffer_len());
        assert_eq!(&out[..n], bytes);
    }

    fn truncated_at<'a, T: Repr<'a> + core::fmt::Debug>(
        bytes: &'a [u8],
        len: usize,
        offset: usize,
        field: &str,
    ) {
        let e = T::parse(&bytes[..len]).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "{e:?}");
        assert_eq!((e.offset, e.field), (offset, field));
    }

    #[test]
    fn initiate_request_and_response() {
        // suite 1, 10 s ephemeral, 20 s confirm, certificate 0x40..0x6F
        let mut bytes = [0u8; 52];
        bytes[..4].copy_from_slice(&[0x01, 0x00, 0x0A, 0x14]);
        bytes[4..].copy_from_slice(&counting::<48>(0x40));
        let req = InitiateKeyEstablishmentRequest::parse(&bytes).unwrap();
        assert_eq!(req.key_establishment_suite, KeyEstablishmentSuite::CRYPTO_SUITE_1);
        assert_eq!((req.ephemeral_data_generate_time, req.confirm_key_generate_time), (10, 20));
        assert_eq!(req.identity, Octets(counting::<48>(0x40)));
        assert_eq!(InitiateKeyEstablishmentRequest::LEN, 52);
        emit_eq(&req, &bytes);
        truncated_at::<InitiateKeyEstablishmentRequest>(&bytes, 1, 0, "key_establishment_suite");
        truncated_at::<InitiateKeyEstablishmentRequest>(
            &bytes,
            2,
            2,
            "ephemeral_data_generate_time",
        );
        truncated_at::<InitiateKeyEstablishmentRequest>(&bytes, 3, 3, "confirm_key_generate_time");
        let e = InitiateKeyEstablishmentRequest::parse(&bytes[..51]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 4, "identity")
        );

        let resp = InitiateKeyEstablishmentResponse::parse(&bytes).unwrap();
        assert_eq!(resp.requested_key_establishment_suite.0, 1);
        assert_eq!(resp.identity, req.identity);
        emit_eq(&resp, &bytes);
        let view = InitiateKeyEstablishmentResponseView::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.confirm_key_generate_time(), 20);
        assert!(InitiateKeyEstablishmentResponseView::new_checked(&bytes[..51]).is_err());
        truncated_at::<InitiateKeyEstablishmentResponse>(
            &bytes,
            0,
            0,
            "requested_key_establishment_suite",
        );
    }

    #[test]
    fn ephemeral_data() {
        let bytes = counting::<22>(0x03);
        let req = EphemeralDataRequest::parse(&bytes).unwrap();
        assert_eq!(req.ephemeral_data.0, bytes);
        emit_eq(&req, &bytes);
        truncated_at::<EphemeralDataRequest>(&bytes, 21, 0, "ephemeral_data");
        let resp = EphemeralDataResponse::parse(&bytes).unwrap();
        emit_eq(&resp, &bytes);
        truncated_at::<EphemeralDataResponse>(&bytes, 0, 0, "ephemeral_data");
        // A longer (e.g. Suite 2) payload parses with the Suite 1 length; the rest is ignored.
        let long = counting::<37>(0x03);
        assert_eq!(EphemeralDataRequest::parse(&long).unwrap(), req);
    }

    #[test]
    fn confirm_key() {
        let bytes = counting::<16>(0xF0);
        let req = ConfirmKeyDataRequest::parse(&bytes).unwrap();
        assert_eq!(req.secure_message_authentication_code.0[15], 0xFF);
        emit_eq(&req, &bytes);
        truncated_at::<ConfirmKeyDataRequest>(&bytes, 15, 0, "secure_message_authentication_code");
        let resp = ConfirmKeyResponse::parse(&bytes).unwrap();
        emit_eq(&resp, &bytes);
        truncated_at::<ConfirmKeyResponse>(&bytes, 8, 0, "secure_message_authentication_code");
    }

    #[test]
    fn terminate() {
        // UNSUPPORTED_SUITE, wait 30 s, supports suite 1
        let bytes = [0x05, 0x1E, 0x01, 0x00];
        let t = TerminateKeyEstablishment::parse(&bytes).unwrap();
        assert_eq!(t.status_code, KeyEstablishmentStatus::UNSUPPORTED_SUITE);
        assert_eq!(t.status_code.name(), Some("UNSUPPORTED_SUITE"));
        assert_eq!(t.wait_time, 30);
        assert!(t.key_establishment_suite.contains(KeyEstablishmentSuite::CRYPTO_SUITE_1));
        assert!(!t.key_establishment_suite.contains(KeyEstablishmentSuite::CRYPTO_SUITE_2));
        emit_eq(&t, &bytes);
        truncated_at::<TerminateKeyEstablishment>(&bytes, 0, 0, "status_code");
        truncated_at::<TerminateKeyEstablishment>(&bytes, 1, 1, "wait_time");
        truncated_at::<TerminateKeyEstablishment>(&bytes, 3, 2, "key_establishment_suite");
        // Unknown status codes survive.
        let odd = TerminateKeyEstablishment::parse(&[0x7A, 0, 0, 0]).unwrap();
        assert_eq!(odd.status_code.name(), None);
        emit_eq(&odd, &[0x7A, 0, 0, 0]);
        // The same command in both directions.
        let c = ClientCommand::parse(0x03, &bytes).unwrap().unwrap();
        let s = ServerCommand::parse(0x03, &bytes).unwrap().unwrap();
        assert_eq!(c, ClientCommand::TerminateKeyEstablishment(t));
        assert_eq!(s, ServerCommand::TerminateKeyEstablishment(t));
        assert_eq!(c.name(), s.name());
    }

    #[test]
    fn command_sets() {
        assert_eq!(ClientCommand::COMMANDS.len(), 4);
        assert_eq!(ServerCommand::COMMANDS[0], (0x00, "InitiateKeyEstablishmentResponse"));
        assert_eq!(ClientCommand::parse(0x04, &[]).unwrap(), None);
        let c = ClientCommand::parse(0x02, &[0; 16]).unwrap().unwrap();
        assert_eq!((c.command_id(), c.buffer_len()), (0x02, 16));
        assert_eq!(ATTRIBUTES[0].data_type, DataType::ENUM16);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_form() {
        let c = ClientCommand::parse(0x02, &counting::<16>(0)).unwrap().unwrap();
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["command"], "ConfirmKeyDataRequest");
        assert_eq!(
            j["fields"]["secure_message_authentication_code"],
            "000102030405060708090a0b0c0d0e0f"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check_roundtrip::<InitiateKeyEstablishmentRequest>(&bytes);
            check_roundtrip::<EphemeralDataRequest>(&bytes);
            check_roundtrip::<ConfirmKeyDataRequest>(&bytes);
            check_roundtrip::<TerminateKeyEstablishment>(&bytes);
            check_roundtrip::<InitiateKeyEstablishmentResponse>(&bytes);
            check_roundtrip::<EphemeralDataResponse>(&bytes);
            check_roundtrip::<ConfirmKeyResponse>(&bytes);
        }
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;
    use crate::cluster::{attribute, cluster_name, ClusterCommand};
    use crate::zcl::{ClusterId, Frame, Payload};

    #[test]
    fn registered_with_the_cluster_dispatch() {
        let id = ClusterId(CLUSTER_ID);
        assert_eq!(cluster_name(id), Some("KeyEstablishment"));
        assert_eq!(
            attribute(id, attr::KEY_ESTABLISHMENT_SUITE).map(|a| a.name),
            Some("KeyEstablishmentSuite")
        );
        // Server→client TerminateKeyEstablishment: BAD_MESSAGE, wait 0, suite 1.
        let frame = [0x09, 0x07, 0x03, 0x03, 0x00, 0x01, 0x00];
        let f = Frame::parse(ClusterId::KEY_ESTABLISHMENT, &frame).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::KeyEstablishmentServer(
                ServerCommand::TerminateKeyEstablishment(t)
            )) if t.status_code == KeyEstablishmentStatus::BAD_MESSAGE
        ));
        // Truncated EphemeralDataRequest: the error offset counts the 3-byte header.
        let e = Frame::parse(ClusterId::KEY_ESTABLISHMENT, &[0x01, 0x08, 0x01, 0xAA]).unwrap_err();
        assert_eq!((e.offset, e.field), (3, "ephemeral_data"));
    }
}
