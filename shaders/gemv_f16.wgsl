// f16 weights, row-major, packed two to a u32 (so no shader-f16 feature is
// needed) and read four at a time; products are summed in f32.
@group(0) @binding(3) var<storage, read> weights: array<vec2<u32>>;

fn row_partial(row: u32, lane: u32) -> f32 {
    let quads = shape.cols / 4u;
    let base = row * quads;
    var acc = vec4<f32>(0.0);
    for (var c = lane; c < quads; c += THREADS_PER_ROW) {
        let packed = weights[base + c];
        let w = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
        acc = fma(w, x[c], acc);
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}

// The 32 weights of block b of `row`, as eight vec4, and their scale (1
// for f16): shared by block_dot and the skinny GEMM (gemm_skinny.wgsl).
fn block_weights(row: u32, b: u32) -> Block {
    let w = row * (shape.cols / 4u) + b * 8u;
    return Block(f16x4(weights[w]), f16x4(weights[w + 1u]),
        f16x4(weights[w + 2u]), f16x4(weights[w + 3u]), f16x4(weights[w + 4u]),
        f16x4(weights[w + 5u]), f16x4(weights[w + 6u]), f16x4(weights[w + 7u]));
}

fn block_scale(row: u32, b: u32) -> f32 {
    return 1.0;
}

// The dot product of block b (32 columns) of `row` with x's block, given
// as eight vec4 (gemv_broadcast.wgsl).
fn block_dot(row: u32, b: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>,
             x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) -> f32 {
    let w = block_weights(row, b);
    return dot(w.w0, x0) + dot(w.w1, x1) + dot(w.w2, x2) + dot(w.w3, x3)
        + dot(w.w4, x4) + dot(w.w5, x5) + dot(w.w6, x6) + dot(w.w7, x7);
}
