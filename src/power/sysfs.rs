//! Reading the kernel's sysfs files that hwmon and RAPL sources use, from a
//! root the tests can replace with a fixture tree.

use std::path::{Path, PathBuf};

/// The sysfs root: `/sys`, or the directory `MWBENCH_SYSFS_ROOT` names
/// (the tests point it at fixture trees under `tests/fixtures/sysfs`).
pub fn root() -> PathBuf {
    std::env::var_os("MWBENCH_SYSFS_ROOT").map_or_else(|| PathBuf::from("/sys"), PathBuf::from)
}

/// `path` as the user knows it: relative to `root` and under `/sys`, so
/// messages name the real file even when a fixture tree stands in for it.
pub fn display(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) => format!("/sys/{}", relative.display()),
        Err(_) => path.display().to_string(),
    }
}

/// The file's contents, trimmed; the error says which file and why.
pub fn read_text(root: &Path, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_string())
        .map_err(|e| format!("cannot read {}: {}", display(root, path), io_reason(&e)))
}

/// The file's contents as an unsigned integer.
pub fn read_u64(root: &Path, path: &Path) -> Result<u64, String> {
    let text = read_text(root, path)?;
    text.parse()
        .map_err(|_| format!("{} holds '{text}', not a number", display(root, path)))
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

    #[test]
    fn messages_name_the_real_path() {
        let root = Path::new("/tmp/fixture");
        assert_eq!(
            display(root, &root.join("class/powercap/intel-rapl:0/energy_uj")),
            "/sys/class/powercap/intel-rapl:0/energy_uj"
        );
        let missing = read_text(root, &root.join("nothing")).unwrap_err();
        assert_eq!(missing, "cannot read /sys/nothing: no such file");
    }
}
