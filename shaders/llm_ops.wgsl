// The small kernels that join the big ones into a decoder layer (the LLM
// workloads): seeded random weights written on the GPU, rotary embedding
// fused with the KV cache append, the gated SiLU, the residual add fused
// with the RMSNorm after it, and dequantisation to f16 for prefill's
// GEMMs. Each entry point uses only some of the bindings; the host binds
// those by number.

struct Params {
    count: u32, // elements (or words) to process
    seed: u32,
    a: u32,
    b: u32,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read_write> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> in_a: array<f32>;
@group(0) @binding(4) var<storage, read> in_b: array<f32>;
@group(0) @binding(5) var<storage, read_write> q: array<f32>;
@group(0) @binding(6) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<u32>;
@group(0) @binding(8) var<storage, read> rope: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read> quants: array<u32>;
@group(0) @binding(10) var<storage, read> scales: array<u32>;
@group(0) @binding(11) var<storage, read> slots: array<u32>;
@group(0) @binding(12) var<storage, read_write> normed: array<f32>;
@group(0) @binding(13) var<storage, read> norm_weight: array<f32>;

const WORDS: u32 = 64u; // f16 pairs per head vector of 128

fn index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return (id.y * groups.x) * 64u + id.x;
}

// The same integer hash as `llm::random::word` on the host.
fn hash(x: u32) -> u32 {
    var h = x;
    h ^= h >> 16u;
    h *= 0x7feb352du;
    h ^= h >> 15u;
    h *= 0x846ca68bu;
    h ^= h >> 16u;
    return h;
}

// Word i of a random stream: raw bits (a = 0) for quants, or two f16
// values (a = 1 signed, a = 2 positive) with exponent field b: magnitudes
// in [2^(b-15), 2^(b-14)).
@compute @workgroup_size(64)
fn fill(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(id, groups);
    if (i >= params.count) {
        return;
    }
    let h = hash(i ^ hash(params.seed));
    if (params.a == 0u) {
        words[i] = h;
        return;
    }
    let sign_mask = select(0x80008000u, 0u, params.a == 2u);
    words[i] = (h & (0x03ff03ffu | sign_mask)) | (params.b << 10u) | (params.b << 26u);
}

// Rotary embedding of `count` tokens' queries (in place) and new keys
// (interleaved pairs, as Meta's Llama does: dims 2p and 2p+1 rotate by
// the angle of pair p, cos and sin from the host's table for the token's
// own position), and the keys and values stored in the f16 cache at the
// token's row, `slots[token]` (each sequence of a decode batch has its own
// rows). b = query heads; the KV heads are 8. One invocation per (token,
// head, pair).
@compute @workgroup_size(64)
fn rope_kv(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(id, groups);
    let heads = params.b;
    let per_token = (heads + 8u) * WORDS;
    if (i >= params.count * per_token) {
        return;
    }
    let token = i / per_token;
    let head = (i % per_token) / WORDS;
    let pair = i % WORDS;
    let cs = rope[token * WORDS + pair];
    if (head < heads) {
        let at = (token * heads + head) * 128u + 2u * pair;
        let x = vec2<f32>(q[at], q[at + 1u]);
        q[at] = x.x * cs.x - x.y * cs.y;
        q[at + 1u] = x.x * cs.y + x.y * cs.x;
        return;
    }
    let kv = head - heads;
    let at = (token * 8u + kv) * 128u + 2u * pair;
    let x = vec2<f32>(in_a[at], in_a[at + 1u]);
    let rotated = vec2<f32>(x.x * cs.x - x.y * cs.y, x.x * cs.y + x.y * cs.x);
    let slot = (slots[token] * 8u + kv) * WORDS + pair;
    k_cache[slot] = pack2x16float(rotated);
    v_cache[slot] = pack2x16float(vec2<f32>(in_b[at], in_b[at + 1u]));
}

// out = silu(gate) * up, with silu(g) = g / (1 + exp(-g)).
@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(id, groups);
    if (i < params.count) {
        let g = in_a[i];
        out[i] = g / (1.0 + exp(-g)) * in_b[i];
    }
}

// The residual connection and the RMSNorm that reads it, in one pass:
// out = a + b for `count` rows of `a` columns (into a new buffer, so that
// a timed layer can run again on the same input), and the rows from `b`
// on normalised, times `norm_weight`, into `normed` (row r at r - b): the
// next layer's (or the FFN's, or the final) norm. Unfused, the norm would
// read the sum back from memory once more and launch once more. One
// workgroup of 64 per row; each lane's second sweep re-reads only the sums
// it wrote itself (from cache). Same arithmetic as rmsnorm.wgsl.
const NORM_LANES: u32 = 64u;
const EPSILON: f32 = 1e-5;
var<workgroup> squares: array<f32, NORM_LANES>;

@compute @workgroup_size(64)
fn add_rmsnorm(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let row = group.y * groups.x + group.x;
    if (row >= params.count) {
        return;
    }
    let cols = params.a;
    let base = row * cols;
    var sum = 0.0;
    for (var c = lane; c < cols; c += NORM_LANES) {
        let v = in_a[base + c] + in_b[base + c];
        out[base + c] = v;
        sum = fma(v, v, sum);
    }
    squares[lane] = sum;
    workgroupBarrier();
    for (var half = NORM_LANES / 2u; half > 0u; half >>= 1u) {
        if (lane < half) {
            squares[lane] += squares[lane + half];
        }
        workgroupBarrier();
    }
    if (row < params.b) {
        return;
    }
    let scale = inverseSqrt(squares[0] / f32(cols) + EPSILON);
    let to = (row - params.b) * cols;
    for (var c = lane; c < cols; c += NORM_LANES) {
        normed[to + c] = out[base + c] * scale * norm_weight[c];
    }
}

// A quantised matrix W (a = rows = outputs, b = columns = inputs, Q8_0 when
// seed is 8, Q4_0 when 4, laid out as the GEMV kernels read it) written
// transposed as f16, two to a word: B[col][row], the K x N operand of
// prefill's GEMM. One invocation per output word (two rows of one column).
@compute @workgroup_size(64)
fn dequant_t(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let w = index(id, groups);
    let rows = params.a;
    let cols = params.b;
    if (w >= rows * cols / 2u) {
        return;
    }
    let col = (2u * w) / rows;
    let row = (2u * w) % rows;
    words[w] = pack2x16float(vec2<f32>(weight(row, col, cols), weight(row + 1u, col, cols)));
}

fn weight(row: u32, col: u32, cols: u32) -> f32 {
    let at = row * cols + col;
    let block = at / 32u;
    let scale = unpack2x16float(scales[block / 2u])[block % 2u];
    if (params.seed == 8u) {
        let byte = (quants[at / 4u] >> (8u * (at % 4u))) & 255u;
        return scale * f32(i32(byte << 24u) >> 24u);
    }
    let j = at % 32u;
    let byte_at = block * 16u + j % 16u;
    let byte = (quants[byte_at / 4u] >> (8u * (byte_at % 4u))) & 255u;
    let nibble = select(byte >> 4u, byte & 15u, j < 16u);
    return scale * (f32(nibble) - 8.0);
}
