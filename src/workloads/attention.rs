//! `attention-decode` and `attention-prefill`: grouped-query attention as
//! Llama 3 8B has it (32 query heads over 8 KV heads, head dimension 128,
//! keys and values cached in f16).
//!
//! Decode reads the whole KV cache for one token: memory-bound, reported
//! in GB/s of keys and values read (and GFLOP/s). Prefill attends a prompt
//! to itself causally: compute-bound, reported in GFLOP/s of the causal
//! half only (no credit for masked work).
//!
//! Prefill has two kernels ([`PrefillPath`]): the portable one (f32
//! arithmetic, any adapter, prompts a multiple of 16) and flash attention
//! on cooperative matrices (tensor cores; f16 Q and P, f32 sums; any
//! prompt length) in the [`FLASH_TILINGS`]. Where the adapter has
//! cooperative matrices the run probes them all on its own shape and keeps
//! the fastest that passes its check.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{CoopShape, Dispatch, Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const DECODE: &str = concat!(
    include_str!("../../shaders/attention_decode_common.wgsl"),
    include_str!("../../shaders/attention_decode.wgsl")
);
const DECODE_SPLIT: &str = concat!(
    include_str!("../../shaders/attention_decode_common.wgsl"),
    include_str!("../../shaders/attention_decode_split.wgsl")
);
const PREFILL: &str = include_str!("../../shaders/attention_prefill.wgsl");
const FLASH: &str = include_str!("../../shaders/attention_flash.wgsl");

pub const HEADS: usize = 32;
pub const KV_HEADS: usize = 8;
pub const DIM: usize = 128;
/// Keys per workgroup of the per-key decode kernel; values per (head,
/// chunk) record of its partial results.
const CHUNK: usize = 64;
const RECORD: usize = DIM + 2;
/// The split-K decode kernel's record: (max, sum, two unused) and the
/// outputs, as vec4s.
const SPLIT_RECORD: usize = DIM + 4;
/// Invocations per workgroup of the split-K decode kernel's partial pass.
const SPLIT_WORKGROUP: u32 = 128;
/// Keys per workgroup the split-K decode kernel is tried at: more keys
/// mean fewer partial records to combine (a cache of 32768 leaves 512 per
/// head at 64), fewer mean more workgroups for a short cache. Largest
/// first: where a slow adapter spends the tuning budget before the last
/// (lavapipe, whose launch at 32768 keys takes a second), it has probed
/// the one that was fastest there (twice the default at 4096 keys).
pub const SPLIT_CHUNKS: [u32; 3] = [1024, 256, 64];
/// Queries per workgroup of the prefill kernel.
const QUERIES: usize = 16;
/// The reference sees the f16 keys and values the kernel reads; what is
/// left is f32 summation over 128 dimensions and up to 32768 keys, and
/// exp's few ulps: errors near 1e-6 on lavapipe.
const BOUND: f64 = 1e-4;
/// Flash attention rounds Q and the softmax weights P to f16 for the
/// tensor cores (2^-11 relative each, about 5e-4; the weights normalised
/// are the rounded ones, so the error does not compound), and sums in f32
/// as tensor cores do: measured errors near 2e-4 on lavapipe 26.
const FLASH_BOUND: f64 = 2e-3;
/// (token, head) outputs checked at long lengths, besides the last token's
/// last head (which sees every key); all of them up to 4096 cached tokens
/// or 128 prompt tokens.
const CHECKED_HEADS: usize = 8;

/// Which attention kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One new token against a cache of `len` tokens.
    Decode,
    /// `len` prompt tokens, each against itself and those before it.
    Prefill,
}

/// Which kernel computes decode attention (both two-pass, flash-decoding
/// style: partial results per chunk of keys, then a combine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeVariant {
    /// `attention_decode.wgsl`: a lane per key, 64 keys per workgroup,
    /// each lane walking its key's 64 words (what CPU adapters like; on a
    /// GPU neighbouring lanes read 256 bytes apart). The default.
    PerKey,
    /// `attention_decode_split.wgsl`: `chunk` keys per workgroup, a
    /// subgroup reading whole key and value rows (lanes along the head
    /// dimension, coalesced), `subgroupAdd` dot products, online softmax
    /// within the chunk. Needs subgroups.
    Split { chunk: u32 },
}

impl DecodeVariant {
    /// Keys per workgroup of the partial pass.
    fn chunk(self) -> u32 {
        match self {
            DecodeVariant::PerKey => CHUNK as u32,
            DecodeVariant::Split { chunk } => chunk,
        }
    }

