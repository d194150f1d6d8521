#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zse::fuzz::install_code_text(data));
