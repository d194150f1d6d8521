//! The rules over a [`GrantStore`]: checking requests, managing grants, move-out.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use zse::zcl::Eui64;

use super::{
    DeviceScope, Grant, GrantId, GrantStore, GrantStoreError, Party, PartyId, Right, Role,
};
use crate::error::{ApiError, ErrorCode};

/// Longest ESIID or meter number accepted (an ESIID has up to 22 characters; other markets'
/// identifiers are longer, so the cap only bounds memory and log lines).
const MAX_ID_LEN: usize = 64;

/// Knows which meter number belongs to which ESIID (BR-080). Implemented by the device store;
/// maps implement it for tests and small deployments.
pub trait EsiDirectory {
    /// The meter number of the ESI with this ESIID, or `None` if the gateway hosts no such ESI.
    fn meter_number(&self, esi_id: &str) -> Option<String>;

    /// `UNKNOWN_ESI` or `METER_MISMATCH` unless `meter_number` belongs to `esi_id`.
    fn verify_meter(&self, esi_id: &str, meter_number: &str) -> Result<(), ApiError> {
        match self.meter_number(esi_id) {
            None => Err(ApiError::new(
                ErrorCode::UnknownEsi,
                format!("this gateway hosts no ESI with ESIID {esi_id}"),
            )),
            Some(m) if m == meter_number => Ok(()),
            Some(_) => Err(ApiError::new(
                ErrorCode::MeterMismatch,
                format!("meter number {meter_number} does not belong to ESIID {esi_id}"),
            )),
        }
    }
}

impl<S: std::hash::BuildHasher> EsiDirectory for std::collections::HashMap<String, String, S> {
    fn meter_number(&self, esi_id: &str) -> Option<String> {
        self.get(esi_id).cloned()
    }
}

impl EsiDirectory for std::collections::BTreeMap<String, String> {
    fn meter_number(&self, esi_id: &str) -> Option<String> {
        self.get(esi_id).cloned()
    }
}

/// The fields of a `grant/add` request (design.md §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    pub party: PartyId,
    pub esi_id: String,
    pub meter_number: String,
    pub rights: BTreeSet<Right>,
    #[serde(default)]
    pub devices: Option<DeviceScope>,
    #[serde(default)]
    pub expires_at: Option<u64>,
}

/// Filters of `grant/list`; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFilter {
    #[serde(default)]
    pub party: Option<PartyId>,
    #[serde(default)]
    pub esi_id: Option<String>,
    /// Include expired grants (default: only live ones).
    #[serde(default)]
    pub include_expired: bool,
}

/// BR-081.003: only the TDSP may delete a pending provisioning entry (one whose device has not
/// joined yet). Other parties with the `deprovision` right may remove joined devices.
pub fn may_delete_pending(role: Role) -> bool {
    role == Role::Tdsp
}

/// Grant checking and management over a store.
#[derive(Debug, Clone, Default)]
pub struct Grants<S> {
    store: S,
}

fn store_err(e: &GrantStoreError) -> ApiError {
    tracing::error!(error = %e, "grant store failed");
    ApiError::internal()
}

fn check_id(what: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(ApiError::bad_request(format!(
            "{what} must have 1 to {MAX_ID_LEN} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::bad_request(format!(
            "{what} must not contain spaces or control characters"
        )));
    }
    Ok(())
}

