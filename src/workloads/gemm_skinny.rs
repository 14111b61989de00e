//! `gemm-skinny`: the matrix products of batched decode. A server decoding
//! M sequences multiplies M rows of activations by each weight matrix, so
//! every weight read serves M tokens: on a memory-bound GPU the product
//! costs about one GEMV up to a batch of tens, which is why servers batch.
//! The figure is GB/s of weights (read once per product, as a GEMV's);
//! GFLOP/s beside it grows with M. Weights in f16, Q8_0 and Q4_0, as the
//! GEMV and the LLM layers use them.

use serde_json::json;

use super::check::random_f32;
use super::gemv::{self, Format, Launch};
use super::timing::{OutputCheck, sample_checked};
use super::{AlsoReported, Measurement, Unit, Workload};
use crate::gpu::{Gpu, Kernel};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const SKINNY: &str = include_str!("../../shaders/gemm_skinny.wgsl");
/// Tokens each invocation takes per weight read (TILE in the shader).
const TILE: u32 = 8;

/// The kernel computing `y = x W^T` for `tokens` rows of `x` against a
/// `rows` x `cols` matrix in `format` (`weights`: its buffers as
/// [`Format`] lays them out), and its workgroup grid. One token is the
/// GEMV (tuned for it); the LLM layers call this for every batch.
pub fn skinny_kernel(
    gpu: &Gpu,
    format: Format,
    [tokens, rows, cols]: [u32; 3],
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    if tokens == 1 {
        return gemv::gemv_kernel(gpu, format, [rows, cols], x, y, weights);
    }
    launch_kernel(
        gpu,
        format,
        [tokens, rows, cols],
        Launch::best_for(gpu, cols),
        [x, y],
        weights,
    )
}

fn launch_kernel(
    gpu: &Gpu,
    format: Format,
    [tokens, rows, cols]: [u32; 3],
    launch: Launch,
    [x, y]: [&wgpu::Buffer; 2],
    weights: &[wgpu::Buffer],
) -> Result<(Kernel, [u32; 3])> {
    if format == Format::F32 || !cols.is_multiple_of(32) {
        return Err(Error::Unsupported(format!(
            "gemm-skinny takes f16, q8 or q4 weights with whole blocks of 32 columns, \
             not {format:?} with {cols}"
        )));
    }
    let tiles = tokens.div_ceil(TILE);
    let shape = gpu.upload("skinny shape", &[rows, cols, tokens, tiles]);
    let mut bindings = vec![&shape, x, y];
    bindings.extend(weights.iter());
    let workgroup_size = 64;
    // The format's file after this shader's declarations; its
    // row_partial is compiled but not called.
    let wgsl = [SKINNY, format.body()].concat();
    // Sharing x needs whole blocks of 32 (checked above) and 8-wide
    // subgroups (Launch::best_for).
    let entry = if launch.shares_x {
        "main_broadcast"
    } else {
        "main"
    };
    let kernel = gpu.kernel(
        "gemm-skinny",
        &wgsl,
        entry,
        &[
            ("WORKGROUP_SIZE", f64::from(workgroup_size)),
            ("THREADS_PER_ROW", f64::from(launch.threads_per_row)),
        ],
        &bindings,
    )?;
    let row_groups = rows.div_ceil(workgroup_size / launch.threads_per_row);
    let workgroups = gpu.workgroup_grid(u64::from(row_groups) * u64::from(tiles));
    Ok((kernel, workgroups))
}

/// As the GEMV's: only the order of f32 additions differs.
const BOUND: f64 = 1e-4;

/// One skinny GEMM: `tokens` rows against a `rows` x `cols` matrix.
#[derive(Debug, Clone)]
pub struct GemmSkinny {
    pub format: Format,
    pub tokens: u32,
    pub rows: u32,
    pub cols: u32,
    /// None: [`Launch::best_for`] the adapter. Tests pin each launch.
    pub launch: Option<Launch>,
}

impl GemmSkinny {
    /// Llama 3 8B's down projection (4096 x 14336, the largest of a layer)
    /// at the batches a server runs, in f16 and Q4_0.
    pub fn at_llm_shapes() -> Vec<GemmSkinny> {
        Self::at(&[1, 16, 64, 256], 4096, 14336)
    }

    /// `run --quick`: 1024 x 1024 at batches 1 and 16.
    pub fn quick() -> Vec<GemmSkinny> {
        Self::at(&[1, 16], 1024, 1024)
    }

    fn at(batches: &[u32], rows: u32, cols: u32) -> Vec<GemmSkinny> {
        [Format::F16, Format::Q4]
            .into_iter()
            .flat_map(|format| {
                batches.iter().map(move |&tokens| GemmSkinny {
                    format,
                    tokens,
                    rows,
                    cols,
                    launch: None,
                })
            })
            .collect()
    }
}

