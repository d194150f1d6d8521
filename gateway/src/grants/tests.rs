use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use zse::zcl::Eui64;

use super::*;
use crate::error::ErrorCode;

const ESI_A: &str = "10089010000000000001";
const ESI_B: &str = "10089010000000000002";
const METER_A: &str = "M-100";
const METER_B: &str = "M-200";

fn directory() -> BTreeMap<String, String> {
    [(ESI_A.to_string(), METER_A.to_string()), (ESI_B.to_string(), METER_B.to_string())]
        .into_iter()
        .collect()
}

fn pid(s: &str) -> PartyId {
    PartyId::new(s)
}

fn book() -> Grants<MemoryGrantStore> {
    Grants::new(MemoryGrantStore::with_parties([
        Party::new("admin", Role::Admin),
        Party::new("acme-admin", Role::Admin).in_organisation("acme"),
        Party::new("tdsp", Role::Tdsp),
        Party::new("rep", Role::Rep).in_organisation("acme"),
        Party::new("tp", Role::ThirdParty),
    ]))
}

fn new_grant(party: &str, esi: &str, meter: &str, rights: &[Right]) -> NewGrant {
    NewGrant {
        party: pid(party),
        esi_id: esi.into(),
        meter_number: meter.into(),
        rights: rights.iter().copied().collect(),
        devices: None,
        expires_at: None,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, crate::error::ApiError>) -> ErrorCode {
    r.unwrap_err().code
}

#[test]
fn grant_allows_only_its_rights_on_its_esi() {
    let mut g = book();
    g.add(&pid("admin"), new_grant("rep", ESI_A, METER_A, &[Right::Message]), &directory(), 10)
        .unwrap();
    g.check(&pid("rep"), Right::Message, ESI_A, Some(METER_A), None, 11).unwrap();
    let e = g.check(&pid("rep"), Right::Drlc, ESI_A, None, None, 11).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAuthorized);
    assert!(e.message.contains("'drlc'") && e.message.contains("message"), "{}", e.message);
    assert_eq!(
        code(g.check(&pid("rep"), Right::Message, ESI_B, None, None, 11)),
        ErrorCode::NotAuthorized
    );
    assert_eq!(
        code(g.check(&pid("tp"), Right::Message, ESI_A, None, None, 11)),
        ErrorCode::NotAuthorized
    );
    let e = g.check(&pid("rep"), Right::Message, ESI_A, Some(METER_B), None, 11).unwrap_err();
    assert_eq!(e.code, ErrorCode::MeterMismatch);
    // A party without a grant learns nothing about the meter.
    assert_eq!(
        code(g.check(&pid("tp"), Right::Message, ESI_A, Some(METER_B), None, 11)),
        ErrorCode::NotAuthorized
    );
}

#[test]
fn add_verifies_meter_and_inputs() {
    let mut g = book();
    let d = directory();
    let a = pid("admin");
    assert_eq!(
        code(g.add(&a, new_grant("rep", ESI_A, METER_B, &[Right::Read]), &d, 0)),
        ErrorCode::MeterMismatch
    );
    assert_eq!(
        code(g.add(&a, new_grant("rep", "999", METER_A, &[Right::Read]), &d, 0)),
        ErrorCode::UnknownEsi
    );
    assert_eq!(
        code(g.add(&a, new_grant("rep", ESI_A, METER_A, &[]), &d, 0)),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(g.add(&a, new_grant("nobody", ESI_A, METER_A, &[Right::Read]), &d, 0)),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(g.add(&a, new_grant("rep", "", METER_A, &[Right::Read]), &d, 0)),
        ErrorCode::BadRequest
    );
    let mut n = new_grant("rep", ESI_A, METER_A, &[Right::Read]);
    n.expires_at = Some(5);
    assert_eq!(code(g.add(&a, n.clone(), &d, 5)), ErrorCode::InvalidTime);
    n.devices = Some(DeviceScope::default());
    assert_eq!(code(g.add(&a, n, &d, 0)), ErrorCode::BadRequest);
}

