//! Replays the committed fuzz corpus (`firmware/fuzz/corpus/<target>/*`) as regression tests, so
//! every input the fuzzer ever kept runs in `cargo test` without cargo-fuzz.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn corpus_host_link_decode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/host_link_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        firmware::host_link::fuzz_decode(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "empty corpus");
}
