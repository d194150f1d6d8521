//! Parties and grants: who may do what to which ESI (design.md §8).
//!
//! - A **party** is a portal-side identity with one [`Role`]: the meter's utility (`tdsp`), a retail
//!   provider (`rep`), a customer-authorised `third_party` (BR-401) or an `admin` who manages
//!   grants (BR-069, BR-085). An admin with an `organisation` manages only the grants of parties of
//!   that organisation; an admin without one manages every grant on this gateway.
//! - A **grant** binds a party to one ESIID, verified by its meter number when the grant is made
//!   (BR-080), with a set of [`Right`]s, optionally restricted to some HAN devices by EUI-64
//!   (BR-025.010, BR-025.011) and optionally expiring.
//! - Every request is checked against the grants ([`Grants::check`], BR-025.003a/b). No role
//!   bypasses the check: the TDSP, too, acts on an ESI only through a grant for it. Roles only
//!   decide who manages grants, who may declare a move-out, and who may delete a pending
//!   provisioning entry ([`may_delete_pending`], BR-081.003).
//! - A move-out ends all access to the premise, third parties included (BR-044).
//!
//! Times are Unix seconds (UTC). A grant with `expires_at = t` is valid while `now < t`.
//!
//! Storage goes through the [`GrantStore`] trait; [`MemoryGrantStore`] is an in-memory impl that
//! serializes with serde, so a durable store can persist it as a whole or implement the trait.

mod service;
mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use zse::zcl::Eui64;

pub use service::{may_delete_pending, EsiDirectory, GrantFilter, Grants, NewGrant};
pub use store::{GrantStore, GrantStoreError, MemoryGrantStore};

/// A party's identifier (as configured; also the JWS key registry's and the audit log's name
/// for it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PartyId(pub String);

impl PartyId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The four kinds of party of the SMT requirements (smt-han-requirements.md, "Permissions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The transmission and distribution utility that owns the meter.
    Tdsp,
    /// A retail electric provider.
    Rep,
    /// A party the customer authorised (BR-401).
    ThirdParty,
    /// An organisation's (or the gateway's) grant administrator (BR-069, BR-085).
    Admin,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tdsp => "tdsp",
            Self::Rep => "rep",
            Self::ThirdParty => "third_party",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: PartyId,
    pub role: Role,
    /// The organisation the party belongs to; scopes an admin's powers (BR-069).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Party {
    pub fn new(id: impl Into<String>, role: Role) -> Self {
        Self { id: PartyId::new(id), role, organisation: None, name: None }
    }

    #[must_use]
    pub fn in_organisation(mut self, organisation: impl Into<String>) -> Self {
        self.organisation = Some(organisation.into());
        self
    }
}

/// What a grant allows (design.md §8; BR-025.010 "all or a subset of the HAN roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    Message,
    Price,
    Drlc,
    Provision,
    Deprovision,
    Read,
}

impl Right {
    pub const ALL: [Right; 6] =
        [Self::Message, Self::Price, Self::Drlc, Self::Provision, Self::Deprovision, Self::Read];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Price => "price",
            Self::Drlc => "drlc",
            Self::Provision => "provision",
            Self::Deprovision => "deprovision",
            Self::Read => "read",
        }
    }

    /// The right an MQTT action needs (design.md §7), or `None` for actions governed by role
    /// instead (`grant/*`, `esi/move_out`, `audit/query`, `group/*`) or unknown ones.
    pub fn for_action(action: &str) -> Option<Right> {
        Some(match action {
            "message/send" | "message/cancel" | "message/status" => Self::Message,
            "price/publish" => Self::Price,
            "drlc/event" | "drlc/cancel" => Self::Drlc,
            "device/provision" => Self::Provision,
            "device/deprovision" => Self::Deprovision,
            "device/list" | "meter/read" | "meter/status" => Self::Read,
            _ => return None,
        })
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grant's identifier, assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GrantId(pub u64);

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The HAN devices a grant is limited to (BR-025.010); serialized as a list of EUI-64s in hex.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceScope(pub BTreeSet<Eui64>);

impl DeviceScope {
    pub fn contains(&self, device: Eui64) -> bool {
        self.0.contains(&device)
    }
}

impl FromIterator<Eui64> for DeviceScope {
    fn from_iter<I: IntoIterator<Item = Eui64>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Serialize for DeviceScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for DeviceScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                Eui64::parse_text(t).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{t:?} is not an EUI-64 (16 hex digits, separators allowed)"
                    ))
                })
            })
            .collect()
    }
}

/// A party's permission on one ESI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub party: PartyId,
    pub esi_id: String,
    /// The meter number the ESIID was verified against when the grant was made (BR-080).
    pub meter_number: String,
    pub rights: BTreeSet<Right>,
    /// `None`: every device of the ESI; `Some`: only these (BR-025.010).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<DeviceScope>,
    /// Unix seconds; the grant is valid while `now < expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    pub granted_by: PartyId,
    pub granted_at: u64,
}

impl Grant {
    pub fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// Whether the grant covers `device` (`None` = the whole ESI, which needs an unscoped grant).
    pub fn covers_device(&self, device: Option<Eui64>) -> bool {
        match (&self.devices, device) {
            (None, _) => true,
            (Some(scope), Some(d)) => scope.contains(d),
            (Some(_), None) => false,
        }
    }
}
