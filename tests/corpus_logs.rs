//! The corpus of real hang reports in tests/data/logs/ (see its README) through the parsers
//! and `explain`. Every expectation comes from tests/data/logs/expect.toml, counted by hand
//! from the files and taken from the sources' diagnoses; nothing here is copied from
//! quiesce's output.

use quiesce::analysis::log::explain_text;
use quiesce::analysis::walkthrough::Explanation;
use quiesce::artifacts::{ParsedArtifact, UNPARSED_SAMPLES, parse_text};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/logs");

struct Log {
    file: String,
    text: String,
    exp: toml::Value,
}

impl Log {
    fn count(&self, k: &str) -> usize {
        self.exp.get(k).and_then(|v| v.as_integer()).unwrap_or(0) as usize
    }
    fn str(&self, k: &str) -> Option<&str> {
        self.exp.get(k).and_then(|v| v.as_str())
    }
}

fn corpus() -> Vec<Log> {
    let exp: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{DIR}/expect.toml")).unwrap()).unwrap();
    let logs: Vec<Log> = exp["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let file = e["file"].as_str().unwrap().to_string();
            let bytes = std::fs::read(format!("{DIR}/{file}")).unwrap();
            Log {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                file,
                exp: e.clone(),
            }
        })
        .collect();
    // Every file of the directory has its expectations, and the other way round.
    let mut on_disk: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = logs.iter().map(|l| l.file.clone()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "expect.toml and tests/data/logs/*.txt differ"
    );
    assert!(logs.len() >= 60, "the corpus holds {} logs", logs.len());
    logs
}

/// What the parsers found, in the units of expect.toml.
fn counts(p: &ParsedArtifact) -> Vec<(&'static str, usize)> {
    vec![
        ("hung", p.hung_tasks.iter().filter(|h| h.header).count()),
        (
            "blockers",
            p.hung_tasks.iter().map(|h| h.blockers.len()).sum(),
        ),
        ("stalls", p.stalls.len()),
        ("soft", p.soft_lockups.len()),
        ("wq", p.wq_lockups.len()),
        ("gp_dumps", p.gp_dumps.len()),
        ("holders", p.held_locks.len()),
        (
            "stacks",
            p.tasks.iter().filter(|t| !t.frames.is_empty()).count(),
        ),
    ]
}

#[test]
fn every_log_parses_to_its_hand_counts_within_a_second() {
    let mut bad = Vec::new();
    for log in corpus() {
        let t0 = std::time::Instant::now();
        let p = parse_text(&log.text);
        let e = explain_text(&log.text);
        let took = t0.elapsed();
        assert!(took.as_millis() < 1000, "{}: {took:?}", log.file);
        for (k, got) in counts(&p) {
            if got != log.count(k) {
                bad.push(format!(
                    "{}: {k} = {got}, expected {}",
                    log.file,
                    log.count(k)
                ));
            }
        }
        // Nothing dropped silently: what no parser understood is counted, and shown.
        assert_eq!(
            p.unparsed_samples.len(),
            p.unparsed_lines.min(UNPARSED_SAMPLES),
            "{}",
            log.file
        );
        let ts = e.text_summary.as_ref().unwrap();
        assert_eq!(ts.unparsed_lines, p.unparsed_lines);
        assert!(p.total_lines >= p.unparsed_lines + p.annotation_lines + p.duplicate_lines);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Who the first finding blames, and whether as a candidate.
fn blamed(e: &Explanation) -> (Vec<String>, bool) {
    match e.findings.first() {
        Some(w) => (
            w.finding
                .culprits
                .iter()
                .map(|&c| e.graph.label(c))
                .collect(),
            w.finding.culprit_is_candidate,
        ),
        None => (Vec::new(), false),
    }
}

#[test]
fn explain_names_the_diagnosed_culprit_and_no_wrong_holder_with_confidence() {
    let mut right = 0;
    let mut diagnosed = 0;
    let mut report = Vec::new();
    for log in corpus() {
        let e = explain_text(&log.text);
        let (named, candidate) = blamed(&e);
        if let Some(c) = log.str("culprit") {
            diagnosed += 1;
            if named.iter().any(|n| n == c) {
                right += 1;
            } else {
                report.push(format!("{}: named {named:?}, diagnosis {c}", log.file));
                // A wrong culprit may only ever be a marked guess.
                assert!(
                    named.is_empty() || candidate,
                    "{}: names {named:?} with confidence, the diagnosis blames {c}",
                    log.file
                );
            }
        }
        if log.exp.get("no_holder").and_then(|v| v.as_bool()) == Some(true) {
            // The diagnosis says nobody holds anything: no finding may name a holder.
            for w in &e.findings {
                assert!(
                    w.finding.culprits.is_empty(),
                    "{}: {} names {:?}",
                    log.file,
                    w.finding.title,
                    w.finding.culprits
                );
            }
        }
    }
    assert!(diagnosed >= 8, "only {diagnosed} logs with a diagnosis");
    assert!(
        right * 5 >= diagnosed * 4,
        "culprit named for {right} of {diagnosed} diagnosed logs:\n{}",
        report.join("\n")
    );
}

#[test]
fn syzbot_titles_match_syzbot() {
    let mut n = 0;
    for log in corpus() {
        let Some(title) = log.str("title") else {
            continue;
        };
        n += 1;
        let e = explain_text(&log.text);
        let got: Vec<String> = e
            .text_summary
            .as_ref()
            .unwrap()
            .reports
            .iter()
            .filter_map(|r| r.syzbot.clone())
            .collect();
        assert!(
            got.iter().any(|g| g == title),
            "{}: {got:?}, syzbot: {title}",
            log.file
        );
    }
    assert!(n >= 5);
}

#[test]
fn a_log_without_a_culprit_says_why_in_one_line() {
    for log in corpus() {
        let e = explain_text(&log.text);
        let ts = e.text_summary.as_ref().unwrap();
        let blames = e.findings.iter().any(|w| !w.finding.culprits.is_empty());
        match (&ts.why_no_finding, blames) {
            (Some(w), false) => assert!(!w.is_empty() && !w.contains('\n'), "{}: {w:?}", log.file),
            (None, true) => {}
            (w, b) => panic!("{}: culprit named = {b}, why = {w:?}", log.file),
        }
        // No Rust debug strings in what a person reads.
        let text = quiesce::report::Report::text(&e);
        for s in ["Some(", "None", "[\"", "SelfDetected", "OtherCpus"] {
            assert!(!text.contains(s), "{}: {s} in\n{text}", log.file);
        }
    }
}

#[test]
fn cut_and_joined_pastes_never_panic() {
    // A paste can end anywhere: every log cut at twenty points, and all logs run together.
    let logs = corpus();
    for log in &logs {
        let t = &log.text;
        for k in 1..20 {
            let mut at = t.len() * k / 20;
            while !t.is_char_boundary(at) {
                at -= 1;
            }
            let _ = explain_text(&t[..at]);
        }
    }
    let all: String = logs
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let t0 = std::time::Instant::now();
    let e = explain_text(&all);
    assert!(!e.findings.is_empty());
    assert!(t0.elapsed().as_secs() < 10, "{:?}", t0.elapsed());
}
