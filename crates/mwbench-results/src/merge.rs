//! `mwbench merge`: many nodes' result files as one site. Results are
//! grouped by device model, workload, shape and unit; each group gives the
//! site's total and the spread of its members, and names the members
//! (GPUs) that fall behind their siblings. A failed or unverified result is
//! listed as failed, never averaged in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::economics::options::UNKNOWN_HASH_MODE;
use crate::results::{
    self, Backend, DeviceType, Machine, PowerReading, Provenance, ResultDevice, ResultFile,
    Settings, Status, Throughput, TimingMethod, Unit, WorkloadResult,
};
use crate::{Error, Result};

/// What a merged file says it is, so that `value` and `merge` itself can
/// tell it from a result file.
pub const MERGED_KIND: &str = "mwbench-merge";
/// Version 2 added a group's `watts_members`.
pub const MERGED_VERSION: u32 = 2;

/// Default: a member more than 10% below its group's median is an outlier.
pub const DEFAULT_OUTLIER_THRESHOLD_PERCENT: f64 = 10.0;

/// What `mwbench merge` reports, and what `--out` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Merged {
    /// Always [`MERGED_KIND`].
    pub kind: String,
    pub version: u32,
    pub outlier_threshold_percent: f64,
    pub groups: Vec<Group>,
    /// Every result file merged, in the order read.
    pub files: Vec<String>,
    /// Every host, sorted.
    pub hosts: Vec<String>,
    /// Files from interrupted runs, merged files skipped in directories.
    pub notes: Vec<String>,
}

/// One device model's results of one workload and shape, across the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    pub device: String,
    pub workload: String,
    /// Empty for single-shape workloads.
    pub shape: String,
    pub unit: String,
    /// Verified members: the figures below are theirs alone.
    pub count: usize,
    /// Sum of the members' medians: the site's throughput.
    pub total: Option<f64>,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub p5: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
    /// The members' watts: per-device sensors added up, a host-wide meter
    /// (RAPL, a command) counted once per host. None without watts.
    pub watts_total: Option<f64>,
    /// How many members had watts, of `count`: `value` prices a group at
    /// `watts_total` over these, never over members that had none.
    /// Absent in version 1 files, which are read as if every member had.
    #[serde(default)]
    pub watts_members: Option<usize>,
    /// The members whose watts are a host-wide meter's, counted once per
    /// host in `watts_total`.
    pub watts_shared_hosts: usize,
    /// Where the watts came from: the least sure of the members' sources
    /// (an estimate among measurements makes the total an estimate).
    pub watts_provenance: Provenance,
    /// The members' figures were reported by an outside command (`mwbench
    /// meter`), not checked by mwbench.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    pub outliers: Vec<Outlier>,
    pub failed: Vec<FailedMember>,
}

/// A member below its group's median by more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outlier {
    pub host: String,
    pub pci_bus_id: String,
    pub file: String,
    pub value: f64,
    /// Its median over the group's.
    pub ratio: f64,
}

/// A member with no verified figure, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailedMember {
    pub host: String,
    pub pci_bus_id: String,
    pub file: String,
    /// `failed`, `unsupported`, or `unverified`.
    pub status: String,
    pub check: String,
}

impl Merged {
    /// Reads a merged file written by `merge --out`; `None` when the text is
    /// not one (a result file, say).
    pub fn from_json(text: &str) -> Option<std::result::Result<Merged, String>> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        if value.get("kind")?.as_str()? != MERGED_KIND {
            return None;
        }
        Some(match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v > u64::from(MERGED_VERSION) => Err(format!(
                "a merged file of version {v}, newer than this build's {MERGED_VERSION}"
            )),
            _ => serde_json::from_value::<Merged>(value)
                .map_err(|e| {
                    let e = results::at_position::<Merged>(text, e);
                    format!("a bad merged file: {e}")
                })
                .and_then(|merged| merged.check().map(|()| merged)),
        })
    }

    /// A merged file comes from outside too (edited, truncated, another
    /// tool's): it is held to a result file's limits, with the same
    /// checks (a unit's plausible range, its workload's unit, watts per
    /// member), and its figures to agree with each other and with the
    /// files it lists.
    fn check(&self) -> std::result::Result<(), String> {
        let threshold = self.outlier_threshold_percent;
        if !(threshold.is_finite() && (0.0..=100.0).contains(&threshold)) {
            return Err(format!(
                "a bad merged file: outlier_threshold_percent is {}, not 0 to 100",
                crate::shown(threshold)
            ));
        }
        // Each file is one node's adapter, listed once; each host is one
        // or more of them.
        let mut files = BTreeSet::new();
        if let Some(repeated) = self.files.iter().find(|f| !files.insert(f.as_str())) {
            return Err(format!(
                "a bad merged file: files lists {repeated} more than once"
            ));
        }
        let mut hosts = BTreeSet::new();
        if let Some(repeated) = self.hosts.iter().find(|h| !hosts.insert(h.as_str())) {
            return Err(format!(
                "a bad merged file: hosts lists {repeated} more than once"
            ));
        }
        if hosts.len() > files.len() || (hosts.is_empty() && !files.is_empty()) {
            return Err(format!(
                "a bad merged file: {} hosts for {} files: each file is one host's",
                hosts.len(),
                files.len()
            ));
        }
        let mut keys = BTreeMap::new();
        for (index, group) in self.groups.iter().enumerate() {
            let name = format!(
                "a bad merged file: groups[{index}] ({} {} {})",
                group.device, group.workload, group.shape
            );
            // Only a version 1 file may leave out who had watts.
            if self.version >= 2 && group.watts_members.is_none() && group.watts_total.is_some() {
                return Err(format!("{name}: watts_total without watts_members"));
            }
            let key = (&group.device, &group.workload, &group.shape, &group.unit);
            if let Some(first) = keys.insert(key, index) {
                return Err(format!(
                    "{name}: the same device, workload, shape and unit as groups[{first}]: its \
                     members would count twice"
                ));
            }
            group
                .check(self, &files, &hosts)
                .map_err(|why| format!("{name}: {why}"))?;
        }
        Ok(())
    }
}

