//! Counting semaphores: `down()`, `down_interruptible()`, `down_killable()`,
//! `down_timeout()` → `struct semaphore` → who may hold it.
//!
//! Teaching note: a semaphore has a count, not an owner. `down()` takes one unit or, at 0,
//! queues an on-stack `struct semaphore_waiter { list, task, up }` and sleeps in
//! `__down_common()` until an `up()` hands it a unit (`waiter.up = true`). Any task may call
//! `up()`, so the kernel cannot say who "holds" a semaphore; since commit 194a9b9e843b
//! (v6.16, `CONFIG_DETECT_HUNG_TASK_BLOCKER`) it remembers `last_holder`, the task that
//! last took a unit (cleared when that same task calls `up()`) — a strong hint, shown as a
//! candidate, never as an owner.
//!
//! No real fixture scenario waits on a semaphore yet (fixtures/kmod makes none): the stack
//! decoder below is tested on synthetic data only.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "__down_common",
    "__down",
    "__down_interruptible",
    "__down_killable",
    "__down_timeout",
    "down",
    "down_interruptible",
    "down_killable",
    "down_timeout",
];

/// Task `t` waits on the semaphore at `sem`; the semaphore → its `last_holder`, a
/// candidate (the kernel keeps no owner for semaphores).
pub fn link_semaphore(cx: &Ctx, g: &mut Graph, t: NodeId, sem: u64, evidence: Vec<Evidence>) {
    let sid = NodeId::new(NodeKind::Semaphore, sem);
    let l = cx.l.semaphore.as_ref();
    let count = l.and_then(|l| cx.k.read_u32(Kva(sem + l.count), "semaphore.count").ok());
    let last = l
        .and_then(|l| l.last_holder)
        .and_then(|o| cx.k.read_u64(Kva(sem + o), "semaphore.last_holder").ok());
    let n = g.node(sid, cx.object_label(sem));
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{sem:#x}")));
        if let Some(c) = count {
            n.fields.push(("count".into(), c.to_string()));
        }
        if let Some(h) = last {
            n.fields.push(("last_holder".into(), format!("{h:#x}")));
        }
    }
    g.edge(Edge {
        from: t,
        to: sid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("semaphore".into()),
        evidence,
    });
    if g.out_edges(sid).next().is_some() {
        return;
    }
    link_holder(cx, g, sid, sem, last);
}

fn link_holder(cx: &Ctx, g: &mut Graph, sid: NodeId, sem: u64, last: Option<u64>) {
    let off = cx.l.semaphore.as_ref().and_then(|l| l.last_holder);
    match (last, off) {
        (Some(h), Some(o)) if h != 0 => {
            if let Some(hid) = cx.task_node_addr(g, h) {
                let mut ev =
                    Evidence::field("semaphore.last_holder", format!("{h:#x}"), Some(sem + o));
                ev.note = Some(
                    "the last task to take the semaphore (cleared by its own up()): a semaphore has no owner, so this is a hint"
                        .into(),
                );
                g.edge(Edge {
                    from: sid,
                    to: hid,
                    kind: EdgeKind::CandidateHolder,
                    candidate: true,
                    what: None,
                    evidence: vec![ev],
                });
                return;
            }
        }
        _ => {}
    }
    if let Some(n) = g.get_mut(sid) {
        n.no_waker = Some(match off {
            Some(_) => "no holder recorded: semaphore.last_holder is 0 (the last taker released it, or up() comes from elsewhere)".into(),
            None => "no holder recorded: a semaphore has no owner, and this kernel has no semaphore.last_holder (CONFIG_DETECT_HUNG_TASK_BLOCKER)".into(),
        });
    }
}
