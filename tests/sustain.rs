//! `run --sustain`: a long run cut into intervals, with the adapter's
//! power, temperature, clocks and throttling per interval. The sensor side
//! runs through the NVML stand-in (`tests/nvml/fake_nvml.c`), whose GPU
//! throttles on heat a few seconds in: the series and the summary must
//! show it.

use crate::common::{assert_one_line_error, fake_nvml, json, lavapipe, lavapipe_adapter, mwbench};
use assert_cmd::assert::OutputAssertExt;

/// sha256d sustained for 12 s in 3 s intervals on lavapipe, its sensor an
/// emulated GPU at 300 W, 50 °C and 1980 MHz that is throttled (software
/// thermal and hardware slowdown) at 200 W, 87 °C and 1200 MHz from the
/// end of the first interval on (once its temperature has been read once),
/// however loaded the machine running the test is.
#[test]
fn a_thermal_throttle_shows_in_the_series_and_summary() {
    let name = lavapipe_adapter()["name"].as_str().unwrap().to_string();
    let (_dir, library) = fake_nvml(
        &[],
        &format!(
            "gpu name={name};watts=300;throttled_watts=200;temp_c=50;throttled_temp_c=87;\
             sm_mhz=1980;throttled_sm_mhz=1200;mem_mhz=2619;throttle_after_reads=1\n"
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sustained.json");
    let lavapipe = lavapipe();
    let output = mwbench(&[
        "run",
        "--workloads",
        "sha256d",
        "--sustain",
        "12",
        "--interval",
        "3",
        "--idle",
        "0",
        "--json",
        "--device",
        &lavapipe,
        "--out",
        out.to_str().unwrap(),
    ])
    .env("MWBENCH_NVML_LIBRARY", &library)
    .output()
    .unwrap();
    output.clone().assert().success();
    let file = json(&output);
    assert_eq!(file["settings"]["sustain_seconds"], 12.0);
    assert_eq!(file["settings"]["interval_seconds"], 3.0);
    let result = &file["results"][0];
    let series = result["series"].as_array().unwrap();
    assert!((3..=5).contains(&series.len()), "{series:?}");
    let first = &series[0];
    let last = series.last().unwrap();
    assert_eq!(first["temperature_c"], 50.0, "{first}");
    assert_eq!(first["sm_clock_mhz"], 1980.0, "{first}");
    assert!(first.get("throttle").is_none(), "{first}");
    assert_eq!(last["temperature_c"], 87.0, "{last}");
    assert_eq!(last["sm_clock_mhz"], 1200.0, "{last}");
    assert_eq!(last["memory_clock_mhz"], 2619.0, "{last}");
    assert_eq!(
        last["throttle"],
        serde_json::json!(["hw_slowdown", "sw_thermal"])
    );
    assert!(
        series.iter().any(|p| p["checked"] == true),
        "checked half-way: {series:?}"
    );
    let near = |v: &serde_json::Value, w: f64| (v.as_f64().unwrap() - w).abs() < 0.03 * w;
    assert!(near(&first["watts"], 300.0), "{first}");
    let summary = &result["sustained"];
    assert_eq!(
        summary["throttled"],
        serde_json::json!(["hw_slowdown", "sw_thermal"])
    );
    assert!(near(&summary["first"]["watts"], 300.0), "{summary}");
    assert!(near(&summary["steady"]["watts"], 200.0), "{summary}");
    // Per-watt figures are of the steady throughput at the steady watts.
    let steady = summary["steady"]["throughput"].as_f64().unwrap();
    let per_joule = result["efficiency"][0]["value"].as_f64().unwrap();
    let steady_watts = summary["steady"]["watts"].as_f64().unwrap();
    assert!((per_joule - steady / steady_watts).abs() < 1e-9 * per_joule);
    // The file reads back (through compare, which uses the steady figure).
    let compare = mwbench(&["compare", out.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    compare.clone().assert().success();
    let text = String::from_utf8_lossy(&compare.stdout);
    assert!(text.contains("steady"), "{text}");
}

#[test]
fn sustain_usage_errors() {
    for (args, said) in [
        (&["--sustain", "60", "--quick"][..], "--quick"),
        (&["--sustain", "60", "--duration", "5"][..], "--duration"),
        (&["--interval", "5"][..], "give --sustain"),
        (&["--sustain", "20", "--interval", "10"][..], "at least 3"),
        (
            &["--sustain", "30", "--interval", "0.5"][..],
            "at least 1 second",
        ),
        (&["--sustain", "100000"][..], "at most 21600"),
        (&["--sustain", "nan"][..], "sustain"),
    ] {
        let mut all = vec!["run", "--workloads", "sha256d"];
        all.extend_from_slice(args);
        assert_one_line_error(&all, 2, said);
    }
}
