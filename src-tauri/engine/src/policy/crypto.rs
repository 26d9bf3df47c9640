//! The list's crypto settings and what they decide: whether a post passes
//! given what the crypto layer found out about it ([`judge`]), and how each
//! member's copy is wrapped ([`plan_delivery`]). Pure: the OpenPGP and S/MIME
//! back ends fill in the [`Evidence`]; nothing here touches a key.

use crate::model::{ListSettings, Requirement};

/// How a post arrived encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    None,
    ToList,
    /// Encrypted, but not to the list's key: the list cannot read it.
    ToOtherKey,
    /// Encrypted in a way that must not be trusted (no integrity protection
    /// as in EFAIL, corrupt, over a limit); the reason says which.
    Broken(String),
}

/// How a post arrived signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    None,
    /// A good signature by the key of the member who posted it.
    ByMember {
        email: String,
    },
    /// Signed, but the signature does not count (bad, expired or revoked
    /// key, weak hash, replay, not a member's key...); the reason says which.
    Invalid(String),
    /// A good signature by a member's valid key, but From does not name
    /// that member alone (another address, several, or none): an insider
    /// claiming to be someone else. `from` is what From says.
    NotTheSender {
        email: String,
        key: String,
        from: String,
    },
}

/// What the crypto layer found out about a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub encryption: Encryption,
    pub signature: Signature,
}

impl Encryption {
    /// In the words the reasons of held and refused posts use.
    pub fn describe(&self) -> String {
        match self {
            Encryption::None => "not encrypted".into(),
            Encryption::ToList => "encrypted to the list's key".into(),
            Encryption::ToOtherKey => {
                "encrypted to a key that is not the list's: the list cannot read it".into()
            }
            Encryption::Broken(why) => {
                format!("its encryption cannot be trusted ({why}); such posts are never decrypted")
            }
        }
    }
}

impl Signature {
    /// In the words the reasons of held and refused posts use.
    pub fn describe(&self) -> String {
        match self {
            Signature::None => "not signed by a member's key".into(),
            Signature::ByMember { email } => format!("signed by the key of the member {email}"),
            Signature::Invalid(why) => format!("its signature does not count ({why})"),
            Signature::NotTheSender { email, key, from } => {
                let from = if from.is_empty() { "no one" } else { from };
                format!(
                    "its signature does not count: it was made with the key of the member {email} ({key}), but From says {from}"
                )
            }
        }
    }
}

/// What the crypto settings make of a post, with the reason an owner reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoVerdict {
    Accept,
    Hold(String),
    Reject(String),
    Discard(String),
}

/// Applies post-encrypt, then post-sign. A post the encryption rules stop is
/// not looked at for its signature: it was not decrypted, so its signature
/// was not read.
pub fn judge(settings: &ListSettings, evidence: &Evidence) -> CryptoVerdict {
    use CryptoVerdict::*;
    use Requirement as R;

    let encryption = match (&evidence.encryption, settings.post_encrypt) {
        // Whatever the settings: a broken encryption is how EFAIL-like
        // attacks reach the members' plaintext, so it is never decrypted.
        (Encryption::Broken(why), _) => Some(Reject(format!(
            "its encryption cannot be trusted ({why}); such posts are never decrypted for the members"
        ))),
        (Encryption::ToList, R::No) => Some(Hold(
            "encrypted to the list's key, but the list does not decrypt posts, so it was not decrypted (post-encrypt no)"
                .into(),
        )),
        (Encryption::ToOtherKey, R::No) => Some(Hold(
            "encrypted to a key that is not the list's; it was not decrypted (post-encrypt no)".into(),
        )),
        (Encryption::ToOtherKey, R::Yes) => Some(Hold(
            "encrypted to a key that is not the list's: the list cannot read it; ask the poster to encrypt to the list's key (post-encrypt yes)"
                .into(),
        )),
        (Encryption::ToOtherKey, R::Force) => Some(Reject(
            "encrypted to a key that is not the list's, and the list takes only posts encrypted to its key (post-encrypt force)"
                .into(),
        )),
        (Encryption::None, R::Force) => Some(Reject(
            "not encrypted, and the list takes only posts encrypted to its key (post-encrypt force)".into(),
        )),
        (Encryption::None, R::No | R::Yes) | (Encryption::ToList, R::Yes | R::Force) => None,
    };
    if let Some(verdict) = encryption {
        return verdict;
    }

    let missing = match &evidence.signature {
        Signature::ByMember { .. } => return Accept,
        unsigned => unsigned.describe(),
    };
    match (settings.post_sign, &evidence.signature) {
        (R::No, _) => Accept,
        (R::Yes, Signature::NotTheSender { email, .. }) => Hold(format!(
            "{missing}; approve to send it as a post by {email}, the member who signed it"
        )),
        (R::Yes, _) => Hold(format!(
            "{missing}, and the list requires it (post-sign yes); approve to send it anyway"
        )),
        // Force means unsigned mail is noise (spam, forgeries): dropped
        // without filling the owners' queue.
        (R::Force, _) => Discard(format!(
            "{missing}, and the list requires it (post-sign force)"
        )),
    }
}

