// A block of 32 weights, decoded: what each format's block_weights
// returns (gemv_f16, gemv_q8, gemv_q4.wgsl), for the GEMV's broadcast path
// and the skinny GEMM; and the decoders of packed weights every kernel
// reading them shares. Prepended to every format's file.
struct Block {
    w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
    w4: vec4<f32>, w5: vec4<f32>, w6: vec4<f32>, w7: vec4<f32>,
}

// Four f16 weights packed two to a u32.
fn f16x4(packed: vec2<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
}

// Four int8 weights of a Q8_0 block, byte j being weight j.
fn int8x4(word: u32) -> vec4<f32> {
    let w = i32(word);
    return vec4<f32>(vec4<i32>(extractBits(w, 0u, 8u), extractBits(w, 8u, 8u),
                               extractBits(w, 16u, 8u), extractBits(w, 24u, 8u)));
}

// Q4_0: the low nibbles of a quant word (weights 4k..4k+3 of a block for
// word k) and the high ones (weights 16+4k..), less 8.
fn low_nibbles(word: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>(word & 15u, (word >> 8u) & 15u, (word >> 16u) & 15u, (word >> 24u) & 15u)) - 8.0;
}

fn high_nibbles(word: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>((word >> 4u) & 15u, (word >> 12u) & 15u, (word >> 20u) & 15u, word >> 28u)) - 8.0;
}
