//! `gemm-f32` and `gemm-f16`: dense matrix multiply C = A B, the
//! compute-bound kernel of prefill, reported in GFLOP/s and as a fraction
//! of its roof. Three kinds of kernel (the result's `path` says which ran,
//! `variant` which shape of it):
//!
//! - `cooperative-matrix` (f16 only): tensor cores through the
//!   cooperative-matrix layer ([`crate::gpu::coop`]), workgroup tiles
//!   staged through workgroup memory, in the [`COOP_TILINGS`]; its roof is
//!   `peak-mma-f16`;
//! - `subgroup-broadcast`: CPU adapters with 8-wide subgroups (lavapipe),
//!   where loads dominate and workgroup memory does not help;
//! - `tiled`: everything else, through workgroup memory, the default on
//!   GPUs;
//! - `register-blocked`: the GPU-shaped SGEMM, each invocation a block of
//!   C in registers, in the [`REGISTER_TILINGS`], probed beside the
//!   default where the shape is a multiple of their blocks.
//!
//! Where the adapter has cooperative matrices, the run probes every tiling
//! and the best path without them on the run's own shape, and keeps the
//! fastest one that passes its check: on lavapipe 26 that is a path
//! without them, on a GPU with tensor cores one with.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{Measurement, Unit, Workload};
use crate::gpu::{CoopShape, Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const TILED: &str = include_str!("../../shaders/gemm_tiled.wgsl");
const REGISTER: &str = include_str!("../../shaders/gemm_register.wgsl");
const SUBGROUP: &str = include_str!("../../shaders/gemm_subgroup.wgsl");
const COOPERATIVE: &str = include_str!("../../shaders/gemm_coop.wgsl");
const DENSE_B: &str = include_str!("../../shaders/gemm_coop_dense_b.wgsl");
const QUANTIZED_B: &str = include_str!("../../shaders/gemm_coop_quant_b.wgsl");
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
    CooperativeMatrix(CoopTiling),
    SubgroupBroadcast,
    Tiled { tile: u32 },
    RegisterBlocked(RegisterTiling),
}

/// How the register-blocked kernel (gemm_register.wgsl) splits C: a
/// workgroup computes a `block` of C (rows, columns), each invocation a
/// `thread` block of it in registers, K staged `depth` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterTiling {
    pub block: [u32; 2],
    pub thread: [u32; 2],
    pub depth: u32,
}

/// The register-blocked tilings tried: 128 x 128 blocks of 256
/// invocations each 8 x 8 (the classic SGEMM shape), at two K slices; a
/// 64 x 64 block of 64 such invocations, for shapes with fewer blocks
/// than a GPU has multiprocessors; and 64 x 64 of 256 invocations each
/// 4 x 4, the tiled kernel's shape with vec4 reads of workgroup memory.
pub const REGISTER_TILINGS: [RegisterTiling; 4] = [
    RegisterTiling {
        block: [128, 128],
        thread: [8, 8],
        depth: 8,
    },
    RegisterTiling {
        block: [128, 128],
        thread: [8, 8],
        depth: 16,
    },
    RegisterTiling {
        block: [64, 64],
        thread: [8, 8],
        depth: 16,
    },
    RegisterTiling {
        block: [64, 64],
        thread: [4, 4],
        depth: 16,
    },
];

impl RegisterTiling {
    fn invocations(&self) -> u32 {
        (self.block[0] / self.thread[0]) * (self.block[1] / self.thread[1])
    }

    /// Whether the adapter can run it: its workgroup size and memory (the
    /// A and B slices in f32).
    pub fn fits(&self, gpu: &Gpu) -> bool {
        let limits = &gpu.summary.limits;
        let bytes = self.depth * (self.block[0] + self.block[1]) * 4;
        self.invocations() <= limits.max_compute_invocations_per_workgroup
            && bytes <= limits.max_compute_workgroup_storage_size
    }

