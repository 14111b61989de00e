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
//! - [`power`]: where a watt figure comes from, behind one trait.
//! - [`results`]: the result-file schema and its atomic writer.
//! - [`compare`]: result files side by side, and the regression gate.
//! - [`economics`]: value per MWh of hashing and of inference, as pure
//!   functions over result files and prices.
//! - [`report`]: tables and progress for people at a terminal.
//! - [`commands`]: one function per subcommand, called by the binary.
//! - [`cli`]: the command line, parsed once into the commands' options.

pub mod cli;
pub mod commands;
pub mod compare;
pub mod economics;
pub mod error;
pub mod gpu;
pub mod measure;
pub mod power;
pub mod report;
pub mod results;
pub mod signals;
pub mod workloads;

#[cfg(test)]
mod fixtures;

pub use error::{Error, Result};
