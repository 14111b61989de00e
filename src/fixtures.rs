//! What the unit tests of several modules share: adapters and fixture
//! trees, and the result files and valuations of `mwbench-results`.
//! Tests import from here, never from another module's tests.

use std::path::Path;

use crate::gpu::{AdapterSummary, Limits};
use crate::results::{Backend, DeviceType};

pub(crate) use mwbench_results::fixtures::{file, result, valuation};

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
    let mut adapter = adapter_summary(0, "test GPU", DeviceType::Discrete, Backend::Vulkan);
    adapter.vendor_id = vendor_id;
    adapter.pci_bus_id = pci_bus_id.into();
    adapter
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
