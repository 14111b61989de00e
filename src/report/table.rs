//! Tables for `mwbench run` and `mwbench devices`.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::gpu::AdapterSummary;
use crate::power::{PowerReading, Provenance, SourceStatus};
use crate::results::{CeilingFraction, ResultFile, Status};

/// `value` with an SI prefix and three significant digits: `42.1 M`.
pub fn si(value: f64, unit: &str) -> String {
    let prefixes = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    let (scaled, prefix) = prefixes
        .iter()
        .find(|(scale, _)| value.abs() >= *scale)
        .map_or((value, ""), |(scale, prefix)| (value / scale, *prefix));
    // Past the largest prefix, or in a tiny fraction: scientific notation,
    // never hundreds of digits.
    if scaled.abs() >= 1e4 || (scaled != 0.0 && scaled.abs() < 1e-3) {
        return format!("{value:.3e} {unit}");
    }
    let digits = if scaled.abs() >= 100.0 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$} {prefix}{unit}")
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    table
}

/// The table `mwbench run` prints for one result file.
pub fn run_table(file: &ResultFile) -> String {
    let mut t = table(&[
        "workload",
        "status",
        "median",
        "min .. max",
        "samples",
        "power",
        "efficiency",
    ]);
    for result in &file.results {
        let unit = result.throughput.unit.as_str();
        let (median, spread, samples) = match (result.status, result.summary()) {
            (Status::Ok, Some(s)) => (
                si(s.median, unit),
                format!("{} .. {}", si(s.min, ""), si(s.max, "")),
                s.count.to_string(),
            ),
            (Status::Unsupported, _) => ("unsupported".into(), "-".into(), "-".into()),
            _ => ("FAILED".into(), "-".into(), "-".into()),
        };
        let median = match &result.ceiling {
            Some(CeilingFraction {
                fraction: Some(fraction),
                workload,
                ..
            }) => format!("{median} ({:.0}% of {workload})", fraction * 100.0),
            Some(CeilingFraction {
                note: Some(note), ..
            }) => format!("{median} ({note})"),
            _ => median,
        };
        let median = result.also.iter().fold(median, |text, f| {
            format!("{text}\n{}", si(f.value, &f.unit))
        });
        let power = power_cell(&result.power);
        let figures = |list: &[crate::results::Figure]| {
            list.iter()
                .map(|f| si(f.value, &f.unit))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut efficiency = figures(&result.efficiency);
        if !result.efficiency_above_idle.is_empty() {
            efficiency.push_str(&format!(
                "\nabove idle: {}",
                figures(&result.efficiency_above_idle)
            ));
        }
        if result.power.provenance == Provenance::Estimated && !efficiency.is_empty() {
            efficiency = format!("~{efficiency} (estimate)");
        }
        let status = match result.status {
            Status::Ok => "verified",
            Status::Failed => "FAILED",
            Status::Unsupported => "unsupported",
        };
        let workload = match result.params.get("shape").and_then(|s| s.as_str()) {
            Some(shape) => format!("{} {shape}", result.workload),
            None => result.workload.clone(),
        };
        t.add_row(vec![
            workload,
            status.into(),
            median,
            spread,
            samples,
            power,
            if efficiency.is_empty() {
                "-".into()
            } else {
                efficiency
            },
        ]);
    }
    let mut text = format!(
        "{} [{}, {}] on {}, timing: {:?}\n{t}\n",
        file.device.name,
        file.device.backend,
        file.device.device_type,
        file.machine.hostname,
        file.device.timing
    );
    if let Some(first) = file.results.first() {
        text.push_str(&power_line(&first.power));
    }
    for result in file.results.iter().filter(|r| r.status != Status::Ok) {
        let what = match result.status {
            Status::Unsupported => "unsupported",
            _ => "failed",
        };
        text.push_str(&format!("{} {what}: {}\n", result.workload, result.check));
    }
    text
}

/// Mean watts with where they came from; a sensor's spread and idle power
/// below. An estimate is marked as one.
fn power_cell(power: &PowerReading) -> String {
    let Some(watts) = power.watts else {
        return "-".into();
    };
    let mut cell = match power.provenance {
        Provenance::Estimated => format!("~{watts:.0} W (estimate)"),
        provenance => format!("{watts:.1} W ({})", provenance_word(provenance)),
    };
    if let (Some(min), Some(max)) = (power.watts_min, power.watts_max) {
        cell.push_str(&format!(
            "\n{min:.0} .. {max:.0} W, {} samples",
            power.samples
        ));
    }
    if let Some(energy) = power.energy_j
        && power.provenance != Provenance::Estimated
    {
        cell.push_str(&format!("\n{}", si(energy, "J")));
    }
    if let Some(idle) = power.idle_watts {
        cell.push_str(&format!("\nidle {idle:.1} W"));
    }
    cell
}

/// The line under the table that names the power source once.
fn power_line(power: &PowerReading) -> String {
    let mut line = format!("power: {}", power.source);
    match power.provenance {
        Provenance::Estimated => line.push_str(" [ESTIMATE, not a measurement]"),
        Provenance::None => {}
        provenance => line.push_str(&format!(" [{}]", provenance_word(provenance))),
    }
    if power.shared {
        line.push_str("; measures the whole host, shared by its adapters");
    }
    if let Some(interval) = power.interval_ms {
        line.push_str(&format!("; sampled every {interval} ms while measuring"));
    }
    line.push('\n');
    line
}

fn provenance_word(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::Sensor => "sensor",
        Provenance::External => "meter",
        Provenance::User => "user",
        Provenance::Estimated => "estimate",
        Provenance::None => "none",
    }
}

