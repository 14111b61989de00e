//! `gemv-f32`, `gemv-f16`, `gemv-q8`, `gemv-q4`: one token's matrix-vector
//! product at LLM shapes, in the weight formats inference servers use. The
//! figure is GB/s of weights (and scales) read; GFLOP/s is reported beside.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::Result;
use crate::gpu::{Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};

/// How the weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    F32,
    F16,
    /// llama.cpp's Q8_0: 32 int8 and one f16 scale per block.
    Q8,
    /// llama.cpp's Q4_0: 32 4-bit values and one f16 scale per block.
    Q4,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::F32 => "gemv-f32",
            Format::F16 => "gemv-f16",
            Format::Q8 => "gemv-q8",
            Format::Q4 => "gemv-q4",
        }
    }

    /// This format's file alone: its bindings, `row_partial`,
    /// `block_weights` and `block_scale`, for a shader that declares
    /// `shape`, `x` and `THREADS_PER_ROW` (gemv_common or gemm_skinny.wgsl).
    pub(super) fn body(self) -> &'static str {
        match self {
            Format::F32 => include_str!("../../shaders/gemv_f32.wgsl"),
            Format::F16 => concat!(
                include_str!("../../shaders/gemv_block.wgsl"),
                include_str!("../../shaders/gemv_f16.wgsl")
            ),
            Format::Q8 => concat!(
                include_str!("../../shaders/gemv_block.wgsl"),
                include_str!("../../shaders/gemv_q8.wgsl")
            ),
            Format::Q4 => concat!(
                include_str!("../../shaders/gemv_block.wgsl"),
                include_str!("../../shaders/gemv_q4.wgsl")
            ),
        }
    }

    /// The GEMV's bindings, then this format's file: for the entry points
    /// of gemv_lanes.wgsl and gemv_broadcast.wgsl.
    fn shader(self) -> String {
        [COMMON, self.body()].concat()
    }

    /// The subgroup GEMV (gemv_subgroup.wgsl) with this format's chunks.
    fn subgroup_shader(self) -> String {
        let chunks = match self {
            Format::F32 => include_str!("../../shaders/gemv_subgroup_f32.wgsl"),
            Format::F16 => include_str!("../../shaders/gemv_subgroup_f16.wgsl"),
            Format::Q8 => include_str!("../../shaders/gemv_subgroup_q8.wgsl"),
            Format::Q4 => include_str!("../../shaders/gemv_subgroup_q4.wgsl"),
        };
        [
            COMMON,
            include_str!("../../shaders/gemv_block.wgsl"),
            chunks,
            include_str!("../../shaders/gemv_subgroup.wgsl"),
        ]
        .concat()
    }

    /// Columns in one 16-byte chunk of a row, what a lane of the subgroup
    /// GEMV reads per step: the subgroup kernels need whole chunks.
    fn chunk_cols(self) -> u32 {
        match self {
            Format::F32 => 4,
            Format::F16 => 8,
            Format::Q8 => 16,
            Format::Q4 => 32,
        }
    }

    /// The name `--weights`, shapes and result files use.
    pub fn weights_name(self) -> &'static str {
        match self {
            Format::F16 => "f16",
            Format::Q8 => "q8",
            Format::Q4 => "q4",
            Format::F32 => "f32",
        }
    }

    /// Bytes of the largest buffer `weights` weights take (the quants
    /// of a quantised matrix, its scales being smaller).
    pub(super) fn largest_buffer(self, weights: usize) -> usize {
        match self {
            Format::F32 => weights * 4,
            Format::F16 => weights * 2,
            Format::Q8 => weights,
            Format::Q4 => weights / 2,
        }
    }

    /// Bytes of weights and scales per weight.
    pub(super) fn bytes_per_weight(self) -> f64 {
        match self {
            Format::F32 => 4.0,
            Format::F16 => 2.0,
            Format::Q8 => 34.0 / 32.0,
            Format::Q4 => 18.0 / 32.0,
        }
    }
}

/// Weights as the GPU reads them, and as the CPU reference sees them.
pub(super) struct Weights {
    /// The buffers after the shape, x and y: weights, then scales if any.
    pub buffers: Vec<Vec<u32>>,
    /// Every weight as the kernel will decode it.
    pub decoded: Vec<f32>,
}

/// Quantises one block of 32 weights as ggml's `quantize_row_q8_0` does.
pub fn quantize_q8(block: &[f32]) -> (f16, [i8; 32]) {
    let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = std::array::from_fn(|i| (block[i] * id).round() as i8);
    (f16::from_f32(d), q)
}

