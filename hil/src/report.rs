//! Results: per-scenario outcomes, latency and delivery figures, and their three renderings —
//! JUnit XML (for CI), `report.json` (for tools) and `report.md` (for people).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub name: String,
    pub status: Status,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// What it checked or measured (also for passes).
    pub notes: Vec<String>,
    pub duration: Duration,
}

/// Percentiles of a sample set (nearest rank), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    /// `None` for no samples.
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p / 100.0) * count_f64(v.len())).ceil() as usize;
            v.get(i.saturating_sub(1)).copied().unwrap_or(0.0)
        };
        Some(Self {
            count: v.len(),
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: v.last().copied().unwrap_or(0.0),
        })
    }

    fn json(s: Option<Self>) -> Value {
        s.map_or(Value::Null, |s| {
            json!({"count": s.count, "p50": round(s.p50), "p95": round(s.p95),
                   "p99": round(s.p99), "max": round(s.max)})
        })
    }
}

/// A count as `f64` (exact up to 2^32, far beyond any run's counts).
fn count_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Final states of the deliveries of one priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    /// Reached `delivered` (confirmed ones included).
    pub delivered: usize,
    pub confirmed: usize,
    /// Ended `failed`, `undeliverable` or `expired`.
    pub failed: usize,
    /// Ended `cancelled` (on purpose).
    pub cancelled: usize,
    /// Not final when the run ended.
    pub pending: usize,
}

impl Counts {
    /// Delivered out of those that were not cancelled on purpose.
    pub fn rate(&self) -> Option<f64> {
        let n = self.accepted.saturating_sub(self.cancelled);
        (n > 0).then(|| count_f64(self.delivered) / count_f64(n))
    }
}

/// Latency and delivery figures per priority.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// accept → `delivered`, ms, by priority.
    pub delivered_ms: BTreeMap<String, Vec<f64>>,
    /// accept → `delivered`, ms, by priority and request kind.
    pub delivered_by_kind: BTreeMap<(String, String), Vec<f64>>,
    /// accept → `confirmed`, ms, by priority.
    pub confirmed_ms: BTreeMap<String, Vec<f64>>,
    /// request → `paired`, ms.
    pub provisioning_ms: Vec<f64>,
    pub counts: BTreeMap<String, Counts>,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Report {
    pub mode: String,
    pub target: String,
    pub broker: String,
    pub started_unix: u64,
    pub duration: Duration,
    pub results: Vec<ScenarioResult>,
    pub figures: Figures,
}

const PRIORITIES: [&str; 3] = ["high", "medium", "low"];

impl Report {
    pub fn count(&self, s: Status) -> usize {
        self.results.iter().filter(|r| r.status == s).count()
    }

    pub fn to_json(&self) -> Value {
        let f = &self.figures;
        let mut latency = serde_json::Map::new();
        let mut delivery = serde_json::Map::new();
        let mut all = Counts::default();
        for p in PRIORITIES {
            let d = f.delivered_ms.get(p).map(|v| Stats::of(v));
            let c = f.confirmed_ms.get(p).map(|v| Stats::of(v));
            let by_kind: serde_json::Map<String, Value> = f
                .delivered_by_kind
                .iter()
                .filter(|((prio, _), _)| prio == p)
                .map(|((_, kind), v)| (kind.clone(), Stats::json(Stats::of(v))))
                .collect();
            latency.insert(
                p.into(),
                json!({"accept_to_delivered": Stats::json(d.flatten()),
                       "accept_to_delivered_by_kind": by_kind,
                       "accept_to_confirmed": Stats::json(c.flatten())}),
            );
            let n = f.counts.get(p).copied().unwrap_or_default();
            all.accepted += n.accepted;
            all.delivered += n.delivered;
            all.confirmed += n.confirmed;
            all.failed += n.failed;
            all.cancelled += n.cancelled;
            all.pending += n.pending;
            delivery.insert(p.into(), counts_json(&n));
        }
        delivery.insert("all".into(), counts_json(&all));
        json!({
            "tool": "hil",
            "version": env!("CARGO_PKG_VERSION"),
            "mode": self.mode,
            "target": self.target,
            "broker": self.broker,
            "started_unix": self.started_unix,
            "duration_s": round(self.duration.as_secs_f64()),
            "summary": {"passed": self.count(Status::Pass), "failed": self.count(Status::Fail),
                        "skipped": self.count(Status::Skip)},
            "scenarios": self.results.iter().map(|r| json!({
                "name": r.name, "status": r.status.as_str(), "reason": r.reason,
                "notes": r.notes, "duration_s": round(r.duration.as_secs_f64()),
            })).collect::<Vec<_>>(),
            "latency_ms": latency,
            "provisioning_ms": Stats::json(Stats::of(&f.provisioning_ms)),
            "delivery": delivery,
        })
    }

