//! The summary line `(detected by N, t=... jiffies, g=..., q=...)`, blocked-task lists and
//! "All QSes seen".

use super::*;

/// `(detected by 7, t=42141 jiffies, g=10393, q=61 ncpus=8)`, `(t=2100 jiffies g=-1135 q=4
/// ncpus=2)`, `(detected by 2, t=21002 jiffies, g=10393, c=10392, q=12)`.
pub fn parse_summary(text: &str, line: usize) -> Option<StallSummary> {
    let t = strip_rcu(text);
    let inner = t.strip_prefix('(')?.split(')').next()?;
    if !inner.contains("t=") || !inner.contains("jiffies") {
        return None;
    }
    let num_i = |k: &str| value_after(inner, k).and_then(|v| v.parse::<i64>().ok());
    let mut s = StallSummary {
        line,
        detected_by: value_after(inner, "detected by").and_then(|v| v.parse().ok()),
        t_jiffies: num_i("t=").map(|v| v as u64),
        g: num_i("g="),
        c: num_i("c="),
        q: num_i("q=").map(|v| v as u64),
        ncpus: num_i("ncpus=").map(|v| v as u32),
        notes: Vec::new(),
    };
    if let Some(d) = s.detected_by {
        note(
            &mut s.notes,
            "detected by",
            d.to_string(),
            format!("CPU {d} noticed the stall and printed this report"),
        );
    }
    if let Some(tj) = s.t_jiffies {
        note(
            &mut s.notes,
            "t",
            tj.to_string(),
            format!("{tj} jiffies since the grace period started (jiffies - gp_start)"),
        );
    }
    if let Some(g) = s.g {
        let m = if let Some(c) = s.c {
            format!(
                "gpnum = {g} (≤4.18 numbering); c={c} is the last completed GP; {}",
                if g != c {
                    "a GP is in progress"
                } else {
                    "no GP in progress"
                }
            )
        } else {
            format!(
                "grace-period sequence {g}: counter {} with state bits {} ({})",
                g >> 2,
                g & 3,
                if g & 3 != 0 { "GP in progress" } else { "idle" }
            )
        };
        note(&mut s.notes, "g", g.to_string(), m);
    }
    if let Some(c) = s.c {
        note(
            &mut s.notes,
            "c",
            c.to_string(),
            "last completed grace period (rsp->completed, kernels ≤4.18)",
        );
    }
    if let Some(q) = s.q {
        note(
            &mut s.notes,
            "q",
            q.to_string(),
            format!("{q} RCU callbacks queued across all CPUs"),
        );
    }
    if let Some(n) = s.ncpus {
        note(
            &mut s.notes,
            "ncpus",
            n.to_string(),
            format!("{n} CPUs online (rcu_state.n_online_cpus, printed since ~5.15)"),
        );
    }
    Some(s)
}

/// `P4093`, `P12/1:b..l` tokens.
pub(super) fn parse_task_tokens(s: &str) -> Vec<BlockedTask> {
    s.split_whitespace()
        .filter_map(|tok| {
            let r = tok.strip_prefix('P')?;
            let (pid, more) = match r.split_once('/') {
                Some((p, m)) => (p, Some(m)),
                None => (r, None),
            };
            let pid: u32 = pid.parse().ok()?;
            let (nesting, flags) = match more.and_then(|m| m.split_once(':')) {
                Some((n, f)) => (n.parse().ok(), Some(f.to_string())),
                None => (None, None),
            };
            Some(BlockedTask {
                pid,
                nesting,
                flags,
            })
        })
        .collect()
}

pub(super) fn parse_blocked_line(text: &str, line: usize) -> Option<BlockedTasks> {
    let t = strip_rcu(text);
    let rest = t.strip_prefix("Tasks blocked on level-")?;
    let (level, rest) = rest.split_once(' ')?;
    let level = level.parse().ok();
    let cpus = value_after(rest, "(CPUs").and_then(|v| {
        let (a, b) = v.split_once('-')?;
        Some((
            a.parse().ok()?,
            b.trim_end_matches(['(', ')', ':']).parse().ok()?,
        ))
    });
    let list = rest.split_once("):").map(|x| x.1).unwrap_or("");
    let tasks = parse_task_tokens(list);
    let mut notes = Vec::new();
    let pids: Vec<String> = tasks.iter().map(|t| t.pid.to_string()).collect();
    note(
        &mut notes,
        "tasks",
        list.trim(),
        format!(
            "tasks preempted or blocked inside an RCU read-side critical section that started before this GP (rcu_node ->blkd_tasks from ->gp_tasks){}",
            if pids.is_empty() {
                String::new()
            } else {
                format!(": pid {}", pids.join(", "))
            }
        ),
    );
    for t in &tasks {
        if let Some(f) = &t.flags {
            note(
                &mut notes,
                "task flags",
                format!("P{}/{}:{}", t.pid, t.nesting.unwrap_or(0), f),
                "rcu_read_lock_nesting / b = blocked, q = needs QS, e = expedited hint, l = on blkd list",
            );
        }
    }
    Some(BlockedTasks {
        line,
        level,
        cpus,
        tasks,
        notes,
    })
}

pub(super) fn parse_all_qs_seen(text: &str, line: usize) -> Option<AllQsSeen> {
    let t = strip_rcu(text);
    let rest = t.strip_prefix("All QSes seen, last ")?;
    let (flavor, rest) = rest.split_once(" kthread activity ")?;
    let (delta, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let delta: i64 = delta.trim_end_matches(',').parse().ok()?;
    let (jiffies, gp_activity) = rest
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .and_then(|(pair, _)| pair.split_once('-'))
        .map(|(a, b)| (a.parse().ok(), b.parse().ok()))
        .unwrap_or((None, None));
    let jtnf: Option<u64> =
        value_after(rest, "jiffies_till_next_fqs=").and_then(|v| v.parse().ok());
    let root = value_after(rest, "->qsmask").and_then(parse_hex);
    let mut notes = Vec::new();
    note(
        &mut notes,
        "kthread activity",
        delta.to_string(),
        format!(
            "no CPU or task still owes a quiescent state, yet the GP has not ended: the {flavor} grace-period kthread last did anything {delta} jiffies ago (jiffies - gp_activity)"
        ),
    );
    if let (Some(j), Some(a)) = (jiffies, gp_activity) {
        note(
            &mut notes,
            "jiffies-gp_activity",
            format!("({j}-{a})"),
            "raw jiffies now and rcu_state.gp_activity",
        );
    }
    if let Some(v) = jtnf {
        note(
            &mut notes,
            "jiffies_till_next_fqs",
            v.to_string(),
            format!("the FQS scan period is {v} jiffies"),
        );
    }
    if let Some(m) = root {
        note(
            &mut notes,
            "root ->qsmask",
            format!("{m:#x}"),
            if m == 0 {
                "root rcu_node owes nothing: the GP kthread only has to notice and end the GP"
                    .to_string()
            } else {
                format!("root rcu_node still waits on subtrees {m:#x}")
            },
        );
    }
    Some(AllQsSeen {
        line,
        flavor: flavor.to_string(),
        kthread_inactive_jiffies: delta,
        jiffies,
        gp_activity,
        jiffies_till_next_fqs: jtnf,
        root_qsmask: root,
        notes,
    })
}
