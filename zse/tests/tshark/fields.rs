//! The tables that map our command fields to Wireshark's: adding a cluster to the cross-check is
//! adding a [`ClusterSpec`], its [`Row`]s (here for the general clusters and Messaging; in
//! `rows_price.rs`, `rows_drlc.rs`, `rows_metering.rs` and `rows_ke.rs` for the other SE
//! clusters) and a generator in `gen.rs`.
//!
//! Field names on our side are the serde names of the codec's command structs (snake_case SE
//! field names); on Wireshark's side they are display-filter names (`tshark -G fields`).
//! Foundation commands are nested record lists whose attribute-id field depends on the record's
//! side, so they are mapped in code (`foundation.rs`, `values.rs`) rather than by rows.
//!
//! Every place where Wireshark 4.0 is known to show something other than what SE 1.0 (or the
//! revision the codec follows) puts on the wire is listed explicitly: [`Kind::Deviation`],
//! [`Kind::UnixTime`] and [`Kind::HexOrEmpty`] rows, [`FIELD_DEVIATIONS`], [`NOT_DISSECTED`], [`MALFORMED_ALLOWED`] and [`ALLOWED_EXPERTS`].

pub use super::rows_drlc::DRLC_ROWS;
pub use super::rows_ke::KE_ROWS;
pub use super::rows_metering::METERING_ROWS;
pub use super::rows_price::PRICE_ROWS;

/// How to turn our field's JSON value into what tshark shows.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Unsigned integer (or bitmap / enum) shown whole.
    Uint,
    /// Signed integer.
    Int,
    /// The bits under a mask, shifted down (a multi-bit subfield of a bitmap).
    Bits(u64),
    /// One bit under a mask, shown by tshark as a boolean (0/1).
    Flag(u64),
    /// A character string.
    Text,
    /// A mandatory character string: the invalid string (length 0xFF, our `null`) is shown
    /// empty, as ZCL defines it.
    TextOrInvalid,
    /// A UTCTime that tshark shows as a date (FT_ABSOLUTE_TIME with the ZigBee epoch).
    ZigbeeTime,
    /// A UTCTime that Wireshark 4.0 shows as a date counted from the Unix epoch (1970) instead
    /// of the ZigBee epoch (2000): the value is compared exactly, only the epoch is Wireshark's
    /// (reason given).
    UnixTime(&'static str),
    /// A list of unsigned integers (every occurrence of the tshark field, in order).
    UintList,
    /// An octet field (our serde form: a hex string), shown by tshark as bytes.
    Hex,
    /// Bytes `start..end` of an octet field (tshark splits a certificate into its parts).
    HexRange(usize, usize),
    /// An optional trailing octet field; when we leave it out, tshark still shows the field,
    /// empty (reason given).
    HexOrEmpty(&'static str),
    /// A known Wireshark deviation: the field is shown as `kind` renders our value instead of as
    /// the specification defines it (reason given). Still an exact comparison.
    Deviation(&'static Kind, &'static str),
}

/// Which command a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// A profile-wide command (any cluster).
    Foundation,
    /// A cluster-specific command of this cluster.
    Cluster(u16),
}

/// One field of one command.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub scope: Scope,
    /// The command name as the codec names it (`DisplayMessage`).
    pub command: &'static str,
    /// Our field name (serde name in the command's JSON).
    pub field: &'static str,
    /// Wireshark's field.
    pub tshark: &'static str,
    pub kind: Kind,
}

pub const fn row(
    scope: Scope,
    command: &'static str,
    field: &'static str,
    tshark: &'static str,
    kind: Kind,
) -> Row {
    Row { scope, command, field, tshark, kind }
}

/// Flattens fixed-size row arrays into one table at compile time.
macro_rules! concat_rows {
    ($($part:expr),* $(,)?) => {{
        const LEN: usize = 0 $( + $part.len() )*;
        const ROWS: [$crate::tshark::fields::Row; LEN] = {
            let mut out = [$crate::tshark::fields::row(
                $crate::tshark::fields::Scope::Foundation, "", "", "", $crate::tshark::fields::Kind::Uint,
            ); LEN];
            let mut n = 0;
            $(
                let part = $part;
                let mut i = 0;
                while i < part.len() {
                    out[n] = part[i];
                    n += 1;
                    i += 1;
                }
            )*
            assert!(n == LEN);
            out
        };
        &ROWS
    }};
}

pub(crate) use concat_rows;

/// A cluster covered by the cross-check.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSpec {
    pub id: u16,
    /// The Wireshark protocol that dissects the cluster's commands (last in `frame.protocols`).
    pub protocol: &'static str,
    /// Field holding the command id of server→client commands.
    pub server_to_client_command: &'static str,
    /// Field holding the command id of client→server commands.
    pub client_to_server_command: &'static str,
    /// Field Wireshark uses for ids of the server's attributes in foundation commands.
    pub attr_id: &'static str,
    /// Field Wireshark uses for ids of the client's attributes.
    pub attr_client_id: &'static str,
}