    /// As results record it, e.g. `128x128 blocks, 8x8 per invocation, K
    /// slices of 8`.
    pub fn name(&self) -> String {
        let ([bm, bn], [tm, tn]) = (self.block, self.thread);
        format!(
            "{bm}x{bn} blocks, {tm}x{tn} per invocation, K slices of {}",
            self.depth
        )
    }

    /// The WGSL constants the shader is written against.
    fn constants(&self) -> String {
        format!(
            "const BM: u32 = {}u;\nconst BN: u32 = {}u;\nconst BK: u32 = {}u;\n\
             const TM: u32 = {}u;\nconst TN: u32 = {}u;\n",
            self.block[0], self.block[1], self.depth, self.thread[0], self.thread[1]
        )
    }
}

/// How a cooperative-matrix GEMM splits C: `warps` subgroups per workgroup
/// (rows x columns), each owning `tiles` native tiles of C (rows x
/// columns), K staged `k_tiles` native tiles at a time, the next slice
/// read into registers during the multiplies where `prefetch`. In native
/// tiles T, a workgroup's block is (warps x tiles x T) on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoopTiling {
    pub warps: [u32; 2],
    pub tiles: [u32; 2],
    pub k_tiles: u32,
    pub prefetch: bool,
}

/// The tilings tried, small blocks to large, then two that prefetch. At
/// 16x16 tiles the third is llama.cpp's: 128 x 128 blocks of four 64 x 64
/// subgroups.
pub const COOP_TILINGS: [CoopTiling; 7] = [
    CoopTiling {
        warps: [2, 2],
        tiles: [2, 2],
        k_tiles: 2,
        prefetch: false,
    },
    CoopTiling {
        warps: [2, 2],
        tiles: [4, 2],
        k_tiles: 2,
        prefetch: false,
    },
    CoopTiling {
        warps: [2, 2],
        tiles: [4, 4],
        k_tiles: 2,
        prefetch: false,
    },
    CoopTiling {
        warps: [4, 2],
        tiles: [2, 4],
        k_tiles: 2,
        prefetch: false,
    },
    CoopTiling {
        warps: [2, 2],
        tiles: [2, 2],
        k_tiles: 4,
        prefetch: false,
    },
    CoopTiling {
        warps: [2, 2],
        tiles: [4, 4],
        k_tiles: 2,
        prefetch: true,
    },
    CoopTiling {
        warps: [2, 2],
        tiles: [4, 2],
        k_tiles: 2,
        prefetch: true,
    },
];

impl CoopTiling {
    /// The block of C one workgroup computes, (rows, columns), at tiles of
    /// edge `t`.
    pub fn block(&self, t: u32) -> [u32; 2] {
        [
            self.warps[0] * self.tiles[0] * t,
            self.warps[1] * self.tiles[1] * t,
        ]
    }

    fn subgroups(&self) -> u32 {
        self.warps[0] * self.warps[1]
    }

    /// Workgroup memory the shader declares: the padded A and B slices in
    /// f16 and one f32 tile per subgroup for edge blocks.
    fn workgroup_bytes(&self, t: u32) -> u32 {
        let [bm, bn] = self.block(t);
        let bk = self.k_tiles * t;
        (bm * (bk + 8) + bk * (bn + 8)) * 2 + self.subgroups() * t * t * 4
    }

    /// Whether the adapter can run it: its workgroup memory and size.
    pub fn fits(&self, gpu: &Gpu, coop: CoopShape) -> bool {
        let limits = &gpu.summary.limits;
        self.workgroup_bytes(coop.size) <= limits.max_compute_workgroup_storage_size
            && self.subgroups() * gpu.summary.subgroup_sizes[1]
                <= limits.max_compute_invocations_per_workgroup
    }

    /// As results record it, e.g. `128x128 blocks, 2x2 subgroups of 4x4
    /// tiles 16x16x16, K slices of 32`.
    pub fn name(&self, t: u32) -> String {
        let [bm, bn] = self.block(t);
        format!(
            "{bm}x{bn} blocks, {}x{} subgroups of {}x{} tiles {t}x{t}x{t}, K slices of {}{}",
            self.warps[0],
            self.warps[1],
            self.tiles[0],
            self.tiles[1],
            self.k_tiles * t,
            if self.prefetch { ", prefetched" } else { "" }
        )
    }