impl Group {
    /// The first thing wrong with a group of `merged`, whose (distinct)
    /// `files` and `hosts` are given.
    fn check(
        &self,
        merged: &Merged,
        files: &BTreeSet<&str>,
        hosts: &BTreeSet<&str>,
    ) -> std::result::Result<(), String> {
        let (threshold, files_count) = (merged.outlier_threshold_percent, files.len());
        let unit = Unit::parse(&self.unit).ok_or(format!("unknown unit '{}'", self.unit))?;
        if self.external != (self.workload == results::EXTERNAL_WORKLOAD) {
            return Err("only `external` groups hold figures mwbench did not check".into());
        }
        results::check_workload_unit(&self.workload, unit)?;
        // Each file is one adapter, a member of a group at most once.
        if self.count + self.failed.len() > files_count {
            return Err(format!(
                "count {} and {} failed members, more than the {files_count} files merged",
                self.count,
                self.failed.len()
            ));
        }
        if self.outliers.len() > self.count {
            return Err(format!(
                "{} outliers of {} members",
                self.outliers.len(),
                self.count
            ));
        }
        let spread = [
            ("min", self.min),
            ("p5", self.p5),
            ("median", self.median),
            ("p95", self.p95),
            ("max", self.max),
        ];
        let figures = spread.iter().map(|(_, v)| *v).chain([self.total]);
        if figures.into_iter().any(|v| v.is_some() != (self.count > 0)) {
            return Err(format!(
                "figures that do not go with {} members",
                self.count
            ));
        }
        let (min, median, max) = (
            self.min.unwrap_or_default(),
            self.median.unwrap_or_default(),
            self.max.unwrap_or_default(),
        );
        if self.count > 0 {
            let mut previous = 0.0;
            for (field, value) in spread {
                let value = value.unwrap_or_default();
                if !unit.plausible(value) {
                    return Err(format!(
                        "{field} {} {}, outside {}",
                        crate::shown(value),
                        unit.as_str(),
                        unit.range()
                    ));
                }
                if value < previous * (1.0 - 1e-9) {
                    return Err(format!(
                        "{field} {} is below the figure before it: not min <= p5 <= median \
                         <= p95 <= max",
                        crate::shown(value)
                    ));
                }
                previous = value;
            }
            let total = self.total.unwrap_or_default();
            let count = self.count as f64;
            if !(total.is_finite()
                && total >= count * min * (1.0 - 1e-9)
                && total <= count * max * (1.0 + 1e-9))
            {
                return Err(format!(
                    "total {} {} is not the sum of {} members from {} to {}",
                    crate::shown(total),
                    unit.as_str(),
                    self.count,
                    crate::shown(min),
                    crate::shown(max)
                ));
            }
        }
        // An outlier is a member (within min..max) more than the file's
        // threshold below the median, at its value over the median.
        let below = median * (1.0 - threshold / 100.0);
        for outlier in &self.outliers {
            let value = outlier.value;
            let ratio = value / median;
            let fits = unit.plausible(value)
                && value >= min * (1.0 - 1e-9)
                && value <= max * (1.0 + 1e-9)
                && value < below * (1.0 + 1e-9)
                && outlier.ratio.is_finite()
                && (outlier.ratio - ratio).abs() <= 1e-9 * ratio;
            if !fits {
                return Err(format!(
                    "outlier {} on {}: {} {} at {} of the median, not a member from {} to {} \
                     more than {}% below the median {} at its value over the median",
                    outlier.pci_bus_id,
                    outlier.host,
                    crate::shown(value),
                    unit.as_str(),
                    crate::shown(outlier.ratio),
                    crate::shown(min),
                    crate::shown(max),
                    crate::shown(threshold),
                    crate::shown(median)
                ));
            }
        }
        // Each member named is one of the files and hosts merged.
        let named = self.outliers.iter().map(|o| (&o.file, &o.host));
        let named = named.chain(self.failed.iter().map(|f| (&f.file, &f.host)));
        for (file, host) in named {
            if !files.contains(file.as_str()) || !hosts.contains(host.as_str()) {
                return Err(format!(
                    "a member of {file} on {host}, not among the files and hosts merged"
                ));
            }
        }
        // A host-wide meter is counted once per host whose members had it.
        let shared_most = self.watts_members().min(hosts.len());
        if self.watts_shared_hosts > shared_most {
            return Err(format!(
                "watts_shared_hosts {} of {} members with watts on {} hosts",
                self.watts_shared_hosts,
                self.watts_members(),
                hosts.len()
            ));
        }
        match (self.watts_total, self.watts_members()) {
            (None, 0) => Ok(()),
            (Some(watts), members) if members > 0 && members <= self.count => {
                let each = watts / members as f64;
                if !results::plausible_watts(each) {
                    return Err(format!(
                        "watts_total {} W over {members} members is {} W each, outside [{}, {:e}] W",
                        crate::shown(watts),
                        crate::shown(each),
                        results::MIN_WATTS,
                        results::MAX_WATTS
                    ));
                }
                if self.watts_provenance == Provenance::None {
                    return Err("watts with provenance none".into());
                }
                Ok(())
            }
            (watts, members) => Err(format!(
                "watts_total {} from {members} of {} members",
                watts.map_or("null".into(), crate::shown),
                self.count
            )),
        }
    }

    /// How many members' watts are in `watts_total` (all of them, in a
    /// version 1 file, which did not say).
    pub fn watts_members(&self) -> usize {
        match (self.watts_members, self.watts_total) {
            (Some(members), _) => members,
            (None, Some(_)) => self.count,
            (None, None) => 0,
        }
    }
}

