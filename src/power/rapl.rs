//! CPU package energy through the kernel's powercap interface (RAPL). The
//! right sensor when the adapter is the CPU itself (lavapipe); it measures
//! the whole package, so it is shared by every adapter on the host.

use std::path::{Path, PathBuf};

use super::sysfs::{self, WrappingCounter};
use super::{PowerSource, Provenance, Reading};
use crate::{Error, Result};

/// Every CPU package's energy counter, summed.
#[derive(Debug)]
pub struct Rapl {
    packages: Vec<Package>,
}

#[derive(Debug)]
struct Package {
    energy_uj: PathBuf,
    counter: WrappingCounter,
}

impl Rapl {
    /// The packages under `root/class/powercap`: the top-level
    /// `intel-rapl:N` zones (AMD CPUs use the same names), not their
    /// `intel-rapl:N:M` subzones, which the package already counts.
    pub fn find(root: &Path) -> std::result::Result<Rapl, String> {
        let powercap = root.join("class/powercap");
        let zones = sysfs::entries(&powercap, |name| {
            name.strip_prefix("intel-rapl:")
                .is_some_and(|n| n.parse::<u32>().is_ok())
        });
        if zones.is_empty() {
            return Err(format!(
                "no RAPL package under {} (not exposed by this CPU, kernel or VM)",
                sysfs::display(&powercap)
            ));
        }
        let mut packages = Vec::new();
        for zone in zones {
            let energy_uj = zone.join("energy_uj");
            let first = sysfs::read_u64(&energy_uj).map_err(|e| explain(&e))?;
            let range = match sysfs::read_u64(&zone.join("max_energy_range_uj")) {
                Ok(range) if range > first => Some(range),
                // A range the counter already exceeds would turn every
                // wrap into megawatts: such a zone cannot be followed.
                Ok(range) => {
                    return Err(format!(
                        "{} holds {range}, not above the counter's {first}: \
                         its wraps cannot be followed",
                        sysfs::display(&zone.join("max_energy_range_uj"))
                    ));
                }
                Err(_) => None,
            };
            packages.push(Package {
                energy_uj,
                counter: WrappingCounter::new(first, range),
            });
        }
        Ok(Rapl { packages })
    }
}

/// RAPL is root-only on current kernels: say how to let a user read it.
fn explain(error: &str) -> String {
    if error.ends_with("permission denied") {
        format!(
            "{error}: RAPL energy is root-only since Linux 5.10 (CVE-2020-8694); \
             run as root, or grant read access until reboot with \
             `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`"
        )
    } else {
        error.to_string()
    }
}

impl PowerSource for Rapl {
    fn describe(&self) -> String {
        let zones: Vec<String> = self
            .packages
            .iter()
            .map(|p| sysfs::display(p.energy_uj.parent().unwrap_or(&p.energy_uj)))
            .collect();
        format!(
            "rapl: CPU package energy, {} package{} ({})",
            zones.len(),
            if zones.len() == 1 { "" } else { "s" },
            zones.join(", ")
        )
    }

    fn provenance(&self) -> Provenance {
        Provenance::Sensor
    }

    fn shared(&self) -> bool {
        true
    }

    fn read(&mut self) -> Result<Reading> {
        let mut microjoules = 0u64;
        for package in &mut self.packages {
            let now = sysfs::read_u64(&package.energy_uj).map_err(|e| Error::Power(explain(&e)))?;
            if package.counter.range().is_some_and(|range| now > range) {
                return Err(Error::Power(format!(
                    "{} reads {now}, above its max_energy_range_uj",
                    sysfs::display(&package.energy_uj)
                )));
            }
            microjoules += package.counter.advance(now);
        }
        Ok(Reading::Joules(microjoules as f64 * 1e-6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::copy_tree;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysfs/rapl")
    }

    #[test]
    fn finds_the_packages_and_not_their_subzones() {
        let rapl = Rapl::find(&fixture()).unwrap();
        assert_eq!(rapl.packages.len(), 2);
        let root = fixture();
        assert_eq!(
            rapl.describe(),
            format!(
                "rapl: CPU package energy, 2 packages ({0}/class/powercap/intel-rapl:0, \
                 {0}/class/powercap/intel-rapl:1)",
                root.display()
            )
        );
        assert_eq!(rapl.provenance(), Provenance::Sensor);
        assert!(rapl.shared(), "the CPU package is the whole host's");
    }

    /// Package 0 sits just below its range; after it wraps the sum still
    /// grows by exactly what both packages used.
    #[test]
    fn sums_packages_across_a_wrap() {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture(), dir.path());
        let zone = |n: u32| dir.path().join(format!("class/powercap/intel-rapl:{n}"));
        let range: u64 = read(&zone(0).join("max_energy_range_uj"));
        let start0: u64 = read(&zone(0).join("energy_uj"));
        let start1: u64 = read(&zone(1).join("energy_uj"));
        let mut rapl = Rapl::find(dir.path()).unwrap();
        assert_eq!(rapl.read().unwrap(), Reading::Joules(0.0));
        // 3 J on package 0, wrapping past its range; 2 J on package 1.
        let wrapped = start0 + 3_000_000 - range;
        assert!(wrapped < start0, "the fixture must wrap");
        std::fs::write(zone(0).join("energy_uj"), format!("{wrapped}\n")).unwrap();
        std::fs::write(
            zone(1).join("energy_uj"),
            format!("{}\n", start1 + 2_000_000),
        )
        .unwrap();
        assert_eq!(rapl.read().unwrap(), Reading::Joules(5.0));
    }

    /// A range below the counter would make a wrap read as megawatts.
    #[test]
    fn an_invalid_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture(), dir.path());
        let zone = dir.path().join("class/powercap/intel-rapl:1");
        std::fs::write(zone.join("max_energy_range_uj"), "10\n").unwrap();
        let error = Rapl::find(dir.path()).unwrap_err();
        assert!(error.contains("max_energy_range_uj holds 10"), "{error}");
        std::fs::write(zone.join("max_energy_range_uj"), "garbage\n").unwrap();
        assert!(
            Rapl::find(dir.path()).is_ok(),
            "an unreadable range is unknown"
        );
    }

    #[test]
    fn no_powercap_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let error = Rapl::find(dir.path()).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "no RAPL package under {}/class/powercap",
                dir.path().display()
            )),
            "{error}"
        );
    }

    #[test]
    fn permission_denied_says_how_to_grant_it() {
        let text =
            explain("cannot read /sys/class/powercap/intel-rapl:0/energy_uj: permission denied");
        assert!(text.contains("root-only"), "{text}");
        assert!(text.contains("chmod a+r"), "{text}");
        assert_eq!(explain("no such file"), "no such file");
    }

    fn read(path: &Path) -> u64 {
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}
