//! `gemm-skinny`: the matrix products of batched decode. A server decoding
//! M sequences multiplies M rows of activations by each weight matrix, so
//! every weight read serves M tokens: on a memory-bound GPU the product
//! costs about one GEMV up to a batch of tens, which is why servers batch.
//! The figure is GB/s of weights (read once per product, as a GEMV's);
//! GFLOP/s beside it grows with M. Weights in f16, Q8_0 and Q4_0, as the
//! GEMV and the LLM layers use them.
//!
//! Two kernels (the result's `path` says which ran, `variant` which shape
//! of it): the portable one (`gemm_skinny.wgsl`, CUDA cores, eight tokens
//! per weight read), and from batches of [`COOP_FROM_TOKENS`] where the
//! adapter has cooperative matrices, `cooperative-matrix`
//! (`gemm_skinny_coop.wgsl`, tensor cores, every token per weight read),
//! in the [`SKINNY_TILINGS`]. The run probes them all on its own shape and
//! keeps the fastest that passes its check.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::gemv::{self, Format, Launch};
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{CoopShape, Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const SKINNY: &str = include_str!("../../shaders/gemm_skinny.wgsl");
const SKINNY_COOP: &str = include_str!("../../shaders/gemm_skinny_coop.wgsl");
/// Tokens each invocation takes per weight read (TILE in the shader).
const TILE: u32 = 8;
/// The smallest batch the run tries the cooperative-matrix kernel at: a
/// native tile's worth of tokens on GPUs (16); below, most of each tile
/// would multiply padding.
pub const COOP_FROM_TOKENS: u32 = 16;
/// Accumulator tiles one subgroup holds at most: at 16x16 tiles on 32-wide
/// subgroups, 8 registers a lane each, 64 in all.
const MAX_ACCUMULATORS: u32 = 8;

/// Which kernel computes a skinny GEMM; see the module comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkinnyPath {
    /// `gemm_skinny.wgsl` launched as [`Launch::best_for`] the adapter
    /// (the GEMV at one token).
    Portable,
    CooperativeMatrix(SkinnyTiling),
}

impl SkinnyPath {
    pub fn name(self) -> &'static str {
        match self {
            SkinnyPath::Portable => "portable",
            SkinnyPath::CooperativeMatrix(_) => super::COOPERATIVE_MATRIX_PATH,
        }
    }

    /// Every path worth trying for `format` at `tokens`: the portable one,
    /// and each cooperative-matrix tiling the adapter can run from
    /// [`COOP_FROM_TOKENS`] tokens (f16, Q8_0 and Q4_0 weights).
    pub fn candidates(gpu: &Gpu, format: Format, tokens: u32) -> Vec<SkinnyPath> {
        let mut paths = vec![SkinnyPath::Portable];
        if tokens >= COOP_FROM_TOKENS
            && format != Format::F32
            && gpu.summary.shader_f16
            && let Some(coop) = gpu.coop_shape()
        {
            paths.extend(
                SKINNY_TILINGS
                    .iter()
                    .filter(|tiling| tiling.fits(gpu, coop, tokens))
                    .map(|&tiling| SkinnyPath::CooperativeMatrix(tiling)),
            );
        }
        paths
    }
}

/// How the cooperative-matrix kernel splits Y (tokens x outputs): `warps`
/// subgroups per workgroup (over tokens x outputs), each owning `tiles_n`
/// native tiles of outputs and as many of tokens as the batch needs (see
/// [`SkinnyTiling::token_layout`]); K staged `k_blocks` blocks of 32
/// columns at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkinnyTiling {
    pub warps: [u32; 2],
    pub tiles_n: u32,
    pub k_blocks: u32,
}

