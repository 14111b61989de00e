//! Commands mwbench does not run kernels for: a site's own serving stack
//! (vLLM), llama.cpp's llama-bench, hashcat, or anything whose work is
//! known. `mwbench meter` runs one under the same meters as `run`
//! ([`child`], which runs an external meter's command too) and reads the
//! work it reports ([`formats`]); the figures are recorded as `external`,
//! never as verified. Below [`crate::power`]: nothing here names a meter.

pub mod child;
pub mod formats;

use std::path::PathBuf;

use crate::results::Unit;
use crate::{Error, Result};

/// `--parse`: where the work the command did is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Parse {
    /// The JSON `vllm bench serve --save-result --result-filename FILE`
    /// writes.
    Vllm(PathBuf),
    /// `llama-bench -o json` on the command's stdout.
    LlamaBench,
    /// `hashcat -b -m MODE --machine-readable` on the command's stdout.
    Hashcat,
    /// A fixed amount of work (`count=N UNIT`), done over the wall time.
    Count { amount: f64, unit: Unit },
}

/// More work than any command does in a day at any adapter's rate.
const MAX_COUNT: f64 = 1e24;

impl std::str::FromStr for Parse {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let expected = "expected vllm=FILE, llama-bench, hashcat or count=N UNIT \
                        (UNIT: H, tokens or FLOP)";
        if let Some(file) = text.strip_prefix("vllm=") {
            if file.is_empty() {
                return Err(
                    "vllm=FILE needs the file `vllm bench serve --result-filename` \
                            writes"
                        .into(),
                );
            }
            return Ok(Parse::Vllm(PathBuf::from(file)));
        }
        if let Some(count) = text.strip_prefix("count=") {
            let mut words = count.split_whitespace();
            let (Some(amount), Some(unit), None) = (words.next(), words.next(), words.next())
            else {
                return Err(format!("'{text}' is not count=N UNIT; {expected}"));
            };
            let amount: f64 = amount
                .parse()
                .map_err(|_| format!("'{amount}' in '{text}' is not a number"))?;
            if !(amount.is_finite() && (1.0..=MAX_COUNT).contains(&amount)) {
                return Err(format!(
                    "count must be at least 1 and at most {MAX_COUNT:e}, not {}",
                    crate::error::shown(amount)
                ));
            }
            let unit = match unit {
                "H" => Unit::HashesPerSecond,
                "tokens" => Unit::TokensPerSecond,
                "FLOP" => Unit::GflopPerSecond,
                other => return Err(format!("unknown unit '{other}' in '{text}'; {expected}")),
            };
            return Ok(Parse::Count { amount, unit });
        }
        match text {
            "llama-bench" => Ok(Parse::LlamaBench),
            "hashcat" => Ok(Parse::Hashcat),
            _ => Err(format!("unknown format '{text}'; {expected}")),
        }
    }
}

impl Parse {
    /// How the format is named in results and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Parse::Vllm(_) => "vllm bench serve",
            Parse::LlamaBench => "llama-bench -o json",
            Parse::Hashcat => "hashcat --machine-readable",
            Parse::Count { .. } => "count",
        }
    }

    /// Whether the format reads the command's stdout.
    pub fn reads_stdout(&self) -> bool {
        matches!(self, Parse::LlamaBench | Parse::Hashcat)
    }
}

/// How much work a figure is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Work {
    /// All the work of the command, in the unit's numerator (tokens,
    /// hashes, GFLOP): its rate is over the metered seconds, the same
    /// window as the energy.
    Total(f64),
    /// A rate the command measured over its own timed runs.
    Rate(f64),
}

/// One figure a command reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// What tells it from the command's other figures (`llama-bench
    /// tg128`, `hashcat -m 21400`).
    pub shape: String,
    pub unit: Unit,
    pub work: Work,
    /// The command's own repetitions, in the unit, where it gives them.
    pub samples: Vec<f64>,
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// The work in the command's output.
pub fn read(parse: &Parse, stdout: &[u8]) -> Result<Vec<Reported>> {
    let failed = |why: String| Error::CommandFailed(format!("{}: {why}", parse.name()));
    match parse {
        Parse::Vllm(path) => formats::vllm(&read_result_file(path)?).map_err(failed),
        Parse::LlamaBench => formats::llama_bench(stdout).map_err(failed),
        Parse::Hashcat => formats::hashcat(stdout).map_err(failed),
        Parse::Count { amount, unit } => Ok(vec![formats::count(*amount, *unit)]),
    }
}

/// What a file looked like before the command ran: a vLLM result file
/// left from an earlier run must not pass for this one's.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp(Option<(std::time::SystemTime, u64)>);

impl Stamp {
    pub fn of(path: &std::path::Path) -> Stamp {
        Stamp(
            std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
        )
    }
}

/// Fails unless the command wrote `path` (it is new or changed since
/// `before`).
pub fn check_written(path: &std::path::Path, before: &Stamp) -> Result<()> {
    let after = Stamp::of(path);
    if after.0.is_none() {
        return Err(Error::CommandFailed(format!(
            "vllm bench serve: the command wrote no {} (give it --save-result \
             --result-filename {0})",
            path.display()
        )));
    }
    if &after == before {
        return Err(Error::CommandFailed(format!(
            "vllm bench serve: {} is unchanged since before the command ran: it is an \
             earlier run's, not this one's",
            path.display()
        )));
    }
    Ok(())
}

/// A result file another tool wrote: a regular file within the size any
/// reader of mwbench accepts.
fn read_result_file(path: &std::path::Path) -> Result<String> {
    // What would be bad input from a user is the tool's failure here.
    mwbench_results::input::read_text(path, crate::results::MAX_FILE_BYTES, "vLLM result file")
        .map_err(|error| match error {
            mwbench_results::Error::Usage(why) => {
                Error::CommandFailed(format!("vllm bench serve: {why}"))
            }
            io => io.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_or_say_what_is_expected() {
        assert_eq!(
            "vllm=out/bench.json".parse::<Parse>().unwrap(),
            Parse::Vllm("out/bench.json".into())
        );
        assert_eq!("llama-bench".parse::<Parse>().unwrap(), Parse::LlamaBench);
        assert_eq!("hashcat".parse::<Parse>().unwrap(), Parse::Hashcat);
        assert_eq!(
            "count=5e6 tokens".parse::<Parse>().unwrap(),
            Parse::Count {
                amount: 5e6,
                unit: Unit::TokensPerSecond
            }
        );
        assert_eq!(
            "count=1e12 FLOP".parse::<Parse>().unwrap(),
            Parse::Count {
                amount: 1e12,
                unit: Unit::GflopPerSecond
            }
        );
        for bad in [
            "",
            "vllm=",
            "vllm",
            "count=5",
            "count=5 tokens extra",
            "count=-5 H",
            "count=0 H",
            "count=inf H",
            "count=nan H",
            "count=1e30 H",
            "count=1e-300 tokens",
            "count=0.5 H",
            "count=5 W",
            "count=x H",
            "sglang",
        ] {
            let error = bad.parse::<Parse>().unwrap_err();
            assert!(!error.is_empty(), "{bad}");
        }
    }

    #[test]
    fn a_file_left_from_before_is_not_this_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.json");
        let before = Stamp::of(&path);
        let error = check_written(&path, &before).unwrap_err().to_string();
        assert!(error.contains("wrote no"), "{error}");
        std::fs::write(&path, "{}").unwrap();
        check_written(&path, &before).unwrap();
        let now = Stamp::of(&path);
        let error = check_written(&path, &now).unwrap_err().to_string();
        assert!(error.contains("unchanged"), "{error}");
    }
}
