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
