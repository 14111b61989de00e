//! What people at a terminal see: tables, numbers with SI prefixes, and
//! progress on long runs.

mod progress;
mod table;

pub use progress::Progress;
pub use table::{devices_table, run_table, si};
