// C = A B (A: M x K, B: K x N, C: M x N, row-major; A and B in the
// `ScalarA` and `ScalarB` the host's preamble names, f32 or f16, summed
// in f32) for CPU
// adapters such as lavapipe, where a workgroup of 8 invocations is one
// 8-lane SIMD vector and every storage load whose index is not a constant
// becomes a loop over the lanes: loads, not arithmetic, bound the kernel.
// So no workgroup memory (more loads, and barriers) and few loads per FMA:
// the workgroup computes a 32 x 16 block of C. Lane L loads row row0+L
// (and row0+8+L, ...) of A four K at a time, one load per lane for eight
// rows; subgroupBroadcast (an extract from the vector, no memory) hands
// each row's values to every lane; lane L keeps columns col0+L and
// col0+8+L in a vec2 per row. Per four K: 16 loads, 256 FMAs per lane.
// The rows are written out because subgroupBroadcast needs a constant
// lane and private arrays indexed in a loop spill.
//
// The grid walks down the rows first (group.x picks the rows) so that
// workgroups run one after another share a 16-column strip of B (256 KB at
// K = 4096) in cache: 13% faster than columns first on lavapipe at 4096^3.
//
// M must be a multiple of 32, N of 16 and K of 4; the host checks, and
// runs this only where the subgroup size is 8.

