//! The `waits` scenario (fixtures/kmod, `scenario=waits`) on the real dumps of the three
//! releases: each wait kind names its exact object and its holder (or says why none is
//! recorded), checked against drgn's read of the same objects
//! (`fixtures/ref/drgn_waits.py`): the semaphore, the two wait queues, the per-CPU rwsem,
//! the locked folio and its file, and `synchronize_rcu()` behind a reader blocked inside
//! its read-side critical section.
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use common::waits::{Case, assert_blocker_edge};
use quiesce::analysis::graph::{Basis, EdgeKind, NodeId, NodeKind};
use serde_json::Value;

fn cases() -> Vec<Case> {
    common::waits::cases("waits")
}

fn hex(v: &Value) -> u64 {
    common::hex_or_int(v)
}

/// Tasks (by comm) that `obj`'s out-edges of `kind` lead to.
fn holders(c: &Case, obj: NodeId, kind: EdgeKind) -> Vec<String> {
    let mut v: Vec<String> = c
        .graph
        .out_edges(obj)
        .filter(|e| e.kind == kind)
        .filter_map(|e| c.graph.get(e.to))
        .map(|n| n.label.split(':').next().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

fn field<'a>(c: &'a Case, id: NodeId, name: &str) -> &'a str {
    c.graph
        .get(id)
        .and_then(|n| n.field(name))
        .unwrap_or_else(|| panic!("{}: {id:?} has no field {name}", c.name))
}

