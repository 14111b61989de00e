//! `mwbench devices`: every adapter wgpu sees.

use crate::gpu;
use crate::report;
use crate::{Error, Result};

/// The adapter list as a table, or as a JSON array with `json`.
pub fn devices(json: bool) -> Result<String> {
    let summaries = gpu::summaries(&gpu::enumerate());
    if json {
        return Ok(serde_json::to_string_pretty(&summaries).expect("summaries serialise") + "\n");
    }
    if summaries.is_empty() {
        return Err(Error::NoAdapter);
    }
    Ok(report::devices_table(&summaries))
}
