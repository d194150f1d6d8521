#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zse::fuzz::se_frame(data));
