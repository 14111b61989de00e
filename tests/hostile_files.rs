//! End-to-end tests of issue 25's classes of result and merged files:
//! figures a file states that its other figures (or the files it lists)
//! contradict are refused by every reader, with one line naming the file
//! and the field; and results are what they say (a decode's context, a
//! node given twice, an adapter of a name another has, a node passed over).

use std::path::{Path, PathBuf};

use crate::common::{assert_one_line_error, fixture, json, run, write_json};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The small fixture: sha256d, llm-decode and llm-prefill on lavapipe at
/// 100 W.
/// `merge NODES --out DIR/site.json`, which must succeed; the site
/// file's path.
fn merged_site(dir: &Path, nodes: &[&Path]) -> PathBuf {
    let site = dir.join("site.json");
    let mut args = vec!["merge"];
    args.extend(nodes.iter().map(|node| node.to_str().unwrap()));
    args.extend(["--out", site.to_str().unwrap()]);
    run(&args).assert().success();
    site
}

fn tiny() -> Value {
    read(&fixture("results/lavapipe-tiny-100w.json"))
}

fn committed(name: &str) -> Value {
    read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results")
            .join(name),
    )
}

/// `value` and `report` of the merged file at `path` each fail with one
/// line saying every one of `said`, and `report` writes no `html`.
fn refused_by_value_and_report(path: &Path, html: &Path, said: &[&str]) {
    let path = path.to_str().unwrap();
    for args in [
        [&["value", path][..], &PRICES].concat(),
        [
            &["report", path, "--out", html.to_str().unwrap()][..],
            &PRICES,
        ]
        .concat(),
    ] {
        for said in said {
            assert_one_line_error(&args, 2, said);
        }
    }
}

const PRICES: [&str; 6] = [
    "--power-price",
    "45",
    "--hashprice",
    "42",
    "--token-price",
    "0.2",
];

/// `path` refused by every reader of result files, exit 2, on one line
/// naming the file and `said`.
fn refused_by_every_reader(path: &Path, said: &str) {
    let dir = tempfile::tempdir().unwrap();
    let good = write_json(dir.path(), "good.json", &tiny());
    let (path, good) = (path.to_str().unwrap(), good.to_str().unwrap());
    let html = dir.path().join("r.html");
    let out = dir.path().join("site.json");
    let readers: [Vec<&str>; 5] = [
        vec!["compare", good, path],
        [&["value", path][..], &PRICES].concat(),
        vec!["merge", path, "--out", out.to_str().unwrap()],
        vec!["export", path],
        [
            &["report", path, "--out", html.to_str().unwrap()][..],
            &PRICES,
        ]
        .concat(),
    ];
    for args in readers {
        assert_one_line_error(&args, 2, said);
        assert_one_line_error(&args, 2, path);
    }
    assert!(!out.exists() && !html.exists(), "nothing half written");
}

/// A node's file with each figure edited as a hand or a broken tool
/// might: each refused by compare, value, merge, export and report.
#[test]
fn figures_a_result_file_contradicts_are_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 10] = [
        (
            "decode-other-context.json",
            |v| v["results"][1]["params"]["shape"] = "tiny f16 context 999".into(),
            "results[1] (llm-decode tiny f16 context 999): params.shape names context 999, but \
             params.context is 100",
        ),
        (
            "mining-tokens.json",
            |v| v["results"][0]["throughput"]["unit"] = "tokens/s".into(),
            "results[0] (sha256d): unit tokens/s for workload sha256d, whose throughput is in H/s",
        ),
        (
            "decode-hashes.json",
            |v| v["results"][1]["throughput"]["unit"] = "H/s".into(),
            "unit H/s for workload llm-decode",
        ),
        (
            "gflops-on-gemv.json",
            |v| {
                v["results"][0]["workload"] = "gemv-q4".into();
                v["results"][0]["throughput"]["unit"] = "GFLOP/s".into();
            },
            "unit GFLOP/s for workload gemv-q4, whose throughput is in GB/s",
        ),
        (
            "external-tiny.json",
            |v| {
                let r = &mut v["results"][1];
                r["workload"] = "external".into();
                r["status"] = "external".into();
                r["verified"] = false.into();
                r["throughput"]["value"] = 1e-300.into();
                r["samples"] = Value::Array(vec![]);
                r["params"] = serde_json::json!({"tokens": "output"});
            },
            "throughput 1e-300 tokens/s, outside [1e-3, 1e9] tokens/s",
        ),
        (
            "slow-samples.json",
            |v| {
                v["results"][0]["samples"] = serde_json::json!([0.5, 0.5, 0.5]);
                v["results"][0]["throughput"]["value"] = 0.5.into();
            },
            "a sample of 0.5 H/s, outside [1e0, 1e16] H/s",
        ),
        (
            "milliwatt.json",
            |v| v["results"][0]["power"]["watts"] = 1e-4.into(),
            "power: watts is 0.0001",
        ),
        (
            "not-a-date.json",
            |v| v["created"] = "yesterday".into(),
            "created is 'yesterday', not an RFC 3339 time",
        ),
        (
            "year-9999.json",
            |v| v["created"] = "9999-01-01T00:00:00Z".into(),
            "created is 9999-01-01T00:00:00Z, not between",
        ),
        (
            "next-year.json",
            |v| v["created"] = "2099-01-01T00:00:00Z".into(),
            "two days from now",
        ),
    ];
    for (name, edit, said) in cases {
        let mut value = tiny();
        edit(&mut value);
        refused_by_every_reader(&write_json(dir.path(), name, &value), said);
    }
}

