//! End-to-end tests of the real `mwbench` binary on the default adapter
//! (lavapipe on CI). Tests that need an adapter fail, never skip, without one.

use std::path::Path;

use crate::common::{assert_one_line_error, json, run};
use assert_cmd::assert::OutputAssertExt;
use mwbench::workloads::sha256d::{BLOCK_125552, GENESIS, Target};
use serde_json::Value;

#[test]
fn devices_lists_adapters_with_features_and_limits() {
    let output = run(&["devices", "--json"]);
    output.clone().assert().success();
    let adapters = json(&output);
    let adapters = adapters.as_array().expect("an array");
    assert!(
        !adapters.is_empty(),
        "wgpu found no adapter: apt-get install -y mesa-vulkan-drivers"
    );
    for key in [
        "index",
        "name",
        "vendor_id",
        "device_type",
        "backend",
        "driver",
        "pci_bus_id",
    ] {
        assert!(adapters[0].get(key).is_some(), "missing {key}");
    }
    assert!(adapters[0]["limits"]["max_storage_buffer_binding_size"].as_u64() > Some(0));
    assert!(adapters[0]["timestamp_queries"].is_boolean());
    let table = run(&["devices"]);
    table.clone().assert().success();
    assert!(String::from_utf8_lossy(&table.stdout).contains(adapters[0]["name"].as_str().unwrap()));
}

/// Scans a window around a real block's nonce, like a miner would, and
/// must find exactly that nonce with the block's published hash.
fn mine_finds(block: &mwbench::workloads::sha256d::KnownBlock) {
    let start = (block.nonce - 300_000).to_string();
    let output = run(&[
        "mine",
        "--header",
        block.header_hex,
        "--start",
        &start,
        "--count",
        "1000000",
        "--json",
    ]);
    output.clone().assert().success();
    let report = json(&output);
    assert_eq!(report["found"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["found"][0]["nonce"], block.nonce);
    assert_eq!(report["found"][0]["hash"], block.hash);
    assert_eq!(report["hashes"], 1_000_000);
    assert!(report["seconds"].as_f64() > Some(0.0));
    assert!(report["hash_rate"].as_f64() > Some(0.0));
}

#[test]
fn mine_finds_the_genesis_block() {
    mine_finds(&GENESIS);
}

#[test]
fn mine_finds_block_125552() {
    mine_finds(&BLOCK_125552);
}

#[test]
fn mine_prints_hashes_as_explorers_show_them() {
    let start = (GENESIS.nonce - 10).to_string();
    let output = run(&[
        "mine",
        "--header",
        GENESIS.header_hex,
        "--start",
        &start,
        "--count",
        "20",
    ]);
    output.clone().assert().success();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(&format!("nonce {}", GENESIS.nonce)), "{text}");
    assert!(text.contains(GENESIS.hash), "{text}");
    assert!(text.contains("1 found in 20 hashes"), "{text}");
}

