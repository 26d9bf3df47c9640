//! A member who reads an OpenPGP list in neomutt answers a post with
//! group-reply (`g`): the reply goes to the list alone, never straight to
//! the poster, with the real subject (read from the protected headers).
//! Members are at three of the rig's domains; each has a gpg home of their
//! own. neomutt runs headless in tmux (`rig::neomutt`) on Bob's Maildir, as
//! the rig wrote it, and its `sendmail` only captures the reply.

use std::time::{Duration, Instant};

use conclave_engine::mime;
use rig::Rig;
use rig::gpg::{Gpg, open_copy, signed_encrypted_post};
use rig::lists::{gpg_member, openpgp_list};
use rig::neomutt::{self, Neomutt, Sent, boxed};
use rig::owner::Owner;

const SUBJECT: &str = "Garden meeting moved to Thursday";
const BODY: &str = "The garden meeting is on Thursday at 7, by the back gate.";
const WAIT: Duration = Duration::from_secs(20);

fn header(raw: &[u8], name: &str) -> Option<String> {
    mime::header(mime::split_head(raw).0, name)
}

/// The addresses of every `name` field of a message, in order.
fn addresses(raw: &[u8], name: &str) -> Vec<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message");
    let field = match name {
        "To" => msg.to(),
        "Cc" => msg.cc(),
        "From" => msg.from(),
        _ => panic!("{name}"),
    };
    field
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// Members at three domains; Alice posts, signed and encrypted to the list
/// as a modern client does (the real Subject inside, `...` outside), in Cc
/// herself when `cc_self`; the list distributes it. Returns the owner, the
/// members' addresses and gpg homes (Alice, Bob, Carol).
fn a_post_on_three_domains(prefix: &str, cc_self: bool) -> (Owner, Vec<(String, Gpg)>) {
    let rig = Rig::get();
    let domains = rig.domains();
    assert!(
        domains.len() >= 3,
        "the rig serves {domains:?}: restart it with the current tests/rig/start.sh"
    );
    let (owner, list_key) = openpgp_list(prefix, "Secure");
    let members: Vec<(String, Gpg)> = ["alice", "bob", "carol"]
        .iter()
        .zip(&domains)
        .map(|(who, domain)| {
            let address = rig.unique_at(who, domain);
            let g = gpg_member(&owner, &address, &list_key, true);
            (address, g)
        })
        .collect();
    let (alice, ga) = (&members[0].0, &members[0].1);

    let entity = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n\
         From: {alice}\r\nTo: {list}\r\nSubject: {SUBJECT}\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{BODY}\r\n",
        list = owner.list
    );
    let mut post = signed_encrypted_post(ga, alice, &owner.list, entity.as_bytes());
    let mut rcpts = vec![owner.list.as_str()];
    if cc_self {
        let at = post.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        post.splice(at..at, format!("Cc: {alice}\r\n").into_bytes());
        rcpts.push(alice);
    }
    rig.submit(alice, Some(alice), &rcpts, &post);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    (owner, members)
}

/// The list's copy in `address`'s INBOX (waiting for it).
fn list_copy(owner: &Owner, address: &str) -> Vec<u8> {
    let copies = Rig::get().wait_for(address, "INBOX", 1, WAIT);
    copies
        .into_iter()
        .find(|m| header(m, "List-Post").is_some())
        .unwrap_or_else(|| panic!("no copy from {} in {address}'s INBOX", owner.list))
}

