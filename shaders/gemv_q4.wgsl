// Q4_0 weights (llama.cpp's GGUF quantisation): blocks of 32 4-bit values
// with one f16 scale; weight = scale * (q - 8). Within a block, byte j holds
// weight j in its low nibble and weight j + 16 in its high nibble (GGUF's
// order). The quants are 4 words a block, read as one vec4 (on lavapipe
// one load a lane instead of four); the scales are packed two to a
// u32 in their own array, because an 18-byte block does not align to WGSL's
// words.
@group(0) @binding(3) var<storage, read> quants: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;

fn row_partial(row: u32, lane: u32) -> f32 {
    let blocks = shape.cols / 32u;
    var acc = 0.0;
    for (var b = lane; b < blocks; b += THREADS_PER_ROW) {
        let block = row * blocks + b;
        let scale = unpack2x16float(scales[block / 2u])[block % 2u];
        let words = quants[block];
        let v = b * 8u;
        var dot_q = 0.0;
        for (var k = 0u; k < 4u; k++) {
            let word = words[k];
            dot_q += dot(low_nibbles(word), x[v + k]) + dot(high_nibbles(word), x[v + 4u + k]);
        }
        acc = fma(scale, dot_q, acc);
    }
    return acc;
}

// The 32 quants of block b of `row` less 8, as eight vec4 in column
// order, and their scale: shared by block_dot and the skinny GEMM
// (gemm_skinny.wgsl). Word k holds weights 4k..4k+3 in its low nibbles and
// 16+4k..16+4k+3 in its high ones.
fn block_weights(row: u32, b: u32) -> Block {
    let words = quants[row * (shape.cols / 32u) + b];
    return Block(low_nibbles(words.x), low_nibbles(words.y),
        low_nibbles(words.z), low_nibbles(words.w), high_nibbles(words.x),
        high_nibbles(words.y), high_nibbles(words.z), high_nibbles(words.w));
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
