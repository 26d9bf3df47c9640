//! An OpenPGP list end to end on the real rig: members post with gpg, the
//! list decrypts, checks, signs and re-encrypts to each member, and each
//! member's gpg decrypts and verifies the copy.

use std::time::Duration;

use conclave_engine::mime;
use rig::Rig;
use rig::copy::{inner_header, note, poster_content};
use rig::gpg::{
    Gpg, encrypted_mail, gpg_to_list, open_copy, signed_encrypted_post, signed_entity,
    signed_entity_with, verify_signed_by_list, with_headers,
};
use rig::lists::{fingerprint, gpg_member as member, grouped, openpgp_list};
use rig::owner::Owner;

const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSecret meeting at 7, back door.\r\nGr\xc3\xbc\xc3\x9fe\r\n";

fn header(raw: &[u8], name: &str) -> Option<String> {
    mime::header(mime::split_head(raw).0, name)
}

/// An OpenPGP list "Secure" on the rig with a fresh key.
fn secure(prefix: &str) -> (Owner, Vec<u8>) {
    openpgp_list(prefix, "Secure")
}

/// Verifies the list's signature on a signed entity with the member's gpg;
/// returns the signed content.
fn verify_list_signature(g: &Gpg, signed: &[u8], list: &str) -> Vec<u8> {
    rig::gpg::verify_signed_by_list(g, signed, "Secure", list)
}

