//! The mail rig itself works, and is as strict as real providers:
//! submission delivers into a mailbox on disk only when the envelope sender
//! and the header From are the login's own address; the Gmail-like port
//! rewrites a foreign header From instead; the MX port takes mail from
//! "other servers" with any sender; a wrong password is refused.

use std::time::Duration;

use rig::Rig;

fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// What the server answered, for assertions on its words.
fn refusal(result: Result<(), lettre::transport::smtp::Error>, what: &str) -> String {
    let err = result.expect_err(what);
    assert!(
        err.is_permanent(),
        "{what}: a final (5xx) answer expected, got {err:?}"
    );
    format!("{err:?} {err}")
}

/// `raw` with its `From:` line replaced by `From: {from}`.
fn with_from(raw: &[u8], from: &str) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let (first, rest) = text.split_once("\r\n").unwrap();
    assert!(first.starts_with("From: "), "{first}");
    format!("From: {from}\r\n{rest}").into_bytes()
}

#[test]
fn a_login_sends_as_itself_and_a_wrong_password_is_refused() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));

    let post = rig::post(&alice, &bob, "rig self-test", "Hello from the rig.\r\n");
    rig.submit(&alice, Some(&alice), &[&bob], &post);
    let got = rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0]);
    assert!(
        text.contains("Subject: rig self-test") && text.contains("Hello from the rig."),
        "{text}"
    );

    // Logins and addresses match whatever their letter case.
    let shouting = alice.to_uppercase();
    let mixed = format!(
        "{}@{}",
        alice.split('@').next().unwrap(),
        rig.domain.to_uppercase()
    );
    rig.submit(
        &shouting,
        Some(&mixed),
        &[&bob],
        &rig::post(&shouting, &bob, "case", "x\r\n"),
    );
    rig.wait_for(&bob, "INBOX", 2, Duration::from_secs(20));
    // Without a From, Postfix adds one: the envelope sender, the login.
    let no_from = b"To: someone\r\nSubject: no From\r\n\r\nx\r\n";
    rig.submit(&alice, Some(&alice), &[&bob], no_from);
    let got = rig.wait_for(&bob, "INBOX", 3, Duration::from_secs(20));
    let added = got
        .iter()
        .find(|m| header(m, "Subject").as_deref() == Some("no From"))
        .unwrap();
    assert_eq!(header(added, "From").unwrap(), alice);

    let refused = rig.try_submit(&alice, "wrong-password", Some(&alice), &[&bob], &post);
    let err = refused.expect_err("a wrong password must be refused");
    assert!(
        err.is_permanent() || err.to_string().contains("535"),
        "{err:?}"
    );
}

#[test]
fn a_foreign_or_null_envelope_sender_is_refused() {
    let rig = Rig::get();
    let (alice, bob, mallory) = (
        rig.unique("alice"),
        rig.unique("bob"),
        rig.unique("mallory"),
    );
    let post = rig::post(&alice, &bob, "envelope", "x\r\n");

    let said = refusal(
        rig.try_submit(&alice, &rig.password, Some(&mallory), &[&bob], &post),
        "a foreign sender",
    );
    assert!(
        said.contains("553") && said.contains(&format!("not owned by user {alice}")),
        "{said}"
    );
    let said = refusal(
        rig.try_submit(
            &alice,
            &rig.password,
            Some("alice@elsewhere.test"),
            &[&bob],
            &post,
        ),
        "another domain",
    );
    assert!(said.contains("not owned by user"), "{said}");
    // An account does not submit bounces: those come from servers.
    let bounce = rig::post(
        &format!("MAILER-DAEMON@{}", rig.domain),
        &bob,
        "bounce",
        "x\r\n",
    );
    let said = refusal(
        rig.try_submit(&alice, &rig.password, None, &[&bob], &bounce),
        "the null sender",
    );
    assert!(
        said.contains("553") && said.contains("null sender"),
        "{said}"
    );
    assert!(rig.messages(&bob, "INBOX").is_empty());
}

#[test]
fn a_foreign_header_from_is_refused_as_send_as_denied() {
    let rig = Rig::get();
    let (alice, bob, mallory) = (
        rig.unique("alice"),
        rig.unique("bob"),
        rig.unique("mallory"),
    );

    let forged = rig::post(&mallory, &bob, "not me", "x\r\n");
    let said = refusal(
        rig.try_submit(&alice, &rig.password, Some(&alice), &[&bob], &forged),
        "a foreign From",
    );
    assert!(said.contains("550") && said.contains("5.7.60"), "{said}");
    assert!(
        said.contains(&format!(
            "SendAsDenied: the account {alice} may not send as {mallory}"
        )),
        "{said}"
    );

    let two = with_from(
        &rig::post(&alice, &bob, "two", "x\r\n"),
        &format!("{alice}, {mallory}"),
    );
    let said = refusal(
        rig.try_submit(&alice, &rig.password, Some(&alice), &[&bob], &two),
        "two From addresses",
    );
    assert!(
        said.contains("SendAsDenied") && said.contains("2 From addresses"),
        "{said}"
    );
    assert!(rig.messages(&bob, "INBOX").is_empty());
}

