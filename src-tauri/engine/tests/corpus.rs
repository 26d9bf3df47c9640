//! The corpus of members' mail (`test-data/messages/`, made by
//! `test-data/make-messages.sh` with Thunderbird's OpenPGP library, neomutt,
//! gpg, gpgsm and openssl, in the shapes those clients and Outlook, Apple
//! Mail and Exchange write): every message is read as the agent reads it,
//! with the fixed test keys (`test-data/keys/`) at a fixed time, and gives
//! what `test-data/messages/expect.json` says. Both unwraps read every
//! message: the other protocol's reader sees nothing encrypted for the list
//! and no member's signature in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use conclave_engine::crypto::openpgp::{self, MemberKey};
use conclave_engine::crypto::smime::{self, MemberCert};
use conclave_engine::crypto::{Encrypted, Signed, Unwrapped};
use conclave_engine::policy::Post;
use openssl::x509::X509;

const LIST: &str = "list@example.org";
const MEMBERS: [&str; 2] = ["alice@example.org", "bob@example.org"];
/// What a post may decrypt to (a list's max-size).
const MAX_SIZE: usize = 1 << 20;

/// 2030-01-01T00:00:00Z: the keys were made in 2026 without expiry, the
/// certificates for a hundred years.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_893_456_000)
}

fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data")
}

fn key_file(name: &str) -> Vec<u8> {
    let path = test_data().join("keys").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Keys {
    openpgp_list: openpgp::ListKey,
    openpgp_members: Vec<(String, MemberKey)>,
    smime_list: smime::ListKey,
    smime_members: Vec<(String, MemberCert)>,
}

fn keys() -> Keys {
    let openpgp_list =
        openpgp::ListKey::import(&key_file("list-openpgp-secret.asc"), None, LIST, now())
            .expect("the list's OpenPGP key");
    let smime_list = smime::ListKey::import(&key_file("list-smime.pem"), None, LIST, now())
        .expect("the list's S/MIME key and certificate");
    let authority = X509::from_pem(&key_file("ca.pem")).expect("the test authority");
    let openpgp_members = MEMBERS
        .iter()
        .map(|email| {
            let name = email.split('@').next().unwrap();
            let key = MemberKey::check(&key_file(&format!("{name}-openpgp.asc")), email, now())
                .unwrap_or_else(|e| panic!("{email}'s OpenPGP key: {e:?}"));
            (email.to_string(), key)
        })
        .collect();
    let smime_members = MEMBERS
        .iter()
        .map(|email| {
            let name = email.split('@').next().unwrap();
            let pem = key_file(&format!("{name}-smime.pem"));
            let cert =
                MemberCert::check(&pem, email, std::slice::from_ref(&authority), false, now())
                    .unwrap_or_else(|e| panic!("{email}'s certificate: {e}"));
            (email.to_string(), cert)
        })
        .collect();
    Keys {
        openpgp_list,
        openpgp_members,
        smime_list,
        smime_members,
    }
}

/// One message's expected reading (an entry of expect.json).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Which tool made it (for the reader; not checked).
    #[allow(dead_code)]
    tool: String,
    /// "openpgp", "smime" or "plain".
    protocol: String,
    /// The post's signing poster (its single From).
    from: String,
    /// "for-list", "not-for-list", "broken" or "none".
    encrypted: String,
    /// "by-member", "not-the-sender", "non-member", "invalid" or "none".
    signed: String,
    /// The member who signed (by-member, not-the-sender).
    signer: Option<String>,
    /// Words of the reason given (broken, invalid, non-member).
    reason: Option<String>,
    /// Text the content handed on holds.
    contains: Option<String>,
    /// Text it must not hold.
    lacks: Option<String>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[allow(dead_code)]
    about: String,
    messages: BTreeMap<String, Expect>,
}

