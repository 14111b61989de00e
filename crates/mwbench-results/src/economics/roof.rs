//! How far the measured hardware could go: an LLM result's tokens per
//! second at the roofs measured in the same file, so that a verdict can
//! say whether it rests on mwbench's kernels or on the hardware.
//!
//! A decode step at batch B reads the model's weights once and each
//! sequence's KV cache, and does about 2 x parameters x B FLOPs plus the
//! attention over the caches. At the roof it takes the larger of its bytes
//! over `copy-bandwidth` and its FLOPs over the compute roof (the tensor
//! roof `peak-mma-f16` where the file has it, else `peak-fma-f32`); B
//! tokens come out of each step. A prefill pass of P prompt tokens reads
//! the weights once and does 2 x parameters x P FLOPs plus causal
//! attention. Both are floors on time (ceilings on throughput): no
//! speculative decoding, no FP8, no paged-attention or scheduling
//! overheads, no overlap losses.

use schemars::JsonSchema;
use serde::Serialize;

use crate::results::{ResultFile, Status, WorkloadResult};

/// What bounds a step at the roof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Reading weights and caches at `copy-bandwidth`.
    Memory,
    /// The FLOPs at the compute roof.
    Compute,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Memory => "memory",
            Bound::Compute => "compute",
        }
    }
}

/// The ceilings a file measured on its device.
#[derive(Debug, Clone, PartialEq)]
pub struct Roofs {
    /// `copy-bandwidth`, bytes read and written per second.
    pub bytes_per_s: f64,
    /// The compute roof, FLOP per second.
    pub flop_per_s: f64,
    /// Which workload the compute roof is: `peak-mma-f16` (tensor cores)
    /// or `peak-fma-f32`.
    pub compute_roof: &'static str,
    /// The device's memory in bytes, where the file records it.
    pub memory_bytes: Option<u64>,
}

/// The tensor roof first: a GPU with tensor cores multiplies matrices
/// there, and its f32 FMA rate would put the roof far too low.
const COMPUTE_ROOFS: [&str; 2] = ["peak-mma-f16", "peak-fma-f32"];

impl Roofs {
    /// The roofs of `file`, or why it has none.
    pub fn of(file: &ResultFile) -> Result<Roofs, String> {
        let measured = |workload: &str| {
            file.results
                .iter()
                .find(|r| r.workload == workload && r.status == Status::Ok && r.verified)
                .and_then(WorkloadResult::rate)
                .filter(|v| v.is_finite() && *v > 0.0)
        };
        let bandwidth = measured("copy-bandwidth").ok_or(
            "no verified copy-bandwidth in its file: run the ceilings with it \
             (--workloads copy-bandwidth,peak-fma-f32,...)",
        )?;
        let (compute_roof, gflops) = COMPUTE_ROOFS
            .iter()
            .find_map(|&name| Some((name, measured(name)?)))
            .ok_or(
                "no verified peak-fma-f32 or peak-mma-f16 in its file: run the ceilings with it",
            )?;
        Ok(Roofs {
            bytes_per_s: bandwidth * 1e9,
            flop_per_s: gflops * 1e9,
            compute_roof,
            memory_bytes: file.device.memory.as_ref().map(|m| m.bytes),
        })
    }
}

/// A transformer's sizes, as an LLM result records them.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformer {
    /// Weights read per step: every layer's matrices and the output head.
    pub parameters: f64,
    /// Those weights' bytes in the result's format (scales included).
    pub weight_bytes: f64,
    /// Keys and values of one token across all layers (f16).
    pub kv_bytes_per_token: f64,
    /// Attention FLOPs of one new token per token it attends to:
    /// 2 x 2 x layers x heads x head dimension (QK^T and PV).
    pub attention_flops_per_token: f64,
    /// Tokens in each sequence's cache (decode) or in the prompt
    /// (prefill).
    pub context: f64,
    /// Bytes of one sequence's KV cache, as recorded where the result
    /// has it.
    pub kv_bytes_per_sequence: f64,
}

/// Sizes beyond any model mwbench runs or a server holds.
const MAX_DIMENSION: u64 = 1 << 20;

