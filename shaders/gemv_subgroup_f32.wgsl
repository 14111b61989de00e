// f32 weights for the subgroup GEMV (gemv_subgroup.wgsl): a chunk is one
// vec4<f32> of weights, 4 columns.
@group(0) @binding(3) var<storage, read> weights: array<vec4<f32>>;

fn chunks_per_row() -> u32 {
    return shape.cols / 4u;
}

// Component r: chunk c of row first + r (the last row past the end) dotted
// with x.
fn chunk_dots(first: u32, c: u32) -> vec4<f32> {
    let xs = x[c];
    var sums = vec4<f32>(0.0);
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
        let row = min(first + r, shape.rows - 1u);
        sums[r] = dot(weights[row * chunks_per_row() + c], xs);
    }
    return sums;
}
