//! Starting Conclave at login, so the lists keep running after a restart
//! without the owner thinking of it. Started that way, the app goes straight
//! to the tray (the argument below) instead of opening its window.
//!
//! On Linux the app writes the login entry itself, an XDG autostart desktop
//! entry in `$XDG_CONFIG_HOME/autostart` (else `~/.config/autostart`) whose
//! Exec line quotes the program's path as the Desktop Entry specification
//! asks, so that a path with spaces starts. The autostart plugin does
//! neither (it writes the path bare, into `~/.config` whatever
//! XDG_CONFIG_HOME says); on macOS and Windows the plugin writes the
//! system's own login items.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager};

use crate::commands::CommandError;

/// The argument the login entry starts the app with.
pub const IN_TRAY_ARG: &str = "--in-tray";

/// Whether this process was started at login (and so stays in the tray).
pub fn started_in_tray(mut args: impl Iterator<Item = String>) -> bool {
    args.any(|a| a == IN_TRAY_ARG)
}

/// The login entry's file name: the one the autostart plugin used (the
/// product name), so that an entry an earlier Conclave wrote is found,
/// replaced and removed.
pub const ENTRY_FILE: &str = "Conclave.desktop";

/// The folder of login entries: `$XDG_CONFIG_HOME/autostart`, or
/// `~/.config/autostart` when XDG_CONFIG_HOME is unset, empty or relative
/// (the XDG Base Directory specification says to ignore a relative one).
pub fn autostart_dir(config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let config = match config_home {
        Some(dir) if dir.is_absolute() => dir.to_path_buf(),
        _ => home?.join(".config"),
    };
    Some(config.join("autostart"))
}

/// Why a program cannot be named in an Exec line.
#[derive(Debug, PartialEq, Eq)]
pub struct Unquotable(pub String);

