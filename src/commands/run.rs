//! `mwbench run`: runs workloads on the selected adapters, prints a table,
//! and writes one result file per adapter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Outcome;
use crate::gpu::{self, DeviceSelector, Gpu};
use crate::measure::{Observer, Phase, SamplePlan};
use crate::power::{self, Meter, PowerChoice};
use crate::report::{self, Document, Format, Grid, Output, Progress};
use crate::results::{
    self, CeilingFraction, Machine, ResultFile, SCHEMA_VERSION, Status, WorkloadResult,
};
use crate::sustain::Laps;
use crate::workloads::{self, Workload};
use crate::{Error, Result};

/// Options of `mwbench run`.
pub struct RunOptions {
    pub workloads: Vec<Box<dyn Workload>>,
    pub device: DeviceSelector,
    pub plan: SamplePlan,
    pub quick: bool,
    /// Where watts come from (`--power`, `--power-cmd`, `--watts`).
    pub power: PowerChoice,
    /// How often the sampler reads the power source.
    pub power_interval: Duration,
    /// Seconds of idle power to measure before the workloads; 0 skips it.
    pub idle_seconds: f64,
    /// Longest wait for one submission before the GPU counts as hung;
    /// `None`: the adapter's default.
    pub kernel_timeout: Option<Duration>,
    /// Where to write; `None`: a name under [`results::DEFAULT_DIRECTORY`].
    pub out: Option<PathBuf>,
    pub format: Format,
    /// Every adapter runs each workload at the same time.
    pub concurrent: bool,
}

/// Runs everything, writes one result file per adapter, and returns the
/// tables (or JSON, ...). Ends with exit code 1 after writing the files
/// when any workload failed or the GPU hung, and with 128 + the signal when
/// SIGINT or SIGTERM stopped it.
pub fn run(options: &RunOptions) -> Result<Outcome> {
    if let Some(out) = &options.out {
        results::check_writable(out)?;
    }
    let adapters = gpu::selected(&options.device)?;
    let several = adapters.len() > 1;
    // Every adapter's power source is found (and a meter command run once)
    // before anything is measured, so a broken meter stops the run early.
    let mut meters = adapters
        .iter()
        .map(|(_, summary)| power::meter_for(&options.power, summary, options.power_interval))
        .collect::<Result<Vec<Meter>>>()?;
    crate::signals::install();
    if Progress::wanted(options.format == Format::Json) {
        for (_, summary) in &adapters {
            crate::stderr_line!("{}", plan(options, summary));
        }
    }
    let machine = Machine::current();
    let mut done = Done::default();
    if options.concurrent && several {
        let mut gpus = Vec::new();
        for ((adapter, summary), meter) in adapters.into_iter().zip(&mut meters) {
            gpus.push(open(&adapter, summary, options, meter)?);
        }
        let runs = run_concurrently(&gpus, options, &machine, &mut meters)?;
        for (gpu, outcome) in gpus.into_iter().zip(runs) {
            done.add(gpu, outcome, options, several)?;
        }
    } else {
        for ((adapter, summary), meter) in adapters.into_iter().zip(&mut meters) {
            if done.stopped.is_some() {
                done.not_run
                    .push(format!("everything on {}", summary.label()));
                continue;
            }
            let gpu = open(&adapter, summary, options, meter)?;
            let outcome = run_on(&gpu, options, &machine, meter, several)?;
            done.add(gpu, outcome, options, several)?;
        }
    }
    let Done {
        files,
        notes,
        stopped,
        not_run,
        written,
        ..
    } = done;
    let mut document = Document::default();
    for file in &files {
        document.extend(report::run_document(file));
    }
    // One adapter's file as it is written; several as an array.
    let output = if several {
        Output::new(&files, document)
    } else {
        Output::new(&files[0], document)
    }
    .with_records(report::run_records(&files));
    let stdout = report::render(&output, options.format)?;
    let failed: Vec<String> = files
        .iter()
        .flat_map(|f| f.results.iter().map(move |r| (f, r)))
        .filter(|(_, r)| r.status == Status::Failed)
        .map(|(f, r)| format!("{} on {}", r.workload, f.device.name))
        .collect();
    Ok(Outcome {
        stdout,
        notes,
        failure: ending(stopped, &not_run, &failed, written),
    })
}

