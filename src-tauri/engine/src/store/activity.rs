//! The activity log: every decision and delivery with its reason.

use rusqlite::params;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{Result, Store, now, rfc3339};
use crate::model::List;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    /// The owner changed something.
    Config,
    /// A message was found in the list's mailbox.
    Received,
    /// What was decided about a post, and why.
    Decision,
    /// A delivery was sent, retried or failed.
    Delivery,
    /// The message was filed away on the server.
    Server,
    /// Something went wrong that the owner should see.
    Error,
}

impl ActivityKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Config => "config",
            ActivityKind::Received => "received",
            ActivityKind::Decision => "decision",
            ActivityKind::Delivery => "delivery",
            ActivityKind::Server => "server",
            ActivityKind::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: String,
    pub post_id: Option<i64>,
    pub message: String,
}

/// What an entry is about, as an owner filters the log: the fate of a
/// post (accepted, held, rejected), its deliveries, errors, the owner's own
/// changes, and where a message was filed on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ActivityGroup {
    /// A post went (or goes) out to the members, also after an approval.
    Accepted,
    /// A post was held for an owner.
    Held,
    /// A post was rejected, discarded or set aside, by a rule or an owner.
    Rejected,
    /// Deliveries: sent, to be retried, left out.
    Delivery,
    /// Something failed that the owner should see.
    Error,
    /// The owner changed a setting, a member or a key.
    Change,
    /// A message was filed away on the server.
    Server,
}

impl ActivityGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityGroup::Accepted => "accepted",
            ActivityGroup::Held => "held",
            ActivityGroup::Rejected => "rejected",
            ActivityGroup::Delivery => "delivery",
            ActivityGroup::Error => "error",
            ActivityGroup::Change => "change",
            ActivityGroup::Server => "server",
        }
    }

    fn parse(s: &str) -> ActivityGroup {
        match s {
            "accepted" => ActivityGroup::Accepted,
            "held" => ActivityGroup::Held,
            "rejected" => ActivityGroup::Rejected,
            "delivery" => ActivityGroup::Delivery,
            "error" => ActivityGroup::Error,
            "change" => ActivityGroup::Change,
            _ => ActivityGroup::Server,
        }
    }
}

/// Which entries to read: one list or all, older than an entry (paging),
/// of some groups, containing some text.
#[derive(Debug, Clone, Default, ts_rs::TS)]
// The window sends these fields as the arguments of the app's `activity`
// command, which builds the query from them.
pub struct ActivityQuery {
    /// A list's address; `None` for every list.
    pub list: Option<String>,
    /// Only entries older than this one (its id), for "load older".
    pub before: Option<i64>,
    /// At most this many entries (1 to 500).
    pub limit: u32,
    /// Only entries of these groups; empty for all.
    pub groups: Vec<ActivityGroup>,
    /// Only entries whose text (or list address) contains this, ignoring
    /// ASCII case; empty for all.
    pub text: String,
}

/// One entry of the log as the activity view shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ActivityEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The list's address and name.
    pub list: String,
    pub list_name: String,
    pub kind: String,
    pub group: ActivityGroup,
    pub post_id: Option<i64>,
    /// The engine's words, with the reason.
    pub message: String,
}

/// A page of entries, newest first, and whether older ones match too.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    pub more: bool,
}

/// The group of an entry, from its kind and what the ledger knows of its
/// post. A post's own decision line (written by `settle_post`) starts with
/// "post from"; an owner's later resolution of a held post (written by
/// `resolve_held`) starts with "held post", and its fate is that
/// resolution. `posts.decision` is overwritten by a resolution, so a held
/// post is recognised by its `held_posts` row instead.
const GROUP_SQL: &str = "CASE
    WHEN a.kind = 'decision' AND a.message LIKE 'held post %' AND h.id IS NOT NULL THEN
        CASE h.resolution WHEN 'approved' THEN 'accepted' ELSE 'rejected' END
    WHEN a.kind = 'decision' AND p.decision = 'distribute' THEN 'accepted'
    WHEN a.kind = 'decision' AND h.id IS NOT NULL THEN 'held'
    WHEN a.kind = 'decision' THEN 'rejected'
    WHEN a.kind = 'delivery' THEN 'delivery'
    WHEN a.kind = 'error' THEN 'error'
    WHEN a.kind = 'config' THEN 'change'
    ELSE 'server'
