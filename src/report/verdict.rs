//! What `mwbench report` opens with, the answer a site reads it for. With
//! prices: the verdict (the best option per MW-year and its lead, each
//! GPU's headline figures, the caveats that change the answer). Without:
//! a summary of the files (devices, workloads verified and failed, the
//! fastest figure of each unit).

use std::collections::BTreeMap;

use super::html::Section;
use super::markup::{Document, Grid, si};
use super::run::workload_label;
use super::value::percent;
use crate::economics::options::{Kind, PROMPT_ONLY, batch_of, model_of};
use crate::economics::{PricedOption, ValueReport};
use crate::merge::{Group, Merged};
use crate::results::{ResultFile, Status, Unit};

/// One result file (one GPU model of a merged site file) and, where it
/// could be priced, its options priced on their own: its mining against
/// its AI, at the same prices as the whole report.
pub struct PricedFile<'a> {
    /// How the report names the file (its file name; a site file's with
    /// the device model).
    pub label: String,
    pub file: &'a ResultFile,
    pub alone: Result<ValueReport, String>,
}

/// The first section with prices: `report` is every file priced together
/// (what the value section shows), `files` each alone.
pub fn verdict_section(report: &ValueReport, files: &[PricedFile]) -> Section {
    let mut section = Section::new("Verdict", "verdict");
    section.lead(&super::value::verdict_line(report));
    if let Some(line) = best_without_caution(report) {
        section.lead(&line);
    }
    let mut document = Document::default();
    document.grid(headline_grid(files));
    section.document(&document);
    for caveat in caveats(report, files) {
        section.paragraph(&caveat, true);
    }
    section.paragraph(
        "Each row prices that GPU's own options at the same prices; the value section \
         below ranks every option, with the inputs and what could not be priced.",
        false,
    );
    section
}

/// Where the best option carries a caution (prompt tokens alone, an
/// outside figure): the best option without one, which a site can act on.
fn best_without_caution(report: &ValueReport) -> Option<String> {
    let best = report
        .options
        .iter()
        .find(|o| Some(&o.name) == report.best.as_ref())?;
    best.caveat.as_ref()?;
    let clean = most(report.options.iter().filter(|o| o.caveat.is_none()))?;
    let per_year = per_mw_year(clean);
    Some(format!(
        "best without a caution: {}{}, {} USD per MW-year{}",
        clean.name,
        if clean.estimated {
            " (its watts are an estimate)"
        } else {
            ""
        },
        si(per_year, "").trim_end(),
        if per_year > 0.0 {
            ""
        } else {
            ": a loss, curtailing earns more"
        }
    ))
}

/// Per GPU: the hash rate and the AI option it earns most with, each with
/// its watts and efficiency, and where AI overtakes mining on its roof.
fn headline_grid(files: &[PricedFile]) -> Grid {
    let mut grid = Grid::new([
        "GPU",
        "mining: hash rate, watts, efficiency",
        "AI: tokens/s, watts, efficiency",
        "AI overtakes mining at",
    ]);
    for priced in files {
        let device = format!("{}\n{}", priced.file.device.name, priced.label);
        let alone = match &priced.alone {
            Ok(alone) => alone,
            Err(why) => {
                grid.row([
                    device,
                    format!("not priced: {}", short(why)),
                    "-".into(),
                    "-".into(),
                ]);
                continue;
            }
        };
        let mining = alone.options.iter().find(|o| o.kind == Kind::Mining);
        let ai = best_ai(alone);
        // Against the best mining option priced, this GPU's own or an ASIC.
        let overtakes = match (&alone.best_mining, ai) {
            (Some(_), Some(ai)) if ai.attainable.is_some() => overtaking_cell(alone),
            (_, Some(ai)) if ai.roof_note.is_some() => ai.roof_note.clone().unwrap_or_default(),
            _ => "-".into(),
        };
        grid.row([
            device,
            mining.map_or_else(|| unpriced(alone, Kind::Mining), option_cell),
            ai.map_or_else(|| unpriced(alone, Kind::Ai), option_cell),
            overtakes,
        ]);
    }
    grid
}

