//! The light tray on Linux: GTK's main loop on the main thread for the
//! icon and its menu (tray-icon, through libayatana-appindicator, as the
//! app's Tauri tray), the agent loop on a tokio runtime beside it.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use conclave_engine::agent::{Agent, AgentError, RunHooks, RunReport, Watching};
use conclave_engine::desktop::notices::Notice;
use conclave_engine::desktop::resident::{self, Holder, Resident};
use conclave_engine::desktop::tray::{TrayAction, TrayLook, badge_colour, pause_label, with_badge};
use conclave_engine::desktop::{CHECK_INTERVAL, Observer, Watch, first_hide, window_closed_notice};
use gtk::glib;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

/// Given by the app when it hands over from its closed window.
const WINDOW_CLOSED_ARG: &str = "--window-closed";

/// The app with the window, installed next to this program.
const APP_PROGRAM: &str = "conclave";

/// The tray's icon: the app icon at a size panels use, the one the app's
/// own tray shows.
const ICON_PNG: &[u8] = include_bytes!("../../../icons/64x64.png");

/// What this process does once its agent loop has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Quit in the menu, or the session ends (SIGTERM, SIGINT, SIGHUP).
    Quit,
    /// Open in the menu, or a start of the app (SIGUSR1): become the app.
    OpenWindow,
}

/// The icon and the menu item whose label follows the state; GTK's, so
/// they live on the main thread.
struct Shown {
    tray: TrayIcon,
    pause: MenuItem,
    base: Rgba,
    look: Cell<Option<TrayLook>>,
}

struct Rgba {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
}

thread_local! {
    static SHOWN: RefCell<Option<Shown>> = const { RefCell::new(None) };
}

impl Shown {
    fn show(&self, look: TrayLook, tip: &str) {
        // Each new icon is a file for the panel to read: only on a change.
        if self.look.replace(Some(look)) != Some(look) {
            let b = &self.base;
            let pixels = match badge_colour(look) {
                Some(colour) => with_badge(&b.pixels, b.width, b.height, colour),
                None => b.pixels.clone(),
            };
            match Icon::from_rgba(pixels, b.width, b.height) {
                Ok(icon) => {
                    if let Err(e) = self.tray.set_icon(Some(icon)) {
                        eprintln!("conclave-tray: cannot change the tray icon: {e}");
                    }
                }
                Err(e) => eprintln!("conclave-tray: cannot make the tray icon: {e}"),
            }
        }
        let _ = self.tray.set_tooltip(Some(tip));
    }
}

fn decode_icon() -> Result<Rgba, String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(ICON_PNG));
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("the icon is too large")?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "the icon is {:?} at {:?} bits, not 8-bit RGBA",
            info.color_type, info.bit_depth
        ));
    }
    pixels.truncate(info.buffer_size());
    Ok(Rgba {
        pixels,
        width: info.width,
        height: info.height,
    })
}

/// The signals that end this process, the one that opens the window, and
/// a child's end.
struct Signals {
    ends: Vec<Signal>,
    open: Signal,
    child: Signal,
}

impl Signals {
    /// Listening before the resident lock is taken: the app sends SIGUSR1
    /// as soon as it sees this process hold it, and unhandled it would end
    /// the process.
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            ends: vec![
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            ],
            open: signal(SignalKind::user_defined1())?,
            child: signal(SignalKind::child())?,
        })
    }

    /// The next way to end; children that end meanwhile are reaped.
    async fn next(&mut self) -> End {
        let [term, int, hup] = &mut self.ends[..] else {
            unreachable!("three signals end the tray")
        };
        loop {
            tokio::select! {
                _ = term.recv() => return End::Quit,
                _ = int.recv() => return End::Quit,
                _ = hup.recv() => return End::Quit,
                _ = self.open.recv() => return End::OpenWindow,
                _ = self.child.recv() => reap_children(),
            }
        }
    }
}

/// The app's children (WebKit's web and network processes) stay this
/// process's children when the app becomes the tray; they end as their
/// connection to the app closes, and would stay as zombies unless waited
/// for. This process starts no children of its own.
fn reap_children() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid only writes the status it is given.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}

