//! `value --chart`: margin per MWh against the power price, one line per
//! option, breakevens marked, as SVG or PNG (plotters).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::economics::{PriceSeries, Sweep, Valuation};
use crate::{Error, Result};

/// The image formats `--chart` writes, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    Svg,
    Png,
}

pub(super) const WIDTH: u32 = 1100;

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
    // Drawn once as SVG; a PNG is that SVG rendered by resvg, whose text
    // sits on its baseline (plotters' own bitmap text raised decimal
    // points to mid-height).
    let svg = value_svg(valuation, sweep).map_err(|e| failed(&e))?;
    let bytes = match format {
        ChartFormat::Svg => svg.into_bytes(),
        ChartFormat::Png => png(&svg).map_err(|e| failed(&e))?,
    };
    Ok(crate::results::write_atomic(path, &bytes)?)
}

/// Title, x and y labels of the duration and margin charts.
type Labels = (&'static str, &'static str, &'static str);
const DURATION: Labels = (
    "Price-duration curve: hours at or above each price",
    "hours of the series, dearest first",
    "power price (USD per MWh)",
);
const MARGIN: Labels = (
    "Margin per MWh of site energy by power price",
    "power price at the meter (USD per MWh)",
    "margin (USD per MWh)",
);

/// The value chart's title and axis labels (a duration chart's title may
/// go on to name a cut spike).
pub fn value_labels(valuation: &Valuation) -> Labels {
    match valuation.inputs.price_series {
        Some(_) => DURATION,
        None => MARGIN,
    }
}

/// The value chart as SVG text: the price-duration curve over a series,
/// else margin against a flat price.
pub fn value_svg(
    valuation: &Valuation,
    sweep: Option<&Sweep>,
) -> std::result::Result<String, String> {
    svg(chart_size(valuation), |root| {
        draw_either(root, valuation, sweep)
    })
}

/// What `draw` draws on an SVG of `size`, as text.
pub(super) fn svg(
    size: (u32, u32),
    draw: impl FnOnce(
        &DrawingArea<SVGBackend, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> std::result::Result<String, String> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(&root).map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// An SVG rendered to PNG with the embedded DejaVu Sans, never a system
/// font, so the image is the same on every machine.
fn png(svg: &str) -> std::result::Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_font_data(dejavu::sans::regular().to_vec());
    fonts.set_sans_serif_family("DejaVu Sans");
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the chart has no pixels")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| e.to_string())
}

/// Text is laid out with a font (and PNGs drawn with it); DejaVu Sans is
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
        .filter_map(|o| o.at(0.0).breakeven_power_price_usd_per_mwh)
        .fold(
            valuation.inputs.power_price_usd_per_mwh.unwrap_or(50.0) * 2.0,
            f64::max,
        );
    (0.0, highest * 1.15)
}

/// The price-duration curve over a series, else margin against a flat
/// price.
fn draw_either<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    valuation: &Valuation,
    sweep: Option<&Sweep>,
) -> std::result::Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    match &valuation.inputs.price_series {
        Some(series) => draw_duration(root, valuation, series),
        None => draw(root, valuation, sweep),
    }
}

/// Points of the duration curve drawn at most: the curve is monotone, so
/// every k-th point (and the last) loses nothing visible.
const CURVE_POINTS: usize = 4000;
/// Height of a chart's plot; its legend goes below it, a row per line, so
/// that it covers nothing.
pub(super) const PLOT_HEIGHT: u32 = 560;
pub(super) const LEGEND_ROW: u32 = 24;

/// A chart's size: its plot and a legend row per line (the prices or the
/// power price, then each option).
fn chart_size(valuation: &Valuation) -> (u32, u32) {
    let lines = valuation.options.len() + 1;
    (WIDTH, PLOT_HEIGHT + 20 + lines as u32 * LEGEND_ROW)
}

/// Tick labels with the decimals their range needs, and no more.
pub(super) fn tick(range: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if range >= 20.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }
}

