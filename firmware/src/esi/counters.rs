//! Event counters, reported in `GetStatus` and the host heartbeat. All saturate instead of
//! wrapping, so a counter read as `u32::MAX` means "at least that many".

/// What the core has counted since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// APS indications handed to the core.
    pub rx_frames: u32,
    /// Indications not on the SE profile, or not for our endpoint.
    pub rx_wrong_profile_or_endpoint: u32,
    /// Frames from devices that are not in the slot table (dropped unanswered).
    pub rx_unknown_device: u32,
    /// Frames dropped because their security was too weak for the cluster.
    pub rx_insecure: u32,
    /// Frames whose ZCL header or payload did not decode.
    pub rx_malformed: u32,
    /// Commands answered with an UNSUP_* or UNSUPPORTED_CLUSTER Default Response.
    pub rx_unsupported: u32,
    /// Default Responses sent by the core.
    pub tx_default_responses: u32,
    /// APS frames handed to the radio (first attempts, retries and replies).
    pub tx_frames: u32,
    /// Retransmissions of pushes.
    pub retries: u32,
    /// Deliveries that ended in Timeout.
    pub delivery_timeouts: u32,
    /// Deliveries that ended in ApsFailed.
    pub delivery_failures: u32,
    /// Confirms for handles no delivery is waiting on (late, duplicate or for replies).
    pub stale_confirms: u32,
    /// Join attempts refused.
    pub joins_refused: u32,
    /// Outputs dropped because the caller did not drain `poll_action` (should stay 0).
    pub queue_overflows: u32,
    /// Replies dropped because an encoded frame would exceed one APS payload.
    pub encode_failures: u32,
}

pub(crate) fn bump(c: &mut u32) {
    *c = c.saturating_add(1);
}
