//! Inputs and output checks shared by the AI kernels: seeded random data
//! (never zeros) and the relative error against an f64 CPU reference.

use crate::{Error, Result};

/// `count` values drawn uniformly from `[-1, 1)` with a fixed seed, so that
/// a failing check reproduces.
pub fn random_f32(seed: u64, count: usize) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count).map(|_| rng.f32() * 2.0 - 1.0).collect()
}

/// ‖out − reference‖ / ‖reference‖ (Euclidean norms, in f64). Any
/// non-finite output makes it infinite: a NaN never passes.
pub fn relative_error(out: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(out.len(), reference.len(), "output and reference lengths");
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (&o, &r) in out.iter().zip(reference) {
        if !o.is_finite() {
            return f64::INFINITY;
        }
        diff += (f64::from(o) - r).powi(2);
        norm += r * r;
    }
    if norm == 0.0 {
        return if diff == 0.0 { 0.0 } else { f64::INFINITY };
    }
    (diff / norm).sqrt()
}

/// Fails the workload unless `out` matches `reference` within `bound`.
/// Outputs are poisoned with NaN before each checked run, so an element the
/// kernel did not write fails here too.
pub fn verify(workload: &str, out: &[f32], reference: &[f64], bound: f64) -> Result<f64> {
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        return Err(Error::VerificationFailed(format!(
            "{workload}: output element {i} is {} (not written, or NaN)",
            out[i]
        )));
    }
    let error = relative_error(out, reference);
    if error > bound {
        return Err(Error::VerificationFailed(format!(
            "{workload}: relative error {error:.3e} against the CPU reference exceeds {bound:.0e}"
        )));
    }
    Ok(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_inputs_are_seeded_and_not_zero() {
        let a = random_f32(7, 1000);
        assert_eq!(a, random_f32(7, 1000));
        assert_ne!(a, random_f32(8, 1000));
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        assert!(a.iter().filter(|v| **v == 0.0).count() < 2);
    }

    #[test]
    fn relative_error_and_nan() {
        assert_eq!(relative_error(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
        // Difference (0, 0.5) against a reference of norm 5.
        assert!((relative_error(&[3.0, 4.5], &[3.0, 4.0]) - 0.1).abs() < 1e-12);
        assert_eq!(relative_error(&[f32::NAN, 4.0], &[3.0, 4.0]), f64::INFINITY);
        assert!(verify("k", &[f32::NAN], &[1.0], 1.0).is_err());
        assert!(verify("k", &[1.1], &[1.0], 1e-4).is_err());
        assert!(verify("k", &[1.0], &[1.0], 1e-4).is_ok());
    }
}
