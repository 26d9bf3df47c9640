//! Member keys for the rig benches, made in-process: gpg takes seconds a
//! key once its keyring holds hundreds. Included by the benches with
//! `#[path]`, not a bench of its own.

/// A member's public key (Cv25519, as gpg's future-default), armored.
pub fn member_key(email: &str) -> Vec<u8> {
    use sequoia_openpgp::cert::{CertBuilder, CipherSuite};
    use sequoia_openpgp::serialize::SerializeInto;
    let (cert, _) = CertBuilder::general_purpose(Some(format!("M <{email}>")))
        .set_cipher_suite(CipherSuite::Cv25519)
        .generate()
        .expect("sequoia makes a key");
    cert.armored().to_vec().expect("the key serializes")
}
