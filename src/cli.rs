//! The command line, parsed once with clap and turned into the commands'
//! plain options. Nothing below this module knows about clap, except
//! `economics::Inputs`: it is both `value`'s price flags and a site file's
//! keys, so that the two cannot drift apart.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    self, CompareOptions, ExportFormat, ExportOptions, MergeOptions, MeterOptions, MineOptions,
    Outcome, ReportOptions, RunOptions, ValueOptions,
};
use crate::economics::{Inputs, Sweep};
use crate::gpu::DeviceSelector;
use crate::measure::SamplePlan;
use crate::power::PowerChoice;
use crate::report::Format;
use crate::workloads::{self, sha256d::BlockHeader, sha256d::Target};
use crate::{Error, Result};

/// Benchmarks GPUs for a bitcoin-mining site deciding, per megawatt, whether
/// to hash or to serve AI inference.
#[derive(Debug, Parser)]
#[command(name = "mwbench", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every adapter wgpu sees, on every backend, with its features and limits.
    Devices {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Scan nonces of a block header for double SHA-256 hashes that meet a target.
    Mine(MineArgs),
    /// Run workloads, print a table and write a result file.
    Run(RunArgs),
    /// Price hashing against AI inference per MWh of site energy, from
    /// result files and ASIC figures, at a power price.
    Value(Box<ValueArgs>),
    /// Compare result files with the first: throughput, per-watt figures,
    /// ratios with intervals, and a regression gate for CI.
    Compare(CompareArgs),
    /// Merge many nodes' result files into one site: totals and spread per
    /// device model and workload, the GPUs that fall behind named.
    Merge(MergeArgs),
    /// Write result files in a monitoring system's format (Prometheus's
    /// text format for node_exporter's textfile collector).
    Export(ExportArgs),
    /// Write one self-contained HTML report of result files and merged site
    /// files: machine, results, roofline, sustained series, comparison,
    /// site groups and (with the value flags) value per MW.
    Report(Box<ReportArgs>),
    /// Run a command (a serving benchmark, llama-bench, hashcat) under the
    /// same power meters as `run`, and write its energy and the work it
    /// reports as a result file, labelled external (not checked).
    Meter(MeterArgs),
    /// Print the JSON Schema of result files.
    Schema,
}

#[derive(Debug, Args)]
pub struct MeterArgs {
    /// Where the work the command did is read from: vllm=FILE (the JSON of
    /// `vllm bench serve --save-result --result-filename FILE`),
    /// llama-bench (`-o json` on its stdout), hashcat (`-b
    /// --machine-readable` on its stdout), or count=N UNIT (a fixed amount
    /// of work; UNIT H, tokens or FLOP).
    #[arg(long, value_name = "FORMAT", required = true)]
    pub parse: crate::external::Parse,
    /// The adapter whose power sources measure the command (one adapter).
    #[command(flatten)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds the command may run before its whole process group is
    /// stopped (SIGTERM, then SIGKILL 10 s later) and the result is failed
    /// (at most a day).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400.0, value_parser = parse_duration, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Result file to write (default: mwbench-runs/<host>-<adapter>-<time>.json
    /// under the current directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
    /// The command and its arguments, after `--`, run as given (no shell).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base result file, then the files to compare with it.
    #[arg(value_name = "FILE.json", num_args = 2.., required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
    /// Slowdown, in percent of the base, beyond which a significant
    /// difference is a regression.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Exit 1 when any workload regressed (or newly fails its check).
    #[arg(long)]
    pub fail_on_regression: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Result files, and directories searched recursively for *.json.
    #[arg(value_name = "FILE|DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// Also write the merged site as JSON to FILE (beside and renamed):
    /// `mwbench value` reads it as it reads result files.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
    /// A member more than PERCENT below its group's median is an outlier.
    #[arg(long, value_name = "PERCENT", default_value_t = crate::merge::DEFAULT_OUTLIER_THRESHOLD_PERCENT, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub outlier_threshold: f64,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Result files, and directories searched recursively for *.json.
    #[arg(value_name = "FILE|DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// The format to write.
    #[arg(long, value_name = "FORMAT", default_value = "prometheus")]
    pub format: ExportFormat,
    /// Write to FILE (beside and renamed) instead of stdout: a `.prom` file
    /// in node_exporter's --collector.textfile.directory.
    #[arg(long, value_name = "FILE.prom")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValueArgs {
    /// Result files written by `mwbench run`.
    #[arg(value_name = "RESULT.json")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub pricing: PricingArgs,
    /// Draw margin per MWh against the power price into FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result files from `mwbench run` and merged site files from
    /// `mwbench merge --out`; the first result file is the comparison's
    /// base.
    #[arg(value_name = "FILE.json", required = true)]
    pub files: Vec<PathBuf>,
    /// The HTML file to write (beside and renamed): self-contained, it
    /// opens without a network.
    #[arg(long, value_name = "FILE.html", required = true)]
    pub out: PathBuf,
    /// As `compare --threshold`.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f64,
    /// `value`'s flags: with any of them the report has a value section.
    #[command(flatten)]
    pub pricing: PricingArgs,
}

