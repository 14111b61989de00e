//! `mwbench export --format prometheus`: result files as node_exporter's
//! textfile-collector format, so a site watches mwbench's figures in the
//! monitoring it already runs. Each metric's `# HELP` and `# TYPE` come
//! once, its samples together; no sample carries a timestamp (the
//! collector drops a file that has them); where two files give the same
//! series, the newer file's figure is kept (the collector refuses
//! duplicates). A series is one adapter's: its host, name, PCI bus id and
//! backend.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::results::{Provenance, ResultFile, Status};

/// The metrics, in the order written: name, help.
const METRICS: [(&str, &str); 7] = [
    (
        "mwbench_throughput",
        "Throughput of a verified workload (the steady figure of a sustained run, else the \
         median), in the units of its unit label.",
    ),
    (
        "mwbench_watts",
        "Mean power over a workload's samples (steady power of a sustained run); provenance \
         says where the figure came from (estimated is never a measurement).",
    ),
    (
        "mwbench_efficiency",
        "Work per joule of a verified workload, in the units of its unit label.",
    ),
    (
        "mwbench_external_throughput",
        "Throughput an outside command reported (mwbench meter: vLLM, llama-bench, hashcat), \
         not checked by mwbench, in the units of its unit label.",
    ),
    (
        "mwbench_external_efficiency",
        "Work per joule of an outside command's reported figure over the energy mwbench \
         metered, not checked by mwbench.",
    ),
    (
        "mwbench_verified",
        "1 when the workload's output matched the CPU reference, 0 when it failed or did not run.",
    ),
    (
        "mwbench_result_timestamp_seconds",
        "When the result file was written, in seconds since the Unix epoch.",
    ),
];