/// Wireshark's generic attribute-id field, used where a cluster dissector defines none.
const GENERIC_ATTR_ID: &str = "zbee_zcl.attr.id";

pub const CLUSTERS: &[ClusterSpec] = &[
    ClusterSpec {
        id: 0x0000,
        protocol: "zbee_zcl_general.basic",
        server_to_client_command: "zbee_zcl_general.basic.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_general.basic.cmd.srv_rx.id",
        attr_id: "zbee_zcl_general.basic.attr_id",
        // Wireshark's general-cluster dissectors use one field for both sides.
        attr_client_id: "zbee_zcl_general.basic.attr_id",
    },
    ClusterSpec {
        id: 0x0003,
        protocol: "zbee_zcl_general.identify",
        server_to_client_command: "zbee_zcl_general.identify.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_general.identify.cmd.srv_rx.id",
        attr_id: "zbee_zcl_general.identify.attr_id",
        attr_client_id: "zbee_zcl_general.identify.attr_id",
    },
    // Time has attributes but no commands: only foundation commands are sent on it.
    ClusterSpec {
        id: 0x000A,
        protocol: "zbee_zcl_general.time",
        server_to_client_command: "zbee_zcl_general.time.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_general.time.cmd.srv_rx.id",
        attr_id: "zbee_zcl_general.time.attr_id",
        attr_client_id: "zbee_zcl_general.time.attr_id",
    },
    ClusterSpec {
        id: 0x0700,
        protocol: "zbee_zcl_se.price",
        server_to_client_command: "zbee_zcl_se.price.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.price.cmd.srv_rx.id",
        attr_id: "zbee_zcl_se.price.attr_id",
        attr_client_id: "zbee_zcl_se.price.attr_client_id",
    },
    ClusterSpec {
        id: 0x0701,
        protocol: "zbee_zcl_se.drlc",
        server_to_client_command: "zbee_zcl_se.drlc.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.drlc.cmd.srv_rx.id",
        // The DRLC server has no attributes; Wireshark defines only the client's.
        attr_id: GENERIC_ATTR_ID,
        attr_client_id: "zbee_zcl_se.drlc.attr_client_id",
    },
    ClusterSpec {
        id: 0x0702,
        protocol: "zbee_zcl_se.met",
        server_to_client_command: "zbee_zcl_se.met.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.met.cmd.srv_rx.id",
        attr_id: "zbee_zcl_se.met.attr_id",
        attr_client_id: "zbee_zcl_se.met.attr_client_id",
    },
    ClusterSpec {
        id: 0x0703,
        protocol: "zbee_zcl_se.msg",
        server_to_client_command: "zbee_zcl_se.msg.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.msg.cmd.srv_rx.id",
        // Wireshark's Messaging dissector defines no attributes: generic ZCL attribute ids.
        attr_id: GENERIC_ATTR_ID,
        attr_client_id: GENERIC_ATTR_ID,
    },
    ClusterSpec {
        id: 0x0800,
        protocol: "zbee_zcl_se.ke",
        server_to_client_command: "zbee_zcl_se.ke.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.ke.cmd.srv_rx.id",
        attr_id: "zbee_zcl_se.ke.attr_id",
        attr_client_id: "zbee_zcl_se.ke.attr_client_id",
    },
];

/// The spec of a covered cluster.
pub fn cluster(id: u16) -> &'static ClusterSpec {
    CLUSTERS.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("cluster 0x{id:04x} not covered"))
}

/// ZCL header fields every frame is checked against (besides the command id field).
pub const HEADER_FIELDS: &[&str] = &[
    "zbee_zcl.type",
    "zbee_zcl.ms",
    "zbee_zcl.dir",
    "zbee_zcl.ddr",
    "zbee_zcl.cmd.tsn",
    "zbee_zcl.cmd.mc",
];

/// Every row table.
pub const TABLES: &[&[Row]] =
    &[GENERAL_ROWS, MESSAGING_ROWS, PRICE_ROWS, DRLC_ROWS, METERING_ROWS, KE_ROWS];

/// All rows of all tables.
pub fn rows() -> impl Iterator<Item = &'static Row> {
    TABLES.iter().flat_map(|t| t.iter())
}

const MSG: Scope = Scope::Cluster(0x0703);
const IDENTIFY: Scope = Scope::Cluster(0x0003);

