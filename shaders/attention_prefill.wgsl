// Prefill attention: `len` tokens attend causally (token i sees keys
// 0..=i), `heads` query heads over `kv_heads` KV heads (head h reads KV
// head h / (heads / kv_heads)),
// head dimension 128, queries in f32, keys and values in f16 (two to a
// word, decoded with unpack2x16float).
//
// Flash-attention style, so memory does not grow with len^2: a workgroup
// takes 16 queries of one head and walks the key blocks of 64 up to its
// last query, keeping per query the running max `m`, the running sum `l`
// of exp(score - m) and the unnormalised output; each new block rescales
// them by exp(m_old - m_new). Scores live only in workgroup memory.
// Invocation t scores key t of the block against the 16 queries, then owns
// output dimensions 2t and 2t+1 of all 16.

const DIM: u32 = 128u;
const WORDS: u32 = 64u; // f16 pairs per head vector
const QUERIES: u32 = 16u; // per workgroup
const KEYS: u32 = 64u; // per block = invocations per workgroup

struct Shape {
    len: u32,
    heads: u32,
    kv_heads: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> q_tile: array<f32, 2048>; // [QUERIES][DIM]
var<workgroup> scores: array<f32, 1024>; // [QUERIES][KEYS], then exp
var<workgroup> rescale: array<f32, 16>; // exp(m_old - m_new) per query
var<workgroup> running: array<f32, 32>; // m, then l, per query

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let head = group.y;
    let g = head / (shape.heads / shape.kv_heads);
    let first = group.x * QUERIES; // first query of this workgroup
    for (var i = t; i < QUERIES * DIM; i += KEYS) {
        let r = i / DIM;
        q_tile[i] = q[((first + r) * shape.heads + head) * DIM + i % DIM];
    }
    if (t < QUERIES) {
        running[t] = -3.4028235e38;
        running[QUERIES + t] = 0.0;
    }
    var o: array<vec2<f32>, 16>;
    for (var r = 0u; r < QUERIES; r++) {
        o[r] = vec2<f32>(0.0);
    }
    let end = first + QUERIES; // keys 0..end are seen by some query here
    for (var k0 = 0u; k0 < end; k0 += KEYS) {
        workgroupBarrier();
        // Scores of key k0+t against the 16 queries, masked by causality.
        let key = k0 + t;
        let kb = (min(key, shape.len - 1u) * shape.kv_heads + g) * WORDS;
        var s: array<f32, 16>;
        for (var r = 0u; r < QUERIES; r++) {
            s[r] = 0.0;
        }
        for (var w = 0u; w < WORDS; w++) {
            let kv = unpack2x16float(k[kb + w]);
            for (var r = 0u; r < QUERIES; r++) {
                s[r] += kv.x * q_tile[r * DIM + 2u * w] + kv.y * q_tile[r * DIM + 2u * w + 1u];
            }
        }
        for (var r = 0u; r < QUERIES; r++) {
            let seen = key <= first + r;
            scores[r * KEYS + t] = select(-3.4028235e38, s[r] * shape.scale, seen);
        }
        workgroupBarrier();
        // Online softmax: one invocation per query updates m and l.
        if (t < QUERIES) {
            let m_old = running[t];
            var m = m_old;
            for (var j = 0u; j < KEYS; j++) {
                m = max(m, scores[t * KEYS + j]);
            }
            var l = 0.0;
            for (var j = 0u; j < KEYS; j++) {
                let p = exp(scores[t * KEYS + j] - m);
                scores[t * KEYS + j] = p;
                l += p;
            }
            let alpha = exp(m_old - m);
            rescale[t] = alpha;
            running[t] = m;
            running[QUERIES + t] = running[QUERIES + t] * alpha + l;
        }
        workgroupBarrier();
        // Output dimensions 2t, 2t+1: rescale, then add this block's values.
        for (var r = 0u; r < QUERIES; r++) {
            o[r] *= rescale[r];
        }
        let keys = min(KEYS, end - k0);
        for (var j = 0u; j < keys; j++) {
            let vv = unpack2x16float(v[(min(k0 + j, shape.len - 1u) * shape.kv_heads + g) * WORDS + t]);
            for (var r = 0u; r < QUERIES; r++) {
                o[r] += scores[r * KEYS + j] * vv;
            }
        }
    }
    workgroupBarrier();
    for (var r = 0u; r < QUERIES; r++) {
        let at = ((first + r) * shape.heads + head) * DIM + 2u * t;
        let inverse = 1.0 / running[QUERIES + r];
        out[at] = o[r].x * inverse;
        out[at + 1u] = o[r].y * inverse;
    }
}
