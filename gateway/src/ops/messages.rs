//! Downstream requests: messages, prices, DR events and cancellations, their status, groups.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, info_span, Instrument};

use super::payload::{message_id_of, Payload};
use super::time::{parse_start, to_utc_time};
use super::types::{
    DeliveryView, DrCancel, DrEvent, GroupView, PublishPrice, RequestAnswer, SendMessage, Targets,
};
use super::util::{eui_text, parse_device_classes, parse_eui64, parse_importance, parse_priority};
use super::{Caller, Gateway};
use crate::daemon::dispatcher::{DispatchMsg, Queued};
use crate::error::{ApiError, ErrorCode};
use crate::model::{
    DeliveryState, DeviceState, EsiId, Eui64, Group, NewDelivery, NewRequest, Priority, RequestId,
    RequestKind, Timestamp,
};

/// "Until changed" (se10.md §5.2) / "not used".
const UNTIL_CHANGED: u16 = 0xFFFF;
/// Longest DR event (se10.md §4.2).
const MAX_DR_MINUTES: u32 = 1440;

/// Answer of `message/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAnswer {
    pub message_id: u64,
    /// The original message's deliveries after the cancel (queued ones are `cancelled`).
    pub deliveries: Vec<DeliveryView>,
    /// The CancelMessage request sent to devices that already had the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_request: Option<RequestAnswer>,
}

fn kind_name(k: RequestKind) -> String {
    match k {
        RequestKind::Message => "message".into(),
        RequestKind::MessageCancel => "message_cancel".into(),
        RequestKind::Price => "price".into(),
        RequestKind::DrlcEvent => "drlc_event".into(),
        RequestKind::DrlcCancel => "drlc_cancel".into(),
        RequestKind::Other(n) => format!("other_{n}"),
    }
}

/// Start and end of a request: validated start (`None` = now) and duration in minutes
/// (`UNTIL_CHANGED` = open ended).
struct Window {
    start: Timestamp,
    utc_start: u32,
    minutes: u16,
    end: Option<Timestamp>,
}

impl Gateway {
    fn window(
        &self,
        start: Option<&str>,
        minutes: u16,
        now: Timestamp,
    ) -> Result<Window, ApiError> {
        let parsed = parse_start(start, "start_time")?;
        let start = parsed.unwrap_or(now);
        if start.0 < super::time::ZIGBEE_EPOCH_UNIX * 1000 + 1000 {
            return Err(ApiError::new(ErrorCode::InvalidTime, "start_time: before 2000-01-01"));
        }
        if start > now.saturating_add(self.config().messages.max_start_ahead) {
            return Err(ApiError::new(
                ErrorCode::InvalidTime,
                format!(
                    "start_time: more than {} days ahead",
                    self.config().messages.max_start_ahead.as_secs() / 86_400
                ),
            ));
        }
        let end = (minutes != UNTIL_CHANGED)
            .then(|| start.saturating_add(Duration::from_secs(u64::from(minutes) * 60)));
        if end.is_some_and(|e| e <= now) {
            return Err(ApiError::new(
                ErrorCode::InvalidTime,
                "start_time: with this duration it would be over before now",
            ));
        }
        Ok(Window { start, utc_start: to_utc_time(start), minutes, end })
    }

    /// The ESIs a request names (ids and/or a group), each hosted here.
    async fn target_esis(&self, t: &Targets) -> Result<Vec<EsiId>, ApiError> {
        let mut out: BTreeSet<EsiId> = BTreeSet::new();
        for e in &t.esi_ids {
            out.insert(self.esi(e, "esi_ids")?.0);
        }
        if let Some(name) = &t.group {
            let n = name.clone();
            let g = self
                .db(move |s| s.group(&n))
                .await?
                .ok_or_else(|| ApiError::bad_request(format!("group: no group named {name:?}")))?;
            for e in &g.esi_ids {
                out.insert(self.esi(&e.0, "group")?.0);
            }
        }
        if out.is_empty() {
            return Err(ApiError::bad_request("esi_ids or group: name at least one ESI"));
        }
        Ok(out.into_iter().collect())
    }

