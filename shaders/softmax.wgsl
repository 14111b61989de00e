// Numerically stable softmax per row: y = exp(x - max) / sum(exp(x - max)).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(lanes: Lanes) {
    let row = this_row(lanes);
    let base = row.index * shape.cols;
    var largest = -3.4028235e38;
    // Every lane takes the same number of steps, so that all of them reach
    // the reduction's subgroup operations together on any driver.
    for (var c0 = 0u; c0 < shape.cols; c0 += THREADS_PER_ROW) {
        let c = c0 + row.lane;
        if (c < shape.cols) {
            largest = max(largest, x[base + c]);
        }
    }
    let row_max = reduce(lanes, row.lane, largest, true);
    var sum = 0.0;
    for (var c0 = 0u; c0 < shape.cols; c0 += THREADS_PER_ROW) {
        let c = c0 + row.lane;
        if (c < shape.cols) {
            sum += exp(x[base + c] - row_max);
        }
    }
    let inverse = 1.0 / reduce(lanes, row.lane, sum, false);
    if (row.valid) {
        for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
            y[base + c] = exp(x[base + c] - row_max) * inverse;
        }
    }
}
