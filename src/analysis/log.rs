//! The wait graph that pasted text allows (no dump): `crate::artifacts::parse_text` gives
//! tasks with stacks, hung-task reports and RCU stall reports; each stack is classified by
//! its frames (rcu-srcu.md §4.1) into a wait on an object known only by what the text says
//! (a domain named in a frame note, the function that took the lock), and each stall report
//! becomes grace period → stalled CPU → the task the text shows running there.
//!
//! Objects without an address are keyed by a hash of their name ([`name_key`]); tasks by
//! their `TASK:` address when crash printed one, else by pid.

use super::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind, name_key};
use super::waits::base_name;
use super::walkthrough::{Explanation, TextSummary, explain};
use crate::artifacts::{ParsedArtifact, TaskStack, parse_text};

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

fn task_id(t: &TaskStack, i: usize) -> NodeId {
    let key = match (t.task, t.pid) {
        (Some(a), _) => a.0,
        (None, Some(p)) => p as u64,
        (None, None) => name_key(&format!("anonymous stack #{i} line {}", t.line)),
    };
    NodeId::new(NodeKind::Task, key)
}

fn task_label(t: &TaskStack) -> String {
    match (&t.comm, t.pid) {
        (Some(c), Some(p)) => format!("{c}:{p}"),
        (Some(c), None) => c.clone(),
        (None, Some(p)) => format!("pid {p}"),
        (None, None) => format!("stack at line {}", t.line),
    }
}

