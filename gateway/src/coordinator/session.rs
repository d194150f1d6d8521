//! What a supervisor does with commands, link events and coordinator reports.

use firmware::host_link::host::Clock;
use firmware::host_link::{
    Command, DeviceList, DeviceState as LinkDeviceState, Eui64 as LinkEui, Hello, LinkEvent,
    PowerSwitchStatus, Report, RequestResult, ResultCode, SetTime, Targets,
};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::batch::InFlightBatch;
use super::health::{power_text, switch_text};
use super::supervisor::{Outgoing, Supervisor};
use super::{CoordCmd, LinkStatus, QueryAnswer};
use crate::daemon::dispatcher::DispatchMsg;
use crate::error::ApiError;
use crate::model::{EsiRecord, Eui64, RequestKind, Timestamp};
use crate::ops::events::{event_status_name, DrlcEvent, Event, MeterEvent};
use crate::ops::payload::set_targets;
use crate::ops::time::{format_rfc3339, from_utc_time, to_utc_time};
use crate::ops::util::eui_text;
use crate::provisioning::resync;
use crate::scheduler::Outcome;

/// Requests the supervisor makes for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Internal {
    SetTime,
    /// Read the slot table; `resync`: part of the post-connect resynchronisation.
    ListDevices {
        resync: bool,
    },
    GetStatus {
        resync: bool,
    },
}

impl Internal {
    pub fn is_resync(self) -> bool {
        matches!(
            self,
            Self::SetTime | Self::ListDevices { resync: true } | Self::GetStatus { resync: true }
        )
    }
}

/// A request sent (or about to be) and waiting for its answer. A few dozen exist at a time,
/// so the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Pending {
    Batch {
        batch: InFlightBatch,
        deadline: Instant,
    },
    Query {
        reply: oneshot::Sender<Result<QueryAnswer, ApiError>>,
        /// The `Result`, kept while the data report is awaited.
        result: Option<RequestResult>,
        wants_data: bool,
        deadline: Instant,
    },
    Internal {
        what: Internal,
        deadline: Instant,
    },
}

impl Pending {
    pub fn deadline(&self) -> Instant {
        match self {
            Self::Batch { deadline, .. }
            | Self::Query { deadline, .. }
            | Self::Internal { deadline, .. } => *deadline,
        }
    }
}

/// Whether the command is answered by a data report after its `Result`.
fn wants_data(c: &Command) -> bool {
    matches!(c, Command::ListDevices | Command::ReadMeter(_) | Command::GetStatus)
}

impl Supervisor {
    /// A command from another task.
    pub(super) async fn on_command(&mut self, cmd: CoordCmd) {
        match cmd {
            CoordCmd::Deliver(batch) if self.ready => self.start_batch(batch).await,
            CoordCmd::Query { command, reply } if self.connected => {
                if let Command::RemoveDevice(r) = &command {
                    self.removing.insert(r.eui64.0, r.reason);
                }
                let deadline = Instant::now() + self.link.query_timeout;
                let wants_data = wants_data(&command);
                let pending = Pending::Query { reply, result: None, wants_data, deadline };
                let request_id = self.new_request_id();
                self.outq.push_back(Outgoing { request_id, command, pending });
            }
            cmd => self.refuse(cmd).await,
        }
    }

    /// Narrows a batch to the paired devices and queues it; the rest are undeliverable now.
    async fn start_batch(&mut self, mut batch: super::Batch) {
        let mut undeliverable = Vec::new();
        if batch.kind != RequestKind::Price {
            let devices = &self.devices;
            batch.members.retain(|&(id, eui)| match devices.get(&eui.0) {
                Some(&LinkDeviceState::KEY_ESTABLISHED) => true,
                state => {
                    let why = match state {
                        None => "the device is not provisioned on the ESI".to_owned(),
                        Some(s) => format!(
                            "the device is not paired with the ESI (state {})",
                            s.name().unwrap_or("unknown")
                        ),
                    };
                    undeliverable.push(super::batch::Resolved::new(
                        id,
                        Outcome::Undeliverable,
                        Some(why),
                    ));
                    false
                }
            });
            let mut list = heapless::Vec::new();
            for (_, eui) in &batch.members {
                if list.push(LinkEui(eui.0)).is_err() {
                    break;
                }
            }
            set_targets(&mut batch.command, Targets::Devices(list));
        }
        self.resolved(undeliverable).await;
        if batch.members.is_empty() {
            return;
        }
        let request_id = self.new_request_id();
        let deadline = Instant::now() + self.link.result_timeout;
        debug!(
            request = batch.request_id.0,
            link_request = request_id,
            members = batch.members.len(),
            "batch queued"
        );
        let command = batch.command.clone();
        let pending = Pending::Batch { batch: InFlightBatch::new(batch), deadline };
        self.outq.push_back(Outgoing { request_id, command, pending });
    }