/// The AI option that earns most: one without a caution if there is one,
/// else one that is not prompt tokens alone (an outside figure of output
/// tokens), else any: prompt tokens alone overstate serving most.
fn best_ai(report: &ValueReport) -> Option<&PricedOption> {
    let ai = || report.options.iter().filter(|o| o.kind == Kind::Ai);
    let prompt_only = |o: &PricedOption| o.caveat.as_ref().is_some_and(|c| c.contains(PROMPT_ONLY));
    most(ai().filter(|o| o.caveat.is_none()))
        .or_else(|| most(ai().filter(|o| !prompt_only(o))))
        .or_else(|| most(ai()))
}

fn most<'a>(options: impl Iterator<Item = &'a PricedOption>) -> Option<&'a PricedOption> {
    options.max_by(|a, b| per_mw_year(a).total_cmp(&per_mw_year(b)))
}

fn per_mw_year(option: &PricedOption) -> f64 {
    option
        .economics
        .as_ref()
        .map(|e| e.usd_per_mw_year)
        .or(option.series.as_ref().map(|s| s.usd_per_mw_year))
        .unwrap_or(f64::NEG_INFINITY)
}

/// An option's rate, watts (and where they came from) and efficiency.
fn option_cell(option: &PricedOption) -> String {
    let watts = format!(
        "{} ({})",
        si(option.watts, "W"),
        super::sections::provenance_words(option.watts_provenance)
    );
    let mut lines: Vec<String> = rate(option).into_iter().collect();
    lines.push(watts);
    lines.extend(option.efficiency.iter().map(|f| si(f.value, &f.unit)));
    lines.push(what(option));
    lines.join("\n")
}

/// The rate an option sells, from its efficiency and watts (the model
/// prices efficiency; the rate is what a site engineer recognises).
fn rate(option: &PricedOption) -> Option<String> {
    option
        .efficiency
        .iter()
        .find_map(|f| match f.unit.as_str() {
            "J/TH" if f.value > 0.0 => Some(si(option.watts / f.value * 1e12, "H/s")),
            "tokens/J" => Some(si(f.value * option.watts, "tokens/s")),
            _ => None,
        })
}

/// The option's workload and shape: its name less the device it ran on.
fn what(option: &PricedOption) -> String {
    let name = option.name.as_str();
    let what = name.rsplit_once(" on ").map_or(name, |(what, _)| what);
    if option.caveat.is_some() {
        format!("{what} (see its caution)")
    } else {
        what.to_string()
    }
}

/// Why a kind has no option for this file: the first reason it could not
/// be priced, or that it has no such result.
fn unpriced(report: &ValueReport, kind: Kind) -> String {
    report
        .unpriceable
        .iter()
        .find(|u| u.kind == kind)
        .map_or("-".into(), |u| format!("not priced: {}", short(&u.reason)))
}

/// A reason up to its first parenthesis: the table's cell stays a line or
/// two, and the value section below gives the reason whole.
fn short(reason: &str) -> &str {
    reason.split_once(" (").map_or(reason, |(start, _)| start)
}

/// From what fraction of its roof this GPU's AI earns as much as the best
/// mining option, and where it was measured.
fn overtaking_cell(report: &ValueReport) -> String {
    let mining = report.best_mining.as_deref().unwrap_or("mining");
    let Some(fraction) = report.overtakes_best_mining_at_roof_fraction else {
        return format!("never (not even far past its roof) against {mining}");
    };
    let measured = report
        .overtaking_measured_roof_fraction
        .map(|m| format!("; measured at {}", percent(m)))
        .unwrap_or_default();
    let past = if fraction > 1.0 {
        " (past its roof: no serving stack gets there)"
    } else {
        ""
    };
    format!(
        "{} of its roof{past}{measured}\nagainst {mining}",
        percent(fraction)
    )
}

