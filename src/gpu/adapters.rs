//! Adapter discovery and the `--device` selector.

use serde::{Deserialize, Serialize};

use crate::results::{Backend, DeviceType, ResultDevice};
use crate::{Error, Result};

/// What `mwbench devices` shows for one adapter, and what a result file
/// records about the device it ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdapterSummary {
    /// Position in the list wgpu returns for all backends; `--device N` uses it.
    pub index: usize,
    pub name: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa).
    pub vendor_id: u32,
    pub device_type: DeviceType,
    pub backend: Backend,
    pub driver: String,
    pub driver_info: String,
    /// Empty where the backend does not report it.
    pub pci_bus_id: String,
    pub timestamp_queries: bool,
    pub shader_f16: bool,
    pub subgroups: bool,
    /// Subgroup sizes the adapter may use, `[min, max]`.
    pub subgroup_sizes: [u32; 2],
    /// Cooperative matrix (tensor core) shapes, as `MxNxK A*B+C` types,
    /// e.g. `16x16x16 f16*f16+f32`; empty without the feature.
    #[serde(default)]
    pub cooperative_matrix: Vec<String>,
    pub limits: Limits,
}

/// The limits that decide how large a kernel's buffers and workgroups may be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Limits {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
}

impl AdapterSummary {
    /// Reads what an adapter reports about itself.
    pub fn of(index: usize, adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let features = adapter.features();
        let limits = adapter.limits();
        AdapterSummary {
            index,
            name: info.name,
            vendor_id: info.vendor,
            device_type: device_type(info.device_type),
            backend: backend(info.backend),
            driver: info.driver,
            driver_info: info.driver_info,
            pci_bus_id: info.device_pci_bus_id,
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_sizes: [info.subgroup_min_size, info.subgroup_max_size],
            cooperative_matrix: if features
                .contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX)
            {
                adapter
                    .cooperative_matrix_properties()
                    .iter()
                    .map(|p| {
                        let ty = |t| format!("{t:?}").to_lowercase();
                        format!(
                            "{}x{}x{} {}*{}+{}",
                            p.m_size,
                            p.n_size,
                            p.k_size,
                            ty(p.ab_type),
                            ty(p.ab_type),
                            ty(p.cr_type)
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            limits: Limits {
                max_buffer_size: limits.max_buffer_size,
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
                max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
                max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            },
        }
    }

    /// The device as a result file records it, timed by `timing`, with
    /// its memory where known.
    pub fn result_device(
        &self,
        timing: crate::results::TimingMethod,
        memory: Option<crate::results::DeviceMemory>,
    ) -> ResultDevice {
        ResultDevice {
            name: self.name.clone(),
            backend: self.backend,
            device_type: self.device_type,
            driver: self.driver.clone(),
            driver_info: self.driver_info.clone(),
            vendor_id: self.vendor_id,
            pci_bus_id: self.pci_bus_id.clone(),
            timing,
            memory,
        }
    }

    /// `"0: llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, cpu]"`, as error
    /// messages and tables name an adapter.
    pub fn label(&self) -> String {
        format!(
            "{}: {} [{}, {}]",
            self.index, self.name, self.backend, self.device_type
        )
    }

    /// How strongly the default selection prefers this adapter: real GPUs
    /// first, and native backends before GL, which lacks timestamp queries
    /// and most limits.
    fn preference(&self) -> (u8, u8) {
        let kind = match self.device_type {
            DeviceType::Discrete => 0,
            DeviceType::Integrated => 1,
            DeviceType::Virtual => 2,
            DeviceType::Cpu => 3,
            DeviceType::Other => 4,
        };
        let backend = u8::from(self.backend == Backend::Gl);
        (kind, backend)
    }
}

fn device_type(device_type: wgpu::DeviceType) -> DeviceType {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => DeviceType::Discrete,
        wgpu::DeviceType::IntegratedGpu => DeviceType::Integrated,
        wgpu::DeviceType::VirtualGpu => DeviceType::Virtual,
        wgpu::DeviceType::Cpu => DeviceType::Cpu,
        wgpu::DeviceType::Other => DeviceType::Other,
    }
}

fn backend(backend: wgpu::Backend) -> Backend {
    match backend {
        wgpu::Backend::Vulkan => Backend::Vulkan,
        wgpu::Backend::Metal => Backend::Metal,
        wgpu::Backend::Dx12 => Backend::Dx12,
        wgpu::Backend::Gl => Backend::Gl,
        wgpu::Backend::BrowserWebGpu => Backend::WebGpu,
        wgpu::Backend::Noop => Backend::Noop,
    }
}

/// The `--device` argument: which adapters a command runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceSelector {
    /// The first discrete GPU, else integrated, else any adapter.
    #[default]
    Default,
    /// Every GPU, each once: software adapters (lavapipe) and a GPU's GL
    /// twin of an adapter on a native backend are left out. Where there
    /// is no GPU, every adapter wgpu sees.
    All,
    /// The adapter at this index in `mwbench devices`.
    Index(usize),
    /// Adapters whose name contains this text (case-insensitive).
    Name(String),
}

impl std::str::FromStr for DeviceSelector {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("expected an adapter index, part of its name, or 'all'".into());
        }
        Ok(if text.eq_ignore_ascii_case("all") {
            DeviceSelector::All
        } else if let Ok(index) = text.parse() {
            DeviceSelector::Index(index)
        } else {
            DeviceSelector::Name(text.to_string())
        })
    }
}

/// The summary of each adapter, indexed by position.
pub fn summaries(adapters: &[wgpu::Adapter]) -> Vec<AdapterSummary> {
    adapters
        .iter()
        .enumerate()
        .map(|(i, a)| AdapterSummary::of(i, a))
        .collect()
}

