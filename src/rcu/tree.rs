//! Tree RCU: `rcu_state` (grace period, GP kthread, FQS, expedited), the `rcu_node` tree
//! (quiescent-state masks, blocked readers), per-CPU `rcu_data` (GP lag, QS flags,
//! callbacks, no-CBs kthreads) and the holdouts of the current grace period, computed as
//! `print_other_cpu_stall()` does (rcu-srcu.md §2.5): bits set in leaf `qsmask`, and the
//! tasks from `gp_tasks` to the end of `blkd_tasks`.
//!
//! Layout notes: one global `rcu_state` with per-CPU `rcu_data` since 4.20 (flavor
//! consolidation, "rcu: Consolidate RCU-sched update-side function definitions" series);
//! before, several `rcu_*_state` variables each with `->rda`. `gp_seq` since 4.19 ("rcu:
//! Move from ->gpnum/->completed to ->gp_seq"); older kernels are read through
//! `gpnum`/`completed`.

use super::segcblist::{SegLayout, walk_segcblist};
use super::{Named, TaskRef, seq_ctr, seq_state};
use crate::addr::Kva;
use crate::kernel::layout::Probe;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;

/// `RCU_GP_*` (kernel/rcu/tree.h; this numbering since 4.19 added ONOFF and INIT, commit
/// "rcu: Add RCU-preempt/RCU-sched GP state names"); used only when the dump lacks
/// `gp_state_names[]`.
pub const GP_STATE_NAMES: [&str; 9] = [
    "RCU_GP_IDLE",
    "RCU_GP_WAIT_GPS",
    "RCU_GP_DONE_GPS",
    "RCU_GP_ONOFF",
    "RCU_GP_INIT",
    "RCU_GP_WAIT_FQS",
    "RCU_GP_DOING_FQS",
    "RCU_GP_CLEANUP",
    "RCU_GP_CLEANED",
];

/// `RCU_NOCB_WAKE_*` (kernel/rcu/tree.h), by generation: 6.2 lazy RCU (`rcu_data.lazy_len`,
/// "rcu: Make call_rcu() lazy to save power") inserted LAZY; 5.5 bypass rework
/// (`rcu_data.nocb_bypass`, "rcu/nocb: Add bypass callback queueing") inserted BYPASS.
pub const NOCB_WAKE_LAZY: [&str; 5] = [
    "RCU_NOCB_WAKE_NOT",
    "RCU_NOCB_WAKE_BYPASS",
    "RCU_NOCB_WAKE_LAZY",
    "RCU_NOCB_WAKE",
    "RCU_NOCB_WAKE_FORCE",
];
pub const NOCB_WAKE_BYPASS: [&str; 4] = [
    "RCU_NOCB_WAKE_NOT",
    "RCU_NOCB_WAKE_BYPASS",
    "RCU_NOCB_WAKE",
    "RCU_NOCB_WAKE_FORCE",
];
pub const NOCB_WAKE_OLD: [&str; 3] = ["RCU_NOCB_WAKE_NOT", "RCU_NOCB_WAKE", "RCU_NOCB_WAKE_FORCE"];

