//! S/MIME as members' mail clients make and read it, with the real tools: the
//! `openssl` CLI (OpenSSL 3.0) and `gpgsm` (GnuPG). Nothing here uses
//! Conclave's own S/MIME code, so a test compares the engine against what
//! other software really does.
//!
//! - Certificates: a [`Ca`] issues [`MemberCert`]s, or a member makes a
//!   self-signed one; [`CertSpec`] says which key, which validity and which
//!   SAN email.
//! - Posts made with `openssl cms`: [`MemberCert::signed`],
//!   [`MemberCert::signed_opaque`], [`encrypted`],
//!   [`MemberCert::signed_then_encrypted`], [`tampered`]; [`message`] (or
//!   [`MemberCert::post`]) puts mail headers around them for `Rig::submit`.
//! - The same shapes made with `gpgsm`: [`Gpgsm`].
//! - Reading a member's copy: [`MemberCert::decrypt`], [`verify`].
//!
//! Entities are CRLF throughout: [`text_entity`] and
//! [`entity_with_attachment`] build the inner entity a test later compares
//! byte for byte with what members receive.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use conclave_engine::mime;

// ---------------------------------------------------------------------------
// Running the tools
// ---------------------------------------------------------------------------

/// Runs `program` with `stdin` piped in; its output, or what it said on
/// standard error when it failed.
fn run(
    program: &str,
    env: &[(&str, &Path)],
    args: &[&str],
    stdin: &[u8],
) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Messages in English, so failures read the same on every machine.
    cmd.env("LC_ALL", "C").env("LANGUAGE", "C");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/install-deps.sh test): {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Written from a thread: a large input would otherwise deadlock against
    // a full stdout pipe.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `openssl` with these arguments; panics with its complaint if it fails.
fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    run("openssl", &[], args, stdin).unwrap_or_else(|e| panic!("{e}"))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// The member's key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Too small: for refusal tests.
    Rsa1024,
    Rsa2048,
    Rsa3072,
    /// ECDSA/ECDH on NIST P-256.
    P256,
}

impl KeyKind {
    fn newkey(self) -> &'static [&'static str] {
        match self {
            KeyKind::Rsa1024 => &["-newkey", "rsa:1024"],
            KeyKind::Rsa2048 => &["-newkey", "rsa:2048"],
            KeyKind::Rsa3072 => &["-newkey", "rsa:3072"],
            KeyKind::P256 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        }
    }

    /// RSA keys encrypt the content key; EC keys agree on it (ECDH).
    fn key_usage(self) -> &'static str {
        match self {
            KeyKind::P256 => "digitalSignature,keyAgreement",
            _ => "digitalSignature,keyEncipherment",
        }
    }
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From now for a year.
    Current,
    /// 2020-01-01 to 2021-01-01.
    Expired,
    /// 2099-01-01 to 2100-01-01.
    NotYetValid,
}

impl Validity {
    /// `openssl ca` takes explicit dates, which is how a certificate gets a
    /// notAfter in the past without faking the clock.
    fn args(self) -> &'static [&'static str] {
        match self {
            Validity::Current => &["-days", "365"],
            Validity::Expired => &[
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20210101000000Z",
            ],
            Validity::NotYetValid => &[
                "-startdate",
                "20990101000000Z",
                "-enddate",
                "21000101000000Z",
            ],
        }
    }
}

/// What a member certificate should be. `CertSpec::new(email)` is the usual
/// one: RSA-2048, valid now, SAN rfc822Name = `email`.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// The address the member posts from (also the subject CN).
    pub email: String,
    /// The SAN rfc822Name, when it is not `email` (another address, or one
    /// with a space or a tab in it).
    pub san: Option<String>,
    pub key: KeyKind,
    pub validity: Validity,
}

impl CertSpec {
    pub fn new(email: &str) -> CertSpec {
        CertSpec {
            email: email.to_string(),
            san: None,
            key: KeyKind::Rsa2048,
            validity: Validity::Current,
        }
    }

    pub fn key(mut self, key: KeyKind) -> CertSpec {
        self.key = key;
        self
    }

