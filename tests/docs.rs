//! The commands the README and docs show still parse: every `mwbench` line
//! of a ```sh block, and every `$ mwbench` line of an example, goes through
//! the real command line parser (nothing is run).

use std::path::{Path, PathBuf};

use clap::Parser;
use mwbench::cli::Cli;

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The `mwbench` command lines of a page's code blocks, continuation
/// lines joined.
fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fence: Option<&str> = None;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(if info.is_empty() { "text" } else { "sh" }),
            };
            continue;
        }
        let Some(kind) = fence else { continue };
        let command = if !pending.is_empty() {
            Some(trimmed.to_string())
        } else if let Some(rest) = trimmed.strip_prefix("$ mwbench ") {
            Some(format!("mwbench {rest}"))
        } else if kind == "sh" && trimmed.starts_with("mwbench ") {
            Some(trimmed.to_string())
        } else {
            None
        };
        let Some(command) = command else { continue };
        pending.push_str(command.trim_end_matches('\\'));
        pending.push(' ');
        if !command.ends_with('\\') {
            found.push(std::mem::take(&mut pending));
        }
    }
    found
}

#[test]
fn every_documented_command_parses() {
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for command in commands(&text) {
            // A comment ends the command, as the shell reads it.
            let command = command.split(" #").next().unwrap();
            let words = shell_words::split(command)
                .unwrap_or_else(|e| panic!("{}: {command}: {e}", page.display()));
            if let Err(error) = Cli::try_parse_from(&words) {
                panic!(
                    "{}: `{command}` does not parse:\n{}",
                    page.display(),
                    error.render()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found in the docs");
}
