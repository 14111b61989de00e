//! What `mwbench value` prices with: the same fields come from flags and
//! from a site file (TOML), so this one type is both the command's flags
//! (through clap) and the file's keys (through serde) and the two cannot
//! drift apart. Flags win over the file; [`Inputs::resolve`] checks every
//! figure and names the flag or key of the first bad one.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;

use super::asics::{self, Asic};
use super::model;
use super::prices::{PriceFormat, PriceSeries};
use crate::{Error, Result};

/// Prices and site figures, each optional until resolved.
#[derive(Debug, Clone, Default, PartialEq, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Power price at the meter, USD per MWh.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub power_price: Option<f64>,
    /// Power prices interval by interval, in place of --power-price: a
    /// `timestamp,price_usd_per_mwh` CSV or ERCOT's settlement point price
    /// reports (in a site file, relative to the site file).
    #[arg(long, value_name = "FILE")]
    pub price_series: Option<PathBuf>,
    /// How the price series is laid out (default auto: told by its header).
    #[arg(long, value_name = "FORMAT")]
    pub price_format: Option<PriceFormat>,
    /// The ERCOT settlement point (hub, zone or node) whose prices to use.
    #[arg(long, value_name = "NAME")]
    pub settlement_point: Option<String>,
    /// With a price series: the share of hours AI must run, percent
    /// (default 100); it may stop in the rest, dearest hours first.
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true)]
    pub ai_uptime: Option<f64>,
    /// With a price series: paid per MWh not drawn while an option is
    /// stopped (demand response, ancillary services), USD (default 0).
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub curtailment_credit: Option<f64>,
    /// Lease the powered building instead: USD per kW-month of critical IT
    /// load.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub colocation_rate: Option<f64>,
    /// The site's capital cost of a colocation lease, USD per MW of IT load.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub colocation_capex: Option<f64>,
    /// Years the colocation capital cost is spread over.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub colocation_life_years: Option<f64>,
    /// Who pays a colocation tenant's power (default passthrough: the
    /// tenant).
    #[arg(long, value_name = "WHO")]
    pub colocation_power: Option<ColocationPower>,
    /// Power usage effectiveness of every option (default 1.0).
    #[arg(long, value_name = "RATIO", allow_negative_numbers = true)]
    pub pue: Option<f64>,
    /// PUE of hashing (GPU sha256d and ASICs); overrides --pue.
    #[arg(long, value_name = "RATIO", allow_negative_numbers = true)]
    pub pue_mining: Option<f64>,
    /// PUE of AI inference; overrides --pue.
    #[arg(long, value_name = "RATIO", allow_negative_numbers = true)]
    pub pue_ai: Option<f64>,
    /// Hashprice, USD per PH/s per day.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub hashprice: Option<f64>,
    /// BTC price in USD, to derive the hashprice.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub btc_price: Option<f64>,
    /// Network hashrate in EH/s, to derive the hashprice.
    #[arg(long, value_name = "EH/S", allow_negative_numbers = true)]
    pub network_hashrate: Option<f64>,
    /// Network difficulty, to derive the hashrate (difficulty x 2^32 / 600 s).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub difficulty: Option<f64>,
    /// Average fees per block, BTC (default 0).
    #[arg(long, value_name = "BTC", allow_negative_numbers = true)]
    pub fees: Option<f64>,
    /// Block subsidy, BTC (default 3.125).
    #[arg(long, value_name = "BTC", allow_negative_numbers = true)]
    pub subsidy: Option<f64>,
    /// Mining pool fee, percent (default 0).
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true)]
    pub pool_fee: Option<f64>,
    /// Price of tokens, USD per million: sets both --token-price-in and
    /// --token-price-out.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub token_price: Option<f64>,
    /// Price of input (prompt) tokens, USD per million, for llm-prefill.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub token_price_in: Option<f64>,
    /// Price of output (generated) tokens, USD per million, for llm-decode.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub token_price_out: Option<f64>,
    /// Rental price of a GPU, USD per GPU-hour.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub gpu_hour_price: Option<f64>,
    /// Share of hours a rented GPU is paid for, percent (default 100).
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true)]
    pub utilization: Option<f64>,
    /// The slowest token a customer accepts, ms per output token (default
    /// 100: 10 tokens/s per user, a common ceiling for chat). Each model's
    /// tokens are priced at its batch with the most tokens per joule
    /// within it.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub max_token_latency_ms: Option<f64>,
    /// Purchase price of one GPU, USD.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub gpu_capex: Option<f64>,
    /// Years a GPU's price is spread over.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub gpu_life_years: Option<f64>,
    /// Purchase price of one ASIC, USD.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub asic_capex: Option<f64>,
    /// Years an ASIC's price is spread over.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub asic_life_years: Option<f64>,
    /// An ASIC from mwbench's table (repeat, or separate with commas).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    #[serde(default)]
    pub asic: Vec<String>,
    /// Hashrate of an ASIC not in the table, TH/s (with --asic-watts).
    #[arg(long, value_name = "TH/S", allow_negative_numbers = true)]
    pub asic_rate: Option<f64>,
    /// Power of that ASIC at the wall, W (with --asic-rate).
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub asic_watts: Option<f64>,
}

