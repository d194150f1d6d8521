//! The API's stable error codes (design.md §7).
//!
//! Every failed request is answered with `{"status": "error", "error": {"code", "message"}}`. The
//! `code` is one of the strings below and never changes meaning between releases, so portals can
//! branch on it; the `message` is for a person and says what to change. Messages never carry
//! internals (paths, database errors, stack traces, key material): the portal's users asked for
//! real 4xx-style errors, not a raw database error (smt-han-requirements.md, "Lessons").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stable error code, serialized as its `SCREAMING_SNAKE_CASE` string (design.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request is malformed: not JSON, a missing or ill-typed field, a value out of range.
    BadRequest,
    /// The topic names an action the gateway does not know.
    UnknownAction,
    /// Authentication failed, or the party holds no grant covering this request (BR-025.003).
    NotAuthorized,
    /// No ESI with this ESIID is hosted by this gateway.
    UnknownEsi,
    /// The meter number does not belong to the ESIID (BR-080).
    MeterMismatch,
    /// The install code is malformed or its CRC does not match.
    BadInstallCode,
    /// Every slot of the ESI is taken (BR-068.006).
    SlotsFull,
    /// The device is already provisioned on this ESI.
    AlreadyProvisioned,
    /// The device is not paired with the ESI.
    NotPaired,
    /// The message text exceeds the configured limit (BR-025.007).
    TextTooLong,
    /// A time is malformed, in the past where a future time is needed, or out of range.
    InvalidTime,
    /// The party sent more requests than its rate allows (BR-025.008).
    RateLimited,
    /// The coordinator serving this ESI is not connected.
    CoordinatorOffline,
    /// The request or the item it refers to has expired.
    Expired,
    /// Something failed inside the gateway; the message never says what.
    Internal,
    /// The gateway cannot write to its data directory (disk full, read-only, I/O error): the
    /// request was not accepted; what was accepted before is kept. Retry later.
    StorageUnavailable,
}

impl ErrorCode {
    /// Every code, in the order of design.md §7 (`STORAGE_UNAVAILABLE` added after it).
    pub const ALL: [ErrorCode; 16] = [
        Self::BadRequest,
        Self::UnknownAction,
        Self::NotAuthorized,
        Self::UnknownEsi,
        Self::MeterMismatch,
        Self::BadInstallCode,
        Self::SlotsFull,
        Self::AlreadyProvisioned,
        Self::NotPaired,
        Self::TextTooLong,
        Self::InvalidTime,
        Self::RateLimited,
        Self::CoordinatorOffline,
        Self::Expired,
        Self::Internal,
        Self::StorageUnavailable,
    ];

    /// The stable string, as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::UnknownAction => "UNKNOWN_ACTION",
            Self::NotAuthorized => "NOT_AUTHORIZED",
            Self::UnknownEsi => "UNKNOWN_ESI",
            Self::MeterMismatch => "METER_MISMATCH",
            Self::BadInstallCode => "BAD_INSTALL_CODE",
            Self::SlotsFull => "SLOTS_FULL",
            Self::AlreadyProvisioned => "ALREADY_PROVISIONED",
            Self::NotPaired => "NOT_PAIRED",
            Self::TextTooLong => "TEXT_TOO_LONG",
            Self::InvalidTime => "INVALID_TIME",
            Self::RateLimited => "RATE_LIMITED",
            Self::CoordinatorOffline => "COORDINATOR_OFFLINE",
            Self::Expired => "EXPIRED",
            Self::Internal => "INTERNAL",
            Self::StorageUnavailable => "STORAGE_UNAVAILABLE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of the codes of design.md §7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0:?}")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownErrorCode(s.into()))
    }
}

/// The `error` object of a response: a stable code and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    /// The message shown for [`ErrorCode::Internal`]: the cause goes to the log, not to the caller.
    pub const INTERNAL_MESSAGE: &'static str =
        "the gateway could not process the request because of an internal fault; \
         it was not carried out, retry later or ask the operator to check the gateway log";

    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthorized, message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RateLimited, message)
    }

    /// The data store cannot be written (disk full, read-only): nothing was accepted.
    pub fn storage_unavailable() -> Self {
        Self::new(
            ErrorCode::StorageUnavailable,
            "the gateway cannot write to its data store (disk full or read-only); \
             the request was not accepted, retry later",
        )
    }

    /// An internal fault. Takes no message on purpose: log the cause where it happened.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, Self::INTERNAL_MESSAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_strings() {
        let expected = [
            "BAD_REQUEST",
            "UNKNOWN_ACTION",
            "NOT_AUTHORIZED",
            "UNKNOWN_ESI",
            "METER_MISMATCH",
            "BAD_INSTALL_CODE",
            "SLOTS_FULL",
            "ALREADY_PROVISIONED",
            "NOT_PAIRED",
            "TEXT_TOO_LONG",
            "INVALID_TIME",
            "RATE_LIMITED",
            "COORDINATOR_OFFLINE",
            "EXPIRED",
            "INTERNAL",
            "STORAGE_UNAVAILABLE",
        ];
        for (code, s) in ErrorCode::ALL.into_iter().zip(expected) {
            assert_eq!(code.as_str(), s);
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&format!("\"{s}\"")).unwrap(), code);
            assert_eq!(s.parse::<ErrorCode>().unwrap(), code);
        }
        assert!("NOPE".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn api_error_shape() {
        let e = ApiError::new(ErrorCode::SlotsFull, "all 5 slots are taken");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "SLOTS_FULL", "message": "all 5 slots are taken"})
        );
        assert_eq!(e.to_string(), "SLOTS_FULL: all 5 slots are taken");
        assert_eq!(ApiError::internal().code, ErrorCode::Internal);
    }
}
