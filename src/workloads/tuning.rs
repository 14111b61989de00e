//! The tuning layer: every kernel family offers variants (the shapes known
//! to work on GPUs beside the ones lavapipe likes), and the run picks on
//! the device it runs on. Each variant is probed briefly at the run's own
//! shape, the fastest are checked against the CPU reference fastest
//! first, and the first that passes is the one sampled. What was tried,
//! how fast each probe ran and what failed go in the result (`variant`,
//! `variants_tried`, `variants_failed`, `tuning_seconds`).
//!
//! `run --tune off` skips the probes: each family runs its default
//! variant (the first candidate), the same code every time, for CI gates
//! that compare like with like.

use std::time::Instant;

use serde_json::json;

use crate::gpu::{Dispatch, Gpu};
use crate::measure::SamplePlan;
use crate::results::Unit;
use crate::{Error, Result};

/// Whether a run tunes (`run --tune`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tune {
    /// Probe the variants within the tuning budget, keep the fastest
    /// verified one.
    #[default]
    On,
    /// Run each family's default variant, unprobed.
    Off,
    /// Probe every variant whatever it costs: the ceilings, whose figure
    /// is the fastest the hardware goes, whatever `--tune` says.
    Every,
}

/// Longest sample a probe times: long enough for a host clock and for a
/// GPU's clocks to rise, short enough to try many shapes.
const PROBE_SECONDS: f64 = 0.02;

/// Shortest probe sample, whatever the plan: below it a host clock and a
/// launch's overhead are the figure.
const MIN_PROBE_SECONDS: f64 = 0.002;

/// Share of a workload's planned time (warm-up and samples) its probes
/// may take: each candidate is timed about four probe samples.
const PROBE_SHARE: f64 = 0.1;

/// Timed probe samples per candidate; the best counts.
const PROBES: usize = 3;

/// Least wall time the probes of one choice may take, however short the
/// plan: enough for every candidate at a small shape, and for tests.
const MIN_BUDGET_SECONDS: f64 = 0.5;

/// Wall time the probes of one choice may take under `plan` (see
/// [`probe_rates`]): [`PROBE_SHARE`] of the plan, at least
/// [`MIN_BUDGET_SECONDS`]; unbounded for [`Tune::Every`].
fn budget_seconds(plan: &SamplePlan) -> f64 {
    match plan.tune {
        Tune::Every => f64::INFINITY,
        Tune::On | Tune::Off => {
            let planned = (plan.measure + plan.warm_up).as_secs_f64();
            (PROBE_SHARE * planned).max(MIN_BUDGET_SECONDS)
        }
    }
}

/// How long one probe sample of one of `count` candidates should last
/// under `plan`: [`PROBE_SHARE`] of the plan spread over the candidates,
/// within [`MIN_PROBE_SECONDS`]..[`PROBE_SECONDS`]. A kernel whose one
/// launch outlasts it (a large GEMM on lavapipe) is timed at one launch.
fn probe_seconds(plan: &SamplePlan, count: usize) -> f64 {
    let planned = (plan.measure + plan.warm_up).as_secs_f64();
    let per_sample = PROBE_SHARE * planned / ((PROBES + 1) * count.max(1)) as f64;
    per_sample.clamp(MIN_PROBE_SECONDS, PROBE_SECONDS)
}

/// Most launches one probe sample repeats.
const MAX_REPEAT: u32 = 4096;

