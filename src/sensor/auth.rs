//! The shared secret (`--key-file`): read, checked (mode 600, a regular file,
//! 16 bytes at least, 4 KiB at most) and kept out of Debug output. What it
//! proves and protects, and how, is [`super::secure`]'s business.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Shortest key accepted: shorter secrets can be guessed.
pub const MIN_KEY_LEN: usize = 16;
/// Longest key file read (a key is a short secret, not a document).
pub const MAX_KEY_FILE: u64 = 4096;

/// How to make a good key file, for the error messages.
const MAKE_ONE: &str = "head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE";

/// The secret shared by a wall and its sensors (`--key-file`). Its Debug
/// output never shows the bytes.
#[derive(Clone)]
pub struct SensorKey(Vec<u8>);

impl std::fmt::Debug for SensorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SensorKey({} bytes, redacted)", self.0.len())
    }
}

/// Why a key file cannot be used; each message names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be opened or read.
    #[error("cannot read key file {path}: {source} (check the path; create one with: {MAKE_ONE})")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Group or others may access it.
    #[error("key file {path} is accessible by group or others (mode {mode:03o}): run chmod 600 {path}")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a regular file.
    #[error("key file {path} is not a regular file: give the file that holds the secret")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Nothing in it (blank lines do not count).
    #[error("key file {path} is empty: put a secret in it, e.g. {MAKE_ONE}")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Too short to be a secret.
    #[error("key file {path} holds only {len} bytes: use at least {MIN_KEY_LEN}, e.g. {MAKE_ONE}")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Bytes of key found.
        len: usize,
    },
    /// Far too large to be a key.
    #[error("key file {path} is over {MAX_KEY_FILE} bytes: a key is a short secret, e.g. {MAKE_ONE}")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
}

impl SensorKey {
    /// Reads a key file, refusing one that is unreadable, not a regular file,
    /// accessible by group or others, empty, or shorter than [`MIN_KEY_LEN`].
    /// Trailing whitespace (the newline an editor adds) is not part of the
    /// key, so `echo`ed and edited keys match on both sides.
    pub fn load(path: &Path) -> Result<SensorKey, KeyError> {
        let read_err = |source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        };
        // Checked before anything is read, and opened non-blocking: a FIFO
        // here would otherwise wait for a writer before the check ran.
        let (file, meta) = crate::files::open_regular(path).map_err(|e| match e {
            crate::files::OpenError::Io(source) => read_err(source),
            crate::files::OpenError::NotAFile(_) => KeyError::NotAFile {
                path: path.to_path_buf(),
            },
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(KeyError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let len = bytes.trim_ascii_end().len();
        bytes.truncate(len);
        match len {
            0 => Err(KeyError::Empty {
                path: path.to_path_buf(),
            }),
            n if n < MIN_KEY_LEN => Err(KeyError::TooShort {
                path: path.to_path_buf(),
                len: n,
            }),
            _ => Ok(SensorKey(bytes)),
        }
    }

    /// A key from bytes already in memory (tests, benchmarks).
    pub fn from_bytes(bytes: &[u8]) -> SensorKey {
        SensorKey(bytes.to_vec())
    }

    /// The secret's bytes, for deriving the session keys (never logged).
    pub(crate) fn secret(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn key_files_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let good = key_file(d, "good", b"correct horse battery staple\n", 0o600);
        let key = SensorKey::load(&good).expect("a good key");
        assert_eq!(key.0, b"correct horse battery staple");
        assert!(
            !format!("{key:?}").contains("horse"),
            "Debug must not show the key"
        );
        // Read-only for the owner is fine too.
        assert!(SensorKey::load(&key_file(d, "ro", b"0123456789abcdef", 0o400)).is_ok());

        let open = key_file(d, "open", b"0123456789abcdef", 0o644);
        let e = SensorKey::load(&open).expect_err("world-readable").to_string();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
        let group = key_file(d, "group", b"0123456789abcdef", 0o640);
        assert!(matches!(
            SensorKey::load(&group),
            Err(KeyError::Permissions { .. })
        ));

        let empty = key_file(d, "empty", b" \n\n", 0o600);
        let e = SensorKey::load(&empty).expect_err("empty").to_string();
        assert!(e.contains("is empty") && e.contains("/dev/urandom"), "{e}");
        let short = key_file(d, "short", b"secret\n", 0o600);
        assert!(matches!(
            SensorKey::load(&short),
            Err(KeyError::TooShort { len: 6, .. })
        ));
        let large = key_file(d, "large", &[b'k'; 5000], 0o600);
        assert!(matches!(SensorKey::load(&large), Err(KeyError::TooLarge { .. })));

        let e = SensorKey::load(&d.join("missing"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("cannot read key file") && e.contains("missing"), "{e}");
        assert!(matches!(SensorKey::load(d), Err(KeyError::NotAFile { .. })));
    }
}
