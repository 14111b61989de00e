// Skinny GEMM: Y = X W^T for `tokens` rows of X (1 to a few hundred: the
// sequences of a decode batch) against a weight matrix of `rows` x `cols`,
// in the weight format of the file appended after this one (gemv_f16,
// gemv_q8 or gemv_q4.wgsl, which define block_weights and block_scale).
//
// What makes batched decode pay: each block of 32 weights is read and
// decoded once for TILE tokens, so a batch reads the weights
// tokens / TILE times instead of tokens times (and the workgroups sharing
// a block of rows are neighbours, so after the first tile they mostly find
// the weights in cache). The lanes of a row split its blocks as the GEMV
// does: many on GPUs, one on CPU adapters.

struct Shape {
    rows: u32,
    cols: u32,
    tokens: u32,
    // ceil(tokens / TILE)
    tiles: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
// [tokens][cols], read four at a time.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
// [tokens][rows]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WORKGROUP_SIZE: u32 = 64u;
override THREADS_PER_ROW: u32 = 1u;

const TILE: u32 = 8u;

// [TILE][WORKGROUP_SIZE <= 64]
var<workgroup> partial: array<f32, 512>;

// Block b of weights `w` (decoded, unscaled) against the same block of
// token `token`'s row of x.
fn block_dot_x(w: Block, token: u32, b: u32) -> f32 {
    let v = token * (shape.cols / 4u) + b * 8u;
    var acc = w.w0 * x[v];
    acc = fma(w.w1, x[v + 1u], acc);
    acc = fma(w.w2, x[v + 2u], acc);
    acc = fma(w.w3, x[v + 3u], acc);
    acc = fma(w.w4, x[v + 4u], acc);
    acc = fma(w.w5, x[v + 5u], acc);
    acc = fma(w.w6, x[v + 6u], acc);
    acc = fma(w.w7, x[v + 7u], acc);
    return (acc.x + acc.y) + (acc.z + acc.w);
}

// The eight tokens' accumulators are two vectors, written out rather than
// an array indexed in a loop: CPU drivers (lavapipe) put such an array in
// memory and gather from it, many times slower. A tile past the last
// token reads the last token again and does not store it.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let flat = group.y * groups.x + group.x;
    let tile = flat % shape.tiles;
    let rows_per_group = WORKGROUP_SIZE / THREADS_PER_ROW;
    let row = (flat / shape.tiles) * rows_per_group + t / THREADS_PER_ROW;
    let lane = t % THREADS_PER_ROW;
    let first = tile * TILE;
    let count = min(TILE, shape.tokens - first);
    let last = shape.tokens - 1u;
    let t0 = min(first, last);
    let t1 = min(first + 1u, last);
    let t2 = min(first + 2u, last);
    let t3 = min(first + 3u, last);
    let t4 = min(first + 4u, last);
    let t5 = min(first + 5u, last);
    let t6 = min(first + 6u, last);
    let t7 = min(first + 7u, last);
    var low = vec4<f32>(0.0);
    var high = vec4<f32>(0.0);
    if (row < shape.rows) {
        for (var b = lane; b < shape.cols / 32u; b += THREADS_PER_ROW) {
            let w = block_weights(row, b);
            let scale = vec4<f32>(block_scale(row, b));
            low = fma(scale, vec4<f32>(block_dot_x(w, t0, b), block_dot_x(w, t1, b),
                                       block_dot_x(w, t2, b), block_dot_x(w, t3, b)), low);
            if (count > 4u) {
                high = fma(scale, vec4<f32>(block_dot_x(w, t4, b), block_dot_x(w, t5, b),
                                            block_dot_x(w, t6, b), block_dot_x(w, t7, b)), high);
            }
        }
    }
    if (THREADS_PER_ROW == 1u) {
        if (row < shape.rows) {
            for (var j = 0u; j < count; j++) {
                y[(first + j) * shape.rows + row] = select(high[j % 4u], low[j % 4u], j < 4u);
            }
        }
        return;
    }
    partial[t] = low.x;
    partial[WORKGROUP_SIZE + t] = low.y;
    partial[2u * WORKGROUP_SIZE + t] = low.z;
    partial[3u * WORKGROUP_SIZE + t] = low.w;
    partial[4u * WORKGROUP_SIZE + t] = high.x;
    partial[5u * WORKGROUP_SIZE + t] = high.y;
    partial[6u * WORKGROUP_SIZE + t] = high.z;
    partial[7u * WORKGROUP_SIZE + t] = high.w;
    workgroupBarrier();
    for (var step = THREADS_PER_ROW / 2u; step > 0u; step /= 2u) {
        if (lane < step) {
            for (var j = 0u; j < TILE; j++) {
                partial[j * WORKGROUP_SIZE + t] += partial[j * WORKGROUP_SIZE + t + step];
            }
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < shape.rows) {
        for (var j = 0u; j < count; j++) {
            y[(first + j) * shape.rows + row] = partial[j * WORKGROUP_SIZE + t];
        }
    }
}

// Block b of weights `w` against one token's block of x, whose eight
// vec4 the eight lanes of the subgroup hold one each (`mine`).
fn block_dot_shared(w: Block, mine: vec4<f32>) -> f32 {
    return dot(w.w0, subgroupBroadcast(mine, 0u)) + dot(w.w1, subgroupBroadcast(mine, 1u))
        + dot(w.w2, subgroupBroadcast(mine, 2u)) + dot(w.w3, subgroupBroadcast(mine, 3u))
        + dot(w.w4, subgroupBroadcast(mine, 4u)) + dot(w.w5, subgroupBroadcast(mine, 5u))
        + dot(w.w6, subgroupBroadcast(mine, 6u)) + dot(w.w7, subgroupBroadcast(mine, 7u));
}

// For CPU adapters with 8-wide subgroups (lavapipe), where every load
// whose address is not a constant is a loop over the lanes: one lane per
// row, as the GEMV's gemv_broadcast.wgsl, and each lane loads one vec4 of
// each token's block of x, which subgroupBroadcast hands to all eight (one
// load a lane per token instead of eight). Every lane runs the same loop
// (rows past the end compute the last row and do not store), and the
// second half of the tile always, as subgroup operations need.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_broadcast(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let flat = group.y * groups.x + group.x;
    let tile = flat % shape.tiles;
    let row = (flat / shape.tiles) * WORKGROUP_SIZE + t;
    let r = min(row, shape.rows - 1u);
    let first = tile * TILE;
    let count = min(TILE, shape.tokens - first);
    let last = shape.tokens - 1u;
    let quads = shape.cols / 4u;
    let x0 = min(first, last) * quads + lane;
    let x1 = min(first + 1u, last) * quads + lane;
    let x2 = min(first + 2u, last) * quads + lane;
    let x3 = min(first + 3u, last) * quads + lane;
    let x4 = min(first + 4u, last) * quads + lane;
    let x5 = min(first + 5u, last) * quads + lane;
    let x6 = min(first + 6u, last) * quads + lane;
    let x7 = min(first + 7u, last) * quads + lane;
    var low = vec4<f32>(0.0);
    var high = vec4<f32>(0.0);
    for (var b = 0u; b < shape.cols / 32u; b++) {
        let w = block_weights(r, b);
        let scale = vec4<f32>(block_scale(r, b));
        let c = b * 8u;
        low = fma(scale, vec4<f32>(block_dot_shared(w, x[x0 + c]), block_dot_shared(w, x[x1 + c]),
                                   block_dot_shared(w, x[x2 + c]), block_dot_shared(w, x[x3 + c])), low);
        high = fma(scale, vec4<f32>(block_dot_shared(w, x[x4 + c]), block_dot_shared(w, x[x5 + c]),
                                    block_dot_shared(w, x[x6 + c]), block_dot_shared(w, x[x7 + c])), high);
    }
    if (row < shape.rows) {
        for (var j = 0u; j < count; j++) {
            y[(first + j) * shape.rows + row] = select(high[j % 4u], low[j % 4u], j < 4u);
        }
    }
}
