//! The schema's own vocabulary: units, where a watt came from, how time
//! was measured, the power block, and the median and spread of samples.
//! The layers that produce these (`workloads`, `power`, `gpu`, `measure`)
//! use them from here, so that reading a result file needs none of them.

use serde::{Deserialize, Serialize};

/// The unit of decode's latency, among a result's `also` figures: the
/// time of one step of the batch, which is how long each of its users
/// waits for a token.
pub const MS_PER_TOKEN: &str = "ms/token";

/// The unit a workload's throughput is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Unit {
    #[serde(rename = "H/s")]
    HashesPerSecond,
    #[serde(rename = "GFLOP/s")]
    GflopPerSecond,
    #[serde(rename = "GB/s")]
    GigabytesPerSecond,
    #[serde(rename = "tokens/s")]
    TokensPerSecond,
}

impl Unit {
    pub const ALL: [Unit; 4] = [
        Unit::HashesPerSecond,
        Unit::GflopPerSecond,
        Unit::GigabytesPerSecond,
        Unit::TokensPerSecond,
    ];

    /// The unit `as_str` writes as `text`.
    pub fn parse(text: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/s",
            Unit::GflopPerSecond => "GFLOP/s",
            Unit::GigabytesPerSecond => "GB/s",
            Unit::TokensPerSecond => "tokens/s",
        }
    }

    /// Units of work per joule: this unit divided by watts.
    pub fn per_joule(self) -> &'static str {
        match self {
            Unit::HashesPerSecond => "H/J",
            Unit::GflopPerSecond => "GFLOP/J",
            Unit::GigabytesPerSecond => "GB/J",
            Unit::TokensPerSecond => "tokens/J",
        }
    }

    /// More than any one adapter can do, by orders of magnitude (an S21
    /// ASIC hashes 2e14 H/s, an H200 peaks near 2e6 GFLOP/s and 5e3 GB/s):
    /// a figure above it in a file is a fault, never a measurement.
    pub fn max_plausible(self) -> f64 {
        match self {
            Unit::HashesPerSecond => 1e16,
            Unit::GflopPerSecond => 1e9,
            Unit::GigabytesPerSecond => 1e7,
            Unit::TokensPerSecond => 1e9,
        }
    }

    /// Less than any adapter mwbench runs on does, lavapipe on one core
    /// included (it hashes millions a second, and decodes Llama 3 8B at
    /// a token every few seconds): a figure below it in a file is a fault
    /// (a broken tool's 1e-300), never a measurement.
    pub fn min_plausible(self) -> f64 {
        match self {
            Unit::HashesPerSecond => 1.0,
            Unit::GflopPerSecond | Unit::GigabytesPerSecond | Unit::TokensPerSecond => 1e-3,
        }
    }

    /// Whether a throughput in this unit may stand in a file: finite, in
    /// [`Unit::min_plausible`, `Unit::max_plausible`]. Every reader's
    /// check of a rate (a result's, a series point's, a merged group's).
    pub fn plausible(self, rate: f64) -> bool {
        rate.is_finite() && (self.min_plausible()..=self.max_plausible()).contains(&rate)
    }

    /// The range [`Unit::plausible`] allows, for error messages.
    pub fn range(self) -> String {
        format!(
            "[{:e}, {:e}] {}",
            self.min_plausible(),
            self.max_plausible(),
            self.as_str()
        )
    }

    /// How much work one raw unit of [`Sample::work`] is in this unit.
    pub fn scale(self) -> f64 {
        match self {
            Unit::HashesPerSecond | Unit::TokensPerSecond => 1.0,
            Unit::GflopPerSecond | Unit::GigabytesPerSecond => 1e-9,
        }
    }
}

/// Each workload mwbench runs and the one unit its throughput is in: a
/// result of one of these in another unit contradicts itself (`sha256d`
/// in tokens/s would be priced as AI). The workloads under `src/` are
/// tested against this table. `external` results (`mwbench meter`) carry
/// whatever unit the outside tool measured; a name not here (a newer
/// build's workload) is read with its own unit, which cannot be checked.
pub const WORKLOAD_UNITS: [(&str, Unit); 17] = [
    ("sha256d", Unit::HashesPerSecond),
    ("peak-fma-f32", Unit::GflopPerSecond),
    ("copy-bandwidth", Unit::GigabytesPerSecond),
    ("peak-mma-f16", Unit::GflopPerSecond),
    ("gemm-f32", Unit::GflopPerSecond),
    ("gemm-f16", Unit::GflopPerSecond),
    ("gemm-skinny", Unit::GigabytesPerSecond),
    ("gemv-f32", Unit::GigabytesPerSecond),
    ("gemv-f16", Unit::GigabytesPerSecond),
    ("gemv-q8", Unit::GigabytesPerSecond),
    ("gemv-q4", Unit::GigabytesPerSecond),
    ("rmsnorm", Unit::GigabytesPerSecond),
    ("softmax", Unit::GigabytesPerSecond),
    ("attention-decode", Unit::GigabytesPerSecond),
    ("attention-prefill", Unit::GflopPerSecond),
    ("llm-decode", Unit::TokensPerSecond),
    ("llm-prefill", Unit::TokensPerSecond),
];

