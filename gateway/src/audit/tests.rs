use std::path::{Path, PathBuf};

use serde_json::json;
use zse::zcl::Eui64;

use super::*;
use crate::auth::keys::signing_key_to_pem;
use crate::auth::{generate_signing_key, sign_request};

const N: u64 = 12;
const T0: u64 = 1_800_000_000;

fn entry(i: u64) -> AuditEntry {
    let parties = ["rep", "tp", "tdsp"];
    let actions = ["message/send", "device/provision", "device/deprovision"];
    let mut e = AuditEntry::new(
        T0 + i * 10,
        Some(PartyId::new(parties[(i % 3) as usize])),
        actions[(i % 3) as usize],
    )
    .target(format!("esi-{}", i % 2), Some(Eui64(0x000D_6F00_0000_0000 + i)))
    .transaction(format!("t{i}"));
    e = if i % 4 == 3 {
        e.denied(ErrorCode::NotAuthorized)
    } else {
        e.allowed().outcome("accepted")
    };
    if i % 3 == 2 {
        e = e.reason(if i.is_multiple_of(2) { "customer_request" } else { "device_replaced" });
    }
    e
}

fn fresh(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, SyncPolicy::EveryAppend).unwrap();
    for i in 0..N {
        let r = log.append(entry(i)).unwrap();
        assert_eq!(r.seq, i);
    }
    path
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

/// Verifies without the head file, i.e. the chain alone.
fn chain_tamper(path: &Path) -> Tamper {
    verify_against(path, None).unwrap_err().tamper().cloned().expect("a tamper report")
}

fn head_tamper(path: &Path) -> Tamper {
    verify(path).unwrap_err().tamper().cloned().expect("a tamper report")
}

#[test]
fn appended_log_verifies_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let report = verify(&path).unwrap();
    assert_eq!(report.records, N);
    assert!(report.anchored);
    let head = report.head.unwrap();
    assert_eq!(head.seq, N - 1);
    // Reopen: the chain continues.
    let mut log = AuditLog::open(&path, SyncPolicy::EveryAppend).unwrap();
    assert_eq!(log.head(), Some(head.clone()));
    let r = log.append(entry(N)).unwrap();
    assert_eq!(r.seq, N);
    assert_eq!(r.prev_hash, head.hash);
    let rs = log.append_batch((N + 1..N + 5).map(entry).collect()).unwrap();
    assert_eq!(rs.last().unwrap().seq, N + 4);
    drop(log);
    assert_eq!(verify(&path).unwrap().records, N + 5);
    // Lines are canonical: re-encoding a record gives the stored line.
    let first = &lines(&path)[0];
    let rec: AuditRecord = serde_json::from_str(first).unwrap();
    assert_eq!(encode_line(rec.seq, &rec.entry, &rec.prev_hash).unwrap().0.trim_end(), first);
    assert_eq!(rec.prev_hash, GENESIS_HASH);
    assert!(first.starts_with(r#"{"seq":0,"time":1800000000,"party":"rep","action":"message/send","esi_id":"esi-0","eui64":"000d6f0000000000","decision":"allowed""#), "{first}");
}

#[test]
fn an_empty_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    drop(AuditLog::open(&path, SyncPolicy::EveryAppend).unwrap());
    assert_eq!(verify(&path).unwrap(), VerifyReport { records: 0, head: None, anchored: false });
}

#[test]
fn every_flipped_byte_names_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let original = lines(&path);
    for k in [0usize, 5, N as usize - 1] {
        for pos in 0..original[k].len() {
            let mut ls = original.clone();
            let mut bytes = ls[k].clone().into_bytes();
            bytes[pos] ^= 0x01;
            ls[k] = String::from_utf8(bytes).unwrap();
            write_lines(&path, &ls);
            let t = chain_tamper(&path);
            assert_eq!(t.seq, Some(k as u64), "byte {pos} of line {k}: {t}");
            assert_eq!(t.line, Some(k as u64 + 1));
            assert!(
                matches!(t.kind, TamperKind::HashMismatch | TamperKind::Unreadable(_)),
                "byte {pos} of line {k}: {t}"
            );
        }
    }
}

