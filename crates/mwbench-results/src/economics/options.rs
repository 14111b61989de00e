//! The options a site can turn a MW to, built from result files and ASIC
//! figures, each with its revenue and capital cost per site MWh. Revenue
//! does not depend on the power price; [`SiteOption::at`] adds it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::dispatch::{Operation, Profile};
use super::inputs::{Capex, Colocation, ColocationPower, Resolved};
use super::model::{self, Economics};
use super::roof::{self, RoofEstimate};
use crate::results::{Figure, Provenance, ResultFile, Status, Unit, WorkloadResult};
use crate::{Error, Result};

/// What an option sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// SHA-256d on a GPU measured here.
    Mining,
    /// Inference: tokens or GPU-hours.
    Ai,
    /// A bitcoin ASIC, from its figures.
    Asic,
    /// The powered building leased to a tenant, per kW-month.
    Colocation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mining => "mining",
            Kind::Ai => "ai",
            Kind::Asic => "asic",
            Kind::Colocation => "colocation",
        }
    }

    /// How it follows an hourly price: hashing stops whenever stopping
    /// earns more; AI keeps the uptime its customers expect; a lease runs.
    pub fn operation(self, inputs: &Resolved) -> Operation {
        match self {
            Kind::Mining | Kind::Asic => Operation::Flexible,
            Kind::Ai => Operation::Rigid {
                uptime_percent: inputs.ai_uptime_percent,
            },
            Kind::Colocation => Operation::Rigid {
                uptime_percent: 100.0,
            },
        }
    }
}

/// One way to use the power, priced per site MWh.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOption {
    pub name: String,
    pub kind: Kind,
    /// The hardware's draw (IT, before PUE).
    pub watts: f64,
    pub watts_provenance: Provenance,
    /// Where the watts come from, in words.
    pub watts_source: String,
    /// The option's efficiency in its field's units (J/TH, tokens/J, ...).
    pub efficiency: Vec<Figure>,
    pub revenue_usd_per_mwh: f64,
    pub capex_usd_per_mwh: f64,
    /// False for a colocation lease whose tenant pays the power.
    pub pays_power: bool,
    /// What the figure leaves out, said wherever it is shown.
    pub caveat: Option<String>,
    /// For mwbench's own LLM results: what the same device reaches at the
    /// roofs measured in the same file, or why that cannot be said.
    pub roof: Option<std::result::Result<RoofEstimate, String>>,
}

impl SiteOption {
    /// True when the watts are an estimate, not a measurement or a figure
    /// the user gave.
    pub fn estimated(&self) -> bool {
        self.watts_provenance == Provenance::Estimated
    }

    /// Its economics at `power_price` USD per MWh.
    pub fn at(&self, power_price_usd_per_mwh: f64) -> Economics {
        if !self.pays_power {
            return Economics::power_paid_by_tenant(
                self.revenue_usd_per_mwh,
                self.capex_usd_per_mwh,
            );
        }
        Economics::at(
            self.revenue_usd_per_mwh,
            self.capex_usd_per_mwh,
            power_price_usd_per_mwh,
        )
    }

    /// It as a price series sees it, per MW of site capacity.
    pub fn profile(&self, inputs: &Resolved) -> Profile {
        Profile {
            revenue_usd_per_mwh: self.revenue_usd_per_mwh,
            // Capex per site MWh at full draw is per hour of one MW.
            capex_usd_per_hour: self.capex_usd_per_mwh,
            pays_power: self.pays_power,
            operation: self.kind.operation(inputs),
        }
    }
}

/// A result that cannot be priced, and why.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Unpriceable {
    pub name: String,
    pub kind: Kind,
    pub reason: String,
}

/// Every option the result files and ASICs give under `inputs`.
pub struct Options {
    pub priced: Vec<SiteOption>,
    pub unpriceable: Vec<Unpriceable>,
}

impl Options {
    /// Adds an option, or the reason it cannot be priced.
    fn add(&mut self, name: String, kind: Kind, priced: std::result::Result<SiteOption, String>) {
        match priced {
            Ok(option) => self.priced.push(SiteOption { name, ..option }),
            Err(reason) => self.unpriceable.push(Unpriceable { name, kind, reason }),
        }
    }
}

/// What a result sells, told by its unit (a closed set): hashes are
/// mining, tokens are inference; GFLOP/s and GB/s are kernels measured
/// against the roofline, which no one buys.
fn sells(result: &WorkloadResult) -> Option<Kind> {
    match result.throughput.unit {
        Unit::HashesPerSecond => Some(Kind::Mining),
        Unit::TokensPerSecond => Some(Kind::Ai),
        Unit::GflopPerSecond | Unit::GigabytesPerSecond => None,
    }
}

/// Each file's label in its options' names: its stem, to tell results of
/// the same adapter apart; its path where two files of one device share a
/// stem (`a/node.json`, `b/node.json`), and its place in the list where a
/// path is given twice. Names must be unique: the verdict, the caveats
/// and the tables find an option by its name.
fn labels(files: &[(PathBuf, ResultFile)]) -> Vec<String> {
    let keyed = |label: fn(&Path) -> String| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(path, file)| (file.device.name.clone(), label(path)))
            .collect()
    };
    let by_stem = keyed(|path| {
        path.file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into()
    });
    let by_path = keyed(|path| path.display().to_string());
    let unique = |keys: &[(String, String)], index: usize| {
        keys.iter().filter(|key| **key == keys[index]).count() == 1
    };
    (0..files.len())
        .map(|index| {
            if unique(&by_stem, index) {
                by_stem[index].1.clone()
            } else if unique(&by_path, index) {
                by_path[index].1.clone()
            } else {
                format!("{} #{}", by_path[index].1, index + 1)
            }
        })
        .collect()
}

