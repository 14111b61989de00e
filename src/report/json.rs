//! `--format json` (and `--json`): the command's typed report, for tools.
//! Each report is a `Serialize` + `JsonSchema` struct; nothing is built by
//! hand here.

use super::{Exporter, Output};
use crate::Result;

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn export(&self, output: &Output) -> Result<String> {
        Ok(output.json.clone())
    }
}
