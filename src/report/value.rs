//! What `mwbench value` prints: the options at the power price, the winner
//! and by how much, what could not be priced, and the sweep if asked for.

use super::markup::{Document, Grid, si, usd};
use crate::economics::model::{HOURS_PER_YEAR, usd_per_mw_year};
use crate::economics::options::Kind;
use crate::economics::roof::Bound;
use crate::economics::{Attainable, NEVER_BEYOND_ROOF, PricedOption, ValueReport};
use mwbench_results::shown;

pub fn value_document(report: &ValueReport) -> Document {
    let Some(price) = report.power_price_usd_per_mwh else {
        return series_document(report);
    };
    let mut document = Document::default();
    let mut heading = format!("Value per MWh of site energy at {} USD/MWh", usd(price));
    heading.push_str(&prices_and_pue(report));
    document.line(heading);
    let mut grid = Grid::new([
        "#",
        "option",
        "kind",
        "efficiency",
        "revenue",
        "power",
        "capex",
        "margin",
        "USD per MW-year",
        "breakeven",
    ]);
    for (index, option) in report.options.iter().enumerate() {
        let Some(e) = &option.economics else {
            continue;
        };
        grid.row([
            (index + 1).to_string(),
            name_cell(option),
            option.kind.as_str().to_string(),
            efficiency_cell(option),
            usd(e.revenue_usd_per_mwh),
            usd(e.power_cost_usd_per_mwh),
            usd(e.capex_usd_per_mwh),
            usd(e.margin_usd_per_mwh),
            si(e.usd_per_mw_year, ""),
            e.breakeven_power_price_usd_per_mwh
                .map_or("tenant pays".into(), usd),
        ]);
        if let Some(a) = &option.attainable {
            grid.row([
                String::new(),
                roof_cell(option, a),
                option.kind.as_str().to_string(),
                si(a.tokens_per_s / a.watts, "tokens/J"),
                usd(a.revenue_usd_per_mwh),
                usd(e.power_cost_usd_per_mwh),
                usd(e.capex_usd_per_mwh),
                a.margin_usd_per_mwh.map_or("-".into(), usd),
                si(a.usd_per_mw_year, ""),
                usd(a.revenue_usd_per_mwh - e.capex_usd_per_mwh),
            ]);
        }
    }
    if !report.options.is_empty() {
        document.grid(grid);
        document.line(if report.options.iter().any(|o| o.attainable.is_some()) {
            ROOF_LEGEND_FLAT
        } else {
            "(USD per MWh of site energy)"
        });
    }
    document.line(verdict(report));
    unpriceable_and_notes(report, &mut document);
    if let Some(sweep) = &report.sweep {
        document.line("Margin per MWh of site energy by power price (#: the options above):");
        let mut header = vec!["USD/MWh".to_string()];
        header.extend((1..=report.options.len()).map(|i| format!("#{i}")));
        header.push("best".into());
        let mut grid = Grid::new(header);
        for row in sweep {
            let mut cells = vec![usd(row.power_price_usd_per_mwh)];
            cells.extend(row.margins_usd_per_mwh.iter().map(|m| usd(*m)));
            cells.push(match &row.best {
                Some(best) if row.best_pays => best.clone(),
                Some(_) => "none pays".into(),
                None => "-".into(),
            });
            grid.row(cells);
        }
        document.grid(grid);
    }
    document
}

/// The hashprice and PUEs a valuation used, for its heading.
fn prices_and_pue(report: &ValueReport) -> String {
    let mut text = String::new();
    if let (Some(hashprice), Some(from)) = (report.hashprice_usd_per_ph_day, &report.hashprice_from)
    {
        text.push_str(&format!(
            "; hashprice {hashprice:.2} USD per PH/s per day ({from})"
        ));
    }
    text.push_str(&format!(
        "; PUE {} mining, {} AI",
        report.pue_mining, report.pue_ai
    ));
    text
}