/// What `value` prices with, and `report` too.
#[derive(Debug, Args)]
pub struct PricingArgs {
    /// A TOML file with any of the price options below (keys as the
    /// option names with underscores: power_price, pue_ai, asic = [...]);
    /// options given on the command line win.
    #[arg(long, value_name = "FILE")]
    pub site: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: Inputs,
    /// Also price every power price FROM, FROM+STEP, ... TO (USD per MWh).
    #[arg(long, value_name = "FROM:TO:STEP", allow_hyphen_values = true)]
    pub sweep: Option<Sweep>,
}

#[derive(Debug, Args)]
pub struct MineArgs {
    /// The 80-byte header as 160 hex characters; its nonce field is ignored.
    #[arg(long, value_name = "HEX", value_parser = BlockHeader::from_hex)]
    pub header: BlockHeader,
    /// First nonce to scan.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub start: u32,
    /// How many nonces to scan (at least 1; start + count stays within u32).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub count: u64,
    /// Compact target, 8 hex characters (default: the header's own bits).
    #[arg(long, value_name = "HEX8", value_parser = Target::from_bits_hex, conflicts_with = "target")]
    pub bits: Option<Target>,
    /// Full target, 64 hex characters, most significant first.
    #[arg(long, value_name = "HEX64", value_parser = Target::from_hex)]
    pub target: Option<Target>,
    #[command(flatten)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Comma-separated workload names, or all (`mwbench run --list` shows
    /// them, with their units and shapes).
    #[arg(long, value_name = "LIST|all", default_value = "all")]
    pub workloads: String,
    /// List the workloads, with their units, shapes and what each
    /// measures, and run nothing.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub device: DeviceArg,
    /// With several adapters (--device all): run each workload on all of
    /// them at the same time, as a node does in production, instead of one
    /// adapter after another.
    #[arg(long)]
    pub concurrent: bool,
    /// Seconds of measured samples per workload (default 10; 0.6 with
    /// --quick); at most a day.
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Run each workload without pause for SECONDS after its warm-up, and
    /// record throughput, power, temperature, clocks and throttling per
    /// interval: the steady figure a site earns, not the first seconds
    /// (at most 6 hours; not with --quick or --duration).
    #[arg(long, value_name = "SECONDS", value_parser = parse_sustain, allow_negative_numbers = true)]
    pub sustain: Option<f64>,
    /// Seconds per interval of --sustain (default 10; at least 1, and at
    /// least 3 intervals in the run).
    #[arg(long, value_name = "SECONDS", value_parser = parse_interval, allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Seconds one submission to the GPU may take before the GPU counts as
    /// hung: its workload fails, what was measured is written, and the run
    /// stops with exit 1 (default 60; 600 on CPU adapters such as lavapipe,
    /// which share the CPU with everything else).
    #[arg(long, value_name = "SECONDS", value_parser = parse_kernel_timeout, allow_negative_numbers = true)]
    pub kernel_timeout: Option<f64>,
    /// A short run that checks everything works: few, short samples, one
    /// small shape per kernel, and the tiny model unless --preset is given
    /// (about a minute on lavapipe; not a GPU's throughput).
    #[arg(long)]
    pub quick: bool,
    /// on: each kernel family tries its variants briefly at the run's
    /// shape and keeps the fastest that passes its check (recorded as
    /// params.variant). off: each family runs its default variant, the
    /// same code every time, for regression gates. Ceilings are always
    /// the fastest variant.
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = parse_tune)]
    pub tune: crate::workloads::tuning::Tune,
    #[command(flatten)]
    pub power: PowerArgs,
    /// Model that llm-decode and llm-prefill run: llama3-8b, llama3-70b or
    /// tiny [default: llama3-8b; tiny with --quick].
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Weight format of the LLM workloads: f16, q8 (Q8_0) or q4 (Q4_0).
    #[arg(long, value_name = "FORMAT", default_value = "f16")]
    pub weights: String,
    /// Sequences llm-decode decodes together, one result each: a list, or
    /// max for the largest batch whose weights and KV caches fit the
    /// adapter.
    #[arg(long, value_name = "LIST", default_value = "1,16,64")]
    pub batch: String,
    /// Tokens in each decoded sequence's KV cache; a batch's sequences
    /// spread from 3/4 to 5/4 of it [default: the preset's, 4096 for the
    /// Llama presets].
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u32).range(1..=131_072))]
    pub context: Option<u32>,
    /// Result file to write (default: mwbench-runs/<host>-<adapter>-<time>.json
    /// under the current directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArg,
}

