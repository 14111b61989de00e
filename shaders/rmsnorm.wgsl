// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, per row.
@group(0) @binding(3) var<storage, read> weight: array<f32>;

const EPSILON: f32 = 1e-5;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(lanes: Lanes) {
    let row = this_row(lanes);
    let base = row.index * shape.cols;
    var squares = 0.0;
    // Every lane takes the same number of steps, so that all of them reach
    // the reduction's subgroup operations together on any driver.
    for (var c0 = 0u; c0 < shape.cols; c0 += THREADS_PER_ROW) {
        let c = c0 + row.lane;
        if (c < shape.cols) {
            let v = x[base + c];
            squares = fma(v, v, squares);
        }
    }
    let total = reduce(lanes, row.lane, squares, false);
    let scale = inverseSqrt(total / f32(shape.cols) + EPSILON);
    if (row.valid) {
        for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
            y[base + c] = x[base + c] * scale * weight[c];
        }
    }
}