fn comms(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn semaphore_waiters_name_it_and_its_holder() {
    for c in cases() {
        let d = &c.drgn["waits"]["qh_sem"];
        let sem = NodeId::new(NodeKind::Semaphore, hex(&d["address"]));
        assert_eq!(d["count"], 0, "{}", c.name);
        let waiting = comms(&d["waiters"]);
        assert_eq!(waiting, ["qh_sem_timeout", "qh_sem_waiter"], "{}", c.name);
        for comm in &waiting {
            let e = c.wait_of(comm);
            assert_eq!(e.to, sem, "{}: {comm}", c.name);
            match c.drgn_task(comm).get("blocker").map(hex) {
                // 6.16+: the hung-task blocker word names the semaphore (type 1).
                Some(raw) => {
                    assert_blocker_edge(e, raw, sem.key, 1, &format!("{}: {comm}", c.name))
                }
                None => assert!(
                    matches!(e.basis(), Basis::Inferred { .. }),
                    "{}: {comm}",
                    c.name
                ),
            }
        }
        assert_eq!(
            c.graph.get(sem).map(|n| n.label.as_str()),
            Some("qh_sem"),
            "{}",
            c.name
        );
        assert_eq!(
            holders(&c, sem, EdgeKind::CandidateHolder),
            ["qh_sem_holder"],
            "{}",
            c.name
        );
    }
}

#[test]
fn wait_queue_sleepers_name_their_queue() {
    for c in cases() {
        // The head inside a structure is named as the member it is (the variable's type
        // from the debug info), not as an offset.
        for (comm, name) in [("qh_wq_waiter", "qh_wq"), ("qh_box_waiter", "qh_box.wq")] {
            let d = &c.drgn["waits"][name];
            assert_eq!(comms(&d["waiters"]), [comm], "{}", c.name);
            let e = c.wait_of(comm);
            assert_eq!(
                e.to,
                NodeId::new(NodeKind::WaitQueue, hex(&d["address"])),
                "{}: {comm}",
                c.name
            );
            assert_eq!(c.graph.get(e.to).unwrap().label, name, "{}: {comm}", c.name);
        }
    }
}

#[test]
fn percpu_rwsem_writer_waits_for_the_reader_and_the_late_reader_for_the_writer() {
    for c in cases() {
        let d = &c.drgn["waits"]["qh_pcpu_rwsem"];
        let sem = NodeId::new(NodeKind::PercpuRwsem, hex(&d["address"]));
        assert_eq!(
            (d["block"].as_u64(), d["readers"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(d["writer"], "qh_pcpu_writer", "{}", c.name);
        assert_eq!(comms(&d["waiters"]), ["qh_pcpu_late_rd"], "{}", c.name);
        let w = c.wait_of("qh_pcpu_writer");
        assert_eq!(w.to, sem, "{}", c.name);
        assert_eq!(
            w.basis(),
            Basis::Exact {
                field: "percpu_rw_semaphore.writer.task".into()
            }
        );
        let r = c.wait_of("qh_pcpu_late_rd");
        assert_eq!(r.to, sem, "{}", c.name);
        assert_eq!(
            r.what.as_deref(),
            Some("percpu rwsem (down_read, behind a writer)")
        );
        assert_eq!(field(&c, sem, "readers"), "1");
        assert_eq!(field(&c, sem, "block"), "1");
        assert_eq!(c.graph.get(sem).unwrap().label, "qh_pcpu_rwsem");
        assert_eq!(
            holders(&c, sem, EdgeKind::CandidateHolder),
            ["qh_pcpu_reader"],
            "{}",
            c.name
        );
    }
}

#[test]
fn folio_waiter_names_the_folio_its_file_and_a_candidate_holder() {
    for c in cases() {
        let d = &c.drgn["waits"]["qh_folio"];
        assert_eq!(d["locked"], true, "{}", c.name);
        let folio = NodeId::new(NodeKind::PageLock, hex(&d["address"]));
        let e = c.wait_of("qh_folio_waiter");
        assert_eq!(e.to, folio, "{}", c.name);
        assert_eq!(e.what.as_deref(), Some("folio lock (PG_locked)"));
        assert_eq!(field(&c, folio, "file"), "/waits/file", "{}", c.name);
        assert_eq!(d["name"], "file");
        assert_eq!(
            field(&c, folio, "inode").parse::<u64>().unwrap(),
            d["ino"].as_u64().unwrap()
        );
        assert_eq!(
            hex(&Value::from(field(&c, folio, "flags"))),
            hex(&d["flags"])
        );
        assert_eq!(
            holders(&c, folio, EdgeKind::CandidateHolder),
            ["qh_folio_holder"],
            "{}",
            c.name
        );
    }
}

#[test]
fn synchronize_rcu_is_held_up_by_the_reader_blocked_in_its_critical_section() {
    for c in cases() {
        let blocked = comms(&c.drgn["waits"]["rcu_blocked_readers"]);
        if blocked.is_empty() {
            // Non-preemptible RCU: the reader's context switch was its quiescent state.
            eprintln!("{}: no blocked RCU reader (RCU not preemptible)", c.name);
            continue;
        }
        assert_eq!(blocked, ["qh_rcu_reader"], "{}", c.name);
        let e = c.wait_of("qh_rcu_sync");
        let gp = c.graph.get(e.to).unwrap();
        assert_eq!(gp.id.kind, NodeKind::RcuGp, "{}: {}", c.name, gp.label);
        assert_eq!(
            holders(&c, e.to, EdgeKind::HeldUpBy),
            ["qh_rcu_reader"],
            "{}",
            c.name
        );
    }
}

/// crash's `p qh_sem` and `p qh_pcpu_rwsem` (the `objects.txt` reference) on the same dump:
/// the semaphore's count and the per-CPU rwsem's `block` and writer are what the graph
/// shows.
#[test]
fn crash_prints_the_same_semaphore_and_percpu_rwsem() {
    let mut checked = 0;
    for c in cases() {
        let r = common::release(&c.name).unwrap();
        if !r.crash_reads("waits.elf") {
            continue;
        }
        let t = r
            .crash_ref("waits.elf", "objects.txt")
            .unwrap_or_else(|| panic!("{}: crash read waits.elf but printed no objects", c.name));
        let sem = NodeId::new(
            NodeKind::Semaphore,
            hex(&c.drgn["waits"]["qh_sem"]["address"]),
        );
        let count = common::crash_value(&t, "p qh_sem", &["count"]);
        assert_eq!(
            count.as_deref(),
            Some(field(&c, sem, "count")),
            "{}",
            c.name
        );
        let p = NodeId::new(
            NodeKind::PercpuRwsem,
            hex(&c.drgn["waits"]["qh_pcpu_rwsem"]["address"]),
        );
        let block = common::crash_value(&t, "p qh_pcpu_rwsem", &["block", "counter"]);
        assert_eq!(block.as_deref(), Some(field(&c, p, "block")), "{}", c.name);
        let writer = common::crash_value(&t, "p qh_pcpu_rwsem", &["writer", "task"])
            .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
        assert_eq!(writer, Some(c.task("qh_pcpu_writer").key), "{}", c.name);
        checked += 1;
    }
    // crash 9.0.2 reads the 6.1 and 6.12 dumps (not 7.x)
    if !cases().is_empty() {
        assert!(checked >= 2, "crash read only {checked} waits dumps");
    }
}