/// How a wait read from a pasted stack names its object.
enum Label {
    Fixed(&'static str),
    /// `"{prefix} {caller of the blocking frame}"`: "a mutex taken in ext4_rename".
    Caller(&'static str),
}

/// A wait recognised by its blocking frames alone: the object kind, its label, the wait in words.
struct SimpleWait {
    frames: &'static [&'static str],
    kind: NodeKind,
    label: Label,
    what: &'static str,
}

const SIMPLE_WAITS: &[SimpleWait] = &[
    SimpleWait {
        frames: super::waits::mutex::FRAMES,
        kind: NodeKind::Mutex,
        label: Label::Caller("a mutex taken in"),
        what: "mutex",
    },
    SimpleWait {
        frames: super::waits::rwsem::FRAMES,
        kind: NodeKind::Rwsem,
        label: Label::Caller("an rwsem taken in"),
        what: "rwsem",
    },
    SimpleWait {
        frames: super::waits::fanotify::FRAMES,
        kind: NodeKind::FanotifyGroup,
        label: Label::Fixed("fanotify group"),
        what: "fanotify permission event",
    },
    SimpleWait {
        frames: super::waits::work::FRAMES,
        kind: NodeKind::WorkItem,
        label: Label::Caller("work flushed by"),
        what: "flush_work",
    },
];

/// The function that called frame `fi` (the next frame out), or "" at the bottom.
fn caller_of(t: &TaskStack, fi: usize) -> String {
    t.frames
        .get(fi + 1)
        .map(|f| f.func.clone())
        .unwrap_or_default()
}

fn frame_ev(t: &TaskStack, fi: usize) -> Evidence {
    let f = &t.frames[fi];
    Evidence {
        frame: f.index.map(|i| i as usize).or(Some(fi)),
        function: Some(f.func.clone()),
        location: f.source_loc.clone(),
        address: f.addr.map(|a| a.0),
        note: Some(format!(
            "line {}{}",
            f.line,
            f.note
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default()
        )),
        ..Default::default()
    }
}

fn find(t: &TaskStack, names: &[&str]) -> Option<usize> {
    t.frames
        .iter()
        .position(|f| names.contains(&base_name(&f.func)))
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
        if let Some(s) = &t.state {
            n.fields.push(("state".into(), s.clone()));
            n.running = s == "R";
        }
        if let Some(c) = t.cpu {
            n.fields.push(("cpu".into(), c.to_string()));
        }
        if let Some(f) = t.frames.iter().find(|f| {
            !crate::analysis::waits::SCHED_FRAMES.contains(&base_name(&f.func)) && f.reliable
        }) {
            n.fields.push(("in".into(), f.func.clone()));
        }
    }
    let mut srcu_domains: Vec<(NodeId, String)> = Vec::new();
    for (i, t) in p.tasks.iter().enumerate() {
        let id = ids[i];
        let wait = |g: &mut Graph, kind: NodeKind, label: String, what: &str, ev: Vec<Evidence>| {
            let oid = NodeId::new(kind, name_key(&format!("{}:{label}", kind.name())));
            g.node(oid, label);
            g.edge(Edge {
                from: id,
                to: oid,
                kind: EdgeKind::WaitsOn,
                candidate: false,
                what: Some(what.into()),
                evidence: ev,
            });
            oid
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
            let oid = wait(
                &mut g,
                NodeKind::SrcuDomain,
                name.clone(),
                "SRCU grace period",
                vec![frame_ev(t, fi)],
            );
            srcu_domains.push((oid, name));
        } else if let Some(fi) = find(t, &["synchronize_rcu_expedited"]) {
            wait(
                &mut g,
                NodeKind::RcuGpExpedited,
                "expedited RCU grace period".into(),
                "expedited RCU grace period",
                vec![frame_ev(t, fi)],
            );
        } else if let Some(fi) = find(
            t,
            &[
                "synchronize_rcu",
                "synchronize_rcu_normal",
                "__wait_rcu_gp",
                "synchronize_sched",
            ],
        ) {
            wait(
                &mut g,
                NodeKind::RcuGp,
                "RCU grace period".into(),
                "RCU grace period",
                vec![frame_ev(t, fi)],
            );
        } else if let Some((fi, w)) = SIMPLE_WAITS
            .iter()
            .find_map(|w| find(t, w.frames).map(|fi| (fi, w)))
        {
            let label = match w.label {
                Label::Fixed(l) => l.to_string(),
                Label::Caller(prefix) => format!("{prefix} {}", caller_of(t, fi)),
            };
            wait(&mut g, w.kind, label, w.what, vec![frame_ev(t, fi)]);
        } else if let Some(fi) = find(t, super::waits::completion::FRAMES) {
            let caller = t.frames[fi..]
                .iter()
                .find(|f| !super::waits::completion::FRAMES.contains(&base_name(&f.func)))
                .map(|f| f.func.clone())
                .unwrap_or_default();
            let c = wait(
                &mut g,
                NodeKind::Completion,
                format!("a completion waited for in {caller}"),
                "completion",
                vec![frame_ev(t, fi)],
            );
            if let Some(n) = g.get_mut(c) {
                n.no_waker = Some("a completion records no owner and the text shows no task that would complete it".into());
            }
        }
    }
    // SRCU readers the text shows, and what each domain lacks.
    for (oid, name) in &srcu_domains {
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
            if waiters.contains(&ids[i]) {
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
                    to: ids[i],
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
    // fanotify: the listener is the process in fanotify_read/release.
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
                    to: ids[i],
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
    // Hung-task blockers (`task:X blocked on a mutex likely owned by task:Y`).
    for h in &p.hung_tasks {
        for b in &h.blockers {
            let (Some(oc), Some(op)) = (&b.owner_comm, b.owner_pid) else {
                continue;
            };
            let waiter = ids
                .iter()
                .zip(&p.tasks)
                .find(|(_, t)| t.pid == Some(b.waiter_pid))
                .map(|(i, _)| *i);
            let Some(w) = waiter else { continue };
            let Some(obj) = g.out_edges(w).next().map(|e| e.to) else {
                continue;
            };
            let owner = ids
                .iter()
                .zip(&p.tasks)
                .find(|(_, t)| t.pid == Some(op))
                .map(|(i, _)| *i)
                .unwrap_or_else(|| {
                    let id = NodeId::new(NodeKind::Task, op as u64);
                    g.node(id, format!("{oc}:{op}"));
                    id
                });
            g.edge(Edge {
                from: obj,
                to: owner,
                kind: EdgeKind::OwnedBy,
                candidate: true,
                what: None,
                evidence: vec![Evidence::note(format!(
                    "hung-task report line {}: blocked on a {} likely owned by {oc}:{op}",
                    b.line, b.kind
                ))],
            });
        }
    }
    // RCU stalls: grace period → stalled CPUs → the task the text shows there.
    for s in &p.stalls {
        // A report without a flavor is the same grace period `synchronize_rcu()` waiters
        // of the text wait for (same key as theirs).
        let label = match &s.flavor {
            Some(f) => format!("{f} grace period"),
            None => "RCU grace period".to_string(),
        };
        let gp = NodeId::new(NodeKind::RcuGp, name_key(&format!("rcu-gp:{label}")));
        let n = g.node(gp, label);
        if let Some(sum) = &s.summary {
            if let Some(t) = sum.t_jiffies {
                n.fields.push(("stalled_jiffies".into(), t.to_string()));
            }
            if let Some(x) = sum.g {
                n.fields.push(("g".into(), x.to_string()));
            }
        }
        for c in &s.cpus {
            let cpu = NodeId::new(NodeKind::Cpu, c.cpu as u64);
            g.node(cpu, format!("CPU {}", c.cpu)).running = true;
            let mut evidence = vec![Evidence::note(format!(
                "stall line {} ({:?}): CPU {} flags \"{}\"",
                c.line, s.kind, c.cpu, c.flags
            ))];
            evidence.extend(c.notes.iter().map(decoded));
            g.edge(Edge {
                from: gp,
                to: cpu,
                kind: EdgeKind::HeldUpBy,
                candidate: false,
                what: None,
                evidence,
            });
            // The task the text shows on that CPU (a `CPU: N PID: … Comm: …` trace).
            if let Some((i, t)) = p.tasks.iter().enumerate().find(|(_, t)| {
                t.cpu == Some(c.cpu) && t.origin == crate::artifacts::StackOrigin::CpuContext
            }) {
                if let Some(n) = g.get_mut(ids[i]) {
                    n.running = true;
                }
                g.edge(Edge {
                    from: cpu,
                    to: ids[i],
                    kind: EdgeKind::Running,
                    candidate: false,
                    what: None,
                    evidence: vec![Evidence::note(format!(
                        "line {}: CPU: {} PID: {} Comm: {}",
                        t.line,
                        c.cpu,
                        t.pid.map_or("?".into(), |p| p.to_string()),
                        t.comm.clone().unwrap_or_default()
                    ))],
                });
            }
        }
        for b in &s.blocked_tasks {
            for bt in &b.tasks {
                let id = ids
                    .iter()
                    .zip(&p.tasks)
                    .find(|(_, t)| t.pid == Some(bt.pid))
                    .map(|(i, _)| *i)
                    .unwrap_or_else(|| {
                        let id = NodeId::new(NodeKind::Task, bt.pid as u64);
                        g.node(id, format!("pid {}", bt.pid));
                        id
                    });
                g.edge(Edge {
                    from: gp,
                    to: id,
                    kind: EdgeKind::HeldUpBy,
                    candidate: false,
                    what: None,
                    evidence: vec![Evidence::note(format!(
                        "line {}: P{} blocked in an RCU read-side section on rcu_node level {:?}",
                        b.line, bt.pid, b.level
                    ))],
                });
            }
        }
        let kthread = s.starved.as_ref().or(s.timer_wakeup.as_ref());
        if let Some(k) = kthread {
            let kt = NodeId::new(NodeKind::Task, name_key(&format!("{} kthread", k.flavor)));
            let n = g.node(kt, format!("{} kthread", k.flavor));
            let why = if s.starved.is_some() {
                format!(
                    "the GP kthread was starved for {} jiffies (state {:?}, {:?})",
                    k.jiffies, k.task_state_names, k.gp_state_name
                )
            } else {
                format!(
                    "the GP kthread's timer wakeup did not happen for {} jiffies",
                    k.jiffies
                )
            };
            n.no_waker = Some(why.clone());
            let mut ev: Vec<Evidence> = vec![Evidence::note(format!("line {}: {why}", k.line))];
            ev.extend(k.notes.iter().map(decoded));
            g.edge(Edge {
                from: gp,
                to: kt,
                kind: EdgeKind::AdvancedBy,
                candidate: false,
                what: None,
                evidence: ev,
            });
        }
    }
    g
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
    e.text_summary = Some(TextSummary {
        total_lines: p.total_lines,
        unparsed_lines: p.unparsed_lines,
        unparsed_samples: p.unparsed_samples.clone(),
        stack_groups: p
            .stack_groups()
            .iter()
            .map(|sg| {
                let who: Vec<String> = sg
                    .members
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}",
                            m.comm.as_deref().unwrap_or("?"),
                            m.pid.map_or("?".into(), |p| p.to_string())
                        )
                    })
                    .collect();
                let top: Vec<&str> = sg
                    .funcs
                    .iter()
                    .map(String::as_str)
                    .filter(|f| !crate::analysis::waits::SCHED_FRAMES.contains(&base_name(f)))
                    .take(3)
                    .collect();
                format!(
                    "{}× {} — {}",
                    sg.members.len(),
                    top.join(" ← "),
                    who.join(", ")
                )
            })
            .collect(),
        decoded,
    });
    e
}

