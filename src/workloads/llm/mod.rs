//! `llm-decode` and `llm-prefill`: whole decoder layers of a Llama-shaped
//! model built from the kernels of the other workloads (RMSNorm, the QKV
//! projection, rotary embedding, attention over the KV cache, the output
//! projection, RMSNorm, the gated SiLU feed-forward), at a preset's real
//! dimensions with f16, Q8_0 or Q4_0 weights. Tokens per second for the
//! whole model = one token's (or one prompt's) pass through every layer
//! plus the final norm and the LM head.
//!
//! Decode runs one step of a batch of sequences, as a server does: one
//! token for each, every weight read once for all of them (the skinny GEMM
//! kernels; the GEMV at batch 1), each sequence attending to its own KV
//! cache, whose lengths spread around `context`. Prefill runs a prompt of
//! `prompt` tokens with the GEMM kernels (quantised weights are dequantised to f16 before each GEMM, and
//! that is timed too). Two distinct layers are run (each with its own
//! weights, so the second does not find the first's in cache) and their
//! time is scaled to the model's layer count: the layers are identical in
//! shape, so the scaling is exact but for cache effects.

mod reference;
pub mod weights;

use serde_json::json;

use self::weights::{Layout, Matrix, OPS, Stream};
use super::attention::{self, CachedSequence, DecodeVariant, Phase};
use super::check::{random_f32, verify};
use super::gemm::{self, Path, Precision};
use super::gemm_skinny::{
    COOP_FROM_TOKENS, SKINNY_TILINGS, SkinnyPath, SkinnyTiling, skinny_kernel,
};
use super::gemv::{self, Format, GemvVariant};
use super::rows::{self, RowOp};
use super::timing::sample_kernel;
use super::tuning;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu, Kernel};
use crate::measure::{MeasuringOnly, Observer, Sample, SamplePlan};
use crate::results::MS_PER_TOKEN;
use crate::{Error, Result};

/// Weight-token products the CPU reference computes when it runs every
/// layer run (at most): the tiny preset's decode (3M weights a layer, 3
/// checked tokens), not its prefill (64 tokens: seconds a layer in a test
/// build) nor a real model's layers (218M weights each).
const CPU_CHECKED_PRODUCTS: usize = 64 << 20;
/// The small kernels fused into one pass each (params' `fused`).
const FUSED: [&str; 2] = [
    "residual add + the RMSNorm after it (the FFN's, the next layer's, the final)",
    "rotary embedding of K + its store in the KV cache (f16)",
];
/// Llama 3's rotary base.
const ROPE_THETA: f64 = 500_000.0;
const DIM: usize = 128;
const KV_HEADS: usize = 8;
/// Logits checked against the CPU.
const CHECKED_LOGITS: usize = 64;

/// A layer's output is the input plus two projections, all f32 sums of
/// up to 28672 terms, through f16 keys and values both sides round alike
/// (but for the few a last-bit difference rounds the other way): errors
/// near 1e-6 were seen on lavapipe in decode, 5e-5 in prefill (whose keys
/// and values are all computed). Each layer adds its own to the residual
/// stream: the bound after n layers is n times this (1.3e-4 was seen after
/// the tiny preset's 2 layers in prefill, 2.1e-4 after 3).
const BOUND: f64 = 1e-4;
/// The same on cooperative matrices, whose products read the activations
/// rounded to f16 (as llama.cpp's do): a unit roundoff of 4.9e-4 on each
/// input of every product; 7.7e-4 was seen on lavapipe 26.
const COOP_BOUND: f64 = 3e-3;

impl LayerKernels {
    /// The skinny GEMM's path: decode's products and the LM head.
    fn skinny(self) -> SkinnyPath {
        match self {
            LayerKernels::CooperativeDecode(tiling, _) => SkinnyPath::CooperativeMatrix(tiling),
            _ => SkinnyPath::Portable,
        }
    }

    /// The check's bound for a layer on these kernels.
    fn bound(self) -> f64 {
        match self {
            LayerKernels::Portable => BOUND,
            LayerKernels::CooperativeMatrix(..) | LayerKernels::CooperativeDecode(..) => COOP_BOUND,
        }
    }
}

/// A model's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub hidden: usize,
    pub ffn: usize,
    pub layers: usize,
    pub heads: usize,
    pub vocab: usize,
    /// Tokens in the KV cache before the decoded token, by default.
    pub context: usize,
    /// Tokens in a prefill prompt.
    pub prompt: usize,
}

/// The presets `--preset` names. All have 8 KV heads of dimension 128.
pub const PRESETS: [Preset; 3] = [
    Preset {
        name: "llama3-8b",
        hidden: 4096,
        ffn: 14336,
        layers: 32,
        heads: 32,
        vocab: 128_256,
        context: 4096,
        prompt: 512,
    },
    Preset {
        name: "llama3-70b",
        hidden: 8192,
        ffn: 28672,
        layers: 80,
        heads: 64,
        vocab: 128_256,
        context: 4096,
        prompt: 512,
    },
    // Small enough for the CPU to check everything; 32 heads because the
    // attention kernels take query heads four at a time per KV head.
    Preset {
        name: "tiny",
        hidden: 256,
        ffn: 512,
        layers: 2,
        heads: 32,
        vocab: 1024,
        context: 100,
        prompt: 64,
    },
];

impl Preset {
    /// The preset called `name`, or a usage error listing them.
    pub fn named(name: &str) -> Result<Preset> {
        PRESETS
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| {
                let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                Error::usage(format!(
                    "unknown preset '{name}'; presets: {}",
                    names.join(", ")
                ))
            })
    }
}

/// Parses `--weights`.
pub fn parse_weights(name: &str) -> Result<Format> {
    [Format::F16, Format::Q8, Format::Q4]
        .into_iter()
        .find(|f| f.weights_name() == name)
        .ok_or_else(|| Error::usage(format!("unknown weight format '{name}'; use f16, q8 or q4")))
}

/// One layer's weights: matrices (rows = outputs) and norm weights.
pub struct Layer {
    pub heads: usize,
    pub wq: Matrix,
    pub wk: Matrix,
    pub wv: Matrix,
    pub wo: Matrix,
    pub wg: Matrix,
    pub wu: Matrix,
    pub wd: Matrix,
    pub attention_norm: Vec<f32>,
    pub ffn_norm: Vec<f32>,
}

impl Layer {
    fn new(preset: &Preset, format: Format, layout: Layout, index: usize) -> Layer {
        let seed = 1000 * (index as u32 + 1);
        let matrix = |rows, cols, n| Matrix {
            rows,
            cols,
            format,
            layout,
            seed: seed + n,
        };
        let (hidden, ffn, q) = (preset.hidden, preset.ffn, preset.heads * DIM);
        let norm = |s| {
            random_f32(s, hidden)
                .iter()
                .map(|v| 1.0 + 0.1 * v)
                .collect()
        };
        Layer {
            heads: preset.heads,
            wq: matrix(q, hidden, 1),
            wk: matrix(KV_HEADS * DIM, hidden, 2),
            wv: matrix(KV_HEADS * DIM, hidden, 3),
            wo: matrix(hidden, q, 4),
            wg: matrix(ffn, hidden, 5),
            wu: matrix(ffn, hidden, 6),
            wd: matrix(hidden, ffn, 7),
            attention_norm: norm(u64::from(seed) + 8),
            ffn_norm: norm(u64::from(seed) + 9),
        }
    }

    fn matrices(&self) -> [&Matrix; 7] {
        [
            &self.wq, &self.wk, &self.wv, &self.wo, &self.wg, &self.wu, &self.wd,
        ]
    }
}

/// The workload: a phase of one preset with one weight format; decode at
/// one batch size.
#[derive(Debug, Clone)]
pub struct Llm {
    pub phase: Phase,
    pub preset: Preset,
    pub weights: Format,
    /// Sequences decoded together (prefill runs one prompt: 1).
    pub batch: Batch,
    /// Decode: tokens in each sequence's KV cache, around which the
    /// sequences' own lengths spread.
    pub context: usize,
}

/// `run --batch`'s default: one user, and the batches of a light and a
/// busy server.
pub const DEFAULT_BATCHES: [usize; 3] = [1, 16, 64];

/// Parses `--batch`: a comma-separated list of batch sizes (1 to
/// 4096), or `max` for the largest that fits.
pub fn parse_batches(list: &str) -> Result<Vec<Batch>> {
    let mut batches = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let batch = if item.eq_ignore_ascii_case("max") {
            Batch::Largest {
                up_to: LARGEST_BATCH,
            }
        } else {
            match item.parse::<usize>() {
                Ok(n) if (1..=LARGEST_BATCH).contains(&n) => Batch::Sequences(n),
                _ => {
                    return Err(Error::usage(format!(
                        "--batch: '{item}' is not a batch size from 1 to {LARGEST_BATCH} or max"
                    )));
                }
            }
        };
        if !batches.contains(&batch) {
            batches.push(batch);
        }
    }
    if batches.is_empty() {
        return Err(Error::usage(
            "--batch needs at least one batch size, e.g. 1,16,64",
        ));
    }
    Ok(batches)
}

/// How many sequences decode runs together (`run --batch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Sequences(usize),
    /// The largest batch whose weights and KV caches fit the adapter, up
    /// to `up_to` ([`LARGEST_BATCH`]; [`QUICK_LARGEST_BATCH`] under
    /// `--quick`).
    Largest {
        up_to: usize,
    },
}

/// The tokens one timed pass runs, and each one's place in its sequence
/// and in the KV cache buffers (one per layer for K and for V, shared by
/// every sequence of the batch).
struct Pass {
    tokens: usize,
    /// Each token's position in its sequence: its rotary angle.
    positions: Vec<usize>,
    /// Each token's row (of 8 x 128 halves) in the cache buffers.
    slots: Vec<u32>,
    /// The sequences as attention sees them, new tokens included.
    sequences: Vec<CachedSequence>,
    /// Rows of each cache buffer.
    cache_rows: usize,
}

