//! `mwbench mine`: scans a range of nonces of one block header.

use serde::Serialize;

use crate::gpu::{self, DeviceSelector};
use crate::report::{Progress, si};
use crate::workloads::sha256d::{BlockHeader, NonceSearch, Target, Tuning};
use crate::{Error, Result};

/// Options of `mwbench mine`.
#[derive(Debug, Clone)]
pub struct MineOptions {
    pub header: BlockHeader,
    pub start: u32,
    /// At least 1; `start + count` stays within 2^32.
    pub count: u64,
    /// `None`: the target the header's own bits encode.
    pub target: Option<Target>,
    pub device: DeviceSelector,
    pub json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct MineReport {
    found: Vec<Found>,
    hashes: u64,
    seconds: f64,
    hash_rate: f64,
}

#[derive(Debug, Serialize)]
struct Found {
    nonce: u32,
    hash: String,
}

/// Nonces per scan between progress updates: a few milliseconds on a data
/// centre GPU, about a second on lavapipe.
const CHUNK: u64 = 1 << 26;

pub fn mine(options: &MineOptions) -> Result<String> {
    let end = u64::from(options.start) + options.count;
    if options.count == 0 || end > 1 << 32 {
        return Err(Error::usage(format!(
            "nonce range --start {} --count {} must stay within 0..4294967296",
            options.start, options.count
        )));
    }
    let target = match options.target {
        Some(target) => target,
        None => Target::from_bits(options.header.bits()).map_err(|e| {
            Error::usage(format!(
                "the header's own bits are unusable ({e}); give --bits or --target"
            ))
        })?,
    };
    let gpu = gpu::open_one(&options.device)?;
    let search = NonceSearch::new(&gpu, &options.header, &target, Tuning::default())?;
    let progress = Progress::new(
        Progress::wanted(options.json) && options.count > CHUNK,
        format!("mining on {}", gpu.summary.name),
    );
    let mut found = Vec::new();
    let (mut hashes, mut seconds) = (0, 0.0);
    let mut start = u64::from(options.start);
    while start < end {
        let count = CHUNK.min(end - start);
        let scan = search.scan(start, count)?;
        found.extend(scan.hits);
        hashes += scan.hashes;
        seconds += scan.seconds;
        start += count;
        progress.set((start - u64::from(options.start)) as f64 / options.count as f64);
    }
    progress.finish();
    let report = MineReport {
        found: found
            .iter()
            .map(|hit| Found {
                nonce: hit.nonce,
                hash: hit.hash.to_string(),
            })
            .collect(),
        hashes,
        seconds,
        hash_rate: if seconds > 0.0 {
            hashes as f64 / seconds
        } else {
            0.0
        },
    };
    if options.json {
        return Ok(serde_json::to_string(&report).expect("report serialises") + "\n");
    }
    let mut text = String::new();
    for hit in &report.found {
        text.push_str(&format!(
            "nonce {:>10} ({:#010x})  {}\n",
            hit.nonce, hit.nonce, hit.hash
        ));
    }
    text.push_str(&format!(
        "{} found in {} hashes, {:.3} s, {} on {}\n",
        report.found.len(),
        report.hashes,
        report.seconds,
        si(report.hash_rate, "H/s"),
        gpu.summary.label()
    ));
    Ok(text)
}
