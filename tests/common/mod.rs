//! What every end-to-end test file uses: the real binary, run the way the
//! tests need it.
#![allow(dead_code)] // each test file uses only some of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary, with XDG_RUNTIME_DIR set: Mesa's Vulkan driver prints a
/// warning on stderr when it is unset, which would hide our own one line.
///
/// Power sensors are looked for under a sysfs root that does not exist and
/// NVML is loaded from a library that does not exist, so the tests give the
/// same results on a machine whose RAPL is readable or that has an NVIDIA
/// driver; tests of the sensors point `MWBENCH_SYSFS_ROOT` at fixtures.
pub fn mwbench(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mwbench"));
    command
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("MWBENCH_SYSFS_ROOT", fixture("sysfs/none"))
        .env(
            "MWBENCH_NVML_LIBRARY",
            fixture("nvml/absent/libnvidia-ml.so.1"),
        );
    command
}

/// A path under `tests/fixtures`.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

pub fn run(args: &[&str]) -> Output {
    mwbench(args).output().expect("the binary runs")
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Fails with `code`, and says why on exactly one line of stderr.
pub fn assert_one_line_error(args: &[&str], code: i32, mention: &str) {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?} printed {lines:?}");
    assert!(lines[0].starts_with("mwbench: error: "), "{lines:?}");
    assert!(
        lines[0].contains(mention),
        "{args:?}: '{}' lacks '{mention}'",
        lines[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
