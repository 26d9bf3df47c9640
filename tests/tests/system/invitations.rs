//! Joining by invitation, on the real rig: the owner invites with
//! `member invite` (and mails it with --send); the invitee's gpg answers
//! with the code, their key attached, signed by it; the list adds them with
//! that key, welcomes them encrypted to it, and their next post reaches the
//! list. An answer from someone else, or signed by another key, or with a
//! used code, adds nobody and waits for the owner with the reason.

use std::time::Duration;

use conclave_engine::mime;
use rig::Rig;
use rig::gpg::{
    Gpg, encrypted_mail, gpg_to_list, open_copy, rnp_decrypt, signed_encrypted_post, signed_entity,
    verify_signed_by_list, with_autocrypt, with_headers,
};
use rig::lists::{fingerprint, gpg_member as member, grouped, openpgp_list};

/// An answer to an invitation: subject "join CODE", a short text and the
/// key `attached` (armored), signed as `signer` by `g`.
fn answer(g: &Gpg, signer: &str, from: &str, list: &str, code: &str, attached: &[u8]) -> Vec<u8> {
    let entity = answer_entity("Hello, here is my key.", attached);
    let signed = signed_entity(g, signer, &entity);
    with_join_subject(with_headers(from, list, &signed), code)
}

/// A text and the key `attached` (armored), as an entity.
fn answer_entity(text: &str, attached: &[u8]) -> Vec<u8> {
    format!(
        "Content-Type: multipart/mixed; boundary=\"k1\"\r\n\r\n--k1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--k1\r\n\
         Content-Type: application/pgp-keys; name=\"key.asc\"\r\n\
         Content-Disposition: attachment; filename=\"key.asc\"\r\n\r\n{}\r\n--k1--\r\n",
        String::from_utf8_lossy(attached)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .trim_end()
    )
    .into_bytes()
}

