//! The wait graph of one scenario's ELF dump per x86_64 release, beside drgn's read of what
//! the kernel records (`fixtures/ref/drgn_waits.py`), for `waits_real.rs` and
//! `waits_kinds_real.rs`.

use quiesce::analysis::graph::{Basis, Edge, EdgeKind, Graph, NodeId, NodeKind};
use serde_json::Value;

/// The three generations the fixtures boot (their 5-level-paging twins hold the same
/// scenarios; the other suites cover those).
pub const RELEASES: &[&str] = &["bookworm", "trixie", "sid"];

pub struct Case {
    pub name: String,
    pub graph: Graph,
    pub drgn: Value,
}

/// One case per release whose fixtures are present; empty when drgn is not installed.
pub fn cases(scenario: &str) -> Vec<Case> {
    let mut out = Vec::new();
    for name in RELEASES {
        let Some(r) = super::release(name) else {
            continue;
        };
        let d = r
            .elf_of(scenario)
            .unwrap_or_else(|| panic!("{name}: no {scenario} dump (fixtures/build.sh builds it)"));
        let Some(drgn) = super::drgn_script(
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

impl Case {
    /// The node of the task `comm` (drgn's address for it).
    pub fn task(&self, comm: &str) -> NodeId {
        NodeId::new(
            NodeKind::Task,
            super::hex_or_int(&self.drgn_task(comm)["address"]),
        )
    }

    /// The wait edge of task `comm`.
    pub fn wait_of(&self, comm: &str) -> &Edge {
        let t = self.task(comm);
        self.graph
            .edges
            .iter()
            .find(|e| e.from == t && e.kind == EdgeKind::WaitsOn)
            .unwrap_or_else(|| {
                let fields = self.graph.get(t).map(|n| n.fields.clone());
                panic!("{}: no wait edge for {comm}: {fields:?}", self.name)
            })
    }

    /// drgn's row for the task `comm` in D state.
    pub fn drgn_task(&self, comm: &str) -> &Value {
        self.drgn["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["comm"] == comm)
            .unwrap_or_else(|| panic!("{}: drgn has no D task {comm}", self.name))
    }
}

/// Edge `e` comes from the hung-task blocker word: drgn's `raw` word is `addr` with the
/// blocker type `ty` in bits 0–1, and the edge says it is exact from that field.
pub fn assert_blocker_edge(e: &Edge, raw: u64, addr: u64, ty: u64, what: &str) {
    assert_eq!((raw & !3, raw & 3), (addr, ty), "{what}: blocker word");
    assert_eq!(
        e.basis(),
        Basis::Exact {
            field: "task_struct.blocker".into()
        },
        "{what}"
    );
}
