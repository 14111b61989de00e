//! AMD and Intel GPUs through their DRM device's hwmon directory: amdgpu
//! reports power (`power1_average`, else `power1_input`, microwatts),
//! i915 and xe an energy counter (`energy1_input`, microjoules).

use std::path::{Path, PathBuf};

use super::conditions::{ConditionSensor, Conditions};
use super::sysfs::{self, WrappingCounter};
use super::{PowerSource, Provenance, Reading, same_pci_address};
use crate::gpu::AdapterSummary;
use crate::{Error, Result};

const AMD: u32 = 0x1002;
const INTEL: u32 = 0x8086;

/// One DRM card's hwmon sensor.
#[derive(Debug)]
pub struct Hwmon {
    file: PathBuf,
    card: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// `power1_average` or `power1_input`, in microwatts.
    Microwatts,
    /// `energy1_input`, in microjoules.
    Microjoules(WrappingCounter),
}

/// A card under `class/drm`, as found.
struct Card {
    name: String,
    device: PathBuf,
    vendor: u32,
    pci_address: String,
}

impl Hwmon {
    /// The power sensor of the DRM card that is `adapter` (see `card_of`).
    pub fn find(root: &Path, adapter: &AdapterSummary) -> std::result::Result<Hwmon, String> {
        let card = card_of(root, adapter)?;
        let hwmons = sysfs::entries(&card.device.join("hwmon"), |n| n.starts_with("hwmon"));
        for hwmon in &hwmons {
            let energy = hwmon.join("energy1_input");
            if let Ok(first) = sysfs::read_u64(&energy) {
                return Ok(Hwmon {
                    file: energy,
                    card: card.name.clone(),
                    kind: Kind::Microjoules(WrappingCounter::new(first, None)),
                });
            }
            for name in ["power1_average", "power1_input"] {
                let power = hwmon.join(name);
                if sysfs::read_u64(&power).is_ok() {
                    return Ok(Hwmon {
                        file: power,
                        card: card.name.clone(),
                        kind: Kind::Microwatts,
                    });
                }
            }
        }
        Err(format!(
            "{} has no readable energy1_input, power1_average or power1_input",
            sysfs::display(&card.device.join("hwmon"))
        ))
    }
}

/// The DRM card that is `adapter`: matched by PCI address, or, where the
/// backend gives none, by vendor when only one card of that vendor exists.
fn card_of(root: &Path, adapter: &AdapterSummary) -> std::result::Result<Card, String> {
    if adapter.vendor_id != AMD && adapter.vendor_id != INTEL {
        return Err("only AMD and Intel GPUs report power through hwmon".into());
    }
    let mut cards = cards(root);
    let index = if adapter.pci_bus_id.is_empty() {
        let same_vendor: Vec<usize> = (0..cards.len())
            .filter(|&i| cards[i].vendor == adapter.vendor_id)
            .collect();
        match same_vendor[..] {
            [index] => index,
            [] => return Err("no DRM card of this vendor".into()),
            _ => {
                return Err(
                    "several DRM cards of this vendor and no PCI address to tell them apart".into(),
                );
            }
        }
    } else {
        cards
            .iter()
            .position(|c| same_pci_address(&c.pci_address, &adapter.pci_bus_id))
            .ok_or_else(|| format!("no DRM card at PCI address {}", adapter.pci_bus_id))?
    };
    Ok(cards.swap_remove(index))
}

/// A DRM card's temperature and clocks from its hwmon directory: amdgpu's
/// `temp1_input` (millidegrees), `freq1_input` (shader clock) and
/// `freq2_input` (memory clock, both in Hz). hwmon gives no throttle reasons.
#[derive(Debug)]
pub struct HwmonConditions {
    directory: PathBuf,
    card: String,
}

impl HwmonConditions {
    /// The first hwmon directory of `adapter`'s card with a temperature.
    pub fn find(root: &Path, adapter: &AdapterSummary) -> std::result::Result<Self, String> {
        let card = card_of(root, adapter)?;
        sysfs::entries(&card.device.join("hwmon"), |n| n.starts_with("hwmon"))
            .into_iter()
            .find(|dir| sysfs::read_u64(&dir.join("temp1_input")).is_ok())
            .map(|directory| HwmonConditions {
                directory,
                card: card.name.clone(),
            })
            .ok_or_else(|| format!("{} has no readable temp1_input", card.name))
    }
}

impl ConditionSensor for HwmonConditions {
    fn describe(&self) -> String {
        format!("hwmon: {} ({})", sysfs::display(&self.directory), self.card)
    }

