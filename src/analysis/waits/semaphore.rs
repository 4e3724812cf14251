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
//! Found two ways: the kernel's own record (`task_struct.blocker` type
//! `BLOCKER_TYPE_SEM`, read by [`super::blocker`], an exact edge), else the on-stack
//! `semaphore_waiter` in `sem->wait_list` (or 7.x's headless ring from `sem->first_waiter`),
//! the way mutex and rwsem waiters are found ([`Ctx::find_lock_waiter`]).
//!
//! Without `last_holder`, the candidates are the tasks whose stacks hold the semaphore's
//! address or whose running code names it ([`super::rwsem::stack_candidates`]).
//!
//! Tested on the fixtures' `waits` scenario (`qh_sem`: a holder that sleeps with it, one
//! waiter in `down()`, one in `down_timeout()`; `tests/waits_kinds_real.rs`) and, for the
//! verdict, on synthetic values ([`holder`]).

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

/// A task sleeping in `down*()`: its on-stack waiter gives the semaphore.
pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = &cx.l.semaphore else {
        return false;
    };
    let (Some(waiter_list), Some(waiter_task)) = (l.waiter_list, l.waiter_task) else {
        return false;
    };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let lock = crate::analysis::layout::LockLayout {
        waiter_list,
        waiter_task,
        waiter_type: None,
        owner: 0,
        wait_list: l.wait_list,
        first_waiter: l.first_waiter,
        count: Some(l.count),
    };
    let t = cx.task_node(g, ti);
    let Some((_, sem, ev)) = cx.find_lock_waiter(ti, fi, &lock, "semaphore_waiter") else {
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "semaphore: waiter not found on the stack".into(),
            ));
        }
        return true;
    };
    link_semaphore(cx, g, t, sem, vec![frame, ev]);
    true
}

/// What a semaphore's fields say about who could release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// `last_holder` names a task: the likely holder (a hint).
    LastHolder(u64),
    /// Nobody recorded; why, in words.
    NoneRecorded(String),
}

/// The holder verdict from `count` and `last_holder` (`None`: the kernel has no such
/// member). A waiter means the count is 0: every unit is taken.
pub fn holder(count: Option<u32>, last_holder: Option<u64>) -> Holder {
    let units = match count {
        Some(0) | None => String::new(),
        Some(c) => format!(
            " (count = {c} while a task waits: a unit was released and the waiter not woken yet, or a lost wake-up)"
        ),
    };
    match last_holder {
        Some(h) if h != 0 => Holder::LastHolder(h),
        Some(_) => Holder::NoneRecorded(format!(
            "no holder recorded: semaphore.last_holder is 0 (the last taker released it, or up() comes from another task){units}"
        )),
        None => Holder::NoneRecorded(format!(
            "no holder recorded: a semaphore has no owner, and this kernel has no semaphore.last_holder (CONFIG_DETECT_HUNG_TASK_BLOCKER){units}"
        )),
    }
}

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
    link_holder(cx, g, sid, sem, count, last);
}

fn link_holder(
    cx: &Ctx,
    g: &mut Graph,
    sid: NodeId,
    sem: u64,
    count: Option<u32>,
    last: Option<u64>,
) {
    let off = cx.l.semaphore.as_ref().and_then(|l| l.last_holder);
    let verdict = match (off, last) {
        (Some(_), None) => Holder::NoneRecorded("semaphore.last_holder could not be read".into()),
        _ => holder(count, off.and(last)),
    };
    if let (Holder::LastHolder(h), Some(o)) = (&verdict, off)
        && let Some(hid) = cx.task_node_addr(g, *h)
    {
        let mut ev = Evidence::field("semaphore.last_holder", format!("{h:#x}"), Some(sem + o));
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
    // Nothing recorded: tasks whose stacks hold the semaphore's address or whose running
    // code names it (the one that took it and sleeps with it), as candidates.
    if super::rwsem::stack_candidates(cx, g, sid, sem, &[]) > 0 {
        return;
    }
    if let Some(n) = g.get_mut(sid) {
        n.no_waker = Some(match verdict {
            Holder::NoneRecorded(why) => format!("{why}; no task's stack or code names it"),
            Holder::LastHolder(h) => {
                format!("semaphore.last_holder = {h:#x} does not read as a task")
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_verdicts() {
        let t = 0xffff_8a70_02fa_1a40;
        assert_eq!(holder(Some(0), Some(t)), Holder::LastHolder(t));
        let Holder::NoneRecorded(w) = holder(Some(0), Some(0)) else {
            panic!()
        };
        assert!(w.contains("last_holder is 0"), "{w}");
        let Holder::NoneRecorded(w) = holder(Some(0), None) else {
            panic!()
        };
        assert!(w.contains("no semaphore.last_holder"), "{w}");
        let Holder::NoneRecorded(w) = holder(Some(1), None) else {
            panic!()
        };
        assert!(w.contains("count = 1 while a task waits"), "{w}");
    }

    #[test]
    fn frames_are_the_semaphore_ones() {
        for f in ["down", "__down_common", "down_timeout"] {
            assert!(FRAMES.contains(&f));
        }
        // rwsem entry points are not semaphores.
        for f in ["down_read", "__down_read", "down_write"] {
            assert!(!FRAMES.contains(&f));
        }
    }
}
