//! Sustained runs (`run --sustain`): the throughput, power and the
//! adapter's conditions interval by interval, and the summary a site earns
//! by: the steady figure, not the first seconds.

use serde::{Deserialize, Serialize};

use super::units::{Summary, Unit};
use crate::error::shown;

/// One interval of a sustained run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeriesPoint {
    /// Seconds from the first sustained sample to the end of this interval.
    pub t: f64,
    /// Work over kernel time of the interval's samples, in the result's unit.
    pub throughput: f64,
    /// Mean power over the interval, from the result's power source;
    /// `null` when the source gives one constant figure (`--watts`, an
    /// estimate) or none.
    pub watts: Option<f64>,
    /// The adapter's temperature at the end of the interval, where its
    /// sensor reports one (NVML, hwmon's `temp1_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_clock_mhz: Option<f64>,
    /// Why the clocks were held down at the end of the interval, as the
    /// driver reports it (`power_cap`, `sw_thermal`, `hw_slowdown`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle: Vec<String>,
    /// The kernel's output was checked against the CPU reference during
    /// this interval (besides the checks before and after the run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub checked: bool,
}

/// Throughput and power at one point of a sustained run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SustainedFigure {
    pub throughput: f64,
    pub watts: Option<f64>,
}

/// What a sustained run comes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sustained {
    /// The length of each interval asked for (`--interval`).
    pub interval_seconds: f64,
    /// The first interval: the figure a short benchmark reports.
    pub first: SustainedFigure,
    /// The median of the last half of the intervals: what a site earns.
    /// A result's per-watt figures are of this.
    pub steady: SustainedFigure,
    /// How far the steady throughput is below the first, in percent
    /// (negative when it rose).
    pub drop_percent: f64,
    /// Every throttle reason seen in any interval, sorted; `idle` is not
    /// one (the driver says so between launches).
    pub throttled: Vec<String>,
    /// The first of the result's samples that falls in the last half:
    /// `compare` tests the steady samples alone.
    pub steady_from_sample: usize,
}

/// Fewest intervals a sustained run has: a first, and a last half.
pub const MIN_INTERVALS: usize = 3;

impl Sustained {
    /// The summary of `series` (in time order); `steady_from_sample` is the
    /// index of the first sample of its last half. `None` with fewer than
    /// [`MIN_INTERVALS`] intervals.
    pub fn of(
        series: &[SeriesPoint],
        interval_seconds: f64,
        steady_from_sample: usize,
    ) -> Option<Self> {
        if series.len() < MIN_INTERVALS {
            return None;
        }
        let last_half = &series[series.len() / 2..];
        let median = |values: Vec<f64>| Summary::of(&values).map(|s| s.median);
        let steady_throughput = median(last_half.iter().map(|p| p.throughput).collect())?;
        let steady_watts = if last_half.iter().all(|p| p.watts.is_some()) {
            median(last_half.iter().filter_map(|p| p.watts).collect())
        } else {
            None
        };
        let first = &series[0];
        let mut throttled: Vec<String> = series
            .iter()
            .flat_map(|p| p.throttle.iter())
            .filter(|r| r.as_str() != "idle")
            .cloned()
            .collect();
        throttled.sort();
        throttled.dedup();
        Some(Sustained {
            interval_seconds,
            first: SustainedFigure {
                throughput: first.throughput,
                watts: first.watts,
            },
            steady: SustainedFigure {
                throughput: steady_throughput,
                watts: steady_watts,
            },
            drop_percent: (first.throughput - steady_throughput) / first.throughput * 100.0,
            throttled,
            steady_from_sample,
        })
    }

    /// The change from first to steady in words: `drop 12.8%`, `rise 5.3%`.
    pub fn change(&self) -> String {
        let word = if self.drop_percent >= 0.0 {
            "drop"
        } else {
            "rise"
        };
        format!("{word} {:.1}%", self.drop_percent.abs())
    }
}