impl Transformer {
    /// The sizes in `result`'s params, or why they cannot be read.
    pub fn of(result: &WorkloadResult) -> Result<Transformer, String> {
        let whole = |key: &str| -> Result<f64, String> {
            let value = result.params.get(key).and_then(|v| v.as_u64());
            match value {
                Some(v) if (1..=MAX_DIMENSION).contains(&v) => Ok(v as f64),
                Some(v) => Err(format!("its {key} ({v}) is not a model's")),
                None => Err(format!("its params have no {key}")),
            }
        };
        let (hidden, ffn, layers, heads, vocab) = (
            whole("hidden")?,
            whole("ffn")?,
            whole("layers")?,
            whole("heads")?,
            whole("vocab")?,
        );
        // Files before these were recorded ran mwbench's presets, all 8 KV
        // heads of dimension 128.
        let kv_heads = whole("kv_heads").or_else(|_| absent(result, "kv_heads", 8.0))?;
        let head_dim = whole("head_dim").or_else(|_| absent(result, "head_dim", 128.0))?;
        let q = heads * head_dim;
        let kv = kv_heads * head_dim;
        // wq and wo, wk and wv, and the FFN's gate, up and down.
        let per_layer = 2.0 * q * hidden + 2.0 * kv * hidden + 3.0 * ffn * hidden;
        let parameters = layers * per_layer + vocab * hidden;
        let bytes_per_weight = match result.params.get("weights").and_then(|w| w.as_str()) {
            Some("f16") => 2.0,
            Some("f32") => 4.0,
            Some("q8") => 34.0 / 32.0,
            Some("q4") => 18.0 / 32.0,
            Some(other) => return Err(format!("its weights '{other}' are not f16, q8 or q4")),
            None => return Err("its params have no weights format".into()),
        };
        // What a run recorded wins over what the shape implies, where it
        // is a number that fits the shape; a file with one that does not
        // is refused, not silently mended.
        let recorded = |key: &str| -> Result<Option<f64>, String> {
            match result.params.get(key) {
                None => Ok(None),
                Some(value) => value
                    .as_f64()
                    .filter(|v| v.is_finite() && *v >= 1.0 && *v < 1e18)
                    .map(Some)
                    .ok_or_else(|| format!("its {key} ({value}) is not a count")),
            }
        };
        let weight_bytes = match recorded("model_bytes")? {
            // From 2-bit quantisation to f32, scales included.
            Some(bytes) if (0.25..=4.5).contains(&(bytes / parameters)) => bytes,
            Some(bytes) => {
                return Err(format!(
                    "its model_bytes ({bytes}) do not fit its shape's {parameters:.3e} parameters"
                ));
            }
            None => parameters * bytes_per_weight,
        };
        let context = whole("context")?;
        let kv_bytes_per_token = 2.0 * layers * kv * 2.0;
        let batch = recorded("batch")?.unwrap_or(1.0);
        let expected = kv_bytes_per_token * (context + 1.0);
        let kv_bytes_per_sequence = match recorded("kv_cache_bytes")? {
            // Sequences spread from 3/4 to 5/4 of the context.
            Some(bytes) if (0.5..=2.0).contains(&(bytes / batch / expected)) => bytes / batch,
            Some(bytes) => {
                return Err(format!(
                    "its kv_cache_bytes ({bytes}) do not fit {batch} sequences of {context} tokens"
                ));
            }
            None => expected,
        };
        Ok(Transformer {
            parameters,
            weight_bytes,
            kv_bytes_per_token,
            attention_flops_per_token: 4.0 * layers * heads * head_dim,
            context,
            kv_bytes_per_sequence,
        })
    }

    /// One decode step of `batch` sequences at `roofs`: seconds and bound.
    pub fn decode_step(&self, roofs: &Roofs, batch: f64) -> (f64, Bound) {
        let bytes = self.weight_bytes + batch * self.kv_bytes_per_sequence;
        let flops = batch * (2.0 * self.parameters + self.attention_flops_per_token * self.context);
        at_roofs(roofs, bytes, flops)
    }

    /// One prefill pass of the prompt (`context` tokens, from an empty
    /// cache) at `roofs`: seconds and bound.
    pub fn prefill_pass(&self, roofs: &Roofs) -> (f64, Bound) {
        let prompt = self.context;
        let bytes = self.weight_bytes + prompt * self.kv_bytes_per_token;
        // Token i attends to the i + 1 tokens up to it.
        let attended = prompt * (prompt + 1.0) / 2.0;
        let flops = 2.0 * self.parameters * prompt + self.attention_flops_per_token * attended;
        at_roofs(roofs, bytes, flops)
    }

    /// Bytes on the device for `batch` sequences: weights and caches.
    fn resident_bytes(&self, batch: f64) -> f64 {
        self.weight_bytes + batch * self.kv_bytes_per_sequence
    }
}

