//! End-to-end tests of `mwbench merge` through the real binary, on copies
//! of the lavapipe result file made to look like a fleet's nodes.

use std::path::{Path, PathBuf};

use crate::common::{assert_one_line_error, fixture, json, run};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

/// The fixture as node `host`'s GPU at `bus`, its figures times `scale`.
fn node_file(dir: &Path, host: &str, bus: &str, scale: f64) -> PathBuf {
    let text = std::fs::read_to_string(fixture("results/lavapipe-tiny-100w.json")).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    file["machine"]["hostname"] = host.into();
    file["device"]["pci_bus_id"] = bus.into();
    for result in file["results"].as_array_mut().unwrap() {
        if let Some(v) = result["throughput"]["value"].as_f64() {
            result["throughput"]["value"] = (v * scale).into();
            for sample in result["samples"].as_array_mut().unwrap() {
                *sample = (sample.as_f64().unwrap() * scale).into();
            }
        }
    }
    let path = dir.join(format!("{host}-{}.json", bus.replace(':', "-")));
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    path
}

/// Nine nodes, one 20% slow, one whose sha256d failed its check; in nested
/// directories, with a merged file already among them.
#[test]
fn a_site_of_nodes_names_the_slow_gpu_and_lists_the_failed_one() {
    let dir = tempfile::tempdir().unwrap();
    let rack = dir.path().join("rack1");
    std::fs::create_dir(&rack).unwrap();
    for i in 0..8 {
        node_file(&rack, &format!("node{i}"), "0000:01:00.0", 1.0);
    }
    node_file(dir.path(), "node8", "0000:41:00.0", 0.8);
    let broken = node_file(dir.path(), "node9", "0000:81:00.0", 1.0);
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&broken).unwrap()).unwrap();
    let sha = &mut file["results"][0];
    assert_eq!(sha["workload"], "sha256d");
    sha["status"] = "failed".into();
    sha["verified"] = false.into();
    sha["throughput"]["value"] = Value::Null;
    sha["samples"] = Value::Array(vec![]);
    sha["efficiency"] = Value::Array(vec![]);
    sha["check"] = "nonce not found".into();
    std::fs::write(&broken, serde_json::to_string(&file).unwrap()).unwrap();
    let out = dir.path().join("site.json");
    let args = [
        "merge",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    let output = run(&args);
    output.clone().assert().success();
    let merged = json(&output);
    assert_eq!(merged["files"].as_array().unwrap().len(), 10);
    assert_eq!(merged["hosts"].as_array().unwrap().len(), 10);
    let group = |workload: &str| {
        merged["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["workload"] == workload)
            .unwrap_or_else(|| panic!("no {workload} group"))
            .clone()
    };
    let sha = group("sha256d");
    assert_eq!(sha["count"], 9, "the failed member is not counted");
    let median = sha["median"].as_f64().unwrap();
    let total = sha["total"].as_f64().unwrap();
    assert!(
        (total - median * 8.8).abs() < 1e-6 * total,
        "{total} {median}"
    );
    assert_eq!(sha["watts_total"], 900.0, "nine members at 100 W");
    let outliers = sha["outliers"].as_array().unwrap();
    assert_eq!(outliers.len(), 1, "{outliers:?}");
    assert_eq!(outliers[0]["host"], "node8");
    assert_eq!(outliers[0]["pci_bus_id"], "0000:41:00.0");
    assert!((outliers[0]["ratio"].as_f64().unwrap() - 0.8).abs() < 1e-9);
    let failed = sha["failed"].as_array().unwrap();
    assert_eq!(failed[0]["host"], "node9");
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(group("llm-decode")["count"], 10);
    // The file written is the JSON printed, and a second merge of the
    // folder skips it with a note.
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, merged);
    let again = run(&["merge", dir.path().to_str().unwrap()]);
    again.clone().assert().success();
    let table = String::from_utf8_lossy(&again.stdout);
    assert!(table.contains("10 result files from 10 hosts"), "{table}");
    assert!(
        table.contains("outlier: llvmpipe (LLVM 15.0.6, 256 bits) sha256d on node8 0000:41:00.0"),
        "{table}"
    );
    assert!(table.contains("failed: "), "{table}");
    assert!(table.contains("note: skipped "), "{table}");
}

/// Files of schema versions 1 to 4 merge (the sustained run's by its
/// steady figure); each device model is a group of its own.
#[test]
fn files_of_every_schema_version_merge() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let output = run(&[
        "merge",
        committed.to_str().unwrap(),
        fixture("results").to_str().unwrap(),
        "--json",
    ]);
    output.clone().assert().success();
    let merged = json(&output);
    let count = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    };
    assert_eq!(
        merged["files"].as_array().unwrap().len(),
        count(&committed) + count(&fixture("results"))
    );
    assert!(
        merged["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("steady figure")),
        "{merged}"
    );
    let devices: std::collections::BTreeSet<&str> = merged["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices.len(), 2, "{devices:?}");
}

#[test]
fn bad_inputs_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, "{\"name\": \"not a result\"}").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let good = fixture("results/lavapipe-tiny-100w.json");
    let good = good.to_str().unwrap();
    assert_one_line_error(
        &["merge", good, foreign.to_str().unwrap()],
        2,
        "foreign.json",
    );
    assert_one_line_error(&["merge", empty.to_str().unwrap()], 2, "no result files");
    assert_one_line_error(&["merge", "/nonexistent/dir"], 1, "cannot read");
    assert_one_line_error(
        &["merge", good, "--outlier-threshold", "150"],
        2,
        "percentage",
    );
    assert_one_line_error(
        &["merge", good, "--out", empty.to_str().unwrap()],
        1,
        "it is a directory",
    );
}

/// `value` prices a merged site file as it prices a node's: four equal
/// nodes earn per MWh what one does.
#[test]
fn value_prices_a_merged_site_as_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let one = node_file(dir.path(), "node0", "0000:01:00.0", 1.0);
    for i in 1..4 {
        node_file(dir.path(), &format!("node{i}"), "0000:01:00.0", 1.0);
    }
    let site = dir.path().join("site").with_extension("merged");
    run(&[
        "merge",
        dir.path().to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ])
    .assert()
    .success();
    let priced = |file: &Path| {
        let output = run(&[
            "value",
            file.to_str().unwrap(),
            "--power-price",
            "45",
            "--hashprice",
            "40",
            "--token-price-out",
            "0.2",
            "--json",
        ]);
        output.clone().assert().success();
        json(&output)["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().to_string(),
                    o["revenue_usd_per_mwh"].as_f64().unwrap(),
                    o["watts_provenance"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let node = priced(&one);
    let merged = priced(&site);
    assert_eq!(node.len(), merged.len(), "{node:?} {merged:?}");
    for ((kind, revenue, provenance), (merged_kind, merged_revenue, merged_provenance)) in
        node.iter().zip(&merged)
    {
        assert_eq!(kind, merged_kind);
        assert!((revenue - merged_revenue).abs() <= 1e-9 * revenue.abs().max(1.0));
        assert_eq!(
            provenance, merged_provenance,
            "the watts keep their source's kind"
        );
    }
}
