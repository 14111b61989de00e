//! `mwbench devices`: every adapter wgpu sees, with its power sources.

use schemars::JsonSchema;
use serde::Serialize;

use super::Outcome;
use crate::gpu::{self, AdapterSummary};
use crate::power::{self, SourceStatus};
use crate::report::{self, Format, Output};
use crate::{Error, Result};

/// One adapter as `devices --format json` lists it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing {
    #[serde(flatten)]
    pub adapter: AdapterSummary,
    /// Each power source mwbench knows: available, or why not.
    pub power_sources: Vec<SourceStatus>,
}

/// Every adapter with its power sources; an empty list is an error except
/// as JSON (an empty array says it to a tool).
pub fn devices(format: Format) -> Result<Outcome> {
    report::check_flat(format, "devices")?;
    let listings: Vec<Listing> = gpu::summaries(&gpu::enumerate())
        .into_iter()
        .map(|adapter| {
            let power_sources = power::survey(&adapter);
            Listing {
                adapter,
                power_sources,
            }
        })
        .collect();
    if listings.is_empty() && format != Format::Json {
        return Err(Error::NoAdapter);
    }
    let document = report::devices_document(
        listings
            .iter()
            .map(|l| (&l.adapter, l.power_sources.as_slice())),
    );
    let output = Output::new(&listings, document);
    Ok(Outcome::printed(report::render(&output, format)?))
}
