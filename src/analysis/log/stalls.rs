//! Reports whose symptom is a CPU that does not let go: RCU stalls (grace period → holdout
//! CPU → the task the text shows there, blocked readers, the GP kthread), soft lockups (CPU
//! stuck → its task), workqueue lockups (pool → in-flight work → worker, or the CPU a per-CPU
//! pool is bound to), and the GP-kthread state dump (a grace period requested and not
//! started; the kthread runnable but not running is *starved*, not "no waker").
//!
//! Where a CPU is, is the code the report interrupted: the frames after `</IRQ>` or the
//! register dump's `RIP:` / `pc :` / `PSW` / crash's `[exception RIP: ...]`, never the
//! reporting code (`dump_stack`, `nmi_cpu_backtrace`, `crash_nmi_callback`, the timer
//! interrupt). Its context (hard IRQ, softirq, the stop_machine stopper, task) and whether
//! it spins (a spinlock slow path, an optimistic mutex spin, a wait for other CPUs' IPI
//! answers) are worked out from the frames.

use super::super::graph::{
    Edge, EdgeKind, Evidence, Graph, NOT_BLAMED, NodeId, NodeKind, STARVED, name_key,
};
use super::super::waits::base_name;
use super::{Cx, task_label};
use crate::artifacts::call_trace::is_location_note;
use crate::artifacts::{StackOrigin, TaskStack};

/// Frames of the code that reports (stack dumpers, NMI / IPI handlers, the timer interrupt
/// that runs the watchdogs, warnings): never where a CPU "is".
const REPORTING: &[&str] = &[
    "dump_stack",
    "dump_stack_lvl",
    "__dump_stack",
    "show_stack",
    "show_regs",
    "dump_backtrace",
    "unwind_backtrace",
    "walk_stackframe",
    "arch_stack_walk",
    "sched_show_task",
    "dump_cpu_task",
    "rcu_dump_cpu_stacks",
    "print_cpu_stall",
    "print_other_cpu_stall",
    "check_cpu_stall",
    "rcu_pending",
    "rcu_check_callbacks",
    "rcu_sched_clock_irq",
    "rcu_check_gp_start_stall",
    "rcu_core",
    "rcu_core_si",
    "update_process_times",
    "tick_sched_handle",
    "tick_sched_timer",
    "tick_nohz_handler",
    "__run_hrtimer",
    "__hrtimer_run_queues",
    "hrtimer_interrupt",
    "local_apic_timer_interrupt",
    "__sysvec_apic_timer_interrupt",
    "sysvec_apic_timer_interrupt",
    "instr_sysvec_apic_timer_interrupt",
    "asm_sysvec_apic_timer_interrupt",
    "smp_apic_timer_interrupt",
    "apic_timer_interrupt",
    "nmi_cpu_backtrace",
    "nmi_cpu_backtrace_handler",
    "nmi_trigger_cpumask_backtrace",
    "arch_trigger_cpumask_backtrace",
    "trigger_all_cpu_backtrace",
    "crash_nmi_callback",
    "nmi_handle",
    "default_do_nmi",
    "do_nmi",
    "exc_nmi",
    "end_repeat_nmi",
    "watchdog_timer_fn",
    "watchdog",
    "panic",
    "__warn",
    "warn_slowpath_common",
    "warn_slowpath_null",
    "report_bug",
    "handle_bug",
    "exc_invalid_op",
    "asm_exc_invalid_op",
    "gic_handle_irq",
    "handle_domain_irq",
    "__handle_domain_irq",
    "generic_handle_domain_irq",
    "handle_percpu_devid_irq",
    "handle_irq_desc",
    "call_on_irq_stack",
    "do_interrupt_handler",
    "el1_interrupt",
    "el1h_64_irq_handler",
    "el1h_64_irq",
    "el1_irq",
    "__irq_svc",
    "irq_exit",
    "irq_exit_rcu",
    "hv_stimer0_isr",
    "hv_stimer0_percpu_isr",
    "ipi_handler",
    "do_handle_IPI",
    "ipi_cpu_backtrace",
    "riscv_intc_irq",
    "handle_riscv_irq",
    "do_irq",
    "ret_from_exception",
    "smp_call_function_interrupt",
    "generic_smp_call_function_single_interrupt",
];

/// Frames that end the interrupt part of an old trace without context markers: the code
/// below them (outward) is what was interrupted.
const IRQ_ENTRY: &[&str] = &[
    "__irq_svc",
    "el1_irq",
    "el1h_64_irq",
    "apic_timer_interrupt",
    "asm_sysvec_apic_timer_interrupt",
    "call_on_irq_stack",
    "ret_from_exception",
    "handle_riscv_irq",
    "io_int_handler",
    "ext_int_handler",
];

const SOFTIRQ: &[&str] = &[
    "__do_softirq",
    "handle_softirqs",
    "do_softirq",
    "do_softirq_own_stack",
    "run_ksoftirqd",
    "net_rx_action",
    "run_timer_softirq",
    "tasklet_action",
    "tasklet_action_common",
    "rcu_core_si",
];

const STOPPER: &[&str] = &[
    "multi_cpu_stop",
    "cpu_stopper_thread",
    "stop_machine_cpuslocked",
];

