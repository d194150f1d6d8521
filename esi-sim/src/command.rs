//! The action language shared by the control channel, scenario files and the `--at` flag:
//! one line, one action, optionally scheduled.
//!
//! ```text
//! ihd 2 confirm [MESSAGE_ID]          IHD 2 confirms message        (devices count from 1)
//! pct 1 opt-out [EVENT_ID]            PCT 1 opts out of event 77
//! lcs 1 opt-in  [EVENT_ID]
//! device 3 leave | rejoin             any device by its overall number; also ihd/pct/lcs N
//! power fail | restore [esi N]        "power fails", "power restored"; default: every ESI
//! switch open | close | toggle [esi N]
//! reset [esi N]                       coordinator reset
//! unplug [esi N] [for 5s]             serial line (pty) gone for a while (the ESI keeps running)
//! ... at 30s | at t=30s               schedule instead of doing it now
//! status | devices | time | help      queries (control channel only)
//! ```
//! Words are case-insensitive; filler words (`of`, `the`, `message`, `event`) are ignored, and
//! verbs may carry an `s` (`confirms`, `fails`). Errors name the word that was not understood.

use crate::device::DeviceKind;
use std::fmt;

/// A device, by overall number or by kind and number (0-based inside; 1-based in text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceRef {
    Index(usize),
    Kind(DeviceKind, usize),
}

impl fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "device {}", i + 1),
            Self::Kind(k, i) => write!(f, "{} {}", k.name(), i + 1),
        }
    }
}

/// Which ESI(s) an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    All,
    One(usize),
}

/// Something the simulator can be told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The user acknowledges the displayed message (or `message_id`).
    Confirm {
        device: DeviceRef,
        message_id: Option<u32>,
    },
    /// The user opts out of the current event (or `event`).
    OptOut {
        device: DeviceRef,
        event: Option<u32>,
    },
    OptIn {
        device: DeviceRef,
        event: Option<u32>,
    },
    Leave {
        device: DeviceRef,
    },
    Rejoin {
        device: DeviceRef,
    },
    Power {
        esi: Target,
        on: bool,
    },
    Switch {
        esi: Target,
        closed: bool,
    },
    ToggleSwitch {
        esi: Target,
    },
    Reset {
        esi: Target,
    },
    Unplug {
        esi: Target,
        for_ms: u64,
    },
}

/// A question for the control channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Query {
    Status,
    Devices,
    Time,
    Help,
    /// Pushed SE commands each device received, on one line.
    Received,
}

/// One parsed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    /// `at`: virtual ms to run it at (`None` = now).
    Action {
        action: Action,
        at: Option<u64>,
    },
    Query(Query),
}

/// A word that was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based word number.
    pub word: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "word {}: {}", self.word, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Default unplug length.
pub const DEFAULT_UNPLUG_MS: u64 = 5_000;

const FILLER: [&str; 5] = ["of", "the", "message", "event", "out"];

/// Parses one line of the action language.
pub fn parse_line(line: &str) -> Result<Line, ParseError> {
    let raw: Vec<(usize, String)> =
        line.split_whitespace().enumerate().map(|(i, w)| (i + 1, w.to_ascii_lowercase())).collect();
    // "opts out" / "opt out" → "opt-out" before filler removal eats "out".
    let mut words: Vec<(usize, String)> = Vec::new();
    let mut it = raw.into_iter().peekable();
    while let Some((n, w)) = it.next() {
        if (w == "opt" || w == "opts") && it.peek().is_some_and(|(_, x)| x == "out" || x == "in") {
            let (_, x) = it.next().unwrap_or_default();
            words.push((n, format!("opt-{x}")));
        } else {
            words.push((n, w));
        }
    }
    let words: Vec<(usize, String)> =
        words.into_iter().filter(|(_, w)| !FILLER.contains(&w.as_str())).collect();
    let mut p = Parser { words: &words, pos: 0, last: line.split_whitespace().count() };
    let first = p.next_word().ok_or_else(|| p.error("empty line"))?;
    let line = match first.as_str() {
        "status" => Line::Query(Query::Status),
        "devices" => Line::Query(Query::Devices),
        "time" => Line::Query(Query::Time),
        "received" => Line::Query(Query::Received),
        "help" | "?" => Line::Query(Query::Help),
        _ => {
            p.pos -= 1;
            let action = p.action()?;
            let at = p.at()?;
            Line::Action { action, at }
        }
    };
    p.end()?;
    Ok(line)
}

