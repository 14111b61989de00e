//! Writing result files: atomically, and to a default path that names the
//! host, adapter and time.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `contents` to a temporary file beside `path`, then renames it over
/// `path`: readers see the old file or the whole new one, never half.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let io_error = |source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let directory = parent_directory(path);
    let mut file = tempfile::NamedTempFile::new_in(directory).map_err(io_error)?;
    file.write_all(contents.as_bytes()).map_err(io_error)?;
    file.as_file().sync_all().map_err(io_error)?;
    persist(file, path)
}

/// Renames a finished temporary file over `path`, readable by others as a
/// file written in place would be (temporary files start private).
pub fn persist(file: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    let io_error = |source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_error)?;
    }
    file.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// Fails early, before any benchmark runs, when `path` cannot be written.
pub fn check_writable(path: &Path) -> Result<()> {
    let io_error = |source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(io_error(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    tempfile::NamedTempFile::new_in(parent_directory(path))
        .map(drop)
        .map_err(io_error)
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `results/<host>-<adapter>-<time>.json`, each part reduced to
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
        write_atomic(&path, "old").unwrap();
        write_atomic(&path, "new").unwrap();
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
}
