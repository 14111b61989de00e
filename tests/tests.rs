//! End-to-end tests of the real `mwbench` binary on the default adapter
//! (lavapipe on CI), in one test binary as ripgrep's are: wgpu is linked
//! once. Tests that need an adapter fail, never skip, without one.

mod common;

mod cli;
mod compare;
mod concurrent;
mod deploy;
mod docs;
mod export;
mod hostile;
mod hostile_files;
mod hostile_io;
mod hostile_meters;
mod interrupt;
mod merge;
mod meter;
mod nvml;
mod power;
mod report;
mod sustain;
mod value;
