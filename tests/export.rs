//! End-to-end tests of `mwbench export --format prometheus`, the output
//! checked by Prometheus's own `promtool` (Debian package `prometheus`;
//! the test fails, never skips, without it).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{assert_one_line_error, fixture, run};
use assert_cmd::assert::OutputAssertExt;

/// `promtool check metrics` on `text`: its complaints, empty when clean.
fn promtool(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus) checks the format");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every committed result file (schema versions 1 to 3, two adapters, one
/// with failed workloads) as one textfile, clean by promtool.
#[test]
fn committed_results_export_as_clean_prometheus_text() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mwbench.prom");
    run(&[
        "export",
        committed.to_str().unwrap(),
        fixture("results").to_str().unwrap(),
        "--format",
        "prometheus",
        "--out",
        out.to_str().unwrap(),
    ])
    .assert()
    .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(promtool(&text), "", "promtool is silent on a clean file");
    for metric in [
        "mwbench_throughput",
        "mwbench_watts",
        "mwbench_efficiency",
        "mwbench_verified",
        "mwbench_result_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {metric} gauge\n")),
            "{metric}"
        );
    }
    assert!(
        text.contains("device=\"NVIDIA H200\"") && text.contains("workload=\"sha256d\""),
        "{}",
        &text[..400]
    );
    // Only the .prom file: the temporary it was written through is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Without --out, the same text on stdout.
    let printed = run(&[
        "export",
        committed.to_str().unwrap(),
        fixture("results").to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), text);
}

#[test]
fn bad_inputs_are_one_line_each() {
    let good = fixture("results/lavapipe-tiny-100w.json");
    let good = good.to_str().unwrap();
    assert_one_line_error(
        &["export", good, "--format", "influx"],
        2,
        "invalid value 'influx'",
    );
    assert_one_line_error(&["export", "/nonexistent.json"], 1, "cannot read");
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("x.json");
    std::fs::write(&foreign, "[]").unwrap();
    assert_one_line_error(&["export", foreign.to_str().unwrap()], 2, "x.json");
}
