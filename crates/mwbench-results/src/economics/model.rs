//! The economic model: pure functions from throughput, watts and prices to
//! US dollars per MWh of site energy. Every figure is per MWh *at the
//! meter*: cooling and other overhead (PUE) divide the IT energy that a
//! site MWh feeds, and capital cost is spread over the hours the hardware
//! runs.

/// Joules in one megawatt-hour.
pub const JOULES_PER_MWH: f64 = 3.6e9;
/// Hours in a (non-leap) year: one MW for a year is 8760 MWh.
pub const HOURS_PER_YEAR: f64 = 8760.0;
/// Bitcoin aims at a block every 600 s.
pub const BLOCKS_PER_DAY: f64 = 144.0;
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Network hashrate in H/s implied by a difficulty: a block takes
/// `difficulty x 2^32` hashes on average, one every 600 s.
pub fn network_hashrate_from_difficulty(difficulty: f64) -> f64 {
    difficulty * 2f64.powi(32) / 600.0
}

/// Hashprice, USD per PH/s per day: what the whole network earns in a day
/// (144 blocks of subsidy and fees at the BTC price) shared by its hashrate.
pub fn hashprice_usd_per_ph_day(
    btc_price_usd: f64,
    network_hashrate_h_per_s: f64,
    subsidy_btc: f64,
    fees_btc_per_block: f64,
) -> f64 {
    let network_ph_per_s = network_hashrate_h_per_s / 1e15;
    BLOCKS_PER_DAY * (subsidy_btc + fees_btc_per_block) * btc_price_usd / network_ph_per_s
}

/// IT joules that one MWh at the site's meter feeds, after overhead.
pub fn it_joules_per_site_mwh(pue: f64) -> f64 {
    JOULES_PER_MWH / pue
}

/// Mining revenue per site MWh: hashes a site MWh buys, times what a hash
/// earns (hashprice is per PH/s sustained for a day, i.e. per 8.64e19
/// hashes), less the pool's fee.
pub fn mining_revenue_usd_per_mwh(
    hashes_per_joule: f64,
    hashprice_usd_per_ph_day: f64,
    pool_fee_percent: f64,
    pue: f64,
) -> f64 {
    let usd_per_hash = hashprice_usd_per_ph_day / (1e15 * SECONDS_PER_DAY);
    hashes_per_joule * it_joules_per_site_mwh(pue) * usd_per_hash * (1.0 - pool_fee_percent / 100.0)
}

/// Inference revenue per site MWh from selling tokens at
/// `usd_per_million_tokens`.
pub fn token_revenue_usd_per_mwh(
    tokens_per_joule: f64,
    usd_per_million_tokens: f64,
    pue: f64,
) -> f64 {
    tokens_per_joule * it_joules_per_site_mwh(pue) * usd_per_million_tokens / 1e6
}

/// Hours one device drawing `device_watts` (IT) runs on one site MWh.
pub fn device_hours_per_site_mwh(device_watts: f64, pue: f64) -> f64 {
    1e6 / (device_watts * pue)
}

/// Revenue per site MWh from renting the GPU by the hour: it is paid for
/// `utilization_percent` of the hours and draws its power in all of them.
pub fn gpu_hour_revenue_usd_per_mwh(
    usd_per_gpu_hour: f64,
    utilization_percent: f64,
    device_watts: f64,
    pue: f64,
) -> f64 {
    usd_per_gpu_hour * utilization_percent / 100.0 * device_hours_per_site_mwh(device_watts, pue)
}

/// Capital cost per site MWh: the purchase price spread evenly over the
/// hardware's life, times the hours a site MWh keeps it running.
pub fn capex_usd_per_mwh(capex_usd: f64, life_years: f64, device_watts: f64, pue: f64) -> f64 {
    capex_usd / (life_years * HOURS_PER_YEAR) * device_hours_per_site_mwh(device_watts, pue)
}

/// A colocation lease's revenue per site MWh: it is quoted per kW-month
/// of critical IT load, and a site MWh feeds 1/PUE MWh of IT (a month is
/// a twelfth of 8760 hours).
pub fn colocation_revenue_usd_per_mwh(usd_per_kw_month: f64, pue: f64) -> f64 {
    usd_per_kw_month * 1000.0 * 12.0 / HOURS_PER_YEAR / pue
}

/// A lease's capital cost (USD per MW of IT load, over its life) per site
/// MWh: a MW at the meter holds 1/PUE MW of IT.
pub fn colocation_capex_usd_per_mwh(usd_per_mw_it: f64, life_years: f64, pue: f64) -> f64 {
    usd_per_mw_it / (life_years * HOURS_PER_YEAR) / pue
}

