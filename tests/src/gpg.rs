//! gpg as a member's mail client would run it: a home of its own per member.

use std::process::{Command, Output, Stdio};

/// Every line ending as CRLF, as signatures are made over.
fn crlf(data: &[u8]) -> Vec<u8> {
    conclave_engine::mime::crlf(data)
}

/// A member's gpg with a home of its own; its agent is stopped at the end.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        Gpg { home }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir")
            .arg(self.home.path())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
            ])
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .expect("gpg runs (scripts/test.sh installs gnupg)");
        // Written from a thread of its own: gpg writes while it reads, and a
        // large input would fill both pipes with neither side reading.
        std::thread::scope(|scope| {
            if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
                scope.spawn(move || {
                    use std::io::Write;
                    pipe.write_all(input).unwrap();
                });
            }
            child.wait_with_output().unwrap()
        })
    }

    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args, None);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a key without a passphrase; returns its fingerprint. Except
    /// for "future-default" (Ed25519 with a Cv25519 subkey), `algo` makes
    /// the primary key and, unless it is a signing algorithm, an encryption
    /// subkey of the same algorithm.
    pub fn generate(&self, uid: &str, algo: &str, expire: &str, extra: &[&str]) -> String {
        let mut args = vec!["--passphrase", ""];
        args.extend_from_slice(extra);
        let usage = if algo == "future-default" {
            "default"
        } else {
            "sign,cert"
        };
        args.extend_from_slice(&["--quick-gen-key", uid, algo, usage, expire]);
        self.ok(&args);
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid])).unwrap();
        let fpr = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .unwrap()
            .split(':')
            .nth(9)
            .unwrap()
            .to_string();
        if algo.starts_with("rsa") {
            let mut args = vec!["--passphrase", ""];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--quick-add-key", &fpr, algo, "encr", expire]);
            self.ok(&args);
        }
        fpr
    }

    pub fn export(&self, who: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", who])
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// Runs gpg over `input` with armored output and no trust questions.
pub fn gpg_to_list(g: &Gpg, extra: &[&str], input: &[u8]) -> Vec<u8> {
    let mut args = vec!["--armor", "--trust-model", "always", "--passphrase", ""];
    args.extend_from_slice(extra);
    let out = g.run(&args, Some(input));
    assert!(
        out.status.success(),
        "gpg {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A PGP/MIME encrypted message (RFC 3156) around armored ciphertext.
pub fn encrypted_mail(from: &str, to: &str, ciphertext: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(&crlf(ciphertext));
    m.extend_from_slice(b"\r\n--b1--\r\n");
    m
}

/// A post from `from` to `list` as a member's client sends it: the entity
/// signed with `from`'s key and encrypted to the list's, PGP/MIME.
pub fn signed_encrypted_post(g: &Gpg, from: &str, list: &str, entity: &[u8]) -> Vec<u8> {
    let args = [
        "--local-user",
        from,
        "--sign",
        "--encrypt",
        "--recipient",
        list,
    ];
    encrypted_mail(from, list, &gpg_to_list(g, &args, entity))
}

/// A PGP/MIME signed entity (without message headers) signed by `g`.
pub fn signed_entity(g: &Gpg, who: &str, entity: &[u8]) -> Vec<u8> {
    signed_entity_with(g, who, entity, &[])
}

/// Like [`signed_entity`], with more gpg options (e.g. a faked time).
pub fn signed_entity_with(g: &Gpg, who: &str, entity: &[u8], extra: &[&str]) -> Vec<u8> {
    let mut args = extra.to_vec();
    args.extend_from_slice(&[
        "--local-user",
        who,
        "--detach-sign",
        "--digest-algo",
        "SHA256",
    ]);
    let sig = gpg_to_list(g, &args, &crlf(entity));
    let mut e = b"Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s1\"\r\n\r\n--s1\r\n".to_vec();
    e.extend_from_slice(entity);
    e.extend_from_slice(b"\r\n--s1\r\nContent-Type: application/pgp-signature\r\n\r\n");
    e.extend_from_slice(&crlf(&sig));
    e.extend_from_slice(b"\r\n--s1--\r\n");
    e
}

/// A message with simple headers around an entity.
pub fn with_headers(from: &str, to: &str, entity: &[u8]) -> Vec<u8> {
    [
        format!("From: {from}\r\nTo: {to}\r\nSubject: signed\r\nMIME-Version: 1.0\r\n").as_bytes(),
        entity,
    ]
    .concat()
}

/// Decrypts a member's PGP/MIME copy with their gpg, as their client would:
/// the list-signed entity inside.
pub fn open_copy(g: &Gpg, copy: &[u8]) -> Vec<u8> {
    use conclave_engine::mime;
    let (head, body) = mime::split_head(copy);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    assert_eq!(
        mime::media_type(&ct),
        "multipart/encrypted",
        "{}",
        String::from_utf8_lossy(copy)
    );
    let parts = mime::parts(body, &mime::param(&ct, "boundary").unwrap()).unwrap();
    let out = g.run(&["--decrypt"], Some(mime::split_head(parts[1]).1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Decrypts a member's PGP/MIME copy with rnp, the OpenPGP library inside
/// Thunderbird, with the member's secret key exported from their gpg:
/// what Thunderbird would show (rnp's report of the signature included).
pub fn rnp_decrypt(g: &Gpg, who: &str, copy: &[u8]) -> Vec<u8> {
    use conclave_engine::mime;
    let (head, body) = mime::split_head(copy);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    assert_eq!(
        mime::media_type(&ct),
        "multipart/encrypted",
        "{}",
        String::from_utf8_lossy(copy)
    );
    let parts = mime::parts(body, &mime::param(&ct, "boundary").unwrap()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let secret = home.path().join("secret.asc");
    std::fs::write(
        &secret,
        g.ok(&["--armor", "--passphrase", "", "--export-secret-keys", who]),
    )
    .unwrap();
    let imported = Command::new("rnpkeys")
        .arg("--homedir")
        .arg(home.path())
        .arg("--import")
        .arg(&secret)
        .output()
        .expect("rnpkeys runs (scripts/install-deps.sh installs rnp)");
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let input = home.path().join("copy.asc");
    std::fs::write(&input, mime::split_head(parts[1]).1).unwrap();
    let out = Command::new("rnp")
        .arg("--homedir")
        .arg(home.path())
        .arg("--decrypt")
        .arg(&input)
        .args(["--output", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rnp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Verifies, with the member's gpg, a multipart/signed entity the list
/// signed (`name` is the list key's name); returns the signed content.
pub fn verify_signed_by_list(g: &Gpg, signed: &[u8], name: &str, list: &str) -> Vec<u8> {
    use conclave_engine::mime;
    let ct = mime::header(mime::split_head(signed).0, "Content-Type").unwrap();
    assert_eq!(mime::media_type(&ct), "multipart/signed");
    let parts = mime::parts(
        mime::split_head(signed).1,
        &mime::param(&ct, "boundary").unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (data, sig) = (dir.path().join("data"), dir.path().join("sig.asc"));
    std::fs::write(&data, mime::crlf(parts[0])).unwrap();
    std::fs::write(&sig, mime::split_head(parts[1]).1).unwrap();
    let out = g.run(
        &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
        None,
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.contains(&format!("Good signature from \"{name} <{list}>\"")),
        "{said}"
    );
    mime::crlf(parts[0])
}

/// `mail` with an `Autocrypt` header carrying `who`'s key from `g`.
pub fn with_autocrypt(mail: Vec<u8>, g: &Gpg, who: &str) -> Vec<u8> {
    use base64::Engine;
    let keydata = base64::engine::general_purpose::STANDARD.encode(g.ok(&["--export", who]));
    let folded: Vec<String> = keydata
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let header = format!(
        "Autocrypt: addr={who}; keydata=\r\n {}\r\n",
        folded.join("\r\n ")
    );
    [header.into_bytes(), mail].concat()
}