    pub fn to_junit(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"hil\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.results.len(),
            self.count(Status::Fail),
            self.count(Status::Skip),
            self.duration.as_secs_f64()
        );
        let _ = writeln!(
            x,
            "  <testsuite name=\"hil.{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            esc(&self.mode),
            self.results.len(),
            self.count(Status::Fail),
            self.count(Status::Skip),
            self.duration.as_secs_f64()
        );
        for r in &self.results {
            let _ = write!(
                x,
                "    <testcase classname=\"hil.{}\" name=\"{}\" time=\"{:.3}\"",
                esc(&self.mode),
                esc(&r.name),
                r.duration.as_secs_f64()
            );
            let reason = esc(r.reason.as_deref().unwrap_or(""));
            match r.status {
                Status::Pass if r.notes.is_empty() => x.push_str("/>\n"),
                Status::Pass => {
                    let _ = writeln!(
                        x,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        esc(&r.notes.join("\n"))
                    );
                }
                Status::Fail => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{reason}\">{reason}\n{}</failure>\n    </testcase>",
                        esc(&r.notes.join("\n"))
                    );
                }
                Status::Skip => {
                    let _ =
                        writeln!(x, ">\n      <skipped message=\"{reason}\"/>\n    </testcase>");
                }
            }
        }
        x.push_str("  </testsuite>\n</testsuites>\n");
        x
    }

    pub fn to_markdown(&self) -> String {
        let f = &self.figures;
        let mut m = String::from("# HIL report\n\n");
        let _ = writeln!(
            m,
            "Mode `{}` — target {} — broker {} — {:.1} s — **{} passed, {} failed, {} skipped**\n",
            self.mode,
            self.target,
            self.broker,
            self.duration.as_secs_f64(),
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip)
        );
        m.push_str("## Scenarios\n\n| scenario | result | time | details |\n|---|---|---|---|\n");
        for r in &self.results {
            let mut details = r.reason.clone().unwrap_or_default();
            if !r.notes.is_empty() {
                if !details.is_empty() {
                    details.push_str("<br>");
                }
                details.push_str(&r.notes.join("; "));
            }
            let _ = writeln!(
                m,
                "| {} | {} | {:.1} s | {} |",
                r.name,
                r.status.as_str().to_uppercase(),
                r.duration.as_secs_f64(),
                details.replace('|', "\\|").replace('\n', " ")
            );
        }
        m.push_str(
            "\n## Latency by priority (ms, portal clock: accepted answer → delivery event)\n\n\
             Batches of 5 per priority sent at once to one display (messages: over the simulated \
             radio, to the device) or to one ESI (prices: stored by the ESI); DR events go to a \
             thermostat and a load switch. Deliveries held back on purpose (unplugged coordinator, \
             killed gateway) are left out.\n\n\
             | priority | measure | n | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|---|\n",
        );
        for p in PRIORITIES {
            for (what, map) in
                [("accept → delivered", &f.delivered_ms), ("accept → confirmed", &f.confirmed_ms)]
            {
                if let Some(s) = map.get(p).and_then(|v| Stats::of(v)) {
                    let _ = writeln!(
                        m,
                        "| {p} | {what} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                        s.count, s.p50, s.p95, s.p99, s.max
                    );
                }
                if what == "accept → delivered" {
                    for ((_, kind), v) in f.delivered_by_kind.iter().filter(|((q, _), _)| q == p) {
                        if let Some(s) = Stats::of(v) {
                            let _ = writeln!(
                                m,
                                "| {p} | … {kind} only | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                                s.count, s.p50, s.p95, s.p99, s.max
                            );
                        }
                    }
                }
            }
        }
        m.push_str("\n## Provisioning (request → `paired`, ms)\n\n");
        match Stats::of(&f.provisioning_ms) {
            Some(s) => {
                let _ = writeln!(
                    m,
                    "| n | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n| {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    s.count, s.p50, s.p95, s.p99, s.max
                );
            }
            None => m.push_str("No device was provisioned in this run.\n"),
        }
        m.push_str(
            "\n## Delivery\n\n| priority | accepted | delivered | confirmed | failed | cancelled | pending | delivery rate |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for p in PRIORITIES {
            let n = f.counts.get(p).copied().unwrap_or_default();
            let rate = n.rate().map_or_else(|| "—".to_owned(), |r| format!("{:.1} %", r * 100.0));
            let _ = writeln!(
                m,
                "| {p} | {} | {} | {} | {} | {} | {} | {rate} |",
                n.accepted, n.delivered, n.confirmed, n.failed, n.cancelled, n.pending
            );
        }
        m.push_str(
            "\nDelivery rate = delivered (or confirmed) / accepted, not counting deliveries a \
             scenario cancelled on purpose. Deliveries whose events the portal missed (while a \
             restarted gateway's embedded broker was down) are counted from `message/status` \
             and have no latency sample.\n",
        );
        m
    }
}

