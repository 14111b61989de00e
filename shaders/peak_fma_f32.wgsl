// The adapter's f32 arithmetic ceiling: independent FMA chains per
// invocation (enough to hide FMA latency), results written out so the
// compiler cannot drop them. A template: src/workloads/peak_fma.rs fills
// in the element type (f32 or vec4<f32>), the number of chains and their
// steps, and measures every shape to keep the fastest, since the shape
// that saturates one driver's compiler spills on another's.
//
// Each chain iterates x <- x * M + K with M = 1 - 2^-10 and K = 2^-10: a
// contraction towards 1, so values stay finite for any number of
// iterations and the CPU can follow them in f64. Chain j starts at
// s * A[j] + B[j], from the seed s.

override WORKGROUP_SIZE: u32 = 256u;
override ITERATIONS: u32 = 128u;

alias T = {{TYPE}};

@group(0) @binding(0) var<storage, read> seeds: array<T>;
@group(0) @binding(1) var<storage, read_write> out: array<T>;

const M = T(0.9990234375);
const K = T(0.0009765625);

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = id.y * groups.x * WORKGROUP_SIZE + id.x;
    if (i >= arrayLength(&out)) {
        return;
    }
    let s = seeds[i];
{{START}}
    for (var n = 0u; n < ITERATIONS; n++) {
{{STEP}}
    }
    out[i] = {{SUM}};
}