impl Pass {
    /// One token for each of `batch` sequences, with `contexts(batch,
    /// context)` tokens already cached, each sequence after the other in
    /// the cache buffers.
    fn decode(batch: usize, context: usize) -> Pass {
        let mut pass = Pass {
            tokens: batch,
            positions: Vec::new(),
            slots: Vec::new(),
            sequences: Vec::new(),
            cache_rows: 0,
        };
        for cached in contexts(batch, context) {
            let first_row = pass.cache_rows;
            pass.positions.push(cached);
            pass.slots.push((first_row + cached) as u32);
            pass.sequences.push(CachedSequence {
                len: (cached + 1) as u32,
                first_row: first_row as u32,
            });
            pass.cache_rows += cached + 1;
        }
        pass
    }

    /// One prompt of `prompt` tokens from position 0.
    fn prefill(prompt: usize) -> Pass {
        Pass {
            tokens: prompt,
            positions: (0..prompt).collect(),
            slots: (0..prompt as u32).collect(),
            sequences: vec![CachedSequence {
                len: prompt as u32,
                first_row: 0,
            }],
            cache_rows: prompt,
        }
    }
}

/// The tokens cached for each of `batch` sequences: `context` for one;
/// for more, spread evenly from 3/4 to 5/4 of it, so that no kernel can
/// assume equal lengths.
fn contexts(batch: usize, context: usize) -> Vec<usize> {
    if batch <= 1 {
        return vec![context];
    }
    (0..batch)
        .map(|i| context * 3 / 4 + context / 2 * i / (batch - 1))
        .collect()
}

/// (cos, sin) of each pair of dimensions at each position.
fn rope_table(positions: impl IntoIterator<Item = usize>) -> Vec<[f32; 2]> {
    positions
        .into_iter()
        .flat_map(|pos| {
            (0..DIM / 2).map(move |p| {
                let angle = pos as f64 * ROPE_THETA.powf(-2.0 * p as f64 / DIM as f64);
                [angle.cos() as f32, angle.sin() as f32]
            })
        })
        .collect()
}

/// Everything on the GPU for one run: the kernels of one step (every layer
/// run, then the head) and the buffers the check reads.
struct Model {
    /// The layers' kernels, then the head's from `head_from`: one chain,
    /// recorded in one command buffer.
    steps: Vec<Step>,
    head_from: usize,
    /// The residual stream before each layer and after the last.
    streams: Vec<wgpu::Buffer>,
    /// The final norm's output (written by the last layer's fused residual
    /// add), one row per token through the head.
    normed: wgpu::Buffer,
    /// Tokens through the head: every sequence's (decode), or the
    /// prompt's last (prefill).
    head_tokens: usize,
    /// The LM head's logits, in row chunks that fit a storage binding,
    /// each tokens through the head x its rows.
    logits: Vec<Logits>,
    /// The check's bound for the kernels the layers run.
    bound: f64,
}

impl Model {
    fn layers(&self) -> &[Step] {
        &self.steps[..self.head_from]
    }

    fn head(&self) -> &[Step] {
        &self.steps[self.head_from..]
    }
}

/// One kernel over its grid: a step of a layer or of the head.
type Step = (Kernel, [u32; 3]);

/// A chunk of the LM head's logits: its first row, and its buffer.
type Logits = (usize, wgpu::Buffer);

/// One layer's buffers: its matrices (as [`Matrix::upload`] writes them,
/// in [`Layer::matrices`]' order), its own KV caches (a server holds one
/// per layer) and its norm weights. Uploaded once a run and bound by every
/// candidate's kernels.
struct LayerBuffers {
    matrices: Vec<Vec<wgpu::Buffer>>,
    k_cache: wgpu::Buffer,
    v_cache: wgpu::Buffer,
    attention_norm: wgpu::Buffer,
    ffn_norm: wgpu::Buffer,
}

/// The LM head's weights, in row chunks that each fit one storage binding,
/// and the final norm's.
struct HeadBuffers {
    matrix: Matrix,
    /// (first row, the chunk, its buffers).
    chunks: Vec<(usize, Matrix, Vec<wgpu::Buffer>)>,
    final_norm: Vec<f32>,
    final_norm_buffer: wgpu::Buffer,
}

/// The weights of every layer run and of the head, on the GPU.
struct Weights {
    layers: Vec<LayerBuffers>,
    head: HeadBuffers,
}

/// An output buffer of `width` f32 for each of `tokens`.
fn activation(gpu: &Gpu, tokens: usize, label: &str, width: usize) -> wgpu::Buffer {
    gpu.output(label, (tokens * width * 4) as u64)
}

/// The activations every layer reads and writes (each layer's output
/// stream is its own), shared by all layers.
struct Scratch {
    normed: wgpu::Buffer,
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    attended: wgpu::Buffer,
    projected: wgpu::Buffer,
    mid: wgpu::Buffer,
    gate: wgpu::Buffer,
    up: wgpu::Buffer,
    gated: wgpu::Buffer,
    down: wgpu::Buffer,
    /// The rotary (cos, sin) table of each token's position.
    rope: wgpu::Buffer,
    /// Each token's row in the cache buffers.
    slots: wgpu::Buffer,
    /// One f16 matrix every dequantised GEMM writes into (prefill of Q8_0
    /// and Q4_0 weights).
    dequantized: Option<wgpu::Buffer>,
}

/// Where a layer's last residual add writes the norm fused into it: the
/// next layer's attention norm (into the scratch), or after the last layer
/// the final norm (into the head's input, of the rows from `first_row`).
struct NextNorm<'a> {
    weight: &'a wgpu::Buffer,
    normed: &'a wgpu::Buffer,
    first_row: usize,
}

/// Which kernels a layer's operations run: the portable ones, or those on
/// cooperative matrices (tensor cores) where the adapter has them. The run
/// builds the layer each way and keeps the faster one that passes its
/// check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerKernels {
    Portable,
    /// Prefill's products through the cooperative-matrix GEMM, in the
    /// tiling fastest on the layer's largest product, and its attention
    /// through flash attention, in the largest tiling the adapter can run
    /// (llama.cpp's shape where it fits).
    CooperativeMatrix(gemm::CoopTiling, attention::FlashTiling),
    /// Decode of a batch of [`COOP_FROM_TOKENS`] or more: its products and
    /// the LM head through the cooperative-matrix skinny GEMM, in the
    /// tiling fastest on the layer's largest product for the batch's
    /// tokens (the second field).
    CooperativeDecode(SkinnyTiling, u32),
}

impl LayerKernels {
    fn path(self) -> &'static str {
        match self {
            LayerKernels::Portable => "portable",
            LayerKernels::CooperativeMatrix(..) | LayerKernels::CooperativeDecode(..) => {
                super::COOPERATIVE_MATRIX_PATH
            }
        }
    }

    fn variant(self, gpu: &Gpu) -> String {
        match self {
            LayerKernels::Portable => format!(
                "portable: products {}",
                Path::portable_for(gpu).variant(gpu)
            ),
            LayerKernels::CooperativeMatrix(products, flash) => {
                let t = gpu.coop_shape().map_or(0, |coop| coop.size);
                format!(
                    "products {}; flash attention {}",
                    Path::CooperativeMatrix(products).variant(gpu),
                    flash.name(t)
                )
            }
            LayerKernels::CooperativeDecode(tiling, tokens) => {
                let t = gpu.coop_shape().map_or(0, |coop| coop.size);
                format!(
                    "products cooperative-matrix skinny GEMM, {}",
                    tiling.name(t, tokens)
                )
            }
        }
    }
}

/// The kernels inside a decode step that have variants of their own (see
/// the tuning layer): the GEMV of a batch of one on the portable path,
/// and decode attention. Each is ranked on the model's first layer, at
/// the run's shape, and the model built with them is checked whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DecodeKernels {
    /// None: the skinny GEMM's own (a batch of more than one, or prefill).
    gemv: Option<GemvVariant>,
    attention: DecodeVariant,
}

impl DecodeKernels {
    /// Each family's default: what `--tune off` and prefill run.
    const DEFAULT: DecodeKernels = DecodeKernels {
        gemv: None,
        attention: DecodeVariant::PerKey,
    };

    /// How results name them, after the layer's products.
    fn name(self, phase: Phase) -> String {
        match phase {
            Phase::Prefill => String::new(),
            Phase::Decode => {
                let gemv = self
                    .gemv
                    .map_or(String::new(), |v| format!("; GEMV {}", v.name()));
                format!("{gemv}; attention {}", self.attention.name())
            }
        }
    }
}

/// Builds the kernels of one pass: the layers' steps and the head.
struct Builder<'a> {
    llm: &'a Llm,
    gpu: &'a Gpu,
    pass: &'a Pass,
    tokens: usize,
    scratch: Scratch,
    kernels: LayerKernels,
    decode: DecodeKernels,
}

