//! Where Conclave keeps its data.

use std::path::{Path, PathBuf};

/// The environment variable that moves the data folder (tests, portable use).
pub const DATA_DIR_ENV: &str = "CONCLAVE_DATA_DIR";

/// The data folder: an explicit choice (`--data-dir`), else `CONCLAVE_DATA_DIR`,
/// else the OS data folder (`~/.local/share/conclave` on Linux,
/// `~/Library/Application Support/conclave` on macOS, `%APPDATA%\conclave`).
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("conclave")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choice_wins() {
        assert_eq!(data_dir(Some(Path::new("/x/y"))), PathBuf::from("/x/y"));
    }

    #[test]
    fn default_ends_in_conclave() {
        // Only meaningful when the variable is unset; tests never set it.
        if std::env::var_os(DATA_DIR_ENV).is_none() {
            assert!(data_dir(None).ends_with("conclave"));
        }
    }
}