#[test]
fn mine_with_an_easy_target_reports_every_hit_the_cpu_finds() {
    let header = GENESIS.header();
    let target_hex = format!("00ff{}", "f".repeat(60));
    let target = Target::from_hex(&target_hex).unwrap();
    let output = run(&[
        "mine",
        "--header",
        GENESIS.header_hex,
        "--start",
        "0",
        "--count",
        "30000",
        "--target",
        &target_hex,
        "--json",
    ]);
    output.clone().assert().success();
    let report = json(&output);
    let found: Vec<(u64, String)> = report["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["nonce"].as_u64().unwrap(),
                f["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = (0..30_000u32)
        .map(|n| (n, header.hash_with_nonce(n)))
        .filter(|(_, hash)| target.is_met_by(hash))
        .map(|(n, hash)| (u64::from(n), hash.to_string()))
        .collect();
    assert!(expected.len() > 50);
    assert_eq!(found, expected);
    // --bits gives the same answer as the equivalent --target.
    let bits = run(&[
        "mine",
        "--header",
        GENESIS.header_hex,
        "--start",
        "0",
        "--count",
        "30000",
        "--bits",
        "2000ffff",
        "--json",
    ]);
    assert_eq!(json(&bits)["found"], report["found"]);
}

#[test]
fn run_writes_a_verified_result_file_that_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let output = run(&[
        "run",
        "--workloads",
        "sha256d",
        "--quick",
        "--watts",
        "250",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    output.clone().assert().success();
    let printed = json(&output);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(printed, written);
    // What `run` writes is valid under the schema `mwbench schema` prints.
    let schema = json(&run(&["schema"]));
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&written)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let file = mwbench::results::ResultFile::from_json(&written.to_string()).unwrap();
    assert_eq!(file.schema_version, mwbench::results::SCHEMA_VERSION);
    assert!(file.created.ends_with('Z'));
    // A CPU adapter's memory is the host's, recorded for value's roof.
    let memory = file.device.memory.as_ref().expect("the device's memory");
    assert!(memory.bytes > 1 << 30 && memory.source.contains("/proc/meminfo"));
    let result = &file.results[0];
    assert_eq!(result.workload, "sha256d");
    assert!(result.verified);
    assert!(!result.samples.is_empty());
    assert!(result.throughput.value.unwrap() > 0.0);
    assert_eq!(written["results"][0]["throughput"]["unit"], "H/s");
    assert_eq!(written["results"][0]["power"]["provenance"], "user");
    assert_eq!(written["results"][0]["power"]["watts"], 250.0);
    let units: Vec<&str> = result.efficiency.iter().map(|f| f.unit.as_str()).collect();
    assert_eq!(units, ["H/J", "J/TH"]);
    // Nothing but the result file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `--tune on` probes every variant and records each probe's rate;
/// `--tune off` runs the family's default, unprobed, the same code every
/// time. A ceiling is probed either way.
#[test]
fn tuning_is_recorded_and_off_runs_the_default_variant() {
    let dir = tempfile::tempdir().unwrap();
    let result_of = |tune: &str| {
        let out = dir.path().join(format!("{tune}.json"));
        let args = [
            "run",
            "--workloads",
            "gemv-f16",
            "--quick",
            "--tune",
            tune,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ];
        let output = run(&args);
        output.clone().assert().success();
        json(&output)["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["workload"] == "gemv-f16")
            .unwrap()
            .clone()
    };
    let tuned = result_of("on");
    let tried = tuned["params"]["variants_tried"].as_array().unwrap();
    assert!(tried.len() > 1, "{tried:?}");
    assert!(
        tried.iter().all(|t| t["probe"].as_f64().unwrap() > 0.0),
        "{tried:?}"
    );
    assert!(tuned["params"]["tuning_seconds"].as_f64().unwrap() > 0.0);
    assert!(
        tried
            .iter()
            .any(|t| t["variant"] == tuned["params"]["variant"])
    );

    let default = result_of("off");
    assert_eq!(default["params"]["tuning"], "off");
    let tried = default["params"]["variants_tried"].as_array().unwrap();
    assert_eq!(default["params"]["variant"], tried[0]["variant"]);
    assert!(tried.iter().all(|t| t["probe"].is_null()), "{tried:?}");
    assert_eq!(default["verified"], true);
    assert_one_line_error(&["run", "--tune", "fast"], 2, "expected on or off");
}

#[test]
fn run_prints_a_table_and_records_no_power_without_watts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    // One workload of each family and both ceilings (the library's
    // every_workload_verifies_on_the_default_adapter runs every one; all
    // of them again through a debug binary took over 15 minutes of CI on a
    // slow host). The LLM one on the tiny preset.
    let output = run(&[
        "run",
        "--quick",
        "--workloads",
        "sha256d,gemv-f16,rmsnorm,attention-decode,llm-decode",
        "--preset",
        "tiny",
        "--out",
        out.to_str().unwrap(),
    ]);
    output.clone().assert().success();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("sha256d") && table.contains("verified"),
        "{table}"
    );
    assert!(table.contains("H/s"), "{table}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["results"][0]["power"]["provenance"], "none");
    assert_eq!(written["results"][0]["power"]["watts"], Value::Null);
    // The file is named last, after the table.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .trim_end()
            .ends_with(&format!("wrote {}", out.display())),
        "{stderr}"
    );
}

#[test]
fn run_prints_csv_markdown_and_json_of_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let args = |format: &str| {
        vec![
            "run".to_string(),
            "--quick".into(),
            "--idle".into(),
            "0".into(),
            "--workloads".into(),
            "sha256d".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--format".into(),
            format.into(),
        ]
    };
    let call = |format: &str| {
        let args = args(format);
        let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        output.clone().assert().success();
        output
    };
    let csv = String::from_utf8(call("csv").stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("device,workload,shape,status,unit,median,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",sha256d,,verified,H/s,"), "{csv}");
    let markdown = String::from_utf8(call("markdown").stdout).unwrap();
    assert!(markdown.contains("\n| workload | status |"), "{markdown}");
    assert!(markdown.contains("| sha256d | verified |"), "{markdown}");
    // --json is --format json: the result file as written.
    let json_output = call("json");
    let printed = json(&json_output);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(printed, written);
}

#[test]
fn run_list_shows_every_workload_and_runs_nothing() {
    let output = run(&["run", "--list", "--json"]);
    output.clone().assert().success();
    let listed = json(&output);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..3], ["sha256d", "peak-fma-f32", "copy-bandwidth"]);
    assert!(names.contains(&"llm-decode"), "{names:?}");
    let gemm = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "gemm-f32")
        .unwrap();
    assert_eq!(gemm["unit"], "GFLOP/s");
    assert!(gemm["shapes"].as_array().unwrap().len() >= 2);
    let table = run(&["run", "--list"]);
    table.clone().assert().success();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("what it measures") && text.contains("gemv-q4"),
        "{text}"
    );
}

