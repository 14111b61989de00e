//! `peak-mma-f16`: the adapter's tensor-core ceiling, f16 x f16 + f32
//! cooperative-matrix multiply-adds on operands held in registers, against
//! which every kernel that ran on cooperative matrices is reported (see
//! [`super::ceiling_of`]). Shaped as tensor-core peak kernels are: several
//! independent accumulators per subgroup hide the multiply-add's latency,
//! many subgroups fill every core, and the operands are loaded once.
//!
//! The chain: each accumulator j repeats `acc[j] <- A B + acc[j]` from its
//! start C0[j], so after N steps it holds C0[j] + N (A B), which the f64
//! reference computes directly. A, B and C0 are random in [-1, 1) (A and B
//! rounded to f16 as the kernel reads them), so every entry stays below
//! 1 + N T in magnitude: finite for any adapter. The bound: the products
//! of f16 values are exact in f32, and each step rounds the sum once, by
//! at most 2^-23 of the accumulator (a unit in the last place, even where
//! tensor cores truncate rather than round); N steps of at most
//! 1 + N T each add up to N x 2^-23 relative to the result at worst,
//! 6e-5 at N = 512. The bound, 5e-4, leaves eight times that (for tensor
//! cores that align the sum with fewer bits) and still fails a chain one
//! step short, 1/N = 2e-3 off.

use half::f16;
use serde_json::json;

use super::check::random_f32;
use super::timing::{OutputCheck, sample_checked};
use super::tuning;
use super::{Measurement, Unit, Workload};
use crate::gpu::{CoopShape, Gpu};
use crate::measure::{Observer, SamplePlan};
use crate::{Error, Result};

const SHADER: &str = include_str!("../../shaders/peak_mma_f16.wgsl");
/// Multiply-adds in each chain.
const ITERATIONS: u32 = 512;
/// See the module comment.
const BOUND: f64 = 5e-4;
/// Subgroups' output tiles checked, every entry of each, at large grids;
/// smaller grids are checked whole.
const CHECKED_TILES: u32 = 64;

/// One shape of the kernel: independent accumulators per subgroup, and
/// subgroups per workgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    accumulators: u32,
    warps: u32,
}

/// The variants measured; the fastest that passes its check is the
/// ceiling. More accumulators hide more latency until they spill.
const VARIANTS: [Variant; 6] = [
    Variant {
        accumulators: 8,
        warps: 4,
    },
    Variant {
        accumulators: 4,
        warps: 4,
    },
    Variant {
        accumulators: 2,
        warps: 4,
    },
    Variant {
        accumulators: 8,
        warps: 1,
    },
    Variant {
        accumulators: 4,
        warps: 1,
    },
    Variant {
        accumulators: 2,
        warps: 1,
    },
];

impl Variant {
    /// As results record it, e.g. `4 accumulators per subgroup, 4
    /// subgroups per workgroup, tiles 16x16x16`.
    fn name(&self, t: u32) -> String {
        let subgroups = match self.warps {
            1 => "1 subgroup".to_string(),
            n => format!("{n} subgroups"),
        };
        format!(
            "{} accumulators per subgroup, {subgroups} per workgroup, tiles {t}x{t}x{t}",
            self.accumulators
        )
    }

    /// Workgroup memory the shader declares: one f32 tile per accumulator
    /// per subgroup.
    fn workgroup_bytes(&self, t: u32) -> u32 {
        self.warps * self.accumulators * t * t * 4
    }

    fn fits(&self, gpu: &Gpu, coop: CoopShape) -> bool {
        let limits = &gpu.summary.limits;
        self.workgroup_bytes(coop.size) <= limits.max_compute_workgroup_storage_size
            && self.warps * gpu.summary.subgroup_sizes[1]
                <= limits.max_compute_invocations_per_workgroup
    }