/// What one MW at the meter earns in a year at `margin_usd_per_mwh`.
pub fn usd_per_mw_year(margin_usd_per_mwh: f64) -> f64 {
    margin_usd_per_mwh * HOURS_PER_YEAR
}

/// The power price at which the margin is zero: a site MWh costs its price
/// whatever it runs, so that is revenue less capital cost per MWh.
pub fn breakeven_power_price(revenue_usd_per_mwh: f64, capex_usd_per_mwh: f64) -> f64 {
    revenue_usd_per_mwh - capex_usd_per_mwh
}

/// Revenue, costs and margin of one option at one power price, per site MWh.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Economics {
    pub revenue_usd_per_mwh: f64,
    pub power_cost_usd_per_mwh: f64,
    pub capex_usd_per_mwh: f64,
    pub margin_usd_per_mwh: f64,
    pub usd_per_mw_year: f64,
    /// None where the price does not reach the margin (a colocation
    /// tenant pays its own power).
    pub breakeven_power_price_usd_per_mwh: Option<f64>,
}

impl Economics {
    /// An option earning `revenue` and costing `capex` per site MWh, at
    /// `power_price` USD per MWh.
    pub fn at(
        revenue_usd_per_mwh: f64,
        capex_usd_per_mwh: f64,
        power_price_usd_per_mwh: f64,
    ) -> Self {
        let margin = revenue_usd_per_mwh - power_price_usd_per_mwh - capex_usd_per_mwh;
        Economics {
            revenue_usd_per_mwh,
            power_cost_usd_per_mwh: power_price_usd_per_mwh,
            capex_usd_per_mwh,
            margin_usd_per_mwh: margin,
            usd_per_mw_year: usd_per_mw_year(margin),
            breakeven_power_price_usd_per_mwh: Some(breakeven_power_price(
                revenue_usd_per_mwh,
                capex_usd_per_mwh,
            )),
        }
    }