#[derive(Debug, Clone, Serialize)]
pub struct RcuNode {
    pub index: usize,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    pub level: u32,
    pub grplo: i32,
    pub grphi: i32,
    pub gp_seq: u64,
    pub qsmask: u64,
    pub qsmaskinit: u64,
    pub qsmaskinitnext: Option<u64>,
    pub expmask: Option<u64>,
    /// Tasks from `*gp_tasks` to the end of `blkd_tasks`: readers blocking this GP.
    pub gp_tasks: Vec<TaskRef>,
    pub exp_tasks: Vec<TaskRef>,
    pub blkd_tasks: Vec<TaskRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nocb {
    /// Whether the CPU is in `rcu_nocb_mask` (booted with `rcu_nocbs=`): its callbacks are
    /// the kthreads' to invoke. Kernels with no-CBs support spawn the kthreads for every
    /// CPU (to offload at run time), so a kthread alone does not say it. `None`: the mask
    /// could not be read.
    pub offloaded: Option<bool>,
    pub gp_kthread: Option<TaskRef>,
    pub cb_kthread: Option<TaskRef>,
    pub defer_wakeup: Option<Named>,
    pub timer_armed: Option<bool>,
    pub bypass_len: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RcuCpu {
    pub cpu: u32,
    pub online: bool,
    pub gp_seq: u64,
    /// `rcu_seq_ctr(rcu_state.gp_seq − rdp->gp_seq)`: GPs this CPU has not noticed.
    pub gps_behind: u64,
    pub gp_seq_needed: Option<u64>,
    pub cpu_no_qs_norm: Option<bool>,
    pub cpu_no_qs_exp: Option<bool>,
    pub core_needs_qs: Option<bool>,
    pub ticks_this_gp: Option<u64>,
    pub cb_len: i64,
    /// Callbacks by segment (DONE, WAIT, NEXT_READY, NEXT).
    pub cb_segments: [usize; 4],
    pub nocb: Option<Nocb>,
    /// The task on this CPU (`rq->curr`).
    pub curr: Option<TaskRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Holdout {
    pub cpu: u32,
    pub curr: Option<TaskRef>,
    pub ticks_this_gp: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RcuReport {
    pub name: Option<String>,
    #[serde(serialize_with = "super::hex_opt")]
    pub jiffies: Option<u64>,
    pub gp_seq: u64,
    /// GP in progress (`rcu_seq_state(gp_seq) != 0`; ≤4.18 `gpnum != completed`).
    pub gp_in_progress: bool,
    pub gp_state: Option<Named>,
    pub gp_flags: Option<u64>,
    pub gp_kthread: Option<TaskRef>,
    /// The GP kthread's raw `__state`.
    pub gp_kthread_state: Option<u64>,
    pub gp_activity: Option<u64>,
    pub jiffies_since_gp_activity: Option<i64>,
    pub gp_start: Option<u64>,
    pub gp_age_jiffies: Option<i64>,
    pub jiffies_stall: Option<u64>,
    /// `jiffies_stall − jiffies` (negative: a stall warning is due).
    pub stall_in: Option<i64>,
    pub expedited_sequence: Option<u64>,
    /// FQS passes this GP (`n_force_qs − n_force_qs_gpstart`), the stall report's `fqs=`.
    pub fqs: Option<u64>,
    pub nodes: Vec<RcuNode>,
    pub cpus: Vec<RcuCpu>,
    pub holdouts: Vec<Holdout>,
    pub blocked_readers: Vec<TaskRef>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

struct Rd<'k> {
    k: &'k Kernel,
    base: Kva,
    what: &'static str,
}

impl Rd<'_> {
    fn u64(&self, off: Option<u64>) -> Option<u64> {
        self.k.read_u64(self.base.add(off?), self.what).ok()
    }
    fn u32(&self, off: Option<u64>) -> Option<u64> {
        self.k
            .read_u32(self.base.add(off?), self.what)
            .ok()
            .map(u64::from)
    }
    fn u16(&self, off: Option<u64>) -> Option<u64> {
        let mut b = [0u8; 2];
        self.k.read(self.base.add(off?), &mut b, self.what).ok()?;
        Some(u16::from_le_bytes(b) as u64)
    }
    fn u8(&self, off: Option<u64>) -> Option<u64> {
        let mut b = [0u8; 1];
        self.k.read(self.base.add(off?), &mut b, self.what).ok()?;
        Some(b[0] as u64)
    }
    /// An integer member of `size` bytes.
    fn int(&self, off: Option<u64>, size: Option<u64>) -> Option<u64> {
        match size? {
            1 => self.u8(off),
            2 => self.u16(off),
            4 => self.u32(off),
            _ => self.u64(off),
        }
    }
}

fn task_list(k: &Kernel, head: Kva, from: Option<u64>, entry: u64) -> Vec<TaskRef> {
    let walk = k.list_walk(head, "rcu_node.blkd_tasks");
    let mut on = from.is_none();
    let mut out = Vec::new();
    for n in walk.nodes {
        if Some(n.0) == from {
            on = true;
        }
        if on && let Ok(t) = TaskRef::read(k, n.sub(entry)) {
            out.push(t);
        }
    }
    out
}

pub fn rcu_report(k: &Kernel) -> Result<RcuReport, KernelError> {
    let why = "Tree RCU";
    let s = Probe::new(&k.di, "struct rcu_state")?;
    let n = Probe::new(&k.di, "struct rcu_node")?;
    let d = Probe::new(&k.di, "struct rcu_data")?;
    let (state, _) = ["rcu_state", "rcu_preempt_state", "rcu_sched_state"]
        .iter()
        .find_map(|v| k.variable(v).ok())
        .ok_or_else(|| KernelError::NoSymbol("rcu_state".into()))?;
    let rs = Rd {
        k,
        base: state.addr,
        what: "rcu_state",
    };
    let j = k.jiffies();
    let since = |v: Option<u64>| -> Option<i64> { Some(j?.wrapping_sub(v?) as i64) };
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let name = rs
        .u64(s.opt("name"))
        .and_then(|p| k.read_cstr(Kva(p), 32, "rcu_state.name").ok());
    let (gp_seq, in_progress) = match s.opt("gp_seq") {
        Some(o) => {
            let g = rs.u64(Some(o)).unwrap_or(0);
            (g, seq_state(g) != 0)
        }
        None => {
            let g = rs.u64(s.opt("gpnum")).unwrap_or(0);
            let c = rs.u64(s.opt("completed")).unwrap_or(0);
            (g, g != c)
        }
    };
    let gp_state = rs
        .int(s.opt("gp_state"), s.member_size("gp_state"))
        .map(|v| {
            let v = v as i16 as i64;
            Named::lookup(
                k,
                v,
                "gp_state_names",
                "dump:gp_state_names",
                &GP_STATE_NAMES,
            )
        });
    let gp_flags = rs.int(s.opt("gp_flags"), s.member_size("gp_flags"));
    let kt_addr = rs.u64(s.opt("gp_kthread")).filter(|&a| a != 0);
    let gp_kthread = kt_addr.and_then(|a| TaskRef::read(k, Kva(a)).ok());
    let gp_kthread_state = kt_addr.and_then(|a| k.task(Kva(a)).ok()).map(|t| t.state);
    let gp_activity = rs.u64(s.opt("gp_activity"));
    let gp_start = rs.u64(s.opt("gp_start"));
    let jiffies_stall = rs.u64(s.opt("jiffies_stall"));
    let expedited_sequence = rs.u64(s.opt("expedited_sequence"));
    let fqs = match (
        rs.u64(s.opt("n_force_qs")),
        rs.u64(s.opt("n_force_qs_gpstart")),
    ) {
        (Some(a), Some(b)) => Some(a.wrapping_sub(b)),
        _ => None,
    };

    // The rcu_node tree: rcu_state.node[rcu_num_nodes].
    let node0 = state.addr.add(s.off("node", why)?);
    let nsize = n.size();
    let num_nodes = k
        .symbol_addr("rcu_num_nodes")
        .ok()
        .and_then(|a| k.read_u32(a, "rcu_num_nodes").ok())
        .unwrap_or(1)
        .clamp(1, 4096) as usize;
    let entry = Probe::new(&k.di, "struct task_struct")?.opt("rcu_node_entry");
    let blkd = n.opt("blkd_tasks");
    let mut nodes = Vec::new();
    for i in 0..num_nodes {
        let a = node0.add(i as u64 * nsize);
        let r = Rd {
            k,
            base: a,
            what: "rcu_node",
        };
        let ptr = |m: &str| r.u64(n.opt(m)).filter(|&p| p != 0);
        let (gp_tasks, exp_tasks, blkd_tasks) = match (blkd, entry) {
            (Some(b), Some(e)) => {
                let head = a.add(b);
                let gp = ptr("gp_tasks");
                let ex = ptr("exp_tasks");
                (
                    gp.map(|p| task_list(k, head, Some(p), e))
                        .unwrap_or_default(),
                    ex.map(|p| task_list(k, head, Some(p), e))
                        .unwrap_or_default(),
                    task_list(k, head, None, e),
                )
            }
            _ => Default::default(),
        };
        nodes.push(RcuNode {
            index: i,
            addr: a.0,
            level: r.u8(n.opt("level")).unwrap_or(0) as u32,
            grplo: r.u32(n.opt("grplo")).unwrap_or(0) as i32,
            grphi: r.u32(n.opt("grphi")).unwrap_or(0) as i32,
            gp_seq: r.u64(n.opt("gp_seq").or(n.opt("gpnum"))).unwrap_or(0),
            qsmask: r.u64(n.opt("qsmask")).unwrap_or(0),
            qsmaskinit: r.u64(n.opt("qsmaskinit")).unwrap_or(0),
            qsmaskinitnext: r.u64(n.opt("qsmaskinitnext")),
            expmask: r.u64(n.opt("expmask")),
            gp_tasks,
            exp_tasks,
            blkd_tasks,
        });
    }
    let max_level = nodes.iter().map(|n| n.level).max().unwrap_or(0);

    // Per-CPU rcu_data: the `rcu_data` per-CPU variable (4.20+) or `rcu_state->rda`.
    let rda = match k.variable("rcu_data") {
        Ok((o, true)) => Some(o.addr),
        _ => rs.u64(s.opt("rda")).map(Kva),
    };
    let seg = SegLayout::probe(k).ok();
    let cpus_info = k.cpus()?.clone();
    let nocb_names: &[&str] = if d.opt("lazy_len").is_some() {
        &NOCB_WAKE_LAZY
    } else if d.opt("nocb_bypass").is_some() {
        &NOCB_WAKE_BYPASS
    } else {
        &NOCB_WAKE_OLD
    };
    let tl = Probe::new(&k.di, "struct timer_list").ok();
    let rcl = Probe::new(&k.di, "struct rcu_cblist").ok();
    let nocb_mask = nocb_cpus(k, cpus_info.nr_cpu_ids);
    let mut cpus = Vec::new();
    for &cpu in &cpus_info.possible {
        let Some(rda) = rda else { break };
        let rdp = match k.per_cpu(rda, cpu) {
            Ok(a) => a,
            Err(e) => {
                errors.push(format!("cpu {cpu}: {e}"));
                continue;
            }
        };
        let r = Rd {
            k,
            base: rdp,
            what: "rcu_data",
        };
        let cpu_gp_seq = r.u64(d.opt("gp_seq").or(d.opt("gpnum"))).unwrap_or(0);
        let list = seg
            .as_ref()
            .zip(d.opt("cblist"))
            .map(|(l, o)| walk_segcblist(k, l, rdp.add(o), Some(cpu)));
        if let Some(e) = list.as_ref().and_then(|l| l.error.clone()) {
            errors.push(format!("cpu {cpu} callbacks: {e}"));
        }
        let task_at = |m: &str| {
            r.u64(d.opt(m))
                .filter(|&p| p != 0)
                .and_then(|p| TaskRef::read(k, Kva(p)).ok())
        };
        let nocb = d.opt("nocb_cb_kthread").is_some().then(|| Nocb {
            offloaded: nocb_mask.as_ref().map(|m| m.contains(&cpu)),
            gp_kthread: task_at("nocb_gp_kthread"),
            cb_kthread: task_at("nocb_cb_kthread"),
            defer_wakeup: r.u32(d.opt("nocb_defer_wakeup")).map(|v| Named {
                value: v as i32 as i64,
                name: nocb_names.get(v as usize).map(|s| s.to_string()),
                source: "table",
            }),
            timer_armed: tl
                .as_ref()
                .and_then(|tl| Some(d.opt("nocb_timer")? + tl.opt("entry.pprev")?))
                .and_then(|o| r.u64(Some(o)))
                .map(|p| p != 0),
            bypass_len: rcl
                .as_ref()
                .and_then(|c| Some(d.opt("nocb_bypass")? + c.opt("len")?))
                .and_then(|o| r.u64(Some(o)))
                .map(|v| v as i64),
        });
        cpus.push(RcuCpu {
            cpu,
            online: cpus_info.online.contains(&cpu),
            gp_seq: cpu_gp_seq,
            gps_behind: seq_ctr(gp_seq.wrapping_sub(cpu_gp_seq)),
            gp_seq_needed: r.u64(d.opt("gp_seq_needed")),
            cpu_no_qs_norm: r.u8(d.opt("cpu_no_qs.b.norm")).map(|v| v != 0),
            cpu_no_qs_exp: r.u8(d.opt("cpu_no_qs.b.exp")).map(|v| v != 0),
            core_needs_qs: r.u8(d.opt("core_needs_qs")).map(|v| v != 0),
            ticks_this_gp: r.u64(d.opt("ticks_this_gp")),
            cb_len: list.as_ref().map_or(0, |l| l.len),
            cb_segments: list.as_ref().map_or([0; 4], |l| l.counts),
            nocb,
            curr: k.cpu_curr(cpu).ok().and_then(|t| TaskRef::read(k, t).ok()),
        });
    }

    // Holdouts (print_other_cpu_stall): leaf qsmask bits, then blocked readers.
    let mut holdouts = Vec::new();
    let mut blocked_readers = Vec::new();
    if in_progress {
        for nd in nodes.iter().filter(|nd| nd.level == max_level) {
            for bit in 0..64 {
                if nd.qsmask & (1 << bit) == 0 {
                    continue;
                }
                let cpu = (nd.grplo + bit) as u32;
                let c = cpus.iter().find(|c| c.cpu == cpu);
                holdouts.push(Holdout {
                    cpu,
                    curr: c.and_then(|c| c.curr.clone()),
                    ticks_this_gp: c.and_then(|c| c.ticks_this_gp),
                });
            }
            blocked_readers.extend(nd.gp_tasks.iter().cloned());
        }
    }
    let jiffies_since_gp_activity = since(gp_activity);
    if in_progress {
        if holdouts.is_empty() && blocked_readers.is_empty() {
            notes.push(format!(
                "all quiescent states seen but the GP has not ended: the GP kthread must run \
                 (last activity {} jiffies ago)",
                jiffies_since_gp_activity.map_or("?".into(), |v| v.to_string())
            ));
        }
        for h in &holdouts {
            notes.push(format!(
                "CPU {} owes a quiescent state{}",
                h.cpu,
                h.curr
                    .as_ref()
                    .map(|t| format!(" (running {})", t.short()))
                    .unwrap_or_default()
            ));
        }
        for t in &blocked_readers {
            notes.push(format!(
                "task {} is a preempted reader blocking the GP",
                t.short()
            ));
        }
    }
    // rcu_is_gp_kthread_starving() (kernel/rcu/tree_stall.h): more than 2 * HZ idle.
    if let Some(a) = jiffies_since_gp_activity
        && let Some(hz) = k.hz()
        && a > 2 * hz as i64
        && in_progress
    {
        notes.push(format!("GP kthread inactive for {a} jiffies (starved?)"));
    }
    if nodes.is_empty() {
        errors.push("no rcu_node read".into());
    }
    Ok(RcuReport {
        name,
        jiffies: j,
        gp_seq,
        gp_in_progress: in_progress,
        gp_state,
        gp_flags,
        gp_kthread,
        gp_kthread_state,
        gp_activity,
        jiffies_since_gp_activity,
        gp_start,
        gp_age_jiffies: if in_progress { since(gp_start) } else { None },
        jiffies_stall,
        stall_in: match (jiffies_stall, j) {
            (Some(s), Some(j)) => Some(s.wrapping_sub(j) as i64),
            _ => None,
        },
        expedited_sequence,
        fqs,
        nodes,
        cpus,
        holdouts,
        blocked_readers,
        notes,
        errors,
    })
}

/// The CPUs of `rcu_nocb_mask` (`cpumask_var_t`: a pointer to the mask with
/// CONFIG_CPUMASK_OFFSTACK, the mask itself without), `None` when it cannot be read.
fn nocb_cpus(k: &Kernel, nr: u32) -> Option<Vec<u32>> {
    let (obj, _) = k.variable("rcu_nocb_mask").ok()?;
    let ty = k.di.strip(obj.ty);
    let at = match k.di.ty(ty).ok()?.kind {
        crate::debuginfo::TypeKind::Pointer => {
            let p = k.read_ptr(obj.addr, "rcu_nocb_mask").ok()?;
            (p.0 != 0).then_some(p)?
        }
        _ => obj.addr,
    };
    let mut buf = vec![0u8; (nr as usize).div_ceil(64) * 8];
    k.read(at, &mut buf, "rcu_nocb_mask bits").ok()?;
    Some(
        (0..nr)
            .filter(|&c| buf[(c / 8) as usize] & (1 << (c % 8)) != 0)
            .collect(),
    )
}
