//! `attention-decode` and `attention-prefill`: grouped-query attention as
//! Llama 3 8B has it (32 query heads over 8 KV heads, head dimension 128,
//! keys and values cached in f16).
//!
//! Decode reads the whole KV cache for one token: memory-bound, reported
//! in GB/s of keys and values read (and GFLOP/s). Prefill attends a prompt
//! to itself causally: compute-bound, reported in GFLOP/s of the causal
//! half only (no credit for masked work).

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const DECODE: &str = include_str!("../../shaders/attention_decode.wgsl");
const PREFILL: &str = include_str!("../../shaders/attention_prefill.wgsl");

pub const HEADS: usize = 32;
pub const KV_HEADS: usize = 8;
pub const DIM: usize = 128;
/// Keys per workgroup of the decode kernel; values per (head, chunk)
/// record of its partial results.
const CHUNK: usize = 64;
const RECORD: usize = DIM + 2;
/// Queries per workgroup of the prefill kernel.
const QUERIES: usize = 16;
/// The reference sees the f16 keys and values the kernel reads; what is
/// left is f32 summation over 128 dimensions and up to 32768 keys, and
/// exp's few ulps: errors near 1e-6 on lavapipe.
const BOUND: f64 = 1e-4;
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

/// One attention workload at one sequence length.
#[derive(Debug, Clone)]
pub struct Attention {
    pub phase: Phase,
    pub len: u32,
}

impl Attention {
    /// Decode at KV caches of 512, 4096 and 32768 tokens; prefill of
    /// prompts of 512 and 2048.
    /// `run --quick`'s shape: 256 keys (decode) or a 256-token prompt.
    pub fn quick(phase: Phase) -> Attention {
        Attention { phase, len: 256 }
    }

    pub fn at_llm_shapes(phase: Phase) -> Vec<Attention> {
        let lens: &[u32] = match phase {
            Phase::Decode => &[512, 4096, 32768],
            Phase::Prefill => &[512, 2048],
        };
        lens.iter().map(|&len| Attention { phase, len }).collect()
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
/// them its own. Prefill: one sequence of `len` tokens (`q`, `out`: len x
/// heads x 128), each against those before it. Also used by the LLM layer.
pub fn attention_kernels(
    gpu: &Gpu,
    phase: Phase,
    sequences: &[CachedSequence],
    heads: u32,
    [q, k, v, out]: [&wgpu::Buffer; 4],
) -> Result<Vec<(Kernel, [u32; 3])>> {
    let len = sequences.iter().map(|s| s.len).max().unwrap_or(0);
    let name = Attention { phase, len }.name();
    let chunks = (len as usize).div_ceil(CHUNK) as u32;
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
            let partials_bytes = u64::from(batch * heads * chunks) * (RECORD * 4) as u64;
            gpu.check_fits(&format!("{name} partial results"), partials_bytes)?;
            let partials = gpu.output("attention partials", partials_bytes);
            let sequences = gpu.upload("attention sequences", sequences);
            let buffers = [
                (0, &shape),
                (1, &partials),
                (3, q),
                (4, k),
                (5, v),
                (6, &sequences),
            ];
            let partial = gpu.kernel_at(name, DECODE, "partial", &[], &buffers)?;
            let buffers = [(0, &shape), (1, &partials), (2, out), (6, &sequences)];
            let combine = gpu.kernel_at(name, DECODE, "combine", &[], &buffers)?;
            vec![
                (partial, [chunks, heads / 4, batch]),
                (combine, [heads, batch, 1]),
            ]
        }
        Phase::Prefill => {
            let kernel = gpu.kernel(name, PREFILL, "main", &[], &[&shape, q, k, v, out])?;
            vec![(kernel, [len / QUERIES as u32, heads, 1])]
        }
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
        if len == 0 || (self.phase == Phase::Prefill && !len.is_multiple_of(QUERIES)) {
            return Err(Error::Unsupported(format!(
                "{name} needs a length that is a positive multiple of {QUERIES}, got {len}"
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

        let steps = attention_kernels(
            gpu,
            self.phase,
            &[CachedSequence {
                len: self.len,
                first_row: 0,
            }],
            HEADS as u32,
            [&q_buffer, &k_buffer, &v_buffer, &out],
        )?;
        let dispatch = || Dispatch::chain(&steps);
        let check = OutputCheck {
            workload: name,
            output: &out,
            ranges: rows
                .iter()
                .map(|&(i, h)| (i * HEADS + h) * DIM..(i * HEADS + h + 1) * DIM)
                .collect(),
            expected: &expected,
            bound: BOUND,
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
        let (samples, error) = sample_checked(gpu, dispatch(), work, plan, observer, &check)?;
        let mut params = serde_json::Map::new();
        params.insert("len".into(), json!(self.len));
        params.insert("heads".into(), json!(HEADS));
        params.insert("kv_heads".into(), json!(KV_HEADS));
        params.insert("head_dim".into(), json!(DIM));
        params.insert("kv_type".into(), json!("f16"));
        Ok(Measurement {
            params,
            samples,
            also,
            check: format!(
                "{} (token, head) outputs of {} against an f64 CPU reference before and \
                 after timing: relative error {error:.1e} (bound {BOUND:.0e})",
                rows.len(),
                queries * HEADS
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
                crate::workloads::assert_verifies(&gpu, &Attention { phase, len }, "");
            }
        }
    }

    #[test]
    fn prefill_off_the_query_block_is_unsupported() {
        let gpu = crate::gpu::default_for_tests();
        let attention = Attention {
            phase: Phase::Prefill,
            len: 20,
        };
        let outcome = attention.run(&gpu, &SamplePlan::single(), &mut Unobserved);
        assert!(matches!(outcome, Err(Error::Unsupported(_))));
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
