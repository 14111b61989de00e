// C = A B summed in cooperative matrices (tensor cores) from f16 operands
// and stored in f32 (A: M x K, B: K x N, C: M x N, all row-major), for any
// M, N and K. A and B are read as ScalarA and ScalarB (f16, or f32 rounded
// to f16 as they are staged: the LLM's f32 activations).
//
// Written against the cooperative-matrix layer (src/gpu/coop.rs), which
// prepends T (the native tile's edge), CoopA, CoopB and CoopC, and
// against a variant's constants, prepended by src/workloads/gemm.rs:
// SUBGROUP (invocations per subgroup), WARPS_M x WARPS_N subgroups per
// workgroup, each owning TILES_M x TILES_N native tiles of C, and BK, the
// K slice staged at a time (a multiple of T), and PREFETCH. B's binding
// and b_element / b_slot (the value of element i of a K slice of B, and
// where it goes in b_slice) come from a B source: gemm_coop_dense_b.wgsl
// (B as K x N values) or gemm_coop_quant_b.wgsl (B as a Q8_0 or Q4_0
// weight matrix, decoded into workgroup memory as it is staged).
//
// The layout of llama.cpp's Vulkan cooperative-matrix GEMM: a workgroup
// computes a BM x BN block of C; each K slice of A (BM x BK) and of B
// (BK x BN) is staged through workgroup memory by every invocation (zeros
// past the matrix's edges, so that no shape is refused), rows padded by 8
// halves (16 bytes) so that the tiles' columns fall on different banks;
// each subgroup then loads its tiles from there and multiplies them.
// With PREFETCH, each invocation reads its share of the next K slice into
// registers before the subgroups multiply the current one and writes it
// to workgroup memory after: the memory reads are in flight during the
// multiplies (WGSL has no asynchronous copies). Without it, each slice is
// read, then multiplied.
// Blocks inside C are stored straight from the accumulators; blocks on its
// edge go through workgroup memory one tile at a time, and only the
// entries inside C are written.

const WARPS: u32 = WARPS_M * WARPS_N;
const THREADS: u32 = SUBGROUP * WARPS;
const BM: u32 = WARPS_M * TILES_M * T;
const BN: u32 = WARPS_N * TILES_N * T;
const A_STRIDE: u32 = BK + 8u;
const B_STRIDE: u32 = BN + 8u;
const TILES: u32 = TILES_M * TILES_N;
// Elements of a slice of A and of B each invocation stages.
const A_SHARE: u32 = (BM * BK + THREADS - 1u) / THREADS;
const B_SHARE: u32 = (BK * BN + THREADS - 1u) / THREADS;

struct Shape {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> a: array<ScalarA>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> a_slice: array<f16, BM * A_STRIDE>;
var<workgroup> b_slice: array<f16, BK * B_STRIDE>;
var<workgroup> edge: array<f32, WARPS * T * T>;

// Element i of the K slice of A from k0 (BM rows of BK), zero past A's
// edges, and its place in a_slice.
fn a_element(row0: u32, k0: u32, i: u32, m: u32, k: u32) -> f16 {
    let r = i / BK;
    let kk = i % BK;
    if i < BM * BK && row0 + r < m && k0 + kk < k {
        return f16(a[(row0 + r) * k + k0 + kk]);
    }
    return f16(0.0);
}

fn a_slot_store(i: u32, value: f16) {
    a_slice[(i / BK) * A_STRIDE + i % BK] = value;
}

@compute @workgroup_size(THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let m = shape.m;
    let n = shape.n;
    let k = shape.k;
    let row0 = group.y * BM;
    let col0 = group.x * BN;
    // This subgroup's block within the workgroup's.
    let warp_row = (warp / WARPS_N) * TILES_M * T;
    let warp_col = (warp % WARPS_N) * TILES_N * T;

    var acc: array<CoopC, TILES>;
    for (var t = 0u; t < TILES; t++) {
        acc[t] = CoopC();
    }
    var a_tiles: array<CoopA, TILES_M>;
    var a_next: array<f16, A_SHARE>;
    var b_next: array<f16, B_SHARE>;
    for (var k0 = 0u; k0 < k; k0 += BK) {
        if !PREFETCH || k0 == 0u {
            for (var j = 0u; j < A_SHARE; j++) {
                let i = local + j * THREADS;
                if i < BM * BK {
                    a_slot_store(i, a_element(row0, k0, i, m, k));
                }
            }
            for (var j = 0u; j < B_SHARE; j++) {
                let i = local + j * THREADS;
                if i < BK * BN {
                    b_slice[b_slot(i)] = b_element(k0, col0, i, k, n);
                }
            }
            workgroupBarrier();
        }
        let next = k0 + BK;
        if PREFETCH && next < k {
            for (var j = 0u; j < A_SHARE; j++) {
                a_next[j] = a_element(row0, next, local + j * THREADS, m, k);
            }
            for (var j = 0u; j < B_SHARE; j++) {
                b_next[j] = b_element(next, col0, local + j * THREADS, k, n);
            }
        }
        for (var kk = 0u; kk < BK; kk += T) {
            for (var tm = 0u; tm < TILES_M; tm++) {
                let at = (warp_row + tm * T) * A_STRIDE + kk;
                a_tiles[tm] = coopLoadT<CoopA>(&a_slice[at], A_STRIDE);
            }
            for (var tn = 0u; tn < TILES_N; tn++) {
                let at = kk * B_STRIDE + warp_col + tn * T;
                let b_tile = coopLoadT<CoopB>(&b_slice[at], B_STRIDE);
                for (var tm = 0u; tm < TILES_M; tm++) {
                    let t = tm * TILES_N + tn;
                    acc[t] = coopMultiplyAdd(a_tiles[tm], b_tile, acc[t]);
                }
            }
        }
        workgroupBarrier();
        if PREFETCH && next < k {
            for (var j = 0u; j < A_SHARE; j++) {
                let i = local + j * THREADS;
                if i < BM * BK {
                    a_slot_store(i, a_next[j]);
                }
            }
            for (var j = 0u; j < B_SHARE; j++) {
                let i = local + j * THREADS;
                if i < BK * BN {
                    b_slice[b_slot(i)] = b_next[j];
                }
            }
            workgroupBarrier();
        }
    }

    if row0 + BM <= m && col0 + BN <= n {
        for (var t = 0u; t < TILES; t++) {
            let row = row0 + warp_row + (t / TILES_N) * T;
            let col = col0 + warp_col + (t % TILES_N) * T;
            let at = row * n + col;
            coopStoreT(acc[t], &c[at], n);
        }
        return;
    }
    let mine = warp * T * T;
    for (var t = 0u; t < TILES; t++) {
        let row = row0 + warp_row + (t / TILES_N) * T;
        let col = col0 + warp_col + (t % TILES_N) * T;
        coopStoreT(acc[t], &edge[mine], T);
        workgroupBarrier();
        for (var e = lane; e < T * T; e += SUBGROUP) {
            let r = row + e / T;
            let cc = col + e % T;
            if r < m && cc < n {
                c[r * n + cc] = edge[mine + e];
            }
        }
        workgroupBarrier();
    }
}
