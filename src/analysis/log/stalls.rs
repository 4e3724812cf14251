//! Reports whose symptom is a CPU that does not let go: RCU stalls (grace period → holdout
//! CPU → the task the text shows there, blocked readers, the GP kthread), soft lockups (CPU
//! stuck → its task), workqueue lockups (pool → in-flight work → worker, or the CPU a per-CPU
//! pool is bound to), and the GP-kthread state dump (a grace period requested and not
//! started; the kthread runnable but not running is *starved*, not "no waker").
//!
//! Where each CPU is comes from [`super::location`].

use super::super::graph::{
    Edge, EdgeKind, Evidence, Graph, NOT_BLAMED, NodeId, NodeKind, STARVED, name_key,
};
use super::location::interrupted;
use super::{Cx, task_label};
use crate::artifacts::{StackOrigin, TaskStack};

/// The stacks the text shows for a CPU, best first: the task running there per the report
/// (`CPU: N PID:` / `Task dump for CPU N`), with frames.
fn stacks_on_cpu(cx: &Cx, cpu: u32, after_line: usize, before_line: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..cx.p.tasks.len())
        .filter(|&i| {
            let t = &cx.p.tasks[i];
            t.cpu == Some(cpu)
                && !t.frames.is_empty()
                && t.line >= after_line
                && t.line < before_line
        })
        .collect();
    v.sort_by_key(|&i| {
        let t = &cx.p.tasks[i];
        (
            t.origin != StackOrigin::CpuContext,
            interrupted(t).is_none(),
        )
    });
    v
}

/// Marks task `i` as running on a CPU, with where it is; returns its node.
fn running_task(g: &mut Graph, cx: &Cx, i: usize) -> NodeId {
    let t = &cx.p.tasks[i];
    let id = cx.ids[i];
    let loc = interrupted(t);
    if let Some(n) = g.get_mut(id) {
        n.running = true;
        n.fields.retain(|(k, _)| k != "in" && k != STARVED);
        if let Some(l) = &loc {
            let f = &t.frames[l.frame];
            n.fields.push((
                "in".into(),
                match f.offset {
                    Some(o) => format!("{}+{o:#x}", f.func),
                    None => f.func.clone(),
                },
            ));
            n.fields.push(("context".into(), l.context.into()));
            match l.spinning {
                Some("idle") => n.fields.push((
                    NOT_BLAMED.into(),
                    "the CPU was idle when the report interrupted it".into(),
                )),
                Some(s) => n.fields.push(("spinning".into(), s.into())),
                None => {}
            }
        }
        // The idle task (pid 0): the CPU ran no task. Interrupt or softirq work on top of it
        // is what holds the CPU; without any, nothing in the text is to blame.
        if t.pid == Some(0) && n.field(NOT_BLAMED).is_none() {
            match loc.as_ref().map(|l| l.context) {
                Some(ctx @ ("softirq" | "hard IRQ" | "NMI")) => {
                    n.label = format!(
                        "{ctx} work on CPU {} (over the idle task {})",
                        t.cpu.map_or("?".into(), |c| c.to_string()),
                        n.label
                    );
                }
                _ => n.fields.push((
                    NOT_BLAMED.into(),
                    "the CPU's idle task: it ran no task; what holds the CPU (interrupt work, a missed quiescent state) is not in the text".into(),
                )),
            }
        }
    }
    id
}

fn location_ev(t: &TaskStack) -> Vec<Evidence> {
    let Some(l) = interrupted(t) else {
        return Vec::new();
    };
    let mut ev = super::frame_ev(t, l.frame);
    ev.note = Some(format!(
        "{}; the code the report interrupted ({} context{})",
        ev.note.unwrap_or_default(),
        l.context,
        l.spinning.map(|s| format!(", {s}")).unwrap_or_default()
    ));
    vec![ev]
}

fn stall_kind_words(k: crate::artifacts::rcu_stall::StallKind) -> &'static str {
    use crate::artifacts::rcu_stall::StallKind::*;
    match k {
        OtherCpus => "detected by another CPU",
        SelfDetected => "self-detected",
        Expedited => "expedited",
        Fragment => "partial report",
    }
}

/// Links every report of the text.
pub(super) fn link(g: &mut Graph, cx: &Cx) {
    rcu_stalls(g, cx);
    gp_dumps(g, cx);
    soft_lockups(g, cx);
    wq_lockups(g, cx);
}

fn cpu_node(g: &mut Graph, cpu: u32) -> NodeId {
    let id = NodeId::new(NodeKind::Cpu, cpu as u64);
    g.node(id, format!("CPU {cpu}")).running = true;
    id
}

