//! `mwbench compare`: result files side by side against the first, with a
//! regression gate for CI.

use std::path::PathBuf;

use super::Outcome;
use crate::compare::Comparison;
use crate::report::{self, Format, Output};
use crate::results::{self, ResultFile};
use crate::{Error, Result};

/// Options of `mwbench compare`.
pub struct CompareOptions {
    /// The base file first, then the others.
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub threshold_percent: f64,
    pub fail_on_regression: bool,
}

/// The comparison; with `fail_on_regression`, ends with exit 1 after it
/// when any workload regressed.
pub fn compare(options: &CompareOptions) -> Result<Outcome> {
    let files = options
        .files
        .iter()
        .map(|path| results::read_file(path))
        .collect::<mwbench_results::Result<Vec<ResultFile>>>()?;
    let paths: Vec<&std::path::Path> = options.files.iter().map(PathBuf::as_path).collect();
    let comparison = Comparison::of(&paths, &files, options.threshold_percent);
    let output = Output::new(&comparison, report::compare_document(&comparison))
        .with_records(report::compare_records(&comparison));
    let regressions = comparison.regression_lines();
    let failure = (options.fail_on_regression && !regressions.is_empty()).then(|| {
        Error::Regression(format!(
            "{} regression{}: {}",
            regressions.len(),
            if regressions.len() == 1 { "" } else { "s" },
            regressions.join("; ")
        ))
    });
    Ok(Outcome {
        stdout: report::render(&output, options.format)?,
        notes: Vec::new(),
        failure,
    })
}
