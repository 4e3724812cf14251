//! The grace-period kthread lines: "kthread starved", "kthread timer wakeup didn't happen",
//! "Possible timer handling issue", with the GP state, flag and task-state names.

use super::*;

/// 4.19+ `gp_state` numbering (kernel/rcu/tree.h); ≤~4.16 had IDLE 0, WAIT_GPS 1, DONE_GPS 2,
/// WAIT_FQS 3, DOING_FQS 4, CLEANUP 5, CLEANED 6.
const GP_STATES: [(&str, i64, Option<i64>, &str); 9] = [
    ("RCU_GP_IDLE", 0, Some(0), "no grace period in progress"),
    (
        "RCU_GP_WAIT_GPS",
        1,
        Some(1),
        "waiting for a request to start a grace period",
    ),
    (
        "RCU_GP_DONE_GPS",
        2,
        Some(2),
        "woken to start a grace period",
    ),
    (
        "RCU_GP_ONOFF",
        3,
        None,
        "GP initialization: applying CPU-hotplug changes to the rcu_node tree",
    ),
    (
        "RCU_GP_INIT",
        4,
        None,
        "GP initialization: setting up the rcu_node tree",
    ),
    (
        "RCU_GP_WAIT_FQS",
        5,
        Some(3),
        "sleeping until the next force-quiescent-state scan or until all quiescent states are in",
    ),
    (
        "RCU_GP_DOING_FQS",
        6,
        Some(4),
        "running a force-quiescent-state scan",
    ),
    ("RCU_GP_CLEANUP", 7, Some(5), "grace-period cleanup"),
    ("RCU_GP_CLEANED", 8, Some(6), "grace-period cleanup done"),
];

/// TASK_* bits, 4.14+ numbering (include/linux/sched.h; rcu-srcu.md §3.7).
const TASK_BITS: [(u64, &str); 15] = [
    (0x1, "TASK_INTERRUPTIBLE"),
    (0x2, "TASK_UNINTERRUPTIBLE"),
    (0x4, "__TASK_STOPPED"),
    (0x8, "__TASK_TRACED"),
    (0x10, "EXIT_DEAD"),
    (0x20, "EXIT_ZOMBIE"),
    (0x40, "TASK_PARKED"),
    (0x80, "TASK_DEAD"),
    (0x100, "TASK_WAKEKILL"),
    (0x200, "TASK_WAKING"),
    (0x400, "TASK_NOLOAD"),
    (0x800, "TASK_NEW"),
    (0x1000, "TASK_RTLOCK_WAIT"),
    (0x2000, "TASK_FREEZABLE"),
    (0x8000, "TASK_FROZEN"),
];

