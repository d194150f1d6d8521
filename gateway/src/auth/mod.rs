//! Who sent a request (design.md §7–§8): authentication, replay protection and rate limits.
//!
//! Two modes, chosen by configuration:
//! - [`jws`]: the payload is a JWS (ES256) signed by the party's key; the gateway holds only
//!   public keys ([`KeyRegistry`]). Timestamp and nonce stop replays ([`replay`]).
//! - [`trusted`]: the broker authenticated the client; configuration maps its identity to a
//!   party. Read the trade-off in that module before choosing it.
//!
//! Either way the result is an [`Authenticated`] party and request object. Then, in the bridge:
//! [`RateLimiter::check`] for the party, then [`crate::grants::Grants::check`] for the action,
//! and every decision goes to [`crate::audit`].
//!
//! Errors map to `BAD_REQUEST` (the request cannot be read), `NOT_AUTHORIZED` (it can, but does
//! not prove who sent it, or proves it too late or twice) or `RATE_LIMITED`; their messages say
//! what to fix and contain no key material.

pub mod jws;
pub mod keys;
pub mod rate;
pub mod replay;
#[cfg(test)]
mod tests;
pub mod trusted;

use serde_json::{Map, Value};

pub use jws::{sign_request, JwsConfig, JwsVerifier};
pub use keys::{generate_signing_key, KeyError, KeyRegistry, KeySpec};
pub use rate::{RateLimit, RateLimited, RateLimiter};
pub use trusted::{TrustedBroker, TrustedIdentity};

use crate::error::{ApiError, ErrorCode};
use crate::grants::PartyId;

/// What the broker tells the bridge about the publishing client (see [`trusted`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientIdentity<'a> {
    pub username: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// An authenticated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    pub party: PartyId,
    /// The key that signed it (`jws` mode).
    pub key_id: Option<String>,
    /// The request object, without `iat` and `nonce`.
    pub request: Map<String, Value>,
    pub iat: Option<u64>,
    pub nonce: Option<String>,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request is {len} bytes, more than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("{0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not accepted; sign requests with ES256")]
    UnsupportedAlgorithm(String),
    #[error("key id {0:?} is not registered on this gateway")]
    UnknownKey(String),
    #[error("signature does not verify for key id {0}")]
    BadSignature(String),
    #[error("token issued {secs} s in the future (allowed clock skew is {skew} s); check the sender's clock")]
    IssuedInFuture { secs: u64, skew: u64 },
    #[error("token issued {secs} s ago, more than the allowed {skew} s; sign the request again with a current \"iat\"")]
    TooOld { secs: u64, skew: u64 },
    #[error("nonce already used; sign every request with a new nonce")]
    Replayed,
    #[error("the gateway is receiving more signed requests than it can track for replays; retry shortly")]
    ReplayCacheFull,
    #[error("MQTT identity {0:?} is not mapped to a party on this gateway")]
    UnknownIdentity(String),
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } | Self::Malformed(_) => ErrorCode::BadRequest,
            Self::UnsupportedAlgorithm(_)
            | Self::UnknownKey(_)
            | Self::BadSignature(_)
            | Self::IssuedInFuture { .. }
            | Self::TooOld { .. }
            | Self::Replayed
            | Self::UnknownIdentity(_) => ErrorCode::NotAuthorized,
            Self::ReplayCacheFull => ErrorCode::RateLimited,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// The configured authentication mode.
#[derive(Debug, Clone)]
pub enum Authenticator {
    Jws(JwsVerifier),
    TrustedBroker(TrustedBroker),
}

impl Authenticator {
    /// Authenticates one MQTT request payload at `now` (Unix seconds). In `jws` mode the broker
    /// identity is not consulted: the signature alone decides.
    pub fn authenticate(
        &mut self,
        identity: &ClientIdentity<'_>,
        payload: &[u8],
        now: u64,
    ) -> Result<Authenticated, AuthError> {
        match self {
            Self::Jws(v) => v.verify(payload, now),
            Self::TrustedBroker(t) => t.authenticate(identity, payload),
        }
    }

    /// [`Authenticator::authenticate`] in three steps, so that the expensive middle one
    /// ([`Started::check`], the signature) runs without holding the authenticator: `start`
    /// (`&self`, cheap) → `check` (no shared state) → `finish` (`&mut self`: the nonce).
    pub fn start(
        &self,
        identity: &ClientIdentity<'_>,
        payload: &[u8],
    ) -> Result<Started, AuthError> {
        match self {
            Self::Jws(v) => v.parse(payload).map(Started::Jws),
            Self::TrustedBroker(t) => t.authenticate(identity, payload).map(Started::Done),
        }
    }

    /// The last step of [`Authenticator::start`].
    pub fn finish(&mut self, checked: Checked, now: u64) -> Result<Authenticated, AuthError> {
        match (self, checked) {
            (Self::Jws(v), Checked::Jws(c)) => v.admit(c, now),
            (_, Checked::Done(a)) => Ok(a),
            (Self::TrustedBroker(_), Checked::Jws(_)) => {
                Err(AuthError::Malformed("the authentication mode changed; send again".into()))
            }
        }
    }
}

/// After [`Authenticator::start`].
#[derive(Debug, Clone)]
pub enum Started {
    /// A JWS whose signature is still to be checked.
    Jws(jws::Unverified),
    /// Nothing left to check (`trusted-broker` mode).
    Done(Authenticated),
}

/// After [`Started::check`].
#[derive(Debug, Clone)]
pub enum Checked {
    /// Signature and time fine, nonce not yet recorded.
    Jws(jws::Verified),
    /// Nothing left to record.
    Done(Authenticated),
}

impl Started {
    /// Whether [`Started::check`] does real work (worth another thread).
    pub fn is_expensive(&self) -> bool {
        matches!(self, Self::Jws(_))
    }

    /// The signature and time checks at `now` (Unix seconds).
    pub fn check(self, now: u64) -> Result<Checked, AuthError> {
        match self {
            Self::Jws(u) => u.check(now).map(Checked::Jws),
            Self::Done(a) => Ok(Checked::Done(a)),
        }
    }
}
