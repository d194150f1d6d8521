//! The stored body of a downstream request (postcard in `Request::body.payload`) and the
//! host-link command built from it at dispatch time.
//!
//! Everything needed to (re)send is in the payload, already validated and in wire units, so a
//! delivery queued before a restart is sent exactly as accepted. Start times are absolute
//! (a request for "now" stores its acceptance time): a retry hours later must not move the end
//! of a message or event.

use firmware::host_link::types::{MessageText, RateLabel};
use firmware::host_link::{
    CancelAllLoadControlEvents, CancelLoadControlEvent, CancelMessage, Command, DisplayMessage,
    LoadControlEvent, PublishPrice, Targets,
};
use serde::{Deserialize, Serialize};

use crate::model::{RequestId, RequestKind};

/// Body of a stored request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// DisplayMessage; the SE Message ID is the request id.
    Message { message_control: u8, start_time: u32, duration_in_minutes: u16, text: String },
    /// CancelMessage of an earlier message request.
    MessageCancel { message_id: u32, message_control: u8 },
    /// PublishPrice fields in wire form.
    Price {
        provider_id: u32,
        rate_label: String,
        issuer_event_id: u32,
        unit_of_measure: u8,
        currency: u16,
        price_trailing_digit_and_price_tier: u8,
        number_of_price_tiers_and_register_tier: u8,
        start_time: u32,
        duration_in_minutes: u16,
        price: u32,
    },
    /// LoadControlEvent fields in wire form.
    DrEvent {
        issuer_event_id: u32,
        device_class: u16,
        utility_enrollment_group: u8,
        start_time: u32,
        duration_in_minutes: u16,
        criticality_level: u8,
        cooling_temperature_offset: u8,
        heating_temperature_offset: u8,
        cooling_temperature_set_point: i16,
        heating_temperature_set_point: i16,
        average_load_adjustment_percentage: i8,
        duty_cycle: u8,
        event_control: u8,
    },
    /// CancelLoadControlEvent (`issuer_event_id: Some`) or CancelAllLoadControlEvents.
    DrCancel {
        issuer_event_id: Option<u32>,
        device_class: u16,
        utility_enrollment_group: u8,
        cancel_control: u8,
        effective_time: u32,
    },
}

impl Payload {
    /// The request kind stored beside it.
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Message { .. } => RequestKind::Message,
            Self::MessageCancel { .. } => RequestKind::MessageCancel,
            Self::Price { .. } => RequestKind::Price,
            Self::DrEvent { .. } => RequestKind::DrlcEvent,
            Self::DrCancel { .. } => RequestKind::DrlcCancel,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // A plain enum of integers and strings always serializes.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("stored request unreadable: {e}"))
    }

    // One exhaustive match over the payload kinds.
    #[allow(clippy::too_many_lines)]
    /// The host-link command for request `id`, sent to every paired device (`Targets::All`);
    /// the supervisor narrows the targets to the recipients of the batch.
    pub fn command(&self, id: RequestId) -> Result<Command, String> {
        let too_long = |what: &str| format!("stored {what} does not fit the host link");
        Ok(match self {
            Self::Message { message_control, start_time, duration_in_minutes, text } => {
                Command::DisplayMessage(DisplayMessage {
                    message_id: message_id_of(id),
                    message_control: *message_control,
                    start_time: *start_time,
                    duration_in_minutes: *duration_in_minutes,
                    message: MessageText::try_from(text.as_str())
                        .map_err(|_| too_long("message text"))?,
                    targets: Targets::All,
                })
            }
            Self::MessageCancel { message_id, message_control } => {
                Command::CancelMessage(CancelMessage {
                    message_id: *message_id,
                    message_control: *message_control,
                    targets: Targets::All,
                })
            }
            Self::Price {
                provider_id,
                rate_label,
                issuer_event_id,
                unit_of_measure,
                currency,
                price_trailing_digit_and_price_tier,
                number_of_price_tiers_and_register_tier,
                start_time,
                duration_in_minutes,
                price,
            } => Command::PublishPrice(PublishPrice {
                provider_id: *provider_id,
                rate_label: RateLabel::try_from(rate_label.as_str())
                    .map_err(|_| too_long("rate label"))?,
                issuer_event_id: *issuer_event_id,
                unit_of_measure: *unit_of_measure,
                currency: *currency,
                price_trailing_digit_and_price_tier: *price_trailing_digit_and_price_tier,
                number_of_price_tiers_and_register_tier: *number_of_price_tiers_and_register_tier,
                start_time: *start_time,
                duration_in_minutes: *duration_in_minutes,
                price: *price,
                price_ratio: 0xFF,
                generation_price: 0xFFFF_FFFF,
                generation_price_ratio: 0xFF,
                alternate_cost_delivered: 0xFFFF_FFFF,
                alternate_cost_unit: 0xFF,
                alternate_cost_trailing_digit: 0xFF,
                targets: Targets::All,
            }),
            Self::DrEvent {
                issuer_event_id,
                device_class,
                utility_enrollment_group,
                start_time,
                duration_in_minutes,
                criticality_level,
                cooling_temperature_offset,
                heating_temperature_offset,
                cooling_temperature_set_point,
                heating_temperature_set_point,
                average_load_adjustment_percentage,
                duty_cycle,
                event_control,
            } => Command::LoadControlEvent(LoadControlEvent {
                issuer_event_id: *issuer_event_id,
                device_class: *device_class,
                utility_enrollment_group: *utility_enrollment_group,
                start_time: *start_time,
                duration_in_minutes: *duration_in_minutes,
                criticality_level: *criticality_level,
                cooling_temperature_offset: *cooling_temperature_offset,
                heating_temperature_offset: *heating_temperature_offset,
                cooling_temperature_set_point: *cooling_temperature_set_point,
                heating_temperature_set_point: *heating_temperature_set_point,
                average_load_adjustment_percentage: *average_load_adjustment_percentage,
                duty_cycle: *duty_cycle,
                event_control: *event_control,
                targets: Targets::All,
            }),
            Self::DrCancel {
                issuer_event_id: Some(issuer_event_id),
                device_class,
                utility_enrollment_group,
                cancel_control,
                effective_time,
            } => Command::CancelLoadControlEvent(CancelLoadControlEvent {
                issuer_event_id: *issuer_event_id,
                device_class: *device_class,
                utility_enrollment_group: *utility_enrollment_group,
                cancel_control: *cancel_control,
                effective_time: *effective_time,
                targets: Targets::All,
            }),
            Self::DrCancel { issuer_event_id: None, cancel_control, .. } => {
                Command::CancelAllLoadControlEvents(CancelAllLoadControlEvents {
                    cancel_control: *cancel_control,
                    targets: Targets::All,
                })
            }
        })
    }
}

