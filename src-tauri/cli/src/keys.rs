//! The list's own keys (OpenPGP key, S/MIME certificate), the authorities
//! an S/MIME list trusts, and checking a member's key file of either kind.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use conclave_engine::crypto::openpgp::KeyInfo;
use conclave_engine::crypto::smime::{self, CertInfo};
use conclave_engine::member_keys::{MemberKeyError, MemberKeyView};
use conclave_engine::model::Protocol;
use conclave_engine::owner::keys::{self, KeyShown};
use conclave_engine::owner::{OwnerError, trust};
use conclave_engine::store::Store;

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
        #[arg(long, default_value_t = conclave_engine::owner::keys::RENEW_DAYS)]
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

fn parse_protocol(asked: Option<&str>) -> Result<Option<Protocol>> {
    asked
        .map(|p| {
            p.parse()
                .map_err(|e: conclave_engine::model::BadValue| anyhow!("--protocol: {e}"))
        })
        .transpose()
}

fn print_shown(address: &str, shown: &KeyShown, json: bool) -> Result<()> {
    match shown {
        KeyShown::OpenPgp(info) => print_key(address, info, json),
        KeyShown::Smime(info) => print_cert(address, info, json),
    }
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
            let asked = parse_protocol(protocol.as_deref())?;
            let Some(out) = csr else {
                let shown =
                    keys::generate(store, &list, asked, algo.as_deref(), replace, now).await?;
                return print_shown(&store.list(&list)?.address, &shown, false);
            };
            if keys::protocol_for(&store.list(&list)?, asked)? != Protocol::Smime {
                bail!("--csr is for S/MIME certificates");
            }
            let request = keys::request(store, &list, algo.as_deref(), replace).await?;
            let address = store.list(&list)?.address;
            std::fs::write(&out, &request)
                .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))?;
            println!(
                "{address}: the request is in {}; the key is in the keychain.\nSend the request to your authority, then `conclave-cli list key install-cert {address} CERT.pem`",
                out.display(),
            );
        }
        KeyCmd::Import {
            list,
            file,
            protocol,
            replace,
        } => {
            let asked = parse_protocol(protocol.as_deref())?;
            let protocol = keys::protocol_for(&store.list(&list)?, asked)?;
            let bytes = read_file(&file)?;
            let passphrase = if keys::needs_passphrase(protocol, &bytes)? {
                Some(password(
                    "CONCLAVE_KEY_PASSPHRASE",
                    if protocol == Protocol::Smime {
                        "Password of the PKCS#12 file: "
                    } else {
                        "Passphrase of the key: "
                    },
                )?)
            } else {
                None
            };
            let shown = keys::import(
                store,
                &list,
                Some(protocol),
                &bytes,
                passphrase.as_ref(),
                replace,
                now,
            )
            .await?;
            print_shown(&store.list(&list)?.address, &shown, false)?;
        }
        KeyCmd::InstallCert { list, file } => {
            let list = store.list(&list)?;
            let view =
                keys::install_certificate(store.dir(), &list.address, &read_file(&file)?).await?;
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
            let cert = keys::export(store, &list, parse_protocol(protocol.as_deref())?)?;
            print!("{}", String::from_utf8_lossy(&cert));
        }
        KeyCmd::Renew {
            list,
            protocol,
            days,
            csr,
        } => {
            let list = store.list(&list)?;
            let protocol = keys::protocol_for(&list, parse_protocol(protocol.as_deref())?)?;
            if let Some(out) = csr {
                if protocol != Protocol::Smime {
                    bail!("--csr is for S/MIME certificates");
                }
                let request = keys::renewal_request(store.dir(), &list.address).await?;
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
            let view = keys::renew(store.dir(), &list.address, Some(protocol), days).await?;
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
            let shown = keys::show(store, &list, parse_protocol(protocol.as_deref())?, now)?;
            print_shown(&store.list(&list)?.address, &shown, json)?;
        }
    }
    Ok(())
}

pub fn trust_cmd(cmd: TrustCmd, store: &Store) -> Result<()> {
    match cmd {
        TrustCmd::Add { list, file } => {
            let address = store.list(&list)?.address;
            let trusted = trust::add(store, &list, &read_file(&file)?, SystemTime::now()).map_err(
                |e| match e {
                    OwnerError::Key(MemberKeyError::Store(e)) => anyhow::Error::from(e),
                    e => anyhow!("{} is refused: {e}", file.display()),
                },
            )?;
            for info in trusted {
                println!(
                    "{address}: trusts {} ({}), valid until {}",
                    info.subject, info.fingerprint, info.expires
                );
            }
        }
        TrustCmd::List { list, json } => {
            let address = store.list(&list)?.address;
            let anchors: Vec<serde_json::Value> = trust::list(store, &list)?
                .into_iter()
                .map(|a| serde_json::json!({ "fingerprint": a.fingerprint, "subject": a.subject }))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&anchors)?);
            } else if anchors.is_empty() {
                println!(
                    "{address}: no trust anchors; members' certificates are taken only when pinned (--pin)"
                );
            } else {
                for a in anchors {
                    println!(
                        "{}  {}",
                        a["fingerprint"].as_str().unwrap_or(""),
                        a["subject"].as_str().unwrap_or("")
                    );
                }
            }
        }
        TrustCmd::Remove { list, fingerprint } => {
            let address = store.list(&list)?.address;
            trust::remove(store, &list, &fingerprint)?;
            println!("{address}: no longer trusts {fingerprint}");
        }
    }
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
