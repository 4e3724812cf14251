//! The wait graph and `explain` on the real bookworm dumps (fixtures/kmod/quiesce_hang.c
//! scenarios, 4 `cat` readers blocked on `fanotify_hold`). Skipped when the fixtures are
//! absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::analysis::find::FindingKind;
use quiesce::analysis::graph::{EdgeKind, Graph, NodeKind};
use quiesce::analysis::walkthrough::{Explanation, explain};
use quiesce::kernel::Kernel;
use quiesce::report::Report;

fn open(scenario: &str) -> Option<Kernel> {
    open_in("bookworm", scenario)
}

fn open_in(release: &str, scenario: &str) -> Option<Kernel> {
    let r = common::release(release)?;
    let dump = r
        .dumps_of(scenario)
        .into_iter()
        .find(|d| d.name.ends_with(".elf"))?
        .path;
    Some(r.open(&dump))
}

fn chain(e: &Explanation, first: &str) -> Vec<String> {
    let f = e
        .findings
        .iter()
        .find(|w| w.finding.tasks.iter().any(|&t| e.graph.label(t) == first))
        .unwrap_or_else(|| panic!("no finding for {first}"));
    f.finding
        .chain
        .nodes
        .iter()
        .map(|&n| e.graph.label(n))
        .collect()
}

fn label_of(g: &Graph, comm: &str) -> String {
    g.nodes
        .iter()
        .find(|n| n.label.starts_with(&format!("{comm}:")))
        .map(|n| n.label.clone())
        .unwrap_or_else(|| panic!("no node {comm}"))
}

#[test]
fn hang_dump_findings() {
    // Every generation: 6.1, 6.12 and 7.x (whose mutex and rwsem keep a ring of waiters
    // with no list head).
    for r in common::releases() {
        eprintln!("{}: wait graph", r.name);
        let k = open_in(&r.name, "hang").expect("hang dump");
        hang_dump_findings_on(&k);
    }
}

