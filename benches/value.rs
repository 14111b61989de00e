//! Criterion bench of `value` over a year of prices: parsing 8760 hourly
//! rows (plain) and 35,040 quarter hours (ERCOT's real-time layout), and
//! running four options through the hourly year (a miner, an ASIC, AI
//! held to 97% uptime, a lease), then again with the AI option's roof (the
//! fraction of it where AI overtakes the best miner is a bisection over
//! the year). A site values a year in well under a
//! second; this is where that is measured, never in a timed test. Run:
//! `cargo bench --bench value`.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mwbench::economics::prices::{PriceFormat, PriceSeries};
use mwbench::economics::roof::{Bound, RoofEstimate};
use mwbench::economics::{Inputs, Kind, SiteOption, Valuation};
use mwbench::results::Provenance;

/// An invented year (not market data): a daily swing around 35 USD/MWh,
/// windy nights below zero, and a spike to 800 every 97th hour.
fn price(hour: usize) -> f64 {
    let day = (hour % 24) as f64 / 24.0 * std::f64::consts::TAU;
    match hour {
        h if h % 97 == 0 => 800.0,
        h if h % 53 == 0 => -12.5,
        _ => 35.0 - 15.0 * day.cos(),
    }
}

fn plain_year() -> String {
    let mut text = String::from("timestamp,price_usd_per_mwh\n");
    let start = 1_735_689_600i64; // 2025-01-01T00:00:00Z
    for hour in 0..8760 {
        let time = jiff::Timestamp::from_second(start + 3600 * hour as i64).unwrap();
        text.push_str(&format!("{time},{:.2}\n", price(hour)));
    }
    text
}

fn ercot_rtm_year() -> String {
    let mut text = String::from(
        "Delivery Date,Delivery Hour,Delivery Interval,Repeated Hour Flag,\
         Settlement Point Name,Settlement Point Type,Settlement Point Price\n",
    );
    let mut date = jiff::civil::date(2025, 1, 1);
    for day in 0..365 {
        for hour in 1..=24 {
            for interval in 1..=4 {
                let date_text = date.strftime("%m/%d/%Y");
                let p = price(day * 24 + hour - 1);
                text.push_str(&format!(
                    "{date_text},{hour},{interval},N,HB_NORTH,HU,{p:.2}\n"
                ));
            }
        }
        date = date.tomorrow().unwrap();
    }
    text
}

fn option(name: &str, kind: Kind, revenue: f64, capex: f64, pays_power: bool) -> SiteOption {
    SiteOption {
        name: name.into(),
        kind,
        watts: 1000.0,
        watts_provenance: Provenance::User,
        watts_source: "bench".into(),
        efficiency: Vec::new(),
        revenue_usd_per_mwh: revenue,
        capex_usd_per_mwh: capex,
        pays_power,
        caveat: None,
        roof: None,
    }
}

fn value(c: &mut Criterion) {
    let mut group = c.benchmark_group("value");
    let plain = plain_year();
    let rtm = ercot_rtm_year();
    group.throughput(Throughput::Elements(8760));
    group.bench_function("parse a plain year (8760 hours)", |b| {
        b.iter(|| {
            PriceSeries::parse(
                plain.as_bytes(),
                Path::new("year.csv"),
                PriceFormat::Auto,
                None,
            )
            .unwrap()
        })
    });
    group.throughput(Throughput::Elements(35_040));
    group.bench_function(
        "parse an ERCOT real-time year (35,040 quarter hours)",
        |b| {
            b.iter(|| {
                PriceSeries::parse(
                    rtm.as_bytes(),
                    Path::new("rtm.csv"),
                    PriceFormat::Auto,
                    None,
                )
                .unwrap()
            })
        },
    );
    let mut inputs = Inputs {
        power_price: Some(1.0),
        ..Inputs::default()
    }
    .resolve(None)
    .unwrap();
    inputs.power_price_usd_per_mwh = None;
    inputs.ai_uptime_percent = 97.0;
    inputs.curtailment_credit_usd_per_mwh = 5.0;
    inputs.price_series = Some(
        PriceSeries::parse(
            plain.as_bytes(),
            Path::new("year.csv"),
            PriceFormat::Auto,
            None,
        )
        .unwrap(),
    );
    let valuation = Valuation {
        inputs,
        options: vec![
            option("gpu sha256d", Kind::Mining, 3.0, 40.0, true),
            option("asic", Kind::Asic, 60.0, 20.0, true),
            option("tokens", Kind::Ai, 900.0, 500.0, true),
            option("lease", Kind::Colocation, 140.0, 60.0, false),
        ],
        unpriceable: Vec::new(),
    };
    group.throughput(Throughput::Elements(8760 * 4));
    group.bench_function("four options over a year (8760 hours)", |b| {
        b.iter(|| valuation.report(None, Vec::new()))
    });
    // The AI option at its roof, and the fraction of it where it overtakes
    // the ASIC: a bisection, each step the year run again.
    let mut roofed = valuation;
    roofed.options[2].roof = Some(Ok(RoofEstimate {
        tokens_per_s: 4000.0,
        batch: 64,
        ms_per_token: 16.0,
        bound: Bound::Memory,
        compute_roof: "peak-fma-f32",
        batch_basis: "bench".into(),
        roof_fraction: 0.25,
        measured_tokens_per_s: 1000.0,
    }));
    group.bench_function(
        "four options over a year, AI's roof and where it overtakes",
        |b| b.iter(|| roofed.report(None, Vec::new())),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's HTML plots need a system font that GPU nodes and CI lack
    // (mwbench embeds its own only for its charts); the figures are in the
    // text report.
    config = Criterion::default().without_plots();
    targets = value
}
criterion_main!(benches);