/// The committed sustained run with its series (and its summary, which
/// then agrees with it) x100, the samples left as measured: refused.
#[test]
fn a_sustained_series_apart_from_its_samples_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let original = committed("llvmpipe-vulkan-2026-11-28-sustained.json");
    let scale = |v: &mut Value, factor: f64| {
        *v = (v.as_f64().unwrap() * factor).into();
    };
    let mut whole = original.clone();
    let result = &mut whole["results"][0];
    for point in result["series"].as_array_mut().unwrap() {
        scale(&mut point["throughput"], 100.0);
    }
    for figure in ["first", "steady"] {
        scale(&mut result["sustained"][figure]["throughput"], 100.0);
    }
    refused_by_every_reader(
        &write_json(dir.path(), "series.json", &whole),
        "results[0] (sha256d): series[0].throughput 1.347069753863352e9 is outside its samples'",
    );
    // The steady figure alone x100: not the series' summary.
    let mut steady = original.clone();
    scale(
        &mut steady["results"][0]["sustained"]["steady"]["throughput"],
        100.0,
    );
    refused_by_every_reader(
        &write_json(dir.path(), "steady.json", &steady),
        "sustained does not summarise its series",
    );
    // The steady half moved to the first sample: none before it.
    let mut moved = original;
    moved["results"][0]["sustained"]["steady_from_sample"] = 0.into();
    refused_by_every_reader(
        &write_json(dir.path(), "moved.json", &moved),
        "sustained.steady_from_sample 0",
    );
}

/// An efficiency 1000x its throughput over its watts, and one left where
/// the watts were taken out: every reader shows throughput over watts, or
/// none.
#[test]
fn a_stored_efficiency_is_never_believed() {
    let dir = tempfile::tempdir().unwrap();
    let mut edited = tiny();
    let rate = edited["results"][0]["throughput"]["value"]
        .as_f64()
        .unwrap();
    let own = rate / 100.0;
    edited["results"][0]["efficiency"][0]["value"] = (own * 1000.0).into();
    edited["results"][1]["power"] = serde_json::json!({
        "provenance": "none", "source": "taken out", "watts": null,
    });
    let path = write_json(dir.path(), "edited.json", &edited);
    let path = path.to_str().unwrap();
    let output = run(&["compare", path, path, "--format", "json"]);
    output.clone().assert().success();
    let cells = &json(&output)["rows"];
    let sha = cells
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["workload"] == "sha256d")
        .unwrap();
    let shown = sha["cells"][0]["per_watt"]["value"].as_f64().unwrap();
    assert!((shown - own).abs() <= 1e-9 * own, "{shown} vs {own}");
    let output = run(&["export", path]);
    output.clone().assert().success();
    let text = String::from_utf8(output.stdout).unwrap();
    let efficiency: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mwbench_efficiency{"))
        .collect();
    assert!(
        efficiency.iter().all(|l| !l.contains("llm-decode")),
        "{efficiency:?}"
    );
    let sha: Vec<&str> = efficiency
        .iter()
        .filter(|l| l.contains("sha256d") && l.contains("unit=\"H/J\""))
        .copied()
        .collect();
    let [line] = &sha[..] else {
        panic!("{efficiency:?}")
    };
    let value: f64 = line.rsplit_once(' ').unwrap().1.parse().unwrap();
    assert!((value - own).abs() <= 1e-9 * own, "{line}");
}

