//! Running a command: as given (no shell), in a process group of its own
//! so that a signal or a timeout reaches everything it started, whatever
//! its pipes do, and nothing it started outlives it. The command `mwbench
//! meter` meters has its output passed on to mwbench's stderr as it comes
//! and kept for the parser; an external meter's (`--power-cmd`, read at
//! every sample of `run` and `meter`) has its output only kept.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How the command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal mwbench did not send killed it.
    Killed(i32),
    /// `--timeout` ran out: its group was stopped.
    TimedOut,
    /// SIGINT or SIGTERM to mwbench (its name and mwbench's exit code),
    /// passed on to its group.
    Interrupted {
        signal: &'static str,
        exit_code: i32,
    },
}

/// What the command did.
#[derive(Debug)]
pub struct Finished {
    pub ending: Ending,
    /// Its stdout, up to [`MAX_STDOUT`].
    pub stdout: Vec<u8>,
    /// More than [`MAX_STDOUT`] came: the rest was passed on, not kept.
    pub stdout_cut: bool,
    /// The last line it printed on stderr, for a failure's message.
    pub last_stderr_line: String,
    /// From its start to its end.
    pub seconds: f64,
}

/// Most stdout kept for a parser: more than any benchmark prints.
pub const MAX_STDOUT: usize = 64 << 20;

/// How long a metered command's group has to end after SIGTERM before
/// SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// How long the output pipes may stay open once the command ended (a
/// process it left behind holding them).
const DRAIN: Duration = Duration::from_secs(2);

/// How a running command is watched.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    /// How long it may run before its group is stopped.
    pub timeout: Duration,
    /// How long its group has after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// Its output is passed on to mwbench's stderr as it comes, and
    /// mwbench's stop signals to its group (the command `mwbench meter`
    /// meters); otherwise its output is only kept and a stop signal left
    /// to mwbench (a meter's command, read between samples).
    pub attended: bool,
}

impl Watch {
    /// The command `mwbench meter` meters, for at most `timeout`.
    pub fn metered(timeout: Duration) -> Watch {
        Watch {
            timeout,
            grace: GRACE,
            attended: true,
        }
    }

    /// A command run for its output alone (an external meter's), for at
    /// most `timeout`.
    pub fn quiet(timeout: Duration) -> Watch {
        Watch {
            timeout,
            grace: Duration::from_secs(1),
            attended: false,
        }
    }
}

/// A command started in a process group of its own.
pub struct Running {
    child: std::process::Child,
    program: String,
    since: Instant,
}

/// Starts `argv` as given (no shell) in a process group of its own, so
/// that a timeout or a signal reaches everything it starts, with no input
/// and its output piped.
pub fn spawn(argv: &[String]) -> std::io::Result<Running> {
    let program = &argv[0];
    let child = Command::new(program)
        .args(&argv[1..])
        // A process group of its own reading the terminal would be stopped
        // (SIGTTIN): an unattended command gets no input.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    Ok(Running {
        child,
        program: program.clone(),
        since: Instant::now(),
    })
}

/// [`spawn`] for the command the user asked to meter: failing to start it
/// is a usage error (the program is not found or not executable).
pub fn start(argv: &[String]) -> Result<Running> {
    let program = &argv[0];
    spawn(argv).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::usage(format!(
            "{program}: command not found (give its path, or check PATH)"
        )),
        std::io::ErrorKind::PermissionDenied => {
            Error::usage(format!("{program}: not executable (permission denied)"))
        }
        _ => Error::usage(format!("{program}: cannot start: {e}")),
    })
}

