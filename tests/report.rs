//! `mwbench report`: the committed result files, with the value flags,
//! as one HTML page, rendered by a real browser (Debian's `chromium`,
//! headless): no console errors, nothing fetched, and every chart with its
//! title, axis labels and a data mark.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_one_line_error, fixture, mwbench};
use assert_cmd::assert::OutputAssertExt;

/// The committed result files, sorted.
fn committed() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Headless chromium on `page` in a `width`x`height` window: the DOM it
/// built, and what it logged.
fn chromium(
    page: &Path,
    screenshot: &Path,
    profile: &Path,
    (width, height): (u32, u32),
) -> (String, String) {
    let output = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .env("HOME", profile)
        .output()
        .expect(
            "chromium, to render the report (apt-get install -y chromium; the README's \
             test command installs it)",
        );
    assert!(output.status.success(), "{output:?}");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The text of every `<text>` element of `svg`, entities decoded.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(unescape(body[..body.find("</text>")?].trim()))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the tag `tag`.
fn attribute(tag: &str, name: &str) -> String {
    let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    unescape(&tag[start..start + tag[start..].find('"').unwrap()])
}

/// `mwbench report` of the committed result files, priced, to `page`.
fn report_of_the_committed_results(page: &Path) {
    let mut args: Vec<String> = vec!["report".into()];
    args.extend(committed().iter().map(|p| p.display().to_string()));
    args.extend(
        [
            "--out",
            page.to_str().unwrap(),
            "--power-price",
            "45",
            "--hashprice",
            "45",
            "--token-price",
            "0.2",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    mwbench(&args).output().unwrap().assert().success();
}

#[test]
fn the_report_of_the_committed_results_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    report_of_the_committed_results(&page);
    let written = std::fs::read_to_string(&page).unwrap();
    // One file, nothing beside it; nothing from the network.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    for external in ["src=", "href=\"http", "<link", "<script", "@import", "url("] {
        assert!(!written.contains(external), "{external} in the report");
    }
    for section in [
        "Machine, device and settings",
        "Roofline",
        "Sustained runs",
        "Comparison",
        "Value per MW",
    ] {
        assert!(written.contains(section), "no {section} section");
    }
    assert!(
        written.contains("ESTIMATE") || !written.contains("estimated"),
        "estimates marked"
    );
    // The H200's decode beside its roof, as `value` shows it.
    assert!(written.contains("at the roof (memory-bound"), "no roof row");
    assert!(written.contains("% of its roof"), "no overtaking clause");

    let profile = tempfile::tempdir().unwrap();
    let screenshot = dir.path().join("report.png");
    let (dom, log) = chromium(&page, &screenshot, profile.path(), (1280, 2000));
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&screenshot).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(
        png.len() > 50_000,
        "a blank screenshot? {} bytes",
        png.len()
    );

    let figures: Vec<&str> = dom.split("<figure class=\"chart\"").skip(1).collect();
    // A roofline per file with both ceilings, a series per sustained
    // result, and the value chart.
    assert!(figures.len() >= 4, "{} charts", figures.len());
    for figure in figures {
        let tag = &figure[..figure.find('>').unwrap()];
        let svg = &figure[..figure.find("</figure>").unwrap()];
        let texts = texts(svg);
        for name in ["data-title", "data-x-label", "data-y-label"] {
            let wanted = attribute(tag, name);
            assert!(
                texts.iter().any(|t| t.starts_with(&wanted)),
                "{name} '{wanted}' is not drawn in the chart: {texts:?}"
            );
        }
        assert!(
            svg.contains("<circle") || svg.contains("<polyline"),
            "{} has no data mark",
            attribute(tag, "data-title")
        );
    }
}

/// Where `selector`'s element lies in the first screen of `page`, as the
/// browser lays it out in a 1280x800 window: its top and bottom in CSS
/// pixels, and the window's height. The report runs no script; a copy of
/// it gets one that writes the measures into the DOM chromium dumps.
fn laid_out(page: &Path, selectors: &[&str]) -> Vec<(f64, f64, f64)> {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.html");
    let script = format!(
        "<script>document.body.dataset.probe = JSON.stringify({:?}.map(s => {{\
         const r = document.querySelector(s).getBoundingClientRect(); \
         return [r.top, r.bottom, window.innerHeight]; }}));</script></body>",
        selectors
    );
    let html = std::fs::read_to_string(page).unwrap();
    std::fs::write(&probe, html.replace("</body>", &script)).unwrap();
    let (dom, log) = chromium(
        &probe,
        &dir.path().join("first-screen.png"),
        dir.path(),
        (1280, 800),
    );
    let start = dom
        .find("data-probe=\"")
        .unwrap_or_else(|| panic!("the probe did not run: {log}"))
        + "data-probe=\"".len();
    let json = unescape(&dom[start..start + dom[start..].find('"').unwrap()]);
    serde_json::from_str(&json).unwrap()
}

