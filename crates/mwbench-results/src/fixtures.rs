//! What the unit tests share: result files, a valuation and samples.
//! Tests import from here, never from another module's tests; mwbench's
//! own unit tests reach it through the `test-fixtures` feature.

use std::path::{Path, PathBuf};

use crate::economics::{Inputs, Kind, SiteOption, Unpriceable, Valuation};
use crate::results::{
    Backend, DeviceType, Machine, PowerReading, Provenance, ResultDevice, ResultFile,
    SCHEMA_VERSION, Settings, Status, TimingMethod, Unit, WorkloadResult,
};

/// The repository's root, where `results/` and `tests/fixtures/` are.
pub fn repository_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `n` samples around `center`, spread evenly over +-`spread`.
pub fn samples(center: f64, spread: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 - spread + 2.0 * spread * i as f64 / (n - 1) as f64))
        .collect()
}

/// A result of `workload` at `rate` (in `unit`) drawing `watts`.
pub fn result(
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

pub fn file(results: Vec<WorkloadResult>) -> (PathBuf, ResultFile) {
    let file = ResultFile {
        schema_version: SCHEMA_VERSION,
        mwbench_version: "0.1.0".into(),
        created: "2026-11-25T00:00:00Z".into(),
        machine: Machine {
            hostname: "node".into(),
            os: "Linux".into(),
            cpu: "cpu".into(),
        },
        device: ResultDevice {
            name: "GPU".into(),
            backend: Backend::Vulkan,
            device_type: DeviceType::Discrete,
            driver: String::new(),
            driver_info: String::new(),
            vendor_id: 0x10de,
            pci_bus_id: String::new(),
            timing: TimingMethod::GpuTimestamps,
            memory: None,
        },
        settings: Settings {
            quick: true,
            measure_seconds: 0.6,
            warm_up_seconds: 0.1,
            sample_seconds: 0.1,
            min_samples: 3,
            sustain_seconds: None,
            interval_seconds: None,
        },
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
        pays_power: true,
        caveat: None,
        roof: None,
    }
}

/// Two options and an ASIC, at 50 USD/MWh.
pub fn valuation() -> Valuation {
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