/// Bob opens the post in neomutt and answers with `g`; returns what
/// neomutt handed to sendmail. `muttrc` is added to the test's muttrc;
/// the compose menu must show `security` (e.g. `Security: None`).
fn group_reply_in_neomutt(bob: &str, gb: &Gpg, muttrc: &str, security: &str) -> Sent {
    let rig = Rig::get();
    let started = Instant::now();
    let mutt = Neomutt::open(
        &rig.maildir(bob, "INBOX"),
        gb.home.path(),
        &format!("Bob <{bob}>"),
        "Thursday works for me.",
        muttrc,
    );
    // The index: one message, its subject hidden outside the encryption.
    let index = mutt.wait_for(&["[...]", "Msgs:1"], WAIT);
    eprintln!("neomutt's index:\n{}", boxed(&index));
    // The pager: gpgme decrypted it with Bob's key.
    mutt.keys(&["Enter"]);
    let pager = mutt.wait_for(&[BODY], WAIT);
    eprintln!("neomutt's pager:\n{}", boxed(&pager));
    mutt.keys(&["g"]);
    let compose = mutt.wait_for(&["y:Send", "Subject:", security], WAIT);
    eprintln!("neomutt's compose menu:\n{}", boxed(&compose));
    mutt.keys(&["y"]);
    let sent = mutt.wait_sent(WAIT);
    eprintln!(
        "neomutt took {:?} from start to sendmail",
        started.elapsed()
    );
    sent
}

#[test]
fn a_neomutt_group_reply_goes_to_the_list_alone() {
    eprintln!("{} (neomutt -v)", neomutt::version());
    let (owner, members) = a_post_on_three_domains("list-mutt", false);

    // Every member, at each domain, gets the copy as the list sends it, in
    // Alice's name (her local part: members have no names here).
    let local = members[0].0.split('@').next().unwrap();
    for (address, g) in &members {
        let copy = list_copy(&owner, address);
        assert_eq!(
            header(&copy, "From").unwrap(),
            format!("\"{local} via Secure\" <{}>", owner.list),
            "{address}"
        );
        assert_eq!(header(&copy, "Reply-To").unwrap(), owner.list, "{address}");
        assert_eq!(header(&copy, "Subject").unwrap(), "[...]", "{address}");
        let signed = String::from_utf8_lossy(&open_copy(g, &copy)).into_owned();
        assert!(
            signed.contains(&format!("Subject: [Secure] {SUBJECT}")) && signed.contains(BODY),
            "{address}: {signed}"
        );
    }

    let (alice, (bob, gb)) = (&members[0].0, (&members[1].0, &members[1].1));
    let sent = group_reply_in_neomutt(bob, gb, "", "Security: None");
    to_the_list_alone(&sent, &owner, alice, bob);
    let text = String::from_utf8_lossy(&sent.message);
    let copy = list_copy(&owner, bob);
    assert_eq!(
        header(&sent.message, "In-Reply-To"),
        header(&copy, "Message-ID"),
        "{text}"
    );
    assert!(text.contains("Thursday works for me."), "{text}");
}

/// Bob's reply, as neomutt handed it to sendmail, goes to the list alone
/// (envelope and header), from Bob, with the real subject.
fn to_the_list_alone(sent: &Sent, owner: &Owner, alice: &str, bob: &str) {
    let reply = &sent.message;
    let text = String::from_utf8_lossy(reply);
    eprintln!("sendmail argv: {:?}\nthe reply:\n{text}", sent.argv);
    assert_eq!(
        sent.recipients(),
        [owner.list.as_str()],
        "envelope recipients; argv {:?}",
        sent.argv
    );
    assert_eq!(
        addresses(reply, "To"),
        [owner.list.to_ascii_lowercase()],
        "{text}"
    );
    assert_eq!(addresses(reply, "Cc"), Vec::<String>::new(), "{text}");
    assert!(
        !text
            .to_ascii_lowercase()
            .contains(&alice.to_ascii_lowercase()),
        "the reply names Alice: {text}"
    );
    assert_eq!(
        addresses(reply, "From"),
        [bob.to_ascii_lowercase()],
        "{text}"
    );
    // The real subject, from the protected headers, not the `[...]` outside.
    assert_eq!(
        header(reply, "Subject").unwrap(),
        format!("Re: [Secure] {SUBJECT}"),
        "{text}"
    );
}

