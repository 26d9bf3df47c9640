//! Mail the list writes itself: notices to owners and posters, the notice a
//! member without a key gets instead of an encrypted post, and the answers
//! to the commands members send (help, unsubscribe). Each is marked as
//! automatic (RFC 3834) and carries the list's loop marks, so no machine
//! answers it and it never comes back through the list. None of them
//! carries a post's content.

use super::render::{header_text, phrase};
use crate::model::List;
use crate::policy::commands::CONFIRM_WORD;
use crate::store::Outcome;

/// What an owner is told about a post the list did not send.
pub struct OwnerNotice<'a> {
    pub sender: &'a str,
    pub subject: &'a str,
    pub message_id: &'a str,
    /// Held, rejected or discarded.
    pub decision: Outcome,
    pub reason: &'a str,
    pub held_id: Option<i64>,
}

/// When and as what a notice goes out.
pub struct Envelope<'a> {
    pub to: &'a str,
    pub message_id: &'a str,
    pub date: &'a str,
}

/// The mail to an owner about a held, rejected or discarded post: its
/// headers and the reason, never its content (which may have been
/// decrypted by the list).
pub fn render_owner_notice(list: &List, n: &OwnerNotice<'_>, env: &Envelope<'_>) -> Vec<u8> {
    let eol = "\r\n";
    let what = match n.decision {
        Outcome::Hold => "held for an owner",
        Outcome::Reject => "rejected",
        _ => "discarded",
    };
    let subject = format!("[{}] post {what}: {}", list.name, n.subject);
    let mut m = notice_head(list, env, &subject, "auto-generated");
    m.push_str(&format!("A post to {} was {what}.{eol}{eol}", list.address));
    m.push_str(&format!(
        "From:       {}{eol}Subject:    {}{eol}Message-ID: {}{eol}Reason:     {}{eol}{eol}",
        one_line(n.sender),
        one_line(n.subject),
        one_line(n.message_id),
        one_line(n.reason)
    ));
    if let Some(id) = n.held_id.filter(|_| n.decision == Outcome::Hold) {
        m.push_str(&format!(
            "Approve, reject or discard it in the Conclave window, or with{eol}  conclave-cli held approve|reject|discard {} {id}{eol}{eol}",
            list.address
        ));
    }
    m.push_str(&format!(
        "The post's content is not included in this notice.{eol}"
    ));
    m.into_bytes()
}

