//! Workloads: one module per kernel family, each a type implementing
//! [`Workload`], with its WGSL under `shaders/` and a CPU reference that
//! checks its output in the same run.

pub mod attention;
pub mod check;
pub mod copy_bandwidth;
pub mod gemm;
pub mod gemm_skinny;
pub mod gemv;
pub mod llm;
pub mod peak_fma;
pub mod peak_mma;
pub mod rows;
pub mod sha256d;
pub mod timing;
pub mod tuning;

use crate::gpu::Gpu;
use crate::measure::{Observer, Sample, SamplePlan};
use crate::results::{self, PowerReading, WorkloadResult};
use crate::{Error, Result};

pub use crate::results::Unit;

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

/// A second figure a workload reports: `factor` x its throughput, or with
/// `inverse`, `factor` / its throughput (a time per unit of work).
#[derive(Debug, Clone, PartialEq)]
pub struct AlsoReported {
    pub unit: &'static str,
    pub factor: f64,
    pub inverse: bool,
}

impl Measurement {
    /// The result of this verified measurement of `workload`, with its
    /// power reading.
    pub fn into_result(self, workload: &str, unit: Unit, power: PowerReading) -> WorkloadResult {
        let measurement = self;
        let samples = measurement.rates(unit);
        let median = results::Summary::of(&samples).map(|s| s.median);
        let also = median.map_or(Vec::new(), |rate| {
            measurement
                .also
                .iter()
                .map(|a| results::Figure {
                    value: if a.inverse {
                        a.factor / rate
                    } else {
                        rate * a.factor
                    },
                    unit: a.unit.to_string(),
                })
                .collect()
        });
        WorkloadResult {
            workload: workload.to_string(),
            status: results::Status::Ok,
            params: measurement.params,
            throughput: results::Throughput {
                value: median,
                unit,
            },
            samples,
            verified: true,
            check: measurement.check,
            power: PowerReading::none(String::new()),
            efficiency: Vec::new(),
            efficiency_above_idle: Vec::new(),
            also,
            ceiling: None,
            concurrent_with: 0,
            series: Vec::new(),
            sustained: None,
        }
        .with_power(power)
    }

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
/// `Sync`: with `run --concurrent` every adapter's thread runs the same
/// workload.
pub trait Workload: Sync {
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

/// The ceiling workloads a kernel reported in `unit` may be read against:
/// `--workloads` runs them with it. `peak-mma-f16` is unsupported (and so
/// costs nothing) on adapters without cooperative matrices.
pub fn ceilings_for(unit: Unit) -> &'static [&'static str] {
    match unit {
        Unit::GflopPerSecond => &["peak-fma-f32", "peak-mma-f16"],
        Unit::GigabytesPerSecond => &["copy-bandwidth"],
        Unit::HashesPerSecond | Unit::TokensPerSecond => &[],
    }
}

/// Every ceiling workload: they pull in no further ceilings.
const CEILINGS: [&str; 3] = ["peak-fma-f32", "copy-bandwidth", "peak-mma-f16"];

/// The ceiling `result` is read against, where `measured` says which
/// ceilings have a verified figure in its run; None for a ceiling itself
/// and for units without one. This is the one place that decides.
///
/// GB/s results: `copy-bandwidth`. GFLOP/s results: `peak-fma-f32`,
/// except a kernel that ran on cooperative matrices (tensor cores), which
/// is read against `peak-mma-f16`. Which kernel ran is the convention
/// every workload with a cooperative-matrix path follows (`gemm-f16`,
/// `attention-prefill`, ...): its `params.path` is `"cooperative-matrix"`
/// ([`COOPERATIVE_MATRIX_PATH`]). A coop result in a run without a
/// verified `peak-mma-f16` gets no fraction (`run` says why): the f32
/// roof is the wrong one for tensor cores. Only GFLOP/s results change
/// roof: a coop kernel reported in GB/s (`gemm-skinny`) stays under
/// `copy-bandwidth`.
pub fn ceiling_of(result: &results::WorkloadResult) -> Option<&'static str> {
    if CEILINGS.contains(&result.workload.as_str()) {
        return None;
    }
    let on_tensor_cores =
        result.params.get("path").and_then(|p| p.as_str()) == Some(COOPERATIVE_MATRIX_PATH);
    match result.throughput.unit {
        Unit::GflopPerSecond if on_tensor_cores => Some("peak-mma-f16"),
        Unit::GflopPerSecond => Some("peak-fma-f32"),
        Unit::GigabytesPerSecond => Some("copy-bandwidth"),
        Unit::HashesPerSecond | Unit::TokensPerSecond => None,
    }
}

/// `params.path` of a result whose kernel ran on cooperative matrices.
pub const COOPERATIVE_MATRIX_PATH: &str = "cooperative-matrix";

/// Every workload, one instance per shape, in the order `--workloads all`
/// runs them: the ceilings come before the kernels measured against them.
pub fn all() -> Vec<Box<dyn Workload>> {
    all_for(&LlmChoice::default(), Sizes::Full)
}

