//! An external meter: a command the user names (IPMI DCMI, a PDU over
//! SNMP, a smart plug) that prints the watts it reads. It measures the
//! whole host or rack, so adapters share it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

use super::{MAX_WATTS, PowerSource, Provenance, Reading};
use crate::{Error, Result};

/// How long one reading may take before it counts as a failure: BMCs
/// answer in about a second.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `--power-cmd "PROGRAM ARG..."`, run without a shell at every sample.
#[derive(Debug, Clone)]
pub struct MeterCommand {
    words: Vec<String>,
}

impl MeterCommand {
    /// Splits `line` into words as a shell would (quotes, escapes) and
    /// reads the meter once, so a broken meter stops the run before any
    /// benchmark starts.
    pub fn start(line: &str) -> Result<MeterCommand> {
        let mut meter = MeterCommand::parse(line)?;
        meter.read()?;
        Ok(meter)
    }

    /// The words of `line`, without running it.
    pub fn parse(line: &str) -> Result<MeterCommand> {
        let words = shell_words::split(line)
            .map_err(|e| Error::usage(format!("--power-cmd '{line}': {e}")))?;
        if words.is_empty() {
            return Err(Error::usage(
                "--power-cmd is empty: give the meter's command",
            ));
        }
        Ok(MeterCommand { words })
    }

    fn line(&self) -> String {
        shell_words::join(&self.words)
    }

    fn failure(&self, what: impl std::fmt::Display) -> Error {
        Error::Power(format!("meter command `{}` {what}", self.line()))
    }
}

impl PowerSource for MeterCommand {
    fn describe(&self) -> String {
        format!("cmd: {}", self.line())
    }

    fn provenance(&self) -> Provenance {
        Provenance::External
    }

    fn shared(&self) -> bool {
        true
    }

    fn read(&mut self) -> Result<Reading> {
        let mut child = Command::new(&self.words[0])
            .args(&self.words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.failure(format_args!("cannot start: {e}")))?;
        // A meter prints a line or two, well under a pipe's buffer, so
        // waiting before reading cannot deadlock.
        let status = match child.wait_timeout(TIMEOUT) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.failure(format_args!(
                    "gave no reading within {} s",
                    TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(self.failure(e)),
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        let stderr = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        let said = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        if !status.success() {
            return Err(self.failure(format_args!("failed ({status}){said}")));
        }
        match parse_watts(&stdout) {
            Ok(watts) => Ok(Reading::Watts(watts)),
            Err(why) => Err(self.failure(format_args!("{why}{said}"))),
        }
    }
}

/// The watts in a meter's output: the first number (`245` in
/// `Instantaneous power reading: 245 Watts`, `312.75` in `power=312.75W`),
/// with its sign and exponent, optionally followed by `W` or `Watts`. It
/// must be a finite number of watts above zero and at most
/// [`MAX_WATTS`]; anything else (`0x10`, `-5`, `1e400`, `0`) is an error
/// that quotes what the meter printed.
pub fn parse_watts(text: &str) -> std::result::Result<f64, String> {
    let quoted = || {
        let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let line: String = line.chars().take(80).collect();
        format!("'{line}'")
    };
    let Some(digit) = text.find(|c: char| c.is_ascii_digit()) else {
        return Err(format!("printed no number on stdout: {}", quoted()));
    };
    // Take a decimal point and a sign just before the first digit with it.
    let mut start = digit;
    let bytes = text.as_bytes();
    if start > 0 && bytes[start - 1] == b'.' {
        start -= 1;
    }
    if start > 0 && matches!(bytes[start - 1], b'-' | b'+') {
        start -= 1;
    }
    let token_end = text[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')))
        .map_or(text.len(), |n| start + n);
    let token = &text[start..token_end];
    let number = ["Watts", "watts", "Watt", "watt", "W", "w"]
        .iter()
        .find_map(|unit| token.strip_suffix(unit))
        .unwrap_or(token);
    let unit = text[token_end..].split_whitespace().next().unwrap_or("");
    if ["kW", "KW", "kw", "MW", "mW"]
        .iter()
        .any(|u| unit.starts_with(u))
    {
        return Err(format!("reads in {unit}, not watts: {}", quoted()));
    }
    let watts: f64 = number
        .parse()
        .map_err(|_| format!("printed '{token}', not a number of watts: {}", quoted()))?;
    if !watts.is_finite() || watts <= 0.0 || watts > MAX_WATTS {
        return Err(format!(
            "read {} W, outside the (0, {MAX_WATTS:e}] W a meter can read: {}",
            crate::error::shown(watts),
            quoted()
        ));
    }
    Ok(watts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_number_is_the_reading_in_watts() {
        let cases = [
            ("Instantaneous power reading: 245 Watts", 245.0),
            ("power=312.75W\n", 312.75),
            ("12. W", 12.0),
            ("2.5e2", 250.0),
            ("+7", 7.0),
            ("power: .5W", 0.5),
        ];
        for (text, watts) in cases {
            assert_eq!(parse_watts(text), Ok(watts), "{text}");
        }
        for text in [
            "-5",
            "0",
            "0x10",
            "1e400",
            "1.2.3",
            "no reading",
            "",
            "12 kW",
            "2e6",
            "nan",
        ] {
            assert!(parse_watts(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn a_meter_is_read_without_a_shell() {
        // `sh -c` is the program here, not a shell around the line.
        let mut meter =
            MeterCommand::start("sh -c 'echo \"Instantaneous power reading: 245 Watts\"'").unwrap();
        assert_eq!(meter.read().unwrap(), Reading::Watts(245.0));
        assert_eq!(meter.provenance(), Provenance::External);
        assert!(meter.shared());
        // Without a shell, `;` and `$HOME` are plain arguments.
        let mut echo = MeterCommand::start("echo 7 ; $HOME").unwrap();
        assert_eq!(echo.read().unwrap(), Reading::Watts(7.0));
    }

    #[test]
    fn failing_and_silent_meters_are_errors_with_their_stderr() {
        let failing = MeterCommand::start("sh -c 'echo no BMC here >&2; exit 3'").unwrap_err();
        let text = failing.to_string();
        assert!(
            text.contains("failed (exit status: 3): no BMC here"),
            "{text}"
        );
        let silent = MeterCommand::start("true").unwrap_err().to_string();
        assert!(silent.contains("printed no number on stdout"), "{silent}");
        let missing = MeterCommand::start("/nonexistent/meter")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot start"), "{missing}");
        assert_eq!(MeterCommand::parse("").unwrap_err().exit_code(), 2);
        assert_eq!(
            MeterCommand::parse("ipmitool 'dcmi")
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Whatever a meter prints, the reading is finite watts in
            /// range, or an error quoting it.
            #[test]
            fn any_output_is_watts_in_range_or_an_error(text in ".{0,80}") {
                match parse_watts(&text) {
                    Ok(watts) => prop_assert!(watts.is_finite() && watts > 0.0 && watts <= MAX_WATTS),
                    Err(error) => prop_assert!(!error.is_empty()),
                }
            }

            #[test]
            fn number_like_output(
                text in "[a-z :=]{0,8}[-+]?[0-9]{0,6}[.]?[0-9]{0,3}([eE][-+]?[0-9]{1,4})? ?(W|Watts|kW|x1|)"
            ) {
                if let Ok(watts) = parse_watts(&text) {
                    prop_assert!(watts.is_finite() && watts > 0.0 && watts <= MAX_WATTS);
                }
            }
        }
    }
}