/// The tilings tried, narrow blocks of outputs to wide. Narrow ones make
/// more workgroups (256 at 4096 outputs and 16x16 tiles), which a
/// memory-bound kernel needs to keep every SM's loads in flight; wide ones
/// share each token slice among more outputs.
pub const SKINNY_TILINGS: [SkinnyTiling; 5] = [
    SkinnyTiling {
        warps: [4, 1],
        tiles_n: 1,
        k_blocks: 2,
    },
    SkinnyTiling {
        warps: [4, 1],
        tiles_n: 1,
        k_blocks: 4,
    },
    SkinnyTiling {
        warps: [2, 2],
        tiles_n: 1,
        k_blocks: 2,
    },
    SkinnyTiling {
        warps: [1, 4],
        tiles_n: 1,
        k_blocks: 2,
    },
    SkinnyTiling {
        warps: [2, 2],
        tiles_n: 2,
        k_blocks: 2,
    },
];

impl SkinnyTiling {
    /// Subgroups over the tokens and native tiles of tokens each holds, at
    /// `tokens` in tiles of edge `t`: the whole batch (padded to tiles) in
    /// one workgroup, so that each block of weights is read once, unless
    /// that needs more than [`MAX_ACCUMULATORS`] a subgroup; then the grid
    /// covers the rest (and the weights are read again, mostly from cache).
    /// No more subgroups over tokens than the batch has tiles.
    pub fn token_layout(&self, t: u32, tokens: u32) -> [u32; 2] {
        let token_tiles = tokens.div_ceil(t).max(1);
        let warps_m = self.warps[0].min(token_tiles);
        let tiles_m = token_tiles
            .div_ceil(warps_m)
            .min(MAX_ACCUMULATORS / self.tiles_n);
        [warps_m, tiles_m]
    }

    /// The block of Y one workgroup computes, (tokens, outputs).
    pub fn block(&self, t: u32, tokens: u32) -> [u32; 2] {
        let [warps_m, tiles_m] = self.token_layout(t, tokens);
        [warps_m * tiles_m * t, self.warps[1] * self.tiles_n * t]
    }

    fn subgroups(&self, t: u32, tokens: u32) -> u32 {
        self.token_layout(t, tokens)[0] * self.warps[1]
    }

    /// Workgroup memory the shader declares: the padded slices of x and
    /// of W in f16, and one f32 tile per subgroup for edge blocks.
    fn workgroup_bytes(&self, t: u32, tokens: u32) -> u32 {
        let [bm, bn] = self.block(t, tokens);
        let stride = self.k_blocks * 32 + 8;
        (bm + bn) * stride * 2 + self.subgroups(t, tokens) * t * t * 4
    }

    /// Whether the adapter can run it at `tokens`: its workgroup memory
    /// and size.
    pub fn fits(&self, gpu: &Gpu, coop: CoopShape, tokens: u32) -> bool {
        let limits = &gpu.summary.limits;
        self.workgroup_bytes(coop.size, tokens) <= limits.max_compute_workgroup_storage_size
            && self.subgroups(coop.size, tokens) * gpu.summary.subgroup_sizes[1]
                <= limits.max_compute_invocations_per_workgroup
    }

    /// As results record it, e.g. `64x16 blocks (tokens x outputs), 4x1
    /// subgroups of 1x1 tiles 16x16x16, K slices of 64`.
    pub fn name(&self, t: u32, tokens: u32) -> String {
        let [bm, bn] = self.block(t, tokens);
        let [warps_m, tiles_m] = self.token_layout(t, tokens);
        format!(
            "{bm}x{bn} blocks (tokens x outputs), {warps_m}x{} subgroups of {tiles_m}x{} \
             tiles {t}x{t}x{t}, K slices of {}",
            self.warps[1],
            self.tiles_n,
            self.k_blocks * 32
        )
    }

