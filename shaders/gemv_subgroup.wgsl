// GEMV entry point for GPUs with subgroups, appended after gemv_common.wgsl,
// gemv_block.wgsl and the format's gemv_subgroup_*.wgsl, which cuts each row
// into 16-byte chunks (`chunks_per_row`: one vec4<u32> or vec4<f32> of
// weights) and gives a chunk's dot products with x for the workgroup's rows
// (`chunk_dots`).
//
// A workgroup of one or more subgroups owns ROWS_PER_WORKGROUP consecutive
// rows, and all its lanes walk their chunks c = t, t + WORKGROUP_SIZE, ...:
// consecutive lanes read consecutive 16 bytes of a row, so a subgroup's
// loads of one row and step are one contiguous run (coalesced), and each
// lane loads the x it needs once for all the workgroup's rows. The lanes'
// sums are reduced by subgroupAdd; where the workgroup may hold several
// subgroups (COMBINE), their sums are then added through workgroup memory.
// Nothing depends on the subgroup size (8 on lavapipe, 32 on NVIDIA, 32 or
// 64 on AMD). Rows past the end are computed on the last row and not
// stored.

override ROWS_PER_WORKGROUP: u32 = 1u;
override COMBINE: bool = true;

// One sum per subgroup of the workgroup: the host offers these kernels only
// where a workgroup holds at most 64 subgroups.
var<workgroup> subgroup_sums: array<vec4<f32>, 64>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_subgroup(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(num_subgroups) subgroups: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let first = (group.y * groups.x + group.x) * ROWS_PER_WORKGROUP;
    let chunks = chunks_per_row();
    var sums = vec4<f32>(0.0);
    // The loop's trip count is the same for every lane (only the body is
    // skipped past the row's end), so all lanes reach subgroupAdd together.
    for (var step = 0u; step < chunks; step += WORKGROUP_SIZE) {
        let c = step + t;
        if (c < chunks) {
            sums += chunk_dots(first, c);
        }
    }
    sums = subgroupAdd(sums);
    if (COMBINE) {
        if (lane == 0u) {
            subgroup_sums[subgroup] = sums;
        }
        workgroupBarrier();
        sums = vec4<f32>(0.0);
        for (var s = 0u; s < subgroups; s++) {
            sums += subgroup_sums[s];
        }
    }
    // Lanes 0.. of the first subgroup hold the rows' sums (the host
    // offers these kernels only where subgroups have at least 4 lanes).
    if (t < ROWS_PER_WORKGROUP && first + t < shape.rows) {
        y[first + t] = sums[t];
    }
}
