//! The `mwbench` binary: parse the command line, run the command, print its
//! output, and turn errors into one line on stderr and an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use mwbench::cli::Cli;
use mwbench_results::printable;

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        // The shader compiler's panics are caught and become the
        // workload's failure, reported with the others.
        if mwbench::gpu::compiler_panic_is_caught() {
            return;
        }
        mwbench::stderr_line!("mwbench: internal error: {info} (please report this)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    let mut stdout: Box<dyn Write> = if stdout_was_closed() {
        Box::new(Closed)
    } else {
        Box::new(std::io::stdout().lock())
    };
    let outcome = match cli.execute(&mut *stdout) {
        Ok(outcome) => outcome,
        Err(error) => return failed(&error),
    };
    // A full disk or a closed descriptor loses the output: that fails
    // (`failed` keeps a closed pipe, `mwbench devices | head`, quiet).
    if let Err(source) = stdout
        .write_all(outcome.stdout.as_bytes())
        .and_then(|()| stdout.flush())
    {
        return failed(&mwbench::Error::Io {
            action: "write",
            path: "standard output".into(),
            source,
        });
    }
    for note in &outcome.notes {
        mwbench::stderr_line!("{}", printable(note));
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
    // One line, whatever a file's text quoted in it holds.
    mwbench::stderr_line!("mwbench: error: {}", printable(&error.to_string()));
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
        mwbench::stderr_line!(
            "mwbench: error: no command given; one of: {} (see mwbench --help)",
            commands.join(", ")
        );
        return ExitCode::from(2);
    }
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // Help asked for must arrive; a full disk or a closed stdout is
        // a failure, as for any output.
        if stdout_was_closed() || error.print().is_err() {
            mwbench::stderr_line!("mwbench: error: cannot write standard output");
            return ExitCode::from(1);
        }
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
    mwbench::stderr_line!("mwbench: error: {line} (see mwbench --help)");
    ExitCode::from(2)
}

/// Whether mwbench started with its stdout closed (`mwbench export >&-`).
/// Rust's runtime then opens /dev/null read-write in its place, so that
/// writes vanish without an error; a shell's `>/dev/null` opens it
/// write-only, so the two can be told apart.
fn stdout_was_closed() -> bool {
    let mut stdout = std::mem::MaybeUninit::<libc::stat>::uninit();
    let mut null = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat and stat fill the buffers they are given when they
    // return 0, and the buffers are read only then.
    unsafe {
        libc::fstat(1, stdout.as_mut_ptr()) == 0
            && libc::stat(c"/dev/null".as_ptr(), null.as_mut_ptr()) == 0
            && stdout.assume_init().st_rdev == null.assume_init().st_rdev
            && stdout.assume_init().st_mode & libc::S_IFMT == libc::S_IFCHR
            && libc::fcntl(1, libc::F_GETFL) & libc::O_ACCMODE == libc::O_RDWR
    }
}

/// A stdout that was closed: every write fails as it would have.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from_raw_os_error(libc::EBADF))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
