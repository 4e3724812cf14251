//! The wait graph that pasted text allows (no dump): `crate::artifacts::parse_text` gives
//! tasks with stacks, hung-task / soft-lockup / workqueue-lockup / RCU stall reports, lockdep
//! held-lock lists and crash session output; each stack is classified by its frames
//! (`waits`) into a wait on an object known only by what the text says, holders are linked
//! from what the paste records (`holders`: blocker lines, lockdep, crash owner words) or
//! infers (candidates), and each report becomes a root: grace period / soft lockup / stuck
//! pool → CPU → the task the text shows running there (`stalls`).
//!
//! Objects without an address are keyed by a hash of their name ([`name_key`]); tasks by
//! their `TASK:` address when crash printed one, else by pid.
//!
//! [`explain_text`] adds what the text held: counts, syzbot-style titles and quiesce's own
//! signature per report (`titles`), stacks grouped by the caller of the locking API, and,
//! when nothing is found, why in one line (`why`).

mod holders;
mod location;
mod lock_names;
mod stalls;
mod titles;
mod wait_frames;
mod waits;
mod why;

use super::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind, name_key};
use super::waits::base_name;
use super::walkthrough::{Explanation, TextSummary, explain};
use crate::artifacts::{ParsedArtifact, TaskStack, parse_text};
pub use titles::ReportTitle;
use waits::TextWait;

/// `synchronize_srcu()` callers whose domain is fixed: (caller, domain).
const SRCU_CALLERS: &[(&str, &str)] = &[
    ("fsnotify_mark_destroy", "fsnotify_mark_srcu"),
    ("fsnotify_mark_destroy_workfn", "fsnotify_mark_srcu"),
    ("fsnotify_destroy_group", "fsnotify_mark_srcu"),
    ("fsnotify_connector_destroy_workfn", "fsnotify_mark_srcu"),
    ("tracepoint_synchronize_unregister", "tracepoint_srcu"),
    ("kvm_vm_ioctl_set_memory_region", "kvm->srcu"),
];

/// Reader-side frames of a domain: a task in one of these is inside its read section
/// (4.x fanotify waited for the listener inside `fsnotify()`'s `fsnotify_mark_srcu` reader).
const SRCU_READERS: &[(&str, &[&str])] = &[("fsnotify_mark_srcu", &["fsnotify"])];

/// Frames of a process answering fanotify events, or tearing its group down.
const FANOTIFY_LISTENER: &[&str] = &["fanotify_read", "fanotify_release", "fanotify_write"];

/// A wait placed in the graph: what was read and the object node it points at.
struct Placed {
    pub w: TextWait,
    pub obj: NodeId,
}

/// What the builders share: the parsed text, each stack's task node and placed wait.
struct Cx<'a> {
    pub p: &'a ParsedArtifact,
    pub ids: Vec<NodeId>,
    pub waits: Vec<Option<Placed>>,
}

impl Cx<'_> {
    /// The node of the task with `pid`: a stack's node, else a new node (`comm:pid`).
    pub fn task_by_pid(&self, g: &mut Graph, pid: u32, comm: Option<&str>) -> NodeId {
        if let Some(i) = self.p.tasks.iter().position(|t| t.pid == Some(pid)) {
            return self.ids[i];
        }
        let id = NodeId::new(NodeKind::Task, pid as u64);
        let label = match comm {
            Some(c) => format!("{c}:{pid}"),
            None => self
                .p
                .crash
                .ps
                .iter()
                .find(|r| r.pid == pid)
                .map(|r| format!("{}:{pid}", r.comm))
                .unwrap_or_else(|| format!("pid {pid}")),
        };
        g.node(id, label);
        id
    }

    /// The node of the task at `addr` (a crash `TASK:` address), from stacks or `ps` rows.
    pub fn task_by_addr(&self, g: &mut Graph, addr: crate::addr::Kva) -> Option<NodeId> {
        if let Some(i) = self.p.tasks.iter().position(|t| t.task == Some(addr)) {
            return Some(self.ids[i]);
        }
        let r = self.p.crash.ps.iter().find(|r| r.task == Some(addr))?;
        Some(self.task_by_pid(g, r.pid, Some(&r.comm.clone())))
    }

    /// Indices of the stacks whose wait is on `obj`.
    pub fn waiters_of(&self, obj: NodeId) -> Vec<usize> {
        (0..self.waits.len())
            .filter(|&i| self.waits[i].as_ref().is_some_and(|w| w.obj == obj))
            .collect()
    }
}

