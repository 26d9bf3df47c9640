//! What the tray shows and offers: its menu (Open, Check now, Pause all /
//! Resume all, Quit) and the icon's look, which says how the lists are
//! doing, so an owner sees a held post or a failure without opening the
//! window. Pure, so the app's tray and the light tray process show the
//! same thing.

use super::AgentStatus;
use crate::store::ListSummary;

/// What a tray menu item does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// Show the window and bring it to the front.
    Open,
    /// Look at every list's mailbox now.
    CheckNow,
    /// Pause every list, or resume them when paused.
    TogglePause,
    /// End the app and its agent.
    Quit,
}

impl TrayAction {
    pub const ALL: [TrayAction; 4] = [
        TrayAction::Open,
        TrayAction::CheckNow,
        TrayAction::TogglePause,
        TrayAction::Quit,
    ];

    /// The menu item id this action is bound to.
    pub fn id(self) -> &'static str {
        match self {
            TrayAction::Open => "open",
            TrayAction::CheckNow => "check",
            TrayAction::TogglePause => "pause",
            TrayAction::Quit => "quit",
        }
    }

    /// The action of a clicked menu item; `None` for ids that are not ours.
    pub fn from_id(id: &str) -> Option<TrayAction> {
        TrayAction::ALL.into_iter().find(|a| a.id() == id)
    }
}

/// The pause item says what clicking it will do.
pub fn pause_label(paused_all: bool) -> &'static str {
    if paused_all {
        "Resume all"
    } else {
        "Pause all"
    }
}

/// What the tray icon shows, from the most to the least urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayLook {
    /// A list or the agent failed: the owner must act.
    Error,
    /// A list's server cannot be reached; the agent keeps trying.
    Offline,
    /// Posts wait for an owner's decision.
    Attention,
    /// The agent is taking posts or sending copies right now.
    Working,
    /// Every list is paused from the tray.
    Paused,
    /// Watching, nothing to do.
    Idle,
}

/// The look for the agent's state and the lists' summaries. An error hides
/// held posts: the owner opens the window either way, and an error can
/// mean posts are not arriving at all.
pub fn look(status: &AgentStatus, lists: &[ListSummary], working: bool) -> TrayLook {
    let active = |l: &&ListSummary| !l.paused;
    if status.error.is_some() || lists.iter().filter(active).any(|l| l.last_error.is_some()) {
        TrayLook::Error
    } else if status.offline {
        TrayLook::Offline
    } else if lists.iter().any(|l| l.held > 0) {
        TrayLook::Attention
    } else if working {
        TrayLook::Working
    } else if status.paused_all {
        TrayLook::Paused
    } else {
        TrayLook::Idle
    }
}

/// The tooltip: the look in words, with the count that matters.
pub fn tooltip(look: TrayLook, status: &AgentStatus, lists: &[ListSummary]) -> String {
    let held: u32 = lists.iter().map(|l| l.held).sum();
    let failing = lists
        .iter()
        .filter(|l| !l.paused && l.last_error.is_some())
        .count();
    let what = match look {
        TrayLook::Error if status.error.is_some() => {
            "the agent stopped: open the window to see why".to_string()
        }
        TrayLook::Error => match failing {
            1 => "a list has a problem: open the window to see it".to_string(),
            n => format!("{n} lists have problems: open the window to see them"),
        },
        TrayLook::Offline => "offline, trying to reconnect".to_string(),
        TrayLook::Attention => match held {
            1 => "1 post waits for your decision".to_string(),
            n => format!("{n} posts wait for your decision"),
        },
        TrayLook::Working => "taking and sending posts".to_string(),
        TrayLook::Paused => "all lists paused".to_string(),
        TrayLook::Idle => match lists.iter().filter(|l| !l.paused).count() {
            0 => "no list is running".to_string(),
            1 => "watching 1 list".to_string(),
            n => format!("watching {n} lists"),
        },
    };
    if status.demo {
        format!("Conclave demo, nothing is sent: {what}")
    } else {
        format!("Conclave: {what}")
    }
}

/// The colour of the dot in the icon's corner, or `None` for the plain
/// icon. The dot is the same shape for every state; colour-blind owners
/// have the tooltip's words.
pub fn badge_colour(look: TrayLook) -> Option<[u8; 3]> {
    match look {
        TrayLook::Error => Some([0xd0, 0x21, 0x1c]),
        TrayLook::Offline | TrayLook::Paused => Some([0x80, 0x80, 0x80]),
        TrayLook::Attention => Some([0xf0, 0xa0, 0x00]),
        TrayLook::Working => Some([0x1f, 0x6f, 0xd0]),
        TrayLook::Idle => None,
    }
}

