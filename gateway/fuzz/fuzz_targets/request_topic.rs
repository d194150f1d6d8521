//! Request topics: `han/<gw>/request/<action>` and the trusted-broker form.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(topic) = std::str::from_utf8(data) else { return };
    let t = gateway::mqtt::Topics::new("han", "gw-1");
    let _ = t.parse_request(topic);
});
