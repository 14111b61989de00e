//! Workloads: one module per kernel family, each a type implementing
//! [`Workload`], with its WGSL under `shaders/` and a CPU reference that
//! checks its output in the same run.

pub mod sha256d;

use serde::{Deserialize, Serialize};

use crate::gpu::Gpu;
use crate::measure::{Sample, SamplePlan};
use crate::{Error, Result};

/// The unit a workload's throughput is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    #[serde(rename = "H/s")]
    HashesPerSecond,
    #[serde(rename = "GFLOP/s")]
    GflopPerSecond,
    #[serde(rename = "GB/s")]
    GigabytesPerSecond,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/s",
            Unit::GflopPerSecond => "GFLOP/s",
            Unit::GigabytesPerSecond => "GB/s",
        }
    }

    /// Units of work per joule: this unit divided by watts.
    pub fn per_joule(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/J",
            Unit::GflopPerSecond => "GFLOP/J",
            Unit::GigabytesPerSecond => "GB/J",
        }
    }

    /// How much work one raw unit of [`Sample::work`] is in this unit.
    pub fn scale(self) -> f64 {
        match self {
            Unit::HashesPerSecond => 1.0,
            Unit::GflopPerSecond | Unit::GigabytesPerSecond => 1e-9,
        }
    }
}

/// What a workload measured, before power and reporting are added.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The shape and settings of the run, recorded with the result.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Measured samples: raw work (hashes, flops, bytes) and kernel seconds.
    pub samples: Vec<Sample>,
    /// What was checked against the CPU reference, in words.
    pub check: String,
}

impl Measurement {
    /// Per-sample throughput in `unit`.
    pub fn rates(&self, unit: Unit) -> Vec<f64> {
        self.samples
            .iter()
            .map(|s| s.rate() * unit.scale())
            .collect()
    }
}

/// A benchmark kernel. `run` measures it on one device according to the
/// plan, and must fail with [`Error::VerificationFailed`] when any output
/// differs from the CPU reference: a failed kernel yields no figure.
pub trait Workload {
    /// The name used by `--workloads` and in result files.
    fn name(&self) -> &'static str;
    /// One line for `--help` and the README.
    fn description(&self) -> &'static str;
    /// The unit its throughput is reported in.
    fn unit(&self) -> Unit;
    /// Measures the workload; `progress` gets the fraction done (0 to 1).
    fn run(
        &self,
        gpu: &Gpu,
        plan: &SamplePlan,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Measurement>;
}

/// Every workload, in the order `--workloads all` runs them.
pub fn all() -> Vec<Box<dyn Workload>> {
    vec![Box::new(sha256d::Sha256d::default())]
}

/// Parses `--workloads`: a comma-separated list of names, or `all`.
pub fn parse_list(list: &str) -> Result<Vec<Box<dyn Workload>>> {
    let known = all();
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Err(Error::usage("--workloads needs at least one workload name"));
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
        return Ok(known);
    }
    let known_names: Vec<&str> = known.iter().map(|w| w.name()).collect();
    if let Some(unknown) = names.iter().find(|n| !known_names.contains(n)) {
        return Err(Error::usage(format!(
            "unknown workload '{unknown}'; known workloads: {}, or all",
            known_names.join(", ")
        )));
    }
    let mut chosen: Vec<Box<dyn Workload>> = Vec::new();
    for workload in all() {
        if names.contains(&workload.name()) {
            chosen.push(workload);
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_lists_parse() {
        let names = |list| {
            parse_list(list)
                .unwrap()
                .iter()
                .map(|w| w.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("all"), ["sha256d"]);
        assert_eq!(names(" sha256d ,"), ["sha256d"]);
        let err = parse_list("sha256d,gemm-f64").err().unwrap();
        assert!(err.to_string().contains("'gemm-f64'"));
        assert!(err.to_string().contains("sha256d"));
        assert_eq!(err.exit_code(), 2);
        assert!(parse_list(",").is_err());
    }

    #[test]
    fn units_serialise_as_plain_text() {
        assert_eq!(
            serde_json::to_string(&Unit::GflopPerSecond).unwrap(),
            "\"GFLOP/s\""
        );
        assert_eq!(Unit::HashesPerSecond.per_joule(), "H/J");
    }
}
