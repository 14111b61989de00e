// gemm_coop.wgsl's B source for a dense B: K x N values of ScalarB,
// row-major, staged a K slice at a time (zeros past B's edges).

@group(0) @binding(2) var<storage, read> b: array<ScalarB>;

fn stage_b(k0: u32, col0: u32, local: u32, k: u32, n: u32) {
    for (var i = local; i < BK * BN; i += THREADS) {
        let kk = i / BN;
        let col = i % BN;
        var value = f16(0.0);
        if k0 + kk < k && col0 + col < n {
            value = f16(b[(k0 + kk) * n + col0 + col]);
        }
        b_slice[kk * B_STRIDE + col] = value;
    }
}
