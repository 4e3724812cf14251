//! `flush_work()` (`__flush_work` → `wait_for_completion(&barr.done)`, rcu-srcu.md §4.4) →
//! the work item being flushed → the worker executing it (`struct worker.current_work`,
//! `crate::rcu::work`), or its queued / idle state when no worker runs it.
//!
//! The target is `__flush_work`'s `work` argument: a word of the flusher's frames that
//! points at a `work_struct` whose `func` is exactly a function symbol (the barrier's own
//! work excluded); one a worker is executing is preferred.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "__flush_work",
    "flush_work",
    "flush_delayed_work",
    "cancel_work_sync",
    "__cancel_work_timer",
];

pub fn link_flush(
    cx: &Ctx,
    ti: usize,
    g: &mut Graph,
    t: NodeId,
    barrier_work: u64,
    func_off: u64,
    mut evidence: Vec<Evidence>,
) {
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        if let Some(n) = g.get_mut(t) {
            n.fields
                .push(("wait".into(), "wq_barrier outside a flush frame".into()));
        }
        return;
    };
    evidence.insert(1, cx.frame_ev(ti, fi, FRAMES));
    let workers = cx.workers();
    let mut best: Option<(u64, bool, u64)> = None;
    for (a, v) in cx.stack_words(ti, fi) {
        if v == barrier_work || !cx.k.mem.xlat.is_kernel_ptr(v) {
            continue;
        }
        let Ok(f) = cx.k.read_u64(Kva(v + func_off), "work_struct.func") else {
            continue;
        };
        if f == 0
            || cx.symbol_at(f).is_none()
            || cx.symbol_at(f).as_deref() == Some("wq_barrier_func")
        {
            continue;
        }
        let running = workers.iter().any(|w| w.current_work == v);
        if best.is_none_or(|(_, r, _)| running && !r) {
            best = Some((v, running, a));
        }
    }
    // Most reliable: where the barrier is linked. Behind a running target it sits on that
    // worker's `scheduled` list; behind a pending one, right after the target's entry.
    if let Some(x) = via_barrier(cx, barrier_work, func_off) {
        best = Some(x);
    }
    let Some((work, _, at)) = best else {
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "flush_work: target work not found on the stack".into(),
            ));
        }
        return;
    };
    let func =
        cx.k.read_u64(Kva(work + func_off), "work_struct.func")
            .ok()
            .and_then(|f| cx.symbol_at(f));
    let label = cx
        .symbol_at(work)
        .unwrap_or_else(|| format!("work {work:#x}"));
    let wid = NodeId::new(NodeKind::WorkItem, work);
    let st = crate::rcu::work::work_status(cx.k, Kva(work), false, cx.k.jiffies(), workers).ok();
    let n = g.node(wid, label);
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{work:#x}")));
        n.fields
            .push(("func".into(), func.clone().unwrap_or_else(|| "?".into())));
        if let Some(s) = &st {
            n.fields.push(("state".into(), s.describe()));
        }
    }
    let mut ev = Evidence::field("flushed work", format!("{work:#x}"), Some(at));
    ev.note = Some(format!(
        "the work being flushed: func = {}",
        func.unwrap_or_else(|| "?".into())
    ));
    evidence.push(ev);
    g.edge(Edge {
        from: t,
        to: wid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("flush_work".into()),
        evidence,
    });
    link_workers(cx, g, wid, work, st.map_or("idle", |s| s.state));
}

/// The flushed work from the barrier's `work.entry` links: (work, running, where found).
fn via_barrier(cx: &Ctx, barrier_work: u64, func_off: u64) -> Option<(u64, bool, u64)> {
    let k = cx.k;
    let ws = crate::kernel::layout::Probe::new(&k.di, "struct work_struct").ok()?;
    let entry = ws.opt("entry")?;
    let node = barrier_work + entry;
    let ring = k.list_walk(Kva(node), "wq_barrier.work.entry");
    if let Ok(w) = crate::kernel::layout::Probe::new(&k.di, "struct worker")
        && let Some(sched) = w.opt("scheduled")
    {
        for wk in cx.workers() {
            if ring.nodes.iter().any(|n| n.0 == wk.worker + sched) && wk.current_work != 0 {
                return Some((wk.current_work, true, wk.worker + sched));
            }
        }
    }
    let prev = k
        .read_u64(Kva(node + 8), "wq_barrier.work.entry.prev")
        .ok()?;
    let target = prev.checked_sub(entry)?;
    let f = k
        .read_u64(Kva(target + func_off), "work_struct.func")
        .ok()?;
    let name = cx.symbol_at(f)?;
    (name != "wq_barrier_func").then_some((target, false, node + 8))
}

/// work item → the kworkers executing it; with none, say what state it is in.
pub fn link_workers(cx: &Ctx, g: &mut Graph, wid: NodeId, work: u64, state: &str) {
    if g.out_edges(wid).next().is_some() {
        return;
    }
    let mut any = false;
    for w in cx.workers().iter().filter(|w| w.current_work == work) {
        if let Some(t) = cx.task_node_addr(g, w.task.addr) {
            any = true;
            g.edge(Edge {
                from: wid,
                to: t,
                kind: EdgeKind::ExecutedBy,
                candidate: false,
                what: None,
                evidence: vec![Evidence {
                    note: Some(format!(
                        "worker {:#x} of {} executes it: current_func = {}",
                        w.worker,
                        w.task.short(),
                        w.current_func.as_deref().unwrap_or("?")
                    )),
                    ..Evidence::exact(
                        "worker.current_work",
                        format!("{:#x}", w.current_work),
                        Some(w.worker),
                    )
                }],
            });
        }
    }
    if !any && let Some(n) = g.get_mut(wid) {
        n.no_waker = Some(match state {
            "queued" => "queued (PENDING) but no worker runs it: the pool is not making progress (CPU hog, or every worker blocked)".to_string(),
            "timer" => "its timer is armed; it has not run yet".to_string(),
            _ => format!("{state}: not pending and no worker is executing it"),
        });
    }
}
