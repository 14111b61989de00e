// Decode attention: for each sequence of a decode batch, its one query
// token of `heads` heads against its own KV cache (`sequences`: each one's
// length and first row in the shared cache buffer, lengths differing)
// with `kv_heads` KV heads (grouped-query: heads / kv_heads
// query heads, 4 or more, share each KV head), head dimension 128, keys and values in f16 (two to a word,
// decoded with unpack2x16float, so no shader-f16 feature is needed).
//
// Two passes, as flash-decoding does, so that a long cache spreads over
// many workgroups: `partial` gives each (chunk of 64 keys, four query heads
// sharing a KV head) a workgroup that reads those keys and values once for
// the four and leaves, per query head, the chunk's max score, its sum
// of exp(score - max) and its unnormalised output; `combine` rescales the
// chunks to the global max and divides by the total (softmax stays
// numerically stable: no exp of a positive number).

const CHUNK: u32 = 64u; // keys per workgroup = invocations per workgroup
const RECORD: u32 = 130u; // per (query head, chunk): max, sum, 128 outputs

@group(0) @binding(1) var<storage, read_write> partials: array<f32>;

var<workgroup> probs: array<f32, 256>; // [GROUP][CHUNK]: scores, then exp
var<workgroup> stats: array<f32, 8>; // max, then sum, per query head

@compute @workgroup_size(64)
fn partial(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let chunk = group.x;
    let head0 = group.y * GROUP; // first of this workgroup's query heads
    let sequence = group.z;
    let len = sequences[sequence].x;
    let first_row = sequences[sequence].y;
    // Shorter sequences than the longest leave their last chunks idle
    // (computing nothing they store: barriers need every invocation).
    let has_keys = chunk * CHUNK < len;
    let g = head0 / (shape.heads / shape.kv_heads);
    let key = chunk * CHUNK + t;
    let valid = key < len;
    // Each invocation scores one key against the four query heads.
    var s = vec4<f32>(0.0);
    if (valid) {
        let kb = ((first_row + key) * shape.kv_heads + g) * WORDS;
        let qb = (sequence * shape.heads + head0) * DIM;
        for (var w = 0u; w < WORDS; w++) {
            let kv = unpack2x16float(k[kb + w]);
            let d = qb + 2u * w;
            s += kv.x * vec4<f32>(q[d], q[d + DIM], q[d + 2u * DIM], q[d + 3u * DIM]);
            s += kv.y * vec4<f32>(q[d + 1u], q[d + 1u + DIM], q[d + 1u + 2u * DIM], q[d + 1u + 3u * DIM]);
        }
    }
    // Keys past the end score the lowest finite f32: exp of it is 0.
    s = select(vec4<f32>(-3.4028235e38), s * shape.scale, vec4<bool>(valid));
    probs[t] = s.x;
    probs[CHUNK + t] = s.y;
    probs[2u * CHUNK + t] = s.z;
    probs[3u * CHUNK + t] = s.w;
    workgroupBarrier();
    if (t < GROUP) {
        var m = -3.4028235e38;
        for (var j = 0u; j < CHUNK; j++) {
            m = max(m, probs[t * CHUNK + j]);
        }
        var l = 0.0;
        for (var j = 0u; j < CHUNK; j++) {
            l += exp(probs[t * CHUNK + j] - m);
        }
        stats[t] = m;
        stats[GROUP + t] = l;
    }
    workgroupBarrier();
    for (var h = 0u; h < GROUP; h++) {
        probs[h * CHUNK + t] = exp(probs[h * CHUNK + t] - stats[h]);
    }
    workgroupBarrier();
    // Each invocation sums output dimensions 2t and 2t+1 over the chunk.
    let keys = select(0u, min(CHUNK, len - chunk * CHUNK), has_keys);
    var o0 = vec2<f32>(0.0);
    var o1 = vec2<f32>(0.0);
    var o2 = vec2<f32>(0.0);
    var o3 = vec2<f32>(0.0);
    for (var j = 0u; j < keys; j++) {
        let vv = unpack2x16float(v[((first_row + chunk * CHUNK + j) * shape.kv_heads + g) * WORDS + t]);
        o0 += probs[j] * vv;
        o1 += probs[CHUNK + j] * vv;
        o2 += probs[2u * CHUNK + j] * vv;
        o3 += probs[3u * CHUNK + j] * vv;
    }
    let outs = array<vec2<f32>, 4>(o0, o1, o2, o3);
    if (!has_keys) {
        return;
    }
    for (var h = 0u; h < GROUP; h++) {
        let head = (sequence * shape.heads) + head0 + h;
        let at = (head * shape.chunks + chunk) * RECORD;
        if (t == 0u) {
            partials[at] = stats[h];
            partials[at + 1u] = stats[GROUP + h];
        }
        partials[at + 2u + 2u * t] = outs[h].x;
        partials[at + 3u + 2u * t] = outs[h].y;
    }
}

@compute @workgroup_size(128)
fn combine(
    @builtin(local_invocation_index) d: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let sequence = group.y;
    let chunks = (sequences[sequence].x + CHUNK - 1u) / CHUNK;
    let head = sequence * shape.heads + group.x;
    let base = head * shape.chunks * RECORD;
    var m = -3.4028235e38;
    for (var c = 0u; c < chunks; c++) {
        m = max(m, partials[base + c * RECORD]);
    }
    var l = 0.0;
    var o = 0.0;
    for (var c = 0u; c < chunks; c++) {
        let at = base + c * RECORD;
        let w = exp(partials[at] - m);
        l += w * partials[at + 1u];
        o += w * partials[at + 2u + d];
    }
    out[head * DIM + d] = o / l;
}
