//! `rmsnorm` and `softmax`: row-wise kernels over rows of a hidden state
//! (4096) and of the logits over a vocabulary (128256). Memory-bound: the
//! figure is GB/s of rows read and written.

use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::{Measurement, Unit, Workload};
use crate::Result;
use crate::gpu::{Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};

/// Which row-wise operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOp {
    RmsNorm,
    Softmax,
}

impl RowOp {
    fn name(self) -> &'static str {
        match self {
            RowOp::RmsNorm => "rmsnorm",
            RowOp::Softmax => "softmax",
        }
    }

    fn shader(self) -> &'static str {
        match self {
            RowOp::RmsNorm => concat!(
                include_str!("../../shaders/rows_common.wgsl"),
                include_str!("../../shaders/rmsnorm.wgsl")
            ),
            RowOp::Softmax => concat!(
                include_str!("../../shaders/rows_common.wgsl"),
                include_str!("../../shaders/softmax.wgsl")
            ),
        }
    }
}

/// One row-wise workload at one shape.
#[derive(Debug, Clone)]
pub struct RowKernel {
    pub op: RowOp,
    pub rows: u32,
    pub cols: u32,
}

impl RowKernel {
    /// Rows of 4096 (hidden size) and of 128256 (Llama 3's vocabulary),
    /// about 16 M elements each.
    /// `run --quick`'s shape: 256 rows of 4096.
    pub fn quick(op: RowOp) -> RowKernel {
        RowKernel {
            op,
            rows: 256,
            cols: 4096,
        }
    }

    pub fn at_llm_shapes(op: RowOp) -> Vec<RowKernel> {
        [(4096, 4096), (128, 128_256)]
            .into_iter()
            .map(|(rows, cols)| RowKernel { op, rows, cols })
            .collect()
    }
}

const EPSILON: f64 = 1e-5;

/// One lane per row on CPU adapters (no barriers), but never more than
/// 16384 elements a lane: lavapipe ends any loop after 65535 iterations,
/// and 128256-wide rows failed their check that way. 64 on GPUs.
fn threads_per_row(gpu: &Gpu, cols: u32) -> u32 {
    if gpu.summary.device_type == crate::results::DeviceType::Cpu {
        (cols / 16384).next_power_of_two()
    } else {
        64
    }
}

/// The kernel for `op` over `rows` rows of `cols` from `x` into `y`, with
/// RMSNorm's `weight`, and its workgroup grid. Also used by the LLM layer.
pub fn row_kernel(
    gpu: &Gpu,
    op: RowOp,
    rows: u32,
    cols: u32,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weight: Option<&wgpu::Buffer>,
) -> Result<(Kernel, [u32; 3])> {
    let shape = gpu.upload("rows shape", &[rows, cols]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weight);
    let threads_per_row = threads_per_row(gpu, cols);
    let workgroup_size = 64;
    let kernel = gpu.kernel(
        op.name(),
        op.shader(),
        "main",
        &[
            ("WORKGROUP_SIZE", f64::from(workgroup_size)),
            ("THREADS_PER_ROW", f64::from(threads_per_row)),
        ],
        &bindings,
    )?;
    let workgroups = gpu.workgroup_grid(u64::from(rows.div_ceil(workgroup_size / threads_per_row)));
    Ok((kernel, workgroups))
}
/// Each lane sums up to 16384 terms in f32 one after another, and softmax
/// scales the whole row by that sum: errors around 1.4e-5 were seen on
/// lavapipe, so the bound is the f32 figure, 1e-4.
const BOUND: f64 = 1e-4;

/// The CPU reference, in f64, for the listed rows.
fn reference(op: RowOp, x: &[f32], weight: &[f32], cols: usize, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * cols);
    for &r in rows {
        let row: Vec<f64> = x[r * cols..(r + 1) * cols]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        match op {
            RowOp::RmsNorm => {
                let mean_square = row.iter().map(|v| v * v).sum::<f64>() / cols as f64;
                let scale = 1.0 / (mean_square + EPSILON).sqrt();
                out.extend(
                    row.iter()
                        .zip(weight)
                        .map(|(v, &w)| v * scale * f64::from(w)),
                );
            }
            RowOp::Softmax => {
                let max = row.iter().cloned().fold(f64::MIN, f64::max);
                let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
                out.extend(row.iter().map(|v| (v - max).exp() / sum));
            }
        }
    }
    out
}

impl Workload for RowKernel {
    fn name(&self) -> &'static str {
        self.op.name()
    }

    fn description(&self) -> &'static str {
        match self.op {
            RowOp::RmsNorm => "RMSNorm over rows (GB/s read + written)",
            RowOp::Softmax => "numerically stable softmax over rows (GB/s read + written)",
        }
    }

    fn unit(&self) -> Unit {
        Unit::GigabytesPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!("{}x{}", self.rows, self.cols))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let (rows, cols) = (self.rows as usize, self.cols as usize);
        let bytes = (rows * cols * 4) as u64;
        gpu.check_fits(&format!("{} at {rows}x{cols}", self.name()), bytes)?;
        // Logits spread over [-8, 8) so that softmax has a real maximum.
        let scale = if self.op == RowOp::Softmax { 8.0 } else { 1.0 };
        let x: Vec<f32> = random_f32(20 + cols as u64, rows * cols)
            .iter()
            .map(|v| v * scale)
            .collect();
        let weight = random_f32(21, cols);
        let x_buffer = gpu.upload("rows x", &x);
        let y = gpu.output("rows y", bytes);
        let weight_buffer = gpu.upload("rows weight", &weight);
        let weight_binding = (self.op == RowOp::RmsNorm).then_some(&weight_buffer);
        let (kernel, workgroups) = row_kernel(
            gpu,
            self.op,
            self.rows,
            self.cols,
            &x_buffer,
            &y,
            weight_binding,
        )?;
        // 64 rows spread over the matrix (every row when there are fewer).
        let checked: Vec<usize> = (0..rows).step_by(rows.div_ceil(64)).collect();
        let expected = reference(self.op, &x, &weight, cols, &checked);
        let check = OutputCheck {
            workload: self.name(),
            output: &y,
            ranges: checked.iter().map(|&r| r * cols..(r + 1) * cols).collect(),
            expected: &expected,
            bound: BOUND,
        };
        let (samples, error) = sample_checked(
            gpu,
            kernel.dispatch(workgroups),
            2.0 * bytes as f64,
            plan,
            observer,
            &check,
        )?;
        let mut params = serde_json::Map::new();
        params.insert("rows".into(), json!(self.rows));
        params.insert("cols".into(), json!(self.cols));
        params.insert(
            "threads_per_row".into(),
            json!(threads_per_row(gpu, self.cols)),
        );
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "{} of {rows} rows, every element, against an f64 CPU reference before and \
                 after timing: relative error {error:.1e} (bound {BOUND:.0e})",
                checked.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small shapes, every row checked, including a row count that leaves
    /// the last workgroup partly empty.
    #[test]
    fn small_shapes_match_the_reference() {
        let gpu = crate::gpu::default_for_tests();
        for op in [RowOp::RmsNorm, RowOp::Softmax] {
            for (rows, cols) in [(3, 100), (70, 4096), (8, 16384), (8, 65536), (8, 131072)] {
                let kernel = RowKernel { op, rows, cols };
                crate::workloads::assert_verifies(&gpu, &kernel, "");
            }
        }
    }
}
