//! `copy-bandwidth`: the adapter's memory ceiling, against which
//! memory-bound kernels are reported.

use serde_json::json;

use super::check::random_f32;
use super::timing::sample_verified;
use super::tuning;
use super::{Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const SHADER: &str = include_str!("../../shaders/copy.wgsl");
/// The shapes measured, (workgroup size, 16-byte elements per
/// invocation): the fastest is the ceiling, since the shape one driver
/// copies fastest with is not another's.
const SHAPES: [(u32, u32); 6] = [(256, 8), (256, 1), (256, 16), (64, 8), (64, 1), (64, 16)];
/// Largest copy: 1 GiB, or the adapter's largest storage binding if less.
const MAX_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Default)]
pub struct CopyBandwidth;

impl Workload for CopyBandwidth {
    fn name(&self) -> &'static str {
        "copy-bandwidth"
    }

    fn description(&self) -> &'static str {
        "memory ceiling: a compute kernel copying a large buffer (bytes read + written)"
    }

    fn unit(&self) -> Unit {
        Unit::GigabytesPerSecond
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let limits = &gpu.summary.limits;
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        // Whole workgroups of 16-byte elements, for every shape.
        let granule = SHAPES
            .iter()
            .map(|(w, e)| 16 * u64::from(w * e))
            .max()
            .unwrap_or(16);
        let bytes = MAX_BYTES.min(limit) / granule * granule;
        let source = random_f32(2, (bytes / 4) as usize);
        let src = gpu.upload("copy src", &source);
        let dst = gpu.output("copy dst", bytes);
        let mut kernels = Vec::new();
        for (workgroup_size, elements) in SHAPES {
            let kernel = gpu.kernel(
                "copy-bandwidth",
                SHADER,
                "main",
                &[
                    ("WORKGROUP_SIZE", f64::from(workgroup_size)),
                    ("ELEMENTS_PER_THREAD", f64::from(elements)),
                ],
                &[&src, &dst],
            )?;
            let workgroups =
                gpu.workgroup_grid(bytes / (16 * u64::from(workgroup_size * elements)));
            kernels.push((kernel, workgroups));
        }
        let probes: Vec<(Dispatch, f64)> = kernels
            .iter()
            .map(|(kernel, workgroups)| (kernel.dispatch(*workgroups), 2.0 * bytes as f64))
            .collect();
        let variant = |(w, e): (u32, u32)| {
            format!(
                "workgroup {w}, {e} element{} per invocation",
                if e == 1 { "" } else { "s" }
            )
        };
        let check_of = |i: usize| -> Result<f64> {
            gpu.poison(&dst);
            gpu.run_timed(&probes[i].0, &[])?;
            let copied = gpu.download(&dst)?;
            if copied.as_slice() != bytemuck::cast_slice::<f32, u8>(&source) {
                let i = copied
                    .iter()
                    .zip(bytemuck::cast_slice::<f32, u8>(&source))
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(Error::VerificationFailed(format!(
                    "copy-bandwidth: byte {i} of the copy differs from the source"
                )));
            }
            Ok(0.0)
        };
        let tuned = tuning::choose_ceiling(gpu, plan, &probes, check_of)?;
        let (kernel, workgroups) = &kernels[tuned.index];
        let (workgroup_size, elements) = SHAPES[tuned.index];
        let (samples, _) = sample_verified(
            gpu,
            kernel.dispatch(*workgroups),
            2.0 * bytes as f64,
            plan,
            observer,
            || check_of(tuned.index),
        )?;
        let mut params = serde_json::Map::new();
        params.insert("bytes".into(), json!(bytes));
        let names: Vec<String> = SHAPES.into_iter().map(variant).collect();
        tuned.record(&mut params, &names, self.unit());
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "the fastest of {} kernel shapes ({}): the copy equals the source, byte for \
                 byte, before and after timing",
                SHAPES.len(),
                variant((workgroup_size, elements))
            ),
        })
    }
}
