#![no_main]
//! A message from the list's mailbox as the agent first reads it
//! (`Post::read`), and as an owner's held-post screen shows it.
libfuzzer_sys::fuzz_target!(|raw: &[u8]| conclave_fuzz::post_read(raw));
