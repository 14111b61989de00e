//! End-to-end tests of input a hostile or careless user, file or sensor can
//! give, through the real binary: each is refused with one line and the
//! right exit code, or handled, and nothing is replaced that is not a
//! regular file.

use crate::common::{
    assert_one_line_error, copy_tree, fixture, json, lavapipe, mkfifo, mwbench, run, write_json,
};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

/// The genesis block's header.
const HEADER: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn quick_sha256d(out: &str) -> Vec<String> {
    [
        "run",
        "--quick",
        "--idle",
        "0",
        "--workloads",
        "sha256d",
        "--device",
        &lavapipe(),
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn args(owned: &[String]) -> Vec<&str> {
    owned.iter().map(String::as_str).collect()
}

/// As root, a rename over `/dev/null` made it a regular file for every
/// program on the machine.
#[cfg(unix)]
#[test]
fn devices_and_fifos_are_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let owned = quick_sha256d("/dev/null");
    run(&args(&owned)).assert().success();
    let null = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(null.is_char_device(), "/dev/null is still a device");

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("chart.svg");
    mkfifo(&fifo);
    let chart = fifo.to_str().unwrap();
    let value = [
        "value",
        "--power-price",
        "45",
        "--hashprice",
        "42",
        "--asic",
        "s21-pro",
        "--chart",
    ];
    let mut with_fifo = value.to_vec();
    with_fifo.push(chart);
    assert_one_line_error(&with_fifo, 1, "a FIFO that nothing reads");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A chart needs a format in its name: /dev/null through a link.
    let link = dir.path().join("null.svg");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let mut through_link = value.to_vec();
    through_link.push(link.to_str().unwrap());
    run(&through_link).assert().success();
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn numeric_flags_have_sane_ranges() {
    for duration in ["1e308", "2e19", "1e19", "86401", "inf", "NaN"] {
        assert_one_line_error(&["run", "--duration", duration], 2, "duration");
    }
    for watts in ["1e308", "0", "-1", "inf"] {
        assert_one_line_error(&["run", "--watts", watts], 2, "watts");
    }
    for timeout in ["0", "-1", "1e9", "0.0001"] {
        assert_one_line_error(&["run", "--kernel-timeout", timeout], 2, "kernel timeout");
    }
    assert_one_line_error(
        &[
            "value",
            "--power-price",
            "1e308",
            "--asic",
            "s21-pro",
            "--hashprice",
            "42",
        ],
        2,
        "--power-price must be greater than zero and at most",
    );
    assert_one_line_error(
        &[
            "value",
            "--power-price",
            "45",
            "--asic",
            "s21-pro",
            "--hashprice",
            "1e300",
        ],
        2,
        "--hashprice",
    );
}

/// Each reading a broken meter might print, and what mwbench makes of it.
#[test]
fn meter_readings_must_be_finite_positive_watts() {
    for (printed, said) in [
        ("-5", "outside"),
        ("1e400", "outside"),
        ("0", "outside"),
        ("0x10", "not a number of watts"),
        ("12 kW", "not watts"),
        ("2e6", "outside"),
    ] {
        let meter = format!("echo {printed}");
        assert_one_line_error(
            &[
                "run",
                "--quick",
                "--workloads",
                "sha256d",
                "--power-cmd",
                &meter,
            ],
            1,
            said,
        );
    }
    // A reading in scientific notation is read whole: 250 W, not 2.5 W.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut owned = quick_sha256d(out.to_str().unwrap());
    owned.extend(["--power-cmd".into(), "echo 2.5e2 W".into(), "--json".into()]);
    let output = run(&args(&owned));
    output.clone().assert().success();
    let watts = json(&output)["results"][0]["power"]["watts"]
        .as_f64()
        .unwrap();
    assert!((watts - 250.0).abs() < 1e-6, "{watts}");
}

fn committed_fixture() -> Value {
    let text = std::fs::read_to_string(fixture("results/lavapipe-tiny-100w.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Files that contradict themselves, or hold absurd figures, are refused
/// by every reader, naming the first thing wrong.
#[test]
fn result_files_that_contradict_themselves_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_json(dir.path(), "good.json", &committed_fixture());
    let good = good.to_str().unwrap();
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 8] = [
        (
            "not-median.json",
            |v| v["results"][0]["throughput"]["value"] = 1.0.into(),
            "not the median of its samples",
        ),
        (
            "negative.json",
            |v| v["results"][0]["samples"][0] = (-5.0).into(),
            "a sample of -5",
        ),
        (
            "twice.json",
            |v| {
                let first = v["results"][0].clone();
                v["results"].as_array_mut().unwrap().push(first);
            },
            "appears twice",
        ),
        (
            "unverified.json",
            |v| v["results"][0]["verified"] = false.into(),
            "status ok but verified false",
        ),
        (
            "absurd.json",
            |v| {
                v["results"][0]["samples"] = serde_json::json!([1e308, 1e308, 1e308]);
                v["results"][0]["throughput"]["value"] = 1e308.into();
            },
            "outside [1e0, 1e16] H/s",
        ),
        (
            "watts.json",
            |v| v["results"][0]["power"]["watts"] = 1e308.into(),
            "power: watts is 1e308",
        ),
        (
            "version-text.json",
            |v| v["schema_version"] = "2".into(),
            "schema_version must be a whole number",
        ),
        (
            "million.json",
            |v| {
                v["results"][0]["samples"] = vec![40.0; 1_000_000].into();
                v["results"][0]["throughput"]["value"] = 40.0.into();
            },
            "more than the 100000",
        ),
    ];
    for (name, edit, said) in cases {
        let mut value = committed_fixture();
        edit(&mut value);
        let path = write_json(dir.path(), name, &value);
        let path = path.to_str().unwrap();
        assert_one_line_error(&["compare", good, path], 2, said);
        assert_one_line_error(
            &[
                "value",
                path,
                "--power-price",
                "45",
                "--hashprice",
                "42",
                "--token-price",
                "0.2",
            ],
            2,
            said,
        );
    }
}

/// The most samples a file may hold compare in well under the time a
/// million did not finish in: the bootstrap resamples a thinned set.
#[test]
fn the_largest_files_allowed_compare() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = committed_fixture();
    let samples: Vec<f64> = (0..100_000).map(|i| 4.0e7 + (i % 1000) as f64).collect();
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    value["results"][0]["throughput"]["value"] = ((sorted[49_999] + sorted[50_000]) / 2.0).into();
    value["results"][0]["samples"] = samples.into();
    let big = write_json(dir.path(), "big.json", &value);
    let output = run(&[
        "compare",
        big.to_str().unwrap(),
        big.to_str().unwrap(),
        "--format",
        "json",
    ]);
    output.clone().assert().success();
    assert_eq!(json(&output)["rows"][0]["cells"][1]["ratio"], 1.0);
}

/// A target every nonce meets: the hits stream out, one line each, as
/// the scan finds them.
#[test]
fn mine_streams_every_hit_of_an_easy_target() {
    let output = run(&[
        "mine",
        "--header",
        HEADER,
        "--start",
        "0",
        "--count",
        "20000",
        "--target",
        &"f".repeat(64),
        "--json",
    ]);
    output.clone().assert().success();
    let value = json(&output);
    let found = value["found"].as_array().unwrap();
    assert_eq!(found.len(), 20_000);
    assert_eq!(value["hashes"], 20_000);
    let nonces: Vec<u64> = found.iter().map(|f| f["nonce"].as_u64().unwrap()).collect();
    assert!(nonces.windows(2).all(|w| w[0] < w[1]), "in nonce order");
    let text = run(&[
        "mine",
        "--header",
        HEADER,
        "--start",
        "0",
        "--count",
        "5000",
        "--target",
        &"f".repeat(64),
    ]);
    let lines = String::from_utf8_lossy(&text.stdout).lines().count();
    assert_eq!(lines, 5001, "a line per hit and the summary");
}

/// A RAPL zone whose range is below its counter turned wraps into
/// megawatts; messages name the file read, under MWBENCH_SYSFS_ROOT.
#[test]
fn an_invalid_rapl_range_is_refused_naming_the_file_read() {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&fixture("sysfs/rapl"), root.path());
    let zone = root.path().join("class/powercap/intel-rapl:0");
    std::fs::write(zone.join("max_energy_range_uj"), "5\n").unwrap();
    let output = mwbench(&[
        "run",
        "--quick",
        "--workloads",
        "sha256d",
        "--power",
        "rapl",
    ])
    .env("MWBENCH_SYSFS_ROOT", root.path())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = format!("{}/max_energy_range_uj holds 5", zone.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A library that is not one, or an empty setting, says what is wrong
/// instead of "no NVIDIA driver".
#[test]
fn a_bad_nvml_library_setting_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("libnvidia-ml.so.1");
    std::fs::write(&text, "not a library\n").unwrap();
    for (setting, said) in [
        (
            text.to_str().unwrap(),
            "cannot load NVML from MWBENCH_NVML_LIBRARY=",
        ),
        ("", "set but empty"),
    ] {
        let output = mwbench(&["devices", "--json"])
            .env("MWBENCH_NVML_LIBRARY", setting)
            .output()
            .unwrap();
        let adapters = json(&output);
        let nvml = adapters[0]["power_sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == "nvml")
            .unwrap()
            .clone();
        assert_eq!(nvml["available"], false);
        let detail = nvml["detail"].as_str().unwrap();
        assert!(detail.contains(said), "{setting:?}: {detail}");
        if !setting.is_empty() {
            // The loader's own reason.
            assert!(
                detail.contains("ELF") || detail.contains("too short"),
                "{detail}"
            );
        }
    }
}

#[test]
fn smaller_slips_get_one_clear_line() {
    let accented = format!("{}é{}", &HEADER[..100], &HEADER[101..]);
    assert_one_line_error(
        &[
            "mine", "--header", &accented, "--start", "0", "--count", "1",
        ],
        2,
        "character 101 is 'é'",
    );
    assert_one_line_error(
        &[
            "value",
            "--power-price",
            "45",
            "--asic",
            "s21-pro",
            "--hashprice",
            "42",
            "--sweep",
            "-10:100:5",
        ],
        2,
        "power prices must be greater than zero",
    );
    let output = run(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no command given; one of: devices, mine, run"),
        "{stderr}"
    );
}
