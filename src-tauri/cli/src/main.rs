//! conclave-cli: the headless face of the engine. Scripts call it, so the
//! spellings of its commands are a contract: extend, never rename.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use conclave_engine::agent::{Agent, AgentError, RunHooks, RunReport, Watching};
use conclave_engine::member_keys::MemberKeyError;
use conclave_engine::model::{Account, Endpoint, Protocol, Role, TlsMode};
use conclave_engine::owner::{self, OwnerError};
use conclave_engine::secrets::Sensitive;
use conclave_engine::store::{Resolution, Store};
use std::time::SystemTime;

mod keys;
use keys::{KeyCmd, TrustCmd};

#[derive(Parser)]
#[command(
    name = "conclave-cli",
    version,
    about = "Run an encrypted mailing list from this computer"
)]
struct Cli {
    /// Where Conclave keeps its data (default: CONCLAVE_DATA_DIR, else the
    /// system's data folder).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create lists, bind them to a mail account, change settings.
    #[command(subcommand)]
    List(ListCmd),
    /// Add, remove and list members.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Process the lists' mailboxes: forward posts, send what waits.
    Run {
        /// Take what waits, drain the outbox, exit.
        #[arg(long)]
        once: bool,
        /// Only this list.
        #[arg(long, value_name = "ADDR")]
        list: Option<String>,
        /// Seconds between checks when running continuously.
        #[arg(long, default_value_t = 60)]
        interval: u64,
        /// Tell how each list's sending goes: a line at every tenth of its
        /// copies tried, and one when the last is.
        #[arg(long)]
        progress: bool,
    },
    /// Posts waiting for an owner.
    #[command(subcommand)]
    Held(HeldCmd),
    /// The key inbox: keys that came by mail without an invitation.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The activity log of a list: every decision and delivery, newest first.
    Log {
        list: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum ListCmd {
    /// Create a list.
    Create {
        address: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "plain")]
        protocol: String,
    },
    /// Set the mail account the list lives in. Passwords come from
    /// CONCLAVE_IMAP_PASSWORD and CONCLAVE_SMTP_PASSWORD, else are asked for;
    /// they are kept in the system keychain only.
    Account(AccountArgs),
    /// Change a setting: subject-prefix, reply-to (poster|list),
    /// non-member-posts (hold|reject), max-size, send-rate, footer (text
    /// after every post; may span lines), the four crypto settings, name.
    Set {
        list: String,
        key: String,
        value: String,
    },
    /// Show one list (or all) with its settings and state.
    Show {
        list: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Log in to the list's IMAP and SMTP servers and say what fails.
    Check {
        list: String,
    },
    /// The list's own key: generate, import, export, show.
    #[command(subcommand)]
    Key(KeyCmd),
    /// S/MIME: the authorities whose member certificates the list trusts.
    #[command(subcommand)]
    Trust(TrustCmd),
    /// Stop processing a list until resumed.
    Pause {
        list: String,
    },
    Resume {
        list: String,
    },
    /// Remove the list from this laptop: its settings, members, keys, posts
    /// and log, and its passwords and keys in the keychain. The mailbox at
    /// the provider stays as it is. Asks for the list's address to be typed
    /// to confirm, unless it is given with --confirm.
    Forget {
        list: String,
        /// The list's address again, for scripts.
        #[arg(long, value_name = "ADDR")]
        confirm: Option<String>,
    },
    /// Seal the whole list into one file for another laptop: settings,
    /// account, members and their keys, trusted authorities and the list's
    /// secret keys (not its posts or log). The passphrase comes from
    /// CONCLAVE_BUNDLE_PASSPHRASE, else it is asked for twice.
    Export {
        list: String,
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
        /// Put the account's passwords in the bundle too.
        #[arg(long)]
        with_passwords: bool,
    },
    /// Make a list on this laptop from a bundle `list export` made: its
    /// secrets go into this keychain. The passphrase comes from
    /// CONCLAVE_BUNDLE_PASSPHRASE, else it is asked for.
    Import {
        file: std::path::PathBuf,
    },
    /// Back the list up into its own mailbox (folder Conclave/Backup) after
    /// every change, sealed with a recovery passphrase: Conclave makes one
    /// and shows it once (or takes CONCLAVE_RECOVERY_PASSPHRASE). Run it
    /// again for a new passphrase.
    Recovery {
        list: String,
    },
    /// Bring a list back from the newest backup in its mailbox, on a new
    /// laptop: the IMAP login finds it, the recovery passphrase
    /// (CONCLAVE_RECOVERY_PASSPHRASE, else asked) opens it. The passwords
    /// come from CONCLAVE_IMAP_PASSWORD and CONCLAVE_SMTP_PASSWORD, else
    /// they are asked for.
    Restore(RestoreArgs),
}

#[derive(Args)]
struct RestoreArgs {
    list: String,
    #[arg(long)]
    imap_host: String,
    #[arg(long)]
    imap_port: u16,
    #[arg(long, value_name = "implicit|starttls|none")]
    imap_tls: String,
    #[arg(long)]
    imap_user: String,
    /// An extra CA certificate (PEM) to trust for the IMAP server.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
}

#[derive(Args)]
struct AccountArgs {
    list: String,
    #[arg(long)]
    imap_host: String,
    #[arg(long)]
    imap_port: u16,
    #[arg(long, value_name = "implicit|starttls|none")]
    imap_tls: String,
    #[arg(long)]
    imap_user: String,
    #[arg(long)]
    smtp_host: String,
    #[arg(long)]
    smtp_port: u16,
    #[arg(long, value_name = "implicit|starttls|none")]
    smtp_tls: String,
    #[arg(long)]
    smtp_user: String,
    /// An extra CA certificate (PEM) to trust for this account's servers.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// How many copies the provider lets this account send in 24 hours
    /// (Gmail: 500): the list keeps to it, spreading a large fan-out over
    /// the days. 0 or not given: no limit known.
    #[arg(long, value_name = "N")]
    daily_limit: Option<u32>,
    /// Save without logging in first (e.g. while offline).
    #[arg(long)]
    no_check: bool,
}

#[derive(Subcommand)]
enum MemberCmd {
    Add {
        list: String,
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "member")]
        role: String,
        /// The member's OpenPGP key (armored or binary) or S/MIME
        /// certificate (PEM, DER or PKCS#7).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// S/MIME: take the certificate although no trusted authority
        /// issued it (the member gave it to you in person).
        #[arg(long)]
        pin: bool,
    },
    /// Set a member's key (OpenPGP or S/MIME, told apart by the file);
    /// replacing one needs --replace and is logged.
    Key {
        list: String,
        email: String,
        file: PathBuf,
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        pin: bool,
    },
    Remove {
        list: String,
        email: String,
    },
    /// Change a member setting: name, role, own-posts (yes|no).
    Set {
        list: String,
        email: String,
        key: String,
        value: String,
    },
    List {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// Invite someone to join by mail: prints a one-time code with the
    /// list key's fingerprint and what to do, for you to pass on over a
    /// channel you trust; --send also mails it from the list. Their signed
    /// answer with their key makes them a member.
    Invite {
        list: String,
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "member")]
        role: String,
        /// How many days the invitation is good for (default: the list's
        /// invite-days setting, 7 unless changed).
        #[arg(long)]
        days: Option<u32>,
        #[arg(long)]
        json: bool,
        /// Mail the invitation from the list too (signed, with its key).
        #[arg(long)]
        send: bool,
    },
    /// Invitations not yet answered nor ended.
    Invitations {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// People who asked to join by mail ("subscribe"), not yet members.
    Requests {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// Dismiss someone's request to join.
    Dismiss {
        list: String,
        email: String,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Keys waiting for a decision: who, fingerprint, how each came,
    /// whether the mail was signed by it, which key it would replace.
    Pending {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// The key becomes the member's key (replacing theirs, if any).
    Accept { list: String, id: i64 },
    /// The key is not taken; the same key does not come back.
    Reject { list: String, id: i64 },
}

#[derive(Subcommand)]
enum HeldCmd {
    List {
        list: String,
        #[arg(long)]
        json: bool,
    },
    /// Send a held post to the members.
    Approve { list: String, id: i64 },
    /// Refuse a held post and tell the poster.
    Reject { list: String, id: i64 },
    /// Drop a held post without telling anyone.
    Discard { list: String, id: i64 },
}

fn main() -> ExitCode {
    // SAFETY: no other thread runs yet.
    unsafe { conclave_engine::quiet_library_backtraces() };
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conclave-cli: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes.
            let line = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("conclave-cli: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let data_dir = conclave_engine::paths::data_dir(cli.data_dir.as_deref());
    let open = || Store::open(&data_dir);
    match cli.command {
        Command::List(cmd) => list_cmd(cmd, open()?).await,
        Command::Member(cmd) => member_cmd(cmd, open()?).await,
        Command::Held(cmd) => held_cmd(cmd, &data_dir, open()?).await,
        Command::Keys(cmd) => keys_inbox_cmd(cmd, open()?),
        Command::Log { list, json, limit } => {
            let entries = owner::activity::recent(&open()?, &list, limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for a in entries {
                    println!("{}  {:<8}  {}", a.at, a.kind, a.message);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            once,
            list,
            interval,
            progress,
        } => {
            let mut agent = Agent::new(data_dir.clone());
            if progress {
                agent = agent.with_progress(print_progress);
            }
            if once {
                let report = agent.run_once(list.as_deref()).await?;
                print_report(&report);
                return Ok(if report.has_errors() {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                });
            }
            if list.is_some() {
                bail!(
                    "--list goes with --once; a continuous run watches every list that is not paused"
                );
            }
            let stop = tokio_util::sync::CancellationToken::new();
            let stopper = stop.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                stopper.cancel();
            });
            let mut printer = Printer { fatal: None };
            let wake = tokio::sync::Notify::new();
            agent
                .run_forever(
                    Duration::from_secs(interval.max(1)),
                    stop,
                    &wake,
                    &mut printer,
                )
                .await;
            match printer.fatal {
                Some(e) => Err(e),
                None => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

/// One line at every tenth of a sending's copies, and at its end.
fn print_progress(p: &conclave_engine::agent::SendProgress) {
    let step = (p.total / 10).max(1);
    if p.total > 0 && (p.finished || (p.done > 0 && p.done.is_multiple_of(step))) {
        let end = match (p.finished, p.done < p.total) {
            (false, _) => "",
            (true, false) => " (done)",
            // Stopped short (the provider's limit, the server gone): the
            // rest waits for a later run.
            (true, true) => " (stopped; the rest waits)",
        };
        println!("{}: {} of {} copies tried{end}", p.list, p.done, p.total);
    }
}

/// A refused key file, said with its path.
fn key_refused(path: &std::path::Path, e: OwnerError) -> anyhow::Error {
    match e {
        OwnerError::Key(e)
            if !matches!(
                e,
                MemberKeyError::Store(_) | MemberKeyError::PinNotForOpenPgp
            ) =>
        {
            anyhow!("the key in {} is refused: {e}", path.display())
        }
        e => e.into(),
    }
}

/// Prints each run's report; another agent already at work ends the loop.
struct Printer {
    fatal: Option<anyhow::Error>,
}

impl RunHooks for &mut Printer {
    fn finished(
        &mut self,
        run: Option<&Result<RunReport, AgentError>>,
        _watching: Vec<(String, Watching)>,
    ) -> bool {
        match run {
            Some(Ok(report)) => print_report(report),
            Some(Err(e @ AgentError::Busy(_))) => {
                self.fatal = Some(anyhow!("{e}"));
                return false;
            }
            Some(Err(e)) => eprintln!("conclave-cli: {e}"),
            None => {}
        }
        true
    }
}

fn print_report(report: &RunReport) {
    for l in &report.lists {
        if l.paused {
            println!("{}: paused", l.address);
            continue;
        }
        if l.no_account {
            println!(
                "{}: no mail account yet (set one with `conclave-cli list account`)",
                l.address
            );
            continue;
        }
        println!(
            "{}: {} new post(s): {} distributed, {} held, {} rejected, {} discarded, {} answered, {} quarantined; \
             {} sent, {} to retry, {} failed; {} filed; {} waiting",
            l.address,
            l.new_posts,
            l.distributed,
            l.held,
            l.rejected,
            l.discarded,
            l.answered,
            l.quarantined,
            l.sent,
            l.retrying,
            l.failed,
            l.filed,
            l.pending
        );
        if l.reminded > 0 {
            println!(
                "{}: {} member(s) told that their key ends soon (see `conclave-cli log {}`)",
                l.address, l.reminded, l.address
            );
        }
        if l.announced > 0 {
            println!(
                "{}: the renewed list key mailed to {} member(s)",
                l.address, l.announced
            );
        }
        if l.taken_over > 0 {
            println!(
                "{}: {} post(s) another laptop had taken and left unfinished for a whole claim-lease: taken over, sent from here",
                l.address, l.taken_over
            );
        }
        if l.synced > 0 {
            println!(
                "{}: {} change(s) from the list's other laptop(s) taken (see `conclave-cli log {}`)",
                l.address, l.synced, l.address
            );
        }
        if l.handed_over > 0 {
            println!(
                "{}: {} post(s) this laptop had taken were finished by another laptop while this one was stopped: their copies not yet sent from here are left to it",
                l.address, l.handed_over
            );
        }
        if l.backed_up {
            println!(
                "{}: backed up into its mailbox (folder Conclave/Backup)",
                l.address
            );
        }
        if l.waiting_for_limit > 0 {
            println!(
                "{}: {} copies wait for the sending limit (the provider's, or the account's daily-limit) and go out by themselves later; `conclave-cli log {}` says why and until when",
                l.address, l.waiting_for_limit, l.address
            );
        }
        if let Some(e) = &l.error {
            eprintln!("conclave-cli: {}: {e}", l.address);
        }
    }
}

fn keys_inbox_cmd(cmd: KeysCmd, store: Store) -> Result<ExitCode> {
    match cmd {
        KeysCmd::Pending { list, json } => {
            let waiting = owner::key_inbox::pending(&store, &list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&waiting)?);
            } else if waiting.is_empty() {
                println!("{list}: no keys wait");
            } else {
                for k in waiting {
                    println!(
                        "{}  {}  {}\n    {}\n    {}; {}{}",
                        k.id,
                        k.email,
                        k.protocol,
                        k.fingerprint,
                        k.how,
                        if k.signed_by_it {
                            "the mail was signed by it"
                        } else {
                            "the mail was not signed by it"
                        },
                        k.replaces
                            .map(|r| format!("; would replace {r}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        KeysCmd::Accept { list, id } => {
            let k = owner::key_inbox::accept(&store, &list, id)?;
            println!("{list}: {} now has the key {}", k.email, k.fingerprint);
        }
        KeysCmd::Reject { list, id } => {
            let k = owner::key_inbox::reject(&store, &list, id)?;
            println!(
                "{list}: the key {} of {} was rejected",
                k.fingerprint, k.email
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A bundle's passphrase; asked twice when it seals (a typo there would
/// lock the list away).
fn bundle_passphrase(new: bool) -> Result<Sensitive<String>> {
    const VAR: &str = "CONCLAVE_BUNDLE_PASSPHRASE";
    if std::env::var_os(VAR).is_some() {
        return password(VAR, "");
    }
    let first = password(VAR, "Bundle passphrase: ")?;
    if new {
        let again = password(VAR, "The same passphrase again: ")?;
        if again.expose() != first.expose() {
            return Err(anyhow!(
                "the two passphrases differ: nothing was written; try again"
            ));
        }
    }
    Ok(first)
}

fn password(var: &str, prompt: &str) -> Result<Sensitive<String>> {
    if let Ok(p) = std::env::var(var) {
        return Ok(Sensitive::new(p));
    }
    rpassword::prompt_password(prompt)
        .map(Sensitive::new)
        .map_err(|e| {
            anyhow!("no password given ({e}): set {var}, or run this in a terminal to be asked")
        })
}

fn tls(s: &str) -> Result<TlsMode> {
    s.parse()
        .map_err(|e: conclave_engine::model::BadValue| anyhow!("--*-tls: {e}"))
}

async fn list_cmd(cmd: ListCmd, store: Store) -> Result<ExitCode> {
    match cmd {
        ListCmd::Create {
            address,
            name,
            protocol,
        } => {
            let protocol: Protocol = protocol
                .parse()
                .map_err(|e: conclave_engine::model::BadValue| anyhow!("--protocol: {e}"))?;
            let list = owner::lists::create(&store, &address, &name, protocol)?;
            println!(
                "created {} ({}): next, set its mail account with `conclave-cli list account {}`",
                list.address, list.name, list.address
            );
            if protocol != Protocol::Plain {
                println!(
                    "and give it a key with `conclave-cli list key generate {}`",
                    list.address
                );
            }
        }
        ListCmd::Account(a) => {
            let list = store.list(&a.list)?;
            let ca_pem = match &a.ca_file {
                Some(path) => Some(
                    String::from_utf8(read_file(path)?)
                        .map_err(|_| anyhow!("the CA file {} is not PEM text", path.display()))?,
                ),
                None => None,
            };
            let account = Account {
                imap: Endpoint {
                    host: a.imap_host,
                    port: a.imap_port,
                    tls: tls(&a.imap_tls)?,
                    user: a.imap_user,
                },
                smtp: Endpoint {
                    host: a.smtp_host,
                    port: a.smtp_port,
                    tls: tls(&a.smtp_tls)?,
                    user: a.smtp_user,
                },
                ca_pem,
                daily_limit: a.daily_limit.filter(|n| *n > 0),
            };
            let imap_pw = password(
                "CONCLAVE_IMAP_PASSWORD",
                &format!("IMAP password for {}: ", account.imap.user),
            )?;
            let smtp_pw = password(
                "CONCLAVE_SMTP_PASSWORD",
                &format!("SMTP password for {}: ", account.smtp.user),
            )?;
            owner::lists::set_account(
                &store,
                &list.address,
                &account,
                imap_pw,
                smtp_pw,
                !a.no_check,
            )
            .await?;
            println!(
                "{}: account saved{}; passwords are in the system keychain",
                list.address,
                if a.no_check {
                    " (not checked)"
                } else {
                    " and both logins work"
                }
            );
        }
        ListCmd::Set { list, key, value } => {
            let list = owner::lists::set(&store, &list, &key, &value)?;
            println!("{}: {key} = {value}", list.address);
        }
        ListCmd::Show { list, json } => {
            let out: Vec<serde_json::Value> = owner::lists::show(&store, list.as_deref())?
                .into_iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            if json {
                let v = if list.is_some() {
                    out.into_iter().next().unwrap_or_default()
                } else {
                    serde_json::Value::Array(out)
                };
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for v in out {
                    print_list(&v);
                }
            }
        }
        ListCmd::Check { list } => {
            let list = owner::lists::check(&store, &list).await?;
            println!("{}: IMAP and SMTP logins work", list.address);
        }
        ListCmd::Key(cmd) => keys::key_cmd(cmd, &store).await?,
        ListCmd::Trust(cmd) => keys::trust_cmd(cmd, &store)?,
        ListCmd::Pause { list } => {
            owner::lists::set_paused(&store, &list, true)?;
            println!("{list}: paused");
        }
        ListCmd::Resume { list } => {
            owner::lists::set_paused(&store, &list, false)?;
            println!("{list}: resumed");
        }
        ListCmd::Forget { list, confirm } => {
            let address = store.list(&list)?.address;
            let typed = match confirm {
                Some(typed) => typed,
                None => {
                    eprint!(
                        "This removes {address} from this laptop: its settings, members, keys, posts and log,\n\
                         and its passwords and keys in the keychain (`conclave-cli list export` keeps a sealed copy first).\n\
                         The mailbox at your provider stays as it is.\n\
                         Type the list's address to confirm: "
                    );
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| anyhow!("cannot read the confirmation: {e}"))?;
                    line
                }
            };
            owner::lists::forget(store.dir(), &address, &typed).await?;
            println!("{address}: removed from this laptop");
        }
        ListCmd::Export {
            list,
            to,
            with_passwords,
        } => {
            let passphrase = bundle_passphrase(true)?;
            let made =
                owner::bundle::export(store.dir(), &list, &to, &passphrase, with_passwords).await?;
            println!(
                "{}: sealed into {} ({} members; list keys: {}; {})",
                made.list,
                to.display(),
                made.members,
                if made.list_keys.is_empty() {
                    "none".to_string()
                } else {
                    made.list_keys.join(", ")
                },
                if made.with_passwords {
                    "with the account's passwords"
                } else {
                    "without passwords: give them with `conclave-cli list account` after importing"
                }
            );
            println!(
                "Pass the passphrase on apart from the file (in person, by phone): together they are the list."
            );
        }
        ListCmd::Recovery { list } => {
            let given = std::env::var("CONCLAVE_RECOVERY_PASSPHRASE")
                .ok()
                .map(Sensitive::new);
            let chose = given.is_some();
            let (list, passphrase) = owner::backup::set_recovery(store.dir(), &list, given).await?;
            if chose {
                println!(
                    "{}: backups into its mailbox are on, sealed with the passphrase given",
                    list.address
                );
            } else {
                println!(
                    "{}: backups into its mailbox are on. Its recovery passphrase:\n\n    {}\n\n\
                     Write it down and keep it apart from this laptop: with the mailbox's login it\n\
                     brings the whole list back (`conclave-cli list restore`). It is not shown again.",
                    list.address,
                    passphrase.expose()
                );
            }
        }
        ListCmd::Restore(a) => {
            let ca_pem = match &a.ca_file {
                Some(path) => Some(
                    String::from_utf8(read_file(path)?)
                        .map_err(|_| anyhow!("the CA file {} is not PEM text", path.display()))?,
                ),
                None => None,
            };
            let imap = Endpoint {
                host: a.imap_host,
                port: a.imap_port,
                tls: tls(&a.imap_tls)?,
                user: a.imap_user,
            };
            let imap_pw = password(
                "CONCLAVE_IMAP_PASSWORD",
                &format!("IMAP password for {}: ", imap.user),
            )?;
            let smtp_pw = password("CONCLAVE_SMTP_PASSWORD", "SMTP password: ")?;
            let recovery = password("CONCLAVE_RECOVERY_PASSPHRASE", "Recovery passphrase: ")?;
            let made = owner::backup::restore(
                store.dir(),
                &a.list,
                &imap,
                ca_pem.as_deref(),
                (imap_pw, smtp_pw),
                &recovery,
            )
            .await?;
            println!(
                "{}: restored from its mailbox ({} members); `conclave-cli run` takes it from here",
                made.list, made.members
            );
        }
        ListCmd::Import { file } => {
            let bytes = conclave_engine::files::read_bounded(&file, owner::bundle::MAX_BUNDLE)
                .map_err(|e| anyhow!("{e}"))?;
            let passphrase = bundle_passphrase(false)?;
            let made = owner::bundle::import(store.dir(), &bytes, &passphrase).await?;
            println!(
                "{}: imported ({} members{}); `conclave-cli run` takes it from here",
                made.list,
                made.members,
                if made.with_passwords {
                    ""
                } else {
                    "; set the account's passwords with `conclave-cli list account` first"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A key, certificate or authority file, read through a bound.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    Ok(conclave_engine::files::read_bounded(
        path,
        conclave_engine::files::MAX_KEY_FILE,
    )?)
}

fn print_list(v: &serde_json::Value) {
    let s = &v["summary"];
    let state = if s["paused"].as_bool() == Some(true) {
        "paused".to_string()
    } else if let Some(e) = s["last_error"].as_str() {
        format!("error: {e}")
    } else if s["has_account"].as_bool() == Some(true) {
        "watching".to_string()
    } else {
        "no mail account yet".to_string()
    };
    println!(
        "{} <{}>",
        s["name"].as_str().unwrap_or(""),
        s["address"].as_str().unwrap_or("")
    );
    println!(
        "  protocol: {}   state: {state}",
        s["protocol"].as_str().unwrap_or("")
    );
    println!(
        "  members: {}   held: {}   deliveries today: {}   last check: {}",
        s["members"],
        s["held"],
        s["deliveries_today"],
        s["last_check"].as_str().unwrap_or("never")
    );
    println!("  list-id: {}", v["list_id"].as_str().unwrap_or(""));
    if let Some(settings) = v["settings"].as_object() {
        for (k, val) in settings {
            println!("  {k}: {}", val.as_str().unwrap_or(""));
        }
    }
}

async fn member_cmd(cmd: MemberCmd, store: Store) -> Result<ExitCode> {
    match cmd {
        MemberCmd::Invite {
            list,
            email,
            name,
            role,
            days,
            json,
            send,
        } => {
            let role: Role = role
                .parse()
                .map_err(|e: conclave_engine::model::BadValue| anyhow!("--role: {e}"))?;
            let made = owner::invite::invite(&store, &list, &email, &name, role, days)?;
            if send {
                owner::invite::send(store.dir(), &made).await?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&made)?);
            } else {
                print!("{}", made.text);
                eprintln!(
                    "\n{}: {} invited{}. Pass the text above on over a channel you trust.",
                    made.list,
                    made.email,
                    if send {
                        " and the invitation mailed"
                    } else {
                        ""
                    }
                );
            }
        }
        MemberCmd::Requests { list, json } => {
            let asked = owner::invite::requests(&store, &list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&asked)?);
            } else {
                for r in asked {
                    println!(
                        "{:<40} {:<24} {}{}",
                        r.email,
                        r.name,
                        r.requested,
                        if r.invited { "  (invited)" } else { "" }
                    );
                }
            }
        }
        MemberCmd::Dismiss { list, email } => {
            owner::invite::dismiss(&store, &list, &email)?;
            println!("{list}: {email}'s request to join dismissed");
        }
        MemberCmd::Invitations { list, json } => {
            let open = owner::invite::open(&store, &list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&open)?);
            } else {
                for i in open {
                    println!("{:<40} {:<10} until {}", i.email, i.role, i.expires);
                }
            }
        }
        MemberCmd::Add {
            list,
            email,
            name,
            role,
            key,
            pin,
        } => {
            let list = store.list(&list)?;
            let role: Role = role
                .parse()
                .map_err(|e: conclave_engine::model::BadValue| anyhow!("--role: {e}"))?;
            let bytes = key.as_deref().map(read_file).transpose()?;
            let key_file = bytes
                .as_deref()
                .map(|bytes| owner::members::KeyFile { bytes, pin });
            let added = owner::members::add(
                &store,
                &list,
                &email,
                &name,
                role,
                key_file,
                SystemTime::now(),
            )
            .map_err(|e| match (&key, e) {
                (Some(path), OwnerError::Key(e))
                    if !matches!(e, MemberKeyError::PinNotForOpenPgp) =>
                {
                    anyhow!("the key in {} is refused: {e}", path.display())
                }
                (_, e) => e.into(),
            })?;
            let m = added.member;
            println!("{}: added {} as {}", list.address, m.email, m.role);
            if let Some((protocol, stored)) = &added.key {
                println!("  {protocol} key {}", stored.fingerprint);
            }
        }
        MemberCmd::Key {
            list,
            email,
            file,
            replace,
            pin,
        } => {
            let list = store.list(&list)?;
            let bytes = read_file(&file)?;
            let key = owner::members::KeyFile { bytes: &bytes, pin };
            let (protocol, stored) =
                owner::members::set_key(&store, &list, &email, key, replace, SystemTime::now())
                    .map_err(|e| key_refused(&file, e))?;
            println!(
                "{}: {protocol} key of {email} set: {}",
                list.address, stored.fingerprint
            );
        }
        MemberCmd::Remove { list, email } => {
            let list = store.list(&list)?;
            owner::members::remove(&store, &list, &email)?;
            println!("{}: removed {email}", list.address);
        }
        MemberCmd::Set {
            list,
            email,
            key,
            value,
        } => {
            let list = store.list(&list)?;
            let m = owner::members::set(&store, &list, &email, &key, &value)?;
            println!("{}: {}: {key} = {value}", list.address, m.email);
        }
        MemberCmd::List { list, json } => {
            let list = store.list(&list)?;
            let view = owner::members::view(&store, &list, SystemTime::now())?;
            let protected = !view.protocols.is_empty();
            let rows: Vec<serde_json::Value> = view
                .members
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "email": m.email, "name": m.name, "role": m.role, "own_posts": m.own_posts,
                        "keys": m.keys.iter().map(keys::member_key_summary).collect::<Vec<_>>(),
                        "key_usable": m.keys.iter().any(|k| k.usable),
                        "receives_posts": m.receives_posts,
                        "bouncing": m.bouncing,
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    let described: Vec<String> = r["keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            let state = if k["usable"] == true {
                                ""
                            } else {
                                " (expired or revoked)"
                            };
                            format!(
                                "{} key {}{state}",
                                k["protocol"].as_str().unwrap_or(""),
                                k["fingerprint"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    let key = match (described.is_empty(), protected) {
                        (true, true) => "no key".to_string(),
                        _ => described.join("; "),
                    };
                    let bounced = match r["bouncing"].as_str() {
                        Some(why) => {
                            format!("  — bouncing: their server refused the last copy ({why})")
                        }
                        None => String::new(),
                    };
                    println!(
                        "{:<40} {:<10} {}{}  {key}{}{bounced}",
                        r["email"].as_str().unwrap_or(""),
                        r["role"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        if r["own_posts"] == true {
                            ""
                        } else {
                            "  (no copy of own posts)"
                        },
                        if r["receives_posts"] == true {
                            ""
                        } else {
                            "  — receives no posts (distrib-encrypt force)"
                        },
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn held_cmd(cmd: HeldCmd, data_dir: &std::path::Path, store: Store) -> Result<ExitCode> {
    let (address, id, how) = match cmd {
        HeldCmd::List { list, json } => {
            let held = owner::held::list(&store, &list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&held)?);
            } else if held.is_empty() {
                println!("{}: no held posts", list.trim());
            } else {
                for h in held {
                    println!(
                        "{:>5}  {}  {}  \"{}\"\n       {}",
                        h.id, h.held_at, h.sender, h.subject, h.reason
                    );
                    if let (Some(signer), Some(key)) = (&h.signed_by, &h.signer_key) {
                        println!("       signed by {signer} ({key})");
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        HeldCmd::Approve { list, id } => (list, id, Resolution::Approve),
        HeldCmd::Reject { list, id } => (list, id, Resolution::Reject),
        HeldCmd::Discard { list, id } => (list, id, Resolution::Discard),
    };
    let list = store.list(&address)?;
    let resolved = owner::held::resolve(&store, &list, id, how, SystemTime::now())?;
    let recipients = resolved.recipients;
    match how {
        Resolution::Discard => {
            println!("{}: held post {id} discarded", list.address);
            return Ok(ExitCode::SUCCESS);
        }
        Resolution::Approve => println!(
            "{}: held post {id} approved for {} member(s)",
            list.address,
            recipients.len()
        ),
        Resolution::Reject => println!("{}: held post {id} rejected", list.address),
    }
    // Send now when nothing else is running; otherwise the running agent
    // sends it on its next round.
    match Agent::new(data_dir.to_path_buf())
        .run_once(Some(&list.address))
        .await
    {
        Ok(report) => {
            print_report(&report);
            Ok(if report.has_errors() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(conclave_engine::agent::AgentError::Busy(_)) => {
            println!(
                "{}: the running agent sends it on its next round",
                list.address
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}
