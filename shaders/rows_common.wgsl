// Row-wise kernels (rmsnorm, softmax): the part they share. THREADS_PER_ROW
// lanes split each row; `reduce` (rows_reduce_workgroup.wgsl or
// rows_reduce_subgroup.wgsl, appended) combines their values. Every lane
// reaches every barrier: rows past the end read row 0 and do not write.

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

struct Row {
    index: u32,
    lane: u32,
    valid: bool,
}

fn this_row(lanes: Lanes) -> Row {
    let t = lanes.t;
    let rows_per_group = WORKGROUP_SIZE / THREADS_PER_ROW;
    let row = (lanes.group.y * lanes.groups.x + lanes.group.x) * rows_per_group + t / THREADS_PER_ROW;
    let valid = row < shape.rows;
    return Row(select(0u, row, valid), t % THREADS_PER_ROW, valid);
}