fn rights_list(rights: &BTreeSet<Right>) -> String {
    rights.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

impl<S: GrantStore> Grants<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }

    /// The registered party with this id, or `NOT_AUTHORIZED`.
    pub fn party(&self, id: &PartyId) -> Result<Party, ApiError> {
        self.store.party(id).map_err(|e| store_err(&e))?.ok_or_else(|| {
            ApiError::not_authorized(format!("party {id} is not registered on this gateway"))
        })
    }

    /// Is `party` allowed to use `right` on `esi_id` (and `device`, if the request targets one)?
    ///
    /// Allowed iff the party holds a live grant on the ESIID that includes `right` and covers the
    /// device; a request for the whole ESI (`device = None`) needs a grant without a device scope.
    /// A `meter_number`, when the request carries one, must be the one the grant was verified
    /// against (`METER_MISMATCH`); that is only revealed to a party holding a live grant on the
    /// ESIID, everyone else gets `NOT_AUTHORIZED`.
    pub fn check(
        &self,
        party: &PartyId,
        right: Right,
        esi_id: &str,
        meter_number: Option<&str>,
        device: Option<Eui64>,
        now: u64,
    ) -> Result<(), ApiError> {
        let all = self.store.grants_of_esi(esi_id).map_err(|e| store_err(&e))?;
        let mine: Vec<&Grant> = all.iter().filter(|g| &g.party == party).collect();
        let live: Vec<&Grant> = mine.iter().copied().filter(|g| g.is_live(now)).collect();
        if live.is_empty() {
            let msg = match mine.iter().filter_map(|g| g.expires_at).max() {
                Some(t) => {
                    format!("the grant of party {party} for ESIID {esi_id} expired at {t} (Unix time); ask an administrator to renew it")
                }
                _ => format!("party {party} holds no grant for ESIID {esi_id}"),
            };
            return Err(ApiError::not_authorized(msg));
        }
        if let Some(m) = meter_number {
            if live.iter().all(|g| g.meter_number != m) {
                return Err(ApiError::new(
                    ErrorCode::MeterMismatch,
                    format!("meter number {m} does not belong to ESIID {esi_id}"),
                ));
            }
        }
        let live: Vec<&Grant> =
            live.into_iter().filter(|g| meter_number.is_none_or(|m| g.meter_number == m)).collect();
        let with_right: Vec<&Grant> =
            live.iter().copied().filter(|g| g.rights.contains(&right)).collect();
        if with_right.is_empty() {
            let held: BTreeSet<Right> =
                live.iter().flat_map(|g| g.rights.iter().copied()).collect();
            return Err(ApiError::not_authorized(format!(
                "the grant of party {party} for ESIID {esi_id} does not include the '{right}' right (it has: {})",
                rights_list(&held)
            )));
        }
        if with_right.iter().any(|g| g.covers_device(device)) {
            return Ok(());
        }
        Err(ApiError::not_authorized(match device {
            Some(d) => format!(
                "the '{right}' grant of party {party} for ESIID {esi_id} does not cover device {d}"
            ),
            None => format!(
                "the '{right}' grant of party {party} for ESIID {esi_id} is limited to some devices; name the device"
            ),
        }))
    }

    /// [`Self::check`] for `deprovision`, plus BR-081.003: a pending entry (device not joined
    /// yet) may only be deleted by the TDSP.
    pub fn check_deprovision(
        &self,
        party: &PartyId,
        esi_id: &str,
        meter_number: Option<&str>,
        device: Eui64,
        pending: bool,
        now: u64,
    ) -> Result<(), ApiError> {
        self.check(party, Right::Deprovision, esi_id, meter_number, Some(device), now)?;
        if pending {
            let p = self.party(party)?;
            if !may_delete_pending(p.role) {
                return Err(ApiError::not_authorized(format!(
                    "device {device} is still pending; only the TDSP may delete a pending provisioning request (party {party} is {})",
                    p.role
                )));
            }
        }
        Ok(())
    }

    /// `actor` must be an admin; an admin of an organisation only manages that organisation's
    /// parties (BR-069, BR-085).
    fn authorize_admin(&self, actor: &PartyId, target: Option<&Party>) -> Result<Party, ApiError> {
        let a = self.party(actor)?;
        if a.role != Role::Admin {
            return Err(ApiError::not_authorized(format!(
                "only an admin may manage grants (party {actor} is {})",
                a.role
            )));
        }
        if let (Some(org), Some(t)) = (&a.organisation, target) {
            if t.organisation.as_ref() != Some(org) {
                return Err(ApiError::not_authorized(format!(
                    "admin {actor} of organisation {org} may only manage grants of parties of {org}; party {} is not one",
                    t.id
                )));
            }
        }
        Ok(a)
    }

    /// Registers or replaces a party. Only a gateway-wide admin (no organisation) may do this,
    /// or an organisation's admin for a non-admin party of its own organisation.
    pub fn put_party(&mut self, actor: &PartyId, party: Party) -> Result<(), ApiError> {
        check_id("party id", party.id.as_str())?;
        let a = self.authorize_admin(actor, Some(&party))?;
        if a.organisation.is_some() && party.role == Role::Admin {
            return Err(ApiError::not_authorized(
                "only a gateway-wide admin may register admins".to_string(),
            ));
        }
        self.store.put_party(party).map_err(|e| store_err(&e))
    }

    /// `grant/add`: the ESIID must be hosted here and match the meter number (BR-080).
    pub fn add(
        &mut self,
        actor: &PartyId,
        new: NewGrant,
        esis: &impl EsiDirectory,
        now: u64,
    ) -> Result<Grant, ApiError> {
        check_id("esi_id", &new.esi_id)?;
        check_id("meter_number", &new.meter_number)?;
        let target = self.store.party(&new.party).map_err(|e| store_err(&e))?.ok_or_else(|| {
            ApiError::bad_request(format!("party {} is not registered on this gateway", new.party))
        })?;
        self.authorize_admin(actor, Some(&target))?;
        if new.rights.is_empty() {
            return Err(ApiError::bad_request(
                "rights must list at least one of message, price, drlc, provision, deprovision, read",
            ));
        }
        if new.devices.as_ref().is_some_and(|d| d.0.is_empty()) {
            return Err(ApiError::bad_request(
                "devices must list at least one EUI-64, or be left out to cover every device",
            ));
        }
        if let Some(t) = new.expires_at {
            if t <= now {
                return Err(ApiError::new(
                    ErrorCode::InvalidTime,
                    format!("expires_at {t} is not in the future (now is {now}, Unix seconds)"),
                ));
            }
        }
        esis.verify_meter(&new.esi_id, &new.meter_number)?;
        let grant = Grant {
            id: GrantId(0),
            party: new.party,
            esi_id: new.esi_id,
            meter_number: new.meter_number,
            rights: new.rights,
            devices: new.devices,
            expires_at: new.expires_at,
            granted_by: actor.clone(),
            granted_at: now,
        };
        self.store.insert_grant(grant).map_err(|e| store_err(&e))
    }

    /// `grant/revoke` by id.
    pub fn revoke(&mut self, actor: &PartyId, id: GrantId) -> Result<Grant, ApiError> {
        let g = self
            .store
            .grant(id)
            .map_err(|e| store_err(&e))?
            .ok_or_else(|| ApiError::bad_request(format!("there is no grant with id {id}")))?;
        let target = self.store.party(&g.party).map_err(|e| store_err(&e))?;
        // A grant of a party no longer registered can be revoked by a gateway-wide admin only.
        let target = target.unwrap_or_else(|| Party {
            id: g.party.clone(),
            role: Role::ThirdParty,
            organisation: None,
            name: None,
        });
        self.authorize_admin(actor, Some(&target))?;
        self.store.remove_grant(id).map_err(|e| store_err(&e))?;
        Ok(g)
    }

    /// `grant/revoke` by party and ESIID: removes every grant of `party` on `esi_id`.
    pub fn revoke_party_esi(
        &mut self,
        actor: &PartyId,
        party: &PartyId,
        esi_id: &str,
    ) -> Result<Vec<Grant>, ApiError> {
        let ids: Vec<GrantId> = self
            .store
            .grants_of_esi(esi_id)
            .map_err(|e| store_err(&e))?
            .into_iter()
            .filter(|g| &g.party == party)
            .map(|g| g.id)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.revoke(actor, id)?);
        }
        Ok(out)
    }

    /// `grant/list`: an admin sees the grants it manages; any other party sees its own.
    pub fn list(
        &self,
        actor: &PartyId,
        filter: &GrantFilter,
        now: u64,
    ) -> Result<Vec<Grant>, ApiError> {
        let a = self.party(actor)?;
        let candidates = match &filter.esi_id {
            Some(e) => self.store.grants_of_esi(e),
            None => self.store.grants(),
        }
        .map_err(|e| store_err(&e))?;
        let mut out = Vec::new();
        for g in candidates {
            if filter.party.as_ref().is_some_and(|p| p != &g.party)
                || (!filter.include_expired && !g.is_live(now))
            {
                continue;
            }
            let visible = match (a.role, &a.organisation) {
                (Role::Admin, None) => true,
                (Role::Admin, Some(org)) => self
                    .store
                    .party(&g.party)
                    .map_err(|e| store_err(&e))?
                    .is_some_and(|p| p.organisation.as_ref() == Some(org)),
                _ => g.party == a.id,
            };
            if visible {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// `esi/move_out` (BR-044): the customer left the premise, so every grant on the ESIID ends,
    /// whoever granted it and whoever holds it. Declared by the TDSP or a gateway-wide admin.
    pub fn move_out(
        &mut self,
        actor: &PartyId,
        esi_id: &str,
        meter_number: &str,
        esis: &impl EsiDirectory,
    ) -> Result<Vec<Grant>, ApiError> {
        let a = self.party(actor)?;
        let allowed = a.role == Role::Tdsp || (a.role == Role::Admin && a.organisation.is_none());
        if !allowed {
            return Err(ApiError::not_authorized(format!(
                "only the TDSP or a gateway-wide admin may declare a move-out (party {actor} is {})",
                a.role
            )));
        }
        esis.verify_meter(esi_id, meter_number)?;
        let grants = self.store.grants_of_esi(esi_id).map_err(|e| store_err(&e))?;
        for g in &grants {
            self.store.remove_grant(g.id).map_err(|e| store_err(&e))?;
        }
        Ok(grants)
    }

    /// Removes every grant that has expired by `now`; returns them (for the audit log).
    pub fn purge_expired(&mut self, now: u64) -> Result<Vec<Grant>, ApiError> {
        let expired: Vec<Grant> = self
            .store
            .grants()
            .map_err(|e| store_err(&e))?
            .into_iter()
            .filter(|g| !g.is_live(now))
            .collect();
        for g in &expired {
            self.store.remove_grant(g.id).map_err(|e| store_err(&e))?;
        }
        Ok(expired)
    }
}
