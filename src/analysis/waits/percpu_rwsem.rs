//! Per-CPU rwsems (`percpu_down_write()`, `percpu_down_read()`: `cgroup_threadgroup_rwsem`,
//! `cpu_hotplug_lock`, a superblock's freeze locks) → `struct percpu_rw_semaphore` → the
//! writer it waits for, or the readers still inside.
//!
//! Teaching note: readers take a per-CPU rwsem by bumping a per-CPU counter
//! (`read_count`), with no shared write and no record of who they are. A writer first
//! forces readers onto the slow path (`rcu_sync_enter()`, a grace period), sets
//! `block = 1` so new readers queue on `waiters`, and then sleeps in
//! `rcuwait_wait_event(&sem->writer, readers_active_check(sem))` until the per-CPU counts
//! sum to zero — `sem->writer.task` is that writer. So a stuck writer waits for readers
//! nobody names (the sum says how many), and every later reader waits behind the writer
//! (kernel/locking/percpu-rwsem.c; the `block`/`waiters` scheme since commit 7f26482a872c
//! "locking/percpu-rwsem: Remove the embedded rwsem", v5.8).
//!
//! Found two ways: a task queued on `sem->waiters` (`percpu_rwsem_wait()`: an on-stack
//! `wait_queue_entry` with `private = current`, flag `WQ_FLAG_CUSTOM` for a reader) is
//! found like any wait-queue sleeper ([`super::waitqueue::find_entry`]) and the head gives
//! the semaphore; a writer waiting for readers is the task `sem->writer.task` names, the
//! semaphore a word on its stack (the pointer `percpu_down_write()` keeps).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

/// Where a writer waits for the readers to leave (`rcuwait_wait_event()` is a macro).
pub const WRITER_FRAMES: &[&str] = &["percpu_down_write"];
/// Where a task queues behind a writer.
pub const QUEUED_FRAMES: &[&str] = &["percpu_rwsem_wait", "__percpu_down_read"];
/// Frames of a reader taking it (candidates when they are on a stack).
pub const READER_FRAMES: &[&str] = &[
    "percpu_down_read",
    "__percpu_down_read",
    "percpu_down_read_trylock",
];

/// `struct percpu_rw_semaphore` offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcpuLayout {
    /// `unsigned int __percpu *read_count`.
    pub read_count: u64,
    /// `writer.task` (`struct rcuwait`).
    pub writer_task: u64,
    /// `waiters` (`wait_queue_head_t`).
    pub waiters: u64,
    /// `block` (`atomic_t`).
    pub block: u64,
}

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = cx.l.percpu_rwsem else {
        return false;
    };
    let k = cx.k;
    let me = cx.tasks[ti].addr;
    let read = |a: u64| k.read_u64(Kva(a), "percpu_rw_semaphore").ok();
    // Queued on sem->waiters behind a writer.
    if let (Some(fi), Some(wq)) = (cx.find_frame(ti, QUEUED_FRAMES), cx.l.waitq)
        && let Some((e, head)) = cx.find_wait_entry(ti, fi + 1)
        && let Some(sem) = head.checked_sub(l.waiters)
        && read(sem + l.block).is_some()
    {
        // A reader comes through __percpu_down_read(); WQ_FLAG_CUSTOM marks its entry
        // too, but the flag's value moved (0x08 while WQ_FLAG_BOOKMARK existed, 0x04
        // after), so the frames decide.
        let reader = cx
            .find_frame(ti, &["__percpu_down_read", "percpu_down_read"])
            .is_some();
        let mut ev = Evidence::field(
            "wait_queue_entry.private",
            format!("{me:#x} ({})", cx.task_label(ti)),
            Some(e + wq.entry_private),
        );
        ev.note = Some(format!(
            "on-stack wait_queue_entry at {e:#x} queued on percpu_rw_semaphore.waiters at {head:#x}{}",
            if reader { " (a reader)" } else { " (a writer)" }
        ));
        let what = if reader {
            "percpu rwsem (down_read, behind a writer)"
        } else {
            "percpu rwsem (down_write, behind another writer)"
        };
        let frame = cx.frame_ev(ti, fi, QUEUED_FRAMES);
        link(cx, g, ti, sem, what, vec![frame, ev]);
        return true;
    }
    // A writer waiting for the readers: sem->writer.task == me, sem a word on its stack.
    let Some(fi) = cx.find_frame(ti, WRITER_FRAMES) else {
        return false;
    };
    let words = cx.stack_words(ti, fi);
    let found = words.iter().find(|&&(_, v)| {
        k.mem.xlat.is_kernel_ptr(v) && read(v.wrapping_add(l.writer_task)) == Some(me)
    });
    let frame = cx.frame_ev(ti, fi, WRITER_FRAMES);
    let Some(&(at, sem)) = found else {
        let t = cx.task_node(g, ti);
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "percpu rwsem: no semaphore on the stack names this task as its writer".into(),
            ));
        }
        return true;
    };
    let mut ev = Evidence::exact(
        "percpu_rw_semaphore.writer.task",
        format!("{me:#x} ({})", cx.task_label(ti)),
        Some(sem + l.writer_task),
    );
    ev.note = Some(format!(
        "the semaphore's pointer is on the stack at {at:#x}; its rcuwait names this task: \
         the writer waiting for the readers to leave"
    ));
    link(
        cx,
        g,
        ti,
        sem,
        "percpu rwsem (down_write, readers inside)",
        vec![frame, ev],
    );
    true
}