    pub fn expired(mut self) -> CertSpec {
        self.validity = Validity::Expired;
        self
    }

    pub fn not_yet_valid(mut self) -> CertSpec {
        self.validity = Validity::NotYetValid;
        self
    }

    /// Puts `san` in the certificate instead of `email`. The openssl config
    /// keeps inner spaces and tabs, so `"bob @conclave.test"` and
    /// `"bob\t@conclave.test"` end up in the rfc822Name as written (a NUL
    /// cannot be written there).
    pub fn san_email(mut self, san: &str) -> CertSpec {
        self.san = Some(san.to_string());
        self
    }

    /// An `openssl ca` + `openssl req` config for this certificate, with the
    /// CA database in `db`.
    fn config(&self, db: &Path, issued: bool) -> String {
        let san = self.san.as_deref().unwrap_or(&self.email);
        // A self-signed certificate has no other key to point to.
        let aki = if issued {
            "authorityKeyIdentifier = keyid\n"
        } else {
            ""
        };
        format!(
            "[ca]\ndefault_ca = issuer\n\
             [issuer]\ndatabase = {db}/index.txt\nserial = {db}/serial\nnew_certs_dir = {db}\ndefault_md = sha256\n\
             policy = any\nunique_subject = no\nemail_in_dn = no\ncopy_extensions = none\n\
             [any]\ncommonName = supplied\n\
             [req]\ndistinguished_name = dn\nprompt = no\n\
             [dn]\nCN = {cn}\n\
             [member]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,{ku}\n\
             extendedKeyUsage = emailProtection\nsubjectAltName = email:{san}\n\
             subjectKeyIdentifier = hash\n{aki}",
            db = s(db),
            cn = self.email,
            ku = self.key.key_usage(),
        )
    }
}

/// A certificate authority members' certificates can come from: RSA-3072,
/// self-signed, basicConstraints CA:true.
pub struct Ca {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub cert: PathBuf,
    /// `openssl ca` keeps a database file: one issuance at a time.
    issuing: Mutex<()>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let dir = tempdir("smime-ca");
        let (key, cert) = (dir.path().join("ca.key"), dir.path().join("ca.pem"));
        let conf = dir.path().join("ca.cnf");
        std::fs::write(
            &conf,
            format!(
                "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {name}\n\
                 [v3_ca]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n\
                 subjectKeyIdentifier = hash\n"
            ),
        )
        .unwrap();
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "rsa:3072",
                "-noenc",
                "-days",
                "3650",
                "-config",
                s(&conf),
                "-extensions",
                "v3_ca",
                "-keyout",
                s(&key),
                "-out",
                s(&cert),
            ],
            b"",
        );
        std::fs::write(dir.path().join("index.txt"), b"").unwrap();
        Ca {
            dir,
            key,
            cert,
            issuing: Mutex::new(()),
        }
    }

    /// An authority whose certificate ended in 2021 (self-signed with
    /// `openssl ca`, which takes explicit dates); it issues nothing here.
    pub fn expired(name: &str) -> Ca {
        let dir = tempdir("smime-ca");
        let (key, cert, csr) = (
            dir.path().join("ca.key"),
            dir.path().join("ca.pem"),
            dir.path().join("ca.csr"),
        );
        let conf = dir.path().join("ca.cnf");
        std::fs::write(
            &conf,
            format!(
                "[ca]\ndefault_ca = issuer\n\
                 [issuer]\ndatabase = {db}/index.txt\nserial = {db}/serial\nnew_certs_dir = {db}\ndefault_md = sha256\npolicy = any\n\
                 unique_subject = no\ncopy_extensions = none\n[any]\ncommonName = supplied\n\
                 [req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {name}\n\
                 [v3_ca]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n\
                 subjectKeyIdentifier = hash\n",
                db = s(dir.path()),
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("index.txt"), b"").unwrap();
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-noenc",
                "-config",
                s(&conf),
                "-keyout",
                s(&key),
                "-out",
                s(&csr),
            ],
            b"",
        );
        let mut sign = vec![
            "ca",
            "-batch",
            "-notext",
            "-rand_serial",
            "-selfsign",
            "-config",
            s(&conf),
            "-extensions",
            "v3_ca",
            "-keyfile",
            s(&key),
            "-in",
            s(&csr),
            "-out",
            s(&cert),
        ];
        sign.extend_from_slice(Validity::Expired.args());
        openssl(&sign, b"");
        Ca {
            dir,
            key,
            cert,
            issuing: Mutex::new(()),
        }
    }

    /// Answers a certificate request (`csr`, PEM) with a certificate valid
    /// for 30 days, its extensions as asked, written to `out` (PEM).
    pub fn sign_request(&self, csr: &Path, out: &Path) {
        openssl(
            &[
                "x509",
                "-req",
                "-days",
                "30",
                "-copy_extensions",
                "copyall",
                "-in",
                s(csr),
                "-CA",
                s(&self.cert),
                "-CAkey",
                s(&self.key),
                "-out",
                s(out),
            ],
            b"",
        );
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert).unwrap()
    }

    /// A current RSA-2048 certificate for `email`.
    pub fn issue(&self, email: &str) -> MemberCert {
        self.issue_with(&CertSpec::new(email))
    }

    pub fn issue_with(&self, spec: &CertSpec) -> MemberCert {
        let _one_at_a_time = self.issuing.lock().unwrap();
        MemberCert::make(spec, Some(self))
    }
}

