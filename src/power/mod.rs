//! Where a watt figure comes from. Every source implements [`PowerSource`]
//! and says what it is and its [`Provenance`], so an estimate can never
//! pass for a measurement. [`Meter`] reads a source while measured samples
//! run; [`meter_for`] picks the source for an adapter from `--power`.

pub mod command;
pub mod conditions;
pub mod hwmon;
pub mod meter;
pub mod nvml;
pub mod rapl;
pub mod sysfs;
pub mod tdp;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use meter::Meter;

// The schema's power types: what a source's readings become in a result.
pub use crate::results::{MAX_WATTS, MIN_WATTS, PowerReading, Provenance, plausible_watts};

use crate::gpu::AdapterSummary;
use crate::{Error, Result};

/// One reading from a source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// Power now, in watts.
    Watts(f64),
    /// An energy counter, in joules from some fixed point: only the
    /// difference between two readings means anything.
    Joules(f64),
}

/// A source of power figures.
pub trait PowerSource: Send {
    /// What it is, as the result file records it.
    fn describe(&self) -> String;
    fn provenance(&self) -> Provenance;
    /// True when it measures the whole host rather than one adapter.
    fn shared(&self) -> bool {
        false
    }
    /// True when every reading is the same figure (given by the user, or
    /// estimated): there is nothing to sample.
    fn constant(&self) -> bool {
        false
    }
    /// The most the device can draw, where it says (NVML's enforced power
    /// limit): a power sample far above it is an artefact of how the
    /// source was read, not a figure ([`meter::LIMIT_MARGIN`]).
    fn power_limit(&self) -> Option<f64> {
        None
    }
    /// One reading, now.
    fn read(&mut self) -> Result<Reading>;
}

/// A constant the user read off a meter (`--watts W`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserWatts(pub f64);

impl PowerSource for UserWatts {
    fn describe(&self) -> String {
        "--watts".into()
    }

    fn provenance(&self) -> Provenance {
        Provenance::User
    }

    fn constant(&self) -> bool {
        true
    }

    fn read(&mut self) -> Result<Reading> {
        Ok(Reading::Watts(self.0))
    }
}

/// The `--power` choice, with `--power-cmd` and `--watts` folded in.
#[derive(Debug, Clone, PartialEq)]
pub enum PowerChoice {
    /// The first sensor found for each adapter: NVML, hwmon, then RAPL
    /// for CPU adapters. Never an estimate.
    Auto,
    Nvml,
    Hwmon,
    Rapl,
    /// An external meter's command line.
    Command(String),
    /// The adapter's board power: an estimate.
    Tdp,
    /// A figure the user read off a meter.
    Watts(f64),
}

impl PowerChoice {
    /// `--power`, `--power-cmd` and `--watts` as given.
    pub fn from_args(
        power: Option<&str>,
        command: Option<&str>,
        watts: Option<f64>,
    ) -> Result<PowerChoice> {
        let choice = match power.map(str::to_lowercase).as_deref() {
            None | Some("auto") => PowerChoice::Auto,
            Some("nvml") => PowerChoice::Nvml,
            Some("hwmon") => PowerChoice::Hwmon,
            Some("rapl") => PowerChoice::Rapl,
            Some("cmd") => PowerChoice::Command(String::new()),
            Some("tdp") => PowerChoice::Tdp,
            Some(other) => {
                return Err(Error::usage(format!(
                    "unknown power source '{other}'; expected auto, nvml, hwmon, rapl, cmd or tdp"
                )));
            }
        };
        match (choice, command, watts) {
            (PowerChoice::Auto, None, Some(watts)) => Ok(PowerChoice::Watts(watts)),
            (_, Some(_), Some(_)) => Err(Error::usage(
                "--watts and --power-cmd both give the power: choose one",
            )),
            (_, _, Some(_)) => Err(Error::usage(format!(
                "--watts is a figure read off a meter; it cannot be combined with --power {}",
                power.unwrap_or_default()
            ))),
            (PowerChoice::Auto | PowerChoice::Command(_), Some(line), None) => {
                command::MeterCommand::parse(line)?;
                Ok(PowerChoice::Command(line.to_string()))
            }
            (PowerChoice::Command(_), None, None) => Err(Error::usage(
                "--power cmd needs --power-cmd \"PROGRAM ARG...\"",
            )),
            (_, Some(_), None) => Err(Error::usage(format!(
                "--power-cmd is an external meter; it cannot be combined with --power {}",
                power.unwrap_or_default()
            ))),
            (choice, None, None) => Ok(choice),
        }
    }
}