/// Quantises one block of 32 weights as ggml's `quantize_row_q4_0` does:
/// nibble j of the result is weight j; 8 stands for zero.
pub fn quantize_q4(block: &[f32]) -> (f16, [u8; 32]) {
    let max = block
        .iter()
        .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = std::array::from_fn(|i| ((block[i] * id + 8.5) as i8).clamp(0, 15) as u8);
    (f16::from_f32(d), q)
}

fn pack_scales(scales: &[f16]) -> Vec<u32> {
    scales
        .chunks(2)
        .map(|pair| {
            let low = u32::from(pair[0].to_bits());
            let high = pair.get(1).map_or(0, |h| u32::from(h.to_bits()));
            low | high << 16
        })
        .collect()
}

/// `values` in `format`, and as the kernels decode them.
pub(super) fn encode(format: Format, values: &[f32]) -> Weights {
    match format {
        Format::F32 => Weights {
            buffers: vec![bytemuck::cast_slice(values).to_vec()],
            decoded: values.to_vec(),
        },
        Format::F16 => {
            let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
            Weights {
                buffers: vec![bytemuck::pod_collect_to_vec(&halves)],
                decoded: halves.iter().map(|h| h.to_f32()).collect(),
            }
        }
        Format::Q8 => {
            let (mut quants, mut scales, mut decoded) = (Vec::new(), Vec::new(), Vec::new());
            for block in values.chunks(32) {
                let (d, q) = quantize_q8(block);
                quants.extend(q.iter().map(|&v| v as u8));
                scales.push(d);
                decoded.extend(q.iter().map(|&v| d.to_f32() * f32::from(v)));
            }
            Weights {
                buffers: vec![bytemuck::pod_collect_to_vec(&quants), pack_scales(&scales)],
                decoded,
            }
        }
        Format::Q4 => {
            let (mut quants, mut scales, mut decoded) = (Vec::new(), Vec::new(), Vec::new());
            for block in values.chunks(32) {
                let (d, q) = quantize_q4(block);
                quants.extend((0..16).map(|j| q[j] | q[j + 16] << 4));
                scales.push(d);
                decoded.extend(q.iter().map(|&v| d.to_f32() * (f32::from(v) - 8.0)));
            }
            Weights {
                buffers: vec![bytemuck::pod_collect_to_vec(&quants), pack_scales(&scales)],
                decoded,
            }
        }
    }
}

/// Row `row` of `decoded` (rows of `x_row.len()` weights) dotted with
/// `x_row`, in f64: the GEMV's and the skinny GEMM's reference.
pub(super) fn reference_dot(decoded: &[f32], row: usize, x_row: &[f32]) -> f64 {
    let cols = x_row.len();
    decoded[row * cols..(row + 1) * cols]
        .iter()
        .zip(x_row)
        .map(|(&w, &v)| f64::from(w) * f64::from(v))
        .sum()
}

const COMMON: &str = include_str!("../../shaders/gemv_common.wgsl");
const LANES: &str = include_str!("../../shaders/gemv_lanes.wgsl");
const BROADCAST: &str = include_str!("../../shaders/gemv_broadcast.wgsl");

/// How a GEMV kernel spreads rows over lanes (gemv_lanes.wgsl and
/// gemv_broadcast.wgsl; the skinny GEMM launches the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    /// Lanes that split each row (a power of two up to 64).
    pub threads_per_row: u32,
    /// One lane per row, the lanes of a subgroup sharing x through
    /// subgroupBroadcast (gemv_broadcast.wgsl).
    pub shares_x: bool,
}

impl Launch {
    /// On GPUs a warp's worth of lanes per row. On CPU adapters one lane per
    /// row (measured on lavapipe, gemv-f16: 1 lane 3.4 GB/s, 8 lanes 2.9, 64
    /// lanes 1.8), sharing x where subgroups are 8 wide and rows are whole
    /// blocks of 32 (gemv-f16 5.5 -> 9.7 GB/s).
    pub fn best_for(gpu: &Gpu, cols: u32) -> Launch {
        let summary = &gpu.summary;
        if summary.device_type != crate::results::DeviceType::Cpu {
            return Launch {
                threads_per_row: 32,
                shares_x: false,
            };
        }
        Launch {
            threads_per_row: 1,
            shares_x: Launch::can_share_x(gpu, cols),
        }
    }

