//! End-to-end tests of power measurement through the real binary: fixture
//! sysfs trees stand in for the kernel's, a script for an external meter.
//! No test needs a sensor on the machine it runs on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{assert_one_line_error, copy_tree, fixture, json, lavapipe, mwbench, run};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

/// `run --quick` of one fast workload with `extra` power options; the
/// result file's first workload.
fn run_with_power(extra: &[&str], sysfs: Option<&Path>) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let lavapipe = lavapipe();
    let mut args = vec!["run", "--quick", "--workloads", "sha256d", "--json"];
    args.extend_from_slice(&["--device", &lavapipe]);
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let mut command = mwbench(&args);
    if let Some(root) = sysfs {
        command.env("MWBENCH_SYSFS_ROOT", root);
    }
    let output = command.output().unwrap();
    output.clone().assert().success();
    let printed = json(&output);
    assert_eq!(printed["schema_version"], mwbench::results::SCHEMA_VERSION);
    printed["results"][0].clone()
}

fn close(value: &Value, expected: f64, tolerance: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= expected * tolerance)
}

#[test]
fn an_external_meter_is_polled_and_reported_as_external() {
    let meter = format!("{} 245", fixture("meter.sh").display());
    let result = run_with_power(&["--power-cmd", &meter, "--idle", "0.3"], None);
    let power = &result["power"];
    assert_eq!(power["provenance"], "external");
    assert_eq!(power["shared"], true, "a wall meter measures the host");
    assert!(power["source"].as_str().unwrap().starts_with("cmd: "));
    assert!(close(&power["watts"], 245.0, 1e-9), "{power}");
    assert!(close(&power["idle_watts"], 245.0, 1e-9), "{power}");
    assert!(power["samples"].as_u64().unwrap() >= 2, "{power}");
    assert_eq!(power["interval_ms"], 100);
    let seconds = power["seconds"].as_f64().unwrap();
    assert!(close(&power["energy_j"], 245.0 * seconds, 1e-6), "{power}");
    let rate = result["throughput"]["value"].as_f64().unwrap();
    assert_eq!(result["efficiency"][0]["unit"], "H/J");
    assert!(close(&result["efficiency"][0]["value"], rate / 245.0, 1e-6));
    assert_eq!(result["efficiency"][1]["unit"], "J/TH");
    // Nothing above an idle that equals the load.
    assert_eq!(result["efficiency_above_idle"], Value::Array(vec![]));
}

#[test]
fn a_failing_or_silent_meter_stops_the_run_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    for (meter, said) in [
        (
            "sh -c 'echo BMC not responding >&2; exit 1'",
            "BMC not responding",
        ),
        ("true", "printed no number"),
    ] {
        let args = [
            "run",
            "--quick",
            "--workloads",
            "sha256d",
            "--power-cmd",
            meter,
        ];
        let out = ["--out", out.to_str().unwrap()];
        assert_one_line_error(&[&args[..], &out[..]].concat(), 1, said);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no result file"
    );
}