/// How one member's copy goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    Plain,
    EncryptTo,
    /// A content-free notice instead of the post: it reached the list
    /// encrypted and the member has no usable key.
    Notice,
}

/// Who gets which copy of a post, and who gets none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPlan {
    /// Whether the list signs the copies.
    pub sign: bool,
    pub to: Vec<(String, Wrap)>,
    /// Members who receive nothing because they have no valid key; shown
    /// to the owner.
    pub left_out: Vec<String>,
}

impl DeliveryPlan {
    /// The members who get the post itself.
    pub fn post_to(&self) -> Vec<String> {
        self.to
            .iter()
            .filter(|(_, w)| *w != Wrap::Notice)
            .map(|(m, _)| m.clone())
            .collect()
    }

    /// The members who get a notice instead.
    pub fn notice_to(&self) -> Vec<String> {
        self.to
            .iter()
            .filter(|(_, w)| *w == Wrap::Notice)
            .map(|(m, _)| m.clone())
            .collect()
    }
}

/// Applies distrib-encrypt and distrib-sign to the recipients of a post.
/// A post that arrived encrypted never leaves unencrypted, whatever the
/// settings: a member without a usable key gets a notice instead (and
/// under `force`, nothing). An unencrypted post reaches members without a
/// key unencrypted under `no` and `yes`; only `force` keeps it from them.
pub fn plan_delivery(
    settings: &ListSettings,
    recipients: &[String],
    arrived_encrypted: bool,
    has_valid_key: impl Fn(&str) -> bool,
) -> DeliveryPlan {
    let mut plan = DeliveryPlan {
        sign: settings.distrib_sign,
        to: Vec::new(),
        left_out: Vec::new(),
    };
    for member in recipients {
        let keyed = has_valid_key(member);
        let wrap = match (settings.distrib_encrypt, keyed, arrived_encrypted) {
            (Requirement::Force, false, _) => {
                plan.left_out.push(member.clone());
                continue;
            }
            (_, false, true) => Wrap::Notice,
            (Requirement::No, _, false) | (Requirement::Yes, false, false) => Wrap::Plain,
            (_, true, _) => Wrap::EncryptTo,
        };
        plan.to.push((member.clone(), wrap));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Accept,
        Hold,
        Reject,
        Discard,
    }

    fn kind_and_reason(v: &CryptoVerdict) -> (Kind, &str) {
        match v {
            CryptoVerdict::Accept => (Kind::Accept, ""),
            CryptoVerdict::Hold(r) => (Kind::Hold, r),
            CryptoVerdict::Reject(r) => (Kind::Reject, r),
            CryptoVerdict::Discard(r) => (Kind::Discard, r),
        }
    }

    const LEVELS: [Requirement; 3] = [Requirement::No, Requirement::Yes, Requirement::Force];

    fn settings(f: impl FnOnce(&mut ListSettings)) -> ListSettings {
        let mut s = ListSettings::defaults_for("L", crate::model::Protocol::Plain);
        f(&mut s);
        s
    }

    fn evidence(encryption: Encryption, signature: Signature) -> Evidence {
        Evidence {
            encryption,
            signature,
        }
    }

    fn signed() -> Signature {
        Signature::ByMember {
            email: "alice@example.org".into(),
        }
    }

    /// The table for post-encrypt, written out: what stops a post
    /// and what its reason must say. `None` lets it on to post-sign.
    fn encryption_rule(level: &str, enc: &str) -> Option<(Kind, &'static str)> {
        match (level, enc) {
            (_, "broken") => Some((Kind::Reject, "no integrity protection")),
            ("no", "none") => None,
            ("no", "to-list") => Some((Kind::Hold, "not decrypted (post-encrypt no)")),
            ("no", "to-other") => Some((Kind::Hold, "not decrypted (post-encrypt no)")),
            ("yes", "none") => None,
            ("yes", "to-list") => None,
            ("yes", "to-other") => Some((Kind::Hold, "not the list's")),
            ("force", "none") => Some((Kind::Reject, "post-encrypt force")),
            ("force", "to-list") => None,
            ("force", "to-other") => Some((Kind::Reject, "not the list's")),
            _ => unreachable!("{level} {enc}"),
        }
    }

    /// The same for post-sign.
    fn signature_rule(level: &str, sig: &str) -> Option<(Kind, &'static str)> {
        match (level, sig) {
            ("no", _) => None,
            (_, "member") => None,
            ("yes", "none") => Some((Kind::Hold, "not signed by a member's key")),
            ("yes", "invalid") => Some((Kind::Hold, "the key expired")),
            ("force", "none") => Some((Kind::Discard, "post-sign force")),
            ("force", "invalid") => Some((Kind::Discard, "the key expired")),
            _ => unreachable!("{level} {sig}"),
        }
    }

    #[test]
    fn every_combination_of_post_settings_and_evidence() {
        let encryptions = [
            ("none", Encryption::None),
            ("to-list", Encryption::ToList),
            ("to-other", Encryption::ToOtherKey),
            (
                "broken",
                Encryption::Broken("no integrity protection".into()),
            ),
        ];
        let signatures = [
            ("none", Signature::None),
            ("member", signed()),
            ("invalid", Signature::Invalid("the key expired".into())),
        ];
        let mut checked = 0;
        for pe in LEVELS {
            for ps in LEVELS {
                let s = settings(|s| {
                    s.post_encrypt = pe;
                    s.post_sign = ps;
                });
                for (enc_name, enc) in &encryptions {
                    for (sig_name, sig) in &signatures {
                        let expected = encryption_rule(pe.as_str(), enc_name)
                            .or_else(|| signature_rule(ps.as_str(), sig_name))
                            .unwrap_or((Kind::Accept, ""));
                        let verdict = judge(&s, &evidence(enc.clone(), sig.clone()));
                        let (kind, reason) = kind_and_reason(&verdict);
                        let case = format!(
                            "post-encrypt {pe}, post-sign {ps}, {enc_name}, {sig_name}: {verdict:?}"
                        );
                        assert_eq!(kind, expected.0, "{case}");
                        assert!(
                            reason.contains(expected.1),
                            "{case} should say {:?}",
                            expected.1
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 4 * 3);
    }

    #[test]
    fn a_signed_post_to_the_list_key_passes_the_defaults() {
        let v = judge(
            &ListSettings::defaults_for("L", crate::model::Protocol::Plain),
            &evidence(Encryption::ToList, signed()),
        );
        assert_eq!(v, CryptoVerdict::Accept);
    }

    #[test]
    fn plain_posts_pass_unless_encryption_is_forced() {
        let plain = evidence(Encryption::None, signed());
        assert_eq!(judge(&settings(|_| {}), &plain), CryptoVerdict::Accept);
        let forced = settings(|s| s.post_encrypt = Requirement::Force);
        assert!(matches!(judge(&forced, &plain), CryptoVerdict::Reject(_)));
    }

    #[test]
    fn broken_encryption_is_rejected_even_when_the_list_asks_for_nothing() {
        let lax = settings(|s| {
            s.post_encrypt = Requirement::No;
            s.post_sign = Requirement::No;
        });
        let v = judge(
            &lax,
            &evidence(
                Encryption::Broken("no integrity protection (MDC)".into()),
                signed(),
            ),
        );
        assert_eq!(
            v,
            CryptoVerdict::Reject(
                "its encryption cannot be trusted (no integrity protection (MDC)); such posts are never decrypted for the members"
                    .into()
            )
        );
    }

    #[test]
    fn a_post_for_another_key_is_held_with_that_reason() {
        let v = judge(
            &settings(|_| {}),
            &evidence(Encryption::ToOtherKey, Signature::None),
        );
        let CryptoVerdict::Hold(reason) = v else {
            panic!("{v:?}")
        };
        assert!(
            reason.starts_with("encrypted to a key that is not the list's: "),
            "{reason}"
        );
    }

    #[test]
    fn an_insiders_signature_for_someone_else_does_not_count() {
        let forged = evidence(
            Encryption::ToList,
            Signature::NotTheSender {
                email: "bob@example.org".into(),
                key: "OpenPGP key B0B0".into(),
                from: "alice@example.org".into(),
            },
        );
        let CryptoVerdict::Hold(r) = judge(&settings(|_| {}), &forged) else {
            panic!()
        };
        assert!(
            r.contains("bob@example.org")
                && r.contains("B0B0")
                && r.contains("From says alice@example.org"),
            "{r}"
        );
        assert!(
            r.contains("approve to send it as a post by bob@example.org"),
            "{r}"
        );
        let v = judge(&settings(|s| s.post_sign = Requirement::Force), &forged);
        assert!(matches!(v, CryptoVerdict::Discard(_)), "{v:?}");
        assert_eq!(
            judge(&settings(|s| s.post_sign = Requirement::No), &forged),
            CryptoVerdict::Accept
        );
    }

    #[test]
    fn unsigned_posts_are_held_or_discarded_per_post_sign() {
        let unsigned = evidence(Encryption::ToList, Signature::None);
        let v = judge(&settings(|s| s.post_sign = Requirement::Force), &unsigned);
        assert_eq!(
            v,
            CryptoVerdict::Discard(
                "not signed by a member's key, and the list requires it (post-sign force)".into()
            )
        );
        let forged = evidence(
            Encryption::ToList,
            Signature::Invalid("signed by a key that is not a member's".into()),
        );
        let v = judge(&settings(|_| {}), &forged);
        let CryptoVerdict::Hold(reason) = v else {
            panic!("{v:?}")
        };
        assert!(
            reason.contains("not a member's") && reason.contains("post-sign yes"),
            "{reason}"
        );
    }

    #[test]
    fn encryption_rules_come_before_signature_rules() {
        // Unsigned and for another key under force/force: the encryption
        // reason wins, so the owner learns why it could not even be read.
        let s = settings(|s| {
            s.post_encrypt = Requirement::Force;
            s.post_sign = Requirement::Force;
        });
        let v = judge(&s, &evidence(Encryption::ToOtherKey, Signature::None));
        assert!(
            matches!(&v, CryptoVerdict::Reject(r) if r.contains("post-encrypt force")),
            "{v:?}"
        );
    }

    const ALICE: &str = "alice@example.org"; // has a key
    const BOB: &str = "bob@example.org"; // has none

    fn plan(de: Requirement, ds: bool, arrived_encrypted: bool) -> DeliveryPlan {
        let s = settings(|s| {
            s.distrib_encrypt = de;
            s.distrib_sign = ds;
        });
        plan_delivery(
            &s,
            &[ALICE.to_string(), BOB.to_string()],
            arrived_encrypted,
            |m| m == ALICE,
        )
    }

    #[test]
    fn every_combination_of_delivery_settings() {
        // (distrib-encrypt, arrived encrypted) → (Alice's copy, Bob's
        // copy); None means left out.
        let table = [
            ("no", false, Some(Wrap::Plain), Some(Wrap::Plain)),
            ("yes", false, Some(Wrap::EncryptTo), Some(Wrap::Plain)),
            ("force", false, Some(Wrap::EncryptTo), None),
            // What arrived encrypted never leaves in the clear.
            ("no", true, Some(Wrap::EncryptTo), Some(Wrap::Notice)),
            ("yes", true, Some(Wrap::EncryptTo), Some(Wrap::Notice)),
            ("force", true, Some(Wrap::EncryptTo), None),
        ];
        let mut checked = 0;
        for (de, encrypted, alice, bob) in table {
            for ds in [true, false] {
                let p = plan(de.parse().unwrap(), ds, encrypted);
                let case = format!(
                    "distrib-encrypt {de}, arrived encrypted {encrypted}, distrib-sign {ds}: {p:?}"
                );
                assert_eq!(p.sign, ds, "{case}");
                let mut to = Vec::new();
                let mut left_out = Vec::new();
                for (who, wrap) in [(ALICE, alice), (BOB, bob)] {
                    match wrap {
                        Some(w) => to.push((who.to_string(), w)),
                        None => left_out.push(who.to_string()),
                    }
                }
                assert_eq!(p.to, to, "{case}");
                assert_eq!(p.left_out, left_out, "{case}");
                assert!(
                    !(encrypted && p.to.iter().any(|(_, w)| *w == Wrap::Plain)),
                    "{case}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * 2);
        let p = plan(Requirement::Yes, true, true);
        assert_eq!(
            (p.post_to(), p.notice_to()),
            (vec![ALICE.to_string()], vec![BOB.to_string()])
        );
    }

    #[test]
    fn forced_encryption_leaves_out_members_without_a_key() {
        let p = plan(Requirement::Force, true, false);
        assert_eq!(p.to, vec![(ALICE.to_string(), Wrap::EncryptTo)]);
        assert_eq!(p.left_out, vec![BOB.to_string()]);
    }
}
