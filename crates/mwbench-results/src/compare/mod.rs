//! `mwbench compare`: result files side by side, each workload's
//! throughput against the first file's, and a regression gate that does
//! not cry wolf on noise (see [`stats`]).

pub mod stats;

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use crate::results::{ResultFile, Status, WorkloadResult};
use stats::RatioInterval;

/// What one file's result is, next to the base file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The base file's own result.
    Base,
    /// Within the threshold, or a difference the samples cannot tell
    /// from noise.
    Same,
    /// Slower by more than the threshold, and significantly so.
    Regression,
    /// Faster by more than the threshold, and significantly so.
    Improvement,
    /// Beyond the threshold, but too few samples to test it.
    Untested,
    /// Its kernel failed its check: no figure, never an improvement. A
    /// failure where the base was verified counts as a regression.
    Failed,
    /// It could not run on that adapter.
    Unsupported,
    /// The base has no verified figure to compare with.
    NoBase,
    /// The file has no result for this workload.
    Missing,
}

/// One file's cell in a row.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Cell {
    pub verdict: Verdict,
    /// Median throughput, in the row's unit.
    pub value: Option<f64>,
    /// The first per-watt figure (`H/J`, `GFLOP/J`, ...), if any.
    pub per_watt: Option<crate::results::Figure>,
    pub samples: usize,
    /// Median throughput over the base file's.
    pub ratio: Option<f64>,
    /// Bootstrap interval of the ratio.
    pub interval: Option<[f64; 2]>,
    /// The figure was reported by an outside command (`mwbench meter`),
    /// not checked by mwbench.
    pub external: bool,
    /// The kernel variant the run tuned to (`params.variant`), if any.
    pub variant: Option<String>,
}

/// One workload (and shape) across the files.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Row {
    pub workload: String,
    /// `4096x4096`, `llama3-8b q4`, ...: empty for single-shape workloads.
    pub shape: String,
    pub unit: String,
    pub cells: Vec<Cell>,
}

impl Row {
    /// `workload shape`, as tables name the row.
    pub fn label(&self) -> String {
        if self.shape.is_empty() {
            self.workload.clone()
        } else {
            format!("{} {}", self.workload, self.shape)
        }
    }
}

/// What `mwbench compare` reports: the files, every row, and the cells
/// that fail the gate.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Comparison {
    /// The base file first.
    pub files: Vec<ComparedFile>,
    pub threshold_percent: f64,
    /// How intervals are computed.
    pub method: String,
    pub rows: Vec<Row>,
    pub regressions: Vec<Regression>,
    /// Files the run stopped early (SIGINT, SIGTERM, a hung GPU), and
    /// rows whose files ran different kernel variants.
    pub notes: Vec<String>,
}

/// One compared file, as column headers name it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ComparedFile {
    pub path: String,
    pub device: String,
    pub host: String,
    /// RFC 3339.
    pub created: String,
    pub schema_version: u32,
    pub interrupted: bool,
}

/// A cell that fails the gate.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Regression {
    pub workload: String,
    pub shape: String,
    /// Index of the file in `files`.
    pub file: usize,
    pub verdict: Verdict,
    pub ratio: Option<f64>,
    pub interval: Option<[f64; 2]>,
}

impl ComparedFile {
    pub fn of(path: &Path, file: &ResultFile) -> ComparedFile {
        ComparedFile {
            path: path.display().to_string(),
            device: file.device.name.clone(),
            host: file.machine.hostname.clone(),
            created: file.created.clone(),
            schema_version: file.schema_version,
            interrupted: file.interrupted,
        }
    }

    /// `device, host, date`, with `separator` between.
    pub fn header(&self, separator: &str) -> String {
        let date = self.created.split('T').next().unwrap_or(&self.created);
        format!("{}{separator}{}{separator}{date}", self.device, self.host)
    }
}

