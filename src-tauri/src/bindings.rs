//! `ui/src/bindings.ts`: the TypeScript declarations of every type that
//! crosses between the window and the app — each command's arguments and
//! result, and the payload of each event — made from the Rust types, so the
//! two cannot drift apart. `ui/src/api.ts` imports them; nobody edits the
//! file by hand. The test below fails when the committed file is not what
//! the Rust types make; `CONCLAVE_WRITE_BINDINGS=1 cargo test -p conclave
//! bindings` writes it anew.
//!
//! ts-rs rather than tauri-specta: ts-rs is one derive per type that reads
//! the serde attributes the types have anyway, and touches neither the
//! commands nor `generate_handler!`; tauri-specta (a release candidate)
//! would rewrite every command's registration and have the window receive
//! results as `{status, data}` objects instead of thrown errors. What ts-rs
//! does not cover is a command's list of argument names: those stay in the
//! wrappers of api.ts, typed with the types from here.
//!
//! One file rather than ts-rs's file per type: the types are declared once
//! each, in an order of their own (by name), without imports between them.

use std::any::TypeId;
use std::collections::BTreeMap;

use ts_rs::{Config, TS, TypeVisitor};

/// Where the file lives, from the repository's root.
pub const BINDINGS_PATH: &str = "ui/src/bindings.ts";

/// The command that writes the file anew.
pub const REGENERATE: &str = "CONCLAVE_WRITE_BINDINGS=1 cargo test -p conclave bindings";

/// Every type the window sends or receives, by where it crosses. Types they
/// contain come along by themselves. A new command or event: add its
/// argument and result types here (after `derive(ts_rs::TS)` on them).
fn roots(v: &mut Collect) {
    use conclave_engine::model::{Account, Protocol, Role};
    use conclave_engine::store::{
        ActivityGroup, ActivityPage, ActivityQuery, HeldPost, ListSummary, Resolution,
    };

    // Every command's error, and the lists-changed event (watch.rs).
    v.visit::<crate::commands::CommandError>();
    v.visit::<crate::watch::AgentStatus>();
    // commands.rs: the overview and held posts.
    v.visit::<ListSummary>();
    v.visit::<HeldPost>();
    v.visit::<Resolution>();
    v.visit::<Role>();
    // member_cmds.rs: members, their keys and certificates, authorities.
    v.visit::<crate::member_cmds::MembersView>();
    v.visit::<crate::member_cmds::MemberRow>();
    v.visit::<conclave_engine::member_keys::KeyCandidate>();
    v.visit::<conclave_engine::crypto::smime::CertInfo>();
    // policy_cmds.rs
    v.visit::<crate::policy_cmds::PolicyView>();
    v.visit::<crate::policy_cmds::PolicyError>();
    // activity_cmds.rs: its arguments are an ActivityQuery's fields.
    v.visit::<ActivityQuery>();
    v.visit::<ActivityGroup>();
    v.visit::<ActivityPage>();
    // key_cmds.rs
    v.visit::<crate::key_cmds::ListKeys>();
    v.visit::<conclave_engine::list_key::ListKeyView>();
    v.visit::<Protocol>();
    // wizard_cmds.rs
    v.visit::<conclave_engine::transport::presets::ProviderPreset>();
    v.visit::<conclave_engine::setup::ListCheck>();
    v.visit::<Account>();
    v.visit::<conclave_engine::transport::CheckReport>();
    v.visit::<conclave_engine::setup::ListKeySummary>();
    v.visit::<conclave_engine::setup::CreatedList>();
    v.visit::<crate::wizard_cmds::KeyInput>();
    // held_cmds.rs, and the progress event (watch.rs)
    v.visit::<conclave_engine::owner::HeldView>();
    v.visit::<crate::watch::Progress>();
    v.visit::<conclave_engine::bundle::BundleSummary>();
    v.visit::<conclave_engine::owner::backup::BackupState>();
    v.visit::<crate::keep_cmds::MailboxLogin>();
    v.visit::<conclave_engine::owner::invite::InvitationView>();
    v.visit::<conclave_engine::store::PendingKey>();
    v.visit::<conclave_engine::store::JoinRequest>();
}

/// Collects each declarable type once, with its dependencies.
struct Collect {
    config: Config,
    seen: Vec<TypeId>,
    /// TypeScript name → declaration (with its doc comment).
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Collect {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives, Option, Vec... have no declaration of their own; what
        // they hold is visited as a dependency.
        if T::output_path().is_none() {
            T::visit_dependencies(self);
            return;
        }
        if self.seen.contains(&TypeId::of::<T>()) {
            return;
        }
        self.seen.push(TypeId::of::<T>());
        let name = T::ident(&self.config);
        let decl = format!(
            "{}export {}",
            T::docs().unwrap_or_default(),
            T::decl(&self.config)
        );
        if self.decls.insert(name.clone(), decl).is_some() {
            panic!(
                "two Rust types are called {name} in TypeScript: give one another name with #[ts(rename = \"...\")]"
            );
        }
        T::visit_dependencies(self);
    }
}

/// The file's text.
pub fn render() -> String {
    let mut collect = Collect {
        // The JSON that carries them makes every integer a JavaScript
        // number (the ids, sizes and counts all stay below 2^53); ts-rs
        // would say bigint for 64-bit ones. Not from the environment, so
        // that the file is the same everywhere.
        config: Config::new().with_large_int("number"),
        seen: Vec::new(),
        decls: BTreeMap::new(),
    };
    roots(&mut collect);
    let mut out = format!(
        "// Generated by ts-rs from the Rust types (src-tauri/src/bindings.rs): do not edit.\n\
         // After changing one of those types run `{REGENERATE}`.\n"
    );
    for decl in collect.decls.values() {
        out.push('\n');
        // ts-rs leaves a space at the end of a line before a field's doc.
        for line in decl.trim_end().lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::str::FromStr;

    use conclave_engine::model::Role;
    use conclave_engine::store::Resolution;

    use super::*;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(BINDINGS_PATH)
    }

    #[test]
    fn bindings_are_fresh() {
        let made = render();
        let path = committed_path();
        if std::env::var_os("CONCLAVE_WRITE_BINDINGS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &made).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == made,
            "{BINDINGS_PATH} is stale: run `{REGENERATE}` and commit it"
        );
    }

    /// The words of a union of string literals: `"a" | "b"` → a, b.
    fn words<T: TS>() -> Vec<String> {
        let union = T::inline(&Config::new());
        union
            .split(" | ")
            .map(|w| w.trim_matches('"').to_string())
            .collect()
    }

    #[test]
    fn the_words_the_window_may_send_are_the_ones_the_app_parses() {
        // resolve_held and add_member take their choice as a word.
        let actions = words::<Resolution>();
        assert_eq!(actions, ["approve", "reject", "discard"]);
        for a in &actions {
            crate::commands::parse_action(a).unwrap();
        }
        let roles = words::<Role>();
        assert_eq!(roles.len(), 3);
        for r in &roles {
            Role::from_str(r).unwrap();
        }
    }

    #[test]
    fn the_file_stands_alone_with_numbers_as_json_has_them() {
        let made = render();
        assert!(!made.contains("bigint"), "a 64-bit integer became bigint");
        assert!(!made.contains("import "), "one file: no imports");
    }
}