/// Text from a post shown in a notice's body stays on its line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The header block and empty line of a notice from the list.
fn notice_head(list: &List, env: &Envelope<'_>, subject: &str, auto: &str) -> String {
    let mut m = head_fields(list, env, subject, auto);
    m.push_str(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m
}

/// The fields every notice has, up to (not including) its Content-* fields.
fn head_fields(list: &List, env: &Envelope<'_>, subject: &str, auto: &str) -> String {
    let mut m = String::new();
    let mut add = |name: &str, value: &str| m.push_str(&format!("{name}: {value}\r\n"));
    add(
        "From",
        &format!("{} <{}>", phrase(&one_line(&list.name)), list.address),
    );
    add("To", env.to);
    add("Subject", &header_text(subject));
    add("Date", env.date);
    add("Message-ID", env.message_id);
    add("Auto-Submitted", auto);
    add("X-Loop", &list.address);
    add(
        "List-Id",
        &format!("{} <{}>", phrase(&one_line(&list.name)), list.list_id()),
    );
    add("MIME-Version", "1.0");
    m
}

/// The notice a poster receives when an owner rejects a held post.
pub fn render_notice(list: &List, env: &Envelope<'_>, subject: &str, reason: &str) -> Vec<u8> {
    let mut m = notice_head(list, env, &notice_subject(list, subject), "auto-replied");
    m.push_str(&notice_text(list, subject, reason, "\r\n"));
    m.into_bytes()
}

fn notice_subject(list: &List, subject: &str) -> String {
    format!("Your post to {} was not accepted: {subject}", list.name)
}

fn notice_text(list: &List, subject: &str, reason: &str, eol: &str) -> String {
    format!(
        "Your message \"{}\" to the list {} was rejected by an owner.{eol}{eol}Reason: {}{eol}",
        one_line(subject),
        list.address,
        one_line(reason)
    )
}

/// The subject and text of the notice a rejected poster gets, as the owner
/// is shown them before choosing Reject.
pub fn notice_words(list: &List, subject: &str, reason: &str) -> (String, String) {
    (
        notice_subject(list, subject),
        notice_text(list, subject, reason, "\n"),
    )
}

/// The header (with the empty line) and the text entity of the notice a
/// member gets instead of a post that reached the list encrypted while the
/// list has no usable key of theirs: no subject, no word of the post, and
/// how to send a key. The caller signs the entity with the list's key.
pub fn keyless_notice(
    list: &List,
    env: &Envelope<'_>,
    owner: Option<&str>,
    openpgp_key: Option<&[u8]>,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] a post you did not receive", list.name);
    let head = head_fields(list, env, &subject, "auto-generated").into_bytes();
    let send_to = match owner {
        Some(owner) => format!("the list's owner ({owner})"),
        None => "the list's owner".to_string(),
    };
    let text = format!(
        "A post went out on the list {name} ({address}) that you did not receive.{eol}{eol}\
         It reached the list encrypted, and the list sends encrypted posts only encrypted.{eol}\
         The list has no usable key of yours (none, or it has expired or been revoked),{eol}\
         so nothing of the post was sent to you.{eol}{eol}\
         To receive the list's posts, send your public key (OpenPGP, or your S/MIME{eol}\
         certificate) to {send_to}, who adds it to the list, or ask them for an{eol}\
         invitation: with its code, one mail from you, signed with your key and{eol}\
         with the key attached, adds it.{eol}{eol}\
         {key_words}",
        name = one_line(&list.name),
        address = list.address,
        key_words = if openpgp_key.is_some() {
            format!(
                "The list's own key is attached, signed by the list: with it you can{eol}\
                 write to the list encrypted. Compare its fingerprint with the one the{eol}\
                 owner gave you before you trust it.{eol}"
            )
        } else {
            format!(
                "For the list's own key, signed by the list, send a mail to {} with the{eol}\
                 subject \"key\".{eol}",
                list.address
            )
        },
    );
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    (
        head,
        with_openpgp_key(list, text_part, openpgp_key).into_bytes(),
    )
}

/// Which key a reminder is about, as its member knows it.
pub struct EndingKey<'a> {
    /// "OpenPGP key" or "S/MIME certificate".
    pub kind: &'a str,
    /// Fingerprint in groups of four (S/MIME: the certificate's SHA-256).
    pub fingerprint: &'a str,
    /// The day it ends, as "2027-01-31".
    pub ends: &'a str,
    pub days_left: i64,
}

/// The reminder a member gets a month and a week before the list can no
/// longer encrypt to their key: the head, and the entity for the list to
/// sign and encrypt to that key (it names the key, so only its holder
/// should read it).
pub fn key_ending(
    list: &List,
    env: &Envelope<'_>,
    key: &EndingKey<'_>,
    owner: Option<&str>,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] your key for the list ends soon", list.name);
    let head = head_fields(list, env, &subject, "auto-generated").into_bytes();
    let send_to = match owner {
        Some(owner) => format!("the list's owner ({owner})"),
        None => "the list's owner".to_string(),
    };
    let how = if key.kind.starts_with("OpenPGP") {
        format!(
            "Extend it (in Thunderbird: Account Settings, End-To-End Encryption,{eol}\
             the key's \"Change Expiration Date\"; with gpg: gpg --quick-set-expire{eol}\
             FINGERPRINT 1y, and the same with '*' for its subkeys), or make a new{eol}\
             key, and send the public key to {send_to}."
        )
    } else {
        format!(
            "Ask whoever issued it for a new certificate, and send a mail signed{eol}\
             with the new one to {send_to}."
        )
    };
    let text = format!(
        "Your {kind} for the list {name} ({address}) ends on {ends}{left}:{eol}{eol}\
         \u{20}\u{20}{fingerprint}{eol}{eol}\
         From then on the list can no longer encrypt its posts to you, and you{eol}\
         will miss them.{eol}{eol}\
         {how}{eol}",
        kind = key.kind,
        name = one_line(&list.name),
        address = list.address,
        ends = key.ends,
        left = match key.days_left {
            ..=0 => String::new(),
            1 => " (in a day)".to_string(),
            n => format!(" (in {n} days)"),
        },
        fingerprint = key.fingerprint,
    );
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    (head, entity.into_bytes())
}

