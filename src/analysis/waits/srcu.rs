//! A task in `synchronize_srcu()` → the SRCU domain (decoded by `crate::rcu::srcu`) → who
//! must act: readers still inside on the index the grace period waits for (counters do not
//! name tasks, and without lockdep the readers are *candidates*: tasks whose frames run code
//! that names the domain, or whose stacks hold its address, rcu-srcu.md §1.7), or the GP
//! work item when no reader is left (§1.6).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};
use crate::rcu::srcu::SrcuDomain;

/// Reader-side entry points: a frame of one of these holds (or is taking) some SRCU domain.
pub const READER_FRAMES: &[&str] = &["__srcu_read_lock", "srcu_read_lock", "srcu_read_lock_fast"];

pub fn link_srcu(cx: &Ctx, g: &mut Graph, t: NodeId, d: &SrcuDomain, mut evidence: Vec<Evidence>) {
    let id = NodeId::new(NodeKind::SrcuDomain, d.addr);
    let fresh = g.get(id).is_none();
    let n = g.node(id, d.name.clone());
    if fresh {
        n.fields.push(("address".into(), format!("{:#x}", d.addr)));
        n.fields.push((
            "implementation".into(),
            format!("{} ({})", d.implementation, d.generation),
        ));
        n.fields.push((
            "gp_seq".into(),
            format!("{} ({})", d.gp_seq as i64, d.phase),
        ));
        n.fields
            .push(("current_idx".into(), d.current_idx.to_string()));
        if let Some(w) = d.waits_on_idx {
            n.fields.push(("waits_on_idx".into(), w.to_string()));
        }
        n.fields
            .push(("readers[0]".into(), d.readers[0].to_string()));
        n.fields
            .push(("readers[1]".into(), d.readers[1].to_string()));
        if let Some(w) = &d.gp_work {
            n.fields.push(("gp_work".into(), w.describe()));
        }
    }
    evidence.push(Evidence::field(
        "srcu_struct",
        format!(
            "{} @{:#x}, {} phase {}",
            d.name, d.addr, d.gp_seq as i64, d.phase
        ),
        Some(d.addr),
    ));
    g.edge(Edge {
        from: t,
        to: id,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("SRCU grace period".into()),
        evidence,
    });
    if !fresh {
        return;
    }
    let idx = d.waits_on_idx;
    let inside = idx
        .map(|i| d.readers[i as usize])
        .unwrap_or(d.readers[0] + d.readers[1]);
    let counts = match idx {
        Some(i) => format!(
            "readers on the waited index {i}: Σlocks − Σunlocks = {} (index {} has {})",
            d.readers[i as usize],
            i ^ 1,
            d.readers[(i ^ 1) as usize]
        ),
        None => format!("readers: [{}, {}]", d.readers[0], d.readers[1]),
    };
    if inside > 0 {
        let before = g.edges.len();
        let found = super::rwsem::stack_candidates(cx, g, id, d.addr, &[]);
        for e in &mut g.edges[before..] {
            for ev in &mut e.evidence {
                ev.note = Some(format!("{}; {counts}", ev.note.clone().unwrap_or_default()));
            }
        }
        if found == 0
            && let Some(n) = g.get_mut(id)
        {
            n.no_waker = Some(format!(
                "{counts}, but no task's stack or code names {} (a reader in an interrupt, a leaked srcu_read_lock(), or an srcu_down_read() released by another context)",
                d.name
            ));
        }
        return;
    }
    // No reader left: the GP work must run.
    if let Some(w) = &d.gp_work {
        let wid = NodeId::new(NodeKind::WorkItem, w.addr);
        g.node(
            wid,
            format!("{} GP work ({})", d.name, w.func.as_deref().unwrap_or("?")),
        )
        .fields
        .push(("state".into(), w.describe()));
        g.edge(Edge {
            from: id,
            to: wid,
            kind: EdgeKind::AdvancedBy,
            candidate: false,
            what: None,
            evidence: vec![Evidence {
                note: Some(format!(
                    "{counts}: only the GP work can finish the grace period"
                )),
                ..Evidence::field("gp work", w.describe(), Some(w.addr))
            }],
        });
        super::work::link_workers(cx, g, wid, w.addr, w.state);
    } else if let Some(n) = g.get_mut(id) {
        n.no_waker = Some(format!("{counts} and no GP work decoded"));
    }
    let _ = Kva(0);
}
