//! `--power tdp`: a board-power estimate for when nothing can be measured.
//! Always recorded as `estimated`, never as a measurement.

use super::nvml::NvmlGpu;
use super::{PowerSource, Provenance, Reading};
use crate::Result;
use crate::gpu::AdapterSummary;

/// Board power of common data-centre and mining-site GPUs, in watts, from
/// the vendors' data sheets. Matched in order against the adapter's name
/// (case-insensitive), so longer names come before their prefixes
/// (`H100 PCIe` before `H100`, `L40S` before `L40` before `L4`).
pub const BOARD_POWER: &[(&str, f64)] = &[
    ("B200", 1000.0),
    ("H200 NVL", 600.0),
    ("H200", 700.0),
    ("H100 PCIe", 350.0),
    ("H100 NVL", 400.0),
    ("H100", 700.0),
    ("A100-PCIE", 250.0),
    ("A100 PCIe", 300.0),
    ("A100", 400.0),
    ("L40S", 350.0),
    ("L40", 300.0),
    ("L4", 72.0),
    ("A40", 300.0),
    ("A10G", 300.0),
    ("A10", 150.0),
    ("T4", 70.0),
    ("RTX 5090", 575.0),
    ("RTX 4090", 450.0),
    ("RTX 3090", 350.0),
    ("MI300X", 750.0),
    ("MI250X", 560.0),
    ("RX 7900 XTX", 355.0),
];

/// A fixed board-power figure: the NVML power limit, else the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub watts: f64,
    /// Where the figure comes from, in words.
    pub basis: String,
}

impl Estimate {
    /// The estimate for `adapter`, or why there is none.
    pub fn of(adapter: &AdapterSummary) -> std::result::Result<Estimate, String> {
        if let Ok((watts, basis)) = NvmlGpu::power_limit(adapter) {
            return Ok(Estimate { watts, basis });
        }
        Estimate::from_table(&adapter.name)
    }

    fn from_table(name: &str) -> std::result::Result<Estimate, String> {
        let lower = name.to_lowercase();
        BOARD_POWER
            .iter()
            .find(|(model, _)| lower.contains(&model.to_lowercase()))
            .map(|(model, watts)| Estimate {
                watts: *watts,
                basis: format!("board power of the {model} in mwbench's table"),
            })
            .ok_or_else(|| format!("no board power known for {name}; give --watts W"))
    }
}

impl PowerSource for Estimate {
    fn describe(&self) -> String {
        format!("tdp: {}, an estimate", self.basis)
    }

    fn provenance(&self) -> Provenance {
        Provenance::Estimated
    }

    fn constant(&self) -> bool {
        true
    }

    fn read(&mut self) -> Result<Reading> {
        Ok(Reading::Watts(self.watts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_names_win_over_their_prefixes() {
        let watts = |name| Estimate::from_table(name).unwrap().watts;
        assert_eq!(watts("NVIDIA H100 80GB HBM3"), 700.0);
        assert_eq!(watts("NVIDIA H100 PCIe"), 350.0);
        assert_eq!(watts("NVIDIA A100-SXM4-80GB"), 400.0);
        assert_eq!(watts("NVIDIA L40S"), 350.0);
        assert_eq!(watts("NVIDIA L4"), 72.0);
        assert_eq!(watts("NVIDIA GeForce RTX 4090"), 450.0);
        assert_eq!(watts("AMD Instinct MI300X"), 750.0);
    }

    #[test]
    fn an_estimate_is_never_a_measurement() {
        let mut estimate = Estimate::from_table("NVIDIA H200").unwrap();
        assert_eq!(estimate.provenance(), Provenance::Estimated);
        assert!(estimate.describe().ends_with("an estimate"));
        assert_eq!(estimate.read().unwrap(), Reading::Watts(700.0));
        let unknown = Estimate::from_table("llvmpipe (LLVM 15.0.6, 256 bits)").unwrap_err();
        assert!(unknown.contains("give --watts W"), "{unknown}");
    }
}