    /// f32s per (query head, chunk) partial record.
    fn record(self) -> usize {
        match self {
            DecodeVariant::PerKey => RECORD,
            DecodeVariant::Split { .. } => SPLIT_RECORD,
        }
    }

    /// Bytes of the partial results this variant's first pass leaves for
    /// `sequences` sequences of `heads` query heads, the longest `len`
    /// keys: a record per (sequence, head, chunk of the longest).
    pub fn partials_bytes(self, sequences: usize, heads: usize, len: usize) -> u64 {
        let chunks = len.div_ceil(self.chunk() as usize);
        (sequences * heads * chunks * self.record() * 4) as u64
    }

    /// [`DecodeVariant::partials_bytes`] of the hungriest variant: what a
    /// caller that may run any of them must allow for.
    pub fn most_partials_bytes(sequences: usize, heads: usize, len: usize) -> u64 {
        std::iter::once(DecodeVariant::PerKey)
            .chain(
                SPLIT_CHUNKS
                    .iter()
                    .map(|&chunk| DecodeVariant::Split { chunk }),
            )
            .map(|v| v.partials_bytes(sequences, heads, len))
            .max()
            .unwrap_or(0)
    }

    /// As results record it (`variant`).
    pub fn name(self) -> String {
        match self {
            DecodeVariant::PerKey => format!("lane per key, {CHUNK} keys/workgroup"),
            DecodeVariant::Split { chunk } => {
                format!("split-K, subgroup per key row, {chunk} keys/workgroup, subgroupAdd")
            }
        }
    }
}

/// The decode kernels worth trying on `gpu`, the default
/// ([`DecodeVariant::PerKey`], today's kernel) first: the split-K kernel
/// at each of [`SPLIT_CHUNKS`] where the adapter has subgroups.
pub fn decode_variants(gpu: &Gpu) -> Vec<DecodeVariant> {
    let mut variants = vec![DecodeVariant::PerKey];
    if split_fits(gpu) {
        variants.extend(
            SPLIT_CHUNKS
                .iter()
                .map(|&chunk| DecodeVariant::Split { chunk }),
        );
    }
    variants
}

/// Whether the adapter can run the split-K decode kernel: subgroups of a
/// known size, and its workgroup.
fn split_fits(gpu: &Gpu) -> bool {
    gpu.summary.subgroups
        && gpu.summary.subgroup_sizes[0] > 0
        && SPLIT_WORKGROUP <= gpu.summary.limits.max_compute_invocations_per_workgroup
}

/// The constants `attention_decode_split.wgsl` is written against, for
/// subgroups of at least `smallest` invocations.
fn split_constants(chunk: u32, smallest: u32) -> String {
    let smallest = smallest.max(1);
    format!(
        "const CHUNK: u32 = {chunk}u;\n\
         const LANE_WORDS: u32 = {}u;\n\
         const MAX_SUBGROUPS: u32 = {}u;\n",
        (DIM as u32 / 2).div_ceil(smallest),
        SPLIT_WORKGROUP.div_ceil(smallest)
    )
}

/// Which kernel computes prefill attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillPath {
    /// `attention_prefill.wgsl`: f32 arithmetic on any adapter, prompts a
    /// multiple of 16 tokens.
    Portable,
    /// `attention_flash.wgsl`: cooperative matrices, any prompt length.
    Flash(FlashTiling),
}

/// How flash attention splits a head's queries and keys: `warps`
/// subgroups per workgroup, each owning T queries (a block of warps x T),
/// walking keys `key_tiles` x T at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashTiling {
    pub warps: u32,
    pub key_tiles: u32,
}

/// The tilings tried. At 16x16 tiles the last is llama.cpp's Vulkan
/// flash attention's (64 queries by 64 keys, four subgroups).
pub const FLASH_TILINGS: [FlashTiling; 4] = [
    FlashTiling {
        warps: 2,
        key_tiles: 2,
    },
    FlashTiling {
        warps: 2,
        key_tiles: 4,
    },
    FlashTiling {
        warps: 4,
        key_tiles: 2,
    },
    FlashTiling {
        warps: 4,
        key_tiles: 4,
    },
];

impl FlashTiling {
    /// (queries, keys) of a block at tiles of edge `t`.
    pub fn block(&self, t: u32) -> [u32; 2] {
        [self.warps * t, self.key_tiles * t]
    }

