//! The RCU grace-period state dump, `show_rcu_gp_kthreads()` (kernel/rcu/tree_stall.h), printed
//! after a workqueue lockup, by sysrq-y, rcutorture and some stall paths:
//!
//! ```text
//! rcu: rcu_preempt: wait state: RCU_GP_WAIT_GPS(1) ->state: 0x0 ->rt_priority 0 delta ->gp_start
//!      26476 ->gp_activity 26475 ... ->gp_seq 15120 ->gp_seq_needed 15124 ->gp_max 2505 ->gp_flags 0x1
//! rcu:     rcu_node 0:0 ->gp_seq 15120 ->gp_seq_needed 15124 ->qsmask 0x0 .... ->n_boosts 0
//! rcu: RCU callbacks invoked since boot: 121850
//! rcu_tasks: RTGS_WAIT_CBS(11) since 46815 g:16 i:0/0 k.u. l:63
//! ```
//!
//! `wait state` is where the GP kthread sleeps (RCU_GP_WAIT_GPS: waiting for a grace period to
//! be requested), `->state` its task state (0x0 = runnable: it is not sleeping, it is waiting
//! for a CPU). `->gp_seq_needed` beyond `->gp_seq` with `->gp_flags` 0x1 (RCU_GP_FLAG_INIT)
//! means a grace period was requested and the kthread has not started it.

use super::*;

/// One `show_rcu_gp_kthreads()` dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpKthreadDump {
    pub line: usize,
    pub flavor: String,
    /// `RCU_GP_WAIT_GPS` (a bare number on old kernels).
    pub wait_state: Option<String>,
    pub wait_state_num: Option<i64>,
    /// `->state:` of the GP kthread.
    pub task_state: Option<u64>,
    pub task_state_names: Vec<String>,
    /// `delta ->gp_start N`: jiffies since the last GP started.
    pub gp_start_delta: Option<i64>,
    /// `->gp_activity N`: jiffies since the kthread last did anything.
    pub gp_activity_delta: Option<i64>,
    pub gp_seq: Option<i64>,
    pub gp_seq_needed: Option<i64>,
    pub gp_flags: Option<u64>,
    pub nodes: Vec<RcuNodeState>,
    pub callbacks_invoked: Option<u64>,
    /// `rcu_tasks: RTGS_WAIT_CBS(11) since 46815 ...` lines of the Tasks-RCU flavours.
    pub tasks_flavors: Vec<(String, String)>,
    pub notes: Vec<Note>,
}

impl GpKthreadDump {
    /// A grace period was requested (`->gp_seq_needed` past `->gp_seq`) and not started.
    pub fn gp_requested_not_started(&self) -> bool {
        matches!((self.gp_seq, self.gp_seq_needed), (Some(s), Some(n)) if n > s)
            && self.wait_state.as_deref() == Some("RCU_GP_WAIT_GPS")
    }

    /// The GP kthread is runnable (`->state: 0x0`) but not running: starved of CPU.
    pub fn kthread_runnable(&self) -> bool {
        self.task_state == Some(0)
    }
}

/// `rcu_node 0:0 ->gp_seq 15120 ->gp_seq_needed 15124 ->qsmask 0x0 ....`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RcuNodeState {
    pub line: usize,
    /// `grplo:grphi`, the CPUs the node covers.
    pub cpus: String,
    pub gp_seq: Option<i64>,
    pub gp_seq_needed: Option<i64>,
    pub qsmask: Option<u64>,
}

fn arrow_num(s: &str, key: &str) -> Option<i64> {
    value_after(s, key).and_then(|v| v.parse().ok())
}