#[test]
fn a_figure_from_the_user_is_user_and_needs_no_idle() {
    let started = Instant::now();
    let result = run_with_power(&["--watts", "300"], None);
    let power = &result["power"];
    assert_eq!(power["provenance"], "user");
    assert_eq!(power["watts"], 300.0);
    assert_eq!(power["idle_watts"], Value::Null);
    assert_eq!(power["samples"], 0);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn without_a_sensor_nothing_is_guessed() {
    let result = run_with_power(&[], None);
    let power = &result["power"];
    assert_eq!(power["provenance"], "none");
    assert_eq!(power["watts"], Value::Null);
    let source = power["source"].as_str().unwrap();
    assert!(source.contains("no power sensor found"), "{source}");
    assert!(source.contains("rapl: no RAPL package"), "{source}");
    assert_eq!(result["efficiency"], Value::Array(vec![]));
}

#[test]
fn an_estimate_needs_a_known_board() {
    // llvmpipe has no board power: asking for an estimate of it fails;
    // and without powercap, asking for RAPL fails.
    let lavapipe = lavapipe();
    let on_lavapipe = [
        "run",
        "--quick",
        "--workloads",
        "sha256d",
        "--device",
        &lavapipe,
    ];
    let with = |power: &'static str| [&on_lavapipe[..], &["--power", power]].concat();
    assert_one_line_error(&with("tdp"), 1, "no board power known");
    assert_one_line_error(&with("rapl"), 1, "llvmpipe");
}

#[test]
fn bad_power_options_are_usage_errors() {
    let quick = ["run", "--quick", "--workloads", "sha256d"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        quick.iter().chain(extra).copied().collect()
    };
    assert_one_line_error(
        &with(&["--power", "solar"]),
        2,
        "unknown power source 'solar'",
    );
    assert_one_line_error(
        &with(&["--power", "cmd"]),
        2,
        "--power cmd needs --power-cmd",
    );
    assert_one_line_error(&with(&["--power", "rapl", "--watts", "300"]), 2, "--watts");
    assert_one_line_error(&with(&["--power-cmd", "'unclosed"]), 2, "--power-cmd");
    assert_one_line_error(&with(&["--power-interval-ms", "0"]), 2, "power-interval-ms");
    assert_one_line_error(&with(&["--idle", "-1"]), 2, "idle");
}

#[test]
fn devices_lists_power_sources_and_why_others_are_missing() {
    let output = mwbench(&["devices", "--json"])
        .env("MWBENCH_SYSFS_ROOT", fixture("sysfs/rapl"))
        .output()
        .unwrap();
    output.clone().assert().success();
    let adapters = json(&output);
    let cpu = adapters
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["device_type"] == "cpu")
        .expect("lavapipe is listed");
    let sources = cpu["power_sources"].as_array().unwrap();
    let named = |name: &str| sources.iter().find(|s| s["source"] == name).unwrap();
    assert_eq!(named("rapl")["available"], true);
    assert!(
        named("rapl")["detail"]
            .as_str()
            .unwrap()
            .contains("2 packages")
    );
    assert_eq!(named("nvml")["available"], false);
    let nvml = named("nvml")["detail"].as_str().unwrap();
    assert!(nvml.starts_with("cannot load NVML from"), "{nvml}");
    assert_eq!(named("hwmon")["available"], false);
    let table = run(&["devices"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Power sources"), "{text}");
}

/// A copy of the RAPL fixture whose first package counts energy at
/// `watts` in real time, wrapping every `range_j` joules, until dropped.
struct LiveRapl {
    root: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl LiveRapl {
    fn start(watts: f64, range_j: f64) -> LiveRapl {
        let root = tempfile::tempdir().unwrap();
        copy_tree(&fixture("sysfs/rapl"), root.path());
        let zone = root.path().join("class/powercap/intel-rapl:0");
        let read = |name: &str| -> u64 {
            std::fs::read_to_string(zone.join(name))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        let range = (range_j * 1e6) as u64;
        std::fs::write(zone.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
        let first = read("energy_uj") % range;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let writer = std::thread::spawn(move || {
            let started = Instant::now();
            let (file, temporary) = (zone.join("energy_uj"), zone.join(".energy_uj"));
            while !stopped.load(Ordering::Relaxed) {
                // The counter follows the clock, not the loop, so a
                // starved writer only makes readings stale, not slow.
                let used = (started.elapsed().as_secs_f64() * watts * 1e6) as u64;
                let now = (first + used) % range;
                std::fs::write(&temporary, format!("{now}\n")).unwrap();
                std::fs::rename(&temporary, &file).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        LiveRapl {
            root,
            stop,
            writer: Some(writer),
        }
    }

    fn path(&self) -> PathBuf {
        self.root.path().to_path_buf()
    }
}

impl Drop for LiveRapl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// `auto` on lavapipe (a CPU adapter) finds RAPL; a counter advancing at
/// 120 W and wrapping every 30 J (four times a second, several times in
/// each window) reads as 120 W. A wrap missed or counted twice would be
/// 15 W off over the 2 s window; the tolerance allows for a writer thread
/// starved by the tests running beside it.
#[test]
fn rapl_on_a_cpu_adapter_reads_a_wrapping_counter_right() {
    let rapl = LiveRapl::start(120.0, 30.0);
    let result = run_with_power(&["--duration", "2", "--idle", "1"], Some(&rapl.path()));
    let power = &result["power"];
    assert_eq!(power["provenance"], "sensor");
    assert_eq!(power["shared"], true);
    assert!(
        power["source"]
            .as_str()
            .unwrap()
            .starts_with("rapl: CPU package energy")
    );
    assert!(close(&power["watts"], 120.0, 0.08), "{power}");
    assert!(close(&power["idle_watts"], 120.0, 0.08), "{power}");
    assert!(power["samples"].as_u64().unwrap() >= 2, "{power}");
}
