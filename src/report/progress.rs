//! A progress bar on stderr, shown only to a person at a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one long step. Hidden when output is JSON or stdout or
/// stderr is not a terminal, so logs and pipes stay clean.
pub struct Progress {
    bar: ProgressBar,
    /// What the step is, before its phase.
    message: String,
}

const STEPS: u64 = 1000;

impl Progress {
    /// Whether a bar should be drawn for this invocation.
    pub fn wanted(json: bool) -> bool {
        !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
    }

    pub fn new(visible: bool, message: String) -> Self {
        let bar = if visible {
            ProgressBar::new(STEPS)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg:50!} [{bar:30}] {percent:>3}% {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message.clone());
        // Redrawn every 200 ms, so the spinner and the time move in every
        // phase, not only while the samples advance the bar.
        if visible {
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        Progress { bar, message }
    }

    /// Names what the step is doing now: `gemm-f32 on llvmpipe: calibrating`.
    pub fn phase(&self, phase: &str) {
        self.bar.set_message(format!("{}: {phase}", self.message));
    }

    /// Sets the fraction done, from 0 to 1.
    pub fn set(&self, fraction: f64) {
        self.bar
            .set_position((fraction.clamp(0.0, 1.0) * STEPS as f64) as u64);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
