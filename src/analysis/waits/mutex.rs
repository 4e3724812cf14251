//! `__mutex_lock` → the `struct mutex` (on-stack `struct mutex_waiter {list, task, …}` in
//! `lock->wait_list`, when the kernel records nothing: `task->blocker` and
//! `task->blocked_on` are read first, by [`super::blocker`]) → its owner
//! (`atomic_long owner & ~0x7`, 4.10+; the low bits are MUTEX_FLAG_WAITERS/HANDOFF/PICKUP).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "__mutex_lock",
    "__mutex_lock_common",
    "__mutex_lock_slowpath",
    "__mutex_lock_killable_slowpath",
    "__mutex_lock_interruptible_slowpath",
    "mutex_lock",
    "mutex_lock_killable",
    "mutex_lock_interruptible",
    "mutex_lock_nested",
];

/// `MUTEX_FLAGS` (kernel/locking/mutex.c since 4.10, commit 3ca0ff571b09).
pub const MUTEX_FLAGS: u64 = 0x7;

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = &cx.l.mutex else { return false };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let Some((_, m, ev)) = cx.find_lock_waiter(ti, fi, l, "mutex_waiter") else {
        let t = cx.task_node(g, ti);
        if let Some(n) = g.get_mut(t) {
            n.fields
                .push(("wait".into(), "mutex: waiter not found on the stack".into()));
        }
        return true;
    };
    let t = cx.task_node(g, ti);
    link_mutex(cx, g, t, m, vec![frame, ev]);
    true
}

pub fn link_mutex(cx: &Ctx, g: &mut Graph, t: NodeId, m: u64, evidence: Vec<Evidence>) {
    let Some(l) = &cx.l.mutex else { return };
    let mid = NodeId::new(NodeKind::Mutex, m);
    let raw = cx.k.read_u64(Kva(m + l.owner), "mutex.owner");
    let label = cx.object_label(m);
    let n = g.node(mid, label);
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{m:#x}")));
        if let Ok(r) = raw {
            n.fields.push(("owner".into(), format!("{r:#x}")));
        }
    }
    g.edge(Edge {
        from: t,
        to: mid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("mutex".into()),
        evidence,
    });
    let Ok(raw) = raw else { return };
    let owner = raw & !MUTEX_FLAGS;
    let flags = raw & MUTEX_FLAGS;
    let fl = [(1, "WAITERS"), (2, "HANDOFF"), (4, "PICKUP")]
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("|");
    if owner == 0 {
        if let Some(n) = g.get_mut(mid) {
            n.no_waker = Some(format!(
                "mutex.owner = {raw:#x}: no owner while tasks wait — a hand-off in flight or a lost wake-up"
            ));
        }
        return;
    }
    let Some(o) = cx.task_node_addr(g, owner) else {
        if let Some(n) = g.get_mut(mid) {
            n.no_waker = Some(format!("mutex.owner = {raw:#x} does not read as a task"));
        }
        return;
    };
    g.edge(Edge {
        from: mid,
        to: o,
        kind: EdgeKind::OwnedBy,
        candidate: false,
        what: None,
        evidence: vec![Evidence {
            note: Some(format!(
                "owner & ~0x7 = {owner:#x}; flags {}",
                if fl.is_empty() { "none".into() } else { fl }
            )),
            ..Evidence::exact("mutex.owner", format!("{raw:#x}"), Some(m + l.owner))
        }],
    });
}
