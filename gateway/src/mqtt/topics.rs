//! The topic layout (design.md §7), all under `<base>/<gateway_id>/`:
//!
//! | topic | direction | retained |
//! |---|---|---|
//! | `bridge/state` | gateway → | yes: `online` / `offline` (also the last will) |
//! | `bridge/info`, `bridge/esis` | gateway → | yes |
//! | `request/<action>` | → gateway | no (`jws` mode) |
//! | `client/<identity>/request/<action>` | → gateway | no (`trusted-broker` mode) |
//! | `response/<action>` (or `client/<identity>/response/<action>`) | gateway → | no |
//! | `event/delivery`, `event/device`, `event/meter`, `event/drlc`, `event/coordinator` | gateway → | no |
//! | `esi/<esi_id>/status` | gateway → | yes |
//!
//! In `trusted-broker` mode the identity is the topic level after `client/`: the broker's ACL
//! must let each client publish only under its own username there (Mosquitto:
//! `pattern write han/+/client/%u/request/#`), see [`crate::auth::trusted`].

/// Longest action name accepted from a topic.
const MAX_ACTION_LEN: usize = 64;

/// The topics of one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// `<base>/<gateway_id>`.
    root: String,
}

/// Where a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTopic<'a> {
    pub action: &'a str,
    /// The `client/<identity>` level (trusted-broker mode).
    pub identity: Option<&'a str>,
}

impl Topics {
    pub fn new(base: &str, gateway_id: &str) -> Self {
        Self { root: format!("{base}/{gateway_id}") }
    }

    /// `<base>/<gateway_id>`.
    pub fn root(&self) -> &str {
        &self.root
    }

    pub fn state(&self) -> String {
        format!("{}/bridge/state", self.root)
    }

    pub fn info(&self) -> String {
        format!("{}/bridge/info", self.root)
    }

    pub fn esis(&self) -> String {
        format!("{}/bridge/esis", self.root)
    }

    pub fn esi_status(&self, esi_id: &str) -> String {
        format!("{}/esi/{esi_id}/status", self.root)
    }

    pub fn event(&self, kind: &str) -> String {
        format!("{}/event/{kind}", self.root)
    }

    /// The subscription for requests (`jws`: `request/#`; trusted: `client/+/request/#`).
    pub fn request_filter(&self, trusted: bool) -> String {
        if trusted {
            format!("{}/client/+/request/#", self.root)
        } else {
            format!("{}/request/#", self.root)
        }
    }

    pub fn request(&self, action: &str, identity: Option<&str>) -> String {
        match identity {
            Some(i) => format!("{}/client/{i}/request/{action}", self.root),
            None => format!("{}/request/{action}", self.root),
        }
    }

    /// Where the answer to a request on `action` goes when it names no MQTT 5 response topic.
    pub fn response(&self, action: &str, identity: Option<&str>) -> String {
        match identity {
            Some(i) => format!("{}/client/{i}/response/{action}", self.root),
            None => format!("{}/response/{action}", self.root),
        }
    }

    /// Reads a request topic. `None` if it is not one of ours. The action is whatever follows
    /// `request/` (checked against the known actions by the caller, so that an unknown one gets
    /// `UNKNOWN_ACTION`), limited to a sane length and characters.
    pub fn parse_request<'a>(&self, topic: &'a str) -> Option<RequestTopic<'a>> {
        let rest = topic.strip_prefix(self.root.as_str())?.strip_prefix('/')?;
        let (identity, action) = if let Some(r) = rest.strip_prefix("client/") {
            let (id, a) = r.split_once('/')?;
            (Some(id), a.strip_prefix("request/")?)
        } else {
            (None, rest.strip_prefix("request/")?)
        };
        if action.is_empty() || identity.is_some_and(str::is_empty) {
            return None;
        }
        Some(RequestTopic { action, identity })
    }

    /// Whether a response may go to `topic` (an MQTT 5 response topic named by a client): not a
    /// wildcard, and inside this gateway's tree only under a `response/` level, so that a
    /// request cannot make the gateway publish on its own state or event topics.
    pub fn response_topic_allowed(&self, topic: &str) -> bool {
        if topic.is_empty() || topic.len() > 1024 || topic.contains(['+', '#', '\0']) {
            return false;
        }
        match topic.strip_prefix(self.root.as_str()) {
            None => true,
            Some(rest) => {
                rest.starts_with("/response/")
                    || rest
                        .strip_prefix("/client/")
                        .and_then(|r| r.split_once('/'))
                        .is_some_and(|(_, r)| r.starts_with("response/"))
            }
        }
    }
}

/// Whether `action` is a plausible action name (`word/word`, lower case, digits, `_`).
pub fn plausible_action(action: &str) -> bool {
    !action.is_empty()
        && action.len() <= MAX_ACTION_LEN
        && action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_parsing() {
        let t = Topics::new("han", "gw-1");
        assert_eq!(t.state(), "han/gw-1/bridge/state");
        assert_eq!(t.esi_status("1044"), "han/gw-1/esi/1044/status");
        assert_eq!(t.request_filter(false), "han/gw-1/request/#");
        assert_eq!(t.request_filter(true), "han/gw-1/client/+/request/#");
        let r = t.parse_request("han/gw-1/request/message/send").unwrap();
        assert_eq!(r, RequestTopic { action: "message/send", identity: None });
        let r = t.parse_request("han/gw-1/client/portal-a/request/meter/read").unwrap();
        assert_eq!(r, RequestTopic { action: "meter/read", identity: Some("portal-a") });
        assert!(t.parse_request("han/gw-2/request/message/send").is_none());
        assert!(t.parse_request("han/gw-1/response/message/send").is_none());
        assert!(t.parse_request("han/gw-1/request/").is_none());
        assert_eq!(t.response("meter/read", Some("p")), "han/gw-1/client/p/response/meter/read");
        assert!(plausible_action("message/send"));
        assert!(!plausible_action("Message/Send"));
        assert!(!plausible_action(&"a".repeat(65)));
    }

    #[test]
    fn response_topics_cannot_reach_our_own_tree() {
        let t = Topics::new("han", "gw-1");
        assert!(t.response_topic_allowed("portal/inbox/42"));
        assert!(t.response_topic_allowed("han/gw-1/response/x/42"));
        assert!(t.response_topic_allowed("han/gw-1/client/p/response/x"));
        assert!(!t.response_topic_allowed("han/gw-1/bridge/state"));
        assert!(!t.response_topic_allowed("han/gw-1/event/delivery"));
        assert!(!t.response_topic_allowed("han/gw-1/client/p/request/x"));
        assert!(!t.response_topic_allowed("portal/+/inbox"));
        assert!(!t.response_topic_allowed(""));
    }
}