/// The result files named: files as given, directories searched
/// recursively for `*.json` (sorted, so merges are reproducible).
/// Symbolic links to directories are not followed: a loop would never end.
/// What a directory holds that is passed over and might be a node's file
/// (a link to a directory, a `*.json` that is a dangling link, a FIFO or a
/// device) is said in `notes`: a missing node must be visible.
pub fn collect(paths: &[PathBuf], notes: &mut Vec<String>) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| Error::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            walk(path, &mut found, notes)?;
        } else if metadata.is_file() {
            found.push(path.clone());
        } else {
            // A FIFO would block an unattended merge until someone wrote.
            return Err(Error::usage(format!(
                "{}: not a regular file or a directory",
                path.display()
            )));
        }
    }
    Ok(found)
}

fn walk(directory: &Path, found: &mut Vec<PathBuf>, notes: &mut Vec<String>) -> Result<()> {
    let io = |source| Error::Io {
        action: "list",
        path: directory.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(directory)
        .map_err(io)?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            walk(&path, found, notes)?;
            continue;
        }
        let json = path.extension().is_some_and(|e| e == "json");
        let skipped = match std::fs::metadata(&path) {
            Ok(target) if target.is_file() && json => {
                found.push(path);
                continue;
            }
            Ok(target) if target.is_dir() => "a link to a directory, not followed",
            Ok(target) if target.is_file() => continue,
            Err(_) if json && kind.is_symlink() => "a dangling link",
            Ok(_) if json => "not a regular file (a FIFO, socket or device)",
            _ => continue,
        };
        notes.push(format!("skipped {}: {skipped}", path.display()));
    }
    Ok(())
}

/// The result files found, with their paths, and what was skipped.
pub struct SiteFiles {
    pub files: Vec<(PathBuf, ResultFile)>,
    pub notes: Vec<String>,
}

/// A file given to `merge`, `export` or `value`.
pub enum SiteInput {
    /// Boxed: a result file is larger than a merged file's handle.
    Result(Box<ResultFile>),
    /// A file `merge --out` wrote, or why it cannot be read as one.
    Merged(std::result::Result<Merged, String>),
}

/// Reads a result file or a merged file; anything else fails with the
/// result file reader's error, which names the file.
pub fn read_input(path: &Path) -> Result<SiteInput> {
    // Read once, capped, then tried both ways.
    let text = results::read_text(path)?;
    match results::parse(path, &text) {
        Ok(file) => Ok(SiteInput::Result(Box::new(file))),
        Err(error) => Merged::from_json(&text).map(SiteInput::Merged).ok_or(error),
    }
}

/// Reads every file: result files, and merged files found in a
/// directory (the merge writes into it), which are skipped with a note; a
/// merged file named is refused. Any other file is an error naming it.
/// The same file given twice (by two paths, or as two copies of one run)
/// is refused: its node would count twice.
pub fn read_all(given: &[PathBuf]) -> Result<SiteFiles> {
    let mut files: Vec<(PathBuf, ResultFile)> = Vec::new();
    let mut notes = Vec::new();
    let mut seen_paths: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut seen_runs: BTreeMap<RunKey, PathBuf> = BTreeMap::new();
    for path in collect(given, &mut notes)? {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if let Some(first) = seen_paths.insert(real, path.clone()) {
            return Err(Error::usage(format!(
                "{}: the same file as {}: its node would count twice",
                path.display(),
                first.display()
            )));
        }
        match read_input(&path)? {
            SiteInput::Result(file) => {
                if let Some(first) = seen_runs.insert(RunKey::of(&file), path.clone()) {
                    return Err(Error::usage(format!(
                        "{}: the same run as {} (host, adapter, created and every sample \
                         agree): its node would count twice",
                        path.display(),
                        first.display()
                    )));
                }
                files.push((path, *file));
            }
            // Named, it was meant as a node's: its groups hold no
            // node's figures to merge again.
            SiteInput::Merged(_) if given.contains(&path) => {
                return Err(Error::usage(format!(
                    "{} is a merged file (merge --out): merge the result files it came from",
                    path.display()
                )));
            }
            SiteInput::Merged(_) => {
                notes.push(format!(
                    "skipped {}: a merged file (merge --out), not a node's result file",
                    path.display()
                ));
            }
        }
    }
    if files.is_empty() {
        let mut why =
            "no result files: give files or directories holding mwbench result files (*.json)"
                .to_string();
        if !notes.is_empty() {
            why.push_str(&format!(" ({})", notes.join("; ")));
        }
        return Err(Error::usage(why));
    }
    Ok(SiteFiles { files, notes })
}

/// What tells one run on one adapter from another: two files that agree
/// on it are copies of one run.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RunKey {
    host: String,
    device: String,
    backend: String,
    pci_bus_id: String,
    /// The instant, however written (`+02:00` or `Z`, `.000`, `t`): one
    /// run's copy may have been rewritten by a tool. The text where it is
    /// no time (never, once a result file's check has passed).
    created: std::result::Result<jiff::Timestamp, String>,
    /// Every result's samples, bit for bit: a copy has the same ones, while
    /// two runs started within the same second on one adapter (two tasks
    /// of a job array on one node) never measure the same.
    samples: Vec<Vec<u64>>,
}

impl RunKey {
    fn of(file: &ResultFile) -> RunKey {
        RunKey {
            host: file.machine.hostname.clone(),
            device: file.device.name.clone(),
            backend: file.device.backend.to_string(),
            pci_bus_id: file.device.pci_bus_id.clone(),
            created: file
                .created
                .parse::<jiff::Timestamp>()
                .map_err(|_| file.created.clone()),
            samples: file
                .results
                .iter()
                .map(|r| r.samples.iter().map(|s| s.to_bits()).collect())
                .collect(),
        }
    }
}

/// One result of one file, placed in its group.
struct Member<'a> {
    path: &'a Path,
    file: &'a ResultFile,
    result: &'a WorkloadResult,
}

