//! `wait_for_completion*` → the `struct completion` (on-stack `struct swait_queue {task,
//! task_list}` since 5.7, `wait_queue_entry {private = task}` before; rcu-srcu.md §0.4),
//! classified by its container:
//! - `struct rcu_synchronize` (`head.func == wakeme_after_rcu`): an SRCU grace period (the
//!   domain whose callback list holds `head`) or an RCU grace period;
//! - `struct wq_barrier` (`work.func == wq_barrier_func`): `flush_work()` of the work item
//!   found in the flusher's frame, executed by the worker whose `current_work` it is;
//! - anything else: a completion named by its symbol or the stack it lives on, completed by
//!   whoever `complete()`s it — which nothing in memory records.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "__wait_for_common",
    "wait_for_common",
    "do_wait_for_common",
    "wait_for_completion",
    "wait_for_completion_io",
    "wait_for_completion_killable",
    "wait_for_completion_interruptible",
    "wait_for_completion_timeout",
    "wait_for_completion_state",
    // the timed and I/O variants: without inline frames (dump-only mode) the physical
    // frame is all there is (submit_bio_wait() waits in wait_for_completion_io_timeout)
    "wait_for_common_io",
    "wait_for_completion_io_timeout",
    "wait_for_completion_interruptible_timeout",
    "wait_for_completion_killable_timeout",
];

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(cl) = &cx.l.completion else {
        return false;
    };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let t = cx.task_node(g, ti);
    let what = "completion wait entry";
    let Some((_, head, ev)) = cx.find_waiter(ti, fi, cl.entry_node, cl.entry_task, what) else {
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "completion: wait entry not found on the stack".into(),
            ));
        }
        return true;
    };
    let c = head - cl.list;
    let done =
        cx.k.read_u32(Kva(c + cl.done), "completion.done")
            .unwrap_or(0);
    let mut evidence = vec![frame, ev];
    evidence.push(Evidence::field(
        "completion.done",
        done.to_string(),
        Some(c + cl.done),
    ));
    // rcu_synchronize?
    if let Some(func_off) = cx.l.cb_func {
        let rs = c.wrapping_sub(cl.rs_completion);
        let rs_head = rs + cl.rs_head;
        if let Ok(f) =
            cx.k.read_u64(Kva(rs_head + func_off), "rcu_synchronize.head.func")
            && cx.symbol_at(f).as_deref() == Some("wakeme_after_rcu")
        {
            evidence.push(Evidence {
                note: Some("the completion is inside a struct rcu_synchronize: wakeme_after_rcu() completes it after a grace period".into()),
                ..Evidence::field("rcu_synchronize.head.func", "wakeme_after_rcu", Some(rs_head + func_off))
            });
            link_gp(cx, ti, g, t, rs_head, evidence);
            return true;
        }
    }
    // 6.9+ synchronize_rcu_normal() (kernel commit "rcu: Reduce synchronize_rcu() latency"):
    // its rcu_synchronize's head is an llist node on rcu_state.srs_next and the GP kthread
    // completes it directly, so head.func holds no callback. The frame says what it is.
    if cx.find_frame(ti, &["synchronize_rcu_normal"]).is_some() {
        let rs_head = c.wrapping_sub(cl.rs_completion).wrapping_add(cl.rs_head);
        evidence.push(Evidence::note(
            "the completion is inside synchronize_rcu_normal()'s struct rcu_synchronize: the \
             grace-period kthread completes it when the grace period ends (wait-from-GP path, \
             its head queued on rcu_state.srs_next)",
        ));
        link_gp(cx, ti, g, t, rs_head, evidence);
        return true;
    }
    // wq_barrier?
    if let Some((b_work, b_done, w_func)) = cx.l.wq_barrier {
        let barr = c.wrapping_sub(b_done);
        if let Ok(f) =
            cx.k.read_u64(Kva(barr + b_work + w_func), "wq_barrier.work.func")
            && cx.symbol_at(f).as_deref() == Some("wq_barrier_func")
        {
            evidence.push(Evidence {
                note: Some("the completion is inside a struct wq_barrier: flush_work() queued it behind the target work".into()),
                ..Evidence::field("wq_barrier.work.func", "wq_barrier_func", Some(barr + b_work + w_func))
            });
            super::work::link_flush(cx, ti, g, t, barr + b_work, w_func, evidence);
            return true;
        }
    }
    // A plain completion.
    let cid = NodeId::new(NodeKind::Completion, c);
    let label = cx.object_label(c);
    let n = g.node(cid, label.clone());
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{c:#x}")));
        n.fields.push(("done".into(), done.to_string()));
    }
    g.edge(Edge {
        from: t,
        to: cid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("completion".into()),
        evidence,
    });
    if g.out_edges(cid).next().is_some() {
        return true;
    }
    let added = super::rwsem::stack_candidates(cx, g, cid, c, &[]);
    if added == 0 {
        let place = if cx.symbol_at(c).is_some() {
            "a global completion"
        } else if cx.stack_owner(c).is_some() {
            "a completion on a task's stack"
        } else {
            "a heap completion"
        };
        // Completions record no owner: only code that calls complete() can end the wait.
        let why = format!(
            "{label} is {place} with done = {done}; a completion records no owner, and no other task's stack or running code refers to it — nothing in this dump will call complete() on it"
        );
        if let Some(n) = g.get_mut(cid) {
            n.no_waker = Some(why);
        }
    }
    true
}

