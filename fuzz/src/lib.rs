//! What each fuzz target does with its input, as plain functions: the
//! targets in `fuzz_targets/` only hand libFuzzer's bytes to them, and
//! `tests/corpus.rs` runs every committed seed through them with `cargo
//! test` (no fuzzer needed).
//!
//! The keys and certificates are the fixtures in `fixtures/` (made by
//! `make-seeds.sh`, which made the seeds with them too), read once per
//! process. Time stands still at [`now`], inside every fixture's validity,
//! so that a run does not depend on the day it is made.
//!
//! Besides "no panic, no hang, no runaway memory", the targets assert a few
//! rules that must hold for any input; each says which.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use conclave_engine::crypto::openpgp::{ListKey, MemberKey};
use conclave_engine::crypto::smime::{self, MemberCert};
use conclave_engine::crypto::{Encrypted, Signed, Unwrapped};
use conclave_engine::member_keys::{self, KeyAction};
use conclave_engine::model::{
    List, ListSettings, Member, NonMemberPosts, Protocol, Requirement, Role,
};
use conclave_engine::policy::{
    self, Decision, DiscardReason, Encryption, Evidence, HoldReason, Post, Signature, Wrap,
};
use conclave_engine::store::Store;
use openssl::x509::X509;

/// 2030-01-01T00:00:00Z: the fixtures were made in 2026, the OpenPGP keys
/// without expiry and the certificates for a hundred years.
pub const NOW_UNIX: u64 = 1_893_456_000;
/// The targets' present: [`NOW_UNIX`].
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_UNIX)
}

pub const LIST: &str = "list@example.org";
pub const ALICE: &str = "alice@example.org";
pub const BOB: &str = "bob@example.org";

/// What a post may decrypt to in the unwrap targets (a list's max-size):
/// smaller than a list's default, so that a compression bomb stops early.
const MAX_SIZE: usize = 1024 * 1024;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $name)).as_slice()
    };
}

// ---- Fixtures ---------------------------------------------------------------

/// The list's OpenPGP key (Ed25519 + Cv25519, secret) and its members'
/// keys: alice (Ed25519 + Cv25519) and bob (RSA 3072). Carol, who signs
/// some seeds, is no member.
pub struct OpenPgp {
    pub list: ListKey,
    pub members: Vec<(String, MemberKey)>,
}

pub fn openpgp() -> &'static OpenPgp {
    static KEYS: OnceLock<OpenPgp> = OnceLock::new();
    KEYS.get_or_init(|| {
        let list = ListKey::import(fixture!("list-openpgp-secret.asc"), None, LIST, now())
            .expect("the list's fixture key is usable");
        let member = |email: &str, bytes: &[u8]| {
            let key = MemberKey::check(bytes, email, now()).expect("the fixture key is a member's");
            (email.to_string(), key)
        };
        OpenPgp {
            list,
            members: vec![
                member(ALICE, fixture!("alice-openpgp.asc")),
                member(BOB, fixture!("bob-openpgp.asc")),
            ],
        }
    })
}

/// The list's S/MIME identity (P-256, self-signed) and its members'
/// certificates, issued by the fixture authority: alice (P-256) and bob
/// (RSA 2048, which gpgsm can use).
pub struct Smime {
    pub list: smime::ListKey,
    pub authority: X509,
    pub members: Vec<(String, MemberCert)>,
}

pub fn smime() -> &'static Smime {
    static KEYS: OnceLock<Smime> = OnceLock::new();
    KEYS.get_or_init(|| {
        let list = smime::ListKey::import(fixture!("list-smime.pem"), None, LIST, now())
            .expect("the list's fixture identity is usable");
        let authority = X509::from_pem(fixture!("ca.pem")).expect("the fixture authority");
        let anchors = [authority.clone()];
        let member = |email: &str, bytes: &[u8]| {
            let cert = MemberCert::check(bytes, email, &anchors, false, now())
                .expect("the fixture certificate is a member's");
            (email.to_string(), cert)
        };
        Smime {
            list,
            authority,
            members: vec![
                member(ALICE, fixture!("alice-smime.pem")),
                member(BOB, fixture!("bob-smime.pem")),
            ],
        }
    })
}

// ---- Panics ------------------------------------------------------------------