/// Whether this process turned GDK's OpenGL off (and so must not pass that
/// on to the app, whose web view may want it).
static GL_TURNED_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn main() -> ExitCode {
    // GDK on X11 loads the OpenGL driver at start to choose a visual (with
    // Mesa's software renderer, LLVM: about 55 MB resident); a tray icon
    // draws nothing with OpenGL.
    if std::env::var_os("GDK_GL").is_none() {
        // SAFETY: no other thread runs yet.
        unsafe { std::env::set_var("GDK_GL", "disable") };
        GL_TURNED_OFF.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let window_closed = std::env::args().any(|a| a == WINDOW_CLOSED_ARG);
    let data_dir = conclave_engine::paths::data_dir(None);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conclave-tray: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signals = {
        let _inside = runtime.enter();
        match Signals::listen() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("conclave-tray: cannot listen for signals: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let resident = match resident::try_hold(&data_dir, Holder::Tray) {
        Ok(Some(held)) => held,
        Ok(None) => {
            // The app, or another tray, already runs the agent here.
            eprintln!(
                "conclave-tray: Conclave already runs on {}; nothing to do",
                data_dir.display()
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("conclave-tray: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = gtk::init() {
        eprintln!(
            "conclave-tray: cannot reach the desktop ({e}): start it in a desktop session, or run the agent with `conclave-cli run`"
        );
        return ExitCode::FAILURE;
    }
    let base = match decode_icon() {
        Ok(base) => base,
        Err(e) => {
            eprintln!("conclave-tray: cannot read the tray icon: {e}");
            return ExitCode::FAILURE;
        }
    };
    let watch = Arc::new(Watch::at_start());
    let end = Arc::new(Mutex::new(End::Quit));
    if let Err(e) = install(base, &watch) {
        eprintln!("conclave-tray: cannot make the tray icon: {e}");
        return ExitCode::FAILURE;
    }
    {
        let (watch, end) = (watch.clone(), end.clone());
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                on_menu(action, &watch, &end);
            }
        }));
    }
    let agent = std::thread::Builder::new()
        .name("agent".into())
        .spawn(move || {
            runtime.block_on(serve(
                data_dir,
                watch,
                end,
                resident,
                signals,
                window_closed,
            ))
        });
    if let Err(e) = agent {
        eprintln!("conclave-tray: cannot start the agent: {e}");
        return ExitCode::FAILURE;
    }
    gtk::main();
    ExitCode::SUCCESS
}

fn install(base: Rgba, watch: &Watch) -> Result<(), String> {
    let item = |action: TrayAction, text: &str| MenuItem::with_id(action.id(), text, true, None);
    let open = item(TrayAction::Open, "Open");
    let check = item(TrayAction::CheckNow, "Check now");
    let pause = item(TrayAction::TogglePause, pause_label(watch.paused_all()));
    let quit = item(TrayAction::Quit, "Quit");
    let menu = Menu::with_items(&[
        &open,
        &check,
        &pause,
        &PredefinedMenuItem::separator(),
        &quit,
    ])
    .map_err(|e| e.to_string())?;
    let icon =
        Icon::from_rgba(base.pixels.clone(), base.width, base.height).map_err(|e| e.to_string())?;
    let tray = TrayIconBuilder::new()
        .with_id("conclave")
        .with_icon(icon)
        .with_tooltip("Conclave")
        .with_menu(Box::new(menu))
        .with_menu_on_left_click(true)
        .build()
        .map_err(|e| e.to_string())?;
    SHOWN.with(|s| {
        *s.borrow_mut() = Some(Shown {
            tray,
            pause,
            base,
            look: Cell::new(Some(TrayLook::Idle)),
        })
    });
    Ok(())
}

/// A click in the menu, on GTK's thread.
fn on_menu(action: TrayAction, watch: &Watch, end: &Mutex<End>) {
    match action {
        TrayAction::Open => stop(watch, end, End::OpenWindow),
        TrayAction::CheckNow => watch.wake(),
        TrayAction::TogglePause => {
            let paused = !watch.paused_all();
            watch.set_paused_all(paused);
            SHOWN.with(|s| {
                if let Some(s) = &*s.borrow() {
                    s.pause.set_text(pause_label(paused));
                }
            });
            // A loop round without a run: the watchers stop or start and
            // the icon follows.
            watch.wake();
        }
        TrayAction::Quit => stop(watch, end, End::Quit),
    }
}

/// Ends the agent loop (a run under way finishes first); the process then
/// does what `how` says. The first request wins.
fn stop(watch: &Watch, end: &Mutex<End>, how: End) {
    if !watch.quitting() {
        *end.lock().unwrap_or_else(|p| p.into_inner()) = how;
        watch.set_quitting();
    }
}

/// The agent loop until it is stopped, then the end asked for.
async fn serve(
    data_dir: PathBuf,
    watch: Arc<Watch>,
    end: Arc<Mutex<End>>,
    resident: Resident,
    mut signals: Signals,
    window_closed: bool,
) {
    // Those that ended before the signal was listened for.
    reap_children();
    {
        let (watch, end) = (watch.clone(), end.clone());
        tokio::spawn(async move {
            loop {
                let how = signals.next().await;
                stop(&watch, &end, how);
            }
        });
    }
    if window_closed && first_hide(&data_dir) {
        notify(window_closed_notice());
    }
    let hooks = TrayHooks {
        watch: watch.clone(),
        shown: data_dir.display().to_string(),
        observer: Observer::new(data_dir.clone()),
    };
    Agent::new(data_dir.clone())
        .run_forever(CHECK_INTERVAL, watch.stopped(), watch.wake_signal(), hooks)
        .await;
    resident.release();
    let how = *end.lock().unwrap_or_else(|p| p.into_inner());
    if how == End::OpenWindow {
        let failed = become_app(&watch);
        eprintln!("conclave-tray: cannot open the window: {failed}");
        show_now(Notice {
            title: "Conclave stopped".into(),
            body: format!(
                "It could not open its window ({failed}): reinstall Conclave, then start it again."
            ),
        });
        std::process::exit(1);
    }
    std::process::exit(0);
}

/// Turns this process into the app with its window, paused all if this
/// tray was; returns only if that failed.
fn become_app(watch: &Watch) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    match std::env::current_exe() {
        Ok(exe) => {
            let mut app = std::process::Command::new(app_beside(&exe));
            watch.hand_over(&mut app);
            if GL_TURNED_OFF.load(std::sync::atomic::Ordering::SeqCst) {
                app.env_remove("GDK_GL");
            }
            app.exec()
        }
        Err(e) => e,
    }
}

