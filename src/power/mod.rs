//! Where a watt figure comes from. Every source implements [`PowerSource`];
//! every reading carries its [`Provenance`], so an estimate can never pass
//! for a measurement.

use serde::{Deserialize, Serialize};

use crate::Result;

/// How a watt figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Read from a sensor on the device or host during the run.
    Sensor,
    /// Read from an external meter during the run.
    External,
    /// Given by the user (`--watts`), typically read off a wall meter.
    User,
    /// A guess from a table or a power limit: never a measurement.
    Estimated,
    /// No figure.
    None,
}

/// Power over one workload's run, as recorded in the result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerReading {
    pub provenance: Provenance,
    /// What gave the figure, in words (`--watts`, a sensor path, ...).
    pub source: String,
    pub watts: Option<f64>,
}

/// A source of power figures. The runner calls `start` just before a
/// workload's samples and `stop` just after them.
pub trait PowerSource {
    fn start(&mut self) -> Result<()>;
    fn stop(&mut self) -> Result<PowerReading>;
}

/// A constant the user read off a meter (`--watts W`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserWatts(pub f64);

impl PowerSource for UserWatts {
    fn start(&mut self) -> Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> Result<PowerReading> {
        Ok(PowerReading {
            provenance: Provenance::User,
            source: "--watts".into(),
            watts: Some(self.0),
        })
    }
}

/// No power figure: per-watt figures are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoPower;

impl PowerSource for NoPower {
    fn start(&mut self) -> Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> Result<PowerReading> {
        Ok(PowerReading {
            provenance: Provenance::None,
            source: "none (give --watts W)".into(),
            watts: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_says_where_its_figure_came_from() {
        let user = UserWatts(350.0).stop().unwrap();
        assert_eq!(user.provenance, Provenance::User);
        assert_eq!(user.watts, Some(350.0));
        let none = NoPower.stop().unwrap();
        assert_eq!(none.provenance, Provenance::None);
        assert_eq!(none.watts, None);
        assert_eq!(
            serde_json::to_string(&Provenance::Estimated).unwrap(),
            "\"estimated\""
        );
    }
}