#[test]
fn formats_that_do_not_fit_are_usage_errors() {
    for (args, said) in [
        (&["devices", "--format", "csv"][..], "not devices"),
        (&["run", "--list", "--format", "csv"][..], "not run --list"),
        (
            &["devices", "--json", "--format", "table"][..],
            "cannot be used with",
        ),
        (
            &["devices", "--format", "yaml"][..],
            "'yaml' is not table, json, markdown or csv",
        ),
    ] {
        assert_one_line_error(args, 2, said);
    }
}

#[test]
fn llm_workloads_report_tokens_per_second_for_the_preset_and_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let output = run(&[
        "run",
        "--workloads",
        "llm-decode,llm-prefill",
        "--preset",
        "tiny",
        "--weights",
        "q4",
        "--batch",
        "1,3",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    output.clone().assert().success();
    let file = json(&output);
    let results = file["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{file}");
    let expected = [
        ("llm-decode", "tiny q4 context 100 batch 1", 1, "output"),
        ("llm-decode", "tiny q4 context 100 batch 3", 3, "output"),
        ("llm-prefill", "tiny q4", 1, "prompt"),
    ];
    for (result, (name, shape, batch, tokens)) in results.iter().zip(expected) {
        assert_eq!(result["workload"], name);
        assert_eq!(result["params"]["shape"], shape);
        assert_eq!(result["verified"], true);
        assert_eq!(result["throughput"]["unit"], "tokens/s");
        assert_eq!(result["params"]["preset"], "tiny");
        assert_eq!(result["params"]["weights"], "q4");
        assert_eq!(result["params"]["batch"], batch);
        assert_eq!(result["params"]["tokens"], tokens);
        assert_eq!(result["params"]["layers_run"], 2);
        assert!(result["params"]["context"].as_u64().unwrap() > 0);
    }
    // Decode: its sequences spread around the context, and the latency
    // each user sees is one step of the batch.
    let batch_of_3 = &results[1];
    assert_eq!(batch_of_3["params"]["context_min"], 75);
    assert_eq!(batch_of_3["params"]["context_max"], 125);
    let rate = batch_of_3["throughput"]["value"].as_f64().unwrap();
    let latency = batch_of_3["also"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["unit"] == "ms/token")
        .expect("ms/token among the figures");
    let ms = latency["value"].as_f64().unwrap();
    assert!(
        (ms - 3000.0 / rate).abs() < 1e-6 * ms,
        "{ms} ms at {rate} tokens/s"
    );
}

/// A batch whose weights and caches cannot fit is unsupported, naming
/// the bytes, and nothing is allocated; `--batch max` finds one that fits;
/// a bad list is a usage error.
#[test]
fn batches_that_do_not_fit_are_refused_and_max_finds_one_that_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let run_decode = |extra: &[&str]| {
        let mut args = vec!["run", "--workloads", "llm-decode", "--quick", "--json"];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let output = run(&args);
        output.clone().assert().success();
        json(&output)
    };
    // Llama 3 70B in f16 at 131072 tokens: 141 GB of weights and more of
    // caches, beyond this machine's memory.
    let file = run_decode(&[
        "--preset",
        "llama3-70b",
        "--batch",
        "2",
        "--context",
        "131072",
    ]);
    let refused = &file["results"][0];
    assert_eq!(refused["status"], "unsupported", "{file}");
    let reason = refused["check"].as_str().unwrap();
    assert!(reason.contains("bytes"), "{reason}");
    assert_eq!(refused["throughput"]["value"], serde_json::Value::Null);

    let file = run_decode(&["--preset", "tiny", "--batch", "max", "--context", "4096"]);
    let largest = &file["results"][0];
    assert_eq!(
        largest["params"]["shape"],
        "tiny f16 context 4096 batch max"
    );
    assert_eq!(largest["verified"], true, "{file}");
    assert!(
        largest["params"]["batch"].as_u64().unwrap() > 1,
        "{largest}"
    );

    for bad in ["0", "1,x", ""] {
        assert_one_line_error(&["run", "--batch", bad], 2, "--batch");
    }
    assert_one_line_error(&["run", "--context", "0"], 2, "--context");
}

const HEADER: &str = GENESIS.header_hex;

