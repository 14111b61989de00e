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
        "--token-price-out",
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
    // llm-prefill's prompt tokens need an input-token price.
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with(
            "llm-decode tiny f16 context 100 at batch 1 (6 ms/token; within 100 ms/token)"
        )),
        "{names:?}"
    );
    let unpriced = value["unpriceable"].as_array().unwrap();
    assert!(
        unpriced
            .iter()
            .any(|u| u["name"].as_str().unwrap().starts_with("llm-prefill")
                && u["reason"].as_str().unwrap().contains("--token-price-in")),
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

/// Prices over a price series: mining follows the price, AI runs through,
/// a colocation lease is held beside them.
mod series {
    use super::*;

    fn prices(name: &str) -> String {
        fixture(&format!("prices/{name}"))
            .to_string_lossy()
            .into_owned()
    }

    fn priced(extra: &[&str]) -> Vec<String> {
        let file = result_file();
        let mut args: Vec<String> = [
            "value",
            file.as_str(),
            "--hashprice",
            "40",
            "--token-price-out",
            "0.2",
            "--token-price-in",
            "0.05",
            "--asic",
            "s21-pro",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn valued(args: &[String]) -> Value {
        let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        output.clone().assert().success();
        json(&output)
    }

    fn option<'a>(value: &'a Value, kind: &str) -> &'a Value {
        value["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} option in {value}"))
    }

    /// The illustrative day (tests/fixtures/prices): 20 USD/MWh for 8 h,
    /// 40 for 8 h, 150 for 4 h, -10 for 4 h.
    #[test]
    fn a_day_of_hours_with_negative_prices() {
        let day = prices("illustrative-day.csv");
        let value = valued(&priced(&[
            "--price-series",
            &day,
            "--colocation-rate",
            "130",
            "--json",
        ]));
        assert_eq!(value["power_price_usd_per_mwh"], Value::Null);
        let series = &value["price_series"];
        assert_eq!(series["format"], "plain");
        assert_eq!(series["intervals"], 24);
        assert_eq!(series["hours"], 24.0);
        assert_eq!(series["min"], -10.0);
        assert_eq!(series["max"], 150.0);
        assert!((series["mean_price_usd_per_mwh"].as_f64().unwrap() - 1040.0 / 24.0).abs() < 1e-9);
        // The S21 Pro earns 111.11 per MWh at 40 USD per PH/s per day: it
        // stops in the 150 peak only, paying 8x20 + 8x40 - 4x10 = 440.
        let asic = option(&value, "asic");
        assert_eq!(asic["hours_run"], 20.0);
        assert_eq!(asic["power_cost_usd"], 440.0);
        assert_eq!(asic["average_price_paid_usd_per_mwh"], 22.0);
        let margin = asic["margin_usd"].as_f64().unwrap();
        assert!(
            (margin - (20.0 * 111.111_111 - 440.0)).abs() < 1e-3,
            "{margin}"
        );
        assert!((asic["usd_per_mw_year"].as_f64().unwrap() - margin * 365.0).abs() < 1e-6);
        // The lavapipe GPU's sha256d earns almost nothing: it runs only
        // where power is paid for.
        assert_eq!(option(&value, "mining")["hours_run"], 4.0);
        // AI runs every hour, prefill at the input price, decode at the
        // output price.
        for o in value["options"].as_array().unwrap() {
            if o["kind"] == "ai" {
                assert_eq!(o["hours_run"], 24.0, "{o}");
                assert_eq!(o["power_cost_usd"], 1040.0, "{o}");
            }
        }
        let lease = option(&value, "colocation");
        assert_eq!(lease["power_cost_usd"], 0.0);
        assert_eq!(lease["average_price_paid_usd_per_mwh"], Value::Null);
        // 130 USD per kW-month = 130,000 / 730 per MWh, 24 h.
        assert!((lease["revenue_usd"].as_f64().unwrap() - 24.0 * 130_000.0 / 730.0).abs() < 1e-6);
        // Every other option is held against the lease.
        let lease_year = lease["usd_per_mw_year"].as_f64().unwrap();
        let asic_year = asic["usd_per_mw_year"].as_f64().unwrap();
        let against = asic["vs_colocation_usd_per_mw_year"].as_f64().unwrap();
        assert!((against - (asic_year - lease_year)).abs() < 1e-6);
        assert!(lease.get("vs_colocation_usd_per_mw_year").is_none());
        assert!(value["best_usd_per_mw_year"].is_f64());
        assert!(value["best_lead_usd_per_mw_year"].is_f64());
    }

    /// Stopping AI in the dearest hours, paid credits, and a lease that
    /// pays its tenant's power.
    #[test]
    fn uptime_credits_and_colocation_both_ways() {
        let day = prices("illustrative-day.csv");
        // At 0.0001 USD per million output tokens, the tiny model's decode
        // earns under 1 USD per MWh: it may stop in 10% of 24 h (2.4 h),
        // so in two of the four 150 hours, and is credited 30 per MWh.
        let value = valued(&[
            "value".to_string(),
            result_file(),
            "--hashprice".into(),
            "40".into(),
            "--token-price-out".into(),
            "0.0001".into(),
            "--price-series".into(),
            day.clone(),
            "--ai-uptime".into(),
            "90".into(),
            "--curtailment-credit".into(),
            "30".into(),
            "--colocation-rate".into(),
            "130".into(),
            "--colocation-power".into(),
            "included".into(),
            "--json".into(),
        ]);
        assert_eq!(value["ai_uptime_percent"], 90.0);
        assert_eq!(value["curtailment_credit_usd_per_mwh"], 30.0);
        let decode = value["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"].as_str().unwrap().starts_with("llm-decode"))
            .unwrap();
        assert_eq!(decode["hours_run"], 22.0);
        assert_eq!(decode["curtailment_credit_usd"], 60.0);
        assert_eq!(decode["power_cost_usd"], 1040.0 - 300.0);
        // The lease with power included pays every hour (it never stops).
        let lease = option(&value, "colocation");
        assert_eq!(lease["hours_run"], 24.0);
        assert_eq!(lease["power_cost_usd"], 1040.0);
        assert!(lease["name"].as_str().unwrap().contains("power included"));
    }

    /// ERCOT's reports on the autumn clock change: the repeated hour is
    /// kept (25 hours), a hub is picked by name, 15-minute prices weigh a
    /// quarter of an hour.
    #[test]
    fn ercot_reports_on_the_autumn_clock_change() {
        let dam = prices("ercot-dam-layout-autumn-illustrative.csv");
        let value = valued(&priced(&[
            "--price-series",
            &dam,
            "--settlement-point",
            "HB_WEST",
            "--json",
        ]));
        let series = &value["price_series"];
        assert_eq!(series["format"], "ercot-dam");
        assert_eq!(series["settlement_point"], "HB_WEST");
        assert_eq!(series["intervals"], 25);
        assert_eq!(series["hours"], 25.0);
        assert_eq!(series["min"], -5.0);
        let rtm = prices("ercot-rtm-layout-autumn-illustrative.csv");
        let value = valued(&priced(&["--price-series", &rtm, "--json"]));
        let series = &value["price_series"];
        assert_eq!(series["format"], "ercot-rtm");
        assert_eq!(series["intervals"], 100);
        assert_eq!(series["hours"], 25.0);
        assert_eq!(series["max"], 900.0);
        // The ASIC skips the evening peak's 16 quarter hours: 21 h.
        assert_eq!(option(&value, "asic")["hours_run"], 21.0);
        assert_one_line_error(
            &priced(&["--price-series", &dam])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            2,
            "several settlement points (2 in all: HB_NORTH, HB_WEST): pick one with --settlement-point",
        );
    }

    #[test]
    fn the_table_csv_and_the_duration_chart() {
        let day = prices("illustrative-day.csv");
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("duration.svg");
        let output = run(
            &priced(&["--price-series", &day, "--chart", chart.to_str().unwrap()])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        output.clone().assert().success();
        let table = String::from_utf8_lossy(&output.stdout);
        assert!(
            table.contains("Value per MW of site capacity over"),
            "{table}"
        );
        assert!(
            table.contains("24 intervals, 24.0 h, prices -10.00 to 150.00"),
            "{table}"
        );
        assert!(table.contains("best over the series: "), "{table}");
        let svg = std::fs::read_to_string(&chart).unwrap();
        assert!(svg.contains("Price-duration curve"), "{}", &svg[..200]);
        assert!(svg.contains("Antminer S21 Pro (watts estimated): breakeven 111.11 USD/MWh"));
        let output = run(&priced(&["--price-series", &day, "--format", "csv"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>());
        let csv = String::from_utf8(output.stdout).unwrap();
        assert!(
            csv.lines()
                .next()
                .unwrap()
                .contains(",hours_run,uptime_percent,energy_mwh,"),
            "{csv}"
        );
    }

    /// Every class of bad price file, and flags that do not go together:
    /// one line, exit 2.
    #[test]
    fn bad_price_files_and_flags_are_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let header = "timestamp,price_usd_per_mwh\n";
        let dam = "Delivery Date,Hour Ending,Repeated Hour Flag,Settlement Point,Settlement Point Price\n";
        let files = [
            (
                "empty.csv",
                header.to_string(),
                "empty.csv:2: no prices after the header",
            ),
            (
                "columns.csv",
                "Delivery Date,Hour Ending,Settlement Point Price\n01/01/2025,01:00,4\n".into(),
                "columns.csv:1: no column 'Repeated Hour Flag'",
            ),
            (
                "number.csv",
                format!("{header}2025-01-01T00:00:00Z,cheap\n2025-01-01T01:00:00Z,4\n"),
                "number.csv:2: price 'cheap' is not a number",
            ),
            (
                "order.csv",
                format!("{header}2025-01-01T02:00:00Z,3\n2025-01-01T01:00:00Z,4\n"),
                "order.csv:3: out of order",
            ),
            (
                "twice.csv",
                format!("{dam}01/01/2025,01:00,N,HB_HUBAVG,3\n01/01/2025,01:00,N,HB_HUBAVG,4\n"),
                "twice.csv:3: duplicate interval",
            ),
            (
                "hour.csv",
                format!("{dam}01/01/2025,1:30,N,HB_HUBAVG,3\n"),
                "hour.csv:2: Hour Ending '1:30' is not on the hour",
            ),
        ];
        for (name, text, said) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let args = priced(&["--price-series", path.to_str().unwrap()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_one_line_error(&args, 2, said);
        }
        let day = prices("illustrative-day.csv");
        let cases: [(&[&str], &str); 4] = [
            (
                &["--price-series", &day, "--power-price", "45"],
                "give --power-price or --price-series, not both",
            ),
            (
                &["--price-series", &day, "--sweep", "10:50:10"],
                "--sweep varies a flat power price",
            ),
            (
                &["--power-price", "45", "--ai-uptime", "90"],
                "--ai-uptime applies to a price series",
            ),
            (
                &["--price-series", &day, "--price-format", "hourly"],
                "invalid value 'hourly'",
            ),
        ];
        for (extra, said) in cases {
            let args = priced(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_one_line_error(&args, 2, said);
        }
    }
}

/// The committed H200 file: its decode at batch 1 read weights at 29% of
/// the copy bandwidth measured beside it. `value` puts the roof beside it
/// and says from what fraction of the roof AI overtakes the S21 Pro.
#[test]
fn ai_options_carry_their_roof_and_the_verdict_says_where_ai_overtakes() {
    let h200 = fixture("../../results/h200-vulkan-2026-11-27.json");
    let h200 = h200.to_str().unwrap();
    let args = [
        "value",
        h200,
        "--power-price",
        "45",
        "--hashprice",
        "42",
        "--token-price-out",
        "0.2",
        "--asic",
        "s21-pro",
    ];
    let output = run(&args);
    output.clone().assert().success();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("at the roof (memory-bound, copy-bandwidth): 267 tokens/s at batch 1"),
        "{table}"
    );
    assert!(
        table.contains("AI overtakes Antminer S21 Pro from 30% of its roof"),
        "{table}"
    );
    assert!(table.contains("device memory unknown"), "{table}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let value = json(&run(&json_args));
    assert_eq!(value["best_mining"], "Antminer S21 Pro");
    let fraction = value["overtakes_best_mining_at_roof_fraction"]
        .as_f64()
        .unwrap();
    assert!((0.30..0.31).contains(&fraction), "{fraction}");
    let decode = value["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"].as_str().unwrap().starts_with("llm-decode"))
        .unwrap();
    let attainable = &decode["attainable"];
    assert_eq!(attainable["bound"], "memory");
    assert_eq!(attainable["compute_roof"], "peak-fma-f32");
    assert_eq!(attainable["batch"], 1);
    for key in [
        "tokens_per_s",
        "ms_per_token",
        "revenue_usd_per_mwh",
        "margin_usd_per_mwh",
        "usd_per_mw_year",
    ] {
        assert!(attainable[key].is_f64(), "{key} in {attainable}");
    }
    let roof_fraction = decode["roof_fraction"].as_f64().unwrap();
    assert!((0.28..0.30).contains(&roof_fraction), "{roof_fraction}");
    let mut csv_args = args.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = String::from_utf8(run(&csv_args).stdout).unwrap();
    let header = csv.lines().next().unwrap();
    for column in [
        "attainable_tokens_per_s",
        "attainable_bound",
        "roof_fraction",
        "overtakes_best_mining_at_roof_fraction",
    ] {
        assert!(header.split(',').any(|c| c == column), "{header}");
    }
}
