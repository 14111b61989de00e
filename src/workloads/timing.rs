//! Sampling a kernel that needs no host work between launches: each sample
//! dispatches it several times in one compute pass.

use crate::Result;
use crate::gpu::{Gpu, Kernel};
use crate::measure::{Sample, SamplePlan, sample_loop};

/// Samples `kernel` over `workgroups`; `work_per_dispatch` is in the
/// workload's raw unit (flops or bytes).
pub fn sample_kernel(
    gpu: &Gpu,
    kernel: &Kernel,
    workgroups: [u32; 3],
    work_per_dispatch: f64,
    plan: &SamplePlan,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<Sample>> {
    sample_loop(
        plan,
        1,
        4096,
        |repeat| {
            let mut dispatch = kernel.dispatch(workgroups);
            dispatch.repeat = repeat as u32;
            let seconds = gpu.run_timed(&dispatch, &[])?;
            Ok(Sample {
                work: work_per_dispatch * repeat as f64,
                seconds,
            })
        },
        progress,
    )
}
