//! The Conclave desktop app: a window that lists the lists and a tray icon
//! that keeps the agent running when the window is closed. Thin: the store,
//! the agent and every rule live in `conclave-engine`.

mod activity_cmds;
#[cfg(test)]
mod bindings;
mod commands;
pub mod demo;
mod handover;
mod held_cmds;
mod inbox_cmds;
mod keep_cmds;
mod key_cmds;
pub mod login;
mod member_cmds;
pub mod notify;
mod policy_cmds;
pub mod shell;
pub mod tray;
pub mod watch;
mod wizard_cmds;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use conclave_engine::agent::Agent;
use conclave_engine::desktop::resident::{self, Holder};
use conclave_engine::desktop::{Observer, first_hide, window_closed_notice};
use tauri::async_runtime::JoinHandle;
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
    /// The agent loop's task, awaited before the light tray takes over.
    agent: Mutex<Option<JoinHandle<()>>>,
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
        TrayAction::CheckNow => shell.watch.wake(),
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
            // A loop round without a run: the watchers stop or start and
            // the tray icon follows.
            shell.watch.wake();
        }
        TrayAction::Quit => {
            shell.watch.set_quitting();
            app.exit(0);
        }
    }
}

/// What the tray and the notifications make of each status the agent loop
/// reports (worked out in the engine, as for the light tray).
fn observer(data_dir: PathBuf) -> impl Fn(&AppHandle, &AgentStatus, bool) + Send + 'static {
    let observer = Mutex::new(Observer::new(data_dir));
    move |app, status, working| {
        let seen = observer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(status, working);
        tray::show(app, seen.look, &seen.tooltip);
        for notice in &seen.notices {
            notify::show(app, notice);
        }
    }
}

/// Tells the owner, once per data folder, that closing the window leaves
/// the lists running.
fn on_hidden(app: &AppHandle, data_dir: &Path) {
    if first_hide(data_dir) {
        notify::show(app, &window_closed_notice());
    }
}

/// Closing the window: the agent loop ends (a run under way finishes
/// first), then this process becomes the light tray, which starts the
/// agent again. Without the tray's program (a build of the app alone) the
/// window closes and this process stays in the tray as before.
fn close_to_tray(app: &AppHandle) {
    let shell = app.state::<Shell>();
    #[cfg(unix)]
    match handover::tray_program() {
        Ok(program) => {
            let app = app.clone();
            shell.watch.set_quitting();
            let agent = shell.agent.lock().unwrap_or_else(|p| p.into_inner()).take();
            let watch = shell.watch.clone();
            tauri::async_runtime::spawn(async move {
                if let Some(agent) = agent {
                    let _ = agent.await;
                }
                let failed = handover::become_tray(&program, true, Some(&watch));
                // The agent is stopped and cannot start again in this
                // process: say so rather than leave a tray that does nothing.
                notify::show(
                    &app,
                    &notify::Notice {
                        title: "Conclave stopped".into(),
                        body: format!(
                            "It could not go on in the tray ({failed}): start Conclave again."
                        ),
                    },
                );
                eprintln!("conclave: cannot start {}: {failed}", program.display());
                app.exit(1);
            });
            return;
        }
        Err(why) => eprintln!("conclave: {why}"),
    }
    on_hidden(app, &shell.data_dir);
}

/// The agent loop of this app, once this process holds the data folder's
/// resident lock (a light tray that was asked to open the window lets go
/// of it as its loop ends).
async fn resident_agent(app: AppHandle, data_dir: PathBuf, watch: Arc<Watch>) {
    let observe = observer(data_dir.clone());
    let shown = data_dir.display().to_string();
    let dir = data_dir.clone();
    let held = match resident::try_hold(&dir, Holder::Window) {
        Ok(Some(held)) => Ok(held),
        Ok(None) => {
            watch.set_error(Some(
                "waiting for the other Conclave agent on this data folder to stop".into(),
            ));
            let _ = app.emit(LISTS_CHANGED, watch.status(&shown));
            tauri::async_runtime::spawn_blocking(move || resident::hold(&dir, Holder::Window))
                .await
                .map_err(|e| {
                    format!("the wait for the other agent failed ({e}): start Conclave again")
                })
                .and_then(|held| held.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e.to_string()),
    };
    match held {
        Ok(held) => {
            watch.set_error(None);
            let agent = Agent::new(data_dir);
            watch::run(app, agent, watch, shown, observe).await;
            held.release();
        }
        Err(e) => {
            watch.set_error(Some(e));
            observe(&app, &watch.status(&shown), false);
            let _ = app.emit(LISTS_CHANGED, watch.status(&shown));
        }
    }
}

/// A second start on the same data folder only brings this one's window
/// forward, so two agents never take the same mailbox.
fn single_instance(data_dir: &Path) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    let builder =
        tauri_plugin_single_instance::Builder::new().callback(|app, _args, _cwd| open_window(app));
    #[cfg(target_os = "linux")]
    let builder = builder.dbus_id(shell::instance_id(data_dir));
    #[cfg(not(target_os = "linux"))]
    let _ = data_dir;
    builder.build()
}

