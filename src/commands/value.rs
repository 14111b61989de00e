//! `mwbench value`: prices hashing against AI inference per MWh of site
//! energy, from result files and ASIC figures.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::Result;
use crate::economics::{self, Inputs, Resolved, Sweep, Valuation, ValueReport};
use crate::merge::{self, SiteInput};
use crate::report::{self, Format, Output};
use crate::results::{self, ResultFile};

/// Options of `mwbench value`.
pub struct ValueOptions {
    pub files: Vec<PathBuf>,
    /// Prices from the flags; they win over the site file.
    pub inputs: Inputs,
    pub site: Option<PathBuf>,
    pub sweep: Option<Sweep>,
    pub chart: Option<PathBuf>,
    pub format: Format,
}

/// A result file, or a merged site file (`mwbench merge --out`) as one
/// result file per device model.
fn read_priced(path: &Path) -> Result<Vec<(PathBuf, ResultFile)>> {
    match merge::read_input(path)? {
        SiteInput::Result(file) => Ok(vec![(path.to_path_buf(), *file)]),
        SiteInput::Merged(Ok(merged)) => Ok(merged.as_result_files(path)),
        SiteInput::Merged(Err(reason)) => {
            Err(crate::Error::usage(format!("{}: {reason}", path.display())))
        }
    }
}

/// The valuation; writes the chart if asked.
pub fn value(options: &ValueOptions) -> Result<Outcome> {
    if let Some(chart) = &options.chart {
        report::chart_format(chart)?;
        results::check_writable(chart)?;
    }
    let inputs = resolve(
        &options.inputs,
        options.site.as_deref(),
        options.sweep.as_ref(),
        options.files.len(),
    )?;
    let mut read = Vec::new();
    for path in &options.files {
        read.extend(read_priced(path)?);
    }
    let (valuation, report) = price(&read, inputs, options.sweep.as_ref())?;
    let mut notes = Vec::new();
    if let Some(chart) = &options.chart {
        report::write_chart(&valuation, options.sweep.as_ref(), chart)?;
        notes.push(format!("wrote {}", chart.display()));
    }
    let output = Output::new(&report, report::value_document(&report))
        .with_records(report::value_records(&report));
    Ok(Outcome {
        stdout: report::render(&output, options.format)?,
        notes,
        failure: None,
    })
}

/// The flags' `inputs` over the `site` file's, checked against `--sweep`
/// and against having something to price (`files` result files given):
/// done before any result file is read, so a wrong flag is said first.
pub fn resolve(
    inputs: &Inputs,
    site: Option<&Path>,
    sweep: Option<&Sweep>,
    files: usize,
) -> Result<Resolved> {
    let site = site
        .map(|path| Inputs::from_site_file(path).map(|inputs| (inputs, path)))
        .transpose()?;
    let inputs = inputs.resolve(site.as_ref().map(|(inputs, path)| (inputs, *path)))?;
    if sweep.is_some() && inputs.price_series.is_some() {
        return Err(crate::Error::usage(
            "--sweep varies a flat power price; a price series has its own prices \
             (give one or the other)",
        ));
    }
    economics::require_something(
        files,
        inputs.asics.len() + usize::from(inputs.colocation.is_some()),
    )?;
    Ok(inputs)
}

/// Prices the result files `read` (a merged site file as one per device
/// model) at `inputs`: the valuation and its report, as `value` prints it
/// and `report` shows it.
pub fn price(
    read: &[(PathBuf, ResultFile)],
    inputs: Resolved,
    sweep: Option<&Sweep>,
) -> Result<(Valuation, ValueReport)> {
    let priced = economics::options::options(read, &inputs)?;
    let valuation = Valuation {
        inputs,
        options: priced.priced,
        unpriceable: priced.unpriceable,
    };
    valuation.check_finite()?;
    let file_notes = read
        .iter()
        .filter_map(|(path, file)| results::interrupted_note(path, file))
        .chain(results::sustained_note(read.iter().map(|(_, f)| f)))
        .collect();
    let report = valuation.report(sweep, file_notes);
    Ok((valuation, report))
}
