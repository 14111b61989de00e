//! Writing result files and charts: atomically over regular files, in
//! place into devices and FIFOs (`--out /dev/null`, `--out /dev/stdout`),
//! never over anything else, and to a default path that names the host,
//! adapter and time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::{Error, Result};

/// Where the bytes for a path go.
#[derive(Debug, PartialEq)]
enum Destination {
    /// A regular file, or none yet: a temporary file beside it, renamed
    /// over it. For a symbolic link, the file it points to.
    Replace(PathBuf),
    /// A character device or FIFO: written where it is, never replaced
    /// (as root a rename would turn `/dev/null` into a regular file).
    InPlace { fifo: bool },
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    }
}

fn refuse(path: &Path, why: &str) -> Error {
    io_error(path, std::io::Error::other(why.to_string()))
}

/// What is at `path`, and so how to write it.
fn destination(path: &Path) -> Result<Destination> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace(path.to_path_buf()));
        }
        Err(e) => return Err(io_error(path, e)),
    };
    let metadata = if link.file_type().is_symlink() {
        std::fs::metadata(path).map_err(|_| refuse(path, "a symbolic link to nothing"))?
    } else {
        link.clone()
    };
    let kind = metadata.file_type();
    if kind.is_file() {
        let real = if link.file_type().is_symlink() {
            std::fs::canonicalize(path).map_err(|e| io_error(path, e))?
        } else {
            path.to_path_buf()
        };
        return Ok(Destination::Replace(real));
    }
    if kind.is_dir() {
        return Err(refuse(path, "it is a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return Ok(Destination::InPlace { fifo: false });
        }
        if kind.is_fifo() {
            return Ok(Destination::InPlace { fifo: true });
        }
        if kind.is_block_device() {
            return Err(refuse(
                path,
                "it is a block device: refusing to write into a disk",
            ));
        }
    }
    Err(refuse(path, "it is not a regular file, device or FIFO"))
}

/// Writes `contents` to `path`. A regular file (or a new one) is written
/// to a temporary file beside it and renamed over it: readers see the old
/// file or the whole new one, never half. A device or FIFO is written in
/// place; anything else (a directory, a block device, a socket) is refused.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    match destination(path)? {
        Destination::Replace(real) => replace(&real, contents).map_err(|e| io_error(path, e)),
        Destination::InPlace { fifo } => {
            write_in_place(path, contents, fifo).map_err(|e| io_error(path, e))
        }
    }
}

/// Temporaries being written, which a process that must exit at once
/// (a second SIGTERM: no destructors run) removes with
/// [`remove_unfinished`].
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> MutexGuard<'static, Vec<PathBuf>> {
    UNFINISHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes every temporary a write has not yet renamed into place: call it