#[test]
fn an_invitee_joins_with_the_key_that_signed_their_answer_and_nobody_else_does() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-invite", "Invited");
    let alice = rig.unique("alice");
    let ga = member(&owner, &alice, &list_key, true);
    let (carol, dave) = (rig.unique("carol"), rig.unique("dave"));

    let made = owner.json(&[
        "member",
        "invite",
        &owner.list,
        &carol,
        "--name",
        "Carol",
        "--json",
        "--send",
    ]);
    let code = made["token"].as_str().unwrap().to_string();
    let text = made["text"].as_str().unwrap();
    assert!(text.contains(&format!("join {code}")), "{text}");

    // Carol: the invitation came by mail, signed by the list, with its key;
    // its fingerprint is the one the owner passed on.
    let g = Gpg::new();
    g.generate(&format!("Carol <{carol}>"), "future-default", "never", &[]);
    let mailed = &rig.wait_for(&carol, "INBOX", 1, Duration::from_secs(20))[0];
    let (head, _) = mime::split_head(mailed);
    assert!(
        mime::header(head, "Autocrypt")
            .unwrap()
            .contains(&owner.list)
    );
    assert!(g.run(&["--import"], Some(&list_key)).status.success());
    let signed_text = verify_signed_by_list(&g, mailed, "Invited", &owner.list);
    assert!(String::from_utf8_lossy(&signed_text).contains(&code));
    assert_eq!(
        made["fingerprint"].as_str().unwrap(),
        grouped(&fingerprint(&g, &owner.list)),
        "the fingerprint in the invitation is the list key's"
    );
    let carol_key = g.export(&carol);

    // Dave answers with Carol's code; a forger signs Carol's answer with a
    // key of their own that claims her address.
    let gd = Gpg::new();
    gd.generate(&format!("Dave <{dave}>"), "future-default", "never", &[]);
    rig.submit(
        &dave,
        Some(&dave),
        &[&owner.list],
        &answer(&gd, &dave, &dave, &owner.list, &code, &gd.export(&dave)),
    );
    let forger = Gpg::new();
    forger.generate(&format!("Carol <{carol}>"), "future-default", "never", &[]);
    rig.deliver(
        Some(&carol),
        &[&owner.list],
        &answer(&forger, &carol, &carol, &owner.list, &code, &carol_key),
    );
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("2 held"), "{out}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let reasons: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("the invitation is for")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not signed by the key it carries")),
        "{reasons:?}"
    );
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(
        !members.contains(&carol) && !members.contains(&dave),
        "{members}"
    );

    // Carol's own answer: she joins with her key and is welcomed.
    rig.submit(
        &carol,
        Some(&carol),
        &[&owner.list],
        &answer(&g, &carol, &carol, &owner.list, &code, &carol_key),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 answered"), "{out}");
    let listed = owner.json(&["member", "list", &owner.list, "--json"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"].as_str() == Some(carol.as_str()))
        .unwrap_or_else(|| panic!("carol is no member: {listed}"));
    assert_eq!(row["name"], "Carol");
    assert!(
        row.to_string().contains(&grouped(&fingerprint(&g, &carol))),
        "her key: {row}"
    );
    let welcome = rig.wait_for(&carol, "INBOX", 2, Duration::from_secs(20));
    let inner = open_copy(&g, &welcome[1]);
    let words = verify_signed_by_list(&g, &inner, "Invited", &owner.list);
    assert!(String::from_utf8_lossy(&words).contains("Welcome"));
    // Thunderbird's library opens it too.
    let by_rnp = rnp_decrypt(&g, &carol, &welcome[1]);
    assert!(
        String::from_utf8_lossy(&by_rnp).contains("Welcome"),
        "{}",
        String::from_utf8_lossy(&by_rnp)
    );

    // The code works once.
    rig.submit(
        &carol,
        Some(&carol),
        &[&owner.list],
        &answer(&g, &carol, &carol, &owner.list, &code, &carol_key),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held"), "{out}");

    // And she posts like any member.
    rig.submit(
        &carol,
        Some(&carol),
        &[&owner.list],
        &signed_encrypted_post(
            &g,
            &carol,
            &owner.list,
            b"Content-Type: text/plain\r\n\r\nGlad to be here.\r\n",
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("2 sent"),
        "{out}"
    );
    let copy = &rig.wait_for(&alice, "INBOX", 1, Duration::from_secs(20))[0];
    assert!(String::from_utf8_lossy(&open_copy(&ga, copy)).contains("Glad to be here."));
}

/// `mail` with its Subject "join CODE".
fn with_join_subject(mail: Vec<u8>, code: &str) -> Vec<u8> {
    String::from_utf8(mail)
        .unwrap()
        .replacen("Subject: signed", &format!("Subject: join {code}"), 1)
        .into_bytes()
}

/// Answers that are not taken add nobody and say why: an unsigned one
/// (its key then waits in the key inbox, with the reason), one whose key
/// is for another address. An answer that carries its key only in an
/// `Autocrypt` header, as Thunderbird and K-9 send it, is taken.
#[test]
fn an_unsigned_or_foreign_answer_adds_nobody_and_an_autocrypt_answer_joins() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-invite-shapes", "Shapes");
    let (frank, gina) = (rig.unique("frank"), rig.unique("gina"));
    let invite = |who: &str| {
        owner.json(&["member", "invite", &owner.list, who, "--json"])["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (code_f, code_g) = (invite(&frank), invite(&gina));

    // Frank, unsigned, his key attached.
    let gf = Gpg::new();
    gf.generate(&format!("Frank <{frank}>"), "future-default", "never", &[]);
    let unsigned = with_join_subject(
        with_headers(
            &frank,
            &owner.list,
            &answer_entity("Here is my key.", &gf.export(&frank)),
        ),
        &code_f,
    );
    rig.submit(&frank, Some(&frank), &[&owner.list], &unsigned);
    // Frank again, signed by a key for another address.
    let other = Gpg::new();
    other.generate(
        "Frank <frank-elsewhere@example.net>",
        "future-default",
        "never",
        &[],
    );
    rig.submit(
        &frank,
        Some(&frank),
        &[&owner.list],
        &answer(
            &other,
            "frank-elsewhere@example.net",
            &frank,
            &owner.list,
            &code_f,
            &other.export("frank-elsewhere@example.net"),
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("2 held"), "{out}");
    let held = owner
        .json(&["held", "list", &owner.list, "--json"])
        .to_string();
    assert!(held.contains("not signed by the key it carries"), "{held}");
    assert!(held.contains("none of the key's user IDs"), "{held}");
    let waiting = owner.json(&["keys", "pending", &owner.list, "--json"]);
    let waiting = waiting.as_array().unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "only the key that names frank: {waiting:?}"
    );
    assert_eq!(waiting[0]["email"].as_str(), Some(frank.as_str()));
    assert_eq!(waiting[0]["signed_by_it"], false);
    assert!(
        waiting[0]["how"]
            .as_str()
            .unwrap()
            .contains("not signed by the key it carries"),
        "{waiting:?}"
    );
    assert!(!owner.ok(&["member", "list", &owner.list]).contains(&frank));

    // Gina: signed, her key only in an Autocrypt header.
    let gg = Gpg::new();
    gg.generate(&format!("Gina <{gina}>"), "future-default", "never", &[]);
    let autocrypt = with_autocrypt(
        with_join_subject(
            with_headers(
                &gina,
                &owner.list,
                &signed_entity(&gg, &gina, b"Content-Type: text/plain\r\n\r\nHello.\r\n"),
            ),
            &code_g,
        ),
        &gg,
        &gina,
    );
    rig.submit(&gina, Some(&gina), &[&owner.list], &autocrypt);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 answered"), "{out}");
    assert!(
        owner
            .json(&["member", "list", &owner.list, "--json"])
            .to_string()
            .contains(&grouped(&fingerprint(&gg, &gina))),
        "gina joined with the key from her Autocrypt header"
    );
    assert!(gg.run(&["--import"], Some(&list_key)).status.success());
    let welcome = &rig.wait_for(&gina, "INBOX", 1, Duration::from_secs(20))[0];
    let words = verify_signed_by_list(&gg, &open_copy(&gg, welcome), "Shapes", &owner.list);
    assert!(String::from_utf8_lossy(&words).contains("Welcome"));
}

/// An answer whose code is the first line of its text, signed and
/// encrypted to the list as Thunderbird sends it (the clear Subject is
/// "..."), makes the invitee a member just the same.
#[test]
fn an_invitation_code_in_the_first_line_of_an_encrypted_answer_is_taken() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-invite-line", "Line");
    let erin = rig.unique("erin");
    let made = owner.json(&["member", "invite", &owner.list, &erin, "--json"]);
    let code = made["token"].as_str().unwrap().to_string();
    assert!(
        made["text"]
            .as_str()
            .unwrap()
            .contains("first line of the text"),
        "{made}"
    );

    let g = Gpg::new();
    g.generate(&format!("Erin <{erin}>"), "future-default", "never", &[]);
    assert!(g.run(&["--import"], Some(&list_key)).status.success());
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"k1\"\r\n\r\n--k1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\njoin {code}\r\n\r\nHello, my key is attached.\r\n--k1\r\n\
         Content-Type: application/pgp-keys; name=\"key.asc\"\r\n\r\n{}\r\n--k1--\r\n",
        String::from_utf8_lossy(&g.export(&erin))
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .trim_end()
    );
    let ct = gpg_to_list(
        &g,
        &[
            "--local-user",
            &erin,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        entity.as_bytes(),
    );
    rig.submit(
        &erin,
        Some(&erin),
        &[&owner.list],
        &encrypted_mail(&erin, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 answered"), "{out}");
    let listed = owner.json(&["member", "list", &owner.list, "--json"]);
    assert!(
        listed
            .to_string()
            .contains(&grouped(&fingerprint(&g, &erin))),
        "erin joined with her key: {listed}"
    );
    let welcome = &rig.wait_for(&erin, "INBOX", 1, Duration::from_secs(20))[0];
    let words = verify_signed_by_list(&g, &open_copy(&g, welcome), "Line", &owner.list);
    assert!(String::from_utf8_lossy(&words).contains("Welcome"));
}

/// "subscribe" by mail: the sender is told the owner decides, the request
/// waits for the owner (never a membership), an invitation shows on it,
/// and a dismissed request is gone; a member is told they are one.
#[test]
fn a_request_to_join_waits_for_the_owner_and_makes_nobody_a_member() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-subscribe", "Asked");
    let alice = rig.unique("alice");
    let _ga = member(&owner, &alice, &list_key, true);
    let (eve, zed) = (rig.unique("eve"), rig.unique("zed"));
    // Eve's client sends her key along, in an Autocrypt header.
    let ge = Gpg::new();
    ge.generate(&format!("Eve <{eve}>"), "future-default", "never", &[]);
    for (from, name) in [(&eve, "Eve Example"), (&zed, "Zed"), (&alice, "Alice")] {
        let mail = String::from_utf8(rig::post(from, &owner.list, "subscribe", "Please.\r\n"))
            .unwrap()
            .replacen(
                &format!("From: {from}"),
                &format!("From: {name} <{from}>"),
                1,
            )
            .into_bytes();
        let mail = if from == &eve {
            with_autocrypt(mail, &ge, &eve)
        } else {
            mail
        };
        rig.submit(from, Some(from), &[&owner.list], &mail);
    }
    rig.wait_for(&owner.list, "INBOX", 3, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("3 answered") && out.contains("0 distributed"),
        "{out}"
    );
    let told = &rig.wait_for(&eve, "INBOX", 1, Duration::from_secs(20))[0];
    assert!(String::from_utf8_lossy(told).contains("went to its owner"));
    let member_told = rig.wait_for(&alice, "INBOX", 1, Duration::from_secs(20));
    assert!(String::from_utf8_lossy(&member_told[0]).contains("member of the list"));

    let asked = owner.json(&["member", "requests", &owner.list, "--json"]);
    let emails: Vec<&str> = asked
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{asked}");
    assert!(emails.contains(&eve.as_str()) && emails.contains(&zed.as_str()));
    assert!(asked.to_string().contains("Eve Example"), "{asked}");
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(!members.contains(&eve), "a request makes nobody a member");
    // Her key waits in the key inbox, for when she is a member.
    let waiting = owner.json(&["keys", "pending", &owner.list, "--json"]);
    assert_eq!(
        waiting[0]["fingerprint"].as_str(),
        Some(grouped(&fingerprint(&ge, &eve)).as_str()),
        "{waiting}"
    );

    owner.ok(&["member", "invite", &owner.list, &eve]);
    owner.ok(&["member", "dismiss", &owner.list, &zed]);
    let asked = owner.json(&["member", "requests", &owner.list, "--json"]);
    assert_eq!(asked.as_array().unwrap().len(), 1, "{asked}");
    assert_eq!(asked[0]["invited"], true, "{asked}");
}