/// Before any window or library of the window is set up: a start at login
/// becomes the light tray at once, and a start while the light tray runs
/// asks it to open the window (it becomes the window app) and ends, as a
/// second start of the window app does.
fn hand_over_at_start(data_dir: &Path, in_tray: bool) {
    if resident::ask_tray_to_open(data_dir) {
        std::process::exit(0);
    }
    #[cfg(unix)]
    if in_tray {
        match handover::tray_program() {
            Ok(program) => {
                // What the tray start was told goes on to the tray as it is.
                let failed = handover::become_tray(&program, false, None);
                eprintln!("conclave: cannot start {}: {failed}", program.display());
            }
            Err(why) => eprintln!("conclave: {why}"),
        }
    }
}

/// The window's title in the demo.
const DEMO_TITLE: &str = "Conclave demo: nothing here is real and nothing is sent";

/// Starts the app; returns when the user chooses Quit.
pub fn run() {
    let in_tray = login::started_in_tray(std::env::args());
    let demo_folder = if demo::asked_for(std::env::args()) {
        // Before anything opens a store: the demo's database key and list
        // key must never reach the owner's keychain.
        conclave_engine::secrets::keep_secrets_in_memory();
        match demo::DemoFolder::new() {
            Ok(folder) => Some(Arc::new(folder)),
            Err(e) => {
                eprintln!("conclave: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };
    let data_dir = match demo_folder.as_ref().and_then(|f| f.path()) {
        Some(folder) => folder,
        None => conclave_engine::paths::data_dir(None),
    };
    if demo_folder.is_none() {
        hand_over_at_start(&data_dir, in_tray);
    }
    let watch = Arc::new(match demo_folder {
        Some(_) => Watch::for_demo(),
        None => Watch::at_start(),
    });
    let folder_at_exit = demo_folder.clone();
    let builder = tauri::Builder::default()
        // First, so that a second start goes no further.
        .plugin(single_instance(&data_dir))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init());
    // Login items: the system's own on macOS and Windows; on Linux the app
    // writes its XDG autostart entry itself (login.rs).
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(
        tauri_plugin_autostart::Builder::new()
            .arg(login::IN_TRAY_ARG)
            .build(),
    );
    let app = builder
        .manage(Shell {
            data_dir: data_dir.clone(),
            watch: watch.clone(),
            agent: Mutex::new(None),
        })
        .invoke_handler(tauri::generate_handler![
            commands::lists,
            commands::set_paused,
            commands::forget_list,
            commands::check_now,
            commands::status,
            commands::held_posts,
            commands::resolve_held,
            held_cmds::held_post,
            member_cmds::members,
            member_cmds::review_keys,
            member_cmds::add_member,
            member_cmds::set_member_key,
            member_cmds::import_members,
            member_cmds::remove_member,
            member_cmds::trusted_authorities,
            member_cmds::trust_authority,
            member_cmds::remove_trusted_authority,
            login::start_at_login,
            login::set_start_at_login,
            policy_cmds::policy,
            policy_cmds::save_policy,
            activity_cmds::activity,
            key_cmds::list_keys,
            key_cmds::renew_list_key,
            key_cmds::save_list_key,
            keep_cmds::backup_state,
            keep_cmds::turn_on_backups,
            keep_cmds::export_list,
            keep_cmds::import_list,
            keep_cmds::restore_list,
            inbox_cmds::invite_member,
            inbox_cmds::pending_keys,
            inbox_cmds::decide_pending_key,
            inbox_cmds::join_requests,
            inbox_cmds::dismiss_join_request,
            key_cmds::save_renewal_request,
            key_cmds::install_list_certificate,
            wizard_cmds::mail_presets,
            wizard_cmds::check_new_list,
            wizard_cmds::test_account,
            wizard_cmds::preview_list_key,
            wizard_cmds::create_list,
            demo::start_demo
        ])
        .setup(move |app| {
            tray::install(app.handle(), watch.paused_all(), on_tray)?;
            // No window is made at start (tauri.conf.json): a start at login
            // runs in the tray without a web view, and does not flash one.
            if !in_tray || watch.demo() {
                open_window(app.handle());
            }
            let handle = app.handle().clone();
            if watch.demo() {
                if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
                    let _ = window.set_title(DEMO_TITLE);
                }
                demo::end_on_signals(&handle);
                let observe = observer(data_dir.clone());
                demo::start(handle, data_dir.clone(), watch, observe);
            } else {
                let task =
                    tauri::async_runtime::spawn(resident_agent(handle, data_dir.clone(), watch));
                *app.state::<Shell>()
                    .agent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(task);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { .. } = event {
                let watch = &window.state::<Shell>().watch;
                match shell::on_close_requested(watch.quitting(), watch.demo()) {
                    // The window closes with its web view; the agent goes
                    // on in the light tray, whose Open brings the window
                    // back.
                    CloseDecision::CloseToTray => close_to_tray(window.app_handle()),
                    CloseDecision::Quit => {
                        watch.set_quitting();
                        window.app_handle().exit(0);
                    }
                    CloseDecision::Close => {}
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
    app.run(move |app, event| match event {
        RunEvent::ExitRequested { code, api, .. }
            if shell::on_exit_requested(code) == ExitDecision::KeepRunning =>
        {
            api.prevent_exit();
        }
        // The last moment of the process: the demo's folder goes with it.
        RunEvent::Exit => {
            if let Some(folder) = &folder_at_exit {
                app.state::<Shell>().watch.set_quitting();
                folder.remove();
            }
        }
        _ => {}
    });
}