/// The memory an adapter's buffers come from, where something says (wgpu
/// does not): the host's for a CPU adapter, NVML's for an NVIDIA GPU.
pub fn device_memory(adapter: &AdapterSummary) -> Option<crate::results::DeviceMemory> {
    if adapter.device_type == crate::results::DeviceType::Cpu {
        crate::gpu::host_memory()
    } else {
        nvml::memory(adapter)
    }
}

/// A power source `mwbench devices` lists for each adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceName {
    Nvml,
    Hwmon,
    Rapl,
    /// Board power from NVML's limit or mwbench's table: an estimate.
    Tdp,
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            SourceName::Nvml => "nvml",
            SourceName::Hwmon => "hwmon",
            SourceName::Rapl => "rapl",
            SourceName::Tdp => "tdp",
        })
    }
}

/// A sensor: a source that measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sensor {
    Nvml,
    Hwmon,
    Rapl,
}

/// The sensors `auto` tries, in order.
const SENSORS: [Sensor; 3] = [Sensor::Nvml, Sensor::Hwmon, Sensor::Rapl];

impl Sensor {
    fn name(self) -> SourceName {
        match self {
            Sensor::Nvml => SourceName::Nvml,
            Sensor::Hwmon => SourceName::Hwmon,
            Sensor::Rapl => SourceName::Rapl,
        }
    }

    /// This sensor for `adapter`, or why it is unavailable.
    fn open(self, adapter: &AdapterSummary) -> std::result::Result<Box<dyn PowerSource>, String> {
        match self {
            Sensor::Nvml => Ok(Box::new(nvml::NvmlGpu::find(adapter)?)),
            Sensor::Hwmon => Ok(Box::new(hwmon::Hwmon::find(&sysfs::root(), adapter)?)),
            Sensor::Rapl => Ok(Box::new(rapl::Rapl::find(&sysfs::root())?)),
        }
    }
}

/// RAPL measures the CPU package: the adapter itself only when the
/// adapter is the CPU.
fn rapl_measures(adapter: &AdapterSummary) -> bool {
    adapter.device_type == crate::results::DeviceType::Cpu
}

/// The meter for `adapter` under `choice`. A source asked for by name that
/// is unavailable is an error before anything runs; `auto` with no sensor
/// gives a meter without figures that says why.
pub fn meter_for(
    choice: &PowerChoice,
    adapter: &AdapterSummary,
    interval: Duration,
) -> Result<Meter> {
    let unavailable = |name: SourceName, why: String| {
        Error::Power(format!("--power {name} on {}: {why}", adapter.label()))
    };
    let sensor = |sensor: Sensor| {
        sensor
            .open(adapter)
            .map_err(|e| unavailable(sensor.name(), e))
    };
    let source: Box<dyn PowerSource> = match choice {
        PowerChoice::Auto => {
            let mut why = Vec::new();
            for sensor in SENSORS {
                if sensor == Sensor::Rapl && !rapl_measures(adapter) {
                    why.push("rapl: measures the CPU, not this adapter".to_string());
                    continue;
                }
                match sensor.open(adapter) {
                    Ok(source) => return Ok(Meter::new(source, interval)),
                    Err(reason) => why.push(format!("{}: {reason}", sensor.name())),
                }
            }
            return Ok(Meter::without_source(format!(
                "none: no power sensor found ({}); give --watts W, --power-cmd or --power tdp",
                why.join("; ")
            )));
        }
        PowerChoice::Nvml => sensor(Sensor::Nvml)?,
        PowerChoice::Hwmon => sensor(Sensor::Hwmon)?,
        PowerChoice::Rapl => sensor(Sensor::Rapl)?,
        PowerChoice::Command(line) => Box::new(command::MeterCommand::start(line)?),
        PowerChoice::Tdp => {
            Box::new(tdp::Estimate::of(adapter).map_err(|e| unavailable(SourceName::Tdp, e))?)
        }
        PowerChoice::Watts(watts) => Box::new(UserWatts(*watts)),
    };
    Ok(Meter::new(source, interval))
}

/// One power source as `mwbench devices` lists it for an adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceStatus {
    pub source: SourceName,
    pub available: bool,
    /// What it reads, or why it is unavailable.
    pub detail: String,
}

