//! `mwbench export`: result files in a monitoring system's format.

use std::path::PathBuf;

use super::Outcome;
use crate::Result;
use crate::{export, merge, results};

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// node_exporter's textfile-collector format.
    Prometheus,
}

/// Options of `mwbench export`.
pub struct ExportOptions {
    /// Result files, and directories searched recursively for `*.json`.
    pub paths: Vec<PathBuf>,
    pub format: ExportFormat,
    /// Where to write (beside and renamed, as node_exporter's textfile
    /// collector requires); stdout without it.
    pub out: Option<PathBuf>,
}

pub fn export(options: &ExportOptions) -> Result<Outcome> {
    if let Some(out) = &options.out {
        results::check_writable(out)?;
    }
    let site = merge::read_all(&options.paths)?;
    let files: Vec<_> = site.files.into_iter().map(|(_, file)| file).collect();
    let text = match options.format {
        ExportFormat::Prometheus => export::prometheus(&files),
    };
    let mut notes = site.notes;
    match &options.out {
        Some(out) => {
            results::write_atomic(out, text.as_bytes())?;
            notes.push(format!("wrote {}", out.display()));
            Ok(Outcome {
                stdout: String::new(),
                notes,
                failure: None,
            })
        }
        None => Ok(Outcome {
            stdout: text,
            notes,
            failure: None,
        }),
    }
}
