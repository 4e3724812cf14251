//! Who holds what the text's tasks wait on. Records first, inferences after, and every
//! inference is a candidate edge that says so:
//!
//! - **records** (edge not a candidate): the hung-task blocker line for a mutex or a writer-
//!   owned rwsem (`is blocked on a mutex likely owned by task b:2`, the kernel read the owner
//!   field); lockdep's held-lock lists (lockdep records a lock when the acquisition starts, so
//!   the same lock address under two tasks means one holds it and the other waits: the waiter
//!   is the task whose stack is in the locking call at that site, the holder a task with a
//!   stack that is not waiting for it); crash's owner word (`struct mutex.owner X` = the
//!   owning `task_struct` with the flag bits masked).
//! - **candidates**: a reader-owned or semaphore blocker line (the owner is a hint); a lockdep
//!   holder whose stack the text does not show; a task crash shows granted an rwsem (runnable,
//!   not on the wait list that `list -l rwsem_waiter.list` printed); a function known to run
//!   with a lock held ([`HELD_WHILE`]); another task already past the lock call in the same
//!   function (its frame's offset is beyond the waiters'); the worker running the work a task
//!   flushes, the journal's commit thread, the task evicting an inode.

use super::super::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind, STARVED, name_key};
use super::super::waits::base_name;
use super::waits::TextWait;
use super::{Cx, find, frame_ev};
use crate::artifacts::lockdep::HeldLock;
use crate::artifacts::{ParsedArtifact, TaskStack};

/// Functions that run with a lock held, by the code that calls them: (function, module or "",
/// lock name as [`super::lock_names::LOCK_NAMES`] gives it, why).
const HELD_WHILE: &[(&str, &str, &str, &str)] = &[
    (
        "dev_ethtool",
        "",
        "rtnl_mutex",
        "dev_ioctl() calls dev_ethtool() with rtnl_lock() held",
    ),
    (
        "do_rename",
        "ubifs",
        "ubifs ui_mutex",
        "ubifs do_rename() holds the ui_mutex of the inodes it renames (lock_4_inodes)",
    ),
];

/// (flushing function, the work functions that run the flushed work): `pci_call_probe()`
/// runs the driver's probe on the device's node with `work_on_cpu()` (work_for_cpu_fn),
/// since 6.x from its own work (local_pci_probe_callback) on pci_probe_wq.
const FLUSH_TARGETS: &[(&str, &[&str])] = &[
    (
        "pci_call_probe",
        &["work_for_cpu_fn", "local_pci_probe_callback"],
    ),
    ("work_on_cpu", &["work_for_cpu_fn"]),
    ("work_on_cpu_key", &["work_for_cpu_fn"]),
];

/// Frames of a task that advances an object of a kind (when not waiting on it itself).
const ADVANCERS: &[(NodeKind, &[&str], &str)] = &[
    (
        NodeKind::Journal,
        &["jbd2_journal_commit_transaction", "kjournald2"],
        "the jbd2 commit thread: it commits the running transaction",
    ),
    (
        NodeKind::Inode,
        &["evict", "iput_final", "ext4_evict_inode", "dispose_list"],
        "is evicting an inode: the inode is freed when it is done",
    ),
    (
        NodeKind::DeviceClaim,
        &[
            "mmc_blk_mq_issue_rq",
            "mmc_blk_issue_rq",
            "mmc_wait_for_req",
            "mmc_rescan",
        ],
        "runs MMC code that claims the host",
    ),
];

/// The lockdep entry each task waits for: per stack, the lock's identity (`lockdep:ADDR`, or
/// the class when no address was printed). Sets the wait's key and label from it.
pub(super) fn lockdep_identity(
    p: &ParsedArtifact,
    read: &mut [Option<TextWait>],
) -> Vec<Option<String>> {
    let mut out = vec![None; read.len()];
    for (i, w) in read.iter_mut().enumerate() {
        let Some(w) = w else { continue };
        if !is_lock(w.kind) {
            continue;
        }
        let t = &p.tasks[i];
        let Some(pid) = t.pid else { continue };
        let Some(e) = awaited_entry(p, t, pid, w) else {
            continue;
        };
        let key = lock_key(e);
        w.key = key.clone();
        w.label = e.class.clone();
        w.named = true;
        out[i] = Some(key);
    }
    out
}

