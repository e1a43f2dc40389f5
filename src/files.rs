//! Opening a path the command line names as a file (a capture file, a config
//! file, a key file) without trusting that it is one.
//!
//! A plain `open` of a FIFO waits for a writer, so a FIFO given by mistake (or
//! on purpose) hangs the program without a word; a character device such as
//! `/dev/zero` never ends, so a reader that reads to the end fills the memory;
//! and opening some devices does something by itself (a watchdog arms, a tape
//! rewinds). So the path is looked at first and anything but a regular file is
//! refused unopened; then it is opened non-blocking (a FIFO swapped in since
//! opens at once instead of waiting), the opened handle itself is looked at
//! (no race with the path changing), and only a regular file is returned, in
//! blocking mode again.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Why a path could not be opened as a regular file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The operating system's reason (no such file, no permission).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Something else than a regular file: what it is.
    #[error("it is {0}, not a regular file")]
    NotAFile(Kind),
}

/// What a path that is no regular file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A FIFO (named pipe): a stream, not a file.
    Fifo,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A Unix socket.
    Socket,
}

impl std::fmt::Display for Kind {
    /// In words, with the article: "a FIFO (named pipe)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Directory => "a directory",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
        })
    }
}

/// Opens `path` for reading, only if it is a regular file, and returns it with
/// its metadata (taken from the open handle). Never blocks on a FIFO, never
/// opens a device.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), OpenError> {
    // Refused before opening: opening a device may itself do something.
    check(&std::fs::metadata(path)?)?;
    let file = OpenOptions::new()
        .read(true)
        // O_NOCTTY: a terminal named by mistake does not become ours.
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    check(&meta)?;
    // Regular files ignore O_NONBLOCK on Linux's local filesystems, but not
    // every filesystem need: readers expect blocking reads.
    let flags = OFlag::from_bits_truncate(fcntl(&file, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(&file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok((file, meta))
}

/// `Ok` for a regular file; otherwise what it is.
fn check(meta: &Metadata) -> Result<(), OpenError> {
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        Kind::Directory
    } else if kind.is_fifo() {
        Kind::Fifo
    } else if kind.is_char_device() {
        Kind::CharDevice
    } else if kind.is_block_device() {
        Kind::BlockDevice
    } else {
        // The only kind left: symbolic links were followed.
        Kind::Socket
    };
    Err(OpenError::NotAFile(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_opens_blocking_and_anything_else_is_named() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"bytes").expect("write");
        let (file, meta) = open_regular(&plain).expect("a regular file opens");
        assert_eq!(meta.len(), 5);
        let flags = OFlag::from_bits_truncate(fcntl(&file, FcntlArg::F_GETFL).expect("flags"));
        assert!(!flags.contains(OFlag::O_NONBLOCK), "{flags:?}");

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        // Returns at once: no writer is waited for.
        let kind = |p: &Path| match open_regular(p) {
            Err(OpenError::NotAFile(kind)) => kind,
            other => panic!("{}: {other:?}", p.display()),
        };
        assert_eq!(kind(&fifo), Kind::Fifo);
        assert_eq!(kind(Path::new("/dev/zero")), Kind::CharDevice);
        assert_eq!(kind(dir.path()), Kind::Directory);
        assert_eq!(Kind::Fifo.to_string(), "a FIFO (named pipe)");
        assert!(matches!(
            open_regular(&dir.path().join("missing")),
            Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
    }
}
