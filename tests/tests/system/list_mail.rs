//! What members' clients get from the list, on the strict rig: copies sent
//! as the list, protected headers and no gossip, the list's note on who
//! signed read by gpg and rnp, a notice instead of a post for a member
//! without a key, the list's commands (help, unsubscribe), insider
//! forgeries and Message-ID squatting, and a Gmail-like server that
//! rewrites From.

use std::time::Duration;

use conclave_engine::mime;
use rig::Rig;
use rig::copy::{inner_header, note, poster_content};
use rig::gpg::{encrypted_mail, gpg_to_list, open_copy, signed_encrypted_post};
use rig::lists::{fingerprint, gpg_member, grouped, openpgp_list};
use rig::owner::Owner;

const WAIT: Duration = Duration::from_secs(20);

fn header(raw: &[u8], name: &str) -> Option<String> {
    mime::header(mime::split_head(raw).0, name)
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn local(address: &str) -> &str {
    address.split('@').next().unwrap()
}

/// The payload a list-signed entity carries (its first part).
fn payload_of(signed: &[u8]) -> Vec<u8> {
    let ct = header(signed, "Content-Type").unwrap();
    assert_eq!(
        mime::media_type(&ct),
        "multipart/signed",
        "{}",
        text(signed)
    );
    let parts = mime::parts(
        mime::split_head(signed).1,
        &mime::param(&ct, "boundary").unwrap(),
    )
    .unwrap();
    mime::crlf(parts[0])
}

/// A message from `from` to the list with these header lines and entity.
fn mail(from: &str, list: &str, extra: &str, entity: &[u8]) -> Vec<u8> {
    [
        format!("From: {from}\r\nTo: {list}\r\n{extra}MIME-Version: 1.0\r\n").as_bytes(),
        entity,
    ]
    .concat()
}

#[test]
fn a_thunderbird_post_and_a_plain_subject_reach_members_protected_and_without_gossip() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-hp", "Tenants");
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    let ga = gpg_member(&owner, &alice, &list_key, true);
    let gb = gpg_member(&owner, &bob, &list_key, true);
    let _gc = gpg_member(&owner, &carol, &list_key, false);
    owner.ok(&[
        "member",
        "set",
        &owner.list,
        &alice,
        "name",
        "Alice Liddell",
    ]);

    // As Thunderbird sends it: the real subject protected inside, with the
    // keys of whoever else the poster wrote to (gossip) and Autocrypt.
    let protected = format!(
        "Content-Type: multipart/mixed; boundary=\"tb\";\r\n protected-headers=\"v1\"\r\n\
         From: \"The Manager\" <{alice}>\r\nTo: {list}\r\nSubject: Rent strike plans\r\n\
         Autocrypt-Gossip: addr=dave@elsewhere.test; keydata=R09TU0lQ\r\n\r\n\
         --tb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWe start on the first.\r\n--tb--\r\n",
        list = owner.list
    );
    let mut thunderbird = signed_encrypted_post(&ga, &alice, &owner.list, protected.as_bytes());
    let autocrypt = format!("Autocrypt: addr={alice}; keydata=QUxJQ0U=\r\n");
    thunderbird.splice(0..0, autocrypt.into_bytes());
    rig.submit(&alice, Some(&alice), &[&owner.list], &thunderbird);
    // A post whose real subject stands outside, as gpg or mutt send it.
    let entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe caretaker has a key.\r\n";
    let plain_subject = text(&signed_encrypted_post(&ga, &alice, &owner.list, entity)).replacen(
        "Subject: ...",
        "Subject: Meeting place",
        1,
    );
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        plain_subject.as_bytes(),
    );
    rig.wait_for(&owner.list, "INBOX", 2, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("2 distributed") && out.contains("6 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );

    let fpr = grouped(&fingerprint(&ga, &alice));
    let copies = rig.wait_for(&bob, "INBOX", 2, WAIT);
    let mut subjects = Vec::new();
    for copy in &copies {
        let clear = text(mime::split_head(copy).0);
        assert_eq!(header(copy, "Subject").unwrap(), "[...]", "{clear}");
        assert_eq!(
            header(copy, "From").unwrap(),
            format!("\"Alice Liddell via Tenants\" <{}>", owner.list)
        );
        assert_eq!(header(copy, "Reply-To").unwrap(), owner.list);
        assert!(
            !clear.contains("X-Conclave-Decrypted")
                && !clear.contains("Gossip")
                && !clear.contains("QUxJQ0U"),
            "{clear}"
        );
        assert!(
            !clear.contains("Manager")
                && !clear.contains("Rent strike")
                && !clear.contains("Meeting place"),
            "{clear}"
        );
        let signed = open_copy(&gb, copy);
        let shown = text(&signed);
        assert!(
            !shown.contains("Gossip") && !shown.contains("R09TU0lQ") && !shown.contains("Manager"),
            "{shown}"
        );
        // What gpg shows the member: who signed, with the key's fingerprint.
        assert!(
            shown.contains(&format!("Sig: good signature by {alice}")) && shown.contains(&fpr),
            "{shown}"
        );
        let payload = payload_of(&signed);
        assert_eq!(
            inner_header(&payload, "From").unwrap(),
            format!("Alice Liddell <{alice}>")
        );
        assert!(
            inner_header(&payload, "HP-Outer").is_some(),
            "the outside is described inside"
        );
        subjects.push(inner_header(&payload, "Subject").unwrap());
        assert!(
            note(&payload)
                .unwrap()
                .contains("Enc: the post reached the list encrypted")
        );
        // And Thunderbird's OpenPGP library reads the same.
        let by_rnp = text(&rig::gpg::rnp_decrypt(&gb, &bob, copy));
        assert!(
            by_rnp.contains(&format!("Sig: good signature by {alice}")) && by_rnp.contains(&fpr),
            "{by_rnp}"
        );
    }
    subjects.sort();
    assert_eq!(
        subjects,
        ["[Tenants] Meeting place", "[Tenants] Rent strike plans"]
    );
    // The Thunderbird post's own text arrives as it was, its gossip gone.
    let contents: Vec<String> = copies
        .iter()
        .map(|c| text(&poster_content(&payload_of(&open_copy(&gb, c)))))
        .collect();
    assert!(
        contents.iter().any(|c| c.contains("We start on the first.")
            && c.starts_with("Content-Type: multipart/mixed")),
        "{contents:?}"
    );

    // The list publishes its key to Autocrypt clients.
    let autocrypt = header(&copies[0], "Autocrypt").unwrap();
    let keydata: String = autocrypt
        .split("keydata=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    let decoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&keydata)
            .expect("keydata is base64")
    };
    let list_fpr = fingerprint(&gb, &owner.list);
    let shown = gb.run(&["--with-colons", "--show-keys"], Some(&decoded));
    assert!(
        text(&shown.stdout).contains(&list_fpr),
        "{}",
        text(&shown.stderr)
    );

    // Carol has no key: a notice signed by the list, with nothing of either
    // post, not even its subject.
    let notices = rig.wait_for(&carol, "INBOX", 2, WAIT);
    for n in &notices {
        let t = text(n);
        assert_eq!(
            header(n, "Subject").unwrap(),
            "[Tenants] a post you did not receive"
        );
        for secret in ["Rent strike", "Meeting place", "first", "caretaker"] {
            assert!(!t.contains(secret), "{secret}: {t}");
        }
        assert_eq!(
            mime::media_type(&header(n, "Content-Type").unwrap()),
            "multipart/signed"
        );
    }
}

#[test]
fn copies_name_the_list_and_carry_its_headers_and_a_forged_unsubscribe_removes_nobody() {
    let rig = Rig::get();
    let (owner_addr, alice, bob) = (rig.unique("owner"), rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-cmd", &[&alice, &bob]);
    owner.ok(&[
        "member",
        "add",
        &owner.list,
        &owner_addr,
        "--role",
        "owner",
        "--name",
        "Olga",
    ]);
    owner.ok(&["list", "set", &owner.list, "owner-notices", "no"]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "Hello", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    owner.run_once();
    let copy = &rig.wait_for(&bob, "INBOX", 1, WAIT)[0];
    assert_eq!(
        header(copy, "List-Help").unwrap(),
        format!("<mailto:{}?subject=help>", owner.list)
    );
    assert_eq!(
        header(copy, "List-Owner").unwrap(),
        format!("<mailto:{owner_addr}>")
    );
    assert_eq!(
        header(copy, "List-Unsubscribe").unwrap(),
        format!("<mailto:{}?subject=unsubscribe>", owner.list)
    );
    assert_eq!(
        header(copy, "From").unwrap(),
        format!("\"{} via Test List\" <{}>", local(&alice), owner.list)
    );

    // Someone forges Bob's "unsubscribe" from another server: Bob is asked,
    // and stays until he answers.
    rig.deliver(
        Some(&bob),
        &[&owner.list],
        &rig::post(&bob, &owner.list, "unsubscribe", ""),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 answered") && out.contains("1 sent"),
        "{out}"
    );
    let asked = rig.wait_for(&bob, "INBOX", 2, WAIT).pop().unwrap();
    let subject = header(&asked, "Subject").unwrap();
    assert!(
        subject.starts_with("Confirm leaving Test List: unsubscribe-confirm "),
        "{subject}"
    );
    assert_eq!(header(&asked, "Reply-To").unwrap(), owner.list);
    assert_eq!(header(&asked, "Auto-Submitted").unwrap(), "auto-replied");
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(members.contains(&bob), "{members}");
    // Nobody but Bob's mailbox saw the code; a guess removes nobody.
    let guess = rig::post(
        &bob,
        &owner.list,
        "Re: unsubscribe-confirm 0123456789abcdef0123456789abcdef",
        "",
    );
    rig.deliver(Some(&bob), &[&owner.list], &guess);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    owner.run_once();
    assert!(owner.ok(&["member", "list", &owner.list]).contains(&bob));
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("unknown or expired code: nobody was removed"),
        "{log}"
    );
    assert!(
        rig.messages(&alice, "INBOX").len() == 1,
        "commands never reach the members"
    );

    // Bob answers the real request: he leaves, and is told.
    let answer = rig::post(&bob, &owner.list, &format!("Re: {subject}"), "yes\r\n");
    rig.submit(&bob, Some(&bob), &[&owner.list], &answer);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    owner.run_once();
    assert!(!owner.ok(&["member", "list", &owner.list]).contains(&bob));
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains(&format!(
            "member {bob} removed: they confirmed by mail that they leave"
        )),
        "{log}"
    );
    let goodbye = rig.wait_for(&bob, "INBOX", 3, WAIT).pop().unwrap();
    assert_eq!(
        header(&goodbye, "Subject").unwrap(),
        "You have left Test List"
    );

    // Help, for a member.
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "help", ""),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    owner.run_once();
    let help = rig.wait_for(&alice, "INBOX", 2, WAIT).pop().unwrap();
    assert_eq!(
        header(&help, "Subject").unwrap(),
        "[Test List] how this list works"
    );
    assert!(
        text(&help).contains("subject \"unsubscribe\"") && text(&help).contains(&owner_addr),
        "{}",
        text(&help)
    );
}

