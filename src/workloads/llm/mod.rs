//! `llm-decode` and `llm-prefill`: whole decoder layers of a Llama-shaped
//! model built from the kernels of the other workloads (RMSNorm, the QKV
//! projection, rotary embedding, attention over the KV cache, the output
//! projection, RMSNorm, the gated SiLU feed-forward), at a preset's real
//! dimensions with f16, Q8_0 or Q4_0 weights. Tokens per second for the
//! whole model = one token's (or one prompt's) pass through every layer
//! plus the final norm and the LM head.
//!
//! Decode runs one token at batch 1 after a cache of `context` tokens, with
//! the GEMV kernels; prefill runs a prompt of `prompt` tokens with the GEMM
//! kernels (quantised weights are dequantised to f16 before each GEMM, and
//! that is timed too). Two distinct layers are run (each with its own
//! weights, so the second does not find the first's in cache) and their
//! time is scaled to the model's layer count: the layers are identical in
//! shape, so the scaling is exact but for cache effects.

mod reference;
pub mod weights;

use serde_json::json;

use self::weights::{Layout, Matrix, OPS, Stream};
use super::attention::{self, Phase};
use super::check::{random_f32, verify};
use super::gemm::{self, Path, Precision};
use super::gemv::{self, Format};
use super::rows::{self, RowOp};
use super::timing::sample_kernel;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu, Kernel};
use crate::measure::{MeasuringOnly, Observer, Sample, SamplePlan};
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

/// A model's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub hidden: usize,
    pub ffn: usize,
    pub layers: usize,
    pub heads: usize,
    pub vocab: usize,
    /// Tokens in the KV cache before the decoded token.
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
        .find(|&f| weights_name(f) == name)
        .ok_or_else(|| Error::usage(format!("unknown weight format '{name}'; use f16, q8 or q4")))
}

/// The name `--weights` and result files use for a weight format.
fn weights_name(format: Format) -> &'static str {
    match format {
        Format::F16 => "f16",
        Format::Q8 => "q8",
        Format::Q4 => "q4",
        Format::F32 => "f32",
    }
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

/// The workload: a phase of one preset with one weight format.
#[derive(Debug, Clone)]
pub struct Llm {
    pub phase: Phase,
    pub preset: Preset,
    pub weights: Format,
}

/// (cos, sin) of each pair of dimensions at each position.
fn rope_table(positions: std::ops::Range<usize>) -> Vec<[f32; 2]> {
    positions
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
    /// The final norm's output (prefill: the last token's only).
    normed: wgpu::Buffer,
    /// The LM head's logits, in row chunks that fit a storage binding.
    logits: Vec<(usize, wgpu::Buffer)>,
    /// The LM head's weights (rows = vocabulary).
    head_matrix: Matrix,
    final_norm: Vec<f32>,
    /// Weight bytes one pass reads in one layer, and in the LM head.
    layer_bytes: f64,
    head_bytes: f64,
}

/// One kernel over its grid: a step of a layer or of the head.
type Step = (Kernel, [u32; 3]);

/// The LM head's kernels and what the check reads of them.
struct Head {
    steps: Vec<Step>,
    normed: wgpu::Buffer,
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
    /// The rotary (cos, sin) table of the positions this pass covers.
    rope: wgpu::Buffer,
    /// One f16 matrix every dequantised GEMM writes into (prefill of Q8_0
    /// and Q4_0 weights).
    dequantized: Option<wgpu::Buffer>,
}

/// Builds the kernels of one pass: the layer's steps and the head.
struct Builder<'a> {
    llm: &'a Llm,
    gpu: &'a Gpu,
    tokens: usize,
    /// The first position of this pass, and the KV cache's length after it.
    start: usize,
    cache_len: usize,
    scratch: Scratch,
}

