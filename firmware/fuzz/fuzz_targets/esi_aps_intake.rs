#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| firmware::esi::fuzz::fuzz_aps_intake(data));
