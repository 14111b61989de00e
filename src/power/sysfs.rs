//! Reading the kernel's sysfs files that hwmon and RAPL sources use, from a
//! root the tests can replace with a fixture tree.

use std::path::{Path, PathBuf};

/// The sysfs root: `/sys`, or the directory `MWBENCH_SYSFS_ROOT` names
/// (the tests point it at fixture trees under `tests/fixtures/sysfs`).
pub fn root() -> PathBuf {
    std::env::var_os("MWBENCH_SYSFS_ROOT").map_or_else(|| PathBuf::from("/sys"), PathBuf::from)
}

/// `path` as messages name it: the file actually read, under `/sys` or
/// under `MWBENCH_SYSFS_ROOT`.
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Larger than any sysfs attribute mwbench reads (a number, a uevent).
const MAX_FILE_BYTES: u64 = 64 << 10;

/// The file's contents, trimmed; the error says which file and why.
pub fn read_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {}: {}", display(path), io_reason(&e)))?;
    Ok(text.trim().to_string())
}

/// The file's contents as an unsigned integer.
pub fn read_u64(path: &Path) -> Result<u64, String> {
    parse_u64(&read_text(path)?).map_err(|why| format!("{}: {why}", display(path)))
}

/// A sysfs number: decimal digits only (no sign, no spaces inside).
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let shown: String = text.chars().take(40).collect();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("holds '{shown}', not a number"));
    }
    text.parse()
        .map_err(|_| format!("holds '{shown}', too large a number"))
}

fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}

/// Entries of `directory` whose names satisfy `wanted`, sorted by name.
pub fn entries(directory: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wanted(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// An energy counter that wraps: turns raw readings into a total that
/// only grows, as long as it is read at least once per wrap (RAPL wraps
/// after tens of seconds at full load; the sampler reads every 100 ms).
#[derive(Debug, Clone)]
pub struct WrappingCounter {
    /// The raw value at which the counter starts again from zero, where
    /// the kernel says (`max_energy_range_uj`).
    range: Option<u64>,
    last: u64,
    total: u64,
}

impl WrappingCounter {
    pub fn new(first: u64, range: Option<u64>) -> Self {
        WrappingCounter {
            range,
            last: first,
            total: 0,
        }
    }

    /// Where the raw counter wraps, if known.
    pub fn range(&self) -> Option<u64> {
        self.range
    }

    /// Takes a new raw reading; returns the total since the first.
    pub fn advance(&mut self, now: u64) -> u64 {
        let delta = if now >= self.last {
            now - self.last
        } else {
            match self.range {
                Some(range) => range.saturating_sub(self.last) + now,
                // Without a known range, a counter that went down is
                // taken to have restarted from zero.
                None => now,
            }
        };
        self.last = now;
        self.total += delta;
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_a_wrap() {
        let mut counter = WrappingCounter::new(990, Some(1000));
        assert_eq!(counter.advance(995), 5);
        assert_eq!(counter.advance(3), 13, "5 to the wrap, then 3");
        assert_eq!(counter.advance(10), 20);
        let mut restarted = WrappingCounter::new(500, None);
        assert_eq!(restarted.advance(20), 20);
    }

    /// Under `MWBENCH_SYSFS_ROOT` messages name the file actually read,
    /// not the `/sys` path it stands in for.
    #[test]
    fn messages_name_the_file_read() {
        let root = Path::new("/tmp/fixture");
        let missing = read_text(&root.join("nothing")).unwrap_err();
        assert_eq!(missing, "cannot read /tmp/fixture/nothing: no such file");
    }

    #[test]
    fn sysfs_numbers_are_plain_digits() {
        assert_eq!(parse_u64("123456"), Ok(123456));
        for bad in ["", "-5", "12 34", "1e9", "0x10", "99999999999999999999999"] {
            assert!(parse_u64(bad).is_err(), "{bad}");
        }
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_sysfs_text_is_a_number_or_an_error(text in ".{0,30}") {
                match parse_u64(&text) {
                    Ok(n) => {
                        let digits = n.to_string();
                        prop_assert_eq!(digits.trim_start_matches('0'), text.trim_start_matches('0'));
                    }
                    Err(error) => prop_assert!(error.starts_with("holds")),
                }
            }

            #[test]
            fn digits_parse_exactly(n in any::<u64>()) {
                prop_assert_eq!(parse_u64(&n.to_string()), Ok(n));
            }
        }
    }
}
