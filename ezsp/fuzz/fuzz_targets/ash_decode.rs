#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ezsp::fuzz::ash_decode(data));