    /// The WGSL constants the shader is written against.
    fn constants(&self, subgroup: u32, t: u32, tokens: u32) -> String {
        let [warps_m, tiles_m] = self.token_layout(t, tokens);
        format!(
            "const SUBGROUP: u32 = {subgroup}u;\n\
             const WARPS_M: u32 = {warps_m}u;\n\
             const WARPS_N: u32 = {}u;\n\
             const TILES_M: u32 = {tiles_m}u;\n\
             const TILES_N: u32 = {}u;\n\
             const K_BLOCKS: u32 = {}u;\n",
            self.warps[1], self.tiles_n, self.k_blocks
        )
    }

    /// The whole shader for `format`: the layer's preamble, the constants,
    /// the kernel, then the format's file (block_weights, block_scale).
    fn shader(&self, coop: CoopShape, subgroup: u32, tokens: u32, format: Format) -> String {
        coop.preamble() + &self.constants(subgroup, coop.size, tokens) + SKINNY_COOP + format.body()
    }
}

/// The kernel computing `y = x W^T` for `tokens` rows of `x` against a
/// `rows` x `cols` matrix in `format` (`weights`: its buffers as
/// [`Format`] lays them out) on `path`, and its workgroup grid. One token
/// on the portable path is the GEMV (tuned for it); the LLM layers call
/// this for every batch.
pub fn skinny_kernel(
    gpu: &Gpu,
    path: SkinnyPath,
    format: Format,
    [tokens, rows, cols]: [u32; 3],
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    match path {
        SkinnyPath::Portable if tokens == 1 => {
            gemv::gemv_kernel(gpu, format, [rows, cols], x, y, weights)
        }
        SkinnyPath::Portable => launch_kernel(
            gpu,
            format,
            [tokens, rows, cols],
            Launch::best_for(gpu, cols),
            [x, y],
            weights,
        ),
        SkinnyPath::CooperativeMatrix(tiling) => {
            coop_kernel(gpu, tiling, format, [tokens, rows, cols], [x, y], weights)
        }
    }
}

/// Both kernels read weights a block of 32 at a time and x four columns at
/// a time.
fn check_supported(format: Format, cols: u32) -> Result<()> {
    if format == Format::F32 || !cols.is_multiple_of(32) {
        return Err(Error::Unsupported(format!(
            "gemm-skinny takes f16, q8 or q4 weights with whole blocks of 32 columns, \
             not {format:?} with {cols}"
        )));
    }
    Ok(())
}

fn coop_kernel(
    gpu: &Gpu,
    tiling: SkinnyTiling,
    format: Format,
    [tokens, rows, cols]: [u32; 3],
    [x, y]: [&wgpu::Buffer; 2],
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    check_supported(format, cols)?;
    let coop = gpu
        .coop_shape()
        .ok_or_else(|| Error::Unsupported("this adapter offers no cooperative matrices".into()))?;
    if !gpu.summary.shader_f16 {
        return Err(Error::Unsupported(
            "cooperative matrices need the SHADER_F16 feature, which this adapter lacks".into(),
        ));
    }
    let subgroup = gpu.summary.subgroup_sizes[1];
    let wgsl = tiling.shader(coop, subgroup, tokens, format);
    let shape = gpu.upload("skinny shape", &[rows, cols, tokens]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weights.iter());
    // SAFETY: every read of x and of the weights is guarded by the token,
    // row and block counts of `shape` (cols whole blocks of 32, checked
    // above), every write of y by the token and row counts, and the
    // workgroup arrays' indices are inside their constant sizes; the tests
    // check every output of shapes that cut every edge, over poison.
    let kernel = unsafe { gpu.kernel_trusted("gemm-skinny coop", &wgsl, "main", &[], &bindings)? };
    let [block_tokens, block_rows] = tiling.block(coop.size, tokens);
    Ok((
        kernel,
        [rows.div_ceil(block_rows), tokens.div_ceil(block_tokens), 1],
    ))
}

