//! The GPU layer: which adapters exist, how one is chosen, the device opened
//! on it, and how a kernel is timed. Nothing here knows about workloads.

pub(crate) mod adapters;
mod context;
pub mod coop;
mod timing;

pub use adapters::{
    AdapterSummary, DeviceSelector, Limits, enumerate, select, selected, summaries,
};
pub use context::{
    BufferCopy, DeviceMemory, Dispatch, Gpu, Kernel, compiler_panic_is_caught, host_memory,
};
pub use coop::CoopShape;
pub use timing::TimingMethod;

use crate::{Error, Result};

/// Opens the one adapter `selector` names; several matches are a usage
/// error that lists them.
pub fn open_one(selector: &DeviceSelector) -> Result<Gpu> {
    let mut adapters = selected(selector)?;
    if adapters.len() > 1 {
        let names: Vec<String> = adapters.iter().map(|(_, s)| s.label()).collect();
        return Err(Error::usage(format!(
            "this command runs on one adapter, but --device matched {}: {}",
            adapters.len(),
            names.join("; ")
        )));
    }
    let (adapter, summary) = adapters.remove(0);
    Gpu::open(&adapter, summary)
}

/// For tests and benches: the default adapter. Panics, saying how to get
/// lavapipe, where wgpu finds none: tests that need an adapter never skip.
pub fn default_for_tests() -> Gpu {
    match open_one(&DeviceSelector::Default) {
        Ok(gpu) => gpu,
        Err(error) => panic!(
            "this test needs a wgpu adapter: {error}\n\
             On a machine without a GPU: apt-get install -y mesa-vulkan-drivers"
        ),
    }
}
