//! How a workload is sampled: calibrate the size of one sample, warm up,
//! then repeat until the time budget is spent, and summarise the samples.

use std::time::{Duration, Instant};

use crate::Result;
use crate::workloads::tuning::Tune;

/// How long to measure, decided once from `--duration` and `--quick`.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePlan {
    /// Time spent on measured samples, after calibration and warm-up.
    pub measure: Duration,
    /// Time spent running the kernel before the first measured sample, so
    /// that clocks, caches and the shader compiler have settled.
    pub warm_up: Duration,
    /// How long one sample should take; the work per sample grows until it does.
    pub sample: Duration,
    /// Fewest measured samples, whatever the duration.
    pub min_samples: usize,
    /// Most measured samples, so very fast kernels do not spin for ever.
    pub max_samples: usize,
    /// `run --sustain`: the measured samples run without pause for
    /// `measure`, recorded interval by interval, with the output checked
    /// once half-way besides before and after.
    pub sustain: Option<Sustain>,
    /// `run --tune`: whether each kernel family probes its variants
    /// (see [`crate::workloads::tuning`]).
    pub tune: crate::workloads::tuning::Tune,
}

/// How a sustained run is cut into intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sustain {
    pub interval: Duration,
}

impl SamplePlan {
    /// Default: 10 s of samples of about 0.25 s each after 1 s of warm-up.
    pub fn standard() -> Self {
        SamplePlan {
            measure: Duration::from_secs(10),
            warm_up: Duration::from_secs(1),
            sample: Duration::from_millis(250),
            min_samples: 10,
            max_samples: 1000,
            sustain: None,
            tune: Tune::On,
        }
    }

    /// `--quick`: enough to check that everything works, in about a second.
    pub fn quick() -> Self {
        SamplePlan {
            measure: Duration::from_millis(600),
            warm_up: Duration::from_millis(100),
            sample: Duration::from_millis(100),
            min_samples: 3,
            max_samples: 1000,
            sustain: None,
            tune: Tune::On,
        }
    }

    /// One sample of a single launch, no warm-up: for tests, which check
    /// that a kernel is right, not how fast it is.
    pub fn single() -> Self {
        SamplePlan {
            measure: Duration::ZERO,
            warm_up: Duration::ZERO,
            sample: Duration::from_millis(1),
            min_samples: 1,
            max_samples: 1,
            sustain: None,
            tune: Tune::On,
        }
    }

    /// The plan for `--duration SECONDS` of measured samples.
    pub fn with_duration(mut self, seconds: f64) -> Self {
        self.measure = Duration::from_secs_f64(seconds);
        self
    }

    /// The plan for `--sustain SECONDS --interval SECONDS`: samples without
    /// pause for `seconds`, as many as that takes (up to what a result
    /// holds). A kernel whose one sample outlasts an interval (a large
    /// GEMM on lavapipe takes 48 s) still gets the three samples, and so
    /// the three intervals, a summary needs, and no more than the time asks.
    pub fn sustained(mut self, seconds: f64, interval: f64) -> Self {
        self.measure = Duration::from_secs_f64(seconds);
        self.min_samples = crate::results::MIN_INTERVALS;
        self.max_samples = crate::results::MAX_SAMPLES;
        self.sustain = Some(Sustain {
            interval: Duration::from_secs_f64(interval),
        });
        self
    }

    /// This plan as an ordinary run: for a workload's second, shorter
    /// sampling loop (an LLM's head), which is not part of the series.
    pub fn without_sustain(&self) -> Self {
        match self.sustain {
            Some(_) => SamplePlan::standard(),
            None => self.clone(),
        }
    }
}

/// One timed execution of a workload: how much work it did and how long the
/// kernel took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub work: f64,
    pub seconds: f64,
    /// Seconds from the start of the measured samples to this one's end,
    /// stamped by [`sample_loop`]: a sustained run's intervals are cut by it.
    pub at: f64,
}

