//! `--format csv`: one record per row, for spreadsheets, where a command's
//! rows are flat (`run`, `compare`, `value`).

use super::{Exporter, Output};
use crate::{Error, Result};

pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn export(&self, output: &Output) -> Result<String> {
        let Some(records) = &output.records else {
            return Err(Error::usage(
                "--format csv is for commands with flat rows (run, compare, value); \
                 use json here",
            ));
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| Error::usage(format!("cannot write CSV: {e}"));
        writer.write_record(&records.header).map_err(failed)?;
        // Control characters from files (an ESC sequence in a host name)
        // escaped: a CSV is often read on a terminal first.
        for row in &records.rows {
            let row = row.iter().map(|field| mwbench_results::printable(field));
            writer
                .write_record(row.map(|field| field.into_owned()))
                .map_err(failed)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::usage(format!("cannot write CSV: {e}")))?;
        Ok(String::from_utf8(bytes).expect("CSV of strings is UTF-8"))
    }
}
