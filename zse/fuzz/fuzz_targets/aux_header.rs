#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zse::fuzz::aux_header(data));