/// `text_part` (a whole entity), with the list's OpenPGP key attached when
/// there is one (as Thunderbird and gpg import it: application/pgp-keys).
fn with_openpgp_key(list: &List, text_part: String, key: Option<&[u8]>) -> String {
    let Some(key) = key else {
        return text_part;
    };
    let name = crate::owner::keys::export_file_name(&list.address, crate::model::Protocol::Openpgp);
    let boundary = "conclave-list-key";
    format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\n{text_part}\r\n--{boundary}\r\n\
         Content-Type: application/pgp-keys; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{key}\r\n--{boundary}--\r\n",
        key = String::from_utf8_lossy(&crate::mime::crlf(key)).trim_end(),
    )
}

/// The answer to "key": the head, and the entity for the list to sign. The
/// text names each key the list has; the OpenPGP key is attached (as
/// Thunderbird and gpg import it), and an S/MIME certificate travels in the
/// list's signature, where mail clients take it from.
pub fn key_answer(
    list: &List,
    env: &Envelope<'_>,
    keys: &[String],
    openpgp_key: Option<&[u8]>,
    owner: Option<&str>,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] the list's key", list.name);
    let head = head_fields(list, env, &subject, "auto-replied").into_bytes();
    let mut text = format!(
        "This is the key of the mailing list {name} ({address}), signed by the list.{eol}{eol}",
        name = one_line(&list.name),
        address = list.address,
    );
    for k in keys {
        text.push_str(&format!("  {k}{eol}"));
    }
    text.push_str(&format!(
        "{eol}Before you trust it, compare it with the fingerprint the list's owner{eol}\
         gave you in person or over another channel you trust: anyone can send a{eol}\
         mail that says it is the list.{eol}"
    ));
    if let Some(owner) = owner {
        text.push_str(&format!("{eol}The list's owner: {owner}{eol}"));
    }
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    let entity = with_openpgp_key(list, text_part, openpgp_key);
    (head, entity.into_bytes())
}

/// The answer to a member's "help": what the list is and how to use it.
pub fn render_help(
    list: &List,
    env: &Envelope<'_>,
    keys: &[String],
    owner: Option<&str>,
) -> Vec<u8> {
    let eol = "\r\n";
    let mut m = notice_head(
        list,
        env,
        &format!("[{}] how this list works", list.name),
        "auto-replied",
    );
    m.push_str(&format!(
        "This is the mailing list {} ({}).{eol}{eol}To write to everyone on the list, send your mail to {}.{eol}",
        one_line(&list.name),
        list.address,
        list.address
    ));
    if !keys.is_empty() {
        m.push_str(&format!(
            "Encrypt it to the list's key and sign it with your own; the list sends{eol}\
             each member a copy encrypted to their own key. The list's key:{eol}"
        ));
        for k in keys {
            m.push_str(&format!("  {k}{eol}"));
        }
        m.push_str(&format!(
            "Compare it with what your owner gave you before you trust it.{eol}\
             To get the key itself, signed by the list, send a mail to {} with the{eol}\
             subject \"key\".{eol}",
            list.address
        ));
    }
    m.push_str(&format!(
        "{eol}To leave the list, send a mail to {} with the subject \"unsubscribe\";{eol}\
         the list asks you to confirm before anything changes.{eol}\
         To ask to join, send the subject \"subscribe\": the owner decides, and{eol}\
         invites you if they agree.{eol}",
        list.address
    ));
    if let Some(owner) = owner {
        m.push_str(&format!(
            "{eol}Questions about the list go to its owner: {owner}{eol}"
        ));
    }
    m.into_bytes()
}

