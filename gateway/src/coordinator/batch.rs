//! A batch in flight on the link: collects the coordinator's `Result` and per-device
//! `DeliveryResult`s and turns them into one outcome per delivery (design.md §4 states).
//!
//! Pure bookkeeping, no I/O, so every mapping below is unit-tested.

use firmware::host_link::{
    DeliveryOutcome, DeliveryResult, RequestResult, ResultCode, ResultDetail,
};

use super::Batch;
use crate::model::{DeliveryId, Eui64, RequestKind};
use crate::scheduler::Outcome;

/// The outcome of one delivery of a batch, for the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub id: DeliveryId,
    pub outcome: Outcome,
    /// Why (for failures; stored as the delivery's last error).
    pub reason: Option<String>,
    /// The ESI asked to slow down (`BUSY`): pause dispatch to it briefly.
    pub cool_down: bool,
}

impl Resolved {
    pub fn new(id: DeliveryId, outcome: Outcome, reason: Option<String>) -> Self {
        Self { id, outcome, reason, cool_down: false }
    }
}

/// A batch sent on the link, waiting for its results.
#[derive(Debug)]
pub(crate) struct InFlightBatch {
    pub batch: Batch,
    /// Members without an outcome yet.
    open: Vec<(DeliveryId, Eui64)>,
    /// `DeliveryResult`s announced by the `Result` / received so far.
    expected: Option<u8>,
    received: u8,
}

fn code_name(code: ResultCode) -> String {
    code.name().map_or_else(|| format!("0x{:02x}", code.0), str::to_owned)
}

/// The kinds whose SE id is stored on the ESI (an event / price id may be stored only once):
/// resending them cannot help a device that did not acknowledge, the ESI serves them on request.
fn stored_on_esi(kind: RequestKind) -> bool {
    matches!(kind, RequestKind::Price | RequestKind::DrlcEvent | RequestKind::DrlcCancel)
}

impl InFlightBatch {
    pub fn new(batch: Batch) -> Self {
        let open = batch.members.clone();
        Self { batch, open, expected: None, received: 0 }
    }

    pub fn is_done(&self) -> bool {
        self.open.is_empty()
    }

    /// Ends every open member with the same outcome.
    pub fn finish(&mut self, outcome: Outcome, reason: Option<&str>) -> Vec<Resolved> {
        self.open
            .drain(..)
            .map(|(id, _)| Resolved::new(id, outcome, reason.map(str::to_owned)))
            .collect()
    }

    /// The coordinator's `Result` for the whole request.
    pub fn on_result(&mut self, r: RequestResult) -> Vec<Resolved> {
        let kind = self.batch.kind;
        if r.code == ResultCode::SUCCESS {
            let count = match r.detail {
                ResultDetail::Deliveries { count } => count,
                ResultDetail::None | ResultDetail::Slot { .. } => 0,
            };
            if kind == RequestKind::Price {
                // Stored on the ESI: pushed to devices that asked, served to the rest on request.
                return self.finish(Outcome::Delivered, None);
            }
            if count == 0 {
                let why = "the ESI sent it to no device (none of the recipients is paired)";
                return self.finish(Outcome::Undeliverable, Some(why));
            }
            self.expected = Some(count);
            return self.check_complete();
        }
        let name = code_name(r.code);
        let single = self.open.len() == 1;
        let (outcome, reason, cool_down) = match r.code {
            ResultCode::BUSY => (Outcome::Requeue, "the ESI is busy (BUSY); sent again shortly".into(), true),
            ResultCode::NOT_PAIRED | ResultCode::UNKNOWN_DEVICE | ResultCode::NO_TARGETS if single => {
                (Outcome::Undeliverable, format!("the ESI reports the device is not paired ({name})"), false)
            }
            ResultCode::NOT_PAIRED | ResultCode::UNKNOWN_DEVICE | ResultCode::NO_TARGETS => (
                Outcome::Failed { retryable: true },
                format!("the ESI refused a recipient ({name}); its device list is re-read"),
                false,
            ),
            ResultCode::INVALID_FIELD if self.batch.resend && stored_on_esi(kind) => (
                Outcome::Failed { retryable: false },
                "the ESI already holds this event from an earlier send whose result was lost; \
                 the device's acknowledgement is unknown"
                    .into(),
                false,
            ),
            ResultCode::INVALID_FIELD | ResultCode::TEXT_TOO_LONG | ResultCode::UNSUPPORTED => (
                Outcome::Failed { retryable: false },
                format!("the ESI refused the request ({name}): a field is invalid or its time has passed"),
                false,
            ),
            ResultCode::NOT_FOUND => (
                Outcome::Failed { retryable: false },
                "nothing to cancel: it is no longer active on the ESI (NOT_FOUND)".into(),
                false,
            ),
            ResultCode::TIME_NOT_SET => (
                Outcome::Failed { retryable: true },
                "the ESI's clock is not set yet (TIME_NOT_SET)".into(),
                false,
            ),
            _ => (Outcome::Failed { retryable: true }, format!("the ESI answered {name}"), false),
        };
        let mut out = self.finish(outcome, Some(&reason));
        for r in &mut out {
            r.cool_down = cool_down;
        }
        out
    }