impl Member<'_> {
    fn host(&self) -> String {
        self.file.machine.hostname.clone()
    }

    /// Its verified figure (a sustained run's steady one), or why it has
    /// none.
    fn figure(&self) -> std::result::Result<f64, (&'static str, String)> {
        let result = self.result;
        match (result.status, result.verified, result.rate()) {
            (Status::Ok, true, Some(v)) if v.is_finite() => Ok(v),
            (Status::External, _, Some(v)) if v.is_finite() => Ok(v),
            (Status::Failed, _, _) => Err(("failed", result.check.clone())),
            (Status::Unsupported, _, _) => Err(("unsupported", result.check.clone())),
            _ => Err(("unverified", result.check.clone())),
        }
    }
}

/// Merges result files into groups, naming members more than
/// `threshold_percent` below their group's median.
pub fn merge(
    files: &[(PathBuf, ResultFile)],
    threshold_percent: f64,
    notes: Vec<String>,
) -> Merged {
    let mut groups: BTreeMap<(String, String, String, String), Vec<Member>> = BTreeMap::new();
    for (path, file) in files {
        for result in &file.results {
            let key = (
                file.device.name.clone(),
                result.workload.clone(),
                result.shape().to_string(),
                result.throughput.unit.as_str().to_string(),
            );
            groups
                .entry(key)
                .or_default()
                .push(Member { path, file, result });
        }
    }
    let mut notes = notes;
    notes.extend(
        files
            .iter()
            .filter_map(|(path, file)| results::interrupted_note(path, file)),
    );
    notes.extend(results::sustained_note(files.iter().map(|(_, f)| f)));
    // -0 is 0: "-0%" would read as a threshold below nothing.
    let threshold_percent = threshold_percent + 0.0;
    let groups: Vec<Group> = groups
        .into_iter()
        .map(|((device, workload, shape, unit), members)| Group {
            device,
            workload,
            shape,
            unit,
            ..group(&members, threshold_percent)
        })
        .collect();
    notes.extend(groups.iter().filter_map(partial_watts_note));
    Merged {
        kind: MERGED_KIND.into(),
        version: MERGED_VERSION,
        outlier_threshold_percent: threshold_percent,
        groups,
        files: files.iter().map(|(p, _)| p.display().to_string()).collect(),
        hosts: files
            .iter()
            .map(|(_, f)| f.machine.hostname.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        notes,
    }
}

/// What a reader must know of a group where only some members had watts:
/// its watts total is theirs alone, and `value` divides it by them.
fn partial_watts_note(group: &Group) -> Option<String> {
    let with_watts = group.watts_members();
    (with_watts > 0 && with_watts < group.count).then(|| {
        let shape = if group.shape.is_empty() {
            String::new()
        } else {
            format!(" {}", group.shape)
        };
        format!(
            "{} {}{shape}: watts from {with_watts} of {} members; its watts total is theirs, and \
             `value` prices the group at their mean draw (watts total / {with_watts})",
            group.device, group.workload, group.count
        )
    })
}

/// A group's figures from its members.
fn group(members: &[Member], threshold_percent: f64) -> Group {
    let mut values = Vec::new();
    let mut verified = Vec::new();
    let mut failed = Vec::new();
    for member in members {
        match member.figure() {
            Ok(value) => {
                values.push(value);
                verified.push((member, value));
            }
            Err((status, check)) => failed.push(FailedMember {
                host: member.host(),
                pci_bus_id: member.file.device.pci_bus_id.clone(),
                file: member.path.display().to_string(),
                status: status.into(),
                check,
            }),
        }
    }
    values.sort_by(f64::total_cmp);
    let median = percentile(&values, 50.0);
    let outliers = match median {
        Some(median) if median > 0.0 => verified
            .iter()
            .filter(|(_, v)| *v < median * (1.0 - threshold_percent / 100.0))
            .map(|(member, value)| Outlier {
                host: member.host(),
                pci_bus_id: member.file.device.pci_bus_id.clone(),
                file: member.path.display().to_string(),
                value: *value,
                ratio: value / median,
            })
            .collect(),
        _ => Vec::new(),
    };
    let watts = watts(verified.iter().map(|(m, _)| *m));
    let watts_provenance = verified
        .iter()
        .filter(|(m, _)| m.result.watts().is_some())
        .map(|(m, _)| m.result.power.provenance)
        .max_by_key(|p| doubt(*p))
        .unwrap_or(Provenance::None);
    Group {
        device: String::new(),
        workload: String::new(),
        shape: String::new(),
        unit: String::new(),
        count: values.len(),
        total: (!values.is_empty()).then(|| values.iter().sum()),
        median,
        min: values.first().copied(),
        p5: percentile(&values, 5.0),
        p95: percentile(&values, 95.0),
        max: values.last().copied(),
        watts_total: watts.total,
        watts_members: Some(watts.members),
        watts_shared_hosts: watts.shared_hosts,
        watts_provenance,
        external: verified
            .iter()
            .any(|(m, _)| m.result.status == Status::External),
        outliers,
        failed,
    }
}

/// The members' watts: a device's own sensor per member; a host-wide
/// meter's figure once per host (the mean of that host's readings, which
/// all measured the same machine).
/// Also how many members had watts, and over how many hosts a host-wide
/// meter's figure was counted.
fn watts<'a>(members: impl Iterator<Item = &'a Member<'a>>) -> Watts {
    let mut own = Vec::new();
    let mut shared: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for member in members {
        let power = &member.result.power;
        let Some(w) = member.result.watts().filter(|w| w.is_finite() && *w > 0.0) else {
            continue;
        };
        if power.shared {
            shared.entry(member.host()).or_default().push(w);
        } else {
            own.push(w);
        }
    }
    let members = own.len() + shared.values().map(Vec::len).sum::<usize>();
    if members == 0 {
        return Watts {
            total: None,
            members: 0,
            shared_hosts: 0,
        };
    }
    let hosts: f64 = shared
        .values()
        .map(|w| w.iter().sum::<f64>() / w.len() as f64)
        .sum();
    Watts {
        total: Some(own.iter().sum::<f64>() + hosts),
        members,
        shared_hosts: shared.len(),
    }
}