/// A size a file written before it was recorded can only have had: a
/// result that has the newer fields must have this one too.
fn absent(result: &WorkloadResult, key: &str, preset: f64) -> Result<f64, String> {
    match result.params.get(key) {
        None => Ok(preset),
        Some(value) => Err(format!("its {key} ({value}) is not a model's")),
    }
}

fn at_roofs(roofs: &Roofs, bytes: f64, flops: f64) -> (f64, Bound) {
    let memory = bytes / roofs.bytes_per_s;
    let compute = flops / roofs.flop_per_s;
    if memory >= compute {
        (memory, Bound::Memory)
    } else {
        (compute, Bound::Compute)
    }
}

/// What an LLM result's device reaches at its roofs.
#[derive(Debug, Clone, PartialEq)]
pub struct RoofEstimate {
    pub tokens_per_s: f64,
    /// The batch at the roof: for decode, the largest whose step stays
    /// within the latency and whose weights and caches fit the memory.
    pub batch: u64,
    /// Milliseconds each sequence waits per token: a decode step, or a
    /// prefill pass over its prompt tokens.
    pub ms_per_token: f64,
    pub bound: Bound,
    /// `peak-mma-f16` or `peak-fma-f32`.
    pub compute_roof: &'static str,
    /// How the batch was chosen, in words.
    pub batch_basis: String,
    /// The measured throughput over the roof's at the measured batch.
    pub roof_fraction: f64,
    /// The measured throughput, at its own batch.
    pub measured_tokens_per_s: f64,
}

/// Batches the roof is searched over where the device's memory is
/// known: `run --batch max` stops there too.
pub const LARGEST_BATCH: u64 = 4096;

/// The roof of a decode `result` of `file`, whose model was also
/// measured at `measured_batches` (verified ones), for a customer who
/// waits at most `max_latency_ms` per token; or why none can be said.
pub fn decode(
    file: &ResultFile,
    result: &WorkloadResult,
    batch: u64,
    measured_batches: &[u64],
    max_latency_ms: f64,
) -> Result<RoofEstimate, String> {
    let roofs = Roofs::of(file)?;
    let model = Transformer::of(result)?;
    let rate = result.rate().ok_or("no measured throughput")?;
    let ms = |batch: u64| 1e3 * model.decode_step(&roofs, batch as f64).0;
    let within = |batch: u64| ms(batch) <= max_latency_ms;
    let (batch_at_roof, basis) = match roofs.memory_bytes {
        Some(memory) => {
            let fits = |batch: u64| model.resident_bytes(batch as f64) <= memory as f64;
            if !fits(1) {
                return Err(format!(
                    "its weights and one sequence's cache ({:.1} GB) exceed the device's {:.1} GB",
                    model.resident_bytes(1.0) / 1e9,
                    memory as f64 / 1e9
                ));
            }
            // Both grow with the batch: the last that passes both.
            let largest = (1..=LARGEST_BATCH)
                .take_while(|&b| fits(b) && within(b))
                .last();
            let limit = if !fits(largest.unwrap_or(1) + 1) {
                format!("the device's {:.0} GB", memory as f64 / 1e9)
            } else if largest == Some(LARGEST_BATCH) {
                format!("batch {LARGEST_BATCH}, the largest tried")
            } else {
                format!("{max_latency_ms} ms per token")
            };
            (largest, format!("the largest batch within {limit}"))
        }
        None => {
            let largest = measured_batches
                .iter()
                .copied()
                .filter(|&b| within(b))
                .max();
            (
                largest,
                "device memory unknown: the largest measured batch within the latency".into(),
            )
        }
    };
    let Some(batch_at_roof) = batch_at_roof else {
        return Err(format!(
            "even batch 1 takes {:.0} ms per token at the roof, over --max-token-latency-ms {max_latency_ms}",
            ms(1)
        ));
    };
    let (seconds, bound) = model.decode_step(&roofs, batch_at_roof as f64);
    let (seconds_measured, _) = model.decode_step(&roofs, batch as f64);
    Ok(RoofEstimate {
        tokens_per_s: batch_at_roof as f64 / seconds,
        batch: batch_at_roof,
        ms_per_token: 1e3 * seconds,
        bound,
        compute_roof: roofs.compute_roof,
        batch_basis: basis,
        roof_fraction: rate / (batch as f64 / seconds_measured),
        measured_tokens_per_s: rate,
    })
}

