#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ezsp::fuzz::ezsp_frame(data));
