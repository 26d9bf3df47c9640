//! The app's own tray icon and its menu, while its window runs (and in the
//! demo); what it shows is worked out in the engine
//! (`conclave_engine::desktop::tray`), the same as for the light tray
//! process that takes over when the window closes.

pub use conclave_engine::desktop::tray::{TrayAction, TrayLook, pause_label};
use conclave_engine::desktop::tray::{badge_colour, with_badge};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

/// The id of the one tray icon.
const TRAY_ID: &str = "conclave";

/// The base icon of the tray (the app icon at a size panels use).
fn base_icon() -> Image<'static> {
    tauri::include_image!("../icons/64x64.png")
}

/// Shows `look` and `tip` on the tray icon.
pub fn show(app: &AppHandle, look: TrayLook, tip: &str) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let base = base_icon();
    let icon = match badge_colour(look) {
        Some(colour) => Image::new_owned(
            with_badge(base.rgba(), base.width(), base.height(), colour),
            base.width(),
            base.height(),
        ),
        None => base,
    };
    if let Err(e) = tray.set_icon(Some(icon)) {
        eprintln!("conclave: cannot change the tray icon: {e}");
    }
    let _ = tray.set_tooltip(Some(tip));
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
    let check = MenuItem::with_id(
        app,
        TrayAction::CheckNow.id(),
        "Check now",
        true,
        None::<&str>,
    )?;
    let pause = MenuItem::with_id(
        app,
        TrayAction::TogglePause.id(),
        pause_label(paused_all),
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, TrayAction::Quit.id(), "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&open, &check, &pause, &separator, &quit])?;
    let tray = TrayIconBuilder::with_id(TRAY_ID)
        .icon(base_icon())
        .tooltip("Conclave")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                on_action(app, action);
            }
        });
    tray.build(app)?;
    app.manage(TrayMenu { pause });
    Ok(())
}
