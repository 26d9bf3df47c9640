//! The TLS set-up IMAP and SMTP share, made once for a while
//! ([`super::TlsSetups`]), and the handshake on a connected socket.
//!
//! Where OpenSSL is the system's TLS (Linux, the BSDs) Conclave uses it
//! directly, for one reason: the system's certificate authorities. The
//! usual set-up (native-tls, OpenSSL's default paths) parses the whole
//! bundle of some 140 authorities, twice, about 60 ms of CPU, before the
//! first connection of every process: a fifth of a short `run --once`.
//! Here a directory of authorities named by subject hash (`/etc/ssl/certs`
//! on Debian, Ubuntu, Arch, Alpine, openSUSE) is looked up when a server's
//! chain asks for an issuer, so one or two files are read. A system without
//! such a directory, or a bundle named in `SSL_CERT_FILE`, has its bundle
//! read once. The checks are those of native-tls on OpenSSL: TLS 1.2 or
//! later, the chain verified, and the host name (or IP address) matched
//! against the certificate, no partial wildcards.
//!
//! On macOS and Windows it is the system's own TLS (native-tls), which
//! reads no bundle.

use super::{TransportError, parse_ca_pem};

/// The set-up for connections that trust the system's authorities and
/// those of `ca_pem` (a server with its own authority, like the test rig).
pub(crate) fn setup(ca_pem: Option<&str>) -> Result<TlsSetup, TransportError> {
    static SETUPS: std::sync::LazyLock<super::TlsSetups<TlsSetup>> =
        std::sync::LazyLock::new(super::TlsSetups::new);
    SETUPS.get("", ca_pem, || TlsSetup::new(ca_pem))
}

fn setup_failed(detail: impl std::fmt::Display) -> TransportError {
    TransportError::Tls {
        server: "TLS setup".into(),
        detail: detail.to_string(),
    }
}

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
pub use with_openssl::TlsSetup;
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
pub(crate) use with_openssl::TlsStream;

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
mod with_openssl {
    use std::path::{Path, PathBuf};
    use std::pin::Pin;

    use openssl::ssl::{
        Ssl, SslContext, SslContextBuilder, SslFiletype, SslMethod, SslMode, SslOptions,
        SslVerifyMode, SslVersion,
    };
    use openssl::x509::X509VerifyResult;
    use openssl::x509::store::{X509Lookup, X509StoreBuilder};
    use openssl::x509::verify::X509CheckFlags;
    use tokio::io::{AsyncRead, AsyncWrite};

    use super::{TransportError, parse_ca_pem, setup_failed};

    pub(crate) type TlsStream<S> = tokio_openssl::SslStream<S>;

