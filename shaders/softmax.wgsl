// Numerically stable softmax per row: y = exp(x - max) / sum(exp(x - max)).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(lanes: Lanes) {
    let row = this_row(lanes);
    let base = row.index * shape.cols;
    var largest = -3.4028235e38;
    for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
        largest = max(largest, x[base + c]);
    }
    let row_max = reduce(lanes, row.lane, largest, true);
    var sum = 0.0;
    for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
        sum += exp(x[base + c] - row_max);
    }
    let inverse = 1.0 / reduce(lanes, row.lane, sum, false);
    if (row.valid) {
        for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
            y[base + c] = exp(x[base + c] - row_max) * inverse;
        }
    }
}