/// The roof of a prefill `result` of `file`: one prompt, against the
/// compute roof (and the weights' read, which a long prompt hides).
pub fn prefill(file: &ResultFile, result: &WorkloadResult) -> Result<RoofEstimate, String> {
    let roofs = Roofs::of(file)?;
    let model = Transformer::of(result)?;
    let rate = result.rate().ok_or("no measured throughput")?;
    let (seconds, bound) = model.prefill_pass(&roofs);
    let tokens_per_s = model.context / seconds;
    Ok(RoofEstimate {
        tokens_per_s,
        batch: 1,
        ms_per_token: 1e3 * seconds / model.context,
        bound,
        compute_roof: roofs.compute_roof,
        batch_basis: format!("one prompt of {} tokens, as measured", model.context),
        roof_fraction: rate / tokens_per_s,
        measured_tokens_per_s: rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{file, result};
    use crate::results::{DeviceMemory, Provenance, Unit};

    /// Llama 3 8B's shape, as `run` records it.
    fn llama3_8b(weights: &str, batch: u64) -> WorkloadResult {
        let mut r = result(
            "llm-decode",
            Unit::TokensPerSecond,
            77.45 * batch as f64,
            Some((500.0, Provenance::Sensor)),
        );
        for (key, value) in [
            ("hidden", 4096),
            ("ffn", 14336),
            ("layers", 32),
            ("heads", 32),
            ("kv_heads", 8),
            ("vocab", 128_256),
            ("context", 4096),
            ("batch", batch),
        ] {
            r.params.insert(key.into(), value.into());
        }
        r.params.insert("weights".into(), weights.into());
        r
    }

    /// The ceilings of the committed H200 file: 4150.86 GB/s and 50.9
    /// TFLOP/s of f32 FMA.
    fn h200(memory: Option<u64>, extra: Vec<WorkloadResult>) -> ResultFile {
        let mut results = vec![
            result("copy-bandwidth", Unit::GigabytesPerSecond, 4150.86, None),
            result("peak-fma-f32", Unit::GflopPerSecond, 50_929.1, None),
        ];
        for r in &mut results {
            r.verified = true;
        }
        results.extend(extra);
        let (_, mut file) = file(results);
        file.device.memory = memory.map(|bytes| DeviceMemory {
            bytes,
            source: "test".into(),
        });
        file
    }

    #[test]
    fn llama3_8b_has_its_parameters_and_cache() {
        let model = Transformer::of(&llama3_8b("f16", 1)).unwrap();
        // 32 x 218.1 M + 525.3 M: 7.50 G weights read per token.
        assert!(
            (model.parameters - 7.504e9).abs() < 1e7,
            "{}",
            model.parameters
        );
        assert_eq!(model.weight_bytes, model.parameters * 2.0);
        // 2 x 32 layers x 1024 x 2 bytes = 128 KiB per token.
        assert_eq!(model.kv_bytes_per_token, 131_072.0);
        assert_eq!(model.kv_bytes_per_sequence, 131_072.0 * 4097.0);
        let q4 = Transformer::of(&llama3_8b("q4", 1)).unwrap();
        assert_eq!(q4.weight_bytes, q4.parameters * 18.0 / 32.0);
    }

    /// What a run records wins over what the shape implies.
    #[test]
    fn recorded_bytes_win() {
        let mut r = llama3_8b("q4", 16);
        r.params
            .insert("model_bytes".into(), 4_400_000_000u64.into());
        r.params
            .insert("kv_cache_bytes".into(), (16u64 << 29).into());
        let model = Transformer::of(&r).unwrap();
        assert_eq!(model.weight_bytes, 4.4e9);
        assert_eq!(model.kv_bytes_per_sequence, (1u64 << 29) as f64);
    }

    /// The committed H200 file's decode: f16 weights and one 4096-token
    /// cache read at 4.15 TB/s take 3.75 ms, far more than the FLOPs at
    /// 50.9 TFLOP/s (0.34 ms): memory-bound at 267 tokens/s, and the
    /// measured 77.45 is 29% of it. Its memory is unknown, so the batch
    /// stays at the measured one.
    #[test]
    fn the_h200_decode_at_batch_1_is_memory_bound() {
        let decode = llama3_8b("f16", 1);
        let file = h200(None, vec![]);
        let roof = super::decode(&file, &decode, 1, &[1], 100.0).unwrap();
        assert_eq!((roof.batch, roof.bound), (1, Bound::Memory));
        assert_eq!(roof.compute_roof, "peak-fma-f32");
        let bytes = 7.504e9 * 2.0 + 131_072.0 * 4097.0;
        assert!((roof.ms_per_token - bytes / 4150.86e6).abs() < 0.01);
        assert!(
            (roof.tokens_per_s - 267.0).abs() < 1.0,
            "{}",
            roof.tokens_per_s
        );
        assert!(
            (roof.roof_fraction - 0.29).abs() < 0.005,
            "{}",
            roof.roof_fraction
        );
        assert!(roof.batch_basis.contains("memory unknown"));
    }

    /// With 141 GB, batches grow until the compute roof or the memory
    /// stops them: f32 FMA's 50.9 TFLOP/s allows about 300 sequences in
    /// 100 ms, and 141 GB holds (141 - 15) / 0.54 = 234 caches of 4096
    /// tokens.
    #[test]
    fn a_known_memory_lets_the_batch_grow_to_the_first_limit() {
        let decode = llama3_8b("f16", 1);
        let file = h200(Some(141_000_000_000), vec![]);
        let roof = super::decode(&file, &decode, 1, &[1], 100.0).unwrap();
        let model = Transformer::of(&decode).unwrap();
        let fits = ((141e9 - model.weight_bytes) / model.kv_bytes_per_sequence).floor() as u64;
        assert_eq!(roof.batch, fits, "{roof:?}");
        assert!(roof.batch_basis.contains("141 GB"), "{}", roof.batch_basis);
        assert_eq!(roof.bound, Bound::Compute);
        // A customer who waits 20 ms per token: a latency-bound batch.
        let quick = super::decode(&file, &decode, 1, &[1], 20.0).unwrap();
        assert!(
            quick.batch < fits && quick.ms_per_token <= 20.0,
            "{quick:?}"
        );
        assert!(
            quick.batch_basis.contains("20 ms per token"),
            "{}",
            quick.batch_basis
        );
        assert!(super::decode(&file, &decode, 1, &[1], 3.0).is_err());
    }

    /// With a tensor roof in the file, FLOPs are priced there.
    #[test]
    fn the_tensor_roof_is_preferred() {
        let mut mma = result("peak-mma-f16", Unit::GflopPerSecond, 660_000.0, None);
        mma.verified = true;
        let file = h200(Some(141_000_000_000), vec![mma]);
        let roof = super::decode(&file, &llama3_8b("q4", 1), 1, &[1], 100.0).unwrap();
        assert_eq!(roof.compute_roof, "peak-mma-f16");
        assert_eq!(roof.bound, Bound::Memory);
    }

    #[test]
    fn without_ceilings_or_shape_it_says_why() {
        let decode = llama3_8b("f16", 1);
        let (_, bare) = file(vec![decode.clone()]);
        let why = super::decode(&bare, &decode, 1, &[1], 100.0).unwrap_err();
        assert!(why.contains("copy-bandwidth"), "{why}");
        let mut shapeless = decode.clone();
        shapeless.params.remove("hidden");
        let why = super::decode(&h200(None, vec![]), &shapeless, 1, &[1], 100.0).unwrap_err();
        assert!(why.contains("no hidden"), "{why}");
        let mut absurd = decode.clone();
        absurd.params.insert("layers".into(), (1u64 << 40).into());
        assert!(super::decode(&h200(None, vec![]), &absurd, 1, &[1], 100.0).is_err());
        // Recorded sizes that do not fit the shape, or are no counts.
        for (key, value) in [
            ("model_bytes", serde_json::json!(1)),
            ("model_bytes", serde_json::json!(-1)),
            ("model_bytes", serde_json::json!("x")),
            ("model_bytes", serde_json::json!(1e300)),
            ("kv_cache_bytes", serde_json::json!(1)),
            ("batch", serde_json::json!(-1)),
        ] {
            let mut bad = decode.clone();
            bad.params.insert(key.into(), value.clone());
            let why = super::decode(&h200(None, vec![]), &bad, 1, &[1], 100.0).unwrap_err();
            assert!(why.contains(key), "{key} {value}: {why}");
        }
    }

    /// A 512-token prompt of the 8B model: 7.7 TFLOP at 50.9 TFLOP/s.
    #[test]
    fn prefill_is_compute_bound() {
        let mut prompt = llama3_8b("f16", 1);
        prompt.workload = "llm-prefill".into();
        prompt.params.insert("context".into(), 512.into());
        prompt.throughput.value = Some(1244.7);
        let roof = super::prefill(&h200(None, vec![]), &prompt).unwrap();
        assert_eq!(roof.bound, Bound::Compute);
        let flops = 2.0 * 7.504e9 * 512.0 + 4.0 * 32.0 * 32.0 * 128.0 * 512.0 * 513.0 / 2.0;
        assert!((roof.tokens_per_s - 512.0 / (flops / 50_929.1e9)).abs() < 20.0);
        assert!(roof.roof_fraction < 0.5);
    }
}
