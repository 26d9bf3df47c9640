//! Which SMTP client a lane should be, measured (issue 13 asks to choose
//! between lettre and async-smtp by measurement). The same copies, handed
//! over ONE connection (STARTTLS and AUTH included, from the connection to
//! its QUIT) to the rig's submission server by:
//!
//! - Conclave's lane: lettre's connection with Conclave's own pipelining
//!   (`transport::smtp::Outgoing`: a copy's message, its dot and the next
//!   copy's MAIL, RCPT and DATA in one write, one round trip a copy);
//! - async-smtp (the SMTP client of Delta Chat's core): MAIL, RCPT and
//!   DATA pipelined, then the message, two round trips a copy;
//! - the bare client of the floor (Python's smtplib, `bare_smtp.py`), one
//!   command at a time, four round trips a copy.
//!
//! Copies a second, the median of a few rounds, the clients in turn. Over
//! loopback a round trip is free and what shows is each client's own work;
//! `CONCLAVE_RIG_LATENCY_MS=12 bash scripts/measure-smtp-clients.sh` puts
//! 12 ms each way in front of the submission server, as a provider across
//! a country. CONCLAVE_BENCH_COPIES sets the copies a round (100 by
//! default). It prints figures; it asserts nothing about time.

use std::pin::Pin;
use std::time::{Duration, Instant};

use conclave_engine::model::{Endpoint, TlsMode};
use conclave_engine::transport::smtp::{Addressed, Outgoing, SendOutcome};
use rig::Rig;

#[path = "shared/bare.rs"]
mod bare;
use bare::bare_client;

const ROUNDS: usize = 3;
/// Copies go to this many mailboxes in turn.
const MAILBOXES: usize = 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// A copy about the size of a short post signed and encrypted to one
/// member (an armored OpenPGP message of some 4 KB).
fn copy(from: &str, to: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Meeting\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n"
    );
    for i in 0..60 {
        m.push_str(&format!("{i:02}{}\r\n", "wcFMA8nHq0Z3b6t1ARAAm".repeat(3)));
    }
    m.push_str("-----END PGP MESSAGE-----\r\n");
    m.into_bytes()
}

/// The rig's submission server: its host and port, as this run reaches it
/// (behind the latency proxy when there is one).
fn endpoint(rig: &Rig, user: &str) -> Endpoint {
    Endpoint {
        host: rig.host.clone(),
        port: rig.submission_port,
        tls: TlsMode::Starttls,
        user: user.to_string(),
    }
}

/// Conclave's lane: the first envelope alone, then each message with the
/// next envelope.
async fn conclave(rig: &Rig, user: &str, to: &[String], message: &[u8]) -> f64 {
    let ca = std::fs::read_to_string(&rig.ca_path).unwrap();
    let start = Instant::now();
    let mut conn = Outgoing::connect(&endpoint(rig, user), Some(&ca), &rig.password)
        .await
        .unwrap_or_else(|e| panic!("Conclave's lane cannot log in: {e}"));
    let copy = |to| Addressed {
        from: user,
        to,
        message,
    };
    conn.offer(copy(to[0].as_str()))
        .await
        .unwrap_or_else(|e| panic!("the first envelope: {e:?}"));
    for k in 0..to.len() {
        let next = to.get(k + 1).map(|t| copy(t.as_str()));
        let (sent, offered) = conn.hand_over(message, next).await;
        assert_eq!(sent, SendOutcome::Sent, "copy {k}");
        if next.is_some() {
            assert!(matches!(offered, Some(Ok(()))), "envelope {}", k + 1);
        }
    }
    conn.quit().await;
    start.elapsed().as_secs_f64()
}

