//! NVIDIA GPUs through NVML (`nvml-wrapper`), which loads the driver's
//! `libnvidia-ml.so.1` at run time: without the driver the source is
//! unavailable, not an error, and mwbench builds and runs anywhere.

use std::sync::{Arc, OnceLock};

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::error::NvmlError;

use super::conditions::{ConditionSensor, Conditions};

use super::{PowerSource, Provenance, Reading, same_pci_address};
use crate::gpu::AdapterSummary;
use crate::{Error, Result};

/// NVML, loaded once per process: from the path in `MWBENCH_NVML_LIBRARY`
/// (a driver installed outside the loader's path, as in some containers;
/// the tests point it at nothing), else from the driver's usual name.
fn library() -> std::result::Result<Arc<Nvml>, String> {
    static NVML: OnceLock<std::result::Result<Arc<Nvml>, String>> = OnceLock::new();
    NVML.get_or_init(|| {
        let path = std::env::var("MWBENCH_NVML_LIBRARY").ok();
        load(path.as_deref())
    })
    .clone()
}

/// Loads NVML from `path`, or from the driver's usual name.
fn load(path: Option<&str>) -> std::result::Result<Arc<Nvml>, String> {
    let mut builder = Nvml::builder();
    match path {
        // dlopen("") opens the running program itself, not NVML.
        Some("") => {
            return Err("MWBENCH_NVML_LIBRARY is set but empty: unset it, or name \
                        NVML's library (libnvidia-ml.so.1)"
                .into());
        }
        Some(path) => {
            builder.lib_path(std::ffi::OsStr::new(path));
        }
        None => {}
    }
    builder.init().map(Arc::new).map_err(|e| match (e, path) {
        (NvmlError::LibloadingError(_), None) => {
            "NVML not found (libnvidia-ml.so.1: no NVIDIA driver on this machine)".into()
        }
        // A path the user gave: the loader's own reason says what is wrong
        // with it (missing, not a library, wrong architecture).
        (NvmlError::LibloadingError(e), Some(path)) => {
            format!("cannot load NVML from MWBENCH_NVML_LIBRARY={path}: {e}")
        }
        (NvmlError::FailedToLoadSymbol(symbol), _) => format!(
            "{} is not a usable NVML: it lacks {symbol}",
            path.unwrap_or("libnvidia-ml.so.1")
        ),
        (NvmlError::DriverNotLoaded, _) => "NVML found but the NVIDIA driver is not loaded".into(),
        (NvmlError::NoPermission, _) => "NVML: no permission to talk to the driver".into(),
        (other, _) => format!("NVML failed to start: {other}"),
    })
}

/// One NVIDIA GPU's power, from its total-energy counter where it has one
/// (Volta and newer), else from sampled power.
pub struct NvmlGpu {
    nvml: Arc<Nvml>,
    index: u32,
    name: String,
    bus_id: String,
    counter: bool,
    /// The enforced power limit, where NVML gives a plausible one.
    limit_w: Option<f64>,
}

impl NvmlGpu {
    /// The NVML device that is `adapter`.
    pub fn find(adapter: &AdapterSummary) -> std::result::Result<NvmlGpu, String> {
        NvmlGpu::find_in(library()?, adapter)
    }

    fn find_in(nvml: Arc<Nvml>, adapter: &AdapterSummary) -> std::result::Result<NvmlGpu, String> {
        let index = device_index(&nvml, adapter)?;
        let device = nvml.device_by_index(index).map_err(|e| e.to_string())?;
        let name = device.name().unwrap_or_default();
        let bus_id = device.pci_info().map(|p| p.bus_id).unwrap_or_default();
        let counter = device.total_energy_consumption().is_ok();
        let limit_w = enforced_limit(&device).ok();
        if !counter {
            device
                .power_usage()
                .map_err(|e| format!("{name} reports neither energy nor power: {e}"))?;
        }
        Ok(NvmlGpu {
            nvml,
            index,
            name,
            bus_id,
            counter,
            limit_w,
        })
    }