/// A member's key and certificate (PEM files in a folder of their own).
pub struct MemberCert {
    pub dir: tempfile::TempDir,
    /// The address the member posts from.
    pub email: String,
    pub key: PathBuf,
    pub cert: PathBuf,
    /// A copy of the issuing CA's certificate; `None` when self-signed.
    pub issuer: Option<PathBuf>,
}

impl MemberCert {
    /// A current self-signed RSA-2048 certificate for `email`.
    pub fn self_signed(email: &str) -> MemberCert {
        MemberCert::self_signed_with(&CertSpec::new(email))
    }

    pub fn self_signed_with(spec: &CertSpec) -> MemberCert {
        MemberCert::make(spec, None)
    }

    /// Key and request with `openssl req`, then the certificate with
    /// `openssl ca` (by the CA, or `-selfsign` with the member's own key),
    /// because only `ca` takes explicit validity dates.
    fn make(spec: &CertSpec, ca: Option<&Ca>) -> MemberCert {
        let dir = tempdir("smime-member");
        let p = |name: &str| dir.path().join(name);
        let (key, cert, csr, conf) = (p("key.pem"), p("cert.pem"), p("req.pem"), p("member.cnf"));
        let db = ca
            .map(|ca| ca.dir.path().to_path_buf())
            .unwrap_or_else(|| dir.path().to_path_buf());
        if ca.is_none() {
            std::fs::write(db.join("index.txt"), b"").unwrap();
        }
        std::fs::write(&conf, spec.config(&db, ca.is_some())).unwrap();
        let mut req = vec![
            "req",
            "-new",
            "-noenc",
            "-config",
            s(&conf),
            "-keyout",
            s(&key),
            "-out",
            s(&csr),
        ];
        req.extend_from_slice(spec.key.newkey());
        openssl(&req, b"");
        let mut sign = vec![
            "ca",
            "-batch",
            "-notext",
            "-rand_serial",
            "-config",
            s(&conf),
            "-extensions",
            "member",
            "-in",
            s(&csr),
            "-out",
            s(&cert),
        ];
        sign.extend_from_slice(spec.validity.args());
        let issuer = match ca {
            Some(ca) => {
                sign.extend_from_slice(&["-cert", s(&ca.cert), "-keyfile", s(&ca.key)]);
                let copy = p("issuer.pem");
                std::fs::copy(&ca.cert, &copy).unwrap();
                Some(copy)
            }
            None => {
                sign.extend_from_slice(&["-selfsign", "-keyfile", s(&key)]);
                None
            }
        };
        openssl(&sign, b"");
        MemberCert {
            email: spec.email.clone(),
            key,
            cert,
            issuer,
            dir,
        }
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert).unwrap()
    }

    /// The certificate, DER.
    pub fn der(&self) -> Vec<u8> {
        openssl(&["x509", "-in", s(&self.cert), "-outform", "DER"], b"")
    }

    /// A certs-only PKCS#7 bundle (DER, as `.p7c`/`.p7b` files are): the
    /// member's certificate and, if any, the issuing CA's.
    pub fn pkcs7(&self) -> Vec<u8> {
        let mut args = vec![
            "crl2pkcs7",
            "-nocrl",
            "-outform",
            "DER",
            "-certfile",
            s(&self.cert),
        ];
        if let Some(ca) = &self.issuer {
            args.extend_from_slice(&["-certfile", s(ca)]);
        }
        openssl(&args, b"")
    }

    /// Key, certificate and CA certificate as PKCS#12 with `password`, in
    /// OpenSSL 3.0's default encryption (PBES2 with AES-256-CBC, HMAC-SHA-256).
    pub fn pkcs12(&self, password: &str) -> Vec<u8> {
        self.pkcs12_with(password, &[])
    }

    /// Like [`MemberCert::pkcs12`] in the older 3DES/SHA-1 encryption: gpgsm
    /// 2.2 cannot read OpenSSL 3.0's default ("encryptedData error at
    /// pkcs5PBES2-params"), and many clients still export this.
    pub fn pkcs12_3des(&self, password: &str) -> Vec<u8> {
        self.pkcs12_with(
            password,
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        )
    }

    fn pkcs12_with(&self, password: &str, extra: &[&str]) -> Vec<u8> {
        let pass = format!("pass:{password}");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-inkey",
            s(&self.key),
            "-in",
            s(&self.cert),
            "-passout",
            &pass,
        ];
        if let Some(ca) = &self.issuer {
            args.extend_from_slice(&["-certfile", s(ca)]);
        }
        args.extend_from_slice(extra);
        openssl(&args, b"")
    }

    /// `openssl x509 -text`: for checking what a certificate claims.
    pub fn text(&self) -> String {
        String::from_utf8(openssl(
            &["x509", "-in", s(&self.cert), "-noout", "-text"],
            b"",
        ))
        .unwrap()
    }

    /// SHA-1 fingerprint, upper-case hex without colons (gpgsm's spelling).
    pub fn sha1_fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }
}

