//! Fakes for the agent's tests: a list (`TestList`) on the mail world in
//! memory (`crate::fake_mail`), so the agent's guarantees — exactly once,
//! retries, lanes, quarantine, renumbered mailboxes, crashes at each step —
//! are checked without a mail server, in milliseconds. In the spirit of
//! Delta Chat's `TestContext`: deliver a post, run, look at what was sent.

use crate::agent::{Agent, AgentError, RunReport};
pub use crate::fake_mail::{Crash, FakeMail};
use crate::model::Account;
use crate::model::{Endpoint, List, Protocol, Role, TlsMode};
use crate::secrets::SecretKind;
use crate::store::Store;

/// A plain list `list@example.org` on the fake servers, in a data folder
/// of its own, with these members.
pub struct TestList {
    pub dir: tempfile::TempDir,
    pub list: List,
    pub mail: FakeMail,
}

impl TestList {
    pub fn new(members: &[&str]) -> TestList {
        TestList::create(Protocol::Plain, members)
    }

    /// A second laptop running the same plain list (its own data folder,
    /// the same members) on the same mail servers.
    pub fn second_laptop(&self) -> TestList {
        let members: Vec<String> = self
            .store()
            .members(&self.list)
            .unwrap()
            .into_iter()
            .map(|m| m.email)
            .collect();
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut other = TestList::create(self.list.protocol, &members);
        other.mail = self.mail.clone();
        other
    }

    fn create(protocol: Protocol, members: &[&str]) -> TestList {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("list@example.org", "Tenants", protocol)
            .unwrap();
        let endpoint = |host: &str| Endpoint {
            host: host.into(),
            port: 1,
            tls: TlsMode::None,
            user: "list".into(),
        };
        let account = Account {
            imap: endpoint("imap.example.org"),
            smtp: endpoint("smtp.example.org"),
            ca_pem: None,
            daily_limit: None,
        };
        store.set_account(&list.address, &account).unwrap();
        for m in members {
            store.add_member(&list, m, "", Role::Member).unwrap();
        }
        TestList {
            dir,
            list,
            mail: FakeMail::new(),
        }
    }

    /// An OpenPGP list `list@example.org` (its key in the fake keychain)
    /// whose members in `keyed` have OpenPGP keys and those in `keyless`
    /// none.
    pub fn openpgp(keyed: &[&str], keyless: &[&str]) -> TestList {
        use crate::crypto::openpgp::{KeyAlgo, ListKey};
        use crate::store::StoredKey;
        let t = TestList::create(Protocol::Openpgp, keyless);
        let store = t.store();
        let now = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let key = ListKey::generate("Tenants", &t.list.address, KeyAlgo::Ed25519, now).unwrap();
        let public = |k: &ListKey| StoredKey {
            fingerprint: k.fingerprint(),
            cert: k.public_armored().into_bytes(),
        };
        store
            .set_list_key(&t.list, Protocol::Openpgp, &public(&key), false)
            .unwrap();
        t.mail.world().secrets.push((
            t.list.address.clone(),
            SecretKind::OpenPgpListKey,
            key.to_keychain().expose().to_string(),
        ));
        for m in keyed {
            let own = ListKey::generate(m, m, KeyAlgo::Ed25519, now).unwrap();
            store
                .add_member_with_key(
                    &t.list,
                    m,
                    "",
                    Role::Member,
                    Some((Protocol::Openpgp, &public(&own))),
                )
                .unwrap();
        }
        t
    }

    pub fn store(&self) -> Store {
        Store::open(self.dir.path()).unwrap()
    }

    /// One run of the agent, as `conclave-cli run --once` does it.
    pub fn run(&self) -> Result<RunReport, AgentError> {
        let agent = Agent::with_servers(self.dir.path().to_path_buf(), self.mail.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(agent.run_once(None))
    }

    /// A run during which the agent dies (the fake panics where told).
    pub fn run_and_die(&self) {
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run()));
        assert!(died.is_err(), "the agent was to die in this run");
        self.mail.world().crash = None;
    }
}

/// A post from `from` to the list.
pub fn post(from: &str, subject: &str) -> Vec<u8> {
    let id: String = subject
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("From: {from}\r\nTo: list@example.org\r\nSubject: {subject}\r\nMessage-ID: <{id}.{from}>\r\n\r\n{subject}\r\n")
        .into_bytes()
}
