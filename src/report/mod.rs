//! What commands print: every command builds a typed report (a
//! `Serialize` + `JsonSchema` struct) and a [`Document`] for people, and
//! one [`Exporter`] per `--format` renders them, one file each, as
//! hyperfine's `src/export/` does. Also progress on long runs, charts to
//! paste in a report, and `mwbench report`'s self-contained HTML page.

mod chart;
mod compare;
mod csv;
mod devices;
mod html;
mod json;
mod markdown;
mod markup;
mod merge;
mod progress;
mod roofline;
mod run;
mod sections;
mod sustained;
mod terminal;
mod value;
mod verdict;

use serde::Serialize;

pub use chart::{chart_format, write_chart};
pub use compare::{compare_document, compare_records};
pub use devices::devices_document;
pub use html::{Section, page};
pub use markup::{Block, Document, Grid, si, usd};
pub use merge::{merge_document, merge_records};
pub use progress::Progress;
pub use run::{run_document, run_records};
pub use sections::{compare_section, file_label, file_section, merge_section, value_section};
pub use value::{value_document, value_records};
pub use verdict::{PricedFile, summary_section, verdict_section};

use crate::{Error, Result};

/// `--format`: how a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Boxed tables for a terminal.
    #[default]
    Table,
    /// The typed report, for tools (`--json` is the same).
    Json,
    /// GitHub-flavoured Markdown, for a pull request or a report.
    Markdown,
    /// One record per row, where the rows are flat.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            other => Err(format!("'{other}' is not table, json, markdown or csv")),
        }
    }
}

/// A command's result, ready for any format.
#[derive(Debug, Clone)]
pub struct Output {
    /// The typed report as pretty JSON, its fields in their declared order.
    pub json: String,
    /// The same for people.
    pub document: Document,
    /// Flat records for CSV; `None` where the rows are not flat.
    pub records: Option<Grid>,
}

impl Output {
    pub fn new<T: Serialize>(report: &T, document: Document) -> Output {
        Output {
            json: serde_json::to_string_pretty(report).expect("reports serialise") + "\n",
            document,
            records: None,
        }
    }

    pub fn with_records(mut self, records: Grid) -> Output {
        self.records = Some(records);
        self
    }
}

/// Renders an [`Output`] in one format.
pub trait Exporter {
    fn export(&self, output: &Output) -> Result<String>;
}

/// The exporter for `format`.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(terminal::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
        Format::Csv => Box::new(csv::CsvExporter),
    }
}

/// `output` in `format`.
pub fn render(output: &Output, format: Format) -> Result<String> {
    exporter(format).export(output)
}

/// Refuses `--format csv` for a command whose rows are not flat, before
/// it runs anything.
pub fn check_flat(format: Format, command: &str) -> Result<()> {
    if format == Format::Csv {
        return Err(Error::usage(format!(
            "--format csv is for commands with flat rows (run, compare, value), not {command}; \
             use json"
        )));
    }
    Ok(())
}