/// The series' prices sorted high to low against the hours they last, and
/// each option's breakeven (the price below which running pays) as a line:
/// where a line crosses the curve is how many hours that option runs (a
/// miner runs right of the crossing; AI, held to its uptime, may not stop
/// left of it).
fn draw_duration<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    valuation: &Valuation,
    series: &PriceSeries,
) -> std::result::Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
    let mut sorted: Vec<(f64, f64)> = series
        .intervals
        .iter()
        .map(|i| (i.price_usd_per_mwh, i.hours))
        .collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut curve = Vec::with_capacity(2 * sorted.len());
    let mut hours = 0.0;
    for (price, length) in &sorted {
        curve.push((hours, *price));
        hours += length;
        curve.push((hours, *price));
    }
    let step = curve.len().div_ceil(CURVE_POINTS).max(1);
    let last = *curve.last().expect("a series has intervals");
    let mut points: Vec<(f64, f64)> = curve.iter().copied().step_by(step).collect();
    points.push(last);
    // The axis spans the prices: a few hours of spikes (ERCOT clears up
    // to 5,000 USD/MWh) are cut at the 99th percentile so they do not
    // flatten the rest, and a stop price beyond the axis is named in the
    // legend instead of stretching it.
    let highest = sorted[0].0;
    let p99 = sorted[sorted.len() / 100].0;
    let bottom = last.1.min(0.0);
    let top = if p99 > bottom { p99 } else { bottom + 1.0 };
    let pad = (top - bottom) * 0.08;
    let (y0, y1) = (bottom - pad, top + pad);
    let mut caption = DURATION.0.to_string();
    if highest > y1 {
        caption.push_str(&format!(" (cut at {y1:.0}; highest {highest:.0})"));
    }
    let mut chart = ChartBuilder::on(&plot)
        .caption(caption, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..hours, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(DURATION.1)
        .y_desc(DURATION.2)
        .x_label_formatter(&tick(hours))
        .y_label_formatter(&tick(y1 - y0))
        .label_style(("sans-serif", 15))
        .draw()?;
    chart.draw_series(LineSeries::new(
        points.into_iter().map(|(x, y)| (x, y.min(y1))),
        BLACK.stroke_width(2),
    ))?;
    let node = series
        .settlement_point
        .as_ref()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    let mut entries = vec![(
        BLACK.to_rgba(),
        format!("{} prices{node}, {:.0} h", series.format.as_str(), hours),
    )];
    let economics = valuation.over_series();
    for (index, (option, e)) in valuation.options.iter().zip(&economics).enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let Some(stop) = e.running_pays_below_usd_per_mwh else {
            entries.push((
                color,
                format!(
                    "{}: no breakeven, the tenant pays the power (no line); ran {:.0} h",
                    option.name, e.hours_run
                ),
            ));
            continue;
        };
        let estimated = if option.estimated() {
            " (watts estimated)"
        } else {
            ""
        };
        let place = if stop > y1 {
            ", above the chart"
        } else if stop < y0 {
            ", below the chart"
        } else {
            chart.draw_series(LineSeries::new(
                [(0.0, stop), (hours, stop)],
                color.stroke_width(3),
            ))?;
            ""
        };
        entries.push((
            color,
            format!(
                "{}{estimated}: breakeven {stop:.2} USD/MWh{place}; ran {:.0} h",
                option.name, e.hours_run
            ),
        ));
    }
    draw_legend(&legend, &entries)?;
    root.present()
}

