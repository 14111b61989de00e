//! `value --chart`: margin per MWh against the power price, one line per
//! option, breakevens marked, as SVG or PNG (plotters).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::economics::{Sweep, Valuation};
use crate::{Error, Result};

/// The image formats `--chart` writes, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    Svg,
    Png,
}

const SIZE: (u32, u32) = (1100, 650);

/// The format `path` asks for; anything but `.svg` or `.png` is a usage
/// error, caught before any work.
pub fn chart_format(path: &Path) -> Result<ChartFormat> {
    match path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .as_deref()
    {
        Some("svg") => Ok(ChartFormat::Svg),
        Some("png") => Ok(ChartFormat::Png),
        _ => Err(Error::usage(format!(
            "--chart {}: the file must end in .svg or .png",
            path.display()
        ))),
    }
}

/// Draws the chart into a temporary file beside `path` and renames it
/// over `path`: a reader never sees half a chart.
pub fn write_chart(valuation: &Valuation, sweep: Option<&Sweep>, path: &Path) -> Result<()> {
    let format = chart_format(path)?;
    let failed = |e: &dyn std::fmt::Display| Error::Io {
        action: "draw",
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let extension = match format {
        ChartFormat::Svg => ".svg",
        ChartFormat::Png => ".png",
    };
    // plotters draws into a file: a private temporary, whose bytes then go
    // where the chart belongs the way every output is written.
    let temporary = tempfile::Builder::new()
        .prefix(".mwbench-chart-")
        .suffix(extension)
        .tempfile()
        .map_err(|e| failed(&e))?;
    register_font();
    match format {
        ChartFormat::Svg => {
            let root = SVGBackend::new(temporary.path(), SIZE).into_drawing_area();
            draw(&root, valuation, sweep).map_err(|e| failed(&e))?;
        }
        ChartFormat::Png => {
            let root = BitMapBackend::new(temporary.path(), SIZE).into_drawing_area();
            draw(&root, valuation, sweep).map_err(|e| failed(&e))?;
        }
    }
    let bytes = std::fs::read(temporary.path()).map_err(|e| failed(&e))?;
    Ok(crate::results::write_atomic(path, &bytes)?)
}

/// Text is laid out (and, in PNGs, drawn) with a font; DejaVu Sans is
/// embedded so charts look the same on machines without fonts (GPU nodes,
/// CI).
fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

/// The power prices the chart spans: the sweep, else from zero to past
/// the highest breakeven and the given price.
fn price_range(valuation: &Valuation, sweep: Option<&Sweep>) -> (f64, f64) {
    if let Some(sweep) = sweep {
        return (sweep.from, sweep.to);
    }
    let highest = valuation
        .options
        .iter()
        .map(|o| o.at(0.0).breakeven_power_price_usd_per_mwh)
        .fold(valuation.inputs.power_price_usd_per_mwh * 2.0, f64::max);
    (0.0, highest * 1.15)
}

fn draw<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    valuation: &Valuation,
    sweep: Option<&Sweep>,
) -> std::result::Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    root.fill(&WHITE)?;
    let (x0, x1) = price_range(valuation, sweep);
    // Margins are straight lines in the price, so the ends bound them.
    let margins = valuation
        .options
        .iter()
        .flat_map(|o| [o.at(x0).margin_usd_per_mwh, o.at(x1).margin_usd_per_mwh]);
    let (low, high) = margins.fold((0.0f64, 0.0f64), |(l, h), m| (l.min(m), h.max(m)));
    let pad = ((high - low) * 0.08).max(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Margin per MWh of site energy by power price",
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_desc("power price at the meter (USD per MWh)")
        .y_desc("margin (USD per MWh)")
        .label_style(("sans-serif", 15))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(x0, 0.0), (x1, 0.0)],
        BLACK.stroke_width(1),
    ))?;
    let price = valuation.inputs.power_price_usd_per_mwh;
    if (x0..=x1).contains(&price) {
        chart
            .draw_series(DashedLineSeries::new(
                [(price, low - pad), (price, high + pad)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))?
            .label(format!("power price {price:.2} USD/MWh"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    }
    for (index, option) in valuation.options.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let breakeven = option.at(0.0).breakeven_power_price_usd_per_mwh;
        let estimated = if option.estimated() {
            " (watts estimated)"
        } else {
            ""
        };
        chart
            .draw_series(LineSeries::new(
                [
                    (x0, option.at(x0).margin_usd_per_mwh),
                    (x1, option.at(x1).margin_usd_per_mwh),
                ],
                color.stroke_width(3),
            ))?
            .label(format!(
                "{}{estimated}: breakeven {breakeven:.2} USD/MWh",
                option.name
            ))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
        if (x0..=x1).contains(&breakeven) {
            chart.draw_series(std::iter::once(Circle::new(
                (breakeven, 0.0),
                6,
                color.filled(),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::valuation;

    #[test]
    fn charts_are_written_as_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let sweep: Sweep = "10:200:10".parse().unwrap();
        let svg = dir.path().join("margin.svg");
        write_chart(&valuation(), Some(&sweep), &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..40]);
        assert!(text.contains("tokens: breakeven 150.00 USD/MWh"));
        assert!(
            text.contains("asic (watts estimated)"),
            "the legend marks estimates"
        );
        let png = dir.path().join("margin.png");
        write_chart(&valuation(), None, &png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // Only the two charts: no temporary file left beside them.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn only_svg_and_png_are_drawn() {
        assert_eq!(chart_format(Path::new("a.SVG")).unwrap(), ChartFormat::Svg);
        let error = chart_format(Path::new("chart.gif")).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
