// Q8_0 weights for the subgroup GEMV (gemv_subgroup.wgsl), laid out as in
// gemv_q8.wgsl: a chunk is one vec4<u32> of quants, half a block (16
// weights), so two neighbouring lanes share a block's scale.
@group(0) @binding(3) var<storage, read> quants: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;

fn chunks_per_row() -> u32 {
    return shape.cols / 16u;
}

// Component r: chunk c of row first + r (the last row past the end) dotted
// with x.
fn chunk_dots(first: u32, c: u32) -> vec4<f32> {
    let v = 4u * c;
    let x0 = x[v];
    let x1 = x[v + 1u];
    let x2 = x[v + 2u];
    let x3 = x[v + 3u];
    var sums = vec4<f32>(0.0);
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
        let row = min(first + r, shape.rows - 1u);
        let chunk = row * chunks_per_row() + c;
        let q = quants[chunk];
        let block = chunk / 2u;
        let scale = unpack2x16float(scales[block / 2u])[block % 2u];
        sums[r] = scale * (dot(int8x4(q.x), x0) + dot(int8x4(q.y), x1)
            + dot(int8x4(q.z), x2) + dot(int8x4(q.w), x3));
    }
    return sums;
}