    /// Whether the broadcast kernel runs here: 8-wide subgroups (it hands
    /// x's block of 32 out as eight vec4, one a lane) and whole blocks.
    fn can_share_x(gpu: &Gpu, cols: u32) -> bool {
        Launch::shares_x_on(gpu) && cols.is_multiple_of(32)
    }

    fn shares_x_on(gpu: &Gpu) -> bool {
        gpu.summary.subgroups && gpu.summary.subgroup_sizes == [8, 8]
    }

    /// Every launch `gpu` can run: GPUs' (many lanes a row), CPUs' (one),
    /// and sharing x where subgroups are 8 wide (for rows of whole blocks).
    pub(super) fn every_one_on(gpu: &Gpu) -> Vec<Launch> {
        let one_lane = |shares_x| Launch {
            threads_per_row: 1,
            shares_x,
        };
        let mut launches = vec![
            Launch {
                threads_per_row: 32,
                shares_x: false,
            },
            one_lane(false),
        ];
        if Launch::shares_x_on(gpu) {
            launches.push(one_lane(true));
        }
        launches
    }
}

/// Rows per workgroup the subgroup GEMV is offered with: each lane reuses
/// its x loads across them.
const SUBGROUP_ROWS: [u32; 3] = [1, 2, 4];

/// Subgroups per workgroup the subgroup GEMV is offered with.
const SUBGROUPS_PER_WORKGROUP: [u32; 2] = [1, 4];

/// One way to run the GEMV: the family's variants (docs/kernels.md, "GEMV
/// variants"). [`gemv_variants`] lists those an adapter can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemvVariant {
    /// Today's kernels, shaped on lavapipe: lanes per row reducing through
    /// workgroup memory, one lane per row, or one lane per row sharing x
    /// by subgroupBroadcast.
    Lanes(Launch),
    /// The GPU shape (gemv_subgroup.wgsl): a workgroup of `subgroups`
    /// subgroups owns `rows` rows; each lane reads 16 bytes of weights per
    /// step, neighbouring lanes neighbouring chunks of a row, and the rows
    /// are reduced by subgroupAdd.
    Subgroup { rows: u32, subgroups: u32 },
}

impl GemvVariant {
    /// The name results record (`params.variant`): the kernel's shape.
    pub fn name(self) -> String {
        let plural = |n: u32| if n == 1 { "" } else { "s" };
        match self {
            GemvVariant::Lanes(Launch { shares_x: true, .. }) => {
                "1 lane/row, x shared by subgroupBroadcast".into()
            }
            GemvVariant::Lanes(Launch {
                threads_per_row: 1, ..
            }) => "1 lane/row".into(),
            GemvVariant::Lanes(Launch {
                threads_per_row, ..
            }) => format!("{threads_per_row} lanes/row, workgroup-memory reduction"),
            GemvVariant::Subgroup { rows, subgroups } => format!(
                "subgroup, {rows} row{}/workgroup, {subgroups} subgroup{}, vec4 weights, \
                 subgroupAdd",
                plural(rows),
                plural(subgroups)
            ),
        }
    }
}

/// Whether the subgroup GEMV runs on `gpu`: subgroups of at least 4 lanes
/// (lane r stores row r), and its largest workgroup, 4 subgroups of the
/// widest size, within the adapter's limit and holding at most 64
/// subgroups (its workgroup array).
fn runs_subgroup_gemv(gpu: &Gpu) -> bool {
    let summary = &gpu.summary;
    let [narrowest, widest] = summary.subgroup_sizes;
    let largest = SUBGROUPS_PER_WORKGROUP[1] * widest;
    summary.subgroups
        && narrowest >= 4
        && largest <= summary.limits.max_compute_invocations_per_workgroup
        && largest / narrowest <= 64
}

/// The GEMV variants `gpu` can run for a `rows` x `cols` matrix in
/// `format`, the default first ([`Launch::best_for`] the adapter: what
/// `--tune off` and [`gemv_kernel`] run). Subgroup variants need
/// subgroups and whole 16-byte chunks per row; rows per workgroup beyond
/// the matrix's rows are left out.
pub fn gemv_variants(gpu: &Gpu, format: Format, [rows, cols]: [u32; 2]) -> Vec<GemvVariant> {
    let default = Launch::best_for(gpu, cols);
    let mut variants = vec![GemvVariant::Lanes(default)];
    for launch in Launch::every_one_on(gpu) {
        if launch != default && (!launch.shares_x || Launch::can_share_x(gpu, cols)) {
            variants.push(GemvVariant::Lanes(launch));
        }
    }
    if runs_subgroup_gemv(gpu) && cols.is_multiple_of(format.chunk_cols()) {
        for subgroups in SUBGROUPS_PER_WORKGROUP {
            for rows_per_workgroup in SUBGROUP_ROWS {
                if rows_per_workgroup == 1 || rows_per_workgroup <= rows {
                    variants.push(GemvVariant::Subgroup {
                        rows: rows_per_workgroup,
                        subgroups,
                    });
                }
            }
        }
    }
    variants
}

