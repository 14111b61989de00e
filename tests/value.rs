//! End-to-end tests of `mwbench value` through the real binary, on a
//! result file from a lavapipe run with `--watts 100` and on ASIC figures.

use crate::common::{assert_one_line_error, fixture, json, run};
use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

fn result_file() -> String {
    fixture("results/lavapipe-tiny-100w.json")
        .to_string_lossy()
        .into_owned()
}

/// Late-2025 figures (shared/reference.md): hashprice about 40 USD per
/// PH/s per day; an S21 Pro at 15 J/TH.
#[test]
fn json_prices_every_option_and_names_the_best() {
    let file = result_file();
    let output = run(&[
        "value",
        &file,
        "--power-price",
        "45",
        "--hashprice",
        "40",
        "--token-price",
        "0.2",
        "--gpu-hour-price",
        "2",
        "--asic",
        "s21-pro",
        "--json",
    ]);
    output.clone().assert().success();
    let value = json(&output);
    assert_eq!(value["power_price_usd_per_mwh"], 45.0);
    assert_eq!(value["hashprice_usd_per_ph_day"], 40.0);
    let options = value["options"].as_array().unwrap();
    let names: Vec<&str> = options
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    // sha256d, llm-decode at its one batch, GPU-hours and the ASIC;
    // llm-prefill's prompt tokens are not priced as output tokens.
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n
                .starts_with("llm-decode tiny f16 at batch 1 (6 ms/token; within 100 ms/token)")),
        "{names:?}"
    );
    let unpriced = value["unpriceable"].as_array().unwrap();
    assert!(
        unpriced
            .iter()
            .any(|u| u["name"].as_str().unwrap().starts_with("llm-prefill")
                && u["reason"].as_str().unwrap().contains("prompt")),
        "{unpriced:?}"
    );
    for option in options {
        for key in [
            "revenue_usd_per_mwh",
            "power_cost_usd_per_mwh",
            "margin_usd_per_mwh",
            "usd_per_mw_year",
            "breakeven_power_price_usd_per_mwh",
        ] {
            assert!(option[key].is_f64(), "{key} in {option}");
        }
        assert_eq!(option["power_cost_usd_per_mwh"], 45.0);
    }
    let asic = options.iter().find(|o| o["kind"] == "asic").unwrap();
    // 2.4e20 hashes per MWh x 40 / 8.64e19 = 111.11 USD (model tests).
    assert!((asic["revenue_usd_per_mwh"].as_f64().unwrap() - 111.111).abs() < 1e-3);
    assert_eq!(
        asic["estimated"], true,
        "a maker's spec is not a measurement"
    );
    let best = value["best"].as_str().unwrap();
    let top = options
        .iter()
        .max_by(|a, b| {
            a["margin_usd_per_mwh"]
                .as_f64()
                .partial_cmp(&b["margin_usd_per_mwh"].as_f64())
                .unwrap()
        })
        .unwrap();
    assert_eq!(best, top["name"].as_str().unwrap());
}