fn launch_kernel(
    gpu: &Gpu,
    format: Format,
    [tokens, rows, cols]: [u32; 3],
    launch: Launch,
    [x, y]: [&wgpu::Buffer; 2],
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    check_supported(format, cols)?;
    let tiles = tokens.div_ceil(TILE);
    let shape = gpu.upload("skinny shape", &[rows, cols, tokens, tiles]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weights.iter());
    let workgroup_size = 64;
    // The format's file after this shader's declarations; its
    // row_partial is compiled but not called.
    let wgsl = [SKINNY, format.body()].concat();
    // Sharing x needs whole blocks of 32 (checked above) and 8-wide
    // subgroups (Launch::best_for).
    let entry = if launch.shares_x {
        "main_broadcast"
    } else {
        "main"
    };
    let kernel = gpu.kernel(
        "gemm-skinny",
        &wgsl,
        entry,
        &[
            ("WORKGROUP_SIZE", f64::from(workgroup_size)),
            ("THREADS_PER_ROW", f64::from(launch.threads_per_row)),
        ],
        &bindings,
    )?;
    let row_groups = rows.div_ceil(workgroup_size / launch.threads_per_row);
    let workgroups = gpu.workgroup_grid(u64::from(row_groups) * u64::from(tiles));
    Ok((kernel, workgroups))
}

/// The portable kernel's, as the GEMV's: it reads the weights and x
/// exactly as the reference does, so only the order of f32 additions
/// differs.
const BOUND: f64 = 1e-4;
/// The cooperative-matrix kernel's, for every format: its reference
/// multiplies x and the decoded weights rounded to f16 as the kernel
/// stages them (f16 weights are exact; Q8_0 and Q4_0 scale times quant
/// is rounded, as llama.cpp's cooperative-matrix path rounds it), so what
/// is left is f32 summation and the tensor cores' own rounding of
/// products and of f32 to f16: gemm-f16's bound.
const COOP_BOUND: f64 = 1e-3;
/// Checks every (token, row) output up to this many; beyond, the first, a
/// middle and the last token.
const CHECKED_OUTPUTS: usize = 8192;

/// One skinny GEMM: `tokens` rows against a `rows` x `cols` matrix.
#[derive(Debug, Clone)]
pub struct GemmSkinny {
    pub format: Format,
    pub tokens: u32,
    pub rows: u32,
    pub cols: u32,
    /// None: the fastest verified of [`SkinnyPath::candidates`]. Tests
    /// pin each path.
    pub path: Option<SkinnyPath>,
    /// The portable kernel's launch; None: [`Launch::best_for`] the
    /// adapter. Tests pin each launch (and with it the portable path).
    pub launch: Option<Launch>,
}

impl GemmSkinny {
    /// Llama 3 8B's down projection (4096 x 14336, the largest of a layer)
    /// at the batches a server runs, in f16 and Q4_0.
    pub fn at_llm_shapes() -> Vec<GemmSkinny> {
        Self::at(&[1, 16, 64, 256], 4096, 14336)
    }

    /// `run --quick`: 1024 x 1024 at batches 1 and 16.
    pub fn quick() -> Vec<GemmSkinny> {
        Self::at(&[1, 16], 1024, 1024)
    }

    fn at(batches: &[u32], rows: u32, cols: u32) -> Vec<GemmSkinny> {
        [Format::F16, Format::Q4]
            .into_iter()
            .flat_map(|format| {
                batches.iter().map(move |&tokens| GemmSkinny {
                    format,
                    tokens,
                    rows,
                    cols,
                    path: None,
                    launch: None,
                })
            })
            .collect()
    }

    fn paths(&self, gpu: &Gpu) -> Vec<SkinnyPath> {
        match (self.path, self.launch) {
            (Some(path), _) => vec![path],
            (None, Some(_)) => vec![SkinnyPath::Portable],
            (None, None) => SkinnyPath::candidates(gpu, self.format, self.tokens),
        }
    }