fn name_cell(option: &PricedOption) -> String {
    let mut name = option.name.clone();
    if option.estimated {
        name.push_str("\n(watts estimated)");
    }
    if option.caveat.is_some() {
        name.push_str("\n(caution below)");
    }
    name
}

/// What the table says under a row of `value`: its second line.
const ROOF_LEGEND_FLAT: &str = "(USD per MWh of site energy; \"at the roof\": the same device at \
                                the ceilings its file measured, at the option's measured watts)";

/// The second line of an AI option with a roof: what the device reaches
/// there, and where the measurement stands.
fn roof_cell(option: &PricedOption, a: &Attainable) -> String {
    let fraction = option
        .roof_fraction
        .map(|f| format!("\nmeasured: {} of the roof at its batch", percent(f)))
        .unwrap_or_default();
    format!(
        "at the roof ({}-bound, {}): {} at batch {}, {:.1} ms/token{fraction}",
        a.bound.as_str(),
        match a.bound {
            Bound::Memory => "copy-bandwidth",
            Bound::Compute => a.compute_roof.as_str(),
        },
        si(a.tokens_per_s, "tokens/s"),
        a.batch,
        a.ms_per_token,
    )
}

/// The verdict's clause on AI at its roof: from what fraction of it AI
/// earns as much as the best mining option.
fn overtaking(report: &ValueReport) -> Option<String> {
    let mining = report.best_mining.as_ref()?;
    let ai = report
        .options
        .iter()
        .find(|o| o.attainable.is_some() && o.caveat.is_none())?;
    let Some(fraction) = report.overtakes_best_mining_at_roof_fraction else {
        return Some(format!(
            "; AI ({}) does not overtake {mining} even at {NEVER_BEYOND_ROOF:.0}x its roof",
            ai.name,
        ));
    };
    let who = report.overtaking_option.as_deref().unwrap_or_default();
    let measured = report
        .overtaking_measured_roof_fraction
        .map(|m| format!(", measured at {} of it", percent(m)))
        .unwrap_or_default();
    Some(if fraction <= 1.0 {
        format!(
            "; AI overtakes {mining} from {} of its roof ({who}{measured})",
            percent(fraction)
        )
    } else {
        format!(
            "; AI overtakes {mining} only past its roof, at {} of it ({who}{measured}): \
             no serving stack gets there on this device",
            percent(fraction)
        )
    })
}

/// A fraction as a percentage, a decimal kept below 10%: 2.7% and 3.4%
/// are different answers, 27% and 27.4% hardly; below 0.1% only that
/// (never a "0.0%" that reads as none).
pub(super) fn percent(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if percent > 0.0 && percent < 0.05 {
        "under 0.1%".into()
    } else if percent < 10.0 {
        format!("{percent:.1}%")
    } else {
        format!("{percent:.0}%")
    }
}

fn efficiency_cell(option: &PricedOption) -> String {
    option
        .efficiency
        .iter()
        .map(|f| si(f.value, &f.unit))
        .collect::<Vec<_>>()
        .join("\n")
}

fn unpriceable_and_notes(report: &ValueReport, document: &mut Document) {
    let against: Vec<String> = report
        .options
        .iter()
        .enumerate()
        .filter_map(|(index, o)| {
            let difference = o.vs_colocation_usd_per_mw_year?;
            let sign = if difference >= 0.0 { "+" } else { "" };
            Some(format!("#{} {sign}{}", index + 1, amount(difference)))
        })
        .collect();
    if !against.is_empty() {
        document.line(format!(
            "against the colocation lease, USD per MW-year: {}",
            against.join(", ")
        ));
    }
    for (index, option) in report.options.iter().enumerate() {
        if let Some(caveat) = &option.caveat {
            document.line(format!("caution: #{}: {caveat}", index + 1));
        }
        if let Some(note) = &option.roof_note {
            document.line(format!("#{}: {note}", index + 1));
        }
        if let Some(a) = &option.attainable {
            document.line(format!(
                "#{} at the roof: {}; {}",
                index + 1,
                a.batch_basis,
                a.assumption
            ));
        }
    }
    for u in &report.unpriceable {
        document.line(format!("unpriceable: {}: {}", u.name, u.reason));
    }
    for note in &report.notes {
        document.line(format!("note: {note}"));
    }
}

