//! Criterion bench of the sha256d kernel on the default adapter, timed by
//! the GPU (timestamp queries where the adapter has them). Throughput is in
//! nonces (hashes) per second. Run: `cargo bench --bench sha256d`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mwbench::gpu;
use mwbench::workloads::sha256d::{BLOCK_100000, NonceSearch, Target, Tuning};

/// Nonces per dispatch: about a tenth of a second on lavapipe.
const NONCES: u32 = 1 << 22;

fn sha256d(c: &mut Criterion) {
    let gpu = gpu::default_for_tests();
    let header = BLOCK_100000.header();
    let target = Target::from_bits(header.bits()).expect("real bits");
    let mut group = c.benchmark_group(format!("sha256d/{}", gpu.summary.name));
    group.throughput(Throughput::Elements(u64::from(NONCES)));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    // The default launch shape, and its neighbours to show the choice holds.
    for (workgroup_size, nonces_per_thread) in [(64, 128), (64, 16), (256, 128)] {
        let tuning = Tuning {
            workgroup_size,
            nonces_per_thread,
        };
        let search = NonceSearch::new(&gpu, &header, &target, tuning).expect("kernel compiles");
        group.bench_function(format!("wg{workgroup_size}x{nonces_per_thread}"), |b| {
            b.iter_custom(|iterations| {
                let mut seconds = 0.0;
                for i in 0..iterations {
                    let start = (i as u32 % 512) * NONCES;
                    seconds += search.dispatch(start, NONCES).expect("verified").seconds;
                }
                Duration::from_secs_f64(seconds)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's HTML plots need a font its plotters does not have on GPU
    // nodes and CI (mwbench embeds its own only for its charts): the
    // figures are in the text report.
    config = Criterion::default().without_plots();
    targets = sha256d
}
criterion_main!(benches);
