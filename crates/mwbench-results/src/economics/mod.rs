//! `mwbench value`: what a MWh earns hashing or serving inference. The
//! model is pure functions ([`model`]); [`inputs`] gathers prices from
//! flags and a site file; [`options`] turns result files and ASIC figures
//! into priced options; [`Valuation`] ranks them at a power price.

pub mod asics;
pub mod dispatch;
pub mod inputs;
pub mod model;
pub mod options;
pub mod prices;
pub mod roof;

use schemars::JsonSchema;
use serde::Serialize;

pub use dispatch::SeriesEconomics;
pub use inputs::{Inputs, Resolved};
pub use model::Economics;
pub use options::{Kind, SiteOption, Unpriceable};
pub use prices::{PriceSeries, PriceSeriesSummary};

use crate::{Error, Result};

/// The priced options under one set of inputs.
pub struct Valuation {
    pub inputs: Resolved,
    pub options: Vec<SiteOption>,
    pub unpriceable: Vec<Unpriceable>,
}

impl Valuation {
    /// Fails when a figure came out infinite or NaN: inputs are checked
    /// for range one by one, and this catches what their products do.
    pub fn check_finite(&self) -> Result<()> {
        let series = self.over_series();
        for (index, option) in self.options.iter().enumerate() {
            let mut figures = vec![option.revenue_usd_per_mwh, option.capex_usd_per_mwh];
            if let Some(price) = self.inputs.power_price_usd_per_mwh {
                let e = option.at(price);
                figures.extend([e.margin_usd_per_mwh, e.usd_per_mw_year]);
                figures.extend(e.breakeven_power_price_usd_per_mwh);
            }
            if let Some(e) = series.get(index) {
                figures.extend([
                    e.revenue_usd,
                    e.power_cost_usd,
                    e.margin_usd,
                    e.usd_per_mw_year,
                ]);
            }
            if figures.iter().any(|f| !f.is_finite()) {
                return Err(Error::usage(format!(
                    "{}: its figures overflow (revenue {} USD/MWh from {} W): check the \
                     result file and prices",
                    option.name, option.revenue_usd_per_mwh, option.watts
                )));
            }
        }
        Ok(())
    }

    /// What each option earns over the price series, in the options'
    /// order; empty at a flat price.
    pub fn over_series(&self) -> Vec<SeriesEconomics> {
        let Some(series) = &self.inputs.price_series else {
            return Vec::new();
        };
        self.options
            .iter()
            .map(|o| {
                dispatch::operate(
                    &o.profile(&self.inputs),
                    &series.intervals,
                    self.inputs.curtailment_credit_usd_per_mwh,
                )
            })
            .collect()
    }
}

/// An option's roof as a report shows it.
#[derive(Debug, Clone, Default)]
struct Roofed {
    attainable: Option<Attainable>,
    roof_fraction: Option<f64>,
    note: Option<String>,
    overtakes_at: Option<f64>,
}

/// Past this many times its roof an AI option "never" overtakes: no
/// kernel or serving stack runs that far above the hardware.
pub const NEVER_BEYOND_ROOF: f64 = 1024.0;