    /// Workgroup memory the shader declares: the staged Q, K or V rows
    /// (f16, padded), S and P V (f32), P (f16), and three values per row.
    fn workgroup_bytes(&self, t: u32) -> u32 {
        let [br, bc] = self.block(t);
        let dim = DIM as u32;
        br.max(bc) * (dim + 8) * 2 + br * (bc + 4) * 4 + br * (bc + 8) * 2 + 3 * br * 4
    }

    /// Whether the adapter can run it: its workgroup memory and size, and
    /// the fold's split of a subgroup's T x BC entries over its lanes.
    pub fn fits(&self, gpu: &Gpu, coop: CoopShape) -> bool {
        let limits = &gpu.summary.limits;
        let subgroup = gpu.summary.subgroup_sizes[1];
        let [_, bc] = self.block(coop.size);
        self.workgroup_bytes(coop.size) <= limits.max_compute_workgroup_storage_size
            && self.warps * subgroup <= limits.max_compute_invocations_per_workgroup
            && (DIM as u32).is_multiple_of(bc)
            && subgroup > 0
            && (coop.size * bc).is_multiple_of(subgroup)
    }

    /// As results record it, e.g. `64 queries x 64 keys, 4 subgroups,
    /// tiles 16x16x16`.
    pub fn name(&self, t: u32) -> String {
        let [br, bc] = self.block(t);
        format!(
            "{br} queries x {bc} keys, {} subgroups, tiles {t}x{t}x{t}",
            self.warps
        )
    }

    /// The WGSL constants the shader is written against.
    fn constants(&self, subgroup: u32) -> String {
        format!(
            "const SUBGROUP: u32 = {subgroup}u;\n\
             const WARPS: u32 = {}u;\n\
             const KEY_TILES: u32 = {}u;\n",
            self.warps, self.key_tiles
        )
    }
}

impl PrefillPath {
    /// Every path worth trying for a prompt of `len`: each flash tiling
    /// the adapter can run, and the portable kernel where `len` is a
    /// multiple of its block.
    pub fn candidates(gpu: &Gpu, len: u32) -> Vec<PrefillPath> {
        let mut paths: Vec<PrefillPath> = match gpu.coop_shape() {
            Some(coop) => FLASH_TILINGS
                .iter()
                .filter(|tiling| tiling.fits(gpu, coop))
                .map(|&tiling| PrefillPath::Flash(tiling))
                .collect(),
            None => Vec::new(),
        };
        if len.is_multiple_of(QUERIES as u32) {
            paths.push(PrefillPath::Portable);
        }
        paths
    }

    /// As results record it (`path`): `cooperative-matrix` for flash
    /// attention, whose roof is `peak-mma-f16`.
    pub fn name(self) -> &'static str {
        match self {
            PrefillPath::Portable => "portable",
            PrefillPath::Flash(_) => super::COOPERATIVE_MATRIX_PATH,
        }
    }

    /// The path and its shape, as results record them (`variant`).
    pub fn variant(self, gpu: &Gpu) -> String {
        match self {
            PrefillPath::Portable => format!("portable, {QUERIES} queries x 64 keys"),
            PrefillPath::Flash(tiling) => {
                let t = gpu.coop_shape().map_or(0, |coop| coop.size);
                format!("cooperative-matrix, {}", tiling.name(t))
            }
        }
    }

    fn bound(self) -> f64 {
        match self {
            PrefillPath::Portable => BOUND,
            PrefillPath::Flash(_) => FLASH_BOUND,
        }
    }
}

/// One attention workload at one sequence length.
#[derive(Debug, Clone)]
pub struct Attention {
    pub phase: Phase,
    pub len: u32,
    /// Prefill's kernel; None: the fastest verified of
    /// [`PrefillPath::candidates`]. Tests pin each.
    pub path: Option<PrefillPath>,
    /// Decode's kernel; None: the fastest verified of
    /// [`decode_variants`]. Tests pin each.
    pub decode: Option<DecodeVariant>,
}

impl Attention {
    /// Decode at KV caches of 512, 4096 and 32768 tokens; prefill of
    /// prompts of 512 and 2048.
    /// `run --quick`'s shape: 256 keys (decode) or a 256-token prompt.
    pub fn quick(phase: Phase) -> Attention {
        Attention {
            phase,
            len: 256,
            path: None,
            decode: None,
        }
    }

    pub fn at_llm_shapes(phase: Phase) -> Vec<Attention> {
        let lens: &[u32] = match phase {
            Phase::Decode => &[512, 4096, 32768],
            Phase::Prefill => &[512, 2048],
        };
        lens.iter()
            .map(|&len| Attention {
                phase,
                len,
                path: None,
                decode: None,
            })
            .collect()
    }