fn draw<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    valuation: &Valuation,
    sweep: Option<&Sweep>,
) -> std::result::Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
    let (x0, x1) = price_range(valuation, sweep);
    // Margins are straight lines in the price, so the ends bound them.
    let margins = valuation
        .options
        .iter()
        .flat_map(|o| [o.at(x0).margin_usd_per_mwh, o.at(x1).margin_usd_per_mwh]);
    let (low, high) = margins.fold((0.0f64, 0.0f64), |(l, h), m| (l.min(m), h.max(m)));
    let pad = ((high - low) * 0.08).max(1.0);
    let mut chart = ChartBuilder::on(&plot)
        .caption(MARGIN.0, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_desc(MARGIN.1)
        .y_desc(MARGIN.2)
        .x_label_formatter(&tick(x1 - x0))
        .y_label_formatter(&tick(high - low + 2.0 * pad))
        .label_style(("sans-serif", 15))
        .draw()?;
    let mut entries = Vec::new();
    chart.draw_series(LineSeries::new(
        [(x0, 0.0), (x1, 0.0)],
        BLACK.stroke_width(1),
    ))?;
    if let Some(price) = valuation.inputs.power_price_usd_per_mwh
        && (x0..=x1).contains(&price)
    {
        chart.draw_series(DashedLineSeries::new(
            [(price, low - pad), (price, high + pad)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        entries.push((
            BLACK.mix(0.5),
            format!("power price {price:.2} USD/MWh (dashed)"),
        ));
    }
    for (index, option) in valuation.options.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let breakeven = option.at(0.0).breakeven_power_price_usd_per_mwh;
        let estimated = if option.estimated() {
            " (watts estimated)"
        } else {
            ""
        };
        let label = match breakeven {
            Some(b) => format!("{}{estimated}: breakeven {b:.2} USD/MWh", option.name),
            None => format!("{}{estimated}: the price does not reach it", option.name),
        };
        chart.draw_series(LineSeries::new(
            [
                (x0, option.at(x0).margin_usd_per_mwh),
                (x1, option.at(x1).margin_usd_per_mwh),
            ],
            color.stroke_width(3),
        ))?;
        entries.push((color, label));
        if let Some(breakeven) = breakeven
            && (x0..=x1).contains(&breakeven)
        {
            chart.draw_series(std::iter::once(Circle::new(
                (breakeven, 0.0),
                6,
                color.filled(),
            )))?;
        }
    }
    draw_legend(&legend, &entries)?;
    root.present()
}

/// A legend below the plot, a row per line, so that it covers nothing.
/// Its swatches are rectangles, so that every line or circle in a chart
/// is data.
pub(super) fn draw_legend<B: DrawingBackend>(
    area: &DrawingArea<B, Shift>,
    entries: &[(RGBAColor, String)],
) -> std::result::Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    let text = ("sans-serif", 15).into_font();
    for (row, (color, label)) in entries.iter().enumerate() {
        let y = 10 + (row as u32 * LEGEND_ROW) as i32;
        area.draw(&Rectangle::new([(20, y + 6), (50, y + 10)], color.filled()))?;
        area.draw_text(label, &text.color(&BLACK), (60, y))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::economics::PriceSeries;
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

    /// Over a series: the prices sorted high to low, a spike cut from the
    /// axis and named, each option's breakeven in a legend below the plot.
    #[test]
    fn a_series_draws_its_price_duration_curve() {
        use crate::economics::prices::{Interval, PriceFormat};
        let mut v = valuation();
        v.inputs.power_price_usd_per_mwh = None;
        // 200 hours from 0 to 199 USD/MWh, and one of 5000.
        let mut intervals: Vec<Interval> = (0..200)
            .map(|p| Interval {
                hours: 1.0,
                price_usd_per_mwh: f64::from(p),
            })
            .collect();
        intervals.push(Interval {
            hours: 1.0,
            price_usd_per_mwh: 5000.0,
        });
        v.inputs.price_series = Some(PriceSeries {
            file: "prices.csv".into(),
            format: PriceFormat::ErcotDam,
            settlement_point: Some("HB_NORTH".into()),
            intervals,
        });
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("duration.svg");
        write_chart(&v, None, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("Price-duration curve"), "{}", &text[..200]);
        assert!(text.contains("highest 5000"), "the spike is named");
        assert!(text.contains("ercot-dam prices at HB_NORTH, 201 h"));
        // hashing earns 110 per MWh: it ran in the 111 hours priced 0 to 110.
        assert!(
            text.contains("hashing: breakeven 110.00 USD/MWh; ran 111 h"),
            "{text}"
        );
        // tokens' 400 is above every price but the spike's.
        assert!(text.contains("tokens: breakeven 400.00 USD/MWh, above the chart; ran 201 h"));
        assert!(text.contains("asic (watts estimated): breakeven 120.00"));
        let png = dir.path().join("duration.png");
        write_chart(&v, None, &png).unwrap();
        assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    }

    #[test]
    fn only_svg_and_png_are_drawn() {
        assert_eq!(chart_format(Path::new("a.SVG")).unwrap(), ChartFormat::Svg);
        let error = chart_format(Path::new("chart.gif")).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
