//! Foundation commands (ZCL §2.4; se10.md §1.3–1.4) as Wireshark 4.0 shows them. Records are
//! nested and the attribute-id field depends on whose attribute a record addresses, so this is
//! code rather than rows of `fields.rs`.

use super::dissection::{Expect, Want};
use super::fields::{not_dissected, ClusterSpec, Dissection, Scope};
use super::values::{self, AttrSide};
use zse::zcl::foundation::{Command, ReportingConfiguration, ReportingDirection};
use zse::zcl::{AttributeId, Direction, Status};

/// Data types that are analog for Wireshark 4.0 but discrete in ZCL (§2.5.2, Table 2-10):
/// Wireshark's `IS_ANALOG_SUBTYPE` is `(t & 0xE0) == 0x20 || (t & 0xE0) == 0xE0`, so it expects
/// a reportable change after enumerations (0x30, 0x31) and ids, addresses and keys (0xE8–0xFF),
/// which the codec rightly does not write. Reporting records of these types would be misread,
/// so the generators leave them out of Configure Reporting and Read Reporting Configuration
/// Response.
pub fn reporting_type_misread(ty: zse::zcl::DataType) -> bool {
    let wireshark_analog = (ty.0 & 0xE0) == 0x20 || (ty.0 & 0xE0) == 0xE0;
    wireshark_analog != ty.is_analog()
}

/// Fields every foundation command may show; those a command does not use must be absent.
const FIELDS: &[&str] = &[
    "zbee_zcl.attr.status",
    "zbee_zcl.attr.data.type",
    "zbee_zcl.attr.dir",
    "zbee_zcl.attr.minint",
    "zbee_zcl.attr.maxint",
    "zbee_zcl.attr.timeout",
    "zbee_zcl.attr.dis",
    "zbee_zcl.attr.start",
    "zbee_zcl.attr.maxnum",
    "zbee_zcl.cmd.start",
    "zbee_zcl.cmd.maxnum",
    "zbee_zcl.cmd.id.rsp",
    "zbee_zcl.cs.cmd.id",
];

