//! `gemm-f32` and `gemm-f16`: dense matrix multiply C = A B, the
//! compute-bound kernel of prefill, reported in GFLOP/s and as a fraction
//! of `peak-fma-f32`. Three kernels, one per kind of adapter (the result's
//! `path` says which ran):
//!
//! - `cooperative-matrix` (f16 only): tensor cores through wgpu's
//!   experimental cooperative matrices, where the adapter offers 16x16x16
//!   f16 x f16 + f32;
//! - `subgroup-broadcast`: CPU adapters with 8-wide subgroups (lavapipe),
//!   where loads dominate and workgroup memory does not help;
//! - `tiled`: everything else, through workgroup memory.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::{Measurement, Unit, Workload};
use crate::gpu::{Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const TILED: &str = include_str!("../../shaders/gemm_tiled.wgsl");
const SUBGROUP: &str = include_str!("../../shaders/gemm_subgroup.wgsl");
const COOPERATIVE: &str = include_str!("../../shaders/gemm_coop.wgsl");
/// Entries of C checked against the f64 reference at large shapes.
const CHECKED_ENTRIES: usize = 256;

/// What A and B hold; C is always summed and stored in f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    F16,
}

impl Precision {
    fn wgsl(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// Relative error allowed against the f64 reference. The reference
    /// multiplies the inputs exactly as the kernel read them (f16 inputs
    /// are rounded first), so what is left is f32 summation over K terms:
    /// about sqrt(K) x 6e-8, 1e-5 at K = 14336. f16 gets 10x more room
    /// because tensor cores may round products before summing them.
    fn bound(self) -> f64 {
        match self {
            Precision::F32 => 1e-4,
            Precision::F16 => 1e-3,
        }
    }
}

/// Which kernel runs; see the module comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    CooperativeMatrix,
    SubgroupBroadcast,
    Tiled { tile: u32 },
}

impl Path {
    /// The fastest path the adapter offers for `precision`.
    pub fn best_for(gpu: &Gpu, precision: Precision) -> Path {
        let summary = &gpu.summary;
        if precision == Precision::F16 && gpu.has_f16_cooperative_matrix() {
            Path::CooperativeMatrix
        } else if summary.device_type == crate::results::DeviceType::Cpu
            && summary.subgroups
            && summary.subgroup_sizes == [8, 8]
        {
            Path::SubgroupBroadcast
        } else {
            Path::Tiled { tile: 64 }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Path::CooperativeMatrix => "cooperative-matrix",
            Path::SubgroupBroadcast => "subgroup-broadcast",
            Path::Tiled { .. } => "tiled",
        }
    }

    /// (M, N, K) multiples the kernel needs, and the block of C one
    /// workgroup computes (rows, columns).
    fn granularity(self) -> ([u32; 3], [u32; 2]) {
        match self {
            Path::CooperativeMatrix => ([32, 32, 16], [32, 32]),
            Path::SubgroupBroadcast => ([32, 16, 4], [32, 16]),
            Path::Tiled { tile } => ([tile, tile, 16], [tile, tile]),
        }
    }
}

/// The kernel computing `c = a b` (`m` x `k` times `k` x `n`, row-major,
/// `a` and `b` holding the given types, `c` f32) on `path`, and its
/// workgroup grid. The shape must be a multiple of the path's granularity
/// (checked here: the kernels run without bounds checks). Also used by the
/// LLM layer.
pub fn gemm_kernel(
    gpu: &Gpu,
    path: Path,
    [a_type, b_type]: [Precision; 2],
    [m, n, k]: [u32; 3],
    [a, b, c]: [&wgpu::Buffer; 3],
) -> Result<(Kernel, [u32; 3])> {
    let ([gm, gn, gk], [block_rows, block_cols]) = path.granularity();
    if !m.is_multiple_of(gm) || !n.is_multiple_of(gn) || !k.is_multiple_of(gk) {
        return Err(Error::Unsupported(format!(
            "GEMM on the {} path needs M a multiple of {gm}, N of {gn} and K of {gk}, \
             got {m}x{n}x{k}",
            path.name()
        )));
    }
    let wants_f16 = a_type == Precision::F16 || b_type == Precision::F16;
    if wants_f16 && !gpu.summary.shader_f16 {
        return Err(Error::Unsupported(
            "f16 GEMM needs the SHADER_F16 feature, which this adapter lacks".into(),
        ));
    }
    let preamble = format!(
        "{}alias ScalarA = {};\nalias ScalarB = {};\n",
        if wants_f16 { "enable f16;\n" } else { "" },
        a_type.wgsl(),
        b_type.wgsl()
    );
    let (wgsl, constants): (String, Vec<(&str, f64)>) = match path {
        Path::CooperativeMatrix => {
            if (a_type, b_type) != (Precision::F16, Precision::F16) {
                return Err(Error::Unsupported(
                    "the cooperative-matrix GEMM takes f16 A and B only".into(),
                ));
            }
            let subgroup = f64::from(gpu.summary.subgroup_sizes[1]);
            (COOPERATIVE.to_string(), vec![("SUBGROUP", subgroup)])
        }
        Path::SubgroupBroadcast => (preamble + SUBGROUP, Vec::new()),
        Path::Tiled { tile } => (preamble + TILED, vec![("TILE", f64::from(tile))]),
    };
    let shape = gpu.upload("gemm shape", &[m, n, k]);
    let buffers = [&shape, a, b, c];
    // SAFETY: the shape is a multiple of the path's granularity (checked
    // above), for which every index the shaders compute is inside A, B and
    // C; the tests check every entry of C written on such shapes, with the
    // output poisoned first.
    let kernel = unsafe { gpu.kernel_trusted("gemm", &wgsl, "main", &constants, &buffers)? };
    // The subgroup kernel's grid walks down the rows first (see it).
    let workgroups = if path == Path::SubgroupBroadcast {
        [m / block_rows, n / block_cols, 1]
    } else {
        [n / block_cols, m / block_rows, 1]
    };
    Ok((kernel, workgroups))
}