#[test]
fn only_admins_manage_grants_and_org_admins_only_their_org() {
    let mut g = book();
    let d = directory();
    for actor in ["tdsp", "rep", "tp"] {
        assert_eq!(
            code(g.add(&pid(actor), new_grant("tp", ESI_A, METER_A, &[Right::Read]), &d, 0)),
            ErrorCode::NotAuthorized
        );
    }
    // acme's admin manages acme's rep, not the independent third party.
    g.add(&pid("acme-admin"), new_grant("rep", ESI_A, METER_A, &[Right::Read]), &d, 0).unwrap();
    assert_eq!(
        code(g.add(&pid("acme-admin"), new_grant("tp", ESI_A, METER_A, &[Right::Read]), &d, 0)),
        ErrorCode::NotAuthorized
    );
    let tp = g.add(&pid("admin"), new_grant("tp", ESI_A, METER_A, &[Right::Read]), &d, 0).unwrap();
    assert_eq!(code(g.revoke(&pid("acme-admin"), tp.id)), ErrorCode::NotAuthorized);
    assert_eq!(code(g.revoke(&pid("rep"), tp.id)), ErrorCode::NotAuthorized);
    // Listing: the org admin sees acme's grant only; the third party sees its own.
    let all = GrantFilter::default();
    assert_eq!(g.list(&pid("acme-admin"), &all, 0).unwrap().len(), 1);
    assert_eq!(g.list(&pid("admin"), &all, 0).unwrap().len(), 2);
    let mine = g.list(&pid("tp"), &all, 0).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].party, pid("tp"));
    g.revoke(&pid("admin"), tp.id).unwrap();
    assert!(g.list(&pid("tp"), &all, 0).unwrap().is_empty());
    // Org admins cannot register admins.
    assert_eq!(
        code(g.put_party(&pid("acme-admin"), Party::new("x", Role::Admin).in_organisation("acme"))),
        ErrorCode::NotAuthorized
    );
    g.put_party(&pid("acme-admin"), Party::new("rep2", Role::Rep).in_organisation("acme")).unwrap();
}

#[test]
fn move_out_revokes_every_grant_of_the_esi_including_third_parties() {
    let mut g = book();
    let d = directory();
    let a = pid("admin");
    g.add(&a, new_grant("rep", ESI_A, METER_A, &[Right::Message]), &d, 0).unwrap();
    g.add(&a, new_grant("tp", ESI_A, METER_A, &[Right::Provision]), &d, 0).unwrap();
    g.add(&a, new_grant("tp", ESI_B, METER_B, &[Right::Provision]), &d, 0).unwrap();
    assert_eq!(code(g.move_out(&pid("rep"), ESI_A, METER_A, &d)), ErrorCode::NotAuthorized);
    assert_eq!(code(g.move_out(&pid("tdsp"), ESI_A, METER_B, &d)), ErrorCode::MeterMismatch);
    let gone = g.move_out(&pid("tdsp"), ESI_A, METER_A, &d).unwrap();
    assert_eq!(gone.len(), 2);
    assert_eq!(
        code(g.check(&pid("rep"), Right::Message, ESI_A, None, None, 1)),
        ErrorCode::NotAuthorized
    );
    assert_eq!(
        code(g.check(&pid("tp"), Right::Provision, ESI_A, None, None, 1)),
        ErrorCode::NotAuthorized
    );
    g.check(&pid("tp"), Right::Provision, ESI_B, None, None, 1).unwrap();
}

#[test]
fn device_scope_and_expiry() {
    let mut g = book();
    let d = directory();
    let ihd = Eui64(0x000D_6F00_0000_0001);
    let pct = Eui64(0x000D_6F00_0000_0002);
    let mut n = new_grant("tp", ESI_A, METER_A, &[Right::Message]);
    n.devices = Some([ihd].into_iter().collect());
    n.expires_at = Some(100);
    g.add(&pid("admin"), n, &d, 0).unwrap();
    g.check(&pid("tp"), Right::Message, ESI_A, None, Some(ihd), 99).unwrap();
    let e = g.check(&pid("tp"), Right::Message, ESI_A, None, Some(pct), 99).unwrap_err();
    assert!(e.message.contains(&pct.to_string()), "{}", e.message);
    assert_eq!(
        code(g.check(&pid("tp"), Right::Message, ESI_A, None, None, 99)),
        ErrorCode::NotAuthorized
    );
    let e = g.check(&pid("tp"), Right::Message, ESI_A, None, Some(ihd), 100).unwrap_err();
    assert!(e.message.contains("expired"), "{}", e.message);
    assert_eq!(g.purge_expired(100).unwrap().len(), 1);
}

