//! End-to-end tests of `mwbench compare` through the real binary: pairs
//! of result files with known answers, the regression gate's exit codes,
//! and every kind of bad input.

use std::path::{Path, PathBuf};

use crate::common::{assert_one_line_error, json, run};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(name)
}

/// `n` samples evenly spread over `center` +- `spread` (a fraction).
fn spread(center: f64, spread: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 - spread + 2.0 * spread * i as f64 / (n - 1) as f64))
        .collect()
}

/// The committed lavapipe sha256d file with its samples replaced, written
/// to `dir/name`; `drop_workload` leaves its only result out.
fn with_samples(dir: &Path, name: &str, samples: &[f64], drop_workload: bool) -> String {
    let text = std::fs::read_to_string(committed("llvmpipe-vulkan-2026-11-25.json")).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    // The median as result files define it (read back, a file whose value
    // is not its samples' median is refused).
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let result = &mut file["results"][0];
    result["samples"] = samples.to_vec().into();
    result["throughput"]["value"] = median.into();
    if drop_workload {
        file["results"] = Value::Array(Vec::new());
    }
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn compare_json(base: &str, other: &str) -> Value {
    let output = run(&["compare", base, other, "--format", "json"]);
    output.clone().assert().success();
    json(&output)
}

#[test]
fn a_file_compared_with_itself_never_regresses() {
    for name in [
        "llvmpipe-vulkan-2026-11-25.json",
        "llvmpipe-vulkan-2026-11-25-ai.json",
        "llvmpipe-vulkan-2026-11-25-llama3-8b-q4.json",
    ] {
        let path = committed(name);
        let path = path.to_str().unwrap();
        let output = run(&["compare", path, path, "--fail-on-regression"]);
        output.clone().assert().success();
        let value = compare_json(path, path);
        assert_eq!(value["regressions"], Value::Array(vec![]), "{name}");
        for row in value["rows"].as_array().unwrap() {
            let verdict = &row["cells"][1]["verdict"];
            assert!(
                ["same", "failed", "unsupported"].contains(&verdict.as_str().unwrap()),
                "{name}: {row}"
            );
        }
    }
}

#[test]
fn a_tight_20_percent_slowdown_fails_the_gate_with_its_ratio_and_interval() {
    let dir = tempfile::tempdir().unwrap();
    let base = with_samples(dir.path(), "base.json", &spread(44e6, 0.01, 12), false);
    let slow = with_samples(dir.path(), "slow.json", &spread(35.2e6, 0.01, 12), false);
    let value = compare_json(&base, &slow);
    let cell = &value["rows"][0]["cells"][1];
    assert_eq!(cell["verdict"], "regression");
    assert!((cell["ratio"].as_f64().unwrap() - 0.8).abs() < 1e-9);
    assert!(cell["interval"][1].as_f64().unwrap() < 1.0);
    assert_eq!(value["regressions"][0]["workload"], "sha256d");
    // Reported, exit 0, without the gate; exit 1 with it.
    let table = run(&["compare", &base, &slow]);
    table.clone().assert().success();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("regression: sha256d"), "{text}");
    assert_one_line_error(
        &["compare", &base, &slow, "--fail-on-regression"],
        1,
        "1 regression: sha256d on llvmpipe",
    );
    let gated = run(&[
        "compare",
        &base,
        &slow,
        "--fail-on-regression",
        "--format",
        "markdown",
    ]);
    let markdown = String::from_utf8_lossy(&gated.stdout);
    assert!(markdown.starts_with("compared with "), "{markdown}");
    assert!(markdown.contains("\n| workload |"), "{markdown}");
    assert!(markdown.contains("**REGRESSION**"), "{markdown}");
    // Faster is never a regression.
    run(&["compare", &slow, &base, "--fail-on-regression"])
        .assert()
        .success();
}

#[test]
fn a_wide_3_percent_wiggle_passes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let base = with_samples(dir.path(), "base.json", &spread(44e6, 0.15, 10), false);
    let other = with_samples(dir.path(), "other.json", &spread(42.7e6, 0.15, 10), false);
    run(&["compare", &base, &other, "--fail-on-regression"])
        .assert()
        .success();
    assert_eq!(
        compare_json(&base, &other)["rows"][0]["cells"][1]["verdict"],
        "same"
    );
}