/// The first thing wrong with a result's `series` and `sustained` (read
/// from a file): out of range, out of order, a summary that is not the
/// series', or a series that is not its samples'.
pub fn check_consistent(
    series: &[SeriesPoint],
    sustained: Option<&Sustained>,
    unit: Unit,
    samples: &[f64],
) -> Result<(), String> {
    let mut previous = 0.0;
    for (index, point) in series.iter().enumerate() {
        let at = format!("series[{index}]");
        if !(point.t.is_finite() && point.t > previous && point.t <= 86_400.0) {
            return Err(format!(
                "{at}.t is {}: not after the interval before",
                shown(point.t)
            ));
        }
        previous = point.t;
        if !unit.plausible(point.throughput) {
            return Err(format!(
                "{at}.throughput {} {}, outside {}",
                shown(point.throughput),
                unit.as_str(),
                unit.range()
            ));
        }
        if let Some(w) = point.watts
            && !super::units::plausible_watts(w)
        {
            return Err(format!("{at}.watts is {}", shown(w)));
        }
        if let Some(c) = point.temperature_c
            && !(c.is_finite() && (-50.0..=200.0).contains(&c))
        {
            return Err(format!("{at}.temperature_c is {}", shown(c)));
        }
        for (name, mhz) in [
            ("sm_clock_mhz", point.sm_clock_mhz),
            ("memory_clock_mhz", point.memory_clock_mhz),
        ] {
            if let Some(mhz) = mhz
                && !(mhz.is_finite() && (0.0..=100_000.0).contains(&mhz))
            {
                return Err(format!("{at}.{name} is {}", shown(mhz)));
            }
        }
    }
    match sustained {
        None if series.is_empty() => Ok(()),
        None => Err("a series without its sustained summary".into()),
        Some(summary) => {
            if !(summary.interval_seconds.is_finite() && summary.interval_seconds > 0.0) {
                return Err(format!(
                    "sustained.interval_seconds is {}",
                    shown(summary.interval_seconds)
                ));
            }
            check_series_against_samples(series, summary.steady_from_sample, samples)?;
            let recomputed =
                Sustained::of(series, summary.interval_seconds, summary.steady_from_sample)
                    .ok_or_else(|| {
                        format!(
                            "a sustained summary over {} intervals (at least {MIN_INTERVALS})",
                            series.len()
                        )
                    })?;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300);
            let same_watts = match (recomputed.steady.watts, summary.steady.watts) {
                (Some(a), Some(b)) => close(a, b),
                (a, b) => a.is_none() && b.is_none(),
            };
            if !close(recomputed.steady.throughput, summary.steady.throughput)
                || !close(recomputed.first.throughput, summary.first.throughput)
                || !same_watts
                || !close(recomputed.drop_percent, summary.drop_percent)
                || recomputed.throttled != summary.throttled
            {
                return Err(
                    "sustained does not summarise its series (first, steady, drop or \
                            throttle reasons differ)"
                        .into(),
                );
            }
            Ok(())
        }
    }
}

