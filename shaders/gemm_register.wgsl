// C = A B (A: M x K, B: K x N, C: M x N, all row-major; A and B in the
// `ScalarA` and `ScalarB` the host's preamble names, f32 or f16, summed in
// f32), register-blocked: the SGEMM shape known to run well in WGSL on
// GPUs (wgpu-mm, the WebGPU SGEMM write-ups).
//
// The host prepends BM, BN (the workgroup's block of C), BK (the K slice
// staged at a time, a multiple of 4) and TM, TN (each invocation's block,
// multiples of 4). A workgroup has (BM / TM) x (BN / TN) invocations;
// each keeps its TM x TN block of C in registers (TM x TN / 4 vec4
// accumulators) and, per step along K, reads TM values of A and TN of B
// from workgroup memory as vec4s and adds their outer product: TM x TN
// FMAs for (TM + TN) / 4 workgroup loads, where the 4 x 4 tiled kernel
// does 16 for 8 scalar loads. The slices of A and B are read from global
// memory as vec4s; A's is stored transposed ([BK][BM]) so that a column
// of A, the TM values an invocation needs, is TM / 4 consecutive vec4s.
// The loops have constant bounds so that compilers unroll them and keep
// the arrays in registers.
//
// M must be a multiple of BM, N of BN and K of BK; the host checks.

struct Shape {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> a: array<vec4<ScalarA>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<ScalarB>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;

const THREADS_M: u32 = BM / TM;
const THREADS_N: u32 = BN / TN;
const THREADS: u32 = THREADS_M * THREADS_N;
const TN4: u32 = TN / 4u;
const TM4: u32 = TM / 4u;

var<workgroup> a_slice: array<vec4<f32>, BK * BM / 4u>; // [BK][BM / 4], A transposed
var<workgroup> b_slice: array<vec4<f32>, BK * BN / 4u>; // [BK][BN / 4]

@compute @workgroup_size(THREADS_N, THREADS_M)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let row0 = group.y * BM;
    let col0 = group.x * BN;
    let k4 = shape.k / 4u;
    let n4 = shape.n / 4u;
    var acc: array<vec4<f32>, TM * TN4>; // [TM][TN / 4]
    for (var k0 = 0u; k0 < shape.k; k0 += BK) {
        // A[row0.., k0..k0 + BK]: BM rows of BK / 4 vec4, stored transposed.
        for (var i = t; i < BM * BK / 4u; i += THREADS) {
            let r = i / (BK / 4u);
            let q = i % (BK / 4u);
            let v = vec4<f32>(a[(row0 + r) * k4 + k0 / 4u + q]);
            let at = (q * 4u) * (BM / 4u) + r / 4u;
            a_slice[at][r % 4u] = v.x;
            a_slice[at + BM / 4u][r % 4u] = v.y;
            a_slice[at + 2u * (BM / 4u)][r % 4u] = v.z;
            a_slice[at + 3u * (BM / 4u)][r % 4u] = v.w;
        }
        // B[k0..k0 + BK, col0..]: BK rows of BN / 4 vec4, as they lie.
        for (var i = t; i < BK * BN / 4u; i += THREADS) {
            let r = i / (BN / 4u);
            let q = i % (BN / 4u);
            b_slice[i] = vec4<f32>(b[(k0 + r) * n4 + col0 / 4u + q]);
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            var a_column: array<vec4<f32>, TM4>;
            for (var i = 0u; i < TM4; i++) {
                a_column[i] = a_slice[k * (BM / 4u) + local.y * TM4 + i];
            }
            var b_row: array<vec4<f32>, TN4>;
            for (var j = 0u; j < TN4; j++) {
                b_row[j] = b_slice[k * (BN / 4u) + local.x * TN4 + j];
            }
            for (var i = 0u; i < TM; i++) {
                let a_value = vec4<f32>(a_column[i / 4u][i % 4u]);
                for (var j = 0u; j < TN4; j++) {
                    acc[i * TN4 + j] = fma(a_value, b_row[j], acc[i * TN4 + j]);
                }
            }
        }
        workgroupBarrier();
    }
    let row = row0 + local.y * TM;
    let col = col0 / 4u + local.x * TN4;
    for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN4; j++) {
            c[(row + i) * n4 + col + j] = acc[i * TN4 + j];
        }
    }
}