/// Where a stack's CPU was when the report interrupted it.
pub(super) struct Location {
    pub frame: usize,
    /// `task`, `hard IRQ`, `softirq`, `NMI`, `stop_machine (CPU stopper)`.
    pub context: &'static str,
    /// How it holds the CPU, when the frames say.
    pub spinning: Option<&'static str>,
}

/// The interrupted code of a CPU's stack (see the module doc).
pub(super) fn interrupted(t: &TaskStack) -> Option<Location> {
    let f = &t.frames;
    if f.is_empty() {
        return None;
    }
    let in_irq = |c: Option<&str>| matches!(c, Some("IRQ" | "NMI" | "SOFTIRQ" | "EOI"));
    let plain = |x: &crate::artifacts::Frame| {
        let b = base_name(&x.func);
        x.reliable
            && !REPORTING.contains(&b)
            && !IRQ_ENTRY.contains(&b)
            && !SOFTIRQ.contains(&b)
            && !x.func.starts_with("0x")
    };
    // Softirq work run on the way out of the interrupt (a timer callback spinning on a lock)
    // is where the CPU is stuck, not the task it interrupted.
    let irq: Vec<usize> = (0..f.len())
        .filter(|&i| f[i].context.as_deref() == Some("IRQ"))
        .collect();
    if irq
        .iter()
        .any(|&i| SOFTIRQ.contains(&base_name(&f[i].func)))
        && let Some(&i) = irq.iter().find(|&&i| plain(&f[i]))
    {
        let near: Vec<&str> = f[i..f.len().min(i + 4)]
            .iter()
            .map(|x| base_name(&x.func))
            .collect();
        return Some(Location {
            frame: i,
            context: "softirq",
            spinning: spin_words(&near, base_name(&f[i].func)),
        });
    }
    // The task part: frames marked <TASK>, else those after the last interrupt frame.
    let idx: Vec<usize> = if f.iter().any(|x| x.context.as_deref() == Some("TASK")) {
        (0..f.len())
            .filter(|&i| f[i].context.as_deref() == Some("TASK"))
            .collect()
    } else if let Some(last) = f.iter().rposition(|x| in_irq(x.context.as_deref())) {
        let after: Vec<usize> = (last + 1..f.len()).collect();
        if after.is_empty() {
            (0..f.len()).collect()
        } else {
            after
        }
    } else if let Some(last) = f
        .iter()
        .rposition(|x| IRQ_ENTRY.contains(&base_name(&x.func)))
    {
        (last + 1..f.len()).collect()
    } else {
        (0..f.len()).collect()
    };
    let loc = idx
        .iter()
        .copied()
        .find(|&i| is_location_note(f[i].note.as_deref()))
        .or_else(|| {
            idx.iter().copied().find(|&i| {
                f[i].reliable
                    && !REPORTING.contains(&base_name(&f[i].func))
                    && !super::super::waits::SCHED_FRAMES.contains(&base_name(&f[i].func))
                    && !f[i].func.starts_with("0x")
            })
        })?;
    let outer: Vec<&str> = f[loc..].iter().map(|x| base_name(&x.func)).collect();
    let context = match f[loc].context.as_deref() {
        Some("NMI") => "NMI",
        Some("IRQ") if !outer.iter().any(|x| SOFTIRQ.contains(x)) => "hard IRQ",
        _ if outer.iter().any(|x| SOFTIRQ.contains(x)) => "softirq",
        _ if outer.iter().any(|x| STOPPER.contains(x)) => "stop_machine (CPU stopper)",
        _ => "task",
    };
    let here = base_name(&f[loc].func);
    let near: Vec<&str> = f[loc..f.len().min(loc + 4)]
        .iter()
        .map(|x| base_name(&x.func))
        .collect();
    Some(Location {
        frame: loc,
        context,
        spinning: spin_words(&near, here),
    })
}

/// How a CPU at `here` (with `near`, the frames from there outward) holds on, if it spins.
fn spin_words(near: &[&str], here: &str) -> Option<&'static str> {
    if near.iter().any(|x| {
        x.contains("spin_lock")
            || x.contains("queued_spin")
            || x.contains("_raw_read_lock")
            || x.contains("_raw_write_lock")
            || *x == "do_raw_spin_lock"
    }) {
        Some("spinning on a spinlock")
    } else if near.iter().any(|x| {
        matches!(
            *x,
            "mutex_spin_on_owner" | "osq_lock" | "mutex_optimistic_spin" | "owner_on_cpu"
        )
    }) {
        Some("spinning on a mutex whose owner is running (optimistic spin)")
    } else if near
        .iter()
        .any(|x| x.starts_with("smp_call_function") || *x == "csd_lock_wait")
    {
        Some("waiting for other CPUs to run a function it sent them (IPI)")
    } else if matches!(
        here,
        "default_idle"
            | "cpu_idle_poll"
            | "arch_cpu_idle"
            | "default_idle_call"
            | "do_idle"
            | "cpuidle_enter_state"
            | "native_safe_halt"
    ) {
        Some("idle")
    } else {
        None
    }
}

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