/// Each candidate's best rate (its `works[i]` per second), probed with
/// `time(i, repeat)`: the seconds `repeat` back-to-back launches of
/// candidate `i` took. A candidate is repeated until one sample lasts
/// `sample_seconds`, then timed [`PROBES`] times, keeping the best.
///
/// Slow adapters (a launch of a full shape takes a second on lavapipe)
/// are held near the budget three ways: a candidate whose first sample
/// already ran at less than half the best rate so far cannot win and is
/// timed no further; one whose single launch outlasts four samples is
/// timed once more, not three times; and once the probes have taken
/// `budget_seconds` (as `time` counts it), the candidates left are not
/// probed (None): the default, first, always is. On a GPU a launch takes
/// micro- to milliseconds and every candidate is probed. The clock is a
/// parameter so that tests can hold the choice to a fake one.
pub fn probe_rates(
    works: &[f64],
    sample_seconds: f64,
    budget_seconds: f64,
    mut time: impl FnMut(usize, u32) -> Result<f64>,
) -> Result<Vec<Option<f64>>> {
    let mut rates: Vec<Option<f64>> = Vec::with_capacity(works.len());
    let mut spent = 0.0;
    let mut timed = |index: usize, repeat: u32, spent: &mut f64| -> Result<f64> {
        let seconds = time(index, repeat)?;
        *spent += seconds;
        Ok(seconds)
    };
    for (index, work) in works.iter().enumerate() {
        if index > 0 && spent >= budget_seconds {
            rates.push(None);
            continue;
        }
        let mut repeat = 1;
        let mut seconds = timed(index, repeat, &mut spent)?;
        while seconds < sample_seconds && repeat < MAX_REPEAT {
            crate::signals::check()?;
            let factor = (sample_seconds / seconds.max(1e-9)).ceil().clamp(2.0, 16.0) as u32;
            repeat = (repeat * factor).min(MAX_REPEAT);
            seconds = timed(index, repeat, &mut spent)?;
        }
        let mut best = work * f64::from(repeat) / seconds;
        let leader = rates.iter().flatten().copied().fold(0.0, f64::max);
        let timings = if best < leader / 2.0 {
            0
        } else if repeat == 1 && seconds > 4.0 * sample_seconds {
            1
        } else {
            PROBES
        };
        for _ in 0..timings {
            best = best.max(work * f64::from(repeat) / timed(index, repeat, &mut spent)?);
        }
        rates.push(Some(best));
    }
    Ok(rates)
}

/// The indices of candidates whose probes ran at `rates`, fastest first,
/// then those not probed in their order.
fn fastest_first(rates: &[Option<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rates.len()).collect();
    // A stable sort: unprobed candidates keep their order, after the rest.
    order.sort_by(|&a, &b| {
        let rate = |i: usize| rates[i].unwrap_or(f64::NEG_INFINITY);
        rate(b).total_cmp(&rate(a))
    });
    order
}

/// The variant a run keeps and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    /// The candidate kept.
    pub index: usize,
    /// Its check's relative error.
    pub error: f64,
    /// Faster candidates whose check failed (index, why), fastest first.
    pub failed: Vec<(usize, String)>,
    /// Each candidate's probe rate (work per second); None where it was
    /// not probed (`--tune off`, or a single candidate).
    pub probes: Vec<Option<f64>>,
    /// Wall time the choice took: probes and checks.
    pub seconds: f64,
    pub tune: Tune,
}

impl Tuned {
    /// Records the choice as every workload with variants does:
    /// `variant`, `variants_tried` (each candidate's name, in order, with
    /// its probe rate in `unit`, null where unprobed), `variants_failed`
    /// (`name: why`) where any failed, and `tuning_seconds`, or
    /// `tuning: "off"` under `--tune off`.
    pub fn record(
        &self,
        params: &mut serde_json::Map<String, serde_json::Value>,
        names: &[String],
        unit: Unit,
    ) {
        params.insert("variant".into(), names[self.index].clone().into());
        let tried: Vec<serde_json::Value> = names
            .iter()
            .zip(&self.probes)
            .map(|(name, rate)| json!({"variant": name, "probe": rate.map(|r| r * unit.scale())}))
            .collect();
        params.insert("variants_tried".into(), tried.into());
        if !self.failed.is_empty() {
            let failed: Vec<String> = self
                .failed
                .iter()
                .map(|(index, why)| format!("{}: {why}", names[*index]))
                .collect();
            params.insert("variants_failed".into(), failed.into());
        }
        match self.tune {
            Tune::On | Tune::Every => params.insert("tuning_seconds".into(), json!(self.seconds)),
            Tune::Off => params.insert("tuning".into(), json!("off")),
        };
    }
}

