//! End-to-end tests of NVML, the power source most users will have, on a
//! machine without an NVIDIA GPU: `tests/nvml/fake_nvml.c`, built by the
//! tests, stands in for the driver's library and emulates GPUs (named as
//! lavapipe, so that matching by name finds them) through
//! `MWBENCH_NVML_LIBRARY`.

use std::path::Path;

use crate::common::{fake_nvml, json, lavapipe, lavapipe_adapter, mwbench};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

fn gpu_line(extra: &str) -> String {
    let name = lavapipe_adapter()["name"].as_str().unwrap().to_string();
    format!("gpu name={name};{extra}\n")
}

/// `run` of sha256d for 2 s on lavapipe with NVML from `library`; the
/// result's power block.
fn run_power(library: &Path, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let lavapipe = lavapipe();
    let mut args = vec![
        "run",
        "--workloads",
        "sha256d",
        "--duration",
        "2",
        "--idle",
        "1",
        "--json",
        "--device",
        &lavapipe,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = mwbench(&args)
        .env("MWBENCH_NVML_LIBRARY", library)
        .output()
        .unwrap();
    output.clone().assert().success();
    json(&output)["results"][0]["power"].clone()
}

fn within(value: &Value, expected: f64, tolerance: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= expected * tolerance)
}

/// `auto` finds the emulated GPU by name and reads its energy counter:
/// a sensor, within 2% of the emulated 250 W, idle included.
#[test]
fn the_energy_counter_is_read_as_a_sensor() {
    let (_dir, library) = fake_nvml(&[], &gpu_line("watts=250;energy=counter"));
    let power = run_power(&library, &[]);
    assert_eq!(power["provenance"], "sensor", "{power}");
    let source = power["source"].as_str().unwrap();
    assert!(source.starts_with("nvml: "), "{source}");
    assert!(source.ends_with("total energy counter"), "{source}");
    assert!(within(&power["watts"], 250.0, 0.02), "{power}");
    assert!(within(&power["idle_watts"], 250.0, 0.02), "{power}");
    assert!(power["samples"].as_u64().unwrap() >= 5, "{power}");
}

/// Without an energy counter (NOT_SUPPORTED, or the symbol missing from
/// an old driver) NVML's sampled power is read instead.
#[test]
fn without_a_counter_power_is_sampled() {
    for (defines, conf) in [
        (&[][..], "watts=180;energy=unsupported"),
        (&["-DOMIT_ENERGY_SYMBOL"][..], "watts=180"),
    ] {
        let (_dir, library) = fake_nvml(defines, &gpu_line(conf));
        let power = run_power(&library, &["--power", "nvml"]);
        assert_eq!(power["provenance"], "sensor", "{power}");
        assert!(power["source"].as_str().unwrap().ends_with("sampled power"));
        assert!(within(&power["watts"], 180.0, 0.02), "{defines:?}: {power}");
        assert!(within(&power["watts_median"], 180.0, 0.001), "{power}");
    }
}

/// A library with neither energy nor power, a GPU of another name, and
/// two GPUs of the same name: NVML is unavailable, and says why.
#[test]
fn nvml_that_cannot_measure_says_why() {
    let name = lavapipe_adapter()["name"].as_str().unwrap().to_string();
    let cases = [
        (
            vec!["-DOMIT_POWER_SYMBOLS"],
            gpu_line("watts=100"),
            "reports neither energy nor power",
        ),
        (
            vec![],
            "gpu name=NVIDIA H100 80GB HBM3\n".to_string(),
            "no NVML device is",
        ),
        (
            vec![],
            format!("gpu name={name}\ngpu name={name}\n"),
            "2 NVML devices are named",
        ),
    ];
    for (defines, conf, said) in cases {
        let (_dir, library) = fake_nvml(&defines, &conf);
        let output = mwbench(&[
            "run",
            "--quick",
            "--workloads",
            "sha256d",
            "--power",
            "nvml",
        ])
        .env("MWBENCH_NVML_LIBRARY", &library)
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(said), "{said}: {stderr}");
        // auto never guesses: no sensor, no figure.
        let auto = run_power(&library, &[]);
        assert_eq!(auto["provenance"], "none", "{auto}");
        assert!(auto["source"].as_str().unwrap().contains(said), "{auto}");
    }
}

/// `devices` lists the emulated GPU's sensor, and `--power tdp` takes
/// NVML's enforced power limit as an estimate, never a measurement.
#[test]
fn devices_and_tdp_use_the_emulated_gpu() {
    let (_dir, library) = fake_nvml(&[], &gpu_line("bus=00000000:41:00.0;limit_w=450"));
    let output = mwbench(&["devices", "--json"])
        .env("MWBENCH_NVML_LIBRARY", &library)
        .output()
        .unwrap();
    let adapters = json(&output);
    let lavapipe = adapters
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["device_type"] == "cpu" && a["backend"] == "vulkan")
        .unwrap();
    let nvml = lavapipe["power_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "nvml")
        .unwrap();
    assert_eq!(nvml["available"], true, "{nvml}");
    assert!(
        nvml["detail"]
            .as_str()
            .unwrap()
            .contains("at 00000000:41:00.0"),
        "{nvml}"
    );
    let power = run_power(&library, &["--power", "tdp"]);
    assert_eq!(power["provenance"], "estimated", "{power}");
    assert_eq!(power["watts"], 450.0, "{power}");
}