END";

/// The largest page the activity view may ask for.
pub const MAX_ACTIVITY_PAGE: u32 = 500;

impl Store {
    pub fn log(
        &self,
        list_id: i64,
        post_id: Option<i64>,
        kind: ActivityKind,
        message: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![list_id, post_id, now(), kind.as_str(), message],
        )?;
        Ok(())
    }

    /// Newest first.
    pub fn activity(&self, list: &List, limit: u32) -> Result<Vec<Activity>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, kind, post_id, message FROM activity WHERE list_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![list.id, limit], |r| {
            let at: i64 = r.get(1)?;
            Ok(Activity {
                id: r.get(0)?,
                at: rfc3339(at),
                kind: r.get(2)?,
                post_id: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Entries of one list or all lists, newest first, filtered by group
    /// and text in the query itself, a page at a time.
    pub fn activity_page(&self, q: &ActivityQuery) -> Result<ActivityPage> {
        let list_id = match &q.list {
            Some(address) => Some(self.list(address)?.id),
            None => None,
        };
        let limit = q.limit.clamp(1, MAX_ACTIVITY_PAGE);
        let mut args: Vec<Value> = vec![
            list_id.map_or(Value::Null, Value::Integer),
            q.before.map_or(Value::Null, Value::Integer),
            Value::Text(like_pattern(q.text.trim())),
            // One more than asked, to tell whether older entries match.
            Value::Integer(i64::from(limit) + 1),
        ];
        let mut groups = String::new();
        if !q.groups.is_empty() {
            let marks: Vec<String> = q
                .groups
                .iter()
                .map(|g| {
                    args.push(Value::Text(g.as_str().into()));
                    format!("?{}", args.len())
                })
                .collect();
            groups = format!("AND grp IN ({})", marks.join(", "));
        }
        let sql = format!(
            "SELECT id, at, address, name, kind, grp, post_id, message FROM (
                 SELECT a.id, a.at, l.address, l.name, a.kind, a.post_id, a.message, {GROUP_SQL} AS grp
                 FROM activity a
                 JOIN lists l ON l.id = a.list_id
                 LEFT JOIN posts p ON p.id = a.post_id
                 LEFT JOIN held_posts h ON h.post_id = a.post_id
                 WHERE (?1 IS NULL OR a.list_id = ?1)
                   AND (?2 IS NULL OR a.id < ?2)
                   AND (?3 = '%%' OR a.message LIKE ?3 ESCAPE '\\' OR l.address LIKE ?3 ESCAPE '\\')
             )
             WHERE 1 {groups}
             ORDER BY id DESC LIMIT ?4"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            let at: i64 = r.get(1)?;
            Ok(ActivityEntry {
                id: r.get(0)?,
                at: rfc3339(at),
                list: r.get(2)?,
                list_name: r.get(3)?,
                kind: r.get(4)?,
                group: ActivityGroup::parse(&r.get::<_, String>(5)?),
                post_id: r.get(6)?,
                message: r.get(7)?,
            })
        })?;
        let mut entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        Ok(ActivityPage { entries, more })
    }
}