/// The hashprice and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Hashprice {
    pub usd_per_ph_day: f64,
    /// `given`, or the inputs it was derived from.
    pub from: String,
}

/// A capital cost spread over a life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capex {
    pub usd: f64,
    pub life_years: f64,
}

/// An ASIC to price: from the table, or given by the user.
#[derive(Debug, Clone, PartialEq)]
pub struct AsicChoice {
    pub asic: Asic,
    /// True for `--asic-rate`/`--asic-watts`: the user's figures.
    pub given: bool,
}

/// Who pays a colocation tenant's power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColocationPower {
    /// The tenant: the site bills it what the power cost.
    #[default]
    Passthrough,
    /// The site, out of the rate.
    Included,
}

/// A lease of the powered building to a tenant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colocation {
    pub rate_usd_per_kw_month: f64,
    pub capex: Option<Capex>,
    pub power: ColocationPower,
}

/// Every input checked, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The flat power price; `None` with a price series.
    pub power_price_usd_per_mwh: Option<f64>,
    pub price_series: Option<PriceSeries>,
    /// Share of a series' hours AI runs at least.
    pub ai_uptime_percent: f64,
    pub curtailment_credit_usd_per_mwh: f64,
    pub colocation: Option<Colocation>,
    pub pue_mining: f64,
    pub pue_ai: f64,
    pub hashprice: Option<Hashprice>,
    pub pool_fee_percent: f64,
    /// For llm-prefill's prompt tokens.
    pub token_price_in_usd_per_million: Option<f64>,
    /// For llm-decode's generated tokens.
    pub token_price_out_usd_per_million: Option<f64>,
    pub gpu_hour_price_usd: Option<f64>,
    pub utilization_percent: f64,
    pub max_token_latency_ms: f64,
    pub gpu_capex: Option<Capex>,
    pub asic_capex: Option<Capex>,
    pub asics: Vec<AsicChoice>,
}

/// 10 tokens/s for each user: a common ceiling for chat.
pub const DEFAULT_MAX_TOKEN_LATENCY_MS: f64 = 100.0;

/// Higher than any market has cleared (ERCOT's cap is 5,000 USD/MWh).
pub const MAX_POWER_PRICE: f64 = 100_000.0;

/// Finds a value: the flag, else the site file's key.
struct Lookup<'a> {
    site: Option<(&'a Inputs, &'a Path)>,
}

impl Lookup<'_> {
    /// The value of `name` (the key; the flag is `--` and dashes), with a
    /// label that says where it came from.
    fn get(&self, name: &str, flag: Option<f64>, key: fn(&Inputs) -> Option<f64>) -> Option<Value> {
        let (value, label) = match (flag, self.site) {
            (Some(v), _) => (v, format!("--{}", name.replace('_', "-"))),
            (None, Some((inputs, path))) => (key(inputs)?, format!("{name} in {}", path.display())),
            (None, None) => return None,
        };
        Some(Value { value, label })
    }
}

/// One value with the name the user gave it under.
struct Value {
    value: f64,
    label: String,
}

impl Value {
    fn check(self, ok: impl Fn(f64) -> bool, rule: &str) -> Result<f64> {
        if self.value.is_finite() && ok(self.value) {
            Ok(self.value)
        } else {
            Err(Error::usage(format!(
                "{} must be {rule} (got {})",
                self.label,
                crate::error::shown(self.value)
            )))
        }
    }
    /// Above zero and at most `max`: every figure has a ceiling far above
    /// any real one, so a typo or an overflow cannot pass for a price.
    fn positive(self, max: f64) -> Result<f64> {
        self.check(
            |v| v > 0.0 && v <= max,
            &format!("greater than zero and at most {max}"),
        )
    }
}