/// One sample: its labels, its value, and when its file was written (the
/// newer wins a duplicate).
type Series = BTreeMap<Vec<(&'static str, String)>, (i64, f64)>;

/// The Prometheus text of `files`.
pub fn prometheus(files: &[ResultFile]) -> String {
    let mut metrics: BTreeMap<&str, Series> = BTreeMap::new();
    let mut add =
        |metric: &'static str, labels: Vec<(&'static str, String)>, at: i64, value: f64| {
            if !value.is_finite() {
                return;
            }
            let series = metrics.entry(metric).or_default();
            match series.get(&labels) {
                Some((previous, _)) if *previous > at => {}
                _ => {
                    series.insert(labels, (at, value));
                }
            }
        };
    for file in files {
        let at = created_seconds(&file.created).unwrap_or(0);
        // The backend tells apart two adapters of one host that share a
        // name and have no PCI bus id (lavapipe on Vulkan and on GL): the
        // same series, the older would be dropped as a duplicate.
        let device = [
            ("backend", file.device.backend.to_string()),
            ("device", file.device.name.clone()),
            ("host", file.machine.hostname.clone()),
            ("pci_bus_id", file.device.pci_bus_id.clone()),
        ];
        if let Some(seconds) = created_seconds(&file.created) {
            add(
                "mwbench_result_timestamp_seconds",
                device.to_vec(),
                at,
                seconds as f64,
            );
        }
        for result in &file.results {
            let shape = result.shape().to_string();
            let labels = |extra: &[(&'static str, String)]| {
                let mut labels = vec![
                    ("workload", result.workload.clone()),
                    ("shape", shape.clone()),
                ];
                labels.extend(device.iter().cloned());
                labels.extend(extra.iter().cloned());
                labels.sort();
                labels
            };
            let verified = result.status == Status::Ok && result.verified;
            add(
                "mwbench_verified",
                labels(&[]),
                at,
                if verified { 1.0 } else { 0.0 },
            );
            if let Some(watts) = result.watts()
                && result.power.provenance != Provenance::None
            {
                let provenance = serde_json::to_value(result.power.provenance)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                add(
                    "mwbench_watts",
                    labels(&[("provenance", provenance)]),
                    at,
                    watts,
                );
            }
            // A figure only from a kernel that passed its check, or an
            // outside command's (mwbench meter) under metrics of its own:
            // never beside, or taken for, a verified one.
            let (throughput, efficiency) = match result.status {
                Status::External => ("mwbench_external_throughput", "mwbench_external_efficiency"),
                _ if verified => ("mwbench_throughput", "mwbench_efficiency"),
                _ => continue,
            };
            if let Some(value) = result.rate() {
                add(
                    throughput,
                    labels(&[("unit", result.throughput.unit.as_str().into())]),
                    at,
                    value,
                );
            }
            for figure in &result.efficiency {
                add(
                    efficiency,
                    labels(&[("unit", figure.unit.clone())]),
                    at,
                    figure.value,
                );
            }
        }
    }
    let mut text = String::new();
    for (name, help) in METRICS {
        let Some(series) = metrics.get(name) else {
            continue;
        };
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (labels, (_, value)) in series {
            let labels: Vec<String> = labels
                .iter()
                .map(|(key, value)| format!("{key}=\"{}\"", escape(value)))
                .collect();
            let _ = writeln!(text, "{name}{{{}}} {value}", labels.join(","));
        }
    }
    text
}

/// A label value as the text format requires: backslash, double quote and
/// line feed escaped. Other control characters are written as text
/// first (`\u{1b}`): an ESC sequence in a device name must not reach a
/// terminal that shows the file.
fn escape(value: &str) -> String {
    value
        .split('\n')
        .map(|line| {
            crate::printable(line)
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        })
        .collect::<Vec<_>>()
        .join("\\n")
}

/// An RFC 3339 time as seconds since the epoch.
fn created_seconds(created: &str) -> Option<i64> {
    created
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{file, result};
    use crate::results::{Figure, Unit};

    fn verified_file() -> ResultFile {
        let mut r = result(
            "sha256d",
            Unit::HashesPerSecond,
            6.85e9,
            Some((376.0, Provenance::Sensor)),
        );
        r.verified = true;
        r.efficiency = vec![Figure {
            value: 6.85e9 / 376.0,
            unit: "H/J".into(),
        }];
        let mut failed = result("gemm-f16", Unit::GflopPerSecond, 1.0, None);
        failed.status = Status::Failed;
        failed
            .params
            .insert("shape".into(), serde_json::json!("4096x4096x4096"));
        // hashcat's figure through `mwbench meter`.
        let mut hashcat = result(
            "external",
            Unit::HashesPerSecond,
            8e9,
            Some((650.0, Provenance::Sensor)),
        );
        hashcat.status = Status::External;
        hashcat.efficiency = vec![Figure {
            value: 8e9 / 650.0,
            unit: "H/J".into(),
        }];
        let (_, mut f) = file(vec![r, failed, hashcat]);
        f.device.name = "NVIDIA \"H200\"\\SXM\nx".into();
        f.device.pci_bus_id = "0000:01:00.0".into();
        f
    }

    #[test]
    fn every_metric_once_with_escaped_labels_and_no_timestamps() {
        let text = prometheus(&[verified_file()]);
        for (name, _) in METRICS {
            assert_eq!(
                text.matches(&format!("# TYPE {name} gauge")).count(),
                1,
                "{text}"
            );
        }
        assert!(
            text.contains(
                "mwbench_throughput{backend=\"vulkan\",device=\"NVIDIA \\\"H200\\\"\\\\SXM\\nx\",host=\"node\",\
                 pci_bus_id=\"0000:01:00.0\",shape=\"\",unit=\"H/s\",workload=\"sha256d\"} 6850000000\n"
            ),
            "{text}"
        );
        assert!(text.contains("provenance=\"sensor\""), "{text}");
        // The failed GEMM: verified 0, and no throughput.
        assert!(text.contains("workload=\"gemm-f16\"} 0\n"), "{text}");
        assert_eq!(text.matches("mwbench_throughput{").count(), 1);
        assert!(text.contains("mwbench_result_timestamp_seconds{"), "{text}");
        // No sample line has a third field (a timestamp).
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let after_labels = line.rsplit_once('}').unwrap().1;
            assert_eq!(after_labels.split_whitespace().count(), 1, "{line}");
        }
    }

    /// lavapipe on Vulkan and on GL: one host, one name, no PCI bus id;
    /// two adapters, both exported.
    #[test]
    fn two_adapters_of_one_name_stay_apart() {
        let vulkan = verified_file();
        let mut gl = verified_file();
        gl.device.backend = crate::results::Backend::Gl;
        let text = prometheus(&[vulkan, gl]);
        assert_eq!(text.matches("mwbench_throughput{").count(), 2, "{text}");
        assert!(text.contains("backend=\"gl\""), "{text}");
    }

    #[test]
    fn the_newer_file_wins_a_series_given_twice() {
        let old = verified_file();
        let mut new = verified_file();
        new.created = "2026-12-01T00:00:00Z".into();
        new.results[0].throughput.value = Some(7e9);
        for files in [[old.clone(), new.clone()], [new, old]] {
            let text = prometheus(&files);
            assert_eq!(text.matches("mwbench_throughput{").count(), 1);
            assert!(text.contains("} 7000000000\n"), "{text}");
        }
    }
}
