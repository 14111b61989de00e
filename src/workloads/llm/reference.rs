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

/// Runs `layer` on `xs` (tokens at positions `start`, `start` + 1, ...)
/// after a cache holding `cached_k` and `cached_v` (`start` x 8 x 128);
/// `rope[t]` holds token t's (cos, sin) per pair of dimensions. Returns
/// each token's output (the residual stream after the layer).
pub fn layer(
    layer: &Layer,
    xs: &[Vec<f64>],
    cached_k: &[f32],
    cached_v: &[f32],
    rope: &[[f32; 2]],
    rounded: bool,
) -> Vec<Vec<f64>> {
    let heads = layer.heads;
    let tokens = xs.len();
    let normed: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| rmsnorm(x, &layer.attention_norm))
        .collect();
    let mut q = project(&layer.wq, &normed, rounded);
    let mut k = project(&layer.wk, &normed, rounded);
    let v = project(&layer.wv, &normed, rounded);
    let rotate = |x: &mut [f64], t: usize| {
        for (p, pair) in x.chunks_mut(2).enumerate() {
            let [c, s] = rope[t * (DIM / 2) + p % (DIM / 2)].map(f64::from);
            let (a, b) = (pair[0], pair[1]);
            pair[0] = a * c - b * s;
            pair[1] = a * s + b * c;
        }
    };
    for t in 0..tokens {
        rotate(&mut q[t], t);
        rotate(&mut k[t], t);
    }
    // The cache: what was there, then this pass's keys and values in f16.
    let mut keys = cached_k.to_vec();
    let mut values = cached_v.to_vec();
    for t in 0..tokens {
        keys.extend(k[t].iter().map(|&x| to_f16(x)));
        values.extend(v[t].iter().map(|&x| to_f16(x)));
    }
    let start = cached_k.len() / (KV_HEADS * DIM);
    let q32: Vec<f32> = q.iter().flatten().map(|&x| x as f32).collect();
    let rows: Vec<(usize, usize)> = (0..tokens)
        .flat_map(|t| (0..heads).map(move |h| (t, h)))
        .collect();
    let attended = attention::reference(&q32, &keys, &values, heads, start, &rows);
    let attended: Vec<Vec<f64>> = attended.chunks(heads * DIM).map(<[f64]>::to_vec).collect();
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