#[test]
fn an_insiders_forgery_is_dropped_or_held_naming_the_signer_and_a_squatted_message_id_does_not_stop_a_post()
 {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-insider", "Secure");
    let (alice, bob, carol, eve) = (
        rig.unique("alice"),
        rig.unique("bob"),
        rig.unique("carol"),
        rig.unique("eve"),
    );
    let ga = gpg_member(&owner, &alice, &list_key, true);
    let gb = gpg_member(&owner, &bob, &list_key, true);
    let gc = gpg_member(&owner, &carol, &list_key, true);
    owner.ok(&["list", "set", &owner.list, "owner-notices", "no"]);
    let bob_fpr = grouped(&fingerprint(&gb, &bob));

    // Bob signs a post whose From names Alice as well as himself; his own
    // server would refuse it, so it comes from another.
    let forged = |words: &[u8]| {
        let ct = gpg_to_list(
            &gb,
            &[
                "--local-user",
                &bob,
                "--sign",
                "--encrypt",
                "--recipient",
                &owner.list,
            ],
            words,
        );
        let m = encrypted_mail(&alice, &owner.list, &ct);
        text(&m)
            .replacen(
                &format!("From: {alice}"),
                &format!("From: {alice}, {bob}"),
                1,
            )
            .into_bytes()
    };
    owner.ok(&["list", "set", &owner.list, "post-sign", "force"]);
    rig.deliver(
        Some(&alice),
        &[&owner.list],
        &forged(b"Content-Type: text/plain\r\n\r\nAlice agrees to pay.\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains(&format!("made with the key of the member {bob}")),
        "{log}"
    );
    assert!(
        owner
            .json(&["held", "list", &owner.list, "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Under post-sign yes it waits for an owner, who sees who signed it.
    owner.ok(&["list", "set", &owner.list, "post-sign", "yes"]);
    rig.deliver(
        Some(&alice),
        &[&owner.list],
        &forged(b"Content-Type: text/plain\r\n\r\nAlice agrees to pay twice.\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(out.contains("1 held"), "{out}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let h = &held[0];
    assert_eq!(h["signed_by"], bob.as_str(), "{held}");
    assert!(
        h["signer_key"].as_str().unwrap().contains(&bob_fpr),
        "{held}"
    );
    assert!(h["sender"].as_str().unwrap().contains(&alice), "{held}");
    let shown = owner.ok(&["held", "list", &owner.list]);
    assert!(shown.contains(&format!("signed by {bob}")), "{shown}");
    // Approving sends it as Bob's: never with Alice as its sender.
    // (Approving sends at once.)
    let approved = owner.ok(&["held", "approve", &owner.list, &h["id"].to_string()]);
    assert!(
        approved.contains("3 sent"),
        "{approved}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let copy = rig.wait_for(&carol, "INBOX", 1, WAIT).pop().unwrap();
    assert_eq!(
        header(&copy, "From").unwrap(),
        format!("\"{} via Secure\" <{}>", local(&bob), owner.list)
    );
    let payload = payload_of(&open_copy(&gc, &copy));
    assert_eq!(
        inner_header(&payload, "From").unwrap(),
        format!("{} <{bob}>", local(&bob))
    );
    assert!(
        !text(mime::split_head(&payload).0).contains(&alice),
        "{}",
        text(&payload)
    );

    // Eve, no member, learns the Message-ID of Alice's next post and sends
    // it first; Alice's post still goes out.
    let squatted = format!(
        "Message-ID: <squat.{}@conclave.test>\r\nSubject: x\r\n",
        std::process::id()
    );
    let eves = mail(
        &eve,
        &owner.list,
        &squatted,
        b"Content-Type: text/plain\r\n\r\nfirst!\r\n",
    );
    rig.submit(&eve, Some(&eve), &[&owner.list], &eves);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(out.contains("1 held"), "{out}");
    let body = signed_encrypted_post(
        &ga,
        &alice,
        &owner.list,
        b"Content-Type: text/plain\r\n\r\nThe real post.\r\n",
    );
    let alices = text(&body)
        .replacen("Subject: ...\r\n", &squatted, 1)
        .into_bytes();
    rig.submit(&alice, Some(&alice), &[&owner.list], &alices);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let copy = rig.wait_for(&carol, "INBOX", 2, WAIT).pop().unwrap();
    assert!(text(&poster_content(&payload_of(&open_copy(&gc, &copy)))).contains("The real post."));
}

#[test]
fn copies_stay_correct_through_a_server_that_rewrites_from_like_gmail() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-gmail", &[&alice, &bob]);
    owner.ok(&["member", "set", &owner.list, &alice, "name", "Alice"]);
    let mut args = owner.account_args(&rig.ca_path);
    let port = args.iter().position(|a| a == "--smtp-port").unwrap() + 1;
    args[port] = rig.gmail_port.to_string();
    owner.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "Through Gmail", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(out.contains("2 sent"), "{out}");
    let copy = &rig.wait_for(&bob, "INBOX", 1, WAIT)[0];
    // The server put the account's address in From: it is the list's
    // already, and the poster's name stays.
    assert_eq!(
        header(copy, "From").unwrap(),
        format!("\"Alice via Test List\" <{}>", owner.list)
    );
    assert_eq!(header(copy, "Reply-To").unwrap(), alice);
    assert_eq!(
        header(copy, "Subject").unwrap(),
        "[Test List] Through Gmail"
    );
}

#[test]
fn an_unsubscribe_sent_encrypted_is_answered_not_posted() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-enc-cmd", "Tenants");
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let ga = gpg_member(&owner, &alice, &list_key, true);
    gpg_member(&owner, &bob, &list_key, true);
    owner.ok(&["list", "set", &owner.list, "owner-notices", "no"]);
    // A client that knows the list's key encrypts the mailto link's mail
    // too: "unsubscribe" is only in the protected Subject.
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n\
         From: {alice}\r\nTo: {}\r\nSubject: unsubscribe\r\n\r\n\r\n",
        owner.list
    );
    let post = signed_encrypted_post(&ga, &alice, &owner.list, entity.as_bytes());
    rig.submit(&alice, Some(&alice), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, WAIT);
    let out = owner.run_once();
    assert!(
        out.contains("1 answered") && out.contains("1 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let asked = rig.wait_for(&alice, "INBOX", 1, WAIT).pop().unwrap();
    assert!(
        header(&asked, "Subject")
            .unwrap()
            .starts_with("Confirm leaving Tenants: unsubscribe-confirm ")
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        rig.messages(&bob, "INBOX").is_empty(),
        "no member got it as a post"
    );
}