/// Where watts come from, shared by `run` and `meter`.
#[derive(Debug, Args)]
pub struct PowerArgs {
    /// Where watts come from: auto (the adapter's sensor: NVML, hwmon, or
    /// RAPL for CPU adapters; never an estimate), nvml, hwmon, rapl, cmd
    /// (with --power-cmd) or tdp (board power: an estimate).
    #[arg(long, value_name = "SOURCE")]
    pub power: Option<String>,
    /// An external meter: a command printing watts (the first number on its
    /// stdout), run without a shell at every power sample.
    #[arg(long, value_name = "\"PROGRAM ARG...\"")]
    pub power_cmd: Option<String>,
    /// Power draw read off a meter, in watts: recorded as user-given, and
    /// used for throughput per watt.
    #[arg(long, value_name = "W", value_parser = parse_positive_watts, allow_negative_numbers = true)]
    pub watts: Option<f64>,
    /// Milliseconds between power samples.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub power_interval_ms: u64,
    /// Seconds of idle power to measure before the workloads or the
    /// metered command (0 skips it); results keep figures above idle too.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_idle_seconds, allow_negative_numbers = true)]
    pub idle: f64,
}

impl PowerArgs {
    fn choice(&self) -> Result<PowerChoice> {
        PowerChoice::from_args(self.power.as_deref(), self.power_cmd.as_deref(), self.watts)
    }
}

