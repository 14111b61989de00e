// Q8_0 weights (llama.cpp's GGUF quantisation): blocks of 32 int8 values
// with one f16 scale; weight = scale * q. The quants are 8 words a block,
// read as two vec4 (on lavapipe two loads a lane instead of eight), byte j
// of the block being weight j; the scales are packed two to a u32 in
// their own array, because a 34-byte block does not align to WGSL's words.
@group(0) @binding(3) var<storage, read> quants: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;

fn row_partial(row: u32, lane: u32) -> f32 {
    let blocks = shape.cols / 32u;
    var acc = 0.0;
    for (var b = lane; b < blocks; b += THREADS_PER_ROW) {
        let block = row * blocks + b;
        let scale = unpack2x16float(scales[block / 2u])[block % 2u];
        let lo = quants[2u * block];
        let hi = quants[2u * block + 1u];
        let v = b * 8u;
        var dot_q = 0.0;
        dot_q += dot(int8x4(lo.x), x[v]);
        dot_q += dot(int8x4(lo.y), x[v + 1u]);
        dot_q += dot(int8x4(lo.z), x[v + 2u]);
        dot_q += dot(int8x4(lo.w), x[v + 3u]);
        dot_q += dot(int8x4(hi.x), x[v + 4u]);
        dot_q += dot(int8x4(hi.y), x[v + 5u]);
        dot_q += dot(int8x4(hi.z), x[v + 6u]);
        dot_q += dot(int8x4(hi.w), x[v + 7u]);
        acc = fma(scale, dot_q, acc);
    }
    return acc;
}

// The 32 quants of block b of `row`, as eight vec4, and their scale:
// shared by block_dot and the skinny GEMM (gemm_skinny.wgsl).
fn block_weights(row: u32, b: u32) -> Block {
    let block = row * (shape.cols / 32u) + b;
    let lo = quants[2u * block];
    let hi = quants[2u * block + 1u];
    return Block(int8x4(lo.x), int8x4(lo.y), int8x4(lo.z), int8x4(lo.w),
        int8x4(hi.x), int8x4(hi.y), int8x4(hi.z), int8x4(hi.w));
}

fn block_scale(row: u32, b: u32) -> f32 {
    let block = row * (shape.cols / 32u) + b;
    return unpack2x16float(scales[block / 2u])[block % 2u];
}

// The dot product of block b (32 columns) of `row` with x's block, given
// as eight vec4 (gemv_broadcast.wgsl).
fn block_dot(row: u32, b: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>,
             x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) -> f32 {
    let w = block_weights(row, b);
    return block_scale(row, b) * (dot(w.w0, x0) + dot(w.w1, x1) + dot(w.w2, x2)
        + dot(w.w3, x3) + dot(w.w4, x4) + dot(w.w5, x5) + dot(w.w6, x6) + dot(w.w7, x7));
}