/// Opens an adapter as `run` uses it (its memory, the kernel timeout) and
/// measures its idle power when asked.
fn open(
    adapter: &wgpu::Adapter,
    summary: gpu::AdapterSummary,
    options: &RunOptions,
    meter: &mut Meter,
) -> Result<Gpu> {
    let mut gpu = Gpu::open(adapter, summary)?;
    let memory = power::device_memory(&gpu.summary);
    gpu = gpu.with_memory(memory);
    if let Some(timeout) = options.kernel_timeout {
        gpu = gpu.with_kernel_timeout(timeout);
    }
    if meter.measures() && options.idle_seconds > 0.0 {
        crate::stderr_line!(
            "measuring idle power on {} for {} s (--idle 0 skips this)",
            gpu.summary.label(),
            options.idle_seconds
        );
        meter.measure_idle(options.idle_seconds)?;
    }
    Ok(gpu)
}

/// The adapters' runs so far: each file written as its adapter finishes,
/// so that a later failure loses none of them.
#[derive(Default)]
struct Done {
    files: Vec<ResultFile>,
    /// Result files written (a device stopped before any workload
    /// completed writes none).
    written: usize,
    notes: Vec<String>,
    noted_shared: bool,
    /// What ended the run early (a signal, a hung GPU), and what it left.
    stopped: Option<Error>,
    not_run: Vec<String>,
}

impl Done {
    fn add(
        &mut self,
        gpu: Gpu,
        outcome: DeviceRun,
        options: &RunOptions,
        several: bool,
    ) -> Result<()> {
        let file = outcome.file;
        if let Some(stop) = outcome.stopped {
            if matches!(stop, Error::GpuLost { .. }) {
                // Dropping a device whose work never finished can block
                // on it: leave it to the process's exit.
                std::mem::forget(gpu);
            }
            self.not_run.extend(
                outcome
                    .not_run
                    .iter()
                    .map(|w| format!("{w} on {}", file.device.name)),
            );
            self.stopped.get_or_insert(stop);
        }
        if several && !self.noted_shared && file.results.iter().any(|r| r.power.shared) {
            self.noted_shared = true;
            self.notes.push(if options.concurrent {
                format!(
                    "note: {} measures the whole host: with --concurrent each adapter's watts \
                     are the node's draw while all ran (the same figure in each file); do not \
                     add them up",
                    file.results[0].power.source
                )
            } else {
                format!(
                    "note: {} measures the whole host: each adapter's watts are the host's \
                     draw while that adapter ran; do not add them up",
                    file.results[0].power.source
                )
            });
        }
        let path = outcome.path;
        if file.interrupted && file.results.is_empty() {
            // A signal before the first workload finished: a file of no
            // results would replace an earlier run's complete one.
            self.notes.push(format!(
                "no workload completed on {}: {} not written{}",
                file.device.name,
                path.display(),
                if path.exists() {
                    " (left as it was)"
                } else {
                    ""
                }
            ));
        } else {
            results::write_atomic(&path, file.to_json().as_bytes())?;
            self.notes.push(format!("wrote {}", path.display()));
            self.written += 1;
        }
        self.files.push(file);
        Ok(())
    }
}

