// Row-wise kernels' reduction through workgroup memory, a tree over the
// row's lanes (one lane per row, on CPU adapters, needs no barrier at
// all: the branch on the constant is removed when the pipeline is
// created). Rows may share a workgroup.

struct Lanes {
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
}

// The sum (or with `take_max`, the maximum) of `value` over a row's lanes.
fn reduce(lanes: Lanes, lane: u32, value: f32, take_max: bool) -> f32 {
    if (THREADS_PER_ROW == 1u) {
        return value;
    }
    let t = lanes.t;
    scratch[t] = value;
    workgroupBarrier();
    for (var step = THREADS_PER_ROW / 2u; step > 0u; step /= 2u) {
        if (lane < step) {
            let a = scratch[t];
            let b = scratch[t + step];
            scratch[t] = select(a + b, max(a, b), take_max);
        }
        workgroupBarrier();
    }
    let total = scratch[t - lane];
    workgroupBarrier();
    return total;
}