#[test]
fn deleted_swapped_and_inserted_lines_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let original = lines(&path);

    for k in [0usize, 4, 10] {
        let mut ls = original.clone();
        ls.remove(k);
        write_lines(&path, &ls);
        let t = chain_tamper(&path);
        assert_eq!(
            (t.seq, &t.kind),
            (Some(k as u64), &TamperKind::SeqMismatch { found: k as u64 + 1 }),
            "{t}"
        );
        assert!(t.to_string().contains(&format!("record seq {k}")), "{t}");
    }
    for k in [0usize, 6] {
        let mut ls = original.clone();
        ls.swap(k, k + 1);
        write_lines(&path, &ls);
        assert_eq!(chain_tamper(&path).seq, Some(k as u64));
    }
    // A duplicated record.
    let mut ls = original.clone();
    ls.insert(4, original[3].clone());
    write_lines(&path, &ls);
    let t = chain_tamper(&path);
    assert_eq!((t.seq, t.kind), (Some(4), TamperKind::SeqMismatch { found: 3 }));
    // A forged record with a valid hash and the right seq and prev_hash, inserted after seq 3:
    // the next genuine record no longer follows.
    let prev: AuditRecord = serde_json::from_str(&original[3]).unwrap();
    let forged = encode_line(4, &AuditEntry::new(T0, None, "forged"), &prev.hash).unwrap().0;
    let mut ls = original.clone();
    ls.insert(4, forged.trim_end().to_string());
    write_lines(&path, &ls);
    assert_eq!(verify_against(&path, None).unwrap_err().tamper().unwrap().seq, Some(5));
    // A record replaced by one with a valid hash but another chain position.
    let mut ls = original.clone();
    ls[7] = encode_line(7, &AuditEntry::new(T0, None, "forged"), GENESIS_HASH)
        .unwrap()
        .0
        .trim_end()
        .into();
    write_lines(&path, &ls);
    let t = chain_tamper(&path);
    assert_eq!((t.seq, t.kind), (Some(7), TamperKind::PrevHashMismatch));
}

#[test]
fn truncation_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let bytes = std::fs::read(&path).unwrap();
    let original = lines(&path);
    // Inside a record: the chain alone sees it.
    let cut = bytes.len() - 20;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let t = chain_tamper(&path);
    assert_eq!((t.seq, t.kind), (Some(N - 1), TamperKind::Incomplete));
    // At a line boundary: the head file sees it.
    write_lines(&path, &original[..8]);
    assert_eq!(verify_against(&path, None).unwrap().records, 8);
    let t = head_tamper(&path);
    assert_eq!((t.seq, t.kind), (Some(8), TamperKind::Truncated { head_seq: N - 1 }));
    assert!(
        AuditLog::open(&path, SyncPolicy::EveryAppend).is_err(),
        "must not append to a cut log"
    );
    // Everything gone.
    std::fs::write(&path, b"").unwrap();
    assert_eq!(head_tamper(&path).seq, Some(0));
}

#[test]
fn a_rewritten_history_is_found_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let anchor = verify(&path).unwrap().head.unwrap();
    // Rebuild the whole chain with record 2 changed, as someone with write access could.
    let forged = dir.path().join("forged.jsonl");
    {
        let mut log = AuditLog::open(&forged, SyncPolicy::Manual).unwrap();
        for i in 0..N {
            let mut e = entry(i);
            if i == 2 {
                e.outcome = Some("nothing happened".into());
            }
            log.append(e).unwrap();
        }
    }
    std::fs::copy(&forged, &path).unwrap();
    assert_eq!(verify_against(&path, None).unwrap().records, N, "a consistent chain");
    let t = verify_against(&path, Some(&anchor)).unwrap_err().tamper().cloned().unwrap();
    assert_eq!(t.seq, Some(N - 1));
    assert!(matches!(t.kind, TamperKind::HeadMismatch { .. }));
}

#[test]
fn a_torn_tail_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"seq":12,"time":18000"#);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(chain_tamper(&path).kind, TamperKind::Incomplete));
    // Queries skip the torn line.
    assert_eq!(
        query(&path, &AuditQuery { page_size: 1000, ..AuditQuery::default() })
            .unwrap()
            .records
            .len(),
        N as usize
    );
    let mut log = AuditLog::open(&path, SyncPolicy::EveryAppend).unwrap();
    assert_eq!(log.append(entry(N)).unwrap().seq, N);
    drop(log);
    assert_eq!(verify(&path).unwrap().records, N + 1);
}