impl Workload for GemmSkinny {
    fn name(&self) -> &'static str {
        "gemm-skinny"
    }

    fn description(&self) -> &'static str {
        "a decode batch's matrix product: M tokens against one weight read (GB/s of weights)"
    }

    fn unit(&self) -> Unit {
        Unit::GigabytesPerSecond
    }

    fn shape(&self) -> Option<String> {
        Some(format!(
            "{}x{}x{} {}",
            self.tokens,
            self.rows,
            self.cols,
            self.format.weights_name()
        ))
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let (tokens, rows, cols) = (self.tokens as usize, self.rows as usize, self.cols as usize);
        let weight_bytes = (rows * cols) as f64 * self.format.bytes_per_weight();
        gpu.check_fits(
            &format!("gemm-skinny at {}", self.shape().unwrap_or_default()),
            self.format.largest_buffer(rows * cols) as u64,
        )?;
        let values = random_f32(20 + rows as u64, rows * cols);
        let x = random_f32(21, tokens * cols);
        let weights = gemv::encode(self.format, &values);
        drop(values);
        let x_buffer = gpu.upload("skinny x", &x);
        let y = gpu.output("skinny y", (tokens * rows * 4) as u64);
        let weight_buffers: Vec<wgpu::Buffer> = weights
            .buffers
            .iter()
            .map(|data| gpu.upload("skinny weights", data))
            .collect();
        let launch = self
            .launch
            .unwrap_or_else(|| Launch::best_for(gpu, self.cols));
        let (kernel, workgroups) = if tokens == 1 && self.launch.is_none() {
            skinny_kernel(
                gpu,
                self.format,
                [1, self.rows, self.cols],
                &x_buffer,
                &y,
                &weight_buffers,
            )?
        } else {
            launch_kernel(
                gpu,
                self.format,
                [self.tokens, self.rows, self.cols],
                launch,
                [&x_buffer, &y],
                &weight_buffers,
            )?
        };
        // The first, a middle and the last token, each against a spread of
        // up to 512 rows (every row of small matrices).
        let checked_tokens: Vec<usize> = {
            let mut t = vec![0, tokens / 2, tokens - 1];
            t.dedup();
            t
        };
        let rows_checked: Vec<usize> = (0..rows).step_by(rows.div_ceil(512)).collect();
        let pairs: Vec<(usize, usize)> = checked_tokens
            .iter()
            .flat_map(|&t| rows_checked.iter().map(move |&r| (t, r)))
            .collect();
        let expected: Vec<f64> = pairs
            .iter()
            .map(|&(t, r)| gemv::reference_dot(&weights.decoded, r, &x[t * cols..(t + 1) * cols]))
            .collect();
        let check = OutputCheck {
            workload: self.name(),
            output: &y,
            ranges: pairs
                .iter()
                .map(|&(t, r)| t * rows + r..t * rows + r + 1)
                .collect(),
            expected: &expected,
            bound: BOUND,
        };
        let (samples, error) = sample_checked(
            gpu,
            kernel.dispatch(workgroups),
            weight_bytes,
            plan,
            observer,
            &check,
        )?;
        let mut params = serde_json::Map::new();
        params.insert("m".into(), json!(self.tokens));
        params.insert("n".into(), json!(self.rows));
        params.insert("k".into(), json!(self.cols));
        params.insert("weights".into(), json!(self.format.weights_name()));
        params.insert("threads_per_row".into(), json!(launch.threads_per_row));
        params.insert("x_shared_by_subgroup".into(), json!(launch.shares_x));
        params.insert(
            "tokens_per_weight_read".into(),
            json!(TILE.min(self.tokens)),
        );
        Ok(Measurement {
            params,
            samples,
            // 2 flops per weight per token.
            also: vec![AlsoReported {
                unit: "GFLOP/s",
                factor: 2.0 * tokens as f64 / self.format.bytes_per_weight(),
                inverse: false,
            }],
            check: format!(
                "{} (token, row) outputs of {} tokens x {rows} rows against an f64 CPU \
                 reference of the decoded weights, before and after timing: relative error \
                 {error:.1e} (bound {BOUND:.0e})",
                pairs.len(),
                checked_tokens.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of 1, 3 (one partial tile), 8 (one whole tile) and 19
    /// (three tiles, the last partial), with rows that leave the last
    /// workgroup partly empty, in every launch and format.
    #[test]
    fn small_batches_match_the_reference_in_every_format() {
        let gpu = crate::gpu::default_for_tests();
        let launches = Launch::every_one_on(&gpu);
        for format in [Format::F16, Format::Q8, Format::Q4] {
            for tokens in [1, 3, 8, 19] {
                for &launch in &launches {
                    let skinny = GemmSkinny {
                        format,
                        tokens,
                        rows: 70,
                        cols: 96,
                        launch: Some(launch),
                    };
                    crate::workloads::assert_verifies(&gpu, &skinny, &format!("{launch:?}"));
                }
            }
        }
    }

    #[test]
    fn f32_weights_and_partial_blocks_are_unsupported() {
        let gpu = crate::gpu::default_for_tests();
        for (format, cols) in [(Format::F32, 64), (Format::F16, 48)] {
            let skinny = GemmSkinny {
                format,
                tokens: 4,
                rows: 8,
                cols,
                launch: None,
            };
            let error = skinny
                .run(&gpu, &SamplePlan::single(), &mut crate::measure::Unobserved)
                .unwrap_err();
            assert!(matches!(error, Error::Unsupported(_)), "{error}");
        }
    }
}