/// `--format`, shared by every command that prints a result, and `--json`,
/// its alias for `--format json`.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// How to print the result: table, json, markdown, or csv (run,
    /// compare and value, whose rows are flat).
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: Format,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl FormatArg {
    fn get(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// `--device`, shared by every command that runs kernels.
#[derive(Debug, Args)]
pub struct DeviceArg {
    /// Adapter index or part of its name (see `mwbench devices`), or all
    /// (every GPU once; every adapter where there is no GPU). Default: the
    /// first discrete GPU, else integrated, else any.
    #[arg(long = "device", value_name = "INDEX|NAME|all")]
    pub selector: Option<DeviceSelector>,
}

impl DeviceArg {
    fn selector(&self) -> DeviceSelector {
        self.selector.clone().unwrap_or_default()
    }
}

fn parse_count(text: &str) -> std::result::Result<u64, String> {
    let count: u64 = text.parse().map_err(|e| format!("not a count: {e}"))?;
    if count == 0 {
        return Err("count must be at least 1".into());
    }
    Ok(count)
}

/// A number above zero and at most `max`, for a flag that names `what`.
fn parse_positive(text: &str, what: &str, max: f64) -> std::result::Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{what} must be a number"))?;
    if !value.is_finite() || value <= 0.0 || value > max {
        return Err(format!(
            "{what} must be greater than zero and at most {max}"
        ));
    }
    Ok(value)
}

/// Longer than any sample plan a person or scheduler means.
const MAX_SECONDS: f64 = 86_400.0;

fn parse_duration(text: &str) -> std::result::Result<f64, String> {
    parse_positive(text, "duration (seconds)", MAX_SECONDS)
}

/// Longest `--sustain`: six hours of samples fit in a result file.
const MAX_SUSTAIN_SECONDS: f64 = 21_600.0;

fn parse_sustain(text: &str) -> std::result::Result<f64, String> {
    parse_positive(text, "sustain (seconds)", MAX_SUSTAIN_SECONDS)
}

fn parse_interval(text: &str) -> std::result::Result<f64, String> {
    let seconds = parse_positive(text, "interval (seconds)", MAX_SUSTAIN_SECONDS)?;
    if seconds < 1.0 {
        return Err("interval must be at least 1 second".into());
    }
    Ok(seconds)
}

/// The plan of `run`'s `--quick`, `--duration`, `--sustain` and
/// `--interval`, or the usage error of a combination that means nothing.
fn sample_plan(args: &RunArgs) -> Result<SamplePlan> {
    let mut plan = if args.quick {
        SamplePlan::quick()
    } else {
        SamplePlan::standard()
    };
    plan.tune = args.tune;
    match (args.sustain, args.interval, args.duration) {
        (Some(_), _, _) if args.quick => Err(Error::usage(
            "--sustain measures the steady figure over a long run; --quick is a short check: \
             choose one",
        )),
        (Some(_), _, Some(_)) => Err(Error::usage(
            "--sustain sets how long each workload runs; it cannot be combined with --duration",
        )),
        (None, Some(_), _) => Err(Error::usage(
            "--interval cuts a --sustain run: give --sustain",
        )),
        (Some(seconds), interval, None) => {
            let interval = interval.unwrap_or(DEFAULT_INTERVAL_SECONDS);
            let intervals = (seconds / interval).floor() as usize;
            if intervals < crate::results::MIN_INTERVALS {
                return Err(Error::usage(format!(
                    "--sustain {seconds} with --interval {interval} gives {intervals} \
                     interval(s); at least {} (a first and a steady last half)",
                    crate::results::MIN_INTERVALS
                )));
            }
            Ok(plan.sustained(seconds, interval))
        }
        (None, None, Some(seconds)) => Ok(plan.with_duration(seconds)),
        (None, None, None) => Ok(plan),
    }
}

fn parse_tune(text: &str) -> std::result::Result<crate::workloads::tuning::Tune, String> {
    use crate::workloads::tuning::Tune;
    match text {
        "on" => Ok(Tune::On),
        "off" => Ok(Tune::Off),
        _ => Err("expected on or off".into()),
    }
}

/// `--interval`'s default.
const DEFAULT_INTERVAL_SECONDS: f64 = 10.0;

fn parse_kernel_timeout(text: &str) -> std::result::Result<f64, String> {
    let seconds = parse_positive(text, "kernel timeout (seconds)", MAX_SECONDS)?;
    if seconds < 0.001 {
        return Err("kernel timeout must be at least 0.001 seconds".into());
    }
    Ok(seconds)
}

fn parse_idle_seconds(text: &str) -> std::result::Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| "idle must be a number of seconds".to_string())?;
    if !value.is_finite() || !(0.0..=3600.0).contains(&value) {
        return Err("idle must be between 0 and 3600 seconds".into());
    }
    Ok(value)
}

fn parse_threshold(text: &str) -> std::result::Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| "threshold must be a number of percent".to_string())?;
    if !value.is_finite() || !(0.0..100.0).contains(&value) {
        return Err("threshold must be a percentage from 0 to below 100".into());
    }
    Ok(value)
}