#[test]
fn only_the_tdsp_deletes_pending_entries() {
    assert!(may_delete_pending(Role::Tdsp));
    for r in [Role::Rep, Role::ThirdParty, Role::Admin] {
        assert!(!may_delete_pending(r));
    }
    let mut g = book();
    let d = directory();
    let dev = Eui64(7);
    for p in ["tdsp", "tp"] {
        g.add(&pid("admin"), new_grant(p, ESI_A, METER_A, &[Right::Deprovision]), &d, 0).unwrap();
    }
    g.check_deprovision(&pid("tdsp"), ESI_A, None, dev, true, 1).unwrap();
    g.check_deprovision(&pid("tp"), ESI_A, None, dev, false, 1).unwrap();
    let e = g.check_deprovision(&pid("tp"), ESI_A, None, dev, true, 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAuthorized);
    assert!(e.message.contains("only the TDSP"), "{}", e.message);
}

#[test]
fn store_serde_round_trip_rebuilds_the_index() {
    let mut g = book();
    let mut n = new_grant("tp", ESI_A, METER_A, &[Right::Message, Right::Read]);
    n.devices = Some([Eui64(0x000D_6F00_0ABC_DEF0)].into_iter().collect());
    n.expires_at = Some(1_900_000_000);
    g.add(&pid("admin"), n, &directory(), 0).unwrap();
    let json = serde_json::to_value(g.store()).unwrap();
    assert_eq!(json["grants"][0]["devices"], serde_json::json!(["000d6f000abcdef0"]));
    assert_eq!(json["grants"][0]["rights"], serde_json::json!(["message", "read"]));
    let back: MemoryGrantStore = serde_json::from_value(json).unwrap();
    assert_eq!(&back, g.store());
    let mut g2 = Grants::new(back);
    g2.check(&pid("tp"), Right::Read, ESI_A, None, Some(Eui64(0x000D_6F00_0ABC_DEF0)), 1).unwrap();
    // Fresh ids continue after the restored ones.
    let g3 =
        g2.add(&pid("admin"), new_grant("rep", ESI_B, METER_B, &[Right::Read]), &directory(), 1);
    assert_eq!(g3.unwrap().id, GrantId(1));
}

#[test]
fn new_grant_from_request_json() {
    let n: NewGrant = serde_json::from_value(serde_json::json!({
        "party": "tp", "esi_id": ESI_A, "meter_number": METER_A,
        "rights": ["message", "provision"], "devices": ["00:0D:6F:00:0A:BC:DE:F0"]
    }))
    .unwrap();
    assert_eq!(n.rights, [Right::Message, Right::Provision].into_iter().collect());
    assert!(serde_json::from_value::<NewGrant>(serde_json::json!({
        "party": "tp", "esi_id": ESI_A, "meter_number": METER_A, "rights": ["fly"]
    }))
    .is_err());
    assert_eq!(Right::for_action("drlc/cancel"), Some(Right::Drlc));
    assert_eq!(Right::for_action("grant/add"), None);
}

// ---- model-based property test -------------------------------------------------------------

const PARTIES: [&str; 3] = ["tdsp", "rep", "tp"];
const ESIS: [(&str, &str); 2] = [(ESI_A, METER_A), (ESI_B, METER_B)];
const DEVICES: [Eui64; 3] = [Eui64(1), Eui64(2), Eui64(3)];

