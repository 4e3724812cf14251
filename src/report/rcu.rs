//! `rcu`: Tree RCU's grace period, its kthread, the rcu_node tree, one row per CPU, the
//! holdouts and notes. The phrases here ([`gp_line`], [`stall_line`], [`qs_owed`],
//! [`nocb`]) are the RCU pane's too, so both say the same thing.

use super::Report;
use crate::rcu::tree::{RcuCpu, RcuReport};

/// What each `RCU_GP_*` state of the GP kthread means.
pub fn gp_state_meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "RCU_GP_IDLE" => "idle",
        "RCU_GP_WAIT_GPS" => "waits for a grace period to be requested",
        "RCU_GP_DONE_GPS" => "a grace period was requested",
        "RCU_GP_ONOFF" => "applies CPU hotplug to the rcu_node tree",
        "RCU_GP_INIT" => "starts a grace period",
        "RCU_GP_WAIT_FQS" => "waits to force quiescent states",
        "RCU_GP_DOING_FQS" => "forces quiescent states",
        "RCU_GP_CLEANUP" => "ends a grace period",
        "RCU_GP_CLEANED" => "ended a grace period",
        _ => return None,
    })
}

/// `RCU_GP_WAIT_FQS (waits to force quiescent states)`, or the bare number when the
/// state has no name.
pub fn gp_state_text(r: &RcuReport) -> Option<String> {
    let s = r.gp_state.as_ref()?;
    Some(match &s.name {
        Some(n) => match gp_state_meaning(n) {
            Some(m) => format!("{n} ({m})"),
            None => n.clone(),
        },
        None => format!("state {}", s.value),
    })
}

/// The grace period in one phrase: `grace period running for 3606 jiffies (gp_seq -871,
/// 1732 FQS passes)` or `no grace period running (gp_seq -920)`.
pub fn gp_line(r: &RcuReport) -> String {
    if r.gp_in_progress {
        let mut s = String::from("grace period running");
        if let Some(a) = r.gp_age_jiffies {
            s.push_str(&format!(" for {a} jiffies"));
        }
        s.push_str(&format!(" (gp_seq {}", r.gp_seq as i64));
        if let Some(f) = r.fqs {
            s.push_str(&format!(", {f} FQS passes"));
        }
        s.push(')');
        s
    } else {
        format!("no grace period running (gp_seq {})", r.gp_seq as i64)
    }
}

/// When the stall warning is due, only while a grace period runs (between grace periods
/// `jiffies_stall` is left over from the last one and means nothing).
pub fn stall_line(r: &RcuReport) -> Option<String> {
    if !r.gp_in_progress {
        return None;
    }
    let s = r.stall_in?;
    Some(if s >= 0 {
        format!("stall warning due in {s} jiffies")
    } else {
        format!("stall warning due {} jiffies ago", -s)
    })
}

/// Whether the CPU still owes the current grace period a quiescent state.
pub fn qs_owed(c: &RcuCpu) -> &'static str {
    match c.cpu_no_qs_norm {
        Some(true) => "yes",
        Some(false) => "-",
        None => "?",
    }
}

/// The CPU's no-CBs state: `-` when its callbacks are not offloaded, else the kthreads
/// and a pending deferred wakeup or bypass list.
pub fn nocb(c: &RcuCpu) -> String {
    let Some(n) = &c.nocb else {
        return "-".into();
    };
    let mut parts = vec![];
    match (n.offloaded, &n.cb_kthread) {
        (Some(false), _) => {}
        (_, Some(t)) => parts.push(format!("offloaded to {}", t.short())),
        (Some(true), None) => parts.push("offloaded".into()),
        (None, None) => {}
    }
    if let Some(w) = n
        .defer_wakeup
        .as_ref()
        .and_then(|d| d.name.as_deref())
        .filter(|w| *w != "RCU_NOCB_WAKE_NOT")
    {
        parts.push(format!(
            "wake {} deferred",
            w.trim_start_matches("RCU_NOCB_WAKE_").to_ascii_lowercase()
        ));
    }
    if let Some(b) = n.bypass_len.filter(|&b| b != 0) {
        parts.push(format!("{b} bypass"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// Callbacks by segment as `done/wait/ready/next`.
pub fn segments(c: &RcuCpu) -> String {
    let s = c.cb_segments;
    format!("{}/{}/{}/{}", s[0], s[1], s[2], s[3])
}

/// The CPU table's header and rows (the CLI's and the pane's).
pub const CPU_HEADER: &str =
    "CPU   gp_seq  behind  QS owed  ticks   cbs  done/wait/ready/next  no-CBs  running";

pub fn cpu_row(c: &RcuCpu) -> String {
    format!(
        "{:>3}  {:>7}  {:>6}  {:>7}  {:>5}  {:>4}  {:<20}  {:<6}  {}{}",
        c.cpu,
        c.gp_seq as i64,
        c.gps_behind,
        qs_owed(c),
        c.ticks_this_gp.map_or("?".into(), |t| t.to_string()),
        c.cb_len,
        segments(c),
        nocb(c),
        c.curr.as_ref().map_or("?".into(), |t| t.short()),
        if c.online { "" } else { "  (offline)" }
    )
}

impl Report for RcuReport {
    fn text(&self) -> String {
        let mut s = format!(
            "RCU {}: {}\n",
            self.name.as_deref().unwrap_or("?"),
            gp_line(self)
        );
        if let Some(t) = &self.gp_kthread {
            s.push_str(&format!("  GP kthread {} [{}]", t.short(), t.st));
            if let Some(st) = gp_state_text(self) {
                s.push_str(&format!(": {st}"));
            }
            if let Some(j) = self.jiffies_since_gp_activity {
                s.push_str(&format!(", last active {j} jiffies ago"));
            }
            s.push('\n');
        }
        let mut extra = vec![];
        if let Some(st) = stall_line(self) {
            extra.push(st);
        }
        if let Some(f) = self.gp_flags.filter(|&f| f != 0) {
            extra.push(format!("gp_flags {f:#x}"));
        }
        if let Some(e) = self.expedited_sequence {
            extra.push(format!("expedited sequence {e}"));
        }
        if !extra.is_empty() {
            s.push_str(&format!("  {}\n", extra.join(", ")));
        }
        s.push_str("  rcu_node  level  cpus  qsmask  qsmaskinit  expmask  blocked readers\n");
        for n in &self.nodes {
            s.push_str(&format!(
                "  {:>8}  {:>5}  {:>4}  {:>6}  {:>10}  {:>7}  {}\n",
                n.index,
                n.level,
                format!("{}-{}", n.grplo, n.grphi),
                format!("{:#x}", n.qsmask),
                format!("{:#x}", n.qsmaskinit),
                format!("{:#x}", n.expmask.unwrap_or(0)),
                if n.blkd_tasks.is_empty() {
                    "-".to_string()
                } else {
                    n.blkd_tasks
                        .iter()
                        .map(|t| t.short())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            ));
        }
        s.push_str(&format!("  {CPU_HEADER}\n"));
        for c in &self.cpus {
            s.push_str(&format!("  {}\n", cpu_row(c)));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        for e in &self.errors {
            s.push_str(&format!("  PARTIAL: {e}\n"));
        }
        s
    }
}
