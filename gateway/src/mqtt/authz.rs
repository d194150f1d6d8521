//! Authorization of a request by the party's grants (design.md §8, BR-025.003): which ESIs (and
//! devices) a request touches, and whether the party holds a live grant with the right for each.
//!
//! - Downstream actions (`message/*`, `price/publish`, `drlc/*`) need the action's right on every
//!   target ESI (groups are expanded); with a `devices` filter, a device-scoped grant suffices
//!   for the devices it lists.
//! - `device/*`, `meter/*` need `provision` / `deprovision` / `read` on the ESI (and the device).
//! - `message/cancel` and `message/status` need the right of the original request's kind on
//!   every ESI it went to.
//! - `group/*`: a party manages and sees only groups of ESIs it holds a grant on (admins: all).
//! - `grant/*`, `esi/move_out`, `audit/query`: decided by role in [`crate::grants::Grants`] and
//!   [`super::actions`].

use std::collections::BTreeSet;

use serde_json::Value;
use zse::zcl::Eui64;

use super::actions::{decode, EsiRef, GroupReq, MessageRef};
use super::request::Shared;
use crate::error::ApiError;
use crate::grants::{GrantFilter, PartyId, Right, Role};
use crate::ops::types::{DrCancel, DrEvent, GroupView, Provision, PublishPrice, SendMessage};
use crate::ops::util::parse_eui64;

/// What a request touches, for the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub esi_ids: Vec<String>,
    pub eui64: Option<Eui64>,
}

fn eui(text: &str, field: &str) -> Result<Eui64, ApiError> {
    parse_eui64(text, field).map(|e| Eui64(e.0))
}

/// The ESIs named by `esi_ids` and `group` (unknown groups are left to the handler's error).
async fn target_esis(
    sh: &Shared,
    esi_ids: &[String],
    group: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let mut out: BTreeSet<String> = esi_ids.iter().map(|e| e.trim().to_owned()).collect();
    if let Some(name) = group {
        let groups = sh.gw.group_list().await?;
        if let Some(g) = groups.into_iter().find(|g| g.name == name.trim()) {
            out.extend(g.esi_ids);
        }
    }
    Ok(out.into_iter().collect())
}

/// Checks `right` on every ESI; with a device filter, per device on the ESIs that hold it.
async fn check_targets(
    sh: &Shared,
    party: &PartyId,
    right: Right,
    esis: &[String],
    devices: Option<&[String]>,
) -> Result<(), ApiError> {
    let wanted: Option<Vec<Eui64>> =
        devices.map(|d| d.iter().map(|t| eui(t, "devices")).collect()).transpose()?;
    for esi in esis {
        let per_device: Vec<Option<Eui64>> = match &wanted {
            None => vec![None],
            Some(w) => {
                let listed = sh.gw.devices(esi).await.map(|l| l.devices).unwrap_or_default();
                let here: Vec<Option<Eui64>> = listed
                    .iter()
                    .filter_map(|d| Eui64::parse_text(&d.eui64))
                    .filter(|d| w.contains(d))
                    .map(Some)
                    .collect();
                if here.is_empty() {
                    continue;
                }
                here
            }
        };
        for d in per_device {
            sh.check_grant(party, right, esi, None, d)?;
        }
    }
    Ok(())
}

