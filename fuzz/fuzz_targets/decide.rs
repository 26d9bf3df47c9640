#![no_main]
//! The pure decision (`policy::decide`, `decide_protected`) on a post read
//! from the input, with settings, members and evidence taken from its first
//! bytes (`conclave_fuzz::Scenario`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_fuzz::decide(data));
