//! `--format table`: what a person at a terminal reads.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::markup::{Block, Document};
use super::{Exporter, Output};
use crate::Result;
use mwbench_results::printable;

pub struct TableExporter;

impl Exporter for TableExporter {
    fn export(&self, output: &Output) -> Result<String> {
        Ok(render(&output.document))
    }
}

/// Lines as they are; grids as boxed tables. Text from files (device and
/// host names, checks) reaches the terminal here, so control characters
/// are escaped: an ESC sequence in a host name must not recolour the
/// table or move the cursor, a newline must not forge a line outside a
/// table's box.
pub fn render(document: &Document) -> String {
    // A cell's line breaks stay inside its box (cells of several figures
    // use them); every other control character is escaped.
    let cell = |text: &String| {
        text.split('\n')
            .map(printable)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut text = String::new();
    for block in &document.blocks {
        match block {
            Block::Line(line) => {
                text.push_str(&printable(line));
                text.push('\n');
            }
            Block::Grid(grid) => {
                let mut table = Table::new();
                table
                    .load_style(UTF8_FULL_CONDENSED)
                    .set_header(grid.header.iter().map(cell).collect::<Vec<_>>());
                for row in &grid.rows {
                    table.add_row(row.iter().map(cell).collect::<Vec<_>>());
                }
                text.push_str(&format!("{table}\n"));
            }
        }
    }
    text
}
