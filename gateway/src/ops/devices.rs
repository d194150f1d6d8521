//! Provisioning (design.md §5): add, remove, list, and the CSV bulk forms.

use std::time::Duration;

use firmware::host_link::{
    AddDevice, Command, Eui64 as LinkEui, RemoveDevice, ResultCode, ResultDetail,
};
use tracing::{info, info_span, Instrument};

use super::time::format_rfc3339;
use super::types::{
    Deprovision, Deprovisioned, DeviceListing, DeviceView, LineResult, Provision, Provisioned,
};
use super::util::{eui_text, parse_eui64, parse_reason};
use super::{Caller, Gateway};
use crate::error::{ApiError, ErrorCode};
use crate::grants::may_delete_pending;
use crate::model::{DeviceRecord, DeviceState, EsiId, Timestamp};
use crate::provisioning::{csv, link_key_for};

/// Longest device label.
const MAX_LABEL: usize = 64;

fn code_name(c: ResultCode) -> String {
    c.name().map_or_else(|| format!("0x{:02x}", c.0), str::to_owned)
}

impl Gateway {
    /// `device/provision`: checks ESIID and meter number (BR-080), the install code's CRC,
    /// derives the link key, reserves a slot on the ESI and records the device `pending`.
    // One validation step after the other, in the order the errors are documented.
    #[allow(clippy::too_many_lines)]
    pub async fn provision(&self, caller: &Caller, p: Provision) -> Result<Provisioned, ApiError> {
        let span = info_span!("device/provision", corr = %caller.corr(), party = %caller.party.0, esi = %p.esi_id.trim(), eui64 = %p.eui64.trim());
        async move {
            let (esi, handle) = self.esi(&p.esi_id, "esi_id")?;
            let cfg = self.config().coordinator(&esi).ok_or_else(ApiError::internal)?;
            if p.meter_number.trim() != cfg.meter_number {
                return Err(ApiError::new(
                    ErrorCode::MeterMismatch,
                    format!("meter_number: does not belong to ESI {esi}"),
                ));
            }
            let eui64 = parse_eui64(&p.eui64, "eui64")?;
            let link_key = link_key_for(&p.install_code, eui64)?;
            let label = p.label.trim().to_owned();
            if label.chars().count() > MAX_LABEL {
                return Err(ApiError::bad_request(format!(
                    "label: at most {MAX_LABEL} characters"
                )));
            }
            let pc = self.config().provisioning;
            let window = match p.join_window_minutes {
                None => pc.join_window_default,
                Some(m) => Duration::from_secs(u64::from(m) * 60),
            };
            if window < pc.join_window_min || window > pc.join_window_max {
                return Err(ApiError::bad_request(format!(
                    "join_window_minutes: {} to {}",
                    pc.join_window_min.as_secs() / 60,
                    pc.join_window_max.as_secs() / 60
                )));
            }
            let existing = {
                let esi = esi.clone();
                self.db(move |s| s.device(&esi, eui64)).await?
            };
            if existing.as_ref().is_some_and(|d| d.state != DeviceState::Expired) {
                return Err(ApiError::new(
                    ErrorCode::AlreadyProvisioned,
                    format!("eui64: {} is already provisioned on ESI {esi}", eui_text(eui64)),
                ));
            }
            let join_window_s = u32::try_from(window.as_secs()).unwrap_or(u32::MAX);
            let cmd =
                Command::AddDevice(AddDevice { eui64: LinkEui(eui64.0), link_key, join_window_s });
            let answer = handle.query(cmd).await?;
            let r = answer.result;
            let (slot, slots_free) = match (r.code, r.detail) {
                (ResultCode::SUCCESS, ResultDetail::Slot { slot, slots_free }) => {
                    (slot, slots_free)
                }
                (ResultCode::SUCCESS, _) => (0xFF, 0),
                (ResultCode::SLOTS_FULL, _) => return Err(self.slots_full(&esi).await),
                (ResultCode::ALREADY_PROVISIONED, _) => {
                    return Err(ApiError::new(
                        ErrorCode::AlreadyProvisioned,
                        format!("eui64: the ESI already holds {}", eui_text(eui64)),
                    ))
                }
                (ResultCode::INVALID_FIELD, _) => {
                    return Err(ApiError::bad_request("join_window_minutes: refused by the ESI"))
                }
                (code, _) => {
                    return Err(ApiError::new(
                        ErrorCode::CoordinatorOffline,
                        format!("the ESI could not add the device ({})", code_name(code)),
                    ))
                }
            };
            let now = Timestamp::now();
            let deadline = now.saturating_add(window);
            let rec = DeviceRecord {
                esi_id: esi.clone(),
                eui64,
                slot: (slot != 0xFF).then_some(slot),
                state: DeviceState::Pending,
                label,
                join_deadline: Some(deadline),
                last_seen: None,
                lqi: None,
                updated_at: now,
            };
            // The ESI may have reported the join already (device events come in order after
            // the Result): do not overwrite a later state with `pending`.
            let stored = self
                .db(move |s| {
                    let cur = s.device(&rec.esi_id, rec.eui64)?;
                    match cur {
                        Some(c)
                            if c.state != DeviceState::Pending
                                && c.state != DeviceState::Expired =>
                        {
                            let merged =
                                DeviceRecord { label: rec.label, slot: rec.slot.or(c.slot), ..c };
                            s.put_device(merged.clone())?;
                            Ok(merged)
                        }
                        _ => {
                            s.put_device(rec.clone())?;
                            Ok(rec)
                        }
                    }
                })
                .await?;
            info!(slot, slots_free, "provisioned");
            self.events().device(&esi, eui64, "pending", None, now);
            Ok(Provisioned {
                esi_id: esi.0.clone(),
                eui64: eui_text(eui64),
                state: stored.state.as_str().to_owned(),
                slot,
                slots_free,
                join_deadline: format_rfc3339(deadline),
            })
        }
        .instrument(span)
        .await
    }

