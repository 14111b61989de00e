//! `mwbench meter -- COMMAND [ARGS...]`: the energy of any command (a
//! site's own serving stack, llama-bench, hashcat) under the same meters
//! as `run`, and the work it reports, written as a result file whose
//! figures are `external`: measured power, reported work, never verified.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Outcome;
use crate::external::child::{self, Ending, Finished};
use crate::external::{self, Parse, Reported, Work};
use crate::gpu::{self, AdapterSummary, DeviceSelector};
use crate::power::{self, PowerChoice, PowerReading};
use crate::report::{self, Document, Format, Output};
use crate::results::{
    self, DeviceType, EXTERNAL_WORKLOAD, Machine, ResultFile, SCHEMA_VERSION, Settings, Status,
    Throughput, TimingMethod, Unit, WorkloadResult,
};
use crate::{Error, Result};

/// Options of `mwbench meter`.
pub struct MeterOptions {
    /// The command and its arguments, run without a shell.
    pub command: Vec<String>,
    pub parse: Parse,
    pub device: DeviceSelector,
    pub power: PowerChoice,
    pub power_interval: Duration,
    pub idle_seconds: f64,
    /// Longest the command may run before its group is stopped.
    pub timeout: Duration,
    pub out: Option<PathBuf>,
    pub format: Format,
}

/// Runs the command under the meter, writes its result file and returns
/// its table. Exit 1 (after writing) when the command failed, timed out or
/// printed what `--parse` cannot read; 128 + the signal when SIGINT or
/// SIGTERM stopped it; 2 when it cannot be started at all.
pub fn meter(options: &MeterOptions) -> Result<Outcome> {
    if options.command.is_empty() || options.command[0].is_empty() {
        return Err(Error::usage(
            "no command to meter: give it after --, e.g. mwbench meter --parse hashcat -- \
             hashcat -b -m 21400 --machine-readable",
        ));
    }
    if let Some(out) = &options.out {
        // Written only once the command has run, perhaps for hours: a
        // FIFO that nothing reads by then, or a device, would lose the run.
        // A regular file or none, checked before the command starts.
        if let Ok(metadata) = std::fs::metadata(out)
            && !metadata.is_file()
        {
            return Err(Error::usage(format!(
                "{}: not a regular file (meter writes its file when the command ends)",
                out.display()
            )));
        }
        results::check_writable(out)?;
    }
    let summaries = gpu::summaries(&gpu::enumerate());
    let summary = one_adapter(&summaries, &options.device)?;
    let mut meter = power::meter_for(&options.power, &summary, options.power_interval)?;
    crate::signals::install();
    if meter.measures() && options.idle_seconds > 0.0 {
        crate::stderr_line!(
            "measuring idle power on {} for {} s (--idle 0 skips this)",
            summary.label(),
            options.idle_seconds
        );
        meter.measure_idle(options.idle_seconds)?;
        crate::signals::check()?;
    }
    let written_before = match &options.parse {
        Parse::Vllm(path) => Some((path, external::Stamp::of(path))),
        _ => None,
    };
    let started = format!(
        "metering `{}` on {}",
        shell_words::join(&options.command),
        summary.label()
    );
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let running = child::start(&options.command)?;
    // The meter's window opens right after the command starts and closes
    // right after it ends, so that it covers the command and nothing else.
    meter.start();
    crate::stderr_line!("{started}");
    let finished = running.watch(&child::Watch::metered(options.timeout), || meter.stop())?;
    // A power source that failed while the command ran leaves no watts,
    // but the command's run is still recorded, failed, with the reason.
    let (reading, power_failed) = match meter.reading() {
        Ok(reading) => (reading, None),
        Err(error) => (
            PowerReading::none(format!("failed while the command ran: {error}")),
            Some(error),
        ),
    };
    let reported = match power_failed {
        Some(error) => Err(Error::CommandFailed(format!(
            "the power source failed while the command ran: {error}"
        ))),
        None => figures(options, &finished, written_before),
    };
    let mut results = reported
        .and_then(|reported| {
            reported
                .iter()
                .map(|r| external_result(options, &finished, r, &reading))
                .collect::<Result<Vec<_>>>()
        })
        .unwrap_or_else(|error| vec![failed_result(options, error.to_string(), reading.clone())]);
    let failure = match &finished.ending {
        Ending::Interrupted { signal, exit_code } => Some(Error::Interrupted {
            signal,
            exit_code: *exit_code,
            detail: "; the command was stopped and the result file written, marked interrupted"
                .into(),
        }),
        _ => results
            .iter()
            .find(|r| r.status == Status::Failed)
            .map(|r| Error::CommandFailed(format!("no figure: {}", r.check))),
    };
    // What every result of the command shares.
    let exit_code = match finished.ending {
        Ending::Exited(code) => serde_json::json!(code),
        _ => serde_json::Value::Null,
    };
    for result in &mut results {
        let params = &mut result.params;
        params.insert("command".into(), serde_json::json!(options.command));
        params.insert("parse".into(), options.parse.name().into());
        params.insert("exit_code".into(), exit_code.clone());
        params.insert("wall_seconds".into(), finished.seconds.into());
    }
    let file = ResultFile {
        schema_version: SCHEMA_VERSION,
        mwbench_version: env!("CARGO_PKG_VERSION").to_string(),
        created,
        machine: Machine::current(),
        device: summary.result_device(TimingMethod::HostClock, power::device_memory(&summary)),
        settings: Settings {
            quick: false,
            measure_seconds: finished.seconds,
            warm_up_seconds: 0.0,
            sample_seconds: finished.seconds,
            min_samples: 0,
            sustain_seconds: None,
            interval_seconds: None,
        },
        interrupted: matches!(finished.ending, Ending::Interrupted { .. }),
        results,
    };
    let path = output_path(options.out.as_deref(), &file)?;
    results::write_atomic(&path, file.to_json().as_bytes())?;
    let mut notes = Vec::new();
    if let Some(note) = other_adapters_note(&summaries, &summary, &reading) {
        notes.push(note);
    }
    notes.push(format!("wrote {}", path.display()));
    let mut document = Document::default();
    document.extend(report::run_document(&file));
    let output =
        Output::new(&file, document).with_records(report::run_records(std::slice::from_ref(&file)));
    Ok(Outcome {
        stdout: report::render(&output, options.format)?,
        notes,
        failure,
    })
}

