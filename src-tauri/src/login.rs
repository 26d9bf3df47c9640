//! Starting Conclave at login, so the lists keep running after a restart
//! without the owner thinking of it. Started that way, the app goes straight
//! to the tray (the argument below) instead of opening its window.

use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

use crate::commands::CommandError;

/// The argument the login entry starts the app with.
pub const IN_TRAY_ARG: &str = "--in-tray";

/// Whether this process was started at login (and so stays in the tray).
pub fn started_in_tray(mut args: impl Iterator<Item = String>) -> bool {
    args.any(|a| a == IN_TRAY_ARG)
}

fn failed(e: tauri_plugin_autostart::Error) -> CommandError {
    CommandError {
        code: "start-at-login",
        message: format!(
            "cannot change the login items ({e}): check that your desktop's autostart folder can be written to"
        ),
    }
}

/// Whether Conclave starts at login.
#[tauri::command]
pub fn start_at_login(app: AppHandle) -> Result<bool, CommandError> {
    app.autolaunch().is_enabled().map_err(failed)
}

/// Turns starting at login on or off; answers the state now.
#[tauri::command]
pub fn set_start_at_login(app: AppHandle, on: bool) -> Result<bool, CommandError> {
    // A login entry made from the demo would outlive it.
    if app.state::<crate::Shell>().watch.demo() {
        return Err(CommandError {
            code: "demo",
            message: "the demo does not start at login: it ends when its window closes".into(),
        });
    }
    let launcher = app.autolaunch();
    if on {
        launcher.enable()
    } else {
        launcher.disable()
    }
    .map_err(failed)?;
    launcher.is_enabled().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_login_entry_starts_in_the_tray() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(started_in_tray(args(&["conclave", "--in-tray"])));
        assert!(!started_in_tray(args(&["conclave"])));
        assert!(!started_in_tray(args(&["conclave", "--in-tray=no"])));
    }
}
