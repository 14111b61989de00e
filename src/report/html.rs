//! `mwbench report`: one self-contained HTML file a site engineer can open
//! on an air-gapped laptop and forward. Styles and charts are inline (SVG),
//! nothing is fetched and nothing runs: the tables are the same
//! [`Document`]s the terminal shows, with the same numbers and prefixes.

use std::fmt::Write as _;

use super::markup::{Block, Document, Grid};

/// A chart placed in the report. The figure carries the chart's title and
/// axis labels as data attributes, so that a test in a browser can check
/// each chart has them and a data mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub svg: String,
    /// The start of the chart's title, as drawn.
    pub title: String,
    /// The start of its axis labels, as drawn.
    pub x_label: String,
    pub y_label: String,
}

/// One section of the report: a heading and its body, in HTML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub heading: String,
    pub id: String,
    pub body: String,
}

impl Section {
    pub fn new(heading: impl Into<String>, id: impl Into<String>) -> Section {
        Section {
            heading: heading.into(),
            id: id.into(),
            body: String::new(),
        }
    }

    /// Appends `document` as paragraphs and tables.
    pub fn document(&mut self, document: &Document) {
        self.body.push_str(&document_html(document));
    }

    /// Appends a subheading.
    pub fn subheading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h3>{}</h3>", escape(text));
    }

    /// Appends the section's answer, set larger than its other text.
    pub fn lead(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"lead\">{}</p>", escape(text));
    }

    /// Appends a paragraph, marked as a caveat when `caveat`.
    pub fn paragraph(&mut self, text: &str, caveat: bool) {
        let class = if caveat { " class=\"caveat\"" } else { "" };
        let _ = writeln!(self.body, "<p{class}>{}</p>", escape(text));
    }

    /// Appends a chart.
    pub fn chart(&mut self, chart: &Chart) {
        let _ = writeln!(
            self.body,
            "<figure class=\"chart\" id=\"{}-chart-{}\" data-title=\"{}\" data-x-label=\"{}\" data-y-label=\"{}\">\n{}\n</figure>",
            escape(&self.id),
            self.body.matches("<figure").count(),
            escape(&chart.title),
            escape(&chart.x_label),
            escape(&chart.y_label),
            chart.svg.trim()
        );
    }
}

/// The whole page: a title, the first section (the answer, which must
/// fit the first screen), a table of contents, and the other sections.
pub fn page(title: &str, intro: &[String], sections: &[Section]) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    for line in intro {
        let _ = writeln!(html, "<p class=\"intro\">{}</p>", escape(line));
    }
    let section_html = |html: &mut String, section: &Section| {
        let _ = write!(
            html,
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
            escape(&section.id),
            escape(&section.heading),
            section.body
        );
    };
    let Some((first, rest)) = sections.split_first() else {
        html.push_str("</body>\n</html>\n");
        return html;
    };
    section_html(&mut html, first);
    html.push_str("<nav><ul>\n");
    for section in sections {
        let _ = writeln!(
            html,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&section.id),
            escape(&section.heading)
        );
    }
    html.push_str("</ul></nav>\n");
    for section in rest {
        section_html(&mut html, section);
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// Print-friendly and plain: a report is read on screens and on paper.
const STYLE: &str = "
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 2em auto; max-width: 1180px;
       padding: 0 1em; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
section:first-of-type h2 { margin-top: 0.8em; }
p.lead { font-size: 1.15em; font-weight: bold; }
p.intro { color: #444; margin: 0.2em 0; }
nav ul { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
td.strong { background: #ffe3e3; font-weight: bold; }
p.caveat, p.alert { background: #fff4e0; border-left: 4px solid #e08a00; padding: 0.3em 0.6em; }
p.alert { background: #ffe3e3; border-left-color: #c00; }
figure.chart { margin: 1em 0; }
figure.chart svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
";

/// A document as HTML: lines as paragraphs (warnings marked), grids as
/// tables whose multi-line cells keep their lines.
pub fn document_html(document: &Document) -> String {
    let mut html = String::new();
    for block in &document.blocks {
        match block {
            Block::Line(text) => {
                let _ = writeln!(html, "<p{}>{}</p>", line_class(text), escape(text));
            }
            Block::Grid(grid) => html.push_str(&table(grid)),
        }
    }
    html
}

/// Lines that say something went wrong or is not what it seems are marked.
fn line_class(text: &str) -> &'static str {
    let lower = text.to_lowercase();
    let alert = ["regression:", "outlier:", "failed", "throttled"]
        .iter()
        .any(|w| lower.contains(w));
    let caveat = ["estimate", "note:", "interrupted", "caveat"]
        .iter()
        .any(|w| lower.contains(w));
    if alert {
        " class=\"alert\""
    } else if caveat {
        " class=\"caveat\""
    } else {
        ""
    }
}

fn table(grid: &Grid) -> String {
    let mut html = String::from("<table>\n<thead><tr>");
    for head in &grid.header {
        let _ = write!(html, "<th>{}</th>", lines(head));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (r, row) in grid.rows.iter().enumerate() {
        html.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let strong = grid.strong.contains(&(r, c));
            let class = if strong { " class=\"strong\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", lines(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// A cell's lines, escaped, joined by line breaks.
fn lines(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_become_escaped_tables_and_paragraphs() {
        let mut document = Document::default();
        document.line("regression: gemm <f32> & more");
        let mut grid = Grid::new(["workload", "value"]);
        grid.row(["sha256d", "13.6 MH/s\nsteady 13.1 MH/s"]);
        grid.strong.push((0, 1));
        document.grid(grid);
        let html = document_html(&document);
        assert!(html.contains("<p class=\"alert\">regression: gemm &lt;f32&gt; &amp; more</p>"));
        assert!(html.contains("<td class=\"strong\">13.6 MH/s<br>steady 13.1 MH/s</td>"));
    }

    #[test]
    fn a_page_links_its_sections() {
        let mut section = Section::new("Results", "results");
        section.paragraph("a \"quoted\" name", true);
        let html = page("mwbench report", &["from 1 file".into()], &[section]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<a href=\"#results\">Results</a>"));
        assert!(html.contains("<p class=\"caveat\">a &quot;quoted&quot; name</p>"));
        assert!(!html.contains("http"), "nothing is fetched");
    }
}
