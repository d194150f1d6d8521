//! Messaging server (SE 1.0 §D.5; se10.md §5, §10 "Messaging confirmation"): one active text
//! message, pushed to displays, answered on GetLastMessage, cancelled by id, expired at
//! start + duration. MessageConfirmation from a display is forwarded to the host.

use super::clock::end_of;
use super::command::{CommandError, MessageCommand, RequestId, Targets};
use super::delivery::Push;
use super::metering::Metrology;
use super::tx::{self, ApsPayload};
use super::{Esi, Pending, ReplyTo};
use zse::cluster::messaging::{
    CancelMessage, ClientCommand, DisplayMessage, MessageControl, ServerCommand,
};
use zse::cluster::ClusterCommand;
use zse::zcl::{Header, Status, UtcTime, ZclStr};

/// Longest message text in bytes. A DisplayMessage with this text is 3 + 12 + 80 = 95 bytes of
/// ZCL; the radio's real limit with NWK and APS security is lower (≈ 56 bytes of text), and the
/// gateway validates against its configured limit (59 characters by default) before sending.
pub const MESSAGE_MAX_LEN: usize = 80;

/// The active message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub message_id: u32,
    pub message_control: u8,
    /// Absolute UTC start (a "now" start is stored as the time it was accepted).
    pub start: u32,
    pub duration_in_minutes: u16,
    text: [u8; MESSAGE_MAX_LEN],
    len: u8,
}

impl Message {
    pub fn text(&self) -> &[u8] {
        self.text.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// End in UTC seconds (`u32::MAX` = until changed).
    pub fn end(&self) -> u32 {
        end_of(self.start, self.duration_in_minutes, true)
    }

    fn frame(&self) -> DisplayMessage<'_> {
        DisplayMessage {
            message_id: self.message_id,
            message_control: MessageControl(self.message_control),
            start_time: UtcTime(self.start),
            duration_in_minutes: self.duration_in_minutes,
            message: ZclStr::new(self.text()),
            extended_message_control: None,
        }
    }
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    pub(crate) fn cmd_display_message(&mut self, request_id: RequestId, m: &MessageCommand<'_>) {
        let Some(now_utc) = self.clock.utc(self.now) else {
            return self.fail(request_id, CommandError::TimeNotSet);
        };
        let bytes = m.text.as_bytes();
        if bytes.len() > MESSAGE_MAX_LEN {
            return self.fail(request_id, CommandError::TextTooLong { max: MESSAGE_MAX_LEN as u8 });
        }
        if m.duration_in_minutes == 0 {
            return self.fail(request_id, CommandError::InvalidField("duration_in_minutes"));
        }
        let start = if m.start_time == UtcTime::NOW { now_utc } else { m.start_time.0 };
        if end_of(start, m.duration_in_minutes, true) <= now_utc {
            return self.fail(request_id, CommandError::Expired);
        }
        let mut text = [0u8; MESSAGE_MAX_LEN];
        if let Some(dst) = text.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        let message = Message {
            message_id: m.message_id,
            message_control: m.message_control,
            start,
            duration_in_minutes: m.duration_in_minutes,
            text,
            len: bytes.len() as u8,
        };
        let push = Push::DisplayMessage { message_id: m.message_id };
        let Some(recipients) = self.recipients(request_id, m.targets) else { return };
        // A new message replaces the current one (se10.md §10).
        self.message = Some(message);
        self.add_pushes(request_id, push, &recipients, 0);
    }

    pub(crate) fn cmd_cancel_message(
        &mut self,
        request_id: RequestId,
        message_id: u32,
        targets: Targets<'_>,
    ) {
        let Some(current) = self.message.filter(|m| m.message_id == message_id) else {
            return self.fail(request_id, CommandError::NotFound);
        };
        let push = Push::CancelMessage { message_id, message_control: current.message_control };
        let Some(recipients) = self.recipients(request_id, targets) else { return };
        self.message = None;
        self.add_pushes(request_id, push, &recipients, 0);
    }

    /// Drops the message once its end time has passed.
    pub(crate) fn expire_message(&mut self, now_utc: u32) {
        if self.message.is_some_and(|m| m.end() <= now_utc) {
            self.message = None;
        }
    }

    pub(crate) fn message_deadline(&self) -> Option<u32> {
        self.message.map(|m| m.end()).filter(|&e| e != u32::MAX)
    }

    /// The DisplayMessage frame for the active message with id `message_id` (`None`: replaced).
    pub(crate) fn display_message_frame(
        &self,
        message_id: u32,
        tsn: u8,
        ddr: bool,
    ) -> Option<ApsPayload> {
        let m = self.message.as_ref().filter(|m| m.message_id == message_id)?;
        let cmd = ClusterCommand::MessagingServer(ServerCommand::DisplayMessage(m.frame()));
        tx::cluster_command(cmd, tsn, ddr)
    }

    pub(crate) fn cancel_message_frame(
        message_id: u32,
        control: u8,
        tsn: u8,
        ddr: bool,
    ) -> Option<ApsPayload> {
        let cmd = ClusterCommand::MessagingServer(ServerCommand::CancelMessage(CancelMessage {
            message_id,
            message_control: MessageControl(control),
        }));
        tx::cluster_command(cmd, tsn, ddr)
    }

    /// A Messaging client command from a display.
    pub(crate) fn on_messaging_client(
        &mut self,
        to: &ReplyTo,
        header: &Header,
        command: &ClientCommand<'_>,
    ) {
        match command {
            ClientCommand::GetLastMessage(_) => {
                let now_utc = self.clock.utc(self.now).unwrap_or(0);
                self.expire_message(now_utc);
                let reply = match &self.message {
                    // The reply echoes the request's TSN (se10.md §1.1).
                    Some(m) => {
                        let cmd = ServerCommand::DisplayMessage(m.frame());
                        tx::cluster_command(ClusterCommand::MessagingServer(cmd), header.tsn, true)
                    }
                    None => tx::default_response(header, Status::NOT_FOUND),
                };
                self.reply(to, reply);
            }
            ClientCommand::MessageConfirmation(c) => {
                self.push_pending(Pending::MessageConfirmed {
                    eui64: to.eui64,
                    message_id: c.message_id,
                    confirmation_time: c.confirmation_time,
                });
                self.success_response(to, header);
            }
        }
    }
}
