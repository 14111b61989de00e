//! The roofline of one result file: each kernel's measured GFLOP/s against
//! its arithmetic intensity (FLOP per byte), under the adapter's own
//! measured ceilings (`peak-fma-f32` flat, `copy-bandwidth` slanted, and
//! where the file has it the tensor roof `peak-mma-f16`, flat above the
//! f32 one), log-log. Each kernel is read against the roof
//! [`crate::workloads::ceiling_of`] gives it: kernels that ran on
//! cooperative matrices against the tensor roof. How far a point sits
//! below its roof is what tuning can win.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{LEGEND_ROW, PLOT_HEIGHT, WIDTH, draw_legend, svg};
use super::markup::si;
use crate::results::{ResultFile, Status, Unit, WorkloadResult};
use crate::workloads::ceiling_of;

/// A kernel placed on the roofline.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    /// FLOP per byte moved.
    pub intensity: f64,
    pub gflops: f64,
    /// Read against the tensor roof (it ran on cooperative matrices),
    /// else the f32 one.
    pub under_tensor_roof: bool,
}

/// What a file's roofline shows: the ceilings and the kernels placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Roofline {
    pub device: String,
    pub fma_gflops: f64,
    /// `peak-mma-f16`, where the file has a verified one.
    pub mma_gflops: Option<f64>,
    pub copy_gbs: f64,
    pub points: Vec<Point>,
    /// Verified kernels with no intensity to place them by (a row
    /// kernel's GB/s alone, an LLM's tokens/s).
    pub not_placed: Vec<String>,
}

impl Roofline {
    /// The roofline of `file`, or why it has none (a ceiling missing or
    /// failed, or no kernel to place).
    pub fn of(file: &ResultFile) -> Result<Roofline, String> {
        let measured = |name: &str| {
            file.results
                .iter()
                .find(|r| r.workload == name && r.status == Status::Ok)
                .and_then(WorkloadResult::rate)
        };
        let ceiling = |name: &str| {
            measured(name).ok_or(format!(
                "no roofline: {name}, one of its ceilings, has no verified figure in this file"
            ))
        };
        let fma_gflops = ceiling("peak-fma-f32")?;
        let copy_gbs = ceiling("copy-bandwidth")?;
        let mma_gflops = measured("peak-mma-f16");
        let mut points = Vec::new();
        let mut not_placed = Vec::new();
        for result in &file.results {
            if result.status != Status::Ok
                || ["peak-fma-f32", "copy-bandwidth", "peak-mma-f16"]
                    .contains(&result.workload.as_str())
            {
                continue;
            }
            let label = match result.shape() {
                "" => result.workload.clone(),
                shape => format!("{} {shape}", result.workload),
            };
            match place(result) {
                Some((intensity, gflops)) => points.push(Point {
                    label,
                    intensity,
                    gflops,
                    // A file without the tensor roof (the H200's of
                    // 2026-11-27) draws its coop kernels under the f32 one.
                    under_tensor_roof: ceiling_of(result) == Some("peak-mma-f16")
                        && mma_gflops.is_some(),
                }),
                None => not_placed.push(label),
            }
        }
        if points.is_empty() {
            return Err("no roofline: no kernel in this file reports both work and bytes".into());
        }
        Ok(Roofline {
            device: file.device.name.clone(),
            fma_gflops,
            mma_gflops,
            copy_gbs,
            points,
            not_placed,
        })
    }

    /// Where the slanted roof meets the flat f32 one, in FLOP per byte.
    pub fn ridge(&self) -> f64 {
        self.fma_gflops / self.copy_gbs
    }

    /// The flat roof `point` is read against, GFLOP/s.
    pub fn flat_roof(&self, point: &Point) -> f64 {
        match self.mma_gflops {
            Some(mma) if point.under_tensor_roof => mma,
            _ => self.fma_gflops,
        }
    }

    /// The highest flat roof drawn.
    fn top(&self) -> f64 {
        self.mma_gflops.unwrap_or(0.0).max(self.fma_gflops)
    }

    /// The chart as SVG text.
    pub fn svg(&self) -> Result<String, String> {
        let rows = self.points.len() + 2 + usize::from(self.mma_gflops.is_some());
        svg(
            (WIDTH, PLOT_HEIGHT + 20 + rows as u32 * LEGEND_ROW),
            |root| self.draw(root),
        )
    }

