//! Metering cluster 0x0702 (SE 1.0 §D.3; se10.md §6): consumption readings, their scaling and
//! formatting, load profiles, mirroring of sleepy meters, and (SE 1.1) fast poll mode.
//!
//! The meter is the Metering **server**: it holds the attributes and answers GetProfile. An ESI
//! that mirrors a battery meter acts as the **client** for RequestMirror / RemoveMirror and then
//! hosts a server mirror that the meter fills with Report Attributes (se10.md §6.8).
//!
//! * [`attr`] and [`ATTRIBUTES`]: the attribute ids and their data types.
//! * [`MeterStatus`], [`UnitOfMeasure`], [`MeteringDeviceType`]: the status and formatting-set
//!   enumerations and bitmaps.
//! * [`Formatting`] and [`Scaling`]: raw value × Multiplier / Divisor in integer arithmetic, for
//!   the gateway's 3-decimal kWh readings (BR-001.011) and for display.
//! * The commands of se10.md §6.8 and the two command sets [`ClientCommand`] and
//!   [`ServerCommand`].

pub mod attr;
mod commands;
mod scaling;
mod types;

pub use attr::ATTRIBUTES;
pub use commands::{
    ClientCommand, GetProfile, GetProfileResponse, GetProfileStatus, GetProfileView, Interval,
    IntervalChannel, MirrorRemoved, MirrorRemovedView, ProfileIntervalPeriod, RemoveMirror,
    RemoveMirrorView, RequestFastPollMode, RequestFastPollModeResponse,
    RequestFastPollModeResponseView, RequestFastPollModeView, RequestMirror, RequestMirrorResponse,
    RequestMirrorResponseView, RequestMirrorView, ServerCommand,
};
pub use scaling::{Formatting, ScaledValue, Scaling};
pub use types::{MeterStatus, MeteringDeviceType, UnitOfMeasure};

/// Cluster id.
pub const CLUSTER_ID: u16 = 0x0702;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{attribute, cluster_name, ClusterCommand};
    use crate::zcl::{ClusterId, Direction, Frame, Payload};
    use crate::ErrorKind;

    #[test]
    fn registered_with_the_cluster_dispatch() {
        let id = ClusterId(CLUSTER_ID);
        assert_eq!(cluster_name(id), Some("Metering"));
        assert_eq!(
            attribute(id, attr::INSTANTANEOUS_DEMAND).map(|a| a.name),
            Some("InstantaneousDemand")
        );
        assert_eq!(ClusterCommand::commands(id, Direction::ServerToClient).len(), 4);
    }

    #[test]
    fn frames_dispatch_by_direction() {
        // Cluster-specific, server→client, DDR, TSN 0x42, command 0x00 GetProfileResponse.
        let frame = [0x19, 0x42, 0x00, 0, 0, 0, 0, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00];
        let f = Frame::parse(ClusterId::METERING, &frame).unwrap();
        let Payload::Cluster(ClusterCommand::MeteringServer(ServerCommand::GetProfileResponse(p))) =
            f.payload
        else {
            panic!("{:?}", f.payload);
        };
        assert_eq!(p.intervals.iter().next(), Some(Interval(5)));
        // The same id client→server is GetProfile.
        let frame = [0x01, 0x43, 0x00, 0x01, 0, 0, 0, 0, 0x0C];
        let f = Frame::parse(ClusterId::METERING, &frame).unwrap();
        assert!(matches!(
            f.payload,
            Payload::Cluster(ClusterCommand::MeteringClient(ClientCommand::GetProfile(g)))
                if g.interval_channel == IntervalChannel::CONSUMPTION_RECEIVED && g.number_of_periods == 12
        ));
        // Errors are reported at frame offsets: the count byte is at 3 + 6.
        let bad = [0x19, 0x42, 0x00, 0, 0, 0, 0, 0x00, 0x01, 0x02, 0x05, 0x00, 0x00];
        let e = Frame::parse(ClusterId::METERING, &bad).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadLength, 9));
    }
}