    /// The shader: the layer's preamble, this variant's constants and its
    /// chains written out (plain variables, so that each accumulator can
    /// stay in registers).
    fn wgsl(&self, coop: CoopShape, subgroup: u32, subgroups: u32) -> String {
        let chains = 0..self.accumulators;
        let start: String = chains
            .clone()
            .map(|j| {
                format!(
                    "    let start{j} = {j}u * TILE;\n    \
                     var acc{j} = coopLoadT<CoopC>(&starts[start{j}], T);\n"
                )
            })
            .collect();
        let step: String = chains
            .clone()
            .map(|j| format!("        acc{j} = coopMultiplyAdd(a, b, acc{j});\n"))
            .collect();
        let store: String = chains
            .map(|j| {
                format!(
                    "    let at{j} = mine + {j}u * TILE;\n    \
                     coopStoreT(acc{j}, &tiles[at{j}], T);\n"
                )
            })
            .collect();
        let constants = format!(
            "const SUBGROUP: u32 = {subgroup}u;\n\
             const WARPS: u32 = {}u;\n\
             const SUBGROUPS: u32 = {subgroups}u;\n\
             const ACCUMULATORS: u32 = {}u;\n\
             const ITERATIONS: u32 = {ITERATIONS}u;\n",
            self.warps, self.accumulators
        );
        coop.preamble()
            + &constants
            + &SHADER
                .replace("{{START}}", start.trim_end())
                .replace("{{STEP}}", step.trim_end())
                .replace("{{STORE}}", store.trim_end())
    }
}

/// What every subgroup's output tile holds, in f64: the sum over the
/// accumulators of C0[j] + N (A B), all row-major `t` x `t` (see the module
/// comment).
fn reference(t: usize, a: &[f32], b: &[f32], starts: &[f32], accumulators: u32) -> Vec<f64> {
    let steps = f64::from(accumulators) * f64::from(ITERATIONS);
    (0..t * t)
        .map(|e| {
            let (row, col) = (e / t, e % t);
            let product: f64 = (0..t)
                .map(|k| f64::from(a[row * t + k]) * f64::from(b[k * t + col]))
                .sum();
            let start: f64 = (0..accumulators as usize)
                .map(|j| f64::from(starts[j * t * t + e]))
                .sum();
            start + steps * product
        })
        .collect()
}

/// The ceiling over `subgroups` subgroups (a multiple of 4, so that every
/// variant's workgroups are whole).
#[derive(Debug, Clone)]
pub struct PeakMma {
    subgroups: u32,
    /// None: every variant that fits. Tests pin each.
    only: Option<Variant>,
}

impl PeakMma {
    /// 65536 subgroups: at 16x16x16 about 1 ms a launch on an H200, in
    /// 15 or more waves, so the last, partly filled one costs little.
    pub fn full() -> PeakMma {
        PeakMma {
            subgroups: 1 << 16,
            only: None,
        }
    }

    /// `run --quick`: 1024 subgroups, seconds on lavapipe.
    pub fn quick() -> PeakMma {
        PeakMma {
            subgroups: 1 << 10,
            only: None,
        }
    }
}

