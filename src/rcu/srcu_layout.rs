//! Where SRCU keeps its state, decided by which members the debug info has.
//!
//! | members present | layout |
//! |---|---|
//! | `srcu_struct.per_cpu_ref` | Classic SRCU (kernel/rcu/srcu.c, ≤4.11; opt-in in 4.12) |
//! | `srcu_struct.srcu_lock_nesting` | Tiny SRCU (4.12+, `CONFIG_TINY_SRCU`) |
//! | `srcu_struct.sda` | Tree SRCU (4.12+) |
//! | `srcu_struct.srcu_sup` | update-side fields in `struct srcu_usage` (6.4, commit "srcu: Begin offloading srcu_struct fields to srcu_update") |
//! | `srcu_data.srcu_ctrs` | `struct srcu_ctr srcu_ctrs[2]` and `srcu_struct.srcu_ctrp` (6.15, "srcu: Make Tree SRCU updates independent of ->srcu_idx") |
//! | `srcu_data.srcu_lock_count` | `unsigned long`/`atomic_long_t [2]` counters (atomic since 6.2, "srcu: Convert ->srcu_lock_count and ->srcu_unlock_count to atomic"; same width either way) |

use crate::kernel::layout::Probe;
use crate::kernel::{Kernel, KernelError};

#[derive(Debug, Clone)]
pub enum SrcuLayout {
    Tree(TreeLayout),
    Tiny(TinyLayout),
    Classic(ClassicLayout),
}

#[derive(Debug, Clone)]
pub enum Counters {
    /// `srcu_lock_count[2]`, `srcu_unlock_count[2]` with element size.
    Arrays { lock: u64, unlock: u64, elt: u64 },
    /// `srcu_ctrs[2].{srcu_locks, srcu_unlocks}`.
    Ctrs {
        ctrs: u64,
        size: u64,
        locks: u64,
        unlocks: u64,
    },
}

