//! The work other tools report, read from what they write. Each reader
//! takes the tool's own output and gives the figures, or the first thing
//! wrong in one line; every number from outside is checked for being
//! finite and in range before it becomes a figure.
//!
//! Formats, as the tools' sources write them (read 2026-12-03):
//! - vLLM `vllm bench serve --save-result` (`vllm/benchmarks/serve.py`;
//!   the older `benchmarks/benchmark_serving.py` writes the same keys): one
//!   JSON object, or one per line with `--append-result`; `duration`,
//!   `completed`, `total_input_tokens`, `total_output_tokens`,
//!   `max_concurrency` (null when unset), `mean/median/p99_tpot_ms`,
//!   `mean/median/p99_ttft_ms`. `--burstiness inf` writes a bare
//!   `Infinity`, which is not JSON: read as null.
//! - llama.cpp `llama-bench -o json` (`tools/llama-bench/llama-bench.cpp`):
//!   a JSON array on stdout, one object per test: `n_prompt`, `n_gen`,
//!   `n_depth` (newer builds), `avg_ts` (the mean of `samples_ts`, tokens
//!   per second of the test's tokens), `model_type`, `n_batch`, ...
//! - hashcat 6.2 `-b --machine-readable` (`src/terminal.c`): one line per
//!   device, `DEVICE:MODE:CORE_MHZ:MEM_MHZ:EXEC_MS:HASHES_PER_SEC`, among
//!   `# version:`, `# option:`, `Started:` and `Stopped:` lines.

use serde_json::{Map, Value, json};

use super::{Reported, Work};
use crate::results::Unit;

type Parsed = Result<Vec<Reported>, String>;

/// Longest name taken from another tool's output into a shape.
const MAX_LABEL: usize = 120;

/// Text from outside, fit for a shape: printable, one line, bounded.
fn label(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_LABEL)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A number a tool reported: finite, at least `min`, at most `max`.
fn number(object: &Map<String, Value>, key: &str, min: f64, max: f64) -> Result<f64, String> {
    match object.get(key) {
        None | Some(Value::Null) => Err(format!("no {key}")),
        Some(value) => value
            .as_f64()
            .filter(|v| v.is_finite() && (min..=max).contains(v))
            .ok_or_else(|| format!("{key} is {value}, not a number from {min} to {max:e}")),
    }
}

/// The same, absent or null allowed.
fn optional(
    object: &Map<String, Value>,
    key: &str,
    min: f64,
    max: f64,
) -> Result<Option<f64>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => number(object, key, min, max).map(Some),
    }
}

/// Longer than any benchmark a site runs: a week.
const MAX_SECONDS: f64 = 604_800.0;
/// More tokens than any benchmark makes.
const MAX_TOKENS: f64 = 1e15;
/// A latency no server is measured at: a day.
const MAX_MS: f64 = 86_400_000.0;