impl Running {
    /// Waits for the command, for at most `watch.timeout` from its start
    /// whatever its pipes do, then ends whatever it left behind in its
    /// group: nothing of it outlives this call. `ended` runs as soon as the
    /// command itself has ended (to close a meter's window).
    pub fn watch(self, watch: &Watch, ended: impl FnOnce()) -> Result<Finished> {
        let Running {
            mut child,
            program,
            since,
        } = self;
        let group = child.id() as i32;
        if watch.attended {
            crate::signals::forward_to_group(group);
        }
        let (done, drained) = mpsc::channel();
        let pass_on = watch.attended;
        let stdout = spawn_reader(
            child.stdout.take(),
            Keep::First(MAX_STDOUT),
            pass_on,
            done.clone(),
        );
        let stderr = spawn_reader(child.stderr.take(), Keep::Last(4096), pass_on, done);
        let interrupted = || {
            if watch.attended {
                crate::signals::requested()
            } else {
                None
            }
        };

        let mut terminated: Option<Instant> = None;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(source) => {
                    crate::signals::signal_group(group, libc::SIGKILL);
                    if watch.attended {
                        crate::signals::forward_to_group(0);
                    }
                    return Err(Error::Io {
                        action: "wait for",
                        path: program.into(),
                        source,
                    });
                }
            }
            if terminated.is_none() && since.elapsed() >= watch.timeout {
                timed_out = true;
                crate::signals::signal_group(group, libc::SIGTERM);
                terminated = Some(Instant::now());
            }
            // A signal to mwbench was passed on by the handler: give the
            // command the same grace as a timeout.
            if terminated.is_none() && interrupted().is_some() {
                terminated = Some(Instant::now());
            }
            if terminated.is_some_and(|t| t.elapsed() >= watch.grace) {
                crate::signals::signal_group(group, libc::SIGKILL);
            }
            // Often at first, for a meter that answers in milliseconds.
            std::thread::sleep(
                (since.elapsed() / 8).clamp(Duration::from_millis(1), Duration::from_millis(20)),
            );
        };
        let seconds = since.elapsed().as_secs_f64();
        ended();
        // What it left behind in its group ends with it, and with them the
        // pipes they hold.
        if watch.attended {
            crate::signals::forward_to_group(0);
        }
        crate::signals::signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + DRAIN;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if drained.recv_timeout(left).is_err() {
                break;
            }
        }
        // And what ignored SIGTERM, at once: nothing of the command
        // outlives it.
        crate::signals::signal_group(group, libc::SIGKILL);
        let (stdout, stdout_cut) = stdout.take();
        let (stderr, _) = stderr.take();
        let last_stderr_line = String::from_utf8_lossy(&stderr)
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let ending = match (interrupted(), timed_out) {
            (
                Some(Error::Interrupted {
                    signal, exit_code, ..
                }),
                _,
            ) => Ending::Interrupted { signal, exit_code },
            (_, true) => Ending::TimedOut,
            (_, false) => match (status.code(), status.signal()) {
                (Some(code), _) => Ending::Exited(code),
                (None, Some(signal)) => Ending::Killed(signal),
                (None, None) => Ending::Killed(0),
            },
        };
        Ok(Finished {
            ending,
            stdout,
            stdout_cut,
            last_stderr_line,
            seconds,
        })
    }
}

/// What a reader keeps of its pipe.
#[derive(Clone, Copy)]
enum Keep {
    /// The start, for a parser (stdout).
    First(usize),
    /// The end, for the last line (stderr).
    Last(usize),
}

/// Output kept by a reader thread, and whether some was left out.
struct Kept {
    buffer: std::sync::Arc<std::sync::Mutex<(Vec<u8>, bool)>>,
}

impl Kept {
    fn take(self) -> (Vec<u8>, bool) {
        let mut kept = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *kept)
    }
}