fn hang_dump_findings_on(k: &Kernel) {
    let g = quiesce::analysis::graph_from_dump(k).unwrap();
    let l = |c: &str| label_of(&g, c);
    let e = explain(g.clone());

    // ABBA: a cycle naming both tasks and both mutexes, qh_abba_c attached.
    let dl = &e.findings[0].finding;
    assert_eq!(dl.kind, FindingKind::Deadlock);
    let cyc: Vec<String> = dl.cycle.iter().map(|&n| g.label(n)).collect();
    assert_eq!(
        cyc,
        [
            l("qh_abba_a"),
            "qh_mutex_b".into(),
            l("qh_abba_b"),
            "qh_mutex_a".into()
        ]
    );
    assert!(dl.tasks.iter().any(|&t| g.label(t) == l("qh_abba_c")));
    // Each blocked task's node carries the arguments of the frame it blocks in, from its
    // DWARF locations: the lock each ABBA thread asked for, the domain synchronize_srcu
    // waits for, the rwsem the writer wants.
    let args = |comm: &str| {
        g.nodes
            .iter()
            .find(|n| n.label == l(comm))
            .and_then(|n| n.field("args"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{comm}: no args field"))
    };
    assert!(
        args("qh_abba_a").starts_with("(lock = &qh_mutex_b"),
        "{}",
        args("qh_abba_a")
    );
    assert!(
        args("qh_abba_b").starts_with("(lock = &qh_mutex_a"),
        "{}",
        args("qh_abba_b")
    );
    assert!(
        args("qh_srcu_sync").starts_with("(ssp = &quiesce_srcu"),
        "{}",
        args("qh_srcu_sync")
    );

    assert!(
        args("qh_rwsem_writer").contains("sem = &qh_rwsem"),
        "{}",
        args("qh_rwsem_writer")
    );
    let owner = g
        .edges
        .iter()
        .find(|x| x.kind == EdgeKind::OwnedBy && g.label(x.from) == "qh_mutex_a")
        .unwrap();
    assert_eq!(owner.evidence[0].field.as_deref(), Some("mutex.owner"));

    // SRCU: qh_srcu_sync → quiesce_srcu → qh_srcu_reader (candidate), waited index and counts.
    assert_eq!(
        chain(&e, &l("qh_srcu_sync")),
        [
            l("qh_srcu_sync"),
            "quiesce_srcu".into(),
            l("qh_srcu_reader"),
            "qh_srcu_release".into()
        ]
    );
    let dom = g
        .nodes
        .iter()
        .find(|n| n.id.kind == NodeKind::SrcuDomain)
        .unwrap();
    let field = |k: &str| dom.field(k).map(str::to_string);
    assert_eq!(field("waits_on_idx").as_deref(), Some("0"));
    assert_eq!(field("readers[0]").as_deref(), Some("1"));
    assert_eq!(field("readers[1]").as_deref(), Some("0"));
    let rd = g
        .edges
        .iter()
        .find(|x| x.from == dom.id && x.kind == EdgeKind::CandidateHolder)
        .unwrap();
    assert!(rd.candidate);
    assert_eq!(rd.evidence[0].function.as_deref(), Some("qh_srcu_hold"));
    assert!(
        rd.evidence[0]
            .note
            .as_deref()
            .unwrap()
            .contains("Σlocks − Σunlocks = 1")
    );

    // rwsem: writer → qh_rwsem → reader (candidate), which sleeps on a timer.
    assert_eq!(
        chain(&e, &l("qh_rwsem_writer"))[..3],
        [
            l("qh_rwsem_writer"),
            "qh_rwsem".into(),
            l("qh_rwsem_reader")
        ]
    );
    assert!(
        g.edges
            .iter()
            .any(|x| g.label(x.from) == "qh_rwsem" && x.candidate)
    );

    // completion: no waker found, and why.
    let c = e
        .findings
        .iter()
        .find(|w| {
            w.finding
                .tasks
                .iter()
                .any(|&t| g.label(t) == l("qh_completion"))
        })
        .unwrap();
    assert_eq!(c.finding.kind, FindingKind::NoWaker);
    assert!(
        c.root_cause
            .contains("qh_never_done is a global completion with done = 0")
    );

    // flush_work: qh_flusher → qh_stuck_work → the kworker running qh_stuck_work_fn.
    let fl = chain(&e, &l("qh_flusher"));
    assert_eq!(fl[1], "qh_stuck_work");
    assert!(fl[2].starts_with("kworker/"), "{fl:?}");
    let ex = g
        .edges
        .iter()
        .find(|x| x.kind == EdgeKind::ExecutedBy)
        .unwrap();
    assert!(
        ex.evidence[0]
            .note
            .as_deref()
            .unwrap()
            .contains("current_func = qh_stuck_work_fn")
    );
    assert_eq!(fl[3], "qh_stuck_release");

    // fanotify: 4 cat readers → the group → fanotify_hold.
    let fan = e
        .findings
        .iter()
        .find(|w| {
            w.finding
                .tasks
                .iter()
                .all(|&t| g.label(t).starts_with("cat:"))
        })
        .unwrap();
    assert_eq!(fan.finding.tasks.len(), 4);

    // The seed's shape: qh_fan_sync in synchronize_srcu(quiesce_fan_srcu) → the domain,
    // whose two readers (cat, holding it across an open of the watched file) both appear
    // as candidate holders → the fanotify group → its listener, which has read every
    // permission event and answers none.
    let fs = chain(&e, &l("qh_fan_sync"));
    assert_eq!(fs[1], "quiesce_fan_srcu", "{fs:?}");
    assert!(fs[2].starts_with("cat:"), "{fs:?}");
    assert!(fs[3].starts_with("fanotify group 0x"), "{fs:?}");
    assert_eq!(fs[4], l("fanotify_hold"), "{fs:?}");
    let dom = g
        .nodes
        .iter()
        .find(|n| n.label == "quiesce_fan_srcu")
        .unwrap();
    let readers: Vec<String> = g
        .out_edges(dom.id)
        .filter(|x| x.kind == EdgeKind::CandidateHolder)
        .map(|x| g.label(x.to))
        .collect();
    assert_eq!(readers.len(), 2, "{readers:?}");
    assert!(readers.iter().all(|r| r.starts_with("cat:")), "{readers:?}");
    assert!(
        dom.field("readers[0]").is_some_and(|v| v == "2")
            || dom.field("readers[1]").is_some_and(|v| v == "2"),
        "{:?}",
        dom.fields
    );
    // Every task waiting on the group has one event in the listener's access_list (crash's
    // `list -H <group>.fanotify_data.access_list` counts 6 on the bookworm dump too).
    let group = g
        .nodes
        .iter()
        .find(|n| n.label.starts_with("fanotify group"))
        .unwrap();
    let waiting = g
        .in_edges(group.id)
        .filter(|x| x.kind == EdgeKind::WaitsOn)
        .count();
    assert_eq!(waiting, 6);
    let listened = g
        .out_edges(group.id)
        .find(|x| x.kind == EdgeKind::ListenedBy)
        .unwrap();
    // The listener's open fanotify fd is the kernel's own record: an exact edge.
    assert_eq!(listened.basis().words(), "exact: file.private_data");
    assert_eq!(
        listened.evidence[1].value.as_deref(),
        Some(format!("{waiting} entries").as_str())
    );
    let fsf = e
        .findings
        .iter()
        .find(|w| {
            w.finding
                .tasks
                .iter()
                .any(|&t| g.label(t) == l("qh_fan_sync"))
        })
        .unwrap();
    assert_eq!(fsf.finding.kind, FindingKind::NoWaker);
    assert!(
        fsf.root_cause.contains("sleeps in fanotify_read()"),
        "{}",
        fsf.root_cause
    );
    // The other reader is named in the finding, not left to the plain fanotify one.
    assert!(
        fsf.steps
            .iter()
            .any(|s| s.text.starts_with("also: srcu quiesce_fan_srcu"))
    );
    assert!(
        fan.finding.chain.nodes[2]
            == g.nodes
                .iter()
                .find(|n| n.label.starts_with("fanotify_hold:"))
                .unwrap()
                .id
    );
}

/// The `explain` text made comparable across fixture rebuilds (`common::normalize`), less
/// the lines about timers and callbacks whose set differs from boot to boot, and the
/// oldest waiter of each finding.
fn normalize(s: &str) -> String {
    common::normalize::normalize(s)
        .lines()
        .filter(|l| {
            // Which of two tasks that blocked in the same millisecond is older varies
            // from boot to boot (tests/waits_real.rs checks the times against drgn).
            !l.contains("expires")
                && !l.contains("gp_work")
                && !l.contains("srcu callback")
                && !l.contains("oldest waiter:")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hang_explain_snapshot() {
    let Some(k) = open("hang") else { return };
    let e = explain(quiesce::analysis::graph_from_dump(&k).unwrap());
    let got = normalize(&e.text());
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/explain_hang.txt");
    if std::env::var("QUIESCE_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .expect("tests/snapshots/explain_hang.txt (QUIESCE_UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        got, want,
        "explain text changed (QUIESCE_UPDATE_SNAPSHOTS=1 to accept)"
    );
    // JSON carries the graph and the steps.
    let j: serde_json::Value = serde_json::from_str(&e.json()).unwrap();
    assert!(j["graph"]["edges"].as_array().unwrap().len() >= 15);
    assert!(j["findings"][0]["steps"][0]["evidence"].is_array());
}

#[test]
fn rcustall_dump_names_cpu_and_task() {
    for r in common::releases() {
        eprintln!("{}: rcustall", r.name);
        let k = open_in(&r.name, "rcustall").expect("rcustall dump");
        rcustall_on(&k);
    }
}

fn rcustall_on(k: &Kernel) {
    let g = quiesce::analysis::graph_from_dump(k).unwrap();
    let e = explain(g);
    let st = e
        .findings
        .iter()
        .find(|w| w.finding.kind == FindingKind::Stall)
        .expect("a stall finding");
    let names: Vec<String> = st
        .finding
        .chain
        .nodes
        .iter()
        .map(|&n| e.graph.label(n))
        .collect();
    let i = names
        .iter()
        .position(|n| n == "CPU 1")
        .expect("CPU 1 in the chain");
    assert!(names[i + 1].starts_with("qh_rcu_staller:"), "{names:?}");
    assert!(
        st.steps
            .iter()
            .any(|s| s.teaching.is_some_and(|t| t.starts_with("RCU:")))
    );
}

/// The same findings on the arm64 fixtures (all three releases, both CPU models); skipped
/// when they are absent (CI does not build them), even under QUIESCE_REQUIRE_FIXTURES=1.
#[test]
fn hang_dump_findings_arm64() {
    for r in common::releases_of_arch("aarch64") {
        eprintln!("{}: wait graph", r.name);
        let k = open_in(&r.name, "hang").expect("hang dump");
        hang_dump_findings_on(&k);
        seed_chain_on(&k);
    }
}

#[test]
fn rcustall_dump_names_cpu_and_task_arm64() {
    for r in common::releases_of_arch("aarch64") {
        eprintln!("{}: rcustall", r.name);
        let k = open_in(&r.name, "rcustall").expect("rcustall dump");
        rcustall_on(&k);
    }
}

/// The seed-shaped scenario explained end to end: the `synchronize_srcu` caller → the
/// domain → a blocked reader (named by its code, which takes `quiesce_fan_srcu`) → the
/// unanswered fanotify permission event → the listener that must answer it.
fn seed_chain_on(k: &Kernel) {
    let g = quiesce::analysis::graph_from_dump(k).unwrap();
    let e = explain(g);
    let c = chain(&e, &label_of(&e.graph, "qh_fan_sync"));
    assert!(c.len() >= 5, "{c:?}");
    assert_eq!(c[1], "quiesce_fan_srcu", "{c:?}");
    assert!(c[2].starts_with("cat:"), "{c:?}");
    assert!(c[3].starts_with("fanotify group"), "{c:?}");
    assert!(c[4].starts_with("fanotify_hold:"), "{c:?}");
    // Both readers inside the domain are named.
    let g = &e.graph;
    let readers = g
        .edges
        .iter()
        .filter(|x| g.label(x.from) == "quiesce_fan_srcu" && x.candidate)
        .count();
    assert_eq!(readers, 2);
}