impl<'a> Builder<'a> {
    /// `layer`: any layer, for the size of the largest matrix.
    fn new(
        llm: &'a Llm,
        gpu: &'a Gpu,
        layer: &Layer,
        pass: &'a Pass,
        kernels: LayerKernels,
        decode: DecodeKernels,
    ) -> Result<Builder<'a>> {
        let p = &llm.preset;
        let tokens = pass.tokens;
        let activation = |label: &str, width: usize| activation(gpu, tokens, label, width);
        let (hidden, ffn, q_dim, kv_dim) = (p.hidden, p.ffn, p.heads * DIM, KV_HEADS * DIM);
        let largest = layer
            .matrices()
            .iter()
            .map(|m| m.rows * m.cols)
            .max()
            .unwrap_or(0);
        // Cooperative-matrix GEMMs decode quantised weights as they stage
        // them; the portable GEMM needs them written out as f16 first.
        let dequantized = if llm.needs_dequantized(kernels) {
            gpu.check_fits(
                &format!("{} dequantised weights", llm.name()),
                (largest * 2) as u64,
            )?;
            Some(gpu.output("dequantized", (largest * 2) as u64))
        } else {
            None
        };
        let scratch = Scratch {
            normed: activation("normed", hidden),
            q: activation("q", q_dim),
            k: activation("k", kv_dim),
            v: activation("v", kv_dim),
            attended: activation("attended", q_dim),
            projected: activation("projected", hidden),
            mid: activation("mid", hidden),
            gate: activation("gate", ffn),
            up: activation("up", ffn),
            gated: activation("gated", ffn),
            down: activation("down", hidden),
            rope: gpu.upload("rope", &rope_table(pass.positions.iter().copied()).concat()),
            slots: gpu.upload("cache slots", &pass.slots),
            dequantized,
        };
        Ok(Builder {
            llm,
            gpu,
            pass,
            tokens,
            scratch,
            kernels,
            decode,
        })
    }

    /// A buffer of `width` f32 per token.
    fn activation(&self, label: &str, width: usize) -> wgpu::Buffer {
        activation(self.gpu, self.tokens, label, width)
    }

    /// A kernel of llm_ops.wgsl: `params` are its Params (count, seed, a,
    /// b), one invocation per `threads`.
    fn ops(
        &self,
        entry: &str,
        params: [u32; 4],
        threads: usize,
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Result<Step> {
        let params = self.gpu.upload("ops params", &params);
        let mut all = vec![(0, &params)];
        all.extend_from_slice(bindings);
        let kernel = self.gpu.kernel_at(entry, OPS, entry, &[], &all)?;
        Ok((kernel, self.gpu.workgroup_grid(threads.div_ceil(64) as u64)))
    }

    /// `sum = a + b` (a residual add) fused with the RMSNorm of `sum`
    /// that follows it, into `norm.normed`: one workgroup per token.
    fn add_rmsnorm(
        &self,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        sum: &wgpu::Buffer,
        norm: &NextNorm,
    ) -> Result<Step> {
        let hidden = self.llm.preset.hidden;
        self.ops(
            "add_rmsnorm",
            [self.tokens as u32, 0, hidden as u32, norm.first_row as u32],
            self.tokens * 64,
            &[
                (2, sum),
                (3, a),
                (4, b),
                (12, norm.normed),
                (13, norm.weight),
            ],
        )
    }

    /// One matrix product of `matrix` (on the GPU in `buffers`) from `x`
    /// into `y`: a skinny GEMM (a GEMV at batch 1) in decode, a GEMM in
    /// prefill (after dequantising Q8_0 and Q4_0 weights to f16).
    fn product(
        &self,
        matrix: &Matrix,
        buffers: &[wgpu::Buffer],
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<Vec<Step>> {
        let gpu = self.gpu;
        let (m, n, k) = (self.tokens as u32, matrix.rows as u32, matrix.cols as u32);
        let path = match self.kernels {
            LayerKernels::CooperativeMatrix(tiling, _) => Path::CooperativeMatrix(tiling),
            _ => Path::portable_for(gpu),
        };
        let types = [Precision::F32, Precision::F16];
        Ok(
            match (self.llm.phase, self.kernels, &self.scratch.dequantized) {
                (Phase::Decode, _, _) => vec![self.decode_product([m, n, k], x, y, buffers)?],
                (Phase::Prefill, _, Some(scratch)) => vec![
                    matrix.dequantize_kernel(gpu, buffers, scratch)?,
                    gemm::gemm_kernel(gpu, path, types, [m, n, k], [x, scratch, y])?,
                ],
                (Phase::Prefill, LayerKernels::CooperativeMatrix(tiling, _), None)
                    if self.llm.weights != Format::F16 =>
                {
                    let bits = if self.llm.weights == Format::Q8 { 8 } else { 4 };
                    vec![gemm::quantized_gemm_kernel(
                        gpu,
                        tiling,
                        bits,
                        [m, n, k],
                        x,
                        [&buffers[0], &buffers[1]],
                        y,
                    )?]
                }
                (Phase::Prefill, _, None) => {
                    vec![gemm::gemm_kernel(
                        gpu,
                        path,
                        types,
                        [m, n, k],
                        [x, &buffers[0], y],
                    )?]
                }
            },
        )
    }

    /// A decode product of `tokens` x `rows` x `cols`: the tuned GEMV
    /// where there is one (a batch of one on the portable path), else the
    /// skinny GEMM.
    fn decode_product(
        &self,
        [tokens, rows, cols]: [u32; 3],
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        buffers: &[wgpu::Buffer],
    ) -> Result<Step> {
        let format = self.llm.weights;
        match (self.decode.gemv, self.kernels.skinny()) {
            (Some(variant), SkinnyPath::Portable) if tokens == 1 => {
                gemv::variant_kernel(self.gpu, format, [rows, cols], variant, x, y, buffers)
            }
            (_, path) => skinny_kernel(self.gpu, path, format, [tokens, rows, cols], x, y, buffers),
        }
    }

    /// One decoder layer from `input` into `output`: attention with its
    /// residual, then the feed-forward block with its residual. The layer
    /// reads its attention norm's output from the scratch (written by the
    /// previous layer's last step, or the first norm); its own last step
    /// writes `next`.
    fn layer(
        &self,
        layer: &Layer,
        weights: &LayerBuffers,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
        next: &NextNorm,
    ) -> Result<Vec<Step>> {
        let (gpu, p, s) = (self.gpu, &self.llm.preset, &self.scratch);
        let tokens = self.tokens;
        let [wq, wk, wv, wo, wg, wu, wd] = layer.matrices();
        let [bq, bk, bv, bo, bg, bu, bd] = [0, 1, 2, 3, 4, 5, 6].map(|i| &weights.matrices[i]);
        let mut steps = Vec::new();
        steps.extend(self.product(wq, bq, &s.normed, &s.q)?);
        steps.extend(self.product(wk, bk, &s.normed, &s.k)?);
        steps.extend(self.product(wv, bv, &s.normed, &s.v)?);
        // Rotary embedding fused with the KV cache append: one invocation
        // per (token, query or KV head, pair of dims).
        steps.push(self.ops(
            "rope_kv",
            [tokens as u32, 0, 0, p.heads as u32],
            tokens * (p.heads + KV_HEADS) * DIM / 2,
            &[
                (3, &s.k),
                (4, &s.v),
                (5, &s.q),
                (6, &weights.k_cache),
                (7, &weights.v_cache),
                (8, &s.rope),
                (11, &s.slots),
            ],
        )?);
        steps.extend(attention::attention_kernels(
            gpu,
            self.llm.phase,
            match self.kernels {
                LayerKernels::CooperativeMatrix(_, flash) => attention::PrefillPath::Flash(flash),
                _ => attention::PrefillPath::Portable,
            },
            self.decode.attention,
            &self.pass.sequences,
            p.heads as u32,
            [&s.q, &weights.k_cache, &weights.v_cache, &s.attended],
        )?);
        steps.extend(self.product(wo, bo, &s.attended, &s.projected)?);
        let ffn_norm = NextNorm {
            weight: &weights.ffn_norm,
            normed: &s.normed,
            first_row: 0,
        };
        steps.push(self.add_rmsnorm(input, &s.projected, &s.mid, &ffn_norm)?);
        steps.extend(self.product(wg, bg, &s.normed, &s.gate)?);
        steps.extend(self.product(wu, bu, &s.normed, &s.up)?);
        steps.push(self.ops(
            "silu_mul",
            [(tokens * p.ffn) as u32, 0, 0, 0],
            tokens * p.ffn,
            &[(2, &s.gated), (3, &s.gate), (4, &s.up)],
        )?);
        steps.extend(self.product(wd, bd, &s.gated, &s.down)?);
        steps.push(self.add_rmsnorm(&s.mid, &s.down, output, next)?);
        Ok(steps)
    }

    /// The LM head of the tokens that need logits (each sequence's one in
    /// decode, the prompt's last in prefill), from the final norm's
    /// output `normed`, in row chunks that each fit one storage binding.
    fn head(
        &self,
        head: &HeadBuffers,
        normed: &wgpu::Buffer,
        head_tokens: usize,
    ) -> Result<(Vec<Step>, Vec<Logits>)> {
        let gpu = self.gpu;
        let hidden = self.llm.preset.hidden;
        let mut steps = Vec::new();
        let mut logits = Vec::new();
        for (first, chunk, buffers) in &head.chunks {
            let out = gpu.output("logits", (head_tokens * chunk.rows * 4) as u64);
            let shape = [head_tokens as u32, chunk.rows as u32, hidden as u32];
            steps.push(match self.llm.phase {
                Phase::Decode => self.decode_product(shape, normed, &out, buffers)?,
                Phase::Prefill => skinny_kernel(
                    gpu,
                    self.kernels.skinny(),
                    self.llm.weights,
                    shape,
                    normed,
                    &out,
                    buffers,
                )?,
            });
            logits.push((*first, out));
        }
        Ok((steps, logits))
    }
}

impl Llm {
    /// What one pass of `batch` sequences runs.
    fn pass(&self, batch: usize) -> Pass {
        match self.phase {
            Phase::Decode => Pass::decode(batch, self.context),
            Phase::Prefill => Pass::prefill(self.preset.prompt),
        }
    }

    fn layout(&self) -> Layout {
        if self.phase == Phase::Prefill && self.weights == Format::F16 {
            Layout::Columns
        } else {
            Layout::Rows
        }
    }

    /// Whether prefill's GEMMs on `kernels` read quantised weights written
    /// out as f16 first (the portable GEMM does).
    fn needs_dequantized(&self, kernels: LayerKernels) -> bool {
        self.phase == Phase::Prefill
            && self.weights != Format::F16
            && kernels == LayerKernels::Portable
    }

    /// The LM head's weights (rows = vocabulary).
    fn head_matrix(&self) -> Matrix {
        Matrix {
            rows: self.preset.vocab,
            cols: self.preset.hidden,
            format: self.weights,
            layout: Layout::Rows,
            seed: 7,
        }
    }

    /// The final norm's weights.
    fn final_norm(&self) -> Vec<f32> {
        random_f32(51, self.preset.hidden)
            .iter()
            .map(|v| 1.0 + 0.1 * v)
            .collect()
    }

    /// Writes the weights of `layers` (each its own, KV caches included)
    /// and of the head on the GPU, once for every candidate's kernels.
    fn upload(&self, gpu: &Gpu, layers: &[Layer], pass: &Pass) -> Result<Weights> {
        let cache_words = pass.cache_rows * KV_HEADS * DIM / 2;
        gpu.check_fits(
            &format!("{} KV cache of one layer", self.name()),
            (cache_words * 4) as u64,
        )?;
        let halves = Stream::Halves { exponent: 14 };
        let mut uploaded = Vec::new();
        for layer in layers {
            let mut matrices = Vec::new();
            for matrix in layer.matrices() {
                gpu.check_fits(&format!("{} weights", self.name()), matrix.largest_buffer())?;
                matrices.push(matrix.upload(gpu)?);
            }
            uploaded.push(LayerBuffers {
                matrices,
                k_cache: halves.upload(gpu, "k cache", layer.wq.seed + 10, cache_words)?,
                v_cache: halves.upload(gpu, "v cache", layer.wq.seed + 11, cache_words)?,
                attention_norm: gpu.upload("norm", &layer.attention_norm),
                ffn_norm: gpu.upload("norm", &layer.ffn_norm),
            });
        }
        let matrix = self.head_matrix();
        let limit = gpu
            .summary
            .limits
            .max_storage_buffer_binding_size
            .min(gpu.summary.limits.max_buffer_size);
        // A row's weights, or its logits for every token, whichever is more.
        let row_bytes = (matrix.largest_buffer() / matrix.rows as u64).max(pass.tokens as u64 * 4);
        let chunk_rows = ((limit / row_bytes) as usize / 64 * 64)
            .min(matrix.rows)
            .max(64);
        let mut chunks = Vec::new();
        for first in (0..matrix.rows).step_by(chunk_rows) {
            let chunk = Matrix {
                rows: chunk_rows.min(matrix.rows - first),
                seed: matrix.seed + first as u32,
                ..matrix
            };
            chunks.push((first, chunk, chunk.upload(gpu)?));
        }
        let final_norm = self.final_norm();
        Ok(Weights {
            layers: uploaded,
            head: HeadBuffers {
                matrix,
                chunks,
                final_norm_buffer: gpu.upload("final norm", &final_norm),
                final_norm,
            },
        })
    }

    /// The kernels of one step on `kernels` over the uploaded `weights`
    /// of `layers`; `x`: the input tokens' hidden states.
    fn build(
        &self,
        gpu: &Gpu,
        layers: &[Layer],
        weights: &Weights,
        x: &[f32],
        pass: &Pass,
        (kernels, decode): (LayerKernels, DecodeKernels),
    ) -> Result<Model> {
        let builder = Builder::new(self, gpu, &layers[0], pass, kernels, decode)?;
        let (tokens, hidden) = (pass.tokens, self.preset.hidden);
        let head_tokens = match self.phase {
            Phase::Decode => tokens,
            Phase::Prefill => 1,
        };
        let normed = gpu.output("final normed", (head_tokens * hidden * 4) as u64);
        let mut streams = vec![gpu.upload("x", x)];
        // The first layer's attention norm; every later norm is fused into
        // the residual add before it.
        let mut steps = vec![rows::row_kernel(
            gpu,
            RowOp::RmsNorm,
            tokens as u32,
            hidden as u32,
            &streams[0],
            &builder.scratch.normed,
            Some(&weights.layers[0].attention_norm),
        )?];
        for (i, (layer, buffers)) in layers.iter().zip(&weights.layers).enumerate() {
            let next = match weights.layers.get(i + 1) {
                Some(next) => NextNorm {
                    weight: &next.attention_norm,
                    normed: &builder.scratch.normed,
                    first_row: 0,
                },
                None => NextNorm {
                    weight: &weights.head.final_norm_buffer,
                    normed: &normed,
                    first_row: tokens - head_tokens,
                },
            };
            let input = streams.last().expect("the input stream");
            let output = builder.activation("stream", hidden);
            steps.extend(builder.layer(layer, buffers, input, &output, &next)?);
            streams.push(output);
        }
        let head_from = steps.len();
        let (head, logits) = builder.head(&weights.head, &normed, head_tokens)?;
        steps.extend(head);
        Ok(Model {
            steps,
            head_from,
            streams,
            normed,
            head_tokens,
            logits,
            bound: kernels.bound(),
        })
    }

    /// Runs one step and compares the residual stream after `cpu_layers`
    /// layers for the `checked` tokens (`cpu`, in that order) with the
    /// CPU's, then the final norm of the last token through the head and a
    /// spread of its logits, from the GPU's own last stream.
    fn check(
        &self,
        gpu: &Gpu,
        model: &Model,
        head: &HeadBuffers,
        cpu: &CpuStreams,
        checked: &[usize],
    ) -> Result<f64> {
        let name = self.name();
        for buffer in model.streams.iter().skip(1).chain([&model.normed]) {
            gpu.poison(buffer);
        }
        for (_, buffer) in &model.logits {
            gpu.poison(buffer);
        }
        gpu.run_timed(&Dispatch::chain(&model.steps), &[])?;
        let hidden = self.preset.hidden;
        let stream: Vec<f32> =
            bytemuck::pod_collect_to_vec(&gpu.download(&model.streams[cpu.layers])?);
        let got: Vec<f32> = checked
            .iter()
            .flat_map(|&t| stream[t * hidden..(t + 1) * hidden].iter().copied())
            .collect();
        let bound = model.bound * cpu.layers as f64;
        let error = verify(name, &got, &cpu.rows.concat(), bound)?;
        let last: Vec<f32> =
            bytemuck::pod_collect_to_vec(&gpu.download(model.streams.last().expect("stream"))?);
        let last_row: Vec<f64> = last[last.len() - hidden..]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let normed: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&model.normed)?);
        let normed = &normed[(model.head_tokens - 1) * hidden..];
        verify(
            name,
            normed,
            &reference::final_norm(&last_row, &head.final_norm),
            model.bound,
        )?;
        // A spread of that token's logits, from the GPU's own normed
        // vector; each row block of the head is read back once.
        let step = self.preset.vocab.div_ceil(CHECKED_LOGITS);
        let mut got = Vec::new();
        let mut expected = Vec::new();
        for ((first, buffer), (_, chunk_matrix, _)) in model.logits.iter().zip(&head.chunks) {
            let chunk: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(buffer)?);
            let rows = chunk_matrix.rows;
            let chunk = &chunk[(model.head_tokens - 1) * rows..];
            let weights = chunk_matrix.reader(false);
            for r in (first.next_multiple_of(step)..first + rows).step_by(step) {
                got.push(chunk[r - first]);
                let dot = (0..hidden)
                    .map(|c| f64::from(weights.value(r - first, c)) * f64::from(normed[c]));
                expected.push(dot.sum());
            }
        }
        verify(name, &got, &expected, model.bound)?;
        Ok(error)
    }

    /// The tokens whose residual stream the CPU checks. Decode: the
    /// first, a middle and the last sequence (each at its own position);
    /// prefill: every token up to 64, else the first two (causal: they
    /// depend on nothing later).
    fn checked_tokens(&self, pass: &Pass) -> Vec<usize> {
        let tokens = pass.tokens;
        match self.phase {
            Phase::Decode => {
                let mut checked = vec![0, tokens / 2, tokens - 1];
                checked.dedup();
                checked
            }
            Phase::Prefill if tokens <= 64 => (0..tokens).collect(),
            Phase::Prefill => vec![0, 1],
        }
    }

    /// The CPU's layers one after another on the `checked` tokens of `x`:
    /// all of `layers` where that is at most [`CPU_CHECKED_PRODUCTS`]
    /// (the tiny preset's decode), else the first alone.
    fn cpu_streams(
        &self,
        layers: &[Layer],
        x: &[f32],
        pass: &Pass,
        checked: &[usize],
    ) -> CpuStreams {
        let hidden = self.preset.hidden;
        let weights: usize = layers[0].matrices().iter().map(|m| m.rows * m.cols).sum();
        let count = if weights * layers.len() * checked.len() <= CPU_CHECKED_PRODUCTS {
            layers.len()
        } else {
            1
        };
        let mut rows: Vec<Vec<f64>> = checked
            .iter()
            .map(|&t| {
                x[t * hidden..(t + 1) * hidden]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            })
            .collect();
        for layer in &layers[..count] {
            rows = self.cpu_layer(layer, rows, pass, checked);
        }
        CpuStreams {
            layers: count,
            rows,
        }
    }

    /// The CPU's `layer` on the `checked` tokens, whose inputs are `rows`.
    fn cpu_layer(
        &self,
        layer: &Layer,
        rows: Vec<Vec<f64>>,
        pass: &Pass,
        checked: &[usize],
    ) -> Vec<Vec<f64>> {
        let halves = Stream::Halves { exponent: 14 };
        let row_halves = KV_HEADS * DIM;
        let cached = |seed: u32, first_row: usize, rows: usize| -> Vec<f32> {
            (first_row * row_halves..(first_row + rows) * row_halves)
                .map(|i| halves.half(seed, i))
                .collect()
        };
        let rounded = self.phase == Phase::Prefill && self.weights != Format::F16;
        let sequences: Vec<reference::Sequence> = match self.phase {
            // Each sequence its own: its cache, its position.
            Phase::Decode => checked
                .iter()
                .zip(rows)
                .map(|(&t, row)| {
                    let sequence = pass.sequences[t];
                    let (first_row, cached_rows) =
                        (sequence.first_row as usize, sequence.len as usize - 1);
                    reference::Sequence {
                        xs: vec![row],
                        cached_k: cached(layer.wq.seed + 10, first_row, cached_rows),
                        cached_v: cached(layer.wq.seed + 11, first_row, cached_rows),
                        rope: rope_table([pass.positions[t]]),
                    }
                })
                .collect(),
            // The prompt's first tokens, from an empty cache.
            Phase::Prefill => vec![reference::Sequence {
                xs: rows,
                cached_k: Vec::new(),
                cached_v: Vec::new(),
                rope: rope_table(checked.iter().map(|&t| pass.positions[t])),
            }],
        };
        reference::layer(layer, &sequences, rounded)
    }
}