#[test]
fn malformed_headers_are_usage_errors() {
    assert_one_line_error(
        &["mine", "--header", "abcd", "--start", "0", "--count", "1"],
        2,
        "160 hex",
    );
    let not_hex = "zz".repeat(80);
    assert_one_line_error(
        &["mine", "--header", &not_hex, "--start", "0", "--count", "1"],
        2,
        "not hex",
    );
}

#[test]
fn bad_bits_and_targets_are_usage_errors() {
    let mine = |flag: &str, value: &str| {
        vec![
            "mine", "--header", HEADER, "--start", "0", "--count", "1", flag, value,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    for (flag, value, mention) in [
        ("--bits", "1d00ff", "8 hex"),
        ("--bits", "1d80ffff", "negative"),
        ("--bits", "1d000000", "zero"),
        ("--target", "ff", "64 hex"),
        ("--target", &"0".repeat(64), "zero"),
    ] {
        let args = mine(flag, value);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_one_line_error(&args, 2, mention);
    }
}

#[test]
fn nonce_ranges_past_u32_and_zero_counts_are_usage_errors() {
    assert_one_line_error(
        &[
            "mine",
            "--header",
            HEADER,
            "--start",
            "4294967295",
            "--count",
            "2",
        ],
        2,
        "within",
    );
    assert_one_line_error(
        &["mine", "--header", HEADER, "--start", "0", "--count", "0"],
        2,
        "at least 1",
    );
    assert_one_line_error(
        &[
            "mine",
            "--header",
            HEADER,
            "--start",
            "4294967296",
            "--count",
            "1",
        ],
        2,
        "--start",
    );
    assert_one_line_error(
        &["mine", "--header", HEADER, "--start", "-1", "--count", "1"],
        2,
        "--start",
    );
}

#[test]
fn unknown_workloads_adapters_and_subcommands_are_usage_errors() {
    assert_one_line_error(
        &["run", "--workloads", "sha256d,bogus"],
        2,
        "unknown workload 'bogus'",
    );
    assert_one_line_error(
        &["run", "--device", "no-such-gpu-anywhere", "--quick"],
        2,
        "adapters: 0:",
    );
    assert_one_line_error(
        &[
            "mine", "--header", HEADER, "--start", "0", "--count", "1", "--device", "99",
        ],
        2,
        "no adapter matches",
    );
    assert_one_line_error(&["frobnicate"], 2, "frobnicate");
    assert_one_line_error(
        &["run", "--preset", "llama2-7b", "--quick"],
        2,
        "unknown preset 'llama2-7b'",
    );
    assert_one_line_error(
        &["run", "--weights", "q5", "--quick"],
        2,
        "unknown weight format 'q5'",
    );
}

#[test]
fn zero_and_negative_durations_and_watts_are_usage_errors() {
    assert_one_line_error(&["run", "--duration", "0"], 2, "greater than zero");
    assert_one_line_error(&["run", "--duration", "-5"], 2, "greater than zero");
    assert_one_line_error(&["run", "--duration", "soon"], 2, "number");
    assert_one_line_error(&["run", "--watts", "-100"], 2, "greater than zero");
}

#[test]
fn unwritable_output_fails_before_running_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/r.json");
    assert_one_line_error(
        &["run", "--quick", "--out", missing.to_str().unwrap()],
        1,
        "cannot write",
    );
    assert_one_line_error(
        &["run", "--quick", "--out", dir.path().to_str().unwrap()],
        1,
        "directory",
    );
    assert!(!Path::new(&missing).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn help_and_version_succeed() {
    run(&["--help"]).assert().success();
    run(&["--version"]).assert().success();
    let help = run(&["run", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--workloads",
        "--device",
        "--duration",
        "--quick",
        "--watts",
        "--out",
        "--json",
    ] {
        assert!(text.contains(flag), "run --help lacks {flag}");
    }
}

/// A GFLOP/s kernel brings both compute ceilings (either may be its roof).
/// Mesa 22.3 has no cooperative matrices: `peak-mma-f16` is listed as
/// unsupported, saying why, and `gemm-f16`, on its portable path, is read
/// against `peak-fma-f32` as before.
#[test]
fn a_gflops_kernel_runs_with_both_compute_ceilings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let output = run(&[
        "run",
        "--quick",
        "--idle",
        "0",
        "--workloads",
        "gemm-f16",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    output.clone().assert().success();
    let written = json(&output);
    let results = written["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["peak-fma-f32", "peak-mma-f16", "gemm-f16"]);
    let mma = &results[1];
    assert_eq!(mma["status"], "unsupported", "{mma}");
    assert!(mma.to_string().contains("cooperative matrices"), "{mma}");
    let gemm = &results[2];
    assert_ne!(gemm["params"]["path"], "cooperative-matrix");
    assert_eq!(gemm["ceiling"]["workload"], "peak-fma-f32", "{gemm}");
}