/// Basic (ResetToFactoryDefaults has no payload) and Identify (ZCL §3.2, §3.5).
pub const GENERAL_ROWS: &[Row] = &[
    row(
        IDENTIFY,
        "Identify",
        "identify_time",
        "zbee_zcl_general.identify.attr.identify_time",
        Kind::Uint,
    ),
    row(
        IDENTIFY,
        "IdentifyQueryResponse",
        "timeout",
        "zbee_zcl_general.identify.identify_timeout",
        Kind::Uint,
    ),
];

/// Messaging (SE 1.0 §D.5; se10.md §5).
pub const MESSAGING_ROWS: &[Row] = &[
    row(MSG, "DisplayMessage", "message_id", "zbee_zcl_se.msg.message.id", Kind::Uint),
    row(MSG, "DisplayMessage", "message_control", "zbee_zcl_se.msg.message.ctrl", Kind::Uint),
    row(
        MSG,
        "DisplayMessage",
        "message_control",
        "zbee_zcl_se.msg.message.ctrl.tx",
        Kind::Bits(0x03),
    ),
    row(
        MSG,
        "DisplayMessage",
        "message_control",
        "zbee_zcl_se.msg.message.ctrl.importance",
        Kind::Bits(0x0C),
    ),
    row(
        MSG,
        "DisplayMessage",
        "message_control",
        "zbee_zcl_se.msg.message.ctrl.enhconfirm",
        Kind::Flag(0x20),
    ),
    row(
        MSG,
        "DisplayMessage",
        "message_control",
        "zbee_zcl_se.msg.message.ctrl.reserved",
        Kind::Bits(0x50),
    ),
    row(
        MSG,
        "DisplayMessage",
        "message_control",
        "zbee_zcl_se.msg.message.ctrl.confirm",
        Kind::Flag(0x80),
    ),
    row(MSG, "DisplayMessage", "start_time", "zbee_zcl_se.msg.message.start_time", Kind::Uint),
    row(
        MSG,
        "DisplayMessage",
        "duration_in_minutes",
        "zbee_zcl_se.msg.message.duration",
        Kind::Uint,
    ),
    row(MSG, "DisplayMessage", "message", "zbee_zcl_se.msg.message", Kind::TextOrInvalid),
    row(
        MSG,
        "DisplayMessage",
        "extended_message_control",
        "zbee_zcl_se.msg.message.ext.ctrl",
        Kind::Uint,
    ),
    row(
        MSG,
        "DisplayMessage",
        "extended_message_control",
        "zbee_zcl_se.msg.message.ext.ctrl.status",
        Kind::Flag(0x01),
    ),
    row(MSG, "CancelMessage", "message_id", "zbee_zcl_se.msg.message.id", Kind::Uint),
    row(MSG, "CancelMessage", "message_control", "zbee_zcl_se.msg.message.ctrl", Kind::Uint),
    row(MSG, "MessageConfirmation", "message_id", "zbee_zcl_se.msg.message.id", Kind::Uint),
    row(
        MSG,
        "MessageConfirmation",
        "confirmation_time",
        "zbee_zcl_se.msg.message.confirm_time",
        Kind::ZigbeeTime,
    ),
    row(
        MSG,
        "MessageConfirmation",
        "message_confirmation_control",
        "zbee_zcl_se.msg.message.confirm.ctrl",
        Kind::Flag(0x01),
    ),
    row(MSG, "MessageConfirmation", "message_response", "zbee_zcl_se.msg.message", Kind::Text),
];

/// Expert items Wireshark raises on frames we consider correct, with the reason. Anything at
/// PI_ERROR or in the malformed group fails regardless.
pub const ALLOWED_EXPERTS: &[(&str, &str)] = &[(
    "zbee_zcl_se.msg.msg_ctrl.deprecated",
    "SE 1.2 deprecated CancelMessage's control byte; SE 1.0 still sends it (toolchain.md)",
)];

/// How Wireshark fails to dissect a command's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undissected {
    /// Wireshark decodes the payload with another layout: only the ZCL header and command id
    /// are compared; fields of the wrong layout, undissected bytes, expert items and a
    /// malformed marker are tolerated.
    Misparsed,
    /// The codec keeps the payload as raw bytes, so Wireshark's decoding of it has nothing on
    /// our side to be compared with: checked like [`Undissected::Misparsed`].
    Raw,
}

/// How much of one frame's payload Wireshark shows as we wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dissection {
    /// All of it: every field is compared.
    Full,
    /// The fields up to a point, then undissected bytes (`data` in `frame.protocols`).
    DataTail,
    /// Nothing we can compare ([`NOT_DISSECTED`]): only the ZCL header and command id.
    HeaderOnly,
}

