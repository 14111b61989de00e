//! What every end-to-end test file uses: the real binary, run the way the
//! tests need it.

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

/// The index of lavapipe on Vulkan: a CPU adapter (RAPL is its sensor)
/// with no board power, whatever else the machine has.
pub fn lavapipe() -> String {
    lavapipe_adapter()["index"].to_string()
}

/// lavapipe on Vulkan as `devices --json` describes it.
pub fn lavapipe_adapter() -> Value {
    let adapters = json(&run(&["devices", "--json"]));
    adapters
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["device_type"] == "cpu" && a["backend"] == "vulkan")
        .expect("lavapipe: apt-get install -y mesa-vulkan-drivers")
        .clone()
}

/// Copies a fixture tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// NVML's stand-in (`tests/nvml/fake_nvml.c`) built with the system's C
/// compiler into a new directory, with `defines` (`-DOMIT_ENERGY_SYMBOL`)
/// and the GPUs of `conf` beside it. Keep the directory while it is used.
pub fn fake_nvml(defines: &[&str], conf: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("libnvidia-ml.so.1");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&library)
        .arg(fixture("../nvml/fake_nvml.c"))
        .args(defines)
        .output()
        .expect("a C compiler (cc): apt-get install -y gcc");
    assert!(
        output.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(dir.path().join("libnvidia-ml.so.1.conf"), conf).unwrap();
    (dir, library)
}