/// Authorizes `action` with `body` for `party` (of `role`); returns what it touches.
pub async fn authorize(
    sh: &Shared,
    party: &PartyId,
    role: Role,
    action: &str,
    body: &Value,
) -> Result<Scope, ApiError> {
    let mut scope = Scope::default();
    match action {
        "message/send" => {
            let m: SendMessage = decode(body)?;
            let t = &m.targets;
            scope.esi_ids = target_esis(sh, &t.esi_ids, t.group.as_deref()).await?;
            check_targets(sh, party, Right::Message, &scope.esi_ids, t.devices.as_deref()).await?;
        }
        "price/publish" => {
            let p: PublishPrice = decode(body)?;
            let t = &p.targets;
            scope.esi_ids = target_esis(sh, &t.esi_ids, t.group.as_deref()).await?;
            check_targets(sh, party, Right::Price, &scope.esi_ids, None).await?;
        }
        "drlc/event" | "drlc/cancel" => {
            let t = if action == "drlc/event" {
                decode::<DrEvent>(body)?.targets
            } else {
                decode::<DrCancel>(body)?.targets
            };
            scope.esi_ids = target_esis(sh, &t.esi_ids, t.group.as_deref()).await?;
            check_targets(sh, party, Right::Drlc, &scope.esi_ids, t.devices.as_deref()).await?;
        }
        "message/cancel" | "message/status" => {
            let r: MessageRef = decode(body)?;
            let a = sh.gw.message_status(r.message_id).await?;
            let right = match a.kind.as_str() {
                "price" => Right::Price,
                "drlc_event" | "drlc_cancel" => Right::Drlc,
                _ => Right::Message,
            };
            let mut seen = BTreeSet::new();
            for d in &a.deliveries {
                let dev = Eui64::parse_text(&d.eui64).filter(|e| e.0 != 0);
                if seen.insert((d.esi_id.clone(), dev)) {
                    sh.check_grant(party, right, &d.esi_id, None, dev)?;
                }
            }
            scope.esi_ids = seen.into_iter().map(|(e, _)| e).collect();
            scope.esi_ids.dedup();
        }
        "device/provision" => {
            let p: Provision = decode(body)?;
            let dev = eui(&p.eui64, "eui64")?;
            sh.check_grant(
                party,
                Right::Provision,
                p.esi_id.trim(),
                Some(&p.meter_number),
                Some(dev),
            )?;
            scope = Scope { esi_ids: vec![p.esi_id.trim().to_owned()], eui64: Some(dev) };
        }
        "device/deprovision" => {
            let d: crate::ops::types::Deprovision = decode(body)?;
            let dev = eui(&d.eui64, "eui64")?;
            sh.check_grant(party, Right::Deprovision, d.esi_id.trim(), None, Some(dev))?;
            scope = Scope { esi_ids: vec![d.esi_id.trim().to_owned()], eui64: Some(dev) };
        }
        "device/list" | "meter/read" | "meter/status" => {
            let r: EsiRef = decode(body)?;
            sh.check_grant(party, Right::Read, r.esi_id.trim(), None, None)?;
            scope.esi_ids = vec![r.esi_id.trim().to_owned()];
        }
        "group/create" | "group/delete" => {
            let g: GroupReq = decode(body)?;
            let members = if action == "group/create" {
                g.esi_ids.iter().map(|e| e.trim().to_owned()).collect()
            } else {
                target_esis(sh, &[], Some(&g.name)).await?
            };
            if role != Role::Admin {
                for e in &members {
                    if !holds_grant(sh, party, e).await? {
                        return Err(ApiError::not_authorized(format!(
                            "party {party} holds no grant for ESIID {e}, so it may not put it in a group"
                        )));
                    }
                }
            }
            scope.esi_ids = members;
        }
        "esi/move_out" | "grant/add" => {
            if let Some(e) = body.get("esi_id").and_then(Value::as_str) {
                scope.esi_ids = vec![e.trim().to_owned()];
            }
        }
        _ => {}
    }
    Ok(scope)
}

/// Whether `party` holds a live grant (any right) on `esi`.
async fn holds_grant(sh: &Shared, party: &PartyId, esi: &str) -> Result<bool, ApiError> {
    let (p, f) = (
        party.clone(),
        GrantFilter {
            party: Some(party.clone()),
            esi_id: Some(esi.to_owned()),
            include_expired: false,
        },
    );
    Ok(!sh.with_grants(move |g, now| g.list(&p, &f, now)).await?.is_empty())
}

/// The groups a party may see: all for an admin, else those of ESIs it holds grants on.
pub async fn visible_groups(
    sh: &Shared,
    party: &PartyId,
    role: Role,
) -> Result<Vec<GroupView>, ApiError> {
    let groups = sh.gw.group_list().await?;
    if role == Role::Admin {
        return Ok(groups);
    }
    let mut out = Vec::new();
    for g in groups {
        let mut all = true;
        for e in &g.esi_ids {
            if !holds_grant(sh, party, e).await? {
                all = false;
                break;
            }
        }
        if all {
            out.push(g);
        }
    }
    Ok(out)
}