/// The answer to "subscribe": the request went to the owner, who invites
/// (or not); a member is told they are one.
pub fn render_join_request(
    list: &List,
    env: &Envelope<'_>,
    owner: Option<&str>,
    member_already: bool,
) -> Vec<u8> {
    let eol = "\r\n";
    let mut m = notice_head(
        list,
        env,
        &format!("[{}] your request to join", list.name),
        "auto-replied",
    );
    if member_already {
        m.push_str(&format!(
            "You are a member of the list {} ({}) already.{eol}",
            one_line(&list.name),
            list.address
        ));
    } else {
        m.push_str(&format!(
            "Your request to join the list {} ({}) went to its owner.{eol}{eol}\
             If they agree, they send you an invitation, in person or by mail: a code,{eol}\
             the list key's fingerprint to compare, and what to do. Nothing else{eol}\
             happens until then; you are not a member.{eol}",
            one_line(&list.name),
            list.address
        ));
    }
    if let Some(owner) = owner {
        m.push_str(&format!("{eol}The list's owner: {owner}{eol}"));
    }
    m.into_bytes()
}

/// How long a request to leave waits for its confirmation.
pub const UNSUBSCRIBE_DAYS: i64 = 7;

/// The mail that asks a member to confirm leaving: a reply that keeps the
/// Subject (with its code) confirms. A forged "unsubscribe" thus removes
/// no one: the code goes to the member's own mailbox.
pub fn render_unsubscribe_confirm(list: &List, env: &Envelope<'_>, token: &str) -> Vec<u8> {
    let eol = "\r\n";
    let mut m = head_fields(
        list,
        env,
        &format!("Confirm leaving {}: {CONFIRM_WORD} {token}", list.name),
        "auto-replied",
    );
    m.push_str(&format!("Reply-To: {}\r\n", list.address));
    m.push_str(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m.push_str(&format!(
        "Someone, probably you, asked to remove {to} from the list {name} ({address}).{eol}{eol}\
         To leave the list, reply to this mail and keep its subject as it is.{eol}{eol}\
         If you did not ask for this, ignore this mail: nothing changes. The request{eol}\
         ends by itself in {UNSUBSCRIBE_DAYS} days.{eol}",
        to = env.to,
        name = one_line(&list.name),
        address = list.address,
    ));
    m.into_bytes()
}

/// An invitation mailed from the list (when the group takes mail as the
/// channel): the head and the entity for the list to sign, the owner's
/// `text`; with an OpenPGP list key, that key in an `Autocrypt` header and
/// attached (an S/MIME certificate travels in the signature).
pub fn invitation(
    list: &List,
    env: &Envelope<'_>,
    text: &str,
    openpgp: Option<InvitingKey<'_>>,
) -> (Vec<u8>, Vec<u8>) {
    let subject = format!("[{}] an invitation to the list", list.name);
    let mut head = head_fields(list, env, &subject, "no");
    if let Some(key) = &openpgp {
        let folded: Vec<&str> = key
            .autocrypt_keydata
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        head.push_str(&format!(
            "Autocrypt: addr={}; prefer-encrypt=mutual; keydata=\r\n {}\r\n",
            list.address,
            folded.join("\r\n ")
        ));
    }
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        text.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    (
        head.into_bytes(),
        with_openpgp_key(list, text_part, openpgp.map(|k| k.public)).into_bytes(),
    )
}

/// The list's OpenPGP key as an invitation carries it: attached, and in
/// an `Autocrypt` header.
pub struct InvitingKey<'a> {
    pub public: &'a [u8],
    pub autocrypt_keydata: &'a str,
}

