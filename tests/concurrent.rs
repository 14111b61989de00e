//! `run --device all --concurrent` on lavapipe's two adapters (Vulkan and
//! GL): both run each workload at the same time, each writes its own
//! file, and a host-wide meter's reading is the node's, the same in both.

use crate::common::{fixture, run};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

#[test]
fn two_adapters_at_once_share_the_node_meter() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("node.json");
    let meter = format!("{} 245", fixture("meter.sh").display());
    let output = run(&[
        "run",
        "--quick",
        "--workloads",
        "sha256d",
        "--device",
        "all",
        "--concurrent",
        "--power-cmd",
        &meter,
        "--idle",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    output.clone().assert().success();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the node's draw while all ran"), "{stderr}");
    let files: Vec<Value> = (0..2)
        .map(|index| {
            let path = dir.path().join(format!("node.{index}.json"));
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        })
        .collect();
    let backends: Vec<&str> = files
        .iter()
        .map(|f| f["device"]["backend"].as_str().unwrap())
        .collect();
    assert_eq!(backends, ["vulkan", "gl"], "lavapipe's two adapters");
    for file in &files {
        let result = &file["results"][0];
        assert_eq!(result["status"], "ok", "{result}");
        assert_eq!(result["verified"], true);
        assert_eq!(result["concurrent_with"], 1, "one adapter beside it");
        assert_eq!(result["power"]["shared"], true);
    }
    // The node's reading, once, in both files; each per-watt figure from
    // its own rate over it.
    assert_eq!(
        files[0]["results"][0]["power"],
        files[1]["results"][0]["power"]
    );
    for file in &files {
        let result = &file["results"][0];
        let rate = result["throughput"]["value"].as_f64().unwrap();
        let watts = result["power"]["watts"].as_f64().unwrap();
        let per_joule = result["efficiency"][0]["value"].as_f64().unwrap();
        assert!((per_joule - rate / watts).abs() <= 1e-9 * per_joule);
    }
}
