// What both decode attention kernels (attention_decode.wgsl and
// attention_decode_split.wgsl, appended after this file) read: the shape,
// the queries, the f16 KV cache shared by a batch's sequences and each
// sequence's place in it, and where the output goes. Each kernel binds its
// own partial records (binding 1), laid out its own way.

const DIM: u32 = 128u;
const WORDS: u32 = 64u; // f16 pairs per head vector
const GROUP: u32 = 4u; // query heads per workgroup

struct Shape {
    // The longest sequence's length, and its chunks.
    len: u32,
    chunks: u32,
    kv_heads: u32,
    scale: f32,
    heads: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<u32>;
@group(0) @binding(5) var<storage, read> v: array<u32>;
// Per sequence: (length, first row of k and v).
@group(0) @binding(6) var<storage, read> sequences: array<vec2<u32>>;