/// A merged file from `merge --out`, then edited: `value` and `report`
/// refuse each edit on one line naming the file and the group.
#[test]
fn merged_files_are_held_to_result_file_limits() {
    let dir = tempfile::tempdir().unwrap();
    let node = write_json(dir.path(), "node.json", &tiny());
    let site = merged_site(dir.path(), &[&node]);
    let merged = read(&site);
    let sha = merged["groups"]
        .as_array()
        .unwrap()
        .iter()
        .position(|g| g["workload"] == "sha256d")
        .unwrap();
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 9] = [
        (
            |g| g["total"] = 1e30.into(),
            "total 1e30 H/s is not the sum",
        ),
        (
            |g| g["watts_total"] = 1e-9.into(),
            "0.000000001 W each, outside",
        ),
        (
            |g| g["count"] = 1_000_000_000_000_000_000u64.into(),
            "more than the 1 files merged",
        ),
        (
            |g| g["unit"] = "tokens/s".into(),
            "unit tokens/s for workload sha256d",
        ),
        (|g| g["median"] = 1e15.into(), "below the figure before it"),
        (
            |g| {
                for field in ["total", "median", "min", "p5", "p95", "max"] {
                    g[field] = 1e17.into();
                }
            },
            "min 1e17 H/s, outside [1e0, 1e16] H/s",
        ),
        (
            |g| g["watts_members"] = 5.into(),
            "watts_total 100 from 5 of 1 members",
        ),
        (
            |g| {
                g["outliers"] = serde_json::json!([
                    {"host": "a", "pci_bus_id": "", "file": "a.json", "value": 1.0, "ratio": 0.5},
                    {"host": "b", "pci_bus_id": "", "file": "b.json", "value": 1.0, "ratio": 0.5}
                ])
            },
            "2 outliers of 1 members",
        ),
        (|g| g["external"] = true.into(), "only `external` groups"),
    ];
    for (index, (edit, said)) in cases.into_iter().enumerate() {
        let mut bad = merged.clone();
        edit(&mut bad["groups"][sha]);
        let path = write_json(dir.path(), &format!("site-{index}.json"), &bad);
        let html = dir.path().join("r.html");
        let path_text = path.to_str().unwrap();
        let named = format!("{path_text}: a bad merged file: groups[{sha}]");
        refused_by_value_and_report(&path, &html, &[said, &named]);
    }
}

/// Node a measured 100 W, node b nothing: the group's watts are a's, the
/// merge says so, and `value` prices the group at 100 W a member.
#[test]
fn a_group_where_only_some_members_had_watts() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &tiny());
    let mut b = tiny();
    b["machine"]["hostname"] = "vm-b".into();
    for result in b["results"].as_array_mut().unwrap() {
        result["power"] = serde_json::json!({
            "provenance": "none", "source": "no sensor", "watts": null,
        });
    }
    let b = write_json(dir.path(), "b.json", &b);
    let site = dir.path().join("site.json");
    let output = run(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--json",
    ]);
    output.clone().assert().success();
    let merged = json(&output);
    let group = &merged["groups"][0];
    assert_eq!(group["count"], 2);
    assert_eq!(group["watts_total"], 100.0);
    assert_eq!(group["watts_members"], 1);
    let notes = merged["notes"].to_string();
    assert!(notes.contains("watts from 1 of 2 members"), "{notes}");
    let table = run(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("watts total / 1"), "{text}");
    // value: each group at 100 W a member, not 50.
    let output = run(&[
        &["value", site.to_str().unwrap(), "--format", "json"][..],
        &PRICES,
    ]
    .concat());
    output.clone().assert().success();
    let valued = json(&output);
    let sha = valued["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"].as_str().unwrap().starts_with("sha256d"))
        .unwrap_or_else(|| panic!("{valued}"));
    assert_eq!(sha["watts"], 100.0, "{sha}");
    assert!(
        sha["name"]
            .as_str()
            .unwrap()
            .ends_with("(site, mean of 2 members)"),
        "{sha}"
    );
}

/// One node's file: "(site, 1 member)", never "mean of up to 1".
#[test]
fn a_one_member_site_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = write_json(dir.path(), "node.json", &tiny());
    let site = merged_site(dir.path(), &[&node]);
    let output = run(&[
        &["value", site.to_str().unwrap(), "--format", "json"][..],
        &PRICES,
    ]
    .concat());
    output.clone().assert().success();
    let text = json(&output).to_string();
    assert!(text.contains("(site, 1 member)"), "{text}");
    assert!(!text.contains("up to 1"), "{text}");
}

