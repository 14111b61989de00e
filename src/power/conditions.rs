//! What an adapter's own sensors say besides power: its temperature, its
//! clocks and why the driver holds them down. A sustained run
//! (`run --sustain`) reads them once per interval, so that a throughput
//! that sinks is seen with its cause (heat, the power cap).
//! NVML for NVIDIA GPUs, hwmon for AMD; other adapters have none, and the
//! series goes without.

use crate::gpu::AdapterSummary;

/// One reading of an adapter's conditions; what a sensor does not report
/// is `None` (or no reasons).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub temperature_c: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub memory_clock_mhz: Option<f64>,
    /// Why the clocks are held down, as the driver says (`power_cap`,
    /// `sw_thermal`, ...); `idle` when the GPU had nothing to run.
    pub throttle: Vec<String>,
}

impl Conditions {
    /// These conditions with any figure no working sensor gives (a
    /// temperature outside -50..200 °C, a clock outside 1..100,000 MHz, or
    /// not finite) dropped: a broken sensor loses its figure rather than
    /// put a wrong one in the series.
    pub fn plausible(self) -> Conditions {
        let within = |v: Option<f64>, low: f64, high: f64| {
            v.filter(|v| v.is_finite() && (low..=high).contains(v))
        };
        Conditions {
            temperature_c: within(self.temperature_c, -50.0, 200.0),
            sm_clock_mhz: within(self.sm_clock_mhz, 1.0, 100_000.0),
            memory_clock_mhz: within(self.memory_clock_mhz, 1.0, 100_000.0),
            throttle: self.throttle,
        }
    }
}

/// A source of an adapter's conditions.
pub trait ConditionSensor: Send {
    /// What it is, for messages.
    fn describe(&self) -> String;
    /// The conditions now; a figure the sensor fails to give is `None`.
    fn read(&mut self) -> Conditions;
}

/// The sensor of `adapter`'s conditions: NVML, then hwmon; `None` when
/// neither knows it (lavapipe, Intel without a temperature).
pub fn sensor_for(adapter: &AdapterSummary) -> Option<Box<dyn ConditionSensor>> {
    if let Ok(nvml) = super::nvml::NvmlConditions::find(adapter) {
        return Some(Box::new(nvml));
    }
    super::hwmon::HwmonConditions::find(&super::sysfs::root(), adapter)
        .ok()
        .map(|hwmon| Box::new(hwmon) as Box<dyn ConditionSensor>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_figures_are_dropped() {
        let read = Conditions {
            temperature_c: Some(4000.0),
            sm_clock_mhz: Some(f64::NAN),
            memory_clock_mhz: Some(2619.0),
            throttle: vec!["sw_thermal".into()],
        }
        .plausible();
        assert_eq!(read.temperature_c, None);
        assert_eq!(read.sm_clock_mhz, None);
        assert_eq!(read.memory_clock_mhz, Some(2619.0));
        assert_eq!(read.throttle, ["sw_thermal"]);
    }
}