/// Builds the options from result files (with their paths) and ASICs.
/// With several files, each option names its file (see [`labels`]).
/// Fails (usage) when an option lacks the inputs it needs.
pub fn options(files: &[(PathBuf, ResultFile)], inputs: &Resolved) -> Result<Options> {
    check_prices(files, inputs)?;
    let mut options = Options {
        priced: Vec::new(),
        unpriceable: Vec::new(),
    };
    let several = files.len() > 1;
    for ((_, file), label) in files.iter().zip(labels(files)) {
        let name = |what: &str| {
            if several {
                format!("{what} on {} [{label}]", file.device.name)
            } else {
                format!("{what} on {}", file.device.name)
            }
        };
        // Each model's decode results, one per batch, in order.
        let mut models: Vec<(String, Vec<&WorkloadResult>)> = Vec::new();
        for result in &file.results {
            let what = match result.params.get("shape").and_then(|s| s.as_str()) {
                Some(shape) => format!("{} {shape}", result.workload),
                None => result.workload.clone(),
            };
            let (price_in, price_out) = (
                inputs.token_price_in_usd_per_million,
                inputs.token_price_out_usd_per_million,
            );
            if result.status == Status::External {
                if let Some((kind, priced)) = external(result, inputs) {
                    options.add(name(&what), kind, priced);
                }
                continue;
            }
            match sells(result) {
                Some(Kind::Mining) => options.add(
                    name(&what),
                    Kind::Mining,
                    priced_result(result, Sale::Hashes, inputs),
                ),
                // Without a token price, priced by the GPU-hour instead.
                Some(Kind::Ai) if price_in.is_none() && price_out.is_none() => continue,
                Some(Kind::Ai) if !output_tokens(result) => options.add(
                    name(&what),
                    Kind::Ai,
                    prompt_tokens(result, inputs).map(|o| SiteOption {
                        roof: Some(roof::prefill(file, result)),
                        ..o
                    }),
                ),
                Some(Kind::Ai) if price_out.is_none() => {
                    options.add(name(&what), Kind::Ai, Err(NEEDS_PRICE_OUT.into()))
                }
                Some(Kind::Ai) => {
                    let model = model_of(result);
                    match models.iter_mut().find(|(m, _)| *m == model) {
                        Some((_, batches)) => batches.push(result),
                        None => models.push((model, vec![result])),
                    }
                }
                _ => continue,
            }
        }
        for (model, batches) in models {
            let (what, priced) = best_batch(file, &model, &batches, inputs);
            options.add(name(&what), Kind::Ai, priced);
        }
        if let Some(price) = inputs.gpu_hour_price_usd {
            options.add(name("GPU-hours"), Kind::Ai, gpu_hours(file, price, inputs));
        }
    }
    for choice in &inputs.asics {
        options.priced.push(asic_option(choice, inputs));
    }
    if let Some(lease) = &inputs.colocation {
        options.priced.push(colocation_option(lease, inputs));
    }
    Ok(options)
}

/// An outside command's figure (`mwbench meter`), labelled with where it
/// came from: hashes as mining; output tokens held to the latency by the
/// time per output token the command reported; a prompt's tokens at the
/// input price. `None` where nothing sells it (GFLOP/s), or tokens wait
/// for the GPU-hour price.
fn external(
    result: &WorkloadResult,
    inputs: &Resolved,
) -> Option<(Kind, std::result::Result<SiteOption, String>)> {
    // Said from the status, whatever the file's own words: those are
    // quoted, never the label.
    let origin = format!(
        "an outside command's figure, not checked by mwbench (its file says: {})",
        result.check
    );
    let labelled = |priced: std::result::Result<SiteOption, String>| {
        priced.map(|option| SiteOption {
            caveat: Some(match &option.caveat {
                Some(more) => format!("{origin}; {more}"),
                None => origin.clone(),
            }),
            ..option
        })
    };
    let (price_in, price_out) = (
        inputs.token_price_in_usd_per_million,
        inputs.token_price_out_usd_per_million,
    );
    let tokens = result.params.get("tokens").and_then(|t| t.as_str());
    let priced = match sells(result)? {
        Kind::Mining => (
            Kind::Mining,
            bitcoin_hashes(result).and_then(|()| priced_result(result, Sale::Hashes, inputs)),
        ),
        _ if price_in.is_none() && price_out.is_none() => return None,
        _ => match (tokens, price_out) {
            (Some("prompt"), _) => (Kind::Ai, prompt_tokens(result, inputs)),
            (Some("output") | None, None) => (Kind::Ai, Err(NEEDS_PRICE_OUT.into())),
            (Some("output") | None, Some(price)) => {
                let limit = inputs.max_token_latency_ms;
                let priced = match reported_ms_per_token(result) {
                    Err(why) => Err(why),
                    Ok(Some(ms)) if ms > limit => Err(format!(
                        "its reported time per output token, {ms:.0} ms, is over \
                         --max-token-latency-ms {limit}"
                    )),
                    Ok(Some(_)) => priced_result(result, Sale::Tokens(price), inputs),
                    Ok(None) => {
                        priced_result(result, Sale::Tokens(price), inputs).map(|o| SiteOption {
                            caveat: Some(
                                "no time per output token reported: not held against \
                                 --max-token-latency-ms"
                                    .into(),
                            ),
                            ..o
                        })
                    }
                };
                (Kind::Ai, priced)
            }
            (Some("unknown"), _) => (
                Kind::Ai,
                Err(
                    "a merged group of outside figures keeps neither the kind of its tokens \
                     nor their latency: value its members' result files"
                        .into(),
                ),
            ),
            (Some(other), _) => (
                Kind::Ai,
                Err(format!(
                    "its tokens are {other} tokens together: neither the input nor the output \
                     price alone prices them"
                )),
            ),
        },
    };
    let (kind, priced) = priced;
    Some((kind, labelled(priced)))
}