/// vLLM's result file: output tokens over the run, the latencies a
/// customer sees kept beside them.
pub fn vllm(text: &str) -> Parsed {
    let text = without_non_finite(text);
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        // `--append-result` writes one object per line: the last is this
        // run's.
        Err(error) => text
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .and_then(|line| serde_json::from_str(line).ok())
            .ok_or_else(|| format!("not JSON: {error}"))?,
    };
    let object = value
        .as_object()
        .ok_or("not a JSON object of vllm bench serve's results")?;
    let duration = number(object, "duration", 1e-6, MAX_SECONDS)?;
    let completed = number(object, "completed", 0.0, MAX_TOKENS)?;
    if completed < 1.0 {
        return Err("no request completed (completed is 0)".into());
    }
    let output_tokens = number(object, "total_output_tokens", 0.0, MAX_TOKENS)?;
    if output_tokens < 1.0 {
        return Err(format!(
            "no output tokens (total_output_tokens is {output_tokens}, below 1)"
        ));
    }
    let mut params = Map::new();
    params.insert("tokens".into(), json!("output"));
    params.insert("reported_seconds".into(), json!(duration));
    params.insert(
        "reported_output_tokens_per_s".into(),
        json!(output_tokens / duration),
    );
    params.insert("total_output_tokens".into(), json!(output_tokens));
    params.insert("completed".into(), json!(completed));
    for key in ["total_input_tokens", "failed"] {
        if let Some(v) = optional(object, key, 0.0, MAX_TOKENS)? {
            params.insert(key.into(), json!(v));
        }
    }
    let concurrency = optional(object, "max_concurrency", 1.0, 1e9)?;
    params.insert("max_concurrency".into(), json!(concurrency));
    for key in [
        "mean_tpot_ms",
        "median_tpot_ms",
        "p99_tpot_ms",
        "mean_ttft_ms",
        "median_ttft_ms",
        "p99_ttft_ms",
    ] {
        if let Some(v) = optional(object, key, 0.0, MAX_MS)? {
            params.insert(key.into(), json!(v));
        }
    }
    let model = object
        .get("model_id")
        .and_then(Value::as_str)
        .map(label)
        .filter(|m| !m.is_empty());
    if let Some(model) = &model {
        params.insert("model".into(), json!(model));
    }
    let mut shape = format!(
        "vllm bench serve {}",
        model.as_deref().unwrap_or("(no model_id)")
    );
    if let Some(c) = concurrency {
        shape.push_str(&format!(" concurrency {c}"));
    }
    Ok(vec![Reported {
        shape,
        unit: Unit::TokensPerSecond,
        work: Work::Total(output_tokens),
        samples: Vec::new(),
        params,
    }])
}

