//! Bytes sealed with a passphrase, for files that leave the laptop (a
//! hand-over bundle): an OpenPGP message (RFC 9580) whose session key is
//! encrypted under a key derived from the passphrase with Argon2 (64 MiB,
//! three passes: a guess costs real memory and time), and whose content is
//! an AEAD-protected SEIPDv2 packet, so one changed byte anywhere is found.

use std::io::{Read, Write};

use sequoia_openpgp as pgp;

use pgp::crypto::{Password, S2K, SessionKey};
use pgp::packet::skesk::SKESK6;
use pgp::packet::{PKESK, Packet, SKESK};
use pgp::parse::Parse;
use pgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use pgp::serialize::Serialize;
use pgp::serialize::stream::{Encryptor, LiteralWriter, Message};
use pgp::types::{AEADAlgorithm, SymmetricAlgorithm};

use crate::secrets::Sensitive;

/// Why sealed bytes did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsealed {
    #[error("the passphrase does not open it: check it and try again")]
    WrongPassphrase,
    #[error("it is damaged or was changed after it was made ({0}): ask for a new copy")]
    Damaged(String),
}

/// At least this many characters: a guess costs about a second and
/// 64 MiB, which protects several words, not a short word.
pub const MIN_PASSPHRASE: usize = 12;

const CIPHER: SymmetricAlgorithm = SymmetricAlgorithm::AES256;

fn s2k() -> S2K {
    let mut salt = [0u8; 16];
    pgp::crypto::random(&mut salt).expect("the system's random source works");
    // RFC 9580's choice for machines with less memory to spare.
    S2K::Argon2 {
        salt,
        t: 3,
        p: 4,
        m: 16,
    }
}

/// `plain` sealed under `passphrase`.
pub fn seal(plain: &[u8], passphrase: &Sensitive<String>) -> Result<Vec<u8>, String> {
    let err = |e: pgp::anyhow::Error| e.to_string();
    let aead = AEADAlgorithm::default();
    let session_key = SessionKey::new(CIPHER.key_size().map_err(err)?).map_err(err)?;
    let password = Password::from(passphrase.expose().as_str());
    let skesk =
        SKESK6::with_password(CIPHER, CIPHER, aead, s2k(), &session_key, &password).map_err(err)?;
    let mut out = Vec::new();
    Packet::SKESK(SKESK::V6(skesk))
        .serialize(&mut out)
        .map_err(err)?;
    let message = Message::new(&mut out);
    let message = Encryptor::with_session_key(message, CIPHER, session_key)
        .map_err(err)?
        .aead_algo(aead)
        .build()
        .map_err(err)?;
    let mut literal = LiteralWriter::new(message).build().map_err(err)?;
    literal.write_all(plain).map_err(|e| e.to_string())?;
    literal.finalize().map_err(err)?;
    Ok(out)
}

/// What `seal` sealed, when `passphrase` is the one it was sealed with
/// and not a byte was changed.
pub fn open(sealed: &[u8], passphrase: &Sensitive<String>) -> Result<Vec<u8>, Unsealed> {
    let helper = Opener {
        password: Password::from(passphrase.expose().as_str()),
    };
    let policy = super::policy();
    let mut reader = match DecryptorBuilder::from_bytes(sealed)
        .and_then(|b| b.with_policy(&policy, None, helper))
    {
        Ok(r) => r,
        Err(e) => {
            return Err(if is_wrong_passphrase(&e) {
                Unsealed::WrongPassphrase
            } else {
                Unsealed::Damaged(e.to_string())
            });
        }
    };
    let mut plain = Vec::new();
    // The last chunk's tag is checked at the end: only a whole read counts.
    reader
        .read_to_end(&mut plain)
        .map_err(|e| Unsealed::Damaged(e.to_string()))?;
    Ok(plain)
}

/// The helper's own error when no session key came out, told apart from
/// damage found later.
fn is_wrong_passphrase(e: &pgp::anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.to_string().contains(WRONG_PASSPHRASE_MARK))
}

const WRONG_PASSPHRASE_MARK: &str = "the passphrase opens none of its session keys";

struct Opener {
    password: Password,
}

impl VerificationHelper for Opener {
    fn get_certs(&mut self, _: &[pgp::KeyHandle]) -> pgp::Result<Vec<pgp::Cert>> {
        Ok(Vec::new())
    }
    fn check(&mut self, _: MessageStructure) -> pgp::Result<()> {
        // Not signed: the AEAD tags are what make it whole.
        Ok(())
    }
}

impl DecryptionHelper for Opener {
    fn decrypt(
        &mut self,
        _: &[PKESK],
        skesks: &[SKESK],
        _: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> pgp::Result<Option<pgp::Cert>> {
        // A v6 passphrase packet is itself AEAD-sealed: when it opens, the
        // passphrase is right, and a session key that then fails on the
        // content means the content was changed.
        let mut opened = false;
        for skesk in skesks {
            if let Ok((algo, key)) = skesk.decrypt(&self.password) {
                opened = true;
                if decrypt(algo, &key) {
                    return Ok(None);
                }
            }
        }
        if opened {
            Err(pgp::anyhow::anyhow!("its content does not match its key"))
        } else {
            Err(pgp::anyhow::anyhow!(WRONG_PASSPHRASE_MARK))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Sensitive<String> {
        Sensitive::new(s.to_string())
    }

    #[test]
    fn what_is_sealed_opens_with_its_passphrase_only() {
        let sealed = seal(b"the list and its keys", &words("correct horse battery")).unwrap();
        assert!(
            !sealed.windows(4).any(|w| w == b"list"),
            "nothing readable in the sealed bytes"
        );
        assert_eq!(
            open(&sealed, &words("correct horse battery")).unwrap(),
            b"the list and its keys"
        );
        assert_eq!(
            open(&sealed, &words("correct horse battery!")),
            Err(Unsealed::WrongPassphrase)
        );
    }

    #[test]
    fn any_changed_byte_is_found() {
        let plain = vec![7u8; 10_000];
        let sealed = seal(&plain, &words("correct horse battery")).unwrap();
        // A dozen places over the whole file, the passphrase packet
        // included (each try costs an Argon2 run).
        let skesk_len = 2 + sealed[1] as usize;
        for i in (0..sealed.len()).step_by(sealed.len() / 12) {
            let mut changed = sealed.clone();
            changed[i] ^= 0x01;
            let r = open(&changed, &words("correct horse battery"));
            assert!(r.is_err(), "byte {i} changed and it still opened");
            if i >= skesk_len {
                assert!(
                    matches!(r, Err(Unsealed::Damaged(_))),
                    "byte {i} changed is told as {r:?}"
                );
            }
        }
        let cut = &sealed[..sealed.len() - 20];
        assert!(matches!(
            open(cut, &words("correct horse battery")),
            Err(Unsealed::Damaged(_))
        ));
    }

    #[test]
    fn its_passphrase_is_stretched_with_argon2() {
        let sealed = seal(b"x", &words("correct horse battery")).unwrap();
        let packets = pgp::PacketPile::from_bytes(&sealed).unwrap();
        let Some(Packet::SKESK(SKESK::V6(skesk))) = packets.path_ref(&[0]) else {
            panic!("a v6 passphrase packet first");
        };
        assert!(matches!(skesk.s2k(), S2K::Argon2 { m: 16, t: 3, .. }));
        assert!(matches!(packets.path_ref(&[1]), Some(Packet::SEIP(_))));
    }
}