/// Every source mwbench knows, for `adapter`: what each would read, or why
/// it cannot.
pub fn survey(adapter: &AdapterSummary) -> Vec<SourceStatus> {
    let mut found: Vec<SourceStatus> = SENSORS
        .iter()
        .map(|sensor| match sensor.open(adapter) {
            Ok(source) => {
                let mut detail = source.describe();
                if *sensor == Sensor::Rapl && !rapl_measures(adapter) {
                    detail.push_str(" (the CPU, not this adapter: only with --power rapl)");
                }
                SourceStatus {
                    source: sensor.name(),
                    available: true,
                    detail,
                }
            }
            Err(why) => SourceStatus {
                source: sensor.name(),
                available: false,
                detail: why,
            },
        })
        .collect();
    found.push(match tdp::Estimate::of(adapter) {
        Ok(estimate) => SourceStatus {
            source: SourceName::Tdp,
            available: true,
            detail: format!(
                "~{:.0} W, {} (an estimate: only with --power tdp)",
                estimate.watts, estimate.basis
            ),
        },
        Err(why) => SourceStatus {
            source: SourceName::Tdp,
            available: false,
            detail: why,
        },
    });
    found
}

/// Whether two PCI addresses (`0000:01:00.0` from wgpu, `00000000:01:00.0`
/// from NVML, any case) name the same slot.
pub fn same_pci_address(a: &str, b: &str) -> bool {
    match (pci_address(a), pci_address(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `domain:bus:device.function` as numbers.
fn pci_address(text: &str) -> Option<[u32; 4]> {
    let (domain, rest) = text.trim().split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (device, function) = rest.split_once('.')?;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    Some([hex(domain)?, hex(bus)?, hex(device)?, hex(function)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::adapter;

    #[test]
    fn pci_addresses_compare_as_numbers() {
        assert!(same_pci_address("0000:01:00.0", "00000000:01:00.0"));
        assert!(same_pci_address("0000:c1:00.0", "00000000:C1:00.0"));
        assert!(!same_pci_address("0000:01:00.0", "0000:02:00.0"));
        assert!(!same_pci_address("", ""));
    }

    #[test]
    fn power_options_combine_into_one_choice() {
        let choice = |power, command, watts| PowerChoice::from_args(power, command, watts);
        assert_eq!(choice(None, None, None).unwrap(), PowerChoice::Auto);
        assert_eq!(choice(Some("RAPL"), None, None).unwrap(), PowerChoice::Rapl);
        assert_eq!(
            choice(None, None, Some(300.0)).unwrap(),
            PowerChoice::Watts(300.0)
        );
        assert_eq!(
            choice(None, Some("ipmitool dcmi power reading"), None).unwrap(),
            PowerChoice::Command("ipmitool dcmi power reading".into())
        );
        assert_eq!(
            choice(Some("cmd"), Some("meter"), None).unwrap(),
            PowerChoice::Command("meter".into())
        );
        for (power, command, watts) in [
            (Some("solar"), None, None),
            (Some("cmd"), None, None),
            (Some("tdp"), None, Some(300.0)),
            (Some("nvml"), Some("meter"), None),
            (None, Some("meter"), Some(300.0)),
            (None, Some("'unclosed"), None),
        ] {
            let error = choice(power, command, watts).unwrap_err();
            assert_eq!(
                error.exit_code(),
                2,
                "{power:?} {command:?} {watts:?}: {error}"
            );
        }
    }

    #[test]
    fn every_source_says_where_its_figure_came_from() {
        assert_eq!(UserWatts(350.0).provenance(), Provenance::User);
        assert_eq!(
            serde_json::to_string(&Provenance::Estimated).unwrap(),
            "\"estimated\""
        );
        let cpu = crate::fixtures::adapter_summary(
            0,
            "llvmpipe",
            crate::results::DeviceType::Cpu,
            crate::results::Backend::Vulkan,
        );
        // No NVIDIA driver, no GPU: auto on a GPU adapter finds nothing
        // and says why for each sensor, never falling back to a guess.
        let gpu = adapter(0x10de, "0000:01:00.0");
        let mut none = meter_for(&PowerChoice::Auto, &gpu, Duration::from_millis(100)).unwrap();
        let reading = none.reading().unwrap();
        if reading.provenance == Provenance::None {
            assert!(reading.source.contains("nvml: "), "{}", reading.source);
            assert!(
                reading.source.contains("rapl: measures the CPU"),
                "{}",
                reading.source
            );
        }
        let user = meter_for(&PowerChoice::Watts(10.0), &cpu, Duration::ZERO)
            .unwrap()
            .reading()
            .unwrap();
        assert_eq!(
            (user.provenance, user.watts),
            (Provenance::User, Some(10.0))
        );
        let estimate = meter_for(&PowerChoice::Tdp, &adapter(0x10de, ""), Duration::ZERO);
        // "test GPU" is in no table: asking for an estimate of it fails.
        if let Err(error) = estimate {
            assert!(error.to_string().contains("--power tdp on"), "{error}");
        }
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_pci_address_compares_without_panicking(a in ".{0,20}", b in "[0-9a-fA-F:.]{0,20}") {
                let _ = same_pci_address(&a, &b);
                prop_assert!(!same_pci_address("", &b));
            }
        }
    }
}
