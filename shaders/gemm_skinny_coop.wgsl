// Skinny GEMM on cooperative matrices (tensor cores): Y = X W^T for
// `tokens` rows of X (a decode batch, 16 to a few hundred) against a
// weight matrix W of `rows` x `cols` (rows = outputs), in the weight
// format of the file appended after this one (gemv_f16, gemv_q8 or
// gemv_q4.wgsl, which define block_weights and block_scale). As a GEMM
// C = A B: A = X (tokens x cols, f32, rounded to f16 as staged),
// B = W^T (cols x rows), C = Y (tokens x rows, f32, row-major).
//
// Written against the cooperative-matrix layer (src/gpu/coop.rs: T,
// CoopA, CoopB, CoopC) and a variant's constants, prepended by
// src/workloads/gemm_skinny.rs: SUBGROUP (invocations per subgroup),
// WARPS_M x WARPS_N subgroups per workgroup, each owning TILES_M x TILES_N
// native tiles of Y, and K_BLOCKS, the blocks of 32 columns staged at a
// time. Rust sizes WARPS_M x TILES_M to cover the whole batch where the
// accumulators allow, so that each block of W is read once.
//
// What makes batched decode pay: a workgroup owns BN outputs (rows of W)
// for BM tokens. Each K slice of its rows of W is read from memory once,
// decoded and scaled into workgroup memory as f16 (one block of 32 an
// invocation), with the same slice of X beside it; the tensor cores then
// multiply it by every token. Both slices are zero past the matrices'
// edges. W's slice is stored as its rows (BN x BK), which is B column-
// major: coopLoad (not coopLoadT) reads it. Rows are padded by 8 halves
// so that the tiles' columns fall on different banks. Blocks inside Y
// are stored straight from the accumulators; blocks on its edge go
// through workgroup memory one tile at a time, bounds checked.
//
// The weights' file reads shape.cols and x (as vec4) and compiles its
// GEMV row_partial, which is not called here: THREADS_PER_ROW is for it.

const WARPS: u32 = WARPS_M * WARPS_N;
const THREADS: u32 = SUBGROUP * WARPS;
const BM: u32 = WARPS_M * TILES_M * T;
const BN: u32 = WARPS_N * TILES_N * T;
const BK: u32 = K_BLOCKS * 32u;
const STRIDE: u32 = BK + 8u;
const TILES: u32 = TILES_M * TILES_N;
const THREADS_PER_ROW: u32 = 1u;

struct Shape {
    rows: u32,
    cols: u32,
    tokens: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
// [tokens][cols], read four at a time (cols is whole blocks of 32).
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
// [tokens][rows]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// [BM][STRIDE]: tokens' slices of x.
var<workgroup> x_slice: array<f16, BM * STRIDE>;
// [BN][STRIDE]: rows' slices of W, decoded and scaled.
var<workgroup> w_slice: array<f16, BN * STRIDE>;
var<workgroup> edge: array<f32, WARPS * T * T>;

fn stage_w(at: u32, quad: vec4<f32>) {
    w_slice[at] = f16(quad.x);
    w_slice[at + 1u] = f16(quad.y);
    w_slice[at + 2u] = f16(quad.z);
    w_slice[at + 3u] = f16(quad.w);
}

@compute @workgroup_size(THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let m = shape.tokens;
    let n = shape.rows;
    let k = shape.cols;
    let quads = k / 4u;
    let blocks = k / 32u;
    let row0 = group.y * BM;
    let col0 = group.x * BN;
    // This subgroup's block within the workgroup's.
    let warp_row = (warp / WARPS_N) * TILES_M * T;
    let warp_col = (warp % WARPS_N) * TILES_N * T;

    var acc: array<CoopC, TILES>;
    for (var t = 0u; t < TILES; t++) {
        acc[t] = CoopC();
    }
    var x_tiles: array<CoopA, TILES_M>;
    for (var k0 = 0u; k0 < k; k0 += BK) {
        for (var i = local; i < BM * (BK / 4u); i += THREADS) {
            let r = i / (BK / 4u);
            let q = i % (BK / 4u);
            var value = vec4<f32>(0.0);
            if row0 + r < m && k0 + q * 4u < k {
                value = x[(row0 + r) * quads + k0 / 4u + q];
            }
            let at = r * STRIDE + q * 4u;
            x_slice[at] = f16(value.x);
            x_slice[at + 1u] = f16(value.y);
            x_slice[at + 2u] = f16(value.z);
            x_slice[at + 3u] = f16(value.w);
        }
        for (var i = local; i < BN * K_BLOCKS; i += THREADS) {
            let r = i / K_BLOCKS;
            let kb = i % K_BLOCKS;
            let b = k0 / 32u + kb;
            let at = r * STRIDE + kb * 32u;
            if col0 + r < n && b < blocks {
                let w = block_weights(col0 + r, b);
                let scale = block_scale(col0 + r, b);
                stage_w(at, scale * w.w0);
                stage_w(at + 4u, scale * w.w1);
                stage_w(at + 8u, scale * w.w2);
                stage_w(at + 12u, scale * w.w3);
                stage_w(at + 16u, scale * w.w4);
                stage_w(at + 20u, scale * w.w5);
                stage_w(at + 24u, scale * w.w6);
                stage_w(at + 28u, scale * w.w7);
            } else {
                for (var j = 0u; j < 32u; j += 4u) {
                    stage_w(at + j, vec4<f32>(0.0));
                }
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk += T) {
            for (var tm = 0u; tm < TILES_M; tm++) {
                let at = (warp_row + tm * T) * STRIDE + kk;
                x_tiles[tm] = coopLoadT<CoopA>(&x_slice[at], STRIDE);
            }
            for (var tn = 0u; tn < TILES_N; tn++) {
                let at = (warp_col + tn * T) * STRIDE + kk;
                let w_tile = coopLoad<CoopB>(&w_slice[at], STRIDE);
                for (var tm = 0u; tm < TILES_M; tm++) {
                    let t = tm * TILES_N + tn;
                    acc[t] = coopMultiplyAdd(x_tiles[tm], w_tile, acc[t]);
                }
            }
        }
        workgroupBarrier();
    }

    if row0 + BM <= m && col0 + BN <= n {
        for (var t = 0u; t < TILES; t++) {
            let row = row0 + warp_row + (t / TILES_N) * T;
            let col = col0 + warp_col + (t % TILES_N) * T;
            let at = row * n + col;
            coopStoreT(acc[t], &y[at], n);
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
            let c = col + e % T;
            if r < m && c < n {
                y[r * n + c] = edge[mine + e];
            }
        }
        workgroupBarrier();
    }
}
