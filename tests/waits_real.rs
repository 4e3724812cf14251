//! What the kernel records about blocked tasks, on the real hang dumps, against drgn's read
//! of the same fields (`fixtures/ref/drgn_waits.py`, run at test time with the fixture
//! venv's drgn): exact edges from `task_struct.blocker` where the vmlinux has it (7.x),
//! inferred ones from the stack where it does not (6.1, 6.12), exact owners everywhere.
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use common::waits::{Case, assert_blocker_edge};
use quiesce::analysis::graph::{Basis, EdgeKind, NodeId, NodeKind};
use serde_json::Value;

fn cases() -> Vec<Case> {
    common::waits::cases("hang")
}

fn hex(v: &Value) -> u64 {
    common::hex_or_int(v)
}

#[test]
fn lock_edges_are_exact_where_the_kernel_records_them() {
    for c in cases() {
        eprintln!("{}: lock edges against drgn", c.name);
        let g = &c.graph;
        let rows = c.drgn["tasks"].as_array().unwrap();
        let has_blocker = rows.iter().any(|t| t.get("blocker").is_some());
        // The waiters of the test module's locks: (comm, lock symbol, kind, writer?).
        let waits = [
            ("qh_abba_a", "qh_mutex_b", NodeKind::Mutex, None),
            ("qh_abba_b", "qh_mutex_a", NodeKind::Mutex, None),
            ("qh_abba_c", "qh_mutex_a", NodeKind::Mutex, None),
            ("qh_rwsem_writer", "qh_rwsem", NodeKind::Rwsem, Some(true)),
        ];
        for (comm, lock, kind, write) in waits {
            let t = c.drgn_task(comm);
            let task = NodeId::new(NodeKind::Task, hex(&t["address"]));
            let lock_addr = hex(&c.drgn["locks"][lock]["address"]);
            let e = g
                .edges
                .iter()
                .find(|e| e.from == task && e.kind == EdgeKind::WaitsOn)
                .unwrap_or_else(|| panic!("{}: no wait edge for {comm}", c.name));
            assert_eq!(e.to, NodeId::new(kind, lock_addr), "{}: {comm}", c.name);
            if write == Some(true) {
                assert_eq!(e.what.as_deref(), Some("rwsem (down_write)"));
            }
            if has_blocker {
                // 7.x: drgn's raw word is the lock's address with the type in bits 0–1
                // (0 mutex, 3 rwsem writer), and quiesce's edge comes from it, marked so.
                let raw = hex(&t["blocker"]);
                let ty = if kind == NodeKind::Mutex { 0 } else { 3 };
                assert_blocker_edge(e, raw, lock_addr, ty, &format!("{}: {comm}", c.name));
                let ev = &e.evidence[0];
                assert_eq!(ev.value.as_deref(), Some(format!("{raw:#x}").as_str()));
                assert!(ev.exact);
                if kind == NodeKind::Mutex {
                    // 7.x also sets blocked_on (struct mutex *): a second exact record.
                    assert_eq!(hex(&t["blocked_on"]), lock_addr);
                    assert!(
                        e.evidence.iter().any(
                            |v| v.exact && v.field.as_deref() == Some("task_struct.blocked_on")
                        )
                    );
                }
            } else {
                // 6.1 / 6.12: nothing recorded; the on-stack waiter gives the lock.
                assert!(
                    matches!(&e.basis(), Basis::Inferred { from } if from.starts_with("stack frame #")),
                    "{}: {comm}: {:?}",
                    c.name,
                    e.basis()
                );
                assert!(e.evidence.iter().all(|v| !v.exact));
            }
        }
        // Owners: the mutexes' owner words as drgn reads them, exact edges to those tasks.
        for lock in ["qh_mutex_a", "qh_mutex_b"] {
            let l = &c.drgn["locks"][lock];
            let m = NodeId::new(NodeKind::Mutex, hex(&l["address"]));
            let owner = hex(&l["owner"]) & !7;
            let e = g
                .edges
                .iter()
                .find(|e| e.from == m && e.kind == EdgeKind::OwnedBy)
                .unwrap_or_else(|| panic!("{}: {lock} has no owner edge", c.name));
            assert_eq!(e.to, NodeId::new(NodeKind::Task, owner));
            assert_eq!(
                e.basis(),
                Basis::Exact {
                    field: "mutex.owner".into()
                }
            );
        }
        // The reader-owned rwsem's holder is a hint, never exact.
        let sem = NodeId::new(
            NodeKind::Rwsem,
            hex(&c.drgn["locks"]["qh_rwsem"]["address"]),
        );
        for e in g.edges.iter().filter(|e| e.from == sem) {
            assert!(e.candidate && !e.basis().is_exact(), "{}: {e:?}", c.name);
        }
        // JSON says the same per edge.
        let j = serde_json::to_value(g).unwrap();
        let exact = j["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["exact"] == true && e["basis"]["field"] == "task_struct.blocker")
            .count();
        assert_eq!(exact, if has_blocker { 4 } else { 0 }, "{}", c.name);
        // And the text.
        let text = g.text();
        let line = text
            .lines()
            .find(|l| l.contains("qh_abba_c:") && l.contains("--waits on"))
            .unwrap();
        assert!(
            line.contains(if has_blocker {
                "(exact: task_struct.blocker)"
            } else {
                "(inferred: stack frame #"
            }),
            "{}: {line}",
            c.name
        );
    }
}

/// Time blocked: quiesce's `Task::blocked_ns` against a direct computation from drgn's reads
/// of the same fields. No reference has crash's `ps -m` (crash cannot open sid, and the
/// fixture commands do not run it), so the figure is recomputed here from its definition:
/// the latest `rq->clock` of any CPU (the scheduler's "now" in the clock `last_arrival` is
/// stamped with) minus the task's `sched_info.last_arrival`, both read by drgn.
#[test]
fn time_blocked_matches_drgn_and_ranks_findings() {
    for c in cases() {
        eprintln!("{}: time blocked against drgn", c.name);
        let now = c.drgn["rq_clock"]
            .as_object()
            .unwrap()
            .values()
            .map(hex)
            .max()
            .unwrap();
        let mut checked = 0;
        for t in c.drgn["tasks"].as_array().unwrap() {
            let Some(arrival) = t.get("last_arrival").map(hex) else {
                continue;
            };
            let want = now - arrival;
            let node = c
                .graph
                .get(NodeId::new(NodeKind::Task, hex(&t["address"])))
                .unwrap_or_else(|| panic!("{}: no node for {}", c.name, t["comm"]));
            assert_eq!(node.blocked_ns, Some(want), "{}: {}", c.name, t["comm"]);
            // The hang scenario starts seconds after boot, and the dump is taken after the
            // hung-task reports: every D task has waited for seconds, not ns or days.
            assert!(
                (1_000_000_000..3_600_000_000_000).contains(&want),
                "{}: {} blocked {want} ns",
                c.name,
                t["comm"]
            );
            checked += 1;
        }
        assert!(checked >= 10, "{}: only {checked} D tasks", c.name);
        // qh_abba_c and qh_flusher start 100 ms after the others (msleep(100) in
        // fixtures/kmod/quiesce_hang.c), so they have waited less than qh_abba_a.
        let ns = |comm: &str| {
            let t = c.drgn_task(comm);
            c.graph
                .get(NodeId::new(NodeKind::Task, hex(&t["address"])))
                .and_then(|n| n.blocked_ns)
                .unwrap()
        };
        assert!(ns("qh_abba_c") < ns("qh_abba_a"), "{}", c.name);
        assert!(ns("qh_flusher") < ns("qh_abba_a"), "{}", c.name);

        // Findings: each says its oldest waiter, and within a kind (and culprit or not)
        // the oldest waiter ranks first.
        let e = quiesce::analysis::walkthrough::explain(c.graph.clone());
        let fs: Vec<_> = e.findings.iter().map(|w| &w.finding).collect();
        for f in &fs {
            let (t, ns) = f.oldest_waiter.expect("every finding has a timed waiter");
            assert!(f.tasks.contains(&t));
            for &o in &f.tasks {
                assert!(c.graph.get(o).unwrap().blocked_ns.unwrap_or(0) <= ns);
            }
        }
        for w in fs.windows(2) {
            if (w[0].kind, w[0].culprits.is_empty()) == (w[1].kind, w[1].culprits.is_empty()) {
                assert!(
                    w[0].oldest_waiter.unwrap().1 >= w[1].oldest_waiter.unwrap().1,
                    "{}: {} before {}",
                    c.name,
                    w[0].title,
                    w[1].title
                );
            }
        }
    }
}

/// `ps` and `stacks` show the time blocked, text and JSON, as `Task::blocked_ns` has it.
#[test]
fn ps_and_stacks_show_time_blocked() {
    use quiesce::kernel::tasks::duration_words;
    use quiesce::report::Report;
    let Some(r) = common::release("sid") else {
        return;
    };
    let d = r
        .dumps_of("hang")
        .into_iter()
        .find(|d| d.name.ends_with(".elf"))
        .unwrap();
    let k = r.open(&d.path);
    let list = k.tasks().unwrap();
    let t = list
        .tasks
        .iter()
        .find(|t| t.comm == "qh_abba_a")
        .unwrap()
        .clone();
    let ns = t.blocked_ns.expect("a blocked task has a time");
    let ps = quiesce::report::ps::PsReport::new(list.tasks.clone(), vec![]);
    let row = ps
        .text()
        .lines()
        .find(|l| l.ends_with("[qh_abba_a]"))
        .unwrap()
        .to_string();
    assert!(
        row.contains(&format!(" UN  {:>12}  ", duration_words(ns))),
        "{row}"
    );
    let j = serde_json::to_value(&ps).unwrap();
    let jt = j["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["comm"] == "qh_abba_a")
        .unwrap();
    assert_eq!(jt["blocked_ns"].as_u64(), Some(ns));
    // Running tasks have none.
    assert!(
        list.tasks
            .iter()
            .filter(|t| t.active)
            .all(|t| t.blocked_ns.is_none())
    );

    let u = quiesce::unwind::task::Unwinder::new(&k).unwrap();
    let traces: Vec<_> = list
        .tasks
        .iter()
        .filter(|t| t.comm.starts_with("qh_abba"))
        .map(|t| u.backtrace(&k, t))
        .collect();
    let st = quiesce::report::bt::StacksReport::new(&traces);
    let longest = traces
        .iter()
        .filter_map(|b| Some((b.task.pid, b.task.blocked_ns?)))
        .max_by_key(|&(_, ns)| ns)
        .unwrap();
    assert!(
        st.text().contains(&format!(
            "blocked longest: {} (pid {})",
            duration_words(longest.1),
            longest.0
        )),
        "{}",
        st.text()
    );
}

/// The ABBA deadlock as its smallest cycle, the third task that only waits on it apart;
/// tasks and locks by drgn's addresses.
#[test]
fn deadlock_is_the_smallest_cycle_with_waiters_apart() {
    use quiesce::analysis::find::FindingKind;
    use quiesce::report::Report;
    for c in cases() {
        eprintln!("{}: ABBA cycle against drgn", c.name);
        let task = |comm: &str| NodeId::new(NodeKind::Task, hex(&c.drgn_task(comm)["address"]));
        let lock = |s: &str| NodeId::new(NodeKind::Mutex, hex(&c.drgn["locks"][s]["address"]));
        let e = quiesce::analysis::walkthrough::explain(c.graph.clone());
        let dl: Vec<_> = e
            .findings
            .iter()
            .filter(|w| w.finding.kind == FindingKind::Deadlock)
            .collect();
        assert_eq!(dl.len(), 1, "{}", c.name);
        let f = &dl[0].finding;
        assert_eq!(
            f.cycle,
            [
                task("qh_abba_a"),
                lock("qh_mutex_b"),
                task("qh_abba_b"),
                lock("qh_mutex_a")
            ],
            "{}",
            c.name
        );
        assert_eq!(f.behind, [task("qh_abba_c")], "{}", c.name);
        let pid = c.drgn_task("qh_abba_c")["pid"].as_i64().unwrap();
        assert!(
            e.text().contains(&format!(
                "waiting on the cycle, not part of it: qh_abba_c:{pid}\n"
            )),
            "{}",
            c.name
        );
        let j = serde_json::to_value(&e).unwrap();
        let jf = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["finding"]["kind"] == "deadlock")
            .unwrap();
        assert_eq!(jf["finding"]["behind"].as_array().unwrap().len(), 1);
    }
}

/// `quiesce waitgraph --dot` on the 7.x hang dump: well-formed graphviz text with every
/// edge of `waitgraph --json`, exact edges bold with their field, candidates dashed.
#[test]
fn waitgraph_dot_marks_exact_and_candidate_edges() {
    let Some(r) = common::release("sid") else {
        return;
    };
    let dump = common::path_str(&r.dir.join("dumps/hang.elf"));
    let vmlinux = common::path_str(&r.vmlinux());
    let module = common::path_str(&r.modules_dir().join("quiesce_hang.ko"));
    let run = |extra: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quiesce"))
            .args([
                "waitgraph",
                extra,
                "-c",
                &dump,
                "-s",
                &vmlinux,
                "-s",
                &module,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dot = run("--dot");
    let j: Value = serde_json::from_str(&run("--json")).unwrap();
    let j = &j["graph"];
    assert!(
        dot.starts_with("digraph waits {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    // Node ids are `"KIND_KEY"` (the kind as text prints it, the key in hex).
    let key = |dot_id: &str| {
        let k = dot_id
            .trim_matches('"')
            .rsplit('_')
            .next()
            .unwrap()
            .to_string();
        u64::from_str_radix(&k, 16).unwrap()
    };
    let declared: Vec<String> = dot
        .lines()
        .filter(|l| !l.contains(" -> ") && l.contains(" [label="))
        .map(|l| l.trim().split(' ').next().unwrap().to_string())
        .collect();
    let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
    let je = j["edges"].as_array().unwrap();
    assert_eq!(edges.len(), je.len());
    assert_eq!(declared.len(), j["nodes"].as_array().unwrap().len());
    for (line, e) in edges.iter().zip(je) {
        let mut w = line.trim().split(' ');
        let (from, arrow, to) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        assert_eq!(arrow, "->");
        assert_eq!(
            (key(from), key(to)),
            (hex(&e["from"]["key"]), hex(&e["to"]["key"])),
            "{line}"
        );
        assert!(
            declared.iter().any(|d| d == from) && declared.iter().any(|d| d == to),
            "{line}"
        );
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
        if e["candidate"] == true {
            assert!(line.contains("style=dashed"), "{line}");
        } else if e["exact"] == true {
            let f = e["basis"]["field"].as_str().unwrap();
            assert!(line.contains(&format!("exact: {f}\"")) && line.contains("style=bold"));
        } else {
            assert!(!line.contains("style="), "{line}");
        }
    }
    // The 7.x mutex waiters' edges from task_struct.blocker, in the picture too.
    let blocker = edges
        .iter()
        .filter(|l| l.contains("exact: task_struct.blocker"))
        .count();
    assert_eq!(blocker, 4, "{dot}");
    // The SVG: a box per node drawn (a node drawn again is a ↻ note, not a box), a line per
    // edge, dashed exactly for the candidates, the exact ones naming their field.
    let svg = run("--svg");
    assert!(
        svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    let nodes_with_edges = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            je.iter()
                .any(|e| e["from"] == n["id"] || e["to"] == n["id"])
        })
        .count();
    assert_eq!(svg.matches("<rect ").count(), nodes_with_edges, "{svg}");
    assert_eq!(svg.matches("<line ").count(), je.len(), "{svg}");
    let candidates = je.iter().filter(|e| e["candidate"] == true).count();
    assert_eq!(svg.matches("stroke-dasharray").count(), candidates);
    assert_eq!(
        svg.matches("[exact: task_struct.blocker]").count(),
        4,
        "{svg}"
    );
    // Every label is escaped: no raw `<` inside a text element.
    for t in svg.split("<text").skip(1) {
        let body = t
            .split_once('>')
            .unwrap()
            .1
            .split("</text>")
            .next()
            .unwrap();
        assert!(!body.contains('<') && !body.contains('>'), "{body}");
    }
}