/// CPU → the task the text shows running there (between `from` and `to` lines).
fn link_cpu_task(
    g: &mut Graph,
    cx: &Cx,
    cpu: u32,
    from: usize,
    to: usize,
    line: usize,
    own_stack: bool,
) -> Option<NodeId> {
    let c = cpu_node(g, cpu);
    // A CPU that reports itself prints its own registers and stack next, sometimes with no
    // CPU number (`CPU:   PID: 315330 Comm: snap-confine`).
    let unnumbered = || {
        (0..cx.p.tasks.len()).find(|&i| {
            let t = &cx.p.tasks[i];
            t.cpu.is_none()
                && !t.frames.is_empty()
                && t.line > from
                && t.line < to
                && t.origin == StackOrigin::CpuContext
        })
    };
    let i = match stacks_on_cpu(cx, cpu, from, to).first() {
        Some(&i) => i,
        None if own_stack => unnumbered()?,
        None => return None,
    };
    let t = &cx.p.tasks[i];
    let id = running_task(g, cx, i);
    let mut ev = vec![Evidence::note(format!(
        "line {}: the stack of CPU {cpu} ({}) after the report on line {line}",
        t.line,
        task_label(t)
    ))];
    ev.extend(location_ev(t));
    g.edge(Edge {
        from: c,
        to: id,
        kind: EdgeKind::Running,
        candidate: false,
        what: None,
        evidence: ev,
    });
    Some(id)
}

/// The line where the report after `line` starts (to bound which stacks belong to it).
fn next_report_line(cx: &Cx, line: usize) -> usize {
    let p = cx.p;
    let mut next = usize::MAX;
    let mut consider = |l: usize| {
        if l > line && l < next {
            next = l;
        }
    };
    p.stalls.iter().for_each(|s| consider(s.line));
    p.soft_lockups.iter().for_each(|s| consider(s.line));
    p.hung_tasks
        .iter()
        .filter(|h| h.header)
        .for_each(|h| consider(h.line));
    next
}

