//! The result schema: what `mwbench run` writes, one file per adapter.
//!
//! Version 2 added the power fields beyond `provenance`, `source` and
//! `watts` (`shared`, spread, `idle_watts`, `energy_j`, `seconds`,
//! `samples`, `interval_ms`) and `efficiency_above_idle`. Version 3 added
//! `interrupted`, and a ceiling's `fraction` may be `null` with a `note`.
//! Version 4 added sustained runs: a result's `series` and `sustained`,
//! and the settings' `sustain_seconds` and `interval_seconds`.
//! Older files read with the new fields empty.
//!
//! Every file read is checked for being consistent with itself (the
//! throughput is the median of the samples, a verified result is `ok`,
//! each workload and shape appears once) and its figures for being finite
//! and in range: a file edited by hand, or by a broken tool, is refused
//! with the first thing wrong, never believed.

use serde::{Deserialize, Serialize};

use super::sustained::{SeriesPoint, Sustained};
use super::units::{PowerReading, Summary, TimingMethod, Unit};
use crate::error::shown;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 5;

/// The oldest schema version this build reads.
pub const OLDEST_READABLE: u32 = 1;

/// One result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResultFile {
    pub schema_version: u32,
    pub mwbench_version: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub machine: Machine,
    pub device: ResultDevice,
    pub settings: Settings,
    /// The run was stopped by SIGINT or SIGTERM: `results` holds the
    /// workloads it completed, and the others were not run.
    #[serde(default)]
    pub interrupted: bool,
    pub results: Vec<WorkloadResult>,
}

/// The host the run happened on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub cpu: String,
}

impl Machine {
    /// Describes this host.
    pub fn current() -> Self {
        Machine {
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            os: os_description(),
            cpu: cpu_description(),
        }
    }
}

fn os_description() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    match (pretty, kernel) {
        (Some(p), Some(k)) => format!("{p} (Linux {k})"),
        (Some(p), None) => p,
        _ => std::env::consts::OS.to_string(),
    }
}

fn cpu_description() -> String {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
    let model = model.unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{model} ({threads} threads)")
}

/// What kind of adapter ran the workloads, as wgpu classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    Discrete,
    Integrated,
    Virtual,
    /// A software rasterizer such as lavapipe: it shares the CPU with
    /// everything else.
    Cpu,
    Other,
}

/// The graphics API wgpu ran the workloads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Vulkan,
    Metal,
    Dx12,
    /// OpenGL (ES) through EGL: no timestamp queries, few limits.
    Gl,
    #[serde(rename = "webgpu")]
    WebGpu,
    Noop,
}

/// Shows the name result files use.
fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

impl std::fmt::Display for DeviceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&serde_name(self))
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&serde_name(self))
    }
}

/// The adapter the results were measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResultDevice {
    pub name: String,
    pub backend: Backend,
    pub device_type: DeviceType,
    pub driver: String,
    pub driver_info: String,
    pub vendor_id: u32,
    pub pci_bus_id: String,
    pub timing: TimingMethod,
    /// The memory its buffers come from, where known (NVML's total for an
    /// NVIDIA GPU, the host's for a CPU adapter; wgpu does not say): what
    /// bounds an LLM's batch. Absent before schema version 5 and where
    /// nothing reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<DeviceMemory>,
}

/// How much memory an adapter has, and who said so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeviceMemory {
    pub bytes: u64,
    pub source: String,
}

/// Less memory than any adapter that runs compute (64 MiB), and more
/// than any has (1 PiB): a broken driver's or an edited file's figure.
pub const DEVICE_MEMORY_BYTES: std::ops::RangeInclusive<u64> = (64 << 20)..=(1 << 50);

/// How the run was sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Settings {
    pub quick: bool,
    pub measure_seconds: f64,
    pub warm_up_seconds: f64,
    pub sample_seconds: f64,
    pub min_samples: usize,
    /// `run --sustain`: seconds each workload ran without pause, in
    /// intervals of `interval_seconds`; absent for ordinary runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustain_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
}

/// Whether a workload produced a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, and its output matched the CPU reference.
    Ok,
    /// Its output did not match, or the GPU failed: no figure.
    Failed,
    /// It cannot run on this adapter (a missing feature, a size over the
    /// adapter's limits): no figure, and the reason in `check`.
    Unsupported,
    /// A figure an outside command reported (`mwbench meter`: vLLM,
    /// llama-bench, hashcat), measured with mwbench's meters but never
    /// checked by mwbench: workload `external`, `verified` false, and
    /// `check` naming where the figure came from.
    External,
}

/// The workload of every result `mwbench meter` writes.
pub const EXTERNAL_WORKLOAD: &str = "external";

