// Prefill attention on cooperative matrices (tensor cores), flash style:
// `len` tokens attend causally (token i sees keys 0..=i), `heads` query
// heads over `kv_heads` KV heads (head h reads KV head h / (heads /
// kv_heads)), head dimension 128; queries and outputs f32, keys and values
// f16 (rows of kv_heads x 128). Any `len`.
//
// Written against the cooperative-matrix layer (src/gpu/coop.rs: T,
// CoopA, CoopB, CoopC) and a variant's constants, prepended by
// src/workloads/attention.rs: SUBGROUP (invocations per subgroup), WARPS
// subgroups per workgroup and KEY_TILES, the key tiles of T per block.
//
// A workgroup takes BR = WARPS x T queries of one head (the last query
// tiles first: they have the most keys); subgroup w owns queries w*T.. of
// them, holds their Q tiles (f16) as operands for the whole run and its
// T x 128 slice of O in registers, spread over its lanes. It walks the key
// blocks of BC = KEY_TILES x T up to its last query. Per block:
// - K is staged row-major in workgroup memory (zeros past `len`, rows
//   padded by 8 halves against bank conflicts); S = Q K^T, K^T read
//   column-major from there; S goes to the subgroup's rows of `scores`;
// - V is staged over K while each subgroup's lanes take its rows' online
//   softmax: causal mask, running max m and sum l, P = exp(S - m) rounded
//   to f16 (l sums the rounded values, so the weights used are the ones
//   normalised), and the rescale factor exp(m_old - m);
// - P V goes BC output dimensions at a time through `scores` (a
//   cooperative matrix cannot be scaled per row) and is folded into the
//   registers: O = O x rescale + P V.
// Finally O / l is written for the queries inside `len`.

const DIM: u32 = 128u;
const BR: u32 = WARPS * T;
const BC: u32 = KEY_TILES * T;
const THREADS: u32 = SUBGROUP * WARPS;
const STAGED: u32 = max(BR, BC); // rows of Q, then of K or V
const KV_STRIDE: u32 = DIM + 8u;
const S_STRIDE: u32 = BC + 4u;
const P_STRIDE: u32 = BC + 8u;
const DIM_TILES: u32 = DIM / T;
const CHUNKS: u32 = DIM / BC; // P V folded BC dimensions at a time
const HELD: u32 = T * BC / SUBGROUP; // O entries per lane per chunk
const MASKED: f32 = -3.4028235e38;

