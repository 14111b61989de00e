//! Result files: the schema, and how they are written.

mod schema;
mod write;

pub use schema::{
    CeilingFraction, Figure, Machine, ResultDevice, ResultFile, SCHEMA_VERSION, Settings, Status,
    Throughput, WorkloadResult,
};
pub use write::{check_writable, default_path, write_atomic};