/// The CPU's residual stream of the checked tokens after its first
/// `layers` layers.
struct CpuStreams {
    layers: usize,
    rows: Vec<Vec<f64>>,
}

/// What a decode batch needs of the adapter: the whole model's weights and
/// every layer's KV caches in its memory (as a server holds them; the run
/// allocates the layers [`layers_that_fit`] allows), and buffers within
/// its limits.
#[derive(Debug, Clone, PartialEq)]
struct Memory {
    weights: u64,
    kv_cache: u64,
    /// Single buffers, each within the adapter's buffer limits.
    buffers: Vec<(&'static str, u64)>,
}

impl Memory {
    /// Fails with [`Error::Unsupported`], naming the bytes needed, when
    /// `what` does not fit `gpu`.
    fn check(&self, gpu: &Gpu, what: &str) -> Result<()> {
        for (buffer, bytes) in &self.buffers {
            gpu.check_fits(&format!("{what} ({buffer})"), *bytes)?;
        }
        if let Some(memory) = &gpu.memory {
            let needed = self.weights + self.kv_cache;
            if needed > memory.bytes {
                return Err(Error::Unsupported(format!(
                    "{what} needs {needed} bytes ({} of weights, {} of KV caches), over the \
                     adapter's {} bytes of memory ({})",
                    self.weights, self.kv_cache, memory.bytes, memory.source
                )));
            }
        }
        Ok(())
    }
}

/// Largest batch `--batch max` tries: beyond any server's.
const LARGEST_BATCH: usize = 4096;
/// Largest batch `--batch max` tries under `--quick`, whose point is a
/// run of about a minute: on lavapipe a tiny model's thousands of
/// sequences take minutes a step.
pub const QUICK_LARGEST_BATCH: usize = 64;

impl Llm {
    /// What decoding `batch` sequences needs.
    fn memory(&self, batch: usize) -> Memory {
        let p = &self.preset;
        let layer = Layer::new(p, self.weights, self.layout(), 0);
        let head = Matrix {
            rows: p.vocab,
            cols: p.hidden,
            format: self.weights,
            layout: Layout::Rows,
            seed: 7,
        };
        let layer_bytes: f64 = layer.matrices().iter().map(|m| m.bytes()).sum();
        let weights = (layer_bytes * p.layers as f64 + head.bytes()) as u64;
        let cache_rows = Pass::decode(batch, self.context).cache_rows as u64;
        let cache_buffer = cache_rows * (KV_HEADS * DIM * 2) as u64;
        let largest_matrix = layer
            .matrices()
            .iter()
            .map(|m| m.largest_buffer())
            .max()
            .unwrap_or(0);
        Memory {
            weights,
            kv_cache: 2 * cache_buffer * p.layers as u64,
            buffers: vec![
                ("one layer's keys or values", cache_buffer),
                ("activations", (batch * p.ffn.max(p.heads * DIM) * 4) as u64),
                (
                    "attention partial results",
                    // The longest sequence: 5/4 of the context, and the new token.
                    DecodeVariant::most_partials_bytes(batch, p.heads, self.context * 5 / 4 + 1),
                ),
                ("the largest weight matrix", largest_matrix),
            ],
        }
    }

