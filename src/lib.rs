//! mwbench: measures whether a megawatt earns more hashing bitcoin or serving
//! AI inference, from kernels run on the site's own GPUs through wgpu.
//!
//! The folders are the architecture, each layer depending only on those
//! below it:
//! - [`signals`]: SIGINT and SIGTERM, which stop a run after its current
//!   sample.
//! - [`gpu`]: adapters, the device, buffers and kernel timing.
//! - [`measure`]: how a workload is sampled (warm-up, calibration, spread).
//! - [`workloads`]: one module per workload behind the [`workloads::Workload`]
//!   trait, each with its WGSL in `shaders/` and its CPU reference.
//! - [`external`]: a command mwbench runs no kernel for (a serving
//!   benchmark, llama-bench, hashcat) and the work it reports, for
//!   `mwbench meter`; and how any command runs (its own process group, a
//!   time limit), an external meter's too.
//! - [`power`]: where a watt figure comes from, behind one trait; and the
//!   adapter's temperature, clocks and throttle reasons.
//! - [`sustain`]: a sustained run's intervals, from samples, power and
//!   conditions.
//! - [`results`]: the result-file schema and its atomic writer.
//! - [`compare`]: result files side by side, and the regression gate.
//! - [`economics`]: value per MWh of hashing and of inference, as pure
//!   functions over result files and prices.
//!
//!   These three are the crate `mwbench-results` (`crates/`), which
//!   names no GPU type and builds without wgpu; they are re-exported here
//!   under the same paths.
//! - [`report`]: tables and progress for people at a terminal.
//! - [`commands`]: one function per subcommand, called by the binary.
//! - [`cli`]: the command line, parsed once into the commands' options.

/// `eprintln!` that ignores a failed write: with stderr on a full disk or
/// a closed pipe (a cron job's log), `eprintln!` panics, and the panic's
/// own message fails the same way and aborts the process. A note that
/// cannot be shown must not turn a finished run into a crash; the exit
/// code still says how it ended.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod cli;
pub mod commands;
pub mod error;
pub mod external;
pub mod gpu;
pub mod measure;
pub mod power;
pub mod report;
pub mod signals;
pub mod sustain;
pub mod workloads;

#[cfg(test)]
mod fixtures;

pub use error::{Error, Result};
// The bottom layers, in their own crate so analysts' tools can use them
// without building wgpu; here under the same paths.
pub use mwbench_results::{compare, economics, export, merge, results};
