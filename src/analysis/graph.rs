//! The wait graph as plain data: nodes keyed by (kind, address), edges that say which way
//! a hang propagates (a task *waits on* an object, an object *is held / advanced by* a task,
//! a CPU, a work item …), each edge with the evidence it was read from.
//!
//! Keys: an object's address when there is one; a CPU's number for [`NodeKind::Cpu`]; for
//! nodes built from pasted text without addresses, the pid (tasks) or a stable hash of the
//! name ([`name_key`]) — see `analysis::log`.

use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Task,
    Mutex,
    Rwsem,
    Completion,
    SrcuDomain,
    RcuGp,
    RcuGpExpedited,
    WorkItem,
    WorkerPool,
    Cpu,
    Timer,
    FanotifyGroup,
    /// Kinds read from pasted text, where no dump-side decoder exists (analysis::log).
    Semaphore,
    /// PREEMPT_RT sleeping locks: rt_mutex, and the spinlocks / rwlocks built on it.
    RtMutex,
    /// A page / folio lock (`folio_lock`, `__lock_page`).
    PageLock,
    /// Writeback of a page / folio, or of a whole inode / superblock.
    Writeback,
    /// A buffer head under I/O or locked (`__wait_on_buffer`, `__lock_buffer`).
    BufferIo,
    /// A jbd2 journal transaction / commit.
    Journal,
    /// An inode being freed or written (`__wait_on_freeing_inode`).
    Inode,
    /// A driver-level claim on a device (`__mmc_claim_host`).
    DeviceClaim,
    /// A socket's owner lock (`lock_sock`).
    SocketLock,
    /// A condition variable or wait queue of a filesystem (ZFS `cv_wait`, mbcache).
    CondVar,
    /// Plain block I/O (`io_schedule` with nothing more specific).
    IoWait,
    /// A soft-lockup report: a CPU that has not scheduled for the watchdog threshold.
    SoftLockup,
    /// A `wait_queue_head` a task sleeps on in `wait_event*()` (analysis::waits::waitqueue).
    WaitQueue,
    /// A `struct percpu_rw_semaphore` (analysis::waits::percpu_rwsem).
    PercpuRwsem,
    /// A disk whose driver holds requests it has not completed (analysis::waits::blkio).
    BlockDevice,
}