impl Comparison {
    /// Compares `files`, read from `paths` (the base first).
    pub fn of(paths: &[&Path], files: &[ResultFile], threshold_percent: f64) -> Comparison {
        let rows = compare(files, threshold_percent);
        let regressions = gate(&rows)
            .into_iter()
            .map(|(row, file)| {
                let cell = &row.cells[file];
                Regression {
                    workload: row.workload.clone(),
                    shape: row.shape.clone(),
                    file,
                    verdict: cell.verdict,
                    ratio: cell.ratio,
                    interval: cell.interval,
                }
            })
            .collect();
        let compared: Vec<ComparedFile> = paths
            .iter()
            .zip(files)
            .map(|(p, f)| ComparedFile::of(p, f))
            .collect();
        let variants = variant_notes(&rows, &compared);
        Comparison {
            files: compared,
            threshold_percent,
            method: format!(
                "{:.0}% bootstrap interval of the ratio of medians, {} resamples",
                stats::CONFIDENCE * 100.0,
                stats::RESAMPLES
            ),
            rows,
            regressions,
            notes: paths
                .iter()
                .zip(files)
                .filter_map(|(path, file)| crate::results::interrupted_note(path, file))
                .chain(crate::results::sustained_note(files))
                .chain(variants)
                .collect(),
        }
    }

    /// One line per regression: workload, file, ratio and interval.
    pub fn regression_lines(&self) -> Vec<String> {
        self.regressions
            .iter()
            .map(|r| {
                let what = match (r.ratio, r.interval) {
                    (Some(ratio), Some([low, high])) => {
                        format!("{ratio:.3}x [{low:.3}, {high:.3}]")
                    }
                    _ => "failed its check".to_string(),
                };
                let label = if r.shape.is_empty() {
                    r.workload.clone()
                } else {
                    format!("{} {}", r.workload, r.shape)
                };
                format!("{label} on {}: {what}", self.files[r.file].header(", "))
            })
            .collect()
    }
}

/// How a workload is matched across files: its name, its shape and its
/// unit. Other parameters (calibrated sample sizes) vary run to run.
fn key(result: &WorkloadResult) -> (String, String, String) {
    let shape = result.shape().to_string();
    (
        result.workload.clone(),
        shape,
        result.throughput.unit.as_str().to_string(),
    )
}