/// Names of the TASK_* bits set in `state` (4.14+ numbering); `["TASK_RUNNING"]` for 0.
pub fn task_state_names(state: u64) -> Vec<String> {
    if state == 0 {
        return vec!["TASK_RUNNING".to_string()];
    }
    let mut v: Vec<String> = TASK_BITS
        .iter()
        .filter(|(b, _)| state & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u64 = TASK_BITS.iter().map(|(b, _)| b).sum();
    if state & !known != 0 {
        v.push(format!("unknown bits {:#x}", state & !known));
    }
    v
}

/// `gp_flags` bits: RCU_GP_FLAG_INIT 0x1, _FQS 0x2, _OVLD 0x4 (5.x+).
pub fn gp_flag_names(f: u64) -> Vec<String> {
    let mut v = Vec::new();
    for (b, n) in [
        (0x1, "RCU_GP_FLAG_INIT"),
        (0x2, "RCU_GP_FLAG_FQS"),
        (0x4, "RCU_GP_FLAG_OVLD"),
    ] {
        if f & b != 0 {
            v.push(n.to_string());
        }
    }
    if f & !0x7 != 0 {
        v.push(format!("unknown bits {:#x}", f & !0x7));
    }
    v
}

/// `rcu_sched kthread starved for 2098 jiffies! g-1135 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0
/// ->cpu=1` and `rcu_preempt kthread timer wakeup didn't happen for 42031 jiffies! g10393 f0x2
/// RCU_GP_WAIT_FQS(5) ->state=0x200`. Returns (is_timer_line, state).
pub fn parse_kthread_line(text: &str, line: usize) -> Option<(bool, GpKthreadState)> {
    let t = strip_rcu(text);
    let (flavor, rest, timer) = if let Some((f, r)) = t.split_once(" kthread starved for ") {
        (f, r, false)
    } else if let Some((f, r)) = t.split_once(" kthread timer wakeup didn't happen for ") {
        (f, r, true)
    } else {
        return None;
    };
    if flavor.contains(' ') {
        return None;
    }
    let (j, rest) = rest.split_once(" jiffies")?;
    let jiffies: i64 = j.trim().parse().ok()?;
    let rest = rest.trim_start_matches('!').trim();
    let mut st = GpKthreadState {
        line,
        flavor: flavor.to_string(),
        jiffies,
        g: None,
        c: None,
        gp_flags: None,
        gp_flag_names: Vec::new(),
        gp_state_name: None,
        gp_state_num: None,
        task_state: None,
        task_state_names: Vec::new(),
        cpu: None,
        notes: Vec::new(),
    };
    note(
        &mut st.notes,
        if timer { "timer wakeup" } else { "starved" },
        j.trim(),
        if timer {
            format!(
                "the {flavor} GP kthread's FQS timeout expired {jiffies} jiffies ago but the kthread is still not on a runqueue"
            )
        } else {
            format!(
                "the {flavor} grace-period kthread has not run for {jiffies} jiffies (jiffies - gp_activity > 2*HZ)"
            )
        },
    );
    for tok in rest.split_whitespace() {
        if let Some(v) = tok.strip_prefix("->state=") {
            let s = parse_hex(v);
            st.task_state = s;
            if let Some(s) = s {
                st.task_state_names = task_state_names(s);
                let why = match s {
                    0 => " — runnable but not getting CPU time",
                    0x402 => " (TASK_IDLE) — sleeping, as in its normal swait",
                    0x200 => {
                        " — a wakeup started but the task was never enqueued (remote wakeup/IPI not processed on its CPU?)"
                    }
                    _ => "",
                };
                note(
                    &mut st.notes,
                    "->state",
                    v,
                    format!(
                        "GP kthread task state {}{why}",
                        st.task_state_names.join("|")
                    ),
                );
            }
        } else if let Some(v) = tok.strip_prefix("->cpu=") {
            st.cpu = v.parse().ok();
            note(
                &mut st.notes,
                "->cpu",
                v,
                format!("the GP kthread last ran on CPU {v}"),
            );
        } else if let Some(v) = tok.strip_prefix("f0x").or_else(|| tok.strip_prefix("f0X")) {
            if let Some(f) = parse_hex(v) {
                st.gp_flags = Some(f);
                st.gp_flag_names = gp_flag_names(f);
                let names = if st.gp_flag_names.is_empty() {
                    "none".to_string()
                } else {
                    st.gp_flag_names.join("|")
                };
                note(
                    &mut st.notes,
                    "f",
                    tok,
                    format!(
                        "rcu_state.gp_flags = {names} (INIT = start a GP requested, FQS = force-quiescent-state scan requested, OVLD = callback overload)"
                    ),
                );
            }
        } else if let Some(v) = tok.strip_prefix('g').filter(|v| v.parse::<i64>().is_ok()) {
            let g: i64 = v.parse().unwrap();
            st.g = Some(g);
            note(
                &mut st.notes,
                "g",
                tok,
                if g < 0 {
                    format!(
                        "rcu_state.gp_seq = {g} (negative: the counter starts near -300 GPs after boot so wrap bugs show early)"
                    )
                } else {
                    format!("rcu_state.gp_seq = {g}")
                },
            );
        } else if let Some(v) = tok.strip_prefix('c').filter(|v| v.parse::<i64>().is_ok()) {
            st.c = v.parse().ok();
            note(&mut st.notes, "c", tok, "last completed GP (≤4.18)");
        } else if tok.starts_with("RCU_GP_")
            && let Some((name, num)) = tok.split_once('(')
        {
            let num: Option<i64> = num.trim_end_matches(')').parse().ok();
            st.gp_state_name = Some(name.to_string());
            st.gp_state_num = num;
            let entry = GP_STATES.iter().find(|e| e.0 == name);
            let era = match (entry, num) {
                (Some(e), Some(n)) if e.1 == n => " (4.19+ numbering)",
                (Some(e), Some(n)) if e.2 == Some(n) => " (pre-4.19 numbering)",
                (Some(_), Some(_)) => " (number does not match known numberings)",
                _ => "",
            };
            note(
                &mut st.notes,
                "gp_state",
                tok,
                format!(
                    "GP kthread state: {}{era}",
                    entry.map(|e| e.3).unwrap_or("unknown state name")
                ),
            );
        }
    }
    Some((timer, st))
}

pub(super) fn parse_timer_issue(text: &str, line: usize) -> Option<TimerIssue> {
    let t = strip_rcu(text);
    if !t.starts_with("Possible timer handling issue on cpu=") {
        return None;
    }
    let cpu: u32 = value_after(t, "cpu=")?.parse().ok()?;
    let ts: u64 = value_after(t, "timer-softirq=")?.parse().ok()?;
    let mut notes = Vec::new();
    note(
        &mut notes,
        "cpu",
        cpu.to_string(),
        format!("the GP kthread's CPU ({cpu}), where its timer should have fired"),
    );
    note(
        &mut notes,
        "timer-softirq",
        ts.to_string(),
        format!(
            "TIMER_SOFTIRQ count on CPU {cpu}: {ts}; unchanged across warnings ⇒ timers are not being handled there"
        ),
    );
    Some(TimerIssue {
        line,
        cpu,
        timer_softirq: ts,
        notes,
    })
}
