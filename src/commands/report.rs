//! `mwbench report`: result files, merged site files and (with the
//! `value` flags) their value, as one self-contained HTML page.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::compare::Comparison;
use crate::economics::{Inputs, Sweep};
use crate::merge::{self, SiteInput};
use crate::report::{self, Section};
use crate::results::{self, ResultFile};
use crate::{Error, Result};

/// Options of `mwbench report`.
pub struct ReportOptions {
    /// Result files and merged site files, in the order shown; the first
    /// result file is the comparison's base.
    pub files: Vec<PathBuf>,
    pub out: PathBuf,
    /// `compare --threshold`.
    pub threshold_percent: f64,
    /// The `value` flags; with none (and no site file) there is no value
    /// section.
    pub inputs: Inputs,
    pub site: Option<PathBuf>,
    pub sweep: Option<Sweep>,
}

/// Writes the report (beside `out`, then renamed over it).
pub fn report(options: &ReportOptions) -> Result<Outcome> {
    results::check_writable(&options.out)?;
    // The page must never replace a file it reports on.
    if let Ok(out) = options.out.canonicalize()
        && options
            .files
            .iter()
            .any(|path| path.canonicalize().is_ok_and(|path| path == out))
    {
        return Err(Error::usage(format!(
            "--out {} is one of the files read: the report would replace it",
            options.out.display()
        )));
    }
    let priced = options.site.is_some() || options.inputs != Inputs::default();
    if options.sweep.is_some() && !priced {
        return Err(Error::usage(
            "--sweep varies the power price of the value section: give the value flags \
             (--power-price, --hashprice, ...) or --site",
        ));
    }
    // The value flags are checked before any file is read, as by `value`.
    let inputs = priced
        .then(|| {
            super::value::resolve(
                &options.inputs,
                options.site.as_deref(),
                options.sweep.as_ref(),
                options.files.len(),
            )
        })
        .transpose()?;
    let mut runs: Vec<(&Path, ResultFile)> = Vec::new();
    let mut sites = Vec::new();
    // What `value` prices, in the order given: a merged site file as one
    // result file per device model.
    let mut priced_files: Vec<(PathBuf, ResultFile)> = Vec::new();
    for path in &options.files {
        match merge::read_input(path)? {
            SiteInput::Result(file) => {
                let file = *file;
                priced_files.push((path.clone(), file.clone()));
                runs.push((path, file));
            }
            SiteInput::Merged(Ok(merged)) => {
                priced_files.extend(merged.as_result_files(path));
                sites.push((path, merged));
            }
            SiteInput::Merged(Err(reason)) => {
                return Err(Error::usage(format!("{}: {reason}", path.display())));
            }
        }
    }
    let failed = |why: String| Error::Io {
        action: "draw",
        path: options.out.clone(),
        source: std::io::Error::other(why),
    };
    // The answer first: the verdict with prices, else what the files hold.
    let mut sections: Vec<Section> = Vec::new();
    let mut value_section = None;
    if let Some(inputs) = inputs {
        // The files read above, a merged site file as one per device
        // model: what `value` prices, together and each alone.
        let read: Vec<(PathBuf, ResultFile)> = runs
            .iter()
            .map(|(path, file)| (path.to_path_buf(), file.clone()))
            .chain(
                sites
                    .iter()
                    .flat_map(|(path, merged)| merged.as_result_files(path)),
            )
            .collect();
        let (valuation, value) =
            super::value::price(&read, inputs.clone(), options.sweep.as_ref())?;
        let alone: Vec<report::PricedFile> = read
            .iter()
            .map(|entry| report::PricedFile {
                label: report::file_label(&entry.0),
                file: &entry.1,
                alone: super::value::price(std::slice::from_ref(entry), inputs.clone(), None)
                    .map(|(_, report)| report)
                    .map_err(|e| e.to_string()),
            })
            .collect();
        sections.push(report::verdict_section(&value, &alone));
        value_section = Some(
            report::value_section(&valuation, &value, options.sweep.as_ref()).map_err(failed)?,
        );
    } else {
        // A merged file summed up from its groups, which keep the members
        // that failed (its per-model result files keep only the verified).
        let files: Vec<(String, &ResultFile)> = runs
            .iter()
            .map(|(path, file)| (report::file_label(path), file))
            .collect();
        let merged: Vec<(String, &merge::Merged)> = sites
            .iter()
            .map(|(path, merged)| (report::file_label(path), merged))
            .collect();
        sections.push(report::summary_section(&files, &merged));
    }
    for (index, (path, file)) in runs.iter().enumerate() {
        sections.push(report::file_section(index, path, file).map_err(failed)?);
    }
    if runs.len() > 1 {
        let paths: Vec<&Path> = runs.iter().map(|(p, _)| *p).collect();
        let files: Vec<ResultFile> = runs.iter().map(|(_, f)| f.clone()).collect();
        let comparison = Comparison::of(&paths, &files, options.threshold_percent);
        sections.push(report::compare_section(&comparison));
    }
    for (index, (path, merged)) in sites.iter().enumerate() {
        sections.push(report::merge_section(index, path, merged));
    }
    sections.extend(value_section);
    let intro = [
        format!(
            "{} result file{} and {} merged site file{}; written {} by mwbench {}.",
            runs.len(),
            if runs.len() == 1 { "" } else { "s" },
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
            env!("CARGO_PKG_VERSION")
        ),
        "Every figure is from a kernel checked against a CPU reference in the same run; a \
         kernel that failed its check has no figure. Watts say where they came from; an \
         estimate is marked as one."
            .to_string(),
    ];
    let html = report::page("mwbench report", &intro, &sections);
    results::write_atomic(&options.out, html.as_bytes())?;
    Ok(Outcome {
        stdout: String::new(),
        notes: vec![format!(
            "wrote {} ({} sections, {} KB)",
            options.out.display(),
            sections.len(),
            html.len().div_ceil(1024)
        )],
        failure: None,
    })
}