impl<'a> Builder<'a> {
    /// `layer`: any layer, for the size of the largest matrix.
    fn new(llm: &'a Llm, gpu: &'a Gpu, layer: &Layer) -> Result<Builder<'a>> {
        let p = &llm.preset;
        let tokens = llm.tokens();
        let (start, cache_len) = match llm.phase {
            Phase::Decode => (p.context, p.context + 1),
            Phase::Prefill => (0, p.prompt),
        };
        let activation = |label: &str, width: usize| activation(gpu, tokens, label, width);
        let (hidden, ffn, q_dim, kv_dim) = (p.hidden, p.ffn, p.heads * DIM, KV_HEADS * DIM);
        let largest = layer
            .matrices()
            .iter()
            .map(|m| m.rows * m.cols)
            .max()
            .unwrap_or(0);
        let dequantized = if llm.phase == Phase::Prefill && llm.weights != Format::F16 {
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
            rope: gpu.upload("rope", &rope_table(start..start + tokens).concat()),
            dequantized,
        };
        Ok(Builder {
            llm,
            gpu,
            tokens,
            start,
            cache_len,
            scratch,
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

    /// One matrix product of `matrix` from `x` into `y`: a GEMV in decode,
    /// a GEMM in prefill (after dequantising Q8_0 and Q4_0 weights to f16).
    fn product(&self, matrix: &Matrix, x: &wgpu::Buffer, y: &wgpu::Buffer) -> Result<Vec<Step>> {
        let gpu = self.gpu;
        let buffers = matrix.upload(gpu)?;
        let (m, n, k) = (self.tokens as u32, matrix.rows as u32, matrix.cols as u32);
        let path = Path::best_for(gpu, Precision::F32);
        let types = [Precision::F32, Precision::F16];
        Ok(match (self.llm.phase, &self.scratch.dequantized) {
            (Phase::Decode, _) => {
                vec![gemv::gemv_kernel(
                    gpu,
                    self.llm.weights,
                    [n, k],
                    x,
                    y,
                    &buffers,
                )?]
            }
            (Phase::Prefill, None) => {
                vec![gemm::gemm_kernel(
                    gpu,
                    path,
                    types,
                    [m, n, k],
                    [x, &buffers[0], y],
                )?]
            }
            (Phase::Prefill, Some(scratch)) => vec![
                matrix.dequantize_kernel(gpu, &buffers, scratch)?,
                gemm::gemm_kernel(gpu, path, types, [m, n, k], [x, scratch, y])?,
            ],
        })
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
        let cache_words = self.cache_len * KV_HEADS * DIM / 2;
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
            [tokens as u32, 0, self.start as u32, p.heads as u32],
            tokens * (p.heads + KV_HEADS) * DIM / 2,
            &[
                (3, &s.k),
                (4, &s.v),
                (5, &s.q),
                (6, &k_cache),
                (7, &v_cache),
                (8, &s.rope),
            ],
        )?);
        steps.extend(attention::attention_kernels(
            gpu,
            self.llm.phase,
            self.cache_len as u32,
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

    /// The final norm of the last token of `last` and the LM head.
    fn head(&self, last: &wgpu::Buffer) -> Result<Head> {
        // The final norm of the last token, and the LM head in row chunks
        // that each fit one storage binding.
        let (gpu, p) = (self.gpu, &self.llm.preset);
        let (tokens, hidden) = (self.tokens, p.hidden);
        let mut head = Vec::new();
        let last_row = gpu.output("last row", (hidden * 4) as u64);
        head.push(self.ops(
            "copy",
            [hidden as u32, ((tokens - 1) * hidden) as u32, 0, 0],
            hidden,
            &[(2, &last_row), (3, last)],
        )?);
        let final_norm: Vec<f32> = random_f32(51, hidden)
            .iter()
            .map(|v| 1.0 + 0.1 * v)
            .collect();
        let final_norm_buffer = gpu.upload("final norm", &final_norm);
        let normed = gpu.output("final normed", (hidden * 4) as u64);
        head.push(rows::row_kernel(
            gpu,
            RowOp::RmsNorm,
            1,
            hidden as u32,
            &last_row,
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
        let row_bytes = head_matrix.largest_buffer() / p.vocab as u64;
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
            let out = gpu.output("logits", (rows * 4) as u64);
            head.push(gemv::gemv_kernel(
                gpu,
                self.llm.weights,
                [rows as u32, hidden as u32],
                &normed,
                &out,
                &buffers,
            )?);
            logits.push((first, out));
        }
        Ok(Head {
            steps: head,
            normed,
            logits,
            matrix: head_matrix,
            final_norm,
        })
    }
}

impl Llm {
    fn tokens(&self) -> usize {
        match self.phase {
            Phase::Decode => 1,
            Phase::Prefill => self.preset.prompt,
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
    fn build(&self, gpu: &Gpu, layers: &[Layer], x: &[f32]) -> Result<Model> {
        let builder = Builder::new(self, gpu, &layers[0])?;
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
            logits: head.logits,
            layer_bytes: layers[0].matrices().iter().map(|m| m.bytes()).sum(),
            head_bytes: head.matrix.bytes(),
            head_matrix: head.matrix,
            final_norm: head.final_norm,
        })
    }

    /// Runs the model once and compares the first layer's output (every
    /// token up to 64, else the first two: causal, so they depend on
    /// nothing later), the final norm and a spread of logits with the CPU.
    fn check(&self, gpu: &Gpu, model: &Model, cpu: &[Vec<f64>], checked: usize) -> Result<f64> {
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
        let error = verify(name, &after_first[..checked * hidden], &cpu.concat(), BOUND)?;
        // The final norm, from the GPU's own last stream.
        let last: Vec<f32> =
            bytemuck::pod_collect_to_vec(&gpu.download(model.streams.last().expect("stream"))?);
        let last_row: Vec<f64> = last[(self.tokens() - 1) * hidden..]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let normed: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(&model.normed)?);
        verify(
            name,
            &normed,
            &reference::final_norm(&last_row, &model.final_norm),
            BOUND,
        )?;
        // A spread of logits, from the GPU's own normed vector; each row
        // block of the head is read back once.
        let step = self.preset.vocab.div_ceil(CHECKED_LOGITS);
        let mut got = Vec::new();
        let mut expected = Vec::new();
        for (first, buffer) in &model.logits {
            let chunk: Vec<f32> = bytemuck::pod_collect_to_vec(&gpu.download(buffer)?);
            let weights = Matrix {
                rows: chunk.len(),
                seed: model.head_matrix.seed + *first as u32,
                ..model.head_matrix
            }
            .reader(false);
            for r in (first.next_multiple_of(step)..first + chunk.len()).step_by(step) {
                got.push(chunk[r - first]);
                let dot = (0..hidden)
                    .map(|c| f64::from(weights.value(r - first, c)) * f64::from(normed[c]));
                expected.push(dot.sum());
            }
        }
        verify(name, &got, &expected, BOUND)?;
        Ok(error)
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
            Phase::Decode => "whole-model decode at batch 1 over a KV cache (tokens/s)",
            Phase::Prefill => "whole-model prefill of a prompt (tokens/s)",
        }
    }

    fn unit(&self) -> Unit {
        Unit::TokensPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!(
            "{} {}",
            self.preset.name,
            weights_name(self.weights)
        ))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        if self.weights == Format::F32 {
            return Err(Error::Unsupported("LLM weights are f16, q8 or q4".into()));
        }
        let layers: Vec<Layer> = (0..self.layers_run())
            .map(|i| Layer::new(&self.preset, self.weights, self.layout(), i))
            .collect();
        let p = &self.preset;
        let tokens = self.tokens();
        let x = random_f32(50, tokens * p.hidden);
        let model = self.build(gpu, &layers, &x)?;
        // The CPU's first layer, on the tokens checked.
        let checked = if tokens <= 64 { tokens } else { 2 };
        let xs: Vec<Vec<f64>> = x
            .chunks(p.hidden)
            .take(checked)
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect();
        let (start, cache_words) = match self.phase {
            Phase::Decode => (p.context, p.context * KV_HEADS * DIM),
            Phase::Prefill => (0, 0),
        };
        let halves = Stream::Halves { exponent: 14 };
        let cached =
            |seed: u32| -> Vec<f32> { (0..cache_words).map(|i| halves.half(seed, i)).collect() };
        let first = &layers[0];
        let rounded = self.phase == Phase::Prefill && self.weights != Format::F16;
        let cpu = reference::layer(
            first,
            &xs,
            &cached(first.wq.seed + 10),
            &cached(first.wq.seed + 11),
            &rope_table(start..start + checked),
            rounded,
        );
        let error = self.check(gpu, &model, &cpu, checked)?;
        let layer_samples =
            sample_kernel(gpu, &Dispatch::chain(&model.layers), 1.0, plan, observer)?;
        let head_samples = sample_kernel(
            gpu,
            &Dispatch::chain(&model.head),
            1.0,
            plan,
            &mut MeasuringOnly(observer),
        )?;
        self.check(gpu, &model, &cpu, checked)?;
        // Per pass: the measured layers scaled to the model, plus the head.
        let scale = p.layers as f64 / self.layers_run() as f64;
        let samples: Vec<Sample> = layer_samples
            .iter()
            .zip(head_samples.iter().cycle())
            .map(|(l, h)| Sample {
                work: tokens as f64,
                seconds: l.seconds / l.work * scale + h.seconds / h.work,
            })
            .collect();
        let mut params = serde_json::Map::new();
        params.insert("preset".into(), json!(p.name));
        params.insert("weights".into(), json!(weights_name(self.weights)));
        params.insert("batch".into(), json!(1));
        params.insert("tokens_per_pass".into(), json!(tokens));
        params.insert(
            "context".into(),
            json!(match self.phase {
                Phase::Decode => p.context,
                Phase::Prefill => p.prompt,
            }),
        );
        params.insert("layers".into(), json!(p.layers));
        params.insert("layers_run".into(), json!(self.layers_run()));
        params.insert("hidden".into(), json!(p.hidden));
        params.insert("ffn".into(), json!(p.ffn));
        params.insert("heads".into(), json!(p.heads));
        params.insert("kv_heads".into(), json!(KV_HEADS));
        params.insert("vocab".into(), json!(p.vocab));
        if self.phase == Phase::Prefill {
            let path = Path::best_for(gpu, Precision::F32);
            params.insert("gemm_path".into(), json!(format!("{path:?}")));
        }
        // Decode reads every weight once per token: its GB/s of weights is
        // the figure to hold against copy-bandwidth.
        let model_bytes = model.layer_bytes * p.layers as f64 + model.head_bytes;
        let also = match self.phase {
            Phase::Decode => vec![AlsoReported {
                unit: "GB/s",
                factor: model_bytes / 1e9,
            }],
            Phase::Prefill => Vec::new(),
        };
        Ok(Measurement {
            params,
            samples,
            also,
            check: format!(
                "first layer's output for {checked} of {tokens} tokens, the final norm and \
                 {CHECKED_LOGITS} logits against an f64 CPU layer before and after timing: \
                 relative error {error:.1e} (bound {BOUND:.0e}); {} of {} layers run, time scaled",
                self.layers_run(),
                p.layers
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tiny preset, every weight format, both phases: the first layer
    /// checked in full against the CPU layer.
    #[test]
    fn tiny_layers_match_the_cpu_layer() {
        let gpu = crate::gpu::default_for_tests();
        let preset = Preset::named("tiny").unwrap();
        for phase in [Phase::Decode, Phase::Prefill] {
            for weights in [Format::F16, Format::Q8, Format::Q4] {
                let llm = Llm {
                    phase,
                    preset,
                    weights,
                };
                crate::workloads::assert_verifies(&gpu, &llm, "");
            }
        }
    }

    #[test]
    fn unknown_presets_and_formats_are_usage_errors() {
        assert!(matches!(Preset::named("llama2"), Err(Error::Usage(_))));
        assert!(matches!(parse_weights("q5"), Err(Error::Usage(_))));
        assert_eq!(parse_weights("q4").unwrap(), Format::Q4);
    }

    #[test]
    fn rope_starts_unrotated_and_keeps_length() {
        let table = rope_table(0..2);
        assert!(table[..DIM / 2].iter().all(|[c, s]| *c == 1.0 && *s == 0.0));
        assert!(
            table
                .iter()
                .all(|[c, s]| (c * c + s * s - 1.0).abs() < 1e-6)
        );
    }
}