/// A site file is a few dozen lines of TOML.
const MAX_SITE_FILE_BYTES: u64 = 1 << 20;

impl Inputs {
    /// Reads a site file; unknown keys are errors, so a typo cannot
    /// silently fall back to a default.
    pub fn from_site_file(path: &Path) -> Result<Inputs> {
        let text = crate::input::read_text(path, MAX_SITE_FILE_BYTES, "site file")?;
        toml::from_str(&text).map_err(|e| {
            let message = e.message().trim().to_string();
            // The line of the key or value at fault, as an editor counts.
            let line = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| format!(":{}", before.matches('\n').count() + 1))
                .unwrap_or_default();
            Error::usage(format!("site file {}{line}: {message}", path.display()))
        })
    }

    /// Checks everything, taking each figure from these flags, else from
    /// `site` (the file and its path), else its default.
    pub fn resolve(&self, site: Option<(&Inputs, &Path)>) -> Result<Resolved> {
        let lookup = Lookup { site };
        let get = |name, flag, file| lookup.get(name, flag, file);
        let (power_price, price_series) = self.power(site)?;
        let series_only = |name: &str, given: bool| {
            if given && price_series.is_none() {
                Err(Error::usage(format!(
                    "--{name} applies to a price series: give --price-series FILE"
                )))
            } else {
                Ok(())
            }
        };
        let ai_uptime = get("ai_uptime", self.ai_uptime, |i| i.ai_uptime);
        series_only("ai-uptime", ai_uptime.is_some())?;
        let ai_uptime = ai_uptime.map_or(Ok(100.0), |v| {
            v.check(
                |u| u > 0.0 && u <= 100.0,
                "a percentage above 0, at most 100",
            )
        })?;
        let credit = get("curtailment_credit", self.curtailment_credit, |i| {
            i.curtailment_credit
        });
        series_only("curtailment-credit", credit.is_some())?;
        let credit = credit.map_or(Ok(0.0), |v| {
            v.check(
                |c| (0.0..=MAX_POWER_PRICE).contains(&c),
                &format!("from 0 to {MAX_POWER_PRICE} USD per MWh"),
            )
        })?;
        let colocation = self.colocation(&lookup, site)?;
        let pue = |v: Option<Value>, default: f64| -> Result<f64> {
            v.map_or(Ok(default), |v| {
                v.check(|p| (1.0..=5.0).contains(&p), "at least 1.0 and at most 5.0")
            })
        };
        let pue_all = pue(get("pue", self.pue, |i| i.pue), 1.0)?;
        let pue_mining = pue(
            get("pue_mining", self.pue_mining, |i| i.pue_mining),
            pue_all,
        )?;
        let pue_ai = pue(get("pue_ai", self.pue_ai, |i| i.pue_ai), pue_all)?;
        let hashprice = self.hashprice(&lookup)?;
        let pool_fee = get("pool_fee", self.pool_fee, |i| i.pool_fee).map_or(Ok(0.0), |v| {
            v.check(
                |f| (0.0..100.0).contains(&f),
                "a percentage from 0 to below 100",
            )
        })?;
        let token_price = |name, flag, key| {
            get(name, flag, key)
                .or_else(|| get("token_price", self.token_price, |i| i.token_price))
                .map(|v| v.positive(1000.0))
                .transpose()
        };
        let token_price_in =
            token_price("token_price_in", self.token_price_in, |i| i.token_price_in)?;
        let token_price_out = token_price("token_price_out", self.token_price_out, |i| {
            i.token_price_out
        })?;
        let gpu_hour_price = get("gpu_hour_price", self.gpu_hour_price, |i| i.gpu_hour_price)
            .map(|v| v.positive(1000.0))
            .transpose()?;
        let utilization =
            get("utilization", self.utilization, |i| i.utilization).map_or(Ok(100.0), |v| {
                v.check(
                    |u| u > 0.0 && u <= 100.0,
                    "a percentage above 0, at most 100",
                )
            })?;
        let max_token_latency_ms = get("max_token_latency_ms", self.max_token_latency_ms, |i| {
            i.max_token_latency_ms
        })
        .map_or(Ok(DEFAULT_MAX_TOKEN_LATENCY_MS), |v| {
            v.positive(3_600_000.0)
        })?;
        let gpu_capex = capex(
            get("gpu_capex", self.gpu_capex, |i| i.gpu_capex),
            get("gpu_life_years", self.gpu_life_years, |i| i.gpu_life_years),
            "--gpu-capex",
            "--gpu-life-years",
        )?;
        let asic_capex = capex(
            get("asic_capex", self.asic_capex, |i| i.asic_capex),
            get("asic_life_years", self.asic_life_years, |i| {
                i.asic_life_years
            }),
            "--asic-capex",
            "--asic-life-years",
        )?;
        let names = match (self.asic.is_empty(), site) {
            (true, Some((inputs, _))) => inputs.asic.clone(),
            _ => self.asic.clone(),
        };
        let mut asics = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let asic = asics::named(name).map_err(Error::usage)?;
            // The same model twice (`--asic s21-pro,s21-pro`, or two
            // spellings of one name) would be priced twice.
            if asics.iter().any(|a: &AsicChoice| a.asic.name == asic.name) {
                return Err(Error::usage(format!(
                    "--asic names {} twice: name each model once",
                    asic.name
                )));
            }
            asics.push(AsicChoice { asic, given: false });
        }
        let rate = get("asic_rate", self.asic_rate, |i| i.asic_rate);
        let watts = get("asic_watts", self.asic_watts, |i| i.asic_watts);
        match (rate, watts) {
            (Some(rate), Some(watts)) => {
                let (rate, watts) = (rate.positive(1e5)?, watts.positive(1e6)?);
                asics.push(AsicChoice {
                    asic: Asic {
                        name: "ASIC as given",
                        terahashes_per_second: rate,
                        watts,
                        source: "--asic-rate and --asic-watts",
                    },
                    given: true,
                });
            }
            (None, None) => {}
            _ => {
                return Err(Error::usage(
                    "--asic-rate and --asic-watts go together: give both",
                ));
            }
        }
        Ok(Resolved {
            power_price_usd_per_mwh: power_price,
            price_series,
            ai_uptime_percent: ai_uptime,
            curtailment_credit_usd_per_mwh: credit,
            colocation,
            pue_mining,
            pue_ai,
            hashprice,
            pool_fee_percent: pool_fee,
            token_price_in_usd_per_million: token_price_in,
            token_price_out_usd_per_million: token_price_out,
            gpu_hour_price_usd: gpu_hour_price,
            utilization_percent: utilization,
            max_token_latency_ms,
            gpu_capex,
            asic_capex,
            asics,
        })
    }

    /// The flat power price or the price series (read and checked): one of
    /// the two. A flag of either kind wins over the site file's.
    fn power(&self, site: Option<(&Inputs, &Path)>) -> Result<(Option<f64>, Option<PriceSeries>)> {
        let (price, series) = match ((self.power_price, &self.price_series), site) {
            ((Some(_), Some(_)), _) => {
                return Err(Error::usage(
                    "give --power-price or --price-series, not both",
                ));
            }
            ((None, None), Some((inputs, path))) => {
                if inputs.power_price.is_some() && inputs.price_series.is_some() {
                    return Err(Error::usage(format!(
                        "site file {}: give power_price or price_series, not both",
                        path.display()
                    )));
                }
                (
                    inputs
                        .power_price
                        .map(|p| (p, format!("power_price in {}", path.display()))),
                    // Relative to the site file, as a site's files live
                    // together.
                    inputs
                        .price_series
                        .as_ref()
                        .map(|s| path.parent().unwrap_or(Path::new("")).join(s)),
                )
            }
            ((price, series), _) => (
                price.map(|p| (p, "--power-price".to_string())),
                series.clone(),
            ),
        };
        match (price, series) {
            (Some((value, label)), None) => {
                // A site file may describe its series while a flag asks
                // what a flat price would do: only flags are refused.
                if self.price_format.is_some() || self.settlement_point.is_some() {
                    return Err(Error::usage(
                        "--price-format and --settlement-point read a price series: give \
                         --price-series FILE",
                    ));
                }
                Ok((
                    Some(Value { value, label }.positive(MAX_POWER_PRICE)?),
                    None,
                ))
            }
            (None, Some(path)) => {
                let format = self.price_format.or(site.and_then(|(i, _)| i.price_format));
                let point = self
                    .settlement_point
                    .as_deref()
                    .or(site.and_then(|(i, _)| i.settlement_point.as_deref()));
                Ok((
                    None,
                    Some(PriceSeries::read(&path, format.unwrap_or_default(), point)?),
                ))
            }
            _ => Err(Error::usage(
                "give the power price: --power-price USD per MWh, or --price-series FILE \
                 (or power_price or price_series in --site)",
            )),
        }
    }

    /// A colocation lease, with `--colocation-rate`; its other flags
    /// without it are an error.
    fn colocation(
        &self,
        lookup: &Lookup,
        site: Option<(&Inputs, &Path)>,
    ) -> Result<Option<Colocation>> {
        let get = |name, flag, file| lookup.get(name, flag, file);
        let rate = get("colocation_rate", self.colocation_rate, |i| {
            i.colocation_rate
        });
        let capex = capex(
            get("colocation_capex", self.colocation_capex, |i| {
                i.colocation_capex
            }),
            get("colocation_life_years", self.colocation_life_years, |i| {
                i.colocation_life_years
            }),
            "--colocation-capex",
            "--colocation-life-years",
        )?;
        let power = self
            .colocation_power
            .or(site.and_then(|(i, _)| i.colocation_power));
        let Some(rate) = rate else {
            if capex.is_some() || power.is_some() {
                return Err(Error::usage(
                    "--colocation-capex, --colocation-life-years and --colocation-power \
                     describe a lease: give --colocation-rate USD per kW-month",
                ));
            }
            return Ok(None);
        };
        Ok(Some(Colocation {
            rate_usd_per_kw_month: rate.positive(10_000.0)?,
            capex,
            power: power.unwrap_or_default(),
        }))
    }

    /// `--hashprice`, or one derived from the BTC price and the network.
    fn hashprice(&self, lookup: &Lookup) -> Result<Option<Hashprice>> {
        let get = |name, flag, file| lookup.get(name, flag, file);
        let given = get("hashprice", self.hashprice, |i| i.hashprice);
        let btc = get("btc_price", self.btc_price, |i| i.btc_price);
        let network = get("network_hashrate", self.network_hashrate, |i| {
            i.network_hashrate
        });
        let difficulty = get("difficulty", self.difficulty, |i| i.difficulty);
        let subsidy = get("subsidy", self.subsidy, |i| i.subsidy).map_or(Ok(3.125), |v| {
            v.check(|s| (0.0..=50.0).contains(&s), "from 0 to 50 BTC")
        })?;
        let fees = get("fees", self.fees, |i| i.fees).map_or(Ok(0.0), |v| {
            v.check(|f| (0.0..=1000.0).contains(&f), "from 0 to 1000 BTC")
        })?;
        let both = "give the hashprice (--hashprice) or what derives it \
                    (--btc-price with --network-hashrate or --difficulty), not both";
        match (given, btc, network, difficulty) {
            (Some(_), Some(_), _, _) | (Some(_), _, Some(_), _) | (Some(_), _, _, Some(_)) => {
                Err(Error::usage(both))
            }
            (Some(hashprice), None, None, None) => Ok(Some(Hashprice {
                usd_per_ph_day: hashprice.positive(1e6)?,
                from: "given".into(),
            })),
            (None, None, None, None) => Ok(None),
            (None, Some(_), Some(_), Some(_)) => Err(Error::usage(
                "give the network hashrate or the difficulty, not both",
            )),
            (None, Some(btc), network, difficulty) => {
                let btc = btc.positive(1e9)?;
                let (hashrate, how) = match (network, difficulty) {
                    (Some(eh), None) => {
                        let eh = eh.positive(1e6)?;
                        (eh * 1e18, format!("network {eh} EH/s"))
                    }
                    (None, Some(d)) => {
                        let d = d.positive(1e20)?;
                        let hashrate = model::network_hashrate_from_difficulty(d);
                        (
                            hashrate,
                            format!("difficulty {d:e} = {:.1} EH/s", hashrate / 1e18),
                        )
                    }
                    _ => {
                        return Err(Error::usage(
                            "--btc-price needs --network-hashrate EH/s or --difficulty to derive the hashprice",
                        ));
                    }
                };
                if subsidy + fees <= 0.0 {
                    return Err(Error::usage("subsidy plus fees must be above zero"));
                }
                Ok(Some(Hashprice {
                    usd_per_ph_day: model::hashprice_usd_per_ph_day(btc, hashrate, subsidy, fees),
                    from: format!(
                        "BTC {btc} USD, {how}, {subsidy} BTC subsidy + {fees} BTC fees per block"
                    ),
                }))
            }
            (None, None, _, _) => Err(Error::usage(
                "--network-hashrate and --difficulty derive the hashprice only with --btc-price",
            )),
        }
    }
}