fn manifest() -> Manifest {
    let path = test_data().join("messages/expect.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn messages() -> Vec<(String, Vec<u8>)> {
    let dir = test_data().join("messages");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The text a content holds, transfer encodings undone: every text part
/// and the raw entity.
fn text_of(content: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(content).into_owned();
    if let Some(m) = mail_parser::MessageParser::default().parse(content) {
        for part in m.parts.iter() {
            if let Some(t) = part.text_contents() {
                text.push('\n');
                text.push_str(t);
            }
        }
    }
    text
}

fn reason_of(u: &Unwrapped) -> String {
    let mut r = String::new();
    if let Encrypted::Broken(why) = &u.encrypted {
        r.push_str(why);
    }
    if let Signed::Invalid(why) = &u.signed {
        r.push(' ');
        r.push_str(why);
    }
    r
}

/// Rules every reading keeps (as the fuzz targets check them): content
/// only from a post that was decrypted or signed by a member's key, a
/// replay digest only with a counting signature.
fn check_rules(name: &str, u: &Unwrapped) {
    if u.signature_digest.is_some() {
        assert!(
            matches!(u.signed, Signed::ByMember { .. }),
            "{name}: a replay digest without a member's signature"
        );
    }
    if matches!(u.encrypted, Encrypted::Broken(_) | Encrypted::NotForList) {
        assert!(
            u.content.is_none(),
            "{name}: content from a post not decrypted"
        );
    }
}

/// How the reading compares with what expect.json says; `None` when it
/// matches.
fn mismatch(e: &Expect, u: &Unwrapped) -> Option<String> {
    let mut wrong = Vec::new();
    let encrypted = match &u.encrypted {
        Encrypted::No => "none",
        Encrypted::ForList => "for-list",
        Encrypted::NotForList => "not-for-list",
        Encrypted::Broken(_) => "broken",
    };
    if encrypted != e.encrypted {
        wrong.push(format!("encrypted: {encrypted}, expected {}", e.encrypted));
    }
    let (signed, signer) = match &u.signed {
        Signed::No => ("none", None),
        Signed::ByMember { email, .. } => ("by-member", Some(email.as_str())),
        Signed::NotTheSender { email, .. } => ("not-the-sender", Some(email.as_str())),
        Signed::Invalid(why) if why.contains("no member") => ("non-member", None),
        Signed::Invalid(_) => ("invalid", None),
    };
    if signed != e.signed || signer != e.signer.as_deref() {
        wrong.push(format!(
            "signed: {signed} {signer:?}, expected {} {:?}",
            e.signed, e.signer
        ));
    }
    if let Some(reason) = &e.reason
        && !reason_of(u).contains(reason.as_str())
    {
        wrong.push(format!(
            "the reason does not say {reason:?}: {:?}",
            reason_of(u)
        ));
    }
    let text = u.content.as_deref().map(text_of);
    if let Some(want) = &e.contains {
        match &text {
            Some(t) if t.contains(want.as_str()) => {}
            Some(_) => wrong.push(format!("the content lacks {want:?}")),
            None => wrong.push(format!("no content, expected one holding {want:?}")),
        }
    }
    if let (Some(unwanted), Some(t)) = (&e.lacks, &text)
        && t.contains(unwanted.as_str())
    {
        wrong.push(format!("the content holds {unwanted:?}"));
    }
    (!wrong.is_empty()).then(|| format!("{} ({u:?})", wrong.join("; ")))
}

#[test]
fn every_message_in_the_folder_is_in_the_manifest_and_back() {
    let listed = manifest().messages;
    let found: Vec<String> = messages().into_iter().map(|(n, _)| n).collect();
    let unlisted: Vec<&String> = found.iter().filter(|n| !listed.contains_key(*n)).collect();
    assert!(unlisted.is_empty(), "not in expect.json: {unlisted:?}");
    let missing: Vec<&String> = listed.keys().filter(|n| !found.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "in expect.json but not in the folder: {missing:?}"
    );
    assert!(found.len() >= 30, "only {} messages", found.len());
}

#[test]
fn every_message_reads_as_the_manifest_says() {
    let keys = keys();
    let listed = manifest().messages;
    let mut failures = Vec::new();
    for (name, raw) in messages() {
        let Some(e) = listed.get(&name) else { continue };
        let post = Post::read(&raw).unwrap_or_else(|err| panic!("{name}: {err}"));
        let from = post.signing_poster().map(str::to_string);
        if from.as_deref() != Some(e.from.as_str()) {
            failures.push(format!("{name}: poster {from:?}, expected {}", e.from));
        }
        // The agent hands a post to the S/MIME reader when it is S/MIME
        // at its root, to the OpenPGP reader otherwise.
        if smime::is_smime(&raw) != (e.protocol == "smime") {
            failures.push(format!("{name}: is_smime says {}", smime::is_smime(&raw)));
        }
        let by_openpgp = openpgp::unwrap(
            &raw,
            &keys.openpgp_list,
            &keys.openpgp_members,
            from.as_deref(),
            MAX_SIZE,
            now(),
        );
        let by_smime = smime::unwrap(
            &raw,
            Some(&keys.smime_list),
            &keys.smime_members,
            from.as_deref(),
            MAX_SIZE,
            now(),
        );
        check_rules(&name, &by_openpgp);
        check_rules(&name, &by_smime);
        let (reader, other) = match e.protocol.as_str() {
            "openpgp" => (vec![("OpenPGP", &by_openpgp)], Some(("S/MIME", &by_smime))),
            "smime" => (vec![("S/MIME", &by_smime)], Some(("OpenPGP", &by_openpgp))),
            "plain" => (vec![("OpenPGP", &by_openpgp), ("S/MIME", &by_smime)], None),
            p => panic!("{name}: protocol {p:?} is not openpgp, smime or plain"),
        };
        for (which, u) in reader {
            if let Some(why) = mismatch(e, u) {
                failures.push(format!("{name} by the {which} reader: {why}"));
            }
        }
        // The other protocol's reader finds nothing of its own in it.
        if let Some((which, u)) = other
            && (u.encrypted != Encrypted::No || u.signed != Signed::No || u.content.is_some())
        {
            failures.push(format!("{name} by the {which} reader: {u:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