fn is_lock(k: NodeKind) -> bool {
    matches!(
        k,
        NodeKind::Mutex
            | NodeKind::Rwsem
            | NodeKind::RtMutex
            | NodeKind::Semaphore
            | NodeKind::SocketLock
    )
}

fn lock_key(e: &HeldLock) -> String {
    match e.addr {
        Some(a) => format!("lockdep:{:#x}", a.0),
        None => format!("lockdep class:{}", e.class),
    }
}

/// The entry of `pid`'s held-lock list that its lock wait is acquiring: the last entry whose
/// acquisition site is a frame between the locking call and its caller.
fn awaited_entry<'a>(
    p: &'a ParsedArtifact,
    t: &TaskStack,
    pid: u32,
    w: &TextWait,
) -> Option<&'a HeldLock> {
    let last = w
        .caller
        .map(|c| (c + 2).min(t.frames.len()))
        .unwrap_or(t.frames.len());
    let names: Vec<&str> = t.frames[w.frame..last]
        .iter()
        .map(|f| base_name(&f.func))
        .collect();
    p.held_locks
        .iter()
        .filter(|h| h.pid == pid)
        .flat_map(|h| h.locks.iter())
        .rfind(|e| e.sites.iter().any(|s| names.contains(&base_name(s))))
}

fn edge(g: &mut Graph, from: NodeId, to: NodeId, kind: EdgeKind, candidate: bool, ev: Evidence) {
    g.edge(Edge {
        from,
        to,
        kind,
        candidate,
        what: None,
        evidence: vec![ev],
    });
}

/// Every holder the text records or suggests, in the order of the module doc.
pub(super) fn link(g: &mut Graph, cx: &Cx, awaited: &[Option<String>]) {
    blockers(g, cx);
    lockdep(g, cx, awaited);
    owner_words(g, cx);
    granted_readers(g, cx);
    held_while(g, cx);
    past_lock_point(g, cx);
    advancers(g, cx);
}

/// The hung-task blocker lines. A waiter whose stack the text lacks gets a node, and an
/// object named after the owner.
fn blockers(g: &mut Graph, cx: &Cx) {
    for h in &cx.p.hung_tasks {
        for b in &h.blockers {
            let waiter = cx.task_by_pid(g, b.waiter_pid, Some(&b.waiter_comm));
            let kind = match b.kind.as_str() {
                "rwsem" => NodeKind::Rwsem,
                "semaphore" => NodeKind::Semaphore,
                _ => NodeKind::Mutex,
            };
            let placed = cx
                .ids
                .iter()
                .zip(&cx.waits)
                .find(|(id, w)| **id == waiter && w.as_ref().is_some_and(|w| w.w.kind == kind))
                .and_then(|(_, w)| w.as_ref().map(|w| w.obj));
            let what = match kind {
                NodeKind::Rwsem => "an rw-semaphore",
                NodeKind::Semaphore => "a semaphore",
                _ => "a mutex",
            };
            let line_ev = Evidence::note(format!(
                "hung-task report line {}: {}:{}{} blocked on {what}{}",
                b.line,
                b.waiter_comm,
                b.waiter_pid,
                b.waiter_role
                    .as_deref()
                    .map(|r| format!(" <{r}>"))
                    .unwrap_or_default(),
                match (&b.owner_comm, b.owner_pid) {
                    (Some(c), Some(p)) => format!(
                        " likely owned by {c}:{p}{}",
                        b.owner_role
                            .as_deref()
                            .map(|r| format!(" <{r}>"))
                            .unwrap_or_default()
                    ),
                    _ => ", but the owner is not found".into(),
                }
            ));
            let obj = match placed {
                Some(o) => o,
                None => {
                    let label = match (&b.owner_comm, b.owner_pid) {
                        (Some(c), Some(p)) => format!("{what} {c}:{p} holds"),
                        _ => format!("{what} {}:{} waits for", b.waiter_comm, b.waiter_pid),
                    };
                    let oid =
                        NodeId::new(kind, name_key(&format!("blocker:{}:{label}", kind.name())));
                    g.node(oid, label);
                    g.edge(Edge {
                        from: waiter,
                        to: oid,
                        kind: EdgeKind::WaitsOn,
                        candidate: false,
                        what: Some(kind.name().into()),
                        evidence: vec![line_ev.clone()],
                    });
                    oid
                }
            };
            let (Some(oc), Some(op)) = (&b.owner_comm, b.owner_pid) else {
                if let Some(n) = g.get_mut(obj) {
                    n.no_waker = Some("the hung-task detector found no owner: the lock was released meanwhile, or is held by readers it cannot name".into());
                }
                continue;
            };
            let owner = cx.task_by_pid(g, op, Some(oc));
            // The kernel read the owner field: a record for a mutex and a writer; a reader or a
            // semaphore's "last holder" is only a hint.
            let hint = kind == NodeKind::Semaphore || b.owner_role.as_deref() == Some("reader");
            edge(g, obj, owner, EdgeKind::OwnedBy, hint, line_ev);
        }
    }
}