/// Parses an action that must not carry its own `at` (scenario entries have an `at` field).
pub fn parse_action(text: &str) -> Result<Action, ParseError> {
    match parse_line(text)? {
        Line::Action { action, at: None } => Ok(action),
        Line::Action { at: Some(_), .. } => Err(ParseError {
            word: 0,
            message: "`at` belongs in the entry's `at` field here".into(),
        }),
        Line::Query(_) => Err(ParseError { word: 1, message: "a query is not an action".into() }),
    }
}

/// Parses a duration: `1500ms`, `30s`, `5m`, `2h`, `1h30m`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = t.as_str();
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let value: f64 = num.parse().map_err(|_| format!("`{text}`: expected a number"))?;
        let unit_end = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "" => return Err(format!("`{text}`: a duration needs a unit (ms, s, m, h, d)")),
            u => return Err(format!("`{text}`: unknown unit `{u}` (ms, s, m, h, d)")),
        };
        total += value * scale;
        rest = tail;
    }
    if !(0.0..1e15).contains(&total) {
        return Err(format!("`{text}`: out of range"));
    }
    Ok(total.round() as u64)
}

struct Parser<'a> {
    words: &'a [(usize, String)],
    pos: usize,
    last: usize,
}

impl Parser<'_> {
    fn next_word(&mut self) -> Option<String> {
        let w = self.words.get(self.pos).map(|(_, w)| w.clone());
        if w.is_some() {
            self.pos += 1;
        }
        w
    }

    fn peek(&self) -> Option<&str> {
        self.words.get(self.pos).map(|(_, w)| w.as_str())
    }

    fn word_no(&self) -> usize {
        self.words.get(self.pos.saturating_sub(1)).map_or(self.last + 1, |(n, _)| *n)
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { word: self.word_no(), message: message.into() }
    }

    fn expect(&mut self, what: &str) -> Result<String, ParseError> {
        self.next_word().ok_or_else(|| ParseError {
            word: self.last + 1,
            message: format!("expected {what} after the end of the line"),
        })
    }

    fn number(&mut self, what: &str) -> Result<u64, ParseError> {
        let w = self.expect(what)?;
        let digits = w.trim_start_matches('#');
        let parsed = match digits.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => digits.parse(),
        };
        parsed.map_err(|_| self.error(format!("expected {what}, found `{w}`")))
    }

    /// A 1-based number in text, 0-based inside.
    fn ordinal(&mut self, what: &str) -> Result<usize, ParseError> {
        let n = self.number(what)?;
        if n == 0 {
            return Err(self.error(format!("{what} counts from 1")));
        }
        Ok(n as usize - 1)
    }

    fn optional_id(&mut self) -> Result<Option<u32>, ParseError> {
        match self.peek() {
            Some(w)
                if w != "at"
                    && w.trim_start_matches('#').starts_with(|c: char| c.is_ascii_digit()) =>
            {
                let n = self.number("an id")?;
                u32::try_from(n).map(Some).map_err(|_| self.error("id larger than 32 bits"))
            }
            _ => Ok(None),
        }
    }

    fn esi_target(&mut self) -> Result<Target, ParseError> {
        if self.peek() == Some("esi") {
            self.pos += 1;
            return Ok(Target::One(self.number("an ESI number")? as usize));
        }
        if self.peek() == Some("all") {
            self.pos += 1;
        }
        Ok(Target::All)
    }

    fn verb(&mut self) -> Result<String, ParseError> {
        let w = self.expect("a verb")?;
        Ok(match w.as_str() {
            "confirms" | "confirmed" | "acknowledges" | "ack" => "confirm".into(),
            "opt-outs" | "opts-out" => "opt-out".into(),
            "leaves" | "left" => "leave".into(),
            "rejoins" | "join" | "joins" => "rejoin".into(),
            _ => w,
        })
    }

    fn action(&mut self) -> Result<Action, ParseError> {
        let first = self.expect("an action")?;
        let device = match first.as_str() {
            "device" | "dev" => Some(DeviceRef::Index(self.ordinal("a device number")?)),
            other => match DeviceKind::from_name(other) {
                Some(kind) => Some(DeviceRef::Kind(kind, self.ordinal("a device number")?)),
                None => None,
            },
        };
        if let Some(device) = device {
            let verb = self.verb()?;
            return match verb.as_str() {
                "confirm" => Ok(Action::Confirm { device, message_id: self.optional_id()? }),
                "opt-out" => Ok(Action::OptOut { device, event: self.optional_id()? }),
                "opt-in" => Ok(Action::OptIn { device, event: self.optional_id()? }),
                "leave" => Ok(Action::Leave { device }),
                "rejoin" => Ok(Action::Rejoin { device }),
                v => Err(self.error(format!(
                    "unknown device action `{v}` (confirm, opt-out, opt-in, leave, rejoin)"
                ))),
            };
        }
        match first.as_str() {
            "power" => {
                let w = self.expect("fail or restore")?;
                let on = match w.as_str() {
                    "fail" | "fails" | "failure" | "off" | "down" => false,
                    "restore" | "restored" | "restores" | "on" | "up" => true,
                    _ => return Err(self.error(format!("expected fail or restore, found `{w}`"))),
                };
                Ok(Action::Power { esi: self.esi_target()?, on })
            }
            "switch" => {
                let w = self.expect("open, close or toggle")?;
                let esi_first = self.esi_target()?;
                match w.as_str() {
                    "open" | "opens" | "disconnect" => Ok(Action::Switch { esi: esi_first, closed: false }),
                    "close" | "closes" | "closed" | "connect" => {
                        Ok(Action::Switch { esi: esi_first, closed: true })
                    }
                    "toggle" => Ok(Action::ToggleSwitch { esi: esi_first }),
                    _ => Err(self.error(format!("expected open, close or toggle, found `{w}`"))),
                }
            }
            "reset" | "restart" => Ok(Action::Reset { esi: self.esi_target()? }),
            "unplug" => {
                let esi = self.esi_target()?;
                let mut for_ms = DEFAULT_UNPLUG_MS;
                if self.peek() == Some("for") {
                    self.pos += 1;
                    let w = self.expect("a duration")?;
                    for_ms = parse_duration(&w).map_err(|e| self.error(e))?;
                }
                Ok(Action::Unplug { esi, for_ms })
            }
            w => Err(self.error(format!(
                "unknown action `{w}` (ihd/pct/lcs/device N …, power, switch, reset, unplug, status)"
            ))),
        }
    }

    fn at(&mut self) -> Result<Option<u64>, ParseError> {
        if self.peek() != Some("at") {
            return Ok(None);
        }
        self.pos += 1;
        let w = self.expect("a time")?;
        let t = w.strip_prefix("t=").unwrap_or(&w);
        parse_duration(t).map(Some).map_err(|e| self.error(e))
    }

    fn end(&mut self) -> Result<(), ParseError> {
        match self.next_word() {
            None => Ok(()),
            Some(w) => Err(self.error(format!("unexpected `{w}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(s: &str) -> Action {
        match parse_line(s).unwrap() {
            Line::Action { action, .. } => action,
            Line::Query(q) => panic!("{q:?}"),
        }
    }

    #[test]
    fn the_issue_examples_parse() {
        let ihd2 = DeviceRef::Kind(DeviceKind::Ihd, 1);
        assert_eq!(
            action("IHD 2 confirms message"),
            Action::Confirm { device: ihd2, message_id: None }
        );
        assert_eq!(
            action("PCT 1 opts out of event 77"),
            Action::OptOut { device: DeviceRef::Kind(DeviceKind::Pct, 0), event: Some(77) }
        );
        assert_eq!(
            parse_line("power fails at t=30s").unwrap(),
            Line::Action {
                action: Action::Power { esi: Target::All, on: false },
                at: Some(30_000)
            }
        );
    }

    #[test]
    fn other_forms() {
        assert_eq!(action("device 3 leave"), Action::Leave { device: DeviceRef::Index(2) });
        assert_eq!(
            action("switch open esi 1"),
            Action::Switch { esi: Target::One(1), closed: false }
        );
        assert_eq!(
            action("unplug esi 0 for 2s"),
            Action::Unplug { esi: Target::One(0), for_ms: 2_000 }
        );
        assert_eq!(action("reset"), Action::Reset { esi: Target::All });
        assert_eq!(
            action("lcs 1 opt-in 0x10"),
            Action::OptIn { device: DeviceRef::Kind(DeviceKind::Lcs, 0), event: Some(16) }
        );
        assert_eq!(parse_line("status").unwrap(), Line::Query(Query::Status));
    }

    #[test]
    fn errors_name_the_word() {
        let e = parse_line("ihd 0 confirm").unwrap_err();
        assert_eq!(e.word, 2);
        let e = parse_line("ihd 1 dance").unwrap_err();
        assert_eq!(e.word, 3);
        assert!(e.message.contains("dance"));
        let e = parse_line("power fail extra").unwrap_err();
        assert_eq!(e.word, 3);
        let e = parse_line("fly away").unwrap_err();
        assert_eq!(e.word, 1);
        assert!(parse_line("").is_err());
        assert!(parse_line("power fail at 30").unwrap_err().message.contains("unit"));
        assert!(parse_action("reset at 5s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1500ms"), Ok(1_500));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("3x").is_err());
    }
}
