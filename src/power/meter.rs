//! The meter the runner holds for one adapter: it reads the power source
//! only while measured samples run (a sampler thread at a fixed interval,
//! with counters read at the window's edges) and turns what it read into a
//! [`PowerReading`].

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{MAX_WATTS, MIN_WATTS, PowerReading, PowerSource, Reading};
use crate::measure::Summary;
use crate::{Error, Result};

/// One reading and when it was taken.
#[derive(Debug, Clone, Copy)]
struct Point {
    at: Instant,
    reading: Reading,
}

/// Reads `source`, stamped with the middle of the call: a meter command
/// can take a good part of a second, and its figure is of that time.
fn read_point(source: &mut dyn PowerSource) -> Result<Point> {
    let before = Instant::now();
    let reading = source.read()?;
    check_plausible(source, reading)?;
    Ok(Point {
        at: before + before.elapsed() / 2,
        reading,
    })
}

/// A reading no working source gives (a negative, zero or absurd power,
/// a counter below zero or not finite) is the source's fault, and stops
/// the run rather than become a figure.
fn check_plausible(source: &dyn PowerSource, reading: Reading) -> Result<()> {
    let plausible = match reading {
        Reading::Watts(w) => super::plausible_watts(w),
        Reading::Joules(j) => j.is_finite() && j >= 0.0,
    };
    if plausible {
        return Ok(());
    }
    let what = match reading {
        Reading::Watts(w) => format!("{} W", crate::error::shown(w)),
        Reading::Joules(j) => format!("an energy counter of {} J", crate::error::shown(j)),
    };
    Err(Error::Power(format!(
        "{} read {what}: not a plausible reading (watts must be from {MIN_WATTS} to {MAX_WATTS:e})",
        source.describe()
    )))
}

/// What the sampler thread hands back: the source, its readings, and the
/// error that stopped it, if any.
type Sampled = (Box<dyn PowerSource>, Vec<Point>, Option<Error>);

/// An open measuring window.
struct Window {
    start: Point,
    /// The stop signal and the sampler thread; none for constant sources.
    sampler: Option<(mpsc::Sender<()>, JoinHandle<Sampled>)>,
}

/// Energy, time and power samples over the windows since the last reading.
#[derive(Debug, Default)]
struct Totals {
    energy_j: f64,
    seconds: f64,
    watts: Vec<f64>,
}

impl Totals {
    /// Adds one window's readings, edges included.
    fn add(&mut self, points: &[Point], constant: bool) -> Result<()> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(());
        };
        self.seconds += last.at.duration_since(first.at).as_secs_f64();
        for pair in points.windows(2) {
            let dt = pair[1].at.duration_since(pair[0].at).as_secs_f64();
            match (pair[0].reading, pair[1].reading) {
                // A gauge: the trapezoid between two readings; its power
                // samples are the readings themselves (below).
                (Reading::Watts(a), Reading::Watts(b)) => self.energy_j += (a + b) / 2.0 * dt,
                // A counter: its power samples are energy over time.
                (Reading::Joules(a), Reading::Joules(b)) if b >= a => {
                    if dt > 0.0 && (b - a) / dt > MAX_WATTS {
                        return Err(Error::Power(format!(
                            "the energy counter advanced {:.0} J in {dt:.3} s ({:.3e} W): \
                             not a plausible reading (a counter that wrapped at a wrong range?)",
                            b - a,
                            (b - a) / dt
                        )));
                    }
                    self.energy_j += b - a;
                }
                (Reading::Joules(_), Reading::Joules(_)) => {
                    return Err(Error::Power(
                        "the energy counter went backwards (driver reload?)".into(),
                    ));
                }
                _ => return Err(Error::Power("the source changed kind of reading".into())),
            }
        }
        if !constant {
            self.watts
                .extend(points.iter().filter_map(|p| match p.reading {
                    Reading::Watts(w) => Some(w),
                    Reading::Joules(_) => None,
                }));
            self.watts.extend(counter_samples(points));
        }
        Ok(())
    }
}