/// The shape of an external result of hashcat's mode `mode`
/// (`hashcat -m 21400`): all that a merged group keeps of its mode.
pub fn hashcat_shape(mode: u64) -> String {
    format!("hashcat -m {mode}")
}

/// The hashcat mode a shape from [`hashcat_shape`] names.
pub fn hashcat_mode(shape: &str) -> Option<u64> {
    shape.strip_prefix("hashcat -m ")?.parse().ok()
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unsupported => "unsupported",
            Status::External => "external",
        }
    }
}

/// A number with its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Figure {
    pub value: f64,
    pub unit: String,
}

/// Throughput: the median of the samples, `null` when the workload failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Throughput {
    pub value: Option<f64>,
    pub unit: Unit,
}

/// One workload's outcome on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkloadResult {
    pub workload: String,
    pub status: Status,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub throughput: Throughput,
    /// Every measured sample, in the throughput's unit.
    pub samples: Vec<f64>,
    /// True only when the kernel's output matched the CPU reference.
    pub verified: bool,
    /// What was checked, or why the workload failed.
    pub check: String,
    pub power: PowerReading,
    /// Throughput per watt at the mean power of the measured samples, in
    /// the field's units; empty without watts.
    pub efficiency: Vec<Figure>,
    /// The same per watt above idle power (what the workload added);
    /// empty without an idle measurement, or when the workload drew less
    /// than 1% more than idle.
    #[serde(default)]
    pub efficiency_above_idle: Vec<Figure>,
    /// Further figures derived from the throughput (a GEMV's GFLOP/s).
    #[serde(default)]
    pub also: Vec<Figure>,
    /// The throughput as a fraction of the roof measured in the same run.
    #[serde(default)]
    pub ceiling: Option<CeilingFraction>,
    /// How many other adapters ran the same workload at the same time
    /// (`run --concurrent`); 0 when it ran alone (and in older files).
    #[serde(default)]
    pub concurrent_with: usize,
    /// `run --sustain`: one point per interval, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<SeriesPoint>,
    /// `run --sustain`: first and steady figures, drop and throttling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustained: Option<Sustained>,
}

