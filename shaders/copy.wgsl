// The adapter's memory ceiling: a compute kernel copying a large buffer.
// Bandwidth counts bytes read plus bytes written.
//
// Each invocation copies ELEMENTS_PER_THREAD 16-byte elements, one grid
// apart, so that neighbouring invocations touch neighbouring memory (what
// GPUs coalesce) while the per-invocation cost is paid once (on lavapipe:
// 9.9 GB/s against 9.6 GB/s with one element per invocation).

override WORKGROUP_SIZE: u32 = 256u;
override ELEMENTS_PER_THREAD: u32 = 8u;

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * groups.y * WORKGROUP_SIZE;
    let first = id.y * groups.x * WORKGROUP_SIZE + id.x;
    let count = arrayLength(&dst);
    for (var k = 0u; k < ELEMENTS_PER_THREAD; k++) {
        let i = first + k * stride;
        if (i < count) {
            dst[i] = src[i];
        }
    }
}
