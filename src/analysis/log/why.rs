//! What the text held, counted, and — when no finding names a culprit — why, in one line:
//! how many blocked tasks, on what, that no holder is visible in this text, and what a dump
//! would show. "Say what you don't know."

use std::collections::BTreeMap;

use super::super::graph::{EdgeKind, NodeKind};
use super::super::walkthrough::Explanation;
use crate::artifacts::ParsedArtifact;

/// Non-zero counts of what the parsers found: `(what, how many)`.
pub fn counts(p: &ParsedArtifact) -> Vec<(String, usize)> {
    let hung = p.hung_tasks.iter().filter(|h| h.header).count();
    let blockers: usize = p.hung_tasks.iter().map(|h| h.blockers.len()).sum();
    let stacks = p.tasks.iter().filter(|t| !t.frames.is_empty()).count();
    [
        ("hung-task reports", hung),
        ("blocker lines", blockers),
        ("RCU stall reports", p.stalls.len()),
        ("soft lockups", p.soft_lockups.len()),
        ("workqueue lockups", p.wq_lockups.len()),
        ("GP-kthread dumps", p.gp_dumps.len()),
        ("lockdep held-lock lists", p.held_locks.len()),
        ("stacks", stacks),
        ("crash ps rows", p.crash.ps.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_string(), n))
    .collect()
}

/// What a dump would add for a kind of object nobody holds in the text.
fn dump_would_show(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Mutex => "the mutex's owner field",
        NodeKind::Rwsem => "the rwsem's owner and count (writer, or how many readers)",
        NodeKind::RtMutex => "the rt_mutex owner",
        NodeKind::Semaphore => "the semaphore's count and wait list",
        NodeKind::PageLock => "the pages' flags and which task locked them",
        NodeKind::Writeback | NodeKind::BufferIo | NodeKind::IoWait => {
            "the in-flight requests of the device"
        }
        NodeKind::Journal => "the journal's running and committing transactions",
        NodeKind::Completion => "the completion and what references it",
        NodeKind::WorkItem => "the workqueue's workers and their current work",
        NodeKind::SocketLock => "the socket's owner",
        NodeKind::Inode => "the inode's state and the task freeing it",
        _ => "the object's state",
    }
}

/// One line when no finding names a culprit; None when one does.
pub fn no_finding(p: &ParsedArtifact, e: &Explanation) -> Option<String> {
    if e.findings.iter().any(|w| !w.finding.culprits.is_empty()) {
        return None;
    }
    let g = &e.graph;
    // Blocked tasks by the kind of what they wait on.
    let mut by_what: BTreeMap<String, (usize, NodeKind)> = BTreeMap::new();
    let mut blocked = 0;
    for n in g.nodes.iter().filter(|n| n.id.kind == NodeKind::Task) {
        if let Some(w) = g.out_edges(n.id).find(|e| e.kind == EdgeKind::WaitsOn) {
            blocked += 1;
            let what = w.what.clone().unwrap_or_else(|| w.to.kind.name().into());
            by_what.entry(what).or_insert((0, w.to.kind)).0 += 1;
        }
    }
    let stacks = p.tasks.iter().filter(|t| !t.frames.is_empty()).count();
    let hung = p.hung_tasks.iter().filter(|h| h.header).count();
    if blocked > 0 {
        let kinds: Vec<String> = by_what
            .iter()
            .map(|(w, (n, _))| format!("{n} on {w}"))
            .collect();
        let all = if by_what.len() == 1 {
            format!("all waiting on {}", by_what.keys().next().unwrap())
        } else {
            format!("waiting: {}", kinds.join(", "))
        };
        let dump: Vec<&str> = {
            let mut v: Vec<&str> = by_what.values().map(|(_, k)| dump_would_show(*k)).collect();
            v.dedup();
            v
        };
        return Some(format!(
            "{blocked} blocked task{}, {all}; no holder visible in this text; a dump would show {}",
            if blocked == 1 { "" } else { "s" },
            dump.join(" and ")
        ));
    }
    if let Some(w) = e.findings.first() {
        let last = *w
            .finding
            .chain
            .nodes
            .last()
            .unwrap_or(&w.finding.chain.nodes[0]);
        if last.kind == NodeKind::Cpu {
            return Some(format!(
                "{}; the text shows no stack for {} after the report, so what it runs is unknown",
                w.finding.title,
                g.label(last)
            ));
        }
        if let Some(n) = g.get(last) {
            if let Some(why) = &n.no_waker {
                return Some(format!("{}; {}: {why}", w.finding.title, n.label));
            }
            if let Some(why) = n.field(super::super::graph::STARVED) {
                return Some(format!(
                    "{}; {} is runnable but gets no CPU: {why}",
                    w.finding.title, n.label
                ));
            }
            if let Some(why) = n.field(super::super::graph::NOT_BLAMED) {
                return Some(format!("{}; {}: {why}", w.finding.title, n.label));
            }
        }
        return Some(format!("{}; {}", w.finding.title, w.root_cause));
    }
    if hung > 0 && stacks == 0 {
        return Some(format!(
            "{hung} hung-task report{} without a stack: nothing in the text says what the task{} wait{} on",
            if hung == 1 { "" } else { "s" },
            if hung == 1 { "" } else { "s" },
            if hung == 1 { "s" } else { "" }
        ));
    }
    if stacks > 0 {
        let top: Vec<String> = p
            .tasks
            .iter()
            .filter(|t| !t.frames.is_empty())
            .take(3)
            .map(|t| match super::location::interrupted(t) {
                Some(l) => format!(
                    "{} at {} ({} context{})",
                    super::task_label(t),
                    t.frames[l.frame].func,
                    l.context,
                    l.spinning.map(|s| format!(", {s}")).unwrap_or_default()
                ),
                None => format!("{} in {}", super::task_label(t), t.frames[0].func),
            })
            .collect();
        return Some(format!(
            "{stacks} stack{}, none in a wait quiesce reads and no report in the text that names their CPU: {}{}",
            if stacks == 1 { "" } else { "s" },
            top.join(", "),
            if stacks > 3 { ", …" } else { "" }
        ));
    }
    if !p.stalls.is_empty() || !p.soft_lockups.is_empty() || !p.wq_lockups.is_empty() {
        return Some(
            "reports without the stacks of the CPUs they name: nothing says what those CPUs run"
                .into(),
        );
    }
    Some("no hang report, stack or lock list in this text".into())
}
