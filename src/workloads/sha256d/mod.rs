//! `sha256d`: bitcoin's double SHA-256 nonce search, as miners compute it.
//!
//! Each run first proves the kernel on real blocks (it must find their
//! nonces in a window of candidates), then measures the hash rate on a real
//! header at its real target, re-hashing every hit on the CPU.

pub mod header;
pub mod search;

use serde_json::json;

pub use header::{BLOCK_100000, BLOCK_125552, BlockHash, BlockHeader, GENESIS, KnownBlock, Target};
pub use search::{Hit, NonceSearch, Scan, Tuning};

use super::{Measurement, Unit, Workload, tuning};
use crate::gpu::Gpu;
use crate::measure::{Observer, Sample, SamplePlan, sample_loop_checked};
use crate::{Error, Result};

/// Nonces scanned around each known block's nonce before measuring.
const CHECK_WINDOW: u64 = 1 << 20;

/// Nonces per launch of a tuning probe, which repeats it as more nonces in
/// one dispatch: a whole number of workgroups of every candidate (at most
/// 256 invocations of 512 nonces), so that none is timed on a partial one.
const PROBE_NONCES: u32 = 1 << 17;

/// The `sha256d` workload.
#[derive(Debug, Clone, Default)]
pub struct Sha256d {
    /// None: probe [`Tuning::candidates`] and keep the fastest that finds
    /// a real block. Tests pin one.
    pub tuning: Option<Tuning>,
}

impl Workload for Sha256d {
    fn name(&self) -> &'static str {
        "sha256d"
    }

    fn description(&self) -> &'static str {
        "bitcoin block-header nonce search (double SHA-256), checked on real blocks"
    }

    fn unit(&self) -> Unit {
        Unit::HashesPerSecond
    }

    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        observer: &mut dyn Observer,
    ) -> Result<Measurement> {
        let candidates = match self.tuning {
            Some(tuning) => vec![tuning],
            None => Tuning::candidates(gpu),
        };
        // Measure on block 100000's header at its real target: the work per
        // nonce is the same for any header, and any hit is re-checked.
        let block = BLOCK_100000;
        let header = block.header();
        let target = Target::from_bits(header.bits()).map_err(Error::VerificationFailed)?;
        let mut searches = candidates
            .iter()
            .map(|&tuning| NonceSearch::new(gpu, &header, &target, tuning))
            .collect::<Result<Vec<_>>>()?;
        // Each candidate is probed on the measured header and must find
        // the genesis block's nonce to be kept.
        let works = vec![f64::from(PROBE_NONCES); candidates.len()];
        let tuned = tuning::choose_with(
            plan,
            &works,
            |i, repeat| Ok(searches[i].dispatch(0, PROBE_NONCES * repeat)?.seconds),
            |i| check_finds_block(gpu, &searches[i], &GENESIS).map(|()| 0.0),
        )?;
        let tuning = candidates[tuned.index];
        let search = searches.swap_remove(tuned.index);
        check_finds_block(gpu, &search, &BLOCK_125552)?;
        let mut next_start: u64 = 0;
        let samples = sample_loop_checked(
            plan,
            1 << 16,
            search::MAX_NONCES_PER_DISPATCH,
            |size| {
                if next_start + size > 1 << 32 {
                    next_start = 0;
                }
                let dispatched = search.dispatch(next_start as u32, size as u32)?;
                next_start += size;
                Ok(Sample::new(size as f64, dispatched.seconds))
            },
            // A sustained run proves again, half-way, that the kernel finds
            // a real block's nonce.
            &mut || check_finds_block(gpu, &search, &GENESIS),
            observer,
        )?;
        // And after: the figure stands only if the kernel still finds it.
        check_finds_block(gpu, &search, &BLOCK_125552)?;
        let nonces_per_sample = samples.first().map_or(0.0, |s| s.work);
        let mut params = serde_json::Map::new();
        params.insert("header".into(), json!(format!("block {}", block.height)));
        params.insert("bits".into(), json!(format!("{:08x}", header.bits())));
        params.insert("workgroup_size".into(), json!(tuning.workgroup_size));
        params.insert("nonces_per_thread".into(), json!(tuning.nonces_per_thread));
        let names: Vec<String> = candidates.iter().map(Tuning::name).collect();
        tuned.record(&mut params, &names, self.unit());
        params.insert("nonces_per_sample".into(), json!(nonces_per_sample));
        Ok(Measurement {
            params,
            samples,
            also: Vec::new(),
            check: format!(
                "found the real nonces of blocks {} and {} in {CHECK_WINDOW}-nonce windows \
                 before the samples, and of block {} after; every hit re-hashed on the CPU",
                GENESIS.height, BLOCK_125552.height, BLOCK_125552.height
            ),
        })
    }
}

/// Scans a window around a real block's nonce at its real target with
/// `search`'s kernel and fails unless the block's nonce is found with its
/// published hash.
pub fn check_finds_block(gpu: &Gpu, search: &NonceSearch, block: &KnownBlock) -> Result<()> {
    let header = block.header();
    let target = Target::from_bits(header.bits()).map_err(Error::VerificationFailed)?;
    let search = search.for_header(&header, &target);
    let start = u64::from(block.nonce)
        .saturating_sub(CHECK_WINDOW / 3)
        .min((1 << 32) - CHECK_WINDOW);
    let scan = search.scan(start, CHECK_WINDOW)?;
    let found = scan
        .hits
        .iter()
        .any(|hit| hit.nonce == block.nonce && hit.hash.to_string() == block.hash);
    if found {
        Ok(())
    } else {
        Err(Error::VerificationFailed(format!(
            "sha256d ({}) on {}: the kernel did not find block {}'s nonce {} in {}..{}",
            search.tuning().name(),
            gpu.summary.label(),
            block.height,
            block.nonce,
            start,
            start + CHECK_WINDOW
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu;
    use crate::measure::Recorder;

    #[test]
    fn a_quick_run_is_verified_and_measured() {
        let gpu = gpu::default_for_tests();
        let mut recorder = Recorder::default();
        let measurement = Sha256d::default()
            .run(&gpu, &SamplePlan::quick(), &mut recorder)
            .unwrap();
        assert!(measurement.samples.len() >= SamplePlan::quick().min_samples);
        assert!(
            measurement
                .rates(Unit::HashesPerSecond)
                .iter()
                .all(|r| *r > 0.0)
        );
        assert_eq!(measurement.params["bits"], "1b04864c");
        assert_eq!(recorder.fractions.last(), Some(&1.0));
        assert_eq!(recorder.windows, 1, "one measuring window, closed");
        // Every launch shape was probed; the one kept is named.
        let tried = measurement.params["variants_tried"].as_array().unwrap();
        assert_eq!(tried.len(), Tuning::candidates(&gpu).len());
        assert!(tried.iter().all(|t| t["probe"].as_f64().unwrap() > 0.0));
        let kept = measurement.params["variant"].as_str().unwrap();
        assert!(tried.iter().any(|t| t["variant"] == kept), "{kept}");
    }

    #[test]
    fn tune_off_runs_the_default_launch_shape_unprobed() {
        let gpu = gpu::default_for_tests();
        let plan = SamplePlan {
            tune: tuning::Tune::Off,
            ..SamplePlan::single()
        };
        let measurement = Sha256d::default()
            .run(&gpu, &plan, &mut Recorder::default())
            .unwrap();
        assert_eq!(measurement.params["variant"], Tuning::default().name());
        assert_eq!(measurement.params["tuning"], "off");
        assert_eq!(measurement.params["workgroup_size"], 64);
    }
}
