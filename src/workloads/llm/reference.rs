//! The CPU decoder layer, in f64, that the GPU's layer is checked against:
//! the same weights (recomputed from their seeds), the same rotary table,
//! keys and values rounded to f16 as the cache stores them.

use half::f16;

use super::Layer;
use crate::workloads::attention;

const EPSILON: f64 = 1e-5;
const DIM: usize = 128;
const KV_HEADS: usize = 8;

fn rmsnorm(x: &[f64], weight: &[f32]) -> Vec<f64> {
    let mean_square = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let scale = 1.0 / (mean_square + EPSILON).sqrt();
    x.iter()
        .zip(weight)
        .map(|(v, &w)| v * scale * f64::from(w))
        .collect()
}

/// `W x` for each of `xs`, reading every weight once.
fn project(matrix: &super::weights::Matrix, xs: &[Vec<f64>], rounded: bool) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; matrix.rows]; xs.len()];
    let weights = matrix.reader(rounded);
    for row in 0..matrix.rows {
        for col in 0..matrix.cols {
            let w = f64::from(weights.value(row, col));
            for (o, x) in out.iter_mut().zip(xs) {
                o[row] += w * x[col];
            }
        }
    }
    out
}

fn to_f16(v: f64) -> f32 {
    f16::from_f64(v).to_f32()
}

/// One sequence's tokens through the layer: their inputs (consecutive
/// positions), what its cache held before them (rows of 8 x 128), and each
/// token's rotary (cos, sin) per pair of dimensions.
pub struct Sequence {
    pub xs: Vec<Vec<f64>>,
    pub cached_k: Vec<f32>,
    pub cached_v: Vec<f32>,
    pub rope: Vec<[f32; 2]>,
}

/// Runs `layer` on every token of `sequences` (the projections over all of
/// them at once, attention per sequence against its own cache). Returns
/// each token's output (the residual stream after the layer), sequences in
/// order.
pub fn layer(layer: &Layer, sequences: &[Sequence], rounded: bool) -> Vec<Vec<f64>> {
    let heads = layer.heads;
    let xs: Vec<Vec<f64>> = sequences
        .iter()
        .flat_map(|s| s.xs.iter().cloned())
        .collect();
    let normed: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| rmsnorm(x, &layer.attention_norm))
        .collect();
    let mut q = project(&layer.wq, &normed, rounded);
    let mut k = project(&layer.wk, &normed, rounded);
    let v = project(&layer.wv, &normed, rounded);
    let rotate = |x: &mut [f64], rope: &[[f32; 2]], t: usize| {
        for (p, pair) in x.chunks_mut(2).enumerate() {
            let [c, s] = rope[t * (DIM / 2) + p % (DIM / 2)].map(f64::from);
            let (a, b) = (pair[0], pair[1]);
            pair[0] = a * c - b * s;
            pair[1] = a * s + b * c;
        }
    };
    let mut attended = Vec::with_capacity(xs.len());
    let mut first = 0;
    for sequence in sequences {
        let tokens = first..first + sequence.xs.len();
        for (t, token) in tokens.clone().enumerate() {
            rotate(&mut q[token], &sequence.rope, t);
            rotate(&mut k[token], &sequence.rope, t);
        }
        // The cache: what was there, then this pass's keys and values in f16.
        let mut keys = sequence.cached_k.clone();
        let mut values = sequence.cached_v.clone();
        for token in tokens.clone() {
            keys.extend(k[token].iter().map(|&x| to_f16(x)));
            values.extend(v[token].iter().map(|&x| to_f16(x)));
        }
        let start = sequence.cached_k.len() / (KV_HEADS * DIM);
        let q32: Vec<f32> = q[tokens.clone()]
            .iter()
            .flatten()
            .map(|&x| x as f32)
            .collect();
        let rows: Vec<(usize, usize)> = (0..tokens.len())
            .flat_map(|t| (0..heads).map(move |h| (t, h)))
            .collect();
        let out = attention::reference(&q32, &keys, &values, heads, start, &rows);
        attended.extend(out.chunks(heads * DIM).map(<[f64]>::to_vec));
        first = tokens.end;
    }
    let o = project(&layer.wo, &attended, rounded);
    let mid: Vec<Vec<f64>> = xs
        .iter()
        .zip(&o)
        .map(|(x, o)| x.iter().zip(o).map(|(a, b)| a + b).collect())
        .collect();
    let normed: Vec<Vec<f64>> = mid.iter().map(|x| rmsnorm(x, &layer.ffn_norm)).collect();
    let gate = project(&layer.wg, &normed, rounded);
    let up = project(&layer.wu, &normed, rounded);
    let hidden: Vec<Vec<f64>> = gate
        .iter()
        .zip(&up)
        .map(|(g, u)| {
            g.iter()
                .zip(u)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect()
        })
        .collect();
    let down = project(&layer.wd, &hidden, rounded);
    mid.iter()
        .zip(&down)
        .map(|(x, d)| x.iter().zip(d).map(|(a, b)| a + b).collect())
        .collect()
}

/// `rmsnorm` for the final norm's check.
pub fn final_norm(x: &[f64], weight: &[f32]) -> Vec<f64> {
    rmsnorm(x, weight)
}
