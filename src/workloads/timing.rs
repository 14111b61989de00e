//! Sampling kernels that need no host work between launches: each sample
//! repeats the dispatch (one kernel, or a short chain) in one compute pass.

use std::ops::Range;

use super::check::verify;
use crate::Result;
use crate::gpu::{Dispatch, Gpu};
use crate::measure::{Observer, Sample, SamplePlan, sample_loop_checked};

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