    /// One delivery per paired device of each target ESI (or of the `devices` filter); those
    /// that cannot be reached are recorded `undeliverable` with the reason. `NOT_PAIRED` when
    /// nothing at all could be sent.
    async fn recipients(&self, t: &Targets) -> Result<Vec<NewDelivery>, ApiError> {
        let esis = self.target_esis(t).await?;
        let filter: Option<Vec<Eui64>> = t
            .devices
            .as_ref()
            .map(|d| d.iter().map(|e| parse_eui64(e, "devices")).collect())
            .transpose()?;
        let lists = {
            let esis = esis.clone();
            self.db(move |s| esis.iter().map(|e| s.devices(e)).collect::<Result<Vec<_>, _>>())
                .await?
        };
        let mut out = Vec::new();
        let mut found: BTreeSet<Eui64> = BTreeSet::new();
        for (esi, devices) in esis.iter().zip(lists) {
            let wanted =
                devices.iter().filter(|d| filter.as_ref().is_none_or(|f| f.contains(&d.eui64)));
            let mut any = false;
            for d in wanted {
                any = true;
                found.insert(d.eui64);
                let undeliverable = (d.state != DeviceState::Paired)
                    .then(|| format!("the device is not paired (state {})", d.state.as_str()));
                out.push(NewDelivery { esi_id: esi.clone(), eui64: d.eui64, undeliverable });
            }
            if !any && filter.is_none() {
                out.push(NewDelivery {
                    esi_id: esi.clone(),
                    eui64: Eui64(0),
                    undeliverable: Some("no device is paired with this ESI".into()),
                });
            }
        }
        if let Some(f) = &filter {
            if let Some(missing) = f.iter().find(|e| !found.contains(e)) {
                return Err(ApiError::new(
                    ErrorCode::NotPaired,
                    format!("devices: {} is not provisioned on any target ESI", eui_text(*missing)),
                ));
            }
        }
        if out.iter().all(|d| d.undeliverable.is_some()) {
            let why = out.first().and_then(|d| d.undeliverable.clone()).unwrap_or_default();
            return Err(ApiError::new(
                ErrorCode::NotPaired,
                format!("no recipient can receive it: {why}"),
            ));
        }
        Ok(out)
    }

    /// Commits a request, queues its deliveries, announces them.
    async fn accept(
        &self,
        caller: &Caller,
        payload: &Payload,
        priority: Priority,
        now: Timestamp,
        ends_at: Option<Timestamp>,
        deliveries: Vec<NewDelivery>,
    ) -> Result<RequestAnswer, ApiError> {
        let kind = payload.kind();
        let req = NewRequest {
            kind,
            priority,
            accepted_at: now,
            deadline: self.config().priorities.deadline(priority, now, ends_at),
            party: caller.party.clone(),
            transaction: caller.transaction.clone(),
            payload: payload.encode(),
        };
        let deadline = req.deadline;
        let esis: Vec<EsiId> = deliveries.iter().map(|d| d.esi_id.clone()).collect();
        let accepted = self.db(move |s| s.accept(req, deliveries)).await?;
        let queued: Vec<Queued> = accepted
            .deliveries
            .iter()
            .zip(esis)
            .filter(|((_, st), _)| *st == DeliveryState::Queued)
            .map(|((id, _), esi)| Queued { id: *id, esi, priority, deadline, not_before: now })
            .collect();
        let n = queued.len();
        if !queued.is_empty() {
            // The request is durable already; a stopped dispatcher picks it up at restart.
            let _ = self.inner.dispatcher.send(DispatchMsg::Enqueue(queued)).await;
        }
        let rid = accepted.request_id;
        let list = self.db(move |s| s.deliveries_of(rid)).await?;
        for d in &list {
            self.events().delivery(d);
        }
        info!(request = rid.0, kind = %kind_name(kind), queued = n, recipients = list.len(), "accepted");
        Ok(RequestAnswer {
            request_id: rid.0,
            message_id: (kind == RequestKind::Message).then(|| message_id_of(rid)),
            issuer_event_id: match payload {
                Payload::Price { issuer_event_id, .. }
                | Payload::DrEvent { issuer_event_id, .. } => Some(*issuer_event_id),
                Payload::DrCancel { issuer_event_id, .. } => *issuer_event_id,
                _ => None,
            },
            kind: kind_name(kind),
            deliveries: list.iter().map(DeliveryView::from).collect(),
        })
    }