    fn queries(&self) -> usize {
        match self.phase {
            Phase::Decode => 1,
            Phase::Prefill => self.len as usize,
        }
    }

    /// Multiply-adds times two, over the pairs (query, key) that count.
    fn flops(&self) -> f64 {
        let len = self.len as f64;
        let pairs = match self.phase {
            Phase::Decode => len,
            Phase::Prefill => len * (len + 1.0) / 2.0,
        };
        // Scores (q.k) and outputs (p v): 2 x 128 multiply-adds per pair.
        pairs * HEADS as f64 * DIM as f64 * 4.0
    }

    fn kv_bytes(&self) -> f64 {
        2.0 * self.len as f64 * (KV_HEADS * DIM * 2) as f64
    }
}

/// Attention of `q` (tokens x `heads` x 128) against `k` and `v` (keys x
/// 8 x 128), in f64, for the listed (token, head) pairs: token i sees keys
/// up to `offset + i` (causal; decode has one token at offset len - 1).
/// Also the LLM layer's reference.
pub fn reference(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads: usize,
    offset: usize,
    rows: &[(usize, usize)],
) -> Vec<f64> {
    let scale = 1.0 / (DIM as f64).sqrt();
    let mut out = Vec::with_capacity(rows.len() * DIM);
    for &(i, h) in rows {
        let g = h / (heads / KV_HEADS);
        let query = &q[(i * heads + h) * DIM..][..DIM];
        let keys = offset + i + 1;
        let scores: Vec<f64> = (0..keys)
            .map(|j| {
                let key = &k[(j * KV_HEADS + g) * DIM..][..DIM];
                let dot: f64 = query
                    .iter()
                    .zip(key)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                dot * scale
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::MIN, f64::max);
        let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut o = [0.0f64; DIM];
        for (j, w) in weights.iter().enumerate() {
            let value = &v[(j * KV_HEADS + g) * DIM..][..DIM];
            for (o, &x) in o.iter_mut().zip(value) {
                *o += w * f64::from(x);
            }
        }
        out.extend(o.iter().map(|x| x / total));
    }
    out
}

/// Random f16 values, and the same values widened for the reference.
fn random_f16(seed: u64, count: usize) -> (Vec<f16>, Vec<f32>) {
    let halves: Vec<f16> = random_f32(seed, count)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let widened = halves.iter().map(|h| h.to_f32()).collect();
    (halves, widened)
}

/// One sequence of a decode batch, as the attention kernel finds it in
/// the cache buffers it shares with the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct CachedSequence {
    /// Keys and values cached, the new token's included.
    pub len: u32,
    /// Its first row (of 8 x 128 halves) in the cache buffers.
    pub first_row: u32,
}