/// Keeps what `keep` says of `pipe`, and passes it on to mwbench's stderr
/// as it comes when `pass_on`. Says on `done` when the pipe closes.
fn spawn_reader(
    pipe: Option<impl Read + Send + 'static>,
    keep: Keep,
    pass_on: bool,
    done: mpsc::Sender<()>,
) -> Kept {
    let buffer = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), false)));
    let shared = buffer.clone();
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else {
            let _ = done.send(());
            return;
        };
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // A closed stderr (mwbench | head) is not the command's
            // problem: its output is still kept.
            if pass_on {
                let _ = std::io::stderr().lock().write_all(&chunk[..n]);
            }
            let mut kept = shared.lock().unwrap_or_else(|p| p.into_inner());
            let (bytes, cut) = &mut *kept;
            // Past the start a parser reads, the rest is passed on only.
            if *cut {
                continue;
            }
            bytes.extend_from_slice(&chunk[..n]);
            match keep {
                Keep::First(most) if bytes.len() > most => {
                    bytes.truncate(most);
                    *cut = true;
                }
                Keep::Last(most) if bytes.len() > most => {
                    let excess = bytes.len() - most;
                    bytes.drain(..excess);
                }
                _ => {}
            }
        }
        let _ = done.send(());
    });
    Kept { buffer }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn run_for(words: &[&str], timeout: Duration) -> Result<Finished> {
        start(&argv(words))?.watch(&Watch::metered(timeout), || {})
    }

    #[test]
    fn output_is_kept_and_the_exit_code_told() {
        let done = run_for(
            &[
                "sh",
                "-c",
                "echo out; echo first >&2; echo last >&2; exit 3",
            ],
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(done.ending, Ending::Exited(3));
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.last_stderr_line, "last");
        assert!(!done.stdout_cut);
    }

    #[test]
    fn a_timeout_stops_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // The grandchild would write the marker after 3 s, unless the
        // group is stopped.
        let script = format!("(sleep 3; touch {}) & sleep 60", marker.display());
        let done = run_for(&["sh", "-c", &script], Duration::from_millis(300)).unwrap();
        assert_eq!(done.ending, Ending::TimedOut);
        assert!(done.seconds < 10.0, "{}", done.seconds);
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            !marker.exists(),
            "a process of the group outlived the timeout"
        );
    }

    /// A process left behind holding stdout does not keep mwbench waiting,
    /// nor outlive the command, even one that ignores SIGTERM.
    #[test]
    fn leftovers_are_ended_with_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!(
            "(trap '' TERM; sleep 3; touch {}) & echo started",
            marker.display()
        );
        let done = run_for(&["sh", "-c", &script], Duration::from_secs(60)).unwrap();
        assert_eq!(done.ending, Ending::Exited(0));
        std::thread::sleep(Duration::from_secs(4));
        assert!(!marker.exists(), "a leftover that ignores SIGTERM survived");
        let started = Instant::now();
        let done = run_for(
            &["sh", "-c", "sleep 30 & echo quick"],
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(done.ending, Ending::Exited(0));
        assert_eq!(done.stdout, b"quick\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// A quiet command (a meter's) that leaves a child holding its pipes
    /// ends when it does, its output kept and not passed on; one that
    /// never ends is stopped at its timeout, with all it started.
    #[test]
    fn a_quiet_command_ends_with_its_group() {
        let started = Instant::now();
        let running = spawn(&argv(&["sh", "-c", "echo 150; sleep 3600 &"])).unwrap();
        let done = running
            .watch(&Watch::quiet(Duration::from_secs(5)), || {})
            .unwrap();
        assert_eq!(done.ending, Ending::Exited(0));
        assert_eq!(done.stdout, b"150\n");
        assert!(started.elapsed() < Duration::from_secs(4));
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!(
            "(trap '' TERM; sleep 4; touch {}) & sleep 60",
            marker.display()
        );
        let started = Instant::now();
        let running = spawn(&argv(&["sh", "-c", &script])).unwrap();
        let mut ended = false;
        let done = running
            .watch(&Watch::quiet(Duration::from_millis(300)), || ended = true)
            .unwrap();
        assert_eq!(done.ending, Ending::TimedOut);
        assert!(ended);
        assert!(started.elapsed() < Duration::from_secs(4));
        std::thread::sleep(Duration::from_secs(5));
        assert!(!marker.exists(), "a process of the group outlived it");
    }

    #[test]
    fn missing_and_unexecutable_programs_are_usage_errors() {
        let error = run_for(&["/nonexistent/vllm"], Duration::from_secs(1)).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("command not found"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("bench.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let error = run_for(&[script.to_str().unwrap()], Duration::from_secs(1)).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("not executable"), "{error}");
    }
}
