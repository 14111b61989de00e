//! Reading result files written by any version of mwbench this build
//! understands.

use std::path::Path;

use super::ResultFile;
use crate::{Error, Result};

/// Larger than any result file `run` writes (a few hundred kB with every
/// sample), small enough to refuse a wrong file before reading it whole.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads a result file. A file that cannot be read is this machine's
/// failure (exit 1); one that is not a regular file, too large, not JSON,
/// not a result file or of a newer schema is bad input (exit 2).
pub fn read_file(path: &Path) -> Result<ResultFile> {
    parse(path, &read_text(path)?)
}

/// A result or merged file's text, checked as every input is
/// ([`crate::input`]).
pub fn read_text(path: &Path) -> Result<String> {
    crate::input::read_text(path, MAX_FILE_BYTES, "result file")
}

/// Parses the text of a result file read from `path`, naming it in errors.
pub fn parse(path: &Path, text: &str) -> Result<ResultFile> {
    ResultFile::from_json(text)
        .map_err(|reason| Error::usage(format!("{}: {reason}", path.display())))
}

/// What a reader says of a file from an interrupted run, or `None`.
pub fn interrupted_note(path: &Path, file: &ResultFile) -> Option<String> {
    file.interrupted.then(|| {
        format!(
            "{} is from an interrupted run (SIGINT or SIGTERM): it holds only the {} \
             workload results completed before it stopped",
            path.display(),
            file.results.len()
        )
    })
}

/// The note that sustained results (`run --sustain`) are counted by their
/// steady figure, when any of `files` holds one: what `compare`, `merge`
/// and `value` say.
pub fn sustained_note<'a>(files: impl IntoIterator<Item = &'a ResultFile>) -> Option<String> {
    files
        .into_iter()
        .flat_map(|f| &f.results)
        .any(|r| r.sustained.is_some())
        .then(|| {
            "sustained runs (run --sustain) count by their steady figure: the median \
             throughput and watts of the last half of their intervals, not the first seconds"
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_refused_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let committed =
            crate::fixtures::repository_root().join("results/llvmpipe-vulkan-2026-11-25.json");
        let whole = std::fs::read(&committed).unwrap();
        let cases = [
            (
                write("truncated.json", &whole[..whole.len() / 2]),
                "not JSON",
            ),
            (write("binary.json", &[0xff, 0xfe, 0x00, 0x01]), "not UTF-8"),
            (write("foreign.json", b"[1, 2, 3]"), "no schema_version"),
            (
                write("newer.json", b"{\"schema_version\": 99}"),
                "upgrade mwbench",
            ),
            (
                write("wrong.json", b"{\"schema_version\": 2, \"results\": 5}"),
                "not a valid result file",
            ),
        ];
        for (path, said) in cases {
            let error = read_file(&path).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{error}");
            assert!(error.to_string().contains(said), "'{error}' lacks '{said}'");
        }
        let large = dir.path().join("large.json");
        std::fs::File::create(&large)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        assert!(
            read_file(&large)
                .unwrap_err()
                .to_string()
                .contains("over the 64 MiB")
        );
        let missing = read_file(&dir.path().join("missing.json")).unwrap_err();
        assert_eq!(missing.exit_code(), 1);
        assert!(read_file(&committed).is_ok());
    }
}