/// `rcu_preempt: wait state: ...`: the head line of a dump.
pub fn parse_gp_head(text: &str, line: usize) -> Option<GpKthreadDump> {
    let t = strip_rcu(text);
    let (flavor, rest) = t.split_once(": wait state: ")?;
    if flavor.contains(' ') || !flavor.starts_with("rcu") {
        return None;
    }
    let ws = rest.split_whitespace().next()?;
    let (wait_state, num) = match ws.split_once('(') {
        Some((name, n)) => (Some(name.to_string()), n.trim_end_matches(')').parse().ok()),
        None => (None, ws.parse().ok()),
    };
    let task_state = value_after(rest, "->state:").and_then(parse_hex);
    let mut d = GpKthreadDump {
        line,
        flavor: flavor.to_string(),
        wait_state,
        wait_state_num: num,
        task_state,
        task_state_names: task_state.map(task_state_names).unwrap_or_default(),
        gp_start_delta: arrow_num(rest, "->gp_start"),
        gp_activity_delta: arrow_num(rest, "->gp_activity"),
        gp_seq: arrow_num(rest, "->gp_seq"),
        gp_seq_needed: arrow_num(rest, "->gp_seq_needed"),
        gp_flags: value_after(rest, "->gp_flags").and_then(parse_hex),
        nodes: Vec::new(),
        callbacks_invoked: None,
        tasks_flavors: Vec::new(),
        notes: Vec::new(),
    };
    if let Some(w) = d.wait_state.clone() {
        note(
            &mut d.notes,
            "wait state",
            &w,
            format!("the {flavor} GP kthread sleeps in {w}"),
        );
    }
    if let Some(s) = d.task_state {
        let m = if s == 0 {
            "runnable: the GP kthread is not sleeping; it is waiting for a CPU to run on"
                .to_string()
        } else {
            format!("task state {}", d.task_state_names.join("|"))
        };
        note(&mut d.notes, "->state", format!("{s:#x}"), m);
    }
    if d.gp_requested_not_started() {
        note(
            &mut d.notes,
            "->gp_seq_needed",
            d.gp_seq_needed.unwrap_or(0).to_string(),
            "a grace period was requested and the kthread has not started it",
        );
    }
    Some(d)
}

/// Finds `show_rcu_gp_kthreads()` dumps, marking consumed lines. Runs before the stall
/// parser so that its `rcu_node` lines are not taken as stall fragments.
pub fn parse_gp_dumps(lines: &[Line], used: &mut [bool]) -> Vec<GpKthreadDump> {
    let mut out: Vec<GpKthreadDump> = Vec::new();
    let mut open = false;
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        if let Some(d) = parse_gp_head(&l.text, l.no) {
            used[i] = true;
            out.push(d);
            open = true;
            continue;
        }
        if !open {
            continue;
        }
        let t = strip_rcu(&l.text);
        let Some(d) = out.last_mut() else { continue };
        if let Some(rest) = t.strip_prefix("rcu_node ")
            && let Some((cpus, fields)) = rest.split_once(' ')
        {
            if d.nodes.len() < 256 {
                d.nodes.push(RcuNodeState {
                    line: l.no,
                    cpus: cpus.to_string(),
                    gp_seq: arrow_num(fields, "->gp_seq"),
                    gp_seq_needed: arrow_num(fields, "->gp_seq_needed"),
                    qsmask: value_after(fields, "->qsmask").and_then(parse_hex),
                });
            }
            used[i] = true;
        } else if let Some(n) = t.strip_prefix("RCU callbacks invoked since boot: ") {
            d.callbacks_invoked = n.trim().parse().ok();
            used[i] = true;
        } else if let Some((fl, st)) = t.split_once(": RTGS_") {
            if d.tasks_flavors.len() < 16 {
                d.tasks_flavors.push((fl.to_string(), format!("RTGS_{st}")));
            }
            used[i] = true;
        } else if t.starts_with("cpu ") && t.contains("->gp_seq_needed") {
            used[i] = true;
        } else if !t.is_empty() {
            open = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_gp_kthread_dump() {
        // Synthetic, in the shape of tests/data/logs/wq_x86_6.8_lkp_xarray_gp_kthreads.txt.
        let text = "rcu: rcu_preempt: wait state: RCU_GP_WAIT_GPS(1) ->state: 0x0 ->rt_priority 0 delta ->gp_start 26476 ->gp_activity 26475 ->gp_seq 15120 ->gp_seq_needed 15124 ->gp_max 2505 ->gp_flags 0x1\nrcu: \trcu_node 0:0 ->gp_seq 15120 ->gp_seq_needed 15124 ->qsmask 0x0 .... ->n_boosts 0\nrcu: RCU callbacks invoked since boot: 121850\nrcu_tasks: RTGS_WAIT_CBS(11) since 46815 g:16 i:0/0 k.u. l:63\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let d = parse_gp_dumps(&lines, &mut used);
        assert_eq!(d.len(), 1);
        let d = &d[0];
        assert_eq!(
            (d.flavor.as_str(), d.wait_state.as_deref(), d.task_state),
            ("rcu_preempt", Some("RCU_GP_WAIT_GPS"), Some(0))
        );
        assert_eq!(
            (d.gp_seq, d.gp_seq_needed, d.gp_flags),
            (Some(15120), Some(15124), Some(1))
        );
        assert!(d.gp_requested_not_started() && d.kthread_runnable());
        assert_eq!(
            (d.nodes.len(), d.callbacks_invoked, d.tasks_flavors.len()),
            (1, Some(121850), 1)
        );
        assert!(used.iter().all(|u| *u));
    }
}
