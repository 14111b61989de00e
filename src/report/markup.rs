//! What a command's output looks like to people, before it is rendered:
//! lines of text and tables of cells. The terminal table, Markdown and CSV
//! renderers all read this one shape (as hyperfine's `markup.rs` serves its
//! Markdown and AsciiDoc exporters).

/// A command's output for people: blocks in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub blocks: Vec<Block>,
}

/// One part of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A line of prose: a heading, a verdict, a note.
    Line(String),
    /// A table. Cells may hold several lines.
    Grid(Grid),
}

/// A table: a header and rows of the same width.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Cells Markdown shows in bold (a regression in a pull request).
    pub strong: Vec<(usize, usize)>,
}

impl Grid {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Grid {
        Grid {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            strong: Vec::new(),
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }
}

impl Document {
    pub fn line(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Line(text.into()));
    }

    pub fn grid(&mut self, grid: Grid) {
        self.blocks.push(Block::Grid(grid));
    }

    /// Appends `other`'s blocks.
    pub fn extend(&mut self, other: Document) {
        self.blocks.extend(other.blocks);
    }
}

/// `value` with an SI prefix and three significant digits: `42.1 M`.
pub fn si(value: f64, unit: &str) -> String {
    // A time per unit past a second reads in seconds, never `kms/token`.
    if let Some(per) = unit.strip_prefix("ms/")
        && value.abs() >= 1e3
    {
        let seconds = value / 1e3;
        return if seconds.abs() >= 1e4 {
            format!("{seconds:.3e} s/{per}")
        } else {
            format!("{seconds:.digits$} s/{per}", digits = digits(seconds))
        };
    }
    let prefixes = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    let (scaled, prefix) = prefixes
        .iter()
        .find(|(scale, _)| value.abs() >= *scale)
        .map_or((value, ""), |(scale, prefix)| (value / scale, *prefix));
    // Past the largest prefix, or in a tiny fraction: scientific notation,
    // never hundreds of digits.
    if scaled.abs() >= 1e4 || (scaled != 0.0 && scaled.abs() < 1e-3) {
        return format!("{value:.3e} {unit}");
    }
    format!("{scaled:.digits$} {prefix}{unit}", digits = digits(scaled))
}

/// Decimals that give three significant digits to a number from 0.001
/// to 9999.
fn digits(value: f64) -> usize {
    if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    }
}

/// Dollars to the cent, or in scientific notation past a billion.
pub fn usd(value: f64) -> String {
    if value.abs() >= 1e9 {
        format!("{value:.3e}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_prefixes_keep_three_digits() {
        assert_eq!(si(42_130_000.0, "H/s"), "42.1 MH/s");
        assert_eq!(si(1.5e12, "H/s"), "1.50 TH/s");
        assert_eq!(si(999.0, "W"), "999 W");
        assert_eq!(si(0.5, "H/J"), "0.50 H/J");
        // Seconds as seconds.
        assert_eq!(si(23_900.0, "ms/token"), "23.9 s/token");
        assert_eq!(si(250.0, "ms/token"), "250 ms/token");
        assert_eq!(si(3.6e9, "ms/token"), "3.600e6 s/token");
    }
}