/// Every adapter wgpu sees on every backend, in a stable order.
pub fn enumerate() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// The adapters `selector` names, with their summaries.
pub fn selected(selector: &DeviceSelector) -> Result<Vec<(wgpu::Adapter, AdapterSummary)>> {
    let adapters = enumerate();
    let summaries = summaries(&adapters);
    let chosen = select(&summaries, selector)?;
    Ok(adapters
        .into_iter()
        .zip(summaries)
        .filter(|(_, s)| chosen.contains(&s.index))
        .collect())
}

/// Picks the adapters `selector` names out of `adapters` (as returned by
/// [`enumerate`]); returns their indices.
pub fn select(summaries: &[AdapterSummary], selector: &DeviceSelector) -> Result<Vec<usize>> {
    if summaries.is_empty() {
        return Err(Error::NoAdapter);
    }
    let chosen: Vec<usize> = match selector {
        DeviceSelector::All => every_gpu_once(summaries),
        DeviceSelector::Default => summaries
            .iter()
            .min_by_key(|s| (s.preference(), s.index))
            .map(|s| s.index)
            .into_iter()
            .collect(),
        DeviceSelector::Index(index) => summaries
            .iter()
            .filter(|s| s.index == *index)
            .map(|s| s.index)
            .collect(),
        DeviceSelector::Name(part) => {
            let part = part.to_lowercase();
            summaries
                .iter()
                .filter(|s| s.name.to_lowercase().contains(&part))
                .map(|s| s.index)
                .collect()
        }
    };
    if chosen.is_empty() {
        let wanted = match selector {
            DeviceSelector::Index(i) => i.to_string(),
            DeviceSelector::Name(name) => name.clone(),
            _ => unreachable!("'all' and the default always match when adapters exist"),
        };
        let available = summaries
            .iter()
            .map(AdapterSummary::label)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::UnknownAdapter { wanted, available });
    }
    Ok(chosen)
}

/// What `--device all` runs: a node's GPUs, all at once and each once. A
/// software adapter beside them would take the CPU cores the GPUs' hosts
/// need and add a figure no site buys, and the same GPU twice (through
/// Vulkan and through GL) would share it with itself. Where there is no
/// GPU (a CI machine, the container image on a CPU node) every adapter
/// runs, so that the command still does something.
fn every_gpu_once(summaries: &[AdapterSummary]) -> Vec<usize> {
    let is_gpu = |s: &AdapterSummary| s.device_type != DeviceType::Cpu;
    if !summaries.iter().any(is_gpu) {
        return summaries.iter().map(|s| s.index).collect();
    }
    let native_twin = |gl: &AdapterSummary| {
        summaries
            .iter()
            .any(|s| s.backend != Backend::Gl && is_gpu(s) && s.name == gl.name)
    };
    summaries
        .iter()
        .filter(|s| is_gpu(s) && !(s.backend == Backend::Gl && native_twin(s)))
        .map(|s| s.index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::adapter_summary as summary;

    fn machine() -> Vec<AdapterSummary> {
        vec![
            summary(0, "llvmpipe", DeviceType::Cpu, Backend::Vulkan),
            summary(1, "Intel UHD 770", DeviceType::Integrated, Backend::Vulkan),
            summary(
                2,
                "NVIDIA H100 80GB HBM3",
                DeviceType::Discrete,
                Backend::Gl,
            ),
            summary(
                3,
                "NVIDIA H100 80GB HBM3",
                DeviceType::Discrete,
                Backend::Vulkan,
            ),
        ]
    }

    #[test]
    fn default_prefers_discrete_then_native_backend() {
        assert_eq!(select(&machine(), &DeviceSelector::Default).unwrap(), [3]);
        let no_discrete = &machine()[..2];
        assert_eq!(select(no_discrete, &DeviceSelector::Default).unwrap(), [1]);
        assert_eq!(
            select(&machine()[..1], &DeviceSelector::Default).unwrap(),
            [0]
        );
    }

    #[test]
    fn selects_by_index_name_and_all() {
        let m = machine();
        assert_eq!(select(&m, &"1".parse().unwrap()).unwrap(), [1]);
        assert_eq!(select(&m, &"h100".parse().unwrap()).unwrap(), [2, 3]);
        // Every GPU once: not lavapipe, not the H100's GL twin.
        assert_eq!(select(&m, &"ALL".parse().unwrap()).unwrap(), [1, 3]);
    }

    #[test]
    fn all_without_a_gpu_is_every_adapter() {
        let cpu_only = [
            summary(0, "llvmpipe", DeviceType::Cpu, Backend::Vulkan),
            summary(1, "llvmpipe", DeviceType::Cpu, Backend::Gl),
        ];
        assert_eq!(select(&cpu_only, &DeviceSelector::All).unwrap(), [0, 1]);
        // A GPU only GL reaches is still a GPU.
        let gl_gpu = [
            summary(0, "llvmpipe", DeviceType::Cpu, Backend::Vulkan),
            summary(1, "Mali-G78", DeviceType::Integrated, Backend::Gl),
        ];
        assert_eq!(select(&gl_gpu, &DeviceSelector::All).unwrap(), [1]);
    }

    #[test]
    fn unknown_adapter_lists_what_exists() {
        let err = select(&machine(), &"radeon".parse().unwrap()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'radeon'"), "{text}");
        assert!(text.contains("0: llvmpipe [vulkan, cpu]"), "{text}");
        assert_eq!(err.exit_code(), 2);
        assert!(select(&machine(), &"9".parse().unwrap()).is_err());
    }

    #[test]
    fn no_adapter_is_its_own_error() {
        assert!(matches!(
            select(&[], &DeviceSelector::Default),
            Err(Error::NoAdapter)
        ));
    }
}