/// The SE Message ID of a message request: its request id (ids are below 2³² for the life of
/// a store: one request per millisecond for 49 days would be needed to pass it).
pub fn message_id_of(id: RequestId) -> u32 {
    (id.0 & 0xFFFF_FFFF) as u32
}

/// Replaces the targets of a command built by [`Payload::command`].
pub fn set_targets(command: &mut Command, targets: Targets) {
    match command {
        Command::PublishPrice(c) => c.targets = targets,
        Command::DisplayMessage(c) => c.targets = targets,
        Command::CancelMessage(c) => c.targets = targets,
        Command::LoadControlEvent(c) => c.targets = targets,
        Command::CancelLoadControlEvent(c) => c.targets = targets,
        Command::CancelAllLoadControlEvents(c) => c.targets = targets,
        Command::AddDevice(_)
        | Command::RemoveDevice(_)
        | Command::ListDevices
        | Command::ReadMeter(_)
        | Command::GetStatus
        | Command::SetTime(_)
        | Command::Reset => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_commands() {
        let p = Payload::Message {
            message_control: 0x88,
            start_time: 100,
            duration_in_minutes: 30,
            text: "Peak pricing 4-7pm".into(),
        };
        assert_eq!(Payload::decode(&p.encode()).unwrap(), p);
        assert_eq!(p.kind(), RequestKind::Message);
        let Command::DisplayMessage(m) = p.command(RequestId(42)).unwrap() else { panic!() };
        assert_eq!(
            (m.message_id, m.message_control, &*m.message),
            (42, 0x88, "Peak pricing 4-7pm")
        );
        let long = Payload::Message {
            message_control: 0,
            start_time: 0,
            duration_in_minutes: 1,
            text: "x".repeat(81),
        };
        assert!(long.command(RequestId(1)).is_err());
        let all = Payload::DrCancel {
            issuer_event_id: None,
            device_class: 0,
            utility_enrollment_group: 0,
            cancel_control: 0,
            effective_time: 0,
        };
        let mut c = all.command(RequestId(1)).unwrap();
        assert!(matches!(c, Command::CancelAllLoadControlEvents(_)));
        set_targets(&mut c, Targets::Devices(heapless::Vec::new()));
        let Command::CancelAllLoadControlEvents(c) = c else { panic!() };
        assert_eq!(c.targets, Targets::Devices(heapless::Vec::new()));
        assert!(Payload::decode(&[0xFF, 0xFF]).is_err());
    }
}
