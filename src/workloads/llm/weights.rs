//! Seeded random weights, written on the GPU (a model's worth would take
//! minutes to generate and upload from the host) and recomputed on the CPU
//! for the reference: every word is a hash of its index and a seed, the
//! same integer arithmetic on both sides (`fill` in shaders/llm_ops.wgsl).

use half::f16;

use crate::Result;
use crate::gpu::{Gpu, Kernel};
use crate::workloads::gemv::Format;

pub const OPS: &str = include_str!("../../../shaders/llm_ops.wgsl");

/// lowbias32, a well-mixed 32-bit integer hash (Chris Wellons).
fn hash(x: u32) -> u32 {
    let mut h = x;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^= h >> 16;
    h
}

/// What a random stream's words hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Raw bits: int8 or 4-bit quants.
    Bits,
    /// Two f16 per word, either sign, magnitudes in [2^(e-15), 2^(e-14)).
    Halves { exponent: u32 },
    /// The same, positive only: quantisation scales.
    PositiveHalves { exponent: u32 },
}

impl Stream {
    fn mode(self) -> (u32, u32) {
        match self {
            Stream::Bits => (0, 0),
            Stream::Halves { exponent } => (1, exponent),
            Stream::PositiveHalves { exponent } => (2, exponent),
        }
    }

    /// Word `i` of the stream with `seed`.
    pub fn word(self, seed: u32, i: u32) -> u32 {
        let h = hash(i ^ hash(seed));
        match self {
            Stream::Bits => h,
            Stream::Halves { exponent } => (h & 0x83ff_83ff) | exponent << 10 | exponent << 26,
            Stream::PositiveHalves { exponent } => {
                (h & 0x03ff_03ff) | exponent << 10 | exponent << 26
            }
        }
    }

    /// Element `i` of a stream of halves.
    pub fn half(self, seed: u32, i: usize) -> f32 {
        let word = self.word(seed, (i / 2) as u32);
        f16::from_bits((word >> (16 * (i % 2))) as u16).to_f32()
    }

    /// A buffer of `words` words of the stream, written on the GPU.
    pub fn upload(self, gpu: &Gpu, label: &str, seed: u32, words: usize) -> Result<wgpu::Buffer> {
        let buffer = gpu.output(label, (words.max(1) * 4) as u64);
        let (mode, exponent) = self.mode();
        let params = gpu.upload("fill params", &[words as u32, seed, mode, exponent]);
        let fill = gpu.kernel_at("fill", OPS, "fill", &[], &[(0, &params), (1, &buffer)])?;
        let grid = gpu.workgroup_grid(words.div_ceil(64) as u64);
        gpu.run_timed(&fill.dispatch(grid), &[])?;
        Ok(buffer)
    }
}

/// The f16 exponent field whose magnitudes come nearest `value`.
fn exponent_for(value: f64) -> u32 {
    (15.0 + value.log2().round()).clamp(1.0, 30.0) as u32
}

/// How a matrix is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `rows` (outputs) of `cols` (inputs), as the GEMV kernels read it.
    Rows,
    /// Transposed, inputs by outputs: the K x N operand of a GEMM (f16).
    Columns,
}

/// Weights of one matrix, read on the CPU (see [`Matrix::reader`]).
pub struct Reader {
    matrix: Matrix,
    values: Stream,
    scales: Stream,
    rounded: bool,
}

impl Reader {
    /// Weight (`row`, `col`).
    pub fn value(&self, row: usize, col: usize) -> f32 {
        let m = &self.matrix;
        let at = match m.layout {
            Layout::Rows => row * m.cols + col,
            Layout::Columns => col * m.rows + row,
        };
        let value = match m.format {
            Format::F32 => unreachable!("LLM weights are f16, q8 or q4"),
            Format::F16 => return self.values.half(m.seed, at),
            Format::Q8 => {
                let word = self.values.word(m.seed, (at / 4) as u32);
                f32::from((word >> (8 * (at % 4))) as u8 as i8)
            }
            Format::Q4 => {
                let (block, j) = (at / 32, at % 32);
                let byte_at = block * 16 + j % 16;
                let word = self.values.word(m.seed, (byte_at / 4) as u32);
                let byte = (word >> (8 * (byte_at % 4))) & 255;
                let nibble = if j < 16 { byte & 15 } else { byte >> 4 };
                nibble as f32 - 8.0
            }
        };
        let scaled = self.scales.half(m.seed ^ SCALE_SEED, at / 32) * value;
        if self.rounded {
            f16::from_f32(scaled).to_f32()
        } else {
            scaled
        }
    }
}

/// Scales' stream seed is the matrix's, mixed with this.
const SCALE_SEED: u32 = 0x5bd1_e995;

/// One weight matrix of `rows` outputs by `cols` inputs.
#[derive(Debug, Clone, Copy)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub format: Format,
    pub layout: Layout,
    pub seed: u32,
}

impl Matrix {
    /// Weights scaled so that an output has about the variance of the
    /// inputs (as trained models keep it), whatever the width.
    fn streams(&self) -> (Stream, Stream) {
        let fan_in = (self.cols as f64).sqrt();
        match self.format {
            Format::F32 | Format::F16 => (
                Stream::Halves {
                    exponent: exponent_for(1.0 / fan_in),
                },
                Stream::Bits,
            ),
            // int8 quants spread about 74 wide, 4-bit ones about 4.6.
            Format::Q8 => (
                Stream::Bits,
                Stream::PositiveHalves {
                    exponent: exponent_for(1.0 / (74.0 * fan_in)),
                },
            ),
            Format::Q4 => (
                Stream::Bits,
                Stream::PositiveHalves {
                    exponent: exponent_for(1.0 / (4.6 * fan_in)),
                },
            ),
        }
    }

