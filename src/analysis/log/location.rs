//! Where a CPU is when a report interrupts it: the frames after `</IRQ>` or the register
//! dump's `RIP:` / `pc :` / `PSW` / crash's `[exception RIP: ...]`, never the reporting code
//! (`dump_stack`, `nmi_cpu_backtrace`, `crash_nmi_callback`, the timer interrupt); softirq
//! work run on the way out of the interrupt when that is where it loops. Its context (hard
//! IRQ, softirq, the stop_machine stopper, task) and whether it spins (a spinlock slow path,
//! an optimistic mutex spin, a wait for other CPUs' IPI answers, or idles) are worked out
//! from the frames.

use super::super::waits::base_name;
use crate::artifacts::TaskStack;
use crate::artifacts::call_trace::is_location_note;

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