struct Shape {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> a: array<vec4<ScalarA>>;
@group(0) @binding(2) var<storage, read> b: array<ScalarB>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(8)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = shape.n;
    let k4 = shape.k / 4u;
    let row0 = group.x * 32u;
    let col = group.y * 16u + local.x;
    var c0 = vec2<f32>(0.0);
    var c1 = vec2<f32>(0.0);
    var c2 = vec2<f32>(0.0);
    var c3 = vec2<f32>(0.0);
    var c4 = vec2<f32>(0.0);
    var c5 = vec2<f32>(0.0);
    var c6 = vec2<f32>(0.0);
    var c7 = vec2<f32>(0.0);
    var c8 = vec2<f32>(0.0);
    var c9 = vec2<f32>(0.0);
    var c10 = vec2<f32>(0.0);
    var c11 = vec2<f32>(0.0);
    var c12 = vec2<f32>(0.0);
    var c13 = vec2<f32>(0.0);
    var c14 = vec2<f32>(0.0);
    var c15 = vec2<f32>(0.0);
    var c16 = vec2<f32>(0.0);
    var c17 = vec2<f32>(0.0);
    var c18 = vec2<f32>(0.0);
    var c19 = vec2<f32>(0.0);
    var c20 = vec2<f32>(0.0);
    var c21 = vec2<f32>(0.0);
    var c22 = vec2<f32>(0.0);
    var c23 = vec2<f32>(0.0);
    var c24 = vec2<f32>(0.0);
    var c25 = vec2<f32>(0.0);
    var c26 = vec2<f32>(0.0);
    var c27 = vec2<f32>(0.0);
    var c28 = vec2<f32>(0.0);
    var c29 = vec2<f32>(0.0);
    var c30 = vec2<f32>(0.0);
    var c31 = vec2<f32>(0.0);
    for (var p = 0u; p < k4; p++) {
        let a0 = vec4<f32>(a[(row0 + 0u + local.x) * k4 + p]);
        let a1 = vec4<f32>(a[(row0 + 8u + local.x) * k4 + p]);
        let a2 = vec4<f32>(a[(row0 + 16u + local.x) * k4 + p]);
        let a3 = vec4<f32>(a[(row0 + 24u + local.x) * k4 + p]);
        let at = p * 4u * n + col;
        let b0 = vec2<f32>(f32(b[at]), f32(b[at + 8u]));
        let b1 = vec2<f32>(f32(b[at + 1u * n]), f32(b[at + 1u * n + 8u]));
        let b2 = vec2<f32>(f32(b[at + 2u * n]), f32(b[at + 2u * n + 8u]));
        let b3 = vec2<f32>(f32(b[at + 3u * n]), f32(b[at + 3u * n + 8u]));
        var x: vec4<f32>;
        x = subgroupBroadcast(a0, 0u); c0 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c0))));
        x = subgroupBroadcast(a0, 1u); c1 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c1))));
        x = subgroupBroadcast(a0, 2u); c2 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c2))));
        x = subgroupBroadcast(a0, 3u); c3 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c3))));
        x = subgroupBroadcast(a0, 4u); c4 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c4))));
        x = subgroupBroadcast(a0, 5u); c5 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c5))));
        x = subgroupBroadcast(a0, 6u); c6 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c6))));
        x = subgroupBroadcast(a0, 7u); c7 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c7))));
        x = subgroupBroadcast(a1, 0u); c8 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c8))));
        x = subgroupBroadcast(a1, 1u); c9 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c9))));
        x = subgroupBroadcast(a1, 2u); c10 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c10))));
        x = subgroupBroadcast(a1, 3u); c11 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c11))));
        x = subgroupBroadcast(a1, 4u); c12 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c12))));
        x = subgroupBroadcast(a1, 5u); c13 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c13))));
        x = subgroupBroadcast(a1, 6u); c14 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c14))));
        x = subgroupBroadcast(a1, 7u); c15 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c15))));
        x = subgroupBroadcast(a2, 0u); c16 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c16))));
        x = subgroupBroadcast(a2, 1u); c17 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c17))));
        x = subgroupBroadcast(a2, 2u); c18 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c18))));
        x = subgroupBroadcast(a2, 3u); c19 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c19))));
        x = subgroupBroadcast(a2, 4u); c20 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c20))));
        x = subgroupBroadcast(a2, 5u); c21 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c21))));
        x = subgroupBroadcast(a2, 6u); c22 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c22))));
        x = subgroupBroadcast(a2, 7u); c23 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c23))));
        x = subgroupBroadcast(a3, 0u); c24 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c24))));
        x = subgroupBroadcast(a3, 1u); c25 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c25))));
        x = subgroupBroadcast(a3, 2u); c26 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c26))));
        x = subgroupBroadcast(a3, 3u); c27 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c27))));
        x = subgroupBroadcast(a3, 4u); c28 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c28))));
        x = subgroupBroadcast(a3, 5u); c29 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c29))));
        x = subgroupBroadcast(a3, 6u); c30 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c30))));
        x = subgroupBroadcast(a3, 7u); c31 = fma(vec2(x.w), b3, fma(vec2(x.z), b2, fma(vec2(x.y), b1, fma(vec2(x.x), b0, c31))));
    }
    c[(row0 + 0u) * n + col] = c0.x; c[(row0 + 0u) * n + col + 8u] = c0.y;
    c[(row0 + 1u) * n + col] = c1.x; c[(row0 + 1u) * n + col + 8u] = c1.y;
    c[(row0 + 2u) * n + col] = c2.x; c[(row0 + 2u) * n + col + 8u] = c2.y;
    c[(row0 + 3u) * n + col] = c3.x; c[(row0 + 3u) * n + col + 8u] = c3.y;
    c[(row0 + 4u) * n + col] = c4.x; c[(row0 + 4u) * n + col + 8u] = c4.y;
    c[(row0 + 5u) * n + col] = c5.x; c[(row0 + 5u) * n + col + 8u] = c5.y;
    c[(row0 + 6u) * n + col] = c6.x; c[(row0 + 6u) * n + col + 8u] = c6.y;
    c[(row0 + 7u) * n + col] = c7.x; c[(row0 + 7u) * n + col + 8u] = c7.y;
    c[(row0 + 8u) * n + col] = c8.x; c[(row0 + 8u) * n + col + 8u] = c8.y;
    c[(row0 + 9u) * n + col] = c9.x; c[(row0 + 9u) * n + col + 8u] = c9.y;
    c[(row0 + 10u) * n + col] = c10.x; c[(row0 + 10u) * n + col + 8u] = c10.y;
    c[(row0 + 11u) * n + col] = c11.x; c[(row0 + 11u) * n + col + 8u] = c11.y;
    c[(row0 + 12u) * n + col] = c12.x; c[(row0 + 12u) * n + col + 8u] = c12.y;
    c[(row0 + 13u) * n + col] = c13.x; c[(row0 + 13u) * n + col + 8u] = c13.y;
    c[(row0 + 14u) * n + col] = c14.x; c[(row0 + 14u) * n + col + 8u] = c14.y;
    c[(row0 + 15u) * n + col] = c15.x; c[(row0 + 15u) * n + col + 8u] = c15.y;
    c[(row0 + 16u) * n + col] = c16.x; c[(row0 + 16u) * n + col + 8u] = c16.y;
    c[(row0 + 17u) * n + col] = c17.x; c[(row0 + 17u) * n + col + 8u] = c17.y;
    c[(row0 + 18u) * n + col] = c18.x; c[(row0 + 18u) * n + col + 8u] = c18.y;
    c[(row0 + 19u) * n + col] = c19.x; c[(row0 + 19u) * n + col + 8u] = c19.y;
    c[(row0 + 20u) * n + col] = c20.x; c[(row0 + 20u) * n + col + 8u] = c20.y;
    c[(row0 + 21u) * n + col] = c21.x; c[(row0 + 21u) * n + col + 8u] = c21.y;
    c[(row0 + 22u) * n + col] = c22.x; c[(row0 + 22u) * n + col + 8u] = c22.y;
    c[(row0 + 23u) * n + col] = c23.x; c[(row0 + 23u) * n + col + 8u] = c23.y;
    c[(row0 + 24u) * n + col] = c24.x; c[(row0 + 24u) * n + col + 8u] = c24.y;
    c[(row0 + 25u) * n + col] = c25.x; c[(row0 + 25u) * n + col + 8u] = c25.y;
    c[(row0 + 26u) * n + col] = c26.x; c[(row0 + 26u) * n + col + 8u] = c26.y;
    c[(row0 + 27u) * n + col] = c27.x; c[(row0 + 27u) * n + col + 8u] = c27.y;
    c[(row0 + 28u) * n + col] = c28.x; c[(row0 + 28u) * n + col + 8u] = c28.y;
    c[(row0 + 29u) * n + col] = c29.x; c[(row0 + 29u) * n + col + 8u] = c29.y;
    c[(row0 + 30u) * n + col] = c30.x; c[(row0 + 30u) * n + col + 8u] = c30.y;
    c[(row0 + 31u) * n + col] = c31.x; c[(row0 + 31u) * n + col + 8u] = c31.y;
}