/// Which shapes the kernels run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// The shapes of Llama 3 8B's layers: what a site would run.
    Full,
    /// One small shape per kernel (`run --quick`): every kernel built,
    /// checked and timed in seconds, even on lavapipe. Their figures are
    /// not a GPU's throughput, and their shapes say so.
    Quick,
}

/// The model `llm-decode` and `llm-prefill` run (`--preset`, `--weights`),
/// and decode's batches and context (`--batch`, `--context`).
#[derive(Debug, Clone)]
pub struct LlmChoice {
    pub preset: llm::Preset,
    pub weights: gemv::Format,
    pub batches: Vec<llm::Batch>,
    /// None: the preset's.
    pub context: Option<usize>,
}

impl Default for LlmChoice {
    /// Llama 3 8B in f16, decoding 1, 16 and 64 sequences at its context.
    fn default() -> Self {
        LlmChoice {
            preset: llm::PRESETS[0],
            weights: gemv::Format::F16,
            batches: llm::DEFAULT_BATCHES.map(llm::Batch::Sequences).to_vec(),
            context: None,
        }
    }
}

/// Every workload at `sizes`, with the LLM workloads on `llm`'s model.
pub fn all_for(llm: &LlmChoice, sizes: Sizes) -> Vec<Box<dyn Workload>> {
    let quick = sizes == Sizes::Quick;
    use gemv::{Format, Gemv};
    use rows::{RowKernel, RowOp};
    let mut workloads: Vec<Box<dyn Workload>> = vec![
        Box::new(sha256d::Sha256d::default()),
        Box::new(peak_fma::PeakFma),
        Box::new(copy_bandwidth::CopyBandwidth),
        Box::new(if quick {
            peak_mma::PeakMma::quick()
        } else {
            peak_mma::PeakMma::full()
        }),
    ];
    for precision in [gemm::Precision::F32, gemm::Precision::F16] {
        let shapes = if quick {
            vec![gemm::Gemm::quick(precision)]
        } else {
            gemm::Gemm::at_shapes(precision)
        };
        for gemm in shapes {
            workloads.push(Box::new(gemm));
        }
    }
    for format in [Format::F32, Format::F16, Format::Q8, Format::Q4] {
        let shapes = if quick {
            vec![Gemv::quick(format)]
        } else {
            Gemv::at_llm_shapes(format)
        };
        for gemv in shapes {
            workloads.push(Box::new(gemv));
        }
    }
    let skinny = if quick {
        gemm_skinny::GemmSkinny::quick()
    } else {
        gemm_skinny::GemmSkinny::at_llm_shapes()
    };
    for gemm in skinny {
        workloads.push(Box::new(gemm));
    }
    for phase in [attention::Phase::Decode, attention::Phase::Prefill] {
        let shapes = if quick {
            vec![attention::Attention::quick(phase)]
        } else {
            attention::Attention::at_llm_shapes(phase)
        };
        for attention in shapes {
            workloads.push(Box::new(attention));
        }
    }
    for op in [RowOp::RmsNorm, RowOp::Softmax] {
        let shapes = if quick {
            vec![RowKernel::quick(op)]
        } else {
            RowKernel::at_llm_shapes(op)
        };
        for kernel in shapes {
            workloads.push(Box::new(kernel));
        }
    }
    let context = llm.context.unwrap_or(llm.preset.context);
    for &batch in &llm.batches {
        let batch = match batch {
            llm::Batch::Largest { up_to } if quick => llm::Batch::Largest {
                up_to: up_to.min(llm::QUICK_LARGEST_BATCH),
            },
            batch => batch,
        };
        workloads.push(Box::new(llm::Llm {
            phase: attention::Phase::Decode,
            preset: llm.preset,
            weights: llm.weights,
            batch,
            context,
        }));
    }
    workloads.push(Box::new(llm::Llm {
        phase: attention::Phase::Prefill,
        preset: llm.preset,
        weights: llm.weights,
        batch: llm::Batch::Sequences(1),
        context,
    }));
    workloads
}

/// One workload as `run --list` shows it: every shape it runs at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CatalogueEntry {
    pub name: String,
    pub unit: String,
    /// Empty for single-shape workloads.
    pub shapes: Vec<String>,
    pub description: String,
}

/// `workloads` grouped by name, in order, with their shapes.
pub fn catalogue(workloads: &[Box<dyn Workload>]) -> Vec<CatalogueEntry> {
    let mut entries: Vec<CatalogueEntry> = Vec::new();
    for workload in workloads {
        let shape = workload.shape();
        match entries.iter_mut().find(|e| e.name == workload.name()) {
            Some(entry) => entry.shapes.extend(shape),
            None => entries.push(CatalogueEntry {
                name: workload.name().to_string(),
                unit: workload.unit().as_str().to_string(),
                shapes: shape.into_iter().collect(),
                description: workload.description().to_string(),
            }),
        }
    }
    entries
}

