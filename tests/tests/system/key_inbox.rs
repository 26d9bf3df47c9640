//! Keys that come with mail, on the real rig: a member's new key in a post
//! signed by their current key replaces it, and they are told encrypted to
//! the new one; every other new key (a keyless member's, a non-member's, a
//! forger's for a member) waits in the key inbox for the owner's Accept or
//! Reject, and a rejected key does not come back.

use std::time::Duration;

use rig::Rig;
use rig::gpg::{
    Gpg, encrypted_mail, gpg_to_list, open_copy, signed_entity, verify_signed_by_list,
    with_autocrypt, with_headers,
};
use rig::lists::{fingerprint, gpg_member as member, grouped, openpgp_list};

/// A text entity with `key` attached (armored).
fn with_key_attached(text: &str, key: &[u8]) -> Vec<u8> {
    format!(
        "Content-Type: multipart/mixed; boundary=\"k1\"\r\n\r\n--k1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--k1\r\n\
         Content-Type: application/pgp-keys; name=\"key.asc\"\r\n\r\n{}\r\n--k1--\r\n",
        String::from_utf8_lossy(key)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .trim_end()
    )
    .into_bytes()
}

fn pending(owner: &rig::owner::Owner) -> Vec<serde_json::Value> {
    owner
        .json(&["keys", "pending", &owner.list, "--json"])
        .as_array()
        .unwrap()
        .clone()
}

fn key_of(owner: &rig::owner::Owner, who: &str) -> String {
    let listed = owner.json(&["member", "list", &owner.list, "--json"]);
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"].as_str() == Some(who))
        .unwrap_or_else(|| panic!("{who} is no member: {listed}"))
        .to_string()
}

