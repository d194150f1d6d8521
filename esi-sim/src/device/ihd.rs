//! In-home display: a Messaging and Price client (SE 1.0 §D.5.3, §D.4.3; se10.md §3, §5).
//!
//! It polls GetLastMessage and GetCurrentPrice (asking, with the "Rx on when idle" option, to be
//! pushed price updates too), shows what it gets, accepts pushed DisplayMessage / CancelMessage
//! / PublishPrice, and sends MessageConfirmation for a message that requires it when the user
//! confirms (`ihd N confirm`) or after the configured delay.

use super::Ctx;
use zse::cluster::messaging::{self, MessageConfirmation};
use zse::cluster::price::{self, CommandOptions, GetCurrentPrice};
use zse::cluster::ClusterCommand;
use zse::zcl::foundation::Command as Foundation;
use zse::zcl::{ClusterId, Frame, Payload, Status, UtcTime};

/// The message on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub message_id: u32,
    pub text: String,
    pub control: u8,
    pub start_time: u32,
    pub duration_in_minutes: u16,
    /// Virtual ms it appeared.
    pub shown_at: u64,
    /// UTC the user confirmed it.
    pub confirmed_at: Option<u32>,
}

impl Shown {
    pub fn needs_confirmation(&self) -> bool {
        messaging::MessageControl(self.control).confirmation_required()
    }
}

/// The price on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceShown {
    pub issuer_event_id: u32,
    pub rate_label: String,
    pub price: u32,
    pub trailing_digits: u8,
    pub tier: u8,
    pub currency: u16,
    pub start_time: u32,
    pub duration_in_minutes: u16,
}

/// The display.
#[derive(Debug, Default)]
pub struct Ihd {
    pub message: Option<Shown>,
    pub price: Option<PriceShown>,
    /// Every message id shown, oldest first.
    pub history: Vec<u32>,
    pub confirmations_sent: u32,
    next_message_poll: Option<u64>,
    next_price_poll: Option<u64>,
    confirm_at: Option<u64>,
}

impl Ihd {
    pub fn on_ready(&mut self, ctx: &mut Ctx<'_>) {
        self.poll_price(ctx);
        self.poll_message(ctx);
    }

    fn poll_price(&mut self, ctx: &mut Ctx<'_>) {
        let options = CommandOptions(CommandOptions::REQUESTOR_RX_ON_WHEN_IDLE);
        let cmd =
            price::ClientCommand::GetCurrentPrice(GetCurrentPrice { command_options: options });
        ctx.send(ClusterCommand::PriceClient(cmd));
        self.next_price_poll = Some(ctx.now + ctx.spec.poll_ms.max(1_000));
    }

