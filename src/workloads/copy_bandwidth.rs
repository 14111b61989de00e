//! `copy-bandwidth`: the adapter's memory ceiling, against which
//! memory-bound kernels are reported.

use serde_json::json;

use super::check::random_f32;
use super::timing::sample_verified;
use super::{Measurement, Unit, Workload};
use crate::gpu::Gpu;
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const SHADER: &str = include_str!("../../shaders/copy.wgsl");
const WORKGROUP_SIZE: u32 = 256;
const ELEMENTS_PER_THREAD: u32 = 8;
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
        // Whole workgroups of 16-byte elements.
        let granule = 16 * u64::from(WORKGROUP_SIZE * ELEMENTS_PER_THREAD);
        let bytes = MAX_BYTES.min(limit) / granule * granule;
        let source = random_f32(2, (bytes / 4) as usize);
        let src = gpu.upload("copy src", &source);
        let dst = gpu.output("copy dst", bytes);
        let kernel = gpu.kernel(
            "copy-bandwidth",
            SHADER,
            "main",
            &[
                ("WORKGROUP_SIZE", f64::from(WORKGROUP_SIZE)),
                ("ELEMENTS_PER_THREAD", f64::from(ELEMENTS_PER_THREAD)),
            ],
            &[&src, &dst],
        )?;
        let workgroups = gpu.workgroup_grid(bytes / granule);
        let check = || -> Result<f64> {
            gpu.poison(&dst);
            gpu.run_timed(&kernel.dispatch(workgroups), &[])?;
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
        let (samples, _) = sample_verified(
            gpu,
            kernel.dispatch(workgroups),
            2.0 * bytes as f64,
            plan,
            observer,
            check,
        )?;
        let mut params = serde_json::Map::new();
        params.insert("bytes".into(), json!(bytes));
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: "the copy equals the source, byte for byte, before and after timing".into(),
        })
    }
}
