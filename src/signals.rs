//! SIGINT, SIGTERM and SIGHUP (a dropped ssh session) during `mwbench run`
//! and `mwbench meter`. Batch schedulers stop a job at
//! its time limit with SIGTERM, then SIGKILL after a grace period (Slurm's
//! KillWait, 30 s by default): the first signal asks the run to stop at
//! the end of the current sample and write what it measured; a second one
//! exits at once, removing any temporary file a write had not finished.
//!
//! This is the bottom layer: the sampling loop asks [`requested`] after
//! every sample; result files register their temporaries with
//! [`crate::results`], which removes them on the immediate exit.
//!
//! `mwbench meter` runs a command in a process group of its own (so that a
//! terminal's Ctrl-C reaches mwbench alone) and registers it with
//! [`forward_to_group`]: the first signal is passed on to the whole group
//! at once, and a second one kills it before mwbench exits.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::{Error, Result};

/// The first stop signal received, 0 for none.
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// The process group of a command `mwbench meter` runs, 0 for none.
static CHILD_GROUP: AtomicI32 = AtomicI32::new(0);

/// From now on stop signals go to process group `group` too (0: to no
/// group). A signal that came before the group existed is passed on at
/// once.
pub fn forward_to_group(group: i32) {
    CHILD_GROUP.store(group, Ordering::SeqCst);
    let pending = REQUESTED.load(Ordering::SeqCst);
    if group > 0 && pending != 0 {
        signal_group(group, pending);
    }
}

/// Sends `signal` to every process of `group` (a group that is gone is
/// not an error).
pub fn signal_group(group: i32, signal: i32) {
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals a process group; it
        // touches no memory of ours.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// From now on SIGINT, SIGTERM and SIGHUP stop the run gracefully, and a second
/// one at once. Installs its handler once per process.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(install_handler);
}

fn install_handler() {
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            crate::stderr_line!(
                "mwbench: warning: cannot handle SIGINT, SIGTERM and SIGHUP ({e}): they will stop the run without writing a result file"
            );
            return;
        }
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let group = CHILD_GROUP.load(Ordering::SeqCst);
            if REQUESTED
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                if group > 0 {
                    signal_group(group, signal);
                    crate::stderr_line!(
                        "\nmwbench: {}: passed to the metered command; writing the result \
                         file, marked interrupted, when it ends (send it again to kill it and \
                         stop at once)",
                        name(signal)
                    );
                } else {
                    crate::stderr_line!(
                        "\nmwbench: {}: stopping after the current sample and writing what \
                         was measured (send it again to stop at once)",
                        name(signal)
                    );
                }
                continue;
            }
            signal_group(group, libc::SIGKILL);
            crate::results::remove_unfinished();
            // `run` writes a checkpoint after each completed workload:
            // that file stays, and the message must not deny it.
            crate::stderr_line!(
                "\nmwbench: {}: stopped at once; {}",
                name(signal),
                match crate::results::files_written() {
                    0 => "no result file written",
                    _ => "the result files already written (marked interrupted) stay as they are",
                }
            );
            std::process::exit(128 + signal);
        }
    });
}

/// The stop a signal asked for, as the error that ends the run.
pub fn requested() -> Option<Error> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(Error::Interrupted {
            signal: name(signal),
            exit_code: 128 + signal,
            detail: String::new(),
        }),
    }
}

/// Fails with [`Error::Interrupted`] once a stop was asked for.
pub fn check() -> Result<()> {
    requested().map_or(Ok(()), Err)
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
