// Q4_0 weights for the subgroup GEMV (gemv_subgroup.wgsl), laid out as in
// gemv_q4.wgsl: a chunk is one vec4<u32> of quants, a whole block (32
// weights), with its scale. Word k holds weights 4k..4k+3 in its low
// nibbles and 16+4k.. in its high ones.
@group(0) @binding(3) var<storage, read> quants: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;

fn chunks_per_row() -> u32 {
    return shape.cols / 32u;
}

// Component r: block b of row first + r (the last row past the end) dotted
// with x.
fn chunk_dots(first: u32, b: u32) -> vec4<f32> {
    let v = 8u * b;
    let x0 = x[v];
    let x1 = x[v + 1u];
    let x2 = x[v + 2u];
    let x3 = x[v + 3u];
    let x4 = x[v + 4u];
    let x5 = x[v + 5u];
    let x6 = x[v + 6u];
    let x7 = x[v + 7u];
    var sums = vec4<f32>(0.0);
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
        let row = min(first + r, shape.rows - 1u);
        let block = row * chunks_per_row() + b;
        let w = quants[block];
        let scale = unpack2x16float(scales[block / 2u])[block % 2u];
        sums[r] = scale * (dot(low_nibbles(w.x), x0) + dot(low_nibbles(w.y), x1)
            + dot(low_nibbles(w.z), x2) + dot(low_nibbles(w.w), x3)
            + dot(high_nibbles(w.x), x4) + dot(high_nibbles(w.y), x5)
            + dot(high_nibbles(w.z), x6) + dot(high_nibbles(w.w), x7));
    }
    return sums;
}