    fn read(&mut self) -> Conditions {
        let read = |name: &str, scale: f64| {
            sysfs::read_u64(&self.directory.join(name))
                .ok()
                .map(|v| v as f64 * scale)
        };
        Conditions {
            temperature_c: read("temp1_input", 1e-3),
            sm_clock_mhz: read("freq1_input", 1e-6),
            memory_clock_mhz: read("freq2_input", 1e-6),
            throttle: Vec::new(),
        }
        .plausible()
    }
}

/// The GPUs under `class/drm` (`cardN`, not connectors such as
/// `card0-DP-1` nor render nodes).
fn cards(root: &Path) -> Vec<Card> {
    let drm = root.join("class/drm");
    sysfs::entries(&drm, |name| {
        name.strip_prefix("card")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    })
    .into_iter()
    .filter_map(|path| {
        let device = path.join("device");
        let vendor = sysfs::read_text(&device.join("vendor")).ok()?;
        let vendor = u32::from_str_radix(vendor.trim_start_matches("0x"), 16).ok()?;
        let uevent = sysfs::read_text(&device.join("uevent")).unwrap_or_default();
        let pci_address = uevent
            .lines()
            .find_map(|l| l.strip_prefix("PCI_SLOT_NAME="))
            .unwrap_or_default()
            .to_string();
        Some(Card {
            name: path.file_name()?.to_string_lossy().into_owned(),
            device,
            vendor,
            pci_address,
        })
    })
    .collect()
}

impl PowerSource for Hwmon {
    fn describe(&self) -> String {
        format!("hwmon: {} ({})", sysfs::display(&self.file), self.card)
    }

    fn provenance(&self) -> Provenance {
        Provenance::Sensor
    }

    fn read(&mut self) -> Result<Reading> {
        let raw = sysfs::read_u64(&self.file).map_err(Error::Power)?;
        Ok(match &mut self.kind {
            Kind::Microwatts => Reading::Watts(raw as f64 * 1e-6),
            Kind::Microjoules(counter) => Reading::Joules(counter.advance(raw) as f64 * 1e-6),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::adapter;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sysfs")
            .join(name)
    }

    #[test]
    fn amd_cards_are_matched_by_pci_address() {
        let root = fixture("amdgpu");
        let mut first = Hwmon::find(&root, &adapter(AMD, "0000:03:00.0")).unwrap();
        assert_eq!(
            first.describe(),
            format!(
                "hwmon: {}/class/drm/card0/device/hwmon/hwmon2/power1_average (card0)",
                root.display()
            )
        );
        assert_eq!(first.read().unwrap(), Reading::Watts(215.0));
        // The second card has only the instantaneous reading.
        let mut second = Hwmon::find(&root, &adapter(AMD, "0000:04:00.0")).unwrap();
        assert_eq!(second.read().unwrap(), Reading::Watts(98.5));
        assert_eq!(second.provenance(), Provenance::Sensor);
        assert!(!second.shared(), "a card's sensor is its own");
        let missing = Hwmon::find(&root, &adapter(AMD, "0000:09:00.0")).unwrap_err();
        assert_eq!(missing, "no DRM card at PCI address 0000:09:00.0");
        let ambiguous = Hwmon::find(&root, &adapter(AMD, "")).unwrap_err();
        assert!(ambiguous.starts_with("several DRM cards"), "{ambiguous}");
    }

    #[test]
    fn intel_cards_count_energy() {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::copy_tree(&fixture("intel"), dir.path());
        // The GL backend gives no PCI address: the only Intel card is it.
        let mut intel = Hwmon::find(dir.path(), &adapter(INTEL, "")).unwrap();
        assert!(intel.describe().ends_with("hwmon4/energy1_input (card0)"));
        assert_eq!(intel.read().unwrap(), Reading::Joules(0.0));
        let file = dir
            .path()
            .join("class/drm/card0/device/hwmon/hwmon4/energy1_input");
        std::fs::write(&file, "123466789000\n").unwrap();
        assert_eq!(intel.read().unwrap(), Reading::Joules(10.0));
    }

    #[test]
    fn amd_temperature_and_clocks() {
        let root = fixture("amdgpu");
        let mut sensor = HwmonConditions::find(&root, &adapter(AMD, "0000:03:00.0")).unwrap();
        let conditions = sensor.read();
        assert_eq!(conditions.temperature_c, Some(64.0));
        assert_eq!(conditions.sm_clock_mhz, Some(2100.0));
        assert_eq!(conditions.memory_clock_mhz, Some(1000.0));
        assert!(conditions.throttle.is_empty());
        // The second card has no temperature.
        assert!(HwmonConditions::find(&root, &adapter(AMD, "0000:04:00.0")).is_err());
    }

    #[test]
    fn other_vendors_are_not_looked_for() {
        let error = Hwmon::find(&fixture("amdgpu"), &adapter(0x10de, "0000:03:00.0")).unwrap_err();
        assert_eq!(error, "only AMD and Intel GPUs report power through hwmon");
    }
}