/// libFuzzer's panic hook aborts at any panic, even one the engine catches
/// (it turns a panic of the OpenPGP library into a refused post, as a
/// caught panic in the agent quarantines one). This hook lets a caught
/// panic be, naming each place once in the log ("conclave-fuzz: caught?", with a
/// backtrace):
/// a panic the engine does not catch still ends the run as a crash, when it
/// reaches libfuzzer-sys, which aborts.
fn as_the_engine_handles_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // (The hook in place is libfuzzer-sys's, which aborts: not kept.)
        let seen: Mutex<std::collections::HashSet<String>> = Mutex::default();
        std::panic::set_hook(Box::new(move |info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.insert(place.clone()) {
                eprintln!(
                    "conclave-fuzz: caught? a panic at {place}: {info}\n{}",
                    std::backtrace::Backtrace::force_capture()
                );
            }
        }));
    });
}

// ---- post_read --------------------------------------------------------------

/// The agent's first reading of a message from the mailbox, and the owner's
/// held-post screen's reading of the same bytes.
pub fn post_read(raw: &[u8]) {
    as_the_engine_handles_panics();
    if let Ok(post) = Post::read(raw) {
        // The poster is one of the From addresses, and signing_poster is
        // the poster or nobody.
        if let Some(p) = post.poster() {
            assert!(post.from.iter().any(|m| m.address == p));
        }
        if let Some(s) = post.signing_poster() {
            assert_eq!(Some(s), post.poster());
        }
        let _ = post.sender_text();
        assert_eq!(post.size, raw.len() as u64);
    }
    let _ = smime::is_smime(raw);
    let _ = conclave_engine::owner::post_view::PostView::of(raw, None, None);
}

// ---- Unwrapping -------------------------------------------------------------

/// Rules every unwrap result keeps, whatever came in: content is only
/// handed on for a post that was decrypted or carries a signature made by
/// a member's key; the replay digest only with a counting signature.
fn check_unwrapped(u: &Unwrapped) {
    if u.signature_digest.is_some() {
        assert!(
            matches!(u.signed, Signed::ByMember { .. }),
            "a replay digest without a member's signature: {u:?}"
        );
    }
    if let Encrypted::Broken(_) | Encrypted::NotForList = u.encrypted {
        assert!(
            u.content.is_none(),
            "content from a post that was not decrypted: {:?}",
            u.encrypted
        );
    }
    if let Signed::ByMember { email, .. } | Signed::NotTheSender { email, .. } = &u.signed {
        assert!(
            [ALICE, BOB].contains(&email.as_str()),
            "signed by {email}, who is no member"
        );
    }
}

/// Which From the post claims, as the agent passes it: the input's single
/// From address when it has one (so the fuzzer can make it alice's), like
/// `Post::signing_poster`.
fn claimed_from(raw: &[u8]) -> Option<String> {
    Post::read(raw)
        .ok()
        .and_then(|p| p.signing_poster().map(str::to_string))
}

/// The OpenPGP reader with the fixture list key and members.
pub fn openpgp_unwrap(raw: &[u8]) {
    as_the_engine_handles_panics();
    let keys = openpgp();
    let from = claimed_from(raw);
    let u = conclave_engine::crypto::openpgp::unwrap(
        raw,
        &keys.list,
        &keys.members,
        from.as_deref(),
        MAX_SIZE,
        now(),
    );
    check_unwrapped(&u);
    if let Signed::ByMember { email, .. } = &u.signed {
        assert!(
            from.as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(email)),
            "a signature counted for {email}, but From is {from:?}"
        );
    }
    if let Some(content) = &u.content {
        // At most max-size decrypted, or the post's own bytes, with CRLF
        // line ends (each LF may become two bytes) and a header.
        assert!(
            content.len() <= 2 * MAX_SIZE.max(raw.len()) + 1024,
            "{} bytes of content from {} bytes of post",
            content.len(),
            raw.len()
        );
        let _ = conclave_engine::post::deliver::render::protected_subject(content);
    }
}

/// The S/MIME reader with the fixture list identity and members.
pub fn smime_unwrap(raw: &[u8]) {
    as_the_engine_handles_panics();
    let keys = smime();
    let from = claimed_from(raw);
    let u = smime::unwrap(
        raw,
        Some(&keys.list),
        &keys.members,
        from.as_deref(),
        MAX_SIZE,
        now(),
    );
    check_unwrapped(&u);
    if let Signed::ByMember { email, .. } = &u.signed {
        assert!(
            from.as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(email)),
            "a signature counted for {email}, but From is {from:?}"
        );
    }
    // A list without an S/MIME key reads signatures only.
    let without = smime::unwrap(raw, None, &keys.members, from.as_deref(), MAX_SIZE, now());
    check_unwrapped(&without);
    assert!(
        without.encrypted != Encrypted::ForList,
        "decrypted without a list key"
    );
    if let Some(content) = &u.content {
        let _ = conclave_engine::post::deliver::render::protected_subject(content);
    }
}

