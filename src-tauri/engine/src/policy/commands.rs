//! Commands sent to the list by mail (RFC 2369 `List-Help` and
//! `List-Unsubscribe` point at them): a Subject that is only "help", "key"
//! or "unsubscribe", and the answer that confirms leaving. They are
//! answered, never passed on to the members.

/// The words a member's answer must carry in its Subject to confirm that
/// they want to leave.
pub const CONFIRM_WORD: &str = "unsubscribe-confirm";

/// What a member asks of the list itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCommand {
    /// How the list works.
    Help,
    /// The list's public key (or certificate), signed by the list; the one
    /// command anyone may send, for who is about to join.
    Key,
    /// To leave; answered with a request to confirm.
    Unsubscribe,
    /// The confirmation of a request to leave, with the code the list sent.
    ConfirmUnsubscribe { token: String },
    /// An answer to an invitation, with its code: the invitee's key is in
    /// it, and it is signed with that key.
    Join { token: String },
    /// Someone asks to join: a request for the owner, never a membership.
    Subscribe,
}

/// The word before an invitation's code.
pub const JOIN_WORD: &str = "join";

impl ListCommand {
    /// In the words of the activity log.
    pub fn describe(&self) -> &'static str {
        match self {
            ListCommand::Help => "a request for help",
            ListCommand::Key => "a request for the list's key",
            ListCommand::Unsubscribe => "a request to leave the list",
            ListCommand::ConfirmUnsubscribe { .. } => "a confirmation of leaving the list",
            ListCommand::Join { .. } => "an answer to an invitation",
            ListCommand::Subscribe => "a request to join the list",
        }
    }

    /// Whether someone who is not a member may send it: only for the key,
    /// which a newcomer needs before they can join (answers are limited per
    /// address and day, so forged senders get little).
    pub fn open_to_anyone(&self) -> bool {
        matches!(
            self,
            ListCommand::Key | ListCommand::Join { .. } | ListCommand::Subscribe
        )
    }
}

/// The command a Subject carries, if it is one. Only a Subject that is the
/// command word alone counts (a post about unsubscribing is a post), except
/// for the confirmation and an invitation's answer, which are replies and
/// may start with "Re:".
pub fn command_in(subject: &str) -> Option<ListCommand> {
    let s = subject.trim();
    if let Some(token) = invitation_code_in(s) {
        return Some(ListCommand::Join { token });
    }
    if s.eq_ignore_ascii_case("help") {
        return Some(ListCommand::Help);
    }
    if s.eq_ignore_ascii_case("key") {
        return Some(ListCommand::Key);
    }
    if s.eq_ignore_ascii_case("unsubscribe") {
        return Some(ListCommand::Unsubscribe);
    }
    if s.eq_ignore_ascii_case("subscribe") {
        return Some(ListCommand::Subscribe);
    }
    let lower = s.to_ascii_lowercase();
    let at = lower.find(&format!("{CONFIRM_WORD} "))?;
    let token: String = s[at + CONFIRM_WORD.len() + 1..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (token.len() >= 16).then(|| ListCommand::ConfirmUnsubscribe {
        token: token.to_ascii_lowercase(),
    })
}

/// An invitation's code after the word "join": five groups of five
/// letters and digits, joined by dashes.
pub fn invitation_code_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(JOIN_WORD) {
        let start = from + at;
        let before_ok = start == 0 || !lower.as_bytes()[start - 1].is_ascii_alphanumeric();
        let rest = lower[start + JOIN_WORD.len()..].trim_start_matches([' ', ':']);
        let code: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let groups: Vec<&str> = code.split('-').collect();
        if before_ok && groups.len() == 5 && groups.iter().all(|g| g.len() == 5) {
            return Some(code);
        }
        from = start + JOIN_WORD.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_code_is_found_after_join_also_in_a_reply() {
        let join = |t: &str| Some(ListCommand::Join { token: t.into() });
        assert_eq!(
            command_in("join abcde-fgh2j-kmnpq-rstuv-wxyz2"),
            join("abcde-fgh2j-kmnpq-rstuv-wxyz2")
        );
        assert_eq!(
            command_in("Re: Your invitation: JOIN ABCDE-FGH2J-KMNPQ-RSTUV-WXYZ2"),
            join("abcde-fgh2j-kmnpq-rstuv-wxyz2")
        );
        assert_eq!(
            command_in("join: abcde-fgh2j-kmnpq-rstuv-wxyz2 thanks"),
            join("abcde-fgh2j-kmnpq-rstuv-wxyz2")
        );
        assert_eq!(command_in("join abcde-fgh2j-kmnpq"), None, "too short");
        assert_eq!(command_in("rejoin abcde-fgh2j-kmnpq-rstuv-wxyz2"), None);
        assert_eq!(command_in("Let us join forces"), None);
        assert!(
            ListCommand::Join {
                token: String::new()
            }
            .open_to_anyone()
        );
    }

    #[test]
    fn only_the_command_word_alone_is_a_command() {
        assert_eq!(command_in(" Help "), Some(ListCommand::Help));
        assert_eq!(command_in("UNSUBSCRIBE"), Some(ListCommand::Unsubscribe));
        assert_eq!(command_in("How do I unsubscribe?"), None);
        assert_eq!(command_in("help with the rent"), None);
        assert_eq!(command_in(" KEY"), Some(ListCommand::Key));
        assert_eq!(command_in("the key to the hall"), None);
        assert_eq!(command_in(""), None);
    }

    #[test]
    fn a_reply_to_the_confirmation_carries_its_code() {
        let token = "0123456789abcdef0123456789abcdef";
        let subject = format!(
            "Re: Confirm leaving Tenants: {CONFIRM_WORD} {}",
            token.to_uppercase()
        );
        assert_eq!(
            command_in(&subject),
            Some(ListCommand::ConfirmUnsubscribe {
                token: token.into()
            })
        );
        assert_eq!(command_in(&format!("{CONFIRM_WORD} short")), None);
    }
}
