//! The list's own keys (OpenPGP key, S/MIME certificate), the authorities
//! an S/MIME list trusts, and checking a member's key file of either kind.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use conclave_engine::crypto::openpgp::{KeyAlgo, KeyInfo, ListKey, MemberKey};
use conclave_engine::crypto::smime::{self, CertInfo, ListIdentity, SmimeAlgo};
use conclave_engine::list_key;
use conclave_engine::member_keys::{self, MemberKeyError, MemberKeyView};
use conclave_engine::model::{List, Protocol};
use conclave_engine::secrets::{self, SecretKind};
use conclave_engine::store::{Store, StoreError, StoredKey};

use super::{password, read_file};

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make a new list key (its secret part goes to the keychain only). On
    /// an S/MIME list: a key with a certificate the list signs itself, or
    /// with --csr a request for an authority to sign.
    Generate {
        list: String,
        /// openpgp: ed25519 (Ed25519 + Cv25519, default) or rsa4096;
        /// smime: rsa3072 (default) or p256.
        #[arg(long)]
        algo: Option<String>,
        /// Which key, on a list that has both (default: the list's protocol).
        #[arg(long, value_name = "openpgp|smime")]
        protocol: Option<String>,
        /// S/MIME: write a certificate signing request here instead of
        /// signing the certificate; install the answer with `install-cert`.
        #[arg(long, value_name = "FILE")]
        csr: Option<PathBuf>,
        /// Replace an existing list key.
        #[arg(long)]
        replace: bool,
    },
    /// Take an existing secret key: OpenPGP (armored or binary), or S/MIME
    /// (PKCS#12, or PEM with key and certificate). A passphrase comes from
    /// CONCLAVE_KEY_PASSPHRASE, else is asked for when needed.
    Import {
        list: String,
        file: PathBuf,
        #[arg(long, value_name = "openpgp|smime")]
        protocol: Option<String>,
        #[arg(long)]
        replace: bool,
    },
    /// S/MIME: install the certificate (and chain, PEM) an authority issued
    /// for the request made by `generate --csr`.
    InstallCert { list: String, file: PathBuf },
    /// Print the list's public key (armored) or certificate (PEM), for
    /// members to import.
    Export {
        list: String,
        #[arg(long, value_name = "openpgp|smime")]
        protocol: Option<String>,
    },
    /// Renew the list key before it expires: OpenPGP, the same key with a
    /// later expiry (members refresh it); S/MIME, a self-signed certificate
    /// issued again on the same key (members import it again), or with
    /// --csr a request on the same key for the authority that issued it.
    Renew {
        list: String,
        #[arg(long, value_name = "openpgp|smime")]
        protocol: Option<String>,
        /// Valid for this many days from today.
        #[arg(long, default_value_t = conclave_engine::list_key::RENEW_DAYS)]
        days: u32,
        /// S/MIME from an authority: write the renewal request here; install
        /// the answer with `install-cert`.
        #[arg(long, value_name = "FILE")]
        csr: Option<PathBuf>,
    },
    /// Print fingerprint, algorithms and expiry.
    Show {
        list: String,
        #[arg(long, value_name = "openpgp|smime")]
        protocol: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TrustCmd {
    /// Trust an authority (its certificate, PEM or DER) to vouch for
    /// members' S/MIME certificates.
    Add { list: String, file: PathBuf },
    List {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting an authority (by the fingerprint `trust list` shows).
    Remove { list: String, fingerprint: String },
}

/// The protocol a key command is about: the one asked for, else the
/// list's own.
fn key_protocol(list: &List, asked: Option<&str>) -> Result<Protocol> {
    let protocol = match asked {
        Some(p) => p.parse().map_err(|e: String| anyhow!("--protocol: {e}"))?,
        None => list.protocol,
    };
    if protocol == Protocol::Plain {
        bail!(
            "{} is a plain list: keys are for openpgp and smime lists (or give --protocol openpgp|smime to add one)",
            list.address
        );
    }
    Ok(protocol)
}

fn no_key_yet(list: &List, protocol: Protocol) -> anyhow::Error {
    anyhow!(
        "{} has no {protocol} key yet: `conclave-cli list key generate {} --protocol {protocol}`",
        list.address,
        list.address
    )
}

pub async fn key_cmd(cmd: KeyCmd, store: &Store) -> Result<()> {
    let now = SystemTime::now();
    match cmd {
        KeyCmd::Generate {
            list,
            algo,
            protocol,
            csr,
            replace,
        } => {
            let list = store.list(&list)?;
            match key_protocol(&list, protocol.as_deref())? {
                Protocol::Smime => {
                    let algo: SmimeAlgo = algo
                        .as_deref()
                        .unwrap_or("rsa3072")
                        .parse()
                        .map_err(|e: String| anyhow!("--algo: {e}"))?;
                    refuse_silent_replace(store, &list, Protocol::Smime, replace)?;
                    if let Some(out) = csr {
                        let (key, request) = ListIdentity::request(&list.address, algo)?;
                        std::fs::write(&out, &request)
                            .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))?;
                        secrets::store(
                            &list.address,
                            SecretKind::SmimeListKey,
                            ListIdentity::key_to_keychain(&key)?,
                        )
                        .await?;
                        println!(
                            "{}: the request is in {}; the key is in the keychain.\nSend the request to your authority, then `conclave-cli list key install-cert {} CERT.pem`",
                            list.address,
                            out.display(),
                            list.address
                        );
                        return Ok(());
                    }
                    let identity = ListIdentity::generate(&list.address, algo)?;
                    save_identity(store, &list, &identity, replace).await?;
                    print_cert(&list.address, &identity.info(), false)?;
                }
                _ => {
                    if csr.is_some() {
                        bail!("--csr is for S/MIME certificates");
                    }
                    refuse_silent_replace(store, &list, Protocol::Openpgp, replace)?;
                    let algo: KeyAlgo = algo
                        .as_deref()
                        .unwrap_or("ed25519")
                        .parse()
                        .map_err(|e: String| anyhow!("--algo: {e}"))?;
                    let key = ListKey::generate(&list.name, &list.address, algo, now)?;
                    save_list_key(store, &list, &key, replace).await?;
                    print_key(&list.address, &key.info(now), false)?;
                }
            }
        }
        KeyCmd::Import {
            list,
            file,
            protocol,
            replace,
        } => {
            let list = store.list(&list)?;
            let protocol = key_protocol(&list, protocol.as_deref())?;
            refuse_silent_replace(store, &list, protocol, replace)?;
            let bytes = read_file(&file)?;
            if protocol == Protocol::Smime {
                let pass = if ListIdentity::needs_password(&bytes) {
                    Some(password(
                        "CONCLAVE_KEY_PASSPHRASE",
                        "Password of the PKCS#12 file: ",
                    )?)
                } else {
                    None
                };
                let identity = ListIdentity::import(&bytes, pass.as_ref(), &list.address, now)?;
                save_identity(store, &list, &identity, replace).await?;
                print_cert(&list.address, &identity.info(), false)?;
            } else {
                let passphrase = if ListKey::needs_passphrase(&bytes)? {
                    Some(password(
                        "CONCLAVE_KEY_PASSPHRASE",
                        "Passphrase of the key: ",
                    )?)
                } else {
                    None
                };
                let key = ListKey::import(&bytes, passphrase.as_ref(), &list.address, now)?;
                save_list_key(store, &list, &key, replace).await?;
                print_key(&list.address, &key.info(now), false)?;
            }
        }
        KeyCmd::InstallCert { list, file } => {
            let list = store.list(&list)?;
            let view = conclave_engine::list_key::install_certificate(
                store.dir(),
                &list.address,
                &read_file(&file)?,
            )
            .await?;
            let certs = smime::read_certs(view.public.as_bytes())?;
            print_cert(
                &list.address,
                &smime::info(
                    certs
                        .first()
                        .ok_or_else(|| anyhow!("no certificate was installed"))?,
                ),
                false,
            )?;
        }
        KeyCmd::Export { list, protocol } => {
            let list = store.list(&list)?;
            let protocol = key_protocol(&list, protocol.as_deref())?;
            let key = store
                .list_key(&list, protocol)?
                .ok_or_else(|| no_key_yet(&list, protocol))?;
            print!("{}", String::from_utf8_lossy(&key.cert));
        }
        KeyCmd::Renew {
            list,
            protocol,
            days,
            csr,
        } => {
            let list = store.list(&list)?;
            let protocol = key_protocol(&list, protocol.as_deref())?;
            if let Some(out) = csr {
                if protocol != Protocol::Smime {
                    bail!("--csr is for S/MIME certificates");
                }
                let request = list_key::renewal_request(store.dir(), &list.address).await?;
                std::fs::write(&out, &request)
                    .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))?;
                println!(
                    "{}: the renewal request is in {}; the key stays the same.\nSend it to your authority, then `conclave-cli list key install-cert {} CERT.pem`",
                    list.address,
                    out.display(),
                    list.address
                );
                return Ok(());
            }
            let view = list_key::renew(store.dir(), &list.address, Some(protocol), days).await?;
            println!(
                "{}: {protocol} list key renewed, valid until {}",
                list.address,
                view.expires.as_deref().unwrap_or("never")
            );
            println!("  fingerprint: {}", view.fingerprint);
            println!(
                "Members need the renewed {} before the old expiry: send them `conclave-cli list key export {}`",
                if protocol == Protocol::Smime {
                    "certificate"
                } else {
                    "public key"
                },
                list.address
            );
        }
        KeyCmd::Show {
            list,
            protocol,
            json,
        } => {
            let list = store.list(&list)?;
            let protocol = key_protocol(&list, protocol.as_deref())?;
            let key = store
                .list_key(&list, protocol)?
                .ok_or_else(|| no_key_yet(&list, protocol))?;
            if protocol == Protocol::Smime {
                let cert = smime::read_certs(&key.cert)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow!("no certificate stored"))?;
                print_cert(&list.address, &smime::info(&cert), json)?;
            } else {
                print_key(
                    &list.address,
                    &MemberKey::from_stored(&key.cert)?.info(now),
                    json,
                )?;
            }
        }
    }
    Ok(())
}

