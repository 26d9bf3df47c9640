//! The tray icon and its menu: Open, Pause all / Resume all, Quit.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

/// What a tray menu item does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// Show the window and bring it to the front.
    Open,
    /// Pause every list, or resume them when paused.
    TogglePause,
    /// End the app and its agent.
    Quit,
}

impl TrayAction {
    pub const ALL: [TrayAction; 3] = [TrayAction::Open, TrayAction::TogglePause, TrayAction::Quit];

    /// The menu item id this action is bound to.
    pub fn id(self) -> &'static str {
        match self {
            TrayAction::Open => "open",
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

/// The pause item, kept so its label can follow the state.
pub struct TrayMenu {
    pub pause: MenuItem<Wry>,
}

/// Builds the tray icon; `on_action` gets each click as a [`TrayAction`].
pub fn install(
    app: &AppHandle,
    paused_all: bool,
    on_action: impl Fn(&AppHandle, TrayAction) + Send + Sync + 'static,
) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, TrayAction::Open.id(), "Open", true, None::<&str>)?;
    let pause = MenuItem::with_id(
        app,
        TrayAction::TogglePause.id(),
        pause_label(paused_all),
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, TrayAction::Quit.id(), "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&open, &pause, &separator, &quit])?;
    let mut tray = TrayIconBuilder::with_id("conclave")
        .tooltip("Conclave")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                on_action(app, action);
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayMenu { pause });
    Ok(())
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
}