    /// Bytes of the largest buffer (the weights or quants).
    pub fn largest_buffer(&self) -> u64 {
        let n = (self.rows * self.cols) as u64;
        match self.format {
            Format::F32 => n * 4,
            Format::F16 => n * 2,
            Format::Q8 => n,
            Format::Q4 => n / 2,
        }
    }

    /// Bytes read by one pass over the matrix (weights and scales).
    pub fn bytes(&self) -> f64 {
        let n = (self.rows * self.cols) as f64;
        match self.format {
            Format::F32 => n * 4.0,
            Format::F16 => n * 2.0,
            Format::Q8 => n * 34.0 / 32.0,
            Format::Q4 => n * 18.0 / 32.0,
        }
    }

    /// The matrix's buffers, as [`crate::workloads::gemv::gemv_kernel`]
    /// binds them: the weights (f16 pairs, or quants), then any scales.
    pub fn upload(&self, gpu: &Gpu) -> Result<Vec<wgpu::Buffer>> {
        let n = self.rows * self.cols;
        let (values, scales) = self.streams();
        Ok(match self.format {
            Format::F32 => unreachable!("LLM weights are f16, q8 or q4"),
            Format::F16 => vec![values.upload(gpu, "weights", self.seed, n / 2)?],
            Format::Q8 | Format::Q4 => {
                let per_word = if self.format == Format::Q8 { 4 } else { 8 };
                vec![
                    values.upload(gpu, "quants", self.seed, n / per_word)?,
                    scales.upload(gpu, "scales", self.seed ^ SCALE_SEED, (n / 32).div_ceil(2))?,
                ]
            }
        })
    }

    /// Reads weights as the kernels do; `rounded` rounds them to f16 as
    /// prefill's dequantisation stores them. The streams are worked out
    /// once here, not once a weight (the CPU layer reads millions).
    pub fn reader(&self, rounded: bool) -> Reader {
        let (values, scales) = self.streams();
        Reader {
            matrix: *self,
            values,
            scales,
            rounded,
        }
    }

    /// A kernel writing this quantised matrix transposed as f16 into
    /// `out` (cols x rows), for a GEMM; `buffers` from [`Matrix::upload`].
    pub fn dequantize_kernel(
        &self,
        gpu: &Gpu,
        buffers: &[wgpu::Buffer],
        out: &wgpu::Buffer,
    ) -> Result<(Kernel, [u32; 3])> {
        let bits = if self.format == Format::Q8 { 8 } else { 4 };
        let params = gpu.upload("dequantize", &[0, bits, self.rows as u32, self.cols as u32]);
        let bindings = [(0, &params), (1, out), (9, &buffers[0]), (10, &buffers[1])];
        let kernel = gpu.kernel_at("dequantize", OPS, "dequant_t", &[], &bindings)?;
        let grid = gpu.workgroup_grid((self.rows * self.cols / 2).div_ceil(64) as u64);
        Ok((kernel, grid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_have_the_asked_magnitude_and_both_signs() {
        let stream = Stream::Halves { exponent: 9 };
        let values: Vec<f32> = (0..1000).map(|i| stream.half(7, i)).collect();
        assert!(
            values
                .iter()
                .all(|v| (1.0 / 64.0..1.0 / 32.0).contains(&v.abs()))
        );
        assert!(values.iter().any(|v| *v < 0.0) && values.iter().any(|v| *v > 0.0));
        let positive = Stream::PositiveHalves { exponent: 9 };
        assert!((0..1000).all(|i| positive.half(7, i) > 0.0));
    }

    /// The GPU's stream is the CPU's, word for word.
    #[test]
    fn gpu_and_cpu_write_the_same_words() {
        let gpu = crate::gpu::default_for_tests();
        for stream in [Stream::Bits, Stream::Halves { exponent: 9 }] {
            let buffer = stream.upload(&gpu, "test", 42, 1000).unwrap();
            let words: Vec<u32> = bytemuck::pod_collect_to_vec(&gpu.download(&buffer).unwrap());
            for (i, &word) in words.iter().enumerate() {
                assert_eq!(word, stream.word(42, i as u32), "word {i}");
            }
        }
    }
}

#[cfg(test)]
mod dequantize_tests {
    use super::*;

    #[test]
    fn dequantized_transpose_matches_the_cpu() {
        let gpu = crate::gpu::default_for_tests();
        for format in [Format::Q8, Format::Q4] {
            let matrix = Matrix {
                rows: 64,
                cols: 96,
                format,
                layout: Layout::Rows,
                seed: 5,
            };
            let buffers = matrix.upload(&gpu).unwrap();
            let out = gpu.output("out", (64 * 96 * 2) as u64);
            let (kernel, grid) = matrix.dequantize_kernel(&gpu, &buffers, &out).unwrap();
            gpu.run_timed(&kernel.dispatch(grid), &[]).unwrap();
            let halves: Vec<half::f16> = bytemuck::pod_collect_to_vec(&gpu.download(&out).unwrap());
            let reader = matrix.reader(true);
            for col in 0..96 {
                for row in 0..64 {
                    let got = halves[col * 64 + row].to_f32();
                    let want = reader.value(row, col);
                    assert_eq!(got, want, "{format:?} row {row} col {col}");
                }
            }
        }
    }
}
