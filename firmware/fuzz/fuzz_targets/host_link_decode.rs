#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| firmware::host_link::fuzz_decode(data));
