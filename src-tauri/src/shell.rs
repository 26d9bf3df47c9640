//! The decisions of the shell around the window, as pure functions: what the
//! close button does and whether the process may end.

/// What happens when the main window is asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseDecision {
    /// Hide the window; the agent goes on in the tray.
    HideToTray,
    /// Let the window close: the user chose Quit.
    Close,
}

/// The close button hides the window unless the user has chosen Quit.
pub fn on_close_requested(quitting: bool) -> CloseDecision {
    if quitting {
        CloseDecision::Close
    } else {
        CloseDecision::HideToTray
    }
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
        assert_eq!(on_close_requested(false), CloseDecision::HideToTray);
    }

    #[test]
    fn after_quit_the_window_really_closes() {
        assert_eq!(on_close_requested(true), CloseDecision::Close);
    }

    #[test]
    fn the_last_window_going_away_does_not_end_the_agent() {
        assert_eq!(on_exit_requested(None), ExitDecision::KeepRunning);
    }

    #[test]
    fn quit_ends_the_process() {
        assert_eq!(on_exit_requested(Some(0)), ExitDecision::Exit);
    }
}
