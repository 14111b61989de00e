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

/// Whether a process whose command line holds `marker` is running.
fn survives(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", marker])
        .status()
        .expect("pgrep (procps)")
        .success()
}

/// A meter command that leaves a process behind holding its stdout
/// (`echo 150; sleep 3600 &`) neither hangs `run` nor `meter` (whose
/// power sources are run's), and nothing it started survives; one that
/// never answers fails in one line at the 10 s limit, its whole group
/// ended.
#[test]
fn a_meter_command_and_its_children_end_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let lavapipe = lavapipe();
    let out = dir.path().join("r.json");
    let out = out.to_str().unwrap();
    // `run`, and `meter` around a command of its own.
    let leaves = "sh -c 'echo 150; sleep 3600.25 &'";
    let run_it = ["run", "--quick", "--workloads", "sha256d"];
    let meter_it = ["meter", "--idle", "0", "--parse", "count=1000 H"];
    for (command, tail) in [
        (&run_it[..], &[][..]),
        (&meter_it[..], &["--", "sleep", "1"][..]),
    ] {
        let started = std::time::Instant::now();
        let mut args = command.to_vec();
        args.extend(["--device", &lavapipe, "--power-cmd", leaves, "--out", out]);
        args.extend(tail);
        let output = run(&args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{args:?} took {:?}",
            started.elapsed()
        );
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        let watts = file["results"][0]["power"]["watts"].as_f64().unwrap();
        assert!((watts - 150.0).abs() < 1e-6, "{file}");
        assert!(
            !survives("sleep 3600.25"),
            "{args:?}: a meter's child survived"
        );
        std::fs::remove_file(out).unwrap();
    }
    // Never answers, with a child holding stdout: the upfront reading
    // fails at the limit.
    let started = std::time::Instant::now();
    let silent = "sh -c 'sleep 3600.5 & sleep 3600.5'";
    let args = [
        &run_it[..],
        &["--device", &lavapipe, "--power-cmd", silent, "--out", out],
    ]
    .concat();
    assert_one_line_error(&args, 1, "gave no reading within 10 s");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(!survives("sleep 3600.5"), "a silent meter's child survived");
    assert!(!Path::new(out).exists());
}

/// `run` of sha256d for 2 s on lavapipe, NVML's stand-in emulating it as
/// `conf`; the result's power block.
fn nvml_power(conf: &str) -> serde_json::Value {
    let name = lavapipe_adapter()["name"].as_str().unwrap().to_string();
    let (_nvml, library) = fake_nvml(&[], &format!("gpu name={name};{conf}\n"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let lavapipe = lavapipe();
    let args = [
        "run",
        "--workloads",
        "sha256d",
        "--duration",
        "2",
        "--idle",
        "0",
        "--json",
        "--device",
        &lavapipe,
        "--out",
        out.to_str().unwrap(),
    ];
    let output = mwbench(&args)
        .env("MWBENCH_NVML_LIBRARY", &library)
        .output()
        .unwrap();
    assert!(output.status.success(), "{conf}: {output:?}");
    let printed = json(&output);
    // The file reads back, as every reader reads it.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file, printed);
    printed["results"][0]["power"].clone()
}

/// A power sample far above the board's power limit (NVML's enforced
/// limit) is not a figure: left out of the spread, or of the mean where
/// the mean itself is, and the reading's source says so. Without a known
/// limit the spread stands.
#[test]
fn power_far_above_the_boards_limit_is_not_recorded() {
    // 1500 W for 0.15 s of every 0.5 s, 300 W otherwise: a mean of 660 W
    // under a 700 W limit, samples of up to 1500 W.
    let pulses = "watts=300;pulse_watts=1500;pulse_every_s=0.5;pulse_s=0.15";
    let power = nvml_power(&format!("{pulses};limit_w=700"));
    let watts = power["watts"].as_f64().unwrap();
    assert!((560.0..760.0).contains(&watts), "{power}");
    let max = power["watts_max"].as_f64().unwrap();
    assert!(max <= 875.0, "{power}");
    let source = power["source"].as_str().unwrap();
    assert!(
        source.contains("power samples above 875 W (its 700 W power limit + 25%) left out"),
        "{source}"
    );
    // A mean far above the limit: no watts, no energy.
    let power = nvml_power("watts=1000;limit_w=700");
    assert_eq!(power["watts"], serde_json::Value::Null, "{power}");
    assert_eq!(power["energy_j"], serde_json::Value::Null, "{power}");
    assert_eq!(power["watts_max"], serde_json::Value::Null, "{power}");
    let source = power["source"].as_str().unwrap();
    assert!(source.contains("a mean of 1000 W above 875 W"), "{source}");
    // NVML gives no plausible limit (0 W): nothing to hold samples to.
    let power = nvml_power(&format!("{pulses};limit_w=0"));
    let max = power["watts_max"].as_f64().unwrap();
    assert!(max > 875.0, "{power}");
    assert!(
        !power["source"].as_str().unwrap().contains("limit"),
        "{power}"
    );
}

/// `meter --out` a FIFO or a device is refused before the command runs
/// (it would be written only after), in one line; a regular file or none
/// is fine.
#[test]
fn meter_refuses_a_destination_it_could_not_write_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("r.json");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let ran = dir.path().join("ran");
    let touch = format!("touch {}", ran.display());
    let lavapipe = lavapipe();
    for out in [fifo.to_str().unwrap(), "/dev/null"] {
        let args = [
            "meter",
            "--device",
            &lavapipe,
            "--watts",
            "300",
            "--parse",
            "count=1000 H",
            "--out",
            out,
            "--",
            "sh",
            "-c",
            &touch,
        ];
        assert_one_line_error(&args, 2, "not a regular file");
        assert!(!ran.exists(), "{out}: the command ran");
    }
}
