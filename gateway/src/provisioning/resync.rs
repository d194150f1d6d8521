//! Keeping the store's device records in step with an ESI's slot table.
//!
//! The ESI is the truth about slots (it enforces them); the store adds what only the gateway
//! knows (labels) and keeps history. After every reconnection the slot table is read and
//! reconciled ([`reconcile`]); between reconnections the coordinator's device events are applied
//! one by one ([`apply_device_event`]).

use firmware::host_link::{DeviceList, DeviceState as LinkState};

use crate::model::{DeviceRecord, DeviceState, EsiId, Eui64, Timestamp};
use crate::ops::time::from_utc_time;
use crate::store::{Store, StoreError};

/// The store state of a host-link device state; `None` for `UNPAIRED` (record removed) or an
/// unknown code (left as it is).
pub fn model_state(s: LinkState) -> Option<DeviceState> {
    match s {
        LinkState::PENDING => Some(DeviceState::Pending),
        LinkState::JOINED => Some(DeviceState::Joining),
        // The host link's KEY_ESTABLISHED means "paired" (docs/firmware.md §3).
        LinkState::KEY_ESTABLISHED => Some(DeviceState::Paired),
        LinkState::LEFT => Some(DeviceState::Left),
        LinkState::JOIN_WINDOW_EXPIRED => Some(DeviceState::Expired),
        _ => None,
    }
}

/// What to write and announce after comparing the store with the ESI.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Records to insert or replace.
    pub put: Vec<DeviceRecord>,
    /// Records to delete (the ESI no longer holds them).
    pub removed: Vec<Eui64>,
    /// (device, state name, reason) for `event/device`.
    pub events: Vec<(Eui64, &'static str, Option<String>)>,
}

fn utc_opt(utc: u32) -> Option<Timestamp> {
    (utc != 0).then(|| from_utc_time(utc))
}

/// Compares the store's records of `esi` with its slot table.
pub fn reconcile(esi: &EsiId, stored: &[DeviceRecord], list: &DeviceList, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    for e in &list.entries {
        let eui = Eui64(e.eui64.0);
        let old = stored.iter().find(|d| d.eui64 == eui);
        let state = model_state(e.state).or(old.map(|d| d.state)).unwrap_or(DeviceState::Pending);
        let slot = if state == DeviceState::Expired { None } else { Some(e.slot) };
        let mut rec = old.cloned().unwrap_or_else(|| DeviceRecord {
            esi_id: esi.clone(),
            eui64: eui,
            slot,
            state,
            label: String::new(),
            join_deadline: None,
            last_seen: None,
            lqi: None,
            updated_at: now,
        });
        let before = rec.clone();
        rec.slot = slot;
        rec.state = state;
        rec.join_deadline = if state == DeviceState::Pending {
            utc_opt(e.join_deadline).or(rec.join_deadline)
        } else {
            None
        };
        rec.last_seen = utc_opt(e.last_seen).or(rec.last_seen);
        if e.last_seen != 0 {
            rec.lqi = Some(e.lqi);
        }
        match old {
            None => {
                plan.events.push((eui, state.as_str(), Some("found on the ESI".into())));
                plan.put.push(rec);
            }
            Some(_) if rec != before => {
                if rec.state != before.state {
                    plan.events.push((eui, state.as_str(), Some("resynchronised".into())));
                }
                rec.updated_at = now;
                plan.put.push(rec);
            }
            Some(_) => {}
        }
    }
    for d in stored {
        let on_esi = list.entries.iter().any(|e| e.eui64.0 == d.eui64.0);
        if !on_esi && d.state != DeviceState::Expired {
            plan.removed.push(d.eui64);
            plan.events.push((
                d.eui64,
                "unpaired",
                Some("no longer in the ESI's slot table".into()),
            ));
        }
    }
    plan
}

