//! Criterion benches of every AI kernel on the default adapter, each at one
//! small shape and one LLM shape, and of the whole-model workloads on the
//! tiny preset and Llama 3 8B. Run: `cargo bench --bench kernels`
//! (filter with e.g. `cargo bench --bench kernels -- gemv`).
//!
//! Each bench runs the workload exactly as `mwbench run` does (inputs,
//! check against the CPU reference before and after, then GPU-timed
//! samples) and gives criterion the kernel time only, per fixed quantum of
//! work: one criterion "element" is 1 GFLOP for GFLOP/s kernels and one
//! "byte" is 1 GB for GB/s kernels, so criterion's Gelem/s and GB/s read
//! directly as the workload's figure. Setup and checks take wall time but
//! are not counted.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mwbench::gpu::{self, Gpu};
use mwbench::measure::{SamplePlan, Unobserved};
use mwbench::workloads::attention::{Attention, Phase};
use mwbench::workloads::copy_bandwidth::CopyBandwidth;
use mwbench::workloads::gemm::{Gemm, Precision};
use mwbench::workloads::gemm_skinny::GemmSkinny;
use mwbench::workloads::gemv::{Format, Gemv};
use mwbench::workloads::llm::{Batch, Llm, Preset};
use mwbench::workloads::peak_fma::PeakFma;
use mwbench::workloads::rows::{RowKernel, RowOp};
use mwbench::workloads::tuning::Tune;
use mwbench::workloads::{Unit, Workload};

/// Samples inside one criterion measurement: enough to even out one slow
/// dispatch, few enough that LLM shapes on lavapipe finish.
const PLAN: SamplePlan = SamplePlan {
    measure: Duration::ZERO,
    warm_up: Duration::ZERO,
    sample: Duration::from_millis(20),
    min_samples: 3,
    max_samples: 3,
    sustain: None,
    // A regression bench times the same code every time: each family's
    // default variant, as `run --tune off` does.
    tune: Tune::Off,
};

/// Every kernel at a small shape, then at the first of its LLM shapes.
fn kernels() -> Vec<Box<dyn Workload>> {
    let mut all: Vec<Box<dyn Workload>> = vec![Box::new(PeakFma), Box::new(CopyBandwidth)];
    for precision in [Precision::F32, Precision::F16] {
        for (m, n, k) in [(512, 512, 512), (4096, 4096, 4096)] {
            all.push(Box::new(Gemm {
                precision,
                m,
                n,
                k,
                path: None,
            }));
        }
    }
    for format in [Format::F32, Format::F16, Format::Q8, Format::Q4] {
        for (rows, cols) in [(1024, 1024), (4096, 4096)] {
            all.push(Box::new(Gemv {
                format,
                rows,
                cols,
                variant: None,
            }));
        }
    }
    for (phase, lens) in [(Phase::Decode, [512, 4096]), (Phase::Prefill, [128, 512])] {
        for len in lens {
            all.push(Box::new(Attention {
                phase,
                len,
                path: None,
                decode: None,
            }));
        }
    }
    for op in [RowOp::RmsNorm, RowOp::Softmax] {
        for (rows, cols) in [(256, 4096), (4096, 4096)] {
            all.push(Box::new(RowKernel {
                op,
                rows,
                cols,
                launch: None,
            }));
        }
    }
    // Skinny GEMMs of a decode batch, Llama 3 8B's down projection.
    for skinny in GemmSkinny::at_llm_shapes() {
        all.push(Box::new(skinny));
    }
    // Whole models: the tiny preset and Llama 3 8B, in Q4_0; decode at
    // batches 1 and 16.
    for (phase, batch) in [(Phase::Decode, 1), (Phase::Decode, 16), (Phase::Prefill, 1)] {
        for preset in ["tiny", "llama3-8b"] {
            let preset = Preset::named(preset).expect("a preset");
            all.push(Box::new(Llm {
                phase,
                preset,
                weights: Format::Q4,
                batch: Batch::Sequences(batch),
                context: preset.context,
            }));
        }
    }
    all
}

fn bench(c: &mut Criterion, gpu: &Gpu, workload: &dyn Workload) {
    let (quantum, throughput) = match workload.unit() {
        Unit::GflopPerSecond => (1e9, Throughput::Elements(1_000_000_000)),
        Unit::GigabytesPerSecond => (1e9, Throughput::BytesDecimal(1_000_000_000)),
        Unit::HashesPerSecond => (1e6, Throughput::Elements(1_000_000)),
        Unit::TokensPerSecond => (1.0, Throughput::Elements(1)),
    };
    let mut group = c.benchmark_group(workload.name());
    group
        .throughput(throughput)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(1));
    let id = workload.shape().unwrap_or_else(|| "default".into());
    // One criterion iteration is one token for the LLM workloads.
    group.bench_function(id, |b| {
        b.iter_custom(|iterations| {
            let measurement = workload
                .run(gpu, &PLAN, &mut Unobserved)
                .unwrap_or_else(|e| panic!("{}: {e}", workload.name()));
            let work: f64 = measurement.samples.iter().map(|s| s.work).sum();
            let seconds: f64 = measurement.samples.iter().map(|s| s.seconds).sum();
            Duration::from_secs_f64(iterations as f64 * quantum * seconds / work)
        })
    });
    group.finish();
}

fn all_kernels(c: &mut Criterion) {
    let gpu = gpu::default_for_tests();
    for workload in kernels() {
        bench(c, &gpu, workload.as_ref());
    }
}

criterion_group! {
    name = benches;
    // Criterion's HTML plots need a font its plotters does not have on GPU
    // nodes and CI (mwbench embeds its own only for its charts): the
    // figures are in the text report.
    config = Criterion::default().without_plots();
    targets = all_kernels
}
criterion_main!(benches);
