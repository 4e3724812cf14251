//! What the kernel records about blocked tasks, on the real hang dumps, against drgn's read
//! of the same fields (`fixtures/ref/drgn_waits.py`, run at test time with the fixture
//! venv's drgn): exact edges from `task_struct.blocker` where the vmlinux has it (7.x),
//! inferred ones from the stack where it does not (6.1, 6.12), exact owners everywhere.
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::analysis::graph::{Basis, EdgeKind, Graph, NodeId, NodeKind};
use serde_json::Value;

/// The three generations the fixtures boot (their 5-level-paging twins hold the same
/// scenarios; the other suites cover those).
const RELEASES: &[&str] = &["bookworm", "trixie", "sid"];

struct Case {
    name: String,
    graph: Graph,
    drgn: Value,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for name in RELEASES {
        let Some(r) = common::release(name) else {
            continue;
        };
        let Some(d) = r
            .dumps_of("hang")
            .into_iter()
            .find(|d| d.name.ends_with(".elf"))
        else {
            continue;
        };
        let Some(drgn) = common::drgn_script(
            "drgn_waits.py",
            &d.path,
            &r.vmlinux(),
            &r.modules_dir().join("quiesce_hang.ko"),
        ) else {
            return out;
        };
        let k = r.open(&d.path);
        let graph = quiesce::analysis::graph_from_dump(&k).unwrap();
        out.push(Case {
            name: name.to_string(),
            graph,
            drgn,
        });
    }
    out
}

fn hex(v: &Value) -> u64 {
    common::hex_or_int(v)
}

fn drgn_task<'a>(c: &'a Case, comm: &str) -> &'a Value {
    c.drgn["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["comm"] == comm)
        .unwrap_or_else(|| panic!("{}: drgn has no D task {comm}", c.name))
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
            let t = drgn_task(&c, comm);
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
                assert_eq!(raw & !3, lock_addr, "{}: {comm} blocker", c.name);
                let ty = if kind == NodeKind::Mutex { 0 } else { 3 };
                assert_eq!(raw & 3, ty, "{}: {comm} blocker type", c.name);
                assert_eq!(
                    e.basis(),
                    Basis::Exact {
                        field: "task_struct.blocker".into()
                    },
                    "{}: {comm}",
                    c.name
                );
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