#[test]
fn the_table_shows_the_winner_and_sweeps_draw_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("margin.svg");
    let site = dir.path().join("site.toml");
    // Dated example inputs (late 2025): BTC 100,000 USD, difficulty 150 T.
    std::fs::write(
        &site,
        "power_price = 60.0\nbtc_price = 100000.0\ndifficulty = 150e12\nfees = 0.025\n\
         token_price = 0.2\npue_ai = 1.3\nasic = [\"S21 XP\"]\n",
    )
    .unwrap();
    let file = result_file();
    let output = run(&[
        "value",
        &file,
        "--site",
        site.to_str().unwrap(),
        "--power-price",
        "45",
        "--sweep",
        "20:100:20",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    output.clone().assert().success();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("at 45.00 USD/MWh"),
        "the flag wins over the file: {table}"
    );
    assert!(
        table.contains("hashprice 42.24"),
        "derived from the file: {table}"
    );
    assert!(table.contains("best at 45.00 USD/MWh: "), "{table}");
    assert!(table.contains("(watts estimated)"), "{table}");
    assert!(table.contains("by power price"), "{table}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("breakeven"), "the legend gives breakevens");
}

#[test]
fn results_without_watts_are_unpriceable_not_zero() {
    // The committed lavapipe result has no power figure.
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results/llvmpipe-vulkan-2026-11-25.json");
    let output = run(&[
        "value",
        committed.to_str().unwrap(),
        "--power-price",
        "45",
        "--hashprice",
        "40",
        "--json",
    ]);
    output.clone().assert().success();
    let value = json(&output);
    assert_eq!(value["options"], Value::Array(vec![]));
    assert_eq!(value["best"], Value::Null);
    let reason = value["unpriceable"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("no watts in the result"), "{reason}");
}

#[test]
fn bad_inputs_are_one_line_each() {
    let file = result_file();
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, "{\"name\": \"not a result\"}").unwrap();
    let missing = dir.path().join("missing.json");
    let bad_site = dir.path().join("site.toml");
    std::fs::write(&bad_site, "power_prise = 45\n").unwrap();
    let priced = ["--hashprice", "40", "--token-price", "0.2"];
    let with = |extra: &[&str]| -> Vec<String> {
        ["value", file.as_str()]
            .iter()
            .chain(priced.iter())
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (with(&[]), 2, "give the power price"),
        (
            with(&["--power-price", "0"]),
            2,
            "--power-price must be greater than zero",
        ),
        (
            with(&["--power-price", "-20"]),
            2,
            "--power-price must be greater than zero",
        ),
        (
            with(&["--power-price", "45", "--pue", "0.8"]),
            2,
            "--pue must be at least 1.0",
        ),
        (
            with(&["--power-price", "45", "--asic-rate", "200"]),
            2,
            "--asic-watts",
        ),
        (
            with(&["--power-price", "45", "--max-token-latency-ms", "0"]),
            2,
            "--max-token-latency-ms must be greater than zero",
        ),
        (
            with(&["--power-price", "45", "--max-token-latency-ms", "NaN"]),
            2,
            "--max-token-latency-ms must be greater than zero",
        ),
        (
            with(&["--power-price", "45", "--max-token-latency-ms", "1e308"]),
            2,
            "--max-token-latency-ms must be greater than zero",
        ),
        (
            with(&["--power-price", "45", "--sweep", "100:20:5"]),
            2,
            "TO (20) must be above FROM",
        ),
        (
            with(&["--power-price", "45", "--chart", "c.gif"]),
            2,
            ".svg or .png",
        ),
        (
            with(&["--power-price", "45", "--site", bad_site.to_str().unwrap()]),
            2,
            "power_prise",
        ),
        (
            vec![
                "value".into(),
                file.clone(),
                "--power-price".into(),
                "45".into(),
            ],
            2,
            "need a hashprice",
        ),
        (
            vec![
                "value".into(),
                foreign.to_string_lossy().into(),
                "--power-price".into(),
                "45".into(),
            ],
            2,
            "not an mwbench result file",
        ),
        (
            vec![
                "value".into(),
                missing.to_string_lossy().into(),
                "--power-price".into(),
                "45".into(),
            ],
            1,
            "cannot read",
        ),
        (
            vec!["value".into(), "--power-price".into(), "45".into()],
            2,
            "nothing to price",
        ),
    ];
    for (args, code, said) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_one_line_error(&args, code, said);
    }
}

/// The same options as CSV (one record each, plain numbers) and Markdown.
#[test]
fn csv_and_markdown_carry_the_same_options() {
    let file = result_file();
    let args = |format| {
        [
            "value",
            &file,
            "--power-price",
            "45",
            "--hashprice",
            "40",
            "--token-price",
            "0.2",
            "--asic",
            "s21-pro",
            "--format",
            format,
        ]
        .map(String::from)
    };
    let call = |format| {
        let args = args(format);
        let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        output.clone().assert().success();
        String::from_utf8(output.stdout).unwrap()
    };
    let csv = call("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("option,kind,watts,"), "{csv}");
    let asic = lines
        .iter()
        .find(|l| l.contains(",asic,"))
        .expect("the ASIC");
    assert!(asic.contains(",45,"), "{asic}");
    let markdown = call("markdown");
    assert!(markdown.contains("| # | option | kind |"), "{markdown}");
    assert!(markdown.contains("best at 45.00 USD/MWh"), "{markdown}");
}