    /// The enforced power limit in watts: what `--power tdp` uses.
    pub fn power_limit(adapter: &AdapterSummary) -> std::result::Result<(f64, String), String> {
        let nvml = library()?;
        let index = device_index(&nvml, adapter)?;
        let device = nvml.device_by_index(index).map_err(|e| e.to_string())?;
        let watts = enforced_limit(&device)?;
        let name = device.name().unwrap_or_default();
        Ok((watts, format!("NVML enforced power limit of {name}")))
    }
}

/// A device's enforced power limit in watts, if NVML gives a plausible
/// one (a driver may answer 0).
fn enforced_limit(device: &nvml_wrapper::Device) -> std::result::Result<f64, String> {
    let milliwatts = device
        .enforced_power_limit()
        .map_err(|e| format!("no power limit from NVML: {e}"))?;
    let watts = f64::from(milliwatts) / 1000.0;
    if !super::plausible_watts(watts) {
        return Err(format!("NVML gives a power limit of {watts} W"));
    }
    Ok(watts)
}

/// An NVIDIA GPU's temperature, SM and memory clocks and throttle reasons.
pub struct NvmlConditions {
    nvml: Arc<Nvml>,
    index: u32,
    name: String,
}

impl NvmlConditions {
    /// The NVML device that is `adapter`.
    pub fn find(adapter: &AdapterSummary) -> std::result::Result<Self, String> {
        let nvml = library()?;
        let index = device_index(&nvml, adapter)?;
        let name = nvml
            .device_by_index(index)
            .and_then(|d| d.name())
            .unwrap_or_default();
        Ok(NvmlConditions { nvml, index, name })
    }
}