    /// Where the system's authorities are: directories of certificates
    /// named by subject hash, looked up one by one, and a bundle read whole.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub(super) struct Roots {
        pub(super) hashed_dirs: Vec<PathBuf>,
        pub(super) bundle: Option<PathBuf>,
    }

    impl Roots {
        /// The system's, found where OpenSSL and native-tls look
        /// (`SSL_CERT_FILE`, `SSL_CERT_DIR`, then the usual places).
        fn of_system() -> Roots {
            let probe = openssl_probe::probe();
            // The probe takes SSL_CERT_FILE only when it names a file.
            let named = std::env::var_os("SSL_CERT_FILE")
                .is_some_and(|named| probe.cert_file.as_deref() == Some(Path::new(&named)));
            Roots::choose(probe.cert_file, &probe.cert_dir, named, is_hashed)
        }

        /// The bundle is read only when no directory is hashed, or when the
        /// environment names one that lies elsewhere (someone's own
        /// authorities). The system's bundle beside its hashed certificates
        /// (Debian's `/etc/ssl/certs/ca-certificates.crt`) is made from the
        /// same ones, and is not read again.
        pub(super) fn choose(
            bundle: Option<PathBuf>,
            dirs: &[PathBuf],
            named: bool,
            hashed: impl Fn(&Path) -> bool,
        ) -> Roots {
            let hashed_dirs: Vec<PathBuf> = dirs.iter().filter(|d| hashed(d)).cloned().collect();
            let beside_them = |b: &PathBuf| hashed_dirs.iter().any(|d| b.parent() == Some(d));
            let bundle = bundle.filter(|b| hashed_dirs.is_empty() || (named && !beside_them(b)));
            Roots {
                hashed_dirs,
                bundle,
            }
        }
    }

    /// Whether `dir` holds certificates named by subject hash (`5ad8a5d6.0`),
    /// as `openssl rehash` and `update-ca-certificates` make them.
    fn is_hashed(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_str().is_some_and(is_hash_name))
        })
    }

    pub(super) fn is_hash_name(name: &str) -> bool {
        name.split_once('.').is_some_and(|(hash, n)| {
            hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        })
    }

    /// A TLS client context: cheap to clone, shared by every connection.
    #[derive(Clone)]
    pub struct TlsSetup {
        context: SslContext,
    }

    impl std::fmt::Debug for TlsSetup {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("TlsSetup")
        }
    }

    impl TlsSetup {
        /// A set-up trusting the system's authorities and those of `ca_pem`.
        pub fn new(ca_pem: Option<&str>) -> Result<TlsSetup, TransportError> {
            TlsSetup::trusting(&Roots::of_system(), ca_pem)
        }

        pub(super) fn trusting(
            roots: &Roots,
            ca_pem: Option<&str>,
        ) -> Result<TlsSetup, TransportError> {
            let extra = ca_pem.map(parse_ca_pem).transpose()?;
            let mut ctx = SslContextBuilder::new(SslMethod::tls_client()).map_err(setup_failed)?;
            // As the openssl crate's SslConnector sets them up (which
            // native-tls uses), less the default paths.
            let mut options = SslOptions::ALL
                | SslOptions::NO_COMPRESSION
                | SslOptions::NO_SSLV2
                | SslOptions::NO_SSLV3
                | SslOptions::SINGLE_DH_USE
                | SslOptions::SINGLE_ECDH_USE;
            options &= !SslOptions::DONT_INSERT_EMPTY_FRAGMENTS;
            ctx.set_options(options);
            ctx.set_mode(
                SslMode::AUTO_RETRY
                    | SslMode::ACCEPT_MOVING_WRITE_BUFFER
                    | SslMode::ENABLE_PARTIAL_WRITE
                    | SslMode::RELEASE_BUFFERS,
            );
            ctx.set_cipher_list(
                "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK",
            )
            .map_err(setup_failed)?;
            ctx.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup_failed)?;
            ctx.set_verify(SslVerifyMode::PEER);
            let mut store = X509StoreBuilder::new().map_err(setup_failed)?;
            if !roots.hashed_dirs.is_empty() {
                let lookup = store
                    .add_lookup(X509Lookup::hash_dir())
                    .map_err(setup_failed)?;
                for dir in &roots.hashed_dirs {
                    if let Some(dir) = dir.to_str() {
                        lookup
                            .add_dir(dir, SslFiletype::PEM)
                            .map_err(setup_failed)?;
                    }
                }
            }
            if let Some(bundle) = &roots.bundle {
                let lookup = store.add_lookup(X509Lookup::file()).map_err(setup_failed)?;
                // Unreadable, it trusts nothing: a server it would have
                // vouched for is then told as untrusted, as native-tls does.
                let _ = lookup.load_cert_file(bundle, SslFiletype::PEM);
            }
            for cert in extra.into_iter().flatten() {
                store.add_cert(cert).map_err(setup_failed)?;
            }
            ctx.set_cert_store(store.build());
            Ok(TlsSetup {
                context: ctx.build(),
            })
        }

        /// TLS on `stream` to `host`, its certificate checked. The error is
        /// OpenSSL's, with why the chain failed when it did ("unable to get
        /// local issuer certificate", "hostname mismatch").
        pub(crate) async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
            &self,
            host: &str,
            stream: S,
        ) -> Result<TlsStream<S>, String> {
            let mut ssl = Ssl::new(&self.context).map_err(|e| e.to_string())?;
            let ip = host.parse::<std::net::IpAddr>();
            if ip.is_err() {
                ssl.set_hostname(host).map_err(|e| e.to_string())?;
            }
            let param = ssl.param_mut();
            param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            match ip {
                Ok(ip) => param.set_ip(ip),
                Err(_) => param.set_host(host),
            }
            .map_err(|e| e.to_string())?;
            let mut tls = tokio_openssl::SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
            match Pin::new(&mut tls).connect().await {
                Ok(()) => Ok(tls),
                Err(e) => match tls.ssl().verify_result() {
                    X509VerifyResult::OK => Err(e.to_string()),
                    chain => Err(format!("{e}: {}", chain.error_string())),
                },
            }
        }
    }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
pub use with_system_tls::TlsSetup;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
pub(crate) use with_system_tls::TlsStream;

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
mod with_system_tls {
    use tokio::io::{AsyncRead, AsyncWrite};

    use super::{TransportError, parse_ca_pem, setup_failed};

