//! `mwbench mine`: scans a range of nonces of one block header.

use std::io::Write;

use serde::Serialize;

use super::Outcome;
use crate::gpu::{self, DeviceSelector};
use crate::report::{self, Format, Progress, si};
use crate::workloads::sha256d::{BlockHeader, Hit, NonceSearch, Target, Tuning};
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
    /// Table (one line per hit), json or markdown; hits are streamed in
    /// each.
    pub format: Format,
}

/// The totals `--format json` prints after the hits: `{"found": [...],
/// "hashes": ..., "seconds": ..., "hash_rate": ...}`, the hits streamed as
/// found.
#[derive(Debug, Serialize)]
struct Totals {
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

/// Scans the range, writing each hit to `out` as it is found (a target
/// that most nonces meet can give billions), then returns the summary.
pub fn mine(options: &MineOptions, out: &mut dyn Write) -> Result<Outcome> {
    report::check_flat(options.format, "mine")?;
    let json = options.format == Format::Json;
    let markdown = options.format == Format::Markdown;
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
        Progress::wanted(json) && options.count > CHUNK,
        format!("mining on {}", gpu.summary.name),
    );
    let stdout_error = |source| Error::Io {
        action: "write",
        path: "standard output".into(),
        source,
    };
    if json {
        out.write_all(b"{\"found\":[").map_err(stdout_error)?;
    } else if markdown {
        out.write_all(b"| nonce | hex | hash |\n| ---: | ---: | --- |\n")
            .map_err(stdout_error)?;
    }
    let mut found = 0u64;
    let mut emit = |hit: Hit| -> Result<()> {
        let line = if json {
            let hit = Found {
                nonce: hit.nonce,
                hash: hit.hash.to_string(),
            };
            let comma = if found == 0 { "" } else { "," };
            format!(
                "{comma}{}",
                serde_json::to_string(&hit).expect("hits serialise")
            )
        } else if markdown {
            format!("| {} | {:#010x} | `{}` |\n", hit.nonce, hit.nonce, hit.hash)
        } else {
            format!(
                "nonce {:>10} ({:#010x})  {}\n",
                hit.nonce, hit.nonce, hit.hash
            )
        };
        found += 1;
        out.write_all(line.as_bytes()).map_err(stdout_error)
    };
    let (mut hashes, mut seconds) = (0, 0.0);
    let mut start = u64::from(options.start);
    while start < end {
        let count = CHUNK.min(end - start);
        let (scanned, kernel_seconds) = search.scan_each(start, count, &mut emit)?;
        hashes += scanned;
        seconds += kernel_seconds;
        start += count;
        progress.set((start - u64::from(options.start)) as f64 / options.count as f64);
    }
    progress.finish();
    let totals = Totals {
        hashes,
        seconds,
        hash_rate: if seconds > 0.0 {
            hashes as f64 / seconds
        } else {
            0.0
        },
    };
    if json {
        // `],` then the totals' fields, closing the object opened above.
        let fields = serde_json::to_string(&totals).expect("totals serialise");
        return Ok(Outcome::printed(format!("],{}\n", &fields[1..])));
    }
    Ok(Outcome::printed(format!(
        "{}{found} found in {} hashes, {:.3} s, {} on {}\n",
        if markdown { "\n" } else { "" },
        totals.hashes,
        totals.seconds,
        si(totals.hash_rate, "H/s"),
        gpu.summary.label()
    )))
}
