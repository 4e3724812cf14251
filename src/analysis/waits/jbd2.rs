//! jbd2 journals: a task in `jbd2_log_wait_commit()` or `wait_transaction_locked()` → the
//! journal → its commit thread (`journal_t.j_task`, exact).
//!
//! Teaching note: ext4 (and ocfs2) change metadata inside jbd2 *transactions*. One
//! transaction is running at a time and takes new changes (handles); the journal's
//! kthread `jbd2/<dev>` commits it: locks it (`T_LOCKED`: new handles wait in
//! `wait_transaction_locked()` until the handles inside finish), writes its blocks to the
//! journal and waits for that I/O, then marks it committed (`j_commit_sequence = tid`) and
//! wakes `j_wait_done_commit`. `fsync()`, `sync()` and `syncfs()` ask for a commit
//! (`j_commit_request`) and sleep in `jbd2_log_wait_commit()` until `j_commit_sequence`
//! reaches their tid. So every such waiter waits for the commit thread, and the commit
//! thread usually waits for the disk: follow it.
//!
//! Tested on the fixtures' `io` scenario (`sync -f` on ext4 over the stalled `qhblk`).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &["jbd2_log_wait_commit", "wait_transaction_locked"];

/// Offsets in `journal_t` and `transaction_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLayout {
    pub j_task: u64,
    pub j_wait_done_commit: u64,
    pub j_wait_transaction_locked: u64,
    pub j_commit_sequence: u64,
    pub j_commit_request: u64,
    pub j_running: u64,
    pub j_committing: u64,
    pub j_devname: u64,
    pub t_tid: u64,
    pub t_state: u64,
    /// `enum transaction_state` by value (`T_RUNNING`, `T_LOCKED`, …, `T_FINISHED`).
    pub states: Vec<(u32, String)>,
}

/// Task `ti` waiting for a commit or for a locked transaction → the journal.
pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let Some(l) = cx.jbd2_layout() else {
        return false;
    };
    let Some((e, head)) = cx.find_wait_entry(ti, fi + 1) else {
        return false;
    };
    // Which of the journal's queues: the one whose journal has a commit thread.
    let queues = [
        (
            l.j_wait_done_commit,
            "j_wait_done_commit",
            "the commit of its transaction",
        ),
        (
            l.j_wait_transaction_locked,
            "j_wait_transaction_locked",
            "the locked transaction to commit",
        ),
    ];
    let found = queues.iter().find_map(|&(off, name, what)| {
        let j = head.checked_sub(off)?;
        let task = cx.k.read_u64(Kva(j + l.j_task), "journal_t.j_task").ok()?;
        cx.by_addr.contains_key(&task).then_some((j, name, what))
    });
    let Some((journal, queue, what)) = found else {
        return false;
    };
    let Some(jn) = journal_node(cx, g, journal) else {
        return false;
    };
    let mut ev = Evidence::field(
        format!("journal_t.{queue}"),
        format!("wait queue at {head:#x} (journal {journal:#x})"),
        Some(head),
    );
    ev.note = Some(format!(
        "on-stack wait_queue_entry at {e:#x} names this task and is queued on the journal's {queue}"
    ));
    let t = cx.task_node(g, ti);
    g.edge(Edge {
        from: t,
        to: jn,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(what.into()),
        evidence: vec![cx.frame_ev(ti, fi, FRAMES), ev],
    });
    true
}

/// The node of the journal at `journal`, linked to its commit thread.
pub fn journal_node(cx: &Ctx, g: &mut Graph, journal: u64) -> Option<NodeId> {
    let l = cx.jbd2_layout()?;
    let k = cx.k;
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what).ok();
    let r32 = |a: u64, what: &str| k.read_u32(Kva(a), what).ok();
    let id = NodeId::new(NodeKind::Journal, journal);
    if g.get(id).is_some() {
        return Some(id);
    }
    let dev = k
        .read_cstr(Kva(journal + l.j_devname), 32, "journal_t.j_devname")
        .unwrap_or_else(|_| format!("{journal:#x}"));
    let task = rd(journal + l.j_task, "journal_t.j_task").unwrap_or(0);
    let tr = |off: u64, what: &str| -> Option<String> {
        let t = rd(journal + off, what).filter(|&t| t != 0)?;
        let tid = r32(t + l.t_tid, "transaction_t.t_tid")?;
        let st = r32(t + l.t_state, "transaction_t.t_state")?;
        let name = l
            .states
            .iter()
            .find(|(v, _)| *v == st)
            .map_or_else(|| format!("state {st}"), |(_, n)| n.clone());
        Some(format!("tid {tid}, {name} ({t:#x})"))
    };
    let running = tr(l.j_running, "journal_t.j_running_transaction");
    let committing = tr(l.j_committing, "journal_t.j_committing_transaction");
    let n = g.node(id, dev);
    n.fields.push(("journal".into(), format!("{journal:#x}")));
    if let Some(s) = r32(journal + l.j_commit_sequence, "journal_t.j_commit_sequence") {
        n.fields.push(("j_commit_sequence".into(), s.to_string()));
    }
    if let Some(s) = r32(journal + l.j_commit_request, "journal_t.j_commit_request") {
        n.fields.push(("j_commit_request".into(), s.to_string()));
    }
    n.fields.push((
        "committing".into(),
        committing.clone().unwrap_or_else(|| "none".into()),
    ));
    n.fields
        .push(("running".into(), running.unwrap_or_else(|| "none".into())));
    let Some(tn) = cx.task_node_addr(g, task) else {
        if let Some(n) = g.get_mut(id) {
            n.no_waker = Some(format!(
                "journal_t.j_task = {task:#x} is not a task: no commit thread to follow"
            ));
        }
        return Some(id);
    };
    let mut ev = Evidence::exact(
        "journal_t.j_task",
        format!("{task:#x} ({})", g.label(tn)),
        Some(journal + l.j_task),
    );
    ev.note = Some(match committing {
        Some(c) => format!("the journal's commit thread, committing {c}"),
        None => "the journal's commit thread (no transaction committing)".into(),
    });
    g.edge(Edge {
        from: id,
        to: tn,
        kind: EdgeKind::AdvancedBy,
        candidate: false,
        what: Some("its commit thread".into()),
        evidence: vec![ev],
    });
    Some(id)
}