impl NodeKind {
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Task => "task",
            NodeKind::Mutex => "mutex",
            NodeKind::Rwsem => "rwsem",
            NodeKind::Completion => "completion",
            NodeKind::SrcuDomain => "srcu",
            NodeKind::RcuGp => "rcu-gp",
            NodeKind::RcuGpExpedited => "rcu-exp-gp",
            NodeKind::WorkItem => "work",
            NodeKind::WorkerPool => "pool",
            NodeKind::Cpu => "cpu",
            NodeKind::Timer => "timer",
            NodeKind::FanotifyGroup => "fanotify-group",
            NodeKind::Semaphore => "semaphore",
            NodeKind::RtMutex => "rt-mutex",
            NodeKind::PageLock => "page-lock",
            NodeKind::Writeback => "writeback",
            NodeKind::BufferIo => "buffer",
            NodeKind::Journal => "journal",
            NodeKind::Inode => "inode",
            NodeKind::DeviceClaim => "claim",
            NodeKind::SocketLock => "sock-lock",
            NodeKind::CondVar => "condvar",
            NodeKind::IoWait => "io",
            NodeKind::SoftLockup => "soft-lockup",
            NodeKind::WaitQueue => "waitq",
            NodeKind::PercpuRwsem => "percpu-rwsem",
            NodeKind::BlockDevice => "blockdev",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeId {
    pub kind: NodeKind,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub key: u64,
}

impl NodeId {
    pub fn new(kind: NodeKind, key: u64) -> NodeId {
        NodeId { kind, key }
    }
}

/// A stable key for a node known only by name (FNV-1a, top bit set so it never collides
/// with a pid or a CPU number).
pub fn name_key(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | (1 << 63)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Node {
    pub id: NodeId,
    /// What a person calls it: `qh_abba_a:107`, `qh_mutex_a`, `CPU 1`, `quiesce_srcu`.
    pub label: String,
    /// Decoded fields worth showing (`state = UN`, `owner = 0x…`, `readers[1] = 1`).
    pub fields: Vec<(String, String)>,
    /// The task is running (on a CPU, or state RU): a chain ending here is a stall or a
    /// livelock, not a sleep.
    pub running: bool,
    /// Set when nothing in the dump (or text) names who should wake / release this object;
    /// says why.
    pub no_waker: Option<String>,
    /// A task that is not running: how long it has been off the CPU, in ns
    /// (`kernel::tasks::Task::blocked_ns`). Findings rank by their oldest waiter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_ns: Option<u64>,
}

/// The node field that marks a task as runnable but not running (a starved GP kthread, a
/// task in a throttled group): its value says why. A chain ending there is
/// [`super::find::ChainEnd::Starved`].
pub const STARVED: &str = "starved";

/// The node field that marks a task that is never blamed for a hang it sits in: the idle
/// loop of a CPU a report interrupted, an RCU grace-period kthread kept off the CPU or not
/// woken (a victim of what stops it). Its value says why.
pub const NOT_BLAMED: &str = "not blamed";

impl Node {
    /// The value of a decoded field (`state`, `in`, `args`, `wait`, …).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// task → the object it sleeps on.
    WaitsOn,
    /// lock → its owner task.
    OwnedBy,
    /// rwsem / SRCU domain → a task that probably holds it (no exact record).
    CandidateHolder,
    /// object → the work item / kthread that must run for it to complete.
    AdvancedBy,
    /// RCU GP → a holdout CPU or a blocked reader task.
    HeldUpBy,
    /// CPU → the task running there.
    Running,
    /// work item → the worker task executing it.
    ExecutedBy,
    /// fanotify group → the process reading its fd (it must answer).
    ListenedBy,
}

impl EdgeKind {
    pub fn verb(self) -> &'static str {
        match self {
            EdgeKind::WaitsOn => "waits on",
            EdgeKind::OwnedBy => "is owned by",
            EdgeKind::CandidateHolder => "is probably held by",
            EdgeKind::AdvancedBy => "is advanced by",
            EdgeKind::HeldUpBy => "is held up by",
            EdgeKind::Running => "is running",
            EdgeKind::ExecutedBy => "is executed by",
            EdgeKind::ListenedBy => "is answered by",
        }
    }
}

/// Where a fact was read: a stack frame, a memory address, a struct field and its value.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Evidence {
    /// Physical frame number as `bt` prints it (`#3`).
    pub frame: Option<usize>,
    pub function: Option<String>,
    /// `file:line` of that frame.
    pub location: Option<String>,
    #[serde(serialize_with = "crate::rcu::hex_opt")]
    pub address: Option<u64>,
    /// `mutex_waiter.task`, `mutex.owner`, …
    pub field: Option<String>,
    pub value: Option<String>,
    /// Anything else, in words.
    pub note: Option<String>,
    /// `field` is the kernel's own record of this very relation (`task_struct.blocker`,
    /// `mutex.owner`, `worker.current_work`), not something deduced from stack frames,
    /// stack words or code: the edge it supports is exact.
    pub exact: bool,
}

impl Evidence {
    pub fn note(s: impl Into<String>) -> Evidence {
        Evidence {
            note: Some(s.into()),
            ..Default::default()
        }
    }

    pub fn field(field: impl Into<String>, value: impl Into<String>, address: Option<u64>) -> Self {
        Evidence {
            field: Some(field.into()),
            value: Some(value.into()),
            address,
            ..Default::default()
        }
    }

    /// A field that records the relation itself (see [`Evidence::exact`]).
    pub fn exact(field: impl Into<String>, value: impl Into<String>, address: Option<u64>) -> Self {
        Evidence {
            exact: true,
            ..Evidence::field(field, value, address)
        }
    }