    fn draw<B: DrawingBackend>(
        &self,
        root: &DrawingArea<B, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<B::ErrorType>> {
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
        let ridge = self.ridge();
        let top_ridge = self.top() / self.copy_gbs;
        let fold = |f: fn(f64, f64) -> f64, start: f64, pick: fn(&Point) -> f64| {
            self.points.iter().map(pick).fold(start, f)
        };
        let x0 = fold(f64::min, ridge, |p| p.intensity) / 4.0;
        let x1 = fold(f64::max, top_ridge, |p| p.intensity) * 4.0;
        let y0 = fold(f64::min, self.fma_gflops, |p| p.gflops).min(x0 * self.copy_gbs) / 2.0;
        let y1 = self.top() * 2.0;
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!(
                    "Roofline of {}: kernels under measured ceilings",
                    self.device
                ),
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity (FLOP per byte, log)")
            .y_desc("GFLOP/s (log)")
            .x_label_formatter(&|v| log_tick(*v))
            .y_label_formatter(&|v| log_tick(*v))
            .label_style(("sans-serif", 15))
            .draw()?;
        let roof = RGBColor(80, 80, 80);
        chart.draw_series(LineSeries::new(
            [
                (x0, x0 * self.copy_gbs),
                (ridge, self.fma_gflops),
                (x1, self.fma_gflops),
            ],
            roof.stroke_width(3),
        ))?;
        // The tensor roof: the same slant, on up to its own ridge.
        let tensor_roof = RGBColor(160, 60, 160);
        if let Some(mma) = self.mma_gflops {
            chart.draw_series(LineSeries::new(
                [(ridge, self.fma_gflops), (top_ridge, mma), (x1, mma)],
                tensor_roof.stroke_width(3),
            ))?;
        }
        let mut entries = vec![
            (
                roof.to_rgba(),
                format!(
                    "flat roof: peak-fma-f32, {} (measured)",
                    si(self.fma_gflops * 1e9, "FLOP/s")
                ),
            ),
            (
                roof.to_rgba(),
                format!(
                    "slanted roof: copy-bandwidth, {} (measured); ridge at {:.1} FLOP/byte",
                    si(self.copy_gbs * 1e9, "B/s"),
                    ridge
                ),
            ),
        ];
        if let Some(mma) = self.mma_gflops {
            entries.push((
                tensor_roof.to_rgba(),
                format!(
                    "tensor roof: peak-mma-f16, {} (measured); ridge at {:.1} FLOP/byte; \
                     cooperative-matrix kernels are read against it",
                    si(mma * 1e9, "FLOP/s"),
                    mma / self.copy_gbs
                ),
            ));
        }
        let text = ("sans-serif", 14).into_font();
        for (index, point) in self.points.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()].to_rgba();
            let at = (point.intensity, point.gflops);
            chart.draw_series(std::iter::once(Circle::new(at, 6, color.filled())))?;
            // Numbers beside the points, right above and left below in
            // turn, so that kernels of one intensity stay legible.
            let offset = if index % 2 == 0 { (8, -20) } else { (-24, 4) };
            chart.draw_series(std::iter::once(
                EmptyElement::at(at)
                    + Text::new((index + 1).to_string(), offset, text.clone().color(&BLACK)),
            ))?;
            let roof_here = (point.intensity * self.copy_gbs).min(self.flat_roof(point));
            let which = if point.under_tensor_roof {
                " (tensor)"
            } else {
                ""
            };
            entries.push((
                color,
                format!(
                    "{}  {}: {} at {} FLOP/byte, {:.0}% of its roof{which}",
                    index + 1,
                    point.label,
                    si(point.gflops * 1e9, "FLOP/s"),
                    log_tick(point.intensity),
                    point.gflops / roof_here * 100.0
                ),
            ));
        }
        draw_legend(&legend, &entries)?;
        root.present()
    }
}

