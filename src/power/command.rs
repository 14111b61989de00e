//! An external meter: a command the user names (IPMI DCMI, a PDU over
//! SNMP, a smart plug) that prints the watts it reads. It measures the
//! whole host or rack, so adapters share it.

use std::time::Duration;

use super::{MAX_WATTS, MIN_WATTS, PowerSource, Provenance, Reading, plausible_watts};
use crate::external::child::{self, Ending, Watch};
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
        // In a group of its own, for at most TIMEOUT whatever its pipes
        // do: a meter that leaves a process behind (`echo 150; sleep 3600
        // &`) neither hangs the run nor outlives its reading.
        let running = child::spawn(&self.words)
            .map_err(|e| self.failure(format_args!("cannot start: {e}")))?;
        let done = running.watch(&Watch::quiet(TIMEOUT), || {})?;
        let said = if done.last_stderr_line.is_empty() {
            String::new()
        } else {
            format!(": {}", done.last_stderr_line)
        };
        match done.ending {
            Ending::Exited(0) => {}
            Ending::TimedOut => {
                return Err(self.failure(format_args!(
                    "gave no reading within {} s (its process group was stopped)",
                    TIMEOUT.as_secs()
                )));
            }
            Ending::Exited(code) => {
                return Err(self.failure(format_args!("failed (exit status: {code}){said}")));
            }
            Ending::Killed(signal)
            | Ending::Interrupted {
                exit_code: signal, ..
            } => {
                return Err(self.failure(format_args!("failed (killed by signal {signal}){said}")));
            }
        }
        let stdout = String::from_utf8_lossy(&done.stdout);
        match parse_watts(&stdout) {
            Ok(watts) => Ok(Reading::Watts(watts)),
            Err(why) => Err(self.failure(format_args!("{why}{said}"))),
        }
    }
}

/// The watts in a meter's output: the first number (`245` in
/// `Instantaneous power reading: 245 Watts`, `312.75` in `power=312.75W`),
/// with its sign and exponent, optionally followed by `W` or `Watts`. It
/// must be a plausible figure ([`plausible_watts`]: the range every
/// reading, `--watts` and every result file is held to); anything else
/// (`0x10`, `-5`, `1e400`, `0`, `0.0001`) is an error that quotes what the
/// meter printed. So is a number the first digits of which may not be the
/// whole figure: a thousands separator (`1,500 W`, `1'500`, `1 500 W`),
/// a decimal comma (`245,5`), or a multiple of the watt (`12 kW`).
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
    let unit = ["Watts", "watts", "Watt", "watt", "W", "w"]
        .iter()
        .find(|unit| token.ends_with(*unit));
    let number = unit.map_or(token, |unit| &token[..token.len() - unit.len()]);
    let after = &text[token_end..];
    // `1,500`, `1'500`, `1_500`, `245,5`: the digits after the mark are
    // part of the figure, in a way a meter's locale decides.
    let mut marks = after.chars();
    if unit.is_none()
        && matches!(marks.next(), Some(',' | '\'' | '_'))
        && marks.next().is_some_and(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "printed '{}', a number with a thousands separator or a decimal comma: \
             give plain watts (1500 W): {}",
            after
                .split_whitespace()
                .next()
                .map_or_else(String::new, |rest| format!("{token}{rest}")),
            quoted()
        ));
    }
    // The word after the number, on its line: `1 500 W` is a figure cut in
    // two, `12 kW` is not in watts.
    let next_word = after
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if unit.is_none() && next_word.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "printed '{token} {next_word}': digits grouped by a space (a thousands \
             separator?); give plain watts (1500 W): {}",
            quoted()
        ));
    }
    if ["kW", "KW", "kw", "MW", "mW"]
        .iter()
        .any(|u| next_word.starts_with(u))
    {
        return Err(format!("reads in {next_word}, not watts: {}", quoted()));
    }
    let watts: f64 = number
        .parse()
        .map_err(|_| format!("printed '{token}', not a number of watts: {}", quoted()))?;
    if !plausible_watts(watts) {
        return Err(format!(
            "read {} W, outside the [{MIN_WATTS}, {MAX_WATTS:e}] W a meter can read: {}",
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
            ("0.001 W", 0.001),
            ("{\"power\": 245, \"volts\": 230}", 245.0),
            ("{\"power\":245,\"volts\":230}", 245.0),
            ("power=312.75W,volts=230", 312.75),
            ("245\n1500", 245.0),
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
            "1,500 W",
            "1,500",
            "1'500 W",
            "1_500 W",
            "245,5 W",
            "1 500 W",
            "1\u{a0}500 W",
            "1\u{202f}500 W",
            "0.0001",
            "0.0009 W",
            "245abc",
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
                    Ok(watts) => prop_assert!(plausible_watts(watts)),
                    Err(error) => prop_assert!(!error.is_empty()),
                }
            }

            /// A figure is read whole or refused: never its first digit
            /// group (`1,500 W` as 1 W).
            #[test]
            fn grouped_digits_are_refused(
                thousands in 1u32..1000,
                units in 0u32..1000,
                mark in prop::sample::select(vec![",", "'", "_", " ", "\u{a0}", "\u{202f}"]),
                unit in prop::sample::select(vec!["", " W", "W", " Watts"]),
                prefix in "[a-z :=]{0,8}",
            ) {
                let text = format!("{prefix}{thousands}{mark}{units:03}{unit}");
                prop_assert!(parse_watts(&text).is_err(), "{} was accepted as {:?}", text, parse_watts(&text));
            }

            /// Any plausible figure, printed plainly, is read exactly.
            #[test]
            fn plain_figures_are_read_exactly(
                watts in MIN_WATTS..=MAX_WATTS,
                unit in prop::sample::select(vec!["", " W", "W", " Watts", "watts", "W,"]),
                prefix in "[a-zA-Z :=]{0,12}",
            ) {
                let text = format!("{prefix}{watts}{unit}\n");
                prop_assert_eq!(parse_watts(&text), Ok(watts));
            }

            #[test]
            fn number_like_output(
                text in "[a-z :=]{0,8}[-+]?[0-9]{0,6}[.]?[0-9]{0,3}([eE][-+]?[0-9]{1,4})? ?(W|Watts|kW|x1|)"
            ) {
                if let Ok(watts) = parse_watts(&text) {
                    prop_assert!(plausible_watts(watts));
                }
            }
        }
    }
}