    /// One line: `#3 __mutex_lock (kernel/locking/mutex.c:747): mutex_waiter.task @0x… = 0x…`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(f) = self.frame {
            s.push_str(&format!("#{f} "));
        }
        if let Some(func) = &self.function {
            s.push_str(func);
            if let Some(l) = &self.location {
                s.push_str(&format!(" at {l}"));
            }
        }
        if let Some(field) = &self.field {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(field);
            if let Some(a) = self.address {
                s.push_str(&format!(" @{a:#x}"));
            }
            if let Some(v) = &self.value {
                s.push_str(&format!(" = {v}"));
            }
        } else if let Some(a) = self.address {
            s.push_str(&format!(" @{a:#x}"));
        }
        if let Some(n) = &self.note {
            if !s.is_empty() {
                s.push_str(" — ");
            }
            s.push_str(n);
        }
        if self.exact {
            s.push_str(" [exact]");
        }
        s
    }
}

/// How an edge is known: read from a kernel field that records the relation, or inferred
/// (stack frames, on-stack waiters, stack words, code references, text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Basis {
    /// The kernel records it: `field` (`task_struct.blocker`, `mutex.owner`, …).
    Exact { field: String },
    /// Deduced: `from` says from what (`stack frame #3 __mutex_lock`, `stack word`, …).
    Inferred { from: String },
}

impl Basis {
    pub fn is_exact(&self) -> bool {
        matches!(self, Basis::Exact { .. })
    }

    /// `exact: task_struct.blocker` / `inferred: stack frame #3 __mutex_lock`.
    pub fn words(&self) -> String {
        match self {
            Basis::Exact { field } => format!("exact: {field}"),
            Basis::Inferred { from } => format!("inferred: {from}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: EdgeKind,
    /// A heuristic edge (stack scan, code reference, last-reader hint), not a record.
    pub candidate: bool,
    /// The wait kind in words for `WaitsOn` (`mutex`, `SRCU grace period`, `flush_work`…).
    pub what: Option<String>,
    pub evidence: Vec<Evidence>,
}

impl Edge {
    /// Exact when a piece of evidence is the kernel's own record of the relation (the
    /// first such field is named), else inferred from what the first evidence is.
    pub fn basis(&self) -> Basis {
        if let Some(f) = self.evidence.iter().find(|e| e.exact) {
            return Basis::Exact {
                field: f.field.clone().unwrap_or_else(|| "?".into()),
            };
        }
        let from = self
            .evidence
            .iter()
            .find_map(|e| {
                let func = e.function.as_deref()?;
                Some(match e.frame {
                    Some(n) => format!("stack frame #{n} {func}"),
                    None => format!("frame {func}"),
                })
            })
            .or_else(|| self.evidence.iter().find_map(|e| e.field.clone()))
            .or_else(|| self.evidence.iter().find_map(|e| e.note.clone()))
            .unwrap_or_else(|| "no evidence recorded".into());
        Basis::Inferred { from }
    }
}

impl Serialize for Edge {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Edge", 8)?;
        st.serialize_field("from", &self.from)?;
        st.serialize_field("to", &self.to)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("candidate", &self.candidate)?;
        st.serialize_field("what", &self.what)?;
        let b = self.basis();
        st.serialize_field("exact", &b.is_exact())?;
        st.serialize_field("basis", &b)?;
        st.serialize_field("evidence", &self.evidence)?;
        st.end()
    }
}

/// Nodes and edges; nodes unique by id, edges unique by (from, to, kind).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    /// `dump` or `log`.
    pub source: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Things the builder could not read or decide, one line each.
    pub errors: Vec<String>,
    #[serde(skip)]
    index: HashMap<NodeId, usize>,
}

impl Graph {
    pub fn new(source: &str) -> Graph {
        Graph {
            source: source.to_string(),
            ..Default::default()
        }
    }