/// A throughput against the ceiling workload measured on the same device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CeilingFraction {
    /// `peak-fma-f32`, `peak-mma-f16` (kernels that ran on cooperative
    /// matrices) or `copy-bandwidth`.
    pub workload: String,
    /// Throughput over the ceiling's; `null` when the kernel beat its
    /// ceiling by more than 5% (so the ceiling is not this driver's peak),
    /// as `note` says.
    pub fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl WorkloadResult {
    /// A workload that failed or could not run (`status`): no figure, and
    /// the reason.
    pub fn without_figure(
        workload: &str,
        status: Status,
        unit: Unit,
        reason: String,
        power: PowerReading,
    ) -> Self {
        WorkloadResult {
            workload: workload.to_string(),
            status,
            params: serde_json::Map::new(),
            throughput: Throughput { value: None, unit },
            samples: Vec::new(),
            verified: false,
            check: reason,
            power,
            efficiency: Vec::new(),
            efficiency_above_idle: Vec::new(),
            also: Vec::new(),
            ceiling: None,
            concurrent_with: 0,
            series: Vec::new(),
            sustained: None,
        }
    }

    /// The shape it ran at (`4096x4096`, `llama3-8b q4 batch 16`); empty
    /// for workloads of one shape.
    pub fn shape(&self) -> &str {
        self.params
            .get("shape")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
    }

    /// A decode result's shape names its context (`llama3-8b q4 context
    /// 4096 batch 16`): decode at 4096 tokens of context is not decode at
    /// 32768, and `compare` and `merge` match results by shape. Files
    /// written before the shape named it carry it in `params.context`;
    /// their shape is read with it, so they match a newer file of the
    /// same context and no other. Without `params.context` the shape is
    /// left as written (and matches no newer file).
    fn name_decode_context(&mut self) {
        if self.workload != DECODE_WORKLOAD {
            return;
        }
        let Some(context) = self.params.get("context").and_then(|c| c.as_u64()) else {
            return;
        };
        let shape = self.shape();
        if shape.is_empty() || shape.contains(" context ") {
            return;
        }
        let named = decode_shape(shape, context);
        self.params.insert("shape".into(), named.into());
    }

    /// The throughput a site can count on: a sustained run's steady figure
    /// (median of the last half of its intervals), else the median of the
    /// samples. `None` without a verified figure. What `compare`, `merge`,
    /// `value` and the per-watt figures use.
    pub fn rate(&self) -> Option<f64> {
        self.throughput.value?;
        Some(
            self.sustained
                .as_ref()
                .map_or(self.throughput.value?, |s| s.steady.throughput),
        )
    }

    /// The watts that go with [`WorkloadResult::rate`]: a sustained run's
    /// steady power where its source gave one per interval, else the mean
    /// over the samples.
    pub fn watts(&self) -> Option<f64> {
        self.sustained
            .as_ref()
            .and_then(|s| s.steady.watts)
            .or(self.power.watts)
    }

    /// Which figure [`WorkloadResult::rate`] is, in words, for reports.
    pub fn rate_basis(&self) -> &'static str {
        if self.sustained.is_some() {
            "steady"
        } else {
            "median"
        }
    }

    /// The samples [`WorkloadResult::rate`] stands on: a sustained run's
    /// last half, else all of them.
    pub fn rate_samples(&self) -> &[f64] {
        match &self.sustained {
            Some(s) if s.steady_from_sample < self.samples.len() => {
                &self.samples[s.steady_from_sample..]
            }
            _ => &self.samples,
        }
    }

    /// This result with `power`, its figures per watt worked out from it
    /// (on the steady figures of a sustained run).
    pub fn with_power(mut self, power: PowerReading) -> Self {
        self.power = power;
        (self.efficiency, self.efficiency_above_idle) = self.per_watt_figures();
        self
    }

    /// Its `efficiency` and `efficiency_above_idle` as its rate and watts
    /// give them: what [`WorkloadResult::with_power`] stores, and what a
    /// file read holds whatever it stored.
    fn per_watt_figures(&self) -> (Vec<Figure>, Vec<Figure>) {
        let unit = self.throughput.unit;
        let (rate, watts) = (self.rate(), self.watts());
        let efficiency = match (rate, watts) {
            (Some(rate), Some(watts)) if watts > 0.0 => per_watt(unit, rate, watts),
            _ => Vec::new(),
        };
        // Within 1% of idle the difference is sensor noise, and figures
        // per watt of it would be absurd: none are given.
        let above_idle = match (rate, watts, self.power.idle_watts) {
            (Some(rate), Some(watts), Some(idle)) if watts - idle > 0.01 * watts => {
                per_watt(unit, rate, watts - idle)
            }
            _ => Vec::new(),
        };
        (efficiency, above_idle)
    }

    /// This result with a sustained run's `series` (intervals of
    /// `interval_seconds`; the last half from sample `steady_from_sample`)
    /// and its summary, the per-watt figures now of the steady figures.
    /// A series too short to have a steady half (a run stopped early) is
    /// left out.
    pub fn with_series(
        mut self,
        series: Vec<SeriesPoint>,
        interval_seconds: f64,
        steady_from_sample: usize,
    ) -> Self {
        self.sustained = Sustained::of(&series, interval_seconds, steady_from_sample);
        self.series = if self.sustained.is_some() {
            series
        } else {
            Vec::new()
        };
        let power = self.power.clone();
        self.with_power(power)
    }

    /// Median, min and max of the samples.
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.samples)
    }
}

/// The workload whose shape names its context.
const DECODE_WORKLOAD: &str = "llm-decode";

/// A decode shape from its model and weights (`llama3-8b q4`), perhaps
/// with a batch after (`... batch 16`), and its context: the context
/// before the batch, so that the model, weights and context (what
/// `value` picks a best batch among) are the shape less its batch.
pub fn decode_shape(shape: &str, context: u64) -> String {
    match shape.split_once(" batch ") {
        Some((model, batch)) => format!("{model} context {context} batch {batch}"),
        None => format!("{shape} context {context}"),
    }
}

/// Per-watt figures for a throughput `rate` (in `unit`) at `watts`.
pub fn per_watt(unit: Unit, rate: f64, watts: f64) -> Vec<Figure> {
    let mut figures = vec![Figure {
        value: rate / watts,
        unit: unit.per_joule().to_string(),
    }];
    if unit == Unit::HashesPerSecond {
        // Miners quote joules per terahash: W / (TH/s).
        figures.push(Figure {
            value: watts / (rate / 1e12),
            unit: "J/TH".into(),
        });
    }
    if unit == Unit::TokensPerSecond {
        figures.push(Figure {
            value: watts / rate,
            unit: "J/token".into(),
        });
    }
    figures
}

/// The JSON Schema of result files (draft 2020-12), derived from these
/// types: what `mwbench schema` prints and the tests validate files with.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ResultFile);
    serde_json::to_string_pretty(&schema).expect("schemas serialise") + "\n"
}