/// Colours that stay distinct and dark enough on white (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A log axis' tick: `10k`, `2.5M`, `0.05`; no needless decimals.
fn log_tick(value: f64) -> String {
    let (scaled, prefix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .iter()
        .find(|(scale, _)| value >= *scale)
        .map_or((value, ""), |(scale, prefix)| (value / scale, *prefix));
    let digits = if scaled >= 100.0 {
        0
    } else if scaled >= 1.0 {
        1
    } else {
        3
    };
    let text = format!("{scaled:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{prefix}")
}

/// A verified result's (FLOP per byte, GFLOP/s): from its GFLOP/s and GB/s
/// figures where it reports both (GEMV, attention), or from a GEMM's shape
/// (each of A, B and C moved once: the least traffic, so the highest
/// intensity the kernel can claim).
fn place(result: &WorkloadResult) -> Option<(f64, f64)> {
    let rate = result.rate()?;
    let also = |unit: &str| {
        result
            .also
            .iter()
            .find(|f| f.unit == unit)
            .map(|f| f.value * rate / result.throughput.value.unwrap_or(rate))
    };
    match result.throughput.unit {
        Unit::GflopPerSecond => {
            if let Some(gbs) = also("GB/s") {
                return Some((rate / gbs, rate));
            }
            let element = match result.workload.as_str() {
                "gemm-f32" => 4.0,
                "gemm-f16" => 2.0,
                _ => return None,
            };
            let dim = |k: &str| result.params.get(k).and_then(serde_json::Value::as_f64);
            let (m, n, k) = (dim("m")?, dim("n")?, dim("k")?);
            let bytes = element * (m * k + k * n + m * n);
            Some((2.0 * m * n * k / bytes, rate))
        }
        Unit::GigabytesPerSecond => {
            let gflops = also("GFLOP/s")?;
            Some((gflops / rate, gflops))
        }
        Unit::HashesPerSecond | Unit::TokensPerSecond => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(name: &str) -> ResultFile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results")
            .join(name);
        crate::results::read_file(&path).unwrap()
    }

    /// The H200's file: GEMMs near the flat roof, GEMVs on the slanted one,
    /// and the row kernels and LLMs listed as not placed.
    #[test]
    fn kernels_are_placed_by_intensity() {
        let roofline = Roofline::of(&committed("h200-vulkan-2026-11-27.json")).unwrap();
        assert!((roofline.fma_gflops - 50929.1).abs() < 0.1);
        let gemm = roofline
            .points
            .iter()
            .find(|p| p.label == "gemm-f32 4096x4096x4096")
            .unwrap();
        // 2 n^3 / (4 * 3 n^2) = n / 6.
        assert!((gemm.intensity - 4096.0 / 6.0).abs() < 1e-6);
        let gemv = roofline
            .points
            .iter()
            .find(|p| p.label == "gemv-f32 4096x4096")
            .unwrap();
        assert!((gemv.intensity - 0.5).abs() < 0.01, "{gemv:?}");
        assert!(roofline.not_placed.iter().any(|l| l.starts_with("rmsnorm")));
        let svg = roofline.svg().unwrap();
        assert!(svg.contains("Roofline of NVIDIA H200"));
        assert!(svg.contains("arithmetic intensity"));
        assert!(svg.contains("<circle"));
        let lavapipe = committed("llvmpipe-vulkan-2026-11-25-llama3-8b-q4.json");
        assert!(Roofline::of(&lavapipe).unwrap_err().contains("no roofline"));
    }

    /// With `peak-mma-f16` in the file, the tensor roof is drawn beside
    /// the f32 one and the GEMMs that ran on cooperative matrices are
    /// read against it; the rest stay under the f32 roof.
    #[test]
    fn coop_kernels_sit_under_the_tensor_roof() {
        let mut file = committed("h200-vulkan-2026-11-27.json");
        let without = Roofline::of(&file).unwrap();
        assert!(without.mma_gflops.is_none());
        assert!(without.points.iter().all(|p| !p.under_tensor_roof));
        assert!(!without.svg().unwrap().contains("tensor roof"));

        let mut mma = file
            .results
            .iter()
            .find(|r| r.workload == "peak-fma-f32")
            .unwrap()
            .clone();
        mma.workload = "peak-mma-f16".into();
        mma.throughput.value = Some(600_000.0);
        file.results.push(mma);
        let roofline = Roofline::of(&file).unwrap();
        assert_eq!(roofline.mma_gflops, Some(600_000.0));
        assert!(roofline.points.iter().all(|p| p.label != "peak-mma-f16"));
        let point = |label: &str| roofline.points.iter().find(|p| p.label == label).unwrap();
        // gemm-f16 ran on cooperative matrices in this file; gemm-f32 tiled.
        let coop = point("gemm-f16 4096x4096x4096");
        assert!(coop.under_tensor_roof);
        assert_eq!(roofline.flat_roof(coop), 600_000.0);
        let tiled = point("gemm-f32 4096x4096x4096");
        assert!(!tiled.under_tensor_roof);
        assert!((roofline.flat_roof(tiled) - 50929.1).abs() < 0.1);
        let svg = roofline.svg().unwrap();
        assert!(svg.contains("tensor roof: peak-mma-f16"), "{svg}");
        // 38.9 TFLOP/s under a 600 TFLOP/s roof.
        assert!(svg.contains("6% of its roof (tensor)"), "{svg}");
    }

    #[test]
    fn log_ticks_have_no_needless_decimals() {
        assert_eq!(log_tick(10000.0), "10k");
        assert_eq!(log_tick(2.5e6), "2.5M");
        assert_eq!(log_tick(100.0), "100");
        assert_eq!(log_tick(100_000.0), "100k");
        assert_eq!(log_tick(1.0), "1");
        assert_eq!(log_tick(0.05), "0.05");
    }
}
