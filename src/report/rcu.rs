//! `rcu`: Tree RCU's grace period, its kthread, the rcu_node tree, one row per CPU, the
//! holdouts and notes.

use super::Report;
use crate::rcu::tree::RcuReport;

impl Report for RcuReport {
    fn text(&self) -> String {
        let mut s = format!(
            "RCU {}: g={} ({}) {} f{:#x}",
            self.name.as_deref().unwrap_or("?"),
            self.gp_seq as i64,
            if self.gp_in_progress {
                "GP in progress"
            } else {
                "idle"
            },
            self.gp_state.as_ref().map_or("?".into(), |g| g.describe()),
            self.gp_flags.unwrap_or(0),
        );
        if let Some(a) = self.gp_age_jiffies {
            s.push_str(&format!(" t={a} jiffies"));
        }
        if let Some(f) = self.fqs {
            s.push_str(&format!(" fqs={f}"));
        }
        if let Some(e) = self.expedited_sequence {
            s.push_str(&format!(" exp s:{e}"));
        }
        s.push('\n');
        if let Some(t) = &self.gp_kthread {
            s.push_str(&format!(
                "  GP kthread {} [{}] ->state={:#x}, last activity {} jiffies ago\n",
                t.short(),
                t.st,
                self.gp_kthread_state.unwrap_or(0),
                self.jiffies_since_gp_activity
                    .map_or("?".into(), |v| v.to_string())
            ));
        }
        if let Some(st) = self.stall_in {
            s.push_str(&format!("  stall check in {st} jiffies\n"));
        }
        s.push_str("  rcu_node  lvl  cpus     qsmask    qsmaskinit  expmask  blocked\n");
        for n in &self.nodes {
            s.push_str(&format!(
                "  {:>8}  {:>3}  {:>3}-{:<3}  {:#9x}  {:#10x}  {:#7x}  {}\n",
                n.index,
                n.level,
                n.grplo,
                n.grphi,
                n.qsmask,
                n.qsmaskinit,
                n.expmask.unwrap_or(0),
                n.blkd_tasks
                    .iter()
                    .map(|t| format!("P{}", t.pid))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        s.push_str("   cpu  gp_seq behind  no_qs  ticks  cbs(D/W/R/N)   nocb              curr\n");
        for c in &self.cpus {
            let nocb = c.nocb.as_ref().map_or("-".to_string(), |n| {
                format!(
                    "{}{}",
                    n.defer_wakeup
                        .as_ref()
                        .and_then(|d| d.name.clone())
                        .unwrap_or_default()
                        .trim_start_matches("RCU_NOCB_WAKE_"),
                    n.bypass_len
                        .filter(|&b| b != 0)
                        .map(|b| format!(" bypass {b}"))
                        .unwrap_or_default()
                )
            });
            s.push_str(&format!(
                "  {:>4}  {:>6} {:>6}  {:>5}  {:>5}  {:>2}/{}/{}/{}/{}  {:<16}  {}\n",
                c.cpu,
                c.gp_seq as i64,
                c.gps_behind,
                match c.cpu_no_qs_norm {
                    Some(true) => "owes",
                    Some(false) => "-",
                    None => "?",
                },
                c.ticks_this_gp.map_or("?".into(), |t| t.to_string()),
                c.cb_len,
                c.cb_segments[0],
                c.cb_segments[1],
                c.cb_segments[2],
                c.cb_segments[3],
                nocb,
                c.curr.as_ref().map_or("?".into(), |t| t.short()),
            ));
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