/// The kernel computing `y = W x` for a `rows` x `cols` matrix in `format`
/// (`weights`: the format's buffers, as [`Format`] lays them out), and its
/// workgroup grid, launched the default way for the adapter. Also used by
/// the LLM layer and the skinny GEMM.
pub fn gemv_kernel(
    gpu: &Gpu,
    format: Format,
    [rows, cols]: [u32; 2],
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    let default = GemvVariant::Lanes(Launch::best_for(gpu, cols));
    variant_kernel(gpu, format, [rows, cols], default, x, y, weights)
}

/// [`gemv_kernel`] as `variant` (one of [`gemv_variants`] for this
/// adapter, format and shape).
pub fn variant_kernel(
    gpu: &Gpu,
    format: Format,
    [rows, cols]: [u32; 2],
    variant: GemvVariant,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    let shape = gpu.upload("gemv shape", &[rows, cols]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weights.iter());
    let (kernel, rows_per_group) = match variant {
        GemvVariant::Lanes(launch) => {
            let workgroup_size = 64;
            let (wgsl, entry) = if launch.shares_x {
                (format.shader() + BROADCAST, "main_broadcast")
            } else {
                (format.shader() + LANES, "main")
            };
            let kernel = gpu.kernel(
                format.name(),
                &wgsl,
                entry,
                &[
                    ("WORKGROUP_SIZE", f64::from(workgroup_size)),
                    ("THREADS_PER_ROW", f64::from(launch.threads_per_row)),
                ],
                &bindings,
            )?;
            (kernel, workgroup_size / launch.threads_per_row)
        }
        GemvVariant::Subgroup {
            rows: rows_per_workgroup,
            subgroups,
        } => {
            let [narrowest, widest] = gpu.summary.subgroup_sizes;
            // Sized for the widest subgroups; only a single subgroup of a
            // fixed size needs no combining through workgroup memory.
            let one_subgroup = subgroups == 1 && narrowest == widest;
            let kernel = gpu.kernel(
                format.name(),
                &format.subgroup_shader(),
                "main_subgroup",
                &[
                    ("WORKGROUP_SIZE", f64::from(subgroups * widest)),
                    ("ROWS_PER_WORKGROUP", f64::from(rows_per_workgroup)),
                    ("COMBINE", if one_subgroup { 0.0 } else { 1.0 }),
                ],
                &bindings,
            )?;
            (kernel, rows_per_workgroup)
        }
    };
    let workgroups = gpu.workgroup_grid(u64::from(rows.div_ceil(rows_per_group)));
    Ok((kernel, workgroups))
}

/// The CPU reference decodes exactly the weights the GPU reads, so the only
/// difference is the order of f32 additions over `cols` terms.
const BOUND: f64 = 1e-4;

/// One GEMV workload at one shape.
#[derive(Debug, Clone)]
pub struct Gemv {
    pub format: Format,
    pub rows: u32,
    pub cols: u32,
    /// None: every one of [`gemv_variants`], tuned. Tests pin each one.
    pub variant: Option<GemvVariant>,
}

impl Gemv {
    /// `run --quick`'s shape: 1024 x 1024.
    pub fn quick(format: Format) -> Gemv {
        Gemv {
            format,
            rows: 1024,
            cols: 1024,
            variant: None,
        }
    }

    /// The LLM shapes of the issue: 4096x4096 (attention projections) and
    /// 14336x4096 (Llama 3 8B's feed-forward).
    pub fn at_llm_shapes(format: Format) -> Vec<Gemv> {
        [(4096, 4096), (14336, 4096)]
            .into_iter()
            .map(|(rows, cols)| Gemv {
                format,
                rows,
                cols,
                variant: None,
            })
            .collect()
    }
}

