// Decode attention shaped for GPUs (split-K, flash-decoding style): the
// same problem and bindings as attention_decode.wgsl (each sequence of a
// decode batch, its one query token against its own KV cache; f16 keys
// and values two to a word), the same two passes, but read the way GPUs
// want:
//
// - `partial`: a workgroup per (chunk of CHUNK keys, four query heads
//   sharing a KV head, sequence) reads the chunk's keys and values once
//   for the four. A subgroup reads whole key (and value) rows: lane i
//   takes words i, i + subgroup size, ... of the row's 64, so neighbouring
//   lanes read neighbouring words (coalesced), and the dot products are
//   summed across the lanes with subgroupAdd. Each subgroup takes KEYS
//   rows of K and V per step (independent loads in flight), keeps an
//   online softmax (running max and sum, rescaling its output
//   accumulator, which its lanes hold along the head dimension), and the
//   workgroup's subgroups are merged through workgroup memory into one
//   record per (query head, chunk): max, sum, unnormalised output.
// - `combine`: a workgroup per (query head, sequence) rescales the chunks
//   to the global max and divides by the total; its lanes split the
//   chunks (SLICES at a time) and the 128 outputs (as vec4s), so a long
//   cache's many records are read in parallel.
//
// Any subgroup size: the host prepends CHUNK, LANE_WORDS (64 / the
// smallest subgroup size, rounded up: the words a lane may hold) and
// MAX_SUBGROUPS (WORKGROUP / the smallest subgroup size).

const KEYS: u32 = 4u; // key rows a subgroup reads per step
const WORKGROUP: u32 = 128u;
const RECORD: u32 = 33u; // vec4s per record: (max, sum, -, -), 128 outputs
const SLICES: u32 = 8u; // combine: chunks read at once, per output vec4
const LOWEST: f32 = -3.4028235e38;

@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;

var<workgroup> merged: array<f32, 512>; // [GROUP][DIM]: the chunk's output
var<workgroup> stats: array<f32, 8u * MAX_SUBGROUPS>; // per subgroup: max[4], sum[4]

