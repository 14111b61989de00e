//! One function per subcommand. Each takes plain options (no clap) and
//! returns what goes to stdout; progress and notes go to stderr.

mod compare;
mod devices;
mod mine;
mod run;
mod value;

pub use compare::{CompareFormat, CompareOptions, compare};
pub use devices::devices;
pub use mine::{MineOptions, mine};
pub use run::{RunOptions, run};
pub use value::{ValueOptions, value};
