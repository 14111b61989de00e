//! The one error type every command returns, and the exit code each kind of
//! error maps to.

use std::path::PathBuf;

/// Result alias used across mwbench.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a command. The message is what the user sees,
/// on one line, so each says what was wrong and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong: it would fail the same way on any machine.
    #[error("{0}")]
    Usage(String),

    /// `--device` named no adapter wgpu can see.
    #[error("no adapter matches --device '{wanted}'; adapters: {available}")]
    UnknownAdapter { wanted: String, available: String },

    /// wgpu found no adapter at all.
    #[error(
        "wgpu found no GPU adapter; on a machine without a GPU install Mesa's \
         software Vulkan driver: apt-get install -y mesa-vulkan-drivers"
    )]
    NoAdapter,

    /// The GPU, its driver or wgpu failed.
    #[error("GPU error on {adapter}: {message}")]
    Gpu { adapter: String, message: String },

    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A workload cannot run on this adapter (a missing feature, a size
    /// over its limits); the run goes on with the others.
    #[error("{0}")]
    Unsupported(String),

    /// A power source that was asked for is unavailable, or failed while
    /// the run read it.
    #[error("{0}")]
    Power(String),

    /// `compare --fail-on-regression` found a workload slower than its
    /// base beyond noise.
    #[error("{0}")]
    Regression(String),

    /// The GPU did not finish a submission within `--kernel-timeout`, or
    /// the device was lost: nothing more can run on it.
    #[error("GPU error on {adapter}: {message}")]
    GpuLost { adapter: String, message: String },

    /// SIGINT or SIGTERM stopped the run; what it completed was written.
    /// `detail` says what was not run.
    #[error("interrupted by {signal}{detail}")]
    Interrupted {
        signal: &'static str,
        exit_code: i32,
        detail: String,
    },

    /// At least one workload failed its check against the CPU reference;
    /// its figures were not reported.
    #[error("{0}")]
    VerificationFailed(String),

    /// The command `mwbench meter` ran failed, timed out, or printed what
    /// its `--parse` format cannot read: no figure.
    #[error("{0}")]
    CommandFailed(String),
}

impl Error {
    /// Exit code: 2 for usage errors (the command line is wrong), 1 for
    /// failures of this machine (GPU, files, failed verification).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::UnknownAdapter { .. } => 2,
            // 128 + the signal, as a shell reports a process it killed.
            Error::Interrupted { exit_code, .. } => *exit_code,
            Error::NoAdapter
            | Error::Gpu { .. }
            | Error::GpuLost { .. }
            | Error::Io { .. }
            | Error::Unsupported(_)
            | Error::Power(_)
            | Error::Regression(_)
            | Error::VerificationFailed(_)
            | Error::CommandFailed(_) => 1,
        }
    }

    /// A usage error with the given message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }
}

pub use mwbench_results::shown;

/// Errors of the result files, compare and value keep their kind, and so
/// their exit code.
impl From<mwbench_results::Error> for Error {
    fn from(error: mwbench_results::Error) -> Self {
        match error {
            mwbench_results::Error::Usage(message) => Error::Usage(message),
            mwbench_results::Error::Io {
                action,
                path,
                source,
            } => Error::Io {
                action,
                path,
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_and_runtime_errors_exit_1() {
        assert_eq!(Error::usage("bad").exit_code(), 2);
        let unknown = Error::UnknownAdapter {
            wanted: "x".into(),
            available: "0: llvmpipe".into(),
        };
        assert_eq!(unknown.exit_code(), 2);
        assert_eq!(Error::NoAdapter.exit_code(), 1);
        assert_eq!(Error::VerificationFailed("x".into()).exit_code(), 1);
    }

    #[test]
    fn errors_of_the_result_files_keep_their_exit_code() {
        let usage: Error = mwbench_results::Error::usage("bad").into();
        assert_eq!(usage.exit_code(), 2);
        let io: Error = mwbench_results::Error::Io {
            action: "read",
            path: "x".into(),
            source: std::io::Error::other("gone"),
        }
        .into();
        assert_eq!(io.exit_code(), 1);
    }

    #[test]
    fn no_adapter_says_how_to_get_lavapipe() {
        assert!(Error::NoAdapter.to_string().contains("mesa-vulkan-drivers"));
    }
}
