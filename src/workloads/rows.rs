//! `rmsnorm` and `softmax`: row-wise kernels over rows of a hidden state
//! (4096) and of the logits over a vocabulary (128256). Memory-bound: the
//! figure is GB/s of rows read and written.

use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{Measurement, Unit, Workload};
use crate::gpu::{Dispatch, Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

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

    /// The operation's shader after the shared part and `launch`'s
    /// reduction.
    fn shader(self, launch: RowLaunch) -> String {
        let op = match self {
            RowOp::RmsNorm => include_str!("../../shaders/rmsnorm.wgsl"),
            RowOp::Softmax => include_str!("../../shaders/softmax.wgsl"),
        };
        let reduce = if launch.subgroup {
            include_str!("../../shaders/rows_reduce_subgroup.wgsl")
        } else {
            include_str!("../../shaders/rows_reduce_workgroup.wgsl")
        };
        [include_str!("../../shaders/rows_common.wgsl"), reduce, op].concat()
    }
}

/// How a row kernel spreads its rows over lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLaunch {
    /// Lanes sharing a row, a power of two.
    pub threads_per_row: u32,
    /// Reduce with subgroupAdd / subgroupMax, then across subgroups
    /// (rows_reduce_subgroup.wgsl: one row per workgroup); otherwise a
    /// tree in workgroup memory (rows_reduce_workgroup.wgsl, 64 lanes or
    /// more per workgroup).
    pub subgroup: bool,
}

/// Lanes per row the workgroup-memory reduction is tried at (up to its
/// 256 values of workgroup memory), and the subgroup one.
const WORKGROUP_REDUCE_THREADS: [u32; 4] = [1, 32, 64, 256];
const SUBGROUP_REDUCE_THREADS: [u32; 2] = [256, 1024];

/// Lavapipe ends any loop after 65535 iterations (128256-wide rows on one
/// lane failed their check that way): the default gives a lane at most
/// about this many elements, never twice as many.
const MAX_PER_LANE: u32 = 16384;

impl RowLaunch {
    /// Invocations per workgroup.
    fn workgroup_size(self) -> u32 {
        if self.subgroup {
            self.threads_per_row
        } else {
            self.threads_per_row.max(64)
        }
    }

    /// As results record it (`variant`).
    pub fn name(self) -> String {
        let lanes = match self.threads_per_row {
            1 => "1 lane/row".to_string(),
            n => format!("{n} lanes/row"),
        };
        if self.subgroup {
            format!("{lanes}, subgroupAdd/subgroupMax")
        } else {
            format!("{lanes}, workgroup-memory reduction")
        }
    }

    /// Whether `gpu` can run it on rows of `cols`.
    fn fits(self, gpu: &Gpu, cols: u32) -> bool {
        let limits = &gpu.summary.limits;
        let smallest = gpu.summary.subgroup_sizes[0];
        let warps_fit = smallest > 0 && self.workgroup_size().div_ceil(smallest) <= 256;
        cols / self.threads_per_row < 2 * MAX_PER_LANE
            && self.workgroup_size() <= limits.max_compute_invocations_per_workgroup
            && (!self.subgroup || (gpu.summary.subgroups && warps_fit))
    }
}

/// The launches worth trying on rows of `cols`, today's default first
/// ([`threads_per_row`] lanes, workgroup-memory reduction): the other
/// lane counts that fit, and where the adapter has subgroups, the
/// subgroup reduction at many lanes per row (what a few long rows need
/// on a GPU).
pub fn row_launches(gpu: &Gpu, cols: u32) -> Vec<RowLaunch> {
    let default = RowLaunch {
        threads_per_row: threads_per_row(gpu, cols),
        subgroup: false,
    };
    let workgroup = WORKGROUP_REDUCE_THREADS
        .iter()
        .map(|&threads_per_row| RowLaunch {
            threads_per_row,
            subgroup: false,
        });
    let subgroup = SUBGROUP_REDUCE_THREADS
        .iter()
        .map(|&threads_per_row| RowLaunch {
            threads_per_row,
            subgroup: true,
        });
    let mut launches = vec![default];
    for launch in workgroup.chain(subgroup) {
        if launch != default && launch.fits(gpu, cols) {
            launches.push(launch);
        }
    }
    launches
}

/// One row-wise workload at one shape.
#[derive(Debug, Clone)]
pub struct RowKernel {
    pub op: RowOp,
    pub rows: u32,
    pub cols: u32,
    /// None: the fastest verified of [`row_launches`]. Tests pin each.
    pub launch: Option<RowLaunch>,
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
            launch: None,
        }
    }

    pub fn at_llm_shapes(op: RowOp) -> Vec<RowKernel> {
        [(4096, 4096), (128, 128_256)]
            .into_iter()
            .map(|(rows, cols)| RowKernel {
                op,
                rows,
                cols,
                launch: None,
            })
            .collect()
    }
}

const EPSILON: f64 = 1e-5;

