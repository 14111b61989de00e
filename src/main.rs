//! The `mwbench` binary: parse the command line, run the command, print its
//! output, and turn errors into one line on stderr and an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use mwbench::cli::Cli;

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        // The shader compiler's panics are caught and become the
        // workload's failure, reported with the others.
        if mwbench::gpu::compiler_panic_is_caught() {
            return;
        }
        eprintln!("mwbench: internal error: {info} (please report this)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    let mut stdout = std::io::stdout().lock();
    let outcome = match cli.execute(&mut stdout) {
        Ok(outcome) => outcome,
        Err(error) => return failed(&error),
    };
    // A closed pipe (`mwbench devices | head`) is not an error.
    let _ = stdout.write_all(outcome.stdout.as_bytes());
    let _ = stdout.flush();
    for note in &outcome.notes {
        eprintln!("{note}");
    }
    match outcome.failure {
        Some(error) => failed(&error),
        None => ExitCode::SUCCESS,
    }
}

/// One line on stderr and the error's exit code.
fn failed(error: &mwbench::Error) -> ExitCode {
    // `mwbench mine | head`: the reader has all it wanted.
    if let mwbench::Error::Io { source, .. } = error
        && source.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    eprintln!("mwbench: error: {error}");
    ExitCode::from(error.exit_code() as u8)
}

/// Help and version print as clap renders them; usage errors are folded
/// into one line and exit 2.
fn clap_error(error: clap::Error) -> ExitCode {
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        use clap::CommandFactory;
        let commands: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .filter(|name| name != "help")
            .collect();
        eprintln!(
            "mwbench: error: no command given; one of: {} (see mwbench --help)",
            commands.join(", ")
        );
        return ExitCode::from(2);
    }
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::from(error.exit_code() as u8);
    }
    let rendered = error.render().to_string();
    let line: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let line = line.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    eprintln!("mwbench: error: {line} (see mwbench --help)");
    ExitCode::from(2)
}
