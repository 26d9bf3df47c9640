//! Files an owner points Conclave at (keys, certificates, authorities, a
//! server's CA): read through a bound, so that a wrong path (a disk image,
//! `/dev/zero`) is refused at once instead of filling the memory.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most a key, certificate or authority file may hold. Real ones are a
/// few kilobytes; a member's key with many signatures stays far below.
pub const MAX_KEY_FILE: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds more than {} KiB: key and certificate files are a few kilobytes; check that this is the right file", .limit / 1024)]
    TooLarge { path: PathBuf, limit: usize },
}

/// The whole file, if it holds at most `limit` bytes; never reads more than
/// one byte past the limit.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, FileError> {
    let unreadable = |source| FileError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > limit {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_limit() {
        let e = read_bounded(Path::new("/dev/zero"), MAX_KEY_FILE).unwrap_err();
        assert!(
            matches!(
                e,
                FileError::TooLarge {
                    limit: MAX_KEY_FILE,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string().contains("1024 KiB") && e.to_string().contains("right file"),
            "{e}"
        );
    }

    #[test]
    fn a_small_file_is_read_whole_and_a_missing_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.asc");
        std::fs::write(&path, vec![b'k'; MAX_KEY_FILE]).unwrap();
        assert_eq!(
            read_bounded(&path, MAX_KEY_FILE).unwrap().len(),
            MAX_KEY_FILE
        );
        let e = read_bounded(&dir.path().join("nope"), MAX_KEY_FILE).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        assert!(
            read_bounded(dir.path(), MAX_KEY_FILE).is_err(),
            "a folder is no key"
        );
    }
}