/// A decode's context is in its shape: an older file (shape without it)
/// matches a newer one of the same context, never one of another.
#[test]
fn decode_results_of_different_contexts_are_never_matched() {
    let dir = tempfile::tempdir().unwrap();
    let older = committed("h200-vulkan-2026-11-27-llama3-8b-q4.json");
    let decode = older["results"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["workload"] == "llm-decode")
        .unwrap();
    assert_eq!(older["results"][decode]["params"]["shape"], "llama3-8b q4");
    let mut same = older.clone();
    same["results"][decode]["params"]["shape"] = "llama3-8b q4 context 4096".into();
    let mut longer = older.clone();
    longer["results"][decode]["params"]["context"] = 32768.into();
    let paths: Vec<PathBuf> = [
        ("older.json", &older),
        ("same.json", &same),
        ("longer.json", &longer),
    ]
    .into_iter()
    .map(|(name, value)| write_json(dir.path(), name, value))
    .collect();
    let output = run(&[
        "compare",
        paths[0].to_str().unwrap(),
        paths[1].to_str().unwrap(),
        paths[2].to_str().unwrap(),
        "--format",
        "json",
    ]);
    output.clone().assert().success();
    let compared = json(&output);
    let rows: Vec<&Value> = compared["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["workload"] == "llm-decode")
        .collect();
    let shapes: Vec<&str> = rows.iter().map(|r| r["shape"].as_str().unwrap()).collect();
    assert_eq!(
        shapes,
        ["llama3-8b q4 context 4096", "llama3-8b q4 context 32768"],
        "{compared}"
    );
    let at_4096 = rows[0];
    assert_eq!(at_4096["cells"][1]["verdict"], "same", "{at_4096}");
    assert_eq!(at_4096["cells"][2]["verdict"], "missing", "{at_4096}");
}

/// A node given twice (one path twice, or a copy of its file, its
/// `created` written otherwise or not) would count twice: refused by merge
/// and export. Two adapters of one name (lavapipe on Vulkan and on GL)
/// stay two in export.
#[test]
fn a_node_given_twice_is_refused_and_two_adapters_stay_two() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &tiny());
    let copy = write_json(dir.path(), "copy.json", &tiny());
    let (a, copy) = (a.to_str().unwrap(), copy.to_str().unwrap());
    for command in ["merge", "export"] {
        assert_one_line_error(&[command, a, a], 2, "the same file as");
        assert_one_line_error(&[command, a, copy], 2, "copy.json: the same run as");
        assert_one_line_error(
            &[command, dir.path().to_str().unwrap()],
            2,
            "the same run as",
        );
    }
    // The same instant, written otherwise, is the same run.
    assert_eq!(tiny()["created"], "2026-11-26T00:18:33Z");
    for (index, created) in [
        "2026-11-26T02:18:33+02:00",
        "2026-11-26T00:18:33+00:00",
        "2026-11-26T00:18:33.000Z",
        "2026-11-26t00:18:33z",
        "2026-11-25T19:18:33-05:00",
    ]
    .into_iter()
    .enumerate()
    {
        let mut rewritten = tiny();
        rewritten["created"] = created.into();
        let rewritten = write_json(dir.path(), &format!("rewritten-{index}.json"), &rewritten);
        for command in ["merge", "export"] {
            assert_one_line_error(
                &[command, a, rewritten.to_str().unwrap()],
                2,
                &format!("rewritten-{index}.json: the same run as {a}"),
            );
        }
    }
    let mut gl = tiny();
    gl["device"]["backend"] = "gl".into();
    let gl = write_json(dir.path(), "gl.json", &gl);
    let output = run(&["export", a, gl.to_str().unwrap()]);
    output.clone().assert().success();
    let text = String::from_utf8(output.stdout).unwrap();
    let sha: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mwbench_throughput{") && l.contains("sha256d"))
        .collect();
    assert_eq!(sha.len(), 2, "{text}");
    assert!(sha.iter().any(|l| l.contains("backend=\"gl\"")), "{sha:?}");
}

