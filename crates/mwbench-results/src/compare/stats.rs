//! Whether two sets of samples differ by more than noise: a bootstrap
//! confidence interval of the ratio of their medians (the same question
//! criterion answers for its benches, asked of the per-sample throughputs
//! that every result file keeps).

/// Resamples drawn for one interval.
pub const RESAMPLES: usize = 2000;
/// The interval's confidence.
pub const CONFIDENCE: f64 = 0.95;
/// Fewest samples per side for an interval to mean anything.
pub const MIN_SAMPLES: usize = 3;
/// Most samples a side is resampled from: more are thinned to this many
/// evenly spaced quantiles, which keeps the distribution's shape (the
/// interval can only widen) and bounds the work whatever a file holds.
pub const MAX_RESAMPLED: usize = 1000;
/// A fixed seed: the same two files always give the same interval.
const SEED: u64 = 0x6d77_6265_6e63_6821;

/// `median(other) / median(base)` and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioInterval {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// The median of `values`, which it sorts.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The median of `values` by selection, without sorting them all.
fn median_unordered(values: &mut [f64]) -> f64 {
    let n = values.len();
    let (_, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower = values[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("n is even and above zero");
    (lower + upper) / 2.0
}

/// At most [`MAX_RESAMPLED`] values: all of them, or evenly spaced
/// quantiles of them.
fn thinned(values: &[f64]) -> Vec<f64> {
    if values.len() <= MAX_RESAMPLED {
        return values.to_vec();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = (sorted.len() - 1) as f64;
    (0..MAX_RESAMPLED)
        .map(|i| sorted[(i as f64 * last / (MAX_RESAMPLED - 1) as f64).round() as usize])
        .collect()
}

/// The ratio of medians with its interval: each side is resampled with
/// replacement [`RESAMPLES`] times, and the interval is the central
/// [`CONFIDENCE`] of the resampled ratios. `None` with fewer than
/// [`MIN_SAMPLES`] on either side or a base median of zero.
pub fn ratio_of_medians(base: &[f64], other: &[f64]) -> Option<RatioInterval> {
    if base.len() < MIN_SAMPLES || other.len() < MIN_SAMPLES {
        return None;
    }
    let base_median = median(&mut base.to_vec());
    if base_median <= 0.0 || !base_median.is_finite() {
        return None;
    }
    let ratio = median(&mut other.to_vec()) / base_median;
    let (base, other) = (&thinned(base), &thinned(other));
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut resample = |values: &[f64], into: &mut Vec<f64>| {
        into.clear();
        into.extend((0..values.len()).map(|_| values[rng.usize(..values.len())]));
        median_unordered(into)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let base = resample(base, &mut a);
            resample(other, &mut b) / base
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| ratios[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    Some(RatioInterval {
        ratio,
        low: at(tail),
        high: at(1.0 - tail),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::samples;

    #[test]
    fn identical_samples_give_a_ratio_of_one() {
        let s = samples(100.0, 0.02, 20);
        let r = ratio_of_medians(&s, &s).unwrap();
        assert_eq!(r.ratio, 1.0);
        assert!(r.low <= 1.0 && r.high >= 1.0, "{r:?}");
    }

    #[test]
    fn a_tight_20_percent_slowdown_is_outside_its_interval() {
        let r = ratio_of_medians(&samples(100.0, 0.01, 20), &samples(80.0, 0.01, 20)).unwrap();
        assert!((r.ratio - 0.8).abs() < 1e-9);
        assert!(r.high < 0.85 && r.low > 0.75, "{r:?}");
    }

    #[test]
    fn a_wide_3_percent_wiggle_spans_one() {
        let r = ratio_of_medians(&samples(100.0, 0.15, 10), &samples(97.0, 0.15, 10)).unwrap();
        assert!(r.low < 1.0 && r.high > 1.0, "{r:?}");
    }

    #[test]
    fn too_few_samples_give_no_interval() {
        assert_eq!(ratio_of_medians(&[1.0, 2.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(ratio_of_medians(&[0.0; 5], &[1.0; 5]), None);
    }

    #[test]
    fn medians_by_selection_match_sorting() {
        for n in 1..20 {
            let values: Vec<f64> = (0..n).map(|i| ((i * 7919) % 31) as f64).collect();
            assert_eq!(
                median_unordered(&mut values.clone()),
                median(&mut values.clone())
            );
        }
    }

    /// A million samples (a hand-made file) are thinned, not resampled
    /// 2000 times each: the interval still holds the true ratio.
    #[test]
    fn huge_sample_sets_are_thinned() {
        let (a, b) = (
            samples(100.0, 0.05, 1_000_000),
            samples(90.0, 0.05, 1_000_000),
        );
        let r = ratio_of_medians(&a, &b).unwrap();
        assert!((r.ratio - 0.9).abs() < 1e-9);
        assert!(r.low <= 0.9 && r.high >= 0.9, "{r:?}");
        assert_eq!(thinned(&a).len(), MAX_RESAMPLED);
    }

    #[test]
    fn the_interval_is_reproducible() {
        let (a, b) = (samples(10.0, 0.1, 12), samples(9.0, 0.2, 15));
        assert_eq!(ratio_of_medians(&a, &b), ratio_of_medians(&a, &b));
    }
}