/// The tuning layer's choice among candidates of `works` (each
/// candidate's work per launch, in its workload's raw unit), timed by
/// `time` (see [`probe_rates`]) and checked by `check(index)` (its
/// relative error, or `VerificationFailed`). Candidate 0 is the family's
/// default: under [`Tune::Off`], and where it is the only one, it is
/// checked alone, unprobed. Otherwise every candidate is probed and they
/// are checked fastest first until one passes; one that fails is set
/// aside with why, never measured. When every one fails, that is the
/// fastest one's failure. Any other error ends the search.
pub fn choose_with(
    plan: &SamplePlan,
    works: &[f64],
    time: impl FnMut(usize, u32) -> Result<f64>,
    mut check: impl FnMut(usize) -> Result<f64>,
) -> Result<Tuned> {
    let started = Instant::now();
    let (order, probes) = if plan.tune == Tune::Off || works.len() < 2 {
        (vec![0], vec![None; works.len()])
    } else {
        let rates = probe_rates(
            works,
            probe_seconds(plan, works.len()),
            budget_seconds(plan),
            time,
        )?;
        (fastest_first(&rates), rates)
    };
    let mut failed = Vec::new();
    for index in order {
        match check(index) {
            Ok(error) => {
                return Ok(Tuned {
                    index,
                    error,
                    failed,
                    probes,
                    seconds: started.elapsed().as_secs_f64(),
                    tune: plan.tune,
                });
            }
            Err(Error::VerificationFailed(why)) => failed.push((index, why)),
            Err(other) => return Err(other),
        }
    }
    let (_, why) = failed.swap_remove(0);
    Err(Error::VerificationFailed(why))
}

/// [`choose_with`] for candidates that are GPU dispatches (a dispatch and
/// its work each), timed on `gpu`.
pub fn choose(
    gpu: &Gpu,
    plan: &SamplePlan,
    candidates: &[(Dispatch, f64)],
    check: impl FnMut(usize) -> Result<f64>,
) -> Result<Tuned> {
    let works: Vec<f64> = candidates.iter().map(|(_, work)| *work).collect();
    choose_with(
        plan,
        &works,
        |i, repeat| time_dispatch(gpu, &candidates[i].0, repeat),
        check,
    )
}

/// [`choose`] for a ceiling: every candidate probed, whatever `--tune`
/// says and whatever it costs ([`Tune::Every`]). A roof is the fastest
/// the hardware goes; `--tune off` fixes the code of the kernels read
/// against it, not the roof.
pub fn choose_ceiling(
    gpu: &Gpu,
    plan: &SamplePlan,
    candidates: &[(Dispatch, f64)],
    check: impl FnMut(usize) -> Result<f64>,
) -> Result<Tuned> {
    let every = SamplePlan {
        tune: Tune::Every,
        ..plan.clone()
    };
    choose(gpu, &every, candidates, check)
}

/// The indices of `candidates`, fastest first (the default first, alone,
/// under `--tune off`): for a choice whose check comes later, on a whole
/// model (an LLM's GEMM tiling, ranked on its largest product).
pub fn rank(gpu: &Gpu, plan: &SamplePlan, candidates: &[(Dispatch, f64)]) -> Result<Vec<usize>> {
    if plan.tune == Tune::Off || candidates.len() < 2 {
        return Ok((0..candidates.len().min(1)).collect());
    }
    let works: Vec<f64> = candidates.iter().map(|(_, work)| *work).collect();
    let rates = probe_rates(
        &works,
        probe_seconds(plan, works.len()),
        budget_seconds(plan),
        |i, repeat| time_dispatch(gpu, &candidates[i].0, repeat),
    )?;
    Ok(fastest_first(&rates))
}

