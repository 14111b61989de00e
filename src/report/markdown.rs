//! `--format markdown`: GitHub-flavoured Markdown, for a pull request or a
//! report.

use super::markup::{Block, Document, Grid};
use super::{Exporter, Output};
use crate::Result;

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn export(&self, output: &Output) -> Result<String> {
        Ok(render(&output.document))
    }
}

/// Lines as paragraphs, grids as pipe tables; blocks separated by a blank
/// line.
pub fn render(document: &Document) -> String {
    let parts: Vec<String> = document
        .blocks
        .iter()
        .map(|block| match block {
            Block::Line(line) => escape(line),
            Block::Grid(grid) => table(grid),
        })
        .collect();
    let mut text = String::new();
    for (index, part) in parts.iter().enumerate() {
        // Consecutive lines stay one paragraph apart; a table needs a blank
        // line before and after it.
        if index > 0 {
            text.push_str("\n\n");
        }
        text.push_str(part.trim_end());
    }
    text.push('\n');
    text
}

fn table(grid: &Grid) -> String {
    // A cell's line breaks become the separator; anything else is escaped.
    let cell = |text: &str, separator: &str| {
        text.split('\n')
            .map(escape)
            .collect::<Vec<_>>()
            .join(separator)
    };
    let mut text = String::from("|");
    for head in &grid.header {
        text.push_str(&format!(" {} |", cell(head, " · ")));
    }
    text.push_str("\n| --- |");
    text.push_str(&" ---: |".repeat(grid.header.len().saturating_sub(1)));
    text.push('\n');
    for (r, row) in grid.rows.iter().enumerate() {
        text.push('|');
        for (c, value) in row.iter().enumerate() {
            let mut value = cell(value, "<br>");
            if grid.strong.contains(&(r, c)) && !value.is_empty() {
                value = strengthen(&value);
            }
            text.push_str(&format!(" {value} |"));
        }
        text.push('\n');
    }
    text
}

/// Bold for the last line of a cell (its verdict).
fn strengthen(cell: &str) -> String {
    match cell.rsplit_once("<br>") {
        Some((head, last)) => format!("{head}<br>**{last}**"),
        None => format!("**{cell}**"),
    }
}

/// Pipes would end a cell; everything else shows as typed.
/// Pipes escaped for tables; control characters from files (an ESC
/// sequence in a host name) escaped, so that the Markdown, printed to a
/// terminal or pasted, cannot drive the terminal or forge a line.
fn escape(text: &str) -> String {
    mwbench_results::printable(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_become_pipe_tables_with_multi_line_cells_joined() {
        let mut grid = Grid::new(["workload", "base\nhost"]);
        grid.row(["a|b", "1.0x\nREGRESSION"]);
        grid.strong.push((0, 1));
        let mut document = Document::default();
        document.line("compared");
        document.grid(grid);
        assert_eq!(
            render(&document),
            "compared\n\n| workload | base · host |\n| --- | ---: |\n| a\\|b | 1.0x<br>**REGRESSION** |\n"
        );
    }
}