/// Every workload of every file, in the order they first appear, each
/// compared with the first file's.
pub fn compare(files: &[ResultFile], threshold_percent: f64) -> Vec<Row> {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for file in files {
        for result in &file.results {
            let k = key(result);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.into_iter()
        .map(|k| {
            let found: Vec<Option<&WorkloadResult>> = files
                .iter()
                .map(|f| f.results.iter().find(|r| key(r) == k))
                .collect();
            let base = found[0];
            let cells = found
                .iter()
                .enumerate()
                .map(|(i, result)| cell(base, *result, i == 0, threshold_percent))
                .collect();
            let (workload, shape, unit) = k;
            Row {
                workload,
                shape,
                unit,
                cells,
            }
        })
        .collect()
}

fn cell(
    base: Option<&WorkloadResult>,
    result: Option<&WorkloadResult>,
    is_base: bool,
    threshold_percent: f64,
) -> Cell {
    let Some(result) = result else {
        return Cell {
            verdict: Verdict::Missing,
            value: None,
            per_watt: None,
            samples: 0,
            ratio: None,
            interval: None,
            external: false,
            variant: None,
        };
    };
    let value = comparable_figure(result);
    let (mut ratio, mut interval) = (None, None);
    let verdict = match result.status {
        Status::Failed => Verdict::Failed,
        Status::Unsupported => Verdict::Unsupported,
        Status::Ok if !result.verified => Verdict::Failed,
        Status::Ok | Status::External if is_base => Verdict::Base,
        Status::Ok | Status::External => {
            match (base.and_then(|b| Some((b, comparable_figure(b)?))), value) {
                (Some((base, base_median)), Some(value)) if base_median > 0.0 => {
                    let found = stats::ratio_of_medians(base.rate_samples(), result.rate_samples());
                    ratio = Some(value / base_median);
                    interval = found.map(|i| [i.low, i.high]);
                    judge(value / base_median, found, threshold_percent)
                }
                _ => Verdict::NoBase,
            }
        }
    };
    Cell {
        verdict,
        value,
        per_watt: value.and(result.efficiency.first().cloned()),
        samples: result.rate_samples().len(),
        ratio,
        interval,
        external: result.status == Status::External,
        variant: result
            .params
            .get("variant")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    }
}

/// A note for each row whose files ran different kernel variants: their
/// ratio compares code as well as machines (`run --tune off` pins each
/// family's default).
fn variant_notes(rows: &[Row], files: &[ComparedFile]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| {
            // Every cell with a figure; a file written before variants were
            // recorded (or by an outside tool) names none.
            let ran: Vec<(usize, Option<&str>)> = row
                .cells
                .iter()
                .enumerate()
                .filter(|(_, c)| c.value.is_some())
                .map(|(i, c)| (i, c.variant.as_deref()))
                .collect();
            let first = ran.first()?.1;
            if ran.iter().all(|(_, v)| *v == first) {
                return None;
            }
            let each: Vec<String> = ran
                .iter()
                .map(|(i, v)| match v {
                    Some(v) => format!("'{v}' in {}", files[*i].path),
                    None => format!("none recorded in {}", files[*i].path),
                })
                .collect();
            Some(format!(
                "{} ran different kernel variants: {}; the ratio compares the code as well as \
                 the machines (run --tune off runs each family's default)",
                row.label(),
                each.join(", ")
            ))
        })
        .collect()
}

/// A result's throughput (a sustained run's steady figure), if its kernel
/// was verified, or an outside command reported it (labelled external).
fn comparable_figure(result: &WorkloadResult) -> Option<f64> {
    match result.status {
        Status::Ok if result.verified => result.rate(),
        Status::External => result.rate(),
        _ => None,
    }
}

/// Regression: slower than the base by more than the threshold, and the
/// whole interval below 1 (the samples rule out "no change"). The same,
/// mirrored, for an improvement.
fn judge(ratio: f64, interval: Option<RatioInterval>, threshold_percent: f64) -> Verdict {
    let threshold = threshold_percent / 100.0;
    let beyond = ratio < 1.0 - threshold || ratio > 1.0 + threshold;
    match interval {
        _ if !beyond => Verdict::Same,
        None => Verdict::Untested,
        Some(i) if ratio < 1.0 && i.high < 1.0 => Verdict::Regression,
        Some(i) if ratio > 1.0 && i.low > 1.0 => Verdict::Improvement,
        Some(_) => Verdict::Same,
    }
}

/// The cells that fail the gate, as (row, index of the file).
pub fn gate(rows: &[Row]) -> Vec<(&Row, usize)> {
    rows.iter()
        .flat_map(|row| {
            row.cells
                .iter()
                .enumerate()
                .filter(|(_, cell)| fails_gate(row, cell))
                .map(move |(file, _)| (row, file))
        })
        .collect()
}

/// Whether a cell fails the gate: a significant slowdown, or a kernel
/// that fails its check where the base was verified.
pub fn fails_gate(row: &Row, cell: &Cell) -> bool {
    match cell.verdict {
        Verdict::Regression => true,
        Verdict::Failed => row.cells[0].verdict == Verdict::Base && row.cells[0].value.is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::samples as spread;
    use crate::fixtures::{file, result};
    use crate::results::Provenance;
    use crate::results::Unit;

    /// A result file with one sha256d result of these samples.
    fn with_samples(samples: Vec<f64>) -> ResultFile {
        let mut r = result(
            "sha256d",
            Unit::HashesPerSecond,
            0.0,
            Some((100.0, Provenance::Sensor)),
        );
        r.throughput.value = Some(stats::median(&mut samples.clone()));
        r.samples = samples;
        r.verified = true;
        file(vec![r]).1
    }

    fn verdict(base: Vec<f64>, other: Vec<f64>) -> Verdict {
        let rows = compare(&[with_samples(base), with_samples(other)], 5.0);
        rows[0].cells[1].verdict
    }

    #[test]
    fn different_variants_are_noted_and_the_same_are_not() {
        let with_variant = |variant: &str| {
            let mut f = with_samples(spread(40e6, 0.02, 10));
            f.results[0].params.insert("variant".into(), variant.into());
            f
        };
        let files = [with_variant("a"), with_variant("b"), with_variant("a")];
        let paths = [
            Path::new("base.json"),
            Path::new("new.json"),
            Path::new("old.json"),
        ];
        let notes = Comparison::of(&paths, &files, 5.0).notes;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("'b' in new.json"), "{}", notes[0]);
        assert!(notes[0].contains("'a' in base.json"), "{}", notes[0]);
        let same = [with_variant("a"), with_variant("a")];
        assert!(Comparison::of(&paths[..2], &same, 5.0).notes.is_empty());
        // A file from before variants were recorded.
        let older = [with_samples(spread(40e6, 0.02, 10)), with_variant("a")];
        let notes = Comparison::of(&paths[..2], &older, 5.0).notes;
        assert!(notes[0].contains("none recorded in base.json"), "{notes:?}");
    }

    #[test]
    fn identical_samples_are_the_same() {
        let s = spread(40e6, 0.02, 10);
        assert_eq!(verdict(s.clone(), s), Verdict::Same);
    }

    #[test]
    fn a_tight_20_percent_slowdown_is_a_regression() {
        assert_eq!(
            verdict(spread(40e6, 0.01, 10), spread(32e6, 0.01, 10)),
            Verdict::Regression
        );
        assert_eq!(
            verdict(spread(32e6, 0.01, 10), spread(40e6, 0.01, 10)),
            Verdict::Improvement
        );
    }

    #[test]
    fn a_wide_3_percent_wiggle_is_noise() {
        assert_eq!(
            verdict(spread(40e6, 0.15, 10), spread(38.8e6, 0.15, 10)),
            Verdict::Same
        );
    }

    #[test]
    fn a_10_percent_slowdown_inside_wide_noise_is_not_a_regression() {
        // Beyond the threshold, but samples spread +-40% cannot tell.
        assert_eq!(
            verdict(spread(40e6, 0.4, 5), spread(36e6, 0.4, 5)),
            Verdict::Same
        );
    }

    #[test]
    fn too_few_samples_are_untested_not_passed_silently() {
        assert_eq!(
            verdict(vec![40e6, 41e6], vec![30e6, 31e6]),
            Verdict::Untested
        );
    }

    #[test]
    fn missing_failed_and_unverified_results() {
        let base = with_samples(spread(40e6, 0.01, 10));
        let mut failed = base.clone();
        failed.results[0].status = Status::Failed;
        failed.results[0].verified = false;
        let mut other_workload = base.clone();
        other_workload.results[0].workload = "gemm-f32".into();
        let rows = compare(&[base.clone(), failed, other_workload], 5.0);
        assert_eq!(rows.len(), 2, "sha256d and gemm-f32");
        let cells: Vec<Verdict> = rows[0].cells.iter().map(|c| c.verdict).collect();
        assert_eq!(cells, [Verdict::Base, Verdict::Failed, Verdict::Missing]);
        assert!(
            fails_gate(&rows[0], &rows[0].cells[1]),
            "a new failure fails the gate"
        );
        assert_eq!(
            rows[0].cells[1].value, None,
            "a failed kernel has no figure"
        );
        let gemm: Vec<Verdict> = rows[1].cells.iter().map(|c| c.verdict).collect();
        assert_eq!(gemm, [Verdict::Missing, Verdict::Missing, Verdict::NoBase]);
        // A result claiming status ok but not verified is failed too.
        let mut unverified = base.clone();
        unverified.results[0].verified = false;
        let rows = compare(&[base, unverified], 5.0);
        assert_eq!(rows[0].cells[1].verdict, Verdict::Failed);
    }
}