fn counts_json(n: &Counts) -> Value {
    json!({"accepted": n.accepted, "delivered": n.delivered, "confirmed": n.confirmed,
           "failed": n.failed, "cancelled": n.cancelled, "pending": n.pending,
           "delivery_rate": n.rate()})
}

/// XML-escapes text for an attribute or element.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c == '\n' || c == '\t' || !c.is_control() => o.push(c),
            _ => {}
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Stats::of(&v).unwrap_or(Stats { count: 0, p50: 0.0, p95: 0.0, p99: 0.0, max: 0.0 });
        assert_eq!((s.count, s.p50, s.p95, s.p99, s.max), (100, 50.0, 95.0, 99.0, 100.0));
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(Stats::of(&[7.0]).map(|s| s.p99), Some(7.0));
    }

    #[test]
    fn junit_escapes_and_counts() {
        let r = Report {
            mode: "sim".into(),
            target: "t".into(),
            broker: "b".into(),
            started_unix: 0,
            duration: Duration::from_secs(1),
            results: vec![
                ScenarioResult {
                    name: "a".into(),
                    status: Status::Fail,
                    reason: Some("x < y & \"z\"".into()),
                    notes: vec![],
                    duration: Duration::ZERO,
                },
                ScenarioResult {
                    name: "b".into(),
                    status: Status::Skip,
                    reason: Some("needs sim".into()),
                    notes: vec![],
                    duration: Duration::ZERO,
                },
            ],
            figures: Figures::default(),
        };
        let x = r.to_junit();
        assert!(x.contains("failures=\"1\"") && x.contains("skipped=\"1\""), "{x}");
        assert!(x.contains("x &lt; y &amp; &quot;z&quot;"), "{x}");
        let j = r.to_json();
        assert_eq!(j["summary"]["failed"], 1);
        assert_eq!(j["scenarios"][1]["status"], "skip");
        assert!(r.to_markdown().contains("| b | SKIP |"));
    }
}