    pub(crate) type TlsStream<S> = tokio_native_tls::TlsStream<S>;

    /// The system's TLS connector: cheap to clone, shared by every
    /// connection.
    #[derive(Clone)]
    pub struct TlsSetup {
        connector: tokio_native_tls::TlsConnector,
    }

    impl TlsSetup {
        /// A set-up trusting the system's authorities and those of `ca_pem`.
        pub fn new(ca_pem: Option<&str>) -> Result<TlsSetup, TransportError> {
            let mut builder = native_tls::TlsConnector::builder();
            builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
            for cert in ca_pem.map(parse_ca_pem).transpose()?.into_iter().flatten() {
                let der = cert.to_der().map_err(setup_failed)?;
                builder.add_root_certificate(
                    native_tls::Certificate::from_der(&der).map_err(setup_failed)?,
                );
            }
            let connector = builder.build().map_err(setup_failed)?;
            Ok(TlsSetup {
                connector: connector.into(),
            })
        }

        pub(crate) async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
            &self,
            host: &str,
            stream: S,
        ) -> Result<TlsStream<S>, String> {
            self.connector
                .connect(host, stream)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(all(
    test,
    not(any(target_os = "macos", target_os = "ios", target_os = "windows"))
))]
mod tests {
    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};

    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::ssl::{SslAcceptor, SslMethod};
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    use openssl::x509::{X509, X509NameBuilder};
    use tokio::io::AsyncReadExt;

    use super::with_openssl::{Roots, is_hash_name};
    use super::*;

