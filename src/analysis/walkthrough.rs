//! `quiesce explain`: numbered steps from each stuck task to its root cause. Each step is one
//! hop of the wait graph with its evidence (frames with `file:line`, fields with values);
//! hops through RCU / SRCU / workqueue / fanotify objects carry a short note on how that
//! mechanism works, so the reader knows why the next hop is the next hop.

use super::find::{ChainEnd, Finding, findings};
use super::graph::{Evidence, Graph, NodeId, NodeKind};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub n: usize,
    pub text: String,
    pub evidence: Vec<Evidence>,
    /// How the mechanism behind this hop works, in a few sentences.
    pub teaching: Option<&'static str>,
    /// The SRCU/RCU fields this hop rests on (`rcu::fields` keys: `quiesce fields KEY`
    /// says what each means and which kernel code sets it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Walk {
    pub finding: Finding,
    pub steps: Vec<Step>,
    pub root_cause: String,
    /// quiesce's wait-graph signature of the finding (`analysis::log` fills it for text):
    /// the chain as object kinds and labels and the functions tasks are in, no pids.
    pub signature: String,
}

/// What the pasted text held, for `explain --log`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextSummary {
    pub total_lines: usize,
    pub unparsed_lines: usize,
    pub unparsed_samples: Vec<(usize, String)>,
    /// `# ...` notes about the paste, set aside.
    pub annotation_lines: usize,
    /// Lines a second console printed again, dropped.
    pub duplicate_lines: usize,
    /// Physical lines re-joined to the line before (mail wrapping).
    pub joined_lines: usize,
    /// Kernel messages (with a log prefix) no parser read.
    pub unread_log_lines: usize,
    /// What the parsers found: `(what, how many)`, non-zero only.
    pub counts: Vec<(String, usize)>,
    /// Stacks grouped by their wait (object and the caller of the locking API), else by top
    /// frames: `N× mutex on rtnl_mutex, from rtnetlink_rcv / rtnl_lock — ip:10485, …`.
    pub stack_groups: Vec<String>,
    /// Each report with syzbot's title for it and quiesce's signature.
    pub reports: Vec<crate::analysis::log::ReportTitle>,
    /// Why no finding names a culprit, in one line (None when one does).
    pub why_no_finding: Option<String>,
    /// Stall lines decoded field by field: `field = raw: meaning`.
    pub decoded: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub source: String,
    pub graph: Graph,
    pub findings: Vec<Walk>,
    /// Blocked tasks whose wait was not decoded (label and where they sleep).
    pub undecoded: Vec<String>,
    pub text_summary: Option<TextSummary>,
}

pub const TEACH_SRCU: &str = "SRCU: each srcu_struct is its own domain. srcu_read_lock() picks the domain's current index (0/1) and bumps this CPU's lock counter for it; srcu_read_unlock() bumps the unlock counter of the same index. Readers may sleep. A grace period (run by the process_srcu work) waits for the non-current index to drain, flips the index, then waits for the old one to drain; only then does the callback that synchronize_srcu() queued (wakeme_after_rcu) complete the waiter. Counters say how many readers are inside (Σlocks − Σunlocks), never which tasks: so a reader that never calls srcu_read_unlock() — often because it is blocked itself — hangs every synchronize_srcu() on that domain. SRCU has no stall warning; only the hung-task detector notices.";
pub const TEACH_RCU: &str = "RCU: a grace period ends once every CPU has passed a quiescent state (context switch, idle, user mode) and no reader preempted inside rcu_read_lock() that started before it remains. The rcu_node tree tracks this: each leaf's qsmask has a bit per CPU still owing a quiescent state. A CPU spinning in the kernel with preemption or interrupts disabled never reports one and holds every grace period — and every synchronize_rcu() and call_rcu() callback — behind it; after ~21 s the stall warning names it.";
pub const TEACH_CPU: &str = "A holdout CPU: the task running there is what must schedule, return to user mode or go idle for the grace period to end. Look at its stack: a loop with preemption disabled, a spinlock, or interrupts off.";
pub const TEACH_WORK: &str = "Workqueues: flush_work() queues a barrier work right behind the target (or on the worker already running it) and sleeps on the barrier's completion, so the flusher waits for the target work function to return. The worker executing it is found by its struct worker.current_work; if that worker is itself blocked, the flush is blocked on that wait.";
pub const TEACH_FANOTIFY: &str = "fanotify permission events: a process opening (or reading) a watched file sleeps until the listener reads the event from its fanotify fd and writes FAN_ALLOW or FAN_DENY. If the listener never answers — stopped, busy, or waiting on something the blocked task holds — every access to the watched files hangs. Since ~5.1 this wait is killable and the hung-task detector does not report it.";
pub const TEACH_RWSEM: &str = "rwsem: a writer waits until every reader has left. Readers are not recorded (owner only names the last reader, as a hint), so the holders are found by looking for tasks that took down_read() on it and have not returned.";
pub const TEACH_MUTEX: &str = "mutex: owner (with the low 3 flag bits masked) is the task holding it; waiters queue an on-stack struct mutex_waiter on lock->wait_list. If the owner waits for something the waiter holds, nothing can move: a deadlock.";

