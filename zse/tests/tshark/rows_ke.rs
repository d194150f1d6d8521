//! Key Establishment rows (see `fields.rs`).

use super::fields::{concat_rows, row, Kind, Row, Scope};

const KE: Scope = Scope::Cluster(0x0800);

/// Key Establishment (SE 1.0 Annex C.3; se10.md §7), Crypto Suite 1 sizes. Wireshark splits the
/// 48-byte implicit certificate into public-key reconstruction data, subject, issuer and
/// profile attribute data (SE 1.0 §C.4.2.2.4).
macro_rules! ke_initiate_rows {
    ($command:literal, $suite:literal) => {
        [
            row(KE, $command, $suite, "zbee_zcl_se.ke.attr.suite", Kind::Uint),
            row(
                KE,
                $command,
                "ephemeral_data_generate_time",
                "zbee_zcl_se.ke.init.ephemeral.time",
                Kind::Uint,
            ),
            row(
                KE,
                $command,
                "confirm_key_generate_time",
                "zbee_zcl_se.ke.init.confirm.time",
                Kind::Uint,
            ),
            row(KE, $command, "identity", "zbee_zcl_se.ke.cert.reconst", Kind::HexRange(0, 22)),
            row(KE, $command, "identity", "zbee_zcl_se.ke.cert.subject", Kind::HexRange(22, 30)),
            row(KE, $command, "identity", "zbee_zcl_se.ke.cert.issuer", Kind::HexRange(30, 38)),
            row(KE, $command, "identity", "zbee_zcl_se.ke.cert.profile", Kind::HexRange(38, 48)),
        ]
    };
}

pub const KE_ROWS: &[Row] = concat_rows![
    ke_initiate_rows!("InitiateKeyEstablishmentRequest", "key_establishment_suite"),
    ke_initiate_rows!("InitiateKeyEstablishmentResponse", "requested_key_establishment_suite"),
    [
        row(KE, "EphemeralDataRequest", "ephemeral_data", "zbee_zcl_se.ke.qeu", Kind::Hex),
        row(KE, "EphemeralDataResponse", "ephemeral_data", "zbee_zcl_se.ke.qev", Kind::Hex),
        row(
            KE,
            "ConfirmKeyDataRequest",
            "secure_message_authentication_code",
            "zbee_zcl_se.ke.macu",
            Kind::Hex
        ),
        row(
            KE,
            "ConfirmKeyResponse",
            "secure_message_authentication_code",
            "zbee_zcl_se.ke.macv",
            Kind::Hex
        ),
        // TerminateKeyEstablishment exists in both directions under one name.
        row(
            KE,
            "TerminateKeyEstablishment",
            "status_code",
            "zbee_zcl_se.ke.terminate.status",
            Kind::Uint
        ),
        row(
            KE,
            "TerminateKeyEstablishment",
            "wait_time",
            "zbee_zcl_se.ke.terminate.wait.time",
            Kind::Uint
        ),
        row(
            KE,
            "TerminateKeyEstablishment",
            "key_establishment_suite",
            "zbee_zcl_se.ke.attr.suite",
            Kind::Uint
        ),
    ],
];
