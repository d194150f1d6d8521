//! A whole ZCL frame: header plus typed payload, dispatched on frame type, cluster and direction.

use super::{foundation, ClusterId, FrameType, Header};
use crate::cluster::ClusterCommand;
use crate::error::{Error, ErrorKind, Result};

/// The payload of a ZCL frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload<'a> {
    /// A profile-wide command (Read Attributes, Default Response, …).
    Foundation(foundation::Command<'a>),
    /// A command of one of the SE clusters this crate knows.
    Cluster(ClusterCommand<'a>),
    /// A command this codec does not define: unknown cluster, unknown command id of a known
    /// cluster, or a manufacturer-specific command. The receiver answers it with a Default
    /// Response (UNSUP_CLUSTER_COMMAND / UNSUP_GENERAL_COMMAND / UNSUP_MANUF_*).
    Unknown(&'a [u8]),
}

/// A decoded ZCL frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    pub header: Header,
    pub payload: Payload<'a>,
}

impl<'a> Frame<'a> {
    /// Parses a ZCL frame received on `cluster`. Errors carry offsets from the start of `bytes`.
    pub fn parse(cluster: ClusterId, bytes: &'a [u8]) -> Result<Self> {
        let (header, body) = Header::parse(bytes)?;
        let base = header.buffer_len();
        let payload = if header.manufacturer_code.is_some() {
            Payload::Unknown(body)
        } else {
            match header.frame_type {
                FrameType::Global => foundation::Command::parse(header.command_id, body)
                    .map_err(|e| e.shifted(base))?
                    .map_or(Payload::Unknown(body), Payload::Foundation),
                FrameType::ClusterSpecific => {
                    ClusterCommand::parse(cluster, header.direction, header.command_id, body)
                        .map_err(|e| e.shifted(base))?
                        .map_or(Payload::Unknown(body), Payload::Cluster)
                }
            }
        };
        Ok(Self { header, payload })
    }

    /// Builds a frame for a cluster command with a fresh header (no manufacturer code).
    pub fn cluster(command: ClusterCommand<'a>, tsn: u8, disable_default_response: bool) -> Self {
        let header = Header {
            frame_type: FrameType::ClusterSpecific,
            manufacturer_code: None,
            direction: command.direction(),
            disable_default_response,
            tsn,
            command_id: command.command_id(),
        };
        Self { header, payload: Payload::Cluster(command) }
    }

    pub fn buffer_len(&self) -> usize {
        self.header.buffer_len()
            + match &self.payload {
                Payload::Foundation(c) => c.buffer_len(),
                Payload::Cluster(c) => c.buffer_len(),
                Payload::Unknown(b) => b.len(),
            }
    }

    /// Emits header and payload. The header's command id must match a typed payload's.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let id = match &self.payload {
            Payload::Foundation(c) => Some(c.command_id()),
            Payload::Cluster(c) => Some(c.command_id()),
            Payload::Unknown(_) => None,
        };
        if id.is_some_and(|id| id != self.header.command_id) {
            return Err(Error::new(ErrorKind::InvalidValue, 0, "command_id"));
        }
        let n = self.header.emit(buf)?;
        let rest = buf.get_mut(n..).unwrap_or(&mut []);
        let m = match &self.payload {
            Payload::Foundation(c) => c.emit(rest),
            Payload::Cluster(c) => c.emit(rest),
            Payload::Unknown(b) => {
                crate::wire::Writer::new(rest).bytes(b, "payload").map(|()| b.len())
            }
        }
        .map_err(|e| e.shifted(n))?;
        Ok(n + m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoded frame is returned by value through several layers; keep it small enough that
    /// the copies stay cheap (the decode benchmark depends on it).
    #[test]
    fn frame_repr_stays_small() {
        let size = core::mem::size_of::<Frame<'static>>();
        assert!(size <= 128, "Frame is {size} bytes");
    }
}
