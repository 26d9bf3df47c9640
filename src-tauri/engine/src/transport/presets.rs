//! The servers of common mail providers, so that an owner picks "Posteo"
//! instead of typing host names and ports. Only providers whose settings are
//! published and stable; everything else is "Other", typed by hand.

use serde::Serialize;

use crate::model::TlsMode;

/// One server of a provider.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ServerPreset {
    pub host: &'static str,
    pub port: u16,
    pub tls: TlsMode,
}

/// What a provider takes as the user name.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum UserName {
    /// The whole address, "list@example.org".
    Address,
    /// The part before the "@".
    LocalPart,
}

/// A provider's mail servers.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ProviderPreset {
    /// Stable, for the window to remember the choice: "gmail".
    pub id: &'static str,
    /// As the owner knows it: "Gmail".
    pub name: &'static str,
    /// The address domains this provider serves, to suggest it.
    pub domains: &'static [&'static str],
    pub imap: ServerPreset,
    pub smtp: ServerPreset,
    pub user: UserName,
    /// What the owner must know before it works (an app password...), or "".
    pub note: &'static str,
    /// Copies the provider lets a consumer account send in 24 hours, where
    /// it says so (Gmail: 500, over a rolling day); `None` where we know of
    /// no published figure.
    pub daily_limit: Option<u32>,
}

impl ProviderPreset {
    /// The user name for the mailbox `address` at this provider.
    pub fn user_for(&self, address: &str) -> String {
        let address = address.trim();
        match self.user {
            UserName::Address => address.to_string(),
            UserName::LocalPart => address
                .split_once('@')
                .map_or(address, |(local, _)| local)
                .to_string(),
        }
    }
}

const fn server(host: &'static str, port: u16, tls: TlsMode) -> ServerPreset {
    ServerPreset { host, port, tls }
}

const IMPLICIT: TlsMode = TlsMode::Implicit;
const STARTTLS: TlsMode = TlsMode::Starttls;

/// The providers, in the order the window lists them. Implicit TLS where
/// the provider offers it (RFC 8314 prefers it to STARTTLS).
pub const PRESETS: &[ProviderPreset] = &[
    ProviderPreset {
        id: "gmail",
        name: "Gmail",
        domains: &["gmail.com", "googlemail.com"],
        imap: server("imap.gmail.com", 993, IMPLICIT),
        smtp: server("smtp.gmail.com", 465, IMPLICIT),
        user: UserName::Address,
        note: "Gmail takes an app password, not the account's own password: turn on 2-Step Verification, \
               then make one under Google Account → Security → App passwords.",
        daily_limit: Some(500),
    },
    ProviderPreset {
        id: "outlook",
        name: "Outlook.com",
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        imap: server("outlook.office365.com", 993, IMPLICIT),
        smtp: server("smtp-mail.outlook.com", 587, STARTTLS),
        user: UserName::Address,
        note: "Microsoft has been turning off password logins for other apps on Outlook.com accounts \
               (only its own sign-in, OAuth, which Conclave does not speak yet). If the test says the \
               password is refused although it is right, use another provider for the list.",
        daily_limit: None,
    },
    ProviderPreset {
        id: "fastmail",
        name: "Fastmail",
        domains: &["fastmail.com", "fastmail.fm"],
        imap: server("imap.fastmail.com", 993, IMPLICIT),
        smtp: server("smtp.fastmail.com", 465, IMPLICIT),
        user: UserName::Address,
        note: "Fastmail takes an app password: make one under Settings → Privacy & Security → App passwords, \
               with IMAP and SMTP access.",
        daily_limit: None,
    },
    ProviderPreset {
        id: "posteo",
        name: "Posteo",
        domains: &["posteo.de", "posteo.net", "posteo.org", "posteo.eu"],
        imap: server("posteo.de", 993, IMPLICIT),
        smtp: server("posteo.de", 465, IMPLICIT),
        user: UserName::Address,
        note: "",
        daily_limit: None,
    },
    ProviderPreset {
        id: "mailbox-org",
        name: "mailbox.org",
        domains: &["mailbox.org"],
        imap: server("imap.mailbox.org", 993, IMPLICIT),
        smtp: server("smtp.mailbox.org", 465, IMPLICIT),
        user: UserName::Address,
        note: "",
        daily_limit: None,
    },
    ProviderPreset {
        id: "riseup",
        name: "Riseup",
        domains: &["riseup.net"],
        imap: server("mail.riseup.net", 993, IMPLICIT),
        smtp: server("mail.riseup.net", 465, IMPLICIT),
        user: UserName::LocalPart,
        note: "Riseup takes the user name without “@riseup.net”. If you made service passwords at \
               account.riseup.net, use the one for mail.",
        daily_limit: None,
    },
];