impl ResultFile {
    /// Pretty JSON, as written to disk.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("result files always serialise")
    }

    /// Parses a result file of any version this build reads; fields a
    /// version lacks are left empty. The error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let version = match value.get("schema_version") {
            None => return Err("no schema_version: not an mwbench result file".into()),
            Some(version) => version
                .as_u64()
                .ok_or_else(|| format!("schema_version must be a whole number, not {version}"))?,
        };
        if version > u64::from(SCHEMA_VERSION) {
            return Err(format!(
                "schema_version {version} is newer than this mwbench reads ({SCHEMA_VERSION}); \
                 upgrade mwbench"
            ));
        }
        if version < u64::from(OLDEST_READABLE) {
            return Err(format!("schema_version {version} is not one mwbench wrote"));
        }
        let mut file: ResultFile = serde_json::from_value(value).map_err(|e| {
            format!(
                "not a valid result file: {}",
                at_position::<ResultFile>(text, e)
            )
        })?;
        for result in &mut file.results {
            result.name_decode_context();
        }
        file.check_consistent()?;
        // A figure per watt is the rate over the watts: worked out again
        // here, once for every reader, rather than believed from the file
        // (an edited efficiency, or one left where the watts were taken
        // out, is never shown or exported).
        for result in &mut file.results {
            (result.efficiency, result.efficiency_above_idle) = result.per_watt_figures();
        }
        Ok(file)
    }

    /// The first thing in the file that contradicts itself or is out of
    /// range; see the module's documentation.
    pub fn check_consistent(&self) -> Result<(), String> {
        check_created(&self.created)?;
        let settings = &self.settings;
        for (name, value) in [
            ("measure_seconds", settings.measure_seconds),
            ("warm_up_seconds", settings.warm_up_seconds),
            ("sample_seconds", settings.sample_seconds),
        ] {
            if !(value.is_finite() && (0.0..=MAX_SECONDS).contains(&value)) {
                return Err(format!(
                    "settings.{name} is {}, not 0 to {MAX_SECONDS} s",
                    shown(value)
                ));
            }
        }
        if let Some(memory) = &self.device.memory
            && !DEVICE_MEMORY_BYTES.contains(&memory.bytes)
        {
            return Err(format!(
                "device.memory.bytes is {}, not {} to {} bytes",
                memory.bytes,
                DEVICE_MEMORY_BYTES.start(),
                DEVICE_MEMORY_BYTES.end()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (index, result) in self.results.iter().enumerate() {
            let shape = result.params.get("shape").and_then(|s| s.as_str());
            let name = match shape {
                Some(shape) => format!("results[{index}] ({} {shape})", result.workload),
                None => format!("results[{index}] ({})", result.workload),
            };
            if !seen.insert((&result.workload, shape, result.throughput.unit.as_str())) {
                return Err(format!("{name} appears twice in one file"));
            }
            result
                .check_consistent()
                .map_err(|why| format!("{name}: {why}"))?;
        }
        Ok(())
    }
}

/// Before any file mwbench wrote.
const EARLIEST_CREATED: &str = "2020-01-01T00:00:00Z";
/// How far ahead of this machine's clock another node's may run.
const CLOCK_SKEW_SECONDS: i64 = 2 * 86_400;

/// `created` is an RFC 3339 time, after [`EARLIEST_CREATED`] and not
/// ahead of this machine's clock by more than [`CLOCK_SKEW_SECONDS`]: a
/// file from year 9999 would always be the newest (`export` keeps the
/// newest of a series) and one that is no time has none to export.
fn check_created(created: &str) -> Result<(), String> {
    let Ok(at) = created.parse::<jiff::Timestamp>() else {
        return Err(format!("created is '{created}', not an RFC 3339 time"));
    };
    let earliest: jiff::Timestamp = EARLIEST_CREATED.parse().expect("a valid time");
    let latest = jiff::Timestamp::now().as_second() + CLOCK_SKEW_SECONDS;
    if at < earliest || at.as_second() > latest {
        return Err(format!(
            "created is {created}, not between {EARLIEST_CREATED} and two days from now"
        ));
    }
    Ok(())
}

/// `error`, from decoding a parsed value (which knows no positions), told
/// again with the line and column of the field in `text`: parsing the
/// text straight into `T` fails at the same field, and says where.
pub fn at_position<T: serde::de::DeserializeOwned>(
    text: &str,
    error: serde_json::Error,
) -> serde_json::Error {
    serde_json::from_str::<T>(text).err().unwrap_or(error)
}

/// More samples than a result can hold: `run` takes at most 1000.
pub const MAX_SAMPLES: usize = 100_000;
/// Longer than any setting of a run: a day.
const MAX_SECONDS: f64 = 86_400.0;

impl WorkloadResult {
    fn check_consistent(&self) -> Result<(), String> {
        let unit = self.throughput.unit;
        if self.samples.len() > MAX_SAMPLES {
            return Err(format!(
                "{} samples, more than the {MAX_SAMPLES} a result holds",
                self.samples.len()
            ));
        }
        if let Some(bad) = self.samples.iter().find(|v| !unit.plausible(**v)) {
            return Err(format!(
                "a sample of {} {}, outside {}",
                shown(*bad),
                unit.as_str(),
                unit.range()
            ));
        }
        let implausible = |value: f64| {
            format!(
                "throughput {} {}, outside {}",
                shown(value),
                unit.as_str(),
                unit.range()
            )
        };
        match (self.status, self.throughput.value) {
            (Status::Ok, None) => return Err("status ok without a throughput".into()),
            (Status::Ok, Some(value)) => {
                if !self.verified {
                    return Err("status ok but verified false: an unchecked figure".into());
                }
                if !unit.plausible(value) {
                    return Err(implausible(value));
                }
                let median = Summary::of(&self.samples)
                    .ok_or("status ok without samples")?
                    .median;
                if (value - median).abs() > 1e-9 * median {
                    return Err(format!(
                        "throughput {} is not the median of its samples ({})",
                        shown(value),
                        shown(median)
                    ));
                }
            }
            (Status::External, None) => {
                return Err("status external without a throughput".into());
            }
            (Status::External, Some(value)) => {
                if self.verified {
                    return Err("status external but verified true: mwbench checked nothing".into());
                }
                if !unit.plausible(value) {
                    return Err(implausible(value));
                }
            }
            (_, Some(_)) => return Err("a throughput without status ok".into()),
            (_, None) if self.verified => {
                return Err("verified without a throughput".into());
            }
            (_, None) => {}
        }
        super::units::check_workload_unit(&self.workload, unit)?;
        let external = self.workload == EXTERNAL_WORKLOAD;
        if (self.status == Status::External) != external && self.status != Status::Failed {
            return Err(format!(
                "status {} for workload {}: only `external` results (mwbench meter) are external",
                self.status.as_str(),
                self.workload
            ));
        }
        self.power
            .check_consistent()
            .map_err(|why| format!("power: {why}"))?;
        super::sustained::check_consistent(
            &self.series,
            self.sustained.as_ref(),
            unit,
            &self.samples,
        )?;
        if self.sustained.is_some() && self.status != Status::Ok {
            return Err("a sustained summary without a verified figure".into());
        }
        let figures = self
            .efficiency
            .iter()
            .chain(&self.efficiency_above_idle)
            .chain(&self.also);
        for figure in figures {
            if !(figure.value.is_finite() && figure.value >= 0.0) {
                return Err(format!(
                    "a figure of {} {}",
                    shown(figure.value),
                    figure.unit
                ));
            }
        }
        if let Some(fraction) = self.ceiling.as_ref().and_then(|c| c.fraction)
            && !(fraction.is_finite() && fraction >= 0.0)
        {
            return Err(format!("a ceiling fraction of {}", shown(fraction)));
        }
        self.check_decode_context()
    }

    /// A decode's shape names its context, which results are matched by:
    /// it must be the context it ran at, `params.context` (where the
    /// result has one: a result that did not run has only its shape).
    fn check_decode_context(&self) -> Result<(), String> {
        if self.workload != DECODE_WORKLOAD {
            return Ok(());
        }
        let (Some(context), Some((_, named))) = (
            self.params.get("context"),
            self.shape().split_once(" context "),
        ) else {
            return Ok(());
        };
        let named = named.split(" batch ").next().unwrap_or(named);
        // As text: shapes are matched as text, so `+4096` or `04096` is
        // not 4096.
        match context.as_u64() {
            Some(context) if context.to_string() == named => Ok(()),
            _ => Err(format!(
                "params.shape names context {named}, but params.context is {context}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Provenance;

    fn example() -> ResultFile {
        let power = PowerReading {
            provenance: Provenance::Sensor,
            source: "rapl: CPU package energy".into(),
            shared: true,
            watts: Some(200.0),
            watts_min: Some(190.0),
            watts_median: Some(201.0),
            watts_max: Some(215.0),
            idle_watts: Some(40.0),
            energy_j: Some(2000.0),
            seconds: Some(10.0),
            samples: 100,
            interval_ms: Some(100),
        };
        ResultFile {
            schema_version: SCHEMA_VERSION,
            mwbench_version: "0.1.0".into(),
            created: "2026-11-25T10:00:00Z".into(),
            machine: Machine::current(),
            device: ResultDevice {
                name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
                backend: Backend::Vulkan,
                device_type: DeviceType::Cpu,
                driver: "llvmpipe".into(),
                driver_info: "Mesa 22.3.6".into(),
                vendor_id: 0x10005,
                pci_bus_id: String::new(),
                timing: TimingMethod::GpuTimestamps,
                memory: None,
            },
            settings: Settings {
                quick: true,
                measure_seconds: 0.6,
                warm_up_seconds: 0.2,
                sample_seconds: 0.1,
                min_samples: 3,
                sustain_seconds: None,
                interval_seconds: None,
            },
            interrupted: false,
            results: vec![
                WorkloadResult {
                    workload: "sha256d".into(),
                    status: Status::Ok,
                    params: serde_json::Map::from_iter([("bits".to_string(), "1b04864c".into())]),
                    throughput: Throughput {
                        value: Some(4.0e7),
                        unit: Unit::HashesPerSecond,
                    },
                    samples: vec![4.2e7, 4.0e7, 4.0e7 / 3.0],
                    verified: true,
                    check: "found the real nonce".into(),
                    efficiency: per_watt(Unit::HashesPerSecond, 4.0e7, 200.0),
                    efficiency_above_idle: per_watt(Unit::HashesPerSecond, 4.0e7, 160.0),
                    also: vec![Figure {
                        value: 4.0e4,
                        unit: "kH/s".into(),
                    }],
                    power: power.clone(),
                    ceiling: None,
                    concurrent_with: 0,
                    series: Vec::new(),
                    sustained: None,
                },
                WorkloadResult::without_figure(
                    "peak-fma-f32",
                    Status::Failed,
                    Unit::GflopPerSecond,
                    "mismatch".into(),
                    power,
                ),
            ],
        }
    }

    #[test]
    fn json_round_trips_to_the_same_value() {
        let file = example();
        let text = file.to_json();
        assert_eq!(ResultFile::from_json(&text).unwrap(), file);
    }

    #[test]
    fn schema_fields_are_where_readers_expect_them() {
        let value: serde_json::Value = serde_json::from_str(&example().to_json()).unwrap();
        assert_eq!(value["schema_version"], SCHEMA_VERSION);
        let ok = &value["results"][0];
        assert_eq!(ok["throughput"]["unit"], "H/s");
        assert_eq!(ok["throughput"]["value"], 4.0e7);
        assert_eq!(ok["samples"].as_array().unwrap().len(), 3);
        assert_eq!(ok["verified"], true);
        assert_eq!(ok["power"]["provenance"], "sensor");
        assert_eq!(ok["power"]["shared"], true);
        assert_eq!(ok["power"]["idle_watts"], 40.0);
        assert_eq!(ok["power"]["energy_j"], 2000.0);
        assert_eq!(ok["power"]["samples"], 100);
        assert_eq!(ok["power"]["interval_ms"], 100);
        // 40 MH/s at 200 - 40 W above idle.
        assert_eq!(ok["efficiency_above_idle"][0]["value"], 2.5e5);
        assert_eq!(ok["efficiency"][0]["unit"], "H/J");
        assert_eq!(ok["efficiency"][0]["value"], 2.0e5);
        // 200 W at 40 MH/s is 5e6 J/TH.
        assert_eq!(ok["efficiency"][1]["value"], 5.0e6);
        assert_eq!(ok["also"][0]["value"], 4.0e4);
        assert_eq!(ok["also"][0]["unit"], "kH/s");
        let failed = &value["results"][1];
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["throughput"]["value"], serde_json::Value::Null);
        assert_eq!(failed["verified"], false);
    }

    /// Every result file committed under `results/` still reads, whatever
    /// schema version wrote it.
    #[test]
    fn committed_result_files_of_every_version_read() {
        let directory = crate::fixtures::repository_root().join("results");
        let mut versions = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(directory).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file =
                ResultFile::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            versions.insert(file.schema_version);
        }
        assert!(
            versions.contains(&1),
            "a version 1 file is kept to test reading"
        );
    }

    #[test]
    fn a_version_1_power_block_reads_with_the_new_fields_empty() {
        let mut value: serde_json::Value = serde_json::from_str(&example().to_json()).unwrap();
        value["schema_version"] = 1.into();
        value["results"][0]["power"] =
            serde_json::json!({"provenance": "user", "source": "--watts", "watts": 200.0});
        value["results"][0]
            .as_object_mut()
            .unwrap()
            .remove("efficiency_above_idle");
        let file = ResultFile::from_json(&value.to_string()).unwrap();
        let power = &file.results[0].power;
        assert_eq!(
            (power.watts, power.idle_watts, power.samples),
            (Some(200.0), None, 0)
        );
        assert!(file.results[0].efficiency_above_idle.is_empty());
    }

    /// An outside command's figure is `external`, under the workload of
    /// that name, never verified; nothing else may claim the status.
    #[test]
    fn external_figures_are_labelled_and_nothing_else_is() {
        let mut file = example();
        let mut external = file.results[0].clone();
        external.workload = EXTERNAL_WORKLOAD.into();
        external.status = Status::External;
        external.verified = false;
        // A tool's mean of its repetitions need not be their median.
        external.throughput.value = Some(4.1e7);
        let power = external.power.clone();
        let external = external.with_power(power);
        file.results.push(external.clone());
        ResultFile::from_json(&file.to_json()).unwrap();
        for (change, why) in [
            (
                (|r: &mut WorkloadResult| r.verified = true) as fn(&mut WorkloadResult),
                "verified true",
            ),
            (
                |r| r.workload = "peak-fma-f32x".into(),
                "status external for workload",
            ),
            (|r| r.status = Status::Ok, "verified false"),
            (|r| r.throughput.value = None, "without a throughput"),
        ] {
            let mut bad = file.clone();
            change(bad.results.last_mut().unwrap());
            let error = ResultFile::from_json(&bad.to_json()).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
        let mut memory = example();
        memory.device.memory = Some(DeviceMemory {
            bytes: 1024,
            source: "edited".into(),
        });
        let error = ResultFile::from_json(&memory.to_json()).unwrap_err();
        assert!(error.contains("device.memory.bytes is 1024"), "{error}");
    }

    /// Figures a file states that its other figures contradict: a unit
    /// not its workload's, a rate below any adapter's, a time that is
    /// none or far ahead.
    #[test]
    fn figures_the_file_contradicts_are_refused() {
        type Edit = fn(&mut WorkloadResult, &mut ResultFile);
        let cases: [(Edit, &str); 5] = [
            (
                |r, _| r.throughput.unit = Unit::TokensPerSecond,
                "unit tokens/s for workload sha256d, whose throughput is in H/s",
            ),
            (
                |r, _| {
                    r.workload = EXTERNAL_WORKLOAD.into();
                    r.status = Status::External;
                    r.verified = false;
                    r.throughput.value = Some(1e-300);
                    r.samples.clear();
                },
                "throughput 1e-300 H/s, outside [1e0, 1e16] H/s",
            ),
            (
                |_, f| f.created = "last tuesday".into(),
                "created is 'last tuesday', not an RFC 3339 time",
            ),
            (
                |_, f| f.created = "9999-01-01T00:00:00Z".into(),
                "created is 9999-01-01T00:00:00Z, not between",
            ),
            (
                |_, f| f.created = "1970-01-01T00:00:00Z".into(),
                "not between 2020-01-01T00:00:00Z",
            ),
        ];
        for (edit, said) in cases {
            let mut file = example();
            let mut result = file.results[0].clone();
            edit(&mut result, &mut file);
            file.results[0] = result;
            let error = ResultFile::from_json(&file.to_json()).unwrap_err();
            assert!(error.contains(said), "'{error}' lacks '{said}'");
        }
        // A stored figure per watt is worked out again from the rate and
        // watts, whatever the file says; none without watts.
        let mut file = example();
        file.results[0].efficiency[0].value *= 1000.0;
        file.results[0].efficiency_above_idle[1].value /= 2.0;
        file.results[1].efficiency = per_watt(Unit::GflopPerSecond, 1.0, 1.0);
        let read = ResultFile::from_json(&file.to_json()).unwrap();
        assert_eq!(read, example());
        // An external figure carries the unit its tool measured.
        let mut file = example();
        let external = &mut file.results[0];
        external.workload = EXTERNAL_WORKLOAD.into();
        external.status = Status::External;
        external.verified = false;
        external.throughput.unit = Unit::TokensPerSecond;
        external.samples = vec![4.0e7];
        let power = external.power.clone();
        file.results[0] = file.results[0].clone().with_power(power);
        ResultFile::from_json(&file.to_json()).unwrap();
        assert_eq!(super::super::units::workload_unit("llm-decode-v9"), None);
    }

    /// An older decode file's shape reads with its context, as a newer
    /// one writes it: the two match at the same context and no other.
    #[test]
    fn a_decode_shape_names_its_context() {
        assert_eq!(
            decode_shape("llama3-8b q4 batch 16", 4096),
            "llama3-8b q4 context 4096 batch 16"
        );
        assert_eq!(decode_shape("tiny f16", 100), "tiny f16 context 100");
        let committed = crate::fixtures::repository_root()
            .join("results/h200-vulkan-2026-11-27-llama3-8b-q4.json");
        let text = std::fs::read_to_string(committed).unwrap();
        let file = ResultFile::from_json(&text).unwrap();
        let decode = file
            .results
            .iter()
            .find(|r| r.workload == DECODE_WORKLOAD)
            .unwrap();
        assert_eq!(decode.shape(), "llama3-8b q4 context 4096");
        let prefill = file
            .results
            .iter()
            .find(|r| r.workload == "llm-prefill")
            .unwrap();
        assert_eq!(prefill.shape(), "llama3-8b q4");
        // Read twice, the context is named once.
        let again = ResultFile::from_json(&file.to_json()).unwrap();
        assert_eq!(again, file);
        // A shape that names another context than the run's is refused;
        // one without params.context (a result that did not run) reads.
        let at = file
            .results
            .iter()
            .position(|r| r.workload == DECODE_WORKLOAD)
            .unwrap();
        for (shape, context, said) in [
            (
                "llama3-8b q4 context 999",
                serde_json::json!(4096),
                "params.shape names context 999, but params.context is 4096",
            ),
            (
                "llama3-8b q4 context 999 batch 4",
                serde_json::json!(4096),
                "names context 999, but",
            ),
            (
                "llama3-8b q4 context 4096",
                serde_json::json!("4096"),
                "is \"4096\"",
            ),
            (
                "llama3-8b q4 context 4096",
                serde_json::json!(4096.5),
                "is 4096.5",
            ),
            (
                "llama3-8b q4 context 4096",
                serde_json::json!(-4096),
                "is -4096",
            ),
            (
                "llama3-8b q4 context +4096",
                serde_json::json!(4096),
                "context +4096,",
            ),
            (
                "llama3-8b q4 context ",
                serde_json::json!(4096),
                "names context ,",
            ),
        ] {
            let mut bad = file.clone();
            let params = &mut bad.results[at].params;
            params.insert("shape".into(), shape.into());
            params.insert("context".into(), context);
            let error = ResultFile::from_json(&bad.to_json())
                .err()
                .unwrap_or_else(|| panic!("{shape} read"));
            assert!(error.contains(said), "'{error}' lacks '{said}'");
        }
        let mut unrun = file.clone();
        let params = &mut unrun.results[at].params;
        params.insert("shape".into(), "llama3-8b q4 context 999 batch 4".into());
        params.remove("context");
        ResultFile::from_json(&unrun.to_json()).unwrap();
    }

    #[test]
    fn newer_and_foreign_files_are_refused_with_a_reason() {
        let mut value: serde_json::Value = serde_json::from_str(&example().to_json()).unwrap();
        value["schema_version"] = (SCHEMA_VERSION + 1).into();
        let newer = ResultFile::from_json(&value.to_string()).unwrap_err();
        assert!(newer.contains("upgrade mwbench"), "{newer}");
        let foreign = ResultFile::from_json("{\"name\": 1}").unwrap_err();
        assert!(foreign.contains("no schema_version"), "{foreign}");
        assert!(
            ResultFile::from_json("not json")
                .unwrap_err()
                .starts_with("not JSON")
        );
    }

    /// Every committed result file, and the fixtures the tests use, is a
    /// valid instance of the schema `mwbench schema` prints.
    #[test]
    fn committed_and_fixture_files_validate_against_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let root = crate::fixtures::repository_root();
        let mut checked = 0;
        for directory in ["results", "tests/fixtures/results"] {
            for entry in std::fs::read_dir(root.join(directory)).unwrap().flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let value: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{}: {errors:?}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 5, "only {checked} files");
        // And the schema rejects what is not a result file.
        assert!(!validator.is_valid(&serde_json::json!({"schema_version": 2})));
        assert!(
            validator.is_valid(
                &serde_json::from_str::<serde_json::Value>(&example().to_json()).unwrap()
            )
        );
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        fn fixture() -> serde_json::Value {
            let path = crate::fixtures::repository_root()
                .join("tests/fixtures/results/lavapipe-tiny-100w.json");
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        }

        fn any_json() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                prop_oneof![Just(1e308), Just(-0.0), Just(0.0), Just(1e-300)]
                    .prop_map(serde_json::Value::from),
                ".{0,12}".prop_map(serde_json::Value::from),
                proptest::collection::vec(any::<f64>(), 0..5).prop_map(serde_json::Value::from),
            ]
        }

        /// Fields of a result a hand or a broken tool might change.
        const FIELDS: [&str; 14] = [
            "/schema_version",
            "/interrupted",
            "/settings/measure_seconds",
            "/results/0/status",
            "/results/0/verified",
            "/results/0/throughput/value",
            "/results/0/throughput/unit",
            "/results/0/samples",
            "/results/0/samples/0",
            "/results/0/power/watts",
            "/results/0/power/provenance",
            "/results/1/params/shape",
            "/results/1/efficiency/0/value",
            "/results",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_text_is_a_result_file_or_an_error(text in ".{0,300}") {
                let _ = ResultFile::from_json(&text);
            }

            /// One field of a real file set to anything: the file reads,
            /// consistent, or is refused with a reason; nothing panics.
            #[test]
            fn any_field_set_to_anything(field in 0..FIELDS.len(), value in any_json()) {
                let mut file = fixture();
                if let Some(slot) = file.pointer_mut(FIELDS[field]) {
                    *slot = value;
                }
                match ResultFile::from_json(&file.to_string()) {
                    Ok(read) => prop_assert!(read.check_consistent().is_ok()),
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
            }
        }
    }
}