/// SHA-256 of a PEM certificate file as openssl prints it, in the engine's
/// spelling: upper-case hex in groups of four.
pub fn sha256_fingerprint(cert: &Path) -> String {
    let out = String::from_utf8(openssl(
        &["x509", "-in", s(cert), "-noout", "-fingerprint", "-sha256"],
        b"",
    ))
    .unwrap();
    let hex = out.trim().rsplit('=').next().unwrap().replace(':', "");
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// SHA-1 fingerprint of a PEM certificate file, upper-case hex, no colons.
fn fingerprint(cert: &Path) -> String {
    let out = String::from_utf8(openssl(
        &["x509", "-in", s(cert), "-noout", "-fingerprint", "-sha1"],
        b"",
    ))
    .unwrap();
    out.trim().rsplit('=').next().unwrap().replace(':', "")
}

// ---------------------------------------------------------------------------
// What members post: entities, then openssl cms around them
// ---------------------------------------------------------------------------

/// Lines of base64 as MIME wants them: 76 columns, CRLF.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let text = B64.encode(data);
    let mut out = Vec::with_capacity(text.len() + text.len() / 38);
    for line in text.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A text/plain entity: 7bit when ASCII, else base64 (so signing never
/// depends on a transport keeping 8-bit bytes).
pub fn text_entity(text: &str) -> Vec<u8> {
    let text = mime::crlf(text.as_bytes());
    let mut e = b"Content-Type: text/plain; charset=utf-8\r\n".to_vec();
    if text.is_ascii() {
        e.extend_from_slice(b"Content-Transfer-Encoding: 7bit\r\n\r\n");
        e.extend_from_slice(&text);
        if !e.ends_with(b"\r\n") {
            e.extend_from_slice(b"\r\n");
        }
    } else {
        e.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        e.extend_from_slice(&base64_lines(&text));
    }
    e
}

/// A multipart/mixed entity: the text, then `bytes` as an
/// application/octet-stream attachment called `name`.
pub fn entity_with_attachment(text: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    let boundary = mime::new_boundary(&next().to_be_bytes());
    let mut e =
        format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n")
            .into_bytes();
    e.extend_from_slice(&text_entity(text));
    e.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .as_bytes(),
    );
    e.extend_from_slice(&base64_lines(bytes));
    e.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    e
}

/// A whole message from `from` to `to` around an S/MIME entity: Date, a
/// unique Message-ID, MIME-Version, CRLF, ready for `Rig::submit`.
pub fn message(from: &str, to: &str, subject: &str, entity: &[u8]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("conclave.test");
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{now}.{}.{}.smime@{domain}>\r\nMIME-Version: 1.0\r\n",
        crate::rfc5322_date(now),
        std::process::id(),
        next(),
    )
    .into_bytes();
    m.extend_from_slice(entity);
    m
}