#[test]
fn a_workload_on_one_side_only_is_listed_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let base = with_samples(dir.path(), "base.json", &spread(44e6, 0.01, 5), false);
    let empty = with_samples(dir.path(), "empty.json", &[1.0, 2.0, 3.0], true);
    let value = compare_json(&base, &empty);
    assert_eq!(value["rows"][0]["cells"][1]["verdict"], "missing");
    let value = compare_json(&empty, &base);
    assert_eq!(value["rows"][0]["cells"][0]["verdict"], "missing");
    assert_eq!(value["rows"][0]["cells"][1]["verdict"], "no-base");
    run(&["compare", &base, &empty, "--fail-on-regression"])
        .assert()
        .success();
}

#[test]
fn files_of_different_schema_versions_compare() {
    // The committed files are version 1; the fixture is version 2.
    let old = committed("llvmpipe-vulkan-2026-11-25.json");
    let new = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/results/lavapipe-tiny-100w.json");
    let value = compare_json(old.to_str().unwrap(), new.to_str().unwrap());
    assert_eq!(value["files"][0]["schema_version"], 1);
    assert_eq!(value["files"][1]["schema_version"], 2);
    assert_eq!(value["rows"][0]["workload"], "sha256d");
    assert!(value["rows"][0]["cells"][1]["ratio"].is_f64());
}

#[test]
fn bad_inputs_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let good = committed("llvmpipe-vulkan-2026-11-25.json");
    let good = good.to_str().unwrap();
    let text = std::fs::read_to_string(good).unwrap();
    let write = |name: &str, contents: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    };
    let newer = write(
        "newer.json",
        &text.replacen("\"schema_version\": 1", "\"schema_version\": 7", 1),
    );
    let truncated = write("truncated.json", &text[..text.len() / 3]);
    let not_json = write("notes.txt", "sha256d was fast today\n");
    let foreign = write(
        "package.json",
        "{\"name\": \"left-pad\", \"version\": \"1.3.0\"}",
    );
    let large = dir.path().join("large.json");
    std::fs::File::create(&large)
        .unwrap()
        .set_len(mwbench::results::MAX_FILE_BYTES + 1)
        .unwrap();
    let large = large.to_string_lossy().into_owned();
    let missing = dir
        .path()
        .join("missing.json")
        .to_string_lossy()
        .into_owned();
    let cases: [(&[&str], i32, &str); 9] = [
        (
            &["compare", good, &newer],
            2,
            "newer than this mwbench reads",
        ),
        (&["compare", good, &truncated], 2, "not JSON"),
        (&["compare", good, &not_json], 2, "not JSON"),
        (
            &["compare", good, &foreign],
            2,
            "not an mwbench result file",
        ),
        (&["compare", good, &large], 2, "over the 64 MiB"),
        (&["compare", good, &missing], 1, "cannot read"),
        (&["compare", good], 2, "required"),
        (
            &["compare", good, good, "--threshold", "-1"],
            2,
            "threshold",
        ),
        (
            &["compare", good, good, "--format", "xml"],
            2,
            "'xml' is not table, json, markdown or csv",
        ),
    ];
    for (args, code, said) in cases {
        assert_one_line_error(args, code, said);
    }
}

#[test]
fn schema_prints_the_json_schema_of_result_files() {
    let output = run(&["schema"]);
    output.clone().assert().success();
    let schema = json(&output);
    assert_eq!(schema["title"], "ResultFile");
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"results".into())
    );
}

/// One CSV record per workload and file, with the verdict as JSON names it.
#[test]
fn csv_has_a_record_per_workload_and_file() {
    let base = committed("llvmpipe-vulkan-2026-11-25.json");
    let base = base.to_str().unwrap();
    let output = run(&["compare", base, base, "--format", "csv"]);
    output.clone().assert().success();
    let csv = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("workload,shape,unit,file,path,verdict,"),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",0,") && l.contains(",base,")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",1,") && l.contains(",same,")),
        "{csv}"
    );
}