    /// An option whose power someone else pays (a colocation tenant): the
    /// price changes nothing.
    pub fn power_paid_by_tenant(revenue_usd_per_mwh: f64, capex_usd_per_mwh: f64) -> Self {
        Economics {
            power_cost_usd_per_mwh: 0.0,
            breakeven_power_price_usd_per_mwh: None,
            ..Economics::at(revenue_usd_per_mwh, capex_usd_per_mwh, 0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn hashprice_from_difficulty() {
        // Difficulty 150e12: 150e12 x 4294967296 / 600 = 1.073741824e21 H/s
        // (1.07 ZH/s) = 1_073_741.824 PH/s.
        let hashrate = network_hashrate_from_difficulty(150e12);
        assert!(close(hashrate, 1.073741824e21), "{hashrate}");
        // 144 x (3.125 + 0.025) BTC x 100_000 USD = 45_360_000 USD a day;
        // / 1_073_741.824 PH/s = 42.24485... USD per PH/s per day.
        let hashprice = hashprice_usd_per_ph_day(100_000.0, hashrate, 3.125, 0.025);
        assert!(
            close(hashprice, 45_360_000.0 / 1_073_741.824),
            "{hashprice}"
        );
        assert!((hashprice - 42.2448).abs() < 1e-3);
    }

    #[test]
    fn mining_revenue_per_mwh_from_rate_and_watts() {
        // An S21 Pro: 234 TH/s at 3510 W = 15 J/TH = 6.6667e10 H/J.
        // One MWh = 3.6e9 J buys 2.4e20 hashes (2.4e8 TH).
        // At 40 USD per PH/s per day, a hash earns 40 / 8.64e19 USD:
        // 2.4e20 x 40 / 8.64e19 = 111.111 USD per MWh (the hashcost rule
        // agrees: 15 J/TH x 111.11 USD/MWh x 24 h / 1e6 = 0.04 USD per
        // TH/s per day, the hashprice).
        let hashes_per_joule = 234e12 / 3510.0;
        let revenue = mining_revenue_usd_per_mwh(hashes_per_joule, 40.0, 0.0, 1.0);
        assert!(close(revenue, 2.4e20 * 40.0 / 8.64e19), "{revenue}");
        assert!((revenue - 111.111).abs() < 1e-3);
        // A 2% pool fee keeps 98% of it.
        let after_fee = mining_revenue_usd_per_mwh(hashes_per_joule, 40.0, 2.0, 1.0);
        assert!(close(after_fee, revenue * 0.98));
    }

    #[test]
    fn pue_divides_the_it_energy_a_site_mwh_feeds() {
        // At PUE 1.25 one site MWh feeds 0.8 MWh of IT: 80% of the revenue.
        let at_1 = mining_revenue_usd_per_mwh(1e10, 40.0, 0.0, 1.0);
        let at_1_25 = mining_revenue_usd_per_mwh(1e10, 40.0, 0.0, 1.25);
        assert!(close(at_1_25, 0.8 * at_1));
        assert!(close(it_joules_per_site_mwh(1.5), 2.4e9));
    }

    #[test]
    fn tokens_to_usd_per_mwh() {
        // 2,000 tokens/s at 700 W = 2.857 tokens/J; one MWh = 3.6e9 J
        // gives 1.0286e10 tokens = 10,285.7 million; at 0.20 USD per
        // million: 2,057.14 USD per MWh.
        let revenue = token_revenue_usd_per_mwh(2000.0 / 700.0, 0.20, 1.0);
        assert!(
            close(revenue, 2000.0 / 700.0 * 3.6e9 * 0.20 / 1e6),
            "{revenue}"
        );
        assert!((revenue - 2057.142857).abs() < 1e-5);
        // At PUE 1.4 the same site MWh feeds 1/1.4 of it.
        assert!(close(
            token_revenue_usd_per_mwh(2000.0 / 700.0, 0.20, 1.4),
            revenue / 1.4
        ));
    }

    #[test]
    fn gpu_hours_to_usd_per_mwh() {
        // A 700 W GPU runs 1e6 / 700 = 1428.57 h on one MWh; at 2.00 USD
        // per GPU-hour and 75% utilisation: 1428.57 x 1.50 = 2142.86 USD.
        let revenue = gpu_hour_revenue_usd_per_mwh(2.0, 75.0, 700.0, 1.0);
        assert!((revenue - 2142.857142).abs() < 1e-5, "{revenue}");
    }

    #[test]
    fn capex_per_mwh_of_the_hardwares_own_draw() {
        // A 30,000 USD GPU over 5 years is 30000 / 43800 h = 0.68493 USD
        // an hour; at 700 W and PUE 1.2 a site MWh runs it 1e6 / 840 =
        // 1190.48 h: 815.40 USD per MWh.
        let capex = capex_usd_per_mwh(30_000.0, 5.0, 700.0, 1.2);
        assert!(close(capex, 30_000.0 / 43_800.0 * 1e6 / 840.0), "{capex}");
        assert!((capex - 815.3947).abs() < 1e-3);
    }

    #[test]
    fn colocation_per_site_mwh() {
        // 130 USD per kW-month: 130,000 per MW of IT a month of 730 h =
        // 178.08 USD per IT MWh; at PUE 1.25 a site MWh feeds 0.8 MWh of
        // IT: 142.47 USD.
        let revenue = colocation_revenue_usd_per_mwh(130.0, 1.25);
        assert!(close(revenue, 130_000.0 / 730.0 * 0.8), "{revenue}");
        // 10 M USD per MW of IT over 15 years = 76.10 USD per IT MWh; 60.88
        // per site MWh at PUE 1.25.
        let capex = colocation_capex_usd_per_mwh(10e6, 15.0, 1.25);
        assert!(close(capex, 10e6 / (15.0 * 8760.0) * 0.8), "{capex}");
        let e = Economics::power_paid_by_tenant(revenue, capex);
        assert_eq!(e.power_cost_usd_per_mwh, 0.0);
        assert!(close(e.margin_usd_per_mwh, revenue - capex));
        assert_eq!(e.breakeven_power_price_usd_per_mwh, None);
    }

    #[test]
    fn margin_breakeven_and_a_year_of_a_megawatt() {
        // 111.11 revenue, 10 capex, at 45 USD/MWh: margin 56.11, a MW-year
        // 56.11 x 8760 = 491,533 USD; breakeven at 101.11 USD/MWh.
        let e = Economics::at(111.11, 10.0, 45.0);
        assert!(close(e.margin_usd_per_mwh, 56.11));
        assert!(close(e.usd_per_mw_year, 56.11 * 8760.0));
        assert!(close(e.breakeven_power_price_usd_per_mwh.unwrap(), 101.11));
        assert!(close(e.power_cost_usd_per_mwh, 45.0));
        // At the breakeven price the margin is zero.
        assert!(Economics::at(111.11, 10.0, 101.11).margin_usd_per_mwh.abs() < 1e-9);
    }
}
