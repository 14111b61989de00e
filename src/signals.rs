//! SIGINT and SIGTERM during `mwbench run`. Batch schedulers stop a job at
//! its time limit with SIGTERM, then SIGKILL after a grace period (Slurm's
//! KillWait, 30 s by default): the first signal asks the run to stop at
//! the end of the current sample and write what it measured; a second one
//! exits at once, removing any temporary file a write had not finished.
//!
//! This is the bottom layer: the sampling loop asks [`requested`] after
//! every sample; result files register their temporaries with
//! [`crate::results`], which removes them on the immediate exit.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::{Error, Result};

/// The first stop signal received, 0 for none.
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// From now on SIGINT and SIGTERM stop the run gracefully, and a second
/// one at once. Installs its handler once per process.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(install_handler);
}

fn install_handler() {
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!(
                "mwbench: warning: cannot handle SIGINT and SIGTERM ({e}): they will stop the run without writing a result file"
            );
            return;
        }
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if REQUESTED
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                eprintln!(
                    "\nmwbench: {}: stopping after the current sample and writing what was \
                     measured (send it again to stop at once)",
                    name(signal)
                );
                continue;
            }
            crate::results::remove_unfinished();
            eprintln!(
                "\nmwbench: {}: stopped at once; no result file written",
                name(signal)
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
        _ => "a signal",
    }
}
