//! What one run of the cross-check compared, per cluster and for the foundation commands.

use super::dissection::Want;
use super::fields::Scope;
use super::gen::MANUFACTURER_SPECIFIC;
use std::collections::{BTreeMap, BTreeSet};
use zse::cluster::{cluster_name, ClusterCommand};
use zse::zcl::{ClusterId, Direction};

#[derive(Debug, Default)]
struct ScopeStats {
    /// (server→client, name): TerminateKeyEstablishment exists in both directions.
    commands: BTreeSet<(bool, &'static str)>,
    frames: usize,
    /// Distinct payload fields tshark showed and we compared.
    fields: BTreeSet<&'static str>,
    /// Payload field occurrences compared.
    values: usize,
    /// Payload fields checked to be absent (optional fields left out, unused record fields).
    absences: usize,
}

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Stats(BTreeMap<Scope, ScopeStats>);

impl Stats {
    /// Counts one data frame: its scope, command and the payload expectations (header fields
    /// and command id excluded).
    pub fn add(
        &mut self,
        scope: Scope,
        direction: Direction,
        command: &'static str,
        payload: &[(&'static str, Want)],
    ) {
        if command == MANUFACTURER_SPECIFIC {
            return;
        }
        let s = self.0.entry(scope).or_default();
        let s2c = scope != Scope::Foundation && direction == Direction::ServerToClient;
        s.commands.insert((s2c, command));
        s.frames += 1;
        for (field, want) in payload {
            let n = match want {
                Want::List(ws) => ws.len(),
                Want::Uints(ns) => ns.len(),
                Want::Absent => 0,
                _ => 1,
            };
            if n == 0 {
                s.absences += 1;
            } else {
                s.fields.insert(field);
                s.values += n;
            }
        }
    }

    /// One line per scope.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(scope, s)| {
                let (name, total) = match scope {
                    Scope::Foundation => {
                        ("foundation".to_owned(), zse::zcl::foundation::Command::COMMANDS.len())
                    }
                    Scope::Cluster(id) => {
                        let total = [Direction::ClientToServer, Direction::ServerToClient]
                            .iter()
                            .map(|d| ClusterCommand::commands(ClusterId(*id), *d).len())
                            .sum();
                        let name = cluster_name(ClusterId(*id)).unwrap_or("?");
                        (format!("0x{id:04x} {name}"), total)
                    }
                };
                format!(
                    "{name}: {}/{total} commands in {} frames; {} distinct payload fields, {} \
                     values compared, {} absences checked",
                    s.commands.len(),
                    s.frames,
                    s.fields.len(),
                    s.values,
                    s.absences
                )
            })
            .collect()
    }
}