/// The default lanes per row: one on CPU adapters (no barriers), but
/// never much more than [`MAX_PER_LANE`] elements a lane. 64 on GPUs.
fn threads_per_row(gpu: &Gpu, cols: u32) -> u32 {
    if gpu.summary.device_type == crate::results::DeviceType::Cpu {
        (cols / MAX_PER_LANE).next_power_of_two()
    } else {
        64
    }
}

/// The kernel for `op` over `rows` rows of `cols` from `x` into `y`, with
/// RMSNorm's `weight`, and its workgroup grid, on the default launch
/// ([`row_launches`]' first); [`row_kernel_with`] takes another. Also used
/// by the LLM layer.
pub fn row_kernel(
    gpu: &Gpu,
    op: RowOp,
    rows: u32,
    cols: u32,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weight: Option<&wgpu::Buffer>,
) -> Result<(Kernel, [u32; 3])> {
    let launch = RowLaunch {
        threads_per_row: threads_per_row(gpu, cols),
        subgroup: false,
    };
    row_kernel_with(gpu, op, launch, rows, cols, x, y, weight)
}

/// [`row_kernel`] on `launch` (one of [`row_launches`]).
#[allow(clippy::too_many_arguments)]
pub fn row_kernel_with(
    gpu: &Gpu,
    op: RowOp,
    launch: RowLaunch,
    rows: u32,
    cols: u32,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weight: Option<&wgpu::Buffer>,
) -> Result<(Kernel, [u32; 3])> {
    if !launch.fits(gpu, cols) {
        return Err(Error::Unsupported(format!(
            "{} on rows of {cols}: this adapter cannot run {}",
            op.name(),
            launch.name()
        )));
    }
    let shape = gpu.upload("rows shape", &[rows, cols]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weight);
    let workgroup_size = launch.workgroup_size();
    let kernel = gpu.kernel(
        op.name(),
        &op.shader(launch),
        "main",
        &[
            ("WORKGROUP_SIZE", f64::from(workgroup_size)),
            ("THREADS_PER_ROW", f64::from(launch.threads_per_row)),
        ],
        &bindings,
    )?;
    let rows_per_group = workgroup_size / launch.threads_per_row;
    let workgroups = gpu.workgroup_grid(u64::from(rows.div_ceil(rows_per_group)));
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
        let launches = match self.launch {
            Some(launch) => vec![launch],
            None => row_launches(gpu, self.cols),
        };
        let mut kernels = Vec::with_capacity(launches.len());
        for &launch in &launches {
            kernels.push(row_kernel_with(
                gpu,
                self.op,
                launch,
                self.rows,
                self.cols,
                &x_buffer,
                &y,
                weight_binding,
            )?);
        }
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
        let work = 2.0 * bytes as f64;
        let candidates: Vec<(Dispatch, f64)> = kernels
            .iter()
            .map(|(kernel, workgroups)| (kernel.dispatch(*workgroups), work))
            .collect();
        let verified =
            tuning::choose(gpu, plan, &candidates, |i| check.run(gpu, &candidates[i].0))?;
        let (kernel, workgroups) = &kernels[verified.index];
        let (samples, error) = sample_checked(
            gpu,
            kernel.dispatch(*workgroups),
            work,
            plan,
            observer,
            &check,
        )?;
        let launch = launches[verified.index];
        let mut params = serde_json::Map::new();
        params.insert("rows".into(), json!(self.rows));
        params.insert("cols".into(), json!(self.cols));
        params.insert("threads_per_row".into(), json!(launch.threads_per_row));
        let names: Vec<String> = launches.iter().map(|l| l.name()).collect();
        verified.record(&mut params, &names, self.unit());
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
    /// the last workgroup partly empty, on the run's own choice.
    #[test]
    fn small_shapes_match_the_reference() {
        let gpu = crate::gpu::default_for_tests();
        for op in [RowOp::RmsNorm, RowOp::Softmax] {
            for (rows, cols) in [(3, 100), (8, 131072)] {
                let kernel = RowKernel {
                    op,
                    rows,
                    cols,
                    launch: None,
                };
                crate::workloads::assert_verifies(&gpu, &kernel, "");
            }
        }
    }

    /// Every launch, pinned, on shapes that cut its edges: rows not a
    /// multiple of the rows per workgroup (3, 70), columns not a multiple
    /// of the lanes (100, 1000: fewer than the lanes of the widest, and
    /// between), rows of 40000 (more than one lane may walk: the default
    /// takes two).
    #[test]
    fn every_launch_matches_the_reference() {
        let gpu = crate::gpu::default_for_tests();
        for op in [RowOp::RmsNorm, RowOp::Softmax] {
            for (rows, cols) in [(3, 100), (70, 1000), (5, 40000)] {
                for launch in row_launches(&gpu, cols) {
                    let kernel = RowKernel {
                        op,
                        rows,
                        cols,
                        launch: Some(launch),
                    };
                    crate::workloads::assert_verifies(&gpu, &kernel, &launch.name());
                }
            }
        }
    }
}