/// The preset with this id.
pub fn preset(id: &str) -> Option<&'static ProviderPreset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The provider that serves `address`, judged by its domain.
pub fn preset_for_address(address: &str) -> Option<&'static ProviderPreset> {
    let domain = address.trim().rsplit_once('@')?.1.to_ascii_lowercase();
    PRESETS
        .iter()
        .find(|p| p.domains.contains(&domain.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_complete_and_encrypted() {
        let mut ids = std::collections::HashSet::new();
        for p in PRESETS {
            assert!(ids.insert(p.id), "{} twice", p.id);
            assert!(!p.name.is_empty() && !p.domains.is_empty(), "{}", p.id);
            for s in [p.imap, p.smtp] {
                assert!(
                    s.host.contains('.') && !s.host.contains(' '),
                    "{}: {}",
                    p.id,
                    s.host
                );
                assert_ne!(
                    s.tls,
                    TlsMode::None,
                    "{}: a provider is reached over the network",
                    p.id
                );
            }
            // The ports go with the security as the standards have them.
            assert_eq!(
                (p.imap.port, p.imap.tls),
                (993, TlsMode::Implicit),
                "{}",
                p.id
            );
            assert!(
                matches!(
                    (p.smtp.port, p.smtp.tls),
                    (465, TlsMode::Implicit) | (587, TlsMode::Starttls)
                ),
                "{}: {:?}",
                p.id,
                p.smtp
            );
            for d in p.domains {
                assert_eq!(*d, d.to_ascii_lowercase(), "{}", p.id);
            }
        }
    }

    #[test]
    fn the_well_known_servers() {
        let gmail = preset("gmail").unwrap();
        assert_eq!(
            (gmail.imap.host, gmail.smtp.host),
            ("imap.gmail.com", "smtp.gmail.com")
        );
        assert!(gmail.note.contains("app password"));
        assert_eq!(
            preset("posteo").unwrap().smtp,
            server("posteo.de", 465, TlsMode::Implicit)
        );
        assert_eq!(
            preset("outlook").unwrap().smtp,
            server("smtp-mail.outlook.com", 587, TlsMode::Starttls)
        );
        assert_eq!(preset("mailbox-org").unwrap().imap.host, "imap.mailbox.org");
        assert!(preset("other").is_none());
    }

    #[test]
    fn a_preset_is_suggested_by_the_address_domain() {
        assert_eq!(
            preset_for_address("list@gmail.com").map(|p| p.id),
            Some("gmail")
        );
        assert_eq!(
            preset_for_address(" Tenants@GoogleMail.com ").map(|p| p.id),
            Some("gmail")
        );
        assert_eq!(
            preset_for_address("x@hotmail.com").map(|p| p.id),
            Some("outlook")
        );
        assert_eq!(
            preset_for_address("x@posteo.net").map(|p| p.id),
            Some("posteo")
        );
        assert_eq!(
            preset_for_address("x@riseup.net").map(|p| p.id),
            Some("riseup")
        );
        assert_eq!(preset_for_address("x@example.org"), None);
        assert_eq!(preset_for_address("x@sub.gmail.com"), None);
        assert_eq!(preset_for_address("no-at-sign"), None);
    }

    #[test]
    fn the_user_name_is_formed_as_the_provider_wants() {
        assert_eq!(
            preset("gmail").unwrap().user_for(" list@gmail.com "),
            "list@gmail.com"
        );
        assert_eq!(
            preset("riseup").unwrap().user_for("tenants@riseup.net"),
            "tenants"
        );
        assert_eq!(preset("riseup").unwrap().user_for("tenants"), "tenants");
    }

    #[test]
    fn presets_reach_the_window_in_its_spelling() {
        let v = serde_json::to_value(preset("outlook").unwrap()).unwrap();
        assert_eq!(v["smtp"]["tls"], "starttls");
        assert_eq!(v["imap"]["port"], 993);
        assert_eq!(v["user"], "address");
        assert_eq!(
            serde_json::to_value(preset("riseup").unwrap()).unwrap()["user"],
            "local-part"
        );
    }
}
