//! Sampling kernels that need no host work between launches: each sample
//! repeats the dispatch (one kernel, or a short chain) in one compute pass.

use crate::Result;
use crate::gpu::{Dispatch, Gpu};
use crate::measure::{Observer, Sample, SamplePlan, sample_loop};

/// Samples `dispatch`; `work_per_dispatch` is in the workload's raw unit
/// (flops or bytes).
pub fn sample_kernel(
    gpu: &Gpu,
    dispatch: &Dispatch,
    work_per_dispatch: f64,
    plan: &SamplePlan,
    observer: &mut dyn Observer,
) -> Result<Vec<Sample>> {
    sample_loop(
        plan,
        1,
        4096,
        |repeat| {
            let mut dispatch = dispatch.clone();
            dispatch.repeat = repeat as u32;
            let seconds = gpu.run_timed(&dispatch, &[])?;
            Ok(Sample {
                work: work_per_dispatch * repeat as f64,
                seconds,
            })
        },
        observer,
    )
}

/// Runs `check` (which must poison the output, run the kernel once and
/// compare it with the CPU reference), samples the kernel, and checks again:
/// the figure only stands if the kernel was right before and after. Returns
/// the samples and the relative error of the last check.
pub fn sample_verified(
    gpu: &Gpu,
    dispatch: Dispatch,
    work_per_dispatch: f64,
    plan: &SamplePlan,
    observer: &mut dyn Observer,
    check: impl Fn() -> Result<f64>,
) -> Result<(Vec<Sample>, f64)> {
    check()?;
    let samples = sample_kernel(gpu, &dispatch, work_per_dispatch, plan, observer)?;
    let error = check()?;
    Ok((samples, error))
}
