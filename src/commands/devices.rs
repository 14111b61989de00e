//! `mwbench devices`: every adapter wgpu sees, with its power sources.

use serde::Serialize;

use crate::gpu::{self, AdapterSummary};
use crate::power::{self, SourceStatus};
use crate::report;
use crate::{Error, Result};

/// One adapter as `devices --json` lists it.
#[derive(Debug, Serialize)]
struct Listing<'a> {
    #[serde(flatten)]
    adapter: &'a AdapterSummary,
    /// Each power source mwbench knows: available, or why not.
    power_sources: &'a [SourceStatus],
}

/// The adapter list as a table, or as a JSON array with `json`.
pub fn devices(json: bool) -> Result<String> {
    let listed: Vec<(AdapterSummary, Vec<SourceStatus>)> = gpu::summaries(&gpu::enumerate())
        .into_iter()
        .map(|summary| {
            let sources = power::survey(&summary);
            (summary, sources)
        })
        .collect();
    if json {
        let listings: Vec<Listing> = listed
            .iter()
            .map(|(adapter, power_sources)| Listing {
                adapter,
                power_sources,
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&listings).expect("listings serialise") + "\n");
    }
    if listed.is_empty() {
        return Err(Error::NoAdapter);
    }
    Ok(report::devices_table(&listed))
}