/// openssl's S/MIME output as an entity: CRLF everywhere (`-crlfeol` misses
/// the base64 lines) and without its own MIME-Version line, which belongs to
/// the message, not to an inner entity.
fn as_entity(smime: &[u8]) -> Vec<u8> {
    let out = mime::crlf(smime);
    out.strip_prefix(b"MIME-Version: 1.0\r\n".as_slice())
        .map(<[u8]>::to_vec)
        .unwrap_or(out)
}

/// `openssl cms` over `entity` (CRLF first), S/MIME out. `-binary` signs
/// and encrypts the bytes as given, so the entity a member later gets back
/// can be compared byte for byte.
fn cms(args: &[&str], entity: &[u8]) -> Vec<u8> {
    // Options first: openssl stops reading options at the first file name
    // (encrypt's recipient certificates come last).
    let mut all = vec!["cms", "-binary", "-crlfeol"];
    all.extend_from_slice(args);
    as_entity(&openssl(&all, &mime::crlf(entity)))
}

/// The content encryption a member's client picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Aes128Cbc,
    Aes256Cbc,
    /// AuthEnvelopedData (RFC 5083/5084): smime-type=authEnveloped-data.
    Aes256Gcm,
    /// Weak: for refusal tests.
    Des3,
    /// Weak, 40-bit RC2: only OpenSSL 3.0's legacy provider has it.
    Rc2_40,
}

impl Cipher {
    fn args(self) -> &'static [&'static str] {
        match self {
            Cipher::Aes128Cbc => &["-aes128"],
            Cipher::Aes256Cbc => &["-aes256"],
            Cipher::Aes256Gcm => &["-aes-256-gcm"],
            Cipher::Des3 => &["-des3"],
            Cipher::Rc2_40 => &["-rc2-40", "-provider", "legacy", "-provider", "default"],
        }
    }
}

/// An application/pkcs7-mime enveloped entity of `entity` for the
/// certificates `to` (PEM files), as `openssl cms -encrypt` makes it.
pub fn encrypted(to: &[&Path], cipher: Cipher, entity: &[u8]) -> Vec<u8> {
    let mut args = vec!["-encrypt"];
    args.extend_from_slice(cipher.args());
    args.extend(to.iter().map(|p| s(p)));
    cms(&args, entity)
}

/// `signed` (a multipart/signed entity) with its signed content changed
/// after signing: a line added at the end of the first part, so the entity
/// still parses and only the signature is wrong.
pub fn tampered(signed: &[u8]) -> Vec<u8> {
    let (content, _) = signed_parts(signed).expect("tampered() takes a multipart/signed entity");
    let at = content.as_ptr() as usize - signed.as_ptr() as usize + content.len();
    [
        &signed[..at],
        b"P.S. added after signing\r\n".as_slice(),
        &signed[at..],
    ]
    .concat()
}

/// The signed content and the signature part of a multipart/signed entity.
fn signed_parts(signed: &[u8]) -> Option<(&[u8], &[u8])> {
    let (head, body) = mime::split_head(signed);
    let ct = mime::header(head, "Content-Type")?;
    let parts = mime::parts(body, &mime::param(&ct, "boundary")?)?;
    match parts.as_slice() {
        [content, signature] => Some((content, signature)),
        _ => None,
    }
}