#[test]
fn an_encrypted_signed_post_reaches_every_member_signed_by_the_list() {
    let rig = Rig::get();
    let (owner, list_key) = secure("list-pgp");
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    let ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);
    let _gc = member(&owner, &carol, &list_key, false);

    let ct = gpg_to_list(
        &ga,
        &[
            "--local-user",
            &alice,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        ENTITY,
    );
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &encrypted_mail(&alice, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );

    // Bob: encrypted to his key alone, signed by the list, content intact,
    // sent as the list with Alice's name, nothing in the clear beyond a
    // plain list's headers.
    let copy = &rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20))[0];
    assert_eq!(
        header(copy, "X-Conclave-Decrypted"),
        None,
        "nothing in the clear says it was encrypted"
    );
    assert_eq!(
        header(copy, "From").unwrap(),
        format!(
            "\"{} via Secure\" <{}>",
            alice.split('@').next().unwrap(),
            owner.list
        )
    );
    assert_eq!(
        header(copy, "Reply-To").unwrap(),
        owner.list,
        "replies stay on the list"
    );
    assert_eq!(header(copy, "Subject").unwrap(), "[...]");
    assert!(
        header(copy, "List-Id")
            .unwrap()
            .contains(&owner.list.replacen('@', ".", 1))
    );
    assert_eq!(
        header(copy, "List-Unsubscribe").unwrap(),
        format!("<mailto:{}?subject=unsubscribe>", owner.list)
    );
    assert!(header(copy, "Autocrypt").unwrap().starts_with(&format!(
        "addr={}; prefer-encrypt=mutual; keydata=",
        owner.list
    )));
    assert!(
        !String::from_utf8_lossy(copy).contains("Secret meeting"),
        "no clear text on the wire"
    );
    let signed = open_copy(&gb, copy);
    let payload = verify_list_signature(&gb, &signed, &owner.list);
    assert_eq!(poster_content(&payload), ENTITY);
    assert_eq!(
        inner_header(&payload, "From").unwrap(),
        format!("{} <{alice}>", alice.split('@').next().unwrap())
    );
    assert_eq!(inner_header(&payload, "Subject").unwrap(), "[Secure] ...");
    let said = note(&payload).expect("the list says who signed");
    let fpr = grouped(&fingerprint(&ga, &alice));
    assert!(
        said.contains(&format!("Sig: good signature by {alice}")) && said.contains(&fpr),
        "{said}"
    );
    assert!(
        said.contains("Enc: the post reached the list encrypted"),
        "{said}"
    );
    // Alice, the poster, gets her copy the same way.
    let copy = &rig.wait_for(&alice, "INBOX", 1, Duration::from_secs(20))[0];
    assert_eq!(
        poster_content(&verify_list_signature(
            &ga,
            &open_copy(&ga, copy),
            &owner.list
        )),
        ENTITY
    );
    // Carol has no key, and the post arrived encrypted: she gets a notice
    // signed by the list, with not a word of the post.
    let copy = &rig.wait_for(&carol, "INBOX", 1, Duration::from_secs(20))[0];
    assert_eq!(
        mime::media_type(&header(copy, "Content-Type").unwrap()),
        "multipart/signed"
    );
    let text = String::from_utf8_lossy(copy);
    assert!(
        !text.contains("Secret meeting") && !text.contains("back door"),
        "{text}"
    );
    assert_eq!(
        header(copy, "Subject").unwrap(),
        "[Secure] a post you did not receive"
    );
    assert!(text.contains("public key"), "{text}");
    // With the list's key attached, to write to the list encrypted.
    assert!(
        text.contains("Content-Type: application/pgp-keys"),
        "{text}"
    );
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("1 without a usable key got a notice instead"),
        "{log}"
    );

    // Under distrib-encrypt force, Carol gets nothing and the owner sees why.
    owner.ok(&["list", "set", &owner.list, "distrib-encrypt", "force"]);
    let members = owner.json(&["member", "list", &owner.list, "--json"]);
    let carol_row = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == carol.as_str())
        .unwrap();
    assert_eq!(carol_row["receives_posts"], false);
    // (Other words: the same words signed in the same second make the same
    // signature, which the list would rightly take for a replay.)
    let second = b"Content-Type: text/plain; charset=utf-8\r\n\r\nSecond meeting moved to 8.\r\n";
    let ct = gpg_to_list(
        &ga,
        &[
            "--local-user",
            &alice,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        second,
    );
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &encrypted_mail(&alice, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("2 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    rig.wait_for(&bob, "INBOX", 2, Duration::from_secs(20));
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains(&format!("not sent to {carol}")), "{log}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rig.messages(&carol, "INBOX").len(), 1);
}

#[test]
fn forged_unsigned_and_replayed_posts_never_reach_the_members() {
    let rig = Rig::get();
    let (owner, list_key) = secure("list-pgp-bad");
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let ga = member(&owner, &alice, &list_key, true);
    let _gb = member(&owner, &bob, &list_key, true);

    // Mallory made a key with Alice's address; it is not Alice's key. She
    // cannot log in as Alice: her forgery comes from another server.
    let mallory = Gpg::new();
    mallory.generate(&format!("Alice <{alice}>"), "future-default", "never", &[]);
    let forged = with_headers(
        &alice,
        &owner.list,
        &signed_entity(&mallory, &alice, ENTITY),
    );
    rig.deliver(Some(&alice), &[&owner.list], &forged);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held") && out.contains("0 sent"), "{out}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    assert!(
        held[0]["reason"].as_str().unwrap().contains("signature"),
        "{held}"
    );

    // Unsigned under post-sign force: discarded.
    owner.ok(&["list", "set", &owner.list, "post-sign", "force"]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "unsigned", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );

    // A properly signed post goes out once; the same signed post sent
    // again (new Message-ID, same signature) is a replay.
    let signed = signed_entity(&ga, &alice, ENTITY);
    let first = [
        format!("Message-ID: <one.{alice}>\r\n").as_bytes(),
        &with_headers(&alice, &owner.list, &signed),
    ]
    .concat();
    rig.submit(&alice, Some(&alice), &[&owner.list], &first);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("2 sent"),
        "{out}"
    );
    let replay = [
        format!("Message-ID: <two.{alice}>\r\n").as_bytes(),
        &with_headers(&alice, &owner.list, &signed),
    ]
    .concat();
    rig.submit(&alice, Some(&alice), &[&owner.list], &replay);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains("a replay"), "{log}");

    // Signed ten days before it reached the list: an old post sent again.
    owner.ok(&["list", "set", &owner.list, "post-sign", "yes"]);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old_time = format!("{}!", secs - 10 * 86_400);
    let old = signed_entity_with(
        &ga,
        &alice,
        b"Content-Type: text/plain\r\n\r\nold words\r\n",
        &["--faked-system-time", &old_time],
    );
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &with_headers(&alice, &owner.list, &old),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held") && out.contains("0 sent"), "{out}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let reasons: Vec<_> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("10 days before the post reached the list")),
        "{reasons:?}"
    );
    rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        rig.messages(&bob, "INBOX").len(),
        1,
        "only the one good post reached Bob"
    );
}

