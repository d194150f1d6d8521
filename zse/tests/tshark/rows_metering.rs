//! Metering rows (see `fields.rs`).

use super::fields::{row, Kind, Row, Scope};

const MET: Scope = Scope::Cluster(0x0702);

/// Metering (SE 1.0 §D.3; se10.md §6.8). RequestMirror and RemoveMirror have no payload.
pub const METERING_ROWS: &[Row] = &[
    row(
        MET,
        "GetProfile",
        "interval_channel",
        "zbee_zcl_se.met.get_profile.interval_channel",
        Kind::Uint,
    ),
    row(MET, "GetProfile", "end_time", "zbee_zcl_se.met.get_profile.end_time", Kind::ZigbeeTime),
    row(
        MET,
        "GetProfile",
        "number_of_periods",
        "zbee_zcl_se.met.get_profile.number_of_periods",
        Kind::Uint,
    ),
    row(
        MET,
        "RequestMirrorResponse",
        "endpoint_id",
        "zbee_zcl_se.met.request_mirror_rsp.endpoint_id",
        Kind::Uint,
    ),
    row(
        MET,
        "MirrorRemoved",
        "removed_endpoint_id",
        "zbee_zcl_se.met.mirror_removed.removed_endpoint_id",
        Kind::Uint,
    ),
    row(
        MET,
        "RequestFastPollMode",
        "fast_poll_update_period",
        "zbee_zcl_se.met.request_fast_poll_mode.fast_poll_update_period",
        Kind::Uint,
    ),
    row(
        MET,
        "RequestFastPollMode",
        "duration",
        "zbee_zcl_se.met.request_fast_poll_mode.duration",
        Kind::Uint,
    ),
    row(
        MET,
        "GetProfileResponse",
        "end_time",
        "zbee_zcl_se.met.get_profile_response.end_time",
        Kind::ZigbeeTime,
    ),
    row(
        MET,
        "GetProfileResponse",
        "status",
        "zbee_zcl_se.met.get_profile_response.status",
        Kind::Uint,
    ),
    row(
        MET,
        "GetProfileResponse",
        "profile_interval_period",
        "zbee_zcl_se.met.get_profile_response.profile_interval_period",
        Kind::Uint,
    ),
    row(
        MET,
        "GetProfileResponse",
        "number_of_periods_delivered",
        "zbee_zcl_se.met.get_profile_response.number_of_periods_delivered",
        Kind::Uint,
    ),
    row(
        MET,
        "GetProfileResponse",
        "intervals",
        "zbee_zcl_se.met.get_profile_response.intervals",
        Kind::UintList,
    ),
    row(
        MET,
        "RequestFastPollModeResponse",
        "applied_update_period",
        "zbee_zcl_se.met.request_fast_poll_mode_response.applied_update_period",
        Kind::Uint,
    ),
    row(
        MET,
        "RequestFastPollModeResponse",
        "fast_poll_mode_endtime",
        "zbee_zcl_se.met.request_fast_poll_mode_response.fast_poll_mode_end_time",
        Kind::UnixTime(
            "Wireshark 4.0 shows Fast Poll Mode End Time counted from 1970 instead of 2000",
        ),
    ),
];
