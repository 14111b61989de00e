// GEMV for CPU adapters with 8-wide subgroups (lavapipe), appended after
// gemv_common.wgsl and the format's file. One lane per row, as there; but
// every lane needs the same x, and lavapipe loads per lane, so each lane of
// the subgroup loads one vec4 of x's block of 32 and subgroupBroadcast (an
// extract from the vector, no memory) hands all eight to every lane: one x
// load per lane per block instead of eight. The block loop is the same for
// every lane (rows past the end compute row `rows - 1` and do not store),
// as subgroup operations need.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_broadcast(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row = (group.y * groups.x + group.x) * WORKGROUP_SIZE + t;
    let r = min(row, shape.rows - 1u);
    var sum = 0.0;
    for (var b = 0u; b < shape.cols / 32u; b++) {
        let mine = x[b * 8u + lane];
        sum += block_dot(r, b,
            subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u),
            subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u),
            subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u),
            subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
    }
    if (row < shape.rows) {
        y[row] = sum;
    }
}
