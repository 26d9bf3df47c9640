//! Shows the desktop notifications the engine decides on
//! (`conclave_engine::desktop::notices`) through the notification plugin.

pub use conclave_engine::desktop::notices::Notice;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

/// Shows `notice`; a desktop without a notification service only loses the
/// notice (the tray icon and the window still say it).
pub fn show(app: &AppHandle, notice: &Notice) {
    if let Err(e) = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show()
    {
        eprintln!(
            "conclave: cannot show a notification ({e}): {}: {}",
            notice.title, notice.body
        );
    }
}