@compute @workgroup_size(WORKGROUP)
fn partial(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(subgroup_id) warp: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_size) width: u32,
    @builtin(num_subgroups) warps: u32,
) {
    let chunk = group.x;
    let head0 = group.y * GROUP; // first of this workgroup's query heads
    let sequence = group.z;
    let len = sequences[sequence].x;
    let first_row = sequences[sequence].y;
    let g = head0 / (shape.heads / shape.kv_heads);
    let start = chunk * CHUNK;
    // Shorter sequences than the longest leave their last chunks idle.
    let keys = select(0u, min(CHUNK, len - start), start < len);

    // This lane's query values: dims 2w and 2w+1 of each head, for its
    // words w = lane + i * width.
    var qs: array<vec2<f32>, LANE_WORDS * GROUP>;
    for (var i = 0u; i < LANE_WORDS; i++) {
        let w = min(lane + i * width, WORDS - 1u);
        for (var h = 0u; h < GROUP; h++) {
            let d = (sequence * shape.heads + head0 + h) * DIM + 2u * w;
            qs[i * GROUP + h] = vec2<f32>(q[d], q[d + 1u]);
        }
    }
    var m = vec4<f32>(LOWEST);
    var l = vec4<f32>(0.0);
    var acc: array<vec2<f32>, LANE_WORDS * GROUP>;
    for (var i = 0u; i < LANE_WORDS * GROUP; i++) {
        acc[i] = vec2<f32>(0.0);
    }

    for (var base = warp * KEYS; base < keys; base += warps * KEYS) {
        // Load KEYS rows of K and V first: independent loads in flight.
        var kw: array<u32, KEYS * LANE_WORDS>;
        var vw: array<u32, KEYS * LANE_WORDS>;
        for (var u = 0u; u < KEYS; u++) {
            let row = ((first_row + start + min(base + u, keys - 1u)) * shape.kv_heads + g) * WORDS;
            for (var i = 0u; i < LANE_WORDS; i++) {
                let w = lane + i * width;
                let mine = w < WORDS && base + u < keys;
                kw[u * LANE_WORDS + i] = select(0u, k[row + min(w, WORDS - 1u)], mine);
                vw[u * LANE_WORDS + i] = select(0u, v[row + min(w, WORDS - 1u)], mine);
            }
        }
        // Scores of the KEYS keys against the four heads.
        var s: array<vec4<f32>, KEYS>;
        var top = m;
        for (var u = 0u; u < KEYS; u++) {
            var dots = vec4<f32>(0.0);
            for (var i = 0u; i < LANE_WORDS; i++) {
                let kv = unpack2x16float(kw[u * LANE_WORDS + i]);
                dots += vec4<f32>(
                    dot(kv, qs[i * GROUP]),
                    dot(kv, qs[i * GROUP + 1u]),
                    dot(kv, qs[i * GROUP + 2u]),
                    dot(kv, qs[i * GROUP + 3u]),
                );
            }
            s[u] = subgroupAdd(dots) * shape.scale;
            if (base + u < keys) {
                top = max(top, s[u]);
            }
        }
        // Online softmax: rescale what was summed to the new max.
        let rescale = exp(m - top);
        l *= rescale;
        for (var i = 0u; i < LANE_WORDS; i++) {
            for (var h = 0u; h < GROUP; h++) {
                acc[i * GROUP + h] *= rescale[h];
            }
        }
        for (var u = 0u; u < KEYS; u++) {
            // Keys past the chunk's end weigh nothing (their values are 0).
            let p = select(vec4<f32>(0.0), exp(s[u] - top), base + u < keys);
            l += p;
            for (var i = 0u; i < LANE_WORDS; i++) {
                let vv = unpack2x16float(vw[u * LANE_WORDS + i]);
                for (var h = 0u; h < GROUP; h++) {
                    acc[i * GROUP + h] += p[h] * vv;
                }
            }
        }
        m = top;
    }

    // Merge the subgroups: each one's sums rescaled to the workgroup's max.
    if (lane == 0u) {
        for (var h = 0u; h < GROUP; h++) {
            stats[warp * 8u + h] = m[h];
            stats[warp * 8u + GROUP + h] = l[h];
        }
    }
    for (var i = t; i < GROUP * DIM; i += WORKGROUP) {
        merged[i] = 0.0;
    }
    workgroupBarrier();
    var chunk_max = vec4<f32>(LOWEST);
    for (var w = 0u; w < warps; w++) {
        chunk_max = max(chunk_max, vec4<f32>(stats[w * 8u], stats[w * 8u + 1u], stats[w * 8u + 2u], stats[w * 8u + 3u]));
    }
    var chunk_sum = vec4<f32>(0.0);
    for (var w = 0u; w < warps; w++) {
        let wm = vec4<f32>(stats[w * 8u], stats[w * 8u + 1u], stats[w * 8u + 2u], stats[w * 8u + 3u]);
        let wl = vec4<f32>(stats[w * 8u + 4u], stats[w * 8u + 5u], stats[w * 8u + 6u], stats[w * 8u + 7u]);
        chunk_sum += exp(wm - chunk_max) * wl;
    }
    let mine = exp(m - chunk_max);
    // One subgroup at a time adds its outputs (no float atomics).
    for (var turn = 0u; turn < MAX_SUBGROUPS; turn++) {
        if (turn == warp) {
            for (var i = 0u; i < LANE_WORDS; i++) {
                let w = lane + i * width;
                if (w < WORDS) {
                    for (var h = 0u; h < GROUP; h++) {
                        let o = acc[i * GROUP + h] * mine[h];
                        merged[h * DIM + 2u * w] += o.x;
                        merged[h * DIM + 2u * w + 1u] += o.y;
                    }
                }
            }
        }
        workgroupBarrier();
    }
    if (keys == 0u) {
        return;
    }
    for (var i = t; i < GROUP * RECORD; i += WORKGROUP) {
        let h = i / RECORD;
        let r = i % RECORD;
        let head = sequence * shape.heads + head0 + h;
        let at = (head * shape.chunks + chunk) * RECORD + r;
        if (r == 0u) {
            partials[at] = vec4<f32>(chunk_max[h], chunk_sum[h], 0.0, 0.0);
        } else {
            let d = h * DIM + 4u * (r - 1u);
            partials[at] = vec4<f32>(merged[d], merged[d + 1u], merged[d + 2u], merged[d + 3u]);
        }
    }
}

var<workgroup> maxima: array<f32, 256>;
var<workgroup> outputs: array<vec4<f32>, 256>; // [SLICES][DIM / 4]
var<workgroup> sums: array<f32, SLICES>;

@compute @workgroup_size(256)
fn combine(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let sequence = group.y;
    let chunks = (sequences[sequence].x + CHUNK - 1u) / CHUNK;
    let head = sequence * shape.heads + group.x;
    let base = head * shape.chunks * RECORD;
    var m = LOWEST;
    for (var c = t; c < chunks; c += 256u) {
        m = max(m, partials[base + c * RECORD].x);
    }
    maxima[t] = m;
    workgroupBarrier();
    for (var step = 128u; step > 0u; step /= 2u) {
        if (t < step) {
            maxima[t] = max(maxima[t], maxima[t + step]);
        }
        workgroupBarrier();
    }
    let top = maxima[0];
    let slice = t / (DIM / 4u);
    let column = t % (DIM / 4u);
    var l = 0.0;
    var o = vec4<f32>(0.0);
    for (var c = slice; c < chunks; c += SLICES) {
        let at = base + c * RECORD;
        let stat = partials[at];
        let w = exp(stat.x - top);
        l += w * stat.y;
        o += w * partials[at + 1u + column];
    }
    outputs[t] = o;
    if (column == 0u) {
        sums[slice] = l;
    }
    workgroupBarrier();
    if (t < DIM / 4u) {
        var total = 0.0;
        var sum = vec4<f32>(0.0);
        for (var s = 0u; s < SLICES; s++) {
            total += sums[s];
            sum += outputs[s * (DIM / 4u) + t];
        }
        let result = sum / total;
        let at = head * DIM + 4u * t;
        out[at] = result.x;
        out[at + 1u] = result.y;
        out[at + 2u] = result.z;
        out[at + 3u] = result.w;
    }
}
