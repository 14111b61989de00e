//! `mwbench merge`: many nodes' result files as one site, with the GPUs
//! that fall behind their siblings named.

use std::path::PathBuf;

use super::Outcome;
use crate::Result;
use crate::merge;
use crate::report::{self, Format, Output};
use crate::results;

/// Options of `mwbench merge`.
pub struct MergeOptions {
    /// Result files and directories (searched recursively for `*.json`).
    pub paths: Vec<PathBuf>,
    /// Where to write the merged file (JSON), beside and renamed.
    pub out: Option<PathBuf>,
    pub format: Format,
    pub outlier_threshold_percent: f64,
}

pub fn merge(options: &MergeOptions) -> Result<Outcome> {
    if let Some(out) = &options.out {
        results::check_writable(out)?;
    }
    let site = merge::read_all(&options.paths)?;
    let merged = merge::merge(&site.files, options.outlier_threshold_percent, site.notes);
    let mut written = Vec::new();
    if let Some(out) = &options.out {
        let mut json = serde_json::to_string_pretty(&merged).expect("plain data serialises");
        json.push('\n');
        results::write_atomic(out, json.as_bytes())?;
        written.push(format!("wrote {}", out.display()));
    }
    let output = Output::new(&merged, report::merge_document(&merged))
        .with_records(report::merge_records(&merged));
    Ok(Outcome {
        stdout: report::render(&output, options.format)?,
        notes: written,
        failure: None,
    })
}
