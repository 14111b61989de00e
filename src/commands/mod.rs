//! One function per subcommand. Each takes plain options (no clap) and
//! returns an [`Outcome`]: what goes to stdout, the notes for stderr after
//! it, and the error to exit with. Only progress goes to stderr while a
//! command works; `main` prints the rest.

mod compare;
mod devices;
mod export;
mod merge;
mod meter;
mod mine;
mod report;
mod run;
mod value;

pub use compare::{CompareOptions, compare};
pub use devices::devices;
pub use export::{ExportFormat, ExportOptions, export};
pub use merge::{MergeOptions, merge};
pub use meter::{MeterOptions, meter};
pub use mine::{MineOptions, mine};
pub use report::{ReportOptions, report};
pub use run::{RunOptions, list_workloads, run};
pub use value::{ValueOptions, value};

use crate::Error;

/// What a command hands back to `main`.
#[derive(Debug)]
pub struct Outcome {
    /// Its result, rendered in the format asked for.
    pub stdout: String,
    /// Lines for stderr after the result (`wrote FILE`, notes).
    pub notes: Vec<String>,
    /// The error the command ends with after printing its result (a
    /// regression, a failed workload, a signal); `None`: success.
    pub failure: Option<Error>,
}

impl Outcome {
    /// A successful result with nothing else to say.
    pub fn printed(stdout: String) -> Outcome {
        Outcome {
            stdout,
            notes: Vec::new(),
            failure: None,
        }
    }
}