#[derive(Debug, Clone)]
pub struct TreeLayout {
    /// `srcu_struct.srcu_sup` (6.4+); the update-side offsets below are then into
    /// `struct srcu_usage`, else into `srcu_struct`.
    pub sup: Option<u64>,
    /// `srcu_usage.srcu_ssp` back-pointer (6.4+).
    pub sup_ssp: Option<u64>,
    pub gp_seq: u64,
    pub gp_seq_needed: u64,
    pub gp_seq_needed_exp: Option<u64>,
    pub gp_start: Option<u64>,
    /// `srcu_size_state` (5.19+, "srcu: Dynamically allocate srcu_node array").
    pub size_state: Option<u64>,
    pub work: u64,
    /// `srcu_struct.srcu_idx` (≤6.14) or `srcu_struct.srcu_ctrp` (6.15+).
    pub idx: Option<u64>,
    pub ctrp: Option<u64>,
    pub sda: u64,
    /// `u8 srcu_struct.srcu_reader_flavor` (DEFINE_SRCU_FAST era).
    pub ssp_flavor: Option<u64>,
    pub counters: Counters,
    pub sd_size: u64,
    pub sd_cblist: u64,
    pub sd_invoking: Option<u64>,
    /// `srcu_data.ssp` (~5.1+) / `.sp`.
    pub sd_ssp: Option<u64>,
    /// `srcu_data.srcu_reader_flavor` (6.13+) or `srcu_nmi_safety` (6.2–6.12).
    pub sd_flavor: Option<(u64, u64)>,
    pub sd_nmi_safety: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct TinyLayout {
    pub lock_nesting: u64,
    pub idx: u64,
    pub idx_size: u64,
    /// `srcu_idx_max`: the polling-API generation (~5.12) where `srcu_idx` counts GPs.
    pub idx_max: Option<u64>,
    pub gp_running: Option<u64>,
    pub gp_waiting: Option<u64>,
    pub cb_head: u64,
    pub work: u64,
}

#[derive(Debug, Clone)]
pub struct ClassicLayout {
    pub completed: u64,
    pub per_cpu_ref: u64,
    pub running: u64,
    /// (name, offset of `struct rcu_batch`) for batch_queue, batch_check0/1, batch_done.
    pub batches: Vec<(&'static str, u64)>,
    pub work: u64,
    /// 4.11 `srcu_array {lock_count[2], unlock_count[2]}`; ≤4.10 `srcu_struct_array
    /// {c[2], seq[2]}` (net count only: unlock offset `None`).
    pub lock: u64,
    pub unlock: Option<u64>,
}

impl SrcuLayout {
    pub fn probe(k: &Kernel) -> Result<SrcuLayout, KernelError> {
        let why = "SRCU";
        let s = Probe::new(&k.di, "struct srcu_struct")?;
        if s.opt("per_cpu_ref").is_some() {
            let mut batches = Vec::new();
            for b in ["batch_queue", "batch_check0", "batch_check1", "batch_done"] {
                batches.push((b, s.off(b, why)?));
            }
            let (lock, unlock) = match Probe::new(&k.di, "struct srcu_array") {
                Ok(a) => (a.off("lock_count", why)?, Some(a.off("unlock_count", why)?)),
                Err(_) => {
                    let a = Probe::new(&k.di, "struct srcu_struct_array")?;
                    (a.off("c", why)?, None)
                }
            };
            return Ok(SrcuLayout::Classic(ClassicLayout {
                completed: s.off("completed", why)?,
                per_cpu_ref: s.off("per_cpu_ref", why)?,
                running: s.off("running", why)?,
                batches,
                work: s.off("work", why)?,
                lock,
                unlock,
            }));
        }
        if s.opt("srcu_lock_nesting").is_some() {
            return Ok(SrcuLayout::Tiny(TinyLayout {
                lock_nesting: s.off("srcu_lock_nesting", why)?,
                idx: s.off("srcu_idx", why)?,
                idx_size: s.member_size("srcu_idx").unwrap_or(2),
                idx_max: s.opt("srcu_idx_max"),
                gp_running: s.opt("srcu_gp_running"),
                gp_waiting: s.opt("srcu_gp_waiting"),
                cb_head: s.off("srcu_cb_head", why)?,
                work: s.off("srcu_work", why)?,
            }));
        }
        let sup = s.opt("srcu_sup");
        let usage = if sup.is_some() {
            Some(Probe::new(&k.di, "struct srcu_usage")?)
        } else {
            None
        };
        let u = usage.as_ref().unwrap_or(&s);
        let d = Probe::new(&k.di, "struct srcu_data")?;
        let counters = if let Some(ctrs) = d.opt("srcu_ctrs") {
            let c = Probe::new(&k.di, "struct srcu_ctr")?;
            Counters::Ctrs {
                ctrs,
                size: c.size(),
                locks: c.off("srcu_locks", why)?,
                unlocks: c.off("srcu_unlocks", why)?,
            }
        } else {
            Counters::Arrays {
                lock: d.off("srcu_lock_count", why)?,
                unlock: d.off("srcu_unlock_count", why)?,
                elt: d.member_size("srcu_lock_count").unwrap_or(16) / 2,
            }
        };
        Ok(SrcuLayout::Tree(TreeLayout {
            sup,
            sup_ssp: usage.as_ref().and_then(|u| u.opt("srcu_ssp")),
            gp_seq: u.off("srcu_gp_seq", why)?,
            gp_seq_needed: u.off("srcu_gp_seq_needed", why)?,
            gp_seq_needed_exp: u.opt("srcu_gp_seq_needed_exp"),
            gp_start: u.opt("srcu_gp_start"),
            size_state: u.opt("srcu_size_state"),
            work: u.off("work", why)?,
            idx: s.opt("srcu_idx"),
            ctrp: s.opt("srcu_ctrp"),
            sda: s.off("sda", why)?,
            ssp_flavor: s.opt("srcu_reader_flavor"),
            counters,
            sd_size: d.size(),
            sd_cblist: d.off("srcu_cblist", why)?,
            sd_invoking: d.opt("srcu_cblist_invoking"),
            sd_ssp: d.first_of(&["ssp", "sp"], why).ok().map(|(_, o)| o),
            sd_flavor: d
                .opt("srcu_reader_flavor")
                .map(|o| (o, d.member_size("srcu_reader_flavor").unwrap_or(4))),
            sd_nmi_safety: d.opt("srcu_nmi_safety"),
        }))
    }

    pub fn implementation(&self) -> &'static str {
        match self {
            SrcuLayout::Tree(_) => "tree",
            SrcuLayout::Tiny(_) => "tiny",
            SrcuLayout::Classic(_) => "classic",
        }
    }

    /// A short description of the generation, for the report header.
    pub fn generation(&self) -> &'static str {
        match self {
            SrcuLayout::Tree(t) => match (&t.counters, t.sup.is_some(), t.size_state.is_some()) {
                (Counters::Ctrs { .. }, _, _) => "tree, srcu_usage + srcu_ctrs (6.15+)",
                (_, true, _) => "tree, srcu_usage split (6.4-6.14)",
                (_, false, true) => "tree, srcu_node pointer + size state (5.19-6.3)",
                (_, false, false) => "tree, fields in srcu_struct (4.12-5.18)",
            },
            SrcuLayout::Tiny(t) if t.idx_max.is_some() => "tiny, polling srcu_idx (~5.12+)",
            SrcuLayout::Tiny(_) => "tiny, toggling srcu_idx (4.12-~5.11)",
            SrcuLayout::Classic(c) if c.unlock.is_some() => "classic, srcu_array (4.11)",
            SrcuLayout::Classic(_) => "classic, srcu_struct_array c[]/seq[] (<=4.10)",
        }
    }
}
