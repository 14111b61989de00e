// f16 weights for the subgroup GEMV (gemv_subgroup.wgsl): a chunk is one
// vec4<u32>, 8 weights packed two to a word (so columns come in eights).
@group(0) @binding(3) var<storage, read> weights: array<vec4<u32>>;

fn chunks_per_row() -> u32 {
    return shape.cols / 8u;
}

// Component r: chunk c of row first + r (the last row past the end) dotted
// with x.
fn chunk_dots(first: u32, c: u32) -> vec4<f32> {
    let x0 = x[2u * c];
    let x1 = x[2u * c + 1u];
    var sums = vec4<f32>(0.0);
    for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) {
        let row = min(first + r, shape.rows - 1u);
        let w = weights[row * chunks_per_row() + c];
        sums[r] = dot(f16x4(w.xy), x0) + dot(f16x4(w.zw), x1);
    }
    return sums;
}
