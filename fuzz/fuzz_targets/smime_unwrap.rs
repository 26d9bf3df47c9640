#![no_main]
//! A post read by an S/MIME list (`crypto::smime::unwrap`): signed,
//! enveloped, authEnveloped or signed then enveloped, with the fixture list
//! identity and members.
libfuzzer_sys::fuzz_target!(|raw: &[u8]| conclave_fuzz::smime_unwrap(raw));
