//! Sustained runs (`run --sustain`): the measured samples cut into
//! intervals as they run, each with the power drawn over it and the
//! adapter's temperature, clocks and throttle reasons at its end; then the
//! series a result keeps.

use std::time::Duration;

use crate::measure::Sample;
use crate::power::Meter;
use crate::power::conditions::{ConditionSensor, Conditions};
use crate::results::{SeriesPoint, Unit};

/// One interval as it ended.
struct Lap {
    /// Seconds from the first sample to the sample that ended it.
    t: f64,
    /// The samples before this index belong to this interval or earlier.
    samples_through: usize,
    watts: Option<f64>,
    conditions: Conditions,
    checked: bool,
}

/// Records a sustained run's intervals, told of each sample by the runner's
/// observer. Only the workload's first measuring window is the sustained
/// run (an LLM samples its head afterwards, briefly).
pub struct Laps {
    interval: f64,
    sensor: Option<Box<dyn ConditionSensor>>,
    laps: Vec<Lap>,
    samples: usize,
    last_at: f64,
    checked: bool,
    state: State,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Running,
    Done,
}

impl Laps {
    /// Intervals of `interval`, with conditions from `sensor` where the
    /// adapter has one.
    pub fn new(interval: Duration, sensor: Option<Box<dyn ConditionSensor>>) -> Laps {
        Laps {
            interval: interval.as_secs_f64(),
            sensor,
            laps: Vec::new(),
            samples: 0,
            last_at: 0.0,
            checked: false,
            state: State::Waiting,
        }
    }

    /// The measured samples began.
    pub fn started(&mut self) {
        if self.state == State::Waiting {
            self.state = State::Running;
        }
    }

    /// A sample ended `at` seconds in: the interval ends with the first
    /// sample past its boundary, so every interval holds whole samples.
    pub fn sampled(&mut self, at: f64, meter: &mut Meter) {
        if self.state != State::Running {
            return;
        }
        self.samples += 1;
        self.last_at = at;
        let boundary = (self.laps.len() + 1) as f64 * self.interval;
        if at >= boundary {
            self.lap(at, meter);
        }
    }

    /// The output passed its check during the current interval.
    pub fn checked(&mut self) {
        if self.state == State::Running {
            self.checked = true;
        }
    }

    /// The measured samples ended: what is left becomes a last interval
    /// if it lasted at least half an interval (else its samples stay in
    /// the result, outside the series).
    pub fn ended(&mut self, meter: &mut Meter) {
        if self.state != State::Running {
            return;
        }
        let since = self.laps.last().map_or(0.0, |l| l.t);
        let through = self.laps.last().map_or(0, |l| l.samples_through);
        if self.samples > through && self.last_at - since >= self.interval / 2.0 {
            self.lap(self.last_at, meter);
        }
        self.state = State::Done;
    }

    fn lap(&mut self, t: f64, meter: &mut Meter) {
        let watts = meter.lap();
        let conditions = self.sensor.as_mut().map(|s| s.read()).unwrap_or_default();
        self.laps.push(Lap {
            t,
            samples_through: self.samples,
            watts,
            conditions,
            checked: std::mem::take(&mut self.checked),
        });
    }

    /// The series over `samples` (the workload's, in order, in its raw
    /// work), each interval's throughput in `unit`; and the index of the
    /// first sample of the last half of the intervals.
    pub fn into_series(self, samples: &[Sample], unit: Unit) -> (Vec<SeriesPoint>, usize) {
        let mut series = Vec::new();
        let mut from = 0;
        let mut starts = Vec::new();
        for lap in self.laps {
            let through = lap.samples_through.min(samples.len());
            let span = &samples[from..through];
            let work: f64 = span.iter().map(|s| s.work).sum();
            let seconds: f64 = span.iter().map(|s| s.seconds).sum();
            if span.is_empty() || seconds <= 0.0 {
                continue;
            }
            starts.push(from);
            series.push(SeriesPoint {
                t: lap.t,
                throughput: work / seconds * unit.scale(),
                watts: lap.watts,
                temperature_c: lap.conditions.temperature_c,
                sm_clock_mhz: lap.conditions.sm_clock_mhz,
                memory_clock_mhz: lap.conditions.memory_clock_mhz,
                throttle: lap.conditions.throttle,
                checked: lap.checked,
            });
            from = through;
        }
        let steady_from = starts.get(series.len() / 2).copied().unwrap_or(0);
        (series, steady_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples of 0.25 s at 100 work/s, then 80 after 2 s; intervals of 1 s.
    #[test]
    fn intervals_hold_whole_samples_and_their_rate() {
        let mut meter = Meter::without_source("none".into());
        let mut laps = Laps::new(Duration::from_secs(1), None);
        laps.started();
        let mut samples = Vec::new();
        for i in 1..=16 {
            let at = i as f64 * 0.25;
            let rate = if at <= 2.0 { 100.0 } else { 80.0 };
            samples.push(Sample {
                work: rate * 0.25,
                seconds: 0.25,
                at,
            });
            laps.sampled(at, &mut meter);
            if i == 6 {
                laps.checked();
            }
        }
        laps.ended(&mut meter);
        // A second window (an LLM's head) is not part of the series.
        laps.started();
        laps.sampled(5.0, &mut meter);
        let (series, steady_from) = laps.into_series(&samples, Unit::HashesPerSecond);
        let rates: Vec<f64> = series.iter().map(|p| p.throughput).collect();
        assert_eq!(rates, [100.0, 100.0, 80.0, 80.0]);
        let t: Vec<f64> = series.iter().map(|p| p.t).collect();
        assert_eq!(t, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(steady_from, 8, "the last half starts at the 9th sample");
        assert!(series[1].checked && !series[0].checked);
        assert!(series.iter().all(|p| p.watts.is_none()));
    }
}
