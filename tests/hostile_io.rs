//! End-to-end tests of issue 25's input and output classes: inputs that
//! are not files or never end, text that would drive a terminal, price
//! series whose dates cannot be, output that cannot be written, a signal
//! before anything completed, and files replaced through links.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{
    assert_one_line_error, finish, lavapipe, mkfifo, mwbench, run, signal, stdout_of, write_file,
};
use serde_json::Value;

const COMMITTED: &str = "results/llvmpipe-vulkan-2026-11-25.json";
const H200: &str = "results/h200-vulkan-2026-11-27.json";

/// Every input is a regular file of a bounded size, read with bounded
/// lines, before a byte of it is believed: no input blocks, grows without
/// end or is read whole when it is too large. Each is exit 2 on one line,
/// within seconds.
#[test]
fn inputs_that_never_end_or_are_not_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let long_line = write_file(
        dir.path(),
        "long-line.csv",
        format!(
            "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,{}\n",
            "1".repeat(20 << 20)
        ),
    );
    let large = dir.path().join("large.json");
    std::fs::File::create(&large)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let site_binary = write_file(dir.path(), "site.toml", [0xff, 0xfe, b'=', 0x80]);
    let value = ["value", COMMITTED, "--hashprice", "42"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&value[..], &["--site", "/dev/zero"]].concat(),
            "/dev/zero: a FIFO, socket or device, not a regular file (a site file must be one)",
        ),
        (
            [&value[..], &["--site", fifo]].concat(),
            "not a regular file",
        ),
        (
            [&value[..], &["--site", dir.path().to_str().unwrap()]].concat(),
            "a directory, not a regular file",
        ),
        (
            [&value[..], &["--site", site_binary.to_str().unwrap()]].concat(),
            "not UTF-8 text (not a site file)",
        ),
        (
            [&value[..], &["--price-series", fifo]].concat(),
            "not a regular file (a price series must be one)",
        ),
        (
            [&value[..], &["--price-series", "/dev/zero"]].concat(),
            "not a regular file",
        ),
        (
            [&value[..], &["--price-series", long_line.to_str().unwrap()]].concat(),
            "long-line.csv:2: a line longer than 4096 bytes",
        ),
        (
            vec!["compare", large.to_str().unwrap(), COMMITTED],
            "large.json: 2 GiB is over the 64 MiB a result file can be",
        ),
        (
            vec!["value", large.to_str().unwrap(), "--power-price", "40"],
            "over the 64 MiB",
        ),
        (
            vec!["report", fifo, "--out", "/tmp/never.html"],
            "not a regular file",
        ),
        (
            vec!["compare", "/dev/zero", COMMITTED],
            "not a regular file",
        ),
    ];
    for (args, mention) in &cases {
        let started = Instant::now();
        assert_one_line_error(args, 2, mention);
        assert!(
            // Not a speed test: a bound far above any machine's, far
            // below for ever.
            started.elapsed() < Duration::from_secs(60),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
}

/// A result file whose device and host names carry an ESC sequence and a
/// newline: every table prints them escaped, and an error quoting a file's
/// text stays on one line.
#[test]
fn control_characters_from_files_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(COMMITTED).unwrap()).unwrap();
    file["device"]["name"] = "GPU\u{1b}[2J\u{1b}[31mRED".into();
    file["machine"]["hostname"] = "node\nAI wins".into();
    let hostile = write_file(dir.path(), "hostile.json", file.to_string());
    let hostile = hostile.to_str().unwrap();
    for args in [
        vec!["compare", COMMITTED, hostile],
        vec!["merge", hostile],
        vec!["value", hostile, "--power-price", "40", "--hashprice", "42"],
    ] {
        let output = run(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(
            !stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'),
            "{args:?} printed an ESC: {stdout}"
        );
        assert!(stdout.contains("\\u{1b}"), "{args:?}: {stdout}");
        assert!(
            !stdout.lines().any(|l| l.starts_with("AI wins")),
            "{args:?} forged a line: {stdout}"
        );
    }
    // Markdown and CSV, often read on a terminal first, and Prometheus's
    // label values, escape them too.
    let value = ["value", hostile, "--power-price", "40", "--hashprice", "42"];
    for args in [
        vec!["compare", COMMITTED, hostile, "--format", "markdown"],
        vec!["compare", COMMITTED, hostile, "--format", "csv"],
        vec!["merge", hostile, "--format", "markdown"],
        [&value[..], &["--format", "markdown"]].concat(),
        [&value[..], &["--format", "csv"]].concat(),
        vec!["export", hostile],
    ] {
        let stdout = stdout_of(&args);
        assert!(
            !stdout.contains('\u{1b}'),
            "{args:?} printed an ESC: {stdout}"
        );
        assert!(
            !stdout.lines().any(|l| l.starts_with("AI wins")),
            "{args:?} forged a line: {stdout}"
        );
    }
    // An error that quotes a file's path and text: one line, escaped.
    let named = write_file(dir.path(), "bad\nname\u{1b}[31m.json", "{not json");
    let output = run(&["compare", named.to_str().unwrap(), COMMITTED]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad\\nname\\u{1b}[31m.json"), "{stderr}");
}

/// Dates no market cleared at, and a repeated hour on a day the clocks
/// do not go back, are named by file and line.
#[test]
fn price_series_dates_must_be_possible() {
    let dir = tempfile::tempdir().unwrap();
    let dam =
        "Delivery Date,Hour Ending,Repeated Hour Flag,Settlement Point,Settlement Point Price\n";
    let cases = [
        (
            "timestamp,price_usd_per_mwh\n9999-12-31T23:00:00Z,5\n9999-12-31T23:30:00Z,6\n"
                .to_string(),
            "p.csv:2: '9999-12-31T23:00:00Z' is in year 9999, outside the 1990 to 2100",
        ),
        (
            format!(
                "{dam}07/14/2025,01:00,N,HB_NORTH,5\n07/14/2025,02:00,N,HB_NORTH,6\n07/14/2025,02:00,Y,HB_NORTH,7\n"
            ),
            "p.csv:4: Repeated Hour Flag Y on 2025-07-14 hour 2",
        ),
        (
            format!("{dam}11/02/2025,03:00,Y,HB_NORTH,5\n"),
            "p.csv:2: Repeated Hour Flag Y on 2025-11-02 hour 3",
        ),
    ];
    for (text, mention) in cases {
        let path = write_file(dir.path(), "p.csv", text);
        assert_one_line_error(
            &[
                "value",
                COMMITTED,
                "--hashprice",
                "42",
                "--price-series",
                path.to_str().unwrap(),
            ],
            2,
            mention,
        );
    }
    // The day the clocks go back keeps its 25 hours.
    let mut autumn = dam.to_string();
    for hour in 1..=24 {
        autumn.push_str(&format!("11/02/2025,{hour:02}:00,N,HB_NORTH,30\n"));
        if hour == 2 {
            autumn.push_str("11/02/2025,02:00,Y,HB_NORTH,31\n");
        }
    }
    let path = write_file(dir.path(), "autumn.csv", autumn);
    let stdout = stdout_of(&[
        "value",
        COMMITTED,
        "--hashprice",
        "42",
        "--price-series",
        path.to_str().unwrap(),
    ]);
    assert!(stdout.contains("25 intervals"), "{stdout}");
}

/// Output that cannot be written fails with one line and exit 1, from
/// every command that prints; a reader that closes the pipe early stays
/// quiet.
#[test]
fn output_that_cannot_be_written_fails() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let commands: [&[&str]; 7] = [
        &["export", "results"],
        &["merge", "results"],
        &[
            "value",
            COMMITTED,
            "--power-price",
            "40",
            "--hashprice",
            "42",
        ],
        &["compare", COMMITTED, COMMITTED],
        &["schema"],
        &["devices", "--json"],
        &["run", "--list"],
    ];
    for args in commands {
        let output = mwbench(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write standard output: No space left on device"),
            "{args:?}: {stderr}"
        );
    }
    // Started with stdout closed: the shell's `>&-`.
    let output = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" schema >&-"])
        .arg(env!("CARGO_BIN_EXE_mwbench"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Bad file descriptor"), "{stderr}");
    // `>/dev/null` is a choice, and `| head -c1` a reader that had enough.
    assert!(
        mwbench(&["schema"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let output = std::process::Command::new("sh")
        .args(["-c", "\"$0\" export results | head -c1 >/dev/null"])
        .arg(env!("CARGO_BIN_EXE_mwbench"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A signal before any workload completed leaves an earlier run's complete
/// file as it was, and says so truly.
#[test]
fn a_signal_before_anything_completed_replaces_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let earlier = std::fs::read(COMMITTED).unwrap();
    std::fs::write(&out, &earlier).unwrap();
    let device = lavapipe();
    let child = mwbench(&[
        "run",
        "--workloads",
        "sha256d",
        "--duration",
        "30",
        "--idle",
        "0",
        "--device",
        &device,
        "--out",
        out.to_str().unwrap(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let (code, stderr) = finish(child, Duration::from_secs(120));
    assert_eq!(code, Some(128 + libc::SIGTERM), "{stderr}");
    let now = std::fs::read(&out).unwrap();
    let file: Value = serde_json::from_slice(&now).unwrap();
    if file["results"].as_array().unwrap().is_empty() || file["interrupted"] != true {
        // Nothing completed: the earlier file stands, and stderr says so.
        assert_eq!(now, earlier, "{stderr}");
        assert!(stderr.contains("not written (left as it was)"), "{stderr}");
        assert!(stderr.contains("no workload had completed"), "{stderr}");
        assert!(!stderr.contains("were written"), "{stderr}");
    }
}

/// `--out` through a link replaces the file it points to, keeping that
/// file's mode (and, as root, its owner).
#[test]
fn a_file_replaced_through_a_link_keeps_its_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let target = write_file(dir.path(), "private.json", "{}");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let nobody = 65534;
    if root {
        std::os::unix::fs::chown(&target, Some(nobody), Some(nobody)).unwrap();
    }
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    stdout_of(&["merge", "results", "--out", link.to_str().unwrap()]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let replaced = std::fs::metadata(&target).unwrap();
    assert!(replaced.len() > 2, "the target was not replaced");
    assert_eq!(replaced.mode() & 0o7777, 0o600);
    if root {
        assert_eq!((replaced.uid(), replaced.gid()), (nobody, nobody));
    }
    // A new file is readable by others, as before.
    let new = dir.path().join("new.json");
    assert!(
        run(&["merge", "results", "--out", new.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(std::fs::metadata(&new).unwrap().mode() & 0o777, 0o644);
}

/// Lists name each thing once, a model priced twice is refused, and tiny
/// or huge figures print short.
#[test]
fn repeated_names_and_extreme_figures_read_sanely() {
    let output = run(&["run", "--workloads", "nope"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("gemm-skinny").count(), 1, "{stderr}");
    assert_one_line_error(
        &[
            "value",
            COMMITTED,
            "--power-price",
            "40",
            "--hashprice",
            "42",
            "--asic",
            "s21-pro,S21-PRO",
        ],
        2,
        "--asic names Antminer S21 Pro twice",
    );
    let dir = tempfile::tempdir().unwrap();
    let series = write_file(
        dir.path(),
        "p.csv",
        "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,5\n2025-01-01T01:00:00Z,6\n",
    );
    let stdout = stdout_of(&[
        "value",
        H200,
        "--hashprice",
        "42",
        "--token-price-out",
        "0.2",
        "--price-series",
        series.to_str().unwrap(),
        "--ai-uptime",
        "1e-300",
    ]);
    assert!(
        stdout.contains("AI runs at least 1e-300% of hours"),
        "{stdout}"
    );
    assert!(!stdout.contains("0000000000"), "{stdout}");
}

/// `--quick --batch max` stays quick: the search stops at a batch a quick
/// run can time, and a step longer than a second reads in seconds.
#[test]
fn quick_batch_max_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("max.json");
    let stdout = stdout_of(&[
        "run",
        "--quick",
        "--idle",
        "0",
        "--workloads",
        "llm-decode",
        "--preset",
        "tiny",
        "--batch",
        "max",
        "--device",
        &lavapipe(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!stdout.contains("kms"), "{stdout}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let batch = file["results"][0]["params"]["batch"].as_u64().unwrap();
    assert!(batch <= 64, "batch {batch}");
}

/// Errors name where the fault is: the field's line and column in a
/// result or merged file, the line in a site file, the line of an interval
/// no market settles in a price series.
#[test]
fn errors_say_where_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(COMMITTED).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    file["results"][0]["samples"][1] = "x".into();
    let bad = write_file(
        dir.path(),
        "bad.json",
        serde_json::to_string_pretty(&file).unwrap(),
    );
    assert_one_line_error(
        &["compare", bad.to_str().unwrap(), COMMITTED],
        2,
        "expected f64 at line",
    );
    let site = write_file(
        dir.path(),
        "site.toml",
        "# a site\nhashprice = 42\n\npower_price = \"40\"\n",
    );
    assert_one_line_error(
        &["value", COMMITTED, "--site", site.to_str().unwrap()],
        2,
        "site.toml:4: invalid type: string \"40\"",
    );
    let series = write_file(
        dir.path(),
        "p.csv",
        "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,5\n2025-01-01T00:00:00.000001Z,6\n",
    );
    assert_one_line_error(
        &[
            "value",
            COMMITTED,
            "--hashprice",
            "42",
            "--price-series",
            series.to_str().unwrap(),
        ],
        2,
        "p.csv:3: 0 s after line 2: an interval shorter than 60 s",
    );
}

/// With stderr on a full disk the run still ends with its own exit code:
/// a note that cannot be shown is no crash. Help asked for must arrive.
#[test]
fn an_unwritable_stderr_is_no_crash_and_help_must_arrive() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let cases: [(&[&str], i32); 4] = [
        (&["compare", "missing.json", COMMITTED], 1),
        (&["run", "--workloads", "nope"], 2),
        (&["bogus"], 2),
        (&["merge", "results"], 0),
    ];
    for (args, code) in cases {
        let status = mwbench(args)
            .stdout(Stdio::null())
            .stderr(full())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
    for args in [&["--help"][..], &["--version"], &["run", "--help"]] {
        let output = mwbench(args).stdout(full()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot write standard output"), "{stderr}");
    }
}