/// A counter's power samples: energy over time from one reading at which
/// the counter was seen to advance to the next. A counter that the driver
/// updates less often than the meter reads it (NVML's on an H200, read
/// every 100 ms) gives 0 W between neighbouring readings and several times
/// the true power across the next pair (0 .. 1264 W seen at 406 W mean);
/// spans between advances hold whole updates. The partial spans before the
/// first advance and after the last are left out of the samples, not out
/// of the energy.
fn counter_samples(points: &[Point]) -> Vec<f64> {
    let mut samples = Vec::new();
    let mut anchor: Option<(Instant, f64)> = None;
    for pair in points.windows(2) {
        let (Reading::Joules(a), Reading::Joules(b)) = (pair[0].reading, pair[1].reading) else {
            continue;
        };
        if b <= a {
            continue;
        }
        let advanced = (pair[1].at, b);
        if let Some((at, joules)) = anchor {
            let dt = advanced.0.duration_since(at).as_secs_f64();
            if dt > 0.0 {
                samples.push((advanced.1 - joules) / dt);
            }
        }
        anchor = Some(advanced);
    }
    samples
}

/// How far above its power limit a device's power sample may be. Boards
/// draw above their limit for milliseconds (the limit holds an average),
/// but a counter's sample above this is an artefact of a short span
/// between the counter's updates (1010 W seen on a 700 W H200), not a
/// draw.
pub const LIMIT_MARGIN: f64 = 0.25;

/// The most a sample of a device with `limit` W may read.
fn ceiling(limit: f64) -> f64 {
    limit * (1.0 + LIMIT_MARGIN)
}

/// Whether `watts` is a draw a device with power limit `limit` (where it
/// says) can have.
fn within_limit(limit: Option<f64>, watts: f64) -> bool {
    limit.is_none_or(|limit| watts <= ceiling(limit))
}

/// What was above `limit` and left out, as the reading's source says it.
fn above_limit_note(limit: f64, dropped: usize, taken: usize, mean: Option<f64>) -> String {
    let bound = format!(
        "{:.0} W (its {limit:.0} W power limit + {:.0}%)",
        ceiling(limit),
        LIMIT_MARGIN * 100.0
    );
    let mut notes = Vec::new();
    if dropped > 0 {
        notes.push(format!(
            "{dropped} of {taken} power samples above {bound} left out of \
             watts_min/median/max as more than the board can draw"
        ));
    }
    if let Some(mean) = mean {
        notes.push(format!(
            "a mean of {mean:.0} W above {bound}: not recorded, as more than the board \
             can draw"
        ));
    }
    notes.join("; ")
}

/// Reads one adapter's power source during measured samples.
pub struct Meter {
    /// `None` while a sampler thread holds it, or when there is no source.
    source: Option<Box<dyn PowerSource>>,
    /// What the result says when there is no source at all.
    missing: Option<String>,
    interval: Duration,
    /// The source's [`PowerSource::power_limit`].
    limit: Option<f64>,
    window: Option<Window>,
    totals: Totals,
    idle_watts: Option<f64>,
    /// Energy and seconds of the totals at the last [`Meter::lap`].
    lapped: (f64, f64),
    /// The first failure; reported by [`Meter::reading`].
    error: Option<Error>,
}

impl Meter {
    /// A meter over `source`, sampling every `interval`.
    pub fn new(source: Box<dyn PowerSource>, interval: Duration) -> Meter {
        Meter {
            limit: source.power_limit().filter(|w| super::plausible_watts(*w)),
            source: Some(source),
            missing: None,
            interval,
            window: None,
            totals: Totals::default(),
            idle_watts: None,
            lapped: (0.0, 0.0),
            error: None,
        }
    }

    /// A meter with nothing to read; `why` goes in the result's `source`.
    pub fn without_source(why: String) -> Meter {
        Meter {
            source: None,
            missing: Some(why),
            interval: Duration::ZERO,
            limit: None,
            window: None,
            totals: Totals::default(),
            idle_watts: None,
            lapped: (0.0, 0.0),
            error: None,
        }
    }

    /// Whether the source measures anything (a sensor or a meter), so
    /// that idle power means something.
    pub fn measures(&self) -> bool {
        self.source.as_ref().is_some_and(|s| !s.constant())
    }