impl MemberCert {
    /// multipart/signed; protocol="application/pkcs7-signature";
    /// micalg="sha-256" — `openssl cms -sign` (detached by default).
    pub fn signed(&self, entity: &[u8]) -> Vec<u8> {
        self.signed_with_digest("sha256", entity)
    }

    /// Like [`MemberCert::signed`] with another digest (`"sha1"` for the
    /// weak-digest refusal).
    pub fn signed_with_digest(&self, md: &str, entity: &[u8]) -> Vec<u8> {
        cms(
            &[
                "-sign",
                "-md",
                md,
                "-signer",
                s(&self.cert),
                "-inkey",
                s(&self.key),
            ],
            entity,
        )
    }

    /// Signed by this member and `other` together: two SignerInfos in one
    /// signature, which no mail client makes and a list must refuse.
    pub fn signed_with(&self, other: &MemberCert, entity: &[u8]) -> Vec<u8> {
        cms(
            &[
                "-sign",
                "-signer",
                s(&self.cert),
                "-inkey",
                s(&self.key),
                "-signer",
                s(&other.cert),
                "-inkey",
                s(&other.key),
            ],
            entity,
        )
    }

    /// application/pkcs7-mime; smime-type=signed-data — the content inside
    /// the CMS blob (`-nodetach`).
    pub fn signed_opaque(&self, entity: &[u8]) -> Vec<u8> {
        cms(
            &[
                "-sign",
                "-nodetach",
                "-signer",
                s(&self.cert),
                "-inkey",
                s(&self.key),
            ],
            entity,
        )
    }

    /// Signed (detached), then the multipart/signed entity encrypted to `to`.
    pub fn signed_then_encrypted(&self, to: &[&Path], cipher: Cipher, entity: &[u8]) -> Vec<u8> {
        encrypted(to, cipher, &self.signed(entity))
    }

    /// A whole message from this member to `to` around an S/MIME entity.
    pub fn post(&self, to: &str, subject: &str, entity: &[u8]) -> Vec<u8> {
        message(&self.email, to, subject, entity)
    }

    /// The member's copy decrypted with `openssl cms -decrypt`: the inner
    /// entity. Panics if it cannot be.
    pub fn decrypt(&self, copy: &[u8]) -> Vec<u8> {
        self.try_decrypt(copy)
            .unwrap_or_else(|e| panic!("{} cannot decrypt its copy: {e}", self.email))
    }

    /// Like [`MemberCert::decrypt`], with openssl's complaint on failure.
    /// `copy` is a whole message: openssl reads its S/MIME headers.
    pub fn try_decrypt(&self, copy: &[u8]) -> Result<Vec<u8>, String> {
        let args = [
            "cms",
            "-decrypt",
            "-binary",
            "-recip",
            s(&self.cert),
            "-inkey",
            s(&self.key),
        ];
        run("openssl", &[], &args, &mime::crlf(copy))
    }
}

/// Checks a signed entity or message (multipart/signed or opaque) with
/// `openssl cms -verify`, trusting only `list_cert` (a PEM file), and gives
/// the signed content byte for byte. The list certificate is self-signed, so
/// it is its own trust anchor: no `-purpose any` is needed, openssl's
/// default S/MIME signing purpose is checked as a member's client would.
pub fn verify(signed: &[u8], list_cert: &Path) -> Result<Vec<u8>, String> {
    // `-binary` alone would rejoin the lines of a multipart/signed part with
    // bare LF, and the signature over the CRLF original would then fail;
    // `-crlfeol` keeps them CRLF, so the content comes back as signed.
    let args = [
        "cms",
        "-verify",
        "-binary",
        "-crlfeol",
        "-CAfile",
        s(list_cert),
    ];
    run("openssl", &[], &args, &mime::crlf(signed))
}

// ---------------------------------------------------------------------------
// gpgsm
// ---------------------------------------------------------------------------