#[test]
fn a_member_rotates_their_key_by_signed_mail_and_other_keys_wait_for_the_owner() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-keyinbox", "Inbox");
    let (alice, bob, carol, eve) = (
        rig.unique("alice"),
        rig.unique("bob"),
        rig.unique("carol"),
        rig.unique("eve"),
    );
    let _ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);
    let gc = member(&owner, &carol, &list_key, false);
    let old = fingerprint(&gb, &bob);

    // Bob's new key, in a post signed (and encrypted) with his current one.
    let gb2 = Gpg::new();
    gb2.generate(&format!("Bob <{bob}>"), "future-default", "never", &[]);
    let new = fingerprint(&gb2, &bob);
    let entity = with_key_attached("My new key is attached.", &gb2.export(&bob));
    let ct = gpg_to_list(
        &gb,
        &[
            "--local-user",
            &old,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        &entity,
    );
    rig.submit(
        &bob,
        Some(&bob),
        &[&owner.list],
        &encrypted_mail(&bob, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 distributed"), "{out}");
    assert!(
        key_of(&owner, &bob).contains(&grouped(&new)),
        "rotated: {}",
        key_of(&owner, &bob)
    );
    // Bob is told, encrypted to his new key (only gb2 holds it).
    let got = rig.wait_for(&bob, "INBOX", 2, Duration::from_secs(20));
    let told = got
        .iter()
        .find(|m| String::from_utf8_lossy(m).contains("your new key"))
        .expect("the notice of the new key");
    assert!(gb2.run(&["--import"], Some(&list_key)).status.success());
    let inner = open_copy(&gb2, told);
    let words = verify_signed_by_list(&gb2, &inner, "Inbox", &owner.list);
    let words = String::from_utf8_lossy(&words).replace("\r\n", "\n");
    assert!(
        words.contains(&grouped(&new)) && words.contains(&grouped(&old)),
        "{words}"
    );

    // Carol (a member without a key) signs a post and sends her key in an
    // Autocrypt header; Eve (no member) sends hers; someone sends a key for
    // Bob in an unsigned post.
    let carol_post = with_autocrypt(
        with_headers(
            &carol,
            &owner.list,
            &signed_entity(&gc, &carol, b"Content-Type: text/plain\r\n\r\nHi all.\r\n"),
        ),
        &gc,
        &carol,
    );
    rig.submit(&carol, Some(&carol), &[&owner.list], &carol_post);
    let ge = Gpg::new();
    ge.generate(&format!("Eve <{eve}>"), "future-default", "never", &[]);
    let eve_mail = with_autocrypt(
        rig::post(&eve, &owner.list, "hello", "Hello.\r\n"),
        &ge,
        &eve,
    );
    rig.submit(&eve, Some(&eve), &[&owner.list], &eve_mail);
    let forger = Gpg::new();
    forger.generate(&format!("Bob <{bob}>"), "future-default", "never", &[]);
    let forged = with_autocrypt(
        rig::post(&bob, &owner.list, "new key", "Take this.\r\n"),
        &forger,
        &bob,
    );
    rig.deliver(Some(&bob), &[&owner.list], &forged);
    rig.wait_for(&owner.list, "INBOX", 3, Duration::from_secs(20));
    owner.run_once();

    let waiting = pending(&owner);
    let entry = |who: &str| {
        waiting
            .iter()
            .find(|k| k["email"].as_str() == Some(who))
            .unwrap_or_else(|| panic!("no key of {who} waits: {waiting:?}"))
            .clone()
    };
    let (c, e, b) = (entry(&carol), entry(&eve), entry(&bob));
    assert_eq!(c["signed_by_it"], true, "{c}");
    assert_eq!(
        c["fingerprint"].as_str().unwrap(),
        grouped(&fingerprint(&gc, &carol))
    );
    assert!(c["how"].as_str().unwrap().contains("Autocrypt"), "{c}");
    assert_eq!(e["member"], false, "{e}");
    assert_eq!(b["signed_by_it"], false, "{b}");
    assert_eq!(
        b["replaces"].as_str().unwrap(),
        grouped(&new),
        "the forged key would replace Bob's current one: {b}"
    );
    assert!(
        key_of(&owner, &bob).contains(&grouped(&new)),
        "nothing replaced silently"
    );

    // The owner decides: Carol's key accepted, Eve's refused until she is a
    // member and then rejected, the forged one rejected.
    let id = |k: &serde_json::Value| k["id"].as_i64().unwrap().to_string();
    owner.ok(&["keys", "accept", &owner.list, &id(&c)]);
    assert!(key_of(&owner, &carol).contains(&grouped(&fingerprint(&gc, &carol))));
    let refused = owner.fails(&["keys", "accept", &owner.list, &id(&e)]);
    assert!(refused.contains("not a member"), "{refused}");
    owner.ok(&["keys", "reject", &owner.list, &id(&e)]);
    owner.ok(&["keys", "reject", &owner.list, &id(&b)]);
    assert!(pending(&owner).is_empty());
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains("from the key inbox: accepted"), "{log}");

    // A rejected key does not come back with the next mail.
    rig.submit(&eve, Some(&eve), &[&owner.list], &eve_mail);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    owner.run_once();
    assert!(pending(&owner).is_empty(), "{:?}", pending(&owner));
}

/// A member whose new key is certified by their current one (`gpg
/// --quick-sign-key` with the old key) sends it in a post not signed by
/// the old key, as after the old one expired: it replaces the old key all
/// the same, logged, and the member is told, encrypted to the new key. The
/// same key without that certification would have waited in the key inbox.
#[test]
fn a_new_key_certified_by_the_member_s_current_key_replaces_it() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-keycert", "Certified");
    let dora = rig.unique("dora");
    let gd = member(&owner, &dora, &list_key, true);
    let old = fingerprint(&gd, &dora);

    let gd2 = Gpg::new();
    gd2.generate(&format!("Dora <{dora}>"), "future-default", "never", &[]);
    let new = fingerprint(&gd2, &dora);
    // Dora certifies her new key with the old one, in her old keyring.
    assert!(
        gd.run(&["--import"], Some(&gd2.export(&new)))
            .status
            .success()
    );
    let signed = gd.run(
        &[
            "--passphrase",
            "",
            "--default-key",
            &old,
            "--quick-sign-key",
            &new,
        ],
        None,
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let certified = gd.export(&new);
    // A post signed with the new key only, the key attached.
    assert!(gd2.run(&["--import"], Some(&list_key)).status.success());
    let post = with_headers(
        &dora,
        &owner.list,
        &signed_entity(
            &gd2,
            &new,
            &with_key_attached("My old key expires; here is my new one.", &certified),
        ),
    );
    rig.submit(&dora, Some(&dora), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    owner.run_once();
    assert!(
        key_of(&owner, &dora).contains(&grouped(&new)),
        "rotated: {}",
        key_of(&owner, &dora)
    );
    assert!(pending(&owner).is_empty(), "{:?}", pending(&owner));
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains("their old key certified it"), "{log}");
    let told = rig
        .wait_for(&dora, "INBOX", 1, Duration::from_secs(20))
        .into_iter()
        .find(|m| String::from_utf8_lossy(m).contains("your new key"))
        .expect("the notice of the new key");
    let by_rnp = rig::gpg::rnp_decrypt(&gd2, &new, &told);
    assert!(
        String::from_utf8_lossy(&by_rnp).contains("encrypts to your new key"),
        "Thunderbird's library opens it with the new key: {}",
        String::from_utf8_lossy(&by_rnp)
    );
    let words = verify_signed_by_list(&gd2, &open_copy(&gd2, &told), "Certified", &owner.list);
    assert!(
        String::from_utf8_lossy(&words)
            .replace("\r\n", "\n")
            .contains(&grouped(&new))
    );
}
