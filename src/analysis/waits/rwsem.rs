//! `rwsem_down_{read,write}_slowpath` (5.3+) / `rwsem_down_*_failed` (older) → the
//! `struct rw_semaphore` (on-stack `struct rwsem_waiter {list, task, type, …}` in
//! `sem->wait_list`) → its writer owner, or, when reader-owned (`owner` bit 0
//! `RWSEM_READER_OWNED`), candidate readers: the last reader `owner` names (a hint — it may
//! have released), and tasks whose stacks hold the semaphore's address or whose frames run
//! code that names it.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "rwsem_down_write_slowpath",
    "rwsem_down_read_slowpath",
    "rwsem_down_write_failed",
    "rwsem_down_read_failed",
    "rwsem_down_write_failed_killable",
    "call_rwsem_down_write_failed",
    "call_rwsem_down_read_failed",
    "__down_write",
    "__down_read",
];

/// `RWSEM_READER_OWNED` (kernel/locking/rwsem.c, bit 0 of `owner` since 4.20 / 5.3).
pub const READER_OWNED: u64 = 1;
/// `RWSEM_WRITER_LOCKED` (bit 0 of `count`, 5.3+), `RWSEM_READER_SHIFT` 8.
pub const WRITER_LOCKED: u64 = 1;
pub const READER_SHIFT: u32 = 8;

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = &cx.l.rwsem else { return false };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let t = cx.task_node(g, ti);
    let Some((w, sem, ev)) = cx.find_lock_waiter(ti, fi, l, "rwsem_waiter") else {
        if let Some(n) = g.get_mut(t) {
            n.fields
                .push(("wait".into(), "rwsem: waiter not found on the stack".into()));
        }
        return true;
    };
    let write = l
        .waiter_type
        .and_then(|o| cx.k.read_u32(Kva(w + o), "rwsem_waiter.type").ok())
        .map(|ty| ty == 0);
    link_rwsem(cx, g, t, sem, write, vec![frame, ev]);
    true
}

/// Task `t` waits on the rwsem at `sem` (for writing when `write`), and the rwsem → its
/// writer owner (exact, `rw_semaphore.owner`) or, reader-owned, candidate readers.
pub fn link_rwsem(
    cx: &Ctx,
    g: &mut Graph,
    t: NodeId,
    sem: u64,
    write: Option<bool>,
    evidence: Vec<Evidence>,
) {
    let Some(l) = &cx.l.rwsem else { return };
    let k = cx.k;
    let sid = NodeId::new(NodeKind::Rwsem, sem);
    let owner = k
        .read_u64(Kva(sem + l.owner), "rw_semaphore.owner")
        .unwrap_or(0);
    let count = l
        .count
        .and_then(|o| k.read_u64(Kva(sem + o), "rw_semaphore.count").ok());
    let n = g.node(sid, cx.object_label(sem));
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{sem:#x}")));
        n.fields.push(("owner".into(), format!("{owner:#x}")));
        if let Some(c) = count {
            n.fields.push(("count".into(), format!("{c:#x}")));
        }
    }
    let what = match write {
        Some(true) => "rwsem (down_write)",
        Some(false) => "rwsem (down_read)",
        None => "rwsem",
    };
    g.edge(Edge {
        from: t,
        to: sid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(what.into()),
        evidence,
    });
    if g.out_edges(sid).next().is_some() {
        return;
    }
    let writer_locked = count.is_some_and(|c| c & WRITER_LOCKED != 0);
    let reader_owned = owner & READER_OWNED != 0 && !writer_locked;
    let owner_task = owner & !0x7;
    let owner_ev = Evidence::exact(
        "rw_semaphore.owner",
        format!("{owner:#x}"),
        Some(sem + l.owner),
    );
    if !reader_owned {
        if owner_task != 0
            && let Some(o) = cx.task_node_addr(g, owner_task)
        {
            g.edge(Edge {
                from: sid,
                to: o,
                kind: EdgeKind::OwnedBy,
                candidate: false,
                what: None,
                evidence: vec![owner_ev],
            });
        } else if let Some(n) = g.get_mut(sid) {
            n.no_waker = Some(format!(
                "rw_semaphore.owner = {owner:#x}: no writer owner recorded"
            ));
        }
        return;
    }
    let readers = count.map(|c| c >> READER_SHIFT);
    let mut found = 0;
    // The last reader that took it (a hint: it may have released since).
    if owner_task != 0
        && let Some(o) = cx.task_node_addr(g, owner_task)
    {
        found += 1;
        // A hint, not a record of who holds it now.
        let mut ev = owner_ev.clone();
        ev.exact = false;
        ev.note = Some(format!(
            "reader-owned (bit 0 RWSEM_READER_OWNED); owner & ~0x7 names the last reader to take it{}",
            readers
                .map(|r| format!("; count >> 8 = {r} reader(s) inside"))
                .unwrap_or_default()
        ));
        g.edge(Edge {
            from: sid,
            to: o,
            kind: EdgeKind::CandidateHolder,
            candidate: true,
            what: None,
            evidence: vec![ev],
        });
    }
    found += stack_candidates(
        cx,
        g,
        sid,
        sem,
        &[
            "down_read",
            "down_read_killable",
            "down_read_interruptible",
            "down_read_trylock",
        ],
    );
    if found == 0
        && let Some(n) = g.get_mut(sid)
    {
        n.no_waker = Some(format!(
            "reader-owned{}, and no task's stack or code names it",
            readers
                .map(|r| format!(" by {r} reader(s)"))
                .unwrap_or_default()
        ));
    }
}