/// One argument of an Exec line, as the Desktop Entry specification
/// ("The Exec key") wants it written in the file: in double quotes when it
/// holds a reserved character, with `"`, `` ` ``, `$` and `\` escaped by a
/// backslash inside the quotes, then every backslash doubled again because
/// the value is a string (the general escape rule), and `%` written `%%`
/// (field codes). Control characters (a line break) cannot be written.
pub fn exec_arg(arg: &str) -> Result<String, Unquotable> {
    if arg.chars().any(char::is_control) {
        return Err(Unquotable(format!(
            "{arg:?} has a control character, which an Exec line cannot hold"
        )));
    }
    const RESERVED: &[char] = &[
        ' ', '\t', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`',
    ];
    let quoted = if arg.is_empty() || arg.contains(RESERVED) {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        arg.to_string()
    };
    Ok(quoted.replace('\\', "\\\\").replace('%', "%%"))
}

/// The login entry that starts `program` in the tray.
pub fn login_entry(program: &str) -> Result<String, Unquotable> {
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Version=1.0\n\
         Name=Conclave\n\
         Comment=Keeps your mailing lists running, in the tray\n\
         Exec={} {IN_TRAY_ARG}\n\
         Terminal=false\n\
         StartupNotify=false\n\
         X-GNOME-Autostart-enabled=true\n",
        exec_arg(program)?
    ))
}

fn failed(e: impl std::fmt::Display) -> CommandError {
    CommandError {
        code: "start-at-login",
        message: format!(
            "cannot change the login items ({e}): check that your desktop's autostart folder can be written to"
        ),
    }
}

#[cfg(target_os = "linux")]
mod system {
    use std::path::PathBuf;

    use tauri::{AppHandle, Manager};

    use super::{ENTRY_FILE, autostart_dir, failed, login_entry};
    use crate::commands::CommandError;

    fn entry_path() -> Result<PathBuf, CommandError> {
        let config_home = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        autostart_dir(config_home.as_deref(), home.as_deref())
            .map(|dir| dir.join(ENTRY_FILE))
            .ok_or_else(|| failed("neither XDG_CONFIG_HOME nor HOME is set"))
    }

    /// The program the entry starts: the AppImage itself when running from
    /// one (this process runs from a folder mounted only while it runs),
    /// else this executable.
    fn program(app: &AppHandle) -> Result<String, CommandError> {
        let path = match app.env().appimage {
            Some(appimage) => PathBuf::from(appimage),
            None => std::env::current_exe().map_err(failed)?,
        };
        path.into_os_string()
            .into_string()
            .map_err(|p| failed(format!("the app's path {p:?} is not UTF-8")))
    }

    pub fn is_enabled(_app: &AppHandle) -> Result<bool, CommandError> {
        Ok(entry_path()?.exists())
    }

    pub fn enable(app: &AppHandle) -> Result<(), CommandError> {
        let path = entry_path()?;
        let entry = login_entry(&program(app)?).map_err(|e| failed(e.0))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(&path, entry).map_err(failed)
    }

    pub fn disable(_app: &AppHandle) -> Result<(), CommandError> {
        match std::fs::remove_file(entry_path()?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod system {
    use tauri::AppHandle;
    use tauri_plugin_autostart::ManagerExt;

    use super::failed;
    use crate::commands::CommandError;

    pub fn is_enabled(app: &AppHandle) -> Result<bool, CommandError> {
        app.autolaunch().is_enabled().map_err(failed)
    }

    pub fn enable(app: &AppHandle) -> Result<(), CommandError> {
        app.autolaunch().enable().map_err(failed)
    }

    pub fn disable(app: &AppHandle) -> Result<(), CommandError> {
        app.autolaunch().disable().map_err(failed)
    }
}

/// Whether Conclave starts at login.
#[tauri::command]
pub fn start_at_login(app: AppHandle) -> Result<bool, CommandError> {
    system::is_enabled(&app)
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
    if on {
        system::enable(&app)?;
    } else {
        system::disable(&app)?;
    }
    system::is_enabled(&app)
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

    /// Reads an Exec value back into its arguments the way the Desktop
    /// Entry specification says a launcher must: the string escapes first,
    /// then `%%`, then quoting (split at unquoted spaces; inside quotes a
    /// backslash escapes `"`, `` ` ``, `$` and `\`).
    fn launcher_args(exec: &str) -> Vec<String> {
        let mut value = String::new();
        let mut chars = exec.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('s') => value.push(' '),
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some('\\') => value.push('\\'),
                    other => panic!("a lone backslash before {other:?} in {exec:?}"),
                },
                c => value.push(c),
            }
        }
        let value = value.replace("%%", "%");
        let (mut args, mut arg, mut quoted, mut started) = (vec![], String::new(), false, false);
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', false) => (quoted, started) = (true, true),
                ('"', true) => quoted = false,
                ('\\', true) => {
                    let next = chars.next().expect("an escape at the end");
                    assert!(
                        matches!(next, '"' | '`' | '$' | '\\'),
                        "{next:?} may not be escaped in {exec:?}"
                    );
                    arg.push(next);
                }
                (' ', false) => {
                    if started {
                        args.push(std::mem::take(&mut arg));
                    }
                    started = false;
                }
                (c, false) => {
                    assert!(
                        !"\t\"'\\><~|&;$*?#()`".contains(c),
                        "a reserved {c:?} outside quotes in {exec:?}"
                    );
                    arg.push(c);
                    started = true;
                }
                (c, true) => arg.push(c),
            }
        }
        assert!(!quoted, "an unclosed quote in {exec:?}");
        if started {
            args.push(arg);
        }
        args
    }

    fn exec_line(entry: &str) -> &str {
        entry
            .lines()
            .find_map(|l| l.strip_prefix("Exec="))
            .expect("an Exec line")
    }

    #[test]
    fn the_login_entry_starts_a_program_whose_path_has_spaces() {
        let program = "/home/ann/My Apps/Conclave 0.1/conclave";
        let entry = login_entry(program).unwrap();
        assert_eq!(
            exec_line(&entry),
            "\"/home/ann/My Apps/Conclave 0.1/conclave\" --in-tray"
        );
        assert_eq!(launcher_args(exec_line(&entry)), [program, "--in-tray"]);
    }

    #[test]
    fn the_login_entry_survives_every_reserved_character() {
        for program in [
            "/usr/bin/conclave",
            "/opt/a \"quoted\" dir/conclave",
            "/opt/back\\slash/conclave",
            "/opt/$HOME`id`/conclave",
            "/opt/100% sure/conclave",
            "/opt/it's (mine) & yours; #1 <x>|*?~/conclave",
        ] {
            let entry = login_entry(program).unwrap();
            assert_eq!(
                launcher_args(exec_line(&entry)),
                [program, "--in-tray"],
                "{entry}"
            );
        }
        assert_eq!(
            exec_line(&login_entry("/usr/bin/conclave").unwrap()),
            "/usr/bin/conclave --in-tray",
            "a plain path stays as it is"
        );
    }

    #[test]
    fn a_path_with_a_control_character_is_refused() {
        assert!(login_entry("/opt/two\nlines/conclave").is_err());
        assert!(login_entry("/opt/tab\there/conclave").is_err());
    }

    #[test]
    fn the_login_entry_goes_where_xdg_config_home_says() {
        let home = Path::new("/home/ann");
        assert_eq!(
            autostart_dir(Some(Path::new("/home/ann/.cfg")), Some(home)),
            Some(PathBuf::from("/home/ann/.cfg/autostart"))
        );
        assert_eq!(
            autostart_dir(None, Some(home)),
            Some(PathBuf::from("/home/ann/.config/autostart"))
        );
        // Relative or empty: ignored, as the XDG Base Directory spec says.
        for ignored in ["", "cfg"] {
            assert_eq!(
                autostart_dir(Some(Path::new(ignored)), Some(home)),
                Some(PathBuf::from("/home/ann/.config/autostart"))
            );
        }
        assert_eq!(autostart_dir(None, None), None);
    }
}
