//! `mwbench value`: prices hashing against AI inference per MWh of site
//! energy, from result files and ASIC figures.

use std::path::PathBuf;

use crate::Result;
use crate::economics::{self, Inputs, Sweep, Valuation};
use crate::report;
use crate::results;

/// Options of `mwbench value`.
pub struct ValueOptions {
    pub files: Vec<PathBuf>,
    /// Prices from the flags; they win over the site file.
    pub inputs: Inputs,
    pub site: Option<PathBuf>,
    pub sweep: Option<Sweep>,
    pub chart: Option<PathBuf>,
    pub json: bool,
}

/// The valuation as a table, or as JSON; writes the chart if asked.
pub fn value(options: &ValueOptions) -> Result<String> {
    if let Some(chart) = &options.chart {
        report::chart_format(chart)?;
        results::check_writable(chart)?;
    }
    let site = options
        .site
        .as_deref()
        .map(|path| Inputs::from_site_file(path).map(|inputs| (inputs, path)))
        .transpose()?;
    let inputs = options
        .inputs
        .resolve(site.as_ref().map(|(inputs, path)| (inputs, *path)))?;
    economics::require_something(options.files.len(), inputs.asics.len())?;
    let files = options
        .files
        .iter()
        .map(|path| results::read_file(path).map(|file| (path.clone(), file)))
        .collect::<Result<Vec<_>>>()?;
    let notes: Vec<String> = files
        .iter()
        .filter_map(|(path, file)| results::interrupted_note(path, file))
        .collect();
    let priced = economics::options::options(&files, &inputs)?;
    let valuation = Valuation {
        inputs,
        options: priced.priced,
        unpriceable: priced.unpriceable,
    };
    if let Some(chart) = &options.chart {
        report::write_chart(&valuation, options.sweep.as_ref(), chart)?;
        eprintln!("wrote {}", chart.display());
    }
    valuation.check_finite()?;
    if options.json {
        let mut json = valuation.to_json(options.sweep.as_ref());
        json["notes"] = notes.into();
        return Ok(serde_json::to_string_pretty(&json).expect("JSON values serialise") + "\n");
    }
    let mut text = report::value_table(&valuation, options.sweep.as_ref());
    for note in notes {
        text.push_str(&format!("note: {note}\n"));
    }
    Ok(text)
}