/// Over a price series: what one MW of site capacity earns with each
/// option, when it ran, and the best.
fn series_document(report: &ValueReport) -> Document {
    let mut document = Document::default();
    let Some(series) = &report.price_series else {
        return document;
    };
    let node = series
        .settlement_point
        .as_ref()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    let mut heading = format!(
        "Value per MW of site capacity over {} ({}{node}): {} intervals, {} h, prices {} to {} \
         (mean {}) USD/MWh",
        series.file,
        series.format.as_str(),
        series.intervals,
        amount(series.hours),
        usd(series.min),
        usd(series.max),
        usd(series.mean_price_usd_per_mwh),
    );
    if let Some(uptime) = report.ai_uptime_percent.filter(|u| *u < 100.0) {
        heading.push_str(&format!("; AI runs at least {}% of hours", shown(uptime)));
    }
    if let Some(credit) = report.curtailment_credit_usd_per_mwh.filter(|c| *c > 0.0) {
        heading.push_str(&format!(
            "; curtailment credit {} USD per MWh not drawn",
            usd(credit)
        ));
    }
    heading.push_str(&prices_and_pue(report));
    document.line(heading);
    let mut grid = Grid::new([
        "#",
        "option",
        "kind",
        "efficiency",
        "runs",
        "hours run",
        "energy MWh",
        "price paid",
        "revenue",
        "power",
        "credits",
        "capex",
        "margin",
        "USD per MW-year",
    ]);
    for (index, option) in report.options.iter().enumerate() {
        let Some(e) = &option.series else {
            continue;
        };
        let runs = match (option.kind, e.running_pays_below_usd_per_mwh) {
            (_, None) => "always (tenant pays the power)".to_string(),
            (Kind::Mining | Kind::Asic, Some(stop)) => format!("below {}", usd(stop)),
            (_, Some(stop)) => format!("always; pays below {}", usd(stop)),
        };
        grid.row([
            (index + 1).to_string(),
            name_cell(option),
            option.kind.as_str().to_string(),
            efficiency_cell(option),
            runs,
            format!("{} ({:.1}%)", amount(e.hours_run), e.uptime_percent),
            amount(e.energy_mwh),
            e.average_price_paid_usd_per_mwh.map_or("-".into(), usd),
            amount(e.revenue_usd),
            amount(e.power_cost_usd),
            amount(e.curtailment_credit_usd),
            amount(e.capex_usd),
            amount(e.margin_usd),
            amount(e.usd_per_mw_year),
        ]);
        if let Some(a) = &option.attainable {
            let mut cells = vec![String::new(); 14];
            cells[1] = roof_cell(option, a);
            cells[2] = option.kind.as_str().to_string();
            cells[3] = si(a.tokens_per_s / a.watts, "tokens/J");
            cells[13] = amount(a.usd_per_mw_year);
            grid.row(cells);
        }
    }
    if !report.options.is_empty() {
        document.grid(grid);
        document.line(format!(
            "(USD per MW of site capacity over the series' {} h; price paid: mean USD per MWh \
             drawn; USD per MW-year: the margin scaled to 8760 h)",
            amount(series.hours)
        ));
    }
    document.line(series_verdict(report));
    unpriceable_and_notes(report, &mut document);
    document
}

/// A count or sum of money with an SI prefix (`8.06 M`, `24.0`).
fn amount(value: f64) -> String {
    si(value, "").trim_end().to_string()
}

