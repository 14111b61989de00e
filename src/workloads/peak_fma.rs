//! `peak-fma-f32`: the adapter's f32 arithmetic ceiling, against which
//! compute-bound kernels are reported.

use serde_json::json;

use super::check::{random_f32, verify};
use super::timing::sample_verified;
use super::{Measurement, Unit, Workload};
use crate::Result;
use crate::gpu::Gpu;
use crate::measure::{Observer, SamplePlan};

const SHADER: &str = include_str!("../../shaders/peak_fma_f32.wgsl");
const WORKGROUP_SIZE: u32 = 256;
/// Enough invocations to fill a large GPU once.
const INVOCATIONS: u32 = 1 << 18;
const ITERATIONS: u32 = 128;
/// FMAs per invocation and iteration: 16 chains of vec4.
const FMAS_PER_ITERATION: u32 = 64;
const M: f64 = 0.9990234375;
const K: f64 = 0.0009765625;
/// f32 FMA chains against f64: each step rounds once, and the contraction
/// keeps errors from growing, so 1e-5 is generous.
const BOUND: f64 = 1e-5;

#[derive(Debug, Clone, Default)]
pub struct PeakFma;

/// What the shader computes for one seed component, in f64.
fn reference(seed: f32) -> f64 {
    let s = f64::from(seed);
    let starts = [
        s,
        s * 0.5,
        s * 0.25,
        s * 0.125,
        -s,
        -s * 0.5,
        -s * 0.25,
        -s * 0.125,
        s + 0.5,
        s - 0.5,
        s + 0.25,
        s - 0.25,
        s * 0.75,
        -s * 0.75,
        s + 0.75,
        s - 0.75,
    ];
    starts
        .iter()
        .map(|&start| (0..ITERATIONS).fold(start, |x, _| x * M + K))
        .sum()
}

impl Workload for PeakFma {
    fn name(&self) -> &'static str {
        "peak-fma-f32"
    }

    fn description(&self) -> &'static str {
        "f32 arithmetic ceiling: independent FMA chains (the roofline's compute roof)"
    }

    fn unit(&self) -> Unit {
        Unit::GflopPerSecond
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let seeds = random_f32(1, INVOCATIONS as usize * 4);
        let seeds_buffer = gpu.upload("fma seeds", &seeds);
        let out = gpu.output("fma out", u64::from(INVOCATIONS) * 16);
        let kernel = gpu.kernel(
            "peak-fma-f32",
            SHADER,
            "main",
            &[
                ("WORKGROUP_SIZE", f64::from(WORKGROUP_SIZE)),
                ("ITERATIONS", f64::from(ITERATIONS)),
            ],
            &[&seeds_buffer, &out],
        )?;
        let workgroups = gpu.workgroup_grid(u64::from(INVOCATIONS / WORKGROUP_SIZE));
        let check = || -> Result<f64> {
            gpu.poison(&out);
            gpu.run_timed(&kernel.dispatch(workgroups), &[])?;
            let values: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&out)?);
            // Every 64th invocation is checked: the CPU reference costs
            // 2048 steps per value.
            let rows: Vec<usize> = (0..values.len()).step_by(64 * 4 + 1).collect();
            let out: Vec<f32> = rows.iter().map(|&i| values[i]).collect();
            let reference: Vec<f64> = rows.iter().map(|&i| reference(seeds[i])).collect();
            verify(self.name(), &out, &reference, BOUND)
        };
        let flops =
            f64::from(INVOCATIONS) * f64::from(ITERATIONS) * f64::from(FMAS_PER_ITERATION) * 2.0;
        let (samples, error) = sample_verified(
            gpu,
            kernel.dispatch(workgroups),
            flops,
            plan,
            observer,
            check,
        )?;
        let mut params = serde_json::Map::new();
        params.insert("invocations".into(), json!(INVOCATIONS));
        params.insert(
            "fmas_per_invocation".into(),
            json!(ITERATIONS * FMAS_PER_ITERATION),
        );
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "sampled outputs against an f64 CPU reference before and after timing: \
                 relative error {error:.1e} (bound {BOUND:.0e})"
            ),
        })
    }
}