/// Each interval's throughput is its samples' work over their time, so
/// it lies within their least and greatest rate: the intervals of the
/// first half within those of the samples before `steady_from_sample`,
/// those of the last half (the steady figure's) within those from it.
/// A series scaled apart from its samples (every figure x100) is refused.
fn check_series_against_samples(
    series: &[SeriesPoint],
    steady_from_sample: usize,
    samples: &[f64],
) -> Result<(), String> {
    if steady_from_sample == 0 || steady_from_sample >= samples.len() {
        return Err(format!(
            "sustained.steady_from_sample {steady_from_sample} leaves no samples before or \
             after it of the {}",
            samples.len()
        ));
    }
    let halves = [
        (
            0,
            &series[..series.len() / 2],
            &samples[..steady_from_sample],
        ),
        (
            series.len() / 2,
            &series[series.len() / 2..],
            &samples[steady_from_sample..],
        ),
    ];
    for (offset, points, samples) in halves {
        let Some(range) = Summary::of(samples) else {
            continue;
        };
        // Work over time sums the samples in another order than the run
        // did: a few ulps either side.
        let slack = 1e-9 * range.max;
        for (index, point) in points.iter().enumerate() {
            if point.throughput < range.min - slack || point.throughput > range.max + slack {
                return Err(format!(
                    "series[{}].throughput {} is outside its samples' {} to {}",
                    offset + index,
                    shown(point.throughput),
                    shown(range.min),
                    shown(range.max)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, throughput: f64, watts: f64, throttle: &[&str]) -> SeriesPoint {
        SeriesPoint {
            t,
            throughput,
            watts: Some(watts),
            temperature_c: Some(60.0),
            sm_clock_mhz: None,
            memory_clock_mhz: None,
            throttle: throttle.iter().map(|s| s.to_string()).collect(),
            checked: false,
        }
    }

    #[test]
    fn steady_is_the_median_of_the_last_half() {
        let series = vec![
            point(10.0, 100.0, 300.0, &["idle"]),
            point(20.0, 95.0, 300.0, &[]),
            point(30.0, 80.0, 250.0, &["sw_thermal"]),
            point(40.0, 82.0, 260.0, &["sw_thermal", "hw_slowdown"]),
            point(50.0, 78.0, 240.0, &["power_cap"]),
        ];
        let s = Sustained::of(&series, 10.0, 7).unwrap();
        // Last half: intervals 2, 3, 4.
        assert_eq!(s.steady.throughput, 80.0);
        assert_eq!(s.steady.watts, Some(250.0));
        assert_eq!(s.first.throughput, 100.0);
        assert!((s.drop_percent - 20.0).abs() < 1e-12);
        assert_eq!(s.throttled, ["hw_slowdown", "power_cap", "sw_thermal"]);
        // Seven samples in the first two intervals, thirteen in the rest.
        let mut samples = vec![100.0, 95.0, 100.0, 95.0, 100.0, 95.0, 97.0];
        samples.extend([78.0, 82.0, 80.0].repeat(4));
        samples.push(80.0);
        let unit = Unit::HashesPerSecond;
        assert!(check_consistent(&series, Some(&s), unit, &samples).is_ok());
        let mut lying = s.clone();
        lying.steady.throughput = 100.0;
        assert!(check_consistent(&series, Some(&lying), unit, &samples).is_err());
        // The series and its summary x100, the samples left: refused.
        let scaled: Vec<_> = series
            .iter()
            .map(|p| SeriesPoint {
                throughput: p.throughput * 100.0,
                ..p.clone()
            })
            .collect();
        let summary = Sustained::of(&scaled, 10.0, 7).unwrap();
        let error = check_consistent(&scaled, Some(&summary), unit, &samples).unwrap_err();
        assert!(error.contains("outside its samples' 95 to 100"), "{error}");
        // The steady half's samples must hold the steady intervals.
        let error = check_consistent(&series, Some(&s), unit, &[80.0; 20]).unwrap_err();
        assert!(error.contains("series[0].throughput 100"), "{error}");
        for steady_from in [0, 20] {
            let moved = Sustained::of(&series, 10.0, steady_from).unwrap();
            let error = check_consistent(&series, Some(&moved), unit, &samples).unwrap_err();
            assert!(error.contains("steady_from_sample"), "{error}");
        }
        assert!(Sustained::of(&series[..2], 10.0, 0).is_none());
    }

    /// A sustained result counts by its steady figure: its rate, watts and
    /// per-watt figures, the samples compare tests, and a merged group.
    #[test]
    fn a_sustained_result_counts_by_its_steady_figure() {
        use crate::fixtures::{file, result};
        use crate::results::Provenance;
        let series = vec![
            point(10.0, 100.0, 300.0, &[]),
            point(20.0, 90.0, 260.0, &["sw_thermal"]),
            point(30.0, 80.0, 250.0, &["sw_thermal"]),
            point(40.0, 80.0, 250.0, &["sw_thermal"]),
        ];
        let mut r = result(
            "sha256d",
            Unit::HashesPerSecond,
            95.0,
            Some((280.0, Provenance::Sensor)),
        );
        r.samples = vec![100.0, 100.0, 90.0, 95.0, 80.0, 80.0, 80.0, 80.0];
        r.throughput.value = Some(92.5);
        r.verified = true;
        let r = r.with_series(series, 10.0, 4);
        assert_eq!(r.rate(), Some(80.0));
        assert_eq!(r.watts(), Some(250.0));
        assert_eq!(r.rate_basis(), "steady");
        assert_eq!(r.rate_samples(), [80.0; 4]);
        assert!((r.efficiency[0].value - 80.0 / 250.0).abs() < 1e-12);
        assert_eq!(r.sustained.as_ref().unwrap().throttled, ["sw_thermal"]);
        let merged = crate::merge::merge(&[file(vec![r.clone()])], 10.0, Vec::new());
        assert_eq!(merged.groups[0].median, Some(80.0));
        assert!(
            merged.notes.iter().any(|n| n.contains("steady figure")),
            "{:?}",
            merged.notes
        );
        // Two intervals have no steady half: the series is left out.
        let short = r
            .clone()
            .with_series(vec![point(1.0, 1.0, 1.0, &[]); 2], 1.0, 0);
        assert!(short.sustained.is_none() && short.series.is_empty());
    }

    #[test]
    fn bad_points_are_refused() {
        let good = vec![
            point(1.0, 1.0, 100.0, &[]),
            point(2.0, 1.0, 100.0, &[]),
            point(3.0, 1.0, 100.0, &[]),
        ];
        let summary = Sustained::of(&good, 1.0, 1).unwrap();
        let unit = Unit::HashesPerSecond;
        let samples = [1.0; 3];
        assert!(check_consistent(&good, Some(&summary), unit, &samples).is_ok());
        let mut backwards = good.clone();
        backwards[2].t = 1.5;
        assert!(check_consistent(&backwards, Some(&summary), unit, &samples).is_err());
        let mut hot = good.clone();
        hot[0].temperature_c = Some(f64::INFINITY);
        assert!(check_consistent(&hot, Some(&summary), unit, &samples).is_err());
        assert!(check_consistent(&good, None, unit, &samples).is_err());
        let mut negative = good;
        negative[1].throughput = -1.0;
        assert!(check_consistent(&negative, Some(&summary), unit, &samples).is_err());
    }
}
