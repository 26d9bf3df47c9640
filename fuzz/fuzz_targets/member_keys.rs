#![no_main]
//! A key or certificate file an owner gives for a member
//! (`member_keys::check` and `member_keys::review`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_fuzz::member_keys(data));
