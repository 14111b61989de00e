//! The table `mwbench value` prints.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::si;
use crate::economics::{Sweep, Valuation};

/// Dollars to the cent, or in scientific notation past a billion.
fn usd(value: f64) -> String {
    if value.abs() >= 1e9 {
        format!("{value:.3e}")
    } else {
        format!("{value:.2}")
    }
}

/// The options at the power price, the winner and by how much, what could
/// not be priced, and the sweep if asked for.
pub fn value_table(valuation: &Valuation, sweep: Option<&Sweep>) -> String {
    let inputs = &valuation.inputs;
    let price = inputs.power_price_usd_per_mwh;
    let mut text = format!("Value per MWh of site energy at {} USD/MWh", usd(price));
    if let Some(h) = &inputs.hashprice {
        text.push_str(&format!(
            "; hashprice {:.2} USD per PH/s per day ({})",
            h.usd_per_ph_day, h.from
        ));
    }
    text.push_str(&format!(
        "; PUE {} mining, {} AI\n",
        inputs.pue_mining, inputs.pue_ai
    ));
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header(vec![
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
    for (index, option) in valuation.options.iter().enumerate() {
        let e = option.at(price);
        let mut name = option.name.clone();
        if option.estimated() {
            name.push_str("\n(watts estimated)");
        }
        let efficiency = option
            .efficiency
            .iter()
            .map(|f| si(f.value, &f.unit))
            .collect::<Vec<_>>()
            .join("\n");
        table.add_row(vec![
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
    if !valuation.options.is_empty() {
        text.push_str(&format!("{table}\n(USD per MWh of site energy)\n"));
    }
    text.push_str(&verdict(valuation, price));
    for u in &valuation.unpriceable {
        text.push_str(&format!("unpriceable: {}: {}\n", u.name, u.reason));
    }
    if let Some(sweep) = sweep {
        text.push_str(&sweep_table(valuation, sweep));
    }
    text
}

/// Which option wins at `price`, and by how much.
fn verdict(valuation: &Valuation, price: f64) -> String {
    let Some(best) = valuation.best_at(price) else {
        return "nothing could be priced\n".into();
    };
    let margin = best.economics.margin_usd_per_mwh;
    let mut line = if margin > 0.0 {
        format!(
            "best at {} USD/MWh: {}, margin {} USD/MWh ({} USD per MW-year)",
            usd(price),
            best.option.name,
            usd(margin),
            si(best.economics.usd_per_mw_year, "")
        )
    } else {
        format!(
            "no option pays at {} USD/MWh: the smallest loss is {}, {} USD/MWh; \
             curtailing earns more",
            usd(price),
            best.option.name,
            usd(margin)
        )
    };
    if let Some((runner_up, lead)) = best.runner_up {
        line.push_str(&format!(
            ", {} USD/MWh ({} USD per MW-year) ahead of {}",
            usd(lead),
            si(lead * crate::economics::model::HOURS_PER_YEAR, ""),
            runner_up.name
        ));
    }
    if best.option.estimated() {
        line.push_str(" (its watts are an estimate)");
    }
    line.push('\n');
    line
}

/// Margin of every option at each swept price.
fn sweep_table(valuation: &Valuation, sweep: &Sweep) -> String {
    let mut table = Table::new();
    let mut header = vec!["USD/MWh".to_string()];
    header.extend((1..=valuation.options.len()).map(|i| format!("#{i}")));
    header.push("best".into());
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    for price in sweep.prices() {
        let mut row = vec![usd(price)];
        row.extend(
            valuation
                .options
                .iter()
                .map(|o| usd(o.at(price).margin_usd_per_mwh)),
        );
        row.push(match valuation.best_at(price) {
            Some(best) if best.economics.margin_usd_per_mwh > 0.0 => best.option.name.clone(),
            Some(_) => "none pays".into(),
            None => "-".into(),
        });
        table.add_row(row);
    }
    format!("\nMargin per MWh of site energy by power price (#: the options above):\n{table}\n")
}
