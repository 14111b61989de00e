//! `peak-fma-f32`: the adapter's f32 arithmetic ceiling, against which
//! compute-bound kernels are reported.

use serde_json::json;

use super::check::{random_f32, verify};
use super::timing::sample_verified;
use super::tuning;
use super::{Measurement, Unit, Workload};
use crate::Result;
use crate::gpu::{Dispatch, Gpu};
use crate::measure::{Observer, SamplePlan};

const SHADER: &str = include_str!("../../shaders/peak_fma_f32.wgsl");
/// Enough invocations to fill a large GPU once.
const INVOCATIONS: u32 = 1 << 18;
const ITERATIONS: u32 = 128;
const M: f64 = 0.9990234375;
const K: f64 = 0.0009765625;
/// f32 FMA chains against f64: each step rounds once, and the contraction
/// keeps errors from growing, so 1e-5 is generous.
const BOUND: f64 = 1e-5;

/// One shape of the kernel: how many independent chains each invocation
/// runs, on scalars or vec4s, in workgroups of how many invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    chains: u32,
    lanes: u32,
    workgroup_size: u32,
}

/// The shapes measured: the fastest is the ceiling. Mesa 22.3's lavapipe
/// peaks with 16 vec4 chains, Mesa 25.0's spills them and peaks with fewer.
const SHAPES: [Shape; 8] = [
    Shape {
        chains: 16,
        lanes: 4,
        workgroup_size: 256,
    },
    Shape {
        chains: 8,
        lanes: 4,
        workgroup_size: 256,
    },
    Shape {
        chains: 4,
        lanes: 4,
        workgroup_size: 256,
    },
    Shape {
        chains: 16,
        lanes: 4,
        workgroup_size: 64,
    },
    Shape {
        chains: 8,
        lanes: 4,
        workgroup_size: 64,
    },
    Shape {
        chains: 32,
        lanes: 1,
        workgroup_size: 256,
    },
    Shape {
        chains: 16,
        lanes: 1,
        workgroup_size: 256,
    },
    Shape {
        chains: 8,
        lanes: 1,
        workgroup_size: 64,
    },
];

impl Shape {
    fn name(&self) -> String {
        let element = if self.lanes == 4 { "vec4" } else { "f32" };
        format!(
            "{} chains of {element}, workgroup {}",
            self.chains, self.workgroup_size
        )
    }

    /// Floating-point operations of one launch (an FMA is two).
    fn flops(&self) -> f64 {
        f64::from(INVOCATIONS) * f64::from(ITERATIONS) * f64::from(self.chains * self.lanes) * 2.0
    }

    /// The shader with this shape's chains written out.
    fn wgsl(&self) -> String {
        let element = if self.lanes == 4 { "vec4<f32>" } else { "f32" };
        let chains = 0..self.chains;
        let start: String = chains
            .clone()
            .map(|j| {
                let (a, b) = start_of(j);
                format!("    var c{j} = s * {a:?} + {b:?};\n")
            })
            .collect();
        let step: String = chains
            .clone()
            .map(|j| format!("        c{j} = fma(c{j}, M, K);\n"))
            .collect();
        let sum = chains
            .map(|j| format!("c{j}"))
            .collect::<Vec<_>>()
            .join(" + ");
        SHADER
            .replace("{{TYPE}}", element)
            .replace("{{START}}", start.trim_end())
            .replace("{{STEP}}", step.trim_end())
            .replace("{{SUM}}", &sum)
    }
}

/// Chain `j` starts at `s * A + B`: distinct starts, so no two chains can
/// be merged by the compiler.
fn start_of(j: u32) -> (f32, f32) {
    const A: [f32; 8] = [1.0, 0.5, 0.25, 0.125, -1.0, -0.5, -0.25, -0.125];
    const B: [f32; 4] = [0.0, 0.25, 0.5, 0.75];
    (A[j as usize % 8], B[(j as usize / 8) % 4])
}

#[derive(Debug, Clone, Default)]
pub struct PeakFma;

/// What the shader computes for one seed with `chains` chains, in f64.
fn reference(seed: f32, chains: u32) -> f64 {
    let s = f64::from(seed);
    (0..chains)
        .map(|j| {
            let (a, b) = start_of(j);
            let start = s * f64::from(a) + f64::from(b);
            (0..ITERATIONS).fold(start, |x, _| x * M + K)
        })
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
        let mut kernels = Vec::new();
        for shape in SHAPES {
            // An output buffer sized to the shape: the kernel's bounds
            // check reads its length.
            let out_shape = gpu.output("fma out", u64::from(INVOCATIONS * shape.lanes) * 4);
            let kernel = gpu.kernel(
                "peak-fma-f32",
                &shape.wgsl(),
                "main",
                &[
                    ("WORKGROUP_SIZE", f64::from(shape.workgroup_size)),
                    ("ITERATIONS", f64::from(ITERATIONS)),
                ],
                &[&seeds_buffer, &out_shape],
            )?;
            let workgroups = gpu.workgroup_grid(u64::from(INVOCATIONS / shape.workgroup_size));
            kernels.push((shape, kernel, workgroups, out_shape));
        }
        let probes: Vec<(Dispatch, f64)> = kernels
            .iter()
            .map(|(shape, kernel, workgroups, _)| (kernel.dispatch(*workgroups), shape.flops()))
            .collect();
        let check_of = |i: usize| -> Result<f64> {
            let (shape, _, _, out) = &kernels[i];
            gpu.poison(out);
            gpu.run_timed(&probes[i].0, &[])?;
            let values: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(out)?);
            // Every 257th value is checked: the CPU reference costs
            // `chains` x 128 steps per value.
            let rows: Vec<usize> = (0..values.len()).step_by(64 * 4 + 1).collect();
            let got: Vec<f32> = rows.iter().map(|&i| values[i]).collect();
            let reference: Vec<f64> = rows
                .iter()
                .map(|&i| reference(seeds[i], shape.chains))
                .collect();
            verify(self.name(), &got, &reference, BOUND)
        };
        let tuned = tuning::choose_ceiling(gpu, plan, &probes, check_of)?;
        let (shape, kernel, workgroups, _) = &kernels[tuned.index];
        let (samples, error) = sample_verified(
            gpu,
            kernel.dispatch(*workgroups),
            shape.flops(),
            plan,
            observer,
            || check_of(tuned.index),
        )?;
        let mut params = serde_json::Map::new();
        params.insert("invocations".into(), json!(INVOCATIONS));
        params.insert(
            "fmas_per_invocation".into(),
            json!(ITERATIONS * shape.chains * shape.lanes),
        );
        let names: Vec<String> = SHAPES.iter().map(Shape::name).collect();
        tuned.record(&mut params, &names, self.unit());
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "the fastest of {} kernel shapes ({}), its sampled outputs against an f64 CPU \
                 reference before and after timing: relative error {error:.1e} \
                 (bound {BOUND:.0e})",
                SHAPES.len(),
                shape.name()
            ),
        })
    }
}
