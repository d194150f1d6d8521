//! The configuration file: `Config::parse` on arbitrary text (errors name the key, never panic).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = gateway::config::Config::parse(text);
});