/// Tasks (not waiting on `obj` themselves) whose stack holds `addr`, or with a frame whose
/// function's code names `addr` or is one of `reader_frames`: candidate holders. Returns
/// how many were added.
pub fn stack_candidates(
    cx: &Ctx,
    g: &mut Graph,
    obj: NodeId,
    addr: u64,
    reader_frames: &[&str],
) -> usize {
    let waiters: Vec<NodeId> = g
        .in_edges(obj)
        .filter(|e| e.kind == EdgeKind::WaitsOn)
        .map(|e| e.from)
        .collect();
    let mut added = 0;
    for ti in 0..cx.tasks.len() {
        let tid = NodeId::new(NodeKind::Task, cx.tasks[ti].addr);
        if waiters.contains(&tid) || cx.frames[ti].is_empty() || cx.tasks[ti].st == "ID" {
            continue;
        }
        let mut ev = None;
        for (fi, f) in cx.frames[ti].iter().enumerate() {
            for (name, _) in &f.names {
                let base = super::base_name(name);
                if reader_frames.contains(&base)
                    || (!super::SCHED_FRAMES.contains(&base) && cx.code_references(name, addr))
                {
                    let mut e = cx.frame_ev(ti, fi, &[base]);
                    e.note = Some(format!(
                        "{name} takes or names {} (its code refers to {addr:#x})",
                        g.label(obj)
                    ));
                    ev = Some(e);
                    break;
                }
            }
            if ev.is_some() {
                break;
            }
        }
        if ev.is_none()
            && !cx.is_section_anchor(addr)
            && let Some(a) = cx.stack_word(ti, addr)
        {
            let mut e = Evidence::field("stack word", format!("{addr:#x}"), Some(a));
            if let Some(fi) = cx.frame_of_addr(ti, a) {
                let f = &cx.frames[ti][fi];
                e.frame = Some(f.no);
                e.function = f.names.last().map(|n| n.0.clone());
            }
            e.note = Some(format!(
                "the address of {} is on this task's stack",
                g.label(obj)
            ));
            ev = Some(e);
        }
        if let Some(e) = ev {
            let t = cx.task_node(g, ti);
            if t == obj {
                continue;
            }
            added += 1;
            g.edge(Edge {
                from: obj,
                to: t,
                kind: EdgeKind::CandidateHolder,
                candidate: true,
                what: None,
                evidence: vec![e],
            });
        }
    }
    added
}
