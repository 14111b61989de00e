//! End-to-end tests of `mwbench meter`: hashcat for real (Debian's
//! hashcat on PoCL's CPU OpenCL), vLLM and llama-bench through commands
//! that write their real output formats (fixtures under
//! `tests/fixtures/external/`), power from a fake external meter and from
//! NVML's stand-in, signals passed on, and every way a command can fail.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{
    assert_one_line_error, fake_nvml, fixture, json, lavapipe, lavapipe_adapter, mwbench, run,
};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

/// `tests/fixtures/meter.sh WATTS` as `--power-cmd`: an external meter.
fn power_cmd(watts: u32) -> String {
    format!("sh {} {watts}", fixture("meter.sh").display())
}

/// `meter` on lavapipe with the fake meter at 300 W, writing `out`;
/// `extra` are its own flags, `command` what it runs.
fn meter(out: &Path, extra: &[&str], command: &[&str]) -> std::process::Output {
    let lavapipe = lavapipe();
    let meter = power_cmd(300);
    let mut args = vec![
        "meter",
        "--device",
        &lavapipe,
        "--power-cmd",
        &meter,
        "--idle",
        "0",
        "--power-interval-ms",
        "200",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    run(&args)
}

fn read(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// The one result every test here reads, checked to be labelled as an
/// outside figure.
fn external(file: &Value, index: usize) -> &Value {
    let result = &file["results"][index];
    assert_eq!(result["workload"], "external", "{result}");
    assert_eq!(result["status"], "external", "{result}");
    assert_eq!(result["verified"], false, "{result}");
    assert!(
        result["check"]
            .as_str()
            .unwrap()
            .contains("not checked by mwbench"),
        "{result}"
    );
    result
}

/// hashcat's own benchmark of double SHA-256, run for real: its H/s,
/// with the watts of the external meter, priced by `value` as mining
/// with its origin said.
#[test]
fn hashcat_is_metered_for_real_and_valued_as_mining() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hashcat.json");
    let output = meter(
        &out,
        &["--parse", "hashcat"],
        &[
            "hashcat",
            "-b",
            "-m",
            "21400",
            "--machine-readable",
            "--quiet",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "hashcat (apt-get install -y hashcat pocl-opencl-icd): {stderr}"
    );
    let file = read(&out);
    assert_eq!(json(&output), file, "stdout is the file written");
    assert_eq!(file["schema_version"], mwbench::results::SCHEMA_VERSION);
    let result = external(&file, 0);
    assert_eq!(result["params"]["shape"], "hashcat -m 21400");
    assert_eq!(result["throughput"]["unit"], "H/s");
    assert!(
        result["throughput"]["value"].as_f64().unwrap() > 1e5,
        "{result}"
    );
    assert_eq!(
        result["params"]["command"],
        serde_json::json!([
            "hashcat",
            "-b",
            "-m",
            "21400",
            "--machine-readable",
            "--quiet"
        ])
    );
    assert_eq!(result["params"]["exit_code"], 0);
    let power = &result["power"];
    assert_eq!(power["provenance"], "external", "{power}");
    assert!(
        (power["watts"].as_f64().unwrap() - 300.0).abs() < 1e-6,
        "{power}"
    );
    assert!(power["energy_j"].as_f64().unwrap() > 0.0, "{power}");
    // hashcat printed its benchmark line; mwbench passed it on.
    assert!(stderr.contains(":21400:"), "{stderr}");

    let value = run(&[
        "value",
        out.to_str().unwrap(),
        "--power-price",
        "45",
        "--hashprice",
        "42",
        "--json",
    ]);
    value.clone().assert().success();
    let value = json(&value);
    let option = &value["options"][0];
    assert_eq!(option["kind"], "mining", "{option}");
    assert!(
        option["name"]
            .as_str()
            .unwrap()
            .starts_with("external hashcat -m 21400")
    );
    assert!(
        option["caveat"].as_str().unwrap().starts_with(
            "an outside command's figure, not checked by mwbench (its file says: reported \
                 by hashcat"
        ),
        "{option}"
    );

    // Another mode's hashes (MD5, -m 0) earn no hashprice.
    let md5 = dir.path().join("md5.json");
    let line = dir.path().join("md5.txt");
    std::fs::write(&line, "1:0:1755:1593:24.10:50000000000\n").unwrap();
    meter(
        &md5,
        &["--parse", "hashcat"],
        &["cat", line.to_str().unwrap()],
    )
    .assert()
    .success();
    let value = json(&run(&[
        "value",
        md5.to_str().unwrap(),
        "--power-price",
        "45",
        "--hashprice",
        "42",
        "--json",
    ]));
    let reason = value["unpriceable"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("not bitcoin's double SHA-256"), "{value}");
}

/// vLLM's result file, written by the command: output tokens over the
/// metered seconds, vLLM's own figures kept, its median TPOT held against
/// the latency a customer accepts.
#[test]
fn a_vllm_result_file_is_priced_by_its_time_per_output_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vllm.json");
    let written = dir.path().join("bench.json");
    // vLLM's run took 1.61 s: the command runs at least that long.
    let copy = format!(
        "sleep 1.7; cp {} {}",
        fixture("external/vllm-bench-serve.json").display(),
        written.display()
    );
    let parse = format!("vllm={}", written.display());
    let output = meter(&out, &["--parse", &parse], &["sh", "-c", &copy]);
    output.clone().assert().success();
    let file = read(&out);
    let result = external(&file, 0);
    let params = &result["params"];
    assert_eq!(
        params["shape"],
        "vllm bench serve meta-llama/Llama-3.1-8B-Instruct concurrency 64"
    );
    assert_eq!(params["total_output_tokens"], 492.0);
    assert_eq!(params["max_concurrency"], 64.0);
    for key in [
        "total_input_tokens",
        "completed",
        "mean_tpot_ms",
        "median_tpot_ms",
        "p99_tpot_ms",
        "median_ttft_ms",
        "p99_ttft_ms",
        "reported_output_tokens_per_s",
    ] {
        assert!(params[key].is_f64(), "{key}: {params}");
    }
    // 492 tokens over the metered seconds (at least the half second).
    let rate = result["throughput"]["value"].as_f64().unwrap();
    let seconds = params["wall_seconds"].as_f64().unwrap();
    assert!(
        seconds >= 0.5 && (rate * seconds - 492.0).abs() < 1e-6,
        "{result}"
    );

    let value = |latency: &str| {
        json(&run(&[
            "value",
            out.to_str().unwrap(),
            "--power-price",
            "45",
            "--token-price-out",
            "0.2",
            "--max-token-latency-ms",
            latency,
            "--json",
        ]))
    };
    let priced = value("100");
    assert_eq!(priced["options"][0]["kind"], "ai", "{priced}");
    // Its median TPOT is 7.2 ms: over a 5 ms limit it is not priced.
    let strict = value("5");
    assert!(strict["options"].as_array().unwrap().is_empty(), "{strict}");
    let reason = strict["unpriceable"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("7 ms") && reason.contains("--max-token-latency-ms 5"),
        "{reason}"
    );

    // A file whose run took longer than the command ran is not its own.
    let quick = dir.path().join("quick.json");
    let fresh = dir.path().join("fresh.json");
    let copy = format!(
        "cp {} {}",
        fixture("external/vllm-bench-serve.json").display(),
        fresh.display()
    );
    let parse_fresh = format!("vllm={}", fresh.display());
    let output = meter(&quick, &["--parse", &parse_fresh], &["sh", "-c", &copy]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("longer than the command ran"), "{stderr}");

    // The same file again: the command wrote nothing new.
    let again = dir.path().join("again.json");
    let output = meter(&again, &["--parse", &parse], &["true"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unchanged since before the command ran"),
        "{stderr}"
    );
    assert_eq!(read(&again)["results"][0]["status"], "failed");
}

/// llama-bench's JSON on stdout: prompt processing and generation apart,
/// each with its repetitions as samples; every reader labels them.
#[test]
fn llama_bench_rows_are_read_and_every_reader_labels_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llama.json");
    let listing = fixture("external/llama-bench.json");
    let output = meter(
        &out,
        &["--parse", "llama-bench"],
        &["cat", listing.to_str().unwrap()],
    );
    output.clone().assert().success();
    let file = read(&out);
    let pp = external(&file, 0);
    let tg = external(&file, 1);
    assert_eq!(pp["params"]["tokens"], "prompt");
    assert_eq!(tg["params"]["tokens"], "output");
    assert_eq!(tg["throughput"]["value"], 104.797097);
    assert_eq!(tg["samples"].as_array().unwrap().len(), 5);

    let path = out.to_str().unwrap();
    let table = String::from_utf8(run(&["compare", path, path]).stdout).unwrap();
    assert!(table.contains("external: not checked"), "{table}");
    let merged = String::from_utf8(run(&["merge", path]).stdout).unwrap();
    assert!(merged.contains("not checked"), "{merged}");
    let exported = String::from_utf8(run(&["export", path]).stdout).unwrap();
    assert!(
        exported.contains("mwbench_external_throughput{"),
        "{exported}"
    );
    assert!(!exported.contains("mwbench_throughput{"), "{exported}");
}

/// A fixed count of work over the wall time, with NVML's stand-in
/// measuring the adapter's energy.
#[test]
fn a_count_of_work_with_nvml_energy() {
    let name = lavapipe_adapter()["name"].as_str().unwrap().to_string();
    let (_nvml, library) = fake_nvml(&[], &format!("gpu name={name};watts=250;energy=counter\n"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("count.json");
    let lavapipe = lavapipe();
    let output = mwbench(&[
        "meter",
        "--device",
        &lavapipe,
        "--parse",
        "count=1e6 tokens",
        "--idle",
        "0",
        "--json",
        "--out",
        out.to_str().unwrap(),
        "--",
        "sleep",
        "1.5",
    ])
    .env("MWBENCH_NVML_LIBRARY", library)
    .output()
    .unwrap();
    output.clone().assert().success();
    let result = external(&read(&out), 0).clone();
    let power = &result["power"];
    assert_eq!(power["provenance"], "sensor", "{power}");
    assert!(
        power["source"].as_str().unwrap().starts_with("nvml: "),
        "{power}"
    );
    let watts = power["watts"].as_f64().unwrap();
    assert!((watts - 250.0).abs() < 10.0, "{power}");
    let rate = result["throughput"]["value"].as_f64().unwrap();
    assert!(
        (5e5..7e5).contains(&rate),
        "1e6 tokens over about 1.5 s: {rate}"
    );
    assert_eq!(result["params"]["shape"], "count 1000000 tokens");
}

/// SIGTERM to mwbench (a scheduler's time limit) and SIGHUP (a dropped
/// ssh session) reach the command's whole process group; the file is
/// written, marked interrupted, without a figure; exit 128 + the signal.
#[test]
fn signals_are_passed_to_the_command_and_the_file_is_marked() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        stopped_by(signal, name);
    }
}

fn stopped_by(signal: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stopped.json");
    let marker = dir.path().join("got-sigterm");
    let script = format!(
        "trap 'touch {}; exit 0' TERM HUP; while true; do sleep 0.1; done",
        marker.display()
    );
    let lavapipe = lavapipe();
    let mut child = mwbench(&[
        "meter",
        "--device",
        &lavapipe,
        "--parse",
        "count=1 H",
        "--watts",
        "100",
        "--idle",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &script,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Once the command runs, mwbench says so.
    let started = Instant::now();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("metering `sh") {
        let mut byte = [0u8; 1];
        assert!(stderr.read(&mut byte).unwrap() == 1, "mwbench ended early");
        seen.push(byte[0]);
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mwbench did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(128 + signal), "{rest}");
    assert!(marker.exists(), "the command never got {name}");
    let file = read(&out);
    assert_eq!(file["interrupted"], true);
    assert_eq!(file["results"][0]["status"], "failed");
    assert!(rest.contains(&format!("interrupted by {name}")), "{rest}");
}

/// Every way a command can fail, through the binary: one line, exit 2
/// for what is wrong before anything runs, exit 1 with a failed result
/// for a command that ran and gave no figure.
#[test]
fn bad_commands_and_output_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| -> PathBuf { dir.path().join(name) };
    let out = path("never.json");
    let out = out.to_str().unwrap();
    let plain = path("bench.sh");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let plain = plain.to_str().unwrap();
    for (args, mention) in [
        (
            vec![
                "meter",
                "--parse",
                "hashcat",
                "--watts",
                "100",
                "--out",
                out,
                "--",
                "/nonexistent/hashcat",
            ],
            "command not found",
        ),
        (
            vec![
                "meter", "--parse", "hashcat", "--watts", "100", "--out", out, "--", plain,
            ],
            "not executable",
        ),
        (
            vec!["meter", "--parse", "hashcat", "--watts", "100"],
            "COMMAND",
        ),
        (vec!["meter", "--watts", "100", "--", "true"], "--parse"),
        (
            vec!["meter", "--parse", "sglang", "--", "true"],
            "unknown format 'sglang'",
        ),
        (
            vec!["meter", "--parse", "count=5 W", "--", "true"],
            "unknown unit 'W'",
        ),
        (
            vec![
                "meter",
                "--parse",
                "hashcat",
                "--timeout",
                "0",
                "--",
                "true",
            ],
            "timeout",
        ),
        (
            vec!["meter", "--parse", "hashcat", "--watts", "-1", "--", "true"],
            "watts",
        ),
    ] {
        assert_one_line_error(&args, 2, mention);
    }
    assert!(
        !Path::new(out).exists(),
        "nothing written for a usage error"
    );

    let cases: [(&str, &[&str], &str); 4] = [
        (
            "count=1 tokens",
            &["sh", "-c", "echo oom >&2; exit 3"],
            "exited with code 3: oom",
        ),
        (
            "hashcat",
            &["echo", "not a benchmark"],
            "hashcat --machine-readable: no benchmark line",
        ),
        (
            "llama-bench",
            &["echo", "[{\"n_prompt\": 512}"],
            "llama-bench -o json: stdout is not JSON",
        ),
        ("count=1 H", &["sleep", "30"], "ran past --timeout 1 s"),
    ];
    for (index, (parse, command, mention)) in cases.into_iter().enumerate() {
        let out = path(&format!("failed-{index}.json"));
        let output = meter(&out, &["--parse", parse, "--timeout", "1"], command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{parse}: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("mwbench: error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(mention), "{parse}: {stderr}");
        let file = read(&out);
        let result = &file["results"][0];
        assert_eq!(result["status"], "failed", "{result}");
        assert_eq!(result["throughput"]["value"], Value::Null);
        assert!(
            result["check"].as_str().unwrap().contains(mention),
            "{result}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A meter that breaks while the command runs: the command's run is
/// still written, failed, with the reason; exit 1.
#[test]
fn a_power_source_that_fails_mid_run_leaves_a_failed_result() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("readings");
    let script = dir.path().join("meter.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho x >> {0}\n[ $(wc -l < {0}) -le 2 ] || exit 1\necho 100 W\n",
            count.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("broken.json");
    let lavapipe = lavapipe();
    let meter = format!("sh {}", script.display());
    let output = run(&[
        "meter",
        "--device",
        &lavapipe,
        "--parse",
        "count=1 tokens",
        "--power-cmd",
        &meter,
        "--idle",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--",
        "sleep",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the power source failed"), "{stderr}");
    let result = &read(&out)["results"][0];
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["power"]["watts"], Value::Null, "{result}");
}