/// What changes the answer: the best option's own caution first, then
/// estimated watts, cautions, decode measured at batch 1 alone, and the
/// files' notes (runs stopped early).
fn caveats(report: &ValueReport, files: &[PricedFile]) -> Vec<String> {
    let mut caveats = Vec::new();
    let best = report
        .best
        .as_ref()
        .and_then(|name| report.options.iter().find(|o| &o.name == name));
    if let Some(best) = best {
        if let Some(caveat) = &best.caveat {
            caveats.push(format!("caution, the best option: {}: {caveat}", best.name));
        }
        if best.estimated {
            caveats.push(format!(
                "caution, the best option's watts are an ESTIMATE ({}), not a measurement: {}",
                best.watts_source, best.name
            ));
        }
    }
    let others = || {
        report
            .options
            .iter()
            .filter(move |o| best.is_none_or(|b| b.name != o.name))
    };
    let estimated: Vec<&str> = others()
        .filter(|o| o.estimated)
        .map(|o| o.name.as_str())
        .collect();
    if !estimated.is_empty() {
        caveats.push(format!(
            "watts are an ESTIMATE, not a measurement, for: {}",
            estimated.join("; ")
        ));
    }
    // One line per caution, naming every option it applies to.
    let mut cautions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for option in others() {
        if let Some(caveat) = &option.caveat {
            cautions.entry(caveat).or_default().push(&option.name);
        }
    }
    for (caveat, names) in cautions {
        caveats.push(format!("caution: {}: {caveat}", names.join("; ")));
    }
    // Only where the decode was priced: a file with no watts says so in
    // its row already.
    let decode_priced = |priced: &&PricedFile| {
        priced.alone.as_ref().is_ok_and(|alone| {
            alone
                .options
                .iter()
                .any(|o| o.kind == Kind::Ai && o.name.starts_with("llm-decode"))
        })
    };
    for priced in files.iter().filter(decode_priced) {
        for model in batch_one_alone(priced.file) {
            caveats.push(format!(
                "{model} on {} ({}) ran at batch 1 alone (a file from before batches, or \
                 --batch 1): servers batch many sequences, so its tokens/s and value \
                 understate serving; run it again with the default --batch",
                priced.file.device.name, priced.label
            ));
        }
    }
    caveats.extend(report.notes.iter().map(|n| format!("note: {n}")));
    caveats
}

/// The decode models of `file` measured at batch 1 and no other batch.
fn batch_one_alone(file: &ResultFile) -> Vec<String> {
    let mut batches: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for result in &file.results {
        if !result.workload.starts_with("llm-decode") || result.status != Status::Ok {
            continue;
        }
        batches
            .entry(model_of(result))
            .or_default()
            .push(batch_of(result));
    }
    batches
        .into_iter()
        .filter(|(_, b)| b.iter().all(|&b| b == 1))
        .map(|(model, _)| model)
        .collect()
}

/// The first section without prices: per result file its device and
/// what verified or failed, per device model of a merged site file the
/// same over its members, then the fastest verified figure of each unit.
pub fn summary_section(files: &[(String, &ResultFile)], sites: &[(String, &Merged)]) -> Section {
    let mut section = Section::new("Summary", "summary");
    let mut grid = Grid::new(["file", "device", "verified", "failed", "unsupported"]);
    let mut fastest = Fastest::default();
    for (label, file) in files {
        let named = |status: Status| {
            listed(
                file.results
                    .iter()
                    .filter(|r| r.status == status)
                    .map(workload_label)
                    .collect(),
            )
        };
        let verified = file
            .results
            .iter()
            .filter(|r| r.status == Status::Ok && r.verified)
            .count();
        grid.row([
            label.clone(),
            format!(
                "{} [{}, {}]\non {}",
                file.device.name,
                file.device.backend,
                file.device.device_type,
                file.machine.hostname
            ),
            format!("{verified} of {}", file.results.len()),
            named(Status::Failed),
            named(Status::Unsupported),
        ]);
        for result in file.results.iter().filter(|r| r.verified) {
            if let Some(rate) = result.rate() {
                fastest.offer(
                    result.throughput.unit,
                    rate,
                    workload_label(result),
                    format!("{} ({label})", file.device.name),
                );
            }
        }
    }
    for (label, merged) in sites {
        let mut devices: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
        for group in &merged.groups {
            devices.entry(&group.device).or_default().push(group);
        }
        for (device, groups) in devices {
            // Members' results: verified ones are counted, the others listed.
            let named = |statuses: &[&str]| {
                listed(
                    groups
                        .iter()
                        .flat_map(|g| {
                            g.failed
                                .iter()
                                .filter(|f| statuses.contains(&f.status.as_str()))
                                .map(move |f| format!("{} on {}", group_name(g), f.host))
                        })
                        .collect(),
                )
            };
            let verified: usize = groups.iter().map(|g| g.count).sum();
            let all = verified + groups.iter().map(|g| g.failed.len()).sum::<usize>();
            grid.row([
                label.clone(),
                format!("{device}\nsite of {} hosts", merged.hosts.len()),
                format!("{verified} of {all} members' results"),
                named(&["failed", "unverified"]),
                named(&["unsupported"]),
            ]);
            for group in groups.iter().filter(|g| g.count > 0) {
                if let (Some(unit), Some(median)) = (Unit::parse(&group.unit), group.median) {
                    fastest.offer(
                        unit,
                        median,
                        group_name(group),
                        format!("{device}, median of its members ({label})"),
                    );
                }
            }
        }
    }
    section.document(&{
        let mut document = Document::default();
        document.grid(grid);
        document
    });
    for line in fastest.lines() {
        section.paragraph(&line, false);
    }
    section.paragraph(
        "Give the value flags (--power-price, --hashprice, --token-price ...) or --site \
         for the verdict: which use of a MW earns most.",
        false,
    );
    section
}