fn task_id(t: &TaskStack, i: usize) -> NodeId {
    let key = match (t.task, t.pid) {
        (Some(a), _) => a.0,
        // Every CPU's idle task is pid 0: told apart by name (`swapper/2`) or CPU.
        (None, Some(0)) => name_key(&format!(
            "idle task {} {}",
            t.comm.as_deref().unwrap_or(""),
            t.cpu.map_or(String::new(), |c| c.to_string())
        )),
        (None, Some(p)) => p as u64,
        (None, None) => name_key(&format!("anonymous stack #{i} line {}", t.line)),
    };
    NodeId::new(NodeKind::Task, key)
}

pub(super) fn task_label(t: &TaskStack) -> String {
    match (&t.comm, t.pid) {
        (Some(c), Some(p)) => format!("{c}:{p}"),
        (Some(c), None) => c.clone(),
        (None, Some(p)) => format!("pid {p}"),
        (None, None) => match t.cpu {
            Some(c) => format!("the task on CPU {c}"),
            None => format!("stack at line {}", t.line),
        },
    }
}

pub(super) fn frame_ev(t: &TaskStack, fi: usize) -> Evidence {
    let f = &t.frames[fi];
    let mut note = format!("line {}", f.line);
    if !f.reliable {
        note.push_str(", a `?` frame (found by scanning the stack)");
    }
    if let Some(n) = &f.note {
        note.push_str(&format!(", {n}"));
    }
    Evidence {
        frame: f.index.map(|i| i as usize).or(Some(fi)),
        function: Some(f.func.clone()),
        location: f.source_loc.clone(),
        address: f.addr.map(|a| a.0),
        note: Some(note),
        ..Default::default()
    }
}

pub(super) fn find(t: &TaskStack, names: &[&str]) -> Option<usize> {
    t.frames
        .iter()
        .position(|f| names.contains(&base_name(&f.func)))
}

/// The object node of a wait: (kind, key) → id; created with its label.
fn object(g: &mut Graph, w: &TextWait) -> NodeId {
    let oid = NodeId::new(w.kind, name_key(&format!("{}:{}", w.kind.name(), w.key)));
    g.node(oid, w.label.clone());
    oid
}

/// SRCU, RCU, fanotify and flush_work waits, which know their domain; then [`waits::classify`].
fn read_wait(t: &TaskStack) -> Option<TextWait> {
    let special = |kind: NodeKind, what: &'static str, label: String, fi: usize| TextWait {
        kind,
        what,
        key: label.clone(),
        label,
        named: true,
        frame: fi,
        caller: None,
        unreliable: !t.frames[fi].reliable,
        reader: false,
        spinning: false,
        no_holder: "",
    };
    if let Some(fi) = find(
        t,
        &[
            "__synchronize_srcu",
            "synchronize_srcu",
            "synchronize_srcu_expedited",
        ],
    ) {
        // The domain: a `&name` in a frame note, else a caller with a fixed domain.
        let named = t.frames.iter().find_map(|f| {
            let n = f.note.as_deref()?;
            let s = n.split('&').nth(1)?;
            Some(s.trim_end_matches(')').trim().to_string())
        });
        let by_caller = t.frames[fi..].iter().find_map(|f| {
            SRCU_CALLERS
                .iter()
                .find(|(c, _)| *c == base_name(&f.func))
                .map(|(_, d)| d.to_string())
        });
        let name = named
            .or(by_caller)
            .unwrap_or_else(|| "SRCU domain (not named in the text)".into());
        return Some(special(NodeKind::SrcuDomain, "SRCU grace period", name, fi));
    }
    if let Some(fi) = find(t, &["synchronize_rcu_expedited"]) {
        return Some(special(
            NodeKind::RcuGpExpedited,
            "expedited RCU grace period",
            "expedited RCU grace period".into(),
            fi,
        ));
    }
    if let Some(fi) = find(
        t,
        &[
            "synchronize_rcu",
            "synchronize_rcu_normal",
            "__wait_rcu_gp",
            "synchronize_sched",
            "rcu_barrier",
        ],
    ) {
        return Some(special(
            NodeKind::RcuGp,
            "RCU grace period",
            "RCU grace period".into(),
            fi,
        ));
    }
    if let Some(fi) = find(t, super::waits::fanotify::FRAMES) {
        return Some(special(
            NodeKind::FanotifyGroup,
            "fanotify permission event",
            "fanotify group".into(),
            fi,
        ));
    }
    if let Some(fi) = find(t, super::waits::work::FRAMES) {
        let caller = t.frames[fi..]
            .iter()
            .map(|f| base_name(&f.func))
            .find(|f| !super::waits::work::FRAMES.contains(f))
            .unwrap_or("");
        let mut w = special(
            NodeKind::WorkItem,
            "flush_work",
            format!("work flushed by {caller}"),
            fi,
        );
        w.named = false;
        w.no_holder = "the worker running the flushed work is not in the text";
        return Some(w);
    }
    waits::classify(t)
}