/// The smallest fraction at which `earns` holds, for a test that never
/// turns false as the fraction grows: doubled up to
/// [`NEVER_BEYOND_ROOF`], then bisected; `None` where it never holds.
fn smallest_fraction(earns: impl Fn(f64) -> bool) -> Option<f64> {
    if earns(0.0) {
        return Some(0.0);
    }
    let mut high = 1.0;
    while !earns(high) {
        high *= 2.0;
        if high > NEVER_BEYOND_ROOF {
            return None;
        }
    }
    let mut low = if high > 1.0 { high / 2.0 } else { 0.0 };
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if earns(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    Some(high)
}

impl Valuation {
    /// What ranks `option` if it earned `revenue` per MWh: its margin per
    /// MWh at the flat price, or its USD per MW-year over the series.
    fn ranked(&self, option: &SiteOption, revenue: f64) -> Option<f64> {
        let option = SiteOption {
            revenue_usd_per_mwh: revenue,
            ..option.clone()
        };
        match (
            self.inputs.power_price_usd_per_mwh,
            &self.inputs.price_series,
        ) {
            (Some(price), _) => Some(option.at(price).margin_usd_per_mwh),
            (None, Some(series)) => Some(
                dispatch::operate(
                    &option.profile(&self.inputs),
                    &series.intervals,
                    self.inputs.curtailment_credit_usd_per_mwh,
                )
                .usd_per_mw_year,
            ),
            (None, None) => None,
        }
    }

    /// The mining option (GPU or ASIC) that ranks first, with its figure.
    fn best_mining(&self) -> Option<(&SiteOption, f64)> {
        self.options
            .iter()
            .filter(|o| matches!(o.kind, Kind::Mining | Kind::Asic))
            .filter_map(|o| Some((o, self.ranked(o, o.revenue_usd_per_mwh)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// `option` at its roof, and the fraction of it at which it earns
    /// `mining` (the best mining option's ranked figure): revenue grows
    /// with tokens per second at the option's watts, and the margin with
    /// revenue (never down), so the fraction is found by bisection, at a
    /// flat price as over a series.
    fn roofed(&self, option: &SiteOption, mining: Option<f64>) -> Roofed {
        let estimate = match &option.roof {
            None => return Roofed::default(),
            Some(Err(why)) => {
                return Roofed {
                    note: Some(format!("no roof: {why}")),
                    ..Roofed::default()
                };
            }
            Some(Ok(estimate)) => estimate,
        };
        let scale = estimate.tokens_per_s / estimate.measured_tokens_per_s;
        let revenue = option.revenue_usd_per_mwh * scale;
        if !(revenue.is_finite() && estimate.tokens_per_s.is_finite()) {
            return Roofed {
                note: Some("no roof: its figures overflow (check the result file)".into()),
                ..Roofed::default()
            };
        }
        let at_price = self.inputs.power_price_usd_per_mwh.map(|price| {
            SiteOption {
                revenue_usd_per_mwh: revenue,
                ..option.clone()
            }
            .at(price)
        });
        let usd_per_mw_year = match &at_price {
            Some(economics) => economics.usd_per_mw_year,
            None => self.ranked(option, revenue).unwrap_or(f64::NAN),
        };
        let overtakes_at = mining.filter(|_| revenue > 0.0).and_then(|target| {
            smallest_fraction(|fraction| {
                self.ranked(option, fraction * revenue)
                    .is_some_and(|figure| figure >= target)
            })
        });
        Roofed {
            attainable: Some(Attainable {
                tokens_per_s: estimate.tokens_per_s,
                batch: estimate.batch,
                ms_per_token: estimate.ms_per_token,
                bound: estimate.bound,
                compute_roof: estimate.compute_roof.to_string(),
                batch_basis: estimate.batch_basis.clone(),
                measured_tokens_per_s: estimate.measured_tokens_per_s,
                watts: option.watts,
                assumption: format!(
                    "at the measured {:.0} W: a device at its roof may draw more",
                    option.watts
                ),
                revenue_usd_per_mwh: revenue,
                margin_usd_per_mwh: at_price.map(|e| e.margin_usd_per_mwh),
                usd_per_mw_year,
            }),
            roof_fraction: Some(estimate.roof_fraction),
            note: None,
            overtakes_at,
        }
    }
}

/// The option with the largest margin, and its lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Best<'a> {
    pub option: &'a SiteOption,
    /// Per MWh at a flat price; per MW-year over a series.
    pub margin: f64,
    /// The next best option and how much more the best earns.
    pub runner_up: Option<(&'a SiteOption, f64)>,
}

/// The option with the largest of `margins` (one per option).
fn best_of<'a>(options: &'a [SiteOption], margins: &[f64]) -> Option<Best<'a>> {
    let mut ranked: Vec<(&SiteOption, f64)> = options.iter().zip(margins.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (option, margin) = *ranked.first()?;
    Some(Best {
        option,
        margin,
        runner_up: ranked.get(1).map(|(o, m)| (*o, margin - m)),
    })
}

impl Valuation {
    /// The best option at a flat `power_price`; `None` without priced
    /// options.
    pub fn best_at(&self, power_price: f64) -> Option<Best<'_>> {
        let margins: Vec<f64> = self
            .options
            .iter()
            .map(|o| o.at(power_price).margin_usd_per_mwh)
            .collect();
        best_of(&self.options, &margins)
    }

    /// What `value` reports: at the flat power price (with `sweep`'s
    /// margins), or over the price series.
    pub fn report(&self, sweep: Option<&Sweep>, notes: Vec<String>) -> ValueReport {
        let price = self.inputs.power_price_usd_per_mwh;
        let series = self.over_series();
        // Each option's USD per MW-year: what a series ranks by, and what
        // every option is held against the lease with.
        let yearly: Vec<f64> = match price {
            Some(price) => self
                .options
                .iter()
                .map(|o| o.at(price).usd_per_mw_year)
                .collect(),
            None => series.iter().map(|e| e.usd_per_mw_year).collect(),
        };
        let best = match price {
            Some(price) => self.best_at(price),
            None => best_of(&self.options, &yearly),
        };
        let per_year = |margin: f64| match price {
            Some(_) => model::usd_per_mw_year(margin),
            None => margin,
        };
        let lease = self
            .options
            .iter()
            .position(|o| o.kind == Kind::Colocation)
            .map(|index| yearly[index]);
        let best_mining = self.best_mining();
        let roofs: Vec<Roofed> = self
            .options
            .iter()
            .map(|o| self.roofed(o, best_mining.map(|(_, figure)| figure)))
            .collect();
        // The headline holds options without a caution: prompt tokens
        // alone overstate what serving earns.
        let overtaking = roofs
            .iter()
            .enumerate()
            .filter(|(index, _)| self.options[*index].caveat.is_none())
            .filter_map(|(index, r)| Some((index, r.overtakes_at?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        ValueReport {
            power_price_usd_per_mwh: price,
            price_series: self.inputs.price_series.as_ref().map(|s| s.summary()),
            ai_uptime_percent: self
                .inputs
                .price_series
                .as_ref()
                .map(|_| self.inputs.ai_uptime_percent),
            curtailment_credit_usd_per_mwh: self
                .inputs
                .price_series
                .as_ref()
                .map(|_| self.inputs.curtailment_credit_usd_per_mwh),
            hashprice_usd_per_ph_day: self.inputs.hashprice.as_ref().map(|h| h.usd_per_ph_day),
            hashprice_from: self.inputs.hashprice.as_ref().map(|h| h.from.clone()),
            pue_mining: self.inputs.pue_mining,
            pue_ai: self.inputs.pue_ai,
            options: self
                .options
                .iter()
                .enumerate()
                .map(|(index, o)| PricedOption {
                    name: o.name.clone(),
                    kind: o.kind,
                    estimated: o.estimated(),
                    watts: o.watts,
                    watts_provenance: o.watts_provenance,
                    watts_source: o.watts_source.clone(),
                    efficiency: o.efficiency.clone(),
                    caveat: o.caveat.clone(),
                    vs_colocation_usd_per_mw_year: lease
                        .filter(|_| o.kind != Kind::Colocation)
                        .map(|lease| yearly[index] - lease),
                    economics: price.map(|p| o.at(p)),
                    series: series.get(index).copied(),
                    attainable: roofs[index].attainable.clone(),
                    roof_fraction: roofs[index].roof_fraction,
                    roof_note: roofs[index].note.clone(),
                    overtakes_best_mining_at_roof_fraction: roofs[index].overtakes_at,
                })
                .collect(),
            best_mining: best_mining.map(|(o, _)| o.name.clone()),
            overtakes_best_mining_at_roof_fraction: overtaking.map(|(_, f)| f),
            overtaking_option: overtaking.map(|(index, _)| self.options[index].name.clone()),
            overtaking_measured_roof_fraction: overtaking.and_then(|(index, _)| {
                roofs[index]
                    .attainable
                    .as_ref()
                    .map(|a| a.measured_tokens_per_s / a.tokens_per_s)
            }),
            unpriceable: self.unpriceable.clone(),
            best: best.as_ref().map(|b| b.option.name.clone()),
            best_margin_usd_per_mwh: best.as_ref().filter(|_| price.is_some()).map(|b| b.margin),
            best_lead_usd_per_mwh: best
                .as_ref()
                .filter(|_| price.is_some())
                .and_then(|b| b.runner_up.map(|(_, lead)| lead)),
            best_usd_per_mw_year: best.as_ref().map(|b| per_year(b.margin)),
            best_lead_usd_per_mw_year: best
                .as_ref()
                .and_then(|b| b.runner_up.map(|(_, lead)| per_year(lead))),
            best_runner_up: best
                .as_ref()
                .and_then(|b| b.runner_up.map(|(o, _)| o.name.clone())),
            sweep: sweep.map(|sweep| {
                sweep
                    .prices()
                    .into_iter()
                    .map(|p| SweepRow {
                        power_price_usd_per_mwh: p,
                        margins_usd_per_mwh: self
                            .options
                            .iter()
                            .map(|o| o.at(p).margin_usd_per_mwh)
                            .collect(),
                        best: self.best_at(p).map(|b| b.option.name.clone()),
                        best_pays: self.best_at(p).is_some_and(|b| b.margin > 0.0),
                    })
                    .collect()
            }),
            notes,
        }
    }
}

/// What `mwbench value` reports.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ValueReport {
    /// The flat power price; null with a price series.
    pub power_price_usd_per_mwh: Option<f64>,
    /// The price series priced over (`--price-series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_series: Option<PriceSeriesSummary>,
    /// With a series: the share of hours AI runs at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_uptime_percent: Option<f64>,
    /// With a series: paid per MWh not drawn while stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curtailment_credit_usd_per_mwh: Option<f64>,
    pub hashprice_usd_per_ph_day: Option<f64>,
    /// Where the hashprice came from (a flag, or BTC price, difficulty,
    /// subsidy and fees).
    pub hashprice_from: Option<String>,
    pub pue_mining: f64,
    pub pue_ai: f64,
    /// Every priced option, in the order of the files and ASICs given.
    pub options: Vec<PricedOption>,
    pub unpriceable: Vec<Unpriceable>,
    /// The option with the largest margin at the power price, or over the
    /// series.
    pub best: Option<String>,
    /// At a flat price: the best margin per MWh and its lead over the
    /// runner-up.
    pub best_margin_usd_per_mwh: Option<f64>,
    pub best_lead_usd_per_mwh: Option<f64>,
    /// The best margin per MW-year, and its lead.
    pub best_usd_per_mw_year: Option<f64>,
    pub best_lead_usd_per_mw_year: Option<f64>,
    pub best_runner_up: Option<String>,
    /// The mining option (GPU or ASIC) with the largest margin: what AI is
    /// held against at its roof.
    pub best_mining: Option<String>,
    /// The smallest fraction of its roof at which an AI option earns as
    /// much as `best_mining`: below its measured fraction it already does;
    /// above 1 only past the roof; null where none ever does.
    pub overtakes_best_mining_at_roof_fraction: Option<f64>,
    /// The AI option that overtakes first.
    pub overtaking_option: Option<String>,
    /// Where that option's measured throughput is, as a fraction of the
    /// same roof.
    pub overtaking_measured_roof_fraction: Option<f64>,
    /// Margins at each swept power price (`--sweep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Vec<SweepRow>>,
    /// Result files a signal or a hung GPU stopped early.
    pub notes: Vec<String>,
}

/// One option priced at the power price, or over the series.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PricedOption {
    pub name: String,
    pub kind: Kind,
    /// The watts are an estimate, not a measurement or a figure given.
    pub estimated: bool,
    pub watts: f64,
    pub watts_provenance: crate::results::Provenance,
    pub watts_source: String,
    pub efficiency: Vec<crate::results::Figure>,
    /// What the figure leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    /// With a colocation lease priced: how much more (or less) a MW earns
    /// a year this way than leased, the reference every option is held
    /// against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_colocation_usd_per_mw_year: Option<f64>,
    /// At a flat power price.
    #[serde(flatten)]
    pub economics: Option<Economics>,
    /// Over a price series, per MW of site capacity.
    #[serde(flatten)]
    pub series: Option<SeriesEconomics>,
    /// mwbench's own LLM results: what the same device reaches at the
    /// roofs measured in the same file, at this option's measured watts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attainable: Option<Attainable>,
    /// The measured throughput over the roof's at the measured batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roof_fraction: Option<f64>,
    /// Why an LLM option has no roof (no ceilings in its file, no model
    /// sizes in its params).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roof_note: Option<String>,
    /// The fraction of its roof at which this option's margin reaches the
    /// best mining option's; above 1 only past the roof, null where it
    /// never does (or there is no mining option).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overtakes_best_mining_at_roof_fraction: Option<f64>,
}

/// An LLM option at the roofs of its device.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Attainable {
    pub tokens_per_s: f64,
    /// The batch at the roof (see `batch_basis`).
    pub batch: u64,
    /// Milliseconds each sequence waits per token at the roof.
    pub ms_per_token: f64,
    /// `memory` (weights and caches at copy-bandwidth) or `compute`.
    pub bound: roof::Bound,
    /// The compute roof: `peak-mma-f16` (tensor cores) or `peak-fma-f32`.
    pub compute_roof: String,
    /// How the batch was chosen.
    pub batch_basis: String,
    /// The option's measured throughput, at its own batch.
    pub measured_tokens_per_s: f64,
    /// The watts assumed at the roof: the option's measured watts.
    pub watts: f64,
    pub assumption: String,
    pub revenue_usd_per_mwh: f64,
    /// At a flat power price; null over a series.
    pub margin_usd_per_mwh: Option<f64>,
    pub usd_per_mw_year: f64,
}

/// Margins at one swept power price, one per option in `options`' order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SweepRow {
    pub power_price_usd_per_mwh: f64,
    pub margins_usd_per_mwh: Vec<f64>,
    pub best: Option<String>,
    /// Whether the best option's margin is above zero.
    pub best_pays: bool,
}

/// `--sweep FROM:TO:STEP`: power prices in USD per MWh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sweep {
    pub from: f64,
    pub to: f64,
    pub step: f64,
}

/// More prices than any table or chart can show.
const MAX_SWEEP_POINTS: usize = 10_000;

impl std::str::FromStr for Sweep {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [from, to, step] = parts[..] else {
            return Err(format!("'{text}' is not FROM:TO:STEP (e.g. 20:120:10)"));
        };
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("'{s}' in '{text}' is not a number"))
        };
        let sweep = Sweep {
            from: number(from)?,
            to: number(to)?,
            step: number(step)?,
        };
        if sweep.from <= 0.0 {
            return Err("power prices must be greater than zero".into());
        }
        if sweep.to <= sweep.from {
            return Err(format!(
                "TO ({}) must be above FROM ({})",
                sweep.to, sweep.from
            ));
        }
        if sweep.step <= 0.0 {
            return Err("STEP must be greater than zero".into());
        }
        if sweep.to > inputs::MAX_POWER_PRICE {
            return Err(format!(
                "TO ({}) is above {} USD/MWh, more than any market clears",
                sweep.to,
                inputs::MAX_POWER_PRICE
            ));
        }
        if (sweep.to - sweep.from) / sweep.step > MAX_SWEEP_POINTS as f64 {
            return Err(format!(
                "more than {MAX_SWEEP_POINTS} prices: use a larger STEP"
            ));
        }
        Ok(sweep)
    }
}

