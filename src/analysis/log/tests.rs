//! The seed logs of fixtures/seeds/ through `explain_text`.

use super::*;
use crate::analysis::find::FindingKind;

fn seed(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seeds")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

fn labels(e: &Explanation, i: usize) -> Vec<String> {
    e.findings[i]
        .finding
        .chain
        .nodes
        .iter()
        .map(|&n| e.graph.label(n))
        .collect()
}

#[test]
fn seed_000_fanotify_srcu_cycle() {
    let e = explain_text(&seed("000_crash_foreach_bt_fanotify.txt"));
    let t = e.text_summary.as_ref().unwrap();
    // The three `# ...` comments of the pasted pseudo-code are notes, not log lines.
    assert_eq!(
        (t.total_lines, t.unparsed_lines, t.annotation_lines),
        (160, 54, 3)
    );
    // The 16 readers wait on one object from one call site: one group.
    assert!(
        t.stack_groups[0].starts_with(
            "16× fanotify permission event on fanotify group, from fanotify_handle_event"
        ),
        "{:?}",
        t.stack_groups
    );
    assert_eq!(e.findings.len(), 1);
    let f = &e.findings[0].finding;
    assert_eq!(f.kind, FindingKind::Deadlock);
    // listener 916 closes its fd → synchronize_srcu(fsnotify_mark_srcu) → readers inside
    // fsnotify() wait for the listener's answer.
    let cyc: Vec<String> = f.cycle.iter().map(|&n| e.graph.label(n)).collect();
    assert_eq!(
        cyc,
        [
            "fanotify07:916",
            "fsnotify_mark_srcu",
            "fanotify07:929",
            "fanotify group"
        ]
    );
    // 916's SRCU wait with the frame it came from.
    let w = e
        .graph
        .edges
        .iter()
        .find(|x| e.graph.label(x.from) == "fanotify07:916")
        .unwrap();
    assert_eq!(w.what.as_deref(), Some("SRCU grace period"));
    assert_eq!(
        w.evidence[0].function.as_deref(),
        Some("__synchronize_srcu")
    );
    assert_eq!(w.evidence[0].frame, Some(6));
    // fsnotify_mark:44 and all 16 readers are explained by the cycle.
    assert_eq!(f.tasks.len(), 18);
    assert!(e.graph.text().contains(
        "task fsnotify_mark:44 --waits on (SRCU grace period)--> srcu fsnotify_mark_srcu"
    ));
}

#[test]
fn seed_001_ai_trees_srcu_and_rcu() {
    let e = explain_text(&seed("001_ai_analysis_stack_trees.txt"));
    assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 4);
    // The two kworkers in synchronize_rcu_normal wait on the GP the P4093 line holds.
    assert_eq!(e.findings[0].finding.kind, FindingKind::Stall);
    assert_eq!(e.findings[0].finding.tasks.len(), 2);
    assert_eq!(
        labels(&e, 0),
        ["kworker/0:0:9", "RCU grace period", "repro2:4093"]
    );
    let srcu = e
        .findings
        .iter()
        .find(|f| f.finding.kind == FindingKind::NoWaker)
        .unwrap();
    assert_eq!(
        srcu.finding
            .chain
            .nodes
            .iter()
            .map(|&n| e.graph.label(n))
            .collect::<Vec<_>>(),
        ["repro2:4086", "tracepoint_srcu"]
    );
    assert!(srcu.steps[0].teaching.unwrap().starts_with("SRCU:"));
    assert_eq!(
        srcu.steps[0].evidence[0].function.as_deref(),
        Some("__synchronize_srcu")
    );
}

#[test]
fn seed_002_self_detected_stall() {
    let e = explain_text(&seed("002_lkml_rcu_self_detected_stall.txt"));
    assert_eq!(e.findings.len(), 1);
    assert_eq!(
        labels(&e, 0),
        ["rcu_sched grace period", "CPU 1", "kworker/1:4:34"]
    );
    let hop = &e.findings[0].steps[0];
    assert!(
        hop.evidence[0]
            .note
            .as_deref()
            .unwrap()
            .contains("CPU 1 flags \"...!\"")
    );
    assert!(
        hop.evidence
            .iter()
            .any(|x| x.field.as_deref() == Some("ticks this GP")
                && x.value.as_deref() == Some("(2099 ticks this GP)")),
        "{:?}",
        hop.evidence
    );
    let t = e.text_summary.as_ref().unwrap();
    assert_eq!(t.unparsed_lines, 3);
    assert!(!t.decoded.is_empty());
}

#[test]
fn seed_003_prose_gives_nothing_but_counts() {
    let e = explain_text(&seed("003_nocb_race_prose.txt"));
    assert!(e.findings.is_empty() && e.graph.nodes.is_empty());
    assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 22);
}

#[test]
fn seed_004_starved_gp_kthread() {
    let e = explain_text(&seed("004_qemu_rcu_stall_logs.txt"));
    assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 1);
    assert_eq!(e.findings.len(), 1);
    assert_eq!(
        labels(&e, 0),
        ["rcu_preempt grace period", "rcu_preempt kthread"]
    );
    assert!(
        e.findings[0]
            .root_cause
            .contains("starved for 63151 jiffies"),
        "{}",
        e.findings[0].root_cause
    );
}