/// Build the graph a pasted text allows.
pub fn graph_from_parsed(p: &ParsedArtifact) -> Graph {
    let mut g = Graph::new("pasted text");
    let ids: Vec<NodeId> = p
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| task_id(t, i))
        .collect();
    for (t, &id) in p.tasks.iter().zip(&ids) {
        let n = g.node(id, task_label(t));
        if let Some(s) = &t.state
            && n.field("state").is_none()
        {
            n.fields.push(("state".into(), s.clone()));
            n.running |= s == "R";
        }
        if let Some(c) = t.cpu
            && n.field("cpu").is_none()
        {
            n.fields.push(("cpu".into(), c.to_string()));
        }
        if let Some((wq, func)) = &t.workqueue
            && n.field("work").is_none()
        {
            let work = if wq == "cpu stopper" {
                format!("{func} (CPU stopper)")
            } else {
                format!("{func} on workqueue {wq}")
            };
            n.fields.push(("work".into(), work));
        }
        if n.field("in").is_none()
            && let Some(f) = t
                .frames
                .iter()
                .find(|f| !super::waits::SCHED_FRAMES.contains(&base_name(&f.func)) && f.reliable)
        {
            n.fields.push(("in".into(), f.func.clone()));
        }
    }
    // Waits, with lock identities refined by lockdep where the text has it.
    let mut read: Vec<Option<TextWait>> = p.tasks.iter().map(read_wait).collect();
    let awaited = holders::lockdep_identity(p, &mut read);
    let mut cx = Cx {
        p,
        ids,
        waits: Vec::new(),
    };
    for (i, w) in read.into_iter().enumerate() {
        let Some(w) = w else {
            cx.waits.push(None);
            continue;
        };
        let t = &p.tasks[i];
        // A task granted an rwsem and waiting for a CPU is not a waiter (holders decides).
        let oid = object(&mut g, &w);
        let mut ev = vec![frame_ev(t, w.frame)];
        if let Some(c) = w.caller {
            let mut e = frame_ev(t, c);
            e.note = Some(format!(
                "{}: the caller of the {} API",
                e.note.unwrap_or_default(),
                w.what
            ));
            ev.push(e);
        }
        if w.unreliable {
            ev.push(Evidence::note(
                "only `?` frames show this wait: the unwinder could not prove them, so it is a reading of stale stack words",
            ));
        }
        // Where the task waits: the function that called the locking / waiting API.
        if let Some(c) = w.caller
            && let Some(n) = g.get_mut(cx.ids[i])
        {
            n.fields.retain(|(k, _)| k != "in");
            n.fields.push(("in".into(), t.frames[c].func.clone()));
        }
        if w.spinning
            && let Some(n) = g.get_mut(cx.ids[i])
        {
            n.running = true;
            n.fields.push((
                "spinning".into(),
                format!("optimistic spin on the {}", w.what),
            ));
        }
        g.edge(Edge {
            from: cx.ids[i],
            to: oid,
            kind: EdgeKind::WaitsOn,
            candidate: w.unreliable,
            what: Some(w.what.into()),
            evidence: ev,
        });
        cx.waits.push(Some(Placed { w, obj: oid }));
    }
    holders::link(&mut g, &cx, &awaited);
    link_srcu_and_fanotify(&mut g, &cx);
    stalls::link(&mut g, &cx);
    // What each object without any holder lacks, in words.
    for pl in cx.waits.iter().flatten() {
        if pl.w.no_holder.is_empty() || g.out_edges(pl.obj).next().is_some() {
            continue;
        }
        if let Some(n) = g.get_mut(pl.obj)
            && n.no_waker.is_none()
        {
            n.no_waker = Some(pl.w.no_holder.to_string());
        }
    }
    g
}