pub const TEACH_SEMAPHORE: &str = "Semaphores: down() takes a unit of the count or, at 0, queues an on-stack semaphore_waiter and sleeps until an up() hands it one. Any task may call up(), so a semaphore has no owner; with CONFIG_DETECT_HUNG_TASK_BLOCKER the kernel remembers last_holder, the last task that took it (a strong hint, not a record of who must release it).";
pub const TEACH_WAITQUEUE: &str = "Wait queues: wait_event(wq, cond) queues an on-stack wait_queue_entry on the head and sleeps until cond is true; whoever makes it true must call wake_up(&wq). Nothing records who that is — the condition is in the waiter's code — so look at the waiting function for what it waits for (a flag, a counter, I/O) and at who should change it.";

pub const TEACH_PERCPU_RWSEM: &str = "Per-CPU rwsems: readers only bump a per-CPU counter, so nobody knows who they are. A writer closes the fast path (block = 1), then waits until the per-CPU counts sum to zero; every reader that comes after queues behind it. A stuck writer means a reader that never left; stuck readers mean a writer that waits for one.";
pub const TEACH_FOLIO: &str = "Folio (page) locks: one bit of the folio's flags (PG_locked; writeback is another). Waiters sleep on a hashed wait queue until the bit clears. No owner is recorded: whoever locked it (I/O in progress, a filesystem holding it across a call that blocks) must unlock it. Look at the file it belongs to and at tasks working on that file.";

pub const TEACH_BLOCK: &str = "Block I/O: a bio becomes a request that holds one of the hardware queue's tags; the driver starts it and completes it when the device answers, and only then do the bio's waiters wake (submit_bio_wait's completion, a buffer's BH_Lock, a folio's PG_writeback). A request that is never completed keeps its tag, and once every tag is kept new I/O waits in blk_mq_get_tag(). The bio's bi_private and pages name exactly who waits for which request; why the device does not answer is outside the kernel's memory (the disk, the hypervisor or storage target behind it, the driver's timeout handling).";
pub const TEACH_BUFFER: &str = "Buffer heads: one block of a block device cached in memory (file system metadata, journal blocks). BH_Lock is held while I/O runs on it and cleared by the I/O's completion; jbd2's BH_Shadow marks a metadata block whose copy the committing transaction is writing to the journal, and whoever wants to change it waits for that write. Waiters sleep on a hashed bit wait queue with the buffer's b_state as the key.";
pub const TEACH_JBD2: &str = "jbd2: ext4 changes metadata inside journal transactions. The journal's kthread (jbd2/<dev>) commits the running transaction: writes its blocks to the journal, waits for that I/O, then advances j_commit_sequence and wakes j_wait_done_commit. fsync(), sync() and syncfs() sleep in jbd2_log_wait_commit() until their transaction is committed, and new changes wait while a transaction is locked: all of them wait for the commit thread, which usually waits for the disk.";