/// The mail every member gets once the list's key was renewed: the head,
/// and the entity for the list to sign (with its renewed key), the OpenPGP
/// key attached so that members' clients take its new expiry; an S/MIME
/// certificate travels in the signature.
pub fn key_renewed(
    list: &List,
    env: &Envelope<'_>,
    key: &str,
    expires: &str,
    openpgp_key: Option<&[u8]>,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] the list's key was renewed", list.name);
    let head = head_fields(list, env, &subject, "auto-generated").into_bytes();
    let text = format!(
        "The key of the mailing list {name} ({address}) was renewed: it is the same{eol}\
         key, now valid until {expires}.{eol}{eol}\
         \u{20}\u{20}{key}{eol}{eol}\
         {how}",
        name = one_line(&list.name),
        address = list.address,
        how = if openpgp_key.is_some() {
            format!(
                "It is attached, signed by the list: import it (Thunderbird and gpg do so{eol}\
                 from the attachment) so your mail program keeps encrypting to the list.{eol}"
            )
        } else {
            format!(
                "Your mail program takes the renewed certificate from this mail's{eol}\
                 signature; keep it in your address book.{eol}"
            )
        },
    );
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    (
        head,
        with_openpgp_key(list, text_part, openpgp_key).into_bytes(),
    )
}

/// The welcome an invitee gets once their answer checked out: the head,
/// and the entity for the list to sign and encrypt to their new key.
pub fn welcome(
    list: &List,
    env: &Envelope<'_>,
    fingerprint: &str,
    owner: Option<&str>,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] welcome", list.name);
    let head = head_fields(list, env, &subject, "auto-replied").into_bytes();
    let mut text = format!(
        "Welcome to the list {name} ({address}).{eol}{eol}\
         Your invitation, your key and your signature checked out: you are a member,{eol}\
         and the list encrypts its posts to your key{eol}{eol}\
         \u{20}\u{20}{fingerprint}{eol}{eol}\
         To write to the list, send your mail to {address}, encrypted to the list's{eol}\
         key and signed with yours. This mail is signed by the list: keep its key.{eol}",
        name = one_line(&list.name),
        address = list.address,
    );
    if let Some(owner) = owner {
        text.push_str(&format!("{eol}The list's owner: {owner}{eol}"));
    }
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    (head, entity.into_bytes())
}

/// The mail that tells a member the key in their signed post replaced
/// their old one: the head, and the entity for the list to sign and
/// encrypt to the new key.
pub fn key_replaced(
    list: &List,
    env: &Envelope<'_>,
    came: KeyCame,
    new: &str,
    old: &str,
) -> (Vec<u8>, Vec<u8>) {
    let eol = "\r\n";
    let subject = format!("[{}] your new key", list.name);
    let head = head_fields(list, env, &subject, "auto-replied").into_bytes();
    let (how, what) = match came {
        KeyCame::SignedByOld => ("was signed with your key and carried a new one", "key"),
        KeyCame::CertifiedByOld => ("carried a new key, certified by your current one", "key"),
        KeyCame::RenewedCertificate => (
            "was signed with a renewed certificate for your address,{eol}from an authority the list trusts",
            "certificate",
        ),
    };
    let how = how.replace("{eol}", eol);
    let text = format!(
        "Your post to the list {name} ({address}) {how}.{eol}\
         From now on the list encrypts to your new {what}{eol}{eol}\
         \u{20}\u{20}{new}{eol}{eol}\
         instead of{eol}{eol}\
         \u{20}\u{20}{old}{eol}{eol}\
         If you did not make this change, tell the list's owner at once.{eol}",
        name = one_line(&list.name),
        address = list.address,
    );
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
    );
    (head, entity.into_bytes())
}

/// How a member's new key came, for the mail that tells them it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCame {
    /// In a post signed by their current key.
    SignedByOld,
    /// Certified by their current key.
    CertifiedByOld,
    /// An S/MIME certificate renewed by an authority the list trusts, that
    /// signed their post.
    RenewedCertificate,
}