/// A capital cost: both figures, or neither.
fn capex(
    usd: Option<Value>,
    years: Option<Value>,
    usd_flag: &str,
    years_flag: &str,
) -> Result<Option<Capex>> {
    match (usd, years) {
        (Some(usd), Some(years)) => Ok(Some(Capex {
            usd: usd.positive(1e9)?,
            life_years: years.positive(50.0)?,
        })),
        (None, None) => Ok(None),
        _ => Err(Error::usage(format!(
            "{usd_flag} and {years_flag} go together: give both"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Inputs {
        Inputs {
            power_price: Some(45.0),
            ..Inputs::default()
        }
    }

    fn usage(result: Result<Resolved>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.exit_code(), 2, "{error}");
        error.to_string()
    }

    #[test]
    fn defaults_apply_and_pue_splits_by_kind() {
        let resolved = Inputs {
            pue: Some(1.2),
            pue_ai: Some(1.4),
            ..flags()
        }
        .resolve(None)
        .unwrap();
        assert_eq!(resolved.power_price_usd_per_mwh, Some(45.0));
        assert_eq!((resolved.pue_mining, resolved.pue_ai), (1.2, 1.4));
        assert_eq!(resolved.pool_fee_percent, 0.0);
        assert_eq!(resolved.utilization_percent, 100.0);
        assert_eq!(resolved.hashprice, None);
    }

    #[test]
    fn flags_win_over_the_site_file_and_errors_name_where_a_value_came_from() {
        let site: Inputs = toml::from_str(
            "power_price = 60.0\npue = 1.1\nhashprice = 40.0\nasic = [\"S21 Pro\"]\n",
        )
        .unwrap();
        let path = Path::new("site.toml");
        let resolved = flags().resolve(Some((&site, path))).unwrap();
        assert_eq!(
            resolved.power_price_usd_per_mwh,
            Some(45.0),
            "the flag wins"
        );
        assert_eq!(resolved.pue_mining, 1.1, "the file fills in");
        assert_eq!(resolved.hashprice.unwrap().usd_per_ph_day, 40.0);
        assert_eq!(resolved.asics[0].asic.name, "Antminer S21 Pro");
        let bad_site: Inputs = toml::from_str("power_price = 45.0\npue = 0.9\n").unwrap();
        let error = usage(Inputs::default().resolve(Some((&bad_site, path))));
        assert_eq!(
            error,
            "pue in site.toml must be at least 1.0 and at most 5.0 (got 0.9)"
        );
        let error = usage(
            Inputs {
                pue: Some(0.9),
                ..flags()
            }
            .resolve(None),
        );
        assert!(error.starts_with("--pue must be at least 1.0"), "{error}");
    }

    /// A price series replaces the flat price (never both), is read
    /// relative to a site file, and the flags that only a series or a
    /// lease gives meaning to are refused without one.
    #[test]
    fn a_price_series_or_a_flat_price_and_what_needs_each() {
        let dir = tempfile::tempdir().unwrap();
        let series = dir.path().join("prices.csv");
        std::fs::write(
            &series,
            "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,30\n2025-01-01T01:00:00Z,-4\n",
        )
        .unwrap();
        let with_series = Inputs {
            price_series: Some(series.clone()),
            ai_uptime: Some(97.0),
            curtailment_credit: Some(12.0),
            ..Inputs::default()
        };
        let resolved = with_series.resolve(None).unwrap();
        assert_eq!(resolved.power_price_usd_per_mwh, None);
        assert_eq!(resolved.price_series.as_ref().unwrap().intervals.len(), 2);
        assert_eq!(
            (
                resolved.ai_uptime_percent,
                resolved.curtailment_credit_usd_per_mwh
            ),
            (97.0, 12.0)
        );
        let error = usage(
            Inputs {
                power_price: Some(45.0),
                ..with_series.clone()
            }
            .resolve(None),
        );
        assert_eq!(error, "give --power-price or --price-series, not both");
        // A site file's series is relative to the file; a flag of either
        // kind wins over the file's.
        let site: Inputs = toml::from_str("price_series = \"prices.csv\"\n").unwrap();
        let site_path = dir.path().join("site.toml");
        let resolved = Inputs::default()
            .resolve(Some((&site, &site_path)))
            .unwrap();
        assert_eq!(resolved.price_series.unwrap().file, series);
        let resolved = flags().resolve(Some((&site, &site_path))).unwrap();
        assert_eq!(resolved.power_price_usd_per_mwh, Some(45.0));
        let described: Inputs =
            toml::from_str("price_series = \"prices.csv\"\nprice_format = \"plain\"\n").unwrap();
        let resolved = flags().resolve(Some((&described, &site_path))).unwrap();
        assert_eq!(
            resolved.power_price_usd_per_mwh,
            Some(45.0),
            "a what-if flat price"
        );
        let both: Inputs = toml::from_str("price_series = \"p.csv\"\npower_price = 3.0\n").unwrap();
        let error = usage(Inputs::default().resolve(Some((&both, &site_path))));
        assert!(
            error.ends_with("give power_price or price_series, not both"),
            "{error}"
        );
        for (inputs, expected) in [
            (
                Inputs {
                    ai_uptime: Some(90.0),
                    ..flags()
                },
                "--ai-uptime applies to a price series",
            ),
            (
                Inputs {
                    curtailment_credit: Some(5.0),
                    ..flags()
                },
                "--curtailment-credit applies to a price series",
            ),
            (
                Inputs {
                    settlement_point: Some("HB_NORTH".into()),
                    ..flags()
                },
                "--price-format and --settlement-point read a price series",
            ),
            (
                Inputs {
                    ai_uptime: Some(0.0),
                    ..with_series.clone()
                },
                "--ai-uptime must be a percentage above 0",
            ),
            (
                Inputs {
                    curtailment_credit: Some(-1.0),
                    ..with_series.clone()
                },
                "--curtailment-credit must be from 0",
            ),
            (
                Inputs {
                    colocation_power: Some(ColocationPower::Included),
                    ..flags()
                },
                "--colocation-capex, --colocation-life-years and --colocation-power describe a lease",
            ),
            (
                Inputs {
                    colocation_rate: Some(130.0),
                    colocation_capex: Some(1e7),
                    ..flags()
                },
                "--colocation-capex and --colocation-life-years go together",
            ),
            (
                Inputs {
                    colocation_rate: Some(f64::INFINITY),
                    ..flags()
                },
                "--colocation-rate must be greater than zero",
            ),
            (
                Inputs {
                    token_price_in: Some(0.0),
                    ..flags()
                },
                "--token-price-in must be greater than zero",
            ),
            (
                Inputs {
                    price_series: Some(dir.path().join("missing.csv")),
                    ..Inputs::default()
                },
                "cannot read",
            ),
            (
                Inputs::default(),
                "give the power price: --power-price USD per MWh, or --price-series FILE",
            ),
        ] {
            let error = inputs.resolve(None).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn site_files_refuse_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.toml");
        std::fs::write(&path, "power_prize = 45\n").unwrap();
        let error = Inputs::from_site_file(&path).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("power_prize"), "{error}");
        let missing = Inputs::from_site_file(&dir.path().join("none.toml")).unwrap_err();
        assert_eq!(missing.exit_code(), 1, "a file that cannot be read");
    }

    #[test]
    fn the_hashprice_is_given_or_derived_never_both() {
        let derived = Inputs {
            btc_price: Some(100_000.0),
            difficulty: Some(150e12),
            fees: Some(0.025),
            ..flags()
        }
        .resolve(None)
        .unwrap()
        .hashprice
        .unwrap();
        // 144 x 3.15 x 100,000 / 1,073,741.824 PH/s (see model's tests).
        assert!((derived.usd_per_ph_day - 42.2448).abs() < 1e-3);
        assert!(derived.from.contains("difficulty"), "{}", derived.from);
        let from_hashrate = Inputs {
            btc_price: Some(100_000.0),
            network_hashrate: Some(1000.0),
            ..flags()
        }
        .resolve(None)
        .unwrap()
        .hashprice
        .unwrap();
        // 144 x 3.125 x 100,000 / 1,000,000 PH/s = 45 USD.
        assert!((from_hashrate.usd_per_ph_day - 45.0).abs() < 1e-9);
        for bad in [
            Inputs {
                hashprice: Some(40.0),
                btc_price: Some(1e5),
                ..flags()
            },
            Inputs {
                btc_price: Some(1e5),
                ..flags()
            },
            Inputs {
                difficulty: Some(1e14),
                ..flags()
            },
            Inputs {
                btc_price: Some(1e5),
                difficulty: Some(1e14),
                network_hashrate: Some(1e3),
                ..flags()
            },
            Inputs {
                hashprice: Some(-1.0),
                ..flags()
            },
            Inputs {
                btc_price: Some(1e5),
                difficulty: Some(1e14),
                subsidy: Some(0.0),
                ..flags()
            },
        ] {
            usage(bad.resolve(None));
        }
    }

    #[test]
    fn bad_figures_are_usage_errors_naming_the_flag() {
        let cases = [
            (Inputs::default(), "give the power price"),
            (
                Inputs {
                    power_price: Some(0.0),
                    ..Inputs::default()
                },
                "--power-price must be greater than zero",
            ),
            (
                Inputs {
                    power_price: Some(-5.0),
                    ..Inputs::default()
                },
                "--power-price must be greater than zero",
            ),
            (
                Inputs {
                    token_price: Some(0.0),
                    ..flags()
                },
                "--token-price",
            ),
            (
                Inputs {
                    utilization: Some(120.0),
                    ..flags()
                },
                "--utilization",
            ),
            (
                Inputs {
                    pool_fee: Some(100.0),
                    ..flags()
                },
                "--pool-fee",
            ),
            (
                Inputs {
                    gpu_capex: Some(30_000.0),
                    ..flags()
                },
                "--gpu-capex and --gpu-life-years go together",
            ),
            (
                Inputs {
                    asic_capex: Some(4000.0),
                    asic_life_years: Some(0.0),
                    ..flags()
                },
                "--asic-life-years",
            ),
            (
                Inputs {
                    asic_rate: Some(200.0),
                    ..flags()
                },
                "--asic-rate and --asic-watts",
            ),
            (
                Inputs {
                    asic_rate: Some(200.0),
                    asic_watts: Some(-3.0),
                    ..flags()
                },
                "--asic-watts",
            ),
            (
                Inputs {
                    asic: vec!["S9".into()],
                    ..flags()
                },
                "unknown ASIC 'S9'",
            ),
            (
                Inputs {
                    power_price: Some(f64::NAN),
                    ..Inputs::default()
                },
                "--power-price",
            ),
        ];
        for (inputs, said) in cases {
            let error = usage(inputs.resolve(None));
            assert!(error.contains(said), "'{error}' lacks '{said}'");
        }
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        const KEYS: [&str; 18] = [
            "power_price",
            "ai_uptime",
            "curtailment_credit",
            "colocation_rate",
            "colocation_capex",
            "token_price_in",
            "pue",
            "pue_ai",
            "hashprice",
            "btc_price",
            "difficulty",
            "network_hashrate",
            "token_price",
            "gpu_capex",
            "gpu_life_years",
            "asic",
            "utilization",
            "max_token_latency_ms",
        ];

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<f64>().prop_map(|v| format!("{v:?}")),
                any::<i64>().prop_map(|v| v.to_string()),
                Just("inf".to_string()),
                Just("nan".to_string()),
                Just("-1e308".to_string()),
                "\"[a-z0-9 -]{0,10}\"",
                Just("[\"s21-pro\", \"nope\"]".to_string()),
                ".{0,6}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// A site file of known keys with any values: every figure is
            /// accepted in range, or refused as a usage error.
            #[test]
            fn any_site_file_resolves_or_is_a_usage_error(
                lines in proptest::collection::vec((0..KEYS.len(), value()), 0..6)
            ) {
                let text: String = lines
                    .iter()
                    .map(|(key, value)| format!("{} = {value}\n", KEYS[*key]))
                    .collect();
                if let Ok(site) = toml::from_str::<Inputs>(&text) {
                    match Inputs::default().resolve(Some((&site, Path::new("site.toml")))) {
                        Ok(resolved) => {
                            prop_assert!(resolved.power_price_usd_per_mwh.unwrap() > 0.0);
                            prop_assert!(resolved.power_price_usd_per_mwh.unwrap() <= MAX_POWER_PRICE);
                            prop_assert!(resolved.pue_ai >= 1.0 && resolved.pue_ai <= 5.0);
                        }
                        Err(error) => prop_assert_eq!(error.exit_code(), 2),
                    }
                }
            }
        }
    }
}