// ---- member_keys ------------------------------------------------------------

/// A store with one OpenPGP list that trusts the fixture authority and has
/// alice as a member with her OpenPGP key, so that a review can find a new
/// member, a member without a key of that protocol, the same key and a
/// replacement. Only read by the target.
struct KeyStore {
    _dir: tempfile::TempDir,
    store: Store,
    list: List,
}

fn key_store() -> &'static Mutex<KeyStore> {
    static STORE: OnceLock<Mutex<KeyStore>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        conclave_engine::secrets::keep_database_keys_in_memory();
        let store = Store::open(dir.path()).expect("a store");
        let list = store
            .create_list(LIST, "Fuzz", Protocol::Openpgp)
            .expect("a list");
        member_keys::trust_authorities(&store, &list, fixture!("ca.pem"), now())
            .expect("the fixture authority is trusted");
        store
            .add_member(&list, ALICE, "Alice", Role::Member)
            .expect("alice");
        let (protocol, key) = member_keys::check(
            &store,
            &list,
            fixture!("alice-openpgp.asc"),
            ALICE,
            false,
            now(),
        )
        .expect("alice's key");
        store
            .set_member_key(&list, ALICE, protocol, &key, false)
            .expect("alice's key is stored");
        Mutex::new(KeyStore {
            _dir: dir,
            store,
            list,
        })
    })
}

/// How the key-import target splits its input into several files for a
/// review (an owner may give many at once).
pub const FILE_SEPARATOR: &[u8] = b"\n%%next-file%%\n";

fn split_files(data: &[u8]) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut rest = data;
    while let Some(at) = rest
        .windows(FILE_SEPARATOR.len())
        .position(|w| w == FILE_SEPARATOR)
    {
        files.push(rest[..at].to_vec());
        rest = &rest[at + FILE_SEPARATOR.len()..];
    }
    files.push(rest.to_vec());
    files
}

/// A key or certificate file as an owner gives it: `member_keys::check`
/// (`member add --key`, `member key`) for alice, unpinned and pinned, and
/// `member_keys::review` (the window's import and `member import`) of the
/// input split into files, for alice and for whoever the keys name.
///
/// Rule: whatever a review offers to save, the check that saving runs
/// again (`member_keys::import`) takes.
pub fn member_keys(data: &[u8]) {
    as_the_engine_handles_panics();
    let guard = key_store().lock().unwrap_or_else(|e| e.into_inner());
    let KeyStore { store, list, .. } = &*guard;
    for pin in [false, true] {
        if let Ok((protocol, stored)) = member_keys::check(store, list, data, ALICE, pin, now()) {
            // What is stored reads back as what it was.
            match protocol {
                Protocol::Smime => {
                    let cert = MemberCert::from_stored(&stored.cert).expect("a stored certificate");
                    assert_eq!(cert.fingerprint(), stored.fingerprint);
                }
                _ => {
                    let key = MemberKey::from_stored(&stored.cert).expect("a stored key");
                    assert_eq!(key.fingerprint(), stored.fingerprint);
                }
            }
        }
    }
    let files = split_files(data);
    // For alice (a key for one member) or for whoever each key names (a
    // file of many members): one review per input, told by its length.
    let email = data.len().is_multiple_of(2).then_some(ALICE);
    if let Ok(candidates) = member_keys::review(store, list, email, &files, now()) {
        for c in candidates {
            assert_eq!(
                c.refusal.is_some(),
                c.action == KeyAction::Refused,
                "a refusal goes with Refused: {c:?}"
            );
            if c.action == KeyAction::Refused {
                continue;
            }
            let email = c.email.as_deref().expect("a key to save has an address");
            let pin = c.needs_pin && c.protocol == Protocol::Smime;
            let again = member_keys::check(store, list, &c.cert, email, pin, now());
            assert!(
                again.is_ok(),
                "the review offered {} for {email}, but the check refuses it: {:?}",
                c.key.fingerprint,
                again.err()
            );
        }
    }
}

// ---- decide -----------------------------------------------------------------

