//! `mwbench compare`: result files side by side against the first, with a
//! regression gate for CI.

use std::path::PathBuf;

use serde_json::json;

use crate::compare::{self, stats};
use crate::report;
use crate::results::{self, ResultFile};
use crate::{Error, Result};

/// How `compare` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    Table,
    /// For a pull-request comment.
    Markdown,
    /// For tools.
    Json,
}

impl std::str::FromStr for CompareFormat {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "table" => Ok(CompareFormat::Table),
            "markdown" => Ok(CompareFormat::Markdown),
            "json" => Ok(CompareFormat::Json),
            other => Err(format!("'{other}' is not table, markdown or json")),
        }
    }
}

/// Options of `mwbench compare`.
pub struct CompareOptions {
    /// The base file first, then the others.
    pub files: Vec<PathBuf>,
    pub format: CompareFormat,
    pub threshold_percent: f64,
    pub fail_on_regression: bool,
}

/// The comparison; with `fail_on_regression`, fails (exit 1) after
/// printing it when any workload regressed.
pub fn compare(options: &CompareOptions) -> Result<String> {
    let files = options
        .files
        .iter()
        .map(|path| results::read_file(path))
        .collect::<Result<Vec<ResultFile>>>()?;
    let rows = compare::compare(&files, options.threshold_percent);
    let notes: Vec<String> = options
        .files
        .iter()
        .zip(&files)
        .filter_map(|(path, file)| results::interrupted_note(path, file))
        .collect();
    let regressions = report::regression_lines(&files, &rows);
    let output = match options.format {
        CompareFormat::Table => {
            let mut text = format!(
                "compared with {} (threshold {}%, {:.0}% bootstrap interval of the ratio of medians)\n",
                options.files[0].display(),
                options.threshold_percent,
                stats::CONFIDENCE * 100.0
            );
            text.push_str(&report::compare_table(&files, &rows));
            for line in &regressions {
                text.push_str(&format!("regression: {line}\n"));
            }
            for note in &notes {
                text.push_str(&format!("note: {note}\n"));
            }
            text
        }
        CompareFormat::Markdown => {
            let mut text = report::compare_markdown(&files, &rows);
            text.push_str(&format!(
                "\nRatios are against the first column; intervals are {:.0}% bootstrap \
                 intervals of the ratio of medians; threshold {}%.\n",
                stats::CONFIDENCE * 100.0,
                options.threshold_percent
            ));
            for line in &regressions {
                text.push_str(&format!("\n**Regression:** {line}"));
            }
            for note in &notes {
                text.push_str(&format!("\n**Note:** {note}"));
            }
            if !regressions.is_empty() || !notes.is_empty() {
                text.push('\n');
            }
            text
        }
        CompareFormat::Json => {
            let described: Vec<serde_json::Value> = options
                .files
                .iter()
                .zip(&files)
                .map(|(path, f)| {
                    json!({
                        "path": path.display().to_string(),
                        "device": f.device.name,
                        "host": f.machine.hostname,
                        "created": f.created,
                        "schema_version": f.schema_version,
                        "interrupted": f.interrupted,
                    })
                })
                .collect();
            let gate: Vec<serde_json::Value> = compare::gate(&rows)
                .into_iter()
                .map(|(row, file)| {
                    let cell = &row.cells[file];
                    json!({
                        "workload": row.workload,
                        "shape": row.shape,
                        "file": file,
                        "verdict": cell.verdict,
                        "ratio": cell.ratio,
                        "interval": cell.interval,
                    })
                })
                .collect();
            let value = json!({
                "files": described,
                "threshold_percent": options.threshold_percent,
                "method": format!(
                    "{:.0}% bootstrap interval of the ratio of medians, {} resamples",
                    stats::CONFIDENCE * 100.0,
                    stats::RESAMPLES
                ),
                "rows": rows,
                "regressions": gate,
            });
            serde_json::to_string_pretty(&value).expect("JSON values serialise") + "\n"
        }
    };
    if options.fail_on_regression && !regressions.is_empty() {
        print!("{output}");
        return Err(Error::Regression(format!(
            "{} regression{}: {}",
            regressions.len(),
            if regressions.len() == 1 { "" } else { "s" },
            regressions.join("; ")
        )));
    }
    Ok(output)
}
