//! Parsing of the API's small vocabularies, each with an error naming the request field.

use firmware::host_link::RemoveReason;

use crate::error::ApiError;
use crate::model::{Eui64, Priority};

/// 16 lower-case hex digits (design.md §7).
pub fn eui_text(e: Eui64) -> String {
    format!("{:016x}", e.0)
}

/// An EUI-64 as 16 hex digits; `:`, `-`, `.` and spaces between digits are accepted.
pub fn parse_eui64(text: &str, field: &str) -> Result<Eui64, ApiError> {
    let mut v: u64 = 0;
    let mut n = 0;
    for c in text.trim().chars() {
        if matches!(c, ':' | '-' | '.' | ' ') {
            continue;
        }
        let d = c
            .to_digit(16)
            .ok_or_else(|| ApiError::bad_request(format!("{field}: an EUI-64 is 16 hex digits")))?;
        n += 1;
        if n > 16 {
            return Err(ApiError::bad_request(format!("{field}: an EUI-64 is 16 hex digits")));
        }
        v = (v << 4) | u64::from(d);
    }
    if n != 16 {
        return Err(ApiError::bad_request(format!("{field}: an EUI-64 is 16 hex digits")));
    }
    Ok(Eui64(v))
}

/// `high` / `medium` / `low`; `default` when absent.
pub fn parse_priority(text: Option<&str>, default: Priority) -> Result<Priority, ApiError> {
    match text.map(str::trim) {
        None => Ok(default),
        Some("high") => Ok(Priority::High),
        Some("medium") => Ok(Priority::Medium),
        Some("low") => Ok(Priority::Low),
        Some(_) => Err(ApiError::bad_request("priority: expected high, medium or low")),
    }
}

/// Message importance → Message Control bits 2–3 (se10.md §5.3).
pub fn parse_importance(text: Option<&str>) -> Result<u8, ApiError> {
    let level = match text.map(str::trim) {
        None | Some("medium") => 1,
        Some("low") => 0,
        Some("high") => 2,
        Some("critical") => 3,
        Some(_) => {
            return Err(ApiError::bad_request("importance: expected low, medium, high or critical"))
        }
    };
    Ok(level << 2)
}

/// Device class names (se10.md §4.7) and their bits.
pub const DEVICE_CLASSES: [(&str, u16); 12] = [
    ("hvac", 0x0001),
    ("strip_heater", 0x0002),
    ("water_heater", 0x0004),
    ("pool_pump", 0x0008),
    ("smart_appliance", 0x0010),
    ("irrigation_pump", 0x0020),
    ("managed_ci_load", 0x0040),
    ("simple_load", 0x0080),
    ("exterior_lighting", 0x0100),
    ("interior_lighting", 0x0200),
    ("electric_vehicle", 0x0400),
    ("generation", 0x0800),
];

/// Device class names → bitmap; `all` selects every class.
pub fn parse_device_classes(names: &[String]) -> Result<u16, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request("device_classes: name at least one device class"));
    }
    let mut bits = 0u16;
    for n in names {
        let n = n.trim();
        if n == "all" {
            bits |= 0x0FFF;
            continue;
        }
        let (_, b) = DEVICE_CLASSES.iter().find(|(name, _)| *name == n).ok_or_else(|| {
            let known: Vec<&str> = DEVICE_CLASSES.iter().map(|(n, _)| *n).collect();
            ApiError::bad_request(format!(
                "device_classes: unknown class {n:?}; known: all, {}",
                known.join(", ")
            ))
        })?;
        bits |= b;
    }
    Ok(bits)
}

/// De-provisioning reasons (BR-084; the project's list, docs/host-link.md §5.3).
pub const REMOVE_REASONS: [(&str, RemoveReason); 9] = [
    ("unspecified", RemoveReason::UNSPECIFIED),
    ("customer_request", RemoveReason::CUSTOMER_REQUEST),
    ("move_out", RemoveReason::MOVE_OUT),
    ("device_replaced", RemoveReason::DEVICE_REPLACED),
    ("device_faulty", RemoveReason::DEVICE_FAULTY),
    ("security_concern", RemoveReason::SECURITY_CONCERN),
    ("provisioning_error", RemoveReason::PROVISIONING_ERROR),
    ("pending_cancelled", RemoveReason::PENDING_CANCELLED),
    ("administrative", RemoveReason::ADMINISTRATIVE),
];

/// A reason name or its numeric code.
pub fn parse_reason(text: &str) -> Result<(RemoveReason, &'static str), ApiError> {
    let t = text.trim();
    let by_code = t.parse::<u8>().ok();
    REMOVE_REASONS
        .iter()
        .find(|(name, r)| *name == t || by_code == Some(r.0))
        .map(|(name, r)| (*r, *name))
        .ok_or_else(|| {
            let known: Vec<&str> = REMOVE_REASONS.iter().map(|(n, _)| *n).collect();
            ApiError::bad_request(format!("reason: expected one of {}", known.join(", ")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn eui64_forms() {
        let e = Eui64(0x000D_6F00_0123_4567);
        for t in [
            "000d6f0001234567",
            "00:0D:6F:00:01:23:45:67",
            "000D-6F00-0123-4567",
            " 000d6f0001234567 ",
        ] {
            assert_eq!(parse_eui64(t, "eui64").unwrap(), e, "{t}");
        }
        assert_eq!(eui_text(e), "000d6f0001234567");
        for bad in ["", "000d6f000123456", "000d6f00012345678", "000d6f000123456g"] {
            let err = parse_eui64(bad, "eui64").unwrap_err();
            assert_eq!(err.code, ErrorCode::BadRequest);
            assert!(err.message.starts_with("eui64"));
        }
    }

    #[test]
    fn vocabularies() {
        assert_eq!(parse_priority(None, Priority::Medium).unwrap(), Priority::Medium);
        assert_eq!(parse_priority(Some("high"), Priority::Low).unwrap(), Priority::High);
        assert!(parse_priority(Some("urgent"), Priority::Low).is_err());
        assert_eq!(parse_importance(Some("critical")).unwrap(), 0x0C);
        assert_eq!(parse_importance(None).unwrap(), 0x04);
        assert_eq!(parse_device_classes(&["hvac".into(), "water_heater".into()]).unwrap(), 0x0005);
        assert_eq!(parse_device_classes(&["all".into()]).unwrap(), 0x0FFF);
        assert!(parse_device_classes(&["toaster".into()]).is_err());
        assert!(parse_device_classes(&[]).is_err());
        assert_eq!(parse_reason("move_out").unwrap(), (RemoveReason::MOVE_OUT, "move_out"));
        assert_eq!(parse_reason("3").unwrap().1, "device_replaced");
        assert!(parse_reason("bored").is_err());
    }
}