/// The parts of a decision that are not the post: the list's settings, who
/// its members are, and what the crypto layer found. Read from the first
/// [`SCENARIO_BYTES`] bytes of the input; the rest is the post.
#[derive(Debug, Arbitrary)]
pub struct Scenario {
    post_encrypt: Req,
    post_sign: Req,
    distrib_encrypt: Req,
    distrib_sign: bool,
    non_member_reject: bool,
    max_size: MaxSize,
    /// Whether the post's poster is a member, and whether alice and bob are.
    poster_member: bool,
    alice: bool,
    bob: bool,
    own_posts: u8,
    /// The list's address: the usual one, or the one the post names in To.
    list_from_post: bool,
    encryption: Enc,
    signature: Sig,
    /// Another sender's post with the same Message-ID went out before.
    reused_message_id: bool,
    /// Which recipients have a usable key.
    keyed: u8,
}

pub const SCENARIO_BYTES: usize = 32;

#[derive(Debug, Arbitrary, Clone, Copy)]
enum Req {
    No,
    Yes,
    Force,
}

#[derive(Debug, Arbitrary, Clone, Copy)]
enum MaxSize {
    Default,
    Tiny,
    JustUnder,
    Exactly,
}

#[derive(Debug, Arbitrary, Clone, Copy)]
enum Enc {
    None,
    ToList,
    ToOtherKey,
    Broken,
}

#[derive(Debug, Arbitrary, Clone, Copy)]
enum Sig {
    None,
    ByPoster,
    ByAlice,
    Invalid,
    NotTheSender,
}

impl From<Req> for Requirement {
    fn from(r: Req) -> Requirement {
        match r {
            Req::No => Requirement::No,
            Req::Yes => Requirement::Yes,
            Req::Force => Requirement::Force,
        }
    }
}