#[test]
fn an_owner_notice_about_a_decrypted_post_carries_no_content() {
    let rig = Rig::get();
    let (owner, list_key) = secure("list-pgp-notice");
    let (alice, boss) = (rig.unique("alice"), rig.unique("boss"));
    let ga = member(&owner, &alice, &list_key, true);
    owner.ok(&["member", "add", &owner.list, &boss, "--role", "owner"]);
    // Encrypted to the list but not signed: held under post-sign yes.
    let ct = gpg_to_list(&ga, &["--encrypt", "--recipient", &owner.list], ENTITY);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &encrypted_mail(&alice, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held"), "{out}");
    let notice = &rig.wait_for(&boss, "INBOX", 1, Duration::from_secs(20))[0];
    let text = String::from_utf8_lossy(notice);
    assert!(
        text.contains("not signed by a member") || text.contains("signature"),
        "{text}"
    );
    assert!(
        !text.contains("Secret meeting") && !text.contains("BEGIN PGP"),
        "{text}"
    );
}

#[test]
fn every_post_shape_from_gpg_reaches_members_intact() {
    let rig = Rig::get();
    let (owner, list_key) = secure("list-pgp-shapes");
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);
    owner.ok(&["member", "set", &owner.list, &alice, "own-posts", "no"]);

    // Text and a binary attachment, as a mail client composes them.
    let attachment: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let b64 = {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in attachment.chunks(3) {
            let n = (chunk[0] as u32) << 16
                | (*chunk.get(1).unwrap_or(&0) as u32) << 8
                | *chunk.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                out.push(if k <= chunk.len() {
                    A[(n >> (18 - 6 * k) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out.as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let mixed = format!(
        "Content-Type: multipart/mixed; boundary=\"mx\"\r\n\r\n--mx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMinutes attached.\r\n\
         --mx\r\nContent-Type: application/octet-stream; name=\"minutes.bin\"\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"minutes.bin\"\r\n\r\n{b64}\r\n--mx--\r\n"
    )
    .into_bytes();
    let pgp_mime = encrypted_mail(
        &alice,
        &owner.list,
        &gpg_to_list(
            &ga,
            &[
                "--local-user",
                &alice,
                "--sign",
                "--encrypt",
                "--recipient",
                &owner.list,
            ],
            &mixed,
        ),
    );
    let signed_only = with_headers(
        &alice,
        &owner.list,
        &signed_entity(
            &ga,
            &alice,
            b"Content-Type: text/plain\r\n\r\nSigned, not secret.\r\n",
        ),
    );
    let inner = signed_entity(
        &ga,
        &alice,
        b"Content-Type: text/plain\r\n\r\nSigned inside.\r\n",
    );
    let signed_inside = encrypted_mail(
        &alice,
        &owner.list,
        &gpg_to_list(&ga, &["--encrypt", "--recipient", &owner.list], &inner),
    );
    let clear = gpg_to_list(
        &ga,
        &["--local-user", &alice, "--clearsign"],
        b"Inline words.\n",
    );
    let inline = [
        format!("From: {alice}\r\nTo: {}\r\nSubject: inline\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", owner.list).as_bytes(),
        &mime::crlf(&clear),
    ]
    .concat();

    let inline_ct = gpg_to_list(
        &ga,
        &[
            "--local-user",
            &alice,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        b"Inline secret.\n",
    );
    let inline_encrypted = [
        format!(
            "From: {alice}\r\nTo: {}\r\nSubject: inline secret\r\nContent-Type: text/plain\r\n\r\n",
            owner.list
        )
        .as_bytes(),
        &mime::crlf(&inline_ct),
    ]
    .concat();

    let expected: Vec<(&[u8], Vec<u8>)> = vec![
        (&pgp_mime, mixed.clone()),
        (&signed_only, b"Content-Type: text/plain\r\n\r\nSigned, not secret.\r\n".to_vec()),
        (&signed_inside, b"Content-Type: text/plain\r\n\r\nSigned inside.\r\n".to_vec()),
        (&inline, b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nInline words.\r\n".to_vec()),
        (&inline_encrypted, b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nInline secret.\r\n".to_vec()),
    ];
    for (n, (mail, content)) in expected.iter().enumerate() {
        rig.submit(&alice, Some(&alice), &[&owner.list], mail);
        rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
        let out = owner.run_once();
        assert!(
            out.contains("1 distributed") && out.contains("1 sent"),
            "shape {n}: {out}\n{}",
            owner.ok(&["log", &owner.list])
        );
        let copy = &rig.wait_for(&bob, "INBOX", n + 1, Duration::from_secs(20))[n];
        let payload = verify_list_signature(&gb, &open_copy(&gb, copy), &owner.list);
        let got = poster_content(&payload);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(content),
            "shape {n}"
        );
        // Every shape here is signed by Alice: the list says so inside.
        assert!(
            note(&payload).is_some_and(|n| n.contains(&format!("good signature by {alice}"))),
            "shape {n}"
        );
        assert_eq!(got, *content, "shape {n}: byte for byte");
    }
}

/// Someone about to join asks the list for its key with a mail whose
/// subject is "key": the answer is signed by the list and carries the key;
/// their gpg imports it, checks the signature with it, and its fingerprint
/// is the one the owner sees. An address gets at most three answers a day.
#[test]
fn anyone_gets_the_list_s_key_by_mail_signed_and_a_few_times_a_day() {
    let rig = Rig::get();
    let (owner, _) = secure("list-keycmd");
    let newcomer = rig.unique("newcomer");
    let ask = |n: u32| {
        let mail = rig::post(&newcomer, &owner.list, "key", &format!("please {n}\r\n"));
        rig.submit(&newcomer, Some(&newcomer), &[&owner.list], &mail);
    };
    ask(1);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 answered"), "{out}");
    let answer = rig
        .wait_for(&newcomer, "INBOX", 1, Duration::from_secs(20))
        .remove(0);
    assert_eq!(
        header(&answer, "Subject").as_deref(),
        Some("[Secure] the list's key")
    );
    assert_eq!(
        header(&answer, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );

    // The key inside, imported by the newcomer's gpg...
    let (_, body) = mime::split_head(&answer);
    let ct = header(&answer, "Content-Type").unwrap();
    let signed = mime::parts(body, &mime::param(&ct, "boundary").unwrap()).unwrap()[0].to_vec();
    let mixed_ct = header(&signed, "Content-Type").unwrap();
    let parts = mime::parts(
        mime::split_head(&signed).1,
        &mime::param(&mixed_ct, "boundary").unwrap(),
    )
    .unwrap();
    let key_part = parts
        .iter()
        .find(|p| {
            header(p, "Content-Type")
                .unwrap_or_default()
                .starts_with("application/pgp-keys")
        })
        .expect("the key is attached");
    let g = Gpg::new();
    let imported = g.run(&["--import"], Some(mime::split_head(key_part).1));
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    // ...checks the list's signature on the answer...
    let text =
        String::from_utf8_lossy(&verify_list_signature(&g, &answer, &owner.list)).into_owned();
    // ...and is the key the owner has, which the text names.
    let shown = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    let fpr = shown["fingerprint"].as_str().unwrap().replace(' ', "");
    assert_eq!(fingerprint(&g, &owner.list), fpr);
    assert!(text.contains(&grouped(&fpr)), "{text}");

    // Three answers a day at most.
    for n in 2..=4 {
        ask(n);
    }
    rig.wait_for(&owner.list, "INBOX", 3, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("3 answered"), "{out}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        rig.messages(&newcomer, "INBOX").len(),
        3,
        "the fourth is not answered"
    );
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("not answered, the list wrote to them 3 times"),
        "{log}"
    );
}

/// A post with a 1 MiB attachment reaches members whose key packets have
/// different lengths (Cv25519; RSA-2048; two RSA-2048 encryption
/// subkeys): the shared part of the copies is written in base64 once and
/// each member's key packet in front of it, so the join falls at each of
/// the three places a base64 group can. Each member's gpg and rnp (inside
/// Thunderbird) open their copy to the very same content, with the
/// attachment whole and the list's signature good.
#[test]
fn a_large_post_reaches_members_of_every_key_packet_length_whole() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-large", "Large");
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    let ga = member(&owner, &alice, &list_key, true);
    let keyed = |who: &str, subkeys: usize| {
        let g = Gpg::new();
        let fpr = g.generate(&format!("Member <{who}>"), "rsa2048", "never", &[]);
        for _ in 1..subkeys {
            g.ok(&[
                "--passphrase",
                "",
                "--quick-add-key",
                &fpr,
                "rsa2048",
                "encr",
                "never",
            ]);
        }
        assert!(g.run(&["--import"], Some(&list_key)).status.success());
        let file = g.home.path().join("key.asc");
        std::fs::write(&file, g.export(who)).unwrap();
        owner.ok(&[
            "member",
            "add",
            &owner.list,
            who,
            "--key",
            file.to_str().unwrap(),
        ]);
        g
    };
    let gb = keyed(&bob, 1);
    let gc = keyed(&carol, 2);

    // Bytes that do not compress (xorshift), so the copies are large too.
    let mut x = 2_463_534_242u32;
    let attachment: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let encoded = conclave_engine::crypto::shared_text::lines(&attachment, 76);
    let entity = [
        b"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n\
          Content-Type: text/plain; charset=utf-8\r\n\r\nThe minutes, attached.\r\n--big\r\n\
          Content-Type: application/octet-stream; name=\"minutes.bin\"\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n"
            .as_slice(),
        &encoded,
        b"--big--\r\n",
    ]
    .concat();
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &signed_encrypted_post(&ga, &alice, &owner.list, &entity),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}"
    );

    for (who, g) in [(&alice, &ga), (&bob, &gb), (&carol, &gc)] {
        let copy = &rig.wait_for(who, "INBOX", 1, Duration::from_secs(30))[0];
        let by_gpg = open_copy(g, copy);
        let by_rnp = rig::gpg::rnp_decrypt(g, who, copy);
        assert!(by_gpg == by_rnp, "{who}: gpg and rnp read the same copy");
        let content = poster_content(&verify_signed_by_list(g, &by_gpg, "Large", &owner.list));
        let text = String::from_utf8_lossy(&content).replace("\r\n", "");
        let flat = String::from_utf8_lossy(&encoded).replace("\r\n", "");
        assert!(text.contains(&flat), "{who}: the attachment came whole");
    }
}