/// What a directory holds that is no node's file is said, never passed
/// over silently; a merged file named is refused; a threshold of -0 is 0.
#[test]
fn merge_says_what_it_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes");
    std::fs::create_dir(&nodes).unwrap();
    let node = write_json(&nodes, "a.json", &tiny());
    let fifo = std::ffi::CString::new(nodes.join("b.json").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in a directory this test owns.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink(dir.path().join("gone.json"), nodes.join("c.json")).unwrap();
    std::os::unix::fs::symlink("/dev/null", nodes.join("d.json")).unwrap();
    let rack = dir.path().join("rack2");
    std::fs::create_dir(&rack).unwrap();
    std::os::unix::fs::symlink(&rack, nodes.join("rack2")).unwrap();
    let output = run(&[
        "merge",
        nodes.to_str().unwrap(),
        "--json",
        "--outlier-threshold",
        "-0",
    ]);
    output.clone().assert().success();
    let merged = json(&output);
    let notes = merged["notes"].to_string();
    for said in [
        "b.json: not a regular file",
        "c.json: a dangling link",
        "d.json: not a regular file",
        "rack2: a link to a directory, not followed",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
    let table = run(&["merge", node.to_str().unwrap(), "--outlier-threshold", "-0"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("more than 0% below") && !text.contains("-0%"),
        "{text}"
    );
    let site = merged_site(dir.path(), &[&node]);
    // Named, alone or beside a node's file, it is refused; in a folder it
    // is passed over, and said to be.
    let named = format!(
        "{} is a merged file (merge --out): merge the result files it came from",
        site.display()
    );
    let (site, node) = (site.to_str().unwrap(), node.to_str().unwrap());
    assert_one_line_error(&["merge", site], 2, &named);
    assert_one_line_error(&["merge", site, node], 2, &named);
    assert_one_line_error(&["merge", node, site, "--out", site], 2, &named);
    assert_one_line_error(&["export", node, site], 2, &named);
    let moved = nodes.join("site.json");
    std::fs::rename(site, &moved).unwrap();
    let output = run(&["merge", nodes.to_str().unwrap(), "--json"]);
    output.clone().assert().success();
    let notes = json(&output)["notes"].to_string();
    assert!(
        notes.contains(&format!("skipped {}: a merged file", moved.display())),
        "{notes}"
    );
}

/// `mwbench meter` of `parse` over `cat stdout` on two hosts, merged:
/// the merged file's path.
fn metered_site(dir: &Path, name: &str, parse: &str, stdout: &Path) -> PathBuf {
    let lavapipe = crate::common::lavapipe();
    let mut nodes = Vec::new();
    for host in ["a", "b"] {
        let out = dir.join(format!("{name}-{host}.json"));
        run(&[
            "meter",
            "--device",
            &lavapipe,
            "--parse",
            parse,
            "--watts",
            "100",
            "--idle",
            "0",
            "--out",
            out.to_str().unwrap(),
            "--",
            "cat",
            stdout.to_str().unwrap(),
        ])
        .assert()
        .success();
        // Two nodes, never two copies of one run.
        let mut file = read(&out);
        file["machine"]["hostname"] = host.into();
        nodes.push(write_json(dir, &format!("{name}-{host}.json"), &file));
    }
    let site = dir.join(format!("{name}-site.json"));
    run(&[
        "merge",
        nodes[0].to_str().unwrap(),
        nodes[1].to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ])
    .assert()
    .success();
    site
}

/// A merged group of hashcat's MD5 (-m 0), or of hashes a user counted,
/// is not bitcoin's double SHA-256 as far as anyone can tell: `value`
/// says so, as it does for a node's file, and prices only -m 21400.
#[test]
fn merged_outside_hashes_are_priced_only_as_bitcoins() {
    let dir = tempfile::tempdir().unwrap();
    let bitcoin = fixture("external/hashcat-21400-machine-readable.stdout");
    let text = std::fs::read_to_string(&bitcoin).unwrap();
    assert!(text.contains(":21400:"), "{text}");
    let md5 = crate::common::write_file(dir.path(), "md5.stdout", text.replace(":21400:", ":0:"));
    for (site, priced, said) in [
        (
            metered_site(dir.path(), "md5", "hashcat", &md5),
            false,
            "hashcat mode 0 is not bitcoin's double SHA-256",
        ),
        (
            metered_site(dir.path(), "count", "count=1e9 H", &md5),
            false,
            "a merged group of outside hashes keeps no hashcat mode",
        ),
        (
            metered_site(dir.path(), "bitcoin", "hashcat", &bitcoin),
            true,
            "external hashcat -m 21400",
        ),
    ] {
        let output = run(&[
            &["value", site.to_str().unwrap(), "--format", "json"][..],
            &PRICES,
        ]
        .concat());
        output.clone().assert().success();
        let valued = json(&output);
        let (options, unpriceable) = (&valued["options"], &valued["unpriceable"]);
        if priced {
            assert_eq!(options[0]["kind"], "mining", "{valued}");
            assert!(options[0]["name"].as_str().unwrap().contains(said));
        } else {
            assert_eq!(options.as_array().unwrap().len(), 0, "{valued}");
            assert!(
                unpriceable[0]["reason"].as_str().unwrap().contains(said),
                "{valued}"
            );
        }
    }
}

/// A merged file whose parts contradict each other (a group twice, an
/// outlier that is no member, a host meter on more hosts than had it,
/// files and hosts apart): `value` and `report` refuse it on one line
/// naming the file and the field.
#[test]
fn a_merged_file_that_contradicts_itself_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &tiny());
    let mut b = tiny();
    b["machine"]["hostname"] = "vm-b".into();
    let b = write_json(dir.path(), "b.json", &b);
    let site = merged_site(dir.path(), &[&a, &b]);
    let merged = read(&site);
    let sha = merged["groups"]
        .as_array()
        .unwrap()
        .iter()
        .position(|g| g["workload"] == "sha256d")
        .unwrap();
    assert_eq!(merged["groups"][sha]["watts_members"], 2);
    type Edit = fn(&mut Value, usize);
    let cases: [(Edit, &str); 9] = [
        (
            |m, sha| {
                let group = m["groups"][sha].clone();
                m["groups"].as_array_mut().unwrap().push(group);
            },
            "the same device, workload, shape and unit as groups[",
        ),
        (
            |m, sha| {
                for field in ["min", "p5", "median", "p95", "max"] {
                    m["groups"][sha][field] = 42.5e6.into();
                }
                m["groups"][sha]["total"] = (2.0 * 42.5e6).into();
                m["groups"][sha]["outliers"] = serde_json::json!([{
                    "host": "vm-b", "pci_bus_id": "", "file": m["files"][1],
                    "value": 1.0, "ratio": 0.1,
                }]);
            },
            "outlier  on vm-b: 1 H/s at 0.1 of the median, not a member from 42500000 to \
             42500000 more than 10% below the median 42500000",
        ),
        (
            |m, sha| m["groups"][sha]["watts_shared_hosts"] = 5.into(),
            "watts_shared_hosts 5 of 2 members with watts on 2 hosts",
        ),
        (
            |m, sha| {
                m["groups"][sha]["watts_shared_hosts"] = 2.into();
                m["hosts"] = serde_json::json!(["vm-b"]);
            },
            "watts_shared_hosts 2 of 2 members with watts on 1 hosts",
        ),
        (
            |m, _| {
                m["files"] = serde_json::json!(["x.json", "x.json"]);
            },
            "files lists x.json more than once",
        ),
        (
            |m, _| m["hosts"] = (0..10).map(|i| format!("host{i}")).collect(),
            "10 hosts for 2 files",
        ),
        (
            |m, _| m["hosts"] = serde_json::json!([]),
            "0 hosts for 2 files",
        ),
        (
            |m, _| m["hosts"] = serde_json::json!(["vm-b", "vm-b"]),
            "hosts lists vm-b more than once",
        ),
        (
            |m, sha| {
                m["groups"][sha]["failed"] = serde_json::json!([{
                    "host": "vm-b", "pci_bus_id": "", "file": "elsewhere.json",
                    "status": "failed", "check": "",
                }]);
                m["groups"][sha]["count"] = 1.into();
                m["groups"][sha]["total"] = m["groups"][sha]["max"].clone();
                m["groups"][sha]["watts_members"] = 1.into();
                m["groups"][sha]["watts_total"] = 100.0.into();
            },
            "a member of elsewhere.json on vm-b, not among the files and hosts merged",
        ),
    ];
    let html = dir.path().join("r.html");
    for (index, (edit, said)) in cases.into_iter().enumerate() {
        let mut bad = merged.clone();
        edit(&mut bad, sha);
        let path = write_json(dir.path(), &format!("site-{index}.json"), &bad);
        let named = format!("{}: a bad merged file", path.display());
        refused_by_value_and_report(&path, &html, &[said, &named]);
    }
    assert!(!html.exists(), "nothing half written");
}
