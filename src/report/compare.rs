//! The table and markdown `mwbench compare` prints.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::si;
use crate::compare::{Cell, Row, Verdict, fails_gate, gate};
use crate::results::ResultFile;

/// A file as a column header: device, host and date.
fn header(file: &ResultFile, separator: &str) -> String {
    let date = file.created.split('T').next().unwrap_or(&file.created);
    format!(
        "{}{separator}{}{separator}{date}",
        file.device.name, file.machine.hostname
    )
}

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

/// One column per file, one row per workload.
pub fn compare_table(files: &[ResultFile], rows: &[Row]) -> String {
    let mut table = Table::new();
    let mut head = vec!["workload".to_string()];
    head.extend(files.iter().map(|f| header(f, "\n")));
    table.load_style(UTF8_FULL_CONDENSED).set_header(head);
    for row in rows {
        let mut cells = vec![row.label()];
        cells.extend(row.cells.iter().map(|c| cell_lines(row, c).join("\n")));
        table.add_row(cells);
    }
    format!("{table}\n")
}

/// The same as a GitHub-flavoured markdown table, for a pull request.
pub fn compare_markdown(files: &[ResultFile], rows: &[Row]) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let mut text = String::from("| workload |");
    for file in files {
        text.push_str(&format!(" {} |", escape(&header(file, " · "))));
    }
    text.push_str("\n| --- |");
    text.push_str(&" ---: |".repeat(files.len()));
    text.push('\n');
    for row in rows {
        text.push_str(&format!("| {} |", escape(&row.label())));
        for cell in &row.cells {
            let mut lines = cell_lines(row, cell);
            if fails_gate(row, cell)
                && let Some(last) = lines.last_mut()
            {
                *last = format!("**{last}**");
            }
            text.push_str(&format!(" {} |", escape(&lines.join("<br>"))));
        }
        text.push('\n');
    }
    text
}

/// One line per cell that fails the gate: workload, file, ratio and
/// interval.
pub fn regression_lines(files: &[ResultFile], rows: &[Row]) -> Vec<String> {
    gate(rows)
        .into_iter()
        .map(|(row, file)| {
            let cell = &row.cells[file];
            let what = match (cell.ratio, cell.interval) {
                (Some(r), Some([low, high])) => format!("{r:.3}x [{low:.3}, {high:.3}]"),
                _ => "failed its check".to_string(),
            };
            format!("{} on {}: {what}", row.label(), header(&files[file], ", "))
        })
        .collect()
}
