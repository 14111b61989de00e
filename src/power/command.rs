//! An external meter: a command the user names (IPMI DCMI, a PDU over
//! SNMP, a smart plug) that prints the watts it reads. It measures the
//! whole host or rack, so adapters share it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

use super::{PowerSource, Provenance, Reading};
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
        match first_number(&stdout) {
            Some(watts) => Ok(Reading::Watts(watts)),
            None => Err(self.failure(format_args!("printed no number on stdout{said}"))),
        }
    }
}

/// The first decimal number in `text`: `245` in `Instantaneous power
/// reading: 245 Watts`.
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let mut end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    // `12.5.` or `12.`: stop at the last dot that has digits after it.
    while end > 0 && rest[..end].parse::<f64>().is_err() {
        end -= 1;
    }
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_decimal_number_is_the_reading() {
        assert_eq!(
            first_number("Instantaneous power reading: 245 Watts"),
            Some(245.0)
        );
        assert_eq!(first_number("power=312.75W\n"), Some(312.75));
        assert_eq!(first_number("12. W"), Some(12.0));
        assert_eq!(first_number("1.2.3"), Some(1.2));
        assert_eq!(first_number("no reading"), None);
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
        assert!(silent.ends_with("printed no number on stdout"), "{silent}");
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
}