fn parse_positive_watts(text: &str) -> std::result::Result<f64, String> {
    let watts = parse_positive(text, "watts", crate::power::MAX_WATTS)?;
    // What every reading is held to: refused here, before anything runs.
    if watts < crate::power::MIN_WATTS {
        return Err(format!(
            "watts must be at least {} (no device draws less)",
            crate::power::MIN_WATTS
        ));
    }
    Ok(watts)
}

impl Cli {
    /// Runs the parsed command. `stdout` takes what a command streams as
    /// it goes (`mine`'s hits); the rest comes back in the [`Outcome`].
    pub fn execute(self, stdout: &mut dyn std::io::Write) -> Result<Outcome> {
        match self.command {
            Command::Devices { format } => commands::devices(format.get()),
            Command::Mine(args) => commands::mine(
                &MineOptions {
                    header: args.header,
                    start: args.start,
                    count: args.count,
                    target: args.target.or(args.bits),
                    device: args.device.selector(),
                    format: args.format.get(),
                },
                stdout,
            ),
            Command::Compare(args) => commands::compare(&CompareOptions {
                files: args.files,
                format: args.format.get(),
                threshold_percent: args.threshold,
                fail_on_regression: args.fail_on_regression,
            }),
            Command::Merge(args) => commands::merge(&MergeOptions {
                paths: args.paths,
                out: args.out,
                format: args.format.get(),
                outlier_threshold_percent: args.outlier_threshold,
            }),
            Command::Export(args) => commands::export(&ExportOptions {
                paths: args.paths,
                format: args.format,
                out: args.out,
            }),
            Command::Report(args) => commands::report(&ReportOptions {
                files: args.files,
                out: args.out,
                threshold_percent: args.threshold,
                inputs: args.pricing.inputs,
                site: args.pricing.site,
                sweep: args.pricing.sweep,
            }),
            Command::Schema => Ok(Outcome::printed(crate::results::json_schema())),
            Command::Meter(args) => commands::meter(&MeterOptions {
                command: args.command,
                parse: args.parse,
                device: args.device.selector(),
                power: args.power.choice()?,
                power_interval: Duration::from_millis(args.power.power_interval_ms),
                idle_seconds: args.power.idle,
                timeout: Duration::from_secs_f64(args.timeout),
                out: args.out,
                format: args.format.get(),
            }),
            Command::Value(args) => commands::value(&ValueOptions {
                files: args.files,
                inputs: args.pricing.inputs,
                site: args.pricing.site,
                sweep: args.pricing.sweep,
                chart: args.chart,
                format: args.format.get(),
            }),
            Command::Run(args) => {
                let sizes = if args.quick {
                    workloads::Sizes::Quick
                } else {
                    workloads::Sizes::Full
                };
                let preset = match (&args.preset, sizes) {
                    (Some(name), _) => name.as_str(),
                    (None, workloads::Sizes::Quick) => "tiny",
                    (None, workloads::Sizes::Full) => "llama3-8b",
                };
                let llm = workloads::LlmChoice {
                    preset: workloads::llm::Preset::named(preset)?,
                    weights: workloads::llm::parse_weights(&args.weights)?,
                    batches: workloads::llm::parse_batches(&args.batch)?,
                    context: args.context.map(|c| c as usize),
                };
                if args.list {
                    return commands::list_workloads(
                        &workloads::all_for(&llm, sizes),
                        args.format.get(),
                    );
                }
                let plan = sample_plan(&args)?;
                commands::run(&RunOptions {
                    workloads: workloads::parse_list(&args.workloads, llm, sizes)?,
                    device: args.device.selector(),
                    plan,
                    quick: args.quick,
                    power: args.power.choice()?,
                    power_interval: Duration::from_millis(args.power.power_interval_ms),
                    kernel_timeout: args.kernel_timeout.map(Duration::from_secs_f64),
                    idle_seconds: args.power.idle,
                    out: args.out,
                    format: args.format.get(),
                    concurrent: args.concurrent,
                })
            }
        }
    }
}