#[derive(Debug, Clone)]
enum Op {
    Add {
        party: usize,
        esi: usize,
        rights: Vec<Right>,
        devices: Option<Vec<usize>>,
        ttl: Option<u64>,
    },
    Revoke(usize),
    MoveOut(usize),
    Advance(u64),
    Check {
        party: usize,
        esi: usize,
        right: Right,
        device: Option<usize>,
        wrong_meter: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let right = proptest::sample::select(Right::ALL.to_vec());
    prop_oneof![
        3 => (0..3usize, 0..2usize, proptest::collection::vec(right.clone(), 1..4),
              proptest::option::of(proptest::collection::vec(0..3usize, 1..3)),
              proptest::option::of(1..50u64))
            .prop_map(|(party, esi, rights, devices, ttl)| Op::Add { party, esi, rights, devices, ttl }),
        1 => (0..8usize).prop_map(Op::Revoke),
        1 => (0..2usize).prop_map(Op::MoveOut),
        1 => (0..30u64).prop_map(Op::Advance),
        6 => (0..3usize, 0..2usize, right, proptest::option::of(0..3usize), proptest::bool::weighted(0.1))
            .prop_map(|(party, esi, right, device, wrong_meter)| Op::Check { party, esi, right, device, wrong_meter }),
    ]
}

struct ModelGrant {
    id: GrantId,
    party: usize,
    esi: usize,
    rights: BTreeSet<Right>,
    devices: Option<BTreeSet<usize>>,
    expires_at: Option<u64>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// A request is allowed iff an unexpired grant with the right covers it.
    #[test]
    fn check_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut g = book();
        let d = directory();
        let admin = pid("admin");
        let mut model: Vec<ModelGrant> = Vec::new();
        let mut now = 1000u64;
        for op in ops {
            match op {
                Op::Add { party, esi, rights, devices, ttl } => {
                    let n = NewGrant {
                        party: pid(PARTIES[party]),
                        esi_id: ESIS[esi].0.into(),
                        meter_number: ESIS[esi].1.into(),
                        rights: rights.iter().copied().collect(),
                        devices: devices.as_ref().map(|v| v.iter().map(|&i| DEVICES[i]).collect()),
                        expires_at: ttl.map(|t| now + t),
                    };
                    let grant = g.add(&admin, n, &d, now).unwrap();
                    model.push(ModelGrant {
                        id: grant.id, party, esi,
                        rights: rights.into_iter().collect(),
                        devices: devices.map(|v| v.into_iter().collect()),
                        expires_at: ttl.map(|t| now + t),
                    });
                }
                Op::Revoke(i) => {
                    if model.is_empty() { continue; }
                    let m = model.remove(i % model.len());
                    prop_assert_eq!(g.revoke(&admin, m.id).unwrap().id, m.id);
                }
                Op::MoveOut(esi) => {
                    let n = g.move_out(&pid("tdsp"), ESIS[esi].0, ESIS[esi].1, &d).unwrap().len();
                    let before = model.len();
                    model.retain(|m| m.esi != esi);
                    prop_assert_eq!(n, before - model.len());
                }
                Op::Advance(dt) => now += dt,
                Op::Check { party, esi, right, device, wrong_meter } => {
                    let live_any = model.iter().any(|m| m.party == party && m.esi == esi
                        && m.expires_at.is_none_or(|t| now < t));
                    let allowed = model.iter().any(|m| m.party == party && m.esi == esi
                        && m.rights.contains(&right)
                        && m.expires_at.is_none_or(|t| now < t)
                        && match (&m.devices, device) {
                            (None, _) => true,
                            (Some(s), Some(dv)) => s.contains(&dv),
                            (Some(_), None) => false,
                        });
                    let meter = if wrong_meter { "WRONG" } else { ESIS[esi].1 };
                    let got = g.check(&pid(PARTIES[party]), right, ESIS[esi].0, Some(meter),
                        device.map(|i| DEVICES[i]), now);
                    let want = if wrong_meter && live_any {
                        Err(ErrorCode::MeterMismatch)
                    } else if allowed && !wrong_meter {
                        Ok(())
                    } else {
                        Err(ErrorCode::NotAuthorized)
                    };
                    prop_assert_eq!(got.map_err(|e| e.code), want);
                }
            }
        }
    }
}