/// The kernels of one attention pass, in order, with their grids.
///
/// Decode: each of `sequences` has one query token (`q` and `out`:
/// sequences x `heads` x 128 f32, heads a multiple of 4 x 8) against its
/// own keys and values in `k` and `v` (rows of 8 x 128 f16), the last of
/// them its own, on `decode`'s kernel (one of [`decode_variants`]).
/// Prefill: one sequence of `len` tokens (`q`, `out`: len x heads x 128),
/// each against those before it, on `prefill`'s kernel. Each phase
/// ignores the other's kernel. Also used by the LLM layer.
pub fn attention_kernels(
    gpu: &Gpu,
    phase: Phase,
    prefill: PrefillPath,
    decode: DecodeVariant,
    sequences: &[CachedSequence],
    heads: u32,
    [q, k, v, out]: [&wgpu::Buffer; 4],
) -> Result<Vec<(Kernel, [u32; 3])>> {
    let len = sequences.iter().map(|s| s.len).max().unwrap_or(0);
    let name = Attention {
        phase,
        len,
        path: None,
        decode: None,
    }
    .name();
    let chunks = len.div_ceil(decode.chunk());
    let scale = 1.0 / (DIM as f32).sqrt();
    let second = match phase {
        Phase::Decode => chunks,
        Phase::Prefill => heads,
    };
    let shape = gpu.upload(
        "attention shape",
        &[len, second, KV_HEADS as u32, scale.to_bits(), heads],
    );
    Ok(match phase {
        Phase::Decode => {
            let batch = sequences.len() as u32;
            let partials_bytes =
                decode.partials_bytes(batch as usize, heads as usize, len as usize);
            gpu.check_fits(&format!("{name} partial results"), partials_bytes)?;
            let partials = gpu.output("attention partials", partials_bytes);
            let sequences = gpu.upload("attention sequences", sequences);
            let wgsl = match decode {
                DecodeVariant::PerKey => DECODE.to_string(),
                DecodeVariant::Split { chunk } => {
                    if !split_fits(gpu) || chunk == 0 {
                        return Err(Error::Unsupported(format!(
                            "{name}: this adapter cannot run {}",
                            decode.name()
                        )));
                    }
                    split_constants(chunk, gpu.summary.subgroup_sizes[0]) + DECODE_SPLIT
                }
            };
            let buffers = [
                (0, &shape),
                (1, &partials),
                (3, q),
                (4, k),
                (5, v),
                (6, &sequences),
            ];
            let partial = gpu.kernel_at(name, &wgsl, "partial", &[], &buffers)?;
            let buffers = [(0, &shape), (1, &partials), (2, out), (6, &sequences)];
            let combine = gpu.kernel_at(name, &wgsl, "combine", &[], &buffers)?;
            vec![
                (partial, [chunks, heads / 4, batch]),
                (combine, [heads, batch, 1]),
            ]
        }
        Phase::Prefill => match prefill {
            PrefillPath::Portable => {
                if !len.is_multiple_of(QUERIES as u32) {
                    return Err(Error::Unsupported(format!(
                        "{name} on the portable path needs a multiple of {QUERIES} tokens, \
                         got {len}"
                    )));
                }
                let kernel = gpu.kernel(name, PREFILL, "main", &[], &[&shape, q, k, v, out])?;
                vec![(kernel, [len / QUERIES as u32, heads, 1])]
            }
            PrefillPath::Flash(tiling) => {
                let coop = gpu.coop_shape().ok_or_else(|| {
                    Error::Unsupported("this adapter offers no cooperative matrices".into())
                })?;
                if !tiling.fits(gpu, coop) {
                    return Err(Error::Unsupported(format!(
                        "{name}: this adapter cannot run {}",
                        tiling.name(coop.size)
                    )));
                }
                let subgroup = gpu.summary.subgroup_sizes[1];
                let wgsl = coop.preamble() + &tiling.constants(subgroup) + FLASH;
                let kernel = gpu.kernel(name, &wgsl, "main", &[], &[&shape, q, k, v, out])?;
                let [queries, _] = tiling.block(coop.size);
                vec![(kernel, [len.div_ceil(queries), heads, 1])]
            }
        },
    })
}

