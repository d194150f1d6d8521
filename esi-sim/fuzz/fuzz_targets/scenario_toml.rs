//! Scenario / fault-plan files: `Scenario::parse` on arbitrary text, and building the
//! simulation from what parses.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(s) = esi_sim::scenario::Scenario::parse("fuzz.toml", text) {
        let _ = format!("{s:?}");
    }
});