/// Which option earns most over the series, and by how much.
fn series_verdict(report: &ValueReport) -> String {
    let (Some(best), Some(per_year)) = (&report.best, report.best_usd_per_mw_year) else {
        return "nothing could be priced".into();
    };
    let best = with_caveats(report, best);
    let mut line = if per_year > 0.0 {
        format!(
            "best over the series: {best}, {} USD per MW-year",
            amount(per_year)
        )
    } else {
        format!(
            "no option pays over the series: the smallest loss is {best}, {} USD per MW-year",
            amount(per_year)
        )
    };
    if let (Some(runner_up), Some(lead)) =
        (&report.best_runner_up, report.best_lead_usd_per_mw_year)
    {
        line.push_str(&format!(
            ", {} USD per MW-year ahead of {runner_up}",
            amount(lead)
        ));
    }
    line.extend(overtaking(report));
    line
}

/// The best option's name with what its figure leaves out, said right
/// after it (not after the runner-up's).
fn with_caveats(report: &ValueReport, best: &str) -> String {
    let mut name = best.to_string();
    if let Some(option) = report.options.iter().find(|o| o.name == best) {
        if option.estimated {
            name.push_str(" (its watts are an estimate)");
        }
        if option.caveat.is_some() {
            name.push_str(" (see its caution)");
        }
    }
    name
}

/// Which option wins at the power price or over the series, by how much,
/// and where AI overtakes mining on its roof: the line `value` ends its
/// table with and `report` opens with.
pub fn verdict_line(report: &ValueReport) -> String {
    match report.power_price_usd_per_mwh {
        Some(_) => verdict(report),
        None => series_verdict(report),
    }
}

/// Which option wins at the power price, and by how much.
fn verdict(report: &ValueReport) -> String {
    let (Some(price), Some(best), Some(margin)) = (
        report.power_price_usd_per_mwh,
        &report.best,
        report.best_margin_usd_per_mwh,
    ) else {
        return "nothing could be priced".into();
    };
    let best = with_caveats(report, best);
    let per_year = usd_per_mw_year(margin);
    let mut line = if margin > 0.0 {
        format!(
            "best at {} USD/MWh: {best}, margin {} USD/MWh ({} USD per MW-year)",
            usd(price),
            usd(margin),
            amount(per_year)
        )
    } else {
        format!(
            "no option pays at {} USD/MWh: the smallest loss is {best}, {} USD/MWh; \
             curtailing earns more",
            usd(price),
            usd(margin)
        )
    };
    if let (Some(runner_up), Some(lead)) = (&report.best_runner_up, report.best_lead_usd_per_mwh) {
        line.push_str(&format!(
            ", {} USD/MWh ({} USD per MW-year) ahead of {runner_up}",
            usd(lead),
            si(lead * HOURS_PER_YEAR, ""),
        ));
    }
    line.extend(overtaking(report));
    line
}

/// One CSV record per priced option, at the power price or over the
/// series.
pub fn value_records(report: &ValueReport) -> Grid {
    let Some(price) = report.power_price_usd_per_mwh else {
        return series_records(report);
    };
    let mut grid = Grid::new(
        OPTION_COLUMNS
            .into_iter()
            .chain([
                "power_price_usd_per_mwh",
                "revenue_usd_per_mwh",
                "power_cost_usd_per_mwh",
                "capex_usd_per_mwh",
                "margin_usd_per_mwh",
                "usd_per_mw_year",
                "breakeven_power_price_usd_per_mwh",
                "vs_colocation_usd_per_mw_year",
            ])
            .chain(ROOF_COLUMNS),
    );
    for option in &report.options {
        let Some(e) = &option.economics else {
            continue;
        };
        grid.row(
            option_cells(option)
                .into_iter()
                .chain([
                    price.to_string(),
                    e.revenue_usd_per_mwh.to_string(),
                    e.power_cost_usd_per_mwh.to_string(),
                    e.capex_usd_per_mwh.to_string(),
                    e.margin_usd_per_mwh.to_string(),
                    e.usd_per_mw_year.to_string(),
                    e.breakeven_power_price_usd_per_mwh
                        .map(|b| b.to_string())
                        .unwrap_or_default(),
                    vs_colocation(option),
                ])
                .chain(roof_cells(option)),
        );
    }
    grid
}