/// SRCU readers and fanotify listeners the text shows.
fn link_srcu_and_fanotify(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    let domains: Vec<(NodeId, String)> = cx
        .waits
        .iter()
        .flatten()
        .filter(|pl| pl.w.kind == NodeKind::SrcuDomain)
        .map(|pl| (pl.obj, pl.w.label.clone()))
        .collect();
    for (oid, name) in &domains {
        if g.out_edges(*oid).next().is_some() {
            continue;
        }
        let readers = SRCU_READERS
            .iter()
            .find(|(d, _)| d == name)
            .map(|x| x.1)
            .unwrap_or(&[]);
        let waiters: Vec<NodeId> = g.in_edges(*oid).map(|e| e.from).collect();
        let mut any = false;
        for (i, t) in p.tasks.iter().enumerate() {
            if waiters.contains(&cx.ids[i]) {
                continue;
            }
            if let Some(fi) = find(t, readers) {
                any = true;
                let mut ev = frame_ev(t, fi);
                ev.note = Some(format!(
                    "{} runs inside a {name} read-side section",
                    t.frames[fi].func
                ));
                g.edge(Edge {
                    from: *oid,
                    to: cx.ids[i],
                    kind: EdgeKind::CandidateHolder,
                    candidate: true,
                    what: None,
                    evidence: vec![ev],
                });
            }
        }
        if !any && let Some(n) = g.get_mut(*oid) {
            n.no_waker = Some(format!(
                "SRCU counters name no tasks and the text shows no reader of {name}; in a dump, `quiesce explain` looks for tasks whose code or stack refers to the domain"
            ));
        }
    }
    let fan = NodeId::new(
        NodeKind::FanotifyGroup,
        name_key("fanotify-group:fanotify group"),
    );
    if g.get(fan).is_some() {
        let mut any = false;
        for (i, t) in p.tasks.iter().enumerate() {
            if let Some(fi) = find(t, FANOTIFY_LISTENER) {
                any = true;
                let mut ev = frame_ev(t, fi);
                ev.note = Some(format!(
                    "{} is in {}: it owns a fanotify group (the only one the text shows)",
                    task_label(t),
                    t.frames[fi].func
                ));
                g.edge(Edge {
                    from: fan,
                    to: cx.ids[i],
                    kind: EdgeKind::ListenedBy,
                    candidate: true,
                    what: None,
                    evidence: vec![ev],
                });
            }
        }
        if !any && let Some(n) = g.get_mut(fan) {
            n.no_waker = Some(
                "the listener process is not in the text (find the task with a fanotify fd)".into(),
            );
        }
    }
}

/// `quiesce explain --log`: parse, build, walk, and summarize what the text held.
pub fn explain_text(text: &str) -> Explanation {
    let p = parse_text(text);
    let g = graph_from_parsed(&p);
    let mut e = explain(g);
    let mut decoded = Vec::new();
    for s in &p.stalls {
        for c in &s.cpus {
            for n in &c.notes {
                decoded.push(format!(
                    "CPU {} {} = {}: {}",
                    c.cpu, n.field, n.raw, n.meaning
                ));
            }
        }
        for k in s.starved.iter().chain(&s.timer_wakeup) {
            for n in &k.notes {
                decoded.push(format!(
                    "{} kthread {} = {}: {}",
                    k.flavor, n.field, n.raw, n.meaning
                ));
            }
        }
    }
    for d in &p.gp_dumps {
        for n in &d.notes {
            decoded.push(format!(
                "{} GP kthread {} = {}: {}",
                d.flavor, n.field, n.raw, n.meaning
            ));
        }
    }
    for w in &mut e.findings {
        w.signature = titles::signature(&e.graph, &w.finding);
    }
    let reports = titles::report_titles(&p, &e);
    let why = why::no_finding(&p, &e);
    e.text_summary = Some(TextSummary {
        total_lines: p.total_lines,
        unparsed_lines: p.unparsed_lines,
        unparsed_samples: p.unparsed_samples.clone(),
        annotation_lines: p.annotation_lines,
        duplicate_lines: p.duplicate_lines,
        joined_lines: p.joined_lines,
        unread_log_lines: p.unread_log_lines,
        counts: why::counts(&p),
        stack_groups: titles::stack_groups(&p, &e.graph),
        reports,
        why_no_finding: why,
        decoded,
    });
    e
}

#[cfg(test)]
mod tests;
