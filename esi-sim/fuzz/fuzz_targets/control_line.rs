//! Control-channel lines (`ihd 1 confirm`, `unplug esi 0 for 5s at 30s`, …) and durations.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = esi_sim::command::parse_line(text);
    let _ = esi_sim::command::parse_duration(text);
});