fn series_records(report: &ValueReport) -> Grid {
    let mut grid = Grid::new(
        OPTION_COLUMNS
            .into_iter()
            .chain([
                "revenue_usd_per_mwh",
                "hours_run",
                "uptime_percent",
                "energy_mwh",
                "average_price_paid_usd_per_mwh",
                "revenue_usd",
                "power_cost_usd",
                "curtailment_credit_usd",
                "capex_usd",
                "margin_usd",
                "usd_per_mw_year",
                "vs_colocation_usd_per_mw_year",
            ])
            .chain(ROOF_COLUMNS),
    );
    for option in &report.options {
        let Some(e) = &option.series else {
            continue;
        };
        grid.row(
            option_cells(option)
                .into_iter()
                .chain([
                    e.revenue_usd_per_mwh.to_string(),
                    e.hours_run.to_string(),
                    e.uptime_percent.to_string(),
                    e.energy_mwh.to_string(),
                    e.average_price_paid_usd_per_mwh
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    e.revenue_usd.to_string(),
                    e.power_cost_usd.to_string(),
                    e.curtailment_credit_usd.to_string(),
                    e.capex_usd.to_string(),
                    e.margin_usd.to_string(),
                    e.usd_per_mw_year.to_string(),
                    vs_colocation(option),
                ])
                .chain(roof_cells(option)),
        );
    }
    grid
}

/// The columns every record starts with: what the option is.
const OPTION_COLUMNS: [&str; 6] = [
    "option",
    "kind",
    "watts",
    "watts_provenance",
    "efficiency",
    "efficiency_unit",
];

fn option_cells(option: &PricedOption) -> [String; 6] {
    let efficiency = option.efficiency.first();
    [
        option.name.clone(),
        option.kind.as_str().to_string(),
        option.watts.to_string(),
        serde_json::to_value(option.watts_provenance)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        efficiency.map(|f| f.value.to_string()).unwrap_or_default(),
        efficiency.map(|f| f.unit.clone()).unwrap_or_default(),
    ]
}

/// The columns every record ends with: the option at its roof.
const ROOF_COLUMNS: [&str; 10] = [
    "attainable_tokens_per_s",
    "attainable_batch",
    "attainable_ms_per_token",
    "attainable_bound",
    "attainable_compute_roof",
    "attainable_revenue_usd_per_mwh",
    "attainable_margin_usd_per_mwh",
    "attainable_usd_per_mw_year",
    "roof_fraction",
    "overtakes_best_mining_at_roof_fraction",
];

fn roof_cells(option: &PricedOption) -> [String; 10] {
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let a = option.attainable.as_ref();
    [
        number(a.map(|a| a.tokens_per_s)),
        a.map(|a| a.batch.to_string()).unwrap_or_default(),
        number(a.map(|a| a.ms_per_token)),
        a.map(|a| a.bound.as_str().to_string()).unwrap_or_default(),
        a.map(|a| a.compute_roof.clone()).unwrap_or_default(),
        number(a.map(|a| a.revenue_usd_per_mwh)),
        number(a.and_then(|a| a.margin_usd_per_mwh)),
        number(a.map(|a| a.usd_per_mw_year)),
        number(option.roof_fraction),
        number(option.overtakes_best_mining_at_roof_fraction),
    ]
}

fn vs_colocation(option: &PricedOption) -> String {
    option
        .vs_colocation_usd_per_mw_year
        .map(|d| d.to_string())
        .unwrap_or_default()
}
