// gemm_coop.wgsl's B source for a dense B: K x N values of ScalarB,
// row-major. Element i of a K slice (BK rows of BN) walks along B's rows,
// where its values are contiguous; zeros past B's edges.

@group(0) @binding(2) var<storage, read> b: array<ScalarB>;

fn b_element(k0: u32, col0: u32, i: u32, k: u32, n: u32) -> f16 {
    let kk = i / BN;
    let col = i % BN;
    if i < BK * BN && k0 + kk < k && col0 + col < n {
        return f16(b[(k0 + kk) * n + col0 + col]);
    }
    return f16(0.0);
}

fn b_slot(i: u32) -> u32 {
    return (i / BN) * B_STRIDE + i % BN;
}