    fn poll_message(&mut self, ctx: &mut Ctx<'_>) {
        let cmd = messaging::ClientCommand::GetLastMessage(messaging::GetLastMessage {});
        ctx.send(ClusterCommand::MessagingClient(cmd));
        // Offset from the price poll so the two do not always go out together.
        self.next_message_poll = Some(ctx.now + ctx.spec.poll_ms.max(1_000) + 500);
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        [self.next_message_poll, self.next_price_poll, self.confirm_at, self.message_end()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Virtual ms the message's duration runs out.
    fn message_end(&self) -> Option<u64> {
        let m = self.message.as_ref()?;
        (m.duration_in_minutes != messaging::DisplayMessage::UNTIL_CHANGED)
            .then(|| m.shown_at + u64::from(m.duration_in_minutes) * 60_000)
    }

    pub fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if self.next_price_poll.is_some_and(|t| t <= now) {
            self.poll_price(ctx);
        }
        if self.next_message_poll.is_some_and(|t| t <= now) {
            self.poll_message(ctx);
        }
        if self.confirm_at.is_some_and(|t| t <= now) {
            self.confirm_at = None;
            let _ = self.confirm(ctx, None);
        }
        if self.message_end().is_some_and(|t| t <= now) {
            self.message = None;
            self.confirm_at = None;
        }
    }

    /// The user confirms the message on screen (or `message_id`).
    pub fn confirm(
        &mut self,
        ctx: &mut Ctx<'_>,
        message_id: Option<u32>,
    ) -> Result<String, String> {
        let utc = ctx.utc_or_zero();
        let m = self.message.as_mut().ok_or("no message on screen")?;
        if message_id.is_some_and(|id| id != m.message_id) {
            return Err(format!(
                "message {} is on screen, not {}",
                m.message_id,
                message_id.unwrap_or(0)
            ));
        }
        m.confirmed_at = Some(utc);
        let cmd = messaging::ClientCommand::MessageConfirmation(MessageConfirmation {
            message_id: m.message_id,
            confirmation_time: UtcTime(utc),
            message_confirmation_control: None,
            message_response: None,
        });
        let id = m.message_id;
        ctx.send(ClusterCommand::MessagingClient(cmd));
        self.confirmations_sent += 1;
        self.confirm_at = None;
        Ok(format!("confirmed message {id}"))
    }

    /// A frame from the ESI; `false` if the display does not handle it.
    pub fn handle_frame(
        &mut self,
        ctx: &mut Ctx<'_>,
        cluster: ClusterId,
        frame: &Frame<'_>,
    ) -> bool {
        match &frame.payload {
            Payload::Cluster(ClusterCommand::MessagingServer(cmd)) => {
                ctx.acknowledge(cluster, &frame.header);
                match cmd {
                    messaging::ServerCommand::DisplayMessage(m) => self.show(ctx, m),
                    messaging::ServerCommand::CancelMessage(c) => {
                        if self.message.as_ref().is_some_and(|m| m.message_id == c.message_id) {
                            self.message = None;
                            self.confirm_at = None;
                        }
                    }
                }
                true
            }
            Payload::Cluster(ClusterCommand::PriceServer(price::ServerCommand::PublishPrice(
                p,
            ))) => {
                ctx.acknowledge(cluster, &frame.header);
                self.price = Some(PriceShown {
                    issuer_event_id: p.issuer_event_id,
                    rate_label: p.rate_label.as_str().unwrap_or("").to_string(),
                    price: p.price,
                    trailing_digits: p.price_trailing_digit_and_price_tier.price_trailing_digit(),
                    tier: p.price_trailing_digit_and_price_tier.price_tier(),
                    currency: p.currency,
                    start_time: p.start_time.0,
                    duration_in_minutes: p.duration_in_minutes,
                });
                true
            }
            Payload::Foundation(Foundation::DefaultResponse(d)) => {
                // NOT_FOUND to a poll: nothing to show.
                if d.status == Status::NOT_FOUND && d.command_id == 0x00 {
                    if cluster == ClusterId::MESSAGING {
                        self.message = None;
                        self.confirm_at = None;
                    } else if cluster == ClusterId::PRICE {
                        self.price = None;
                    }
                }
                true
            }
            Payload::Foundation(_) => true,
            _ => false,
        }
    }

    fn show(&mut self, ctx: &mut Ctx<'_>, m: &messaging::DisplayMessage<'_>) {
        if self.message.as_ref().is_some_and(|s| s.message_id == m.message_id) {
            return; // the same message again (a poll answer): keep its confirmation state
        }
        let shown = Shown {
            message_id: m.message_id,
            text: m.message.as_str().unwrap_or("").to_string(),
            control: m.message_control.0,
            start_time: m.start_time.0,
            duration_in_minutes: m.duration_in_minutes,
            shown_at: ctx.now,
            confirmed_at: None,
        };
        self.confirm_at = match ctx.spec.confirm_after_ms {
            Some(d) if shown.needs_confirmation() => Some(ctx.now + d),
            _ => None,
        };
        self.history.push(m.message_id);
        self.message = Some(shown);
    }

    pub fn status(&self) -> String {
        let message = match &self.message {
            None => "no message".to_string(),
            Some(m) => {
                let confirm = match (m.needs_confirmation(), m.confirmed_at) {
                    (false, _) => String::new(),
                    (true, None) => " (confirmation required)".into(),
                    (true, Some(t)) => format!(" (confirmed at {t})"),
                };
                format!("message {} {:?}{confirm}", m.message_id, m.text)
            }
        };
        let price = match &self.price {
            None => "no price".to_string(),
            Some(p) => {
                let scale = 10u64.pow(u32::from(p.trailing_digits));
                let whole = u64::from(p.price) / scale;
                let frac = u64::from(p.price) % scale;
                let digits = usize::from(p.trailing_digits);
                format!(
                    "price {whole}.{frac:0digits$} (currency {}, tier {}, {:?})",
                    p.currency, p.tier, p.rate_label
                )
            }
        };
        format!("{message}; {price}")
    }
}