/// Lockdep: exact holders of the locks the text's tasks wait for; self-deadlocks.
fn lockdep(g: &mut Graph, cx: &Cx, awaited: &[Option<String>]) {
    let p = cx.p;
    for (i, key) in awaited.iter().enumerate() {
        let (Some(key), Some(pl)) = (key, cx.waits[i].as_ref()) else {
            continue;
        };
        let waiter_pid = p.tasks[i].pid;
        for h in &p.held_locks {
            let Some(e) = h.locks.iter().find(|e| lock_key(e) == *key) else {
                continue;
            };
            let ev = Evidence::note(format!(
                "lockdep line {}: {}/{} holds #{} {} ({}), taken at {}",
                e.line,
                h.comm,
                h.pid,
                e.index,
                e.class,
                e.addr
                    .map(|a| format!("{:#x}", a.0))
                    .unwrap_or_else(|| "no address".into()),
                e.sites.join(" ← ")
            ));
            if Some(h.pid) == waiter_pid {
                // The waiter itself: a second entry with the same lock is a recursion.
                let same: Vec<&HeldLock> = h.locks.iter().filter(|x| lock_key(x) == *key).collect();
                if same.len() > 1 {
                    edge(g, pl.obj, cx.ids[i], EdgeKind::OwnedBy, false, ev);
                }
                continue;
            }
            // Is that task waiting for this very lock (its own stack in the locking call)?
            let si = p.tasks.iter().position(|t| t.pid == Some(h.pid));
            let waiting = si.is_some_and(|s| awaited.get(s).and_then(|k| k.as_ref()) == Some(key));
            if waiting {
                continue;
            }
            let holder = cx.task_by_pid(g, h.pid, Some(&h.comm));
            // With its stack in the text and not waiting for the lock, it holds it; without a
            // stack it may be one more waiter (lockdep lists those too).
            let exact = si.is_some_and(|s| cx.waits[s].as_ref().is_none_or(|w| w.obj != pl.obj));
            let mut ev = ev;
            if !exact {
                ev.note = ev.note.map(|n| format!("{n}; its stack is not in the text, so it may be waiting for the lock rather than holding it"));
            }
            edge(g, pl.obj, holder, EdgeKind::OwnedBy, !exact, ev);
        }
    }
}

/// crash `struct mutex.owner LOCK`: the owner word names the task.
fn owner_words(g: &mut Graph, cx: &Cx) {
    for o in &cx.p.crash.owners {
        let Some(task) = o.owner_task() else { continue };
        let objs: Vec<NodeId> = cx
            .waits
            .iter()
            .flatten()
            .filter(|pl| pl.w.label == o.lock || pl.w.key == o.lock)
            .map(|pl| pl.obj)
            .collect();
        for obj in dedup(objs) {
            let Some(owner) = cx.task_by_addr(g, task) else {
                continue;
            };
            let ev = Evidence::field(
                format!("{}.{}", o.lock_type.as_deref().unwrap_or("lock"), o.field),
                format!(
                    "{:#x} (task {:#x} with the flag bits masked)",
                    o.value, task.0
                ),
                None,
            );
            let mut ev = ev;
            ev.note = Some(format!(
                "crash output line {}: `struct {}` of {}",
                o.line,
                o.lock_type.as_deref().unwrap_or("?"),
                o.lock
            ));
            edge(g, obj, owner, EdgeKind::OwnedBy, false, ev);
        }
    }
}

