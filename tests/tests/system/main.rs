//! The system tests, one binary (one link, not one per file): each module
//! crosses process boundaries — the real mail rig (Dovecot and Postfix on
//! 127.0.0.1, see tests/rig/README.md), the members' clients (gpg, rnp,
//! openssl, gpgsm, neomutt), a keychain, and the app's window over
//! WebDriver. Run them through scripts/test.sh, or one module with
//! `cargo test -p conclave-system-tests --test system MODULE::`.

mod at_rest;
mod backup;
mod bundle;
mod fanout_progress;
mod idle;
mod invitations;
mod key_inbox;
mod key_reminders;
mod list_mail;
mod neomutt_reply;
mod openpgp_keys;
mod openpgp_list;
mod openpgp_posts;
mod owner_input;
mod plain_list;
mod provider_limits;
mod rig_selftest;
mod smime_clients;
mod smime_list;
mod two_laptops;
mod window_activity_key;
mod window_demo;
mod window_held_detail;
mod window_held_signer;
mod window_keep;
mod window_key_inbox;
mod window_key_install;
mod window_limits;
mod window_members;
mod window_members_smime;
mod window_policy;
mod window_smoke;
mod window_tray;
mod window_wizard;