    /// The WGSL constants the shader is written against.
    fn constants(&self, subgroup: u32) -> String {
        format!(
            "const SUBGROUP: u32 = {subgroup}u;\n\
             const WARPS_M: u32 = {}u;\n\
             const WARPS_N: u32 = {}u;\n\
             const TILES_M: u32 = {}u;\n\
             const TILES_N: u32 = {}u;\n\
             const BK: u32 = {}u * T;\n\
             const PREFETCH: bool = {};\n",
            self.warps[0], self.warps[1], self.tiles[0], self.tiles[1], self.k_tiles, self.prefetch
        )
    }
}

impl Path {
    /// The fastest path the adapter offers without cooperative matrices.
    pub fn portable_for(gpu: &Gpu) -> Path {
        let summary = &gpu.summary;
        if summary.device_type == crate::results::DeviceType::Cpu
            && summary.subgroups
            && summary.subgroup_sizes == [8, 8]
        {
            Path::SubgroupBroadcast
        } else {
            Path::Tiled { tile: 64 }
        }
    }

    /// Every path worth trying for `precision` at `[m, n, k]`: each
    /// cooperative-matrix tiling the adapter can run (f16), the portable
    /// path where the shape is a multiple of its block (the default,
    /// first, without cooperative matrices), then each register-blocked
    /// tiling the adapter can run whose block the shape is a multiple of.
    pub fn candidates(gpu: &Gpu, precision: Precision, [m, n, k]: [u32; 3]) -> Vec<Path> {
        let mut paths = Vec::new();
        if precision == Precision::F16
            && let Some(coop) = gpu.coop_shape()
        {
            paths.extend(
                COOP_TILINGS
                    .iter()
                    .filter(|tiling| tiling.fits(gpu, coop))
                    .map(|&tiling| Path::CooperativeMatrix(tiling)),
            );
        }
        let portable = Path::portable_for(gpu);
        if portable.fits_shape([m, n, k]) || paths.is_empty() {
            paths.push(portable);
        }
        paths.extend(
            REGISTER_TILINGS
                .iter()
                .filter(|tiling| tiling.fits(gpu))
                .map(|&tiling| Path::RegisterBlocked(tiling))
                .filter(|path| path.fits_shape([m, n, k])),
        );
        paths
    }

    /// Whether `[m, n, k]` is a multiple of the path's granularity.
    fn fits_shape(self, [m, n, k]: [u32; 3]) -> bool {
        let ([gm, gn, gk], _) = self.granularity();
        m.is_multiple_of(gm) && n.is_multiple_of(gn) && k.is_multiple_of(gk)
    }