/// Applies one device event to the store; returns the event to publish.
pub fn apply_device_event(
    store: &Store,
    esi: &EsiId,
    eui: Eui64,
    state: LinkState,
    now: Timestamp,
) -> Result<Option<(&'static str, Option<String>)>, StoreError> {
    let Some(new) = model_state(state) else {
        if state == LinkState::UNPAIRED {
            store.remove_device(esi.clone(), eui)?;
            return Ok(Some(("unpaired", None)));
        }
        return Ok(None);
    };
    let mut rec = store.device(esi, eui)?.unwrap_or_else(|| DeviceRecord {
        esi_id: esi.clone(),
        eui64: eui,
        slot: None,
        state: new,
        label: String::new(),
        join_deadline: None,
        last_seen: None,
        lqi: None,
        updated_at: now,
    });
    rec.state = new;
    rec.updated_at = now;
    match new {
        DeviceState::Expired => {
            rec.slot = None;
            rec.join_deadline = None;
        }
        DeviceState::Joining | DeviceState::Paired | DeviceState::KeyEstablished => {
            rec.join_deadline = None;
            rec.last_seen = Some(now);
        }
        DeviceState::Pending | DeviceState::Left => {}
    }
    store.put_device(rec)?;
    Ok(Some((new.as_str(), None)))
}

#[cfg(test)]
mod tests {
    use firmware::host_link::{DeviceEntry, Eui64 as LinkEui};

    use super::*;

    fn rec(eui: u64, state: DeviceState, slot: Option<u8>) -> DeviceRecord {
        DeviceRecord {
            esi_id: EsiId::new("E"),
            eui64: Eui64(eui),
            slot,
            state,
            label: format!("dev {eui}"),
            join_deadline: None,
            last_seen: None,
            lqi: None,
            updated_at: Timestamp(1),
        }
    }

    fn entry(eui: u64, slot: u8, state: LinkState) -> DeviceEntry {
        DeviceEntry { slot, eui64: LinkEui(eui), state, last_seen: 100, lqi: 200, join_deadline: 0 }
    }

    #[test]
    fn reconcile_updates_adopts_and_removes() {
        let stored = vec![
            rec(1, DeviceState::Pending, Some(0)),
            rec(2, DeviceState::Paired, Some(1)),
            rec(3, DeviceState::Paired, Some(2)),
            rec(4, DeviceState::Expired, None),
        ];
        let mut list = DeviceList { request_id: 1, capacity: 5, entries: heapless::Vec::new() };
        list.entries.push(entry(1, 0, LinkState::KEY_ESTABLISHED)).unwrap();
        list.entries.push(entry(2, 1, LinkState::KEY_ESTABLISHED)).unwrap();
        list.entries.push(entry(9, 4, LinkState::JOINED)).unwrap();
        let plan = reconcile(&EsiId::new("E"), &stored, &list, Timestamp(50));
        let put: Vec<(u64, DeviceState)> = plan.put.iter().map(|d| (d.eui64.0, d.state)).collect();
        // 1 became paired; 2 gained last_seen/lqi; 9 is adopted.
        assert_eq!(
            put,
            vec![(1, DeviceState::Paired), (2, DeviceState::Paired), (9, DeviceState::Joining)]
        );
        assert_eq!(plan.put[0].label, "dev 1", "labels survive");
        assert_eq!(plan.put[1].lqi, Some(200));
        assert_eq!(plan.removed, vec![Eui64(3)], "expired records are kept as history");
        let names: Vec<&str> = plan.events.iter().map(|e| e.1).collect();
        assert_eq!(names, vec!["paired", "joining", "unpaired"]);
        let again = reconcile(&EsiId::new("E"), &plan.put, &list, Timestamp(60));
        assert!(again.put.is_empty() && again.events.is_empty());
    }

    #[test]
    fn states_map() {
        assert_eq!(model_state(LinkState::KEY_ESTABLISHED), Some(DeviceState::Paired));
        assert_eq!(model_state(LinkState::UNPAIRED), None);
        assert_eq!(model_state(LinkState(0x77)), None);
    }
}