    /// The path and its shape, as results record them (`variant`).
    fn variant(&self, gpu: &Gpu, path: SkinnyPath, launch: Launch) -> String {
        match path {
            SkinnyPath::Portable if self.tokens == 1 && self.launch.is_none() => {
                "portable, the GEMV".into()
            }
            SkinnyPath::Portable => format!(
                "portable, {} lane{} a row{}",
                launch.threads_per_row,
                if launch.threads_per_row == 1 { "" } else { "s" },
                if launch.shares_x {
                    ", x shared by subgroup"
                } else {
                    ""
                }
            ),
            SkinnyPath::CooperativeMatrix(tiling) => {
                let t = gpu.coop_shape().map_or(0, |coop| coop.size);
                format!("cooperative-matrix, {}", tiling.name(t, self.tokens))
            }
        }
    }
}

/// Row `row` of `decoded` dotted with `x_row`, both rounded to f16 first
/// as the cooperative-matrix kernel stages them, in f64.
fn rounded_dot(decoded: &[f32], row: usize, x_row: &[f32]) -> f64 {
    let cols = x_row.len();
    let round = |v: f32| f64::from(f16::from_f32(v).to_f32());
    decoded[row * cols..(row + 1) * cols]
        .iter()
        .zip(x_row)
        .map(|(&w, &v)| round(w) * round(v))
        .sum()
}

