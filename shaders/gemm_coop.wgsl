// C = A B with A and B in f16 and C summed in f32 through cooperative
// matrices: Vulkan's VK_KHR_cooperative_matrix, the tensor cores of NVIDIA
// GPUs (A: M x K, B: K x N, C: M x N, all row-major). Each workgroup is one
// subgroup and computes a 32 x 32 block of C as four 16 x 16 accumulators;
// K advances 16 at a time, loading two tiles of A and two of B straight
// from the storage buffers (the driver stages them).
//
// M and N must be multiples of 32 and K of 16; the host checks, and runs
// this only where the adapter offers 16x16x16 f16 x f16 + f32.

enable f16;
enable wgpu_cooperative_matrix;

struct Shape {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override SUBGROUP: u32 = 32u;

@compute @workgroup_size(SUBGROUP)
fn main(@builtin(workgroup_id) group: vec3<u32>) {
    let n = shape.n;
    let k = shape.k;
    let row0 = group.y * 32u;
    let col0 = group.x * 32u;
    var c00 = coop_mat16x16<f32, C>();
    var c01 = coop_mat16x16<f32, C>();
    var c10 = coop_mat16x16<f32, C>();
    var c11 = coop_mat16x16<f32, C>();
    for (var k0 = 0u; k0 < k; k0 += 16u) {
        let a0 = coopLoadT<coop_mat16x16<f16, A>>(&a[row0 * k + k0], k);
        let a1 = coopLoadT<coop_mat16x16<f16, A>>(&a[(row0 + 16u) * k + k0], k);
        let b0 = coopLoadT<coop_mat16x16<f16, B>>(&b[k0 * n + col0], n);
        let b1 = coopLoadT<coop_mat16x16<f16, B>>(&b[k0 * n + col0 + 16u], n);
        c00 = coopMultiplyAdd(a0, b0, c00);
        c01 = coopMultiplyAdd(a0, b1, c01);
        c10 = coopMultiplyAdd(a1, b0, c10);
        c11 = coopMultiplyAdd(a1, b1, c11);
    }
    // Each store's index is named first: naga 30's WGSL front end does not
    // emit an index computed inside coopStoreT's pointer argument, and its
    // SPIR-V back end then panics ("Expression [..] is not cached").
    let i00 = row0 * n + col0;
    let i01 = i00 + 16u;
    let i10 = (row0 + 16u) * n + col0;
    let i11 = i10 + 16u;
    coopStoreT(c00, &c[i00], n);
    coopStoreT(c01, &c[i01], n);
    coopStoreT(c10, &c[i10], n);
    coopStoreT(c11, &c[i11], n);
}