/// The sum of the per-CPU reader counts (readers inside), when readable.
fn readers(cx: &Ctx, l: &PcpuLayout, sem: u64) -> Option<i64> {
    let k = cx.k;
    let pcpu = k
        .read_u64(Kva(sem + l.read_count), "percpu_rw_semaphore.read_count")
        .ok()?;
    let cpus = k.cpus().ok()?;
    let mut sum: u32 = 0;
    for &cpu in &cpus.possible {
        let a = k.per_cpu(Kva(pcpu), cpu).ok()?;
        sum = sum.wrapping_add(k.read_u32(a, "read_count").ok()?);
    }
    Some(sum as i32 as i64)
}

/// Task `ti` waits on the semaphore at `sem`; the semaphore → its pending writer and its
/// candidate readers (once).
fn link(cx: &Ctx, g: &mut Graph, ti: usize, sem: u64, what: &str, evidence: Vec<Evidence>) {
    let Some(l) = cx.l.percpu_rwsem else { return };
    let k = cx.k;
    let t = cx.task_node(g, ti);
    let sid = NodeId::new(NodeKind::PercpuRwsem, sem);
    let block = k
        .read_u32(Kva(sem + l.block), "percpu_rw_semaphore.block")
        .ok();
    let writer = k
        .read_u64(Kva(sem + l.writer_task), "percpu_rw_semaphore.writer.task")
        .unwrap_or(0);
    let inside = readers(cx, &l, sem);
    let fresh = g.get(sid).is_none();
    let n = g.node(sid, cx.object_label(sem));
    if fresh {
        n.fields.push(("address".into(), format!("{sem:#x}")));
        if let Some(b) = block {
            n.fields.push(("block".into(), b.to_string()));
        }
        if let Some(r) = inside {
            n.fields.push(("readers".into(), r.to_string()));
        }
        n.fields
            .push(("writer.task".into(), format!("{writer:#x}")));
    }
    g.edge(Edge {
        from: t,
        to: sid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(what.into()),
        evidence,
    });
    if !fresh {
        return;
    }
    // A writer that is not waiting on this semaphore itself holds it (readers queued
    // behind it wait for it to finish); a pending writer is one of the waiters.
    let writer_waits = cx
        .by_addr
        .get(&writer)
        .is_some_and(|&wi| cx.find_frame(wi, WRITER_FRAMES).is_some() && cx.tasks[wi].st == "UN");
    if writer != 0
        && !writer_waits
        && inside == Some(0)
        && let Some(o) = cx.task_node_addr(g, writer)
    {
        g.edge(Edge {
            from: sid,
            to: o,
            kind: EdgeKind::OwnedBy,
            candidate: false,
            what: None,
            evidence: vec![Evidence::exact(
                "percpu_rw_semaphore.writer.task",
                format!("{writer:#x}"),
                Some(sem + l.writer_task),
            )],
        });
        return;
    }
    let found = match inside {
        Some(r) if r > 0 => super::rwsem::stack_candidates(cx, g, sid, sem, READER_FRAMES),
        _ => 0,
    };
    if found == 0
        && let Some(n) = g.get_mut(sid)
    {
        n.no_waker = Some(match inside {
            Some(r) if r > 0 => format!(
                "{r} reader(s) inside (the per-CPU read_count sum), and no task's stack or code names it: readers are not recorded"
            ),
            Some(_) => "no reader inside and no writer recorded as holding it".into(),
            None => "the per-CPU read counts are unreadable".into(),
        });
    }
}
