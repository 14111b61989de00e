// f32 weights, row-major, read four at a time.
@group(0) @binding(3) var<storage, read> weights: array<vec4<f32>>;

fn row_partial(row: u32, lane: u32) -> f32 {
    let quads = shape.cols / 4u;
    let base = row * quads;
    var acc = vec4<f32>(0.0);
    for (var c = lane; c < quads; c += THREADS_PER_ROW) {
        acc = fma(weights[base + c], x[c], acc);
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}

// The dot product of block b (32 columns) of `row` with x's block, given
// as eight vec4 (gemv_broadcast.wgsl).
fn block_dot(row: u32, b: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>,
             x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) -> f32 {
    let w = row * (shape.cols / 4u) + b * 8u;
    return dot(weights[w], x0) + dot(weights[w + 1u], x1) + dot(weights[w + 2u], x2)
        + dot(weights[w + 3u], x3) + dot(weights[w + 4u], x4) + dot(weights[w + 5u], x5)
        + dot(weights[w + 6u], x6) + dot(weights[w + 7u], x7);
}