#[test]
fn the_gmail_port_rewrites_a_foreign_header_from_to_the_login() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let post = with_from(
        &rig::post(&alice, &bob, "as someone else", "x\r\n"),
        "\"Alice Example\" <someone@elsewhere.test>",
    );
    rig.try_submit_gmail(&alice, Some(&alice), &[&bob], &post)
        .expect("the Gmail port takes it");
    let got = rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20));
    assert_eq!(
        header(&got[0], "From").unwrap(),
        format!("\"Alice Example\" <{alice}>")
    );
    assert_eq!(header(&got[0], "Subject").unwrap(), "as someone else");

    // The envelope sender is held to the login all the same.
    let said = refusal(
        rig.try_submit_gmail(&alice, Some("someone@elsewhere.test"), &[&bob], &post),
        "a foreign sender",
    );
    assert!(said.contains("not owned by user"), "{said}");
}

#[test]
fn the_mx_port_takes_forgeries_and_bounces_from_other_servers() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    rig.deliver(
        Some("mallory@elsewhere.test"),
        &[&bob],
        &rig::post(&alice, &bob, "forged", "x\r\n"),
    );
    let bounce = rig::post(
        "MAILER-DAEMON@elsewhere.test",
        &bob,
        "Undelivered Mail",
        "gone\r\n",
    );
    rig.deliver(None, &[&bob], &bounce);
    let got = rig.wait_for(&bob, "INBOX", 2, Duration::from_secs(20));
    let by_subject = |s: &str| {
        got.iter()
            .find(|m| header(m, "Subject").as_deref() == Some(s))
            .expect(s)
    };
    let forged = by_subject("forged");
    assert_eq!(header(forged, "From").unwrap(), alice);
    assert_eq!(
        header(forged, "Return-Path").unwrap(),
        "<mallory@elsewhere.test>"
    );
    assert_eq!(
        header(by_subject("Undelivered Mail"), "Return-Path").unwrap(),
        "<>"
    );
}

#[test]
fn the_other_domains_have_accounts_delivery_and_the_same_rules() {
    let rig = Rig::get();
    assert!(
        rig.other_domains.len() >= 2,
        "rig.env names {:?} beside {}: restart the rig with the current start.sh",
        rig.other_domains,
        rig.domain
    );
    let alice = rig.unique("alice");
    let others: Vec<String> = rig
        .other_domains
        .iter()
        .map(|d| rig.unique_at("member", d))
        .collect();
    let to: Vec<&str> = others.iter().map(String::as_str).collect();

    // Mail from conclave.test reaches a mailbox at each domain, on disk
    // under that domain.
    rig.submit(
        &alice,
        Some(&alice),
        &to,
        &rig::post(&alice, &to.join(", "), "across domains", "x\r\n"),
    );
    for (addr, domain) in others.iter().zip(&rig.other_domains) {
        let got = rig.wait_for(addr, "INBOX", 1, Duration::from_secs(20));
        assert_eq!(header(&got[0], "Subject").unwrap(), "across domains");
        let local = addr.split('@').next().unwrap();
        assert!(
            rig.maildir(addr, "INBOX")
                .ends_with(format!("mail/{domain}/{local}/INBOX")),
            "{}",
            rig.maildir(addr, "INBOX").display()
        );
    }

    // An account at another domain logs in and sends as itself, to every
    // domain; letter case does not matter there either.
    let (first, second) = (&others[0], &others[1]);
    rig.submit(
        &first.to_uppercase(),
        Some(first),
        &[&alice, second],
        &rig::post(first, &alice, "from elsewhere", "x\r\n"),
    );
    rig.wait_for(&alice, "INBOX", 1, Duration::from_secs(20));
    rig.wait_for(second, "INBOX", 2, Duration::from_secs(20));

    // The same local part at another domain is someone else.
    let twin = format!("{}@{}", first.split('@').next().unwrap(), rig.domain);
    let said = refusal(
        rig.try_submit(
            first,
            &rig.password,
            Some(&twin),
            &[&alice],
            &rig::post(&twin, &alice, "twin", "x\r\n"),
        ),
        "a sender at another domain",
    );
    assert!(
        said.contains(&format!("not owned by user {first}")),
        "{said}"
    );
    let said = refusal(
        rig.try_submit(
            first,
            &rig.password,
            Some(first),
            &[&alice],
            &rig::post(&twin, &alice, "twin", "x\r\n"),
        ),
        "a header From at another domain",
    );
    assert!(
        said.contains(&format!(
            "SendAsDenied: the account {first} may not send as {twin}"
        )),
        "{said}"
    );
    // Domains the rig does not serve stay refused.
    let said = refusal(
        rig.try_submit(
            first,
            &rig.password,
            Some(first),
            &["someone@elsewhere.test"],
            &rig::post(first, "someone@elsewhere.test", "out", "x\r\n"),
        ),
        "a recipient outside the rig",
    );
    assert!(said.contains("5.7.1"), "{said}");

    // The MX port takes mail for them from other servers.
    rig.deliver(
        Some("someone@elsewhere.test"),
        &[second],
        &rig::post("someone@elsewhere.test", second, "via mx", "x\r\n"),
    );
    let got = rig.wait_for(second, "INBOX", 3, Duration::from_secs(20));
    assert!(
        got.iter()
            .any(|m| header(m, "Subject").as_deref() == Some("via mx"))
    );
    assert_eq!(rig.messages(&alice, "INBOX").len(), 1);
}