    /// Opens a measuring window: reads the source now and, unless it is a
    /// constant, starts sampling it.
    pub fn start(&mut self) {
        if self.window.is_some() || self.error.is_some() {
            return;
        }
        let Some(mut source) = self.source.take() else {
            return;
        };
        let start = match read_point(source.as_mut()) {
            Ok(point) => point,
            Err(error) => {
                self.error = Some(error);
                self.source = Some(source);
                return;
            }
        };
        if source.constant() {
            self.source = Some(source);
            self.window = Some(Window {
                start,
                sampler: None,
            });
            return;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = self.interval;
        let thread = std::thread::spawn(move || {
            let mut points = Vec::new();
            let mut next = start.at + interval;
            loop {
                // Samples on a fixed grid, however long a reading takes.
                let wait = next.saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return (source, points, None),
                }
                match read_point(source.as_mut()) {
                    Ok(point) => points.push(point),
                    Err(error) => return (source, points, Some(error)),
                }
                next += interval;
                while next < Instant::now() {
                    next += interval;
                }
            }
        });
        self.window = Some(Window {
            start,
            sampler: Some((stop, thread)),
        });
    }

    /// Closes the measuring window: stops the sampler and reads the source
    /// once more, so counters cover exactly the window.
    pub fn stop(&mut self) {
        let Some(window) = self.window.take() else {
            return;
        };
        let mut points = vec![window.start];
        if let Some((stop, thread)) = window.sampler {
            let _ = stop.send(());
            match thread.join() {
                Ok((source, sampled, error)) => {
                    self.source = Some(source);
                    points.extend(sampled);
                    if let Some(error) = error {
                        self.error.get_or_insert(error);
                    }
                }
                Err(_) => {
                    self.error
                        .get_or_insert(Error::Power("the power sampler thread panicked".into()));
                    return;
                }
            }
        }
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let constant = source.constant();
        match read_point(source.as_mut()) {
            Ok(end) => points.push(end),
            Err(error) => {
                self.error.get_or_insert(error);
                return;
            }
        }
        if let Err(error) = self.totals.add(&points, constant) {
            self.error.get_or_insert(error);
        }
    }

    /// Mean power since the last lap (or since the totals began), for one
    /// interval of a sustained run: the window is closed and opened again,
    /// so that a counter is read at the interval's edge. `None` for a
    /// constant source (its one figure is the result's), without a source,
    /// outside a window, or once the source has failed.
    pub fn lap(&mut self) -> Option<f64> {
        let sampled = self.window.as_ref().is_some_and(|w| w.sampler.is_some());
        if !sampled {
            return None;
        }
        self.stop();
        self.start();
        let (energy, seconds) = (
            self.totals.energy_j - self.lapped.0,
            self.totals.seconds - self.lapped.1,
        );
        self.lapped = (self.totals.energy_j, self.totals.seconds);
        (seconds > 0.0 && self.error.is_none())
            .then(|| energy / seconds)
            .filter(|w| super::plausible_watts(*w) && within_limit(self.limit, *w))
    }

    /// Measures idle power over `seconds` with nothing running, and keeps
    /// it for every later reading. Does nothing for constant sources.
    pub fn measure_idle(&mut self, seconds: f64) -> Result<Option<f64>> {
        if !self.measures() || seconds <= 0.0 {
            return Ok(None);
        }
        self.start();
        // In short steps, so that a stop signal ends it (the run then stops
        // before its first workload).
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        while crate::signals::requested().is_none() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        let idle = self.reading()?.watts;
        self.idle_watts = idle;
        Ok(idle)
    }