    /// `message/send` (Messaging DisplayMessage, se10.md §5.2).
    pub async fn send_message(
        &self,
        caller: &Caller,
        m: SendMessage,
    ) -> Result<RequestAnswer, ApiError> {
        let span = info_span!("message/send", corr = %caller.corr(), party = %caller.party.0);
        async move {
            let limits = self.config().messages;
            let chars = m.text.chars().count();
            if chars == 0 {
                return Err(ApiError::bad_request("text: must not be empty"));
            }
            if chars > limits.max_text_length {
                return Err(ApiError::new(
                    ErrorCode::TextTooLong,
                    format!("text: {chars} characters, the limit is {}", limits.max_text_length),
                ));
            }
            if m.text.len() > firmware::host_link::types::MAX_MESSAGE_LEN {
                return Err(ApiError::new(
                    ErrorCode::TextTooLong,
                    format!(
                        "text: {} bytes in UTF-8, the limit is {}",
                        m.text.len(),
                        firmware::host_link::types::MAX_MESSAGE_LEN
                    ),
                ));
            }
            let max_minutes = (limits.max_duration.as_secs() / 60) as u32;
            let minutes = match m.duration_minutes {
                None => UNTIL_CHANGED,
                Some(d) if (1..=max_minutes).contains(&d) => d as u16,
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "duration_minutes: 1 to {max_minutes}, or absent for until changed"
                    )))
                }
            };
            let priority = parse_priority(m.priority.as_deref(), Priority::Medium)?;
            let control = parse_importance(m.importance.as_deref())?
                | if m.confirmation_required { 0x80 } else { 0 };
            let now = Timestamp::now();
            let w = self.window(m.start_time.as_deref(), minutes, now)?;
            let deliveries = self.recipients(&m.targets).await?;
            let payload = Payload::Message {
                message_control: control,
                start_time: w.utc_start,
                duration_in_minutes: w.minutes,
                text: m.text,
            };
            let _ = w.start;
            self.accept(caller, &payload, priority, now, w.end, deliveries).await
        }
        .instrument(span)
        .await
    }

    /// `price/publish` (PublishPrice, se10.md §3.4): one delivery per ESI (`eui64` 0): the ESI
    /// stores the price, pushes it to devices that asked and serves it to the others.
    pub async fn publish_price(
        &self,
        caller: &Caller,
        p: PublishPrice,
    ) -> Result<RequestAnswer, ApiError> {
        let span = info_span!("price/publish", corr = %caller.corr(), party = %caller.party.0);
        async move {
            if p.targets.devices.is_some() {
                return Err(ApiError::bad_request(
                    "devices: a price is published to the ESI, not to single devices",
                ));
            }
            if p.rate_label.len() > firmware::host_link::types::MAX_RATE_LABEL_LEN {
                return Err(ApiError::bad_request("rate_label: at most 12 bytes"));
            }
            if p.currency > 999 {
                return Err(ApiError::bad_request("currency: an ISO 4217 numeric code (e.g. 840)"));
            }
            for (name, v) in [
                ("price_trailing_digit", p.price_trailing_digit),
                ("price_tier", p.price_tier),
                ("number_of_price_tiers", p.number_of_price_tiers),
            ] {
                if v > 15 {
                    return Err(ApiError::bad_request(format!("{name}: 0 to 15")));
                }
            }
            let minutes = match p.duration_minutes {
                None => UNTIL_CHANGED,
                Some(d @ 1..=0xFFFE) => d as u16,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "duration_minutes: 1 to 65534, or absent for until changed",
                    ))
                }
            };
            let priority = parse_priority(p.priority.as_deref(), Priority::High)?;
            let now = Timestamp::now();
            let w = self.window(p.start_time.as_deref(), minutes, now)?;
            let esis = self.target_esis(&p.targets).await?;
            let deliveries = esis
                .into_iter()
                .map(|esi_id| NewDelivery { esi_id, eui64: Eui64(0), undeliverable: None })
                .collect();
            let payload = Payload::Price {
                provider_id: p.provider_id,
                rate_label: p.rate_label,
                issuer_event_id: match p.issuer_event_id {
                    Some(id) => id,
                    None => self.issuer_event_id().await?,
                },
                unit_of_measure: p.unit_of_measure,
                currency: p.currency,
                price_trailing_digit_and_price_tier: (p.price_trailing_digit << 4) | p.price_tier,
                number_of_price_tiers_and_register_tier: p.number_of_price_tiers << 4,
                start_time: w.utc_start,
                duration_in_minutes: w.minutes,
                price: p.price,
            };
            self.accept(caller, &payload, priority, now, w.end, deliveries).await
        }
        .instrument(span)
        .await
    }

    /// `drlc/event` (LoadControlEvent, se10.md §4.2).
    pub async fn drlc_event(&self, caller: &Caller, e: DrEvent) -> Result<RequestAnswer, ApiError> {
        let span = info_span!("drlc/event", corr = %caller.corr(), party = %caller.party.0);
        async move {
            let device_class = parse_device_classes(&e.device_classes)?;
            if !(1..=MAX_DR_MINUTES).contains(&e.duration_minutes) {
                return Err(ApiError::bad_request("duration_minutes: 1 to 1440"));
            }
            if !(1..=15).contains(&e.criticality) {
                return Err(ApiError::bad_request("criticality: 1 to 15"));
            }
            let offset = |v: Option<f32>, name: &str| -> Result<u8, ApiError> {
                match v {
                    None => Ok(0xFF),
                    Some(x) if (0.0..=25.4).contains(&x) => Ok((x * 10.0).round() as u8),
                    Some(_) => Err(ApiError::bad_request(format!("{name}: 0.0 to 25.4 °C"))),
                }
            };
            let set_point = |v: Option<f32>, name: &str| -> Result<i16, ApiError> {
                match v {
                    None => Ok(i16::MIN),
                    Some(x) if (-273.15..=327.67).contains(&x) => Ok((x * 100.0).round() as i16),
                    Some(_) => Err(ApiError::bad_request(format!("{name}: -273.15 to 327.67 °C"))),
                }
            };
            let alp = match e.average_load_adjustment_percentage {
                None => i8::MIN,
                Some(x @ -100..=100) => x,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "average_load_adjustment_percentage: -100 to 100",
                    ))
                }
            };
            let duty = match e.duty_cycle {
                None => 0xFF,
                Some(x @ 0..=100) => x,
                Some(_) => return Err(ApiError::bad_request("duty_cycle: 0 to 100")),
            };
            let priority = parse_priority(e.priority.as_deref(), Priority::High)?;
            let now = Timestamp::now();
            let w = self.window(e.start_time.as_deref(), e.duration_minutes as u16, now)?;
            let deliveries = self.recipients(&e.targets).await?;
            let payload = Payload::DrEvent {
                issuer_event_id: match e.issuer_event_id {
                    Some(id) => id,
                    None => self.issuer_event_id().await?,
                },
                device_class,
                utility_enrollment_group: e.utility_enrollment_group,
                start_time: w.utc_start,
                duration_in_minutes: w.minutes,
                criticality_level: e.criticality,
                cooling_temperature_offset: offset(
                    e.cooling_temperature_offset,
                    "cooling_temperature_offset",
                )?,
                heating_temperature_offset: offset(
                    e.heating_temperature_offset,
                    "heating_temperature_offset",
                )?,
                cooling_temperature_set_point: set_point(
                    e.cooling_temperature_set_point,
                    "cooling_temperature_set_point",
                )?,
                heating_temperature_set_point: set_point(
                    e.heating_temperature_set_point,
                    "heating_temperature_set_point",
                )?,
                average_load_adjustment_percentage: alp,
                duty_cycle: duty,
                event_control: u8::from(e.randomize_start) | (u8::from(e.randomize_end) << 1),
            };
            self.accept(caller, &payload, priority, now, w.end, deliveries).await
        }
        .instrument(span)
        .await
    }

    /// `drlc/cancel`: one event (`issuer_event_id`) or all (`all: true`).
    pub async fn drlc_cancel(
        &self,
        caller: &Caller,
        c: DrCancel,
    ) -> Result<RequestAnswer, ApiError> {
        let span = info_span!("drlc/cancel", corr = %caller.corr(), party = %caller.party.0);
        async move {
            if c.issuer_event_id.is_some() == c.all {
                return Err(ApiError::bad_request("issuer_event_id or all: give exactly one"));
            }
            let device_class = match &c.device_classes {
                None => 0x0FFF,
                Some(names) => parse_device_classes(names)?,
            };
            let effective = parse_start(c.effective_time.as_deref(), "effective_time")?;
            let priority = parse_priority(c.priority.as_deref(), Priority::High)?;
            let now = Timestamp::now();
            let deliveries = self.recipients(&c.targets).await?;
            let payload = Payload::DrCancel {
                issuer_event_id: c.issuer_event_id,
                device_class,
                utility_enrollment_group: c.utility_enrollment_group,
                cancel_control: u8::from(c.randomize_end),
                effective_time: effective.map_or(0, to_utc_time),
            };
            self.accept(caller, &payload, priority, now, None, deliveries).await
        }
        .instrument(span)
        .await
    }

    /// `message/status`: the request's deliveries.
    pub async fn message_status(&self, request_id: u64) -> Result<RequestAnswer, ApiError> {
        let rid = RequestId(request_id);
        let found = self
            .db(move |s| match s.request(rid)? {
                None => Ok(None),
                Some(r) => Ok(Some((r, s.deliveries_of(rid)?))),
            })
            .await?;
        let (req, list) = found
            .ok_or_else(|| ApiError::bad_request(format!("message_id: no request {request_id}")))?;
        let payload = Payload::decode(&req.body.payload).ok();
        Ok(RequestAnswer {
            request_id,
            message_id: (req.body.kind == RequestKind::Message).then(|| message_id_of(rid)),
            issuer_event_id: match payload {
                Some(
                    Payload::Price { issuer_event_id, .. }
                    | Payload::DrEvent { issuer_event_id, .. },
                ) => Some(issuer_event_id),
                _ => None,
            },
            kind: kind_name(req.body.kind),
            deliveries: list.iter().map(DeliveryView::from).collect(),
        })
    }

    /// `message/cancel`: queued deliveries are cancelled; devices that already have the message
    /// get a CancelMessage (a new request, High priority).
    pub async fn cancel_message(
        &self,
        caller: &Caller,
        message_id: u64,
    ) -> Result<CancelAnswer, ApiError> {
        let span = info_span!("message/cancel", corr = %caller.corr(), message_id);
        async move {
            let rid = RequestId(message_id);
            let req = self.db(move |s| s.request(rid)).await?;
            let Some(req) = req.filter(|r| r.body.kind == RequestKind::Message) else {
                return Err(ApiError::bad_request(format!("message_id: no message {message_id}")));
            };
            let control = match Payload::decode(&req.body.payload) {
                Ok(Payload::Message { message_control, .. }) => message_control,
                _ => 0,
            };
            let (reply, rx) = tokio::sync::oneshot::channel();
            self.inner
                .dispatcher
                .send(DispatchMsg::Cancel { request: rid, reply })
                .await
                .map_err(|_| ApiError::internal())?;
            let out =
                rx.await.map_err(|_| ApiError::internal())?.map_err(|e| super::internal(&e))?;
            info!(
                cancelled = out.cancelled.len(),
                in_flight = out.in_flight.len(),
                "queued deliveries cancelled"
            );
            let list = self.db(move |s| s.deliveries_of(rid)).await?;
            let shown: Vec<NewDelivery> = list
                .iter()
                .filter(|d| {
                    matches!(
                        d.state,
                        DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Confirmed
                    )
                })
                .map(|d| NewDelivery {
                    esi_id: d.esi_id.clone(),
                    eui64: d.eui64,
                    undeliverable: None,
                })
                .collect();
            let cancel_request = if shown.is_empty() {
                None
            } else {
                let payload = Payload::MessageCancel {
                    message_id: message_id_of(rid),
                    message_control: control,
                };
                Some(
                    self.accept(caller, &payload, Priority::High, Timestamp::now(), None, shown)
                        .await?,
                )
            };
            Ok(CancelAnswer {
                message_id,
                deliveries: list.iter().map(DeliveryView::from).collect(),
                cancel_request,
            })
        }
        .instrument(span)
        .await
    }

    /// `group/create` (or replace).
    pub async fn group_create(
        &self,
        caller: &Caller,
        name: &str,
        esi_ids: &[String],
    ) -> Result<GroupView, ApiError> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.len() > 64 || name.contains(['/', '+', '#']) {
            return Err(ApiError::bad_request("name: 1 to 64 characters, no '/', '+' or '#'"));
        }
        let mut members = BTreeSet::new();
        for e in esi_ids {
            members.insert(self.esi(e, "esi_ids")?.0);
        }
        if members.is_empty() {
            return Err(ApiError::bad_request("esi_ids: name at least one ESI"));
        }
        let g = Group {
            name: name.clone(),
            esi_ids: members.into_iter().collect(),
            owner: Some(caller.party.clone()),
            updated_at: Timestamp::now(),
        };
        let view = GroupView { name, esi_ids: g.esi_ids.iter().map(|e| e.0.clone()).collect() };
        self.db(move |s| s.put_group(g)).await?;
        Ok(view)
    }

    /// `group/delete`.
    pub async fn group_delete(&self, name: &str) -> Result<bool, ApiError> {
        let n = name.to_owned();
        self.db(move |s| s.delete_group(n)).await
    }

    /// `group/list`.
    pub async fn group_list(&self) -> Result<Vec<GroupView>, ApiError> {
        let groups = self.db(crate::store::Store::groups).await?;
        Ok(groups
            .into_iter()
            .map(|g| GroupView {
                name: g.name,
                esi_ids: g.esi_ids.into_iter().map(|e| e.0).collect(),
            })
            .collect())
    }
}