/// The one adapter `--device` names: a command's energy is measured on
/// one adapter's sources (or a host meter).
fn one_adapter(summaries: &[AdapterSummary], selector: &DeviceSelector) -> Result<AdapterSummary> {
    if summaries.is_empty() {
        return Err(Error::NoAdapter);
    }
    let chosen = gpu::select(summaries, selector)?;
    match chosen[..] {
        [index] => Ok(summaries[index].clone()),
        _ => Err(Error::usage(format!(
            "meter measures one adapter's power; --device matches {} ({}): give one index, \
             and a host meter (--power-cmd) for a command that spreads over several GPUs",
            chosen.len(),
            chosen
                .iter()
                .map(|&i| summaries[i].label())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// The work the command reported, or why there is none.
fn figures(
    options: &MeterOptions,
    finished: &Finished,
    written_before: Option<(&PathBuf, external::Stamp)>,
) -> Result<Vec<Reported>> {
    let failed = |why: String| Err(Error::CommandFailed(why));
    match &finished.ending {
        Ending::Exited(0) => {}
        Ending::Exited(code) => {
            return failed(format!(
                "the command exited with code {code}{}",
                said(&finished.last_stderr_line)
            ));
        }
        Ending::Killed(signal) => {
            return failed(format!(
                "the command was killed by signal {signal}{}",
                said(&finished.last_stderr_line)
            ));
        }
        Ending::TimedOut => {
            return failed(format!(
                "the command ran past --timeout {} s: its process group was stopped",
                options.timeout.as_secs_f64()
            ));
        }
        Ending::Interrupted { signal, .. } => {
            return failed(format!(
                "interrupted by {signal}: the command was stopped before it finished"
            ));
        }
    }
    if options.parse.reads_stdout() && finished.stdout_cut {
        return failed(format!(
            "{}: stdout was over {} MiB",
            options.parse.name(),
            child::MAX_STDOUT >> 20
        ));
    }
    if let Some((path, stamp)) = written_before {
        external::check_written(path, &stamp)?;
    }
    external::read(&options.parse, &finished.stdout)
}

/// `: LINE` after a failure, from the command's last stderr line.
fn said(line: &str) -> String {
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

/// Who a figure's `check` says reported it.
fn origin(parse: &Parse) -> &'static str {
    match parse {
        Parse::Vllm(_) => "vllm bench serve",
        Parse::LlamaBench => "llama-bench",
        Parse::Hashcat => "hashcat",
        Parse::Count { .. } => "the user (--parse count)",
    }
}

/// One reported figure as a result: the command's rate (a total work over
/// the metered seconds, so that per-joule figures are work over the
/// energy metered), the power read over the command, labelled external.
fn external_result(
    options: &MeterOptions,
    finished: &Finished,
    reported: &Reported,
    reading: &PowerReading,
) -> Result<WorkloadResult> {
    let unit = reported.unit;
    // A tool's own timed span lies within the command's: a longer one is
    // an earlier run's file.
    if let Some(reported_seconds) = reported
        .params
        .get("reported_seconds")
        .and_then(|v| v.as_f64())
        && reported_seconds > finished.seconds * 1.01 + 0.05
    {
        return Err(Error::CommandFailed(format!(
            "{}: its run took {reported_seconds:.2} s, longer than the command ran ({:.2} s): \
             the file is not this run's",
            options.parse.name(),
            finished.seconds
        )));
    }
    let (rate, basis) = match reported.work {
        Work::Total(work) => (
            work / finished.seconds,
            "its total work over the metered seconds".to_string(),
        ),
        Work::Rate(rate) => (
            rate,
            "as it reported it over its own timed runs, while the watts are the mean over \
             the whole command, its setup included"
                .to_string(),
        ),
    };
    if !(rate.is_finite() && rate > 0.0 && rate <= unit.max_plausible()) {
        return Err(Error::CommandFailed(format!(
            "{}: {} {} is beyond any adapter's reach",
            options.parse.name(),
            crate::error::shown(rate),
            unit.as_str()
        )));
    }
    let mut params = reported.params.clone();
    params.insert("shape".into(), reported.shape.clone().into());
    let mut result = WorkloadResult::without_figure(
        EXTERNAL_WORKLOAD,
        Status::External,
        unit,
        format!(
            "reported by {}; not checked by mwbench ({} {basis})",
            origin(&options.parse),
            unit.as_str()
        ),
        PowerReading::none(String::new()),
    );
    result.params = params;
    result.throughput = Throughput {
        value: Some(rate),
        unit,
    };
    result.samples = reported.samples.clone();
    Ok(result.with_power(reading.clone()))
}

/// The command's outcome without a figure: why, and the power read while
/// it ran.
fn failed_result(options: &MeterOptions, reason: String, reading: PowerReading) -> WorkloadResult {
    let unit = match &options.parse {
        Parse::Hashcat => Unit::HashesPerSecond,
        Parse::Count { unit, .. } => *unit,
        Parse::Vllm(_) | Parse::LlamaBench => Unit::TokensPerSecond,
    };
    let mut result =
        WorkloadResult::without_figure(EXTERNAL_WORKLOAD, Status::Failed, unit, reason, reading);
    result
        .params
        .insert("shape".into(), options.parse.name().into());
    result
}

/// A per-adapter sensor measures that adapter alone: a command that also
/// runs on another GPU draws more than the figure says.
fn other_adapters_note(
    summaries: &[AdapterSummary],
    summary: &AdapterSummary,
    reading: &PowerReading,
) -> Option<String> {
    if reading.shared || reading.watts.is_none() || summary.device_type == DeviceType::Cpu {
        return None;
    }
    let others = summaries
        .iter()
        .filter(|s| s.device_type == summary.device_type && s.pci_bus_id != summary.pci_bus_id)
        .count();
    (others > 0).then(|| {
        format!(
            "note: the watts are {}'s alone ({}); a command that also runs on the other {others} \
             GPU(s) draws more: meter those with a host meter (--power-cmd)",
            summary.label(),
            reading.source
        )
    })
}

/// `--out FILE`, or a default name under [`results::DEFAULT_DIRECTORY`].
fn output_path(out: Option<&Path>, file: &ResultFile) -> Result<PathBuf> {
    match out {
        Some(path) => Ok(path.to_path_buf()),
        None => Ok(results::default_destination(
            &file.machine.hostname,
            &format!("external {}", file.device.name),
            &file.created,
        )?),
    }
}
