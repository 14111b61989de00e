//! What `mwbench value` prints: the options at the power price, the winner
//! and by how much, what could not be priced, and the sweep if asked for.

use super::markup::{Document, Grid, si, usd};
use crate::economics::ValueReport;
use crate::economics::model::{HOURS_PER_YEAR, usd_per_mw_year};

pub fn value_document(report: &ValueReport) -> Document {
    let mut document = Document::default();
    let price = report.power_price_usd_per_mwh;
    let mut heading = format!("Value per MWh of site energy at {} USD/MWh", usd(price));
    if let (Some(hashprice), Some(from)) = (report.hashprice_usd_per_ph_day, &report.hashprice_from)
    {
        heading.push_str(&format!(
            "; hashprice {hashprice:.2} USD per PH/s per day ({from})"
        ));
    }
    heading.push_str(&format!(
        "; PUE {} mining, {} AI",
        report.pue_mining, report.pue_ai
    ));
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
        let e = &option.economics;
        let mut name = option.name.clone();
        if option.estimated {
            name.push_str("\n(watts estimated)");
        }
        let efficiency = option
            .efficiency
            .iter()
            .map(|f| si(f.value, &f.unit))
            .collect::<Vec<_>>()
            .join("\n");
        grid.row([
            (index + 1).to_string(),
            name,
            option.kind.as_str().to_string(),
            efficiency,
            usd(e.revenue_usd_per_mwh),
            usd(e.power_cost_usd_per_mwh),
            usd(e.capex_usd_per_mwh),
            usd(e.margin_usd_per_mwh),
            si(e.usd_per_mw_year, ""),
            usd(e.breakeven_power_price_usd_per_mwh),
        ]);
    }
    if !report.options.is_empty() {
        document.grid(grid);
        document.line("(USD per MWh of site energy)");
    }
    document.line(verdict(report));
    for u in &report.unpriceable {
        document.line(format!("unpriceable: {}: {}", u.name, u.reason));
    }
    for note in &report.notes {
        document.line(format!("note: {note}"));
    }
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

/// Which option wins at the power price, and by how much.
fn verdict(report: &ValueReport) -> String {
    let price = report.power_price_usd_per_mwh;
    let (Some(best), Some(margin)) = (&report.best, report.best_margin_usd_per_mwh) else {
        return "nothing could be priced".into();
    };
    let per_year = usd_per_mw_year(margin);
    let mut line = if margin > 0.0 {
        format!(
            "best at {} USD/MWh: {best}, margin {} USD/MWh ({} USD per MW-year)",
            usd(price),
            usd(margin),
            si(per_year, "")
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
    if report
        .options
        .iter()
        .any(|o| &o.name == best && o.estimated)
    {
        line.push_str(" (its watts are an estimate)");
    }
    line
}

/// One CSV record per priced option, at the power price.
pub fn value_records(report: &ValueReport) -> Grid {
    let mut grid = Grid::new([
        "option",
        "kind",
        "watts",
        "watts_provenance",
        "efficiency",
        "efficiency_unit",
        "power_price_usd_per_mwh",
        "revenue_usd_per_mwh",
        "power_cost_usd_per_mwh",
        "capex_usd_per_mwh",
        "margin_usd_per_mwh",
        "usd_per_mw_year",
        "breakeven_power_price_usd_per_mwh",
    ]);
    for option in &report.options {
        let e = &option.economics;
        let efficiency = option.efficiency.first();
        grid.row([
            option.name.clone(),
            option.kind.as_str().to_string(),
            option.watts.to_string(),
            serde_json::to_value(option.watts_provenance)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            efficiency.map(|f| f.value.to_string()).unwrap_or_default(),
            efficiency.map(|f| f.unit.clone()).unwrap_or_default(),
            report.power_price_usd_per_mwh.to_string(),
            e.revenue_usd_per_mwh.to_string(),
            e.power_cost_usd_per_mwh.to_string(),
            e.capex_usd_per_mwh.to_string(),
            e.margin_usd_per_mwh.to_string(),
            e.usd_per_mw_year.to_string(),
            e.breakeven_power_price_usd_per_mwh.to_string(),
        ]);
    }
    grid
}
