//! Encoding outgoing ZCL frames into one APS payload, with zse doing all byte work.

use super::action::APS_PAYLOAD_MAX;
use zse::cluster::ClusterCommand;
use zse::zcl::foundation::{self, DefaultResponse};
use zse::zcl::{Direction, Frame, FrameType, Header, Payload, Status};

pub(crate) type ApsPayload = heapless::Vec<u8, APS_PAYLOAD_MAX>;

/// Emits `frame` into a fresh APS payload; `None` if it does not fit one frame.
pub(crate) fn encode(frame: &Frame<'_>) -> Option<ApsPayload> {
    let mut buf = [0u8; APS_PAYLOAD_MAX];
    let n = frame.emit(&mut buf).ok()?;
    ApsPayload::from_slice(buf.get(..n)?).ok()
}

/// A cluster-specific command frame.
pub(crate) fn cluster_command(
    command: ClusterCommand<'_>,
    tsn: u8,
    ddr: bool,
) -> Option<ApsPayload> {
    encode(&Frame::cluster(command, tsn, ddr))
}

/// Header for a reply in the other direction, echoing `tsn`, with Disable Default Response set
/// (nobody answers a response).
pub(crate) fn reply_header(request: &Header, frame_type: FrameType, command_id: u8) -> Header {
    Header {
        frame_type,
        manufacturer_code: None,
        direction: match request.direction {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        },
        disable_default_response: true,
        tsn: request.tsn,
        command_id,
    }
}

/// Default Response (ZCL §2.4.12) to `request` with `status`.
pub(crate) fn default_response(request: &Header, status: Status) -> Option<ApsPayload> {
    let header = reply_header(request, FrameType::Global, 0x0B);
    let payload = Payload::Foundation(foundation::Command::DefaultResponse(DefaultResponse {
        command_id: request.command_id,
        status,
    }));
    encode(&Frame { header, payload })
}