/// `rgba` (width `w`, height `h`) with a dot in the lower right corner: a
/// third of the icon wide, with a white ring so it shows on dark and light
/// panels alike.
pub fn with_badge(rgba: &[u8], w: u32, h: u32, colour: [u8; 3]) -> Vec<u8> {
    let mut out = rgba.to_vec();
    let size = w.min(h) as f32;
    let r = size / 6.0;
    let ring = (size / 32.0).max(1.0);
    let (cx, cy) = (w as f32 - r - ring, h as f32 - r - ring);
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let pixel = match d {
                d if d <= r => [colour[0], colour[1], colour[2], 0xff],
                d if d <= r + ring => [0xff, 0xff, 0xff, 0xff],
                _ => continue,
            };
            let i = ((y * w + x) * 4) as usize;
            out[i..i + 4].copy_from_slice(&pixel);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_maps_back_from_its_id() {
        for action in TrayAction::ALL {
            assert_eq!(TrayAction::from_id(action.id()), Some(action));
        }
    }

    #[test]
    fn menu_ids_are_the_ones_the_menu_uses() {
        assert_eq!(TrayAction::from_id("open"), Some(TrayAction::Open));
        assert_eq!(TrayAction::from_id("check"), Some(TrayAction::CheckNow));
        assert_eq!(TrayAction::from_id("pause"), Some(TrayAction::TogglePause));
        assert_eq!(TrayAction::from_id("quit"), Some(TrayAction::Quit));
    }

    #[test]
    fn unknown_ids_do_nothing() {
        assert_eq!(TrayAction::from_id(""), None);
        assert_eq!(TrayAction::from_id("Quit"), None);
        assert_eq!(TrayAction::from_id("exit"), None);
    }

    #[test]
    fn pause_item_says_what_a_click_does() {
        assert_eq!(pause_label(false), "Pause all");
        assert_eq!(pause_label(true), "Resume all");
    }

    fn status() -> AgentStatus {
        AgentStatus {
            paused_all: false,
            error: None,
            data_dir: "/data".into(),
            offline: false,
            watching: Vec::new(),
            demo: false,
        }
    }

    fn list(address: &str) -> ListSummary {
        ListSummary {
            address: address.into(),
            name: "L".into(),
            protocol: "openpgp".into(),
            members: 3,
            has_account: true,
            ..ListSummary::default()
        }
    }

    #[test]
    fn a_quiet_agent_looks_idle_and_says_what_it_watches() {
        let lists = [list("a@x"), list("b@x")];
        assert_eq!(look(&status(), &lists, false), TrayLook::Idle);
        assert_eq!(
            tooltip(TrayLook::Idle, &status(), &lists),
            "Conclave: watching 2 lists"
        );
    }

    #[test]
    fn held_posts_ask_for_attention_with_their_count() {
        let mut held = list("a@x");
        held.held = 2;
        let lists = [list("b@x"), held];
        assert_eq!(look(&status(), &lists, true), TrayLook::Attention);
        assert_eq!(
            tooltip(TrayLook::Attention, &status(), &lists),
            "Conclave: 2 posts wait for your decision"
        );
    }

    #[test]
    fn an_error_outranks_held_posts_and_offline() {
        let mut failing = list("a@x");
        failing.last_error = Some("the server refused the password".into());
        failing.held = 1;
        let mut s = status();
        s.offline = true;
        assert_eq!(look(&s, &[failing.clone()], false), TrayLook::Error);
        // A paused list's old error does not keep the icon red.
        failing.paused = true;
        assert_eq!(look(&s, &[failing], false), TrayLook::Offline);
        let mut stopped = status();
        stopped.error = Some("another Conclave agent".into());
        assert_eq!(look(&stopped, &[], false), TrayLook::Error);
        assert!(tooltip(TrayLook::Error, &stopped, &[]).contains("agent stopped"));
    }

    #[test]
    fn the_demo_says_so_in_the_tooltip() {
        let mut demo = status();
        demo.demo = true;
        let mut held = list("demo-list@example.org");
        held.held = 1;
        assert_eq!(
            tooltip(TrayLook::Attention, &demo, &[held]),
            "Conclave demo, nothing is sent: 1 post waits for your decision"
        );
    }

    #[test]
    fn working_and_paused_show_when_nothing_is_wrong() {
        assert_eq!(look(&status(), &[list("a@x")], true), TrayLook::Working);
        let mut paused = status();
        paused.paused_all = true;
        assert_eq!(look(&paused, &[list("a@x")], false), TrayLook::Paused);
        assert_eq!(
            tooltip(TrayLook::Paused, &paused, &[]),
            "Conclave: all lists paused"
        );
    }

    #[test]
    fn every_look_but_idle_gets_its_own_dot() {
        let looks = [
            TrayLook::Error,
            TrayLook::Offline,
            TrayLook::Attention,
            TrayLook::Working,
        ];
        let colours: Vec<_> = looks.iter().map(|l| badge_colour(*l).unwrap()).collect();
        for (i, c) in colours.iter().enumerate() {
            assert!(
                !colours[i + 1..].contains(c),
                "{:?} shares its colour",
                looks[i]
            );
        }
        assert_eq!(badge_colour(TrayLook::Idle), None);
    }

    #[test]
    fn the_badge_sits_in_the_lower_right_corner() {
        let (w, h) = (64u32, 64u32);
        let clear = vec![0u8; (w * h * 4) as usize];
        let out = with_badge(&clear, w, h, [1, 2, 3]);
        let at = |x: u32, y: u32| &out[((y * w + x) * 4) as usize..((y * w + x) * 4 + 4) as usize];
        // The dot's centre is r + ring from the corner: 64/6 + 2.
        assert_eq!(at(51, 51), [1, 2, 3, 0xff]);
        assert_eq!(
            at(4, 4),
            [0, 0, 0, 0],
            "the rest of the icon is left as it was"
        );
        assert_eq!(at(63, 0), [0, 0, 0, 0]);
        assert!(
            out.chunks(4).any(|p| p == [0xff, 0xff, 0xff, 0xff]),
            "a white ring"
        );
    }
}