    fn key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    /// A certificate for `cn`: an authority's, or a server's for
    /// `localhost` and 127.0.0.1 issued by `issuer`.
    fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(rand_serial()).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
            .unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        match issuer {
            None => {
                b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                    .unwrap();
                b.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap())
                    .unwrap();
            }
            Some((ca, _)) => {
                let san = SubjectAlternativeName::new()
                    .dns("localhost")
                    .ip("127.0.0.1")
                    .build(&b.x509v3_context(Some(ca), None))
                    .unwrap();
                b.append_extension(san).unwrap();
                b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
                    .unwrap();
            }
        }
        let signer = issuer.map_or(key, |(_, k)| k);
        b.sign(signer, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn rand_serial() -> u32 {
        let mut bytes = [0; 4];
        openssl::rand::rand_bytes(&mut bytes).unwrap();
        u32::from_be_bytes(bytes) >> 1
    }

    /// An authority, and a server certificate it issued (with the server's
    /// key).
    fn authority_and_server(authority: &str) -> (X509, X509, PKey<Private>) {
        let ca_key = key();
        let ca = cert(authority, &ca_key, None);
        let server_key = key();
        let server = cert("localhost", &server_key, Some((&ca, &ca_key)));
        (ca, server, server_key)
    }

    /// A TLS server on loopback that says "hello" to one client (if the
    /// handshake goes through). Its port.
    fn server(cert: X509, key: PKey<Private>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acceptor.set_certificate(&cert).unwrap();
        acceptor.set_private_key(&key).unwrap();
        let acceptor = acceptor.build();
        std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            if let Ok(mut tls) = acceptor.accept(tcp) {
                let _ = tls.write_all(b"hello");
                let _ = tls.shutdown();
                let _ = tls.read(&mut [0; 1]);
            }
        });
        port
    }

    /// A directory holding `ca` under its subject hash, as OpenSSL looks
    /// authorities up.
    fn hashed_dir(ca: &X509) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{:08x}.0", ca.subject_name_hash());
        std::fs::write(dir.path().join(name), ca.to_pem().unwrap()).unwrap();
        dir
    }

    /// Connects to 127.0.0.1 with `host` as the server's name, trusting
    /// `roots`: what the server said, or why TLS failed.
    async fn talk(
        roots: &Roots,
        ca_pem: Option<&str>,
        host: &str,
        port: u16,
    ) -> Result<String, String> {
        let setup = TlsSetup::trusting(roots, ca_pem).unwrap();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut tls = setup.connect(host, tcp).await?;
        let mut said = String::new();
        tls.read_to_string(&mut said)
            .await
            .map_err(|e| e.to_string())?;
        Ok(said)
    }

    fn dirs(dir: &Path) -> Roots {
        Roots {
            hashed_dirs: vec![dir.to_path_buf()],
            bundle: None,
        }
    }

    #[tokio::test]
    async fn an_authority_is_found_by_its_hash_without_reading_a_bundle() {
        let (ca, cert, key) = authority_and_server("Test authority");
        let dir = hashed_dir(&ca);
        let said = talk(&dirs(dir.path()), None, "localhost", server(cert, key)).await;
        assert_eq!(said.as_deref(), Ok("hello"));
    }

    #[tokio::test]
    async fn an_ip_address_is_matched_against_the_certificate() {
        let (ca, cert, key) = authority_and_server("Test authority");
        let dir = hashed_dir(&ca);
        let said = talk(&dirs(dir.path()), None, "127.0.0.1", server(cert, key)).await;
        assert_eq!(said.as_deref(), Ok("hello"));
    }

    #[tokio::test]
    async fn a_server_under_another_name_is_refused_as_untrusted() {
        let (ca, cert, key) = authority_and_server("Test authority");
        let dir = hashed_dir(&ca);
        let err = talk(
            &dirs(dir.path()),
            None,
            "mail.example.org",
            server(cert, key),
        )
        .await
        .unwrap_err();
        assert!(err.contains("hostname mismatch"), "{err}");
        assert!(matches!(
            super::super::tls_failure("s".into(), err),
            TransportError::BadCertificate { .. }
        ));
    }

    #[tokio::test]
    async fn an_authority_the_system_lacks_is_not_trusted() {
        let (_, cert, key) = authority_and_server("Test authority");
        let (other, _, _) = authority_and_server("Another authority");
        let dir = hashed_dir(&other);
        let err = talk(&dirs(dir.path()), None, "localhost", server(cert, key))
            .await
            .unwrap_err();
        assert!(
            err.contains("unable to get local issuer certificate"),
            "{err}"
        );
        assert!(matches!(
            super::super::tls_failure("s".into(), err),
            TransportError::BadCertificate { .. }
        ));
    }

    #[tokio::test]
    async fn a_bundle_is_read_where_no_directory_is_hashed() {
        let (ca, cert, key) = authority_and_server("Test authority");
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("ca-certificates.crt");
        let (other, _, _) = authority_and_server("Another authority");
        let mut pem = other.to_pem().unwrap();
        pem.extend(ca.to_pem().unwrap());
        std::fs::write(&bundle, pem).unwrap();
        let roots = Roots {
            hashed_dirs: vec![],
            bundle: Some(bundle),
        };
        let said = talk(&roots, None, "localhost", server(cert, key)).await;
        assert_eq!(said.as_deref(), Ok("hello"));
    }

    #[tokio::test]
    async fn the_accounts_own_authority_is_trusted_beside_the_system() {
        let (ca, cert, key) = authority_and_server("Test authority");
        let pem = String::from_utf8(ca.to_pem().unwrap()).unwrap();
        let said = talk(
            &Roots::default(),
            Some(&pem),
            "localhost",
            server(cert, key),
        )
        .await;
        assert_eq!(said.as_deref(), Ok("hello"));
    }

    #[test]
    fn the_bundle_is_read_only_without_a_hashed_directory_or_when_named() {
        let system = Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
        let dirs = [
            PathBuf::from("/etc/ssl/certs"),
            PathBuf::from("/etc/pki/tls/certs"),
        ];
        let debian = |d: &Path| d == Path::new("/etc/ssl/certs");
        let looked_up = Roots {
            hashed_dirs: vec![dirs[0].clone()],
            bundle: None,
        };
        assert_eq!(
            Roots::choose(system.clone(), &dirs, false, debian),
            looked_up
        );
        assert_eq!(
            Roots::choose(system.clone(), &dirs, true, debian),
            looked_up,
            "SSL_CERT_FILE names the bundle made beside the hashed certificates"
        );
        let own = Some(PathBuf::from("/home/ada/authorities.pem"));
        assert_eq!(
            Roots::choose(own.clone(), &dirs, true, debian).bundle,
            own,
            "SSL_CERT_FILE names another bundle"
        );
        let fedora = |_: &Path| false;
        assert_eq!(
            Roots::choose(system.clone(), &dirs, false, fedora),
            Roots {
                hashed_dirs: vec![],
                bundle: system.clone()
            }
        );
    }

    #[test]
    fn hash_names_are_eight_hex_digits_and_a_number() {
        for name in ["5ad8a5d6.0", "002c0b4f.1", "ABCDEF01.12"] {
            assert!(is_hash_name(name), "{name}");
        }
        for name in [
            "ca-certificates.crt",
            "5ad8a5d6",
            "5ad8a5d6.",
            "5ad8a5d.0",
            "5ad8a5d6.pem",
            "README",
        ] {
            assert!(!is_hash_name(name), "{name}");
        }
    }
}