fn app_beside(exe: &Path) -> PathBuf {
    exe.with_file_name(APP_PROGRAM)
}

/// What the agent loop says, shown on the icon and the desktop.
struct TrayHooks {
    watch: Arc<Watch>,
    shown: String,
    observer: Observer,
}

impl TrayHooks {
    fn show(&mut self, working: bool) {
        let seen = self
            .observer
            .observe(&self.watch.status(&self.shown), working);
        let (look, tip) = (seen.look, seen.tooltip);
        glib::idle_add_once(move || {
            SHOWN.with(|s| {
                if let Some(s) = &*s.borrow() {
                    s.show(look, &tip);
                }
            })
        });
        for notice in seen.notices {
            notify(notice);
        }
    }
}

impl RunHooks for TrayHooks {
    fn paused(&self) -> bool {
        self.watch.paused_all()
    }

    fn starting(&mut self) {
        self.show(true);
    }

    fn finished(
        &mut self,
        run: Option<&Result<RunReport, AgentError>>,
        watching: Vec<(String, Watching)>,
    ) -> bool {
        self.watch.record_run("conclave-tray", run, watching);
        self.show(false);
        true
    }
}

/// Shows `notice` off the agent's thread (the call waits for the
/// notification service).
fn notify(notice: Notice) {
    tokio::task::spawn_blocking(move || show_now(notice));
}

/// A desktop without a notification service only loses the notice (the
/// tray icon still says it).
fn show_now(notice: Notice) {
    if let Err(e) = notify_rust::Notification::new()
        .appname("Conclave")
        .summary(&notice.title)
        .body(&notice.body)
        .show()
    {
        eprintln!(
            "conclave-tray: cannot show a notification ({e}): {}: {}",
            notice.title, notice.body
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_rgba_at_the_size_panels_use() {
        let icon = decode_icon().unwrap();
        assert_eq!((icon.width, icon.height), (64, 64));
        assert_eq!(icon.pixels.len(), 64 * 64 * 4);
    }

    #[test]
    fn open_starts_the_app_installed_beside_the_tray() {
        assert_eq!(
            app_beside(Path::new("/usr/bin/conclave-tray")),
            Path::new("/usr/bin/conclave")
        );
    }

    #[test]
    fn the_first_way_to_stop_wins() {
        let watch = Watch::default();
        let end = Mutex::new(End::Quit);
        stop(&watch, &end, End::OpenWindow);
        stop(&watch, &end, End::Quit);
        assert!(watch.quitting());
        assert_eq!(*end.lock().unwrap(), End::OpenWindow);
    }
}
