// Row-wise kernels' reduction for GPUs: one row per workgroup
// (WORKGROUP_SIZE == THREADS_PER_ROW, up to 1024 lanes on a row), each
// subgroup reduced with subgroupAdd / subgroupMax (no memory, no
// barrier), then the subgroups' results through workgroup memory (a few
// values, any subgroup size).

struct Lanes {
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) warp_lane: u32,
    @builtin(num_subgroups) warps: u32,
}

// The sum (or with `take_max`, the maximum) of `value` over the row's
// lanes: the whole workgroup.
fn reduce(lanes: Lanes, lane: u32, value: f32, take_max: bool) -> f32 {
    var part: f32;
    if (take_max) {
        part = subgroupMax(value);
    } else {
        part = subgroupAdd(value);
    }
    if (lanes.warp_lane == 0u) {
        scratch[lanes.warp] = part;
    }
    workgroupBarrier();
    var total = scratch[0];
    for (var w = 1u; w < lanes.warps; w++) {
        total = select(total + scratch[w], max(total, scratch[w]), take_max);
    }
    workgroupBarrier();
    return total;
}
