//! The hand-over between this app and the light tray process
//! (`conclave-tray`, a crate of its own that links neither WebKit nor
//! Tauri). Closing the window stops this app's agent and turns this process
//! into the light tray (exec): the memory of GTK, WebKit and the window's
//! web view goes with the old image, and the process keeps its id, which an
//! AppImage's runtime waits on. The tray's Open does the same the other way
//! round. The engine's resident lock (`desktop::resident`) keeps the two
//! agent loops from ever overlapping.

use std::path::{Path, PathBuf};

/// The light tray's program, installed next to this one.
pub const TRAY_PROGRAM: &str = "conclave-tray";

/// The argument that tells the light tray it takes over from a closed
/// window (it then says once that Conclave goes on in the tray).
pub const WINDOW_CLOSED_ARG: &str = "--window-closed";

/// The light tray's program next to `exe` (in the .deb both are in
/// /usr/bin, in a build both are in the target folder), or what to do
/// when it is not there.
pub fn tray_program_beside(exe: &Path) -> Result<PathBuf, String> {
    let program = exe.with_file_name(TRAY_PROGRAM);
    if program.is_file() {
        Ok(program)
    } else {
        Err(format!(
            "the light tray program {} is missing, so the window's process stays in the tray: reinstall Conclave (or build it with `cargo build -p conclave-tray`)",
            program.display()
        ))
    }
}

/// The light tray's program next to this executable.
pub fn tray_program() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this program's own path ({e})"))?;
    tray_program_beside(&exe)
}

/// Turns this process into the light tray, which goes on paused if
/// `watch` says every list is; returns only if that failed.
#[cfg(unix)]
pub fn become_tray(
    program: &Path,
    window_closed: bool,
    watch: Option<&conclave_engine::desktop::Watch>,
) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(program);
    if window_closed {
        command.arg(WINDOW_CLOSED_ARG);
    }
    if let Some(watch) = watch {
        watch.hand_over(&mut command);
    }
    command.exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_program_is_looked_for_beside_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("conclave");
        let why = tray_program_beside(&app).unwrap_err();
        assert!(why.contains("reinstall Conclave"), "{why}");
        std::fs::write(dir.path().join(TRAY_PROGRAM), b"").unwrap();
        assert_eq!(
            tray_program_beside(&app).unwrap(),
            dir.path().join("conclave-tray")
        );
    }
}
