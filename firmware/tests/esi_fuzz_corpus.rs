//! Replays the committed corpus of the `esi_aps_intake` fuzz target
//! (`firmware/fuzz/corpus/esi_aps_intake/*`) so it runs in `cargo test` without cargo-fuzz.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn corpus_esi_aps_intake() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/esi_aps_intake");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        firmware::esi::fuzz::fuzz_aps_intake(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "empty corpus");
}