/// A prompt's tokens at the input price, with prefill's caution, or the
/// flag that prices them.
fn prompt_tokens(
    result: &WorkloadResult,
    inputs: &Resolved,
) -> std::result::Result<SiteOption, String> {
    let price = inputs
        .token_price_in_usd_per_million
        .ok_or("its tokens are a prompt's (input tokens): give --token-price-in to price them")?;
    priced_result(result, Sale::Tokens(price), inputs).map(|o| SiteOption {
        caveat: Some(PROMPT_ONLY.into()),
        ..o
    })
}

/// Why output tokens cannot be priced without their price.
const NEEDS_PRICE_OUT: &str = "its tokens are output tokens: give --token-price-out to price them";

/// hashcat's mode for double SHA-256, bitcoin's proof of work.
const BITCOIN_HASHCAT_MODE: u64 = 21400;

/// What an outside command's hashes are where it is not known: a merged
/// group's `mode` param when its shape names no hashcat mode (its members'
/// params are gone).
pub const UNKNOWN_HASH_MODE: &str = "unknown";

/// Whether an outside command's hashes are bitcoin's double SHA-256, the
/// only ones a hashprice pays for: a hashcat result's `mode` must be
/// [`BITCOIN_HASHCAT_MODE`] (any other mode, or a mode that is no number,
/// earns nothing); a result without one (`--parse count=N H`) is taken at
/// its user's word. A merged group's mode is its shape's, or
/// [`UNKNOWN_HASH_MODE`].
fn bitcoin_hashes(result: &WorkloadResult) -> std::result::Result<(), String> {
    match result.params.get("mode") {
        None => Ok(()),
        Some(mode) if mode.as_u64() == Some(BITCOIN_HASHCAT_MODE) => Ok(()),
        Some(mode) if mode.as_str() == Some(UNKNOWN_HASH_MODE) => Err(format!(
            "a merged group of outside hashes keeps no hashcat mode (only a `hashcat -m \
             {BITCOIN_HASHCAT_MODE}` group is known to be bitcoin's double SHA-256): value its \
             members' result files"
        )),
        Some(mode) => Err(format!(
            "hashcat mode {mode} is not bitcoin's double SHA-256 (-m {BITCOIN_HASHCAT_MODE}): \
             its hashes earn no hashprice"
        )),
    }
}

/// The time per output token an outside command reported: vLLM's median
/// TPOT, else llama-bench's generation time per token; `None` where it
/// reported neither, an error where the file holds one that is no time.
fn reported_ms_per_token(result: &WorkloadResult) -> std::result::Result<Option<f64>, String> {
    for key in ["median_tpot_ms", "ms_per_token"] {
        if let Some(value) = result.params.get(key) {
            return match value.as_f64() {
                Some(ms) if ms.is_finite() && ms > 0.0 && ms <= 86_400_000.0 => Ok(Some(ms)),
                _ => Err(format!("its {key} ({value}) is not a time per token")),
            };
        }
    }
    Ok(None)
}

/// Why a prefill option overstates: a prompt is processed many times
/// faster per joule than output is generated, and no one buys one without
/// the other.
pub const PROMPT_ONLY: &str = "prompt tokens alone: a server sells them only with the output \
                           tokens it decodes, which take far more energy each, so this \
                           overstates what serving earns";

/// What a result's figure is sold as.
#[derive(Clone, Copy)]
enum Sale {
    Hashes,
    /// Tokens at this price, USD per million.
    Tokens(f64),
}

/// Whether a tokens/s result makes output tokens (decode), not a prompt's
/// (prefill: `"tokens": "prompt"`; files before that field name it
/// llm-prefill).
fn output_tokens(result: &WorkloadResult) -> bool {
    match result.params.get("tokens").and_then(|t| t.as_str()) {
        Some(tokens) => tokens != "prompt",
        None => result.workload != "llm-prefill",
    }
}

/// The model and weights a decode result ran, whatever its batch: its
/// workload and shape less the batch (`llm-decode llama3-8b q4`), as
/// results that failed or did not fit, which carry no other params, have
/// it too.
pub fn model_of(result: &WorkloadResult) -> String {
    match result.params.get("shape").and_then(|v| v.as_str()) {
        Some(shape) => {
            let model = shape.split(" batch ").next().unwrap_or(shape);
            format!("{} {model}", result.workload)
        }
        None => result.workload.clone(),
    }
}

/// A decode result's batch: its params' `batch`, else the shape's
/// `batch N` (a result that did not run), else 1 (files before batches).
pub fn batch_of(result: &WorkloadResult) -> u64 {
    let in_shape = || {
        let shape = result.params.get("shape")?.as_str()?;
        shape.split(" batch ").nth(1)?.parse().ok()
    };
    result
        .params
        .get("batch")
        .and_then(|b| b.as_u64())
        .or_else(in_shape)
        .filter(|&b| b >= 1)
        .unwrap_or(1)
}