    fn internal(&mut self, what: Internal, command: Command) {
        let deadline = Instant::now() + self.link.query_timeout;
        let request_id = self.new_request_id();
        let pending = Pending::Internal { what, deadline };
        self.outq.push_back(Outgoing { request_id, command, pending });
    }

    /// One event of the host endpoint.
    pub(super) async fn on_link_event(&mut self, ev: LinkEvent<Report>, clock: &Clock) {
        let _ = clock;
        match ev {
            LinkEvent::Connected(hello) => self.connected_to(hello).await,
            LinkEvent::Disconnected => {
                if self.connected {
                    warn!("link session ended");
                    self.events.coordinator(
                        &self.esi,
                        "comm_error",
                        Some("link session lost".into()),
                    );
                }
                self.link_down("link session to the coordinator lost").await;
                self.health.set_link(&self.esi, LinkStatus::Connecting);
            }
            LinkEvent::Received(report) => {
                self.health.update(&self.esi, |h| h.last_frame = Some(Timestamp::now()));
                self.on_report(report).await;
            }
            LinkEvent::Acked(seq) => {
                self.seqs.remove(&seq.0);
            }
            LinkEvent::Failed { seq, reason } => {
                let Some(rid) = self.seqs.remove(&seq.0) else { return };
                let Some(p) = self.pending.remove(&rid) else { return };
                let (outcome, why) = match reason {
                    firmware::host_link::FailReason::Rejected(code) => (
                        Outcome::Failed { retryable: false },
                        format!("the coordinator could not use the request ({code:?}); firmware too old?"),
                    ),
                    _ => (Outcome::Requeue, "link session to the coordinator lost".to_owned()),
                };
                self.fail_pending(p, outcome, &why).await;
            }
            LinkEvent::Refused { refusal, by_peer } => {
                let msg =
                    format!("handshake refused ({:?}, by coordinator: {by_peer})", refusal.reason);
                warn!(error = %msg, "link refused");
                self.health.update(&self.esi, |h| h.last_error = Some(msg.clone()));
                self.events.coordinator(&self.esi, "comm_error", Some(msg));
            }
            LinkEvent::ProtocolError { error, counters } => {
                debug!(?error, rx_errors = counters.receive_errors(), "link protocol error");
                self.health.update(&self.esi, |h| h.serial_errors += 1);
            }
        }
    }

    /// A (new) session: record the peer, then resynchronise before taking work.
    async fn connected_to(&mut self, hello: Hello) {
        if self.connected {
            // The coordinator restarted inside our session.
            self.link_down("the coordinator restarted").await;
        }
        let node = hello.node;
        let firmware =
            format!("{}.{}.{}", node.software.major, node.software.minor, node.software.patch);
        info!(firmware = %firmware, capacity = node.slot_capacity, esi_eui64 = %node.esi_eui64, "connected");
        self.connected = true;
        self.ready = false;
        self.health.update(&self.esi, |h| {
            h.sessions += 1;
            h.firmware = Some(firmware);
            h.capacity = Some(node.slot_capacity);
            h.esi_eui64 = Some(Eui64(node.esi_eui64.0));
            h.last_frame = Some(Timestamp::now());
        });
        self.health.set_link(&self.esi, LinkStatus::Resyncing);
        self.events.coordinator(&self.esi, "connected", None);
        let rec = EsiRecord {
            esi_id: self.esi.clone(),
            meter_number: Some(self.cfg.meter_number.clone()),
            slot_capacity: Some(node.slot_capacity),
        };
        let store = self.store.clone();
        if let Err(e) = blocking(move || store.put_esi(rec)).await {
            warn!(error = %e, "could not record the ESI");
        }
        self.start_resync();
    }

    /// Sets the clock, re-reads the slot table and the status; the ESI is online once all
    /// three are answered.
    pub(super) fn start_resync(&mut self) {
        // A resync interrupted by a port loss is started over; late answers to its requests
        // then match nothing and cannot count for this one.
        let old = |p: &Pending| matches!(p, Pending::Internal { what, .. } if what.is_resync());
        self.pending.retain(|_, p| !old(p));
        self.outq.retain(|o| !old(&o.pending));
        self.ready = false;
        self.resync_left = 3;
        let utc = to_utc_time(Timestamp::now());
        self.internal(Internal::SetTime, Command::SetTime(SetTime { utc }));
        self.internal(Internal::ListDevices { resync: true }, Command::ListDevices);
        self.internal(Internal::GetStatus { resync: true }, Command::GetStatus);
    }