/// One GEMM at one shape.
#[derive(Debug, Clone)]
pub struct Gemm {
    pub precision: Precision,
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// None: [`Path::best_for`] the adapter. Tests pin each path.
    pub path: Option<Path>,
}

impl Gemm {
    /// A square shape, and the feed-forward down projection of Llama 3 8B
    /// over a 512-token prompt (M = 512 tokens, K = 14336, N = 4096).
    /// `run --quick`'s shape: 256 x 256 x 256, a multiple of every path's
    /// block.
    pub fn quick(precision: Precision) -> Gemm {
        Gemm {
            precision,
            m: 256,
            n: 256,
            k: 256,
            path: None,
        }
    }

    pub fn at_shapes(precision: Precision) -> Vec<Gemm> {
        [(4096, 4096, 4096), (512, 4096, 14336)]
            .into_iter()
            .map(|(m, n, k)| Gemm {
                precision,
                m,
                n,
                k,
                path: None,
            })
            .collect()
    }
}

impl Workload for Gemm {
    fn name(&self) -> &'static str {
        match self.precision {
            Precision::F32 => "gemm-f32",
            Precision::F16 => "gemm-f16",
        }
    }

    fn description(&self) -> &'static str {
        match self.precision {
            Precision::F32 => "dense f32 matrix multiply (GFLOP/s)",
            Precision::F16 => {
                "dense f16 matrix multiply summed in f32, on tensor cores where offered (GFLOP/s)"
            }
        }
    }

    fn unit(&self) -> Unit {
        Unit::GflopPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!("{}x{}x{}", self.m, self.n, self.k))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let name = self.name();
        if self.precision == Precision::F16 && !gpu.summary.shader_f16 {
            return Err(Error::Unsupported(format!(
                "{name} needs the SHADER_F16 feature, which this adapter lacks"
            )));
        }
        let path = self
            .path
            .unwrap_or_else(|| Path::best_for(gpu, self.precision));
        let (m, n, k) = (self.m as usize, self.n as usize, self.k as usize);
        let what = format!("{name} at {}", self.shape().unwrap_or_default());
        let scalar_bytes = if self.precision == Precision::F16 {
            2
        } else {
            4
        };
        for bytes in [m * k * scalar_bytes, k * n * scalar_bytes, m * n * 4] {
            gpu.check_fits(&what, bytes as u64)?;
        }
        // The reference sees the inputs as the kernel reads them.
        let (a, b) = (random_f32(30, m * k), random_f32(31, k * n));
        let (a, b, a_buffer, b_buffer) = match self.precision {
            Precision::F32 => {
                let buffers = (gpu.upload("gemm a", &a), gpu.upload("gemm b", &b));
                (a, b, buffers.0, buffers.1)
            }
            Precision::F16 => {
                let a16: Vec<f16> = a.iter().map(|&x| f16::from_f32(x)).collect();
                let b16: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
                let buffers = (gpu.upload("gemm a", &a16), gpu.upload("gemm b", &b16));
                let widen = |v: &[f16]| v.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
                (widen(&a16), widen(&b16), buffers.0, buffers.1)
            }
        };
        let c = gpu.output("gemm c", (m * n * 4) as u64);
        let (kernel, workgroups) = gemm_kernel(
            gpu,
            path,
            [self.precision; 2],
            [self.m, self.n, self.k],
            [&a_buffer, &b_buffer, &c],
        )?;
        // Every entry of small products; a seeded spread sample of large ones.
        let entries: Vec<(usize, usize)> = if m * n <= 4 * CHECKED_ENTRIES {
            (0..m).flat_map(|i| (0..n).map(move |j| (i, j))).collect()
        } else {
            let mut rng = fastrand::Rng::with_seed(32);
            (0..CHECKED_ENTRIES)
                .map(|_| (rng.usize(..m), rng.usize(..n)))
                .collect()
        };
        let expected: Vec<f64> = entries
            .iter()
            .map(|&(i, j)| {
                (0..k)
                    .map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j]))
                    .sum()
            })
            .collect();
        let bound = self.precision.bound();
        let check = OutputCheck {
            workload: name,
            output: &c,
            ranges: entries
                .iter()
                .map(|&(i, j)| i * n + j..i * n + j + 1)
                .collect(),
            expected: &expected,
            bound,
        };
        let flops = 2.0 * m as f64 * n as f64 * k as f64;
        let (samples, error) = sample_checked(
            gpu,
            kernel.dispatch(workgroups),
            flops,
            plan,
            observer,
            &check,
        )?;
        let mut params = serde_json::Map::new();
        params.insert("m".into(), json!(self.m));
        params.insert("n".into(), json!(self.n));
        params.insert("k".into(), json!(self.k));
        params.insert("path".into(), json!(path.name()));
        if let Path::Tiled { tile } = path {
            params.insert("tile".into(), json!(tile));
        }
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "{} entries of C against an f64 CPU reference before and after timing: \
                 relative error {error:.1e} (bound {bound:.0e})",
                entries.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Unobserved;

    /// Every path this adapter can run, in both precisions, on small
    /// products checked in full (every entry of C, written over poison).
    #[test]
    fn small_products_match_the_reference_on_every_path() {
        let gpu = crate::gpu::default_for_tests();
        let mut paths = vec![Path::Tiled { tile: 32 }, Path::Tiled { tile: 64 }];
        if gpu.summary.subgroups && gpu.summary.subgroup_sizes == [8, 8] {
            paths.push(Path::SubgroupBroadcast);
        }
        if gpu.has_f16_cooperative_matrix() {
            paths.push(Path::CooperativeMatrix);
        }
        for precision in [Precision::F32, Precision::F16] {
            for &path in &paths {
                if path == Path::CooperativeMatrix && precision == Precision::F32 {
                    continue;
                }
                for (m, n, k) in [(64, 64, 16), (64, 128, 96), (128, 64, 512)] {
                    let gemm = Gemm {
                        precision,
                        m,
                        n,
                        k,
                        path: Some(path),
                    };
                    crate::workloads::assert_verifies(&gpu, &gemm, &format!("{path:?}"));
                }
            }
        }
    }

    #[test]
    fn shapes_off_the_tile_are_unsupported_not_wrong() {
        let gpu = crate::gpu::default_for_tests();
        let gemm = Gemm {
            precision: Precision::F32,
            m: 100,
            n: 64,
            k: 16,
            path: None,
        };
        let outcome = gemm.run(&gpu, &SamplePlan::quick(), &mut Unobserved);
        assert!(matches!(outcome, Err(Error::Unsupported(_))));
    }

    /// CI has no adapter with cooperative matrices, so at least prove that
    /// the shader goes all the way to SPIR-V, as wgpu's Vulkan back end
    /// takes it, in the naga that wgpu compiles it with. Validating alone
    /// was not enough: on an H200 naga's SPIR-V writer panicked on it
    /// (an index computed inside coopStoreT's pointer argument).
    #[test]
    fn cooperative_matrix_shader_translates_to_spirv() {
        use naga::back::spv;
        use naga::proc::{BoundsCheckPolicies, BoundsCheckPolicy};
        let module = naga::front::wgsl::parse_str(COOPERATIVE).expect("parses");
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .expect("validates");
        let mut constants = naga::back::PipelineConstants::default();
        constants.insert("SUBGROUP".into(), 32.0);
        let (module, info) =
            naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
                .expect("overrides");
        let pipeline = spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".into(),
        };
        // Checked (`Gpu::kernel`) and unchecked (`kernel_trusted`) alike.
        for policy in [
            BoundsCheckPolicy::Restrict,
            BoundsCheckPolicy::ReadZeroSkipWrite,
            BoundsCheckPolicy::Unchecked,
        ] {
            let options = spv::Options {
                bounds_check_policies: BoundsCheckPolicies {
                    index: policy,
                    buffer: policy,
                    image_load: policy,
                    binding_array: policy,
                },
                ..spv::Options::default()
            };
            let words = spv::write_vec(&module, &info, &options, Some(&pipeline))
                .unwrap_or_else(|e| panic!("{policy:?}: {e}"));
            assert!(words.len() > 100, "{policy:?}: {} words", words.len());
        }
    }
}