impl Workload for GemmSkinny {
    fn name(&self) -> &'static str {
        "gemm-skinny"
    }

    fn description(&self) -> &'static str {
        "a decode batch's matrix product: M tokens against one weight read (GB/s of weights)"
    }

    fn unit(&self) -> Unit {
        Unit::GigabytesPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!(
            "{}x{}x{} {}",
            self.tokens,
            self.rows,
            self.cols,
            self.format.weights_name()
        ))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let (tokens, rows, cols) = (self.tokens as usize, self.rows as usize, self.cols as usize);
        let weight_bytes = (rows * cols) as f64 * self.format.bytes_per_weight();
        gpu.check_fits(
            &format!("gemm-skinny at {}", self.shape().unwrap_or_default()),
            self.format.largest_buffer(rows * cols) as u64,
        )?;
        let values = random_f32(20 + rows as u64, rows * cols);
        let x = random_f32(21, tokens * cols);
        let weights = gemv::encode(self.format, &values);
        drop(values);
        let x_buffer = gpu.upload("skinny x", &x);
        let y = gpu.output("skinny y", (tokens * rows * 4) as u64);
        let weight_buffers: Vec<wgpu::Buffer> = weights
            .buffers
            .iter()
            .map(|data| gpu.upload("skinny weights", data))
            .collect();
        let launch = self
            .launch
            .unwrap_or_else(|| Launch::best_for(gpu, self.cols));
        let paths = self.paths(gpu);
        let shape = [self.tokens, self.rows, self.cols];
        let mut built = Vec::new();
        for &path in &paths {
            built.push(match path {
                SkinnyPath::Portable if self.launch.is_some() => launch_kernel(
                    gpu,
                    self.format,
                    shape,
                    launch,
                    [&x_buffer, &y],
                    &weight_buffers,
                )?,
                _ => skinny_kernel(
                    gpu,
                    path,
                    self.format,
                    shape,
                    &x_buffer,
                    &y,
                    &weight_buffers,
                )?,
            });
        }
        let mut kernels: Vec<(SkinnyPath, _)> = paths
            .iter()
            .zip(&built)
            .map(|(&path, (kernel, workgroups))| (path, kernel.dispatch(*workgroups)))
            .collect();
        // Every token against a spread of up to 512 rows (every row of
        // small matrices); at large batches the first, a middle and the
        // last token.
        let rows_checked: Vec<usize> = (0..rows).step_by(rows.div_ceil(512)).collect();
        let checked_tokens: Vec<usize> = if tokens * rows_checked.len() <= CHECKED_OUTPUTS {
            (0..tokens).collect()
        } else {
            let mut t = vec![0, tokens / 2, tokens - 1];
            t.dedup();
            t
        };
        let pairs: Vec<(usize, usize)> = checked_tokens
            .iter()
            .flat_map(|&t| rows_checked.iter().map(move |&r| (t, r)))
            .collect();
        let reference = |dot: fn(&[f32], usize, &[f32]) -> f64| -> Vec<f64> {
            pairs
                .iter()
                .map(|&(t, r)| dot(&weights.decoded, r, &x[t * cols..(t + 1) * cols]))
                .collect()
        };
        let has = |coop: bool| {
            paths
                .iter()
                .any(|p| matches!(p, SkinnyPath::CooperativeMatrix(_)) == coop)
        };
        let portable_expected = if has(false) {
            reference(gemv::reference_dot)
        } else {
            Vec::new()
        };
        let coop_expected = if has(true) {
            reference(rounded_dot)
        } else {
            Vec::new()
        };
        let ranges: Vec<_> = pairs
            .iter()
            .map(|&(t, r)| t * rows + r..t * rows + r + 1)
            .collect();
        let check_for = |path: SkinnyPath| match path {
            SkinnyPath::Portable => OutputCheck {
                workload: self.name(),
                output: &y,
                ranges: ranges.clone(),
                expected: &portable_expected,
                bound: BOUND,
            },
            SkinnyPath::CooperativeMatrix(_) => OutputCheck {
                workload: self.name(),
                output: &y,
                ranges: ranges.clone(),
                expected: &coop_expected,
                bound: COOP_BOUND,
            },
        };
        let probes: Vec<_> = kernels
            .iter()
            .map(|(_, d)| (d.clone(), weight_bytes))
            .collect();
        let verified = tuning::choose(gpu, plan, &probes, |i| {
            let (path, dispatch) = &kernels[i];
            check_for(*path).run(gpu, dispatch)
        })?;
        let (path, dispatch) = kernels.swap_remove(verified.index);
        let check = check_for(path);
        let (samples, error) = sample_checked(gpu, dispatch, weight_bytes, plan, observer, &check)?;
        let mut params = serde_json::Map::new();
        params.insert("m".into(), json!(self.tokens));
        params.insert("n".into(), json!(self.rows));
        params.insert("k".into(), json!(self.cols));
        params.insert("weights".into(), json!(self.format.weights_name()));
        params.insert("path".into(), json!(path.name()));
        let names: Vec<String> = paths
            .iter()
            .map(|&p| self.variant(gpu, p, launch))
            .collect();
        verified.record(&mut params, &names, self.unit());
        match path {
            SkinnyPath::Portable => {
                params.insert("threads_per_row".into(), json!(launch.threads_per_row));
                params.insert("x_shared_by_subgroup".into(), json!(launch.shares_x));
                params.insert(
                    "tokens_per_weight_read".into(),
                    json!(TILE.min(self.tokens)),
                );
            }
            SkinnyPath::CooperativeMatrix(tiling) => {
                if let Some(coop) = gpu.coop_shape() {
                    params.insert("coop_shape".into(), json!(coop.name()));
                    params.insert(
                        "tokens_per_weight_read".into(),
                        json!(tiling.block(coop.size, self.tokens)[0].min(self.tokens)),
                    );
                }
            }
        }
        Ok(Measurement {
            params,
            samples,
            // 2 flops per weight per token.
            also: vec![AlsoReported {
                unit: "GFLOP/s",
                factor: 2.0 * tokens as f64 / self.format.bytes_per_weight(),
                inverse: false,
            }],
            check: format!(
                "{} (token, row) outputs of {} tokens x {} rows against an f64 CPU \
                 reference of the {}decoded weights, before and after timing: relative error \
                 {error:.1e} (bound {:.0e})",
                pairs.len(),
                checked_tokens.len(),
                rows_checked.len(),
                if matches!(path, SkinnyPath::CooperativeMatrix(_)) {
                    "f16-rounded x and "
                } else {
                    ""
                },
                check.bound
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of 1, 3 (one partial tile), 8 (one whole tile) and 19
    /// (three tiles, the last partial), with rows that leave the last
    /// workgroup partly empty, in every launch and format.
    #[test]
    fn small_batches_match_the_reference_in_every_format() {
        let gpu = crate::gpu::default_for_tests();
        let launches = Launch::every_one_on(&gpu);
        for format in [Format::F16, Format::Q8, Format::Q4] {
            for tokens in [1, 3, 8, 19] {
                for &launch in &launches {
                    let skinny = GemmSkinny {
                        format,
                        tokens,
                        rows: 70,
                        cols: 96,
                        path: None,
                        launch: Some(launch),
                    };
                    crate::workloads::assert_verifies(&gpu, &skinny, &format!("{launch:?}"));
                }
            }
        }
    }

    #[test]
    fn f32_weights_and_partial_blocks_are_unsupported() {
        let gpu = crate::gpu::default_for_tests();
        for (format, cols) in [(Format::F32, 64), (Format::F16, 48)] {
            let skinny = GemmSkinny {
                format,
                tokens: 4,
                rows: 8,
                cols,
                path: None,
                launch: None,
            };
            let error = skinny
                .run(&gpu, &SamplePlan::single(), &mut crate::measure::Unobserved)
                .unwrap_err();
            assert!(matches!(error, Error::Unsupported(_)), "{error}");
        }
    }

    /// Every cooperative-matrix tiling in every format, on a shape that
    /// cuts every edge: 37 tokens (a partial last tile, fewer than a
    /// workgroup's block), 37 outputs and 160 columns (not multiples of
    /// the tile, the block or the K slice). Then one tiling at 16 tokens
    /// (whole blocks of tokens, stored straight from the accumulators) and
    /// at 72 (more tiles than one workgroup holds at 8x8 tiles: the grid
    /// covers the tokens twice). Every output is checked, over poison.
    /// Few shapes, because lavapipe 26 takes 5 to 25 s to compile each
    /// kernel (the shader cache, warm, makes it milliseconds), and the
    /// batch sizes the kernel.
    fn every_coop_tiling_matches_the_reference(gpu: &Gpu) {
        let coop = gpu
            .coop_shape()
            .expect("an adapter with cooperative matrices");
        let mut cases: Vec<(Format, SkinnyTiling, u32)> = [Format::F16, Format::Q8, Format::Q4]
            .into_iter()
            .flat_map(|format| SKINNY_TILINGS.map(|tiling| (format, tiling, 37)))
            .collect();
        cases.extend([16, 72].map(|tokens| (Format::Q4, SKINNY_TILINGS[3], tokens)));
        for (format, tiling, tokens) in cases {
            if !tiling.fits(gpu, coop, tokens) {
                continue;
            }
            let skinny = GemmSkinny {
                format,
                tokens,
                rows: 37,
                cols: 160,
                path: Some(SkinnyPath::CooperativeMatrix(tiling)),
                launch: None,
            };
            crate::workloads::assert_verifies(gpu, &skinny, &tiling.name(coop.size, tokens));
        }
    }

    #[test]
    fn coop_tilings_match_the_reference_in_every_format_where_offered() {
        let gpu = crate::gpu::default_for_tests();
        if crate::gpu::coop::shape_for_tests(&gpu).is_some() {
            every_coop_tiling_matches_the_reference(&gpu);
        } else {
            // Mesa 22.3 offers none: the run takes the portable path, and
            // a forced tiling is refused, not run.
            assert_eq!(
                SkinnyPath::candidates(&gpu, Format::F16, 64),
                vec![SkinnyPath::Portable]
            );
            let skinny = GemmSkinny {
                format: Format::Q4,
                tokens: 16,
                rows: 8,
                cols: 64,
                path: Some(SkinnyPath::CooperativeMatrix(SKINNY_TILINGS[0])),
                launch: None,
            };
            let error = skinny
                .run(&gpu, &SamplePlan::single(), &mut crate::measure::Unobserved)
                .unwrap_err();
            assert!(matches!(error, Error::Unsupported(_)), "{error}");
        }
    }

    /// The run's own choice among the tilings and the portable kernel:
    /// every one tried is recorded, and the one kept passed its check.
    #[test]
    fn coop_run_keeps_the_fastest_verified_path() {
        let gpu = crate::gpu::default_for_tests();
        let has_coop = crate::gpu::coop::shape_for_tests(&gpu).is_some();
        let skinny = GemmSkinny {
            format: Format::Q4,
            tokens: 37,
            rows: 37,
            cols: 160,
            path: None,
            launch: None,
        };
        let measurement = skinny
            .run(&gpu, &SamplePlan::single(), &mut crate::measure::Unobserved)
            .unwrap_or_else(|e| panic!("{e}"));
        let tried = measurement.params["variants_tried"].as_array().unwrap();
        assert_eq!(tried.len() > 1, has_coop, "{tried:?}");
        assert!(measurement.params.get("variants_failed").is_none());
        let path = measurement.params["path"].as_str().unwrap();
        assert!(has_coop || path == "portable", "{path}");
    }

    #[test]
    fn coop_f32_weights_and_partial_blocks_are_unsupported() {
        let gpu = crate::gpu::default_for_tests();
        for (format, cols) in [(Format::F32, 64), (Format::F16, 48)] {
            let skinny = GemmSkinny {
                format,
                tokens: 16,
                rows: 8,
                cols,
                path: Some(SkinnyPath::CooperativeMatrix(SKINNY_TILINGS[0])),
                launch: None,
            };
            let error = skinny
                .run(&gpu, &SamplePlan::single(), &mut crate::measure::Unobserved)
                .unwrap_err();
            assert!(matches!(error, Error::Unsupported(_)), "{error}");
        }
    }

    #[test]
    fn tilings_cover_the_batch_in_one_workgroup_where_they_can() {
        let narrow = SKINNY_TILINGS[0];
        // 64 tokens at 16x16: four subgroups of one tile each.
        assert_eq!(narrow.token_layout(16, 64), [4, 1]);
        assert_eq!(narrow.block(16, 64), [64, 16]);
        // 16 tokens: one subgroup, not four over padding.
        assert_eq!(narrow.token_layout(16, 16), [1, 1]);
        // 256 tokens: the whole batch, four tiles a subgroup.
        assert_eq!(narrow.block(16, 256), [256, 16]);
        // Two tiles of outputs a subgroup halve the tiles of tokens.
        assert_eq!(SKINNY_TILINGS[4].token_layout(16, 256), [2, 4]);
        assert_eq!(
            narrow.name(16, 64),
            "64x16 blocks (tokens x outputs), 4x1 subgroups of 1x1 tiles 16x16x16, \
             K slices of 64"
        );
        // x's 64 rows and W's 16 of 72 halves, and four f32 tiles.
        assert_eq!(narrow.workgroup_bytes(16, 64), 80 * 72 * 2 + 4 * 256 * 4);
    }

    /// Cooperative matrices need a driver CI's default lavapipe lacks, so
    /// every tiling in every format, at both tile sizes and at batches that
    /// size the workgroup differently, is also taken to SPIR-V in the naga
    /// wgpu compiles it with.
    #[test]
    fn cooperative_matrix_shaders_translate_to_spirv() {
        for size in [8, 16] {
            let coop = CoopShape { size };
            for tiling in SKINNY_TILINGS {
                for format in [Format::F16, Format::Q8, Format::Q4] {
                    for tokens in [17, 256] {
                        let wgsl = tiling.shader(coop, 32, tokens, format);
                        let context = format!("{format:?} {}", tiling.name(size, tokens));
                        crate::gpu::coop::assert_translates_to_spirv(&wgsl, &context);
                    }
                }
            }
        }
    }
}