/// The table `mwbench devices` prints, with the power sources found for
/// each adapter and why the others are unavailable.
pub fn devices_table(adapters: &[(AdapterSummary, Vec<SourceStatus>)]) -> String {
    let mut t = table(&[
        "#", "name", "type", "backend", "driver", "vendor", "pci bus", "features", "limits",
    ]);
    let mut power = String::from("Power sources (--power auto takes the first sensor found):\n");
    for (a, sources) in adapters {
        power.push_str(&format!("{}\n", a.label()));
        for s in sources {
            let mark = if s.available { "found" } else { "no" };
            power.push_str(&format!("  {:<6}{mark:<7}{}\n", s.source, s.detail));
        }
        let mut features = Vec::new();
        if a.timestamp_queries {
            features.push("timestamps".to_string());
        }
        if a.shader_f16 {
            features.push("f16".to_string());
        }
        if a.subgroups {
            features.push(format!(
                "subgroups {}-{}",
                a.subgroup_sizes[0], a.subgroup_sizes[1]
            ));
        }
        for shape in &a.cooperative_matrix {
            features.push(format!("coop-matrix {shape}"));
        }
        let limits = format!(
            "buffer {}\nstorage binding {}\nworkgroup storage {}",
            si(a.limits.max_buffer_size as f64, "B"),
            si(a.limits.max_storage_buffer_binding_size as f64, "B"),
            si(f64::from(a.limits.max_compute_workgroup_storage_size), "B"),
        );
        t.add_row(vec![
            a.index.to_string(),
            a.name.clone(),
            a.device_type.clone(),
            a.backend.clone(),
            format!("{} {}", a.driver, a.driver_info).trim().to_string(),
            format!("{:#06x}", a.vendor_id),
            if a.pci_bus_id.is_empty() {
                "-".into()
            } else {
                a.pci_bus_id.clone()
            },
            features.join("\n"),
            limits,
        ]);
    }
    format!(
        "{t}\n{power}An external meter (--power-cmd \"PROGRAM ARG...\") or a figure read off one \
         (--watts W) can be given for any adapter.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_prefixes_keep_three_digits() {
        assert_eq!(si(42_130_000.0, "H/s"), "42.1 MH/s");
        assert_eq!(si(1.5e12, "H/s"), "1.50 TH/s");
        assert_eq!(si(999.0, "W"), "999 W");
        assert_eq!(si(0.5, "H/J"), "0.50 H/J");
    }
}
