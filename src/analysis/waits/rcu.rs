//! RCU grace periods: a waiter in `synchronize_rcu()` (or nobody, in an RCU stall) → the
//! grace period → what holds it up, as `print_other_cpu_stall()` computes it
//! (rcu-srcu.md §2.5, decoded by `crate::rcu::tree`): holdout CPUs (`qsmask`) and the task
//! running there (`rq->curr`), readers preempted inside a read-side section
//! (`gp_tasks..blkd_tasks`), or — when nothing is owed — the GP kthread.

use super::Ctx;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind, name_key};

/// The RCU GP node (one per flavor kind), linked to what holds it up the first time.
pub fn rcu_gp_node(cx: &Ctx, g: &mut Graph, kind: NodeKind) -> NodeId {
    let r = cx.rcu();
    let name = r
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| "rcu".into());
    let label = if kind == NodeKind::RcuGpExpedited {
        format!("{name} expedited grace period")
    } else {
        format!("{name} grace period")
    };
    let id = NodeId::new(kind, name_key(&label));
    if g.get(id).is_some() {
        return id;
    }
    let n = g.node(id, label);
    let Some(r) = r else {
        n.no_waker = Some("Tree RCU state did not decode".into());
        return id;
    };
    n.fields
        .push(("gp_seq".into(), (r.gp_seq as i64).to_string()));
    n.fields
        .push(("gp_in_progress".into(), r.gp_in_progress.to_string()));
    if let Some(s) = &r.gp_state {
        n.fields.push(("gp_state".into(), s.describe()));
    }
    if let Some(a) = r.gp_age_jiffies {
        n.fields.push(("gp_age_jiffies".into(), a.to_string()));
    }
    if kind == NodeKind::RcuGpExpedited {
        return id;
    }
    for h in &r.holdouts {
        let cpu = NodeId::new(NodeKind::Cpu, h.cpu as u64);
        g.node(cpu, format!("CPU {}", h.cpu)).running = true;
        let node = r
            .nodes
            .iter()
            .find(|nd| nd.grplo <= h.cpu as i32 && h.cpu as i32 <= nd.grphi && nd.qsmask != 0);
        let mut ev = match node {
            Some(nd) => Evidence::field(
                "rcu_node.qsmask",
                format!("{:#x} (CPUs {}-{})", nd.qsmask, nd.grplo, nd.grphi),
                Some(nd.addr),
            ),
            None => Evidence::note("holdout"),
        };
        ev.note = Some(format!(
            "CPU {} has not reported a quiescent state for this grace period{}",
            h.cpu,
            h.ticks_this_gp
                .map(|t| format!("; ticks_this_gp = {t}"))
                .unwrap_or_default()
        ));
        g.edge(Edge {
            from: id,
            to: cpu,
            kind: EdgeKind::HeldUpBy,
            candidate: false,
            what: None,
            evidence: vec![ev],
        });
        if let Some(c) = &h.curr
            && let Some(t) = cx.task_node_addr(g, c.addr)
        {
            if let Some(n) = g.get_mut(t) {
                n.running = true;
            }
            g.edge(Edge {
                from: cpu,
                to: t,
                kind: EdgeKind::Running,
                candidate: false,
                what: None,
                evidence: vec![Evidence::field(
                    format!("runqueues:{}.curr", h.cpu),
                    format!("{:#x} ({})", c.addr, c.short()),
                    None,
                )],
            });
        }
    }
    for b in &r.blocked_readers {
        if let Some(t) = cx.task_node_addr(g, b.addr) {
            g.edge(Edge {
                from: id,
                to: t,
                kind: EdgeKind::HeldUpBy,
                candidate: false,
                what: None,
                evidence: vec![Evidence::note(
                    "preempted inside an RCU read-side section (rcu_node gp_tasks..blkd_tasks)",
                )],
            });
        }
    }
    if r.holdouts.is_empty() && r.blocked_readers.is_empty() {
        match &r.gp_kthread {
            Some(k) => {
                if let Some(t) = cx.task_node_addr(g, k.addr) {
                    g.edge(Edge {
                        from: id,
                        to: t,
                        kind: EdgeKind::AdvancedBy,
                        candidate: false,
                        what: None,
                        evidence: vec![Evidence::note(format!(
                            "nothing owed (no holdout CPU, no blocked reader): the GP kthread must run{}",
                            r.jiffies_since_gp_activity
                                .map(|j| format!("; last activity {j} jiffies ago"))
                                .unwrap_or_default()
                        ))],
                    });
                }
            }
            None => {
                if let Some(n) = g.get_mut(id) {
                    n.no_waker =
                        Some("no holdout, no blocked reader and no GP kthread found".into());
                }
            }
        }
    }
    id
}

/// An RCU grace period that stalls with nobody seen waiting (the RCU-stall dump): add it
/// when the GP is in progress and something holds it up for longer than a tick.
pub fn link_stall(cx: &Ctx, g: &mut Graph) {
    let Some(r) = cx.rcu() else { return };
    if !r.gp_in_progress || (r.holdouts.is_empty() && r.blocked_readers.is_empty()) {
        return;
    }
    rcu_gp_node(cx, g, NodeKind::RcuGp);
}

/// Task `ti` in `rcu_barrier()` → the RCU grace period. rcu_barrier() queues a callback on
/// every CPU with callbacks and sleeps on `rcu_state.barrier_completion` until all of them
/// have run; callbacks run only after the grace period they wait for ends, so the barrier
/// waits for the grace period (and for callback invocation, which a stalled grace period
/// never reaches).
pub fn decode_barrier(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    const FRAMES: &[&str] = &["rcu_barrier", "srcu_barrier"];
    let Some(fi) = cx.find_frame(ti, &FRAMES[..1]) else {
        return false;
    };
    let t = cx.task_node(g, ti);
    let gp = rcu_gp_node(cx, g, NodeKind::RcuGp);
    let mut ev = cx.frame_ev(ti, fi, FRAMES);
    ev.note = Some(
        "rcu_barrier() sleeps on rcu_state.barrier_completion until the callback it queued on each CPU has run, after the grace period those callbacks wait for".into(),
    );
    g.edge(Edge {
        from: t,
        to: gp,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("callbacks queued before it (rcu_barrier)".into()),
        evidence: vec![ev],
    });
    true
}