/// A member's gpgsm with a home of its own, holding the member's key
/// (imported from PKCS#12) and trusting its issuer; its agent is stopped at
/// the end. RSA members only: gpgsm 2.2.40 crashes importing a P-256
/// PKCS#12, and refuses to encrypt to a P-256 certificate ("Wrong key
/// usage": no ECDH in its CMS).
pub struct Gpgsm {
    pub home: tempfile::TempDir,
    /// Protects the imported key in the agent too: gpgsm reads the
    /// `--passphrase-fd` line once and answers every question with it.
    passphrase: String,
    signer: String,
}

const GPGSM_PASSPHRASE: &str = "member passphrase";

impl Gpgsm {
    /// Imports `member`'s key and certificates and trusts its CA (or its own
    /// certificate when self-signed).
    pub fn for_member(member: &MemberCert) -> Gpgsm {
        let home = tempfile::Builder::new()
            .prefix("gpgsm")
            .tempdir_in("/tmp")
            .unwrap();
        let g = Gpgsm {
            home,
            passphrase: GPGSM_PASSPHRASE.to_string(),
            signer: member.sha1_fingerprint(),
        };
        // gpgsm 2.2 now and then fails to import a PKCS#12 file openssl
        // wrote ("encryptedData error ... possibly bad passphrase"): seen
        // under the load of the whole test run, never in 100 imports one
        // after another. A fresh export, tried again, goes in.
        let mut tries = 0;
        loop {
            tries += 1;
            let p12 = g.file("member.p12", &member.pkcs12_3des(GPGSM_PASSPHRASE));
            match g.run(&["--import", s(&p12)]) {
                Ok(_) => break,
                Err(e) if tries >= 5 => panic!("{e}"),
                Err(_) => {}
            }
        }
        g.trust(member.issuer.as_deref().unwrap_or(&member.cert));
        g
    }

    /// Imports a certificate (PEM file) and trusts it as a root for signing
    /// and encrypting. `relax` lets a self-signed end-entity certificate
    /// (CA:false, like the list's) be a root: without it gpgsm says "issuer
    /// certificate is not marked as a CA" and will not encrypt to it.
    pub fn trust(&self, cert: &Path) {
        self.ok(&["--import", s(cert)]);
        let line = format!("{} S relax\n", fingerprint(cert));
        let list = self.home.path().join("trustlist.txt");
        let mut text = std::fs::read_to_string(&list).unwrap_or_default();
        if text.contains(&line) {
            return;
        }
        text.push_str(&line);
        std::fs::write(&list, text).unwrap();
        // The agent reads trustlist.txt; make it read it again.
        let _ = self.gpgconf(&["--reload", "gpg-agent"]);
    }

    /// gpgsm with this home, offline (no dirmngr, so no CRLs), answering
    /// passphrase questions itself.
    pub fn run(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let mut all = vec![
            "--batch",
            "--disable-dirmngr",
            "--disable-crl-checks",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
        ];
        all.extend_from_slice(args);
        let stdin = format!("{}\n", self.passphrase);
        run(
            "gpgsm",
            &[("GNUPGHOME", self.home.path())],
            &all,
            stdin.as_bytes(),
        )
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        self.run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn gpgconf(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        run("gpgconf", &[("GNUPGHOME", self.home.path())], args, b"")
    }

    /// Writes `data` to a fresh file in the home (stdin carries the
    /// passphrase, so gpgsm reads its input from files).
    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.home.path().join(format!("{}-{name}", next()));
        std::fs::write(&path, data).unwrap();
        path
    }

    /// gpgsm over `input`, its binary output.
    fn over(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let input = self.file("in", input);
        let mut all = args.to_vec();
        all.extend_from_slice(&["--output", "-", s(&input)]);
        self.ok(&all)
    }