/// Parses `--workloads`: a comma-separated list of names, or `all`.
pub fn parse_list(list: &str, llm: LlmChoice, sizes: Sizes) -> Result<Vec<Box<dyn Workload>>> {
    let known = all_for(&llm, sizes);
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
    let mut known_names: Vec<&str> = known.iter().map(|w| w.name()).collect();
    // A workload runs at several shapes: each name once, in run order.
    let mut listed = std::collections::HashSet::new();
    known_names.retain(|name| listed.insert(*name));
    if let Some(unknown) = names.iter().find(|n| !known_names.contains(n)) {
        return Err(Error::usage(format!(
            "unknown workload '{unknown}'; known workloads: {}, or all",
            known_names.join(", ")
        )));
    }
    // A kernel is always reported against its ceiling, so its ceilings
    // run too, even when not named.
    let ceilings: Vec<&str> = known
        .iter()
        .filter(|w| names.contains(&w.name()) && !CEILINGS.contains(&w.name()))
        .flat_map(|w| ceilings_for(w.unit()).iter().copied())
        .collect();
    Ok(all_for(&llm, sizes)
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
            parse_list(list, LlmChoice::default(), Sizes::Full)
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
        // Either compute roof may be a GFLOP/s kernel's (see ceiling_of),
        // and ceilings come first.
        assert_eq!(
            names("gemm-f16"),
            ["peak-fma-f32", "peak-mma-f16", "gemm-f16", "gemm-f16"]
        );
        assert_eq!(names("peak-mma-f16"), ["peak-mma-f16"]);
        let err = parse_list("sha256d,gemm-f64", LlmChoice::default(), Sizes::Full)
            .err()
            .unwrap();
        assert!(err.to_string().contains("'gemm-f64'"));
        assert!(err.to_string().contains("sha256d"));
        assert_eq!(err.exit_code(), 2);
        assert!(parse_list(",", LlmChoice::default(), Sizes::Full).is_err());
    }

    /// Every workload, at its `run --quick` shape, runs and passes its
    /// check on the default adapter (lavapipe on CI). The full shapes are
    /// checked by every `mwbench run` (minutes each on lavapipe: this test
    /// alone took 13 minutes at them), and each kernel's own tests check
    /// shapes that cut every tile edge.
    #[test]
    fn every_workload_verifies_on_the_default_adapter() {
        let gpu = crate::gpu::default_for_tests();
        let plan = SamplePlan::single();
        // The LLM workloads on the tiny preset: its layers are checked in
        // full; Llama 3 8B's are checked by `mwbench run`.
        let tiny = LlmChoice {
            preset: llm::Preset::named("tiny").unwrap(),
            weights: gemv::Format::Q8,
            ..LlmChoice::default()
        };
        for workload in all_for(&tiny, Sizes::Quick) {
            match workload.run(&gpu, &plan, &mut Unobserved) {
                Ok(measurement) => {
                    let rates = measurement.rates(workload.unit());
                    assert!(rates.iter().all(|r| *r > 0.0), "{}", workload.name());
                }
                Err(Error::Unsupported(reason)) => {
                    // Too large for the adapter, or (Mesa 22.3) no
                    // cooperative matrices for the tensor-core ceiling.
                    let allowed = reason.contains("bytes")
                        || (workload.name() == "peak-mma-f16" && gpu.coop_shape().is_none());
                    assert!(allowed, "{}: {reason}", workload.name())
                }
                Err(error) => panic!("{} failed: {error}", workload.name()),
            }
        }
    }

    #[test]
    fn the_catalogue_lists_each_workload_once_with_its_shapes() {
        let listed = catalogue(&all());
        let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names[..4],
            ["sha256d", "peak-fma-f32", "copy-bandwidth", "peak-mma-f16"]
        );
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(unique, names, "each name once");
        let gemv = listed.iter().find(|e| e.name == "gemv-f16").unwrap();
        assert_eq!(gemv.unit, "GB/s");
        assert!(gemv.shapes.len() >= 2, "{:?}", gemv.shapes);
        assert!(listed.iter().all(|e| !e.description.is_empty()));
    }

    /// The results crate's table of each workload's unit, which readers
    /// hold a file to, is the workloads' own: every workload is in it at
    /// its unit, and it names no other.
    #[test]
    fn every_workload_reports_in_the_unit_files_are_held_to() {
        let mut names = std::collections::BTreeSet::new();
        for sizes in [Sizes::Full, Sizes::Quick] {
            for workload in all_for(&LlmChoice::default(), sizes) {
                assert_eq!(
                    results::workload_unit(workload.name()),
                    Some(workload.unit()),
                    "{}",
                    workload.name()
                );
                names.insert(workload.name());
            }
        }
        let table: std::collections::BTreeSet<_> = results::WORKLOAD_UNITS
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(names, table);
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