/// just before `std::process::exit`, which runs no destructors.
pub fn remove_unfinished() {
    for path in unfinished().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// How many result files this process has written whole: what a process
/// that exits at once can say it leaves behind.
static WRITTEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The files [`write_atomic`] has written whole so far in this process.
pub fn files_written() -> usize {
    WRITTEN.load(std::sync::atomic::Ordering::SeqCst)
}

fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    // A file replaced keeps its mode and owner: `--out` through a link to
    // a private file owned by another user (a root job writing a site
    // engineer's file) must not leave a world-readable file owned by root.
    let existing = std::fs::metadata(path).ok().filter(|m| m.is_file());
    let mut file = tempfile::Builder::new()
        .prefix(".mwbench-")
        .suffix(".tmp")
        .tempfile_in(parent_directory(path))?;
    let temporary = file.path().to_path_buf();
    unfinished().push(temporary.clone());
    let written = (|| {
        file.write_all(contents)?;
        file.as_file().sync_all()?;
        // A new file is readable by others, as a file written in place
        // would be (temporary files start private).
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let mode = existing.as_ref().map_or(0o644, |m| m.mode() & 0o7777);
            if let Some(old) = &existing {
                // Only root can give a file away; anyone else keeps
                // their own, as the old file's owner could not be kept
                // by any write of theirs either.
                std::os::unix::fs::fchown(file.as_file(), Some(old.uid()), Some(old.gid()))
                    .or_else(|e| match e.kind() {
                        std::io::ErrorKind::PermissionDenied => Ok(()),
                        _ => Err(e),
                    })?;
            }
            // After the owner: chown clears set-id bits.
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.persist(path).map_err(|e| e.error)
    })();
    if written.is_ok() {
        WRITTEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    // Renamed into place, or removed by its destructor on failure.
    unfinished().retain(|p| *p != temporary);
    written.map(drop)
}

fn write_in_place(path: &Path, contents: &[u8], fifo: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    if fifo {
        // Without a reader, opening a FIFO blocks for ever: fail instead.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = options.open(path).map_err(|e| {
        if fifo && e.raw_os_error() == Some(libc::ENXIO) {
            std::io::Error::other("a FIFO that nothing reads")
        } else {
            e
        }
    })?;
    #[cfg(unix)]
    if fifo {
        // Blocking writes from here on: the reader sets the pace.
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    file.write_all(contents)?;
    file.flush()?;
    WRITTEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Fails early, before any benchmark runs, when `path` cannot be written.
pub fn check_writable(path: &Path) -> Result<()> {
    match destination(path)? {
        Destination::Replace(real) => tempfile::NamedTempFile::new_in(parent_directory(&real))
            .map(drop)
            .map_err(|e| io_error(path, e)),
        // A FIFO's reader may only start once the run does.
        Destination::InPlace { .. } => Ok(()),
    }
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Where `run` writes without `--out`, under the current directory: not
/// `results/`, which in this repository holds the committed reference
/// files that a new run must not be mistaken for.
pub const DEFAULT_DIRECTORY: &str = "mwbench-runs";

/// Where a new result file goes by default: [`default_path`] under
/// [`DEFAULT_DIRECTORY`] of the current directory (created), with `.2`,
/// `.3`, ... before `.json` when a file of that name exists (runs started
/// within the same second), so that none replaces another.
pub fn default_destination(hostname: &str, adapter: &str, created: &str) -> Result<PathBuf> {
    let directory = Path::new(DEFAULT_DIRECTORY);
    std::fs::create_dir_all(directory).map_err(|source| Error::Io {
        action: "create",
        path: directory.to_path_buf(),
        source,
    })?;
    let path = default_path(directory, hostname, adapter, created);
    let free = (1..1000)
        .map(|n| match n {
            1 => path.clone(),
            n => path.with_extension(format!("{n}.json")),
        })
        .find(|candidate| std::fs::symlink_metadata(candidate).is_err());
    Ok(free.unwrap_or(path))
}

/// `<directory>/<host>-<adapter>-<time>.json`, each part reduced to
/// `[a-z0-9-]` so the name is safe on every filesystem.
pub fn default_path(directory: &Path, hostname: &str, adapter: &str, created: &str) -> PathBuf {
    let time: String = created
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    directory.join(format!(
        "{}-{}-{}.json",
        slug(hostname),
        slug(adapter),
        time.to_lowercase()
    ))
}

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let slug: String = slug.chars().take(40).collect();
    if slug.is_empty() {
        "unknown".into()
    } else {
        slug.trim_end_matches('-').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_filesystem_safe() {
        let path = default_path(
            Path::new("results"),
            "gpu-node-07",
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            "2026-11-25T10:00:00Z",
        );
        assert_eq!(
            path,
            Path::new("results/gpu-node-07-llvmpipe-llvm-15-0-6-256-bits-20261125t100000z.json")
        );
    }

    #[test]
    fn atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "readable by the analysts it is for");
        }
    }

    #[test]
    fn unwritable_paths_are_caught_before_running() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(&dir.path().join("ok.json")).is_ok());
        assert!(check_writable(&dir.path().join("missing/r.json")).is_err());
        assert!(check_writable(dir.path()).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// As root a rename over `/dev/null` replaces the device with a file:
    /// devices are written in place, and stay devices.
    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        check_writable(null).unwrap();
        write_atomic(null, b"{}").unwrap();
        let kind = std::fs::symlink_metadata(null).unwrap().file_type();
        assert!(kind.is_char_device(), "/dev/null is still a device");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_written_in_place_and_need_a_reader() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        check_writable(&fifo).unwrap();
        let alone = write_atomic(&fifo, b"x").unwrap_err().to_string();
        assert!(alone.contains("a FIFO that nothing reads"), "{alone}");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        // The reader may not have opened its end yet: retry briefly.
        let big = vec![b'r'; 200_000];
        let mut written = write_atomic(&fifo, &big);
        for _ in 0..100 {
            if written.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            written = write_atomic(&fifo, &big);
        }
        written.unwrap();
        assert_eq!(reader.join().unwrap(), big, "larger than a pipe's buffer");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_directories_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        assert!(check_writable(&dangling).is_err());
        let error = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(error.contains("directory"), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
