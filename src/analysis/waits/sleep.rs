//! `schedule_timeout*` / `msleep` with no other wait above it: a timed sleep. The on-stack
//! `struct process_timer {timer, task}` (4.15+, kernel/time/timer.c) is found like a
//! waiter (a stack word equal to the task whose `timer.function == process_timeout`);
//! its `timer.expires` against `jiffies` says when it ends.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "schedule_timeout",
    "schedule_timeout_uninterruptible",
    "schedule_timeout_interruptible",
    "schedule_timeout_killable",
    "msleep",
    "msleep_interruptible",
];

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some((p_timer, p_task, expires_off, func_off)) = cx.l.process_timer else {
        return false;
    };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let me = cx.tasks[ti].addr;
    let k = cx.k;
    for (a, v) in cx.stack_words(ti, fi) {
        if v != me || a < p_task {
            continue;
        }
        let timer = a - p_task + p_timer;
        let Ok(f) = k.read_u64(Kva(timer + func_off), "process_timer.timer.function") else {
            continue;
        };
        if cx.symbol_at(f).as_deref() != Some("process_timeout") {
            continue;
        }
        let expires = k
            .read_u64(Kva(timer + expires_off), "timer_list.expires")
            .unwrap_or(0);
        let jiffies = k.jiffies();
        let t = cx.task_node(g, ti);
        let caller = cx.frames[ti]
            .get(fi + 1)
            .and_then(|f| f.names.last())
            .map(|n| n.0.clone())
            .unwrap_or_default();
        let tid = NodeId::new(NodeKind::Timer, timer);
        let n = g.node(
            tid,
            format!("process_timeout timer of {}", cx.task_label(ti)),
        );
        n.fields.push(("expires".into(), expires.to_string()));
        if let Some(j) = jiffies {
            let d = expires.wrapping_sub(j) as i64;
            n.fields.push(("expires_in_jiffies".into(), d.to_string()));
        }
        let mut ev = Evidence::field(
            "process_timer.timer.expires",
            expires.to_string(),
            Some(timer + expires_off),
        );
        ev.note = Some(match jiffies {
            Some(j) if (expires.wrapping_sub(j) as i64) >= 0 => format!(
                "the sleep ends in {} jiffies; {caller} may simply sleep again (a loop)",
                expires.wrapping_sub(j) as i64
            ),
            Some(j) => format!(
                "expired {} jiffies ago and the task still sleeps: timer softirq not running on its CPU?",
                j.wrapping_sub(expires) as i64
            ),
            None => "jiffies unreadable".into(),
        });
        g.edge(Edge {
            from: t,
            to: tid,
            kind: EdgeKind::WaitsOn,
            candidate: false,
            what: Some("timed sleep".into()),
            evidence: vec![cx.frame_ev(ti, fi, FRAMES), ev],
        });
        return true;
    }
    false
}