    /// One device's `DeliveryResult`.
    pub fn on_delivery(&mut self, d: &DeliveryResult) -> Vec<Resolved> {
        self.received = self.received.saturating_add(1);
        let mut out = Vec::new();
        if let Some(i) = self.open.iter().position(|(_, e)| e.0 == d.eui64.0) {
            let (id, _) = self.open.remove(i);
            let (outcome, reason) = match d.outcome {
                DeliveryOutcome::ApsAcked | DeliveryOutcome::ZclStatus(0) => {
                    (Outcome::Delivered, None)
                }
                DeliveryOutcome::ZclStatus(s) => (
                    Outcome::Failed { retryable: false },
                    Some(format!("the device answered ZCL status 0x{s:02x}")),
                ),
                DeliveryOutcome::Timeout { retries } if stored_on_esi(self.batch.kind) => (
                    Outcome::Failed { retryable: false },
                    Some(format!(
                        "no acknowledgement from the device after {retries} radio retries; \
                         the ESI keeps the event and serves it when the device asks"
                    )),
                ),
                DeliveryOutcome::Timeout { retries } => (
                    Outcome::Failed { retryable: true },
                    Some(format!(
                        "no acknowledgement from the device after {retries} radio retries"
                    )),
                ),
                DeliveryOutcome::ApsFailed { status, retries } => (
                    Outcome::Failed { retryable: !stored_on_esi(self.batch.kind) },
                    Some(format!(
                        "the radio could not deliver it (status 0x{status:02x}) after {retries} retries"
                    )),
                ),
                DeliveryOutcome::NotPaired => (
                    Outcome::Undeliverable,
                    Some("the ESI reports the device is not paired".to_owned()),
                ),
                DeliveryOutcome::DeviceRemoved => (
                    Outcome::Undeliverable,
                    Some("the device was removed from the ESI before it was sent".to_owned()),
                ),
                DeliveryOutcome::Superseded => (
                    Outcome::Failed { retryable: false },
                    Some("replaced, cancelled or expired on the ESI before it was sent".to_owned()),
                ),
            };
            out.push(Resolved::new(id, outcome, reason));
        }
        out.extend(self.check_complete());
        out
    }