/// Milliseconds each user of the batch waits per token: one step of the
/// batch, batch / throughput.
fn token_latency_ms(result: &WorkloadResult, rate: f64) -> f64 {
    1e3 * batch_of(result) as f64 / rate
}

/// One model's option: of its batches within the latency a customer
/// accepts, the one with the most tokens per joule (what a server tuned
/// for cost would run); named with its batch, or why none can be priced.
fn best_batch(
    file: &ResultFile,
    model: &str,
    batches: &[&WorkloadResult],
    inputs: &Resolved,
) -> (String, std::result::Result<SiteOption, String>) {
    let limit = inputs.max_token_latency_ms;
    let mut best: Option<(&WorkloadResult, SiteOption, f64)> = None;
    let mut fastest: Option<(u64, f64)> = None;
    let mut first_reason = None;
    for &result in batches {
        let price = inputs
            .token_price_out_usd_per_million
            .expect("decode results are grouped only with an output-token price");
        let priced = priced_result(result, Sale::Tokens(price), inputs);
        let rate = result.rate().filter(|_| result.status == Status::Ok);
        let (option, rate) = match (priced, rate) {
            (Ok(option), Some(rate)) => (option, rate),
            (Err(reason), _) => {
                first_reason.get_or_insert(format!("batch {}: {reason}", batch_of(result)));
                continue;
            }
            (Ok(_), None) => continue,
        };
        let latency = token_latency_ms(result, rate);
        if fastest.is_none_or(|(_, ms)| latency < ms) {
            fastest = Some((batch_of(result), latency));
        }
        if latency > limit {
            continue;
        }
        let per_joule = rate / option.watts;
        if best.as_ref().is_none_or(|(_, _, p)| per_joule > *p) {
            best = Some((result, option, per_joule));
        }
    }
    let tried = batches
        .iter()
        .map(|r| batch_of(r).to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match (best, fastest) {
        (Some((result, option, _)), _) => {
            let rate = result.rate().unwrap_or_default();
            let ms = token_latency_ms(result, rate);
            let measured: Vec<u64> = batches
                .iter()
                .filter(|r| r.status == Status::Ok && r.rate().is_some())
                .map(|r| batch_of(r))
                .collect();
            let option = SiteOption {
                roof: Some(roof::decode(
                    file,
                    result,
                    batch_of(result),
                    &measured,
                    limit,
                )),
                ..option
            };
            let why = if batches.len() > 1 {
                format!("most tokens/J of batches {tried} within {limit} ms/token")
            } else {
                format!("within {limit} ms/token")
            };
            (
                format!(
                    "{model} at batch {} ({ms:.0} ms/token; {why})",
                    batch_of(result)
                ),
                Ok(option),
            )
        }
        (None, Some((batch, ms))) => (
            model.to_string(),
            Err(format!(
                "no batch within {limit} ms per token (--max-token-latency-ms): the fastest, \
                 batch {batch}, takes {ms:.0} ms"
            )),
        ),
        (None, None) => (
            model.to_string(),
            Err(first_reason.unwrap_or_else(|| "no figure to price".into())),
        ),
    }
}

/// A sha256d or LLM result as an option, or why it cannot be priced.
fn priced_result(
    result: &WorkloadResult,
    sale: Sale,
    inputs: &Resolved,
) -> std::result::Result<SiteOption, String> {
    match result.status {
        Status::Ok | Status::External => {}
        Status::Failed => return Err("failed its check: no figure to price".into()),
        Status::Unsupported => return Err(format!("unsupported: {}", result.check)),
    }
    // A sustained run's steady figure: what a site earns hour after hour.
    let rate = result.rate().ok_or("no throughput in the result")?;
    let watts = measured_watts(result)?;
    let (kind, revenue, efficiency, pue) = match sale {
        Sale::Hashes => {
            let hashprice = inputs
                .hashprice
                .as_ref()
                .expect("options() checks for a hashprice first");
            let hashes_per_joule = rate / watts;
            (
                Kind::Mining,
                model::mining_revenue_usd_per_mwh(
                    hashes_per_joule,
                    hashprice.usd_per_ph_day,
                    inputs.pool_fee_percent,
                    inputs.pue_mining,
                ),
                vec![figure(watts / (rate / 1e12), "J/TH")],
                inputs.pue_mining,
            )
        }
        Sale::Tokens(price) => {
            let tokens_per_joule = rate / watts;
            (
                Kind::Ai,
                model::token_revenue_usd_per_mwh(tokens_per_joule, price, inputs.pue_ai),
                vec![
                    figure(tokens_per_joule, "tokens/J"),
                    figure(watts / rate, "J/token"),
                ],
                inputs.pue_ai,
            )
        }
    };
    Ok(SiteOption {
        name: String::new(),
        kind,
        watts,
        watts_provenance: result.power.provenance,
        watts_source: result.power.source.clone(),
        efficiency,
        revenue_usd_per_mwh: revenue,
        capex_usd_per_mwh: capex(inputs.gpu_capex, watts, pue),
        pays_power: true,
        caveat: None,
        roof: None,
    })
}

/// A result's mean watts (a sustained run's steady watts), or why there
/// are none.
fn measured_watts(result: &WorkloadResult) -> std::result::Result<f64, String> {
    match result.watts() {
        Some(w) if w > 0.0 => Ok(w),
        Some(w) => Err(format!("its power figure is {w} W: not a draw to price")),
        None => Err(format!(
            "no watts in the result ({}): run it with a power sensor, --power-cmd or --watts",
            result.power.source
        )),
    }
}

/// Renting the file's GPU by the hour: it draws what its busiest LLM
/// result drew (what serving costs), else its busiest result.
fn gpu_hours(
    file: &ResultFile,
    price: f64,
    inputs: &Resolved,
) -> std::result::Result<SiteOption, String> {
    let measured = |llm_only: bool| {
        file.results
            .iter()
            .filter(|r| r.status == Status::Ok && r.watts().is_some_and(|w| w > 0.0))
            .filter(|r| !llm_only || sells(r) == Some(Kind::Ai))
            .max_by(|a, b| a.watts().partial_cmp(&b.watts()).expect("finite watts"))
    };
    let busiest = measured(true)
        .or_else(|| measured(false))
        .ok_or("no result in the file has watts to price its GPU-hours with")?;
    let watts = busiest.watts().expect("filtered on watts");
    Ok(SiteOption {
        name: String::new(),
        kind: Kind::Ai,
        watts,
        watts_provenance: busiest.power.provenance,
        watts_source: format!("{} ({})", busiest.power.source, busiest.workload),
        efficiency: vec![figure(watts, "W/GPU")],
        revenue_usd_per_mwh: model::gpu_hour_revenue_usd_per_mwh(
            price,
            inputs.utilization_percent,
            watts,
            inputs.pue_ai,
        ),
        capex_usd_per_mwh: capex(inputs.gpu_capex, watts, inputs.pue_ai),
        pays_power: true,
        caveat: None,
        roof: None,
    })
}

fn asic_option(choice: &super::inputs::AsicChoice, inputs: &Resolved) -> SiteOption {
    let asic = &choice.asic;
    let hashprice = inputs
        .hashprice
        .as_ref()
        .expect("options() checks for a hashprice first")
        .usd_per_ph_day;
    let hashes_per_joule = asic.terahashes_per_second * 1e12 / asic.watts;
    SiteOption {
        name: if choice.given {
            format!(
                "ASIC {} TH/s at {} W",
                asic.terahashes_per_second, asic.watts
            )
        } else {
            asic.name.to_string()
        },
        kind: Kind::Asic,
        watts: asic.watts,
        // A maker's specification is not a measurement of this site's
        // machines: it is shown as an estimate.
        watts_provenance: if choice.given {
            Provenance::User
        } else {
            Provenance::Estimated
        },
        watts_source: asic.source.to_string(),
        efficiency: vec![figure(asic.joules_per_terahash(), "J/TH")],
        revenue_usd_per_mwh: model::mining_revenue_usd_per_mwh(
            hashes_per_joule,
            hashprice,
            inputs.pool_fee_percent,
            inputs.pue_mining,
        ),
        capex_usd_per_mwh: capex(inputs.asic_capex, asic.watts, inputs.pue_mining),
        pays_power: true,
        caveat: None,
        roof: None,
    }
}

/// Leasing the powered building: one MW at the meter holds 1/PUE MW of the
/// tenant's IT (AI's PUE: the tenants are AI), paid per kW-month whether
/// or not it is busy.
fn colocation_option(lease: &Colocation, inputs: &Resolved) -> SiteOption {
    let pue = inputs.pue_ai;
    let (who, pays_power) = match lease.power {
        ColocationPower::Passthrough => ("the tenant pays the power", false),
        ColocationPower::Included => ("power included", true),
    };
    SiteOption {
        name: format!(
            "colocation lease at {} USD/kW-month ({who})",
            lease.rate_usd_per_kw_month
        ),
        kind: Kind::Colocation,
        watts: 1e6 / pue,
        watts_provenance: Provenance::User,
        watts_source: format!("the lease: the IT load of one MW at the meter at PUE {pue}"),
        efficiency: vec![figure(lease.rate_usd_per_kw_month, "USD/kW-month")],
        revenue_usd_per_mwh: model::colocation_revenue_usd_per_mwh(
            lease.rate_usd_per_kw_month,
            pue,
        ),
        capex_usd_per_mwh: lease.capex.map_or(0.0, |c| {
            model::colocation_capex_usd_per_mwh(c.usd, c.life_years, pue)
        }),
        pays_power,
        caveat: None,
        roof: None,
    }
}

fn capex(capex: Option<Capex>, watts: f64, pue: f64) -> f64 {
    capex.map_or(0.0, |c| {
        model::capex_usd_per_mwh(c.usd, c.life_years, watts, pue)
    })
}

fn figure(value: f64, unit: &str) -> Figure {
    Figure {
        value,
        unit: unit.to_string(),
    }
}

/// Fails (usage) when options need a price that was not given: hashing
/// (GPU sha256d results and ASICs) a hashprice, LLM results a token or
/// GPU-hour price.
fn check_prices(files: &[(PathBuf, ResultFile)], inputs: &Resolved) -> Result<()> {
    let has = |kind: Kind| {
        files
            .iter()
            .find(|(_, f)| f.results.iter().any(|r| sells(r) == Some(kind)))
            .map(|(path, _)| path)
    };
    let mining = !inputs.asics.is_empty() || has(Kind::Mining).is_some();
    if mining && inputs.hashprice.is_none() {
        return Err(Error::usage(
            "hashing options need a hashprice: give --hashprice USD per PH/s per day, \
             or --btc-price with --network-hashrate or --difficulty",
        ));
    }
    if let Some(path) = has(Kind::Ai)
        && inputs.token_price_in_usd_per_million.is_none()
        && inputs.token_price_out_usd_per_million.is_none()
        && inputs.gpu_hour_price_usd.is_none()
    {
        return Err(Error::usage(format!(
            "{} has LLM results: give --token-price (USD per million tokens; or \
             --token-price-in and --token-price-out) or --gpu-hour-price to price them",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::economics::inputs::Inputs;
    use crate::fixtures::{file, result};

    fn inputs(extra: Inputs) -> Resolved {
        Inputs {
            power_price: Some(50.0),
            ..extra
        }
        .resolve(None)
        .unwrap()
    }

    #[test]
    fn every_file_gets_a_label_no_other_file_of_its_device_has() {
        let (_, gpu) = file(Vec::new());
        let mut other = gpu.clone();
        other.device.name = "Other GPU".into();
        let files = [
            (PathBuf::from("a/node.json"), gpu.clone()),
            (PathBuf::from("b/node.json"), gpu.clone()),
            (PathBuf::from("b/node.json"), gpu.clone()),
            (PathBuf::from("c/node.json"), other),
            (PathBuf::from("d/lone.json"), gpu),
        ];
        assert_eq!(
            labels(&files),
            [
                "a/node.json",
                "b/node.json #2",
                "b/node.json #3",
                "node",
                "lone"
            ]
        );
    }

    #[test]
    fn a_gpu_hashing_result_is_priced_from_its_rate_and_watts() {
        // 1 GH/s at 200 W = 5e6 H/J; a MWh buys 1.8e16 hashes; at 40 USD
        // per PH/s per day a hash earns 40 / 8.64e19 USD: 0.00833 USD/MWh.
        let files = [file(vec![result(
            "sha256d",
            Unit::HashesPerSecond,
            1e9,
            Some((200.0, Provenance::Sensor)),
        )])];
        let priced = options(
            &files,
            &inputs(Inputs {
                hashprice: Some(40.0),
                ..Inputs::default()
            }),
        )
        .unwrap();
        let option = &priced.priced[0];
        assert_eq!(option.name, "sha256d on GPU");
        assert_eq!(option.kind, Kind::Mining);
        assert!((option.revenue_usd_per_mwh - 1.8e16 * 40.0 / 8.64e19).abs() < 1e-12);
        // 200 W / 0.001 TH/s = 200,000 J/TH.
        assert_eq!(option.efficiency[0].unit, "J/TH");
        assert!((option.efficiency[0].value - 2e5).abs() < 1e-6);
        assert!(!option.estimated());
    }

    /// An outside command's hashes earn a hashprice only as bitcoin's:
    /// hashcat's -m 21400, or a count its user gave; never another mode, a
    /// mode that is no number, or a merged group's unknown mode.
    #[test]
    fn outside_hashes_are_priced_only_as_bitcoins() {
        let priced_with = |mode: Option<serde_json::Value>| {
            let mut r = result(
                "external",
                Unit::HashesPerSecond,
                1e9,
                Some((200.0, Provenance::External)),
            );
            r.status = Status::External;
            if let Some(mode) = mode {
                r.params.insert("mode".into(), mode);
            }
            let resolved = inputs(Inputs {
                hashprice: Some(40.0),
                ..Inputs::default()
            });
            let options = options(&[file(vec![r])], &resolved).unwrap();
            match (&options.priced[..], &options.unpriceable[..]) {
                ([option], []) => Ok(option.kind),
                ([], [unpriceable]) => Err(unpriceable.reason.clone()),
                _ => panic!("one option"),
            }
        };
        assert_eq!(priced_with(None), Ok(Kind::Mining));
        assert_eq!(priced_with(Some(21400.into())), Ok(Kind::Mining));
        for (mode, said) in [
            (serde_json::json!(0), "hashcat mode 0 is not bitcoin's"),
            (serde_json::json!("21400"), "hashcat mode \"21400\" is not"),
            (serde_json::json!(21400.5), "hashcat mode 21400.5 is not"),
            (serde_json::json!(-21400), "hashcat mode -21400 is not"),
            (serde_json::json!(null), "hashcat mode null is not"),
            (
                serde_json::json!(UNKNOWN_HASH_MODE),
                "a merged group of outside hashes keeps no hashcat mode",
            ),
        ] {
            let reason = priced_with(Some(mode)).unwrap_err();
            assert!(reason.contains(said), "'{reason}' lacks '{said}'");
        }
    }

    #[test]
    fn tokens_and_gpu_hours_are_priced_with_ai_pue_and_gpu_capex() {
        let files = [file(vec![
            result(
                "llm-decode",
                Unit::TokensPerSecond,
                2000.0,
                Some((700.0, Provenance::Sensor)),
            ),
            result(
                "gemm-f16",
                Unit::GflopPerSecond,
                5e5,
                Some((710.0, Provenance::Sensor)),
            ),
        ])];
        let resolved = inputs(Inputs {
            token_price: Some(0.20),
            gpu_hour_price: Some(2.0),
            utilization: Some(75.0),
            pue_ai: Some(1.25),
            gpu_capex: Some(30_000.0),
            gpu_life_years: Some(5.0),
            ..Inputs::default()
        });
        let priced = options(&files, &resolved).unwrap();
        let [tokens, hours] = &priced.priced[..] else {
            panic!("two options: {:?}", priced.priced);
        };
        // 2057.14 USD per IT MWh (model's example) / 1.25.
        assert!((tokens.revenue_usd_per_mwh - 2057.142857 / 1.25).abs() < 1e-5);
        // GPU-hours use the LLM result's 700 W, not the GEMM's 710 W:
        // 2142.86 USD per IT MWh at 75% / 1.25.
        assert_eq!(hours.watts, 700.0);
        assert!((hours.revenue_usd_per_mwh - 2142.857142 / 1.25).abs() < 1e-5);
        // 30,000 USD over 5 years at 700 W and PUE 1.25: 0.68493 USD/h x
        // 1142.86 h = 782.78 USD per site MWh.
        assert!((tokens.capex_usd_per_mwh - 30_000.0 / 43_800.0 * 1e6 / 875.0).abs() < 1e-9);
        assert_eq!(tokens.capex_usd_per_mwh, hours.capex_usd_per_mwh);
    }

    /// A decode result of llama3-8b q4 at `batch`, `rate` tokens/s for the
    /// batch, drawing `watts`.
    fn decode(batch: u64, rate: f64, watts: f64) -> WorkloadResult {
        let mut r = result(
            "llm-decode",
            Unit::TokensPerSecond,
            rate,
            Some((watts, Provenance::Sensor)),
        );
        for (key, value) in [
            (
                "shape",
                serde_json::json!(format!("llama3-8b q4 batch {batch}")),
            ),
            ("preset", serde_json::json!("llama3-8b")),
            ("weights", serde_json::json!("q4")),
            ("batch", serde_json::json!(batch)),
            ("tokens", serde_json::json!("output")),
        ] {
            r.params.insert(key.into(), value);
        }
        r
    }

    /// A prefill result: 9000 prompt tokens/s at 600 W.
    fn prefill() -> WorkloadResult {
        let mut prefill = result(
            "llm-prefill",
            Unit::TokensPerSecond,
            9000.0,
            Some((600.0, Provenance::Sensor)),
        );
        prefill
            .params
            .insert("tokens".into(), serde_json::json!("prompt"));
        prefill
    }

    /// Of one model's batches, the one with the most tokens per joule
    /// within the latency is priced, and named; prompt tokens are not
    /// output tokens.
    #[test]
    fn tokens_are_priced_at_the_best_batch_within_the_latency() {
        // Batch 1: 8 ms/token, 0.25 tokens/J; 16: 40 ms, 1 token/J; 64:
        // 128 ms, 1.6 tokens/J (too slow at the default 100 ms).
        let prefill = prefill();
        // A batch that did not fit carries only its shape, as run writes it.
        let mut too_big = result("llm-decode", Unit::TokensPerSecond, 1.0, None);
        too_big.status = Status::Unsupported;
        too_big.throughput.value = None;
        too_big.check = "needs 2e11 bytes".into();
        too_big
            .params
            .insert("shape".into(), serde_json::json!("llama3-8b q4 batch 256"));
        let files = [file(vec![
            decode(1, 125.0, 500.0),
            decode(16, 400.0, 400.0),
            decode(64, 500.0, 312.5),
            too_big,
            prefill,
        ])];
        let priced = |latency: Option<f64>| {
            let resolved = inputs(Inputs {
                token_price_out: Some(0.20),
                max_token_latency_ms: latency,
                ..Inputs::default()
            });
            options(&files, &resolved).unwrap()
        };
        let default = priced(None);
        let [tokens] = &default.priced[..] else {
            panic!("one option: {:?}", default.priced);
        };
        assert!(
            tokens.name.contains(
                "llama3-8b q4 at batch 16 (40 ms/token; most tokens/J of batches 1, 16, 64, 256"
            ),
            "{}",
            tokens.name
        );
        assert_eq!(tokens.watts, 400.0);
        assert_eq!(default.unpriceable.len(), 1);
        assert!(
            default.unpriceable[0]
                .reason
                .contains("prompt's (input tokens): give --token-price-in")
        );
        // A patient customer: batch 64; an impatient one: batch 1; none.
        assert!(priced(Some(200.0)).priced[0].name.contains("at batch 64"));
        assert!(priced(Some(10.0)).priced[0].name.contains("at batch 1 "));
        let none = priced(Some(5.0));
        assert!(none.priced.is_empty());
        let reason = &none
            .unpriceable
            .iter()
            .find(|u| u.name.contains("llm-decode"))
            .expect("the decode model, unpriceable")
            .reason;
        assert!(
            reason.contains("no batch within 5 ms") && reason.contains("batch 1, takes 8 ms"),
            "{reason}"
        );
    }

    /// Prompt tokens sell at the input price, generated ones at the output
    /// price; `--token-price` sets both and each of the two wins over it.
    #[test]
    fn input_and_output_tokens_have_their_own_prices() {
        let prefill = prefill();
        let files = [file(vec![decode(1, 125.0, 500.0), prefill])];
        let revenues = |extra: Inputs| {
            let priced = options(&files, &inputs(extra)).unwrap();
            let find = |workload: &str| {
                priced
                    .priced
                    .iter()
                    .find(|o| o.name.starts_with(workload))
                    .map(|o| o.revenue_usd_per_mwh)
            };
            let prompt_only = priced
                .priced
                .iter()
                .all(|o| o.caveat.is_some() == o.name.starts_with("llm-prefill"));
            assert!(
                prompt_only,
                "prefill, and only prefill, carries its caution"
            );
            (find("llm-prefill"), find("llm-decode"))
        };
        // 15 tokens/J x 3.6e9 J = 5.4e10 prompt tokens per MWh; 0.25
        // tokens/J = 9e8 output tokens.
        let (prefill, decode) = revenues(Inputs {
            token_price_in: Some(0.05),
            token_price: Some(0.20),
            ..Inputs::default()
        });
        assert!((prefill.unwrap() - 5.4e10 * 0.05 / 1e6).abs() < 1e-6);
        assert!((decode.unwrap() - 9e8 * 0.20 / 1e6).abs() < 1e-9);
        let (prefill, decode) = revenues(Inputs {
            token_price: Some(0.20),
            token_price_out: Some(0.60),
            ..Inputs::default()
        });
        assert!((prefill.unwrap() - 5.4e10 * 0.20 / 1e6).abs() < 1e-6);
        assert!((decode.unwrap() - 9e8 * 0.60 / 1e6).abs() < 1e-9);
        // An input price alone leaves decode unpriceable, with the flag.
        let priced = options(
            &files,
            &inputs(Inputs {
                token_price_in: Some(0.05),
                ..Inputs::default()
            }),
        )
        .unwrap();
        assert_eq!(priced.priced.len(), 1);
        assert!(priced.unpriceable[0].reason.contains("--token-price-out"));
    }

    #[test]
    fn a_colocation_lease_is_an_option_of_its_own() {
        let resolved = inputs(Inputs {
            colocation_rate: Some(130.0),
            colocation_capex: Some(10e6),
            colocation_life_years: Some(15.0),
            pue_ai: Some(1.25),
            ..Inputs::default()
        });
        let priced = options(&[], &resolved).unwrap();
        let [lease] = &priced.priced[..] else {
            panic!("one option: {:?}", priced.priced);
        };
        assert_eq!(lease.kind, Kind::Colocation);
        assert_eq!(
            lease.name,
            "colocation lease at 130 USD/kW-month (the tenant pays the power)"
        );
        assert!(!lease.pays_power);
        assert_eq!(lease.watts, 800_000.0);
        // See model::tests::colocation_per_site_mwh.
        assert!((lease.revenue_usd_per_mwh - 130_000.0 / 730.0 * 0.8).abs() < 1e-9);
        // The price does not reach a tenant's power; `included`, it does.
        assert_eq!(lease.at(45.0).power_cost_usd_per_mwh, 0.0);
        assert_eq!(
            lease.at(45.0).margin_usd_per_mwh,
            lease.at(500.0).margin_usd_per_mwh
        );
        let included = inputs(Inputs {
            colocation_rate: Some(130.0),
            colocation_power: Some(ColocationPower::Included),
            ..Inputs::default()
        });
        let priced = options(&[], &included).unwrap();
        assert!(priced.priced[0].pays_power);
        assert_eq!(priced.priced[0].at(45.0).power_cost_usd_per_mwh, 45.0);
    }

    #[test]
    fn results_without_watts_or_figures_are_unpriceable_with_the_reason() {
        let mut failed = result(
            "sha256d",
            Unit::HashesPerSecond,
            1e9,
            Some((200.0, Provenance::Sensor)),
        );
        failed.status = Status::Failed;
        let files = [file(vec![
            result("sha256d", Unit::HashesPerSecond, 1e9, None),
            failed,
        ])];
        let priced = options(
            &files,
            &inputs(Inputs {
                hashprice: Some(40.0),
                ..Inputs::default()
            }),
        )
        .unwrap();
        assert!(priced.priced.is_empty(), "never priced at zero watts");
        assert!(
            priced.unpriceable[0]
                .reason
                .starts_with("no watts in the result")
        );
        assert!(priced.unpriceable[1].reason.starts_with("failed its check"));
    }

    #[test]
    fn estimates_stay_estimates() {
        let files = [file(vec![result(
            "sha256d",
            Unit::HashesPerSecond,
            1e9,
            Some((700.0, Provenance::Estimated)),
        )])];
        let resolved = inputs(Inputs {
            hashprice: Some(40.0),
            asic: vec!["S21".into()],
            asic_rate: Some(100.0),
            asic_watts: Some(2000.0),
            ..Inputs::default()
        });
        let priced = options(&files, &resolved).unwrap();
        let estimated: Vec<bool> = priced.priced.iter().map(SiteOption::estimated).collect();
        // The GPU's TDP and the maker's spec are estimates; the user's
        // own ASIC figures are not.
        assert_eq!(estimated, [true, true, false]);
        assert_eq!(priced.priced[2].watts_provenance, Provenance::User);
    }

    #[test]
    fn options_that_need_prices_say_which() {
        let mining = [file(vec![result(
            "sha256d",
            Unit::HashesPerSecond,
            1e9,
            None,
        )])];
        let error = options(&mining, &inputs(Inputs::default())).err().unwrap();
        assert!(error.to_string().contains("--hashprice"), "{error}");
        assert_eq!(error.exit_code(), 2);
        let llm = [file(vec![result(
            "llm-decode",
            Unit::TokensPerSecond,
            10.0,
            None,
        )])];
        let error = options(&llm, &inputs(Inputs::default())).err().unwrap();
        assert!(error.to_string().contains("--token-price"), "{error}");
        let asic_only = inputs(Inputs {
            asic: vec!["S21".into()],
            ..Inputs::default()
        });
        assert!(
            options(&[], &asic_only).is_err(),
            "an ASIC needs a hashprice too"
        );
    }
}