/// async-smtp over the same kind of socket (TCP_NODELAY, OpenSSL): EHLO,
/// STARTTLS, EHLO again, AUTH PLAIN, then `send` for each copy; with its
/// pipelining on (its default) or off.
async fn async_smtp(rig: &Rig, user: &str, to: &[String], message: &[u8], pipelining: bool) -> f64 {
    use async_smtp::authentication::{Credentials, Mechanism};
    use async_smtp::{Envelope, SendableEmail, SmtpClient, SmtpTransport};
    use tokio::io::BufStream;

    let mut tls =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    tls.set_ca_file(&rig.ca_path).unwrap();
    let tls = tls.build();
    let start = Instant::now();
    let tcp = tokio::net::TcpStream::connect((rig.host.as_str(), rig.submission_port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let plain = SmtpTransport::new(SmtpClient::new(), BufStream::new(tcp))
        .await
        .unwrap();
    let tcp = plain.starttls().await.unwrap().into_inner();
    let ssl = tls.configure().unwrap().into_ssl(&rig.host).unwrap();
    let mut stream = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
    Pin::new(&mut stream).connect().await.unwrap();
    let mut smtp = SmtpTransport::new(
        SmtpClient::new().without_greeting().pipelining(pipelining),
        BufStream::new(stream),
    )
    .await
    .unwrap();
    smtp.auth(
        Mechanism::Plain,
        &Credentials::new(user.to_string(), rig.password.clone()),
    )
    .await
    .unwrap();
    for t in to {
        let envelope =
            Envelope::new(Some(user.parse().unwrap()), vec![t.parse().unwrap()]).unwrap();
        smtp.send(SendableEmail::new(envelope, message.to_vec()))
            .await
            .unwrap();
    }
    smtp.quit().await.unwrap();
    start.elapsed().as_secs_f64()
}

/// The floor's bare client, one connection: its own seconds.
fn bare(rig: &Rig, user: &str, to: &[String], message: &[u8]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    for (i, t) in to.iter().enumerate() {
        let mut file = format!("{t}\n").into_bytes();
        file.extend_from_slice(message);
        std::fs::write(dir.path().join(format!("{i:05}")), file).unwrap();
    }
    let more = ["1", dir.path().to_str().unwrap()];
    bare_client(rig, "bare_smtp.py", rig.submission_port, user, &more)
}

/// Waits until the mailboxes hold `count` messages in all, so that the
/// server's deliveries of one client's copies do not slow the next.
fn drained(rig: &Rig, mailboxes: &[String], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while mailboxes
        .iter()
        .map(|m| rig.messages(m, "INBOX").len())
        .sum::<usize>()
        < count
    {
        assert!(Instant::now() < deadline, "the copies did not all arrive");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let rig = Rig::get();
    let copies: usize = std::env::var("CONCLAVE_BENCH_COPIES")
        .map(|s| s.parse().expect("CONCLAVE_BENCH_COPIES: a number"))
        .unwrap_or(100);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let user = rig.unique("smtp-clients");
    let mailboxes: Vec<String> = (0..MAILBOXES)
        .map(|i| rig.unique(&format!("c{i}")))
        .collect();
    let to: Vec<String> = (0..copies)
        .map(|i| mailboxes[i % MAILBOXES].clone())
        .collect();
    let message = copy(&user, "members@conclave.invalid");
    let names = [
        "Conclave's lane (lettre and its own pipelining)",
        "async-smtp, its pipelining on (its default)",
        "async-smtp, its pipelining off",
        "the bare client (Python's smtplib)",
    ];
    let mut took: [Vec<f64>; 4] = Default::default();
    let mut delivered = 0;
    for round in 0..ROUNDS {
        for i in 0..names.len() {
            // Each round starts with another client.
            let which = (i + round) % names.len();
            let seconds = match which {
                0 => runtime.block_on(conclave(rig, &user, &to, &message)),
                1 => runtime.block_on(async_smtp(rig, &user, &to, &message, true)),
                2 => runtime.block_on(async_smtp(rig, &user, &to, &message, false)),
                _ => bare(rig, &user, &to, &message),
            };
            took[which].push(seconds);
            delivered += copies;
            drained(rig, &mailboxes, delivered);
        }
    }
    println!(
        "{copies} copies of {} bytes over one connection, STARTTLS and AUTH included, medians of {ROUNDS} rounds:",
        message.len()
    );
    for (name, t) in names.iter().zip(&took) {
        let m = median(t.clone());
        println!(
            "  {name}: {m:.2} s, {:.1} copies a second (rounds {})",
            copies as f64 / m,
            t.iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
