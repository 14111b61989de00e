//! `mwbench run`: runs workloads on the selected adapters, prints a table,
//! and writes one result file per adapter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::gpu::{self, DeviceSelector, Gpu};
use crate::measure::{Observer, SamplePlan};
use crate::power::{self, Meter, PowerChoice};
use crate::report::{self, Progress};
use crate::results::{
    self, CeilingFraction, Machine, ResultDevice, ResultFile, SCHEMA_VERSION, Settings, Status,
    WorkloadResult,
};
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
    /// Where to write; `None`: a name under `results/`.
    pub out: Option<PathBuf>,
    pub json: bool,
}

/// Runs everything and returns the table (or JSON) for stdout. Fails with
/// exit code 1 after writing the files when any workload failed.
pub fn run(options: &RunOptions) -> Result<String> {
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
    let machine = Machine::current();
    let mut files = Vec::new();
    let mut stdout = String::new();
    let mut noted_shared = false;
    for ((adapter, summary), meter) in adapters.into_iter().zip(&mut meters) {
        let gpu = Gpu::open(&adapter, summary)?;
        if meter.measures() && options.idle_seconds > 0.0 {
            eprintln!(
                "measuring idle power on {} for {} s (--idle 0 skips this)",
                gpu.summary.label(),
                options.idle_seconds
            );
            meter.measure_idle(options.idle_seconds)?;
        }
        let file = run_on(&gpu, options, &machine, meter)?;
        if several && !noted_shared && file.results.iter().any(|r| r.power.shared) {
            noted_shared = true;
            eprintln!(
                "note: {} measures the whole host: each adapter's watts are the host's \
                 draw while that adapter ran; do not add them up",
                file.results[0].power.source
            );
        }
        let path = output_path(options.out.as_deref(), &file, several, gpu.summary.index)?;
        results::write_atomic(&path, &file.to_json())?;
        eprintln!("wrote {}", path.display());
        if !options.json {
            stdout.push_str(&report::run_table(&file));
        }
        files.push(file);
    }
    if options.json {
        let json = if several {
            serde_json::to_string_pretty(&files).expect("results serialise")
        } else {
            files[0].to_json()
        };
        stdout.push_str(&json);
        stdout.push('\n');
    }
    let failed: Vec<String> = files
        .iter()
        .flat_map(|f| f.results.iter().map(move |r| (f, r)))
        .filter(|(_, r)| r.status == Status::Failed)
        .map(|(f, r)| format!("{} on {}", r.workload, f.device.name))
        .collect();
    if failed.is_empty() {
        Ok(stdout)
    } else {
        print!("{stdout}");
        Err(Error::VerificationFailed(format!(
            "failed, no figure reported: {}",
            failed.join(", ")
        )))
    }
}

/// Shows progress, and has the meter read power only while the measured
/// samples run.
struct RunObserver<'a> {
    progress: &'a Progress,
    meter: &'a mut Meter,
}

impl Observer for RunObserver<'_> {
    fn progress(&mut self, fraction: f64) {
        self.progress.set(fraction);
    }

    fn measuring_started(&mut self) {
        self.meter.start();
    }

    fn measuring_ended(&mut self) {
        self.meter.stop();
    }
}

/// Every workload on one device.
fn run_on(
    gpu: &Gpu,
    options: &RunOptions,
    machine: &Machine,
    meter: &mut Meter,
) -> Result<ResultFile> {
    let mut results = Vec::new();
    for workload in &options.workloads {
        let progress = Progress::new(
            Progress::wanted(options.json),
            format!("{} on {}", workload.name(), gpu.summary.name),
        );
        let outcome = workload.run(
            gpu,
            &options.plan,
            &mut RunObserver {
                progress: &progress,
                meter,
            },
        );
        progress.finish();
        let reading = meter.reading()?;
        let mut result = match outcome {
            Ok(measurement) => {
                WorkloadResult::measured(workload.name(), workload.unit(), measurement, reading)
            }
            // A kernel that fails, or cannot run here, is recorded without
            // a figure, and the other workloads still run.
            Err(error @ (Error::VerificationFailed(_) | Error::Gpu { .. })) => {
                WorkloadResult::without_figure(
                    workload.name(),
                    Status::Failed,
                    workload.unit(),
                    error.to_string(),
                    reading,
                )
            }
            Err(Error::Unsupported(reason)) => WorkloadResult::without_figure(
                workload.name(),
                Status::Unsupported,
                workload.unit(),
                reason,
                reading,
            ),
            Err(other) => return Err(other),
        };
        if let Some(shape) = workload.shape() {
            result.params.insert("shape".into(), shape.into());
        }
        results.push(result);
    }
    attach_ceilings(&mut results);
    Ok(ResultFile {
        schema_version: SCHEMA_VERSION,
        mwbench_version: env!("CARGO_PKG_VERSION").to_string(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        machine: machine.clone(),
        device: ResultDevice::new(&gpu.summary, gpu.timing_method()),
        settings: Settings::new(&options.plan, options.quick),
        results,
    })
}

/// Sets each kernel's fraction of the ceiling measured in the same run.
fn attach_ceilings(results: &mut [WorkloadResult]) {
    let roof = |name: &str| {
        results
            .iter()
            .find(|r| r.workload == name && r.status == Status::Ok)
            .and_then(|r| r.throughput.value)
    };
    let fractions: Vec<Option<CeilingFraction>> = results
        .iter()
        .map(|r| {
            let ceiling = workloads::ceiling_for(r.throughput.unit)?;
            let value = r.throughput.value?;
            (ceiling != r.workload).then_some(())?;
            Some(CeilingFraction {
                workload: ceiling.to_string(),
                fraction: value / roof(ceiling)?,
            })
        })
        .collect();
    for (result, fraction) in results.iter_mut().zip(fractions) {
        result.ceiling = fraction;
    }
}

/// `--out FILE` as given for one adapter, `FILE` with `.<adapter index>`
/// before the extension for several, or a default name under `results/`.
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
        None => {
            let directory = Path::new("results");
            std::fs::create_dir_all(directory).map_err(|source| Error::Io {
                action: "create",
                path: directory.to_path_buf(),
                source,
            })?;
            Ok(results::default_path(
                directory,
                &file.machine.hostname,
                &file.device.name,
                &file.created,
            ))
        }
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
            .map(|r| r.ceiling.as_ref().map(|c| c.fraction))
            .collect();
        assert_eq!(fractions, [None, None, Some(0.75), Some(0.5), None]);
        assert_eq!(
            results[2].ceiling.as_ref().unwrap().workload,
            "copy-bandwidth"
        );
    }

    #[test]
    fn no_fraction_without_a_verified_ceiling() {
        let mut results = vec![result("gemv-f32", Unit::GigabytesPerSecond, 7.5)];
        attach_ceilings(&mut results);
        assert_eq!(results[0].ceiling, None);
    }
}
