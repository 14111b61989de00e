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
use super::attention::{self, CachedSequence, Phase};
use super::check::{random_f32, verify};
use super::gemm::{self, Path, Precision};
use super::gemm_skinny::{
    COOP_FROM_TOKENS, SKINNY_TILINGS, SkinnyPath, SkinnyTiling, skinny_kernel,
};
use super::gemv::Format;
use super::rows::{self, RowOp};
use super::timing::sample_kernel;
use super::tuning;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu, Kernel};
use crate::measure::{MeasuringOnly, Observer, Sample, SamplePlan};
use crate::results::MS_PER_TOKEN;
use crate::{Error, Result};

/// Layers run and timed; the rest are scaled from them.
const MEASURED_LAYERS: usize = 2;
/// Llama 3's rotary base.
const ROPE_THETA: f64 = 500_000.0;
const DIM: usize = 128;
const KV_HEADS: usize = 8;
/// Logits checked against the CPU.
const CHECKED_LOGITS: usize = 64;

/// The layer's output is the input plus two projections, all f32 sums of
/// up to 28672 terms, through f16 keys and values both sides round alike:
/// errors near 1e-6 were seen on lavapipe.
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

/// Everything on the GPU for one run: the kernels of the timed layers and
/// of the head, and the buffers the check reads.
struct Model {
    layers: Vec<(Kernel, [u32; 3])>,
    head: Vec<(Kernel, [u32; 3])>,
    /// The residual stream before each layer and after the last.
    streams: Vec<wgpu::Buffer>,
    /// The final norm's output, one row per token through the head.
    normed: wgpu::Buffer,
    /// Tokens through the head: every sequence's (decode), or the
    /// prompt's last (prefill).
    head_tokens: usize,
    /// The LM head's logits, in row chunks that fit a storage binding,
    /// each tokens through the head x its rows.
    logits: Vec<(usize, wgpu::Buffer)>,
    /// The LM head's weights (rows = vocabulary).
    head_matrix: Matrix,
    final_norm: Vec<f32>,
    /// Weight bytes one pass reads in one layer, and in the LM head.
    layer_bytes: f64,
    head_bytes: f64,
    /// The check's bound for the kernels the layers run.
    bound: f64,
}

/// One kernel over its grid: a step of a layer or of the head.
type Step = (Kernel, [u32; 3]);

/// The LM head's kernels and what the check reads of them.
struct Head {
    steps: Vec<Step>,
    normed: wgpu::Buffer,
    tokens: usize,
    logits: Vec<(usize, wgpu::Buffer)>,
    matrix: Matrix,
    final_norm: Vec<f32>,
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

/// Builds the kernels of one pass: the layer's steps and the head.
struct Builder<'a> {
    llm: &'a Llm,
    gpu: &'a Gpu,
    pass: &'a Pass,
    tokens: usize,
    scratch: Scratch,
    kernels: LayerKernels,
}

