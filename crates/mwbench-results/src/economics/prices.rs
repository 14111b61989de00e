//! `value --price-series`: a site's power prices interval by interval, as
//! markets publish them: a plain `timestamp,price_usd_per_mwh` file, or
//! ERCOT's settlement point price reports (day-ahead hourly, real-time
//! 15-minute). Every row is checked (numbers, order, duplicates) and a bad
//! one is named by file and line: a series decides which option a site
//! runs, so a silently skipped row would move money.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::inputs::MAX_POWER_PRICE;
use crate::{Error, Result};

/// How a price file is laid out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    ValueEnum,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PriceFormat {
    /// Told by the header line.
    #[default]
    Auto,
    /// `timestamp,price_usd_per_mwh`, RFC 3339 timestamps in order.
    Plain,
    /// ERCOT's day-ahead market settlement point prices, hourly.
    ErcotDam,
    /// ERCOT's real-time settlement point prices, 15-minute.
    ErcotRtm,
}

impl PriceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceFormat::Auto => "auto",
            PriceFormat::Plain => "plain",
            PriceFormat::ErcotDam => "ercot-dam",
            PriceFormat::ErcotRtm => "ercot-rtm",
        }
    }
}

/// One interval of the series: how long it lasts and what a MWh cost in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub hours: f64,
    pub price_usd_per_mwh: f64,
}

/// A checked series of power prices, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    pub file: PathBuf,
    /// The format it was read as (never `Auto`).
    pub format: PriceFormat,
    /// The ERCOT node whose prices these are.
    pub settlement_point: Option<String>,
    pub intervals: Vec<Interval>,
}

/// What `value` reports of the series it priced with.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PriceSeriesSummary {
    pub file: String,
    pub format: PriceFormat,
    pub settlement_point: Option<String>,
    pub intervals: usize,
    pub hours: f64,
    /// Weighted by each interval's hours.
    pub mean_price_usd_per_mwh: f64,
    pub min: f64,
    pub max: f64,
}

/// The shortest interval a plain series may have: a minute (markets
/// settle in 5 or 15 minutes, or an hour).
const MIN_INTERVAL_SECONDS: f64 = 60.0;
/// A decade of 5-minute prices, and then some: more is not a price file.
const MAX_INTERVALS: usize = 2_000_000;
/// A year of ERCOT's 15-minute prices at every settlement point is
/// about 2.5 GB; a site prices one node, which is far less.
const MAX_FILE_BYTES: u64 = 1 << 30;
/// Longer than any row of a price report (ERCOT's are under 100 bytes):
/// a longer one is not a price file, and would be held whole to parse.
const MAX_LINE_BYTES: usize = 4096;
/// Settlement point names an error lists before "and N more" (ERCOT
/// publishes about a thousand).
const NAMES_LISTED: usize = 12;

impl PriceSeries {
    /// Reads and checks a price file; `settlement_point` picks the ERCOT
    /// node (needed when the file holds several).
    pub fn read(path: &Path, format: PriceFormat, settlement_point: Option<&str>) -> Result<Self> {
        let file = crate::input::open(path, MAX_FILE_BYTES, "price series")?;
        Self::parse(file, path, format, settlement_point)
    }

