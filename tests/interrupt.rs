//! End-to-end tests of how a run ends early: SIGTERM or SIGINT from a
//! batch scheduler, and a GPU that does not finish its work.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{finish, lavapipe, mwbench, signal};
use serde_json::Value;

fn start(args: &[&str]) -> Child {
    mwbench(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".mwbench-"))
        .collect()
}

const WORKLOADS: &str = "sha256d,copy-bandwidth,peak-fma-f32";

/// `run` of [`WORKLOADS`] on lavapipe, `seconds` each, writing `out`.
fn start_run(seconds: &str, out: &Path) -> Child {
    start(&[
        "run",
        "--workloads",
        WORKLOADS,
        "--duration",
        seconds,
        "--idle",
        "0",
        "--device",
        &lavapipe(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Slurm's time limit: SIGTERM. The run stops after its current sample,
/// writes what it completed with `interrupted`, says what it did not run,
/// and exits 143.
#[test]
fn sigterm_writes_what_was_completed_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let child = start_run("3", &out);
    // Once the first workload has completed (its checkpoint is written):
    // a signal before then writes no file, by design.
    let started = Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, libc::SIGTERM);
    let (code, stderr) = finish(child, Duration::from_secs(30));
    assert_eq!(code, Some(143), "{stderr}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["interrupted"], true);
    let done: Vec<&str> = file["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("mwbench: error: interrupted by SIGTERM"),
        "{stderr}"
    );
    for workload in WORKLOADS.split(',') {
        let reported = done.contains(&workload) || last.contains(workload);
        assert!(
            reported,
            "{workload} neither done nor listed as not run: {last}"
        );
    }
    assert!(done.len() < 3, "the run was stopped early: {done:?}");
    assert!(temporaries(dir.path()).is_empty());
    // Readers say so.
    let compare = mwbench(&["compare", out.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&compare.stdout);
    assert!(text.contains("from an interrupted run"), "{text}");
}

/// SIGKILL (a batch scheduler's KillWait run out, a node going down) gives
/// no chance to write: the file written after each completed workload is
/// already there, whole, marked interrupted.
#[test]
fn sigkill_leaves_the_workloads_completed_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let child = start_run("2", &out);
    let started = Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no file after the first workload"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, libc::SIGKILL);
    let (code, _) = finish(child, Duration::from_secs(30));
    assert_eq!(code, None, "killed by a signal");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["interrupted"], true);
    let results = file["results"].as_array().unwrap();
    assert_eq!(results[0]["workload"], "sha256d");
    assert_eq!(results[0]["status"], "ok");
    assert!(results.len() < 3, "{results:?}");
    // Every reader takes it.
    let read = mwbench(&["merge", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
}

/// A second signal stops at once: the old file stays as it was and no
/// temporary file is left behind. The first signal lands during idle
/// power, whose end reads a meter that takes a second to answer: the run
/// is still busy when the second arrives.
#[test]
fn a_second_sigint_stops_at_once_leaving_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    std::fs::write(&out, "old").unwrap();
    let child = start(&[
        "run",
        "--workloads",
        WORKLOADS,
        "--idle",
        "60",
        "--power-cmd",
        "sh -c 'sleep 1; echo 100'",
        "--device",
        &lavapipe(),
        "--out",
        out.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_secs(6));
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(100));
    signal(&child, libc::SIGINT);
    let (code, stderr) = finish(child, Duration::from_secs(10));
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stopped at once"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    assert!(temporaries(dir.path()).is_empty());
}

/// A kernel that runs past `--kernel-timeout` (one 4096^3 GEMM takes
/// seconds on lavapipe: the full shapes, not --quick's) fails its
/// workload; the run writes what it has, names what it did not run, and
/// exits 1 instead of waiting for ever.
#[test]
fn a_gpu_that_does_not_finish_fails_its_workload_and_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let lavapipe = lavapipe();
    let child = start(&[
        "run",
        "--workloads",
        "gemm-f32",
        "--duration",
        "0.5",
        "--idle",
        "0",
        "--kernel-timeout",
        "1.5",
        "--device",
        &lavapipe,
        "--out",
        out.to_str().unwrap(),
    ]);
    let (code, stderr) = finish(child, Duration::from_secs(120));
    assert_eq!(code, Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("the GPU did not finish in 1.5 s"), "{stderr}");
    assert!(
        last.contains("not run: gemm-f32 512x4096x14336"),
        "{stderr}"
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let results = file["results"].as_array().unwrap();
    let gemm = results
        .iter()
        .find(|r| r["workload"] == "gemm-f32")
        .unwrap();
    assert_eq!(gemm["status"], "failed");
    assert_eq!(gemm["verified"], false);
    assert!(gemm["check"].as_str().unwrap().contains("did not finish"));
    assert_eq!(file["interrupted"], false);
}