fn time_dispatch(gpu: &Gpu, dispatch: &Dispatch, repeat: u32) -> Result<f64> {
    let mut dispatch = dispatch.clone();
    dispatch.repeat = repeat;
    gpu.run_timed(&dispatch, &[])
}

/// A plan that tunes (tests of the choice), probing as a quick run does.
#[cfg(test)]
pub fn tuning_plan() -> SamplePlan {
    SamplePlan {
        measure: std::time::Duration::from_millis(600),
        warm_up: std::time::Duration::from_millis(100),
        ..SamplePlan::single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock: candidate i takes `costs[i]` seconds a launch.
    fn clock(costs: &[f64]) -> impl FnMut(usize, u32) -> Result<f64> + '_ {
        move |i, repeat| Ok(costs[i] * f64::from(repeat))
    }

    #[test]
    fn the_fastest_candidate_that_passes_is_kept_and_the_faster_failures_named() {
        let plan = tuning_plan();
        // Candidate 2 is fastest but wrong; 1 is next and right.
        let costs = [4e-3, 2e-3, 1e-3, 3e-3];
        let mut checked = Vec::new();
        let tuned = choose_with(&plan, &[1.0; 4], clock(&costs), |i| {
            checked.push(i);
            if i == 2 {
                Err(Error::VerificationFailed("off by one".into()))
            } else {
                Ok(1e-6)
            }
        })
        .unwrap();
        assert_eq!(tuned.index, 1);
        assert_eq!(checked, [2, 1], "checked fastest first, stopping at a pass");
        assert_eq!(tuned.failed, [(2, "off by one".to_string())]);
        let rates: Vec<f64> = tuned.probes.iter().map(|r| r.unwrap()).collect();
        for (rate, cost) in rates.iter().zip(costs) {
            assert!((rate - 1.0 / cost).abs() < 1e-6 / cost, "{rates:?}");
        }
    }

    #[test]
    fn work_per_launch_weighs_the_rates() {
        // Candidate 0 takes twice as long a launch but does four times
        // the work (more nonces per invocation, say): it is faster.
        let tuned = choose_with(&tuning_plan(), &[4.0, 1.0], clock(&[2e-3, 1e-3]), |_| {
            Ok(0.0)
        })
        .unwrap();
        assert_eq!(tuned.index, 0);
    }

    #[test]
    fn tune_off_checks_the_default_alone_and_never_times() {
        let plan = SamplePlan {
            tune: Tune::Off,
            ..tuning_plan()
        };
        let tuned = choose_with(
            &plan,
            &[1.0, 1.0],
            |_, _| panic!("--tune off must not probe"),
            |_| Ok(0.5),
        )
        .unwrap();
        assert_eq!((tuned.index, tuned.error), (0, 0.5));
        assert_eq!(tuned.probes, [None, None]);
        let mut params = serde_json::Map::new();
        tuned.record(
            &mut params,
            &["a".into(), "b".into()],
            Unit::GigabytesPerSecond,
        );
        assert_eq!(params["variant"], "a");
        assert_eq!(params["tuning"], "off");
        assert_eq!(
            params["variants_tried"][1]["probe"],
            serde_json::Value::Null
        );
        // A failing default is the run's failure: no other variant stands in.
        let failing = choose_with(
            &plan,
            &[1.0, 1.0],
            |_, _| Ok(1.0),
            |_| Err(Error::VerificationFailed("wrong".into())),
        );
        assert!(matches!(failing, Err(Error::VerificationFailed(w)) if w == "wrong"));
    }

    #[test]
    fn when_every_candidate_fails_the_fastest_ones_failure_is_reported() {
        let outcome = choose_with(&tuning_plan(), &[1.0, 1.0], clock(&[2e-3, 1e-3]), |i| {
            Err(Error::VerificationFailed(format!("candidate {i}")))
        });
        assert!(matches!(outcome, Err(Error::VerificationFailed(w)) if w == "candidate 1"));
    }

    #[test]
    fn probes_are_repeated_to_a_measurable_length_and_stay_within_budget() {
        let mut repeats = Vec::new();
        probe_rates(&[1.0], 0.02, 1.0, |_, repeat| {
            repeats.push(repeat);
            Ok(1e-5 * f64::from(repeat))
        })
        .unwrap();
        // 1 launch, then grown until a sample lasts 20 ms, then 3 timings.
        assert_eq!(repeats[0], 1);
        assert!(*repeats.last().unwrap() >= 2000, "{repeats:?}");
        // Ten candidates under the standard plan (11 s) take about a tenth.
        let per_sample = probe_seconds(&SamplePlan::standard(), 10);
        assert!(per_sample * 4.0 * 10.0 <= 0.1 * 11.0 + 1e-9);
        assert_eq!(probe_seconds(&SamplePlan::single(), 3), MIN_PROBE_SECONDS);
    }

    #[test]
    fn hopeless_and_long_candidates_are_timed_less() {
        let mut calls = vec![0; 3];
        // Candidate 1 is four times slower than 0: its first sample
        // settles it. Candidate 2's one launch takes 1 s: timed twice.
        let costs = [1e-3, 4e-3, 1.0];
        let rates = probe_rates(&[1.0, 1.0, 1000.0], 0.02, 10.0, |i, repeat| {
            calls[i] += 1;
            Ok(costs[i] * f64::from(repeat))
        })
        .unwrap();
        assert_eq!(calls[1], 2, "a growth step, then no timings: {calls:?}");
        assert_eq!(calls[2], 2, "{calls:?}");
        assert!(calls[0] >= 5, "{calls:?}");
        assert_eq!(rates[1], Some(250.0));
        assert_eq!(rates[2], Some(1000.0));
    }

    #[test]
    fn past_the_budget_the_rest_are_not_probed_but_the_default_always_is() {
        // Each candidate takes 0.3 s a launch, timed twice: the budget of
        // 1 s is spent after the first two.
        let rates = probe_rates(
            &[1.0; 4],
            0.02,
            1.0,
            |_, repeat| Ok(0.3 * f64::from(repeat)),
        )
        .unwrap();
        assert!(rates[0].is_some() && rates[1].is_some(), "{rates:?}");
        assert_eq!(rates[2..], [None, None]);
        assert_eq!(
            fastest_first(&[None, Some(1.0), None, Some(2.0)]),
            [3, 1, 0, 2]
        );
        let rates = probe_rates(&[1.0; 2], 0.02, 0.0, |_, _| Ok(1.0)).unwrap();
        assert_eq!(rates, [Some(1.0), None]);
        // The ceilings probe every candidate, whatever it costs.
        let every = SamplePlan {
            tune: Tune::Every,
            ..SamplePlan::single()
        };
        assert_eq!(budget_seconds(&every), f64::INFINITY);
        assert_eq!(budget_seconds(&SamplePlan::single()), MIN_BUDGET_SECONDS);
    }

    #[test]
    fn records_name_every_variant_with_its_probe_in_the_unit() {
        let tuned = Tuned {
            index: 1,
            error: 0.0,
            failed: vec![(0, "mismatch".into())],
            probes: vec![Some(3e9), Some(2e9)],
            seconds: 0.25,
            tune: Tune::On,
        };
        let mut params = serde_json::Map::new();
        tuned.record(
            &mut params,
            &["wide".into(), "narrow".into()],
            Unit::GigabytesPerSecond,
        );
        assert_eq!(params["variant"], "narrow");
        assert_eq!(
            params["variants_tried"],
            json!([{"variant": "wide", "probe": 3.0}, {"variant": "narrow", "probe": 2.0}])
        );
        assert_eq!(params["variants_failed"], json!(["wide: mismatch"]));
        assert_eq!(params["tuning_seconds"], 0.25);
    }
}
