//! `conclave-tray`: Conclave's agent in the tray, without the window. The
//! app (`conclave`) becomes this program when its window closes, and a
//! start at login goes straight here: what is left running is the engine's
//! agent loop, a GTK tray icon with its menu (Open, Check now, Pause all /
//! Resume all, Quit) and desktop notifications, with none of WebKit's or
//! Tauri's memory. What the icon, the tooltip and the notifications say is
//! the engine's (`conclave_engine::desktop`), as in the app.
//!
//! Open (or a start of `conclave` while this runs, which sends SIGUSR1)
//! stops the agent loop and then turns this process into the app (exec);
//! the engine's resident lock keeps the two loops from overlapping.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    // SAFETY: no other thread runs yet.
    unsafe { conclave_engine::quiet_library_backtraces() };
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("conclave-tray runs on Linux only: elsewhere the app `conclave` keeps its own tray");
    std::process::ExitCode::FAILURE
}
