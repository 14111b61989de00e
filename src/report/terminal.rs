//! `--format table`: what a person at a terminal reads.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::markup::{Block, Document};
use super::{Exporter, Output};
use crate::Result;

pub struct TableExporter;

impl Exporter for TableExporter {
    fn export(&self, output: &Output) -> Result<String> {
        Ok(render(&output.document))
    }
}

/// Lines as they are; grids as boxed tables.
pub fn render(document: &Document) -> String {
    let mut text = String::new();
    for block in &document.blocks {
        match block {
            Block::Line(line) => {
                text.push_str(line);
                text.push('\n');
            }
            Block::Grid(grid) => {
                let mut table = Table::new();
                table
                    .load_style(UTF8_FULL_CONDENSED)
                    .set_header(grid.header.clone());
                for row in &grid.rows {
                    table.add_row(row.clone());
                }
                text.push_str(&format!("{table}\n"));
            }
        }
    }
    text
}
