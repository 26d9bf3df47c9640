//! The Conclave desktop app: a window that lists the lists and a tray icon
//! that keeps the agent running when the window is closed. Thin: the store,
//! the agent and every rule live in `conclave-engine`.

mod commands;
pub mod shell;
pub mod tray;
pub mod watch;
mod wizard_cmds;

use std::path::PathBuf;
use std::sync::Arc;

use conclave_engine::agent::Agent;
use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};

use shell::{CloseDecision, ExitDecision};
use tray::{TrayAction, TrayMenu};
use watch::{AgentStatus, LISTS_CHANGED, Watch};

/// The label of the one window (tauri.conf.json).
const MAIN_WINDOW: &str = "main";

/// The app's state, shared by commands, tray and agent.
pub struct Shell {
    pub data_dir: PathBuf,
    pub watch: Arc<Watch>,
}

impl Shell {
    pub fn status(&self) -> AgentStatus {
        self.watch.status(&self.data_dir.display().to_string())
    }
}

/// Shows the window (making it again if it is gone) and brings it forward.
fn open_window(app: &AppHandle) {
    let window = match app.get_webview_window(MAIN_WINDOW) {
        Some(w) => w,
        None => {
            let Some(config) = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == MAIN_WINDOW)
            else {
                return;
            };
            match tauri::WebviewWindowBuilder::from_config(app, config).and_then(|b| b.build()) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("conclave: cannot open the window: {e}");
                    return;
                }
            }
        }
    };
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
}

fn on_tray(app: &AppHandle, action: TrayAction) {
    let shell = app.state::<Shell>();
    match action {
        TrayAction::Open => open_window(app),
        TrayAction::TogglePause => {
            let paused = !shell.watch.paused_all();
            shell.watch.set_paused_all(paused);
            if let Err(e) = app
                .state::<TrayMenu>()
                .pause
                .set_text(tray::pause_label(paused))
            {
                eprintln!("conclave: cannot update the tray menu: {e}");
            }
            let _ = app.emit(LISTS_CHANGED, shell.status());
        }
        TrayAction::Quit => {
            shell.watch.set_quitting();
            app.exit(0);
        }
    }
}

/// Starts the app; returns when the user chooses Quit.
pub fn run() {
    let data_dir = conclave_engine::paths::data_dir(None);
    let watch = Arc::new(Watch::default());
    let app = tauri::Builder::default()
        .manage(Shell {
            data_dir: data_dir.clone(),
            watch: watch.clone(),
        })
        .invoke_handler(tauri::generate_handler![
            commands::lists,
            commands::set_paused,
            commands::check_now,
            commands::status,
            commands::held_posts,
            commands::resolve_held,
            commands::members,
            commands::review_keys,
            commands::add_member,
            commands::set_member_key,
            commands::import_members,
            commands::remove_member,
            wizard_cmds::mail_presets,
            wizard_cmds::check_new_list,
            wizard_cmds::test_account,
            wizard_cmds::preview_list_key,
            wizard_cmds::create_list
        ])
        .setup(move |app| {
            tray::install(app.handle(), watch.paused_all(), on_tray)?;
            let agent = Agent::new(data_dir.clone());
            let handle = app.handle().clone();
            let shown = data_dir.display().to_string();
            tauri::async_runtime::spawn(watch::run(handle, agent, watch, shown));
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let quitting = window.state::<Shell>().watch.quitting();
                if shell::on_close_requested(quitting) == CloseDecision::HideToTray {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("conclave: cannot start the window: {e}");
            std::process::exit(1);
        }
    };
    app.run(|_app, event| {
        if let RunEvent::ExitRequested { code, api, .. } = event
            && shell::on_exit_requested(code) == ExitDecision::KeepRunning
        {
            api.prevent_exit();
        }
    });
}
