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