#[test]
fn manual_sync_writes_the_head_on_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let mut log = AuditLog::open(&path, SyncPolicy::Manual).unwrap();
    log.append_batch((0..5).map(entry).collect()).unwrap();
    assert!(!verify(&path).unwrap().anchored, "no head before the first sync");
    log.sync().unwrap();
    assert_eq!(verify(&path).unwrap().head.unwrap().seq, 4);
    log.append(entry(5)).unwrap();
    assert_eq!(verify(&path).unwrap().records, 6);
}

#[test]
fn secrets_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    let sk = generate_signing_key();
    let pem = signing_key_to_pem(&sk).to_string();
    let install_code = "83FED3407A939723A5C639B26916D505C3B5";
    let request = json!({
        "esi_id": "1008901", "meter_number": "M1", "eui64": "000d6f000abcdef0",
        "install_code": install_code, "label": "IHD", "join_window_minutes": 60,
    });
    let token = sign_request(&sk, "rep-key-1", &request);
    let mut log = AuditLog::open(&path, SyncPolicy::EveryAppend).unwrap();
    let rec = log
        .append(
            AuditEntry::new(T0, Some(PartyId::new("rep")), "device/provision")
                .target("1008901", Some(Eui64(0x000D_6F00_0ABC_DEF0)))
                .allowed()
                .detail(json!({
                    "request": request,
                    "raw_payload": token,
                    "bulk": [{"installCode": install_code}],
                    "config": {"private_key": pem, "link_key": "66B6900981E1EE3CA4206B6B861C02BB"},
                })),
        )
        .unwrap();
    drop(log);
    let stored = std::fs::read_to_string(&path).unwrap();
    for secret in [install_code, "83FED340", &token, "BEGIN PRIVATE KEY", "66B6900981E1EE3C"] {
        assert!(!stored.contains(secret), "{secret:?} reached the audit file");
    }
    // The token's payload is only base64url: make sure that is not stored either.
    let payload_b64 = token.split('.').nth(1).unwrap();
    assert!(!stored.contains(payload_b64));
    assert_eq!(rec.entry.detail.as_ref().unwrap()["request"]["install_code"], REDACTED);
    assert_eq!(rec.entry.detail.as_ref().unwrap()["request"]["label"], "IHD");
    verify(&path).unwrap();
}

#[test]
fn query_filters_pages_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let all = |q: AuditQuery| query(&path, &q).unwrap();
    let p = all(AuditQuery { page_size: 5, ..AuditQuery::default() });
    assert_eq!(p.records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(p.next_page, Some(1));
    let p = all(AuditQuery { page_size: 5, page: 2, ..AuditQuery::default() });
    assert_eq!(p.records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![10, 11]);
    assert_eq!(p.next_page, None);
    // Exactly a full last page: no next page.
    let p = all(AuditQuery { page_size: 6, page: 1, ..AuditQuery::default() });
    assert_eq!((p.records.len(), p.next_page), (6, None));

    let by_party = all(AuditQuery { party: Some(PartyId::new("tp")), ..AuditQuery::default() });
    assert!(by_party.records.iter().all(|r| r.entry.party == Some(PartyId::new("tp"))));
    assert_eq!(by_party.records.len(), 4);
    let by_reason =
        all(AuditQuery { reason: Some("customer_request".into()), ..AuditQuery::default() });
    assert_eq!(by_reason.records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 8]);
    let q = AuditQuery {
        esi_id: Some("esi-1".into()),
        action: Some("message/send".into()),
        from: Some(T0 + 30),
        to: Some(T0 + 100),
        ..AuditQuery::default()
    };
    assert_eq!(all(q).records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 9]);

    let c = counts(&path, &AuditQuery::default()).unwrap();
    assert_eq!(c.len(), 3);
    let rep = c.iter().find(|r| r.party == Some(PartyId::new("rep"))).unwrap();
    assert_eq!((rep.action.as_str(), rep.allowed, rep.denied), ("message/send", 3, 1));
    assert_eq!(c.iter().map(|r| r.allowed + r.denied + r.other).sum::<u64>(), N);
    // Queries are JSON-shaped for `audit/query`.
    let q: AuditQuery = serde_json::from_value(json!({"esi_id": "esi-0", "page": 1})).unwrap();
    assert_eq!((q.page, q.page_size), (1, 100));
}