impl<'a> Builder<'a> {
    /// `layer`: any layer, for the size of the largest matrix.
    fn new(
        llm: &'a Llm,
        gpu: &'a Gpu,
        layer: &Layer,
        pass: &'a Pass,
        kernels: LayerKernels,
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
        let dequantized = if llm.phase == Phase::Prefill
            && llm.weights != Format::F16
            && kernels == LayerKernels::Portable
        {
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

    /// An element-wise kernel of llm_ops.wgsl: one invocation per element.
    fn each(&self, entry: &str, count: usize, bindings: &[(u32, &wgpu::Buffer)]) -> Result<Step> {
        self.ops(entry, [count as u32, 0, 0, 0], count, bindings)
    }

    /// One matrix product of `matrix` from `x` into `y`: a skinny GEMM (a
    /// GEMV at batch 1) in decode, a GEMM in prefill (after dequantising Q8_0 and Q4_0 weights to f16).
    fn product(&self, matrix: &Matrix, x: &wgpu::Buffer, y: &wgpu::Buffer) -> Result<Vec<Step>> {
        let gpu = self.gpu;
        let buffers = matrix.upload(gpu)?;
        let (m, n, k) = (self.tokens as u32, matrix.rows as u32, matrix.cols as u32);
        let path = match self.kernels {
            LayerKernels::CooperativeMatrix(tiling, _) => Path::CooperativeMatrix(tiling),
            _ => Path::portable_for(gpu),
        };
        let types = [Precision::F32, Precision::F16];
        Ok(
            match (self.llm.phase, self.kernels, &self.scratch.dequantized) {
                (Phase::Decode, _, _) => {
                    vec![skinny_kernel(
                        gpu,
                        self.kernels.skinny(),
                        self.llm.weights,
                        [m, n, k],
                        x,
                        y,
                        &buffers,
                    )?]
                }
                (Phase::Prefill, _, Some(scratch)) => vec![
                    matrix.dequantize_kernel(gpu, &buffers, scratch)?,
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

    /// One decoder layer from `input` into `output`: attention with its
    /// residual, then the feed-forward block with its residual.
    fn layer(
        &self,
        layer: &Layer,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<Vec<Step>> {
        let (gpu, p, s) = (self.gpu, &self.llm.preset, &self.scratch);
        let (tokens, hidden) = (self.tokens, p.hidden);
        for matrix in layer.matrices() {
            gpu.check_fits(
                &format!("{} weights", self.llm.name()),
                matrix.largest_buffer(),
            )?;
        }
        let cache_words = self.pass.cache_rows * KV_HEADS * DIM / 2;
        gpu.check_fits(
            &format!("{} KV cache of one layer", self.llm.name()),
            (cache_words * 4) as u64,
        )?;
        let halves = Stream::Halves { exponent: 14 };
        let k_cache = halves.upload(gpu, "k cache", layer.wq.seed + 10, cache_words)?;
        let v_cache = halves.upload(gpu, "v cache", layer.wq.seed + 11, cache_words)?;
        let attention_norm = gpu.upload("norm", &layer.attention_norm);
        let ffn_norm = gpu.upload("norm", &layer.ffn_norm);
        let norm = |x: &wgpu::Buffer, weight: &wgpu::Buffer| {
            rows::row_kernel(
                gpu,
                RowOp::RmsNorm,
                tokens as u32,
                hidden as u32,
                x,
                &s.normed,
                Some(weight),
            )
        };
        let mut steps = vec![norm(input, &attention_norm)?];
        steps.extend(self.product(&layer.wq, &s.normed, &s.q)?);
        steps.extend(self.product(&layer.wk, &s.normed, &s.k)?);
        steps.extend(self.product(&layer.wv, &s.normed, &s.v)?);
        // One invocation per (token, query or KV head, pair of dims).
        steps.push(self.ops(
            "rope_kv",
            [tokens as u32, 0, 0, p.heads as u32],
            tokens * (p.heads + KV_HEADS) * DIM / 2,
            &[
                (3, &s.k),
                (4, &s.v),
                (5, &s.q),
                (6, &k_cache),
                (7, &v_cache),
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
            &self.pass.sequences,
            p.heads as u32,
            [&s.q, &k_cache, &v_cache, &s.attended],
        )?);
        steps.extend(self.product(&layer.wo, &s.attended, &s.projected)?);
        steps.push(self.each(
            "add",
            tokens * hidden,
            &[(2, &s.mid), (3, input), (4, &s.projected)],
        )?);
        steps.push(norm(&s.mid, &ffn_norm)?);
        steps.extend(self.product(&layer.wg, &s.normed, &s.gate)?);
        steps.extend(self.product(&layer.wu, &s.normed, &s.up)?);
        steps.push(self.each(
            "silu_mul",
            tokens * p.ffn,
            &[(2, &s.gated), (3, &s.gate), (4, &s.up)],
        )?);
        steps.extend(self.product(&layer.wd, &s.gated, &s.down)?);
        steps.push(self.each(
            "add",
            tokens * hidden,
            &[(2, output), (3, &s.mid), (4, &s.down)],
        )?);
        Ok(steps)
    }

    /// The final norm and the LM head of the tokens that need logits:
    /// each sequence's one (decode), or the prompt's last (prefill).
    fn head(&self, last: &wgpu::Buffer) -> Result<Head> {
        // The final norm of those tokens, and the LM head in row chunks
        // that each fit one storage binding.
        let (gpu, p) = (self.gpu, &self.llm.preset);
        let (tokens, hidden) = (self.tokens, p.hidden);
        let head_tokens = match self.llm.phase {
            Phase::Decode => tokens,
            Phase::Prefill => 1,
        };
        let mut head = Vec::new();
        let last_rows = gpu.output("last rows", (head_tokens * hidden * 4) as u64);
        head.push(self.ops(
            "copy",
            [
                (head_tokens * hidden) as u32,
                ((tokens - head_tokens) * hidden) as u32,
                0,
                0,
            ],
            head_tokens * hidden,
            &[(2, &last_rows), (3, last)],
        )?);
        let final_norm: Vec<f32> = random_f32(51, hidden)
            .iter()
            .map(|v| 1.0 + 0.1 * v)
            .collect();
        let final_norm_buffer = gpu.upload("final norm", &final_norm);
        let normed = gpu.output("final normed", (head_tokens * hidden * 4) as u64);
        head.push(rows::row_kernel(
            gpu,
            RowOp::RmsNorm,
            head_tokens as u32,
            hidden as u32,
            &last_rows,
            &normed,
            Some(&final_norm_buffer),
        )?);
        let head_matrix = Matrix {
            rows: p.vocab,
            cols: hidden,
            format: self.llm.weights,
            layout: Layout::Rows,
            seed: 7,
        };
        let limit = gpu
            .summary
            .limits
            .max_storage_buffer_binding_size
            .min(gpu.summary.limits.max_buffer_size);
        // A row's weights, or its logits for every token, whichever is more.
        let row_bytes = (head_matrix.largest_buffer() / p.vocab as u64).max(head_tokens as u64 * 4);
        let chunk_rows = ((limit / row_bytes) as usize / 64 * 64)
            .min(p.vocab)
            .max(64);
        let mut logits = Vec::new();
        for first in (0..p.vocab).step_by(chunk_rows) {
            let rows = chunk_rows.min(p.vocab - first);
            let chunk = Matrix {
                rows,
                seed: head_matrix.seed + first as u32,
                ..head_matrix
            };
            let buffers = chunk.upload(gpu)?;
            let out = gpu.output("logits", (head_tokens * rows * 4) as u64);
            head.push(skinny_kernel(
                gpu,
                self.kernels.skinny(),
                self.llm.weights,
                [head_tokens as u32, rows as u32, hidden as u32],
                &normed,
                &out,
                &buffers,
            )?);
            logits.push((first, out));
        }
        Ok(Head {
            steps: head,
            normed,
            tokens: head_tokens,
            logits,
            matrix: head_matrix,
            final_norm,
        })
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

    fn layers_run(&self) -> usize {
        self.preset.layers.min(MEASURED_LAYERS)
    }

    /// `x`: the input tokens' hidden states.
    fn build(
        &self,
        gpu: &Gpu,
        layers: &[Layer],
        x: &[f32],
        pass: &Pass,
        kernels: LayerKernels,
    ) -> Result<Model> {
        let builder = Builder::new(self, gpu, &layers[0], pass, kernels)?;
        let mut streams = vec![gpu.upload("x", x)];
        let mut steps = Vec::new();
        for layer in layers {
            let input = streams.last().expect("the input stream");
            let output = builder.activation("stream", self.preset.hidden);
            steps.extend(builder.layer(layer, input, &output)?);
            streams.push(output);
        }
        let head = builder.head(streams.last().expect("the output stream"))?;
        Ok(Model {
            layers: steps,
            head: head.steps,
            streams,
            normed: head.normed,
            head_tokens: head.tokens,
            logits: head.logits,
            layer_bytes: layers[0].matrices().iter().map(|m| m.bytes()).sum(),
            head_bytes: head.matrix.bytes(),
            head_matrix: head.matrix,
            final_norm: head.final_norm,
            bound: kernels.bound(),
        })
    }

    /// Runs the model once and compares the first layer's output for the
    /// `checked` tokens (`cpu`, in that order) with the CPU's, then the
    /// final norm of the last token through the head and a spread of its
    /// logits.
    fn check(&self, gpu: &Gpu, model: &Model, cpu: &[Vec<f64>], checked: &[usize]) -> Result<f64> {
        let name = self.name();
        for buffer in model.streams.iter().skip(1).chain([&model.normed]) {
            gpu.poison(buffer);
        }
        for (_, buffer) in &model.logits {
            gpu.poison(buffer);
        }
        gpu.run_timed(&Dispatch::chain(&model.layers), &[])?;
        gpu.run_timed(&Dispatch::chain(&model.head), &[])?;
        let hidden = self.preset.hidden;
        let after_first: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&model.streams[1])?);
        let got: Vec<f32> = checked
            .iter()
            .flat_map(|&t| after_first[t * hidden..(t + 1) * hidden].iter().copied())
            .collect();
        let error = verify(name, &got, &cpu.concat(), model.bound)?;
        // The final norm of the last token through the head, from the
        // GPU's own last stream.
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
            &reference::final_norm(&last_row, &model.final_norm),
            model.bound,
        )?;
        // A spread of that token's logits, from the GPU's own normed
        // vector; each row block of the head is read back once.
        let step = self.preset.vocab.div_ceil(CHECKED_LOGITS);
        let mut got = Vec::new();
        let mut expected = Vec::new();
        for (first, buffer) in &model.logits {
            let chunk: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(buffer)?);
            let rows = chunk.len() / model.head_tokens;
            let chunk = &chunk[(model.head_tokens - 1) * rows..];
            let weights = Matrix {
                rows,
                seed: model.head_matrix.seed + *first as u32,
                ..model.head_matrix
            }
            .reader(false);
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

    /// The tokens whose first-layer output the CPU checks. Decode: the
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

    /// The CPU's first layer on the `checked` tokens of `x`.
    fn cpu_layer(&self, first: &Layer, x: &[f32], pass: &Pass, checked: &[usize]) -> Vec<Vec<f64>> {
        let hidden = self.preset.hidden;
        let row = |t: usize| -> Vec<f64> {
            x[t * hidden..(t + 1) * hidden]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        };
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
                .map(|&t| {
                    let sequence = pass.sequences[t];
                    let (first_row, cached_rows) =
                        (sequence.first_row as usize, sequence.len as usize - 1);
                    reference::Sequence {
                        xs: vec![row(t)],
                        cached_k: cached(first.wq.seed + 10, first_row, cached_rows),
                        cached_v: cached(first.wq.seed + 11, first_row, cached_rows),
                        rope: rope_table([pass.positions[t]]),
                    }
                })
                .collect(),
            // The prompt's first tokens, from an empty cache.
            Phase::Prefill => vec![reference::Sequence {
                xs: checked.iter().map(|&t| row(t)).collect(),
                cached_k: Vec::new(),
                cached_v: Vec::new(),
                rope: rope_table(checked.iter().map(|&t| pass.positions[t])),
            }],
        };
        reference::layer(first, &sequences, rounded)
    }
}

/// What a decode batch needs of the adapter: the whole model's weights and
/// every layer's KV caches in its memory (the run allocates two layers; a
/// server holds them all), and buffers within its limits.
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
        let chunks = (self.context * 5 / 4 + 1).div_ceil(64) as u64;
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
                    batch as u64 * p.heads as u64 * chunks * (DIM as u64 + 2) * 4,
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
        self.run_with(gpu, plan, observer, None)
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

    /// [`Workload::run`], with the layer's kernels forced (tests) or, for
    /// `None`, the fastest candidate that passes its check.
    fn run_with(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
        forced: Option<LayerKernels>,
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
        let layers: Vec<Layer> = (0..self.layers_run())
            .map(|i| Layer::new(&self.preset, self.weights, self.layout(), i))
            .collect();
        let p = &self.preset;
        let tokens = pass.tokens;
        let x = random_f32(50, tokens * p.hidden);
        let candidates = match forced {
            Some(kernels) => vec![kernels],
            None => self.kernel_candidates(gpu, plan, tokens)?,
        };
        let mut models = Vec::new();
        for &kernels in &candidates {
            models.push(self.build(gpu, &layers, &x, &pass, kernels)?);
        }
        let checked = self.checked_tokens(&pass);
        let cpu = self.cpu_layer(&layers[0], &x, &pass, &checked);
        let probes: Vec<_> = models
            .iter()
            .map(|m| (Dispatch::chain(&m.layers), tokens as f64))
            .collect();
        let verified = tuning::choose(gpu, plan, &probes, |i| {
            self.check(gpu, &models[i], &cpu, &checked)
        })?;
        drop(probes);
        let (chosen, error) = (verified.index, verified.error);
        let kernels = candidates[chosen];
        let model = models.swap_remove(chosen);
        drop(models);
        let layer_samples = sample_kernel(
            gpu,
            &Dispatch::chain(&model.layers),
            1.0,
            plan,
            observer,
            &mut || self.check(gpu, &model, &cpu, &checked).map(|_| ()),
        )?;
        // The head's samples pair with the layers'; a sustained run's
        // series is the layers' (which dominate), its head sampled as usual.
        let head_samples = sample_kernel(
            gpu,
            &Dispatch::chain(&model.head),
            1.0,
            &plan.without_sustain(),
            &mut MeasuringOnly(observer),
            &mut || Ok(()),
        )?;
        self.check(gpu, &model, &cpu, &checked)?;
        // Per pass: the measured layers scaled to the model, plus the head.
        let scale = p.layers as f64 / self.layers_run() as f64;
        let samples: Vec<Sample> = layer_samples
            .iter()
            .zip(head_samples.iter().cycle())
            .map(|(l, h)| Sample {
                work: tokens as f64,
                seconds: l.seconds / l.work * scale + h.seconds / h.work,
                at: l.at,
            })
            .collect();
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
        let names: Vec<String> = candidates.iter().map(|k| k.variant(gpu)).collect();
        verified.record(&mut params, &names, self.unit());
        params.insert("layers".into(), json!(p.layers));
        params.insert("layers_run".into(), json!(self.layers_run()));
        params.insert("hidden".into(), json!(p.hidden));
        params.insert("ffn".into(), json!(p.ffn));
        params.insert("heads".into(), json!(p.heads));
        params.insert("kv_heads".into(), json!(KV_HEADS));
        params.insert("head_dim".into(), json!(DIM));
        params.insert("vocab".into(), json!(p.vocab));
        // Decode reads every weight once per step of the batch: its GB/s of
        // weights is the figure to hold against copy-bandwidth; a step
        // lasts batch / throughput, the time each user waits for a token.
        let model_bytes = model.layer_bytes * p.layers as f64 + model.head_bytes;
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
                "first layer's output for {} of {tokens} tokens{}, the final norm and \
                 {CHECKED_LOGITS} logits against an f64 CPU layer before and after timing: \
                 relative error {error:.1e} (bound {:.0e}); {} of {} layers run, time scaled",
                checked.len(),
                match self.phase {
                    Phase::Decode => " (sequences at different positions)",
                    Phase::Prefill => "",
                },
                kernels.bound(),
                self.layers_run(),
                p.layers
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
    /// of 1, 3 and 8 (sequences of uneven lengths, 75 to 125 tokens):
    /// the first layer checked against the CPU layer for sequences at
    /// different positions.
    #[test]
    fn tiny_layers_match_the_cpu_layer() {
        let gpu = crate::gpu::default_for_tests();
        for weights in [Format::F16, Format::Q8, Format::Q4] {
            crate::workloads::assert_verifies(&gpu, &tiny(Phase::Prefill, weights, 1), "");
            for batch in [1, 3, 8] {
                let llm = tiny(Phase::Decode, weights, batch);
                crate::workloads::assert_verifies(&gpu, &llm, "");
            }
        }
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
            let outcome = llm.run_with(&gpu, &plan, &mut crate::measure::Unobserved, Some(kernels));
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