    /// The largest batch that fits `gpu` (`run --batch max`), or the
    /// reason not even one sequence does.
    fn largest_batch(&self, gpu: &Gpu, up_to: usize) -> Result<usize> {
        let what = |batch: usize| format!("{} {} at batch {batch}", self.name(), self.preset.name);
        let fits = |batch: usize| self.memory(batch).check(gpu, &what(batch)).is_ok();
        self.memory(1).check(gpu, &what(1))?;
        // Doubling, then halving the gap: what a batch needs grows with it.
        let (mut low, mut high) = (1, 2);
        while high <= up_to && fits(high) {
            (low, high) = (high, high * 2);
        }
        let mut high = high.min(up_to + 1);
        while high - low > 1 {
            let middle = (low + high) / 2;
            if fits(middle) {
                low = middle;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }
}

/// How many of the model's layers a run builds and times, and why.
#[derive(Debug, Clone, PartialEq)]
struct LayersRun {
    count: usize,
    why: String,
}

/// What bounds the bytes of the layers a run builds.
#[derive(Debug, Clone, PartialEq)]
enum LayerBudget {
    /// The adapter's memory (a sensor's figure, e.g. NVML's): all layers
    /// where [`USABLE_MEMORY`] of it holds them.
    Memory { bytes: u64, source: String },
    /// A CPU adapter (lavapipe): its "memory" is the host's RAM, shared
    /// with this program and its CPU reference, and it reads a few GB/s, so
    /// layers up to [`CPU_ADAPTER_LAYER_BYTES`].
    CpuAdapter,
    /// A GPU whose memory no sensor reported: [`MIN_LAYERS`], as before
    /// anything was known, rather than a guess that could exhaust it.
    Unknown,
}

impl LayerBudget {
    fn of(gpu: &Gpu) -> LayerBudget {
        match &gpu.memory {
            _ if gpu.summary.device_type == crate::results::DeviceType::Cpu => {
                LayerBudget::CpuAdapter
            }
            Some(memory) => LayerBudget::Memory {
                bytes: memory.bytes,
                source: memory.source.clone(),
            },
            None => LayerBudget::Unknown,
        }
    }
}

/// Fewest layers a run builds (where the model has them): two distinct
/// layers, so that the second does not find the first's weights in cache.
const MIN_LAYERS: usize = 2;
/// The share of a known memory the layers may fill: drivers and the
/// allocator keep some.
const USABLE_MEMORY: f64 = 0.95;
/// Bytes of layers (weights and KV caches) a CPU adapter runs: the tiny
/// preset whole, two layers of Llama 3 8B (as every run did before).
const CPU_ADAPTER_LAYER_BYTES: u64 = 256 << 20;

/// How many of `layers` layers of `layer_bytes` each (weights, KV caches
/// and anything else one more layer allocates) fit `budget` beside
/// `other_bytes` (the head, activations): all where they fit, else as many
/// as do, never fewer than [`MIN_LAYERS`] (a step that needs more memory
/// than that is refused elsewhere, before anything is allocated).
fn layers_that_fit(
    layers: usize,
    layer_bytes: u64,
    other_bytes: u64,
    budget: &LayerBudget,
) -> LayersRun {
    let floor = MIN_LAYERS.min(layers);
    let gb = |bytes: u64| match bytes as f64 {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b => format!("{:.1} MB", b / 1e6),
    };
    let (usable, whose) = match budget {
        LayerBudget::Unknown => {
            return LayersRun {
                count: floor,
                why: format!(
                    "{floor} of {layers} layers run: the adapter's memory is unknown, so no more \
                     than the fewest"
                ),
            };
        }
        LayerBudget::CpuAdapter => (
            CPU_ADAPTER_LAYER_BYTES + other_bytes,
            format!(
                "the {} a CPU adapter runs (its memory is the host's, shared with this program)",
                gb(CPU_ADAPTER_LAYER_BYTES)
            ),
        ),
        LayerBudget::Memory { bytes, source } => (
            (*bytes as f64 * USABLE_MEMORY) as u64,
            format!(
                "{:.0}% of the adapter's {} ({source})",
                USABLE_MEMORY * 100.0,
                gb(*bytes)
            ),
        ),
    };
    let fit = usable.saturating_sub(other_bytes) / layer_bytes.max(1);
    let count = (fit as usize).clamp(floor, layers);
    let why = if count == layers {
        format!(
            "all {layers} layers run ({} with the head and activations, within {whose})",
            gb(layer_bytes * layers as u64 + other_bytes)
        )
    } else {
        format!(
            "memory: {count} of {layers} layers run ({} each; {} more with the head and \
             activations) within {whose}",
            gb(layer_bytes),
            gb(other_bytes)
        )
    };
    LayersRun { count, why }
}

impl Llm {
    /// Weight bytes one pass reads in one layer.
    fn layer_bytes(&self) -> f64 {
        let layer = Layer::new(&self.preset, self.weights, self.layout(), 0);
        layer.matrices().iter().map(|m| m.bytes()).sum()
    }

    /// The layers a run of `pass` on `candidates` builds on `gpu`: see
    /// [`layers_that_fit`].
    fn layers_to_run(&self, gpu: &Gpu, pass: &Pass, candidates: &[LayerKernels]) -> LayersRun {
        let (layer, other) = self.run_bytes(pass, candidates);
        layers_that_fit(self.preset.layers, layer, other, &LayerBudget::of(gpu))
    }

    /// About the bytes a run of `pass` on `candidates` allocates for each
    /// layer, and besides them. Weights and KV caches are allocated once;
    /// activations once per candidate (each its own kernels and buffers).
    fn run_bytes(&self, pass: &Pass, candidates: &[LayerKernels]) -> (u64, u64) {
        let p = &self.preset;
        let tokens = pass.tokens as u64;
        let models = candidates.len() as u64;
        let layer = Layer::new(p, self.weights, self.layout(), 0);
        let weights: u64 = layer.matrices().iter().map(|m| m.bytes() as u64).sum();
        let kv_caches = 2 * (pass.cache_rows * KV_HEADS * DIM * 2) as u64;
        let stream = tokens * p.hidden as u64 * 4;
        let layer_bytes = weights + kv_caches + models * stream;
        let (q, kv) = ((p.heads * DIM) as u64, (KV_HEADS * DIM) as u64);
        let scratch = tokens * (5 * p.hidden as u64 + 2 * q + 2 * kv + 3 * p.ffn as u64) * 4;
        let largest = layer.matrices().iter().map(|m| m.rows * m.cols).max();
        let dequantized = candidates
            .iter()
            .filter(|&&k| self.needs_dequantized(k))
            .count() as u64
            * largest.unwrap_or(0) as u64
            * 2;
        // Decode's attention leaves partial results per sequence, head and
        // chunk of the longest sequence's keys.
        let partials = match self.phase {
            Phase::Decode => {
                let longest = pass.sequences.iter().map(|s| s.len as usize).max();
                DecodeVariant::most_partials_bytes(
                    pass.sequences.len(),
                    p.heads,
                    longest.unwrap_or(0),
                )
            }
            Phase::Prefill => 0,
        };
        let logits = tokens * p.vocab as u64 * 4;
        let other = self.head_matrix().bytes() as u64
            + models * (scratch + partials + logits)
            + dequantized;
        (layer_bytes, other)
    }
}

impl Workload for Llm {
    fn name(&self) -> &'static str {
        match self.phase {
            Phase::Decode => "llm-decode",
            Phase::Prefill => "llm-prefill",
        }
    }

    fn description(&self) -> &'static str {
        match self.phase {
            Phase::Decode => {
                "whole-model decode of a batch of sequences over their KV caches \
                 (tokens/s for the batch, ms per token for one sequence)"
            }
            Phase::Prefill => "whole-model prefill of a prompt (tokens/s)",
        }
    }