    /// Add a node, or return the existing one (its label kept, new fields appended).
    pub fn node(&mut self, id: NodeId, label: impl Into<String>) -> &mut Node {
        let i = match self.index.get(&id) {
            Some(&i) => i,
            None => {
                self.nodes.push(Node {
                    id,
                    label: label.into(),
                    fields: Vec::new(),
                    running: false,
                    no_waker: None,
                    blocked_ns: None,
                });
                self.index.insert(id, self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[i]
    }

    /// Where node `id` is in `nodes`.
    pub fn position(&self, id: NodeId) -> Option<usize> {
        self.index.get(&id).copied()
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.index.get(&id).map(|&i| &self.nodes[i])
    }

    pub fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.index.get(&id).map(|&i| &mut self.nodes[i])
    }

    pub fn label(&self, id: NodeId) -> String {
        self.get(id)
            .map(|n| n.label.clone())
            .unwrap_or_else(|| format!("{}:{:#x}", id.kind.name(), id.key))
    }

    /// Add an edge (both ends must exist); a duplicate merges its evidence.
    pub fn edge(&mut self, e: Edge) {
        if let Some(old) = self
            .edges
            .iter_mut()
            .find(|x| x.from == e.from && x.to == e.to && x.kind == e.kind)
        {
            for ev in e.evidence {
                if !old.evidence.contains(&ev) {
                    old.evidence.push(ev);
                }
            }
            old.candidate &= e.candidate;
            return;
        }
        self.edges.push(e);
    }

    pub fn out_edges(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.from == id)
    }

    pub fn in_edges(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.to == id)
    }

    /// One line per edge: `qh_abba_a:107 --waits on (mutex)--> qh_mutex_a [evidence]`.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for e in &self.edges {
            let what = e
                .what
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            let cand = if e.candidate { " [candidate]" } else { "" };
            s.push_str(&format!(
                "{} {} --{}{}--> {} {}{} ({})",
                e.from.kind.name(),
                self.label(e.from),
                e.kind.verb(),
                what,
                e.to.kind.name(),
                self.label(e.to),
                cand,
                e.basis().words()
            ));
            if let Some(ev) = e.evidence.first() {
                s.push_str(&format!("  [{}]", ev.describe()));
            }
            s.push('\n');
        }
        for n in &self.nodes {
            if let Some(why) = &n.no_waker {
                s.push_str(&format!(
                    "{} {}: no waker found: {why}\n",
                    n.id.kind.name(),
                    n.label
                ));
            }
        }
        for e in &self.errors {
            s.push_str(&format!("PARTIAL: {e}\n"));
        }
        s
    }

    /// Graphviz `dot`: tasks as boxes (with how long they have been blocked), CPUs as
    /// diamonds, objects as ellipses; a running task red, an object nobody will release
    /// orange. Edges say how they are known: exact ones (the kernel's own record) bold with
    /// the field, candidates dashed, the rest (inferred from the stack) plain.
    pub fn dot(&self) -> String {
        let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let id = |n: NodeId| format!("\"{}_{:x}\"", n.kind.name(), n.key);
        let mut s = String::from("digraph waits {\n  rankdir=LR;\n");
        for n in &self.nodes {
            let shape = match n.id.kind {
                NodeKind::Task => "box",
                NodeKind::Cpu => "diamond",
                _ => "ellipse",
            };
            let color = if n.running {
                ", color=red"
            } else if n.no_waker.is_some() {
                ", color=orange"
            } else {
                ""
            };
            let blocked = n
                .blocked_ns
                .map(|ns| format!("\\nblocked {}", crate::kernel::tasks::duration_words(ns)))
                .unwrap_or_default();
            s.push_str(&format!(
                "  {} [label=\"{}\\n{}{blocked}\", shape={shape}{color}];\n",
                id(n.id),
                n.id.kind.name(),
                q(&n.label)
            ));
        }
        for e in &self.edges {
            let what = e
                .what
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            let (how, style) = match (e.candidate, e.basis()) {
                (true, _) => ("\\ncandidate".to_string(), ", style=dashed"),
                (false, Basis::Exact { field }) => {
                    (format!("\\nexact: {}", q(&field)), ", style=bold")
                }
                (false, Basis::Inferred { .. }) => (String::new(), ""),
            };
            s.push_str(&format!(
                "  {} -> {} [label=\"{}{}{how}\"{style}];\n",
                id(e.from),
                id(e.to),
                q(e.kind.verb()),
                q(&what)
            ));
        }
        s.push_str("}\n");
        s
    }
}
