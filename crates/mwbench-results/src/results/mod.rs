//! Result files: the schema, and how they are written.

mod read;
mod schema;
mod sustained;
mod units;
mod write;

pub use read::{MAX_FILE_BYTES, interrupted_note, parse, read_file, read_text, sustained_note};

pub use schema::{
    Backend, CeilingFraction, DEVICE_MEMORY_BYTES, DeviceMemory, DeviceType, EXTERNAL_WORKLOAD,
    Figure, MAX_SAMPLES, Machine, OLDEST_READABLE, ResultDevice, ResultFile, SCHEMA_VERSION,
    Settings, Status, Throughput, WorkloadResult, at_position, decode_shape, hashcat_mode,
    hashcat_shape, json_schema, per_watt,
};
pub use sustained::{MIN_INTERVALS, SeriesPoint, Sustained, SustainedFigure};
pub use units::{
    MAX_WATTS, MIN_WATTS, MS_PER_TOKEN, PowerReading, Provenance, Summary, TimingMethod, Unit,
    WORKLOAD_UNITS, check_workload_unit, plausible_watts, workload_unit,
};
pub use write::{
    DEFAULT_DIRECTORY, check_writable, default_destination, default_path, files_written,
    remove_unfinished, write_atomic,
};