    pub fn name(self) -> &'static str {
        match self {
            Path::CooperativeMatrix(_) => super::COOPERATIVE_MATRIX_PATH,
            Path::SubgroupBroadcast => "subgroup-broadcast",
            Path::Tiled { .. } => "tiled",
            Path::RegisterBlocked(_) => "register-blocked",
        }
    }

    /// The path and its shape, as results record them (`variant`).
    pub fn variant(self, gpu: &Gpu) -> String {
        match self {
            Path::CooperativeMatrix(tiling) => {
                let t = gpu.coop_shape().map_or(0, |coop| coop.size);
                format!("cooperative-matrix, {}", tiling.name(t))
            }
            Path::SubgroupBroadcast => "subgroup-broadcast, 32x16 blocks".into(),
            Path::Tiled { tile } => format!("tiled, {tile}x{tile} blocks"),
            Path::RegisterBlocked(tiling) => format!("register-blocked, {}", tiling.name()),
        }
    }

    /// (M, N, K) multiples the kernel needs, and the block of C one
    /// workgroup computes (rows, columns). The cooperative-matrix kernel
    /// takes any shape; its block depends on the tile (see
    /// [`CoopTiling::block`]).
    fn granularity(self) -> ([u32; 3], [u32; 2]) {
        match self {
            Path::CooperativeMatrix(_) => ([1, 1, 1], [0, 0]),
            Path::SubgroupBroadcast => ([32, 16, 4], [32, 16]),
            Path::Tiled { tile } => ([tile, tile, 16], [tile, tile]),
            Path::RegisterBlocked(tiling) => {
                let [rows, cols] = tiling.block;
                ([rows, cols, tiling.depth], tiling.block)
            }
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
    let types = format!(
        "alias ScalarA = {};\nalias ScalarB = {};\n",
        a_type.wgsl(),
        b_type.wgsl()
    );
    let preamble = format!("{}{types}", if wants_f16 { "enable f16;\n" } else { "" });
    let (wgsl, constants): (String, Vec<(&str, f64)>) = match path {
        Path::CooperativeMatrix(tiling) => {
            let buffers = [(1, a), (2, b), (3, c)];
            return coop_kernel(gpu, tiling, &types, DENSE_B, [m, n, k], &buffers);
        }
        Path::SubgroupBroadcast => (preamble + SUBGROUP, Vec::new()),
        Path::Tiled { tile } => (preamble + TILED, vec![("TILE", f64::from(tile))]),
        Path::RegisterBlocked(tiling) => (preamble + &tiling.constants() + REGISTER, Vec::new()),
    };
    let shape = gpu.upload("gemm shape", &[m, n, k]);
    let buffers = [&shape, a, b, c];
    // SAFETY: the shape is a multiple of the path's granularity (checked
    // above), for which every index the shaders compute is inside A, B and
    // C (the cooperative-matrix kernel checks its own edges); the tests
    // check every entry of C written on such shapes, with the output
    // poisoned first.
    let kernel = unsafe { gpu.kernel_trusted("gemm", &wgsl, "main", &constants, &buffers)? };
    let workgroups = match path {
        Path::CooperativeMatrix(tiling) => {
            let t = gpu.coop_shape().map_or(16, |coop| coop.size);
            let [rows, cols] = tiling.block(t);
            [n.div_ceil(cols), m.div_ceil(rows), 1]
        }
        // The subgroup kernel's grid walks down the rows first (see it).
        Path::SubgroupBroadcast => [m / block_rows, n / block_cols, 1],
        Path::Tiled { .. } | Path::RegisterBlocked(_) => [n / block_cols, m / block_rows, 1],
    };
    Ok((kernel, workgroups))
}

/// The cooperative-matrix GEMM `c = a b` with B from `b_source` (see
/// gemm_coop.wgsl), over `[m, n, k]`, and its grid; `buffers` are its
/// bindings besides the shape (binding 0).
fn coop_kernel(
    gpu: &Gpu,
    tiling: CoopTiling,
    types: &str,
    b_source: &str,
    [m, n, k]: [u32; 3],
    buffers: &[(u32, &wgpu::Buffer)],
) -> Result<(Kernel, [u32; 3])> {
    let coop = gpu
        .coop_shape()
        .ok_or_else(|| Error::Unsupported("this adapter offers no cooperative matrices".into()))?;
    let subgroup = gpu.summary.subgroup_sizes[1];
    let wgsl = coop.preamble() + types + &tiling.constants(subgroup) + COOPERATIVE + b_source;
    let shape = gpu.upload("gemm shape", &[m, n, k]);
    let mut bindings = vec![(0, &shape)];
    bindings.extend_from_slice(buffers);
    // SAFETY: the kernel checks every index it computes from the shape
    // against M, N and K (zeros staged past the edges, edge blocks stored
    // entry by entry); the tests check every entry of C on shapes that
    // cut every edge, with the output poisoned first.
    let kernel = unsafe { gpu.kernel_trusted_at("gemm", &wgsl, "main", &[], &bindings)? };
    let [rows, cols] = tiling.block(coop.size);
    Ok((kernel, [n.div_ceil(cols), m.div_ceil(rows), 1]))
}

/// The cooperative-matrix GEMM of f32 activations `x` (`m` x `k`) by the
/// transpose of a quantised weight matrix (`n` rows of `k`, Q8_0 for
/// `bits` 8, Q4_0 for 4, as `quants` and `scales`), into `y` (`m` x `n`,
/// f32): the weights decoded into workgroup memory as they are staged,
/// never written out whole. `k` must be a multiple of 32 (whole blocks).
pub fn quantized_gemm_kernel(
    gpu: &Gpu,
    tiling: CoopTiling,
    bits: u32,
    [m, n, k]: [u32; 3],
    x: &wgpu::Buffer,
    [quants, scales]: [&wgpu::Buffer; 2],
    y: &wgpu::Buffer,
) -> Result<(Kernel, [u32; 3])> {
    if !k.is_multiple_of(32) || !matches!(bits, 4 | 8) {
        return Err(Error::Unsupported(format!(
            "a Q{bits}_0 GEMM needs K a multiple of 32, got {k}"
        )));
    }
    let types = format!("alias ScalarA = f32;\nconst BITS: u32 = {bits}u;\n");
    let buffers = [(1, x), (2, quants), (3, y), (4, scales)];
    coop_kernel(gpu, tiling, &types, QUANTIZED_B, [m, n, k], &buffers)
}

/// The fastest cooperative-matrix tiling the adapter can run for a
/// product of `[m, n, k]` with A and B of `types`, probed on scratch
/// buffers: a ranking only, for callers (the LLM layer) that build one
/// GEMM per product and check their own output. None without cooperative
/// matrices.
pub fn fastest_coop_tiling(
    gpu: &Gpu,
    plan: &SamplePlan,
    types: [Precision; 2],
    [m, n, k]: [u32; 3],
) -> Result<Option<CoopTiling>> {
    let Some(coop) = gpu.coop_shape() else {
        return Ok(None);
    };
    let tilings: Vec<CoopTiling> = COOP_TILINGS
        .into_iter()
        .filter(|tiling| tiling.fits(gpu, coop))
        .collect();
    let bytes =
        |p: Precision, count: u32| u64::from(count) * if p == Precision::F16 { 2 } else { 4 };
    let a = gpu.output("gemm probe a", bytes(types[0], m * k));
    let b = gpu.output("gemm probe b", bytes(types[1], k * n));
    let c = gpu.output("gemm probe c", u64::from(m * n) * 4);
    let mut built = Vec::new();
    for &tiling in &tilings {
        let path = Path::CooperativeMatrix(tiling);
        built.push(gemm_kernel(gpu, path, types, [m, n, k], [&a, &b, &c])?);
    }
    let flops = 2.0 * f64::from(m) * f64::from(n) * f64::from(k);
    let probes: Vec<_> = built
        .iter()
        .map(|(kernel, workgroups)| (kernel.dispatch(*workgroups), flops))
        .collect();
    Ok(tuning::rank(gpu, plan, &probes)?
        .first()
        .map(|&i| tilings[i]))
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
        let paths = match self.path {
            Some(path) => vec![path],
            None => Path::candidates(gpu, self.precision, [self.m, self.n, self.k]),
        };
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
        let mut built = Vec::new();
        for &path in &paths {
            built.push(gemm_kernel(
                gpu,
                path,
                [self.precision; 2],
                [self.m, self.n, self.k],
                [&a_buffer, &b_buffer, &c],
            )?);
        }
        let mut kernels: Vec<(Path, _)> = paths
            .iter()
            .zip(&built)
            .map(|(&path, (kernel, workgroups))| (path, kernel.dispatch(*workgroups)))
            .collect();
        // Every entry of small products; a seeded spread sample of large ones.
        let entries: Vec<(usize, usize)> = if m * n <= 64 * CHECKED_ENTRIES {
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
        let probes: Vec<_> = kernels.iter().map(|(_, d)| (d.clone(), flops)).collect();
        let verified = tuning::choose(gpu, plan, &probes, |i| check.run(gpu, &kernels[i].1))?;
        let (path, dispatch) = kernels.swap_remove(verified.index);
        let (samples, error) = sample_checked(gpu, dispatch, flops, plan, observer, &check)?;
        let mut params = serde_json::Map::new();
        params.insert("m".into(), json!(self.m));
        params.insert("n".into(), json!(self.n));
        params.insert("k".into(), json!(self.k));
        params.insert("path".into(), json!(path.name()));
        let names: Vec<String> = paths.iter().map(|p| p.variant(gpu)).collect();
        verified.record(&mut params, &names, self.unit());
        if let Path::Tiled { tile } = path {
            params.insert("tile".into(), json!(tile));
        }
        if let (Path::CooperativeMatrix(_), Some(coop)) = (path, gpu.coop_shape()) {
            params.insert("coop_shape".into(), json!(coop.name()));
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

    /// Every portable path this adapter can run, in both precisions, on
    /// small products checked in full (every entry of C, written over
    /// poison).
    #[test]
    fn small_products_match_the_reference_on_every_path() {
        let gpu = crate::gpu::default_for_tests();
        let mut paths = vec![Path::Tiled { tile: 32 }, Path::Tiled { tile: 64 }];
        if gpu.summary.subgroups && gpu.summary.subgroup_sizes == [8, 8] {
            paths.push(Path::SubgroupBroadcast);
        }
        for precision in [Precision::F32, Precision::F16] {
            for &path in &paths {
                for (m, n, k) in [(64, 64, 16), (64, 128, 96)] {
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

    /// C = A B on `path` at `[m, n, k]` over poisoned output, every entry
    /// of C against the f64 reference (of the inputs as the kernel reads
    /// them).
    fn assert_every_entry_matches(
        gpu: &Gpu,
        path: Path,
        precision: Precision,
        [m, n, k]: [u32; 3],
    ) {
        let (mu, nu, ku) = (m as usize, n as usize, k as usize);
        let (a, b) = (random_f32(40, mu * ku), random_f32(41, ku * nu));
        let (a, b, a_buffer, b_buffer) = match precision {
            Precision::F32 => {
                let buffers = (gpu.upload("a", &a), gpu.upload("b", &b));
                (a, b, buffers.0, buffers.1)
            }
            Precision::F16 => {
                let a16: Vec<f16> = a.iter().map(|&x| f16::from_f32(x)).collect();
                let b16: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
                let widen = |v: &[f16]| v.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
                let buffers = (gpu.upload("a", &a16), gpu.upload("b", &b16));
                (widen(&a16), widen(&b16), buffers.0, buffers.1)
            }
        };
        let c = gpu.output("c", (mu * nu * 4) as u64);
        let (kernel, grid) = gemm_kernel(
            gpu,
            path,
            [precision; 2],
            [m, n, k],
            [&a_buffer, &b_buffer, &c],
        )
        .unwrap();
        let expected: Vec<f64> = (0..mu * nu)
            .map(|e| {
                let (i, j) = (e / nu, e % nu);
                (0..ku)
                    .map(|p| f64::from(a[i * ku + p]) * f64::from(b[p * nu + j]))
                    .sum()
            })
            .collect();
        let check = OutputCheck {
            workload: "gemm",
            output: &c,
            ranges: std::iter::once(0..mu * nu).collect(),
            expected: &expected,
            bound: precision.bound(),
        };
        check
            .run(gpu, &kernel.dispatch(grid))
            .unwrap_or_else(|e| panic!("{} {precision:?} {m}x{n}x{k}: {e}", path.variant(gpu)));
    }

    /// Every register-blocked tiling, in both precisions, on one block and
    /// on two blocks down M, with K cut into 3 and 5 slices: every entry
    /// of C checked.
    #[test]
    fn register_blocked_products_match_the_reference_in_every_entry() {
        let gpu = crate::gpu::default_for_tests();
        for tiling in REGISTER_TILINGS {
            assert!(tiling.fits(&gpu), "{}", tiling.name());
            let [rows, cols] = tiling.block;
            for precision in [Precision::F32, Precision::F16] {
                for shape in [
                    [rows, cols, 3 * tiling.depth],
                    [2 * rows, cols, 5 * tiling.depth],
                ] {
                    assert_every_entry_matches(
                        &gpu,
                        Path::RegisterBlocked(tiling),
                        precision,
                        shape,
                    );
                }
            }
        }
    }

    /// The default (today's portable path) comes first; the register
    /// tilings follow where the shape is a multiple of their blocks; and a
    /// run under `--tune off` runs the default.
    #[test]
    fn f32_candidates_put_the_default_first_and_tune_off_runs_it() {
        let gpu = crate::gpu::default_for_tests();
        let portable = Path::portable_for(&gpu);
        let every = Path::candidates(&gpu, Precision::F32, [256, 256, 256]);
        let mut expected = vec![portable];
        expected.extend(REGISTER_TILINGS.map(Path::RegisterBlocked));
        assert_eq!(every, expected);
        // 192 is no multiple of 128: only the 64 x 64 blocks.
        let smaller = Path::candidates(&gpu, Precision::F32, [192, 64, 48]);
        assert_eq!(smaller[0], portable);
        assert_eq!(
            smaller[1..],
            [
                Path::RegisterBlocked(REGISTER_TILINGS[2]),
                Path::RegisterBlocked(REGISTER_TILINGS[3])
            ]
        );
        let gemm = Gemm {
            precision: Precision::F32,
            m: 128,
            n: 128,
            k: 32,
            path: None,
        };
        let plan = SamplePlan {
            tune: tuning::Tune::Off,
            ..SamplePlan::single()
        };
        let measurement = gemm.run(&gpu, &plan, &mut Unobserved).unwrap();
        assert_eq!(measurement.params["variant"], portable.variant(&gpu));
        assert_eq!(measurement.params["tuning"], "off");
        assert_eq!(
            measurement.params["variants_tried"]
                .as_array()
                .unwrap()
                .len(),
            1 + REGISTER_TILINGS.len()
        );
    }

    /// Every cooperative-matrix tiling, on shapes that cut every edge of
    /// its blocks and of the native tile (M, N and K not multiples of
    /// either), every entry checked. Runs where the adapter has
    /// cooperative matrices: Mesa 26's lavapipe (.ci/coop-matrix.sh), a GPU.
    fn every_coop_tiling_matches_the_reference(gpu: &Gpu) {
        let coop = gpu
            .coop_shape()
            .expect("an adapter with cooperative matrices");
        for tiling in COOP_TILINGS.iter().filter(|t| t.fits(gpu, coop)) {
            for (m, n, k) in [(67, 69, 35), (130, 5, 9)] {
                let gemm = Gemm {
                    precision: Precision::F16,
                    m,
                    n,
                    k,
                    path: Some(Path::CooperativeMatrix(*tiling)),
                };
                crate::workloads::assert_verifies(gpu, &gemm, &tiling.name(coop.size));
            }
        }
        quantized_products_match_the_reference(gpu, COOP_TILINGS[0]);
        // The run's own choice among them and the portable path.
        let gemm = Gemm {
            precision: Precision::F16,
            m: 96,
            n: 96,
            k: 48,
            path: None,
        };
        crate::workloads::assert_verifies(gpu, &gemm, "the fastest verified path");
    }

    /// The quantised B source: f32 activations times Q8_0 and Q4_0
    /// weights (the LLM's, decoded in workgroup memory) on shapes that cut
    /// every block and tile edge but K (whole blocks of 32), every entry
    /// of C against the f64 reference.
    fn quantized_products_match_the_reference(gpu: &Gpu, tiling: CoopTiling) {
        use crate::workloads::gemv::Format;
        use crate::workloads::llm::weights::{Layout, Matrix};
        for format in [Format::Q8, Format::Q4] {
            for (m, n, k) in [(37, 45, 96), (3, 70, 32)] {
                let matrix = Matrix {
                    rows: n,
                    cols: k,
                    format,
                    layout: Layout::Rows,
                    seed: 7,
                };
                let weights = matrix.upload(gpu).unwrap();
                let x = random_f32(33, m * k);
                let x_buffer = gpu.upload("x", &x);
                let y = gpu.output("y", (m * n * 4) as u64);
                let (kernel, grid) = quantized_gemm_kernel(
                    gpu,
                    tiling,
                    if format == Format::Q8 { 8 } else { 4 },
                    [m as u32, n as u32, k as u32],
                    &x_buffer,
                    [&weights[0], &weights[1]],
                    &y,
                )
                .unwrap();
                // The kernel rounds weights and activations to f16 as it
                // stages them.
                let reader = matrix.reader(true);
                let x16: Vec<f64> = x
                    .iter()
                    .map(|&v| f64::from(f16::from_f32(v).to_f32()))
                    .collect();
                let expected: Vec<f64> = (0..m * n)
                    .map(|e| {
                        let (i, j) = (e / n, e % n);
                        (0..k)
                            .map(|p| x16[i * k + p] * f64::from(reader.value(j, p)))
                            .sum()
                    })
                    .collect();
                let check = OutputCheck {
                    workload: "quantized gemm",
                    output: &y,
                    ranges: std::iter::once(0..m * n).collect(),
                    expected: &expected,
                    bound: 1e-3,
                };
                check
                    .run(gpu, &kernel.dispatch(grid))
                    .unwrap_or_else(|e| panic!("{format:?} {m}x{n}x{k}: {e}"));
            }
        }
    }

    #[test]
    fn coop_tilings_match_the_reference_where_offered() {
        let gpu = crate::gpu::default_for_tests();
        if crate::gpu::coop::shape_for_tests(&gpu).is_some() {
            every_coop_tiling_matches_the_reference(&gpu);
        } else {
            // Mesa 22.3 offers none: the run takes the portable path.
            assert!(
                Path::candidates(&gpu, Precision::F16, [64, 64, 64])
                    .iter()
                    .all(|p| !matches!(p, Path::CooperativeMatrix(_)))
            );
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

    #[test]
    fn tilings_name_their_blocks() {
        let llama = COOP_TILINGS[2];
        assert_eq!(llama.block(16), [128, 128]);
        assert_eq!(
            llama.name(16),
            "128x128 blocks, 2x2 subgroups of 4x4 tiles 16x16x16, K slices of 32"
        );
        // 19 KiB of workgroup memory at 16x16 tiles: inside NVIDIA's 48 KiB.
        assert_eq!(
            llama.workgroup_bytes(16),
            128 * 40 * 2 + 32 * 136 * 2 + 4 * 256 * 4
        );
    }

    /// Cooperative matrices need a driver CI's default lavapipe lacks, so
    /// every tiling at both tile sizes is also taken all the way to
    /// SPIR-V, as wgpu's Vulkan back end takes it, in the naga wgpu
    /// compiles it with. Validating alone was not enough: on an H200
    /// naga's SPIR-V writer panicked on an earlier kernel (an index
    /// computed inside coopStoreT's pointer argument).
    #[test]
    fn cooperative_matrix_shaders_translate_to_spirv() {
        let sources = [
            ("alias ScalarA = f16;\nalias ScalarB = f16;\n", DENSE_B),
            ("alias ScalarA = f32;\nalias ScalarB = f16;\n", DENSE_B),
            ("alias ScalarA = f32;\nconst BITS: u32 = 8u;\n", QUANTIZED_B),
            ("alias ScalarA = f32;\nconst BITS: u32 = 4u;\n", QUANTIZED_B),
        ];
        for size in [8, 16] {
            for tiling in COOP_TILINGS {
                for (types, b_source) in sources {
                    let wgsl = CoopShape { size }.preamble()
                        + types
                        + &tiling.constants(32)
                        + COOPERATIVE
                        + b_source;
                    crate::gpu::coop::assert_translates_to_spirv(&wgsl, &tiling.name(size));
                }
            }
        }
    }
}
