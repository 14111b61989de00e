//! What can go wrong reading, writing and valuing result files. The
//! `mwbench` binary folds these into its own error, with the same exit
//! codes.

use std::path::PathBuf;

/// Result alias used across this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message is what the user sees, on one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, a site file or a result file given on the command line is
    /// wrong: it would fail the same way on any machine.
    #[error("{0}")]
    Usage(String),

    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// A usage error with the given message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// Exit code: 2 for usage errors, 1 for files that cannot be read or
    /// written.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Io { .. } => 1,
        }
    }
}

/// A number for a message: as written where it is short, in scientific
/// notation where plain digits would run to hundreds (`1e308`).
pub fn shown(value: f64) -> String {
    let plain = value.to_string();
    if plain.len() > 16 {
        format!("{value:e}")
    } else {
        plain
    }
}

/// Text from a file or a sensor, safe to print on a terminal: control
/// characters (an ESC that would recolour or move the cursor, a newline
/// that would forge a second line) written as escapes (`\u{1b}`, `\n`).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("H200 NVL"), "H200 NVL");
        assert_eq!(printable("a\u{1b}[31mred\nb\tc"), "a\\u{1b}[31mred\\nb\\tc");
        assert_eq!(printable("\u{9b}2J"), "\\u{9b}2J");
    }

    #[test]
    fn huge_numbers_are_shown_short() {
        assert_eq!(shown(1e308), "1e308");
        assert_eq!(shown(245.5), "245.5");
        assert_eq!(shown(-5.0), "-5");
    }

    #[test]
    fn usage_errors_exit_2_and_file_errors_exit_1() {
        assert_eq!(Error::usage("bad").exit_code(), 2);
        let io = Error::Io {
            action: "read",
            path: "x".into(),
            source: std::io::Error::other("gone"),
        };
        assert_eq!(io.exit_code(), 1);
    }
}