    fn check_complete(&mut self) -> Vec<Resolved> {
        match self.expected {
            Some(n) if self.received >= n && !self.open.is_empty() => self.finish(
                Outcome::Failed { retryable: true },
                Some("the ESI reported no result for this device"),
            ),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use firmware::host_link::{Command, Eui64 as LinkEui};

    use super::*;
    use crate::model::RequestId;

    fn batch(kind: RequestKind, n: u64, resend: bool) -> InFlightBatch {
        InFlightBatch::new(Batch {
            request_id: RequestId(1),
            kind,
            members: (1..=n).map(|i| (DeliveryId(i), Eui64(0x100 + i))).collect(),
            command: Command::ListDevices,
            resend,
        })
    }

    fn result(code: ResultCode, count: u8) -> RequestResult {
        RequestResult { request_id: 9, code, detail: ResultDetail::Deliveries { count } }
    }

    fn dr(eui: u64, outcome: DeliveryOutcome) -> DeliveryResult {
        DeliveryResult { request_id: 9, eui64: LinkEui(eui), outcome }
    }

    #[test]
    fn per_device_outcomes() {
        let mut b = batch(RequestKind::Message, 3, false);
        assert!(b.on_result(result(ResultCode::SUCCESS, 3)).is_empty());
        let r = b.on_delivery(&dr(0x101, DeliveryOutcome::ApsAcked));
        assert_eq!(r, vec![Resolved::new(DeliveryId(1), Outcome::Delivered, None)]);
        let r = b.on_delivery(&dr(0x102, DeliveryOutcome::Timeout { retries: 3 }));
        assert_eq!(r[0].outcome, Outcome::Failed { retryable: true });
        assert!(r[0].reason.as_deref().unwrap().contains("3 radio retries"));
        let r = b.on_delivery(&dr(0x103, DeliveryOutcome::ZclStatus(0x81)));
        assert_eq!(r[0].outcome, Outcome::Failed { retryable: false });
        assert!(r[0].reason.as_deref().unwrap().contains("0x81"));
        assert!(b.is_done());
    }

    #[test]
    fn missing_results_fail_after_the_announced_count() {
        let mut b = batch(RequestKind::Message, 2, false);
        b.on_result(result(ResultCode::SUCCESS, 1));
        let r = b.on_delivery(&dr(0x999, DeliveryOutcome::ApsAcked));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|r| r.outcome == Outcome::Failed { retryable: true }));
        assert!(b.is_done());
    }

    #[test]
    fn result_codes() {
        let one = |kind, code, resend| {
            let mut b = batch(kind, 1, resend);
            b.on_result(result(code, 0)).remove(0)
        };
        let msg = RequestKind::Message;
        assert_eq!(one(msg, ResultCode::BUSY, false).outcome, Outcome::Requeue);
        assert!(one(msg, ResultCode::BUSY, false).cool_down);
        assert_eq!(one(msg, ResultCode::NOT_PAIRED, false).outcome, Outcome::Undeliverable);
        assert_eq!(one(msg, ResultCode::SUCCESS, false).outcome, Outcome::Undeliverable);
        assert_eq!(one(RequestKind::Price, ResultCode::SUCCESS, false).outcome, Outcome::Delivered);
        assert_eq!(
            one(msg, ResultCode::TEXT_TOO_LONG, false).outcome,
            Outcome::Failed { retryable: false }
        );
        assert_eq!(
            one(msg, ResultCode::INTERNAL, false).outcome,
            Outcome::Failed { retryable: true }
        );
        let dup = one(RequestKind::DrlcEvent, ResultCode::INVALID_FIELD, true);
        assert!(dup.reason.unwrap().contains("already holds"));
        let mut two = batch(msg, 2, false);
        let r = two.on_result(result(ResultCode::UNKNOWN_DEVICE, 0));
        assert!(r.iter().all(|r| r.outcome == Outcome::Failed { retryable: true }));
        let mut drb = batch(RequestKind::DrlcEvent, 1, false);
        drb.on_result(result(ResultCode::SUCCESS, 1));
        let r = drb.on_delivery(&dr(0x101, DeliveryOutcome::Timeout { retries: 2 }));
        assert_eq!(r[0].outcome, Outcome::Failed { retryable: false });
        let mut m = batch(msg, 4, false);
        m.on_result(result(ResultCode::SUCCESS, 4));
        let outcomes: Vec<Outcome> = [
            DeliveryOutcome::ApsFailed { status: 0xE9, retries: 3 },
            DeliveryOutcome::NotPaired,
            DeliveryOutcome::DeviceRemoved,
            DeliveryOutcome::Superseded,
        ]
        .into_iter()
        .zip(0x101..)
        .map(|(o, e)| m.on_delivery(&dr(e, o)).remove(0).outcome)
        .collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Failed { retryable: true },
                Outcome::Undeliverable,
                Outcome::Undeliverable,
                Outcome::Failed { retryable: false }
            ]
        );
    }
}