fn dedup(mut v: Vec<NodeId>) -> Vec<NodeId> {
    v.sort();
    v.dedup();
    v
}

/// crash: a reader in `rwsem_down_read_failed` that is runnable and not on the rwsem's wait
/// list was granted the lock and has not run since: it holds it (candidate) and starves.
fn granted_readers(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    let listed: Vec<crate::addr::Kva> = p
        .crash
        .wait_lists
        .iter()
        .flat_map(|w| w.tasks.iter().copied())
        .collect();
    if listed.is_empty() {
        return;
    }
    for (i, pl) in cx.waits.iter().enumerate() {
        let Some(pl) = pl else { continue };
        if pl.w.kind != NodeKind::Rwsem || !pl.w.reader {
            continue;
        }
        let t = &p.tasks[i];
        let Some(addr) = t.task else { continue };
        if listed.contains(&addr) {
            continue;
        }
        let Some(row) = p
            .crash
            .ps
            .iter()
            .find(|r| r.task == Some(addr) && r.state.as_deref() == Some("RU"))
        else {
            continue;
        };
        let id = cx.ids[i];
        g.edges
            .retain(|e| !(e.from == id && e.to == pl.obj && e.kind == EdgeKind::WaitsOn));
        let mut why = format!(
            "runnable (RU): it was woken with {} granted (it is not on the wait list crash printed) and has not run since",
            pl.w.label
        );
        if let Some(lr) = p
            .crash
            .ps
            .iter()
            .filter(|r| r.task == Some(addr))
            .find_map(|r| r.last_ran.clone())
        {
            why.push_str(&format!("; last ran {lr} ago"));
        }
        if p.crash
            .ps
            .iter()
            .any(|r| r.task == Some(addr) && r.throttled)
        {
            why.push_str("; it is queued in a CFS group that is throttled (runq -g)");
        }
        if let Some(n) = g.get_mut(id) {
            n.fields.push((STARVED.into(), why.clone()));
            n.fields.push(("state".into(), "RU".into()));
        }
        edge(
            g,
            pl.obj,
            id,
            EdgeKind::CandidateHolder,
            true,
            Evidence::note(format!(
                "ps line {}: {} {} is RU; its stack is in rwsem_down_read_failed but its task is not on the rwsem's wait list: {why}",
                row.line, row.comm, row.pid
            )),
        );
    }
}

/// [`HELD_WHILE`]: a frame that runs with a named lock held.
fn held_while(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    let objs: Vec<(NodeId, String)> = cx
        .waits
        .iter()
        .flatten()
        .map(|pl| (pl.obj, pl.w.label.clone()))
        .collect();
    for (func, module, lock, why) in HELD_WHILE {
        let targets: Vec<NodeId> = dedup(
            objs.iter()
                .filter(|(_, l)| l == lock || l.starts_with(&format!("{lock},")))
                .map(|(o, _)| *o)
                .collect(),
        );
        for obj in targets {
            for (i, t) in p.tasks.iter().enumerate() {
                let Some(fi) = t.frames.iter().position(|f| {
                    f.reliable
                        && base_name(&f.func) == *func
                        && (module.is_empty() || f.module.as_deref() == Some(module))
                }) else {
                    continue;
                };
                // A waiter for the lock holds it only if the frame is further out than its
                // own locking call (a self-deadlock); else it is acquiring it there.
                if let Some(w) = cx.waits[i].as_ref().filter(|w| w.obj == obj)
                    && w.w.caller.is_none_or(|c| fi <= c)
                {
                    continue;
                }
                let mut ev = frame_ev(t, fi);
                ev.note = Some(format!("{}; {why}", ev.note.unwrap_or_default()));
                edge(g, obj, cx.ids[i], EdgeKind::CandidateHolder, true, ev);
            }
        }
    }
}

