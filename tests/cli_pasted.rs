//! The CLI on pasted text (no dump): `explain --log` and `waitgraph --log`, text, JSON and
//! DOT, over the seed logs kept in fixtures/seeds/.

mod common;

fn quiesce(args: &[&str]) -> (i32, String, String) {
    common::run_quiesce(args)
}

#[test]
fn explain_the_fanotify_srcu_deadlock_from_a_crash_session() {
    let (rc, out, err) = quiesce(&[
        "explain",
        "--log",
        "fixtures/seeds/000_crash_foreach_bt_fanotify.txt",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("[deadlock]"), "{out}");
    assert!(
        out.contains("fanotify07:916") && out.contains("fsnotify_mark_srcu"),
        "{out}"
    );
    // The 16 readers of one fanotify group are grouped, the unparsed notes counted, and the
    // three `# ...` comments of the pasted pseudo-code counted apart.
    assert!(
        out.contains("16× fanotify permission event on fanotify group"),
        "{out}"
    );
    assert!(out.contains("54 not understood"), "{out}");
    assert!(out.contains("3 notes about the paste"), "{out}");
}

#[test]
fn stall_log_as_json_and_dot() {
    let seed = "fixtures/seeds/002_lkml_rcu_self_detected_stall.txt";
    let (rc, out, err) = quiesce(&["explain", "--json", "--log", seed]);
    assert_eq!(rc, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &j["findings"][0]["finding"];
    assert_eq!(f["kind"], "stall");
    assert_eq!(f["title"], "rcu_sched grace period is held up by CPU 1");
    let steps = j["findings"][0]["steps"].as_array().unwrap();
    let fields: Vec<(&str, &str)> = steps[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["field"].as_str()?, e["value"].as_str()?)))
        .collect();
    assert!(fields.contains(&("softirq", "33/33")), "{fields:?}");
    assert!(fields.contains(&("fqs", "1")), "{fields:?}");
    assert!(fields.contains(&("flag irq-work", "!")), "{fields:?}");

    let (rc, dot, _) = quiesce(&["waitgraph", "--dot", "--log", seed]);
    assert_eq!(rc, 0);
    assert!(dot.starts_with("digraph waits {"), "{dot}");
    assert!(
        dot.contains("\"cpu_1\" -> \"task_22\" [label=\"is running\"]"),
        "{dot}"
    );
}

#[test]
fn prose_gives_no_findings_and_counts_every_line() {
    let (rc, out, _) = quiesce(&["explain", "--log", "fixtures/seeds/003_nocb_race_prose.txt"]);
    assert_eq!(rc, 0);
    assert!(out.contains("0 finding"), "{out}");
    assert!(out.contains("22 not understood"), "{out}");
}

#[test]
fn a_missing_log_file_is_one_error_line() {
    let (rc, _, err) = quiesce(&["explain", "--log", "no/such/file.txt"]);
    assert_eq!(rc, 1);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("quiesce: error:"))
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn a_real_syzbot_report_gets_its_title_and_signature_in_text_and_json() {
    let log = "tests/data/logs/syzbot_hung_x86_6.4_cfg80211_event_work.txt";
    let (rc, out, err) = quiesce(&["explain", "--json", "--log", log]);
    assert_eq!(rc, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reports = j["text_summary"]["reports"].as_array().unwrap();
    assert_eq!(
        reports[0]["syzbot"],
        "INFO: task hung in cfg80211_event_work"
    );
    assert!(
        reports[0]["signature"].as_str().unwrap().contains("wiphy"),
        "{out}"
    );
    // One blocked task and no holder in the text: nobody is blamed, and the reason is given.
    assert!(
        j["text_summary"]["why_no_finding"]
            .as_str()
            .unwrap()
            .contains("no holder")
    );
    let (rc, text, _) = quiesce(&["explain", "--log", log]);
    assert_eq!(rc, 0);
    assert!(
        text.contains("INFO: task hung in cfg80211_event_work  |  quiesce: "),
        "{text}"
    );
    assert!(text.contains("6 lockdep held-lock lists"), "{text}");
}
