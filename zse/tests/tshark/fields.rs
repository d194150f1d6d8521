//! The table that maps our command fields to Wireshark's: adding a cluster to the cross-check
//! is adding a [`ClusterSpec`], its [`Row`]s here and a generator in `gen.rs`.
//!
//! Field names on our side are the serde names of the codec's command structs (snake_case SE
//! field names); on Wireshark's side they are display-filter names (`tshark -G fields`).

/// How to turn our field's JSON value into what tshark shows.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // `Int` and `Quirk` are for the clusters still to come (DRLC, Metering).
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
    /// A UTCTime that tshark shows as a date (FT_ABSOLUTE_TIME with the ZigBee epoch).
    ZigbeeTime,
    /// A list of unsigned integers (every occurrence of the tshark field, in order).
    UintList,
    /// Only presence is checked: Wireshark decodes the value differently (reason given).
    Quirk(&'static str),
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
    /// Wireshark's field. `@attr_id` stands for the cluster's attribute-id field.
    pub tshark: &'static str,
    pub kind: Kind,
}

const fn row(
    scope: Scope,
    command: &'static str,
    field: &'static str,
    tshark: &'static str,
    kind: Kind,
) -> Row {
    Row { scope, command, field, tshark, kind }
}

/// A cluster covered by the cross-check.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSpec {
    pub id: u16,
    /// The Wireshark protocol that dissects the cluster (last in `frame.protocols`).
    pub protocol: &'static str,
    /// Field holding the command id of server→client commands.
    pub server_to_client_command: &'static str,
    /// Field holding the command id of client→server commands.
    pub client_to_server_command: &'static str,
    /// Field Wireshark uses for attribute ids in foundation commands on this cluster.
    pub attr_id: &'static str,
}

pub const CLUSTERS: &[ClusterSpec] = &[
    ClusterSpec {
        id: 0x0000,
        protocol: "zbee_zcl_general.basic",
        server_to_client_command: "zbee_zcl_general.basic.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_general.basic.cmd.srv_rx.id",
        attr_id: "zbee_zcl_general.basic.attr_id",
    },
    ClusterSpec {
        id: 0x0003,
        protocol: "zbee_zcl_general.identify",
        server_to_client_command: "zbee_zcl_general.identify.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_general.identify.cmd.srv_rx.id",
        attr_id: "zbee_zcl_general.identify.attr_id",
    },
    ClusterSpec {
        id: 0x0703,
        protocol: "zbee_zcl_se.msg",
        server_to_client_command: "zbee_zcl_se.msg.cmd.srv_tx.id",
        client_to_server_command: "zbee_zcl_se.msg.cmd.srv_rx.id",
        // Wireshark's Messaging dissector defines no attributes: generic ZCL attribute ids.
        attr_id: "zbee_zcl.attr.id",
    },
];

const MSG: Scope = Scope::Cluster(0x0703);
const IDENTIFY: Scope = Scope::Cluster(0x0003);
const FOUNDATION: Scope = Scope::Foundation;

/// ZCL header fields every frame is checked against (besides the command id field).
pub const HEADER_FIELDS: &[&str] = &[
    "zbee_zcl.type",
    "zbee_zcl.ms",
    "zbee_zcl.dir",
    "zbee_zcl.ddr",
    "zbee_zcl.cmd.tsn",
    "zbee_zcl.cmd.mc",
];

pub const ROWS: &[Row] = &[
    // Foundation (ZCL §2.4; se10.md §1.4).
    row(FOUNDATION, "ReadAttributes", "attribute_ids", "@attr_id", Kind::UintList),
    row(FOUNDATION, "DefaultResponse", "command_id", "zbee_zcl.cmd.id.rsp", Kind::Uint),
    row(FOUNDATION, "DefaultResponse", "status", "zbee_zcl.attr.status", Kind::Uint),
    // Identify (ZCL §3.5).
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
    // Messaging (SE 1.0 §D.5; se10.md §5).
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
    row(MSG, "DisplayMessage", "message", "zbee_zcl_se.msg.message", Kind::Text),
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
