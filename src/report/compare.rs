//! What `mwbench compare` prints: one column per file, one row per
//! workload, then the regressions and notes.

use super::markup::{Document, Grid, si};
use crate::compare::{Cell, Comparison, Row, Verdict, fails_gate, stats};

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Base => "base",
        Verdict::Same => "same",
        Verdict::Regression => "REGRESSION",
        Verdict::Improvement => "faster",
        Verdict::Untested => "too few samples to test",
        Verdict::Failed => "FAILED",
        Verdict::Unsupported => "unsupported",
        Verdict::NoBase => "not in base",
        Verdict::Missing => "missing",
    }
}

/// A cell's lines: throughput, per watt, ratio with interval, verdict.
fn cell_lines(row: &Row, cell: &Cell) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(value) = cell.value {
        lines.push(si(value, &row.unit));
    }
    if cell.external {
        lines.push("external: not checked".into());
    }
    if let Some(f) = &cell.per_watt {
        lines.push(si(f.value, &f.unit));
    }
    if let Some(ratio) = cell.ratio {
        lines.push(match cell.interval {
            Some([low, high]) => format!("{ratio:.3}x [{low:.3}, {high:.3}]"),
            None => format!("{ratio:.3}x"),
        });
    }
    if cell.verdict != Verdict::Base || cell.value.is_none() {
        lines.push(
            if fails_gate(row, cell) && cell.verdict == Verdict::Failed {
                "FAILED (regression)".to_string()
            } else {
                verdict_word(cell.verdict).to_string()
            },
        );
    }
    lines
}

pub fn compare_document(comparison: &Comparison) -> Document {
    let mut document = Document::default();
    document.line(format!(
        "compared with {} (threshold {}%, {:.0}% bootstrap interval of the ratio of medians)",
        comparison.files[0].path,
        comparison.threshold_percent,
        stats::CONFIDENCE * 100.0
    ));
    let mut head = vec!["workload".to_string()];
    head.extend(comparison.files.iter().map(|f| f.header("\n")));
    let mut grid = Grid::new(head);
    for (r, row) in comparison.rows.iter().enumerate() {
        let mut cells = vec![row.label()];
        for (c, cell) in row.cells.iter().enumerate() {
            cells.push(cell_lines(row, cell).join("\n"));
            if fails_gate(row, cell) {
                grid.strong.push((r, c + 1));
            }
        }
        grid.row(cells);
    }
    document.grid(grid);
    for line in comparison.regression_lines() {
        document.line(format!("regression: {line}"));
    }
    for note in &comparison.notes {
        document.line(format!("note: {note}"));
    }
    document
}

/// One CSV record per workload and file.
pub fn compare_records(comparison: &Comparison) -> Grid {
    let mut grid = Grid::new([
        "workload",
        "shape",
        "unit",
        "file",
        "path",
        "verdict",
        "median",
        "samples",
        "per_watt",
        "per_watt_unit",
        "ratio",
        "ratio_low",
        "ratio_high",
        "external",
    ]);
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    for row in &comparison.rows {
        for (index, cell) in row.cells.iter().enumerate() {
            grid.row([
                row.workload.clone(),
                row.shape.clone(),
                row.unit.clone(),
                index.to_string(),
                comparison.files[index].path.clone(),
                serde_json::to_value(cell.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                number(cell.value),
                cell.samples.to_string(),
                number(cell.per_watt.as_ref().map(|f| f.value)),
                cell.per_watt
                    .as_ref()
                    .map(|f| f.unit.clone())
                    .unwrap_or_default(),
                number(cell.ratio),
                number(cell.interval.map(|i| i[0])),
                number(cell.interval.map(|i| i[1])),
                cell.external.to_string(),
            ]);
        }
    }
    grid
}