pub fn trust_cmd(cmd: TrustCmd, store: &Store) -> Result<()> {
    match cmd {
        TrustCmd::Add { list, file } => {
            let list = store.list(&list)?;
            let trusted = member_keys::trust_authorities(
                store,
                &list,
                &read_file(&file)?,
                std::time::SystemTime::now(),
            )
            .map_err(|e| match e {
                MemberKeyError::Store(e) => anyhow::Error::from(e),
                e => anyhow!("{} is refused: {e}", file.display()),
            })?;
            for info in trusted {
                println!(
                    "{}: trusts {} ({}), valid until {}",
                    list.address, info.subject, info.fingerprint, info.expires
                );
            }
        }
        TrustCmd::List { list, json } => {
            let list = store.list(&list)?;
            let anchors = store.trust_anchors(&list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&anchors)?);
            } else if anchors.is_empty() {
                println!(
                    "{}: no trust anchors; members' certificates are taken only when pinned (--pin)",
                    list.address
                );
            } else {
                for a in anchors {
                    println!("{}  {}", a.fingerprint, a.subject);
                }
            }
        }
        TrustCmd::Remove { list, fingerprint } => {
            let list = store.list(&list)?;
            store.remove_trust_anchor(&list, &fingerprint)?;
            println!("{}: no longer trusts {fingerprint}", list.address);
        }
    }
    Ok(())
}

