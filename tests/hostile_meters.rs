//! End-to-end tests of issue 25's meter classes: what an external meter
//! prints, what its command leaves behind, and power figures no board
//! can draw.

use std::path::{Path, PathBuf};

use crate::common::*;

/// An executable meter script in `dir` whose body is `body`.
fn meter_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `run --quick` of sha256d on lavapipe with `--power-cmd meter`, writing
/// under `dir`.
fn run_args(dir: &Path, meter: &str) -> Vec<String> {
    [
        "run",
        "--quick",
        "--workloads",
        "sha256d",
        "--device",
        &lavapipe(),
        "--power-cmd",
        meter,
        "--out",
        dir.join("r.json").to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// A figure the meter prints with a thousands separator, a decimal comma
/// or below any device's draw is refused before the run, in one line,
/// never read as its first digits (`1,500 W` as 1 W).
#[test]
fn grouped_and_implausible_meter_figures_are_refused_upfront() {
    let dir = tempfile::tempdir().unwrap();
    for (printed, mention) in [
        ("1,500 W", "thousands separator"),
        ("Instantaneous power reading: 1,500 Watts", "'1,500'"),
        ("1'500 W", "thousands separator"),
        ("245,5 W", "decimal comma"),
        ("1 500 W", "grouped by a space"),
        ("0.0001", "outside the [0.001, 1e6] W"),
        ("0.0001 W", "read 0.0001 W"),
        ("2e6 W", "outside"),
        ("12 kW", "reads in kW"),
        ("150 apples,5", "150"),
    ] {
        let script = meter_script(dir.path(), "meter", &format!("cat <<'END'\n{printed}\nEND"));
        let args = run_args(dir.path(), script.to_str().unwrap());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if printed.starts_with("150 apples") {
            // Text after the figure that is not attached to it is not
            // part of it: 150 W.
            let output = run(&args);
            assert!(output.status.success(), "{printed}: {output:?}");
            continue;
        }
        assert_one_line_error(&args, 1, mention);
        assert!(
            !dir.path().join("r.json").exists(),
            "{printed}: a result file"
        );
    }
}
