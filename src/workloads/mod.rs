//! Workloads: one module per kernel family, each a type implementing
//! [`Workload`], with its WGSL under `shaders/` and a CPU reference that
//! checks its output in the same run.

pub mod attention;
pub mod check;
pub mod copy_bandwidth;
pub mod gemm;
pub mod gemv;
pub mod llm;
pub mod peak_fma;
pub mod rows;
pub mod sha256d;
pub mod timing;

use serde::{Deserialize, Serialize};

use crate::gpu::Gpu;
use crate::measure::{Observer, Sample, SamplePlan};
use crate::{Error, Result};

/// The unit a workload's throughput is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Unit {
    #[serde(rename = "H/s")]
    HashesPerSecond,
    #[serde(rename = "GFLOP/s")]
    GflopPerSecond,
    #[serde(rename = "GB/s")]
    GigabytesPerSecond,
    #[serde(rename = "tokens/s")]
    TokensPerSecond,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/s",
            Unit::GflopPerSecond => "GFLOP/s",
            Unit::GigabytesPerSecond => "GB/s",
            Unit::TokensPerSecond => "tokens/s",
        }
    }

    /// Units of work per joule: this unit divided by watts.
    pub fn per_joule(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/J",
            Unit::GflopPerSecond => "GFLOP/J",
            Unit::GigabytesPerSecond => "GB/J",
            Unit::TokensPerSecond => "tokens/J",
        }
    }

    /// More than any one adapter can do, by orders of magnitude (an S21
    /// ASIC hashes 2e14 H/s, an H200 peaks near 2e6 GFLOP/s and 5e3 GB/s):
    /// a figure above it in a file is a fault, never a measurement.
    pub fn max_plausible(self) -> f64 {
        match self {
            Unit::HashesPerSecond => 1e16,
            Unit::GflopPerSecond => 1e9,
            Unit::GigabytesPerSecond => 1e7,
            Unit::TokensPerSecond => 1e9,
        }
    }

    /// How much work one raw unit of [`Sample::work`] is in this unit.
    pub fn scale(self) -> f64 {
        match self {
            Unit::HashesPerSecond | Unit::TokensPerSecond => 1.0,
            Unit::GflopPerSecond | Unit::GigabytesPerSecond => 1e-9,
        }
    }
}

/// What a workload measured, before power and reporting are added.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The shape and settings of the run, recorded with the result.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Measured samples: raw work (hashes, flops, bytes) and kernel seconds.
    pub samples: Vec<Sample>,
    /// Further figures derived from the throughput: each is the median
    /// rate times `factor`, in `unit` (a GEMV's GFLOP/s beside its GB/s).
    pub also: Vec<AlsoReported>,
    /// What was checked against the CPU reference, in words.
    pub check: String,
}

/// A second figure a workload reports, proportional to its throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct AlsoReported {
    pub unit: &'static str,
    pub factor: f64,
}

impl Measurement {
    /// Per-sample throughput in `unit`.
    pub fn rates(&self, unit: Unit) -> Vec<f64> {
        self.samples
            .iter()
            .map(|s| s.rate() * unit.scale())
            .collect()
    }
}

/// A benchmark kernel. `run` measures it on one device according to the
/// plan, and must fail with [`Error::VerificationFailed`] when any output
/// differs from the CPU reference: a failed kernel yields no figure.
pub trait Workload {
    /// The name used by `--workloads` and in result files.
    fn name(&self) -> &'static str;
    /// One line for `--help` and the README.
    fn description(&self) -> &'static str;
    /// The unit its throughput is reported in.
    fn unit(&self) -> Unit;
    /// The shape this instance measures (`4096x4096`), for workloads that
    /// run at several; it tells their results apart.
    fn shape(&self) -> Option<String> {
        None
    }
    /// Measures the workload; `observer` hears when the measured samples
    /// run and how far they are.
    fn run(&self, gpu: &Gpu, plan: &SamplePlan, observer: &mut dyn Observer)
    -> Result<Measurement>;
}

/// Runs `workload` once on `gpu` (one launch, no warm-up) and panics with
/// its name, shape, `context` and the error unless its check passed.
#[cfg(test)]
pub(crate) fn assert_verifies(gpu: &Gpu, workload: &dyn Workload, context: &str) {
    if let Err(e) = workload.run(gpu, &SamplePlan::single(), &mut crate::measure::Unobserved) {
        let shape = workload.shape().unwrap_or_default();
        panic!("{} {shape} {context}: {e}", workload.name());
    }
}

/// The workload whose figure is the roof for workloads reported in `unit`:
/// `peak-fma-f32` for GFLOP/s, `copy-bandwidth` for GB/s.
pub fn ceiling_for(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::GflopPerSecond => Some("peak-fma-f32"),
        Unit::GigabytesPerSecond => Some("copy-bandwidth"),
        Unit::HashesPerSecond | Unit::TokensPerSecond => None,
    }
}

/// Every workload, one instance per shape, in the order `--workloads all`
/// runs them: the ceilings come before the kernels measured against them.
pub fn all() -> Vec<Box<dyn Workload>> {
    all_for(LlmChoice::default())
}