impl Workload for Attention {
    fn name(&self) -> &'static str {
        match self.phase {
            Phase::Decode => "attention-decode",
            Phase::Prefill => "attention-prefill",
        }
    }

    fn description(&self) -> &'static str {
        match self.phase {
            Phase::Decode => "one token's grouped-query attention over an f16 KV cache (GB/s)",
            Phase::Prefill => "causal grouped-query attention over a prompt, flash style (GFLOP/s)",
        }
    }

    fn unit(&self) -> Unit {
        match self.phase {
            Phase::Decode => Unit::GigabytesPerSecond,
            Phase::Prefill => Unit::GflopPerSecond,
        }
    }

    fn shape(&self) -> Option<String> {
        Some(match self.phase {
            Phase::Decode => format!("kv {}", self.len),
            Phase::Prefill => format!("seq {}", self.len),
        })
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let name = self.name();
        let len = self.len as usize;
        let queries = self.queries();
        if len == 0 {
            return Err(Error::Unsupported(format!(
                "{name} needs a positive length"
            )));
        }
        // The kernels tried: decode's variants (the prefill path is
        // Portable there), or prefill's paths (the decode variant unused).
        let choices: Vec<(PrefillPath, DecodeVariant)> = match (self.phase, self.path) {
            (Phase::Decode, _) => match self.decode {
                Some(decode) => vec![decode],
                None => decode_variants(gpu),
            }
            .into_iter()
            .map(|decode| (PrefillPath::Portable, decode))
            .collect(),
            (Phase::Prefill, Some(path)) => vec![(path, DecodeVariant::PerKey)],
            (Phase::Prefill, None) => PrefillPath::candidates(gpu, self.len)
                .into_iter()
                .map(|path| (path, DecodeVariant::PerKey))
                .collect(),
        };
        if choices.is_empty() {
            return Err(Error::Unsupported(format!(
                "{name} without cooperative matrices needs a multiple of {QUERIES} tokens, \
                 got {len}"
            )));
        }
        let what = format!("{name} at {}", self.shape().unwrap_or_default());
        let chunks = len.div_ceil(CHUNK);
        gpu.check_fits(&what, (len * KV_HEADS * DIM * 2) as u64)?;
        gpu.check_fits(&what, (queries * HEADS * DIM * 4) as u64)?;
        if self.phase == Phase::Decode {
            gpu.check_fits(&what, (HEADS * chunks * RECORD * 4) as u64)?;
        }
        let q = random_f32(40, queries * HEADS * DIM);
        let (k16, k) = random_f16(41, len * KV_HEADS * DIM);
        let (v16, v) = random_f16(42, len * KV_HEADS * DIM);
        let q_buffer = gpu.upload("attention q", &q);
        let k_buffer = gpu.upload("attention k", &k16);
        let v_buffer = gpu.upload("attention v", &v16);
        let out = gpu.output("attention out", (queries * HEADS * DIM * 4) as u64);
        // Rows checked: every (token, head) of short sequences, a seeded
        // spread of them in long ones.
        let all: Vec<(usize, usize)> = (0..queries)
            .flat_map(|i| (0..HEADS).map(move |h| (i, h)))
            .collect();
        let check_all = match self.phase {
            Phase::Decode => len <= 4096,
            Phase::Prefill => len <= 128,
        };
        let rows: Vec<(usize, usize)> = if check_all {
            all
        } else {
            let mut rng = fastrand::Rng::with_seed(43);
            let mut rows: Vec<_> = (0..CHECKED_HEADS)
                .map(|_| all[rng.usize(..all.len())])
                .collect();
            rows.push(*all.last().unwrap_or(&(0, 0)));
            rows
        };
        let offset = if self.phase == Phase::Decode {
            len - 1
        } else {
            0
        };
        let expected = reference(&q, &k, &v, HEADS, offset, &rows);

        let mut built = Vec::with_capacity(choices.len());
        for &(path, decode) in &choices {
            built.push(attention_kernels(
                gpu,
                self.phase,
                path,
                decode,
                &[CachedSequence {
                    len: self.len,
                    first_row: 0,
                }],
                HEADS as u32,
                [&q_buffer, &k_buffer, &v_buffer, &out],
            )?);
        }
        let mut kernels: Vec<(PrefillPath, Dispatch)> = choices
            .iter()
            .zip(&built)
            .map(|(&(path, _), steps)| (path, Dispatch::chain(steps)))
            .collect();
        let check_for = |path: PrefillPath| OutputCheck {
            workload: name,
            output: &out,
            ranges: rows
                .iter()
                .map(|&(i, h)| (i * HEADS + h) * DIM..(i * HEADS + h + 1) * DIM)
                .collect(),
            expected: &expected,
            bound: path.bound(),
        };
        let (work, also) = match self.phase {
            Phase::Decode => (
                self.kv_bytes(),
                vec![AlsoReported {
                    unit: "GFLOP/s",
                    factor: self.flops() / self.kv_bytes(),
                    inverse: false,
                }],
            ),
            Phase::Prefill => (self.flops(), Vec::new()),
        };
        let probes: Vec<_> = kernels.iter().map(|(_, d)| (d.clone(), work)).collect();
        let verified = tuning::choose(gpu, plan, &probes, |i| {
            let (path, dispatch) = &kernels[i];
            check_for(*path).run(gpu, dispatch)
        })?;
        let (path, dispatch) = kernels.swap_remove(verified.index);
        let check = check_for(path);
        let (samples, error) = sample_checked(gpu, dispatch, work, plan, observer, &check)?;
        let mut params = serde_json::Map::new();
        params.insert("len".into(), json!(self.len));
        params.insert("heads".into(), json!(HEADS));
        params.insert("kv_heads".into(), json!(KV_HEADS));
        params.insert("head_dim".into(), json!(DIM));
        params.insert("kv_type".into(), json!("f16"));
        let names: Vec<String> = choices
            .iter()
            .map(|&(path, decode)| match self.phase {
                Phase::Decode => decode.name(),
                Phase::Prefill => path.variant(gpu),
            })
            .collect();
        verified.record(&mut params, &names, self.unit());
        if self.phase == Phase::Prefill {
            params.insert("path".into(), json!(path.name()));
            if let (PrefillPath::Flash(_), Some(coop)) = (path, gpu.coop_shape()) {
                params.insert("coop_shape".into(), json!(coop.name()));
            }
        }
        Ok(Measurement {
            params,
            samples,
            also,
            check: format!(
                "{} (token, head) outputs of {} against an f64 CPU reference before and \
                 after timing: relative error {error:.1e} (bound {:.0e})",
                rows.len(),
                queries * HEADS,
                check.bound
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Unobserved;

    /// Short caches and prompts, every output checked: lengths that end
    /// inside a chunk, exactly one chunk, and several.
    #[test]
    fn short_sequences_match_the_reference_in_full() {
        let gpu = crate::gpu::default_for_tests();
        for (phase, lens) in [
            (Phase::Decode, &[1u32, 7, 64, 100][..]),
            (Phase::Prefill, &[16u32, 48, 80][..]),
        ] {
            for &len in lens {
                let attention = Attention {
                    phase,
                    len,
                    path: Some(PrefillPath::Portable),
                    decode: Some(DecodeVariant::PerKey),
                };
                crate::workloads::assert_verifies(&gpu, &attention, "");
            }
        }
    }

    /// Every decode variant, pinned, through the workload (every output
    /// checked), and the run's own choice among them; the chunks' edges
    /// are cut by the batch test below.
    #[test]
    fn every_decode_variant_matches_the_reference() {
        let gpu = crate::gpu::default_for_tests();
        let pinned = decode_variants(&gpu).into_iter().map(Some);
        for decode in pinned.chain([None]) {
            let name = decode.map_or("the fastest verified".into(), DecodeVariant::name);
            let attention = Attention {
                phase: Phase::Decode,
                len: 300,
                path: None,
                decode,
            };
            crate::workloads::assert_verifies(&gpu, &attention, &name);
        }
    }

    /// A decode batch in one dispatch: sequences of lengths that cut
    /// every chunk's edges (1 key, one short of, at and one past 64,
    /// inside and past 256, past 1024) at scattered rows of the shared
    /// cache, on every decode variant, every output checked.
    #[test]
    fn every_decode_variant_attends_a_batch_of_different_lengths() {
        let gpu = crate::gpu::default_for_tests();
        let lens = [65u32, 1, 1030, 63, 300, 64];
        let mut sequences = Vec::new();
        let mut rows = 3; // the first sequence starts past row 0
        for &len in &lens {
            sequences.push(CachedSequence {
                len,
                first_row: rows,
            });
            rows += len + 5;
        }
        let rows = rows as usize;
        let q = random_f32(60, lens.len() * HEADS * DIM);
        let (k16, k) = random_f16(61, rows * KV_HEADS * DIM);
        let (v16, v) = random_f16(62, rows * KV_HEADS * DIM);
        let q_buffer = gpu.upload("q", &q);
        let k_buffer = gpu.upload("k", &k16);
        let v_buffer = gpu.upload("v", &v16);
        let out = gpu.output("out", (lens.len() * HEADS * DIM * 4) as u64);
        let mut expected = Vec::new();
        for (i, sequence) in sequences.iter().enumerate() {
            let first = sequence.first_row as usize * KV_HEADS * DIM;
            let heads: Vec<(usize, usize)> = (0..HEADS).map(|h| (0, h)).collect();
            expected.extend(reference(
                &q[i * HEADS * DIM..],
                &k[first..],
                &v[first..],
                HEADS,
                sequence.len as usize - 1,
                &heads,
            ));
        }
        let check = OutputCheck {
            workload: "attention-decode batch",
            output: &out,
            ranges: (0..lens.len())
                .map(|i| i * HEADS * DIM..(i + 1) * HEADS * DIM)
                .collect(),
            expected: &expected,
            bound: BOUND,
        };
        for decode in decode_variants(&gpu) {
            let steps = attention_kernels(
                &gpu,
                Phase::Decode,
                PrefillPath::Portable,
                decode,
                &sequences,
                HEADS as u32,
                [&q_buffer, &k_buffer, &v_buffer, &out],
            )
            .unwrap();
            let error = check.run(&gpu, &Dispatch::chain(&steps));
            assert!(error.is_ok(), "{}: {error:?}", decode.name());
        }
    }

    /// The split-K decode kernel written for subgroups of at least 8, 32
    /// and 64 at each chunk, parsed and validated by the naga wgpu
    /// compiles it with (lavapipe runs only the first).
    #[test]
    fn split_decode_shaders_validate_for_every_subgroup_size() {
        for smallest in [8, 32, 64] {
            for chunk in SPLIT_CHUNKS {
                let wgsl = split_constants(chunk, smallest) + DECODE_SPLIT;
                let module = naga::front::wgsl::parse_str(&wgsl)
                    .unwrap_or_else(|e| panic!("{smallest}: {}", e.emit_to_string(&wgsl)));
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("chunk {chunk}, subgroups of {smallest}: {e:?}"));
            }
        }
    }

    #[test]
    fn portable_prefill_off_the_query_block_is_unsupported() {
        let gpu = crate::gpu::default_for_tests();
        let attention = Attention {
            phase: Phase::Prefill,
            len: 20,
            path: Some(PrefillPath::Portable),
            decode: None,
        };
        let outcome = attention.run(&gpu, &SamplePlan::single(), &mut Unobserved);
        assert!(matches!(outcome, Err(Error::Unsupported(_))));
    }

    /// Every flash tiling, forced, on prompts that cut every edge of its
    /// blocks and of the native tile (1 token, 13 and 70: multiples of
    /// neither T nor the blocks; 70 spans several query and key blocks),
    /// every output of every head checked; then the run's own choice
    /// among them and the portable kernel.
    fn every_flash_tiling_matches_the_reference(gpu: &Gpu, coop: CoopShape) {
        let tilings: Vec<_> = FLASH_TILINGS.iter().filter(|t| t.fits(gpu, coop)).collect();
        assert!(!tilings.is_empty(), "no flash tiling fits {coop:?}");
        for tiling in tilings {
            for len in [1, 13, 70] {
                let attention = Attention {
                    phase: Phase::Prefill,
                    len,
                    path: Some(PrefillPath::Flash(*tiling)),
                    decode: None,
                };
                crate::workloads::assert_verifies(gpu, &attention, &tiling.name(coop.size));
            }
        }
        let attention = Attention {
            phase: Phase::Prefill,
            len: 48,
            path: None,
            decode: None,
        };
        crate::workloads::assert_verifies(gpu, &attention, "the fastest verified path");
    }

    #[test]
    fn coop_flash_attention_matches_the_reference_where_offered() {
        let gpu = crate::gpu::default_for_tests();
        if let Some(coop) = crate::gpu::coop::shape_for_tests(&gpu) {
            every_flash_tiling_matches_the_reference(&gpu, coop);
        } else {
            // Mesa 22.3 offers none: the portable kernel is the only
            // candidate, a forced flash tiling is refused, and a prompt
            // off its block is unsupported rather than wrong.
            assert_eq!(
                PrefillPath::candidates(&gpu, 64),
                vec![PrefillPath::Portable]
            );
            assert!(PrefillPath::candidates(&gpu, 70).is_empty());
            for path in [Some(PrefillPath::Flash(FLASH_TILINGS[0])), None] {
                let attention = Attention {
                    phase: Phase::Prefill,
                    len: 70,
                    path,
                    decode: None,
                };
                let outcome = attention.run(&gpu, &SamplePlan::single(), &mut Unobserved);
                assert!(matches!(outcome, Err(Error::Unsupported(_))), "{path:?}");
            }
        }
    }

    /// Cooperative matrices need a driver CI's default lavapipe lacks, so
    /// every flash tiling at both tile sizes (and subgroups of 8 and 32)
    /// is also taken all the way to SPIR-V in the naga wgpu compiles it
    /// with.
    #[test]
    fn flash_attention_shaders_translate_to_spirv() {
        for size in [8, 16] {
            for subgroup in [8, 32] {
                for tiling in FLASH_TILINGS {
                    let wgsl = CoopShape { size }.preamble() + &tiling.constants(subgroup) + FLASH;
                    let context = format!("{}, subgroups of {subgroup}", tiling.name(size));
                    crate::gpu::coop::assert_translates_to_spirv(&wgsl, &context);
                }
            }
        }
    }

    #[test]
    fn flash_tilings_name_their_blocks() {
        let llama = FLASH_TILINGS[3];
        assert_eq!(llama.block(16), [64, 64]);
        assert_eq!(
            llama.name(16),
            "64 queries x 64 keys, 4 subgroups, tiles 16x16x16"
        );
        // 44 KiB at 16x16 tiles: inside NVIDIA's 48 KiB.
        assert_eq!(
            llama.workgroup_bytes(16),
            64 * 136 * 2 + 64 * 68 * 4 + 64 * 72 * 2 + 3 * 64 * 4
        );
        assert!(llama.workgroup_bytes(16) <= 48 * 1024);
    }

    #[test]
    fn the_reference_is_a_weighted_mean_of_values() {
        // One key: softmax weight 1, so the output is that key's value.
        let q = random_f32(1, HEADS * DIM);
        let k = random_f32(2, KV_HEADS * DIM);
        let v = random_f32(3, KV_HEADS * DIM);
        let out = reference(&q, &k, &v, HEADS, 0, &[(0, 5)]);
        let value = &v[DIM..2 * DIM]; // head 5 reads KV head 1
        for (o, &x) in out.iter().zip(value) {
            assert!((o - f64::from(x)).abs() < 1e-12);
        }
    }
}