    /// One resync request answered (or failed); the last one makes the ESI online.
    pub(super) async fn resync_step(&mut self) {
        if self.resync_left == 0 {
            return;
        }
        self.resync_left -= 1;
        if self.resync_left == 0 && self.connected && !self.want_reconnect {
            self.ready = true;
            self.health.set_link(&self.esi, LinkStatus::Online);
            info!(devices = self.devices.len(), "online");
            self.events.coordinator(&self.esi, "online", None);
            let msg = DispatchMsg::EsiReady { esi: self.esi.clone(), ready: true };
            let _ = self.dispatch.send(msg).await;
        }
    }

    /// A report from the coordinator.
    async fn on_report(&mut self, report: Report) {
        match report {
            Report::Result(r) => self.on_result(r).await,
            Report::DeliveryResult(d) => {
                let Some(Pending::Batch { batch, .. }) = self.pending.get_mut(&d.request_id) else {
                    debug!(request = d.request_id, "delivery result for no pending batch");
                    return;
                };
                let out = batch.on_delivery(&d);
                let done = batch.is_done();
                if done {
                    self.pending.remove(&d.request_id);
                }
                self.resolved(out).await;
            }
            Report::DeviceList(l) => {
                let rid = l.request_id;
                self.apply_device_list(&l).await;
                self.data_report(rid, Report::DeviceList(l)).await;
            }
            Report::MeterReading(m) => match m.request_id {
                Some(rid) => self.data_report(rid, Report::MeterReading(m)).await,
                None => {
                    crate::polling::unsolicited_reading(&self.esi, &m, &self.health, &self.events);
                }
            },
            Report::PowerSwitchStatus(p) => {
                self.apply_status(&p);
                if let Some(rid) = p.request_id {
                    self.data_report(rid, Report::PowerSwitchStatus(p)).await;
                }
            }
            Report::MessageConfirmed(c) => {
                let at = if c.confirmation_time == 0 {
                    Timestamp::now()
                } else {
                    from_utc_time(c.confirmation_time)
                };
                info!(message_id = c.message_id, eui64 = %c.eui64, "message confirmed");
                let msg = DispatchMsg::Confirmed {
                    esi: self.esi.clone(),
                    eui64: Eui64(c.eui64.0),
                    message_id: c.message_id,
                    at,
                };
                let _ = self.dispatch.send(msg).await;
            }
            Report::EventStatus(s) => {
                let at = if s.event_status_time == 0 {
                    Timestamp::now()
                } else {
                    from_utc_time(s.event_status_time)
                };
                info!(issuer_event_id = s.issuer_event_id, eui64 = %s.eui64, status = s.event_status, "DR event status");
                self.events.publish(Event::Drlc(DrlcEvent {
                    esi_id: self.esi.0.clone(),
                    eui64: eui_text(Eui64(s.eui64.0)),
                    issuer_event_id: s.issuer_event_id,
                    status: event_status_name(s.event_status),
                    status_code: s.event_status,
                    at: format_rfc3339(at),
                }));
            }
            Report::DeviceEvent(e) => self.device_event(Eui64(e.eui64.0), e.state).await,
            Report::Heartbeat(h) => {
                self.health.update(&self.esi, |x| {
                    x.last_heartbeat = Some(Timestamp::now());
                    x.slots_used = Some(h.counters.slots_used);
                    x.devices_paired = Some(h.counters.devices_paired);
                });
            }
            Report::Error(e) => {
                let msg = format!("coordinator fault {:?}: {}", e.code, e.detail.as_str());
                warn!(error = %msg, "coordinator reported a fault");
                self.health.update(&self.esi, |h| h.last_error = Some(msg.clone()));
                self.events.coordinator(&self.esi, "comm_error", Some(msg));
            }
        }
    }

    async fn on_result(&mut self, r: RequestResult) {
        let Some(p) = self.pending.remove(&r.request_id) else {
            debug!(request = r.request_id, "result for no pending request");
            return;
        };
        match p {
            Pending::Batch { mut batch, deadline } => {
                let out = batch.on_result(r);
                if out.iter().any(|x| x.reason.as_deref().is_some_and(|m| m.contains("re-read"))) {
                    self.internal(Internal::ListDevices { resync: false }, Command::ListDevices);
                }
                if r.code == ResultCode::TIME_NOT_SET {
                    let utc = to_utc_time(Timestamp::now());
                    self.internal(Internal::SetTime, Command::SetTime(SetTime { utc }));
                }
                if !batch.is_done() {
                    self.pending.insert(r.request_id, Pending::Batch { batch, deadline });
                }
                self.resolved(out).await;
            }
            Pending::Query { reply, wants_data, deadline, .. } => {
                if wants_data && r.code == ResultCode::SUCCESS {
                    let p = Pending::Query { reply, result: Some(r), wants_data, deadline };
                    self.pending.insert(r.request_id, p);
                } else {
                    let _ = reply.send(Ok(QueryAnswer { result: r, data: None }));
                }
            }
            Pending::Internal { what, deadline, .. } => {
                let wants = !matches!(what, Internal::SetTime);
                if wants && r.code == ResultCode::SUCCESS {
                    self.pending.insert(r.request_id, Pending::Internal { what, deadline });
                } else {
                    if r.code != ResultCode::SUCCESS {
                        warn!(?what, code = ?r.code, "internal request refused");
                        if matches!(what, Internal::ListDevices { resync: true }) {
                            self.want_reconnect = true;
                        }
                    }
                    if what.is_resync() {
                        self.resync_step().await;
                    }
                }
            }
        }
    }

