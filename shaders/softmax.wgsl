// Numerically stable softmax per row: y = exp(x - max) / sum(exp(x - max)).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let row = this_row(t, group, groups);
    let base = row.index * shape.cols;
    var largest = -3.4028235e38;
    for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
        largest = max(largest, x[base + c]);
    }
    let row_max = reduce(t, row.lane, largest, true);
    var sum = 0.0;
    for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
        sum += exp(x[base + c] - row_max);
    }
    let inverse = 1.0 / reduce(t, row.lane, sum, false);
    if (row.valid) {
        for (var c = row.lane; c < shape.cols; c += THREADS_PER_ROW) {
            y[base + c] = exp(x[base + c] - row_max) * inverse;
        }
    }
}
