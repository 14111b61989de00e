// A block of 32 weights, decoded: what each format's block_weights
// returns (gemv_f16, gemv_q8, gemv_q4.wgsl), for the GEMV's broadcast path
// and the skinny GEMM. Prepended to every format's file.
struct Block {
    w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
    w4: vec4<f32>, w5: vec4<f32>, w6: vec4<f32>, w7: vec4<f32>,
}