/// The last mail a member gets after confirming that they leave.
pub fn render_goodbye(list: &List, env: &Envelope<'_>) -> Vec<u8> {
    let eol = "\r\n";
    let mut m = notice_head(
        list,
        env,
        &format!("You have left {}", list.name),
        "auto-replied",
    );
    m.push_str(&format!(
        "You have left the list {} ({}). You will receive no more of its posts.{eol}{eol}\
         To come back, ask the list's owner.{eol}",
        one_line(&list.name),
        list.address
    ));
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> List {
        List::example("Tenants")
    }

    fn env() -> Envelope<'static> {
        Envelope {
            to: "owner@example.org",
            message_id: "<n@x>",
            date: "Mon, 1 Jan 2024 00:00:00 +0000",
        }
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn owner_notices_carry_headers_and_reason_only() {
        let n = OwnerNotice {
            sender: "eve@example.net",
            subject: "hello",
            message_id: "<m@x>",
            decision: Outcome::Hold,
            reason: "eve@example.net is not a member",
            held_id: Some(7),
        };
        let t = text(&render_owner_notice(&list(), &n, &env()));
        assert!(
            t.contains("Subject: [Tenants] post held for an owner: hello\r\n"),
            "{t}"
        );
        assert!(t.contains("Reason:     eve@example.net is not a member"));
        assert!(t.contains("held approve|reject|discard list@example.org 7"));
        assert!(t.contains("Auto-Submitted: auto-generated\r\n"));
    }

    #[test]
    fn a_subject_with_a_line_break_adds_no_header_field() {
        let n = OwnerNotice {
            sender: "eve@example.net",
            subject: "hi\r\nBcc: victim@example.org",
            message_id: "<m@x>",
            decision: Outcome::Reject,
            reason: "r",
            held_id: None,
        };
        let t = text(&render_owner_notice(&list(), &n, &env()));
        assert!(!t.contains("\r\nBcc:"), "{t}");
        let r = text(&render_notice(
            &list(),
            &env(),
            "x\nBcc: victim@example.org",
            "off\ntopic",
        ));
        assert!(!r.contains("\nBcc:") && !r.contains("\r\ntopic"), "{r}");
    }

    #[test]
    fn notices_are_marked_automatic() {
        let n = text(&render_notice(&list(), &env(), "Hi", "off topic"));
        assert!(n.contains("Auto-Submitted: auto-replied\r\n"));
        assert!(n.contains("Reason: off topic"));
        let (subject, text) = notice_words(&list(), "Hi", "off topic");
        assert!(n.contains(&format!("Subject: {subject}\r\n")), "{n}");
        assert!(
            n.ends_with(&text.replace('\n', "\r\n")),
            "the owner is shown what the poster gets: {n}"
        );
    }

    #[test]
    fn the_keyless_notice_names_no_post() {
        let (head, entity) = keyless_notice(&list(), &env(), Some("owner@example.org"), None);
        let all = text(&[head.as_slice(), b"\r\n", &entity].concat());
        assert!(all.contains("subject \"key\""), "{all}");
        let key =
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjME\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let (_, with_key) = keyless_notice(&list(), &env(), None, Some(key));
        let with_key = text(&with_key);
        assert!(
            with_key.contains("Content-Type: application/pgp-keys; name=\"list-openpgp.asc\"")
                && with_key.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n")
                && with_key.contains("attached"),
            "{with_key}"
        );
        assert!(
            all.contains("Subject: [Tenants] a post you did not receive\r\n"),
            "{all}"
        );
        assert!(all.contains("owner@example.org") && all.contains("public key"));
        assert!(
            !text(&head).ends_with("\r\n\r\n"),
            "the caller adds the signed entity"
        );
    }

    #[test]
    fn the_confirmation_carries_its_code_in_the_subject() {
        let t = text(&render_unsubscribe_confirm(&list(), &env(), "abc123"));
        assert!(
            t.contains(&format!(
                "Subject: Confirm leaving Tenants: {CONFIRM_WORD} abc123\r\n"
            )),
            "{t}"
        );
        assert!(t.contains("Reply-To: list@example.org\r\n"));
        let h = text(&render_help(
            &list(),
            &env(),
            &["OpenPGP 0123 4567".into()],
            Some("o@example.org"),
        ));
        assert!(
            h.contains("unsubscribe")
                && h.contains("OpenPGP 0123 4567")
                && h.contains("o@example.org"),
            "{h}"
        );
    }
}
