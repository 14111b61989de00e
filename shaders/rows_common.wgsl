// Row-wise kernels (rmsnorm, softmax): the part they share. THREADS_PER_ROW
// lanes split each row; `reduce` combines their values through workgroup
// memory (one lane per row on CPU adapters needs no barrier at all: the
// branch on the constant is removed when the pipeline is created). Every
// lane reaches every barrier: rows past the end read row 0 and do not write.

struct Shape {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WORKGROUP_SIZE: u32 = 64u;
override THREADS_PER_ROW: u32 = 1u;

var<workgroup> scratch: array<f32, 256>;

// The sum (or with `take_max`, the maximum) of `value` over a row's lanes.
fn reduce(t: u32, lane: u32, value: f32, take_max: bool) -> f32 {
    if (THREADS_PER_ROW == 1u) {
        return value;
    }
    scratch[t] = value;
    workgroupBarrier();
    for (var step = THREADS_PER_ROW / 2u; step > 0u; step /= 2u) {
        if (lane < step) {
            let a = scratch[t];
            let b = scratch[t + step];
            scratch[t] = select(a + b, max(a, b), take_max);
        }
        workgroupBarrier();
    }
    let total = scratch[t - lane];
    workgroupBarrier();
    return total;
}

struct Row {
    index: u32,
    lane: u32,
    valid: bool,
}

fn this_row(t: u32, group: vec3<u32>, groups: vec3<u32>) -> Row {
    let rows_per_group = WORKGROUP_SIZE / THREADS_PER_ROW;
    let row = (group.y * groups.x + group.x) * rows_per_group + t / THREADS_PER_ROW;
    let valid = row < shape.rows;
    return Row(select(0u, row, valid), t % THREADS_PER_ROW, valid);
}
