//! What the unit tests of several modules share: adapters, result files,
//! a valuation, samples and fixture trees. Tests import from here, never
//! from another module's tests.

use std::path::{Path, PathBuf};

use crate::economics::{Inputs, Kind, SiteOption, Unpriceable, Valuation};
use crate::gpu::{AdapterSummary, Limits, TimingMethod};
use crate::measure::SamplePlan;
use crate::power::{PowerReading, Provenance};
use crate::results::{
    Backend, DeviceType, Machine, ResultDevice, ResultFile, Status, WorkloadResult,
};
use crate::workloads::Unit;

/// An adapter with nothing offered, as wgpu might describe one.
pub(crate) fn adapter_summary(
    index: usize,
    name: &str,
    device_type: DeviceType,
    backend: Backend,
) -> AdapterSummary {
    AdapterSummary {
        index,
        name: name.into(),
        vendor_id: 0,
        device_type,
        backend,
        driver: String::new(),
        driver_info: String::new(),
        pci_bus_id: String::new(),
        timestamp_queries: false,
        shader_f16: false,
        subgroups: false,
        subgroup_sizes: [0, 0],
        cooperative_matrix: Vec::new(),
        limits: Limits {
            max_buffer_size: 0,
            max_storage_buffer_binding_size: 0,
            max_compute_workgroup_storage_size: 0,
            max_compute_invocations_per_workgroup: 0,
            max_compute_workgroups_per_dimension: 0,
        },
    }
}

/// An adapter as wgpu would describe it, for source matching.
pub(crate) fn adapter(vendor_id: u32, pci_bus_id: &str) -> AdapterSummary {
    let mut adapter = adapter_summary(
        0,
        "test GPU",
        crate::results::DeviceType::Discrete,
        crate::results::Backend::Vulkan,
    );
    adapter.vendor_id = vendor_id;
    adapter.pci_bus_id = pci_bus_id.into();
    adapter
}

/// `n` samples around `center`, spread evenly over +-`spread`.
pub(crate) fn samples(center: f64, spread: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 - spread + 2.0 * spread * i as f64 / (n - 1) as f64))
        .collect()
}

/// A result of `workload` at `rate` (in `unit`) drawing `watts`.
pub(crate) fn result(
    workload: &str,
    unit: Unit,
    rate: f64,
    watts: Option<(f64, Provenance)>,
) -> WorkloadResult {
    let mut power = PowerReading::none("none".into());
    if let Some((w, provenance)) = watts {
        power.watts = Some(w);
        power.provenance = provenance;
        power.source = "test".into();
    }
    let mut result =
        WorkloadResult::without_figure(workload, Status::Ok, unit, String::new(), power);
    result.throughput.value = Some(rate);
    result
}

pub(crate) fn file(results: Vec<WorkloadResult>) -> (PathBuf, ResultFile) {
    let file = ResultFile {
        schema_version: crate::results::SCHEMA_VERSION,
        mwbench_version: "0.1.0".into(),
        created: "2026-11-25T00:00:00Z".into(),
        machine: Machine {
            hostname: "node".into(),
            os: "Linux".into(),
            cpu: "cpu".into(),
        },
        device: ResultDevice {
            name: "GPU".into(),
            backend: crate::results::Backend::Vulkan,
            device_type: crate::results::DeviceType::Discrete,
            driver: String::new(),
            driver_info: String::new(),
            vendor_id: 0x10de,
            pci_bus_id: String::new(),
            timing: TimingMethod::GpuTimestamps,
        },
        settings: SamplePlan::quick().settings(true),
        interrupted: false,
        results,
    };
    (PathBuf::from("results/node-gpu.json"), file)
}

fn option(name: &str, kind: Kind, revenue: f64, capex: f64) -> SiteOption {
    SiteOption {
        name: name.into(),
        kind,
        watts: 1000.0,
        watts_provenance: Provenance::Sensor,
        watts_source: "test".into(),
        efficiency: Vec::new(),
        revenue_usd_per_mwh: revenue,
        capex_usd_per_mwh: capex,
    }
}

/// Two options and an ASIC, at 50 USD/MWh.
pub(crate) fn valuation() -> Valuation {
    Valuation {
        inputs: Inputs {
            power_price: Some(50.0),
            hashprice: Some(40.0),
            ..Inputs::default()
        }
        .resolve(None)
        .unwrap(),
        options: vec![
            option("hashing", Kind::Mining, 110.0, 10.0),
            option("tokens", Kind::Ai, 400.0, 250.0),
            SiteOption {
                watts_provenance: Provenance::Estimated,
                ..option("asic", Kind::Asic, 120.0, 30.0)
            },
        ],
        unpriceable: vec![Unpriceable {
            name: "decode".into(),
            kind: Kind::Ai,
            reason: "no watts".into(),
        }],
    }
}

/// Copies a fixture tree (a sysfs root) into `to`.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