/// The unit `workload`'s throughput is in, where this build knows it;
/// see [`WORKLOAD_UNITS`].
pub fn workload_unit(workload: &str) -> Option<Unit> {
    WORKLOAD_UNITS
        .iter()
        .find(|(name, _)| *name == workload)
        .map(|(_, unit)| *unit)
}

/// The first thing wrong with `workload` reporting in `unit`: a known
/// workload in another unit than its own.
pub fn check_workload_unit(workload: &str, unit: Unit) -> Result<(), String> {
    match workload_unit(workload) {
        Some(own) if own != unit => Err(format!(
            "unit {} for workload {workload}, whose throughput is in {}",
            unit.as_str(),
            own.as_str()
        )),
        _ => Ok(()),
    }
}

/// How a kernel's time was measured; recorded with every result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimingMethod {
    /// Timestamps written by the GPU at the start and end of the compute
    /// pass: no submission or wake-up latency is counted.
    GpuTimestamps,
    /// A host clock around a submission that is waited on: includes the
    /// submit and wake-up latency, so samples should be long.
    HostClock,
}

/// Median and spread of a set of samples, in their unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub count: usize,
}

impl Summary {
    /// Summarises `values`; `None` when there are none or one is not finite.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            count: n,
        })
    }
}

/// More than any source mwbench reads can draw (a node, a rack's PDU):
/// a figure above it is a fault in the source, never a measurement.
pub const MAX_WATTS: f64 = 1e6;

/// How a watt figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Read from a sensor on the device or host during the run.
    Sensor,
    /// Read from an external meter during the run.
    External,
    /// Given by the user (`--watts`), typically read off a wall meter.
    User,
    /// A guess from a table or a power limit: never a measurement.
    Estimated,
    /// No figure.
    None,
}

/// Power over one workload's measured samples, as recorded in the result
/// file. Fields after `watts` came with schema version 2; older files read
/// with them empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PowerReading {
    pub provenance: Provenance,
    /// What gave the figure, in words (a sensor and its path, a command,
    /// `--watts`), or why there is none.
    pub source: String,
    /// The source measures the whole host (RAPL, an external meter): every
    /// adapter measured with it reports the same machine's draw, one
    /// adapter at a time, so the figures must not be added up.
    #[serde(default)]
    pub shared: bool,
    /// Mean power over the measured samples: energy over time.
    pub watts: Option<f64>,
    #[serde(default)]
    pub watts_min: Option<f64>,
    #[serde(default)]
    pub watts_median: Option<f64>,
    #[serde(default)]
    pub watts_max: Option<f64>,
    /// Power with nothing running, measured before the workloads.
    #[serde(default)]
    pub idle_watts: Option<f64>,
    /// Energy over the measured samples.
    #[serde(default)]
    pub energy_j: Option<f64>,
    /// How long the measured samples ran, as the meter timed them.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// How many power samples were taken.
    #[serde(default)]
    pub samples: usize,
    /// The sampling interval; `null` for figures that are not sampled.
    #[serde(default)]
    pub interval_ms: Option<u64>,
}

impl PowerReading {
    /// No figure, and why.
    pub fn none(why: String) -> PowerReading {
        PowerReading {
            provenance: Provenance::None,
            source: why,
            shared: false,
            watts: None,
            watts_min: None,
            watts_median: None,
            watts_max: None,
            idle_watts: None,
            energy_j: None,
            seconds: None,
            samples: 0,
            interval_ms: None,
        }
    }
}

impl PowerReading {
    /// Each figure finite and in range, as a result file must hold them.
    pub fn check_consistent(&self) -> std::result::Result<(), String> {
        let watts = [
            ("watts", self.watts),
            ("watts_min", self.watts_min),
            ("watts_median", self.watts_median),
            ("watts_max", self.watts_max),
            ("idle_watts", self.idle_watts),
        ];
        for (name, value) in watts {
            if let Some(w) = value
                && !plausible_watts(w)
            {
                return Err(format!(
                    "{name} is {}, outside [{MIN_WATTS}, {MAX_WATTS:e}] W",
                    crate::error::shown(w)
                ));
            }
        }
        for (name, value) in [("energy_j", self.energy_j), ("seconds", self.seconds)] {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("{name} is {}", crate::error::shown(v)));
            }
        }
        if self.watts.is_some() && self.provenance == Provenance::None {
            return Err("watts with provenance none".into());
        }
        Ok(())
    }
}

/// Less than any source mwbench reads draws while running.
pub const MIN_WATTS: f64 = 1e-3;

/// A power figure a result may hold: finite, in [`MIN_WATTS`, `MAX_WATTS`].
pub fn plausible_watts(watts: f64) -> bool {
    watts.is_finite() && (MIN_WATTS..=MAX_WATTS).contains(&watts)
}
