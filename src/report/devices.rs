//! What `mwbench devices` prints: every adapter, and the power sources
//! found for each with why the others are unavailable.

use super::markup::{Document, Grid, si};
use crate::gpu::AdapterSummary;
use crate::power::SourceStatus;

pub fn devices_document<'a>(
    adapters: impl IntoIterator<Item = (&'a AdapterSummary, &'a [SourceStatus])>,
) -> Document {
    let mut grid = Grid::new([
        "#", "name", "type", "backend", "driver", "vendor", "pci bus", "features", "limits",
    ]);
    let mut power = vec!["Power sources (--power auto takes the first sensor found):".to_string()];
    for (a, sources) in adapters {
        power.push(a.label());
        for s in sources {
            let mark = if s.available { "found" } else { "no" };
            power.push(format!("  {:<6}{mark:<7}{}", s.source, s.detail));
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
        grid.row([
            a.index.to_string(),
            a.name.clone(),
            a.device_type.to_string(),
            a.backend.to_string(),
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
    let mut document = Document::default();
    document.grid(grid);
    for line in power {
        document.line(line);
    }
    document.line(
        "An external meter (--power-cmd \"PROGRAM ARG...\") or a figure read off one \
         (--watts W) can be given for any adapter.",
    );
    document
}