    /// Power over the windows since the last reading; fails with the first
    /// error the source gave (a failing meter is an error, not a zero).
    pub fn reading(&mut self) -> Result<PowerReading> {
        self.stop();
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let totals = std::mem::take(&mut self.totals);
        self.lapped = (0.0, 0.0);
        let Some(source) = self.source.as_mut() else {
            return Ok(PowerReading::none(self.missing.clone().unwrap_or_default()));
        };
        let constant = source.constant();
        let measured = totals.seconds > 0.0;
        let watts = match (constant, measured) {
            // A figure given or estimated stands without a window.
            (true, _) => match source.read()? {
                Reading::Watts(w) => Some(w),
                Reading::Joules(_) => None,
            },
            (false, true) => Some(totals.energy_j / totals.seconds),
            (false, false) => None,
        };
        // Far above what the board can draw is no figure: left out, and
        // said in the source's words.
        let limit = self.limit;
        let (within, above): (Vec<f64>, Vec<f64>) =
            totals.watts.iter().partition(|w| within_limit(limit, **w));
        let mean_above = watts.filter(|w| !constant && !within_limit(limit, *w));
        let watts = watts.filter(|_| mean_above.is_none());
        let mut described = source.describe();
        if let Some(limit) = limit
            && (!above.is_empty() || mean_above.is_some())
        {
            described = format!(
                "{described}; {}",
                above_limit_note(limit, above.len(), totals.watts.len(), mean_above)
            );
        }
        let spread = Summary::of(&within);
        Ok(PowerReading {
            provenance: source.provenance(),
            source: described,
            shared: source.shared(),
            watts,
            watts_min: spread.map(|s| s.min),
            watts_median: spread.map(|s| s.median),
            watts_max: spread.map(|s| s.max),
            idle_watts: self.idle_watts,
            energy_j: (measured && mean_above.is_none()).then_some(totals.energy_j),
            seconds: measured.then_some(totals.seconds),
            samples: within.len(),
            interval_ms: (!constant).then_some(self.interval.as_millis() as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::{Provenance, UserWatts};

    /// An energy counter that advances at `watts` in real time.
    struct SteadyCounter {
        watts: f64,
        since: Instant,
    }

    impl PowerSource for SteadyCounter {
        fn describe(&self) -> String {
            "test counter".into()
        }
        fn provenance(&self) -> Provenance {
            Provenance::Sensor
        }
        fn read(&mut self) -> Result<Reading> {
            Ok(Reading::Joules(
                self.since.elapsed().as_secs_f64() * self.watts,
            ))
        }
    }

    /// An energy counter at `watts` that the driver updates every `step`.
    struct SteppedCounter {
        watts: f64,
        step: Duration,
        since: Instant,
    }

    impl PowerSource for SteppedCounter {
        fn describe(&self) -> String {
            "stepped counter".into()
        }
        fn provenance(&self) -> Provenance {
            Provenance::Sensor
        }
        fn read(&mut self) -> Result<Reading> {
            let steps = (self.since.elapsed().as_secs_f64() / self.step.as_secs_f64()).floor();
            Ok(Reading::Joules(
                steps * self.step.as_secs_f64() * self.watts,
            ))
        }
    }

    /// A power gauge that alternates between two values.
    struct Alternating {
        values: [f64; 2],
        reads: usize,
    }

    impl PowerSource for Alternating {
        fn describe(&self) -> String {
            "test gauge".into()
        }
        fn provenance(&self) -> Provenance {
            Provenance::External
        }
        fn shared(&self) -> bool {
            true
        }
        fn read(&mut self) -> Result<Reading> {
            self.reads += 1;
            Ok(Reading::Watts(self.values[self.reads % 2]))
        }
    }

    /// Fails on its third reading.
    struct Breaks(usize);

    impl PowerSource for Breaks {
        fn describe(&self) -> String {
            "breaks".into()
        }
        fn provenance(&self) -> Provenance {
            Provenance::External
        }
        fn read(&mut self) -> Result<Reading> {
            self.0 += 1;
            if self.0 >= 3 {
                return Err(Error::Power("meter unplugged".into()));
            }
            Ok(Reading::Watts(100.0))
        }
    }

    /// A source with a power limit.
    struct Limited<S>(S, f64);

    impl<S: PowerSource> PowerSource for Limited<S> {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn provenance(&self) -> Provenance {
            self.0.provenance()
        }
        fn power_limit(&self) -> Option<f64> {
            Some(self.1)
        }
        fn read(&mut self) -> Result<Reading> {
            self.0.read()
        }
    }

    /// Samples far above the device's power limit are left out of the
    /// spread, and a mean far above it is no figure; the source says so.
    #[test]
    fn samples_far_above_the_power_limit_are_not_figures() {
        let gauge = Alternating {
            values: [300.0, 1000.0],
            reads: 0,
        };
        let mut meter = Meter::new(Box::new(Limited(gauge, 700.0)), Duration::from_millis(10));
        window(&mut meter, 0.2);
        let reading = meter.reading().unwrap();
        assert_eq!(reading.watts_max, Some(300.0), "{reading:?}");
        assert!(reading.watts.is_some_and(|w| w > 500.0), "{reading:?}");
        assert!(
            reading
                .source
                .contains("power samples above 875 W (its 700 W power limit + 25%)"),
            "{}",
            reading.source
        );
        // Up to the margin, samples stand.
        let gauge = Alternating {
            values: [300.0, 870.0],
            reads: 0,
        };
        let mut meter = Meter::new(Box::new(Limited(gauge, 700.0)), Duration::from_millis(10));
        window(&mut meter, 0.1);
        let reading = meter.reading().unwrap();
        assert_eq!(reading.watts_max, Some(870.0));
        assert_eq!(reading.source, "test gauge");
        let counter = SteadyCounter {
            watts: 1000.0,
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(Limited(counter, 700.0)), Duration::from_millis(20));
        meter.start();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(meter.lap(), None, "a lap far above the limit");
        std::thread::sleep(Duration::from_millis(100));
        let reading = meter.reading().unwrap();
        assert_eq!(
            (reading.watts, reading.energy_j),
            (None, None),
            "{reading:?}"
        );
        assert_eq!(reading.watts_max, None);
        assert!(
            reading.source.contains("a mean of 1000 W above 875 W"),
            "{}",
            reading.source
        );
        reading.check_consistent().unwrap();
    }

    fn window(meter: &mut Meter, seconds: f64) {
        meter.start();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        meter.stop();
    }

    #[test]
    fn a_counter_at_a_known_rate_reads_as_that_power() {
        let counter = SteadyCounter {
            watts: 250.0,
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(counter), Duration::from_millis(20));
        window(&mut meter, 0.4);
        let reading = meter.reading().unwrap();
        let watts = reading.watts.unwrap();
        assert!((watts - 250.0).abs() < 250.0 * 0.04, "{watts} W");
        let energy = reading.energy_j.unwrap();
        let seconds = reading.seconds.unwrap();
        assert!((seconds - 0.4).abs() < 0.1, "{seconds} s");
        assert!(
            (energy - 250.0 * seconds).abs() < 5e-3 * energy,
            "{energy} J"
        );
        assert!(reading.samples >= 10, "{} samples", reading.samples);
        let median = reading.watts_median.unwrap();
        assert!((median - 250.0).abs() < 250.0 * 0.05, "median {median} W");
        assert_eq!(reading.interval_ms, Some(20));
        assert_eq!(reading.provenance, Provenance::Sensor);
    }

    /// A counter updated less often than it is read gives samples from
    /// one advance to the next: no 0 W, no multiple of the true power.
    #[test]
    fn a_counter_updated_more_slowly_than_read_has_no_zero_samples() {
        let counter = SteppedCounter {
            watts: 400.0,
            step: Duration::from_millis(50),
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(counter), Duration::from_millis(20));
        window(&mut meter, 0.6);
        let reading = meter.reading().unwrap();
        let (min, max) = (reading.watts_min.unwrap(), reading.watts_max.unwrap());
        // Advances are seen on a 20 ms grid, so a span of one 50 ms update
        // reads 40 to 60 ms, or more on a loaded machine.
        assert!(min > 400.0 * 0.3, "min {min} W");
        assert!(max < 400.0 * 1.6, "max {max} W");
        assert!(reading.samples >= 5, "{} samples", reading.samples);
    }

    /// Only the windows count: the time between them does not.
    #[test]
    fn energy_is_counted_only_inside_windows() {
        let counter = SteadyCounter {
            watts: 100.0,
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(counter), Duration::from_millis(20));
        window(&mut meter, 0.2);
        std::thread::sleep(Duration::from_millis(300));
        window(&mut meter, 0.2);
        let reading = meter.reading().unwrap();
        let seconds = reading.seconds.unwrap();
        assert!(seconds < 0.55, "{seconds} s: the 0.3 s gap was counted");
        assert!((reading.energy_j.unwrap() - 100.0 * seconds).abs() < 0.5);
        // The next reading starts afresh.
        assert_eq!(meter.reading().unwrap().energy_j, None);
    }

    #[test]
    fn gauges_are_integrated_and_summarised() {
        let gauge = Alternating {
            values: [100.0, 300.0],
            reads: 0,
        };
        let mut meter = Meter::new(Box::new(gauge), Duration::from_millis(10));
        window(&mut meter, 0.3);
        let reading = meter.reading().unwrap();
        let watts = reading.watts.unwrap();
        assert!((watts - 200.0).abs() < 20.0, "{watts} W");
        assert_eq!(reading.watts_min, Some(100.0));
        assert_eq!(reading.watts_max, Some(300.0));
        assert!(reading.shared);
        assert_eq!(reading.provenance, Provenance::External);
    }

    #[test]
    fn idle_power_is_kept_for_later_readings() {
        let counter = SteadyCounter {
            watts: 40.0,
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(counter), Duration::from_millis(20));
        let idle = meter.measure_idle(0.2).unwrap().unwrap();
        assert!((idle - 40.0).abs() < 2.0, "{idle} W");
        window(&mut meter, 0.1);
        assert_eq!(meter.reading().unwrap().idle_watts, Some(idle));
    }

    /// Laps cut one window into intervals, each the power over its own
    /// span, and the reading still covers the whole window.
    #[test]
    fn laps_measure_each_interval() {
        let counter = SteadyCounter {
            watts: 250.0,
            since: Instant::now(),
        };
        let mut meter = Meter::new(Box::new(counter), Duration::from_millis(20));
        meter.start();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(100));
            let lap = meter.lap().unwrap();
            assert!((lap - 250.0).abs() < 1.0, "{lap} W");
        }
        meter.stop();
        let reading = meter.reading().unwrap();
        assert!(reading.seconds.unwrap() >= 0.3, "{reading:?}");
        assert_eq!(meter.lap(), None, "no lap outside a window");
        let mut constant = Meter::new(Box::new(crate::power::UserWatts(100.0)), Duration::ZERO);
        constant.start();
        assert_eq!(constant.lap(), None, "a constant has no intervals");
    }

    #[test]
    fn a_failing_source_is_an_error_not_a_zero() {
        let mut meter = Meter::new(Box::new(Breaks(0)), Duration::from_millis(10));
        window(&mut meter, 0.1);
        let error = meter.reading().unwrap_err();
        assert_eq!(error.to_string(), "meter unplugged");
    }

    #[test]
    fn constants_are_not_sampled_and_keep_their_provenance() {
        let mut meter = Meter::new(Box::new(UserWatts(350.0)), Duration::from_millis(10));
        assert!(!meter.measures());
        assert_eq!(meter.measure_idle(1.0).unwrap(), None);
        window(&mut meter, 0.05);
        let reading = meter.reading().unwrap();
        assert_eq!(reading.watts, Some(350.0));
        assert_eq!(reading.provenance, Provenance::User);
        assert_eq!(reading.samples, 0);
        assert_eq!(reading.interval_ms, None);
        let energy = reading.energy_j.unwrap();
        assert!((energy - 350.0 * reading.seconds.unwrap()).abs() < 1e-9);
        // A figure the user gave stands even where nothing was measured.
        assert_eq!(meter.reading().unwrap().watts, Some(350.0));
    }

    #[test]
    fn no_source_says_why() {
        let mut meter = Meter::without_source("no sensor".into());
        window(&mut meter, 0.01);
        let reading = meter.reading().unwrap();
        assert_eq!(reading.provenance, Provenance::None);
        assert_eq!(reading.source, "no sensor");
        assert_eq!(reading.watts, None);
    }
}