impl Sweep {
    /// FROM, FROM + STEP, ... up to TO (included when it falls on a step).
    pub fn prices(&self) -> Vec<f64> {
        let count = ((self.to - self.from) / self.step + 1e-9).floor() as usize;
        (0..=count)
            .map(|i| self.from + i as f64 * self.step)
            .collect()
    }
}

/// Fails (usage) when there is nothing to price at all: no result files
/// and no option that needs none (ASICs, a colocation lease).
pub fn require_something(files: usize, options_without_files: usize) -> Result<()> {
    if files == 0 && options_without_files == 0 {
        return Err(Error::usage(
            "nothing to price: give result files from `mwbench run`, or --asic NAME, \
             --asic-rate with --asic-watts, or --colocation-rate",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::valuation;

    /// The fixture's valuation with its AI option (400 USD per MWh at 100
    /// tokens/s) measured at a quarter of a 400 tokens/s roof.
    fn with_roof(inputs: Option<Resolved>) -> Valuation {
        let mut v = valuation();
        if let Some(inputs) = inputs {
            v.inputs = inputs;
        }
        v.options[1].roof = Some(Ok(roof::RoofEstimate {
            tokens_per_s: 400.0,
            batch: 16,
            ms_per_token: 40.0,
            bound: roof::Bound::Memory,
            compute_roof: "peak-fma-f32",
            batch_basis: "test".into(),
            roof_fraction: 0.25,
            measured_tokens_per_s: 100.0,
        }));
        v
    }

    /// At 50 USD/MWh the ASIC (margin 40) trails the GPU's hashing (50):
    /// AI (capex 250) earns 50 once f x 1600 = 50 + 50 + 250, at 21.9% of
    /// its roof; at the roof it earns 1600 - 300.
    #[test]
    fn ai_overtakes_the_best_miner_at_a_fraction_of_its_roof() {
        let report = with_roof(None).report(None, Vec::new());
        assert_eq!(report.best_mining.as_deref(), Some("hashing"));
        let fraction = report.overtakes_best_mining_at_roof_fraction.unwrap();
        assert!((fraction - 350.0 / 1600.0).abs() < 1e-9, "{fraction}");
        assert_eq!(report.overtaking_option.as_deref(), Some("tokens"));
        assert_eq!(report.overtaking_measured_roof_fraction, Some(0.25));
        let tokens = &report.options[1];
        let a = tokens.attainable.as_ref().unwrap();
        assert_eq!(a.revenue_usd_per_mwh, 1600.0);
        assert_eq!(a.margin_usd_per_mwh, Some(1300.0));
        assert_eq!(a.usd_per_mw_year, 1300.0 * 8760.0);
        assert_eq!(tokens.roof_fraction, Some(0.25));
        // Options without a roof carry none of it.
        assert!(report.options[0].attainable.is_none());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["options"][1]["attainable"]["bound"], "memory");
        assert!(json["options"][0].get("attainable").is_none());
    }

    /// Over a price series the margin is not a line in the revenue (AI may
    /// stop in the dearest hours), so the fraction is where the two
    /// options' USD per MW-year meet.
    #[test]
    fn over_a_series_the_fraction_is_where_the_years_meet() {
        let series =
            crate::fixtures::repository_root().join("tests/fixtures/prices/illustrative-day.csv");
        let inputs = Inputs {
            price_series: Some(series),
            hashprice: Some(40.0),
            ai_uptime: Some(95.0),
            ..Inputs::default()
        }
        .resolve(None)
        .unwrap();
        let v = with_roof(Some(inputs));
        let report = v.report(None, Vec::new());
        let fraction = report.overtakes_best_mining_at_roof_fraction.unwrap();
        let (_, target) = v.best_mining().unwrap();
        let ai = &v.options[1];
        let at = |f: f64| v.ranked(ai, f * 1600.0).unwrap();
        assert!(at(fraction) >= target && at(fraction * 0.999) < target);
        let a = report.options[1].attainable.as_ref().unwrap();
        assert_eq!(a.margin_usd_per_mwh, None, "no flat margin over a series");
        assert_eq!(a.usd_per_mw_year, at(1.0));
    }

    /// An AI option that needs more than its roof says so (above 1); one
    /// whose file had no ceilings says why it has no roof.
    #[test]
    fn past_the_roof_and_without_one() {
        let mut v = with_roof(None);
        v.options[0].revenue_usd_per_mwh = 2000.0;
        let report = v.report(None, Vec::new());
        let fraction = report.overtakes_best_mining_at_roof_fraction.unwrap();
        assert!((fraction - (1990.0 + 250.0) / 1600.0).abs() < 1e-9);
        v.options[1].roof = Some(Err("no verified copy-bandwidth in its file".into()));
        let report = v.report(None, Vec::new());
        assert_eq!(report.overtakes_best_mining_at_roof_fraction, None);
        assert!(
            report.options[1]
                .roof_note
                .as_ref()
                .unwrap()
                .contains("copy-bandwidth")
        );
    }

    #[test]
    fn the_best_option_and_its_lead() {
        let v = valuation();
        // Margins at 50: hashing 50, tokens 100, asic 40.
        let best = v.best_at(50.0).unwrap();
        assert_eq!(best.option.name, "tokens");
        assert_eq!(best.margin, 100.0);
        let (runner_up, lead) = best.runner_up.unwrap();
        assert_eq!((runner_up.name.as_str(), lead), ("hashing", 50.0));
        // Per site MWh every option pays the same for power, so the ranking
        // holds at any price; only the sign of the margins changes.
        assert_eq!(v.best_at(500.0).unwrap().option.name, "tokens");
        assert!(v.best_at(500.0).unwrap().margin < 0.0);
    }

    #[test]
    fn json_has_what_analysts_read() {
        let sweep: Sweep = "25:75:25".parse().unwrap();
        let json = serde_json::to_value(valuation().report(Some(&sweep), Vec::new())).unwrap();
        assert_eq!(json["power_price_usd_per_mwh"], 50.0);
        assert_eq!(json["hashprice_usd_per_ph_day"], 40.0);
        assert_eq!(json["best"], "tokens");
        assert_eq!(json["best_lead_usd_per_mwh"], 50.0);
        let tokens = &json["options"][1];
        assert_eq!(tokens["kind"], "ai");
        assert_eq!(tokens["revenue_usd_per_mwh"], 400.0);
        assert_eq!(tokens["power_cost_usd_per_mwh"], 50.0);
        assert_eq!(tokens["capex_usd_per_mwh"], 250.0);
        assert_eq!(tokens["margin_usd_per_mwh"], 100.0);
        assert_eq!(tokens["usd_per_mw_year"], 876_000.0);
        assert_eq!(tokens["breakeven_power_price_usd_per_mwh"], 150.0);
        assert_eq!(json["options"][2]["estimated"], true);
        assert_eq!(json["options"][2]["watts_provenance"], "estimated");
        assert_eq!(json["unpriceable"][0]["reason"], "no watts");
        assert_eq!(json["sweep"].as_array().unwrap().len(), 3);
        assert_eq!(json["sweep"][0]["margins_usd_per_mwh"][0], 75.0);
    }

    /// The fixture's options over a day of hourly prices: 20 at night (8
    /// h), 40 by day (8 h), 150 at the evening peak (4 h), -10 in four
    /// windy hours; 1040 USD for a MW running through it.
    #[test]
    fn over_a_series_mining_follows_the_price_and_ai_runs_through() {
        let mut v = valuation();
        let prices = [(8, 20.0), (8, 40.0), (4, 150.0), (4, -10.0)];
        v.inputs.power_price_usd_per_mwh = None;
        v.inputs.price_series = Some(PriceSeries {
            file: "day.csv".into(),
            format: prices::PriceFormat::Plain,
            settlement_point: None,
            intervals: prices
                .iter()
                .flat_map(|&(hours, price)| {
                    std::iter::repeat_n(
                        prices::Interval {
                            hours: 1.0,
                            price_usd_per_mwh: price,
                        },
                        hours,
                    )
                })
                .collect(),
        });
        v.check_finite().unwrap();
        let json = serde_json::to_value(v.report(None, Vec::new())).unwrap();
        assert_eq!(json["power_price_usd_per_mwh"], serde_json::Value::Null);
        let series = &json["price_series"];
        assert_eq!(series["intervals"], 24);
        assert_eq!(series["hours"], 24.0);
        assert_eq!(
            (series["min"].as_f64(), series["max"].as_f64()),
            (Some(-10.0), Some(150.0))
        );
        assert_eq!(json["ai_uptime_percent"], 100.0);
        // Hashing (110 per MWh, capex 10 an hour) skips the peak: 20 h,
        // paying 440, earning 2200, capex 240 for all 24 h.
        let hashing = &json["options"][0];
        assert_eq!(hashing["hours_run"], 20.0);
        assert_eq!(hashing["energy_mwh"], 20.0);
        assert_eq!(hashing["average_price_paid_usd_per_mwh"], 22.0);
        assert_eq!(hashing["power_cost_usd"], 440.0);
        assert_eq!(hashing["capex_usd"], 240.0);
        assert_eq!(hashing["margin_usd"], 1520.0);
        assert_eq!(hashing["usd_per_mw_year"], 1520.0 * 365.0);
        assert_eq!(hashing["running_pays_below_usd_per_mwh"], 110.0);
        assert!(
            hashing.get("margin_usd_per_mwh").is_none(),
            "no flat-price keys"
        );
        // Tokens (400, capex 250) run all 24 h: 9600 - 1040 - 6000.
        let tokens = &json["options"][1];
        assert_eq!(tokens["hours_run"], 24.0);
        assert_eq!(tokens["uptime_percent"], 100.0);
        assert_eq!(tokens["margin_usd"], 2560.0);
        assert_eq!(json["best"], "tokens");
        assert_eq!(json["best_usd_per_mw_year"], 2560.0 * 365.0);
        assert_eq!(json["best_lead_usd_per_mw_year"], 1040.0 * 365.0);
        assert_eq!(json["best_runner_up"], "hashing");
        assert_eq!(json["best_margin_usd_per_mwh"], serde_json::Value::Null);
    }

    #[test]
    fn sweeps_parse_and_list_their_prices() {
        let sweep: Sweep = "20:60:10".parse().unwrap();
        assert_eq!(sweep.prices(), [20.0, 30.0, 40.0, 50.0, 60.0]);
        let uneven: Sweep = "10:25:10".parse().unwrap();
        assert_eq!(uneven.prices(), [10.0, 20.0]);
        for bad in [
            "20:60",
            "a:60:10",
            "60:20:10",
            "0:20:5",
            "20:60:0",
            "1:1e9:0.001",
        ] {
            assert!(bad.parse::<Sweep>().is_err(), "{bad}");
        }
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_sweep_is_bounded_or_refused(text in "[-+0-9.e:a-z]{0,20}") {
                if let Ok(sweep) = text.parse::<Sweep>() {
                    let prices = sweep.prices();
                    prop_assert!(prices.len() <= MAX_SWEEP_POINTS + 1);
                    prop_assert!(prices.iter().all(|p| p.is_finite() && *p > 0.0));
                }
            }
        }
    }
}