    /// The data report following a `Result`.
    async fn data_report(&mut self, rid: u32, report: Report) {
        match self.pending.remove(&rid) {
            Some(Pending::Query { reply, result: Some(result), .. }) => {
                let _ = reply.send(Ok(QueryAnswer { result, data: Some(report) }));
            }
            Some(Pending::Internal { what, .. }) => {
                if what.is_resync() {
                    self.resync_step().await;
                }
            }
            Some(other) => {
                self.pending.insert(rid, other);
            }
            None => debug!(request = rid, "data report for no pending request"),
        }
    }

    /// Records power / switch status and publishes a change at once.
    fn apply_status(&self, p: &PowerSwitchStatus) {
        let changed = self.health.update(&self.esi, |h| {
            let before = (h.status.power, h.status.switch);
            h.status.power = Some(p.power);
            h.status.switch = Some(p.switch);
            h.status.read_at = Some(Timestamp::now());
            before != (Some(p.power), Some(p.switch))
        });
        if changed == Some(true) {
            info!(power = ?p.power, switch = ?p.switch, "power/switch status changed");
            let at = if p.at == 0 { Timestamp::now() } else { from_utc_time(p.at) };
            self.events.publish(Event::Meter(MeterEvent {
                esi_id: self.esi.0.clone(),
                power: power_text(p.power),
                switch: switch_text(p.switch),
                summation_delivered_kwh: None,
                stale: false,
                at: format_rfc3339(at),
            }));
        }
    }

    /// Reconciles the store's devices of this ESI with its slot table (the ESI is the truth).
    async fn apply_device_list(&mut self, l: &DeviceList) {
        self.devices = l.entries.iter().map(|e| (e.eui64.0, e.state)).collect();
        self.health.update(&self.esi, |h| h.capacity = Some(l.capacity));
        let (store, esi, list) = (self.store.clone(), self.esi.clone(), l.clone());
        let plan = blocking(move || {
            let stored = store.devices(&esi)?;
            let plan = resync::reconcile(&esi, &stored, &list, Timestamp::now());
            for d in &plan.put {
                store.put_device(d.clone())?;
            }
            for e in &plan.removed {
                store.remove_device(esi.clone(), *e)?;
            }
            Ok(plan)
        })
        .await;
        match plan {
            Ok(plan) => {
                for (eui, state, reason) in plan.events {
                    self.events.device(&self.esi, eui, state, reason, Timestamp::now());
                }
            }
            Err(e) => warn!(error = %e, "could not reconcile the device list with the store"),
        }
    }

    /// A device's state changed on the ESI.
    async fn device_event(&mut self, eui: Eui64, state: LinkDeviceState) {
        info!(eui64 = %eui, state = ?state, "device event");
        if state == LinkDeviceState::UNPAIRED {
            self.devices.remove(&eui.0);
        } else {
            self.devices.insert(eui.0, state);
        }
        let (store, esi) = (self.store.clone(), self.esi.clone());
        let now = Timestamp::now();
        let removal =
            if state == LinkDeviceState::UNPAIRED { self.removing.remove(&eui.0) } else { None };
        let r = blocking(move || resync::apply_device_event(&store, &esi, eui, state, now)).await;
        match r {
            Ok(Some((name, reason))) => {
                let reason = reason.or_else(|| {
                    removal.map(|r| {
                        crate::ops::util::REMOVE_REASONS.iter().find(|(_, x)| *x == r).map_or_else(
                            || format!("reason_0x{:02x}", r.0),
                            |(n, _)| (*n).to_owned(),
                        )
                    })
                });
                self.events.device(&self.esi, eui, name, reason, now);
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "could not record a device event"),
        }
    }
}

/// Runs a blocking store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, crate::store::StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(crate::store::StoreError::Storage("store task panicked".into())))
}