/// The EHLO keywords a server on the rig offers, before any TLS.
fn ehlo_keywords(host: &str, port: u16) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect((host, port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("220"), "{line}");
    (&stream).write_all(b"EHLO rig.test\r\n").unwrap();
    let mut keywords = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("250"), "{line}");
        keywords.push(line[4..].trim().to_ascii_uppercase());
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    let _ = (&stream).write_all(b"QUIT\r\n");
    keywords
}

/// The submission port answers on 127.0.0.2 too, the same but without
/// PIPELINING, so that what pipelining saves can be measured over the
/// same round trips (scripts/measure-on-rig.sh, CONCLAVE_RIG_NO_PIPELINING).
#[test]
fn submission_is_offered_with_pipelining_and_without() {
    let rig = Rig::get();
    let with = ehlo_keywords(&rig.host, rig.submission_port);
    let without = ehlo_keywords(&rig.host_nopipelining, rig.submission_port);
    assert!(with.iter().any(|k| k == "PIPELINING"), "{with:?}");
    assert!(!without.iter().any(|k| k == "PIPELINING"), "{without:?}");
    for keywords in [&with, &without] {
        assert!(keywords.iter().any(|k| k == "STARTTLS"), "{keywords:?}");
    }
}

/// A conversation with a server on the rig, before any TLS: each step is
/// written once the answer to the last one is read; the answers (the last
/// line of each), up to the first step the server hangs up on.
fn talk(host: &str, port: u16, steps: &[&[u8]]) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect((host, port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut answer = move || {
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(n) if n > 0 && line.as_bytes().get(3) == Some(&b'-') => continue,
                Ok(n) if n > 0 => return Some(line.trim_end().to_string()),
                _ => return None,
            }
        }
    };
    assert!(answer().is_some_and(|a| a.starts_with("220")));
    let mut answers = Vec::new();
    for step in steps {
        if (&stream).write_all(step).is_err() {
            break;
        }
        match answer() {
            Some(a) => answers.push(a),
            None => break,
        }
    }
    answers
}

/// As Postfix 3.9 does by default: a client that sends a command behind
/// one that must end a group (here EHLO) is cut off, and a message with a
/// bare LF is refused, so that Conclave's pipelining and line endings are
/// checked against what modern providers enforce.
#[test]
fn submission_cuts_off_improper_pipelining_and_refuses_bare_line_feeds() {
    let rig = Rig::get();
    let cut = talk(
        &rig.host,
        rig.smtp_plain_port,
        &[b"EHLO rig.test\r\nNOOP\r\n"],
    );
    assert!(cut[0].contains("synchronization"), "{cut:?}");

    let alice = rig.unique("alice");
    let login = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("\0{alice}\0{}", rig.password),
    );
    let (auth, mail, rcpt) = (
        format!("AUTH PLAIN {login}\r\n"),
        format!("MAIL FROM:<{alice}>\r\n"),
        format!("RCPT TO:<{alice}>\r\n"),
    );
    let message = format!("From: {alice}\r\nSubject: bare\r\n\r\none\ntwo\r\n.\r\n");
    let answers = talk(
        &rig.host,
        rig.smtp_plain_port,
        &[
            b"EHLO rig.test\r\n",
            auth.as_bytes(),
            mail.as_bytes(),
            rcpt.as_bytes(),
            b"DATA\r\n",
            message.as_bytes(),
        ],
    );
    assert!(answers[4].starts_with("354"), "{answers:?}");
    assert!(
        answers.get(5).is_some_and(|a| a.contains("bare <LF>")),
        "{answers:?}"
    );
    assert!(rig.messages(&alice, "INBOX").is_empty());
}