    /// Parses a price file's bytes; `path` names it in errors.
    pub fn parse(
        input: impl std::io::Read,
        path: &Path,
        format: PriceFormat,
        settlement_point: Option<&str>,
    ) -> Result<Self> {
        let at = |line: u64, problem: String| {
            Error::usage(format!("{}:{line}: {}", path.display(), one_line(&problem)))
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(crate::input::LineCapped::new(input, MAX_LINE_BYTES));
        let mut rows = Rows {
            records: reader.records(),
            at: &at,
            columns: 0,
        };
        let header = rows
            .next()?
            .ok_or_else(|| at(1, "empty file: no header line".into()))?;
        let names: Vec<String> = header.1.iter().map(normalize).collect();
        rows.columns = names.len();
        let format = detect(format, &names).map_err(|problem| at(header.0, problem))?;
        let columns = |wanted: &[&str]| -> Result<Vec<usize>> {
            wanted
                .iter()
                .map(|name| {
                    // `A|B`: either name (ERCOT's reports differ by year).
                    let found = name
                        .split('|')
                        .find_map(|alias| names.iter().position(|n| *n == normalize(alias)));
                    let name = name.split('|').next().unwrap_or(name);
                    found.ok_or_else(|| {
                        at(
                            header.0,
                            format!(
                                "no column '{name}' for the {} format (the header has: {})",
                                format.as_str(),
                                header.1.iter().collect::<Vec<_>>().join(", ")
                            ),
                        )
                    })
                })
                .collect()
        };
        let (intervals, settlement_point) = match format {
            PriceFormat::Plain => {
                if settlement_point.is_some() {
                    return Err(Error::usage(format!(
                        "--settlement-point picks a node of an ERCOT file; {} is a plain series",
                        path.display()
                    )));
                }
                (plain(&mut rows, &columns(&PLAIN)?)?, None)
            }
            PriceFormat::ErcotDam => {
                let (i, point) = ercot(&mut rows, &columns(&DAM)?, false, settlement_point)
                    .map_err(|e| e.in_file(path))?;
                (i, Some(point))
            }
            PriceFormat::ErcotRtm => {
                let (i, point) = ercot(&mut rows, &columns(&RTM)?, true, settlement_point)
                    .map_err(|e| e.in_file(path))?;
                (i, Some(point))
            }
            PriceFormat::Auto => unreachable!("detect() names a format"),
        };
        Ok(PriceSeries {
            file: path.to_path_buf(),
            format,
            settlement_point,
            intervals,
        })
    }

    pub fn hours(&self) -> f64 {
        self.intervals.iter().map(|i| i.hours).sum()
    }

    pub fn summary(&self) -> PriceSeriesSummary {
        let prices = self.intervals.iter().map(|i| i.price_usd_per_mwh);
        let hours = self.hours();
        let cost: f64 = self
            .intervals
            .iter()
            .map(|i| i.hours * i.price_usd_per_mwh)
            .sum();
        PriceSeriesSummary {
            file: self.file.display().to_string(),
            format: self.format,
            settlement_point: self.settlement_point.clone(),
            intervals: self.intervals.len(),
            hours,
            mean_price_usd_per_mwh: cost / hours,
            min: prices.clone().fold(f64::INFINITY, f64::min),
            max: prices.fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

const PLAIN: [&str; 2] = ["timestamp", "price_usd_per_mwh"];
const DAM: [&str; 5] = [
    "Delivery Date",
    "Hour Ending",
    "Repeated Hour Flag",
    // "Settlement Point Name" in some years' day-ahead reports.
    "Settlement Point|Settlement Point Name",
    "Settlement Point Price",
];
const RTM: [&str; 6] = [
    "Delivery Date",
    "Delivery Hour",
    "Delivery Interval",
    "Repeated Hour Flag",
    "Settlement Point Name",
    "Settlement Point Price",
];

/// Longest problem an error prints: a field may be megabytes of junk.
const PROBLEM_CHARS: usize = 300;

/// A problem as one line: the file's own text, quoted in it, may hold
/// newlines or control characters (inside a quoted CSV field).
fn one_line(problem: &str) -> String {
    let escaped = crate::printable(problem);
    match escaped.char_indices().nth(PROBLEM_CHARS) {
        Some((cut, _)) => format!("{}...", &escaped[..cut]),
        None => escaped.into_owned(),
    }
}

/// Column names are matched ignoring case and spaces (and a byte-order
/// mark, which spreadsheet exports put before the first).
fn normalize(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The format given, or the one the header names.
fn detect(format: PriceFormat, names: &[String]) -> std::result::Result<PriceFormat, String> {
    if format != PriceFormat::Auto {
        return Ok(format);
    }
    let has = |name: &str| names.iter().any(|n| *n == normalize(name));
    if has("Hour Ending") {
        Ok(PriceFormat::ErcotDam)
    } else if has("Delivery Interval") {
        Ok(PriceFormat::ErcotRtm)
    } else if has("timestamp") {
        Ok(PriceFormat::Plain)
    } else {
        Err(
            "not a price series header: expected timestamp,price_usd_per_mwh or an ERCOT \
             settlement point price report (or give --price-format)"
                .into(),
        )
    }
}

/// The file's records after the header, each with its line number.
struct Rows<'a, R: std::io::Read> {
    records: csv::StringRecordsIter<'a, R>,
    at: &'a dyn Fn(u64, String) -> Error,
    /// Fields in the header; every row must have as many.
    columns: usize,
}

impl<R: std::io::Read> Rows<'_, R> {
    fn next(&mut self) -> Result<Option<(u64, csv::StringRecord)>> {
        let Some(record) = self.records.next() else {
            return Ok(None);
        };
        let record = record.map_err(|e| {
            // An error of the reader underneath (a line over the cap) has
            // no position of its own: the line being read is the next one.
            let line = e
                .position()
                .map_or_else(|| self.records.reader().position().line() + 1, |p| p.line());
            let problem = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                _ => e.to_string(),
            };
            (self.at)(line, problem)
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if self.columns > 0 && record.len() != self.columns {
            return Err((self.at)(
                line,
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    self.columns
                ),
            ));
        }
        Ok(Some((line, record)))
    }
}

/// A price: a finite number within what any market clears; negative
/// prices are real (a surplus of wind at night).
fn price(text: &str) -> std::result::Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("price '{text}' is not a number"))?;
    if !value.is_finite() || value.abs() > MAX_POWER_PRICE {
        return Err(format!(
            "price {text} is beyond +/-{MAX_POWER_PRICE} USD/MWh, more than any market clears"
        ));
    }
    Ok(value)
}

fn too_many() -> String {
    format!("more than {MAX_INTERVALS} intervals: not one site's price series")
}

/// A plain series: each interval lasts until the next timestamp, the last
/// as long as the one before.
fn plain<R: std::io::Read>(rows: &mut Rows<R>, columns: &[usize]) -> Result<Vec<Interval>> {
    let at = rows.at;
    let mut points: Vec<(jiff::Timestamp, f64, u64)> = Vec::new();
    while let Some((line, record)) = rows.next()? {
        let time_text = &record[columns[0]];
        let time = timestamp(time_text).map_err(|p| at(line, p))?;
        let price = price(&record[columns[1]]).map_err(|p| at(line, p))?;
        if let Some(&(previous, _, previous_line)) = points.last() {
            if time == previous {
                return Err(at(
                    line,
                    format!("duplicate interval: {time_text} is also on line {previous_line}"),
                ));
            }
            if time < previous {
                return Err(at(
                    line,
                    format!("out of order: {time_text} comes before line {previous_line}'s time"),
                ));
            }
        }
        if points.len() == MAX_INTERVALS {
            return Err(at(line, too_many()));
        }
        points.push((time, price, line));
    }
    match points.len() {
        0 => return Err(at(2, "no prices after the header".into())),
        1 => {
            return Err(at(
                points[0].2,
                "one price: a plain series needs a second timestamp to tell how long an \
                 interval lasts"
                    .into(),
            ));
        }
        _ => {}
    }
    let hours = |a: jiff::Timestamp, b: jiff::Timestamp| {
        (b.as_millisecond() - a.as_millisecond()) as f64 / 3.6e6
    };
    let mut intervals = Vec::with_capacity(points.len());
    for pair in points.windows(2) {
        let interval = Interval {
            hours: hours(pair[0].0, pair[1].0),
            price_usd_per_mwh: pair[0].1,
        };
        // Markets settle in 5 minutes at the finest; an interval of
        // microseconds is a broken export, and would price a year by it.
        if interval.hours * 3600.0 < MIN_INTERVAL_SECONDS {
            return Err(at(
                pair[1].2,
                format!(
                    "{} s after line {}: an interval shorter than {MIN_INTERVAL_SECONDS} s, \
                     which no market settles",
                    crate::shown(interval.hours * 3600.0),
                    pair[0].2
                ),
            ));
        }
        intervals.push(interval);
    }
    let last_hours = intervals.last().expect("two points or more").hours;
    intervals.push(Interval {
        hours: last_hours,
        price_usd_per_mwh: points.last().expect("two points or more").1,
    });
    Ok(intervals)
}

/// An ERCOT interval's place in time: the delivery date, the hour (ending,
/// 1..24), whether it is the autumn clock change's repeated hour (which
/// comes after the first), and the 15-minute interval (0 for hourly).
type ErcotKey = (Date, u8, bool, u8);

/// What went wrong in an ERCOT file: at a line, or about the file's
/// settlement points as a whole.
enum ErcotError {
    At(Error),
    Points(String),
}

impl From<Error> for ErcotError {
    fn from(e: Error) -> Self {
        ErcotError::At(e)
    }
}

impl ErcotError {
    fn in_file(self, path: &Path) -> Error {
        match self {
            ErcotError::At(e) => e,
            ErcotError::Points(problem) => {
                Error::usage(format!("{}: {}", path.display(), one_line(&problem)))
            }
        }
    }
}

/// One settlement point's prices from an ERCOT report: `columns` as in
/// [`DAM`] or [`RTM`].
/// Whether `hour` (hour ending, Central Prevailing Time) of `date` is the
/// hour ERCOT lists twice: 01:00 to 02:00 on the first Sunday of November,
/// when US clocks go back (the rule since 2007; ERCOT's nodal market, whose
/// reports these are, began in 2010).
fn clocks_go_back(date: Date, hour: u8) -> bool {
    date.month() == 11
        && date.day() <= 7
        && date.weekday() == jiff::civil::Weekday::Sunday
        && hour == 2
}

fn ercot<R: std::io::Read>(
    rows: &mut Rows<R>,
    columns: &[usize],
    real_time: bool,
    wanted: Option<&str>,
) -> std::result::Result<(Vec<Interval>, String), ErcotError> {
    let at = rows.at;
    let (point_column, price_column) = if real_time {
        (columns[4], columns[5])
    } else {
        (columns[3], columns[4])
    };
    let mut names = BTreeSet::new();
    // Rows of the wanted point (any case), else of the first point seen.
    let mut kept: Vec<(ErcotKey, f64, u64, String)> = Vec::new();
    let mut first: Option<String> = None;
    while let Some((line, record)) = rows.next()? {
        let name = &record[point_column];
        if !names.contains(name) {
            names.insert(name.to_string());
        }
        let keep = match wanted {
            Some(wanted) => name.eq_ignore_ascii_case(wanted),
            None => first.get_or_insert_with(|| name.to_string()) == name,
        };
        if !keep {
            continue;
        }
        let date = date(&record[columns[0]]).map_err(|p| at(line, p))?;
        let hour = if real_time {
            number(&record[columns[1]], "Delivery Hour", 1..=24)
        } else {
            hour_ending(&record[columns[1]])
        }
        .map_err(|p| at(line, p))?;
        let interval = if real_time {
            number(&record[columns[2]], "Delivery Interval", 1..=4).map_err(|p| at(line, p))?
        } else {
            0
        };
        let flag_column = if real_time { columns[3] } else { columns[2] };
        let flag = &record[flag_column];
        let repeated = match flag.to_ascii_uppercase().as_str() {
            "Y" => true,
            "N" => false,
            _ => {
                return Err(at(
                    line,
                    format!("Repeated Hour Flag '{flag}' is neither Y nor N"),
                )
                .into());
            }
        };
        if repeated && !clocks_go_back(date, hour) {
            return Err(at(
                line,
                format!(
                    "Repeated Hour Flag Y on {date} hour {hour}: only hour 2 of the day the \
                     clocks go back (the first Sunday of November) repeats"
                ),
            )
            .into());
        }
        let price = price(&record[price_column]).map_err(|p| at(line, p))?;
        if kept.len() == MAX_INTERVALS {
            return Err(at(line, too_many()).into());
        }
        kept.push((
            (date, hour, repeated, interval),
            price,
            line,
            name.to_string(),
        ));
    }
    let listed = || {
        let mut list: Vec<&str> = names
            .iter()
            .take(NAMES_LISTED)
            .map(String::as_str)
            .collect();
        if names.len() > NAMES_LISTED {
            list.push("...");
        }
        format!("{} in all: {}", names.len(), list.join(", "))
    };
    let point = match wanted {
        None if names.len() > 1 => {
            return Err(ErcotError::Points(format!(
                "several settlement points ({}): pick one with --settlement-point NAME",
                listed()
            )));
        }
        None => first.ok_or_else(|| ErcotError::Points("no prices after the header".into()))?,
        Some(wanted) => {
            let matching: BTreeSet<&str> = kept.iter().map(|k| k.3.as_str()).collect();
            match matching.len() {
                0 if names.is_empty() => {
                    return Err(ErcotError::Points("no prices after the header".into()));
                }
                0 => {
                    return Err(ErcotError::Points(format!(
                        "no settlement point '{wanted}' ({})",
                        listed()
                    )));
                }
                1 => matching.into_iter().next().expect("one").to_string(),
                _ if matching.contains(wanted) => wanted.to_string(),
                _ => {
                    return Err(ErcotError::Points(format!(
                        "settlement point '{wanted}' is ambiguous: {} differ only in case",
                        matching.into_iter().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    };
    kept.retain(|k| k.3 == point);
    for pair in kept.windows(2) {
        let (previous, this) = (&pair[0], &pair[1]);
        if this.0 == previous.0 {
            return Err(at(
                this.2,
                format!("duplicate interval: the same as line {}", previous.2),
            )
            .into());
        }
        if this.0 < previous.0 {
            return Err(at(
                this.2,
                format!("out of order: before line {}'s interval", previous.2),
            )
            .into());
        }
    }
    let hours = if real_time { 0.25 } else { 1.0 };
    let intervals = kept
        .iter()
        .map(|k| Interval {
            hours,
            price_usd_per_mwh: k.1,
        })
        .collect();
    Ok((intervals, point))
}

/// The years a price can be from: power markets cleared none before, and
/// a date past the end is a typo (or year 9999, which jiff cannot hold
/// with every offset and which no site prices).
const MARKET_YEARS: std::ops::RangeInclusive<i16> = 1990..=2100;

fn in_market_years(text: &str, year: i16) -> std::result::Result<(), String> {
    if MARKET_YEARS.contains(&year) {
        Ok(())
    } else {
        Err(format!(
            "'{text}' is in year {year}, outside the {} to {} a price series can be from",
            MARKET_YEARS.start(),
            MARKET_YEARS.end()
        ))
    }
}

/// A plain series' timestamp: RFC 3339 with an offset, in
/// [`MARKET_YEARS`].
fn timestamp(text: &str) -> std::result::Result<jiff::Timestamp, String> {
    match text.parse::<jiff::Timestamp>() {
        Ok(time) => {
            in_market_years(text, time.to_zoned(jiff::tz::TimeZone::UTC).year()).map(|()| time)
        }
        // A well-formed time past what jiff holds is out of range, not
        // malformed: say so.
        Err(_) => match text.get(..4).and_then(|y| y.parse::<i16>().ok()) {
            Some(year) if text.get(4..5) == Some("-") && !MARKET_YEARS.contains(&year) => {
                Err(in_market_years(text, year).unwrap_err())
            }
            _ => Err(format!(
                "timestamp '{text}' is not RFC 3339 with an offset \
                 (2025-01-31T14:00:00-06:00 or ...Z)"
            )),
        },
    }
}

/// ERCOT's delivery dates: `MM/DD/YYYY` in its reports, `YYYY-MM-DD` in
/// its API's exports, in [`MARKET_YEARS`].
fn date(text: &str) -> std::result::Result<Date, String> {
    let date: Date = Date::strptime("%m/%d/%Y", text)
        .or_else(|_| text.parse())
        .map_err(|_| format!("Delivery Date '{text}' is not MM/DD/YYYY or YYYY-MM-DD"))?;
    in_market_years(text, date.year())
        .map(|()| date)
        .map_err(|why| format!("Delivery Date {why}"))
}

/// `Hour Ending`: `01:00` to `24:00` (or a bare hour).
fn hour_ending(text: &str) -> std::result::Result<u8, String> {
    let hour = match text.split_once(':') {
        Some((hour, "00")) => hour,
        Some(_) => return Err(format!("Hour Ending '{text}' is not on the hour (HH:00)")),
        None => text,
    };
    number(hour, "Hour Ending", 1..=24)
        .map_err(|_| format!("Hour Ending '{text}' is not 01:00 to 24:00"))
}

fn number(
    text: &str,
    column: &str,
    range: std::ops::RangeInclusive<u8>,
) -> std::result::Result<u8, String> {
    text.parse::<u8>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "{column} '{text}' is not a whole number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: PriceFormat, point: Option<&str>) -> Result<PriceSeries> {
        PriceSeries::parse(text.as_bytes(), Path::new("prices.csv"), format, point)
    }

    fn error(text: &str, point: Option<&str>) -> String {
        let error = parse(text, PriceFormat::Auto, point).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{error}");
        error.to_string()
    }

    fn prices(series: &PriceSeries) -> Vec<f64> {
        series
            .intervals
            .iter()
            .map(|i| i.price_usd_per_mwh)
            .collect()
    }

    #[test]
    fn a_plain_series_lasts_until_each_next_timestamp() {
        let series = parse(
            "timestamp,price_usd_per_mwh\n\
             2025-07-01T00:00:00-05:00,20\n\
             2025-07-01T01:00:00-05:00,-5.5\n\
             2025-07-01T01:30:00-05:00,300\n\
             2025-07-01T07:30:00Z,40\n",
            PriceFormat::Auto,
            None,
        )
        .unwrap();
        assert_eq!(series.format, PriceFormat::Plain);
        assert_eq!(prices(&series), [20.0, -5.5, 300.0, 40.0]);
        let hours: Vec<f64> = series.intervals.iter().map(|i| i.hours).collect();
        // 01:30-05:00 is 06:30Z: an hour until 07:30Z; the last lasts as
        // long as the one before.
        assert_eq!(hours, [1.0, 0.5, 1.0, 1.0]);
        let summary = series.summary();
        assert_eq!(summary.hours, 3.5);
        assert_eq!((summary.min, summary.max), (-5.5, 300.0));
        // (20 - 2.75 + 300 + 40) / 3.5
        assert!((summary.mean_price_usd_per_mwh - 357.25 / 3.5).abs() < 1e-12);
        assert_eq!(summary.settlement_point, None);
    }

    const RTM_HEADER: &str = "Delivery Date,Delivery Hour,Delivery Interval,Repeated Hour Flag,\
                              Settlement Point Name,Settlement Point Type,Settlement Point Price\n";
    const DAM_HEADER: &str = "\"Delivery Date\",\"Hour Ending\",\"Repeated Hour Flag\",\"Settlement Point\",\"Settlement Point Price\"\n";

    /// The autumn clock change in ERCOT's day-ahead report: hour ending
    /// 02:00 twice, the second flagged; 25 hours, none merged.
    #[test]
    fn the_day_ahead_autumn_day_keeps_its_repeated_hour() {
        let mut text = DAM_HEADER.to_string();
        for hour in 1..=24 {
            for point in ["HB_NORTH", "HB_WEST"] {
                let price = if point == "HB_NORTH" {
                    hour
                } else {
                    1000 + hour
                };
                text.push_str(&format!(
                    "\"11/02/2025\",\"{hour:02}:00\",\"N\",\"{point}\",\"{price}.5\"\n"
                ));
                if hour == 2 {
                    text.push_str(&format!(
                        "\"11/02/2025\",\"02:00\",\"Y\",\"{point}\",\"{}.25\"\n",
                        price
                    ));
                }
            }
        }
        let series = parse(&text, PriceFormat::Auto, Some("hb_north")).unwrap();
        assert_eq!(series.format, PriceFormat::ErcotDam);
        assert_eq!(series.settlement_point.as_deref(), Some("HB_NORTH"));
        assert_eq!(series.intervals.len(), 25);
        assert_eq!(series.hours(), 25.0);
        assert_eq!(&prices(&series)[..4], [1.5, 2.5, 2.25, 3.5]);
        // Without a node: the file has two, so the user must pick.
        let e = error(&text, None);
        assert!(
            e.contains("several settlement points (2 in all: HB_NORTH, HB_WEST)"),
            "{e}"
        );
        let e = error(&text, Some("HB_SOUTH"));
        assert!(
            e.starts_with("prices.csv: no settlement point 'HB_SOUTH' (2 in all"),
            "{e}"
        );
    }

    /// The same day in the real-time report: 15-minute intervals, the
    /// repeated hour's four after the first hour's four.
    #[test]
    fn the_real_time_autumn_day_has_100_quarter_hours() {
        let mut text = String::from(
            "Delivery Date,Delivery Hour,Delivery Interval,Repeated Hour Flag,\
             Settlement Point Name,Settlement Point Type,Settlement Point Price\n",
        );
        for hour in 1..=24 {
            for repeated in if hour == 2 { vec!["N", "Y"] } else { vec!["N"] } {
                for interval in 1..=4 {
                    let price = if repeated == "Y" {
                        -10.0
                    } else {
                        f64::from(hour)
                    };
                    text.push_str(&format!(
                        "11/02/2025,{hour},{interval},{repeated},HB_HOUSTON,HU,{price}\n"
                    ));
                }
            }
        }
        let series = parse(&text, PriceFormat::Auto, None).unwrap();
        assert_eq!(series.format, PriceFormat::ErcotRtm);
        assert_eq!(series.intervals.len(), 100);
        assert_eq!(series.hours(), 25.0);
        assert_eq!(series.summary().min, -10.0);
        assert_eq!(series.settlement_point.as_deref(), Some("HB_HOUSTON"));
    }

    #[test]
    fn day_ahead_reports_may_name_the_point_column_as_real_time_does() {
        let text = "Delivery Date,Hour Ending,Repeated Hour Flag,Settlement Point Name,\
                    Settlement Point Type,Settlement Point Price\n\
                    01/01/2025,01:00,N,HB_NORTH,HU,30\n01/01/2025,02:00,N,HB_NORTH,HU,31\n";
        let series = parse(text, PriceFormat::Auto, None).unwrap();
        assert_eq!(series.format, PriceFormat::ErcotDam);
        assert_eq!(prices(&series), [30.0, 31.0]);
    }

    #[test]
    fn column_names_ignore_case_spaces_and_a_byte_order_mark() {
        let text = "\u{feff}deliverydate, HOUR ENDING ,repeatedhourflag,settlementpoint,SettlementPointPrice\n\
                    2025-03-09,01:00,N,LZ_WEST,30\n2025-03-09,03:00,N,LZ_WEST,31\n";
        let series = parse(text, PriceFormat::Auto, None).unwrap();
        // The spring clock change has no 02:00: 23 hours that day, nothing
        // invented for the hour that did not happen.
        assert_eq!(prices(&series), [30.0, 31.0]);
    }

    #[test]
    fn bad_files_name_the_line_and_the_problem() {
        let plain = "timestamp,price_usd_per_mwh\n";
        let cases = [
            ("", "prices.csv:1: empty file"),
            ("a,b\n1,2\n", "prices.csv:1: not a price series header"),
            (plain, "prices.csv:2: no prices after the header"),
            (
                &format!("{plain}2025-01-01T00:00:00Z,5\n"),
                "prices.csv:2: one price",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,5\n2025-01-01 01:00,6\n"),
                "prices.csv:3: timestamp '2025-01-01 01:00' is not RFC 3339",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,5\n2025-01-01T01:00:00Z,abc\n"),
                "prices.csv:3: price 'abc' is not a number",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,NaN\n"),
                "prices.csv:2: price NaN is beyond",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,1e9\n"),
                "prices.csv:2: price 1e9 is beyond",
            ),
            (
                &format!("{plain}2025-01-01T01:00:00Z,5\n2025-01-01T00:00:00Z,6\n"),
                "prices.csv:3: out of order",
            ),
            (
                &format!("{plain}2025-01-01T01:00:00Z,5\n2025-01-01T02:00:00+01:00,6\n"),
                "prices.csv:3: duplicate interval",
            ),
            (
                &format!("{plain}2025-01-01T01:00:00Z,5,7\n"),
                "prices.csv:2: 3 fields where the header has 2",
            ),
            (
                "timestamp,price\n2025-01-01T01:00:00Z,5\n",
                "prices.csv:1: no column 'price_usd_per_mwh' for the plain format",
            ),
            (
                &format!(
                    "{DAM_HEADER}11/02/2025,01:00,N,HB_NORTH,5\n11/02/2025,01:00,N,HB_NORTH,6\n"
                ),
                "prices.csv:3: duplicate interval: the same as line 2",
            ),
            (
                &format!(
                    "{DAM_HEADER}11/02/2025,02:00,N,HB_NORTH,5\n11/02/2025,01:00,N,HB_NORTH,6\n"
                ),
                "prices.csv:3: out of order",
            ),
            (
                &format!(
                    "{DAM_HEADER}11/02/2025,02:00,Y,HB_NORTH,5\n11/02/2025,02:00,N,HB_NORTH,6\n"
                ),
                "prices.csv:3: out of order",
            ),
            (
                &format!("{DAM_HEADER}11/02/2025,25:00,N,HB_NORTH,5\n"),
                "prices.csv:2: Hour Ending '25:00' is not 01:00 to 24:00",
            ),
            (
                &format!("{DAM_HEADER}13/02/2025,01:00,N,HB_NORTH,5\n"),
                "prices.csv:2: Delivery Date '13/02/2025'",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,5\n2025-01-01T00:00:00.000001Z,6\n"),
                "prices.csv:3: 0 s after line 2: an interval shorter than 60 s",
            ),
            (
                &format!("{plain}2025-01-01T00:00:00Z,5\n2025-01-01T00:00:30Z,6\n"),
                "prices.csv:3: 30 s after line 2",
            ),
            (
                &format!("{plain}9999-12-31T23:00:00Z,5\n9999-12-31T23:30:00Z,6\n"),
                "prices.csv:2: '9999-12-31T23:00:00Z' is in year 9999, outside the 1990 to 2100",
            ),
            (
                &format!("{plain}2025-12-31T23:00:00Z,5\n2500-01-01T00:00:00Z,6\n"),
                "prices.csv:3: '2500-01-01T00:00:00Z' is in year 2500",
            ),
            (
                &format!("{DAM_HEADER}07/14/9999,02:00,N,HB_NORTH,5\n"),
                "prices.csv:2: Delivery Date '07/14/9999' is in year 9999",
            ),
            (
                &format!("{DAM_HEADER}07/14/2025,02:00,Y,HB_NORTH,5\n"),
                "prices.csv:2: Repeated Hour Flag Y on 2025-07-14 hour 2: only hour 2",
            ),
            (
                &format!("{DAM_HEADER}11/02/2025,03:00,Y,HB_NORTH,5\n"),
                "prices.csv:2: Repeated Hour Flag Y on 2025-11-02 hour 3",
            ),
            (
                // The second Sunday of November 2025.
                &format!("{DAM_HEADER}11/09/2025,02:00,Y,HB_NORTH,5\n"),
                "prices.csv:2: Repeated Hour Flag Y on 2025-11-09",
            ),
            (
                &format!("{RTM_HEADER}07/14/2025,2,1,Y,HB_NORTH,HU,5\n"),
                "prices.csv:2: Repeated Hour Flag Y on 2025-07-14 hour 2",
            ),
            (
                &format!(
                    "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,{}\n",
                    "1".repeat(5000)
                ),
                "prices.csv:2: a line longer than 4096 bytes",
            ),
            (
                &format!("{DAM_HEADER}11/02/2025,01:00,maybe,HB_NORTH,5\n"),
                "prices.csv:2: Repeated Hour Flag 'maybe'",
            ),
            (DAM_HEADER, "prices.csv: no prices after the header"),
            (
                "Delivery Date,Hour Ending,Settlement Point,Settlement Point Price\n",
                "prices.csv:1: no column 'Repeated Hour Flag' for the ercot-dam format",
            ),
            (
                "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,\u{0}5\n",
                "prices.csv:2: price",
            ),
        ];
        for (text, expected) in cases {
            let e = error(text, None);
            assert!(e.starts_with(expected), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        // A plain series has no nodes to pick.
        let e = error(
            "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,5\n",
            Some("X"),
        );
        assert!(
            e.contains("--settlement-point picks a node of an ERCOT file"),
            "{e}"
        );
        // A field of junk is cut short in the message, and its newline
        // escaped.
        let junk = format!("{plain}2025-01-01T00:00:00Z,\"{}\nx\"\n", "9".repeat(2_000));
        let e = error(&junk, None);
        assert!(e.len() < 400 && e.ends_with("..."), "{e}");
        let e = error(&format!("{plain}2025-01-01T00:00:00Z,\"1\n2\"\n"), None);
        assert!(e.contains("price '1\\n2' is not a number"), "{e}");
        // Invalid UTF-8 is named, not a panic.
        let bytes = b"timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,\xff\n";
        let e = PriceSeries::parse(&bytes[..], Path::new("p.csv"), PriceFormat::Auto, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.csv:2: not UTF-8"), "{e}");
    }

    #[test]
    fn a_format_given_is_not_second_guessed() {
        let text = "timestamp,price_usd_per_mwh\n2025-01-01T00:00:00Z,5\n";
        let e = parse(text, PriceFormat::ErcotRtm, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column 'Delivery Date' for the ercot-rtm format"),
            "{e}"
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Lines of each format's shape with any values in the fields.
        fn text() -> impl Strategy<Value = String> {
            let header = prop_oneof![
                Just("timestamp,price_usd_per_mwh".to_string()),
                Just(DAM.join(",")),
                Just(RTM.join(",")),
                "[a-z ,]{0,30}",
            ];
            let field = prop_oneof![
                Just("2025-11-02T01:00:00-05:00".to_string()),
                Just("2025-11-02T01:00:00Z".to_string()),
                Just("11/02/2025".to_string()),
                Just("02:00".to_string()),
                Just("Y".to_string()),
                Just("HB_NORTH".to_string()),
                "-?[0-9]{1,6}(\\.[0-9]{0,3})?",
                Just("NaN".to_string()),
                Just("1e400".to_string()),
                ".{0,8}",
            ];
            let row = proptest::collection::vec(field, 1..8).prop_map(|f| f.join(","));
            (header, proptest::collection::vec(row, 0..12)).prop_map(|(h, rows)| {
                let mut text = h;
                for row in rows {
                    text.push('\n');
                    text.push_str(&row);
                }
                text
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Any text is a series of finite prices over positive
            /// hours, or one usage error on one line: never a panic.
            #[test]
            fn any_text_is_a_series_or_one_line(text in text()) {
                match PriceSeries::parse(text.as_bytes(), Path::new("p.csv"), PriceFormat::Auto, None) {
                    Ok(series) => {
                        prop_assert!(!series.intervals.is_empty());
                        for i in &series.intervals {
                            prop_assert!(i.hours > 0.0 && i.hours.is_finite());
                            prop_assert!(i.price_usd_per_mwh.abs() <= MAX_POWER_PRICE);
                        }
                    }
                    Err(error) => {
                        prop_assert_eq!(error.exit_code(), 2);
                        prop_assert!(!error.to_string().contains('\n'));
                    }
                }
            }
        }
    }

    #[test]
    fn only_regular_files_are_read() {
        let error = PriceSeries::read(Path::new("/dev/null"), PriceFormat::Auto, None).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let missing = PriceSeries::read(Path::new("/nonexistent.csv"), PriceFormat::Auto, None);
        assert_eq!(missing.unwrap_err().exit_code(), 1);
    }
}
