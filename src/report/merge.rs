//! What `mwbench merge` prints: one row per device model, workload and
//! shape across the site, then the outliers and failed members by name.

use super::markup::{Document, Grid, si};
use crate::merge::Merged;

pub fn merge_document(merged: &Merged) -> Document {
    let mut document = Document::default();
    document.line(format!(
        "{} result file{} from {} host{}; outliers: more than {}% below their group's median",
        merged.files.len(),
        if merged.files.len() == 1 { "" } else { "s" },
        merged.hosts.len(),
        if merged.hosts.len() == 1 { "" } else { "s" },
        merged.outlier_threshold_percent
    ));
    let mut grid = Grid::new([
        "device",
        "workload",
        "count",
        "total",
        "median",
        "min",
        "p5",
        "p95",
        "max",
        "watts total",
        "outliers",
        "failed",
    ]);
    let figure = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| si(v, unit));
    for group in &merged.groups {
        let mut workload = if group.shape.is_empty() {
            group.workload.clone()
        } else {
            format!("{} {}", group.workload, group.shape)
        };
        if group.external {
            workload.push_str("\n(reported by the command, not checked)");
        }
        let mut watts = figure(group.watts_total, "W");
        if group.watts_shared_hosts > 0 {
            watts.push_str(&format!(
                "\n({} host meter{} once each)",
                group.watts_shared_hosts,
                if group.watts_shared_hosts == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        grid.row([
            group.device.clone(),
            workload,
            group.count.to_string(),
            figure(group.total, &group.unit),
            figure(group.median, &group.unit),
            figure(group.min, &group.unit),
            figure(group.p5, &group.unit),
            figure(group.p95, &group.unit),
            figure(group.max, &group.unit),
            watts,
            group.outliers.len().to_string(),
            group.failed.len().to_string(),
        ]);
    }
    document.grid(grid);
    for group in &merged.groups {
        for o in &group.outliers {
            document.line(format!(
                "outlier: {} {} on {} {}: {} ({:.0}% of the median) in {}",
                group.device,
                group.workload,
                o.host,
                o.pci_bus_id,
                si(o.value, &group.unit),
                o.ratio * 100.0,
                o.file
            ));
        }
        for f in &group.failed {
            document.line(format!(
                "failed: {} {} on {} {}: {}: {} in {}",
                group.device, group.workload, f.host, f.pci_bus_id, f.status, f.check, f.file
            ));
        }
    }
    for note in &merged.notes {
        document.line(format!("note: {note}"));
    }
    document
}

/// One CSV record per group.
pub fn merge_records(merged: &Merged) -> Grid {
    let mut grid = Grid::new([
        "device",
        "workload",
        "shape",
        "unit",
        "count",
        "total",
        "median",
        "min",
        "p5",
        "p95",
        "max",
        "watts_total",
        "outliers",
        "failed",
    ]);
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for g in &merged.groups {
        grid.row([
            g.device.clone(),
            g.workload.clone(),
            g.shape.clone(),
            g.unit.clone(),
            g.count.to_string(),
            number(g.total),
            number(g.median),
            number(g.min),
            number(g.p5),
            number(g.p95),
            number(g.max),
            number(g.watts_total),
            g.outliers.len().to_string(),
            g.failed.len().to_string(),
        ]);
    }
    grid
}
