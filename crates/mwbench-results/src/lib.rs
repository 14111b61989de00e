//! mwbench's result files and what is computed from them, with nothing of
//! the GPU side: read and write result files ([`results`]), set them side
//! by side ([`compare`]), and price a MWh of each workload they measured
//! ([`economics`]). The `mwbench` crate re-exports all three under the same
//! paths (`mwbench::results`, ...); analysts' tools can depend on this one
//! alone and build in seconds.
//!
//! ```no_run
//! use std::path::Path;
//! use mwbench_results::{compare::Comparison, results};
//!
//! // Last week's run on a node against today's, as `mwbench compare` does.
//! let paths = [Path::new("last-week.json"), Path::new("today.json")];
//! let files = paths
//!     .iter()
//!     .map(|path| results::read_file(path))
//!     .collect::<Result<Vec<_>, _>>()?;
//! let comparison = Comparison::of(&paths, &files, 5.0);
//! for row in &comparison.rows {
//!     let ratios: Vec<_> = row.cells.iter().map(|cell| cell.ratio).collect();
//!     println!("{} ({}): {ratios:?}", row.label(), row.unit);
//! }
//! # Ok::<(), mwbench_results::Error>(())
//! ```

pub mod compare;
pub mod economics;
pub mod export;
pub mod input;
pub mod merge;
pub mod results;

mod error;

#[cfg(any(test, feature = "test-fixtures"))]
#[doc(hidden)]
pub mod fixtures;

pub use error::{Error, Result, printable, shown};

#[cfg(test)]
mod tests {
    /// The point of this crate: an analyst's tool that reads result files
    /// builds none of the GPU side. `cargo tree` lists what it compiles.
    #[test]
    fn analysis_crate_builds_without_the_gpu_side() {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let tree = std::process::Command::new(cargo)
            .args(["tree", "--locked", "--package", "mwbench-results"])
            .args(["--edges", "normal,build", "--prefix", "none"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(
            tree.status.success(),
            "{}",
            String::from_utf8_lossy(&tree.stderr)
        );
        let crates = String::from_utf8(tree.stdout).unwrap();
        assert!(crates.lines().count() > 10, "{crates}");
        for line in crates.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            let gpu_side = [
                "wgpu",
                "naga",
                "nvml-wrapper",
                "ash",
                "metal",
                "plotters",
                "mwbench",
            ];
            assert!(
                !gpu_side.contains(&name) && !name.starts_with("wgpu-"),
                "mwbench-results depends on {name}:\n{crates}"
            );
        }
    }
}