/// The waiter's `rcu_synchronize.head` at `rs_head`: find the SRCU domain whose callbacks
/// hold it (or that lists this task as a waiter); else an RCU grace period.
fn link_gp(
    cx: &Ctx,
    ti: usize,
    g: &mut Graph,
    t: NodeId,
    rs_head: u64,
    mut evidence: Vec<Evidence>,
) {
    let pid = cx.tasks[ti].pid;
    let in_srcu = cx.find_frame(
        ti,
        &[
            "__synchronize_srcu",
            "synchronize_srcu",
            "synchronize_srcu_expedited",
        ],
    );
    if let Some(fi) = in_srcu {
        evidence.insert(
            1,
            cx.frame_ev(
                ti,
                fi,
                &[
                    "__synchronize_srcu",
                    "synchronize_srcu",
                    "synchronize_srcu_expedited",
                ],
            ),
        );
    }
    if let Some(r) = cx.srcu() {
        let dom = r.domains.iter().find(|d| {
            d.callbacks.iter().any(|c| c.addr == rs_head) || d.waiters.iter().any(|w| w.pid == pid)
        });
        if let Some(d) = dom {
            if let Some(cb) = d.callbacks.iter().find(|c| c.addr == rs_head) {
                evidence.push(Evidence {
                    note: Some(format!(
                        "queued in segment {}{} on CPU {}",
                        cb.segment,
                        cb.gp_seq
                            .map(|s| format!(" waiting for srcu_gp_seq ≥ {}", s as i64))
                            .unwrap_or_default(),
                        cb.cpu.map_or("?".into(), |c| c.to_string())
                    )),
                    ..Evidence::field("srcu callback", "wakeme_after_rcu", Some(rs_head))
                });
            }
            super::srcu::link_srcu(cx, g, t, d, evidence);
            return;
        }
    }
    let exp = cx.find_frame(ti, &["synchronize_rcu_expedited"]).is_some();
    let (kind, name) = if exp {
        (NodeKind::RcuGpExpedited, "expedited RCU grace period")
    } else {
        (NodeKind::RcuGp, "RCU grace period")
    };
    if in_srcu.is_some() {
        evidence.push(Evidence::note(
            "in synchronize_srcu but no decoded SRCU domain holds the callback",
        ));
    }
    let gp = super::rcu::rcu_gp_node(cx, g, kind);
    g.edge(Edge {
        from: t,
        to: gp,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(name.into()),
        evidence,
    });
}