impl Sample {
    /// A sample of `work` in kernel `seconds`, not yet stamped.
    pub fn new(work: f64, seconds: f64) -> Self {
        Sample {
            work,
            seconds,
            at: 0.0,
        }
    }

    /// Work per second.
    pub fn rate(&self) -> f64 {
        self.work / self.seconds
    }
}

/// Runs `one` (given a work size) through the plan: grows the size until a
/// sample takes about `plan.sample`, warms up, then collects the measured
/// samples. `observer` hears when the measured samples start and end, and
/// the fraction of them done.
///
/// `max_size` bounds the work size; `one` must verify what its kernel wrote
/// and return an error on any mismatch, which ends the loop.
pub fn sample_loop(
    plan: &SamplePlan,
    initial_size: u64,
    max_size: u64,
    one: impl FnMut(u64) -> Result<Sample>,
    observer: &mut dyn Observer,
) -> Result<Vec<Sample>> {
    sample_loop_checked(plan, initial_size, max_size, one, &mut || Ok(()), observer)
}

/// [`sample_loop`], and in a sustained run `midway` (which must check the
/// kernel's output against the CPU reference) once half-way through, so
/// that a long run cannot drift into wrong answers unseen.
pub fn sample_loop_checked(
    plan: &SamplePlan,
    initial_size: u64,
    max_size: u64,
    mut one: impl FnMut(u64) -> Result<Sample>,
    midway: &mut dyn FnMut() -> Result<()>,
    observer: &mut dyn Observer,
) -> Result<Vec<Sample>> {
    let target = plan.sample.as_secs_f64();
    let mut size = initial_size.clamp(1, max_size);
    // Calibration doubles as the first part of the warm-up.
    let warm_up_started = Instant::now();
    observer.phase(Phase::Calibrating);
    loop {
        crate::signals::check()?;
        let sample = one(size)?;
        if sample.seconds >= target * 0.5 || size >= max_size {
            break;
        }
        let factor = (target / sample.seconds.max(1e-9)).clamp(2.0, 16.0);
        size = ((size as f64 * factor) as u64).clamp(1, max_size);
    }
    observer.phase(Phase::WarmingUp);
    while warm_up_started.elapsed() < plan.warm_up {
        crate::signals::check()?;
        one(size)?;
    }
    observer.phase(Phase::Sampling);
    let mut samples = Vec::new();
    let started = Instant::now();
    let budget = plan.measure.as_secs_f64();
    let mut midway_due = plan.sustain.is_some();
    observer.measuring_started();
    while samples.len() < plan.max_samples
        && (samples.len() < plan.min_samples || started.elapsed() < plan.measure)
    {
        // A stop signal ends the loop at the end of a sample.
        let mut sample = crate::signals::check().and_then(|()| one(size));
        if let Ok(sample) = &mut sample {
            sample.at = started.elapsed().as_secs_f64();
            observer.sampled(sample.at);
        }
        if midway_due && started.elapsed().as_secs_f64() >= budget / 2.0 && sample.is_ok() {
            midway_due = false;
            sample = sample.and_then(|s| midway().map(|()| s));
            if sample.is_ok() {
                observer.checked();
            }
        }
        match sample {
            Ok(sample) => samples.push(sample),
            Err(error) => {
                observer.measuring_ended();
                return Err(error);
            }
        }
        let by_time = started.elapsed().as_secs_f64() / budget.max(1e-9);
        let by_count = samples.len() as f64 / plan.min_samples as f64;
        observer.progress(by_time.min(by_count).min(1.0));
    }
    observer.measuring_ended();
    Ok(samples)
}

/// What the sampling loop tells the runner as it goes. The runner shows
/// progress, and records power only between `measuring_started` and
/// `measuring_ended`: calibration, warm-up and checks do not count.
pub trait Observer {
    /// The loop moved to `phase`.
    fn phase(&mut self, _phase: Phase) {}
    /// The fraction of the measured samples done, 0 to 1.
    fn progress(&mut self, _fraction: f64) {}
    /// A measured sample ended `at` seconds after the first started.
    fn sampled(&mut self, _at: f64) {}
    /// A sustained run's output passed its check half-way through.
    fn checked(&mut self) {}
    /// The first measured sample is about to run.
    fn measuring_started(&mut self) {}
    /// The last measured sample has finished (or failed).
    fn measuring_ended(&mut self) {}
}