    /// multipart/signed around gpgsm's detached signature (SHA-256).
    pub fn signed(&self, entity: &[u8]) -> Vec<u8> {
        let entity = mime::crlf(entity);
        let sig = self.over(&["--local-user", &self.signer, "--detach-sign"], &entity);
        let boundary = mime::new_boundary(&sig);
        let mut e = format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n \
             boundary=\"{boundary}\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n--{boundary}\r\n"
        )
        .into_bytes();
        e.extend_from_slice(&entity);
        e.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
                 Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
            )
            .as_bytes(),
        );
        e.extend_from_slice(&base64_lines(&sig));
        e.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        e
    }

    /// application/pkcs7-mime; smime-type=signed-data, made by gpgsm.
    pub fn signed_opaque(&self, entity: &[u8]) -> Vec<u8> {
        let blob = self.over(
            &["--local-user", &self.signer, "--sign"],
            &mime::crlf(entity),
        );
        pkcs7_mime("signed-data", &blob)
    }

    /// application/pkcs7-mime; smime-type=enveloped-data for the certificates
    /// `to` (PEM files, trusted on the way), in gpgsm's AES-256-CBC.
    pub fn encrypted(&self, to: &[&Path], entity: &[u8]) -> Vec<u8> {
        let mut args = vec![];
        let fprs: Vec<String> = to.iter().map(|c| fingerprint(c)).collect();
        for (cert, fpr) in to.iter().zip(&fprs) {
            self.trust(cert);
            args.extend_from_slice(&["--recipient", fpr.as_str()]);
        }
        // gpgsm 2.2 defaults to AES-128; members' clients mostly use AES-256.
        args.extend_from_slice(&["--cipher-algo", "AES256", "--encrypt"]);
        pkcs7_mime("enveloped-data", &self.over(&args, &mime::crlf(entity)))
    }

    /// Signed (detached), then encrypted: gpgsm 2.2 has no one-pass
    /// `--sign --encrypt` ("this command has not yet been implemented"), so
    /// it is done as mail clients using gpgsm do it, in two steps.
    pub fn signed_then_encrypted(&self, to: &[&Path], entity: &[u8]) -> Vec<u8> {
        self.encrypted(to, &self.signed(entity))
    }

    /// The member's copy (a whole message or entity) decrypted by gpgsm. It
    /// cannot read AuthEnvelopedData (AES-GCM) nor RC2.
    pub fn decrypt(&self, copy: &[u8]) -> Result<Vec<u8>, String> {
        let blob = pkcs7_body(copy).ok_or("not a base64 application/pkcs7-mime entity")?;
        let input = self.file("copy.p7m", &blob);
        self.run(&["--decrypt", "--output", "-", s(&input)])
    }

    /// Checks a multipart/signed or opaque signed entity with gpgsm; the
    /// signed content. The signer's root must be trusted ([`Gpgsm::trust`]).
    pub fn verify(&self, signed: &[u8]) -> Result<Vec<u8>, String> {
        if let Some((content, sig_part)) = signed_parts(signed) {
            let sig = pkcs7_body(sig_part).ok_or("the signature part is not base64")?;
            let (sig_file, content_file) =
                (self.file("sig.p7s", &sig), self.file("content", content));
            self.run(&["--verify", s(&sig_file), s(&content_file)])?;
            return Ok(content.to_vec());
        }
        let blob = pkcs7_body(signed)
            .ok_or("neither multipart/signed nor base64 application/pkcs7-mime")?;
        let input = self.file("signed.p7m", &blob);
        self.run(&["--verify", "--output", "-", s(&input)])
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let _ = self.gpgconf(&["--kill", "all"]);
    }
}

/// An application/pkcs7-mime entity around a CMS blob. gpgsm writes BER
/// with indefinite lengths; it goes out as it is, base64.
fn pkcs7_mime(smime_type: &str, blob: &[u8]) -> Vec<u8> {
    let mut e = format!(
        "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
    )
    .into_bytes();
    e.extend_from_slice(&base64_lines(blob));
    e
}

/// The decoded body of a base64 entity (a whole message or a part).
fn pkcs7_body(entity: &[u8]) -> Option<Vec<u8>> {
    let (head, body) = mime::split_head(entity);
    let cte = mime::header(head, "Content-Transfer-Encoding")?;
    if !cte.eq_ignore_ascii_case("base64") {
        return None;
    }
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    B64.decode(text).ok()
}
