//! Sampling kernels that need no host work between launches: each sample
//! repeats the dispatch (one kernel, or a short chain) in one compute pass.

use std::ops::Range;

use super::check::verify;
use crate::gpu::{Dispatch, Gpu};
use crate::measure::{Observer, Sample, SamplePlan, sample_loop_checked};
use crate::{Error, Result};

/// Samples `dispatch`; `work_per_dispatch` is in the workload's raw unit
/// (flops or bytes). `midway` checks the output half-way through a
/// sustained run (see [`sample_loop_checked`]).
pub fn sample_kernel(
    gpu: &Gpu,
    dispatch: &Dispatch,
    work_per_dispatch: f64,
    plan: &SamplePlan,
    observer: &mut dyn Observer,
    midway: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<Sample>> {
    sample_loop_checked(
        plan,
        1,
        4096,
        |repeat| {
            let mut dispatch = dispatch.clone();
            dispatch.repeat = repeat as u32;
            let seconds = gpu.run_timed(&dispatch, &[])?;
            Ok(Sample::new(work_per_dispatch * repeat as f64, seconds))
        },
        midway,
        observer,
    )
}

/// Runs `check` (which must poison the output, run the kernel once and
/// compare it with the CPU reference), samples the kernel, and checks again:
/// the figure only stands if the kernel was right before and after (and
/// half-way through a sustained run). Returns the samples and the relative
/// error of the last check.
pub fn sample_verified(
    gpu: &Gpu,
    dispatch: Dispatch,
    work_per_dispatch: f64,
    plan: &SamplePlan,
    observer: &mut dyn Observer,
    check: impl Fn() -> Result<f64>,
) -> Result<(Vec<Sample>, f64)> {
    check()?;
    let samples = sample_kernel(
        gpu,
        &dispatch,
        work_per_dispatch,
        plan,
        observer,
        &mut || check().map(|_| ()),
    )?;
    let error = check()?;
    Ok((samples, error))
}

/// The candidate [`fastest_verified`] kept: its index, its check's
/// relative error, and the faster ones that failed their check (index,
/// why), fastest first.
pub struct Verified {
    pub index: usize,
    pub error: f64,
    pub failed: Vec<(usize, String)>,
}

impl Verified {
    /// Records the choice as every workload with variants does:
    /// `variant`, `variants_tried` (`names` of every candidate, in order)
    /// and, where any failed, `variants_failed` (`name: why`).
    pub fn record(
        &self,
        params: &mut serde_json::Map<String, serde_json::Value>,
        names: &[String],
    ) {
        params.insert("variant".into(), names[self.index].clone().into());
        params.insert("variants_tried".into(), names.into());
        if !self.failed.is_empty() {
            let failed: Vec<String> = self
                .failed
                .iter()
                .map(|(index, why)| format!("{}: {why}", names[*index]))
                .collect();
            params.insert("variants_failed".into(), failed.into());
        }
    }
}

/// The fastest of `candidates` (a dispatch and its work each) that passes
/// its check, `check(index)`: several are probed as [`ranked`] does and
/// checked fastest first until one passes. A candidate whose check fails
/// (`VerificationFailed`) is set aside with why, never measured; when
/// every one fails, that is the fastest one's failure. Any other error
/// ends the search.
pub fn fastest_verified(
    gpu: &Gpu,
    candidates: &[(Dispatch, f64)],
    mut check: impl FnMut(usize) -> Result<f64>,
) -> Result<Verified> {
    let order = if candidates.len() > 1 {
        ranked(gpu, candidates)?
    } else {
        vec![0]
    };
    let mut failed = Vec::new();
    for index in order {
        match check(index) {
            Ok(error) => {
                return Ok(Verified {
                    index,
                    error,
                    failed,
                });
            }
            Err(Error::VerificationFailed(why)) => failed.push((index, why)),
            Err(other) => return Err(other),
        }
    }
    let (_, why) = failed.swap_remove(0);
    Err(Error::VerificationFailed(why))
}

/// What a kernel workload compares with its CPU reference: `ranges` of
/// the f32 elements of `output`, in order, against `expected`.
pub struct OutputCheck<'a> {
    pub workload: &'a str,
    pub output: &'a wgpu::Buffer,
    pub ranges: Vec<Range<usize>>,
    pub expected: &'a [f64],
    pub bound: f64,
}

impl OutputCheck<'_> {
    /// Poisons the output, runs `dispatch` once, and compares: the
    /// relative error, or the workload's failure.
    pub fn run(&self, gpu: &Gpu, dispatch: &Dispatch) -> Result<f64> {
        gpu.poison(self.output);
        gpu.run_timed(dispatch, &[])?;
        let all: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(self.output)?);
        let got: Vec<f32> = self
            .ranges
            .iter()
            .flat_map(|range| all[range.clone()].iter().copied())
            .collect();
        verify(self.workload, &got, self.expected, self.bound)
    }
}

/// The harness's loop for a kernel checked element by element (as
/// cubecl's `Benchmark` owns its loop): checked before timing, sampled,
/// checked after. Returns the samples and the last relative error.
pub fn sample_checked(
    gpu: &Gpu,
    dispatch: Dispatch,
    work_per_dispatch: f64,
    plan: &SamplePlan,
    observer: &mut dyn Observer,
    check: &OutputCheck,
) -> Result<(Vec<Sample>, f64)> {
    let once = dispatch.clone();
    sample_verified(gpu, dispatch, work_per_dispatch, plan, observer, || {
        check.run(gpu, &once)
    })
}

/// Shortest sample a probe times: long enough for a host clock and for a
/// GPU's clocks to rise, short enough to try many shapes.
const PROBE_SECONDS: f64 = 0.02;

/// The index of the fastest of `candidates` (a dispatch and its work):
/// each is run until one sample takes [`PROBE_SECONDS`], then timed three
/// times, keeping its best rate. Only the choice comes out of this: the
/// figure reported is sampled, and checked, for the winner alone.
pub fn fastest(gpu: &Gpu, candidates: &[(Dispatch, f64)]) -> Result<usize> {
    Ok(ranked(gpu, candidates)?[0])
}

/// The indices of `candidates`, fastest first, probed as [`fastest`]
/// does: for workloads that take the fastest variant that passes its
/// check, trying the next where one fails.
pub fn ranked(gpu: &Gpu, candidates: &[(Dispatch, f64)]) -> Result<Vec<usize>> {
    let mut rates = Vec::with_capacity(candidates.len());
    for (index, (dispatch, work)) in candidates.iter().enumerate() {
        let mut best = 0.0f64;
        let mut dispatch = dispatch.clone();
        dispatch.repeat = 1;
        let mut seconds = gpu.run_timed(&dispatch, &[])?;
        while seconds < PROBE_SECONDS && dispatch.repeat < 4096 {
            crate::signals::check()?;
            let factor = (PROBE_SECONDS / seconds.max(1e-9)).ceil().clamp(2.0, 16.0) as u32;
            dispatch.repeat = (dispatch.repeat * factor).min(4096);
            seconds = gpu.run_timed(&dispatch, &[])?;
        }
        for _ in 0..3 {
            let rate = work * f64::from(dispatch.repeat) / gpu.run_timed(&dispatch, &[])?;
            best = best.max(rate);
        }
        rates.push((index, best));
    }
    rates.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(rates.into_iter().map(|(index, _)| index).collect())
}
