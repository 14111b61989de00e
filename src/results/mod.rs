//! Result files: the schema, and how they are written.

mod read;
mod schema;
mod write;

pub use read::{MAX_FILE_BYTES, interrupted_note, read_file};

pub use schema::{
    CeilingFraction, Figure, Machine, OLDEST_READABLE, ResultDevice, ResultFile, SCHEMA_VERSION,
    Settings, Status, Throughput, WorkloadResult, json_schema,
};
pub use write::{check_writable, default_path, write_atomic};