    /// `SLOTS_FULL` naming capacity and occupants (BR-068.006).
    async fn slots_full(&self, esi: &EsiId) -> ApiError {
        let capacity = self.health().get(esi).and_then(|h| h.capacity);
        let e = esi.clone();
        let devices = self.db(move |s| s.devices(&e)).await.unwrap_or_default();
        let occupants: Vec<String> = devices
            .iter()
            .filter(|d| d.state != DeviceState::Expired)
            .map(|d| {
                let label =
                    if d.label.is_empty() { String::new() } else { format!(" {:?}", d.label) };
                format!("{} ({}{label})", eui_text(d.eui64), d.state.as_str())
            })
            .collect();
        let cap = capacity.map_or_else(|| "all".to_owned(), |c| format!("all {c}"));
        ApiError::new(
            ErrorCode::SlotsFull,
            format!("{cap} slots of ESI {esi} are taken; occupants: {}", occupants.join(", ")),
        )
    }

    /// `device/deprovision` with a reason code (BR-084). A pending entry (not joined yet) may
    /// only be removed by the TDSP (BR-081.003).
    pub async fn deprovision(
        &self,
        caller: &Caller,
        d: Deprovision,
    ) -> Result<Deprovisioned, ApiError> {
        let span = info_span!("device/deprovision", corr = %caller.corr(), party = %caller.party.0, esi = %d.esi_id.trim(), eui64 = %d.eui64.trim());
        async move {
            let (esi, handle) = self.esi(&d.esi_id, "esi_id")?;
            let eui64 = parse_eui64(&d.eui64, "eui64")?;
            let (reason, reason_name) = parse_reason(&d.reason)?;
            let rec = {
                let esi = esi.clone();
                self.db(move |s| s.device(&esi, eui64)).await?
            };
            let Some(rec) = rec else {
                return Err(ApiError::new(
                    ErrorCode::NotPaired,
                    format!("eui64: {} is not provisioned on ESI {esi}", eui_text(eui64)),
                ));
            };
            if rec.state == DeviceState::Pending && !may_delete_pending(caller.role) {
                return Err(ApiError::not_authorized(
                    "only the TDSP may remove a pending provisioning entry (BR-081.003)",
                ));
            }
            // The coordinator announces a removal it carried out (`UNPAIRED`, with this reason);
            // otherwise the event is ours to send.
            let mut announced = false;
            if rec.state != DeviceState::Expired {
                let cmd = Command::RemoveDevice(RemoveDevice { eui64: LinkEui(eui64.0), reason });
                let r = handle.query(cmd).await?.result;
                announced = r.code == ResultCode::SUCCESS;
                if !matches!(
                    r.code,
                    ResultCode::SUCCESS | ResultCode::UNKNOWN_DEVICE | ResultCode::NOT_FOUND
                ) {
                    return Err(ApiError::new(
                        ErrorCode::CoordinatorOffline,
                        format!("the ESI could not remove the device ({})", code_name(r.code)),
                    ));
                }
            }
            let e2 = esi.clone();
            self.db(move |s| s.remove_device(e2, eui64)).await?;
            info!(reason = reason_name, "de-provisioned");
            if !announced {
                let now = Timestamp::now();
                self.events().device(&esi, eui64, "unpaired", Some(reason_name.to_owned()), now);
            }
            Ok(Deprovisioned {
                esi_id: esi.0.clone(),
                eui64: eui_text(eui64),
                state: "unpaired".into(),
                reason: reason_name.into(),
            })
        }
        .instrument(span)
        .await
    }