/// The fastest verified figure of each unit, and where it ran.
#[derive(Default)]
struct Fastest(BTreeMap<&'static str, (f64, String)>);

impl Fastest {
    /// `what` ran at `rate` on `place`: kept if the fastest of its unit.
    fn offer(&mut self, unit: Unit, rate: f64, what: String, place: String) {
        let best = self.0.get(unit.as_str());
        if best.is_none_or(|(fastest, _)| rate > *fastest) {
            let text = format!("{what}: {} on {place}", si(rate, unit.as_str()));
            self.0.insert(unit.as_str(), (rate, text));
        }
    }

    /// In the order of `Unit::ALL`: hashes first, as the decision reads.
    fn lines(&self) -> Vec<String> {
        Unit::ALL
            .iter()
            .filter_map(|unit| {
                let (_, text) = self.0.get(unit.as_str())?;
                Some(format!("fastest in {}: {text}", unit.as_str()))
            })
            .collect()
    }
}

/// `N: a, b, c`, or `-` for none.
fn listed(names: Vec<String>) -> String {
    if names.is_empty() {
        "-".to_string()
    } else {
        format!("{}: {}", names.len(), names.join(", "))
    }
}

fn group_name(group: &Group) -> String {
    if group.shape.is_empty() {
        group.workload.clone()
    } else {
        format!("{} {}", group.workload, group.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{file, result, valuation};
    use crate::results::{Figure, Provenance};

    fn decode(batch: u64) -> crate::results::WorkloadResult {
        let mut decode = result(
            "llm-decode",
            Unit::TokensPerSecond,
            50.0,
            Some((300.0, Provenance::Sensor)),
        );
        decode.verified = true;
        decode.params.insert(
            "shape".into(),
            format!("tiny f16 context 100 batch {batch}").into(),
        );
        decode.params.insert("batch".into(), batch.into());
        decode
    }

    #[test]
    fn the_verdict_leads_with_the_best_and_gives_each_gpus_figures() {
        let mut valuation = valuation();
        valuation.options[0].efficiency = vec![Figure {
            value: 50_000.0,
            unit: "J/TH".into(),
        }];
        valuation.options[1].efficiency = vec![Figure {
            value: 0.25,
            unit: "tokens/J".into(),
        }];
        valuation.options[1].name = "llm-decode tiny f16 context 100 at batch 1 on GPU".into();
        let report = valuation.report(None, vec!["a run stopped early".into()]);
        let (_, gpu) = file(vec![decode(1)]);
        let priced = [PricedFile {
            label: "node-gpu.json".into(),
            file: &gpu,
            alone: Ok(report.clone()),
        }];
        let section = verdict_section(&report, &priced);
        assert_eq!(section.id, "verdict");
        let body = &section.body;
        assert!(
            body.starts_with("<p class=\"lead\">best at 50.00 USD/MWh: llm-decode"),
            "{body}"
        );
        assert!(
            !body.contains("best without a caution"),
            "the best has none"
        );
        // 1 kW at 50 kJ/TH is 20 GH/s; 0.25 tokens/J at 1 kW 250 tokens/s.
        assert!(
            body.contains("20.0 GH/s<br>1.00 kW (measured by a sensor)"),
            "{body}"
        );
        assert!(body.contains("250 tokens/s"), "{body}");
        assert!(
            body.contains("ESTIMATE, not a measurement, for: asic"),
            "{body}"
        );
        assert!(
            body.contains("llm-decode tiny f16 context 100 on GPU"),
            "batch 1 alone"
        );
        assert!(body.contains("note: a run stopped early"), "{body}");
        // The lines that change the answer are marked as such.
        assert!(
            body.contains("<p class=\"caveat\">watts are an ESTIMATE"),
            "{body}"
        );
    }

    #[test]
    fn a_best_option_with_a_caution_is_followed_by_the_best_without() {
        let mut valuation = valuation();
        valuation.options[1].caveat = Some("prompt tokens alone".into());
        let report = valuation.report(None, Vec::new());
        let (_, gpu) = file(vec![decode(1), decode(16)]);
        let priced = [PricedFile {
            label: "node-gpu.json".into(),
            file: &gpu,
            alone: Err("no hashprice (give --hashprice)".into()),
        }];
        let body = verdict_section(&report, &priced).body;
        assert!(
            body.contains("caution, the best option: tokens: prompt tokens alone"),
            "{body}"
        );
        assert!(
            body.contains("best without a caution: hashing, 438 k USD per MW-year"),
            "{body}"
        );
        assert!(
            body.contains("not priced: no hashprice</td>"),
            "the reason, shortened: {body}"
        );
        assert!(
            !body.contains("batch 1 alone"),
            "a batch sweep is not batch 1 alone"
        );
    }

    #[test]
    fn outside_output_tokens_head_the_ai_column_before_prompt_tokens() {
        let mut valuation = valuation();
        valuation.options[1].caveat = Some(PROMPT_ONLY.into());
        let mut outside = valuation.options[1].clone();
        outside.name = "vllm output tokens".into();
        outside.revenue_usd_per_mwh = 200.0;
        outside.caveat = Some("an outside command's figure".into());
        valuation.options.push(outside);
        let report = valuation.report(None, Vec::new());
        assert_eq!(best_ai(&report).unwrap().name, "vllm output tokens");
        // The best option is prompt tokens; the best without a caution
        // (hashing, 110 - 50 - 10 USD/MWh) is said, and a loss said so.
        assert!(
            best_without_caution(&report)
                .unwrap()
                .starts_with("best without a caution: hashing")
        );
        valuation.options[0].revenue_usd_per_mwh = 10.0;
        valuation.options[2].revenue_usd_per_mwh = 10.0;
        let report = valuation.report(None, Vec::new());
        let line = best_without_caution(&report).unwrap();
        assert!(line.ends_with("a loss, curtailing earns more"), "{line}");
    }

    #[test]
    fn without_prices_the_summary_counts_what_verified_and_the_fastest() {
        let mut hashes = result(
            "sha256d",
            Unit::HashesPerSecond,
            13.6e6,
            Some((100.0, Provenance::User)),
        );
        hashes.verified = true;
        let mut slower = hashes.clone();
        slower.throughput.value = Some(1e6);
        let failed = crate::results::WorkloadResult::without_figure(
            "gemm-f32",
            Status::Failed,
            Unit::GflopPerSecond,
            "wrong at [3, 4]".into(),
            hashes.power.clone(),
        );
        let (_, a) = file(vec![hashes, failed]);
        let (_, b) = file(vec![slower]);
        let section = summary_section(&[("a.json".into(), &a), ("b.json".into(), &b)], &[]);
        assert_eq!(section.id, "summary");
        let body = &section.body;
        assert!(
            body.contains("<td>1 of 2</td><td>1: gemm-f32</td>"),
            "{body}"
        );
        assert!(
            body.contains("fastest in H/s: sha256d: 13.6 MH/s on GPU (a.json)"),
            "{body}"
        );
        assert!(
            !body.contains("fastest in GFLOP/s"),
            "a failed kernel has no figure"
        );
    }
}
