//! Who runs when across a price series: pure functions from an option's
//! revenue and capital cost per MWh and the series' intervals to what one
//! MW of site capacity earns over the series.
//!
//! Mining is flexible: a miner stops in any interval where stopping earns
//! more (the price, less what running earns, exceeds the curtailment
//! credit); its capital cost is sunk either way. AI is rigid: customers
//! expect the load up, so it runs in every interval except that an uptime
//! below 100% lets it stop in that share of the hours, spent on the
//! dearest intervals where stopping earns more. A colocation lease runs
//! always.

use super::model::HOURS_PER_YEAR;
use super::prices::Interval;

/// How an option may follow the price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operation {
    /// Runs only in intervals where running earns more than stopping.
    Flexible,
    /// Runs in every interval but may stop in up to `100 - uptime_percent`
    /// percent of the series' hours.
    Rigid { uptime_percent: f64 },
}

/// One option as the series sees it, per MW of site capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// What a site MWh drawn earns.
    pub revenue_usd_per_mwh: f64,
    /// Capital cost of the hardware a MW of site capacity holds, per hour
    /// (the same figure as capex per site MWh at full draw).
    pub capex_usd_per_hour: f64,
    /// False for a lease whose tenant pays the power.
    pub pays_power: bool,
    pub operation: Operation,
}

/// What one MW of site capacity earns over a series.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct SeriesEconomics {
    /// What a MWh drawn earns.
    pub revenue_usd_per_mwh: f64,
    pub hours_run: f64,
    pub uptime_percent: f64,
    /// Energy drawn at the meter.
    pub energy_mwh: f64,
    /// Mean price of the MWh drawn; none where the tenant pays the power
    /// or it never ran.
    pub average_price_paid_usd_per_mwh: Option<f64>,
    pub revenue_usd: f64,
    pub power_cost_usd: f64,
    pub curtailment_credit_usd: f64,
    pub capex_usd: f64,
    /// Revenue plus credits, less power and capital cost.
    pub margin_usd: f64,
    /// The margin scaled to 8760 hours.
    pub usd_per_mw_year: f64,
    /// The breakeven over a series: the price below which running earns
    /// more than stopping, revenue per MWh less the credit (capital cost is
    /// paid either way). None where the tenant pays the power.
    pub running_pays_below_usd_per_mwh: Option<f64>,
}