/// The field explanations (`rcu::fields`) behind an object of this kind.
fn field_keys(kind: NodeKind) -> &'static [&'static str] {
    match kind {
        NodeKind::SrcuDomain => &["srcu.phase", "srcu.readers", "srcu.gp_seq"],
        NodeKind::RcuGp => &["rcu.gp_seq", "rcu.node.qsmask", "rcu.node.blkd_tasks"],
        NodeKind::RcuGpExpedited => &["rcu.expedited_sequence", "rcu.node.expmask"],
        NodeKind::Cpu => &[
            "rcu.cpu.qs_owed",
            "rcu.cpu.running",
            "rcu.cpu.ticks_this_gp",
        ],
        _ => &[],
    }
}

fn teaching(kind: NodeKind) -> Option<&'static str> {
    match kind {
        NodeKind::SrcuDomain => Some(TEACH_SRCU),
        NodeKind::RcuGp | NodeKind::RcuGpExpedited => Some(TEACH_RCU),
        NodeKind::Cpu => Some(TEACH_CPU),
        NodeKind::WorkItem | NodeKind::WorkerPool => Some(TEACH_WORK),
        NodeKind::FanotifyGroup => Some(TEACH_FANOTIFY),
        NodeKind::Rwsem => Some(TEACH_RWSEM),
        NodeKind::Mutex => Some(TEACH_MUTEX),
        NodeKind::Semaphore => Some(TEACH_SEMAPHORE),
        NodeKind::WaitQueue => Some(TEACH_WAITQUEUE),
        NodeKind::PercpuRwsem => Some(TEACH_PERCPU_RWSEM),
        NodeKind::PageLock | NodeKind::Writeback => Some(TEACH_FOLIO),
        NodeKind::BlockDevice => Some(TEACH_BLOCK),
        NodeKind::BufferIo => Some(TEACH_BUFFER),
        NodeKind::Journal => Some(TEACH_JBD2),
        _ => None,
    }
}

fn fields_words(g: &Graph, id: NodeId) -> String {
    let Some(n) = g.get(id) else {
        return String::new();
    };
    let keep = [
        "state",
        "in",
        "args",
        "owner",
        "done",
        "readers[0]",
        "readers[1]",
        "waits_on_idx",
        "gp_seq",
        "func",
        "expires_in_jiffies",
        "count",
        "gp_state",
        "context",
        "spinning",
        "work",
        "in flight",
        "committing",
        "device",
    ];
    let f: Vec<String> = n
        .fields
        .iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    if f.is_empty() {
        String::new()
    } else {
        format!(" [{}]", f.join(", "))
    }
}