/// NVML's throttle reasons, by the names result files use.
const THROTTLE_REASONS: [(ThrottleReasons, &str); 9] = [
    (ThrottleReasons::GPU_IDLE, "idle"),
    (ThrottleReasons::APPLICATIONS_CLOCKS_SETTING, "app_clocks"),
    (ThrottleReasons::SW_POWER_CAP, "power_cap"),
    (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
    (ThrottleReasons::SYNC_BOOST, "sync_boost"),
    (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal"),
    (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal"),
    (ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN, "power_brake"),
    (ThrottleReasons::DISPLAY_CLOCK_SETTING, "display_clocks"),
];

impl ConditionSensor for NvmlConditions {
    fn describe(&self) -> String {
        format!("nvml: {}", self.name)
    }

    fn read(&mut self) -> Conditions {
        let Ok(device) = self.nvml.device_by_index(self.index) else {
            return Conditions::default();
        };
        let reasons = device
            .current_throttle_reasons()
            .unwrap_or(ThrottleReasons::NONE);
        Conditions {
            temperature_c: device
                .temperature(TemperatureSensor::Gpu)
                .ok()
                .map(f64::from),
            sm_clock_mhz: device.clock_info(Clock::SM).ok().map(f64::from),
            memory_clock_mhz: device.clock_info(Clock::Memory).ok().map(f64::from),
            throttle: THROTTLE_REASONS
                .iter()
                .filter(|(flag, _)| reasons.contains(*flag))
                .map(|(_, name)| name.to_string())
                .collect(),
        }
        .plausible()
    }
}

/// The memory of the NVIDIA GPU that is `adapter`, where NVML reports it:
/// what bounds an LLM's batch (wgpu does not say).
pub fn memory(adapter: &AdapterSummary) -> Option<crate::gpu::DeviceMemory> {
    let nvml = library().ok()?;
    let device = nvml
        .device_by_index(device_index(&nvml, adapter).ok()?)
        .ok()?;
    let bytes = device.memory_info().ok()?.total;
    let name = device.name().unwrap_or_default();
    // Above 64 MiB and below 64 TiB: a GPU's, not a broken driver's.
    (64 << 20..64u64 << 40)
        .contains(&bytes)
        .then(|| crate::gpu::DeviceMemory {
            bytes,
            source: format!("NVML memory of {name}"),
        })
}

/// Which NVML device is `adapter`: the one at its PCI address, else the
/// only one with its name.
fn device_index(nvml: &Nvml, adapter: &AdapterSummary) -> std::result::Result<u32, String> {
    let count = nvml.device_count().map_err(|e| e.to_string())?;
    let mut same_name = Vec::new();
    for index in 0..count {
        let Ok(device) = nvml.device_by_index(index) else {
            continue;
        };
        if let Ok(pci) = device.pci_info()
            && !adapter.pci_bus_id.is_empty()
            && same_pci_address(&pci.bus_id, &adapter.pci_bus_id)
        {
            return Ok(index);
        }
        if device.name().is_ok_and(|n| n == adapter.name) {
            same_name.push(index);
        }
    }
    match same_name[..] {
        [index] => Ok(index),
        [] => Err(format!("no NVML device is {}", adapter.name)),
        _ => Err(format!(
            "{} NVML devices are named {} and the adapter gives no PCI address",
            same_name.len(),
            adapter.name
        )),
    }
}

impl PowerSource for NvmlGpu {
    fn describe(&self) -> String {
        format!(
            "nvml: {} at {}, {}",
            self.name,
            self.bus_id,
            if self.counter {
                "total energy counter"
            } else {
                "sampled power"
            }
        )
    }

    fn provenance(&self) -> Provenance {
        Provenance::Sensor
    }

    fn power_limit(&self) -> Option<f64> {
        self.limit_w
    }

    fn read(&mut self) -> Result<Reading> {
        let failed =
            |e: NvmlError| Error::Power(format!("NVML reading of {} failed: {e}", self.name));
        let device = self.nvml.device_by_index(self.index).map_err(failed)?;
        Ok(if self.counter {
            let millijoules = device.total_energy_consumption().map_err(failed)?;
            Reading::Joules(millijoules as f64 * 1e-3)
        } else {
            Reading::Watts(f64::from(device.power_usage().map_err(failed)?) * 1e-3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the driver's library NVML is unavailable, with a reason,
    /// and nothing panics.
    #[test]
    fn absent_nvml_is_unavailable_not_an_error() {
        let error = load(Some("/nonexistent/libnvidia-ml.so.1")).err().unwrap();
        assert!(
            error.starts_with("cannot load NVML from MWBENCH_NVML_LIBRARY=/nonexistent/"),
            "{error}"
        );
        assert!(
            error.contains("No such file"),
            "the loader's reason: {error}"
        );
        let empty = load(Some("")).err().unwrap();
        assert!(empty.contains("set but empty"), "{empty}");
    }

    /// The stand-in of `tests/nvml/fake_nvml.c` with two GPUs of the same
    /// name: the adapter's PCI address picks its own, in NVML's longer
    /// form, and without an address the name alone is ambiguous.
    #[test]
    fn gpus_are_matched_by_pci_address_before_name() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("libnvidia-ml.so.1");
        let source =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvml/fake_nvml.c");
        let built = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&library)
            .arg(source)
            .status()
            .expect("a C compiler (cc)");
        assert!(built.success());
        std::fs::write(
            dir.path().join("libnvidia-ml.so.1.conf"),
            "gpu name=test GPU;bus=00000000:01:00.0;watts=300\n\
             gpu name=test GPU;bus=00000000:C1:00.0;watts=500\n",
        )
        .unwrap();
        let nvml = load(library.to_str()).unwrap();
        let adapter = crate::fixtures::adapter(0x10de, "0000:c1:00.0");
        let mut second = NvmlGpu::find_in(Arc::clone(&nvml), &adapter).unwrap();
        assert_eq!(second.index, 1);
        assert_eq!(
            second.describe(),
            "nvml: test GPU at 00000000:C1:00.0, total energy counter"
        );
        assert!(matches!(second.read().unwrap(), Reading::Joules(_)));
        let mut conditions = NvmlConditions {
            nvml: Arc::clone(&nvml),
            index: 1,
            name: String::new(),
        };
        let now = conditions.read();
        assert_eq!(now.temperature_c, Some(40.0));
        assert_eq!(now.sm_clock_mhz, Some(1980.0));
        assert_eq!(now.memory_clock_mhz, Some(2619.0));
        assert!(now.throttle.is_empty());
        let nameless = crate::fixtures::adapter(0x10de, "");
        let error = NvmlGpu::find_in(nvml, &nameless).err().unwrap();
        assert!(
            error.starts_with("2 NVML devices are named test GPU"),
            "{error}"
        );
    }
}