/// A group's watts, as [`watts`] adds them up.
struct Watts {
    total: Option<f64>,
    members: usize,
    shared_hosts: usize,
}

/// How far a source is from a measurement of this device.
fn doubt(provenance: Provenance) -> u8 {
    match provenance {
        Provenance::Sensor => 0,
        Provenance::External => 1,
        Provenance::User => 2,
        Provenance::Estimated => 3,
        Provenance::None => 4,
    }
}

impl Merged {
    /// The site as result files `value` prices as it prices a node's: one
    /// per device model, each group a verified result at its mean member
    /// (total / count) drawing its share of the group's watts (watts total
    /// / count), so that every per-MWh figure is the whole site's.
    pub fn as_result_files(&self, path: &Path) -> Vec<(PathBuf, ResultFile)> {
        let mut devices: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
        for group in &self.groups {
            devices.entry(&group.device).or_default().push(group);
        }
        devices
            .into_iter()
            .map(|(device, groups)| {
                let counts: BTreeSet<usize> =
                    groups.iter().map(|g| g.count).filter(|c| *c > 0).collect();
                let members = match (counts.first(), counts.last()) {
                    (Some(1), Some(1)) => "1 member".to_string(),
                    (Some(low), Some(high)) if low == high => format!("mean of {high} members"),
                    (_, Some(high)) => format!("mean of up to {high} members"),
                    _ => "no members".to_string(),
                };
                let results = groups.iter().filter_map(|g| site_result(g, path)).collect();
                let file = ResultFile {
                    schema_version: results::SCHEMA_VERSION,
                    mwbench_version: env!("CARGO_PKG_VERSION").into(),
                    created: String::new(),
                    machine: Machine {
                        hostname: format!("{} hosts", self.hosts.len()),
                        os: String::new(),
                        cpu: String::new(),
                    },
                    device: ResultDevice {
                        name: format!("{device} (site, {members})"),
                        backend: Backend::Vulkan,
                        device_type: DeviceType::Discrete,
                        driver: String::new(),
                        driver_info: String::new(),
                        vendor_id: 0,
                        pci_bus_id: String::new(),
                        timing: TimingMethod::GpuTimestamps,
                        memory: None,
                    },
                    settings: Settings {
                        quick: false,
                        measure_seconds: 0.0,
                        warm_up_seconds: 0.0,
                        sample_seconds: 0.0,
                        min_samples: 0,
                        sustain_seconds: None,
                        interval_seconds: None,
                    },
                    interrupted: false,
                    results,
                };
                (path.to_path_buf(), file)
            })
            .collect()
    }
}

/// A group as one verified result at its mean member, or `None` when it
/// has no verified member or its unit is not one `Unit` names.
fn site_result(group: &Group, path: &Path) -> Option<WorkloadResult> {
    let unit = Unit::parse(&group.unit)?;
    let count = group.count as f64;
    let mean = group.total? / count;
    // The members that had watts stand for those that had none: the
    // group's watts over them, never over every member (which would halve
    // a group where one of two nodes had none).
    let with_watts = group.watts_members();
    let watts = group.watts_total.map(|w| w / with_watts as f64);
    let mut power =
        PowerReading::none(format!("no watts in the merged group ({})", path.display()));
    if let Some(w) = watts {
        power.watts = Some(w);
        power.provenance = group.watts_provenance;
        power.source = format!(
            "{}: {with_watts} members' watts (a host meter once per host) over {with_watts}{}",
            path.display(),
            if with_watts < group.count {
                format!(", of {} members", group.count)
            } else {
                String::new()
            }
        );
    }
    let (status, check) = if group.external {
        (
            Status::External,
            format!(
                "{} members' figures, reported by an outside command (mwbench meter); not \
                 checked by mwbench",
                group.count
            ),
        )
    } else {
        (Status::Ok, format!("{} verified members", group.count))
    };
    let mut result = WorkloadResult::without_figure(&group.workload, status, unit, check, power);
    result.verified = !group.external;
    result.throughput = Throughput {
        value: Some(mean),
        unit,
    };
    if !group.shape.is_empty() {
        result.params.insert(
            "shape".into(),
            serde_json::Value::String(group.shape.clone()),
        );
    }
    if group.external && unit == Unit::TokensPerSecond {
        // A group keeps no member's params: whether its tokens were a
        // prompt's or output, and how long each took, are gone.
        result.params.insert("tokens".into(), "unknown".into());
    }
    if group.external && unit == Unit::HashesPerSecond {
        // Nor its members' hashcat mode, which `value` needs to tell
        // bitcoin's hashes from MD5's: only the shape `mwbench meter`
        // gave a hashcat figure (`hashcat -m 21400`) still says it.
        let mode = results::hashcat_mode(&group.shape)
            .map_or(UNKNOWN_HASH_MODE.into(), serde_json::Value::from);
        result.params.insert("mode".into(), mode);
    }
    Some(result)
}