    fn unit(&self) -> Unit {
        Unit::TokensPerSecond
    }

    fn shape(&self) -> Option<String> {
        let model = format!("{} {}", self.preset.name, self.weights.weights_name());
        Some(match (self.phase, self.batch) {
            (Phase::Prefill, _) => model,
            // The context in the shape: decode at another context is
            // another measurement, never matched with this one.
            (Phase::Decode, Batch::Sequences(batch)) => {
                crate::results::decode_shape(&format!("{model} batch {batch}"), self.context as u64)
            }
            (Phase::Decode, Batch::Largest { .. }) => {
                crate::results::decode_shape(&format!("{model} batch max"), self.context as u64)
            }
        })
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        self.run_with(gpu, plan, observer, None, None)
    }
}

impl Llm {
    /// The layer kernels worth trying: the portable ones, and where the
    /// adapter has cooperative matrices, prefill's on them, or decode's
    /// from a batch of [`COOP_FROM_TOKENS`].
    fn kernel_candidates(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        tokens: usize,
    ) -> Result<Vec<LayerKernels>> {
        let mut candidates = vec![LayerKernels::Portable];
        if self.phase == Phase::Decode && tokens as u32 >= COOP_FROM_TOKENS {
            if let Some(tiling) = self.fastest_skinny_tiling(gpu, plan, tokens)? {
                candidates.push(LayerKernels::CooperativeDecode(tiling, tokens as u32));
            }
        } else if self.phase == Phase::Prefill {
            // The layer's largest product: the FFN's gate and up.
            let shape = [
                tokens as u32,
                self.preset.ffn as u32,
                self.preset.hidden as u32,
            ];
            let types = [Precision::F32, Precision::F16];
            let flash = gpu.coop_shape().and_then(|coop| {
                let fitting = attention::FLASH_TILINGS
                    .iter()
                    .filter(|t| t.fits(gpu, coop));
                fitting.last().copied()
            });
            if let (Some(products), Some(flash)) =
                (gemm::fastest_coop_tiling(gpu, plan, types, shape)?, flash)
            {
                candidates.push(LayerKernels::CooperativeMatrix(products, flash));
            }
        }
        Ok(candidates)
    }

    /// The fastest cooperative-matrix skinny GEMM tiling for `tokens` on
    /// the layer's largest product (the FFN's gate), probed on a matrix of
    /// the model's format: a ranking only, each model checks its output.
    fn fastest_skinny_tiling(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        tokens: usize,
    ) -> Result<Option<SkinnyTiling>> {
        let Some(coop) = gpu.coop_shape() else {
            return Ok(None);
        };
        let tilings: Vec<SkinnyTiling> = SKINNY_TILINGS
            .into_iter()
            .filter(|t| t.fits(gpu, coop, tokens as u32))
            .collect();
        if tilings.is_empty() {
            return Ok(None);
        }
        let p = &self.preset;
        let matrix = Matrix {
            rows: p.ffn,
            cols: p.hidden,
            format: self.weights,
            layout: self.layout(),
            seed: 1,
        };
        let weights = matrix.upload(gpu)?;
        let x = activation(gpu, tokens, "probe x", p.hidden);
        let y = activation(gpu, tokens, "probe y", p.ffn);
        let shape = [tokens as u32, p.ffn as u32, p.hidden as u32];
        let mut built = Vec::new();
        for &tiling in &tilings {
            let path = SkinnyPath::CooperativeMatrix(tiling);
            built.push(skinny_kernel(
                gpu,
                path,
                self.weights,
                shape,
                &x,
                &y,
                &weights,
            )?);
        }
        let work = 2.0 * (tokens * p.ffn * p.hidden) as f64;
        let probes: Vec<_> = built
            .iter()
            .map(|(kernel, grid)| (kernel.dispatch(*grid), work))
            .collect();
        Ok(tuning::rank(gpu, plan, &probes)?
            .first()
            .map(|&i| tilings[i]))
    }

    /// The decode step's own variants ([`DecodeKernels`]), each ranked by
    /// the tuning layer on the first layer's buffers at the run's shape:
    /// the GEMV (a batch of one) on the FFN's gate, among the variants
    /// that every product of the step can run, and attention on the
    /// batch's sequences. A ranking only: the model built with them is
    /// checked whole. Prefill, and `--tune off`, take the defaults.
    fn decode_kernels(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        first: &Layer,
        weights: &Weights,
        pass: &Pass,
    ) -> Result<DecodeKernels> {
        if self.phase != Phase::Decode || plan.tune == tuning::Tune::Off {
            return Ok(DecodeKernels::DEFAULT);
        }
        let p = &self.preset;
        let format = self.weights;
        let gemv = if pass.tokens == 1 {
            let shapes: Vec<[u32; 2]> = first
                .matrices()
                .iter()
                .map(|m| [m.rows as u32, m.cols as u32])
                .chain(
                    weights
                        .head
                        .chunks
                        .iter()
                        .map(|(_, chunk, _)| [chunk.rows as u32, chunk.cols as u32]),
                )
                .collect();
            let gate = [p.ffn as u32, p.hidden as u32];
            let variants: Vec<GemvVariant> = gemv::gemv_variants(gpu, format, gate)
                .into_iter()
                .filter(|v| {
                    shapes
                        .iter()
                        .all(|&shape| gemv::gemv_variants(gpu, format, shape).contains(v))
                })
                .collect();
            let x = activation(gpu, 1, "probe x", p.hidden);
            let y = activation(gpu, 1, "probe y", p.ffn);
            // The gate's buffers, in Layer::matrices' order.
            let buffers = &weights.layers[0].matrices[4];
            let mut kernels = Vec::new();
            for &variant in &variants {
                kernels.push(gemv::variant_kernel(
                    gpu, format, gate, variant, &x, &y, buffers,
                )?);
            }
            let probes: Vec<_> = kernels
                .iter()
                .map(|(kernel, grid)| (kernel.dispatch(*grid), 1.0))
                .collect();
            tuning::rank(gpu, plan, &probes)?
                .first()
                .map(|&i| variants[i])
        } else {
            None
        };
        let variants = attention::decode_variants(gpu);
        let q = activation(gpu, pass.tokens, "probe q", p.heads * DIM);
        let out = activation(gpu, pass.tokens, "probe attended", p.heads * DIM);
        let layer = &weights.layers[0];
        let mut chains = Vec::new();
        for &variant in &variants {
            chains.push(attention::attention_kernels(
                gpu,
                Phase::Decode,
                attention::PrefillPath::Portable,
                variant,
                &pass.sequences,
                p.heads as u32,
                [&q, &layer.k_cache, &layer.v_cache, &out],
            )?);
        }
        let probes: Vec<_> = chains
            .iter()
            .map(|chain| (Dispatch::chain(chain), 1.0))
            .collect();
        let attention = variants[tuning::rank(gpu, plan, &probes)?[0]];
        Ok(DecodeKernels { gemv, attention })
    }

