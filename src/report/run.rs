//! What `mwbench run` prints for one result file: a table of workloads,
//! the power source, and why any workload has no figure.

use super::markup::{Document, Grid, si};
use crate::power::{PowerReading, Provenance};
use crate::results::{CeilingFraction, Figure, ResultFile, Status, WorkloadResult};

/// The table of one result file, with the adapter above it and notes below.
pub fn run_document(file: &ResultFile) -> Document {
    let mut document = Document::default();
    document.line(format!(
        "{} [{}, {}] on {}, timing: {:?}",
        file.device.name,
        file.device.backend,
        file.device.device_type,
        file.machine.hostname,
        file.device.timing
    ));
    let mut grid = Grid::new([
        "workload",
        "status",
        "median",
        "min .. max",
        "samples",
        "power",
        "efficiency",
    ]);
    for result in &file.results {
        grid.row(row(result));
    }
    document.grid(grid);
    if let Some(first) = file.results.first() {
        document.line(power_line(&first.power));
    }
    for result in &file.results {
        if let Some(line) = sustained_line(result) {
            document.line(line);
        }
    }
    for result in file.results.iter().filter(|r| r.status != Status::Ok) {
        let what = match result.status {
            Status::Unsupported => "unsupported",
            // Said from the status; the file's own words are quoted.
            Status::External => "external, not checked by mwbench; its file says",
            _ => "failed",
        };
        document.line(format!(
            "{} {what}: {}",
            workload_label(result),
            result.check
        ));
    }
    document
}