/// The `p`th percentile of sorted values, interpolated between the two
/// nearest ranks (as numpy's default); `None` without values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p / 100.0 * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{file, result};
    use crate::results::{Provenance, Unit};

    /// A node's file: `host`, one GPU at `bus`, sha256d at `rate` drawing
    /// `watts`.
    fn node(host: &str, bus: &str, rate: f64, watts: f64) -> (PathBuf, ResultFile) {
        let mut r = result(
            "sha256d",
            Unit::HashesPerSecond,
            rate,
            Some((watts, Provenance::Sensor)),
        );
        r.verified = true;
        let (_, mut f) = file(vec![r]);
        f.machine.hostname = host.into();
        f.device.pci_bus_id = bus.into();
        f.device.name = "NVIDIA H100".into();
        (PathBuf::from(format!("{host}-{bus}.json")), f)
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 5.0), Some(1.2));
        assert_eq!(percentile(&v, 95.0), Some(4.8));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    /// Ten GPUs at 10 GH/s, one slowed 20%, one failed: the slow one is
    /// an outlier, the failed one is listed and not averaged in.
    #[test]
    fn a_slow_gpu_is_named_and_a_failed_one_is_not_averaged_in() {
        let mut files: Vec<_> = (0..10)
            .map(|i| node(&format!("node{i:02}"), "0000:01:00.0", 10e9, 700.0))
            .collect();
        files.push(node("node10", "0000:41:00.0", 8e9, 650.0));
        let mut broken = node("node11", "0000:81:00.0", 10e9, 700.0);
        broken.1.results[0].status = Status::Failed;
        broken.1.results[0].throughput.value = None;
        broken.1.results[0].check = "nonce not found".into();
        files.push(broken);
        let merged = merge(&files, DEFAULT_OUTLIER_THRESHOLD_PERCENT, Vec::new());
        let [group] = &merged.groups[..] else {
            panic!("one group: {:?}", merged.groups);
        };
        assert_eq!(
            (
                group.device.as_str(),
                group.workload.as_str(),
                group.unit.as_str()
            ),
            ("NVIDIA H100", "sha256d", "H/s")
        );
        assert_eq!(group.count, 11);
        assert_eq!(group.total, Some(108e9));
        assert_eq!(group.median, Some(10e9));
        assert_eq!((group.min, group.max), (Some(8e9), Some(10e9)));
        assert_eq!(group.watts_total, Some(10.0 * 700.0 + 650.0));
        let [slow] = &group.outliers[..] else {
            panic!("one outlier: {:?}", group.outliers);
        };
        assert_eq!(
            (slow.host.as_str(), slow.pci_bus_id.as_str()),
            ("node10", "0000:41:00.0")
        );
        assert!((slow.ratio - 0.8).abs() < 1e-12);
        assert_eq!(group.failed.len(), 1);
        assert_eq!(group.failed[0].status, "failed");
        assert_eq!(group.failed[0].check, "nonce not found");
        assert_eq!(merged.hosts.len(), 12);
        // At a 25% threshold nobody is an outlier.
        assert!(
            merge(&files, 25.0, Vec::new()).groups[0]
                .outliers
                .is_empty()
        );
    }

    /// A host-wide meter measures the same machine for every GPU in it:
    /// counted once per host, never once per GPU.
    #[test]
    fn a_host_meter_counts_once_per_host() {
        let mut files = vec![
            node("a", "0000:01:00.0", 1e9, 1000.0),
            node("a", "0000:02:00.0", 1e9, 1100.0),
            node("b", "0000:01:00.0", 1e9, 300.0),
        ];
        for (_, f) in &mut files[..2] {
            f.results[0].power.shared = true;
        }
        let group = &merge(&files, 10.0, Vec::new()).groups[0];
        assert_eq!(group.watts_total, Some(1050.0 + 300.0));
        assert_eq!(group.watts_shared_hosts, 1);
    }

    /// One estimate among sensors makes the total an estimate; as result
    /// files for `value`, a group is its mean member.
    #[test]
    fn an_estimate_among_measurements_makes_an_estimate() {
        let mut files = vec![
            node("a", "0000:01:00.0", 1e9, 100.0),
            node("b", "0000:01:00.0", 3e9, 300.0),
        ];
        files[1].1.results[0].power.provenance = Provenance::Estimated;
        let merged = merge(&files, 10.0, Vec::new());
        assert_eq!(merged.groups[0].watts_provenance, Provenance::Estimated);
        let site = merged.as_result_files(Path::new("site.json"));
        let [(_, file)] = &site[..] else {
            panic!("one device model: {site:?}");
        };
        let result = &file.results[0];
        assert_eq!(result.throughput.value, Some(2e9));
        assert_eq!(result.power.watts, Some(200.0));
        assert_eq!(result.power.provenance, Provenance::Estimated);
        assert!(result.verified);
    }

    #[test]
    fn unverified_figures_are_failed_members() {
        let mut files = vec![node("a", "0000:01:00.0", 1e9, 100.0)];
        files[0].1.results[0].verified = false;
        let group = &merge(&files, 10.0, Vec::new()).groups[0];
        assert_eq!(group.count, 0);
        assert_eq!(group.total, None);
        assert_eq!(group.failed[0].status, "unverified");
    }

    /// A merged file is held to a result file's limits: each figure in
    /// its unit's range, in order, summing to its total; a unit that is
    /// its workload's; watts per member in range; no more members than
    /// files.
    #[test]
    fn a_merged_file_with_impossible_figures_is_refused() {
        let merged = merge(&[node("a", "0000:01:00.0", 1e9, 100.0)], 10.0, Vec::new());
        let text = serde_json::to_string(&merged).unwrap();
        for (from, to, said) in [
            (
                "\"total\":1000000000.0",
                "\"total\":-1.0",
                "total -1 H/s is not the sum",
            ),
            ("\"total\":1000000000.0", "\"total\":1e30", "total 1e30 H/s"),
            (
                "\"count\":1",
                "\"count\":0",
                "figures that do not go with 0 members",
            ),
            (
                "\"count\":1",
                "\"count\":1000000000000000000",
                "more than the 1 files merged",
            ),
            (
                "\"watts_total\":100.0",
                "\"watts_total\":0.0",
                "0 W each, outside",
            ),
            (
                "\"watts_total\":100.0",
                "\"watts_total\":1e-9",
                "0.000000001 W each",
            ),
            (
                "\"watts_total\":100.0",
                "\"watts_total\":1e9",
                "1000000000 W each",
            ),
            (
                "\"watts_members\":1",
                "\"watts_members\":0",
                "watts_total 100 from 0 of 1 members",
            ),
            ("\"unit\":\"H/s\"", "\"unit\":\"furlongs\"", "unknown unit"),
            (
                "\"unit\":\"H/s\"",
                "\"unit\":\"tokens/s\"",
                "unit tokens/s for workload sha256d",
            ),
            (
                "\"median\":1000000000.0",
                "\"median\":2e9",
                "p95 1000000000 is below",
            ),
            (
                "\"min\":1000000000.0",
                "\"min\":1e-300",
                "min 1e-300 H/s, outside",
            ),
            (
                "\"outlier_threshold_percent\":10.0",
                "\"outlier_threshold_percent\":-5.0",
                "outlier_threshold_percent is -5",
            ),
            (
                "\"watts_provenance\":\"sensor\"",
                "\"watts_provenance\":\"none\"",
                "watts with provenance none",
            ),
        ] {
            assert!(text.contains(from), "{from} in {text}");
            let bad = text.replace(from, to);
            let error = Merged::from_json(&bad).unwrap().unwrap_err();
            assert!(error.contains(said), "'{error}' lacks '{said}'");
            assert!(error.contains("groups[0]") || error.contains("outlier_threshold"));
        }
    }

    /// What a merged file's parts say of each other: a group listed once,
    /// outliers that are members below the median by the threshold at
    /// their ratio, a host meter counted on no more hosts than had it,
    /// each file once, hosts no more than files and at least one.
    #[test]
    fn a_merged_file_that_contradicts_itself_is_refused() {
        let mut files = vec![
            node("a", "0000:01:00.0", 10e9, 100.0),
            node("b", "0000:01:00.0", 10e9, 100.0),
            node("c", "0000:01:00.0", 8e9, 100.0),
        ];
        for (_, f) in &mut files[..2] {
            f.results[0].power.shared = true;
        }
        let merged = merge(&files, 10.0, Vec::new());
        let good = serde_json::to_value(&merged).unwrap();
        assert_eq!(good["groups"][0]["outliers"][0]["ratio"], 0.8);
        assert_eq!(good["groups"][0]["watts_shared_hosts"], 2);
        assert!(Merged::from_json(&good.to_string()).unwrap().is_ok());
        type Edit = fn(&mut serde_json::Value);
        let cases: [(Edit, &str); 14] = [
            (
                |m| {
                    let group = m["groups"][0].clone();
                    m["groups"].as_array_mut().unwrap().push(group);
                },
                "groups[1] (NVIDIA H100 sha256d ): the same device, workload, shape and unit as \
                 groups[0]",
            ),
            (
                |m| m["groups"][0]["outliers"][0]["value"] = 1.0.into(),
                "outlier 0000:01:00.0 on c: 1 H/s at 0.8 of the median",
            ),
            (
                |m| m["groups"][0]["outliers"][0]["ratio"] = 0.1.into(),
                "at 0.1 of the median, not a member from 8000000000 to 10000000000",
            ),
            (
                |m| m["groups"][0]["outliers"][0]["value"] = 9.5e9.into(),
                "more than 10% below the median 10000000000",
            ),
            (
                |m| m["outlier_threshold_percent"] = 25.0.into(),
                "more than 25% below",
            ),
            (
                |m| m["groups"][0]["outliers"][0]["file"] = "elsewhere.json".into(),
                "a member of elsewhere.json on c, not among the files and hosts merged",
            ),
            (
                |m| m["groups"][0]["outliers"][0]["host"] = "z".into(),
                "on z, not among",
            ),
            (
                |m| m["groups"][0]["watts_shared_hosts"] = 5.into(),
                "watts_shared_hosts 5 of 3 members with watts on 3 hosts",
            ),
            (
                |m| {
                    m["groups"][0]["watts_shared_hosts"] = 3.into();
                    m["groups"][0]["watts_members"] = 3.into();
                    m["hosts"] = serde_json::json!(["a", "c"]);
                    m["groups"][0]["outliers"] = serde_json::json!([]);
                },
                "watts_shared_hosts 3 of 3 members with watts on 2 hosts",
            ),
            (
                |m| m["files"][1] = m["files"][0].clone(),
                "files lists a-0000:01:00.0.json more than once",
            ),
            (
                |m| m["hosts"][2] = "a".into(),
                "hosts lists a more than once",
            ),
            (
                |m| {
                    m["hosts"] = (0..10).map(|i| format!("h{i}")).collect();
                },
                "10 hosts for 3 files",
            ),
            (
                |m| m["hosts"] = serde_json::json!([]),
                "0 hosts for 3 files",
            ),
            (
                |m| {
                    m["files"] = serde_json::json!(["x.json", "x.json", "x.json"]);
                },
                "files lists x.json more than once",
            ),
        ];
        for (edit, said) in cases {
            let mut bad = good.clone();
            edit(&mut bad);
            let error = Merged::from_json(&bad.to_string()).unwrap().unwrap_err();
            assert!(error.contains(said), "'{error}' lacks '{said}'");
        }
    }

    /// Node a measured 100 W, node b nothing: the group's watts are a's,
    /// said so, and `value` prices the group at a's draw, not half of it.
    #[test]
    fn a_group_where_some_members_had_watts_is_priced_at_theirs() {
        let mut files = vec![
            node("a", "0000:01:00.0", 1e9, 100.0),
            node("b", "0000:01:00.0", 1e9, 100.0),
        ];
        files[1].1.results[0].power = PowerReading::none("no sensor".into());
        let merged = merge(&files, 10.0, Vec::new());
        let group = &merged.groups[0];
        assert_eq!(
            (group.count, group.watts_total, group.watts_members),
            (2, Some(100.0), Some(1))
        );
        assert!(
            merged
                .notes
                .iter()
                .any(|n| n.contains("watts from 1 of 2 members")),
            "{:?}",
            merged.notes
        );
        let site = merged.as_result_files(Path::new("site.json"));
        let result = &site[0].1.results[0];
        assert_eq!(result.power.watts, Some(100.0));
        assert!(result.power.source.contains("over 1, of 2 members"));
        assert_eq!(
            site[0].1.device.name,
            "NVIDIA H100 (site, mean of 2 members)"
        );
        // A version 1 file did not say: every member is taken to have had
        // watts, as it was priced when written.
        let mut old = serde_json::to_value(&merged).unwrap();
        old["version"] = 1.into();
        old["groups"][0]
            .as_object_mut()
            .unwrap()
            .remove("watts_members");
        let read = Merged::from_json(&old.to_string()).unwrap().unwrap();
        assert_eq!(read.groups[0].watts_members(), 2);
        old["version"] = 2.into();
        let error = Merged::from_json(&old.to_string()).unwrap().unwrap_err();
        assert!(
            error.contains("watts_total without watts_members"),
            "{error}"
        );
        // One member: no "mean of up to".
        let one = merge(&files[..1], -0.0, Vec::new());
        assert_eq!(one.outlier_threshold_percent.to_string(), "0");
        let site = one.as_result_files(Path::new("site.json"));
        assert_eq!(site[0].1.device.name, "NVIDIA H100 (site, 1 member)");
    }

    /// A merged group keeps no member's params: an outside hashing
    /// group's hashcat mode is its shape's, for `value` to tell bitcoin's
    /// hashes from others; a group whose shape names none has an unknown
    /// mode.
    #[test]
    fn an_outside_hashing_group_keeps_its_hashcat_mode() {
        let mode_of = |shape: &str| {
            let mut files = vec![node("a", "0000:01:00.0", 1e9, 100.0)];
            let r = &mut files[0].1.results[0];
            r.workload = results::EXTERNAL_WORKLOAD.into();
            r.status = Status::External;
            r.verified = false;
            r.params.insert("shape".into(), shape.into());
            r.params.insert("mode".into(), 0.into());
            let site = merge(&files, 10.0, Vec::new()).as_result_files(Path::new("s.json"));
            site[0].1.results[0].params["mode"].clone()
        };
        assert_eq!(mode_of("hashcat -m 0"), 0);
        assert_eq!(mode_of("hashcat -m 21400"), 21400);
        for shape in [
            "count 1000 H",
            "hashcat -m -1",
            "hashcat -m 21400x",
            "hashcat",
        ] {
            assert_eq!(mode_of(shape), UNKNOWN_HASH_MODE, "{shape}");
        }
    }

    /// A merged file named is refused, naming it; found in a directory
    /// (the merge's own output, say) it is passed over with a note.
    #[test]
    fn a_merged_file_named_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let merged = merge(&[node("a", "0000:01:00.0", 1e9, 100.0)], 10.0, Vec::new());
        let site = dir.path().join("site.json");
        std::fs::write(&site, serde_json::to_string(&merged).unwrap()).unwrap();
        let error = read_all(std::slice::from_ref(&site)).err().unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "{} is a merged file (merge --out): merge the result files it came from",
                site.display()
            )
        );
        let error = read_all(&[dir.path().to_path_buf()]).err().unwrap();
        assert!(
            error.to_string().contains("(skipped ")
                && error.to_string().contains("site.json: a merged file"),
            "{error}"
        );
    }

    /// One run is one instant, however its `created` is written.
    #[test]
    fn a_run_is_the_same_whatever_its_created_says() {
        let (_, mut first) = node("a", "0000:01:00.0", 1e9, 100.0);
        first.created = "2026-11-25T02:18:33+02:00".into();
        let mut copy = first.clone();
        for same in [
            "2026-11-25T00:18:33Z",
            "2026-11-25T00:18:33+00:00",
            "2026-11-25T00:18:33.000Z",
            "2026-11-25t00:18:33z",
            "2026-11-24T19:18:33-05:00",
        ] {
            copy.created = same.into();
            assert!(RunKey::of(&first) == RunKey::of(&copy), "{same}");
        }
        for other in ["2026-11-25T00:18:33.001Z", "2026-11-25T02:18:33Z"] {
            copy.created = other.into();
            assert!(RunKey::of(&first) != RunKey::of(&copy), "{other}");
        }
        // Two tasks of a job array on one node, started in the same
        // second: two runs, told apart by what they measured.
        first.results[0].samples = vec![1e9, 1.01e9];
        let mut beside = first.clone();
        assert!(RunKey::of(&first) == RunKey::of(&beside));
        beside.results[0].samples[0] *= 1.001;
        assert!(RunKey::of(&first) != RunKey::of(&beside));
    }

    #[test]
    fn a_fifo_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("node.json");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in a directory this test owns.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let mut notes = Vec::new();
        let error = collect(std::slice::from_ref(&fifo), &mut notes)
            .err()
            .unwrap();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        // In a directory it is passed over, and said to be.
        assert!(
            collect(&[dir.path().to_path_buf()], &mut notes)
                .unwrap()
                .is_empty()
        );
        let [note] = &notes[..] else {
            panic!("one note: {notes:?}")
        };
        assert!(note.contains("node.json: not a regular file"), "{note}");
    }

    #[test]
    fn merged_files_are_told_from_result_files() {
        let merged = merge(&[node("a", "0000:01:00.0", 1e9, 100.0)], 10.0, Vec::new());
        let text = serde_json::to_string(&merged).unwrap();
        assert_eq!(Merged::from_json(&text), Some(Ok(merged)));
        assert_eq!(Merged::from_json("{\"schema_version\": 3}"), None);
        let newer = text.replace("\"version\":2", "\"version\":9");
        assert!(
            Merged::from_json(&newer)
                .unwrap()
                .unwrap_err()
                .contains("newer")
        );
    }
}
