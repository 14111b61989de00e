// C = A B (A: M x K, B: K x N, C: M x N, all row-major; A and B in the
// `ScalarA` and `ScalarB` the host's preamble names, f32 or f16, summed in
// f32), tiled
// through workgroup memory. A workgroup computes a TILE x TILE block of C;
// each of its (TILE/4)^2 invocations holds a 4 x 4 block in four vec4
// registers (no private array: indexing one spills). K advances 16 at a
// time: the workgroup stages a TILE x 16 slice of A (transposed, so that a
// column reads as consecutive words) and a 16 x TILE slice of B, then every
// invocation does 16 rank-1 updates of its block.
//
// M and N must be multiples of TILE and K of 16; the host checks.

override TILE: u32 = 64u;

struct Shape {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> a: array<vec4<ScalarA>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<ScalarB>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;

const DEPTH: u32 = 16u;
// Sized for the largest TILE (64).
var<workgroup> a_tile: array<f32, 1024>; // [DEPTH][TILE], A transposed
var<workgroup> b_tile: array<f32, 1024>; // [DEPTH][TILE]

@compute @workgroup_size(TILE / 4u, TILE / 4u)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let threads = (TILE / 4u) * (TILE / 4u);
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    let k4 = shape.k / 4u;
    let n4 = shape.n / 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < shape.k; k0 += DEPTH) {
        // Stage A[row0.., k0..k0+16] transposed: TILE rows of 4 vec4.
        for (var i = t; i < TILE * DEPTH / 4u; i += threads) {
            let r = i / (DEPTH / 4u);
            let q = i % (DEPTH / 4u);
            let v = vec4<f32>(a[(row0 + r) * k4 + k0 / 4u + q]);
            a_tile[(q * 4u) * TILE + r] = v.x;
            a_tile[(q * 4u + 1u) * TILE + r] = v.y;
            a_tile[(q * 4u + 2u) * TILE + r] = v.z;
            a_tile[(q * 4u + 3u) * TILE + r] = v.w;
        }
        // Stage B[k0..k0+16, col0..]: 16 rows of TILE/4 vec4.
        for (var i = t; i < TILE * DEPTH / 4u; i += threads) {
            let r = i / (TILE / 4u);
            let q = i % (TILE / 4u);
            let v = vec4<f32>(b[(k0 + r) * n4 + col0 / 4u + q]);
            let at = r * TILE + q * 4u;
            b_tile[at] = v.x;
            b_tile[at + 1u] = v.y;
            b_tile[at + 2u] = v.z;
            b_tile[at + 3u] = v.w;
        }
        workgroupBarrier();
        for (var k = 0u; k < DEPTH; k++) {
            let ai = k * TILE + local.y * 4u;
            let bi = k * TILE + local.x * 4u;
            let bv = vec4<f32>(b_tile[bi], b_tile[bi + 1u], b_tile[bi + 2u], b_tile[bi + 3u]);
            acc0 = fma(vec4<f32>(a_tile[ai]), bv, acc0);
            acc1 = fma(vec4<f32>(a_tile[ai + 1u]), bv, acc1);
            acc2 = fma(vec4<f32>(a_tile[ai + 2u]), bv, acc2);
            acc3 = fma(vec4<f32>(a_tile[ai + 3u]), bv, acc3);
        }
        workgroupBarrier();
    }
    let row = row0 + local.y * 4u;
    let col = col0 / 4u + local.x;
    c[row * n4 + col] = acc0;
    c[(row + 1u) * n4 + col] = acc1;
    c[(row + 2u) * n4 + col] = acc2;
    c[(row + 3u) * n4 + col] = acc3;
}
