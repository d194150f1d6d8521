//! The clusters an SE 1.0 ESI speaks, one module each, and [`ClusterCommand`], the dispatch over
//! all of them by (cluster id, direction, command id).
//!
//! Each cluster module names its command sets after who *generates* them: `ClientCommand`
//! (client → server, e.g. GetCurrentPrice) and `ServerCommand` (server → client, e.g.
//! PublishPrice). Attribute tables (`ATTRIBUTES`) give id, spec name and data type.

pub mod basic;
pub mod drlc;
pub mod identify;
pub mod key_establishment;
pub mod messaging;
pub mod metering;
pub mod price;
pub mod time;

use crate::error::Result;
use crate::zcl::{ClusterId, DataType, Direction, Frame, Header, Payload};

/// One attribute of a cluster's attribute set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub id: u16,
    /// The name as the specification spells it (e.g. `CurrentSummationDelivered`).
    pub name: &'static str,
    pub data_type: DataType,
}

impl AttributeDef {
    pub const fn new(id: u16, name: &'static str, data_type: DataType) -> Self {
        Self { id, name, data_type }
    }
}

/// Name of a cluster this crate knows.
pub fn cluster_name(cluster: ClusterId) -> Option<&'static str> {
    Some(match cluster.0 {
        basic::CLUSTER_ID => "Basic",
        identify::CLUSTER_ID => "Identify",
        time::CLUSTER_ID => "Time",
        price::CLUSTER_ID => "Price",
        drlc::CLUSTER_ID => "DemandResponseLoadControl",
        metering::CLUSTER_ID => "Metering",
        messaging::CLUSTER_ID => "Messaging",
        key_establishment::CLUSTER_ID => "KeyEstablishment",
        _ => return None,
    })
}

/// Server attribute table of a known cluster.
pub fn attributes(cluster: ClusterId) -> &'static [AttributeDef] {
    match cluster.0 {
        basic::CLUSTER_ID => basic::ATTRIBUTES,
        identify::CLUSTER_ID => identify::ATTRIBUTES,
        time::CLUSTER_ID => time::ATTRIBUTES,
        price::CLUSTER_ID => price::ATTRIBUTES,
        metering::CLUSTER_ID => metering::ATTRIBUTES,
        key_establishment::CLUSTER_ID => key_establishment::ATTRIBUTES,
        _ => &[],
    }
}

/// Looks up an attribute definition by cluster and id.
pub fn attribute(cluster: ClusterId, id: u16) -> Option<&'static AttributeDef> {
    attributes(cluster).iter().find(|a| a.id == id)
}

macro_rules! clusters {
    ($( $(#[$m:meta])* $variant:ident => $module:ident :: $set:ident $(<$lt:lifetime>)?, $dir:ident; )*) => {
        /// A cluster-specific command of one of the known clusters, in one direction.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ClusterCommand<'a> {
            $( $(#[$m])* $variant($module::$set $(<$lt>)?), )*
        }

        impl<'a> ClusterCommand<'a> {
            /// Parses a cluster-specific payload. `Ok(None)`: unknown cluster or command id.
            pub fn parse(cluster: ClusterId, direction: Direction, id: u8, payload: &'a [u8])
                -> Result<Option<Self>>
            {
                match (cluster.0, direction) {
                    $( ($module::CLUSTER_ID, Direction::$dir) =>
                        Ok($module::$set::parse(id, payload)?.map(Self::$variant)), )*
                    _ => Ok(None),
                }
            }

            /// The cluster-specific branch of [`crate::zcl::Frame::parse`]: one jump on
            /// (cluster, direction), then the command set builds the frame in place.
            pub(crate) fn parse_frame(cluster: ClusterId, header: Header, body: &'a [u8])
                -> Result<Frame<'a>>
            {
                match (cluster.0, header.direction) {
                    $( ($module::CLUSTER_ID, Direction::$dir) => $module::$set::parse_frame(
                        header, body, |c| Payload::Cluster(Self::$variant(c))), )*
                    _ => Ok(Frame { header, payload: Payload::Unknown(body) }),
                }
            }

            pub fn cluster_id(&self) -> ClusterId {
                match self { $( Self::$variant(_) => ClusterId($module::CLUSTER_ID), )* }
            }

            pub fn direction(&self) -> Direction {
                match self { $( Self::$variant(_) => Direction::$dir, )* }
            }

            pub fn command_id(&self) -> u8 {
                match self { $( Self::$variant(c) => c.command_id(), )* }
            }

            /// The command name as the specification spells it.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(c) => c.name(), )* }
            }

            pub fn buffer_len(&self) -> usize {
                match self { $( Self::$variant(c) => c.buffer_len(), )* }
            }

            pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
                match self { $( Self::$variant(c) => c.emit(buf), )* }
            }

            /// All commands of a cluster in one direction, as `(id, name)`.
            pub fn commands(cluster: ClusterId, direction: Direction) -> &'static [(u8, &'static str)] {
                $(
                    if cluster.0 == $module::CLUSTER_ID && direction == Direction::$dir {
                        return $module::$set::COMMANDS;
                    }
                )*
                &[]
            }

            /// Deserializes `{"command": "...", "fields": {...}}` for the given cluster and
            /// direction. `Ok(None)` if the cluster has no commands in that direction.
            #[cfg(feature = "serde")]
            pub fn deserialize_for<D: serde::Deserializer<'a>>(
                cluster: ClusterId, direction: Direction, d: D,
            ) -> core::result::Result<Option<Self>, D::Error> {
                use serde::Deserialize;
                $(
                    if cluster.0 == $module::CLUSTER_ID && direction == Direction::$dir {
                        return $module::$set::deserialize(d).map(|c| Some(Self::$variant(c)));
                    }
                )*
                let _ = d;
                Ok(None)
            }
        }

        /// Serializes as the inner command set does: `{"command": "...", "fields": {...}}`.
        #[cfg(feature = "serde")]
        impl serde::Serialize for ClusterCommand<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                match self { $( Self::$variant(c) => c.serialize(s), )* }
            }
        }
    };
}

clusters! {
    BasicClient => basic::ClientCommand, ClientToServer;
    IdentifyClient => identify::ClientCommand, ClientToServer;
    IdentifyServer => identify::ServerCommand, ServerToClient;
    MessagingClient => messaging::ClientCommand<'a>, ClientToServer;
    MessagingServer => messaging::ServerCommand<'a>, ServerToClient;
    PriceClient => price::ClientCommand, ClientToServer;
    PriceServer => price::ServerCommand<'a>, ServerToClient;
    DrlcClient => drlc::ClientCommand, ClientToServer;
    DrlcServer => drlc::ServerCommand, ServerToClient;
    MeteringClient => metering::ClientCommand, ClientToServer;
    MeteringServer => metering::ServerCommand<'a>, ServerToClient;
    KeyEstablishmentClient => key_establishment::ClientCommand, ClientToServer;
    KeyEstablishmentServer => key_establishment::ServerCommand, ServerToClient;
}