impl Workload for Gemv {
    fn name(&self) -> &'static str {
        self.format.name()
    }

    fn description(&self) -> &'static str {
        "one token's matrix-vector product (GB/s of weights read)"
    }

    fn unit(&self) -> Unit {
        Unit::GigabytesPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!("{}x{}", self.rows, self.cols))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let (rows, cols) = (self.rows as usize, self.cols as usize);
        let weight_bytes = (rows * cols) as f64 * self.format.bytes_per_weight();
        let largest = self.format.largest_buffer(rows * cols);
        gpu.check_fits(&format!("{} at {rows}x{cols}", self.name()), largest as u64)?;

        let values = random_f32(10 + rows as u64, rows * cols);
        let x = random_f32(11, cols);
        let weights = encode(self.format, &values);
        drop(values);
        let x_buffer = gpu.upload("gemv x", &x);
        let y = gpu.output("gemv y", rows as u64 * 4);
        let weight_buffers: Vec<wgpu::Buffer> = weights
            .buffers
            .iter()
            .map(|data| gpu.upload("gemv weights", data))
            .collect();
        let variants = match self.variant {
            Some(variant) => vec![variant],
            None => gemv_variants(gpu, self.format, [self.rows, self.cols]),
        };
        let kernels = variants
            .iter()
            .map(|&variant| {
                variant_kernel(
                    gpu,
                    self.format,
                    [self.rows, self.cols],
                    variant,
                    &x_buffer,
                    &y,
                    &weight_buffers,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mut candidates: Vec<_> = kernels
            .iter()
            .map(|(kernel, workgroups)| (kernel.dispatch(*workgroups), weight_bytes))
            .collect();
        // Every row up to 4096 rows; a spread sample of larger matrices.
        let checked: Vec<usize> = (0..rows).step_by(rows.div_ceil(4096)).collect();
        let expected: Vec<f64> = checked
            .iter()
            .map(|&r| reference_dot(&weights.decoded, r, &x))
            .collect();
        let check = OutputCheck {
            workload: self.name(),
            output: &y,
            ranges: checked.iter().map(|&r| r..r + 1).collect(),
            expected: &expected,
            bound: BOUND,
        };
        let tuned = tuning::choose(gpu, plan, &candidates, |i| check.run(gpu, &candidates[i].0))?;
        let (dispatch, _) = candidates.swap_remove(tuned.index);
        let (samples, error) = sample_checked(gpu, dispatch, weight_bytes, plan, observer, &check)?;
        let mut params = serde_json::Map::new();
        params.insert("rows".into(), json!(self.rows));
        params.insert("cols".into(), json!(self.cols));
        let names: Vec<String> = variants.iter().map(|v| v.name()).collect();
        tuned.record(&mut params, &names, self.unit());
        Ok(Measurement {
            params,
            samples,
            // 2 flops per weight: GFLOP/s = GB/s * 2 / bytes per weight.
            also: vec![AlsoReported {
                unit: "GFLOP/s",
                factor: 2.0 / self.format.bytes_per_weight(),
                inverse: false,
            }],
            check: format!(
                "{} of {rows} rows against an f64 CPU reference of the decoded weights, \
                 before and after timing: relative error {error:.1e} (bound {BOUND:.0e})",
                checked.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_blocks_round_trip_within_half_a_step() {
        let block = random_f32(3, 32);
        let (d, q) = quantize_q8(&block);
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((d.to_f32() - amax / 127.0).abs() < 1e-3);
        for (v, q) in block.iter().zip(q) {
            assert!((v - d.to_f32() * f32::from(q)).abs() <= d.to_f32() * 0.51);
        }
    }

    #[test]
    fn q4_follows_ggml() {
        // The largest magnitude is -2: d = -2 / -8 = 0.25, and -2 maps to 0.
        let mut block = [0.0f32; 32];
        block[0] = -2.0;
        block[1] = 1.0;
        block[2] = 0.1;
        let (d, q) = quantize_q4(&block);
        assert_eq!(d.to_f32(), 0.25);
        assert_eq!(q[0], 0);
        assert_eq!(q[1], 12); // 1 / 0.25 + 8
        assert_eq!(q[2], 8); // rounds to zero
        assert_eq!(q[3], 8);
    }

    #[test]
    fn q4_packs_weight_j_low_and_j_plus_16_high() {
        let values: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) / 4.0).collect();
        let packed = encode(Format::Q4, &values);
        let bytes: &[u8] = bytemuck::cast_slice(&packed.buffers[0]);
        let (_, q) = quantize_q4(&values);
        assert_eq!(bytes[0] & 15, q[0]);
        assert_eq!(bytes[0] >> 4, q[16]);
        assert_eq!(bytes[15] >> 4, q[31]);
        assert_eq!(packed.decoded.len(), 32);
    }

    /// Every variant the adapter runs against the reference, every row
    /// checked, with the weights and x uploaded once for all of them.
    fn assert_every_variant_verifies(gpu: &Gpu, format: Format, [rows, cols]: [u32; 2]) {
        let values = random_f32(30 + u64::from(rows), (rows * cols) as usize);
        let x = random_f32(31, cols as usize);
        let weights = encode(format, &values);
        let x_buffer = gpu.upload("gemv x", &x);
        let y = gpu.output("gemv y", u64::from(rows) * 4);
        let weight_buffers: Vec<wgpu::Buffer> = weights
            .buffers
            .iter()
            .map(|data| gpu.upload("gemv weights", data))
            .collect();
        let expected: Vec<f64> = (0..rows as usize)
            .map(|r| reference_dot(&weights.decoded, r, &x))
            .collect();
        let check = OutputCheck {
            workload: format.name(),
            output: &y,
            ranges: (0..rows as usize).map(|r| r..r + 1).collect(),
            expected: &expected,
            bound: BOUND,
        };
        for variant in gemv_variants(gpu, format, [rows, cols]) {
            let context = format!("{} {rows}x{cols} {}", format.name(), variant.name());
            let (kernel, workgroups) = variant_kernel(
                gpu,
                format,
                [rows, cols],
                variant,
                &x_buffer,
                &y,
                &weight_buffers,
            )
            .unwrap_or_else(|e| panic!("{context}: {e}"));
            if let Err(e) = check.run(gpu, &kernel.dispatch(workgroups)) {
                panic!("{context}: {e}");
            }
        }
    }

    /// Small shapes, every row checked, in every variant: a single block
    /// (one row: one row per workgroup only), row counts that leave the
    /// last workgroup partly empty (70 and 129 rows against 2 and 4 rows
    /// per workgroup, 64 rows per workgroup of lanes), an odd number of
    /// blocks per row (scales straddling words; 6 chunks of Q8, fewer than
    /// a workgroup's lanes) and rows longer than a workgroup's stride. f32
    /// and f16 also take rows that are not whole blocks (36 columns: f32's
    /// subgroup chunks of 4 fit, f16's of 8 do not, and no broadcast).
    #[test]
    fn small_shapes_match_the_reference_in_every_format() {
        let gpu = crate::gpu::default_for_tests();
        if gpu.summary.subgroups {
            let variants = gemv_variants(&gpu, Format::Q4, [129, 1024]);
            let subgroup = |v: &&GemvVariant| matches!(v, GemvVariant::Subgroup { .. });
            assert_eq!(variants.iter().filter(subgroup).count(), 6, "{variants:?}");
        }
        for format in [Format::F32, Format::F16, Format::Q8, Format::Q4] {
            for shape in [[1, 32], [70, 96], [129, 1024]] {
                assert_every_variant_verifies(&gpu, format, shape);
            }
        }
        for format in [Format::F32, Format::F16] {
            assert_every_variant_verifies(&gpu, format, [5, 36]);
        }
    }

    /// A tuned run probes every candidate, records each by name, and keeps
    /// one whose check passed.
    #[test]
    fn a_run_records_every_variant_tried_and_keeps_a_verified_one() {
        let gpu = crate::gpu::default_for_tests();
        let gemv = Gemv {
            format: Format::Q4,
            rows: 70,
            cols: 96,
            variant: None,
        };
        let measurement = gemv
            .run(
                &gpu,
                &tuning::tuning_plan(),
                &mut crate::measure::Unobserved,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = gemv_variants(&gpu, gemv.format, [70, 96])
            .iter()
            .map(|v| v.name())
            .collect();
        let tried = measurement.params["variants_tried"].as_array().unwrap();
        let tried_names: Vec<&str> = tried
            .iter()
            .map(|t| t["variant"].as_str().unwrap())
            .collect();
        assert_eq!(tried_names, names);
        assert!(tried.iter().all(|t| t["probe"].as_f64().unwrap() > 0.0));
        assert!(measurement.params.get("variants_failed").is_none());
        let chosen = measurement.params["variant"].as_str().unwrap();
        assert!(names.iter().any(|n| n == chosen), "{chosen}");
    }

    #[test]
    fn scales_pack_two_to_a_word() {
        let packed = pack_scales(&[f16::from_f32(1.0), f16::from_f32(-2.0), f16::from_f32(0.5)]);
        assert_eq!(packed, [0xc000_3c00, 0x0000_3800]);
    }
}