    /// [`Workload::run`], with the layer's kernels forced (tests) or, for
    /// `None`, the fastest candidate that passes its check.
    fn run_with(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
        forced: Option<LayerKernels>,
        forced_decode: Option<DecodeKernels>,
    ) -> Result<Measurement> {
        if self.weights == Format::F32 {
            return Err(Error::Unsupported("LLM weights are f16, q8 or q4".into()));
        }
        let batch = match (self.phase, self.batch) {
            (Phase::Prefill, _) => 1,
            (Phase::Decode, Batch::Sequences(batch)) => {
                self.memory(batch)
                    .check(gpu, &self.shape().unwrap_or_default())?;
                batch
            }
            (Phase::Decode, Batch::Largest { up_to }) => self.largest_batch(gpu, up_to)?,
        };
        let pass = self.pass(batch);
        let p = &self.preset;
        let tokens = pass.tokens;
        let candidates = match forced {
            Some(kernels) => vec![kernels],
            // The default alone: no other candidate is built, nor its
            // memory counted.
            None if plan.tune == tuning::Tune::Off => vec![LayerKernels::Portable],
            None => self.kernel_candidates(gpu, plan, tokens)?,
        };
        let run = self.layers_to_run(gpu, &pass, &candidates);
        let layers: Vec<Layer> = (0..run.count)
            .map(|i| Layer::new(&self.preset, self.weights, self.layout(), i))
            .collect();
        let x = random_f32(50, tokens * p.hidden);
        let weights = self.upload(gpu, &layers, &pass)?;
        let mut decode = match forced_decode {
            Some(decode) => decode,
            None => self.decode_kernels(gpu, plan, &layers[0], &weights, &pass)?,
        };
        let checked = self.checked_tokens(&pass);
        let cpu = self.cpu_streams(&layers, &x, &pass, &checked);
        let head = &weights.head;
        // The step's own variants were ranked, not checked: where the
        // models built with them all fail, they are built again with each
        // family's default, and the tuned ones are named as failed.
        let mut decode_failed = None;
        let (mut models, verified) = loop {
            let mut models = Vec::new();
            for &kernels in &candidates {
                models.push(self.build(gpu, &layers, &weights, &x, &pass, (kernels, decode))?);
            }
            let probes: Vec<_> = models
                .iter()
                .map(|m| (Dispatch::chain(&m.steps), tokens as f64))
                .collect();
            let outcome = tuning::choose(gpu, plan, &probes, |i| {
                self.check(gpu, &models[i], head, &cpu, &checked)
            });
            drop(probes);
            match outcome {
                Ok(verified) => break (models, verified),
                Err(Error::VerificationFailed(why))
                    if decode != DecodeKernels::DEFAULT && forced_decode.is_none() =>
                {
                    decode_failed = Some(format!("{}: {why}", decode.name(self.phase)));
                    decode = DecodeKernels::DEFAULT;
                }
                Err(other) => return Err(other),
            }
        };
        let (chosen, error) = (verified.index, verified.error);
        let kernels = candidates[chosen];
        let model = models.swap_remove(chosen);
        drop(models);
        let mut check = || self.check(gpu, &model, head, &cpu, &checked).map(|_| ());
        let samples = if run.count == p.layers {
            // A sample is whole decode steps (or prefills): every layer and
            // the head in one command buffer.
            sample_kernel(
                gpu,
                &Dispatch::chain(&model.steps),
                tokens as f64,
                plan,
                observer,
                &mut check,
            )?
        } else {
            let layer_samples = sample_kernel(
                gpu,
                &Dispatch::chain(model.layers()),
                1.0,
                plan,
                observer,
                &mut check,
            )?;
            // The head's samples pair with the layers'; a sustained run's
            // series is the layers' (which dominate), its head sampled as
            // usual.
            let head_samples = sample_kernel(
                gpu,
                &Dispatch::chain(model.head()),
                1.0,
                &plan.without_sustain(),
                &mut MeasuringOnly(observer),
                &mut || Ok(()),
            )?;
            // Per pass: the layers run scaled to the model, plus the head.
            let scale = p.layers as f64 / run.count as f64;
            layer_samples
                .iter()
                .zip(head_samples.iter().cycle())
                .map(|(l, h)| Sample {
                    work: tokens as f64,
                    seconds: l.seconds / l.work * scale + h.seconds / h.work,
                    at: l.at,
                })
                .collect()
        };
        check()?;
        let mut params = serde_json::Map::new();
        params.insert("preset".into(), json!(p.name));
        params.insert("weights".into(), json!(self.weights.weights_name()));
        params.insert("batch".into(), json!(batch));
        params.insert("tokens_per_pass".into(), json!(tokens));
        // What the tokens sell as: `value` prices output tokens.
        let sold = match self.phase {
            Phase::Decode => "output",
            Phase::Prefill => "prompt",
        };
        params.insert("tokens".into(), json!(sold));
        match self.phase {
            Phase::Decode => {
                params.insert("context".into(), json!(self.context));
                let cached = pass.sequences.iter().map(|s| s.len - 1);
                params.insert("context_min".into(), json!(cached.clone().min()));
                params.insert("context_max".into(), json!(cached.max()));
                let memory = self.memory(batch);
                params.insert("model_bytes".into(), json!(memory.weights));
                params.insert("kv_cache_bytes".into(), json!(memory.kv_cache));
            }
            Phase::Prefill => {
                params.insert("context".into(), json!(p.prompt));
            }
        }
        params.insert("path".into(), json!(kernels.path()));
        let names: Vec<String> = candidates
            .iter()
            .map(|k| k.variant(gpu) + &decode.name(self.phase))
            .collect();
        verified.record(&mut params, &names, self.unit());
        if let Some(failed) = decode_failed {
            let listed = params.entry("variants_failed").or_insert_with(|| json!([]));
            if let Some(list) = listed.as_array_mut() {
                list.push(json!(failed.trim_start_matches("; ")));
            }
        }
        if self.phase == Phase::Decode {
            if let Some(gemv) = decode.gemv {
                params.insert("gemv_variant".into(), json!(gemv.name()));
            }
            params.insert("attention_variant".into(), json!(decode.attention.name()));
        }
        params.insert("layers".into(), json!(p.layers));
        params.insert("layers_run".into(), json!(run.count));
        params.insert("layers_run_why".into(), json!(run.why));
        params.insert("fused".into(), json!(FUSED));
        params.insert("hidden".into(), json!(p.hidden));
        params.insert("ffn".into(), json!(p.ffn));
        params.insert("heads".into(), json!(p.heads));
        params.insert("kv_heads".into(), json!(KV_HEADS));
        params.insert("head_dim".into(), json!(DIM));
        params.insert("vocab".into(), json!(p.vocab));
        // Decode reads every weight once per step of the batch: its GB/s of
        // weights is the figure to hold against copy-bandwidth; a step
        // lasts batch / throughput, the time each user waits for a token.
        let model_bytes = self.layer_bytes() * p.layers as f64 + head.matrix.bytes();
        let also = match self.phase {
            Phase::Decode => vec![
                AlsoReported {
                    unit: "GB/s",
                    factor: model_bytes / 1e9 / tokens as f64,
                    inverse: false,
                },
                AlsoReported {
                    unit: MS_PER_TOKEN,
                    factor: 1e3 * tokens as f64,
                    inverse: true,
                },
            ],
            Phase::Prefill => Vec::new(),
        };
        Ok(Measurement {
            params,
            samples,
            also,
            check: format!(
                "the residual stream after {} for {} of {tokens} tokens{} against f64 CPU \
                 layers, then the final norm and {CHECKED_LOGITS} logits of the GPU's last \
                 stream, before and after timing: relative error {error:.1e} (bound {:.0e}); \
                 {}{}",
                if cpu.layers == 1 {
                    "the first layer".to_string()
                } else {
                    format!("all {} layers run", cpu.layers)
                },
                checked.len(),
                match self.phase {
                    Phase::Decode => " (sequences at different positions)",
                    Phase::Prefill => "",
                },
                kernels.bound() * cpu.layers as f64,
                run.why,
                if run.count == p.layers {
                    "; each sample whole steps, every layer and the head in one command buffer"
                } else {
                    "; layers' time scaled to the model, plus the head's"
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(phase: Phase, weights: Format, batch: usize) -> Llm {
        let preset = Preset::named("tiny").unwrap();
        Llm {
            phase,
            preset,
            weights,
            batch: Batch::Sequences(batch),
            context: preset.context,
        }
    }

    /// The tiny preset, every weight format, prefill and decode at batches
    /// of 1, 3 and 8 (sequences of uneven lengths, 75 to 125 tokens): all
    /// its layers run, in one chain with the head; decode's residual
    /// stream after all of them checked against the CPU's layers for
    /// sequences at different positions (prefill's after the first, for
    /// every token of the prompt); and three layers (an odd count, past
    /// the fewest) in decode of Q8_0.
    #[test]
    fn tiny_layers_match_the_cpu_layer() {
        let gpu = crate::gpu::default_for_tests();
        let run = |llm: &Llm| {
            let plan = SamplePlan::single();
            let outcome = llm.run_with(&gpu, &plan, &mut crate::measure::Unobserved, None, None);
            let shape = llm.shape().unwrap_or_default();
            let measurement = outcome.unwrap_or_else(|e| panic!("{shape}: {e}"));
            let layers = llm.preset.layers;
            assert_eq!(measurement.params["layers_run"], layers, "{shape}");
            let checked = match llm.phase {
                Phase::Decode => format!("after all {layers} layers"),
                Phase::Prefill => "after the first layer".to_string(),
            };
            assert!(
                measurement.check.contains(&checked),
                "{shape}: {}",
                measurement.check
            );
        };
        for weights in [Format::F16, Format::Q8, Format::Q4] {
            run(&tiny(Phase::Prefill, weights, 1));
            for batch in [1, 3, 8] {
                run(&tiny(Phase::Decode, weights, batch));
            }
        }
        let mut three = tiny(Phase::Decode, Format::Q8, 3);
        three.preset.layers = 3;
        run(&three);
    }

    /// Every GEMV and decode-attention variant inside the tiny model's
    /// decode step, checked through all its layers: paired off (GEMV i
    /// with attention i, cycling the shorter list) at a batch of one, and
    /// each attention variant at a batch of three (no GEMV there).
    #[test]
    fn every_decode_variant_runs_inside_the_model() {
        let gpu = crate::gpu::default_for_tests();
        let run = |llm: &Llm, decode: DecodeKernels| {
            let plan = SamplePlan::single();
            let unobserved = &mut crate::measure::Unobserved;
            let outcome = llm.run_with(&gpu, &plan, unobserved, None, Some(decode));
            let measurement = outcome.unwrap_or_else(|e| panic!("{decode:?}: {e}"));
            let variant = measurement.params["variant"].as_str().unwrap().to_string();
            assert!(variant.contains(&decode.attention.name()), "{variant}");
        };
        let one = tiny(Phase::Decode, Format::Q4, 1);
        let p = one.preset;
        let gemvs = gemv::gemv_variants(&gpu, Format::Q4, [p.ffn as u32, p.hidden as u32]);
        let attentions = attention::decode_variants(&gpu);
        assert!(attentions.len() > 1 || !gpu.summary.subgroups);
        for i in 0..gemvs.len().max(attentions.len()) {
            let decode = DecodeKernels {
                gemv: Some(gemvs[i % gemvs.len()]),
                attention: attentions[i % attentions.len()],
            };
            run(&one, decode);
        }
        let three = tiny(Phase::Decode, Format::Q4, 3);
        for &attention in &attentions {
            run(
                &three,
                DecodeKernels {
                    gemv: None,
                    attention,
                },
            );
        }
    }

    /// The residual add fused with the RMSNorm after it, against the CPU:
    /// 3 rows of 300 (not a multiple of the workgroup's 64 lanes), the
    /// norm of the rows from the second only (prefill's last rows).
    #[test]
    fn fused_add_rmsnorm_matches_the_cpu() {
        let gpu = crate::gpu::default_for_tests();
        let (rows, cols, first) = (3, 300, 1);
        let (a, b) = (random_f32(1, rows * cols), random_f32(2, rows * cols));
        let weight: Vec<f32> = random_f32(3, cols).iter().map(|v| 1.0 + 0.1 * v).collect();
        let params = gpu.upload("params", &[rows as u32, 0, cols as u32, first as u32]);
        let (a_buffer, b_buffer) = (gpu.upload("a", &a), gpu.upload("b", &b));
        let weight_buffer = gpu.upload("weight", &weight);
        let sum = gpu.output("sum", (rows * cols * 4) as u64);
        let normed = gpu.output("normed", ((rows - first) * cols * 4) as u64);
        let kernel = gpu
            .kernel_at(
                "add_rmsnorm",
                OPS,
                "add_rmsnorm",
                &[],
                &[
                    (0, &params),
                    (2, &sum),
                    (3, &a_buffer),
                    (4, &b_buffer),
                    (12, &normed),
                    (13, &weight_buffer),
                ],
            )
            .unwrap();
        gpu.poison(&sum);
        gpu.poison(&normed);
        gpu.run_timed(&kernel.dispatch(gpu.workgroup_grid(rows as u64)), &[])
            .unwrap();
        let expected_sum: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| f64::from(x) + f64::from(y))
            .collect();
        let got: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&sum).unwrap());
        verify("add", &got, &expected_sum, 1e-7).unwrap();
        let expected_normed: Vec<f64> = expected_sum[first * cols..]
            .chunks(cols)
            .flat_map(|row| reference::final_norm(row, &weight))
            .collect();
        let got: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&normed).unwrap());
        verify("rmsnorm", &got, &expected_normed, 1e-6).unwrap();
    }