fn refuse_silent_replace(
    store: &Store,
    list: &List,
    protocol: Protocol,
    replace: bool,
) -> Result<()> {
    if let (false, Some(old)) = (replace, store.list_key(list, protocol)?) {
        return Err(StoreError::ListKeyExists {
            list: list.address.clone(),
            fingerprint: old.fingerprint,
        }
        .into());
    }
    Ok(())
}

/// Keychain first: if it cannot keep the secret, nothing is recorded.
async fn save_list_key(store: &Store, list: &List, key: &ListKey, replace: bool) -> Result<()> {
    secrets::store(&list.address, SecretKind::OpenPgpListKey, key.to_keychain()).await?;
    let stored = StoredKey {
        fingerprint: key.fingerprint(),
        cert: key.public_armored().into_bytes(),
    };
    store.set_list_key(list, Protocol::Openpgp, &stored, replace)?;
    Ok(())
}

async fn save_identity(
    store: &Store,
    list: &List,
    identity: &ListIdentity,
    replace: bool,
) -> Result<()> {
    secrets::store(
        &list.address,
        SecretKind::SmimeListKey,
        ListIdentity::key_to_keychain(identity.key())?,
    )
    .await?;
    let stored = StoredKey {
        fingerprint: identity.fingerprint(),
        cert: identity.public_pem(),
    };
    store.set_list_key(list, Protocol::Smime, &stored, replace)?;
    Ok(())
}

fn print_key(address: &str, info: &KeyInfo, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        println!("{address}: list key");
        println!("  fingerprint: {}", info.fingerprint);
        println!("  algorithms:  {}", info.algorithms.join(", "));
        println!("  created:     {}", info.created);
        println!(
            "  expires:     {}",
            info.expires.as_deref().unwrap_or("never")
        );
        for uid in &info.user_ids {
            println!("  user ID:     {uid}");
        }
    }
    Ok(())
}

fn print_cert(address: &str, info: &CertInfo, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        println!("{address}: list certificate");
        println!("  SHA-256:     {}", info.fingerprint);
        println!("  subject:     {}", info.subject);
        println!(
            "  issuer:      {}{}",
            info.issuer,
            if info.self_signed {
                " (self-signed)"
            } else {
                ""
            }
        );
        println!("  algorithm:   {}", info.algorithm);
        println!("  valid:       {} to {}", info.valid_from, info.expires);
    }
    Ok(())
}

/// What `member list` shows of a member's key.
pub fn member_key_summary(view: &MemberKeyView) -> serde_json::Value {
    match (&view.certificate, view.protocol) {
        (Some(info), _) => serde_json::json!({
            "protocol": "smime", "fingerprint": info.fingerprint, "algorithms": [info.algorithm],
            "expires": info.expires, "subject": info.subject, "usable": view.usable,
        }),
        (None, Protocol::Smime) => {
            serde_json::json!({ "protocol": "smime", "fingerprint": view.key.fingerprint, "usable": false })
        }
        (None, _) if view.key.algorithms.is_empty() => {
            serde_json::json!({ "protocol": "openpgp", "fingerprint": view.key.fingerprint, "usable": false })
        }
        (None, _) => serde_json::json!({
            "protocol": "openpgp", "fingerprint": view.key.fingerprint, "algorithms": view.key.algorithms,
            "expires": view.key.expires, "user_ids": view.key.user_ids, "usable": view.usable,
        }),
    }
}