fn walk(g: &Graph, f: &Finding) -> Walk {
    let mut steps = Vec::new();
    let mut taught: Vec<&'static str> = Vec::new();
    // Notes not shown yet, in the order their objects appear: a step shows the first one.
    let mut pending: Vec<&'static str> = Vec::new();
    // A chain that starts at an object rather than a waiting task (a grace period held up
    // with no synchronize_rcu() caller in the dump) teaches about that object first.
    if let Some(&first) = f.chain.nodes.first()
        && first.kind != NodeKind::Task
        && let Some(t) = teaching(first.kind)
    {
        pending.push(t);
    }
    let mut push = |text: String, evidence: Vec<Evidence>, kind: Option<NodeKind>| {
        if let Some(t) = kind.and_then(teaching) {
            pending.push(t);
        }
        pending.retain(|t| !taught.contains(t));
        let t = (!pending.is_empty()).then(|| pending.remove(0));
        if let Some(t) = t {
            taught.push(t);
        }
        steps.push(Step {
            n: steps.len() + 1,
            text,
            evidence,
            teaching: t,
            fields: kind.map(field_keys).unwrap_or_default().to_vec(),
        });
    };
    for &ei in &f.chain.edges {
        let e = &g.edges[ei];
        let what = e
            .what
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let cand = if e.candidate { " — candidate" } else { "" };
        push(
            format!(
                "{} {}{} {}{} {} {}{}{}",
                e.from.kind.name(),
                g.label(e.from),
                fields_words(g, e.from),
                e.kind.verb(),
                what,
                e.to.kind.name(),
                g.label(e.to),
                fields_words(g, e.to),
                cand
            ),
            e.evidence.clone(),
            Some(e.to.kind),
        );
    }
    // The other holders of an object on the chain (the chain follows one of them).
    for &ei in &f.chain.edges {
        for o in crate::analysis::find::other_holders(g, &g.edges[ei]) {
            let cand = if o.candidate { " — candidate" } else { "" };
            push(
                format!(
                    "also: {} {} {} {} {}{}{}",
                    o.from.kind.name(),
                    g.label(o.from),
                    o.kind.verb(),
                    o.to.kind.name(),
                    g.label(o.to),
                    fields_words(g, o.to),
                    cand
                ),
                o.evidence.iter().take(1).cloned().collect(),
                None,
            );
        }
    }
    // Tasks that wait the same way or hang behind a cycle.
    for &t in f.tasks.iter().skip(1) {
        if f.cycle.contains(&t) || f.chain.nodes.first() == Some(&t) {
            continue;
        }
        if let Some(e) = g.out_edges(t).next() {
            let what = e
                .what
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            push(
                format!(
                    "also: {} {} {}{} {} {}",
                    t.kind.name(),
                    g.label(t),
                    e.kind.verb(),
                    what,
                    e.to.kind.name(),
                    g.label(e.to)
                ),
                e.evidence.iter().take(1).cloned().collect(),
                None,
            );
        }
    }
    let last = *f.chain.nodes.last().unwrap();
    let root_cause = match &f.chain.end {
        ChainEnd::Cycle { .. } if !f.cycle.is_empty() => {
            let tasks: Vec<String> = f
                .cycle
                .iter()
                .filter(|n| n.kind == NodeKind::Task)
                .map(|&n| g.label(n))
                .collect();
            format!(
                "a cycle: {} each hold what the next one waits for; none can proceed until one of them is killed or the lock order is fixed",
                tasks.join(" and ")
            )
        }
        ChainEnd::Cycle { .. } => "the chain loops back on itself".into(),
        ChainEnd::Running => format!(
            "{} {} is running and never gives the CPU a quiescent state / never releases what it holds (a stall or livelock, not a sleep)",
            last.kind.name(),
            g.label(last)
        ),
        ChainEnd::Starved { why } => format!(
            "{} {} is runnable but does not get a CPU: {why}",
            last.kind.name(),
            g.label(last)
        ),
        ChainEnd::NoWaker { why } => format!("no waker found: {why}"),
        ChainEnd::Timer => format!(
            "{} ends in a timed sleep: the holder sleeps (possibly in a loop) while holding what the others wait for",
            g.label(last)
        ),
        ChainEnd::Unknown { why } => {
            let extra = g
                .get(last)
                .map(|n| match (n.field("state"), n.field("in")) {
                    (Some(s), Some(i)) => format!(" ({} is in state {s}, in {i})", n.label),
                    _ => String::new(),
                })
                .unwrap_or_default();
            format!("{why}{extra}")
        }
    };
    Walk {
        finding: f.clone(),
        steps,
        root_cause,
        signature: String::new(),
    }
}

/// Findings of a graph, each walked step by step.
pub fn explain(g: Graph) -> Explanation {
    let fs = findings(&g);
    let findings = fs.iter().map(|f| walk(&g, f)).collect();
    let undecoded = g
        .nodes
        .iter()
        .filter(|n| n.id.kind == NodeKind::Task)
        .filter_map(|n| {
            let w = n.field("wait")?;
            Some(format!(
                "{} in {}: {w}",
                n.label,
                n.field("in").unwrap_or("?")
            ))
        })
        .collect();
    Explanation {
        source: g.source.clone(),
        graph: g,
        findings,
        undecoded,
        text_summary: None,
    }
}

/// `quiesce waitgraph`: the graph, text (one line per edge) or dot.
#[derive(Debug, Clone, Serialize)]
pub struct WaitGraphReport {
    pub graph: Graph,
    #[serde(skip)]
    pub dot: bool,
    /// A standalone SVG document instead of text ([`Graph::svg`]).
    #[serde(skip)]
    pub svg: bool,
}