/// A field the stall-report decoder explained, as evidence: its raw text and meaning.
fn decoded(n: &crate::artifacts::rcu_stall::Note) -> Evidence {
    Evidence {
        field: Some(n.field.clone()),
        value: Some(n.raw.clone()),
        note: Some(n.meaning.clone()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::find::FindingKind;

    fn seed(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/seeds")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    fn labels(e: &Explanation, i: usize) -> Vec<String> {
        e.findings[i]
            .finding
            .chain
            .nodes
            .iter()
            .map(|&n| e.graph.label(n))
            .collect()
    }

    #[test]
    fn seed_000_fanotify_srcu_cycle() {
        let e = explain_text(&seed("000_crash_foreach_bt_fanotify.txt"));
        let t = e.text_summary.as_ref().unwrap();
        assert_eq!((t.total_lines, t.unparsed_lines), (160, 57));
        assert!(t.stack_groups[0].starts_with("16× fanotify_handle_event ← fsnotify"));
        assert_eq!(e.findings.len(), 1);
        let f = &e.findings[0].finding;
        assert_eq!(f.kind, FindingKind::Deadlock);
        // listener 916 closes its fd → synchronize_srcu(fsnotify_mark_srcu) → readers inside
        // fsnotify() wait for the listener's answer.
        let cyc: Vec<String> = f.cycle.iter().map(|&n| e.graph.label(n)).collect();
        assert_eq!(
            cyc,
            [
                "fanotify07:916",
                "fsnotify_mark_srcu",
                "fanotify07:929",
                "fanotify group"
            ]
        );
        // 916's SRCU wait with the frame it came from.
        let w = e
            .graph
            .edges
            .iter()
            .find(|x| e.graph.label(x.from) == "fanotify07:916")
            .unwrap();
        assert_eq!(w.what.as_deref(), Some("SRCU grace period"));
        assert_eq!(
            w.evidence[0].function.as_deref(),
            Some("__synchronize_srcu")
        );
        assert_eq!(w.evidence[0].frame, Some(6));
        // fsnotify_mark:44 and all 16 readers are explained by the cycle.
        assert_eq!(f.tasks.len(), 18);
        assert!(e.graph.text().contains(
            "task fsnotify_mark:44 --waits on (SRCU grace period)--> srcu fsnotify_mark_srcu"
        ));
    }

    #[test]
    fn seed_001_ai_trees_srcu_and_rcu() {
        let e = explain_text(&seed("001_ai_analysis_stack_trees.txt"));
        assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 4);
        // The two kworkers in synchronize_rcu_normal wait on the GP the P4093 line holds.
        assert_eq!(e.findings[0].finding.kind, FindingKind::Stall);
        assert_eq!(e.findings[0].finding.tasks.len(), 2);
        assert_eq!(
            labels(&e, 0),
            ["kworker/0:0:9", "RCU grace period", "repro2:4093"]
        );
        let srcu = e
            .findings
            .iter()
            .find(|f| f.finding.kind == FindingKind::NoWaker)
            .unwrap();
        assert_eq!(
            srcu.finding
                .chain
                .nodes
                .iter()
                .map(|&n| e.graph.label(n))
                .collect::<Vec<_>>(),
            ["repro2:4086", "tracepoint_srcu"]
        );
        assert!(srcu.steps[0].teaching.unwrap().starts_with("SRCU:"));
        assert_eq!(
            srcu.steps[0].evidence[0].function.as_deref(),
            Some("__synchronize_srcu")
        );
    }

    #[test]
    fn seed_002_self_detected_stall() {
        let e = explain_text(&seed("002_lkml_rcu_self_detected_stall.txt"));
        assert_eq!(e.findings.len(), 1);
        assert_eq!(
            labels(&e, 0),
            ["rcu_sched grace period", "CPU 1", "kworker/1:4:34"]
        );
        let hop = &e.findings[0].steps[0];
        assert!(
            hop.evidence[0]
                .note
                .as_deref()
                .unwrap()
                .contains("CPU 1 flags \"...!\"")
        );
        assert!(
            hop.evidence
                .iter()
                .any(|x| x.field.as_deref() == Some("ticks this GP")
                    && x.value.as_deref() == Some("(2099 ticks this GP)")),
            "{:?}",
            hop.evidence
        );
        let t = e.text_summary.as_ref().unwrap();
        assert_eq!(t.unparsed_lines, 3);
        assert!(!t.decoded.is_empty());
    }

    #[test]
    fn seed_003_prose_gives_nothing_but_counts() {
        let e = explain_text(&seed("003_nocb_race_prose.txt"));
        assert!(e.findings.is_empty() && e.graph.nodes.is_empty());
        assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 22);
    }

    #[test]
    fn seed_004_starved_gp_kthread() {
        let e = explain_text(&seed("004_qemu_rcu_stall_logs.txt"));
        assert_eq!(e.text_summary.as_ref().unwrap().unparsed_lines, 1);
        assert_eq!(e.findings.len(), 1);
        assert_eq!(
            labels(&e, 0),
            ["rcu_preempt grace period", "rcu_preempt kthread"]
        );
        assert!(
            e.findings[0]
                .root_cause
                .contains("starved for 63151 jiffies"),
            "{}",
            e.findings[0].root_cause
        );
    }
}
