//! The chart of a sustained run (`run --sustain`): throughput, watts and
//! temperature interval by interval, stacked on one time axis, with the
//! steady figure drawn across and throttled intervals shaded.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{LEGEND_ROW, WIDTH, draw_legend, svg, tick};
use super::markup::si;
use crate::results::{SeriesPoint, WorkloadResult};

/// Height of each of the three panels.
const PANEL: u32 = 230;
/// The chart's title above the panels.
const TITLE: u32 = 50;

/// The title of `result`'s chart, as drawn (the report's test looks for it).
pub fn title(result: &WorkloadResult, device: &str) -> String {
    let shape = match result.shape() {
        "" => String::new(),
        shape => format!(" {shape}"),
    };
    format!("{}{shape} sustained on {device}", result.workload)
}

/// One panel's figure: its axis label, each interval's value, the steady
/// value to draw across, its colour, and where its axis starts.
struct Figure {
    label: String,
    value: fn(&SeriesPoint) -> Option<f64>,
    /// What the values are divided by (an SI prefix's factor).
    scale: f64,
    steady: Option<f64>,
    color: RGBColor,
    /// Throughput and watts start at zero, so that a drop looks its size;
    /// temperature starts at or below room temperature.
    floor: f64,
}

/// The chart as SVG text; `None` for a result without a series. A panel
/// per figure the series has (throughput always; watts and temperature
/// where a sensor gave them per interval).
pub fn series_svg(result: &WorkloadResult, device: &str) -> Option<Result<String, String>> {
    let summary = result.sustained.as_ref()?;
    let series = &result.series;
    // The throughput in the prefix of its steady figure: `MH/s`.
    let unit = result.throughput.unit.as_str();
    let prefixed = si(summary.steady.throughput, unit);
    let (number, scaled_unit) = prefixed.split_once(' ').unwrap_or(("", unit));
    let scale = number
        .parse::<f64>()
        .ok()
        .filter(|n| *n > 0.0)
        .map_or(1.0, |n| summary.steady.throughput / n);
    let figures = [
        Figure {
            label: format!("throughput ({scaled_unit})"),
            value: |p| Some(p.throughput),
            scale,
            steady: Some(summary.steady.throughput / scale),
            color: BLUE,
            floor: 0.0,
        },
        Figure {
            label: "power (W)".into(),
            value: |p| p.watts,
            scale: 1.0,
            steady: summary.steady.watts,
            color: RED,
            floor: 0.0,
        },
        Figure {
            label: "temperature (°C)".into(),
            value: |p| p.temperature_c,
            scale: 1.0,
            steady: None,
            color: RGBColor(200, 120, 0),
            floor: 20.0,
        },
    ];
    let (shown, missing): (Vec<Figure>, Vec<Figure>) = figures
        .into_iter()
        .partition(|f| series.iter().any(|p| (f.value)(p).is_some()));
    let watts = |w: Option<f64>| w.map_or(String::new(), |w| format!(" at {w:.1} W"));
    let mut entries = vec![
        (
            BLACK.mix(0.6),
            format!(
                "dashed: steady, the median of the last half: {}{}",
                si(summary.steady.throughput, unit),
                watts(summary.steady.watts)
            ),
        ),
        (
            BLUE.to_rgba(),
            format!(
                "first interval {}{}; {} ({} intervals of {} s)",
                si(summary.first.throughput, unit),
                watts(summary.first.watts),
                summary.change(),
                series.len(),
                summary.interval_seconds
            ),
        ),
        (
            RED.mix(0.25),
            if summary.throttled.is_empty() {
                "no throttling reported by the adapter's sensor".to_string()
            } else {
                format!("shaded: throttled ({})", summary.throttled.join(", "))
            },
        ),
    ];
    for figure in &missing {
        entries.push((
            WHITE.to_rgba(),
            format!(
                "{}: not reported per interval (no sensor, or one constant figure)",
                figure.label
            ),
        ));
    }
    let height = TITLE + shown.len() as u32 * PANEL + 20 + entries.len() as u32 * LEGEND_ROW;
    Some(svg((WIDTH, height), |root| {
        root.fill(&WHITE)?;
        let (top, rest) = root.split_vertically(TITLE);
        top.titled(&title(result, device), ("sans-serif", 24))?;
        let (panels, legend) = rest.split_vertically(shown.len() as u32 * PANEL);
        let panels = panels.split_evenly((shown.len(), 1));
        let t_end = series.last().map_or(1.0, |p| p.t);
        let throttled: Vec<(f64, f64)> = series
            .iter()
            .enumerate()
            .filter(|(_, p)| p.throttle.iter().any(|r| r != "idle"))
            .map(|(i, p)| (if i == 0 { 0.0 } else { series[i - 1].t }, p.t))
            .collect();
        for (area, figure) in panels.iter().zip(&shown) {
            panel(area, series, t_end, &throttled, figure)?;
        }
        draw_legend(&legend, &entries)?;
        root.present()
    }))
}

/// One panel: a figure of each interval against time, its steady value
/// dashed across, throttled spans shaded.
fn panel<B: DrawingBackend>(
    area: &DrawingArea<B, Shift>,
    series: &[SeriesPoint],
    t_end: f64,
    throttled: &[(f64, f64)],
    figure: &Figure,
) -> Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    let points: Vec<(f64, f64)> = series
        .iter()
        .filter_map(|p| Some((p.t, (figure.value)(p)? / figure.scale)))
        .collect();
    let (low, high) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let y0 = figure.floor.min(low - 10.0).max(0.0).min(figure.floor);
    let y1 = high * 1.1 + 1e-9;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_left(20)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..t_end, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start of the sustained run")
        .y_desc(figure.label.as_str())
        .x_label_formatter(&tick(t_end))
        .y_label_formatter(&tick(y1 - y0))
        .y_labels(6)
        .light_line_style(WHITE)
        .label_style(("sans-serif", 14))
        .draw()?;
    chart.draw_series(
        throttled
            .iter()
            .map(|(a, b)| Rectangle::new([(*a, y0), (*b, y1)], RED.mix(0.12).filled())),
    )?;
    if let Some(steady) = figure.steady {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, steady), (t_end, steady)],
            6,
            4,
            BLACK.mix(0.6).stroke_width(1),
        ))?;
    }
    let color = figure.color;
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        color.stroke_width(2),
    ))?;
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    Ok(())
}
