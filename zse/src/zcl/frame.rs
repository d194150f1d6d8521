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
        match Header::parse_fast(bytes) {
            Some((header, body)) => Self::parse_payload(cluster, header, body),
            None => Self::parse_slow(cluster, bytes),
        }
    }

    /// Manufacturer-specific frames and bad headers.
    #[cold]
    #[inline(never)]
    fn parse_slow(cluster: ClusterId, bytes: &'a [u8]) -> Result<Self> {
        let (header, body) = Header::parse(bytes)?;
        if header.manufacturer_code.is_some() {
            return Ok(Self { header, payload: Payload::Unknown(body) });
        }
        Self::parse_payload(cluster, header, body)
    }

    /// The payload of a frame without manufacturer code. Every layer below returns this same
    /// `Result<Frame>`, so the decoded command is written once, into the caller's frame, instead
    /// of being copied out through `Result<Option<…>>` wrappers at each level.
    #[inline]
    fn parse_payload(cluster: ClusterId, header: Header, body: &'a [u8]) -> Result<Self> {
        match header.frame_type {
            FrameType::Global => {
                foundation::Command::parse_frame(header, body, Payload::Foundation)
            }
            FrameType::ClusterSpecific => ClusterCommand::parse_frame(cluster, header, body),
        }
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
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    /// `Frame::parse` as the public per-layer parsers compose it (the implementation before the
    /// in-place `parse_frame` chain): the reference the fast chain must agree with.
    fn reference(cluster: ClusterId, bytes: &[u8]) -> Result<Frame<'_>> {
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
        Ok(Frame { header, payload })
    }

    const CLUSTERS: [u16; 10] =
        [0x0000, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800, 0x0006, 0xFC00];

    proptest! {
        /// Every known cluster, both directions, both frame types, manufacturer-specific or not,
        /// every command id of the sets and a few past them, random payloads cut at every length.
        #[test]
        fn parse_agrees_with_layered_reference(
            cluster in prop::sample::select(&CLUSTERS[..]),
            control in prop::sample::select(&[0x00u8, 0x01, 0x08, 0x09, 0x10, 0x18, 0x19, 0x04, 0x0D, 0x02][..]),
            tsn in any::<u8>(),
            command_id in 0u8..0x1A,
            payload in proptest::collection::vec(any::<u8>(), 0..72),
        ) {
            let mut bytes = std::vec![control, tsn, command_id];
            bytes.extend_from_slice(&payload);
            for len in 0..=bytes.len() {
                let cut = &bytes[..len];
                prop_assert_eq!(Frame::parse(ClusterId(cluster), cut), reference(ClusterId(cluster), cut));
            }
        }
    }

    /// A decoded frame is returned by value through several layers; keep it small enough that
    /// the copies stay cheap (the decode benchmark depends on it).
    #[test]
    fn frame_repr_stays_small() {
        let size = core::mem::size_of::<Frame<'static>>();
        assert!(size <= 128, "Frame is {size} bytes");
    }
}