/// Another task already past the lock call in the function the waiters lock from.
fn past_lock_point(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    let objs = dedup(
        cx.waits
            .iter()
            .flatten()
            .filter(|pl| is_lock(pl.w.kind))
            .map(|pl| pl.obj)
            .collect(),
    );
    for obj in objs {
        if g.out_edges(obj).any(|e| !e.candidate) {
            continue;
        }
        let waiters = cx.waiters_of(obj);
        // The call sites: (function, offset) of each waiter's caller.
        let mut sites: Vec<(&str, u64)> = Vec::new();
        for &i in &waiters {
            let w = &cx.waits[i].as_ref().unwrap().w;
            let Some(c) = w.caller else { continue };
            let f = &p.tasks[i].frames[c];
            if let Some(off) = f.offset {
                sites.push((base_name(&f.func), off));
            }
        }
        if sites.is_empty() {
            continue;
        }
        for (i, t) in p.tasks.iter().enumerate() {
            if waiters.contains(&i) || cx.waits[i].as_ref().is_some_and(|w| w.obj == obj) {
                continue;
            }
            let hit = t.frames.iter().enumerate().find(|(_, f)| {
                f.reliable
                    && f.offset.is_some_and(|o| {
                        sites
                            .iter()
                            .any(|(sf, so)| *sf == base_name(&f.func) && o > *so)
                    })
            });
            let Some((fi, f)) = hit else { continue };
            let waiter_off = sites
                .iter()
                .find(|(sf, _)| *sf == base_name(&f.func))
                .map(|s| s.1)
                .unwrap_or(0);
            let mut ev = frame_ev(t, fi);
            ev.note = Some(format!(
                "{}; {} is at {}+{:#x}, past the lock call the waiters sleep in (+{waiter_off:#x}): it got the lock first (a guess: the function may take it again further on)",
                ev.note.unwrap_or_default(),
                super::task_label(t),
                base_name(&f.func),
                f.offset.unwrap_or(0)
            ));
            edge(g, obj, cx.ids[i], EdgeKind::CandidateHolder, true, ev);
        }
    }
}

/// Work items, journals, inodes, claims: the task the text shows that would advance them.
fn advancers(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    for pl in cx.waits.iter().flatten() {
        let obj = pl.obj;
        if g.out_edges(obj).next().is_some() {
            continue;
        }
        // (frames to look for, words, edge kind)
        let mut want: Vec<(&[&str], String, EdgeKind)> = Vec::new();
        if pl.w.kind == NodeKind::WorkItem {
            if pl.w.label.starts_with("writeback work") {
                want.push((
                    &["wb_workfn"],
                    "runs the writeback work (wb_workfn)".into(),
                    EdgeKind::ExecutedBy,
                ));
            } else if let Some((_, works)) =
                FLUSH_TARGETS.iter().find(|(f, _)| pl.w.label.ends_with(f))
            {
                want.push((
                    works,
                    format!("runs {}, the work the flusher waits for", works.join(" / ")),
                    EdgeKind::ExecutedBy,
                ));
            }
        }
        for (k, frames, words) in ADVANCERS {
            if *k == pl.w.kind {
                want.push((frames, words.to_string(), EdgeKind::AdvancedBy));
            }
        }
        for (frames, words, kind) in want {
            for (i, t) in p.tasks.iter().enumerate() {
                if cx.waits[i].as_ref().is_some_and(|w| w.obj == obj) {
                    continue;
                }
                let Some(fi) = find(t, frames) else { continue };
                let mut ev = frame_ev(t, fi);
                ev.note = Some(format!(
                    "{}; {} {words}",
                    ev.note.unwrap_or_default(),
                    super::task_label(t)
                ));
                edge(g, obj, cx.ids[i], kind, true, ev);
            }
        }
    }
}