/// Runs `profile` over `intervals` with `credit` USD per MWh not drawn
/// while stopped.
pub fn operate(
    profile: &Profile,
    intervals: &[Interval],
    credit_usd_per_mwh: f64,
) -> SeriesEconomics {
    let stops_above = profile
        .pays_power
        .then_some(profile.revenue_usd_per_mwh - credit_usd_per_mwh);
    // Stopping earns more than running where the price is above that.
    let better_stopped = |i: &Interval| stops_above.is_some_and(|s| i.price_usd_per_mwh > s);
    let running: Vec<bool> = match profile.operation {
        Operation::Flexible => intervals.iter().map(|i| !better_stopped(i)).collect(),
        Operation::Rigid { uptime_percent } => {
            let total: f64 = intervals.iter().map(|i| i.hours).sum();
            let mut allowance = total * (100.0 - uptime_percent) / 100.0;
            let mut running = vec![true; intervals.len()];
            let mut dearest: Vec<usize> = (0..intervals.len())
                .filter(|&k| better_stopped(&intervals[k]))
                .collect();
            dearest.sort_by(|&a, &b| {
                intervals[b]
                    .price_usd_per_mwh
                    .total_cmp(&intervals[a].price_usd_per_mwh)
            });
            for k in dearest {
                // An interval longer than what is left is skipped, not
                // split: a shorter, cheaper one may still fit.
                if intervals[k].hours <= allowance + 1e-9 {
                    allowance -= intervals[k].hours;
                    running[k] = false;
                }
            }
            running
        }
    };
    let mut hours = 0.0;
    let mut hours_run = 0.0;
    let mut paid = 0.0;
    for (interval, &runs) in intervals.iter().zip(&running) {
        hours += interval.hours;
        if runs {
            hours_run += interval.hours;
            paid += interval.hours * interval.price_usd_per_mwh;
        }
    }
    // One MW for an hour is one MWh.
    let energy = hours_run;
    let revenue = profile.revenue_usd_per_mwh * energy;
    let power_cost = if profile.pays_power { paid } else { 0.0 };
    let credit = credit_usd_per_mwh * (hours - hours_run);
    let capex = profile.capex_usd_per_hour * hours;
    let margin = revenue + credit - power_cost - capex;
    SeriesEconomics {
        revenue_usd_per_mwh: profile.revenue_usd_per_mwh,
        hours_run,
        uptime_percent: 100.0 * hours_run / hours,
        energy_mwh: energy,
        average_price_paid_usd_per_mwh: (profile.pays_power && energy > 0.0).then(|| paid / energy),
        revenue_usd: revenue,
        power_cost_usd: power_cost,
        curtailment_credit_usd: credit,
        capex_usd: capex,
        margin_usd: margin,
        usd_per_mw_year: margin * HOURS_PER_YEAR / hours,
        running_pays_below_usd_per_mwh: stops_above,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day of hourly prices: 20 at night (0-7), 40 in the day (8-15),
    /// 150 in the evening peak (16-19), -10 in four windy late hours
    /// (20-23). Mean (8x20 + 8x40 + 4x150 - 4x10) / 24 = 1040 / 24.
    fn day() -> Vec<Interval> {
        (0..24)
            .map(|hour| Interval {
                hours: 1.0,
                price_usd_per_mwh: match hour {
                    0..8 => 20.0,
                    8..16 => 40.0,
                    16..20 => 150.0,
                    _ => -10.0,
                },
            })
            .collect()
    }

    fn miner(revenue: f64, capex: f64) -> Profile {
        Profile {
            revenue_usd_per_mwh: revenue,
            capex_usd_per_hour: capex,
            pays_power: true,
            operation: Operation::Flexible,
        }
    }

    #[test]
    fn a_miner_stops_where_power_costs_more_than_a_hash_earns() {
        // Revenue 60/MWh: runs 20 hours (not the 150 peak); pays 8x20 +
        // 8x40 - 4x10 = 440; earns 1200; capex 5/h all 24 hours = 120.
        let e = operate(&miner(60.0, 5.0), &day(), 0.0);
        assert_eq!(e.hours_run, 20.0);
        assert!((e.uptime_percent - 100.0 * 20.0 / 24.0).abs() < 1e-12);
        assert_eq!(e.energy_mwh, 20.0);
        assert_eq!(e.power_cost_usd, 440.0);
        assert_eq!(e.average_price_paid_usd_per_mwh, Some(22.0));
        assert_eq!(e.revenue_usd, 1200.0);
        assert_eq!(e.capex_usd, 120.0);
        assert_eq!(e.margin_usd, 640.0);
        assert_eq!(e.usd_per_mw_year, 640.0 * 365.0);
        assert_eq!(e.running_pays_below_usd_per_mwh, Some(60.0));
        // Revenue 30/MWh: also stops in the day's 40.
        let e = operate(&miner(30.0, 0.0), &day(), 0.0);
        assert_eq!(e.hours_run, 12.0);
        assert_eq!(e.margin_usd, 12.0 * 30.0 - (160.0 - 40.0));
    }

    #[test]
    fn negative_prices_pay_whoever_draws() {
        // A miner earning nothing still runs where power is paid for.
        let e = operate(&miner(0.0, 0.0), &day(), 0.0);
        assert_eq!(e.hours_run, 4.0);
        assert_eq!(e.margin_usd, 40.0);
    }

    #[test]
    fn a_credit_pays_for_every_mwh_not_drawn_and_moves_the_stop() {
        // Credit 25: the miner earning 60 stops where the price is above
        // 35, so in the day too (40): runs 12 hours, is credited 12 x 25.
        let e = operate(&miner(60.0, 0.0), &day(), 25.0);
        assert_eq!(e.running_pays_below_usd_per_mwh, Some(35.0));
        assert_eq!(e.hours_run, 12.0);
        assert_eq!(e.curtailment_credit_usd, 300.0);
        assert_eq!(e.margin_usd, 12.0 * 60.0 - 120.0 + 300.0);
    }

    fn ai(revenue: f64, uptime_percent: f64) -> Profile {
        Profile {
            revenue_usd_per_mwh: revenue,
            capex_usd_per_hour: 10.0,
            pays_power: true,
            operation: Operation::Rigid { uptime_percent },
        }
    }

    #[test]
    fn ai_runs_every_hour_unless_its_uptime_lets_it_stop_in_the_dearest() {
        // Revenue 100: at 100% uptime it runs through the 150 peak too.
        let e = operate(&ai(100.0, 100.0), &day(), 0.0);
        assert_eq!(e.hours_run, 24.0);
        assert_eq!(e.power_cost_usd, 1040.0);
        assert_eq!(e.margin_usd, 2400.0 - 1040.0 - 240.0);
        // 90% of 24 h: 2.4 h to stop, spent on two of the four peak hours.
        let e = operate(&ai(100.0, 90.0), &day(), 0.0);
        assert_eq!(e.hours_run, 22.0);
        assert_eq!(e.power_cost_usd, 1040.0 - 300.0);
        // 50%: 12 h allowed, but only the 4 peak hours are worth stopping
        // in: it never stops where running pays.
        let e = operate(&ai(100.0, 50.0), &day(), 0.0);
        assert_eq!(e.hours_run, 20.0);
        // A credit of 70 makes stopping pay above 30: the day's 40 too,
        // dearest first: 4 peak hours, then 8 day hours (12 in all).
        let e = operate(&ai(100.0, 50.0), &day(), 70.0);
        assert_eq!(e.hours_run, 12.0);
        assert_eq!(e.curtailment_credit_usd, 12.0 * 70.0);
    }

    #[test]
    fn a_lease_whose_tenant_pays_the_power_ignores_the_price() {
        let lease = Profile {
            revenue_usd_per_mwh: 120.0,
            capex_usd_per_hour: 20.0,
            pays_power: false,
            operation: Operation::Rigid {
                uptime_percent: 100.0,
            },
        };
        let e = operate(&lease, &day(), 50.0);
        assert_eq!(e.hours_run, 24.0);
        assert_eq!(e.power_cost_usd, 0.0);
        assert_eq!(e.average_price_paid_usd_per_mwh, None);
        assert_eq!(e.curtailment_credit_usd, 0.0);
        assert_eq!(e.margin_usd, 24.0 * 100.0);
        assert_eq!(e.running_pays_below_usd_per_mwh, None);
    }

    #[test]
    fn quarter_hours_weigh_a_quarter() {
        // 15-minute prices: 20, 200, 20, 200 (an hour); a miner at 60 runs
        // half the hour.
        let quarters: Vec<Interval> = [20.0, 200.0, 20.0, 200.0]
            .into_iter()
            .map(|p| Interval {
                hours: 0.25,
                price_usd_per_mwh: p,
            })
            .collect();
        let e = operate(&miner(60.0, 4.0), &quarters, 0.0);
        assert_eq!(e.hours_run, 0.5);
        assert_eq!(e.power_cost_usd, 10.0);
        assert_eq!(e.capex_usd, 4.0);
        assert_eq!(e.margin_usd, 30.0 - 10.0 - 4.0);
        assert_eq!(e.usd_per_mw_year, 16.0 * 8760.0);
    }
}