/// Alice copies herself (Cc), as some people do. The copies keep the
/// post's Cc, and neomutt's group-reply copies every Cc of the original
/// unless Mail-Followup-To says where replies to all go: the list says so,
/// and Bob's reply does not reach Alice past the list.
#[test]
fn a_neomutt_group_reply_leaves_out_the_poster_in_cc() {
    let (owner, members) = a_post_on_three_domains("list-mutt-cc", true);
    let (alice, (bob, gb)) = (&members[0].0, (&members[1].0, &members[1].1));
    let copy = list_copy(&owner, bob);
    eprintln!("Cc of Bob's copy: {:?}", header(&copy, "Cc"));
    let sent = group_reply_in_neomutt(bob, gb, "", "Security: None");
    to_the_list_alone(&sent, &owner, alice, bob);
}

/// The same answer as most neomutt users would send it: encrypted (the
/// default `crypt_replyencrypt`) and signed. Bob signed the list's key
/// locally, so neomutt encrypts to it without asking about its validity.
/// The reply still goes to the list alone, and the list, given it as the
/// rig would, passes it on to Alice and Carol.
#[test]
fn a_neomutt_encrypted_group_reply_reaches_the_members_through_the_list() {
    let rig = Rig::get();
    let (owner, members) = a_post_on_three_domains("list-mutt-enc", false);
    let (alice, ga) = (&members[0].0, &members[0].1);
    let (bob, gb) = (&members[1].0, &members[1].1);
    let carol = &members[2].0;
    let fpr = |g: &Gpg, who: &str, what: &str| {
        let listing = String::from_utf8(g.ok(&["--with-colons", what, who])).unwrap();
        let line = listing.lines().find(|l| l.starts_with("fpr:")).unwrap();
        line.split(':').nth(9).unwrap().to_string()
    };
    let list_fpr = fpr(gb, &owner.list, "--list-keys");
    gb.ok(&["--passphrase", "", "--quick-lsign-key", &list_fpr]);
    let muttrc = format!(
        "set crypt_replyencrypt=yes\nset crypt_replysignencrypted=yes\n\
         set pgp_default_key={}\nset pgp_self_encrypt=yes\n",
        fpr(gb, bob, "--list-secret-keys")
    );
    let sent = group_reply_in_neomutt(bob, gb, &muttrc, "Security: Sign, Encrypt");
    let reply = &sent.message;
    let text = String::from_utf8_lossy(reply);
    eprintln!("sendmail argv: {:?}\nthe reply:\n{text}", sent.argv);
    assert_eq!(
        sent.recipients(),
        [owner.list.as_str()],
        "envelope recipients; argv {:?}",
        sent.argv
    );
    assert_eq!(
        addresses(reply, "To"),
        [owner.list.to_ascii_lowercase()],
        "{text}"
    );
    assert_eq!(addresses(reply, "Cc"), Vec::<String>::new(), "{text}");
    let ct = header(reply, "Content-Type").unwrap();
    assert_eq!(mime::media_type(&ct), "multipart/encrypted", "{text}");
    assert!(!text.contains("Thursday works"), "no clear text: {text}");

    // Bob's own server takes it as his, and the list passes it on.
    let rcpts: Vec<String> = sent.recipients();
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    // neomutt hands sendmail lines ending in LF; its SMTP, like any
    // client's, ends them in CRLF (the rig refuses a bare LF).
    let on_the_wire = String::from_utf8_lossy(reply)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    rig.submit(bob, Some(bob), &rcpts, on_the_wire.as_bytes());
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let copies = rig.wait_for(alice, "INBOX", 2, WAIT);
    let answer = copies
        .iter()
        .find(|m| header(m, "In-Reply-To").is_some())
        .expect("Bob's answer reached Alice");
    let bob_local = bob.split('@').next().unwrap();
    assert_eq!(
        header(answer, "From").unwrap(),
        format!("\"{bob_local} via Secure\" <{}>", owner.list)
    );
    let signed = String::from_utf8_lossy(&open_copy(ga, answer)).into_owned();
    assert!(
        signed.contains(&format!("Subject: Re: [Secure] {SUBJECT}"))
            && signed.contains("Thursday works for me.")
            && signed.contains(&format!("good signature by {bob}")),
        "{signed}"
    );
    rig.wait_for(carol, "INBOX", 2, WAIT);
}
