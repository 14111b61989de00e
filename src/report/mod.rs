//! What people at a terminal see: tables, numbers with SI prefixes,
//! progress on long runs, and charts to paste in a report.

mod chart;
mod compare;
mod progress;
mod table;
mod value;

pub use chart::{chart_format, write_chart};
pub use compare::{compare_markdown, compare_table, regression_lines};
pub use progress::Progress;
pub use table::{devices_table, run_table, si};
pub use value::value_table;