/// `text` as a LIKE pattern that matches it anywhere, its own `%`, `_` and
/// `\` taken literally.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::super::{NewPost, Resolution, Settlement, Sighting};
    use super::*;
    use crate::model::Protocol;

    fn post(s: &Store, list: &List, uid: u32) -> i64 {
        let raw = format!("post {uid}");
        let new = NewPost {
            uidvalidity: 1,
            uid,
            message_id: "",
            sender: "",
            raw: raw.as_bytes(),
            arrived_at: None,
            claimed: false,
        };
        let Sighting::New(id) = s.record_post(list, &new).unwrap() else {
            panic!("a new post")
        };
        id
    }

    fn settle(s: &Store, id: i64, decision: &'static str, subject: &str, recipients: &[&str]) {
        let settlement = Settlement {
            decision: crate::store::Outcome::parse(decision).expect("a decision"),
            reason: format!("because of {subject}"),
            sender: "ann@example.org".into(),
            subject: subject.into(),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            approvable: true,
            ..Settlement::default()
        };
        s.settle_post(id, &settlement).unwrap();
    }

    fn query(list: Option<&str>, groups: &[ActivityGroup], text: &str) -> ActivityQuery {
        ActivityQuery {
            list: list.map(str::to_string),
            before: None,
            limit: 100,
            groups: groups.to_vec(),
            text: text.into(),
        }
    }

    fn messages(page: &ActivityPage) -> Vec<(ActivityGroup, &str)> {
        page.entries
            .iter()
            .map(|e| (e.group, e.message.as_str()))
            .collect()
    }

    /// A list where a member's post went out, one post was held and then
    /// approved, one held and rejected, one rejected by a rule, a copy
    /// discarded, a delivery failed, and the owner changed a setting.
    fn busy_list(s: &Store) -> List {
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let out = post(s, &l, 1);
        settle(
            s,
            out,
            "distribute",
            "hello",
            &["b@example.org", "c@example.org"],
        );
        let ds = s.deliveries(out).unwrap();
        s.mark_sending(ds[0].id).unwrap();
        s.mark_sent(ds[0].id).unwrap();
        s.mark_sending(ds[1].id).unwrap();
        s.mark_failed(&ds[1], "550 no such user").unwrap();
        s.complete_posts(&l).unwrap();

        let approved = post(s, &l, 2);
        settle(s, approved, "hold", "let me in", &[]);
        let rejected = post(s, &l, 3);
        settle(s, rejected, "hold", "buy now", &[]);
        let held = s.held_posts(&l).unwrap();
        s.resolve_held(
            &l,
            held[0].id,
            Resolution::Approve,
            &["b@example.org".into()],
        )
        .unwrap();
        s.resolve_held(
            &l,
            held[1].id,
            Resolution::Reject,
            &["ann@example.org".into()],
        )
        .unwrap();

        let refused = post(s, &l, 4);
        settle(s, refused, "reject", "50% off_now", &[]);
        // The same post again: a copy, discarded.
        let copy = NewPost {
            uidvalidity: 1,
            uid: 5,
            message_id: "",
            sender: "",
            raw: b"post 4",
            arrived_at: None,
            claimed: false,
        };
        assert!(matches!(
            s.record_post(&l, &copy).unwrap(),
            Sighting::Copy { .. }
        ));
        s.set_setting("l@example.org", "max-size", "1M").unwrap();
        l
    }

    #[test]
    fn every_entry_has_its_group_newest_first() {
        let (_d, s) = store();
        busy_list(&s);
        let page = s
            .activity_page(&query(Some("l@example.org"), &[], ""))
            .unwrap();
        assert!(!page.more);
        let ids: Vec<i64> = page.entries.iter().map(|e| e.id).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        assert_eq!(page.entries[0].list, "l@example.org");
        assert_eq!(page.entries[0].list_name, "L");
        let got = messages(&page);
        let expect = [
            (ActivityGroup::Change, "max-size set to '1M'"),
            (ActivityGroup::Rejected, "discarded: a copy of post 4"),
            (
                ActivityGroup::Rejected,
                "post from ann@example.org \"50% off_now\": reject",
            ),
            (ActivityGroup::Rejected, "rejected by an owner"),
            (ActivityGroup::Accepted, "approved by an owner"),
            (ActivityGroup::Held, "\"buy now\": hold: because of buy now"),
            (ActivityGroup::Held, "\"let me in\": hold"),
            (
                ActivityGroup::Delivery,
                "\"hello\": delivered to 1 member(s); 1 could not be reached",
            ),
            (
                ActivityGroup::Error,
                "to c@example.org: not delivered: 550 no such user",
            ),
            (
                ActivityGroup::Accepted,
                "\"hello\": distribute to 2 member(s)",
            ),
            (ActivityGroup::Change, "list created"),
        ];
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for ((group, message), (want_group, want_text)) in got.iter().zip(expect) {
            assert_eq!(*group, want_group, "{message}");
            assert!(
                message.contains(want_text),
                "{message:?} should contain {want_text:?}"
            );
        }
    }

    #[test]
    fn groups_and_text_filter_in_the_query() {
        let (_d, s) = store();
        busy_list(&s);
        let l = Some("l@example.org");
        let held = s
            .activity_page(&query(l, &[ActivityGroup::Held], ""))
            .unwrap();
        assert_eq!(held.entries.len(), 2);
        assert!(
            held.entries
                .iter()
                .all(|e| e.group == ActivityGroup::Held && e.message.contains(": hold: "))
        );

        let fate = s
            .activity_page(&query(
                l,
                &[ActivityGroup::Accepted, ActivityGroup::Error],
                "",
            ))
            .unwrap();
        let groups: Vec<_> = fate.entries.iter().map(|e| e.group).collect();
        assert_eq!(
            groups,
            [
                ActivityGroup::Accepted,
                ActivityGroup::Error,
                ActivityGroup::Accepted
            ]
        );

        // Text: any case, anywhere; % and _ are taken as themselves.
        let text = s.activity_page(&query(l, &[], "LET ME")).unwrap();
        assert_eq!(text.entries.len(), 1, "{:#?}", text.entries);
        assert_eq!(
            s.activity_page(&query(l, &[], "50% off_"))
                .unwrap()
                .entries
                .len(),
            1
        );
        assert_eq!(
            s.activity_page(&query(l, &[], "50_"))
                .unwrap()
                .entries
                .len(),
            0
        );
        assert_eq!(
            s.activity_page(&query(l, &[], "%")).unwrap().entries.len(),
            1
        );
        // Text and group together.
        let both = s
            .activity_page(&query(l, &[ActivityGroup::Rejected], "off"))
            .unwrap();
        assert_eq!(both.entries.len(), 1);
        assert!(
            s.activity_page(&query(l, &[ActivityGroup::Held], "off"))
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn pages_go_back_from_an_entry_and_say_when_there_is_more() {
        let (_d, s) = store();
        busy_list(&s);
        let all = s.activity_page(&query(None, &[], "")).unwrap().entries;
        let mut q = query(None, &[], "");
        q.limit = 4;
        let mut seen = Vec::new();
        loop {
            let page = s.activity_page(&q).unwrap();
            assert!(page.entries.len() <= 4);
            seen.extend(page.entries.iter().map(|e| e.id));
            if !page.more {
                break;
            }
            q.before = page.entries.last().map(|e| e.id);
        }
        assert_eq!(seen, all.iter().map(|e| e.id).collect::<Vec<_>>());
        // Paging keeps the filter.
        let mut held = query(None, &[ActivityGroup::Held], "");
        held.limit = 1;
        let first = s.activity_page(&held).unwrap();
        assert!(first.more);
        held.before = Some(first.entries[0].id);
        let second = s.activity_page(&held).unwrap();
        assert!(!second.more);
        assert_eq!(second.entries.len(), 1);
        assert!(second.entries[0].message.contains("let me in"));
    }

    #[test]
    fn one_list_or_all_lists() {
        let (_d, s) = store();
        busy_list(&s);
        let other = s
            .create_list("other@example.org", "Other", Protocol::Plain)
            .unwrap();
        s.log(
            other.id,
            None,
            ActivityKind::Error,
            "cannot log in to IMAP: check the password",
        )
        .unwrap();
        let one = s
            .activity_page(&query(Some("other@example.org"), &[], ""))
            .unwrap();
        let groups: Vec<_> = one.entries.iter().map(|e| e.group).collect();
        assert_eq!(groups, [ActivityGroup::Error, ActivityGroup::Change]);
        let all = s
            .activity_page(&query(None, &[ActivityGroup::Error], ""))
            .unwrap();
        let lists: Vec<&str> = all.entries.iter().map(|e| e.list.as_str()).collect();
        assert_eq!(lists, ["other@example.org", "l@example.org"]);
        // The list's address is searched too.
        assert_eq!(
            s.activity_page(&query(None, &[], "other@"))
                .unwrap()
                .entries
                .len(),
            2
        );
        assert!(matches!(
            s.activity_page(&query(Some("gone@example.org"), &[], "")),
            Err(crate::store::StoreError::NoSuchList(_))
        ));
    }
}