/// `decide` and `decide_protected` over a post read from the input, then
/// what the agent does with a decision (a reused Message-ID, the delivery
/// plan), checking the rules README promises.
pub fn decide(data: &[u8]) {
    as_the_engine_handles_panics();
    let (head, raw) = data.split_at(data.len().min(SCENARIO_BYTES));
    let Ok(s) = Scenario::arbitrary(&mut Unstructured::new(head)) else {
        return;
    };
    let Ok(post) = Post::read(raw) else {
        return;
    };
    let poster = post.poster().map(str::to_string);

    let mut settings = ListSettings::defaults_for("Fuzz", Protocol::Openpgp);
    settings.post_encrypt = s.post_encrypt.into();
    settings.post_sign = s.post_sign.into();
    settings.distrib_encrypt = s.distrib_encrypt.into();
    settings.distrib_sign = s.distrib_sign;
    settings.non_member_posts = if s.non_member_reject {
        NonMemberPosts::Reject
    } else {
        NonMemberPosts::Hold
    };
    settings.max_size = match s.max_size {
        MaxSize::Default => settings.max_size,
        MaxSize::Tiny => 1,
        MaxSize::JustUnder => post.size.saturating_sub(1).max(1),
        MaxSize::Exactly => post.size.max(1),
    };
    let address = match (s.list_from_post, raw_to(raw)) {
        (true, Some(to)) => to,
        _ => LIST.to_string(),
    };
    let list = List {
        id: 1,
        address,
        name: "Fuzz".into(),
        protocol: Protocol::Openpgp,
        paused: false,
        settings,
    };

    let mut emails: Vec<String> = Vec::new();
    if s.alice {
        emails.push(ALICE.into());
    }
    if s.bob {
        emails.push(BOB.into());
    }
    if s.poster_member
        && let Some(p) = &poster
        && !emails.iter().any(|e| e.eq_ignore_ascii_case(p))
    {
        emails.push(p.clone());
    }
    let members: Vec<Member> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| Member {
            email: e.clone(),
            name: String::new(),
            role: Role::Member,
            own_posts: s.own_posts & (1 << i) == 0,
        })
        .collect();

    let evidence = Evidence {
        encryption: match s.encryption {
            Enc::None => Encryption::None,
            Enc::ToList => Encryption::ToList,
            Enc::ToOtherKey => Encryption::ToOtherKey,
            Enc::Broken => Encryption::Broken("fuzzed".into()),
        },
        signature: match s.signature {
            Sig::None => Signature::None,
            Sig::ByPoster => match &poster {
                Some(p) => Signature::ByMember { email: p.clone() },
                None => Signature::None,
            },
            Sig::ByAlice => Signature::ByMember {
                email: ALICE.into(),
            },
            Sig::Invalid => Signature::Invalid("fuzzed".into()),
            Sig::NotTheSender => Signature::NotTheSender {
                email: ALICE.into(),
                key: "OpenPGP key 0000".into(),
                from: post.sender_text(),
            },
        },
    };

    let is_member = |a: &str| members.iter().any(|m| m.email.eq_ignore_ascii_case(a));
    let plain = policy::decide(&post, &list, &members);
    let protected = policy::decide_protected(&post, &list, &members, &evidence);

    for d in [&plain, &protected] {
        // A loop never goes out again; neither does automated mail, nor a
        // post over max-size, nor one without a single member as its poster.
        if let Decision::Distribute { recipients } = d {
            assert!(post.size <= list.settings.max_size, "{d:?} over max-size");
            let p = post.poster().expect("a distributed post has a poster");
            assert!(is_member(p), "distributed a non-member's post: {p}");
            assert!(
                recipients.iter().all(|r| is_member(r)),
                "a recipient who is no member: {recipients:?}"
            );
            assert!(!post.null_return_path && post.content_type != "multipart/report");
            assert!(
                !post.x_loops.iter().any(|x| x
                    .trim_matches(['<', '>', ' '])
                    .eq_ignore_ascii_case(&list.address)),
                "a post carrying the list's X-Loop went out"
            );
        }
        if let Decision::Command(c) = d {
            let p = post.poster().expect("a command has a poster");
            // Only key, subscribe and an invitation's answer come from
            // anyone: a newcomer sends them before they are a member.
            assert!(
                is_member(p) || c.open_to_anyone(),
                "answered a non-member's command"
            );
        }
        if let Decision::Hold(reason @ HoldReason::Automated { .. }) = d {
            assert!(!reason.approvable());
        }
        let _ = match d {
            Decision::Hold(r) => r.to_string(),
            Decision::Reject(r) => r.to_string(),
            Decision::Discard(r) => r.to_string(),
            _ => String::new(),
        };
    }
    if let Decision::Discard(DiscardReason::Loop) = plain {
        assert_eq!(protected, plain, "a loop is a loop whatever the crypto");
    }
    if let Decision::Distribute { .. } = protected {
        // What the crypto settings promise.
        assert!(
            !matches!(evidence.encryption, Encryption::Broken(_)),
            "a post with broken encryption went out"
        );
        if list.settings.post_sign == Requirement::Force {
            assert!(matches!(evidence.signature, Signature::ByMember { .. }));
        }
        if list.settings.post_encrypt == Requirement::Force {
            assert_eq!(evidence.encryption, Encryption::ToList);
        }
        if list.settings.post_encrypt == Requirement::No {
            assert!(matches!(evidence.encryption, Encryption::None));
        }
        assert_eq!(
            plain, protected,
            "the crypto settings let through only what the rules would"
        );
    }

    let earlier = s
        .reused_message_id
        .then(|| (7, "someone@example.net".to_string()));
    let decision = policy::hold_reused_message_id(protected.clone(), earlier.clone());
    if earlier.is_some() {
        assert!(!matches!(decision, Decision::Distribute { .. }));
    }
    if let Decision::Distribute { recipients } = decision {
        let arrived_encrypted = evidence.encryption == Encryption::ToList;
        let keyed = |m: &str| {
            recipients
                .iter()
                .position(|r| r == m)
                .is_some_and(|i| s.keyed & (1 << (i % 8)) != 0)
        };
        let plan = policy::plan_delivery(&list.settings, &recipients, arrived_encrypted, keyed);
        // Every recipient once: in the plan or left out.
        assert_eq!(plan.to.len() + plan.left_out.len(), recipients.len());
        for (m, wrap) in &plan.to {
            // A post that reached the list encrypted never leaves
            // unencrypted, and nothing goes in clear under force.
            if arrived_encrypted || list.settings.distrib_encrypt == Requirement::Force {
                assert_ne!(*wrap, Wrap::Plain, "{m} gets it in clear");
            }
            if *wrap == Wrap::EncryptTo {
                assert!(keyed(m));
            }
        }
    }
}

/// The first address of the post's To, when it has one: to make the list
/// the post's own list (and its List-Id and X-Loop this list's).
fn raw_to(raw: &[u8]) -> Option<String> {
    let (head, _) = conclave_engine::mime::split_head(raw);
    let to = conclave_engine::mime::header(head, "To")?;
    let addr = to.split(',').next()?.trim();
    let addr = match (addr.find('<'), addr.rfind('>')) {
        (Some(a), Some(b)) if a < b => &addr[a + 1..b],
        _ => addr,
    };
    let addr = addr.trim();
    (addr.contains('@') && !addr.is_empty()).then(|| addr.to_string())
}
