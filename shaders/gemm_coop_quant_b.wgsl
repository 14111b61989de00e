// gemm_coop.wgsl's B source for a quantised weight matrix W, B = W^T: W
// has N rows (outputs) of K columns (inputs), laid out as the GEMV kernels
// read it, in blocks of 32 along a row with one f16 scale each (packed two
// to a word in `scales`): Q8_0 (BITS 8, one signed byte a weight) or Q4_0
// (BITS 4, 16 bytes a block: weight j in the low nibble of byte j for
// j < 16, the high nibble of byte j - 16 after, minus 8). Each weight is
// read once per workgroup and decoded into workgroup memory as f16; the
// invocations walk along W's rows, where its bytes are contiguous.

@group(0) @binding(2) var<storage, read> quants: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;

fn weight(row: u32, col: u32, cols: u32) -> f32 {
    let at = row * cols + col;
    let block = at / 32u;
    let scale = unpack2x16float(scales[block / 2u])[block % 2u];
    if BITS == 8u {
        let byte = (quants[at / 4u] >> (8u * (at % 4u))) & 255u;
        return scale * f32(i32(byte << 24u) >> 24u);
    }
    let j = at % 32u;
    let byte_at = block * 16u + j % 16u;
    let byte = (quants[byte_at / 4u] >> (8u * (byte_at % 4u))) & 255u;
    let nibble = select(byte >> 4u, byte & 15u, j < 16u);
    return scale * (f32(nibble) - 8.0);
}

// Element i of a K slice walks along W's rows (B's columns), where its
// bytes are contiguous; zeros past W's edges.
fn b_element(k0: u32, col0: u32, i: u32, k: u32, n: u32) -> f16 {
    let col = i / BK;
    let kk = i % BK;
    if i < BK * BN && k0 + kk < k && col0 + col < n {
        return f16(weight(col0 + col, k0 + kk, k));
    }
    return f16(0.0);
}

fn b_slot(i: u32) -> u32 {
    return (i % BK) * B_STRIDE + i / BK;
}
