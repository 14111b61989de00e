//! Every file mwbench reads from outside (result and merged files, site
//! files, price series, a tool's output) is opened here: it must be a
//! regular file (a FIFO would block an unattended run for ever, `/dev/zero`
//! never ends, a directory is no input), its size is capped before a byte
//! is read, text must be UTF-8, and line-by-line formats cap each line so
//! one endless line cannot fill the memory. A wrong input is bad input
//! (exit 2); a file this machine cannot read is exit 1.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{Error, Result};

/// Opens `path` for reading, refusing anything but a regular file (or a
/// link to one) of at most `max_bytes`. `what` names the input in errors
/// ("site file", "price series").
pub fn open(path: &Path, max_bytes: u64, what: &str) -> Result<std::fs::File> {
    let io = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    // Non-blocking, so that opening a FIFO returns at once and is refused
    // below instead of waiting for a writer; reads from a regular file
    // never block anyway.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| match source.raw_os_error() {
            // A directory opens for reading on Linux; this is for the
            // platforms and file systems where it does not.
            Some(libc::EISDIR) => not_regular(path, what, "a directory"),
            _ => io(source),
        })?;
    let metadata = file.metadata().map_err(io)?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        let found = if kind.is_dir() {
            "a directory"
        } else {
            "a FIFO, socket or device"
        };
        return Err(not_regular(path, what, found));
    }
    if metadata.len() > max_bytes {
        return Err(Error::usage(format!(
            "{}: {} is over the {} a {what} can be",
            path.display(),
            size(metadata.len()),
            size(max_bytes)
        )));
    }
    Ok(file)
}

/// Reads `path` whole as UTF-8 text, checked as [`open`] does.
pub fn read_text(path: &Path, max_bytes: u64, what: &str) -> Result<String> {
    let file = open(path, max_bytes, what)?;
    let mut bytes = Vec::new();
    // The cap holds even for a file that grows while it is read.
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::usage(format!(
            "{}: grew past the {} a {what} can be while it was read",
            path.display(),
            size(max_bytes)
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("{}: not UTF-8 text (not a {what})", path.display())))
}

fn not_regular(path: &Path, what: &str, found: &str) -> Error {
    Error::usage(format!(
        "{}: {found}, not a regular file (a {what} must be one)",
        path.display()
    ))
}

/// A size for a message, in the largest unit it reaches (`64 MiB`,
/// `2.5 GiB`).
fn size(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= 1 << 30 => (b as f64 / f64::from(1u32 << 30), "GiB"),
        b if b >= 1 << 20 => (b as f64 / f64::from(1u32 << 20), "MiB"),
        b if b >= 1 << 10 => (b as f64 / 1024.0, "KiB"),
        b => return format!("{b} bytes"),
    };
    format!("{} {unit}", (value * 10.0).round() / 10.0)
}

/// A reader that fails once a line runs past `max_line_bytes`: a parser
/// that buffers a line (CSV) would otherwise hold all of an endless one.
pub struct LineCapped<R> {
    inner: R,
    max_line_bytes: usize,
    since_newline: usize,
}

impl<R> LineCapped<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        LineCapped {
            inner,
            max_line_bytes,
            since_newline: 0,
        }
    }
}

/// The message of the error [`LineCapped`] fails with, for callers that
/// name the line.
pub fn line_too_long(max_line_bytes: usize) -> String {
    format!("a line longer than {max_line_bytes} bytes")
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        for &byte in &buf[..read] {
            if byte == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > self.max_line_bytes {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        line_too_long(self.max_line_bytes),
                    ));
                }
            }
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("site.toml");
        std::fs::write(&text, "power_price = 45\n").unwrap();
        assert_eq!(
            read_text(&text, 100, "site file").unwrap(),
            "power_price = 45\n"
        );

        let error = read_text(&text, 4, "site file").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("over the 4 bytes"), "{error}");

        let error = read_text(dir.path(), 100, "site file").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("a directory"), "{error}");

        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = read_text(&fifo, 100, "site file").unwrap_err();
        assert!(error.to_string().contains("FIFO"), "{error}");

        for device in ["/dev/zero", "/dev/null"] {
            let error = read_text(Path::new(device), 100, "site file").unwrap_err();
            assert_eq!(error.exit_code(), 2, "{error}");
        }

        let binary = dir.path().join("binary");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let error = read_text(&binary, 100, "site file").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("not UTF-8"), "{error}");

        let missing = read_text(&dir.path().join("missing"), 100, "site file").unwrap_err();
        assert_eq!(missing.exit_code(), 1);
    }

    #[test]
    fn a_line_past_the_cap_fails_the_read() {
        let mut text = String::new();
        let mut short = LineCapped::new("ab\ncd\n".as_bytes(), 2);
        short.read_to_string(&mut text).unwrap();
        assert_eq!(text, "ab\ncd\n");

        let endless = std::io::repeat(b'x');
        let error = LineCapped::new(endless, 1000)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), line_too_long(1000));
    }
}
