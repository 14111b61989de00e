//! What every end-to-end test file uses: the real binary, run the way the
//! tests need it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

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

/// Runs the binary, which must succeed; its stdout.
pub fn stdout_of(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Writes `bytes` to `name` in `dir`; its path.
pub fn write_file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Writes `value` as JSON to `name` in `dir`; its path.
pub fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    write_file(dir, name, serde_json::to_string_pretty(value).unwrap())
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Sends `signal` to a child the test started.
pub fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Waits for the child, failing the test if it takes longer than `limit`;
/// its exit code and stderr.
pub fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                pipe.read_to_string(&mut stderr).unwrap();
            }
            return (status.code(), stderr);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("mwbench did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
