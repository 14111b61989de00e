// GEMV entry point with THREADS_PER_ROW lanes per row, appended after
// gemv_common.wgsl and the format's file, whose `row_partial` is this
// lane's share of one row's dot product. The lanes add their partial
// sums through workgroup memory. On GPUs many lanes per row keep
// neighbouring lanes on neighbouring memory; on CPU adapters (lavapipe) one
// lane per row avoids the barriers, which are expensive there. The branch
// on the constant is removed when the pipeline is created.

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let rows_per_group = WORKGROUP_SIZE / THREADS_PER_ROW;
    let row = (group.y * groups.x + group.x) * rows_per_group + t / THREADS_PER_ROW;
    let lane = t % THREADS_PER_ROW;
    var sum = 0.0;
    if (row < shape.rows) {
        sum = row_partial(row, lane);
    }
    if (THREADS_PER_ROW == 1u) {
        if (row < shape.rows) {
            y[row] = sum;
        }
        return;
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var step = THREADS_PER_ROW / 2u; step > 0u; step /= 2u) {
        if (lane < step) {
            partial[t] += partial[t + step];
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < shape.rows) {
        y[row] = partial[t];
    }
}