/// Commands whose payload Wireshark 4.0 does not dissect as the codec writes it. For them the
/// cross-check asserts the ZCL header and the command id, and exactly the limitation named here.
pub const NOT_DISSECTED: &[(Scope, &str, Undissected, &str)] = &[
    (
        Scope::Foundation,
        "ReadAttributesStructured",
        Undissected::Raw,
        "the codec keeps structured commands raw (RawPayload, no selector model: SE 1.0 has no \
         array, set, bag or structure attribute to address); random payload bytes",
    ),
    (
        Scope::Foundation,
        "WriteAttributesStructured",
        Undissected::Raw,
        "raw payload on our side (see ReadAttributesStructured)",
    ),
    (
        Scope::Foundation,
        "WriteAttributesStructuredResponse",
        Undissected::Raw,
        "raw payload on our side (see ReadAttributesStructured)",
    ),
    (
        Scope::Foundation,
        "DiscoverAttributesExtendedResponse",
        Undissected::Misparsed,
        "when records follow a Discovery Complete of 0, Wireshark 4.0 reads an attribute value \
         after each record's data type (the record has none: id, type, access control; ZCL \
         rev. 6 §2.5.24) and then a wrong access control; with 1 it shows the flag and leaves \
         the records undissected, which is compared (foundation.rs)",
    ),
];

/// Commands that Wireshark 4.0 flags as malformed although the bytes are what the codec's
/// specification revision defines (reason given). Only these commands may carry the marker.
pub const MALFORMED_ALLOWED: &[(Scope, &str, &str)] = &[(
    Scope::Cluster(0x0700),
    "PublishBlockPeriod",
    "Wireshark 4.0 dissects the SE 1.2 layout (control, duration type, tariff type, tariff \
     resolution period after the duration: 19 bytes); the codec writes SE 1.1's 17 bytes, so \
     Wireshark runs out of bytes at the tariff type",
)];

/// The [`NOT_DISSECTED`] entry of a command, if any. Foundation commands are looked up by
/// `foundation.rs`, which knows when a conditional entry applies.
pub fn not_dissected(scope: Scope, command: &str) -> Option<Undissected> {
    NOT_DISSECTED.iter().find(|(s, c, _, _)| *s == scope && *c == command).map(|(_, _, u, _)| *u)
}

/// Field-level deviations of Wireshark 4.0 handled in code (`foundation.rs`, `gen.rs`), listed
/// here so that every exception of the cross-check can be printed from one place.
pub const FIELD_DEVIATIONS: &[(&str, &str)] = &[
    (
        "DiscoverCommandsReceivedResponse, DiscoverCommandsGeneratedResponse",
        "with Discovery Complete = 1 Wireshark 4.0 stops after that byte and leaves the command \
         ids undissected (`data`); with 0 it shows them, and they are compared",
    ),
    (
        "DiscoverAttributesResponse.discovery_complete",
        "Wireshark 4.0 consumes the byte without showing it: nothing to compare",
    ),
    (
        "ConfigureReporting, ReadReportingConfigurationResponse",
        "Wireshark 4.0 reads a reportable change after enumerations and 0xE8-0xFF ids (its \
         IS_ANALOG_SUBTYPE), ZCL does not: records of those types are not generated",
    ),
    (
        "InitiateKeyEstablishmentRequest/Response.key_establishment_suite",
        "always Crypto Suite 1: the codec writes Suite 1's 48-byte certificate and Wireshark \
         picks the certificate layout by this field (Suite 2: 74 bytes)",
    ),
];

/// Every exception in effect, one line each (printed by the cross-check).
pub fn exceptions() -> Vec<String> {
    let mut out = Vec::new();
    for r in rows() {
        if let Kind::Deviation(_, why) | Kind::UnixTime(why) | Kind::HexOrEmpty(why) = r.kind {
            out.push(format!("{}.{} ({}): {why}", r.command, r.field, r.tshark));
        }
    }
    for (_, command, how, why) in NOT_DISSECTED {
        out.push(format!("{command}: not compared ({how:?}): {why}"));
    }
    for (_, command, why) in MALFORMED_ALLOWED {
        out.push(format!("{command}: malformed marker allowed: {why}"));
    }
    for (expert, why) in ALLOWED_EXPERTS {
        out.push(format!("expert item {expert} allowed: {why}"));
    }
    for (what, why) in FIELD_DEVIATIONS {
        out.push(format!("{what}: {why}"));
    }
    for (ty, why) in super::values::UNDISSECTED_TYPES {
        out.push(format!("data type 0x{:02x} not generated: {why}", ty.0));
    }
    for (cluster, client, from, to, why) in super::values::AVOIDED_ATTRIBUTES {
        let side = if *client { "client" } else { "server" };
        out.push(format!(
            "cluster 0x{cluster:04x} {side} attributes 0x{from:04x}-0x{to:04x} not generated: {why}"
        ));
    }
    out
}
