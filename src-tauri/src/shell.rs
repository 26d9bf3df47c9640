//! The decisions of the shell around the window, as pure functions: what the
//! close button does and whether the process may end.

/// What happens when the main window is asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseDecision {
    /// Close the window and its web view; the agent goes on in the tray.
    CloseToTray,
    /// Let the window close: the user chose Quit.
    Close,
    /// End the app: closing the demo's window ends the demo, which has no
    /// real list to keep running.
    Quit,
}

/// The close button closes the window to the tray unless the user has
/// chosen Quit, or the app is the demo.
pub fn on_close_requested(quitting: bool, demo: bool) -> CloseDecision {
    if quitting {
        CloseDecision::Close
    } else if demo {
        CloseDecision::Quit
    } else {
        CloseDecision::CloseToTray
    }
}

/// The name one running app holds on the session bus. It is per data folder:
/// two starts on one folder would have two agents take the same mailboxes,
/// while a second folder (another profile, a test) is a separate app.
/// FNV-1a, because the name must not change between builds.
pub fn instance_id(data_dir: &std::path::Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data_dir.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("org.conclave.app.d{hash:016x}")
}

/// Whether the process ends when the event loop asks to exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitDecision {
    /// Stay in the tray and keep watching the lists.
    KeepRunning,
    Exit,
}

/// `code` is `Some` when the app asked to exit (Quit in the tray menu) and
/// `None` when the last window went away by itself: then the agent stays.
pub fn on_exit_requested(code: Option<i32>) -> ExitDecision {
    match code {
        Some(_) => ExitDecision::Exit,
        None => ExitDecision::KeepRunning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_the_window_keeps_the_agent_in_the_tray() {
        assert_eq!(on_close_requested(false, false), CloseDecision::CloseToTray);
    }

    #[test]
    fn closing_the_demo_window_ends_the_demo() {
        assert_eq!(on_close_requested(false, true), CloseDecision::Quit);
        assert_eq!(on_close_requested(true, true), CloseDecision::Close);
    }

    #[test]
    fn after_quit_the_window_really_closes() {
        assert_eq!(on_close_requested(true, false), CloseDecision::Close);
    }

    #[test]
    fn the_last_window_going_away_does_not_end_the_agent() {
        assert_eq!(on_exit_requested(None), ExitDecision::KeepRunning);
    }

    #[test]
    fn each_data_folder_is_its_own_instance() {
        use std::path::Path;
        let a = instance_id(Path::new("/home/a/.local/share/conclave"));
        assert_eq!(a, instance_id(Path::new("/home/a/.local/share/conclave")));
        assert_ne!(a, instance_id(Path::new("/home/b/.local/share/conclave")));
        // A D-Bus name element may not start with a digit.
        let last = a.rsplit('.').next().unwrap();
        assert!(
            last.starts_with('d') && last[1..].chars().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
    }

    #[test]
    fn quit_ends_the_process() {
        assert_eq!(on_exit_requested(Some(0)), ExitDecision::Exit);
    }
}