/// Expected fields of a foundation command sent with `direction` on `cluster`, and how much of
/// the payload Wireshark dissects.
#[allow(clippy::too_many_lines)] // one arm per command id, 0x00–0x16
pub fn expectations(
    e: &mut Expect,
    cluster: &'static ClusterSpec,
    direction: Direction,
    command: &Command<'_>,
) -> Dissection {
    if not_dissected(Scope::Foundation, command.name()).is_some() {
        // DiscoverAttributesExtendedResponse is misread only when records follow a Discovery
        // Complete of 0 (see its NOT_DISSECTED entry); the other entries are never compared.
        let readable = match command {
            Command::DiscoverAttributesExtendedResponse(c) => {
                c.discovery_complete || c.attributes.is_empty()
            }
            _ => false,
        };
        if !readable {
            return Dissection::HeaderOnly;
        }
    }
    for f in FIELDS {
        e.none(f);
    }
    e.none(cluster.attr_id);
    e.none(cluster.attr_client_id);
    // A request addresses the receiver's attributes: the client's when the server sends it. A
    // response or report carries the sender's own attributes.
    let request = AttrSide { cluster, client: direction == Direction::ServerToClient };
    let own = AttrSide { cluster, client: direction == Direction::ClientToServer };
    let status = |e: &mut Expect, s: Status| e.push("zbee_zcl.attr.status", Want::Uint(s.0.into()));
    let attr = |e: &mut Expect, side: AttrSide, a: AttributeId| {
        e.push(side.id_field(), Want::Uint(a.0.into()));
    };
    match command {
        Command::ReadAttributes(c) => {
            for a in &c.attribute_ids {
                attr(e, request, a);
            }
        }
        Command::ReadAttributesResponse(c) => {
            for r in &c.records {
                attr(e, own, r.attribute_id);
                status(e, r.status);
                if let Some(v) = &r.value {
                    values::typed_value(e, v, own, r.attribute_id);
                }
            }
        }
        Command::WriteAttributes(c)
        | Command::WriteAttributesUndivided(c)
        | Command::WriteAttributesNoResponse(c) => {
            for r in &c.records {
                attr(e, request, r.attribute_id);
                values::typed_value(e, &r.value, request, r.attribute_id);
            }
        }
        Command::WriteAttributesResponse(c) => match c {
            zse::zcl::foundation::WriteAttributesResponse::AllSuccess => status(e, Status::SUCCESS),
            zse::zcl::foundation::WriteAttributesResponse::StatusRecords(records) => {
                for r in records {
                    status(e, r.status);
                    attr(e, own, r.attribute_id);
                }
            }
        },
        Command::ConfigureReporting(c) => {
            for r in &c.records {
                let dir = r.configuration.direction();
                e.push("zbee_zcl.attr.dir", Want::Uint(dir.0.into()));
                let side = record_side(request, dir);
                attr(e, side, r.attribute_id);
                configuration(e, &r.configuration, side, r.attribute_id);
            }
        }
        Command::ConfigureReportingResponse(c) => match c {
            zse::zcl::foundation::ConfigureReportingResponse::AllSuccess => {
                status(e, Status::SUCCESS);
            }
            zse::zcl::foundation::ConfigureReportingResponse::StatusRecords(records) => {
                for r in records {
                    status(e, r.status);
                    e.push("zbee_zcl.attr.dir", Want::Uint(r.direction.0.into()));
                    attr(e, record_side(own, r.direction), r.attribute_id);
                }
            }
        },
        Command::ReadReportingConfiguration(c) => {
            for r in &c.records {
                e.push("zbee_zcl.attr.dir", Want::Uint(r.direction.0.into()));
                attr(e, record_side(request, r.direction), r.attribute_id);
            }
        }
        Command::ReadReportingConfigurationResponse(c) => {
            for r in &c.records {
                status(e, r.status);
                e.push("zbee_zcl.attr.dir", Want::Uint(r.direction.0.into()));
                let side = record_side(own, r.direction);
                attr(e, side, r.attribute_id);
                if let Some(config) = &r.configuration {
                    configuration(e, config, side, r.attribute_id);
                }
            }
        }
        Command::ReportAttributes(c) => {
            for r in &c.records {
                attr(e, own, r.attribute_id);
                values::typed_value(e, &r.value, own, r.attribute_id);
            }
        }
        Command::DefaultResponse(c) => {
            e.push("zbee_zcl.cmd.id.rsp", Want::Uint(c.command_id.into()));
            status(e, c.status);
        }
        Command::DiscoverAttributes(c) | Command::DiscoverAttributesExtended(c) => {
            e.push("zbee_zcl.attr.start", Want::Uint(c.start_attribute_id.0.into()));
            e.push("zbee_zcl.attr.maxnum", Want::Uint(c.maximum_attribute_ids.into()));
        }
        Command::DiscoverAttributesResponse(c) => {
            // Known Wireshark 4.0 deviation: the Discovery Complete byte is consumed but not
            // shown (no field), so `discovery_complete` has nothing to be compared with.
            for r in &c.attributes {
                attr(e, own, r.attribute_id);
                e.push("zbee_zcl.attr.data.type", Want::Uint(r.attribute_data_type.0.into()));
            }
        }
        Command::DiscoverCommandsReceived(c) | Command::DiscoverCommandsGenerated(c) => {
            e.push("zbee_zcl.cmd.start", Want::Uint(c.start_command_id.into()));
            e.push("zbee_zcl.cmd.maxnum", Want::Uint(c.maximum_command_ids.into()));
        }
        Command::DiscoverCommandsReceivedResponse(c)
        | Command::DiscoverCommandsGeneratedResponse(c) => {
            e.push("zbee_zcl.attr.dis", Want::Uint(c.discovery_complete.into()));
            // Known Wireshark 4.0 deviation: with Discovery Complete = 1 it stops after that
            // byte and leaves the command ids undissected (`data`); with 0 it shows them.
            if c.discovery_complete {
                return data_tail(!c.command_ids.is_empty());
            }
            for id in &c.command_ids {
                e.push("zbee_zcl.cs.cmd.id", Want::Uint(id.0.into()));
            }
        }
        // The cases Wireshark reads right (see its NOT_DISSECTED entry): the flag, then no
        // records, or records left undissected after a Discovery Complete of 1.
        Command::DiscoverAttributesExtendedResponse(c) => {
            e.push("zbee_zcl.attr.dis", Want::Uint(c.discovery_complete.into()));
            return data_tail(!c.attributes.is_empty());
        }
        // Raw on our side (NOT_DISSECTED): returned above.
        Command::ReadAttributesStructured(_)
        | Command::WriteAttributesStructured(_)
        | Command::WriteAttributesStructuredResponse(_) => return Dissection::HeaderOnly,
    }
    Dissection::Full
}

fn data_tail(some_bytes: bool) -> Dissection {
    if some_bytes {
        Dissection::DataTail
    } else {
        Dissection::Full
    }
}

/// The side of a reporting record's attribute: direction 0x01 ("receive reports") concerns the
/// other end's attribute, and Wireshark switches the attribute-id field accordingly.
fn record_side(side: AttrSide, direction: ReportingDirection) -> AttrSide {
    if direction == ReportingDirection::RECEIVE_REPORTS {
        side.flipped()
    } else {
        side
    }
}

fn configuration(
    e: &mut Expect,
    c: &ReportingConfiguration<'_>,
    side: AttrSide,
    attribute: AttributeId,
) {
    match c {
        ReportingConfiguration::SendReports {
            attribute_data_type,
            minimum_reporting_interval,
            maximum_reporting_interval,
            reportable_change,
        } => {
            e.push("zbee_zcl.attr.data.type", Want::Uint(attribute_data_type.0.into()));
            e.push("zbee_zcl.attr.minint", Want::Uint((*minimum_reporting_interval).into()));
            e.push("zbee_zcl.attr.maxint", Want::Uint((*maximum_reporting_interval).into()));
            if let Some(v) = reportable_change {
                values::value(e, v, side, attribute);
            }
        }
        ReportingConfiguration::ReceiveReports { timeout_period } => {
            e.push("zbee_zcl.attr.timeout", Want::Uint((*timeout_period).into()));
        }
    }
}
