#![no_main]
//! A post read by an OpenPGP list (`crypto::openpgp::unwrap`): PGP/MIME,
//! inline PGP, or anything else, with the fixture list key and members.
libfuzzer_sys::fuzz_target!(|raw: &[u8]| conclave_fuzz::openpgp_unwrap(raw));