impl Workload for PeakMma {
    fn name(&self) -> &'static str {
        "peak-mma-f16"
    }

    fn description(&self) -> &'static str {
        "tensor-core ceiling: chains of f16 cooperative-matrix multiply-adds in registers \
         (the roof of cooperative-matrix kernels)"
    }

    fn unit(&self) -> Unit {
        Unit::GflopPerSecond
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let name = self.name();
        let coop = match gpu.coop_shape() {
            Some(coop) if gpu.summary.shader_f16 => coop,
            _ => {
                return Err(Error::Unsupported(format!(
                    "{name} needs cooperative matrices with f16 x f16 + f32 tiles \
                     (8x8x8 or 16x16x16), which this adapter does not list"
                )));
            }
        };
        let t = coop.size as usize;
        let tile = t * t;
        let subgroup = gpu.summary.subgroup_sizes[1];
        let variants: Vec<Variant> = VARIANTS
            .into_iter()
            .filter(|v| self.only.is_none_or(|only| only == *v))
            .filter(|v| v.fits(gpu, coop))
            .collect();
        let most = variants.iter().map(|v| v.accumulators).max().unwrap_or(0);
        if variants.is_empty() {
            return Err(Error::Unsupported(format!(
                "{name}: no variant fits this adapter's workgroup limits"
            )));
        }
        let out_bytes = u64::from(self.subgroups) * tile as u64 * 4;
        gpu.check_fits(name, out_bytes)?;

        // The reference sees A and B as the kernel reads them: in f16.
        let operands: Vec<f16> = random_f32(40, 2 * tile)
            .iter()
            .map(|&x| f16::from_f32(x))
            .collect();
        let widened: Vec<f32> = operands.iter().map(|x| x.to_f32()).collect();
        let (a, b) = widened.split_at(tile);
        let starts = random_f32(41, most as usize * tile);
        let operands_buffer = gpu.upload("mma operands", &operands);
        let starts_buffer = gpu.upload("mma starts", &starts);
        let out = gpu.output("mma out", out_bytes);

        let mut kernels = Vec::new();
        for variant in &variants {
            let kernel = gpu.kernel(
                name,
                &variant.wgsl(coop, subgroup, self.subgroups),
                "main",
                &[],
                &[&operands_buffer, &starts_buffer, &out],
            )?;
            let workgroups = gpu.workgroup_grid(u64::from(self.subgroups / variant.warps));
            kernels.push((*variant, kernel, workgroups));
        }
        let flops = |v: &Variant| {
            f64::from(self.subgroups)
                * f64::from(ITERATIONS)
                * f64::from(v.accumulators)
                * 2.0
                * (t as f64).powi(3)
        };
        // Every subgroup computes the same tile: small grids are checked
        // whole, large ones at CHECKED_TILES subgroups spread across it.
        let checked: Vec<usize> = (0..self.subgroups)
            .step_by(self.subgroups.div_ceil(CHECKED_TILES) as usize)
            .map(|s| s as usize)
            .collect();
        let ranges: Vec<_> = checked.iter().map(|&s| s * tile..(s + 1) * tile).collect();
        let references: Vec<Vec<f64>> = variants
            .iter()
            .map(|v| {
                let one = reference(t, a, b, &starts, v.accumulators);
                one.repeat(checked.len())
            })
            .collect();
        let check_of = |index: usize| OutputCheck {
            workload: name,
            output: &out,
            ranges: ranges.clone(),
            expected: &references[index],
            bound: BOUND,
        };

        let probes: Vec<_> = kernels
            .iter()
            .map(|(v, kernel, workgroups)| (kernel.dispatch(*workgroups), flops(v)))
            .collect();
        let verified =
            tuning::choose_ceiling(gpu, plan, &probes, |i| check_of(i).run(gpu, &probes[i].0))?;
        let chosen = verified.index;
        let variant = variants[chosen];
        let check = check_of(chosen);
        let (samples, error) = sample_checked(
            gpu,
            probes[chosen].0.clone(),
            flops(&variant),
            plan,
            observer,
            &check,
        )?;
        let size = coop.size;
        let mut params = serde_json::Map::new();
        params.insert("subgroups".into(), json!(self.subgroups));
        params.insert("iterations".into(), json!(ITERATIONS));
        params.insert("accumulators".into(), json!(variant.accumulators));
        params.insert("subgroups_per_workgroup".into(), json!(variant.warps));
        params.insert("coop_shape".into(), json!(coop.name()));
        let names: Vec<String> = variants.iter().map(|v| v.name(size)).collect();
        verified.record(&mut params, &names, self.unit());
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "the fastest verified of {} variants ({}), {} subgroups' output tiles against \
                 an f64 CPU reference before and after timing: relative error {error:.1e} \
                 (bound {BOUND:.0e})",
                variants.len(),
                variant.name(size),
                checked.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Unobserved;

    /// The reference is the chain's closed form: stepping C <- A B + C in
    /// f64 lands on it, for tiles of both sizes.
    #[test]
    fn the_reference_is_the_chain_stepped() {
        for t in [8usize, 16] {
            let a = random_f32(1, t * t);
            let b = random_f32(2, t * t);
            let starts = random_f32(3, 2 * t * t);
            let closed = reference(t, &a, &b, &starts, 2);
            let mut sum = vec![0.0f64; t * t];
            for j in 0..2 {
                let mut acc: Vec<f64> = starts[j * t * t..(j + 1) * t * t]
                    .iter()
                    .map(|&x| f64::from(x))
                    .collect();
                for _ in 0..ITERATIONS {
                    let next: Vec<f64> = (0..t * t)
                        .map(|e| {
                            let (r, c) = (e / t, e % t);
                            let p: f64 = (0..t)
                                .map(|k| f64::from(a[r * t + k]) * f64::from(b[k * t + c]))
                                .sum();
                            p + acc[e]
                        })
                        .collect();
                    acc = next;
                }
                sum.iter_mut().zip(&acc).for_each(|(s, x)| *s += x);
            }
            let error = crate::workloads::check::relative_error(
                &sum.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                &closed,
            );
            assert!(error < 1e-7, "t = {t}: {error:e}");
            // Values stay far inside f32: below 2 (1 + N T).
            let largest = closed.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(largest < 2.0 * (1.0 + f64::from(ITERATIONS) * t as f64));
            assert!(largest > 1.0, "the products count");
        }
    }

    /// The chain in f32, rounding every step as an accumulator does,
    /// stays inside the bound against the f64 reference.
    #[test]
    fn f32_chains_stay_inside_the_bound() {
        let t = 16;
        let a: Vec<f32> = random_f32(4, t * t)
            .iter()
            .map(|&x| f16::from_f32(x).to_f32())
            .collect();
        let b: Vec<f32> = random_f32(5, t * t)
            .iter()
            .map(|&x| f16::from_f32(x).to_f32())
            .collect();
        let starts = random_f32(6, t * t);
        let product: Vec<f32> = (0..t * t)
            .map(|e| {
                let (r, c) = (e / t, e % t);
                (0..t).map(|k| a[r * t + k] * b[k * t + c]).sum()
            })
            .collect();
        let mut acc = starts.clone();
        for _ in 0..ITERATIONS {
            acc.iter_mut().zip(&product).for_each(|(x, p)| *x += p);
        }
        let error =
            crate::workloads::check::relative_error(&acc, &reference(t, &a, &b, &starts, 1));
        assert!(error < BOUND / 10.0, "{error:e}");
        // A chain one step short fails.
        let short: Vec<f32> = acc.iter().zip(&product).map(|(x, p)| x - p).collect();
        let error =
            crate::workloads::check::relative_error(&short, &reference(t, &a, &b, &starts, 1));
        assert!(error > 2.0 * BOUND, "{error:e}");
    }

    /// Every variant goes all the way to SPIR-V at both tile sizes: CI's
    /// default driver has no cooperative matrices to compile it.
    #[test]
    fn peak_mma_shaders_translate_to_spirv() {
        for size in [8, 16] {
            for variant in VARIANTS {
                let wgsl = variant.wgsl(CoopShape { size }, 32, 1 << 16);
                crate::gpu::coop::assert_translates_to_spirv(&wgsl, &variant.name(size));
            }
        }
    }

    /// Where the adapter has cooperative matrices (Mesa 26's lavapipe,
    /// .ci/coop-matrix.sh; a GPU), each variant, pinned, runs and passes
    /// its check, every entry of every subgroup's tile checked, and so
    /// does the run's own choice among them; without them the workload is
    /// unsupported, saying why.
    #[test]
    fn peak_mma_coop_verifies_where_offered() {
        let gpu = crate::gpu::default_for_tests();
        let peak = PeakMma {
            subgroups: 12,
            only: None,
        };
        match crate::gpu::coop::shape_for_tests(&gpu) {
            Some(coop) => {
                for variant in VARIANTS.into_iter().filter(|v| v.fits(&gpu, coop)) {
                    let pinned = PeakMma {
                        only: Some(variant),
                        ..peak.clone()
                    };
                    crate::workloads::assert_verifies(&gpu, &pinned, &variant.name(coop.size));
                }
                crate::workloads::assert_verifies(&gpu, &peak, "the fastest verified variant");
            }
            None => {
                let outcome = peak.run(&gpu, &SamplePlan::single(), &mut Unobserved);
                match outcome {
                    Err(Error::Unsupported(why)) => assert!(why.contains("cooperative"), "{why}"),
                    other => panic!("expected unsupported, got {:?}", other.map(|m| m.check)),
                }
            }
        }
    }
}