fn row(result: &WorkloadResult) -> Vec<String> {
    let unit = result.throughput.unit.as_str();
    let (median, spread, samples) = match (result.status, result.summary()) {
        (Status::Ok, Some(s)) => (
            si(s.median, unit),
            format!("{} .. {}", si(s.min, ""), si(s.max, "")),
            s.count.to_string(),
        ),
        (Status::Unsupported, _) => ("unsupported".into(), "-".into(), "-".into()),
        // An outside command's figure: as reported, with its own samples
        // where it gave them.
        (Status::External, summary) => (
            result.throughput.value.map_or("-".into(), |v| si(v, unit)),
            summary.map_or("-".into(), |s| {
                format!("{} .. {}", si(s.min, ""), si(s.max, ""))
            }),
            summary.map_or("-".into(), |s| s.count.to_string()),
        ),
        _ => ("FAILED".into(), "-".into(), "-".into()),
    };
    let median = match &result.ceiling {
        Some(CeilingFraction {
            fraction: Some(fraction),
            workload,
            ..
        }) => format!("{median} ({:.0}% of {workload})", fraction * 100.0),
        Some(CeilingFraction {
            note: Some(note), ..
        }) => format!("{median} ({note})"),
        _ => median,
    };
    let median = match &result.sustained {
        Some(s) => format!("{median}\nsteady {}", si(s.steady.throughput, unit)),
        None => median,
    };
    let median = result.also.iter().fold(median, |text, f| {
        format!("{text}\n{}", si(f.value, &f.unit))
    });
    let figures = |list: &[Figure]| {
        list.iter()
            .map(|f| si(f.value, &f.unit))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut efficiency = figures(&result.efficiency);
    if !result.efficiency_above_idle.is_empty() {
        efficiency.push_str(&format!(
            "\nabove idle: {}",
            figures(&result.efficiency_above_idle)
        ));
    }
    if result.power.provenance == Provenance::Estimated && !efficiency.is_empty() {
        efficiency = format!("~{efficiency} (estimate)");
    }
    vec![
        workload_label(result),
        status_word(result.status).into(),
        median,
        spread,
        samples,
        power_cell(&result.power),
        if efficiency.is_empty() {
            "-".into()
        } else {
            efficiency
        },
    ]
}

/// A sustained result's summary: first and steady figures, the drop, the
/// throttling seen, and the adapter's conditions at the end.
fn sustained_line(result: &WorkloadResult) -> Option<String> {
    let summary = result.sustained.as_ref()?;
    let unit = result.throughput.unit.as_str();
    let at = |watts: Option<f64>| match (watts, result.power.provenance) {
        (Some(w), Provenance::Estimated) => format!(" at ~{w:.0} W (estimate)"),
        (Some(w), _) => format!(" at {w:.1} W"),
        (None, _) => String::new(),
    };
    let mut line = format!(
        "{} sustained {} s in {} intervals: first {}{}, steady {}{} ({})",
        workload_label(result),
        result.series.last().map_or(0.0, |p| p.t).round(),
        result.series.len(),
        si(summary.first.throughput, unit),
        at(summary.first.watts),
        si(summary.steady.throughput, unit),
        at(summary.steady.watts),
        summary.change()
    );
    line.push_str(&if summary.throttled.is_empty() {
        "; no throttling reported".to_string()
    } else {
        format!("; THROTTLED: {}", summary.throttled.join(", "))
    });
    if let Some(last) = result.series.last() {
        let end: Vec<String> = [
            last.temperature_c.map(|c| format!("{c:.0} °C")),
            last.sm_clock_mhz.map(|m| format!("SM {m:.0} MHz")),
            last.memory_clock_mhz.map(|m| format!("memory {m:.0} MHz")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !end.is_empty() {
            line.push_str(&format!("; at the end {}", end.join(", ")));
        }
    }
    Some(line)
}

/// `gemv-f16 4096x4096`: the workload and its shape.
pub(super) fn workload_label(result: &WorkloadResult) -> String {
    match result.params.get("shape").and_then(|s| s.as_str()) {
        Some(shape) => format!("{} {shape}", result.workload),
        None => result.workload.clone(),
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "verified",
        Status::Failed => "FAILED",
        Status::Unsupported => "unsupported",
        Status::External => "external",
    }
}

/// One CSV record per workload and adapter, with plain numbers (no
/// prefixes) and empty cells where there is no figure.
pub fn run_records(files: &[ResultFile]) -> Grid {
    let mut grid = Grid::new([
        "device",
        "workload",
        "shape",
        "status",
        "unit",
        "median",
        "min",
        "max",
        "samples",
        "ceiling_fraction",
        "watts",
        "watts_provenance",
        "energy_j",
        "idle_watts",
        "efficiency",
        "efficiency_unit",
        "steady",
        "first",
        "drop_percent",
        "throttled",
    ]);
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    for file in files {
        for result in &file.results {
            let summary = (result.status == Status::Ok)
                .then(|| result.summary())
                .flatten();
            // An outside command's figure has no median of samples of its
            // own: its reported figure stands in the median's column.
            let reported = (result.status == Status::External)
                .then_some(result.throughput.value)
                .flatten();
            let summary = summary.as_ref();
            let efficiency = result.efficiency.first();
            let sustained = result.sustained.as_ref();
            grid.row([
                file.device.name.clone(),
                result.workload.clone(),
                result
                    .params
                    .get("shape")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default()
                    .to_string(),
                status_word(result.status).to_string(),
                result.throughput.unit.as_str().to_string(),
                number(summary.map(|s| s.median).or(reported)),
                number(summary.map(|s| s.min)),
                number(summary.map(|s| s.max)),
                summary.map(|s| s.count.to_string()).unwrap_or_default(),
                number(result.ceiling.as_ref().and_then(|c| c.fraction)),
                number(result.power.watts),
                provenance_word(result.power.provenance).to_string(),
                number(result.power.energy_j),
                number(result.power.idle_watts),
                number(efficiency.map(|f| f.value)),
                efficiency.map(|f| f.unit.clone()).unwrap_or_default(),
                number(sustained.map(|s| s.steady.throughput)),
                number(sustained.map(|s| s.first.throughput)),
                number(sustained.map(|s| s.drop_percent)),
                sustained.map(|s| s.throttled.join(" ")).unwrap_or_default(),
            ]);
        }
    }
    grid
}

/// Mean watts with where they came from; a sensor's spread and idle power
/// below. An estimate is marked as one.
fn power_cell(power: &PowerReading) -> String {
    let Some(watts) = power.watts else {
        return "-".into();
    };
    let mut cell = match power.provenance {
        Provenance::Estimated => format!("~{watts:.0} W (estimate)"),
        provenance => format!("{watts:.1} W ({})", provenance_word(provenance)),
    };
    if let (Some(min), Some(max)) = (power.watts_min, power.watts_max) {
        cell.push_str(&format!(
            "\n{min:.0} .. {max:.0} W, {} samples",
            power.samples
        ));
    }
    if let Some(energy) = power.energy_j
        && power.provenance != Provenance::Estimated
    {
        cell.push_str(&format!("\n{}", si(energy, "J")));
    }
    if let Some(idle) = power.idle_watts {
        cell.push_str(&format!("\nidle {idle:.1} W"));
    }
    cell
}

/// The line under the table that names the power source once.
fn power_line(power: &PowerReading) -> String {
    let mut line = format!("power: {}", power.source);
    match power.provenance {
        Provenance::Estimated => line.push_str(" [ESTIMATE, not a measurement]"),
        Provenance::None => {}
        provenance => line.push_str(&format!(" [{}]", provenance_word(provenance))),
    }
    if power.shared {
        line.push_str("; measures the whole host, shared by its adapters");
    }
    if let Some(interval) = power.interval_ms {
        line.push_str(&format!("; sampled every {interval} ms while measuring"));
    }
    line
}

fn provenance_word(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::Sensor => "sensor",
        Provenance::External => "meter",
        Provenance::User => "user",
        Provenance::Estimated => "estimate",
        Provenance::None => "none",
    }
}