/// Python's json module writes NaN and Infinity bare: they become null,
/// outside strings only.
fn without_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        match token {
            Some(token) => {
                out.push_str("null");
                rest = &rest[token.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The largest rate any test reports: far above any device.
const MAX_TOKENS_PER_S: f64 = 1e9;

/// llama-bench's JSON: one figure per test, generation (`tg`) as output
/// tokens, prompt processing (`pp`) as a prompt's.
pub fn llama_bench(stdout: &[u8]) -> Parsed {
    let text = std::str::from_utf8(stdout).map_err(|_| "stdout is not UTF-8 text")?;
    let value: Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("stdout is not JSON: {e}"))?;
    let tests = value
        .as_array()
        .ok_or("stdout is not a JSON array of tests")?;
    if tests.is_empty() {
        return Err("no tests in the JSON array".into());
    }
    let mut figures: Vec<Reported> = Vec::new();
    for (index, test) in tests.iter().enumerate() {
        let object = test
            .as_object()
            .ok_or_else(|| format!("test {index} is not an object"))?;
        let in_test = |why: String| format!("test {index}: {why}");
        let prompt = number(object, "n_prompt", 0.0, 1e9).map_err(in_test)?;
        let generated = number(object, "n_gen", 0.0, 1e9).map_err(in_test)?;
        let depth = optional(object, "n_depth", 0.0, 1e9).map_err(in_test)?;
        let rate = number(object, "avg_ts", 1e-9, MAX_TOKENS_PER_S).map_err(in_test)?;
        let (test_name, tokens) = match (prompt > 0.0, generated > 0.0) {
            (true, false) => (format!("pp{prompt}"), "prompt"),
            (false, true) => (format!("tg{generated}"), "output"),
            (true, true) => (format!("pp{prompt}+tg{generated}"), "prompt+output"),
            (false, false) => return Err(in_test("n_prompt and n_gen are both 0".into())),
        };
        let samples = match object.get("samples_ts") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or_else(|| in_test("samples_ts is not a list".into()))?
                .iter()
                .map(|v| {
                    v.as_f64()
                        .filter(|v| v.is_finite() && *v > 0.0 && *v <= MAX_TOKENS_PER_S)
                        .ok_or_else(|| in_test(format!("a sample of {v} tokens/s")))
                })
                .collect::<Result<Vec<f64>, String>>()?,
        };
        // llama-bench's avg_ts is the mean of its samples: a test whose
        // figure disagrees with them is not one llama-bench wrote.
        if !samples.is_empty() {
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            if (rate - mean).abs() > 0.01 * mean {
                return Err(in_test(format!(
                    "avg_ts {rate} is not the mean of its samples_ts ({mean})"
                )));
            }
        }
        let model = object
            .get("model_type")
            .and_then(Value::as_str)
            .map(label)
            .unwrap_or_default();
        let mut shape = format!("llama-bench {model} {test_name}");
        if let Some(depth) = depth.filter(|d| *d > 0.0) {
            shape.push_str(&format!(" @ d{depth}"));
        }
        let shape = label(&shape);
        // Tests that differ in settings llama-bench varies (threads,
        // batch sizes) share a name: numbered, so each appears once.
        let repeats = figures
            .iter()
            .filter(|f| f.shape == shape || f.shape.starts_with(&format!("{shape} #")))
            .count();
        let shape = if repeats > 0 {
            format!("{shape} #{}", repeats + 1)
        } else {
            shape
        };
        let mut params = Map::new();
        params.insert("tokens".into(), json!(tokens));
        params.insert("n_prompt".into(), json!(prompt));
        params.insert("n_gen".into(), json!(generated));
        if let Some(depth) = depth {
            params.insert("n_depth".into(), json!(depth));
        }
        if tokens == "output" {
            // One sequence generates: each token waits a step.
            params.insert("ms_per_token".into(), json!(1e3 / rate));
        }
        for key in ["model_type", "model_filename", "backends", "gpu_info"] {
            if let Some(text) = object.get(key).and_then(Value::as_str) {
                params.insert(key.into(), json!(label(text)));
            }
        }
        // Described, not computed with: kept where they are numbers
        // (newer builds write -1 for "all layers").
        for key in ["n_batch", "n_ubatch", "n_gpu_layers", "model_n_params"] {
            if let Some(v) = object.get(key).and_then(Value::as_f64) {
                params.insert(key.into(), json!(v));
            }
        }
        figures.push(Reported {
            shape,
            unit: Unit::TokensPerSecond,
            work: Work::Rate(rate),
            samples,
            params,
        });
    }
    Ok(figures)
}

/// hashcat's machine-readable benchmark: hashes per second summed over
/// its devices, one figure per mode.
pub fn hashcat(stdout: &[u8]) -> Parsed {
    let text = String::from_utf8_lossy(stdout);
    // Mode, then each device and its H/s.
    let mut modes: Vec<(u64, Vec<(u64, f64)>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        let skip = line.is_empty()
            || line.starts_with('#')
            || line.starts_with("Started:")
            || line.starts_with("Stopped:");
        if skip {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        // Warnings are prose; a benchmark line is six numbers.
        let [device, mode, _, _, exec_ms, rate] = fields[..] else {
            continue;
        };
        let whole = |s: &str| s.parse::<u64>().ok();
        let (Some(device), Some(mode), Ok(exec_ms), Ok(rate)) = (
            whole(device),
            whole(mode),
            exec_ms.parse::<f64>(),
            rate.parse::<f64>(),
        ) else {
            continue;
        };
        if !(exec_ms.is_finite() && exec_ms >= 0.0) {
            return Err(format!(
                "a kernel time of {exec_ms} ms in '{}'",
                label(line)
            ));
        }
        if !(rate.is_finite() && rate > 0.0 && rate <= Unit::HashesPerSecond.max_plausible()) {
            return Err(format!("{rate} H/s in '{}'", label(line)));
        }
        match modes.iter_mut().find(|(m, _)| *m == mode) {
            Some((_, devices)) if devices.iter().any(|(d, _)| *d == device) => {
                return Err(format!(
                    "device {device} reported mode {mode} twice: not one benchmark's output"
                ));
            }
            Some((_, devices)) => devices.push((device, rate)),
            None => modes.push((mode, vec![(device, rate)])),
        }
    }
    if modes.is_empty() {
        return Err(
            "no benchmark line (DEVICE:MODE:CORE_MHZ:MEM_MHZ:EXEC_MS:HASHES_PER_SEC) on \
             stdout: was it run with -b and --machine-readable?"
                .into(),
        );
    }
    Ok(modes
        .into_iter()
        .map(|(mode, devices)| {
            let rates: Vec<f64> = devices.iter().map(|(_, rate)| *rate).collect();
            let mut params = Map::new();
            params.insert("mode".into(), json!(mode));
            params.insert("devices".into(), json!(rates.len()));
            params.insert("device_hashes_per_s".into(), json!(rates));
            Reported {
                shape: crate::results::hashcat_shape(mode),
                unit: Unit::HashesPerSecond,
                work: Work::Rate(rates.iter().sum()),
                samples: Vec::new(),
                params,
            }
        })
        .collect())
}

/// `count=N UNIT`: a fixed amount of work.
pub fn count(amount: f64, unit: Unit) -> Reported {
    // GFLOP/s counts its work in GFLOP.
    let work = if unit == Unit::GflopPerSecond {
        amount / 1e9
    } else {
        amount
    };
    let mut params = Map::new();
    params.insert("count".into(), json!(amount));
    if unit == Unit::TokensPerSecond {
        params.insert("tokens".into(), json!("output"));
    }
    let word = match unit {
        Unit::HashesPerSecond => "H",
        Unit::TokensPerSecond => "tokens",
        _ => "FLOP",
    };
    Reported {
        shape: format!("count {} {word}", crate::error::shown(amount)),
        unit,
        work: Work::Total(work),
        samples: Vec::new(),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Unit;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/external")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn text(name: &str) -> String {
        String::from_utf8(fixture(name)).unwrap()
    }

    #[test]
    fn vllm_output_tokens_and_latencies() {
        for name in [
            "vllm-bench-serve.json",
            "vllm-bench-serve-default.json",
            "vllm-benchmark-serving-legacy.json",
        ] {
            let [figure] = &vllm(&text(name)).unwrap()[..] else {
                panic!("one figure from {name}");
            };
            assert_eq!(figure.unit, Unit::TokensPerSecond);
            let Work::Total(tokens) = figure.work else {
                panic!("a total");
            };
            assert!(tokens >= 1.0);
            let reported = figure.params["reported_output_tokens_per_s"]
                .as_f64()
                .unwrap();
            let duration = figure.params["reported_seconds"].as_f64().unwrap();
            assert!((reported * duration - tokens).abs() < 1e-6 * tokens);
            assert!(
                figure.params["median_tpot_ms"].as_f64().unwrap() > 0.0,
                "{name}"
            );
            assert!(
                figure.shape.starts_with("vllm bench serve "),
                "{}",
                figure.shape
            );
        }
        let figure = &vllm(&text("vllm-bench-serve.json")).unwrap()[0];
        assert_eq!(figure.work, Work::Total(492.0));
        assert_eq!(
            figure.shape,
            "vllm bench serve meta-llama/Llama-3.1-8B-Instruct concurrency 64"
        );
        assert_eq!(figure.params["total_input_tokens"], 1786.0);
    }

    #[test]
    fn vllm_files_that_are_not_a_run_say_why() {
        let good: Value = serde_json::from_str(&text("vllm-bench-serve.json")).unwrap();
        let with = |key: &str, value: Value| {
            let mut v = good.clone();
            v[key] = value;
            v.to_string()
        };
        for (bad, why) in [
            ("[1, 2]".to_string(), "not a JSON object"),
            ("{".to_string(), "not JSON"),
            (with("duration", json!(-1.0)), "duration is -1.0"),
            (with("duration", json!("fast")), "duration is \"fast\""),
            (with("completed", json!(0)), "no request completed"),
            (
                with("total_output_tokens", json!(1e300)),
                "total_output_tokens",
            ),
            (with("median_tpot_ms", json!(-3)), "median_tpot_ms"),
            (with("max_concurrency", json!(0)), "max_concurrency"),
        ] {
            let error = vllm(&bad).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("duration");
        assert!(
            vllm(&missing.to_string())
                .unwrap_err()
                .contains("no duration")
        );
    }

    /// `--burstiness inf` writes bare Infinity; `--append-result` one run
    /// per line, the last this one.
    #[test]
    fn vllm_infinity_and_appended_runs_read() {
        let text = text("vllm-bench-serve-default.json");
        let infinite = text.replacen("\"burstiness\": 1.0", "\"burstiness\": Infinity", 1);
        assert!(
            infinite.contains("Infinity"),
            "the fixture has burstiness 1.0"
        );
        vllm(&infinite).unwrap();
        let older = text.replacen("\"completed\": 4", "\"completed\": 3", 1);
        let appended = format!("{older}\n{text}\n");
        let figure = &vllm(&appended).unwrap()[0];
        assert_eq!(figure.params["completed"], 4.0);
        assert_eq!(
            without_non_finite(r#"{"a": "NaN \"Infinity\"", "b": -Infinity, "c": NaN}"#),
            r#"{"a": "NaN \"Infinity\"", "b": null, "c": null}"#
        );
    }

    #[test]
    fn llama_bench_rows_are_prompt_or_output_tokens() {
        for name in ["llama-bench.json", "llama-bench-newer.json"] {
            let figures = llama_bench(&fixture(name)).unwrap();
            let shapes: Vec<&str> = figures.iter().map(|f| f.shape.as_str()).collect();
            assert_eq!(
                shapes,
                [
                    "llama-bench llama 8B Q4_0 pp512",
                    "llama-bench llama 8B Q4_0 tg128"
                ],
                "{name}"
            );
            assert_eq!(figures[0].params["tokens"], "prompt");
            assert_eq!(figures[1].params["tokens"], "output");
            let Work::Rate(rate) = figures[1].work else {
                panic!("a rate");
            };
            let ms = figures[1].params["ms_per_token"].as_f64().unwrap();
            assert!((ms - 1e3 / rate).abs() < 1e-9);
            assert_eq!(figures[0].samples.len(), 5);
        }
    }

    #[test]
    fn llama_bench_output_that_is_not_a_run_says_why() {
        let good: Value = serde_json::from_slice(&fixture("llama-bench.json")).unwrap();
        let with = |key: &str, value: Value| {
            let mut v = good.clone();
            v[1][key] = value;
            v.to_string().into_bytes()
        };
        for (bad, why) in [
            (b"".to_vec(), "not JSON"),
            (b"[]".to_vec(), "no tests"),
            (b"{}".to_vec(), "not a JSON array"),
            (b"[1]".to_vec(), "test 0 is not an object"),
            (b"[\xff]".to_vec(), "not UTF-8"),
            // An error mid-run leaves the array unclosed.
            (b"[\n  {\"n_prompt\": 512,".to_vec(), "not JSON"),
            (with("avg_ts", json!(0)), "test 1: avg_ts is 0"),
            (with("avg_ts", Value::Null), "test 1: no avg_ts"),
            (with("n_gen", json!(-1)), "test 1: n_gen"),
            (with("samples_ts", json!([1.0, -2.0])), "a sample of -2.0"),
            (
                with("samples_ts", json!([1.0, 2.0, 3.0])),
                "not the mean of its samples_ts",
            ),
            (with("n_gen", json!(0)), "both 0"),
        ] {
            let error = llama_bench(&bad).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
        // The same test twice (different thread counts): numbered.
        let mut twice = good.clone();
        let second = twice[1].clone();
        twice.as_array_mut().unwrap().push(second);
        let figures = llama_bench(twice.to_string().as_bytes()).unwrap();
        assert_eq!(figures[2].shape, "llama-bench llama 8B Q4_0 tg128 #2");
    }

    #[test]
    fn hashcat_sums_its_devices_per_mode() {
        let [figure] = &hashcat(&fixture("hashcat-21400-machine-readable.stdout")).unwrap()[..]
        else {
            panic!("one mode");
        };
        assert_eq!(figure.shape, "hashcat -m 21400");
        assert_eq!(figure.work, Work::Rate(24_742_915.0));
        let two = b"# version: v6.2.6\n1:1400:1755:1593:24.1:1000\n2:1400:1755:1593:24.5:3000\n\
                    1:21400:1755:1593:24.1:500\n";
        let twice = b"1:21400:0:0:1.0:1000\n1:21400:0:0:1.0:1000\n";
        assert!(hashcat(twice).unwrap_err().contains("twice"));
        let figures = hashcat(two).unwrap();
        assert_eq!(figures[0].work, Work::Rate(4000.0));
        assert_eq!(figures[0].params["devices"], 2);
        assert_eq!(figures[1].shape, "hashcat -m 21400");
        let error =
            hashcat(&fixture("hashcat-nonexistent-mode-machine-readable.stdout")).unwrap_err();
        assert!(error.contains("no benchmark line"), "{error}");
        // A human-readable run has no machine lines.
        assert!(hashcat(&fixture("hashcat-21400-human.stdout")).is_err());
        for bad in [
            "1:1400:0:0:1.0:0",
            "1:1400:0:0:1.0:1e30",
            "1:1400:0:0:NaN:5",
        ] {
            assert!(hashcat(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_count_is_work_in_its_units() {
        assert_eq!(count(1e12, Unit::GflopPerSecond).work, Work::Total(1000.0));
        let tokens = count(5e6, Unit::TokensPerSecond);
        assert_eq!(tokens.shape, "count 5000000 tokens");
        assert_eq!(tokens.params["tokens"], "output");
        assert_eq!(
            count(1e9, Unit::HashesPerSecond).shape,
            "count 1000000000 H"
        );
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Whatever a tool prints, each reader gives figures in range
            /// or one line saying why not; nothing panics.
            #[test]
            fn any_output_is_figures_or_a_reason(text in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                for parsed in [
                    vllm(&text),
                    llama_bench(text.as_bytes()),
                    llama_bench(&bytes),
                    hashcat(text.as_bytes()),
                    hashcat(&bytes),
                ] {
                    match parsed {
                        Ok(figures) => {
                            for f in figures {
                                let value = match f.work {
                                    Work::Total(v) | Work::Rate(v) => v,
                                };
                                prop_assert!(value.is_finite() && value > 0.0);
                            }
                        }
                        Err(why) => prop_assert!(!why.is_empty() && !why.contains('\n')),
                    }
                }
            }

            /// Lines shaped like hashcat's, with any numbers in them.
            #[test]
            fn hashcat_lines_with_any_numbers(device in any::<u32>(), mode in any::<u32>(), ms in any::<f64>(), rate in any::<f64>()) {
                let line = format!("{device}:{mode}:0:0:{ms}:{rate}\n");
                if let Ok(figures) = hashcat(line.as_bytes()) {
                    let Work::Rate(sum) = figures[0].work else { panic!() };
                    prop_assert!(sum.is_finite() && sum > 0.0 && sum <= Unit::HashesPerSecond.max_plausible());
                }
            }

            #[test]
            fn any_parse_flag_is_a_format_or_a_reason(text in ".{0,40}") {
                if let Err(why) = text.parse::<crate::external::Parse>() {
                    prop_assert!(!why.is_empty());
                }
            }
        }
    }
}
