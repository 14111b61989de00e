// Matrix-vector product y = W x for one token: the bindings and launch
// constants shared by every GEMV kernel. The entry points (gemv_lanes,
// gemv_broadcast, gemv_subgroup.wgsl) and each weight format's file are
// appended after this one.

struct Shape {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WORKGROUP_SIZE: u32 = 64u;
override THREADS_PER_ROW: u32 = 1u;