    /// All layers where the memory holds them, else as many as fit, never
    /// fewer than two; two where the memory is unknown; on a CPU adapter
    /// 256 MiB of layers (the tiny preset whole, two of Llama 3 8B).
    #[test]
    fn a_run_builds_the_layers_that_fit() {
        const GB: u64 = 1_000_000_000;
        let memory = |gb: u64| LayerBudget::Memory {
            bytes: gb * GB,
            source: "a test".into(),
        };
        // The bytes a run of `batch` (at 4096 tokens of context) counts.
        let of_batch = |preset: &str, weights, phase, batch: usize| {
            let llm = Llm {
                phase,
                preset: Preset::named(preset).unwrap(),
                weights,
                batch: Batch::Sequences(batch),
                context: 4096,
            };
            let (layer, other) = llm.run_bytes(&llm.pass(batch), &[LayerKernels::Portable]);
            move |budget: &LayerBudget| {
                layers_that_fit(llm.preset.layers, layer, other, budget).count
            }
        };
        let of = |preset: &str, weights, phase| of_batch(preset, weights, phase, 1);
        // Llama 3 8B in f16 (16 GB) on an H200's 141 GB: all 32, at a batch
        // of one and of 200 (whose KV caches take 107 GB: the
        // attention's partial results grow with the batch, not its square).
        let llama8 = of("llama3-8b", Format::F16, Phase::Decode);
        assert_eq!(llama8(&memory(141)), 32);
        let llama8_batched = of_batch("llama3-8b", Format::F16, Phase::Decode, 200);
        assert_eq!(llama8_batched(&memory(141)), 32);
        // Llama 3 70B in Q4_0 (about 40 GB) on 80 GB: all 80; in f16 (141
        // GB), prefill on 80 GB runs what fits.
        let llama70_q4 = of("llama3-70b", Format::Q4, Phase::Decode);
        assert_eq!(llama70_q4(&memory(80)), 80);
        let llama70_f16 = of("llama3-70b", Format::F16, Phase::Prefill);
        let fit = llama70_f16(&memory(80));
        assert!((40..80).contains(&fit), "{fit}");
        // Unknown memory, a CPU adapter, a memory too small for one layer.
        assert_eq!(llama8(&LayerBudget::Unknown), 2);
        assert_eq!(llama8(&LayerBudget::CpuAdapter), 2);
        assert_eq!(llama8(&memory(1)), 2);
        let tiny = of("tiny", Format::F16, Phase::Decode);
        assert_eq!(tiny(&LayerBudget::CpuAdapter), 2);
        // The reason names the count and the memory.
        let run = layers_that_fit(80, GB, 2 * GB, &memory(80));
        assert_eq!(run.count, 74);
        assert!(
            run.why.starts_with("memory: 74 of 80 layers run"),
            "{}",
            run.why
        );
        assert!(run.why.contains("80.0 GB (a test)"), "{}", run.why);
        let all = layers_that_fit(32, GB, 2 * GB, &memory(141));
        assert!(all.why.starts_with("all 32 layers run"), "{}", all.why);
    }

    /// The tiny preset on cooperative matrices, forced, against the CPU
    /// layer: prefill in every weight format, and decode of a batch of 17
    /// (one token past a tile) in f16 and Q4_0. Without them (Mesa 22.3)
    /// the run keeps the portable kernels.
    #[test]
    fn tiny_coop_layers_match_the_cpu_layer() {
        let gpu = crate::gpu::default_for_tests();
        let Some(coop) = crate::gpu::coop::shape_for_tests(&gpu) else {
            for (phase, tokens) in [(Phase::Prefill, 100), (Phase::Decode, 17)] {
                let llm = tiny(phase, Format::F16, tokens);
                let candidates = llm
                    .kernel_candidates(&gpu, &SamplePlan::single(), tokens)
                    .unwrap();
                assert_eq!(candidates, [LayerKernels::Portable]);
            }
            return;
        };
        let plan = SamplePlan::single();
        let run = |llm: Llm, kernels: LayerKernels| {
            let outcome = llm.run_with(
                &gpu,
                &plan,
                &mut crate::measure::Unobserved,
                Some(kernels),
                None,
            );
            let measurement = outcome.unwrap_or_else(|e| panic!("{kernels:?}: {e}"));
            assert_eq!(measurement.params["path"], "cooperative-matrix");
        };
        for weights in [Format::F16, Format::Q8, Format::Q4] {
            let kernels =
                LayerKernels::CooperativeMatrix(gemm::COOP_TILINGS[0], attention::FLASH_TILINGS[0]);
            run(tiny(Phase::Prefill, weights, 1), kernels);
        }
        let tiling = SKINNY_TILINGS
            .into_iter()
            .find(|t| t.fits(&gpu, coop, 17))
            .expect("a skinny tiling that fits");
        for weights in [Format::F16, Format::Q4] {
            run(
                tiny(Phase::Decode, weights, 17),
                LayerKernels::CooperativeDecode(tiling, 17),
            );
        }
    }

    #[test]
    fn a_batch_spreads_its_sequences_around_the_context_one_after_another() {
        assert_eq!(contexts(1, 4096), [4096]);
        assert_eq!(contexts(3, 100), [75, 100, 125]);
        let pass = Pass::decode(3, 100);
        assert_eq!(pass.positions, [75, 100, 125]);
        let firsts: Vec<u32> = pass.sequences.iter().map(|s| s.first_row).collect();
        assert_eq!(firsts, [0, 76, 177]);
        // Each new token goes in its own sequence's last row.
        assert_eq!(pass.slots, [75, 176, 302]);
        assert_eq!(pass.cache_rows, 303);
    }

    #[test]
    fn batches_parse_as_a_list_or_max() {
        let parsed = parse_batches("1, 16,64,max,16").unwrap();
        assert_eq!(
            parsed,
            [
                Batch::Sequences(1),
                Batch::Sequences(16),
                Batch::Sequences(64),
                Batch::Largest {
                    up_to: LARGEST_BATCH
                }
            ]
        );
        for bad in ["0", "-1", "4097", "x", "", ",", "1.5"] {
            let error = parse_batches(bad).unwrap_err();
            assert!(matches!(error, Error::Usage(_)), "{bad}: {error}");
        }
    }

    /// What does not fit is refused before anything is allocated, naming
    /// the bytes; `--batch max` finds the edge.
    #[test]
    fn the_largest_batch_is_the_last_that_fits_the_memory() {
        let mut gpu = crate::gpu::default_for_tests();
        let preset = Preset::named("llama3-8b").unwrap();
        let llm = Llm {
            phase: Phase::Decode,
            preset,
            weights: Format::Q4,
            batch: Batch::Largest {
                up_to: LARGEST_BATCH,
            },
            context: 4096,
        };
        // Q4_0 weights and 10 sequences' caches, and no more.
        let needed = |batch| {
            let memory = llm.memory(batch);
            memory.weights + memory.kv_cache
        };
        assert!(needed(11) > needed(10));
        gpu.memory = Some(crate::gpu::DeviceMemory {
            bytes: needed(10) + 1,
            source: "a test".into(),
        });
        // Buffer limits are the adapter's: lavapipe's allow 10 sequences (84 MB of keys).
        assert_eq!(llm.largest_batch(&gpu, LARGEST_BATCH).unwrap(), 10);
        let error = llm.memory(11).check(&gpu, "batch 11").unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::Unsupported(_)), "{message}");
        assert!(
            message.contains(&format!("needs {} bytes", needed(11))) && message.contains("a test"),
            "{message}"
        );
        gpu.memory = Some(crate::gpu::DeviceMemory {
            bytes: needed(1) - 1,
            source: "a test".into(),
        });
        assert!(matches!(
            llm.largest_batch(&gpu, LARGEST_BATCH),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn unknown_presets_and_formats_are_usage_errors() {
        assert!(matches!(Preset::named("llama2"), Err(Error::Usage(_))));
        assert!(matches!(parse_weights("q5"), Err(Error::Usage(_))));
        assert_eq!(parse_weights("q4").unwrap(), Format::Q4);
    }

    #[test]
    fn rope_starts_unrotated_and_keeps_length() {
        let table = rope_table([0, 1]);
        assert!(table[..DIM / 2].iter().all(|[c, s]| *c == 1.0 && *s == 0.0));
        assert!(
            table
                .iter()
                .all(|[c, s]| (c * c + s * s - 1.0).abs() < 1e-6)
        );
    }
}