fn rcu_stalls(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
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
        let until = next_report_line(cx, s.line);
        for c in &s.cpus {
            let cpu = cpu_node(g, c.cpu);
            let mut evidence = vec![Evidence::note(format!(
                "stall line {} ({}): CPU {}{}",
                c.line,
                stall_kind_words(s.kind),
                c.cpu,
                if c.flags.is_empty() {
                    String::new()
                } else {
                    format!(" flags \"{}\"", c.flags)
                }
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
            // The CPU's stack may come before the next report or, for "Task dump for CPU N",
            // right after this one; an older report's stack does not count.
            let own =
                s.kind == crate::artifacts::rcu_stall::StallKind::SelfDetected || s.cpus.len() == 1;
            link_cpu_task(g, cx, c.cpu, s.line, until, s.line, own);
        }
        // `Task dump for CPU N:` after a report whose CPU lines the paste lacks: the kernel
        // dumps only the CPUs that hold the grace period up.
        let listed: Vec<u32> = s.cpus.iter().map(|c| c.cpu).collect();
        let dumped: Vec<(u32, usize)> = p
            .tasks
            .iter()
            .filter(|t| t.line > s.line && t.line < until && t.state.as_deref() == Some("R"))
            .filter_map(|t| Some((t.cpu?, t.line)))
            .filter(|(c, _)| !listed.contains(c))
            .collect();
        for (c, line) in dumped {
            let cpu = cpu_node(g, c);
            g.edge(Edge {
                from: gp,
                to: cpu,
                kind: EdgeKind::HeldUpBy,
                candidate: false,
                what: None,
                evidence: vec![Evidence::note(format!(
                    "line {line}: the report dumps the task on CPU {c} (it dumps the CPUs that hold the grace period up)"
                ))],
            });
            link_cpu_task(g, cx, c, s.line, until, s.line, false);
        }
        for b in &s.blocked_tasks {
            for bt in &b.tasks {
                let id = cx.task_by_pid(g, bt.pid, None);
                g.edge(Edge {
                    from: gp,
                    to: id,
                    kind: EdgeKind::HeldUpBy,
                    candidate: false,
                    what: None,
                    evidence: vec![Evidence::note(format!(
                        "line {}: P{} was preempted inside an RCU read-side section{}",
                        b.line,
                        bt.pid,
                        b.level
                            .map(|l| format!(" (rcu_node level {l})"))
                            .unwrap_or_default()
                    ))],
                });
            }
        }
        let kthread = s.starved.as_ref().or(s.timer_wakeup.as_ref());
        if let Some(k) = kthread {
            let kt = NodeId::new(NodeKind::Task, name_key(&format!("{} kthread", k.flavor)));
            let n = g.node(kt, format!("{} kthread", k.flavor));
            n.fields.push((
                NOT_BLAMED.into(),
                "the grace-period kthread: a victim of what keeps it from running".into(),
            ));
            let state = if k.task_state_names.is_empty() {
                String::new()
            } else {
                format!(" in state {}", k.task_state_names.join("|"))
            };
            let gp_state = k
                .gp_state_name
                .as_deref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default();
            // ->state 0 (TASK_RUNNING): runnable, not given a CPU. Otherwise asleep and the
            // timer that should wake it did not fire.
            if s.starved.is_some() && k.task_state == Some(0) {
                let why = format!(
                    "the GP kthread was starved for {} jiffies: runnable{gp_state}, but no CPU ran it{}",
                    k.jiffies,
                    k.cpu
                        .map(|c| format!(" (last on CPU {c})"))
                        .unwrap_or_default()
                );
                n.fields.push((STARVED.into(), why));
            } else if s.starved.is_some() {
                n.no_waker = Some(format!(
                    "the GP kthread was starved for {} jiffies{state}{gp_state}: asleep and not woken (its timer did not fire{})",
                    k.jiffies,
                    s.timer_issue
                        .as_ref()
                        .map(|t| format!("; timer handling on CPU {} is suspect", t.cpu))
                        .unwrap_or_default()
                ));
            } else {
                n.no_waker = Some(format!(
                    "the GP kthread's timer wakeup did not happen for {} jiffies{state}{gp_state}",
                    k.jiffies
                ));
            }
            let mut ev: Vec<Evidence> = vec![Evidence::note(format!(
                "line {}: {} kthread {} for {} jiffies",
                k.line,
                k.flavor,
                if s.starved.is_some() {
                    "starved"
                } else {
                    "timer wakeup missing"
                },
                k.jiffies
            ))];
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
}

fn gp_dumps(g: &mut Graph, cx: &Cx) {
    for d in &cx.p.gp_dumps {
        if !d.gp_requested_not_started() && !d.kthread_runnable() {
            continue;
        }
        let label = format!("{} grace period", d.flavor);
        let gp = NodeId::new(NodeKind::RcuGp, name_key(&format!("rcu-gp:{label}")));
        g.node(gp, label);
        let kt = NodeId::new(NodeKind::Task, name_key(&format!("{} kthread", d.flavor)));
        let n = g.node(kt, format!("{} kthread", d.flavor));
        n.fields.push((
            NOT_BLAMED.into(),
            "the grace-period kthread: a victim of what keeps it from running".into(),
        ));
        let ws = d.wait_state.clone().unwrap_or_else(|| "?".into());
        if d.kthread_runnable() {
            n.fields.push((
                STARVED.into(),
                format!(
                    "runnable (->state 0x0) in {ws} for {} jiffies without running{}",
                    d.gp_activity_delta.unwrap_or(0),
                    if d.gp_requested_not_started() {
                        ", while a grace period it should start is requested"
                    } else {
                        ""
                    }
                ),
            ));
        } else {
            n.no_waker = Some(format!(
                "asleep in {ws} while a grace period is requested: nobody woke it"
            ));
        }
        let mut ev = vec![Evidence::note(format!(
            "line {}: show_rcu_gp_kthreads()",
            d.line
        ))];
        ev.extend(d.notes.iter().map(decoded));
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

fn soft_lockups(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    for s in &p.soft_lockups {
        let label = format!(
            "soft lockup on CPU {}{}",
            s.cpu,
            s.stuck_secs
                .map(|x| format!(" ({x} s without scheduling)"))
                .unwrap_or_default()
        );
        let id = NodeId::new(
            NodeKind::SoftLockup,
            name_key(&format!("soft-lockup:{}:{}", s.cpu, s.line)),
        );
        g.node(id, label);
        let cpu = cpu_node(g, s.cpu);
        g.edge(Edge {
            from: id,
            to: cpu,
            kind: EdgeKind::HeldUpBy,
            candidate: false,
            what: None,
            evidence: vec![Evidence::note(format!(
                "line {}: BUG: soft lockup - CPU#{}{}",
                s.line,
                s.cpu,
                match (&s.comm, s.pid) {
                    (Some(c), Some(p)) => format!(" [{c}:{p}]"),
                    _ => " (header cut)".into(),
                }
            ))],
        });
        let until = next_report_line(cx, s.line);
        // The stack after the header is that CPU's, whether or not it repeats the CPU.
        let i = stacks_on_cpu(cx, s.cpu, s.line, until)
            .first()
            .copied()
            .or_else(|| {
                (0..p.tasks.len()).find(|&i| {
                    let t = &p.tasks[i];
                    t.line > s.line
                        && t.line < until
                        && !t.frames.is_empty()
                        && (t.pid.is_none() || t.pid == s.pid)
                        && t.cpu.is_none_or(|c| c == s.cpu)
                })
            });
        let task = match i {
            Some(i) => {
                let id = running_task(g, cx, i);
                if let Some(n) = g.get_mut(id)
                    && cx.p.tasks[i].pid.is_none()
                    && let (Some(c), Some(pid)) = (&s.comm, s.pid)
                {
                    n.label = format!("{c}:{pid}");
                }
                let mut ev = vec![Evidence::note(format!(
                    "line {}: the stack of CPU {}",
                    p.tasks[i].line, s.cpu
                ))];
                ev.extend(location_ev(&p.tasks[i]));
                Some((id, ev))
            }
            None => match (&s.comm, s.pid) {
                (Some(c), Some(pid)) => {
                    let id = cx.task_by_pid(g, pid, Some(c));
                    if let Some(n) = g.get_mut(id) {
                        n.running = true;
                    }
                    Some((
                        id,
                        vec![Evidence::note(format!(
                            "line {}: the header names the task; its stack is not in the text",
                            s.line
                        ))],
                    ))
                }
                _ => None,
            },
        };
        if let Some((tid, ev)) = task {
            g.edge(Edge {
                from: cpu,
                to: tid,
                kind: EdgeKind::Running,
                candidate: false,
                what: None,
                evidence: ev,
            });
        }
    }
}

fn wq_lockups(g: &mut Graph, cx: &Cx) {
    let p = cx.p;
    for w in &p.wq_lockups {
        let id = NodeId::new(
            NodeKind::WorkerPool,
            name_key(&format!("pool:{}:{}", w.cpus, w.flags.unwrap_or(0))),
        );
        let n = g.node(
            id,
            format!(
                "workqueue pool cpus={}{}",
                w.cpus,
                if w.nice.unwrap_or(0) < 0 {
                    " (high priority)"
                } else {
                    ""
                }
            ),
        );
        if let Some(s) = w.stuck_secs {
            let longer = n
                .field("stuck_secs")
                .and_then(|v| v.parse::<u64>().ok())
                .is_none_or(|v| s > v);
            if longer {
                n.fields.retain(|(k, _)| k != "stuck_secs");
                n.fields.push(("stuck_secs".into(), s.to_string()));
            }
        }
        // The busy dump after this header: in-flight work of pwqs on this pool's CPUs.
        let dump = p
            .busy_workqueues
            .iter()
            .find(|d| d.line > w.line && d.line <= w.line + 3);
        let mut linked = false;
        if let Some(d) = dump {
            for wq in &d.workqueues {
                for pwq in wq.pwqs.iter().filter(|x| x.cpus == w.cpus) {
                    for (pid, func) in &pwq.in_flight {
                        let work = NodeId::new(
                            NodeKind::WorkItem,
                            name_key(&format!("work:{func}:{pid}")),
                        );
                        g.node(work, format!("{func} (workqueue {})", wq.name));
                        g.edge(Edge {
                            from: id,
                            to: work,
                            kind: EdgeKind::HeldUpBy,
                            candidate: false,
                            what: None,
                            evidence: vec![Evidence::note(format!(
                                "line {}: in-flight: {pid}:{func}",
                                pwq.line
                            ))],
                        });
                        let worker = cx.task_by_pid(g, *pid, None);
                        g.edge(Edge {
                            from: work,
                            to: worker,
                            kind: EdgeKind::ExecutedBy,
                            candidate: false,
                            what: None,
                            evidence: vec![Evidence::note(format!(
                                "line {}: worker {pid} runs {func}",
                                pwq.line
                            ))],
                        });
                        linked = true;
                    }
                }
            }
        }
        // Nothing in flight on a per-CPU pool: its CPU is not running the pool's workers.
        if !linked && let Some(cpu) = w.cpu() {
            let c = cpu_node(g, cpu);
            g.edge(Edge {
                from: id,
                to: c,
                kind: EdgeKind::HeldUpBy,
                candidate: false,
                what: None,
                evidence: vec![Evidence::note(format!(
                    "line {}: no work of the pool is in flight: CPU {cpu} does not run its workers (something else holds the CPU)",
                    w.line
                ))],
            });
            link_cpu_task(g, cx, cpu, w.line, usize::MAX, w.line, false);
        }
    }
}

/// A field the stall-report decoder explained, as evidence: its raw text and meaning.
pub(super) fn decoded(n: &crate::artifacts::rcu_stall::Note) -> Evidence {
    Evidence {
        field: Some(n.field.clone()),
        value: Some(n.raw.clone()),
        note: Some(n.meaning.clone()),
        ..Default::default()
    }
}