/// The model `llm-decode` and `llm-prefill` run (`--preset`, `--weights`).
#[derive(Debug, Clone, Copy)]
pub struct LlmChoice {
    pub preset: llm::Preset,
    pub weights: gemv::Format,
}

impl Default for LlmChoice {
    /// Llama 3 8B in f16.
    fn default() -> Self {
        LlmChoice {
            preset: llm::PRESETS[0],
            weights: gemv::Format::F16,
        }
    }
}

/// Every workload, with the LLM workloads on `llm`'s model.
pub fn all_for(llm: LlmChoice) -> Vec<Box<dyn Workload>> {
    use gemv::{Format, Gemv};
    use rows::{RowKernel, RowOp};
    let mut workloads: Vec<Box<dyn Workload>> = vec![
        Box::new(sha256d::Sha256d::default()),
        Box::new(peak_fma::PeakFma),
        Box::new(copy_bandwidth::CopyBandwidth),
    ];
    for precision in [gemm::Precision::F32, gemm::Precision::F16] {
        for gemm in gemm::Gemm::at_shapes(precision) {
            workloads.push(Box::new(gemm));
        }
    }
    for format in [Format::F32, Format::F16, Format::Q8, Format::Q4] {
        for gemv in Gemv::at_llm_shapes(format) {
            workloads.push(Box::new(gemv));
        }
    }
    for phase in [attention::Phase::Decode, attention::Phase::Prefill] {
        for attention in attention::Attention::at_llm_shapes(phase) {
            workloads.push(Box::new(attention));
        }
    }
    for op in [RowOp::RmsNorm, RowOp::Softmax] {
        for kernel in RowKernel::at_llm_shapes(op) {
            workloads.push(Box::new(kernel));
        }
    }
    for phase in [attention::Phase::Decode, attention::Phase::Prefill] {
        workloads.push(Box::new(llm::Llm {
            phase,
            preset: llm.preset,
            weights: llm.weights,
        }));
    }
    workloads
}

/// Parses `--workloads`: a comma-separated list of names, or `all`.
pub fn parse_list(list: &str, llm: LlmChoice) -> Result<Vec<Box<dyn Workload>>> {
    let known = all_for(llm);
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Err(Error::usage("--workloads needs at least one workload name"));
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
        return Ok(known);
    }
    let known_names: Vec<&str> = known.iter().map(|w| w.name()).collect();
    if let Some(unknown) = names.iter().find(|n| !known_names.contains(n)) {
        return Err(Error::usage(format!(
            "unknown workload '{unknown}'; known workloads: {}, or all",
            known_names.join(", ")
        )));
    }
    // A kernel is always reported against its ceiling, so the ceiling runs
    // too, even when not named.
    let ceilings: Vec<&str> = known
        .iter()
        .filter(|w| names.contains(&w.name()))
        .filter_map(|w| ceiling_for(w.unit()))
        .collect();
    Ok(all_for(llm)
        .into_iter()
        .filter(|w| names.contains(&w.name()) || ceilings.contains(&w.name()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Unobserved;

    #[test]
    fn workload_lists_parse() {
        let names = |list| {
            parse_list(list, LlmChoice::default())
                .unwrap()
                .iter()
                .map(|w| w.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("all")[..3],
            ["sha256d", "peak-fma-f32", "copy-bandwidth"]
        );
        assert_eq!(names(" sha256d ,"), ["sha256d"]);
        // Ceilings join the kernels measured against them.
        assert_eq!(names("copy-bandwidth"), ["copy-bandwidth"]);
        assert_eq!(names("peak-fma-f32,sha256d"), ["sha256d", "peak-fma-f32"]);
        let err = parse_list("sha256d,gemm-f64", LlmChoice::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("'gemm-f64'"));
        assert!(err.to_string().contains("sha256d"));
        assert_eq!(err.exit_code(), 2);
        assert!(parse_list(",", LlmChoice::default()).is_err());
    }

    /// Every workload, at every shape the adapter can hold, runs and passes
    /// its check on the default adapter (lavapipe on CI).
    #[test]
    fn every_workload_verifies_on_the_default_adapter() {
        let gpu = crate::gpu::default_for_tests();
        let plan = SamplePlan::single();
        // The LLM workloads on the tiny preset: its layers are checked in
        // full; Llama 3 8B's are checked by `mwbench run` (minutes here).
        let tiny = LlmChoice {
            preset: llm::Preset::named("tiny").unwrap(),
            weights: gemv::Format::Q8,
        };
        for workload in all_for(tiny) {
            match workload.run(&gpu, &plan, &mut Unobserved) {
                Ok(measurement) => {
                    let rates = measurement.rates(workload.unit());
                    assert!(rates.iter().all(|r| *r > 0.0), "{}", workload.name());
                }
                Err(Error::Unsupported(reason)) => {
                    assert!(reason.contains("bytes"), "{}: {reason}", workload.name())
                }
                Err(error) => panic!("{} failed: {error}", workload.name()),
            }
        }
    }

    #[test]
    fn units_serialise_as_plain_text() {
        assert_eq!(
            serde_json::to_string(&Unit::GflopPerSecond).unwrap(),
            "\"GFLOP/s\""
        );
        assert_eq!(Unit::HashesPerSecond.per_joule(), "H/J");
    }
}
