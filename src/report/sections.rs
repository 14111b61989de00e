//! The sections of `mwbench report`, each present when its inputs are:
//! per result file its machine, settings and power sources, its results,
//! its roofline and its sustained series; across files the `compare`
//! table; per merged file its groups; with prices, the `value` table and
//! chart.

use std::collections::BTreeSet;
use std::path::Path;

use super::html::{Chart, Section};
use super::markup::{Document, Grid};
use super::roofline::Roofline;
use crate::compare::Comparison;
use crate::economics::{Sweep, Valuation, ValueReport};
use crate::merge::Merged;
use crate::power::Provenance;
use crate::results::ResultFile;

/// One result file: where it ran and how, every result, the roofline and
/// the sustained runs. `index` makes the section's anchor unique.
pub fn file_section(index: usize, path: &Path, file: &ResultFile) -> Result<Section, String> {
    let name = file_label(path);
    let mut section = Section::new(
        format!("{} on {}: {name}", file.device.name, file.machine.hostname),
        format!("file-{index}"),
    );
    section.paragraph(
        &format!("{} (written {})", path.display(), file.created),
        false,
    );
    if file.interrupted {
        section.paragraph(
            "interrupted run (SIGINT or SIGTERM): only the workloads completed before it \
             stopped are here",
            true,
        );
    }
    section.subheading("Machine, device and settings");
    section.document(&machine_document(file));
    section.subheading("Results");
    section.document(&super::run_document(file));
    section.subheading("Roofline");
    match Roofline::of(file) {
        Ok(roofline) => {
            section.chart(&Chart {
                svg: roofline.svg()?,
                title: format!("Roofline of {}", file.device.name),
                x_label: "arithmetic intensity".into(),
                y_label: "GFLOP/s".into(),
            });
            if !roofline.not_placed.is_empty() {
                section.paragraph(
                    &format!(
                        "not placed (no work per byte to place them by): {}",
                        roofline.not_placed.join(", ")
                    ),
                    false,
                );
            }
        }
        Err(why) => section.paragraph(&why, false),
    }
    let sustained: Vec<_> = file
        .results
        .iter()
        .filter(|r| r.sustained.is_some())
        .collect();
    if !sustained.is_empty() {
        section.subheading("Sustained runs");
        // The summary lines are under the results table; each chart's
        // legend repeats its figures.
        for result in sustained {
            if let Some(svg) = super::sustained::series_svg(result, &file.device.name) {
                section.chart(&Chart {
                    svg: svg?,
                    title: super::sustained::title(result, &file.device.name),
                    x_label: "seconds from the start".into(),
                    y_label: "throughput (".into(),
                });
            }
        }
    }
    Ok(section)
}

/// How the report names a file: its file name (the path is said once,
/// under its section's heading).
pub fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Host, device, driver, settings and every power source with its
/// provenance.
fn machine_document(file: &ResultFile) -> Document {
    let device = &file.device;
    let settings = &file.settings;
    let mut grid = Grid::new(["machine", ""]);
    grid.row(["host", file.machine.hostname.as_str()]);
    grid.row(["OS", file.machine.os.as_str()]);
    grid.row(["CPU", file.machine.cpu.as_str()]);
    grid.row([
        "device".to_string(),
        format!(
            "{} [{}, {}] PCI {}",
            device.name,
            device.backend,
            device.device_type,
            if device.pci_bus_id.is_empty() {
                "-"
            } else {
                &device.pci_bus_id
            }
        ),
    ]);
    grid.row([
        "driver".to_string(),
        format!("{} {}", device.driver, device.driver_info),
    ]);
    grid.row(["timing".to_string(), format!("{:?}", device.timing)]);
    let sampling = match (settings.sustain_seconds, settings.interval_seconds) {
        (Some(seconds), Some(interval)) => format!(
            "sustained: {seconds} s per workload in {interval} s intervals, after {} s of \
             warm-up; samples of {} s",
            settings.warm_up_seconds, settings.sample_seconds
        ),
        _ => format!(
            "{} s of samples of {} s (at least {}) after {} s of warm-up{}",
            settings.measure_seconds,
            settings.sample_seconds,
            settings.min_samples,
            settings.warm_up_seconds,
            if settings.quick { "; --quick" } else { "" }
        ),
    };
    grid.row(["settings".to_string(), sampling]);
    grid.row([
        "mwbench".to_string(),
        format!(
            "{} (result schema {})",
            file.mwbench_version, file.schema_version
        ),
    ]);
    let sources: BTreeSet<(String, &'static str)> = file
        .results
        .iter()
        .map(|r| (r.power.source.clone(), provenance_words(r.power.provenance)))
        .collect();
    let sources: Vec<String> = sources
        .into_iter()
        .map(|(source, provenance)| format!("{source} [{provenance}]"))
        .collect();
    grid.row(["power sources".to_string(), sources.join("\n")]);
    let mut document = Document::default();
    document.grid(grid);
    document
}

/// Provenance as the report says it: an estimate never reads as a
/// measurement.
pub(super) fn provenance_words(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::Sensor => "measured by a sensor",
        Provenance::External => "measured by an external meter",
        Provenance::User => "given by the user",
        Provenance::Estimated => "ESTIMATE, not a measurement",
        Provenance::None => "no power figure",
    }
}

/// Several result files side by side against the first, with verdicts.
pub fn compare_section(comparison: &Comparison) -> Section {
    let mut section = Section::new("Comparison", "compare");
    section.document(&super::compare_document(comparison));
    if comparison.regressions.is_empty() {
        section.paragraph("no regressions beyond the threshold", false);
    }
    section
}

/// A merged site file: its groups, outliers highlighted.
pub fn merge_section(index: usize, path: &Path, merged: &Merged) -> Section {
    let mut section = Section::new(
        format!("Site: {}", path.display()),
        format!("merged-{index}"),
    );
    section.document(&super::merge_document(merged));
    section
}

/// The `value` table and chart, from the same flags as `value`.
pub fn value_section(
    valuation: &Valuation,
    report: &ValueReport,
    sweep: Option<&Sweep>,
) -> Result<Section, String> {
    let mut section = Section::new("Value per MW", "value");
    section.document(&super::value_document(report));
    let (title, x_label, y_label) = super::chart::value_labels(valuation);
    section.chart(&Chart {
        svg: super::chart::value_svg(valuation, sweep)?,
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
    });
    Ok(section)
}
