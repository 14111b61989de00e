// The adapter's tensor-core ceiling: chains of cooperative-matrix
// multiply-adds on operands held in registers, no memory traffic in the
// loop. A template: src/workloads/peak_mma.rs prepends the
// cooperative-matrix layer (T, CoopA, CoopB, CoopC) and the variant's
// constants (SUBGROUP invocations per subgroup, WARPS subgroups per
// workgroup, SUBGROUPS in the launch, ITERATIONS), and writes out its
// ACCUMULATORS independent chains at the START, STEP and STORE marks:
// several per subgroup hide the multiply-add's latency, as tensor-core
// peak kernels do.
//
// Every subgroup loads one A and one B tile (f16) and accumulator j's
// start C0[j] (f32) once, then repeats acc[j] <- A B + acc[j] ITERATIONS
// times. It writes the sum of its accumulators, one T x T tile, so that
// no chain can be dropped: stored through workgroup memory (one T x T
// tile per accumulator per subgroup), summed per entry by its lanes.
// Workgroups past the last subgroup (the grid's rounding) return at once,
// whole, so cooperative operations stay in uniform control flow (for
// naga too: the count is a constant, where the output's arrayLength
// would not be uniform to it).

const TILE: u32 = T * T;

@group(0) @binding(0) var<storage, read> operands: array<f16>;
@group(0) @binding(1) var<storage, read> starts: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> tiles: array<f32, WARPS * ACCUMULATORS * TILE>;

@compute @workgroup_size(SUBGROUP * WARPS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let first = (group.y * groups.x + group.x) * WARPS;
    if first >= SUBGROUPS {
        return;
    }
    // Indices computed before the pointers are taken: naga's SPIR-V
    // writer has panicked on ones computed inside a cooperative load's
    // or store's pointer argument.
    let a_at = 0u;
    let b_at = TILE;
    let a = coopLoadT<CoopA>(&operands[a_at], T);
    let b = coopLoadT<CoopB>(&operands[b_at], T);
{{START}}
    for (var n = 0u; n < ITERATIONS; n++) {
{{STEP}}
    }
    let mine = warp * ACCUMULATORS * TILE;
{{STORE}}
    workgroupBarrier();
    let subgroup = first + warp;
    for (var e = lane; e < TILE; e += SUBGROUP) {
        var sum = 0.0;
        for (var j = 0u; j < ACCUMULATORS; j++) {
            sum += tiles[mine + j * TILE + e];
        }
        out[subgroup * TILE + e] = sum;
    }
}