/// The report opens with the answer: the verdict, first of the sections,
/// within the first screen of a laptop (1280x800), headline and the first
/// GPU's figures; without prices, the summary of the files instead.
#[test]
fn the_verdict_is_the_first_screen() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    report_of_the_committed_results(&page);
    let html = std::fs::read_to_string(&page).unwrap();
    let first = &html[html.find("<section").unwrap()..];
    assert!(
        first.starts_with("<section id=\"verdict\">"),
        "{}",
        &first[..200]
    );
    let verdict = &first[..first.find("</section>").unwrap()];
    for wanted in [
        "USD per MW-year",
        "ahead of",
        "GH/s",
        "tokens/s",
        "measured by a sensor",
        "tokens/J",
        "of its roof",
        "prompt tokens alone",
        "ran at batch 1 alone",
    ] {
        assert!(
            verdict.contains(wanted),
            "no {wanted} in the verdict: {verdict}"
        );
    }
    let measures = laid_out(&page, &["#verdict", "#verdict p.lead", "#verdict tbody tr"]);
    // The window's viewport, less the browser's own bars, is the screen.
    let in_view = |(top, bottom, screen): (f64, f64, f64)| top >= 0.0 && bottom <= screen;
    let [section, headline, first_gpu] = measures[..] else {
        panic!("{measures:?}");
    };
    assert!(
        section.0 < section.2 && in_view(headline) && in_view(first_gpu),
        "the verdict (section, headline, first GPU's row: top, bottom, screen height) is \
         not in the first screen: {measures:?}"
    );

    // No prices: the summary of the files comes first.
    let summary = dir.path().join("summary.html");
    mwbench(&[
        "report",
        fixture("results/lavapipe-tiny-100w.json").to_str().unwrap(),
        "--out",
        summary.to_str().unwrap(),
    ])
    .output()
    .unwrap()
    .assert()
    .success();
    let html = std::fs::read_to_string(&summary).unwrap();
    let first = &html[html.find("<section").unwrap()..];
    assert!(
        first.starts_with("<section id=\"summary\">"),
        "{}",
        &first[..200]
    );
    assert!(
        first.contains("fastest in H/s: sha256d"),
        "{}",
        &first[..2000]
    );
}

/// A merged site file gets its groups, outliers highlighted.
#[test]
fn a_merged_file_shows_its_groups() {
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("site.json");
    let input = fixture("results/lavapipe-tiny-100w.json");
    // A second node: the same file twice would count one node twice.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    other["machine"]["hostname"] = "node-b".into();
    let second = dir.path().join("node-b.json");
    std::fs::write(&second, other.to_string()).unwrap();
    mwbench(&[
        "merge",
        input.to_str().unwrap(),
        second.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ])
    .output()
    .unwrap()
    .assert()
    .success();
    let page = dir.path().join("site.html");
    mwbench(&[
        "report",
        merged.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ])
    .output()
    .unwrap()
    .assert()
    .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Site: "), "a site section");
    // The summary it opens with counts the site's members.
    let first = &html[html.find("<section").unwrap()..];
    assert!(
        first.starts_with("<section id=\"summary\">"),
        "{}",
        &first[..200]
    );
    assert!(first.contains("site of 2 hosts"), "{}", &first[..2000]);
    assert!(
        first.contains("6 of 6 members&#39; results"),
        "{}",
        &first[..2000]
    );
    assert!(html.contains("watts total"), "the merge table");
    assert!(
        !html.contains("Value per MW"),
        "no value flags, no value section"
    );
}

#[test]
fn report_usage_errors() {
    let input = fixture("results/lavapipe-tiny-100w.json");
    let input = input.to_str().unwrap();
    assert_one_line_error(&["report", input], 2, "--out");
    assert_one_line_error(
        &[
            "report",
            input,
            "--out",
            "/tmp/r.html",
            "--sweep",
            "10:100:10",
        ],
        2,
        "value flags",
    );
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &["report", input, "--out", dir.path().to_str().unwrap()],
        1,
        "is a directory",
    );
    // A FIFO would block an unattended run: refused, as by compare and value.
    let fifo = dir.path().join("fifo.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap();
    let html = dir.path().join("f.html");
    for args in [
        &["report", fifo, "--out", html.to_str().unwrap()][..],
        &["compare", fifo, input][..],
        &["value", fifo, "--power-price", "40"][..],
    ] {
        assert_one_line_error(args, 2, "not a regular file");
    }
    // Never over a file it reads.
    let copy = dir.path().join("copy.json");
    std::fs::copy(input, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    assert_one_line_error(
        &[
            "report",
            copy.to_str().unwrap(),
            "--out",
            copy.to_str().unwrap(),
        ],
        2,
        "one of the files read",
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{").unwrap();
    let out = dir.path().join("r.html");
    assert_one_line_error(
        &[
            "report",
            not_json.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        2,
        "x.json",
    );
    assert!(!out.exists(), "no report from a bad input");
}