    /// `device/list` for one ESI: capacity, counts, devices.
    pub async fn devices(&self, esi_id: &str) -> Result<DeviceListing, ApiError> {
        let (esi, _) = self.esi(esi_id, "esi_id")?;
        let e = esi.clone();
        let list = self.db(move |s| s.devices(&e)).await?;
        let capacity = self.health().get(&esi).and_then(|h| h.capacity);
        let provisioned = list.iter().filter(|d| d.state != DeviceState::Expired).count();
        let pending = list.iter().filter(|d| d.state == DeviceState::Pending).count();
        Ok(DeviceListing {
            esi_id: esi.0.clone(),
            capacity,
            provisioned,
            pending,
            slots_free: capacity
                .map(|c| c.saturating_sub(u8::try_from(provisioned).unwrap_or(u8::MAX))),
            devices: list.iter().map(DeviceView::from).collect(),
        })
    }

    /// Bulk provisioning from CSV (`esi_id,meter_number,eui64,install_code[,label][,join_window_minutes]`):
    /// one result per data line, in order; a bad line never stops the others.
    pub async fn bulk_provision(
        &self,
        caller: &Caller,
        text: &str,
    ) -> Result<Vec<LineResult>, ApiError> {
        let rows = csv::parse(text, &["esi_id", "meter_number", "eui64", "install_code"])
            .map_err(ApiError::bad_request)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = match row {
                Ok(r) => r,
                Err((line, e)) => {
                    out.push(line_error(line, None, ApiError::bad_request(e)));
                    continue;
                }
            };
            let jw = row.get("join_window_minutes");
            let join_window_minutes = if jw.is_empty() {
                None
            } else if let Ok(m) = jw.parse() {
                Some(m)
            } else {
                let e = ApiError::bad_request("join_window_minutes: a whole number of minutes");
                out.push(line_error(row.line, Some(row.get("eui64")), e));
                continue;
            };
            let p = Provision {
                esi_id: row.get("esi_id").into(),
                meter_number: row.get("meter_number").into(),
                eui64: row.get("eui64").into(),
                install_code: row.get("install_code").into(),
                label: row.get("label").into(),
                join_window_minutes,
            };
            let mut c = caller.clone();
            c.transaction = Some(format!("{}:line{}", caller.corr(), row.line));
            out.push(match self.provision(&c, p).await {
                Ok(v) => LineResult {
                    line: row.line,
                    eui64: Some(v.eui64.clone()),
                    status: "ok".into(),
                    data: serde_json::to_value(&v).ok(),
                    error: None,
                },
                Err(e) => line_error(row.line, Some(row.get("eui64")), e),
            });
        }
        Ok(out)
    }

    /// Bulk de-provisioning from CSV (`esi_id,eui64,reason`).
    pub async fn bulk_deprovision(
        &self,
        caller: &Caller,
        text: &str,
    ) -> Result<Vec<LineResult>, ApiError> {
        let rows =
            csv::parse(text, &["esi_id", "eui64", "reason"]).map_err(ApiError::bad_request)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = match row {
                Ok(r) => r,
                Err((line, e)) => {
                    out.push(line_error(line, None, ApiError::bad_request(e)));
                    continue;
                }
            };
            let d = Deprovision {
                esi_id: row.get("esi_id").into(),
                eui64: row.get("eui64").into(),
                reason: row.get("reason").into(),
            };
            out.push(match self.deprovision(caller, d).await {
                Ok(v) => LineResult {
                    line: row.line,
                    eui64: Some(v.eui64.clone()),
                    status: "ok".into(),
                    data: serde_json::to_value(&v).ok(),
                    error: None,
                },
                Err(e) => line_error(row.line, Some(row.get("eui64")), e),
            });
        }
        Ok(out)
    }
}

fn line_error(line: usize, eui64: Option<&str>, e: ApiError) -> LineResult {
    LineResult {
        line,
        eui64: eui64.filter(|s| !s.is_empty()).map(str::to_owned),
        status: "error".into(),
        data: None,
        error: Some(e),
    }
}