/// What the sampling loop is doing, for a progress line that never sits
/// still: a large kernel's calibration can take minutes on lavapipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Growing the work per sample until a sample takes `plan.sample`.
    Calibrating,
    WarmingUp,
    /// The measured samples.
    Sampling,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Calibrating => "calibrating",
            Phase::WarmingUp => "warming up",
            Phase::Sampling => "sampling",
        }
    }
}

/// Hears nothing: for tests and benches.
pub struct Unobserved;

impl Observer for Unobserved {}

/// Records what it hears: for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Recorder {
    pub fractions: Vec<f64>,
    /// Measuring windows opened and then closed.
    pub windows: usize,
    open: bool,
}

#[cfg(test)]
impl Observer for Recorder {
    fn progress(&mut self, fraction: f64) {
        assert!(self.open, "progress is reported while measuring");
        self.fractions.push(fraction);
    }

    fn measuring_started(&mut self) {
        assert!(!self.open, "windows do not nest");
        self.open = true;
    }

    fn measuring_ended(&mut self) {
        assert!(self.open, "a window ends after it starts");
        self.open = false;
        self.windows += 1;
    }
}

/// Passes on the start and end of measuring but not progress: for a
/// workload's second sampling loop, so the progress bar does not restart.
pub struct MeasuringOnly<'a>(pub &'a mut dyn Observer);

impl Observer for MeasuringOnly<'_> {
    fn measuring_started(&mut self) {
        self.0.measuring_started();
    }

    fn measuring_ended(&mut self) {
        self.0.measuring_ended();
    }
}

pub use crate::results::Summary;

impl SamplePlan {
    /// The plan as a result file records it.
    pub fn settings(&self, quick: bool) -> crate::results::Settings {
        crate::results::Settings {
            quick,
            measure_seconds: self.measure.as_secs_f64(),
            warm_up_seconds: self.warm_up.as_secs_f64(),
            sample_seconds: self.sample.as_secs_f64(),
            min_samples: self.min_samples,
            sustain_seconds: self.sustain.map(|_| self.measure.as_secs_f64()),
            interval_seconds: self.sustain.map(|s| s.interval.as_secs_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.count), (2.0, 1.0, 3.0, 3));
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    /// A fake kernel whose time is proportional to its size: calibration must
    /// grow the size until a sample lasts about the planned time.
    #[test]
    fn calibration_grows_samples_to_the_planned_length() {
        let plan = SamplePlan {
            measure: Duration::ZERO,
            warm_up: Duration::ZERO,
            sample: Duration::from_millis(100),
            min_samples: 4,
            max_samples: 10,
            sustain: None,
            tune: Tune::On,
        };
        let mut sizes = Vec::new();
        let mut recorder = Recorder::default();
        let samples = sample_loop(
            &plan,
            1,
            u64::MAX,
            |size| {
                sizes.push(size);
                Ok(Sample::new(size as f64, size as f64 * 1e-6))
            },
            &mut recorder,
        )
        .unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(recorder.windows, 1);
        assert_eq!(recorder.fractions.len(), 4);
        assert!(samples.iter().all(|s| s.seconds >= 0.05), "{samples:?}");
        assert!(samples.iter().all(|s| (s.rate() - 1e6).abs() < 1e-3));
    }

    #[test]
    fn a_failing_sample_ends_the_loop_with_its_error() {
        let plan = SamplePlan::quick();
        let outcome = sample_loop(
            &plan,
            1,
            10,
            |_| Err(crate::Error::VerificationFailed("mismatch".into())),
            &mut Unobserved,
        );
        assert!(outcome.is_err());
    }
}