/// `--concurrent`: every adapter runs the same workload at the same time,
/// a thread each, all released together for each workload, as a node runs
/// in production (shared power, heat and host bandwidth show in the
/// figures). A host-wide meter's reading is the node's: the first
/// adapter's is recorded in every file, the same figure in each. A signal
/// or a lost GPU stops every adapter after the workload in flight.
fn run_concurrently(
    gpus: &[Gpu],
    options: &RunOptions,
    machine: &Machine,
    meters: &mut [Meter],
) -> Result<Vec<DeviceRun>> {
    let beside = gpus.len() - 1;
    let destinations = gpus
        .iter()
        .map(|gpu| Destination::of(gpu, options, machine, true))
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Vec<WorkloadResult>> = vec![Vec::new(); gpus.len()];
    let mut stops: Vec<Option<Error>> = (0..gpus.len()).map(|_| None).collect();
    let mut not_run = Vec::new();
    let label = |w: &dyn Workload| match w.shape() {
        Some(shape) => format!("{} {shape}", w.name()),
        None => w.name().to_string(),
    };
    for (index, workload) in options.workloads.iter().enumerate() {
        if stops.iter().any(Option::is_some) {
            not_run.extend(options.workloads[index..].iter().map(|w| label(w.as_ref())));
            break;
        }
        let visible = Progress::wanted(options.format == Format::Json);
        if visible {
            crate::stderr_line!(
                "{} on {} adapters at once",
                label(workload.as_ref()),
                gpus.len()
            );
        }
        let start = std::sync::Barrier::new(gpus.len());
        let steps: Vec<Result<Step>> = std::thread::scope(|scope| {
            let threads: Vec<_> = gpus
                .iter()
                .zip(meters.iter_mut())
                .map(|(gpu, meter)| {
                    let start = &start;
                    let workload = workload.as_ref();
                    scope.spawn(move || {
                        start.wait();
                        // One progress line per adapter would garble the
                        // terminal: the line above stands for them.
                        let progress = Progress::new(false, String::new());
                        run_workload(gpu, workload, options, meter, progress)
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut steps = steps.into_iter().collect::<Result<Vec<Step>>>()?;
        // The node's draw, once, in every file.
        let node = steps
            .first()
            .and_then(|s| s.result.as_ref())
            .map(|r| r.power.clone())
            .filter(|p| p.shared);
        for (adapter, step) in steps.iter_mut().enumerate() {
            if let Some(mut result) = step.result.take() {
                result.concurrent_with = beside;
                if let Some(node) = &node {
                    result = result.with_power(node.clone());
                }
                results[adapter].push(result);
            }
            if let Some(stop) = step.stop.take() {
                stops[adapter] = Some(stop);
            }
        }
        if stops.iter().all(Option::is_none) && index + 1 < options.workloads.len() {
            for ((gpu, destination), results) in gpus.iter().zip(&destinations).zip(&results) {
                destination.checkpoint(gpu, options, machine, results)?;
            }
        }
    }
    Ok(gpus
        .iter()
        .zip(destinations)
        .zip(results)
        .zip(stops)
        .map(|(((gpu, destination), results), stopped)| {
            destination.finish(gpu, options, machine, results, stopped, not_run.clone())
        })
        .collect())
}

/// `run --list`: every workload with its unit, shapes and what it does.
pub fn list_workloads(workloads: &[Box<dyn Workload>], format: Format) -> Result<Outcome> {
    report::check_flat(format, "run --list")?;
    let listed = workloads::catalogue(workloads);
    let mut grid = Grid::new(["workload", "unit", "shapes", "what it measures"]);
    for entry in &listed {
        grid.row([
            entry.name.clone(),
            entry.unit.clone(),
            entry.shapes.join("\n"),
            entry.description.clone(),
        ]);
    }
    let mut document = Document::default();
    document.grid(grid);
    document.line(
        "Give names to --workloads, separated by commas (all shapes of each run); \
         --quick runs smaller shapes.",
    );
    let output = Output::new(&listed, document);
    Ok(Outcome::printed(report::render(&output, format)?))
}

/// What `run` is about to do on `adapter`, for the person waiting: the
/// workloads and shapes, the seconds of each, and a rough total.
fn plan(options: &RunOptions, adapter: &crate::gpu::AdapterSummary) -> String {
    let mut names: Vec<&str> = options.workloads.iter().map(|w| w.name()).collect();
    names.dedup();
    let shapes = options.workloads.len();
    let plan = &options.plan;
    // Calibration takes a few samples' time and setup (inputs, the CPU
    // reference) about as long again: a floor, not a promise.
    let each =
        plan.measure.as_secs_f64() + plan.warm_up.as_secs_f64() + 4.0 * plan.sample.as_secs_f64();
    let total = 2.0 * each * shapes as f64;
    let mut text = format!(
        "plan on {}: {} workloads at {shapes} shapes ({}), {:.1} s of samples each; \
         at least {} in all",
        adapter.label(),
        names.len(),
        names.join(", "),
        plan.measure.as_secs_f64(),
        humantime::format_duration(std::time::Duration::from_secs(total.ceil() as u64)),
    );
    if adapter.device_type == crate::results::DeviceType::Cpu {
        text.push_str(
            "\nthis adapter is a software rasterizer (the CPU): its figures are the CPU's, \
             and large kernels take minutes each here; --quick runs every workload at a \
             small shape in about a minute",
        );
    }
    text
}

/// The error a run ends with, if any: the signal or hang that stopped it
/// (naming what was not run), else the workloads that failed their check.
fn ending(
    stopped: Option<Error>,
    not_run: &[String],
    failed: &[String],
    written: usize,
) -> Option<Error> {
    let not_run = if not_run.is_empty() {
        String::new()
    } else {
        format!("; not run: {}", not_run.join(", "))
    };
    match stopped {
        Some(Error::Interrupted {
            signal, exit_code, ..
        }) => Some(Error::Interrupted {
            signal,
            exit_code,
            detail: if written > 0 {
                format!("; the completed workloads were written{not_run}")
            } else {
                format!("; no workload had completed, no result file written{not_run}")
            },
        }),
        Some(Error::GpuLost { adapter, message }) => Some(Error::GpuLost {
            adapter,
            message: format!("{message}; what was measured was written{not_run}"),
        }),
        Some(other) => Some(other),
        None if failed.is_empty() => None,
        None => Some(Error::VerificationFailed(format!(
            "failed, no figure reported: {}",
            failed.join(", ")
        ))),
    }
}

/// Shows progress, has the meter read power only while the measured
/// samples run, and in a sustained run records its intervals.
struct RunObserver<'a> {
    progress: &'a Progress,
    meter: &'a mut Meter,
    laps: Option<Laps>,
}

impl Observer for RunObserver<'_> {
    fn phase(&mut self, phase: Phase) {
        self.progress.phase(phase.as_str());
    }

    fn progress(&mut self, fraction: f64) {
        self.progress.set(fraction);
    }

    fn sampled(&mut self, at: f64) {
        if let Some(laps) = &mut self.laps {
            laps.sampled(at, self.meter);
        }
    }

    fn checked(&mut self) {
        if let Some(laps) = &mut self.laps {
            laps.checked();
        }
    }

    fn measuring_started(&mut self) {
        self.meter.start();
        if let Some(laps) = &mut self.laps {
            laps.started();
        }
    }

    fn measuring_ended(&mut self) {
        if let Some(laps) = &mut self.laps {
            laps.ended(self.meter);
        }
        self.meter.stop();
        self.progress
            .phase("checking the output against the CPU reference");
    }
}

/// What one device's run produced, and what stopped it early, if anything.
struct DeviceRun {
    file: ResultFile,
    /// Where it is written.
    path: PathBuf,
    /// [`Error::Interrupted`] or [`Error::GpuLost`].
    stopped: Option<Error>,
    /// The workloads (with their shapes) that did not run.
    not_run: Vec<String>,
}

/// Every workload on one device, until a signal or a hung GPU stops it.
fn run_on(
    gpu: &Gpu,
    options: &RunOptions,
    machine: &Machine,
    meter: &mut Meter,
    several: bool,
) -> Result<DeviceRun> {
    let destination = Destination::of(gpu, options, machine, several)?;
    let mut results = Vec::new();
    let mut stopped = None;
    let mut not_run = Vec::new();
    let label = |w: &dyn Workload| match w.shape() {
        Some(shape) => format!("{} {shape}", w.name()),
        None => w.name().to_string(),
    };
    for (index, workload) in options.workloads.iter().enumerate() {
        let progress = Progress::new(
            Progress::wanted(options.format == Format::Json),
            format!("{} on {}", label(workload.as_ref()), gpu.summary.name),
        );
        let step = run_workload(gpu, workload.as_ref(), options, meter, progress)?;
        results.extend(step.result);
        if step.stop.is_none() && index + 1 < options.workloads.len() {
            destination.checkpoint(gpu, options, machine, &results)?;
        }
        if let Some(stop) = step.stop {
            if step_not_run(&stop) {
                not_run.push(label(workload.as_ref()));
            }
            not_run.extend(
                options.workloads[index + 1..]
                    .iter()
                    .map(|w| label(w.as_ref())),
            );
            stopped = Some(stop);
            break;
        }
    }
    Ok(destination.finish(gpu, options, machine, results, stopped, not_run))
}

/// Where one device's run writes, and when it started (the file's
/// `created`, so that a default name stays the same from the first
/// checkpoint to the final file).
struct Destination {
    path: PathBuf,
    created: String,
}

impl Destination {
    fn of(gpu: &Gpu, options: &RunOptions, machine: &Machine, several: bool) -> Result<Self> {
        let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let probe = result_file(gpu, options, machine, Vec::new(), &None, &created);
        Ok(Destination {
            path: output_path(options.out.as_deref(), &probe, several, gpu.summary.index)?,
            created,
        })
    }

    /// The device's run as it ended, with its ceilings attached.
    fn finish(
        self,
        gpu: &Gpu,
        options: &RunOptions,
        machine: &Machine,
        mut results: Vec<WorkloadResult>,
        stopped: Option<Error>,
        not_run: Vec<String>,
    ) -> DeviceRun {
        attach_ceilings(&mut results);
        DeviceRun {
            file: result_file(gpu, options, machine, results, &stopped, &self.created),
            path: self.path,
            stopped,
            not_run,
        }
    }

    /// Writes what is measured so far, marked interrupted, so that a run
    /// killed before it finishes (SIGKILL after a batch scheduler's
    /// SIGTERM, a node that goes down) still leaves every completed
    /// workload in a complete file. Only over a regular file (or none): a
    /// FIFO or device takes the final file alone.
    fn checkpoint(
        &self,
        gpu: &Gpu,
        options: &RunOptions,
        machine: &Machine,
        results: &[WorkloadResult],
    ) -> Result<()> {
        let regular = std::fs::metadata(&self.path).map_or(true, |m| m.is_file());
        if !regular || results.is_empty() {
            return Ok(());
        }
        let mut results = results.to_vec();
        attach_ceilings(&mut results);
        let mut file = result_file(gpu, options, machine, results, &None, &self.created);
        file.interrupted = true;
        Ok(results::write_atomic(
            &self.path,
            file.to_json().as_bytes(),
        )?)
    }
}

/// One device's result file.
fn result_file(
    gpu: &Gpu,
    options: &RunOptions,
    machine: &Machine,
    results: Vec<WorkloadResult>,
    stopped: &Option<Error>,
    created: &str,
) -> ResultFile {
    ResultFile {
        schema_version: SCHEMA_VERSION,
        mwbench_version: env!("CARGO_PKG_VERSION").to_string(),
        created: created.to_string(),
        machine: machine.clone(),
        device: gpu
            .summary
            .result_device(gpu.timing_method(), gpu.memory.clone()),
        settings: options.plan.settings(options.quick),
        interrupted: matches!(stopped, Some(Error::Interrupted { .. })),
        results,
    }
}

/// What one workload on one device gave: its result (none when a signal
/// came before it ran), and what stops the device's run (a signal, a lost
/// GPU).
struct Step {
    result: Option<WorkloadResult>,
    stop: Option<Error>,
}

/// Whether a stop left the workload itself unrun (a signal), not failed.
fn step_not_run(stop: &Error) -> bool {
    matches!(stop, Error::Interrupted { .. })
}

/// One workload on one device, its outcome turned into a result: a kernel
/// that fails is recorded without a figure, and the other workloads still
/// run unless the GPU hung or was lost.
fn run_workload(
    gpu: &Gpu,
    workload: &dyn Workload,
    options: &RunOptions,
    meter: &mut Meter,
    progress: Progress,
) -> Result<Step> {
    progress.phase("preparing inputs and the reference");
    let laps = options
        .plan
        .sustain
        .map(|s| Laps::new(s.interval, power::conditions::sensor_for(&gpu.summary)));
    let mut observer = RunObserver {
        progress: &progress,
        meter,
        laps,
    };
    let outcome = workload.run(gpu, &options.plan, &mut observer);
    let laps = observer.laps.take();
    progress.finish();
    let reading = meter.reading()?;
    let failed = |status, reason: String, reading| {
        with_shape(
            WorkloadResult::without_figure(
                workload.name(),
                status,
                workload.unit(),
                reason,
                reading,
            ),
            workload,
        )
    };
    Ok(match outcome {
        Ok(measurement) => {
            let series = laps.map(|laps| laps.into_series(&measurement.samples, workload.unit()));
            let mut result = measurement.into_result(workload.name(), workload.unit(), reading);
            if let (Some((series, steady_from)), Some(sustain)) = (series, options.plan.sustain) {
                result = result.with_series(series, sustain.interval.as_secs_f64(), steady_from);
            }
            Step {
                result: Some(with_shape(result, workload)),
                stop: None,
            }
        }
        Err(error @ (Error::VerificationFailed(_) | Error::Gpu { .. })) => Step {
            result: Some(failed(Status::Failed, error.to_string(), reading)),
            stop: None,
        },
        Err(error @ Error::GpuLost { .. }) => Step {
            result: Some(failed(Status::Failed, error.to_string(), reading)),
            stop: Some(error),
        },
        Err(Error::Unsupported(reason)) => Step {
            result: Some(failed(Status::Unsupported, reason, reading)),
            stop: None,
        },
        // A signal: this workload and the rest are not run.
        Err(error @ Error::Interrupted { .. }) => Step {
            result: None,
            stop: Some(error),
        },
        Err(other) => return Err(other),
    })
}

/// Records the shape of workloads that run at several.
fn with_shape(mut result: WorkloadResult, workload: &dyn Workload) -> WorkloadResult {
    if let Some(shape) = workload.shape() {
        result.params.insert("shape".into(), shape.into());
    }
    result
}

/// Sets each kernel's fraction of the ceiling measured in the same run
/// (which one: [`workloads::ceiling_of`]). A kernel more than 5% above its
/// ceiling gets a note instead: the ceiling kernel did not reach this
/// driver's peak, and a fraction above 1 would mislead.
fn attach_ceilings(results: &mut [WorkloadResult]) {
    let roof = |name: &str| {
        results
            .iter()
            .find(|r| r.workload == name && r.status == Status::Ok)
            .and_then(WorkloadResult::rate)
    };
    let fractions: Vec<Option<CeilingFraction>> = results
        .iter()
        .map(|r| {
            let ceiling = workloads::ceiling_of(r)?;
            let value = r.rate()?;
            let Some(roof) = roof(ceiling) else {
                // Tensor cores are not read against the f32 roof.
                return (ceiling == "peak-mma-f16").then(|| CeilingFraction {
                    workload: ceiling.to_string(),
                    fraction: None,
                    note: Some(format!(
                        "ran on tensor cores; {ceiling}, their roof, has no verified figure \
                         in this run"
                    )),
                });
            };
            let fraction = value / roof;
            Some(if fraction > 1.0 + CEILING_TOLERANCE {
                CeilingFraction {
                    workload: ceiling.to_string(),
                    fraction: None,
                    note: Some(format!(
                        "{:.0}% above {ceiling}: that ceiling is not this adapter's peak",
                        (fraction - 1.0) * 100.0
                    )),
                }
            } else {
                CeilingFraction {
                    workload: ceiling.to_string(),
                    fraction: Some(fraction),
                    note: None,
                }
            })
        })
        .collect();
    for (result, fraction) in results.iter_mut().zip(fractions) {
        result.ceiling = fraction;
    }
}

/// How far above its ceiling a kernel may measure before the ceiling is
/// taken to be wrong rather than noisy.
const CEILING_TOLERANCE: f64 = 0.05;

/// `--out FILE` as given for one adapter, `FILE` with `.<adapter index>`
/// before the extension for several, or a default name under
/// [`results::DEFAULT_DIRECTORY`].
fn output_path(
    out: Option<&Path>,
    file: &ResultFile,
    several: bool,
    index: usize,
) -> Result<PathBuf> {
    match out {
        Some(path) if several => {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let extension = path
                .extension()
                .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
            Ok(path.with_file_name(format!("{stem}.{index}{extension}")))
        }
        Some(path) => Ok(path.to_path_buf()),
        None => Ok(results::default_destination(
            &file.machine.hostname,
            &file.device.name,
            &file.created,
        )?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::PowerReading;
    use crate::workloads::Unit;

    fn result(workload: &str, unit: Unit, value: f64) -> WorkloadResult {
        let mut r = WorkloadResult::without_figure(
            workload,
            Status::Ok,
            unit,
            String::new(),
            PowerReading::none(String::new()),
        );
        r.throughput.value = Some(value);
        r
    }

    #[test]
    fn kernels_are_reported_against_the_ceiling_of_their_unit() {
        let mut results = vec![
            result("peak-fma-f32", Unit::GflopPerSecond, 100.0),
            result("copy-bandwidth", Unit::GigabytesPerSecond, 10.0),
            result("gemv-f32", Unit::GigabytesPerSecond, 7.5),
            result("gemm-f32", Unit::GflopPerSecond, 50.0),
            result("sha256d", Unit::HashesPerSecond, 4e7),
        ];
        attach_ceilings(&mut results);
        let fractions: Vec<Option<f64>> = results
            .iter()
            .map(|r| r.ceiling.as_ref().and_then(|c| c.fraction))
            .collect();
        assert_eq!(fractions, [None, None, Some(0.75), Some(0.5), None]);
        assert_eq!(
            results[2].ceiling.as_ref().unwrap().workload,
            "copy-bandwidth"
        );
    }

    #[test]
    fn a_kernel_above_its_ceiling_gets_a_note_not_a_fraction() {
        let mut results = vec![
            result("peak-fma-f32", Unit::GflopPerSecond, 20.0),
            result("gemm-f32", Unit::GflopPerSecond, 40.0),
            result("gemm-f16", Unit::GflopPerSecond, 20.8),
        ];
        attach_ceilings(&mut results);
        let over = results[1].ceiling.as_ref().unwrap();
        assert_eq!(over.fraction, None);
        assert!(
            over.note
                .as_ref()
                .unwrap()
                .starts_with("100% above peak-fma-f32")
        );
        let noise = results[2].ceiling.as_ref().unwrap();
        assert_eq!(noise.fraction, Some(1.04), "within 5% is noise");
    }

    fn on_path(mut r: WorkloadResult, path: &str) -> WorkloadResult {
        r.params.insert("path".into(), path.into());
        r
    }

    /// A kernel that ran on cooperative matrices is read against the
    /// tensor roof; every other GFLOP/s kernel against the f32 one. A coop
    /// one in a run without a verified tensor roof gets no fraction, and a
    /// note saying why, never the f32 roof's.
    #[test]
    fn coop_kernels_are_reported_against_the_tensor_roof() {
        let gemm = |path| on_path(result("gemm-f16", Unit::GflopPerSecond, 400.0), path);
        let mut results = vec![
            result("peak-fma-f32", Unit::GflopPerSecond, 500.0),
            result("peak-mma-f16", Unit::GflopPerSecond, 800.0),
            gemm("cooperative-matrix"),
            gemm("tiled"),
            result("gemm-f32", Unit::GflopPerSecond, 250.0),
        ];
        attach_ceilings(&mut results);
        let read: Vec<Option<(&str, f64)>> = results
            .iter()
            .map(|r| {
                let c = r.ceiling.as_ref()?;
                Some((c.workload.as_str(), c.fraction?))
            })
            .collect();
        assert_eq!(
            read,
            [
                None,
                None,
                Some(("peak-mma-f16", 0.5)),
                Some(("peak-fma-f32", 0.8)),
                Some(("peak-fma-f32", 0.5)),
            ]
        );
        // No peak-mma-f16 in the run (or a failed one): no fraction.
        for mma in [None, Some(Status::Unsupported)] {
            let mut results = vec![
                result("peak-fma-f32", Unit::GflopPerSecond, 500.0),
                gemm("cooperative-matrix"),
            ];
            if let Some(status) = mma {
                let mut failed = result("peak-mma-f16", Unit::GflopPerSecond, 800.0);
                failed.status = status;
                results.push(failed);
            }
            attach_ceilings(&mut results);
            let ceiling = results[1].ceiling.as_ref().unwrap();
            assert_eq!(ceiling.workload, "peak-mma-f16");
            assert_eq!(ceiling.fraction, None);
            assert!(ceiling.note.as_ref().unwrap().contains("tensor cores"));
        }
    }

    #[test]
    fn no_fraction_without_a_verified_ceiling() {
        let mut results = vec![result("gemv-f32", Unit::GigabytesPerSecond, 7.5)];
        attach_ceilings(&mut results);
        assert_eq!(results[0].ceiling, None);
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::results::{Backend, DeviceType};
    use crate::workloads::{LlmChoice, Sizes};

    fn options(list: &str, plan: SamplePlan) -> RunOptions {
        RunOptions {
            workloads: workloads::parse_list(list, LlmChoice::default(), Sizes::Quick).unwrap(),
            device: DeviceSelector::Default,
            plan,
            quick: true,
            power: PowerChoice::Auto,
            power_interval: Duration::from_millis(100),
            idle_seconds: 0.0,
            kernel_timeout: None,
            out: None,
            format: Format::Table,
            concurrent: false,
        }
    }

    #[test]
    fn the_plan_names_the_workloads_and_warns_on_a_cpu_adapter() {
        let cpu = crate::fixtures::adapter_summary(0, "llvmpipe", DeviceType::Cpu, Backend::Vulkan);
        let text = plan(&options("gemv-f16,sha256d", SamplePlan::quick()), &cpu);
        assert!(
            text.starts_with("plan on 0: llvmpipe [vulkan, cpu]: 3 workloads at 3 shapes"),
            "{text}"
        );
        assert!(text.contains("sha256d, copy-bandwidth, gemv-f16"), "{text}");
        assert!(
            text.contains("software rasterizer") && text.contains("--quick"),
            "{text}"
        );
        let gpu =
            crate::fixtures::adapter_summary(0, "H200", DeviceType::Discrete, Backend::Vulkan);
        let text = plan(&options("sha256d", SamplePlan::standard()), &gpu);
        assert!(text.contains("10.0 s of samples each"), "{text}");
        assert!(!text.contains("rasterizer"), "{text}");
    }
}