struct Shape {
    len: u32,
    heads: u32,
    kv_heads: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f16>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> staged: array<f16, STAGED * KV_STRIDE>;
var<workgroup> scores: array<f32, BR * S_STRIDE>; // S, then P V
var<workgroup> p_tile: array<f16, BR * P_STRIDE>;
var<workgroup> row_max: array<f32, BR>;
var<workgroup> row_sum: array<f32, BR>;
var<workgroup> rescale: array<f32, BR>;

// Keys (or values) k0.. of KV head g into `staged`, zeros past `len`.
fn stage_keys(from_k: bool, k0: u32, g: u32, local: u32) {
    for (var i = local; i < BC * DIM / 4u; i += THREADS) {
        let r = i / (DIM / 4u);
        let c = i % (DIM / 4u);
        let key = k0 + r;
        var x = vec4<f16>(0.0);
        if key < shape.len {
            let at = (key * shape.kv_heads + g) * (DIM / 4u) + c;
            if from_k {
                x = k[at];
            } else {
                x = v[at];
            }
        }
        let at = r * KV_STRIDE + 4u * c;
        staged[at] = x.x;
        staged[at + 1u] = x.y;
        staged[at + 2u] = x.z;
        staged[at + 3u] = x.w;
    }
}

@compute @workgroup_size(THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let len = shape.len;
    let q0 = ((len + BR - 1u) / BR - 1u - group.x) * BR;
    let head = group.y;
    let g = head / (shape.heads / shape.kv_heads);
    let mine = warp * T; // this subgroup's first row in the block

    for (var i = local; i < BR * DIM / 4u; i += THREADS) {
        let r = i / (DIM / 4u);
        let c = i % (DIM / 4u);
        var x = vec4<f32>(0.0);
        if q0 + r < len {
            x = q[((q0 + r) * shape.heads + head) * (DIM / 4u) + c];
        }
        let at = r * KV_STRIDE + 4u * c;
        staged[at] = f16(x.x);
        staged[at + 1u] = f16(x.y);
        staged[at + 2u] = f16(x.z);
        staged[at + 3u] = f16(x.w);
    }
    if local < BR {
        row_max[local] = MASKED;
        row_sum[local] = 0.0;
    }
    workgroupBarrier();
    var q_tiles: array<CoopA, DIM_TILES>;
    for (var d = 0u; d < DIM_TILES; d++) {
        let at = mine * KV_STRIDE + d * T;
        q_tiles[d] = coopLoadT<CoopA>(&staged[at], KV_STRIDE);
    }
    var o: array<f32, CHUNKS * HELD>;
    for (var i = 0u; i < CHUNKS * HELD; i++) {
        o[i] = 0.0;
    }
    workgroupBarrier();

    let end = min(q0 + BR, len); // keys seen by some query of the block
    for (var k0 = 0u; k0 < end; k0 += BC) {
        stage_keys(true, k0, g, local);
        workgroupBarrier();
        for (var kt = 0u; kt < KEY_TILES; kt++) {
            var s = CoopC();
            for (var d = 0u; d < DIM_TILES; d++) {
                let at = kt * T * KV_STRIDE + d * T;
                let k_tile = coopLoad<CoopB>(&staged[at], KV_STRIDE);
                s = coopMultiplyAdd(q_tiles[d], k_tile, s);
            }
            let at = mine * S_STRIDE + kt * T;
            coopStoreT(s, &scores[at], S_STRIDE);
        }
        workgroupBarrier();

        stage_keys(false, k0, g, local);
        for (var r = lane; r < T; r += SUBGROUP) {
            let row = mine + r;
            let query = q0 + row;
            let m_old = row_max[row];
            var m = m_old;
            for (var c = 0u; c < BC; c++) {
                let key = k0 + c;
                let seen = key <= query && key < len;
                let s = select(MASKED, scores[row * S_STRIDE + c] * shape.scale, seen);
                scores[row * S_STRIDE + c] = s;
                m = max(m, s);
            }
            var l = 0.0;
            for (var c = 0u; c < BC; c++) {
                let p = f16(exp(scores[row * S_STRIDE + c] - m));
                p_tile[row * P_STRIDE + c] = p;
                l += f32(p);
            }
            let alpha = exp(m_old - m);
            rescale[row] = alpha;
            row_max[row] = m;
            row_sum[row] = row_sum[row] * alpha + l;
        }
        workgroupBarrier();

        var p_tiles: array<CoopA, KEY_TILES>;
        for (var kt = 0u; kt < KEY_TILES; kt++) {
            let at = mine * P_STRIDE + kt * T;
            p_tiles[kt] = coopLoadT<CoopA>(&p_tile[at], P_STRIDE);
        }
        for (var chunk = 0u; chunk < CHUNKS; chunk++) {
            for (var j = 0u; j < KEY_TILES; j++) {
                var acc = CoopC();
                for (var kt = 0u; kt < KEY_TILES; kt++) {
                    let at = kt * T * KV_STRIDE + (chunk * KEY_TILES + j) * T;
                    let v_tile = coopLoadT<CoopB>(&staged[at], KV_STRIDE);
                    acc = coopMultiplyAdd(p_tiles[kt], v_tile, acc);
                }
                let at = mine * S_STRIDE + j * T;
                coopStoreT(acc, &scores[at], S_STRIDE);
            }
            workgroupBarrier();
            for (var i = 0u; i < HELD; i++) {
                let e = lane + i * SUBGROUP;
                let row = mine + e / BC;
                let x = chunk * HELD + i;
                o[x] = o[x] * rescale[row] + scores[row * S_STRIDE + e % BC];
            }
            workgroupBarrier();
        }
    }

    for (var chunk = 0u; chunk < CHUNKS; chunk++) {
        for (var i = 0u; i < HELD; i++) {
            let e = lane + i * SUBGROUP;
            let row = mine + e / BC;
            let query = q0 + row;
            if query < len {
                let at = (query * shape.heads + head) * DIM + chunk * BC + e % BC;
                out[at] = o[chunk * HELD + i] / row_sum[row];
            }
        }
    }
}
