//! SRCU domains: grace-period phase, reader counters per index, callbacks, the GP work item
//! and the tasks waiting. Entry points: [`SrcuDecoder::decode`] for one `srcu_struct`,
//! [`srcu_report`] for every domain quiesce can find (see `srcu_find`).

use super::segcblist::{Callback, SegLayout, walk_chain, walk_segcblist};
pub use super::srcu_layout::{Counters, SrcuLayout};
use super::waiters::CompletionLayout;
use super::work::{WorkStatus, Worker, work_status, workers};
use super::{Named, TaskRef, seq_ctr, seq_state, ulong_cmp_lt};
use crate::addr::Kva;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;
use std::sync::OnceLock;

/// `SRCU_STATE_IDLE/SCAN1/SCAN2` (include/linux/srcutree.h, #defines since Tree SRCU in 4.12).
pub const PHASE_NAMES: [&str; 4] = ["IDLE", "SCAN1", "SCAN2", "?3"];

/// `SRCU_SIZE_*` (kernel/rcu/srcutree.c, 5.19 "srcu: Dynamically allocate srcu_node array"
/// and the conversion series after it); only used when the dump lacks
/// `srcu_size_state_name[]`.
pub const SIZE_STATE_NAMES: [&str; 9] = [
    "SRCU_SIZE_SMALL",
    "SRCU_SIZE_ALLOC",
    "SRCU_SIZE_WAIT_BARRIER",
    "SRCU_SIZE_WAIT_CALL",
    "SRCU_SIZE_WAIT_CBS1",
    "SRCU_SIZE_WAIT_CBS2",
    "SRCU_SIZE_WAIT_CBS3",
    "SRCU_SIZE_WAIT_CBS4",
    "SRCU_SIZE_BIG",
];

/// `SRCU_READ_FLAVOR_*` bit names (include/linux/srcu.h; `#define`s, not in DWARF).
///
/// NORMAL 0x1 and NMI 0x2 since 6.13 ("srcu: Make SRCU readers track flavor"). Bit 0x4
/// was SRCU-lite and 0x8 SRCU-fast until SRCU-lite was removed and "srcu: Add
/// SRCU_READ_FLAVOR_FAST_UPDOWN CPP macro" made FAST 0x4 and FAST_UPDOWN 0x8, in the
/// same cycle as DEFINE_SRCU_FAST() added the per-domain `u8 srcu_struct.srcu_reader_flavor`.
/// So the numbering is told by that member's presence (`ssp_flavor_member`); 7.2's
/// `tracepoint_srcu` and `rcu_tasks_trace_srcu_struct` carry 0x4 = FAST.
pub fn flavor_names(v: u64, ssp_flavor_member: bool) -> Vec<&'static str> {
    let bits: [(u64, &str); 4] = if ssp_flavor_member {
        [
            (0x1, "NORMAL"),
            (0x2, "NMI"),
            (0x4, "FAST"),
            (0x8, "FAST_UPDOWN"),
        ]
    } else {
        [(0x1, "NORMAL"), (0x2, "NMI"), (0x4, "LITE"), (0x8, "FAST")]
    };
    let mut out: Vec<&'static str> = bits
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v & !0xf != 0 {
        out.push("?");
    }
    out
}

/// One CPU's reader counters (Tree, Classic).
#[derive(Debug, Clone, Serialize)]
pub struct SrcuCpu {
    pub cpu: u32,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub sdp: u64,
    pub locks: [u64; 2],
    /// `None` for ≤4.10 Classic, which keeps one net count per index.
    pub unlocks: Option<[u64; 2]>,
    /// Callbacks queued on this CPU's list.
    pub callbacks: i64,
    pub cblist_invoking: Option<bool>,
    pub reader_flavor: Option<u64>,
}

/// Where a domain was found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum Found {
    /// A vmlinux variable of type `struct srcu_struct`.
    Vmlinux,
    /// `mod->srcu_struct_ptrs[]` of this module.
    Module(String),
    /// On the stack of this `synchronize_srcu()` waiter.
    WaiterStack(i32),
    /// Given by the user.
    Address,
}

#[derive(Debug, Clone, Serialize)]
pub struct SrcuDomain {
    pub name: String,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    pub found: Vec<Found>,
    pub implementation: &'static str,
    pub generation: &'static str,
    /// `srcu_gp_seq` (Tree), `completed` (Classic), `srcu_idx` (Tiny).
    pub gp_seq: u64,
    /// Tree: `IDLE`, `SCAN1`, `SCAN2`; Classic: `IDLE`/`RUNNING`; Tiny: `IDLE`/`WAITING`.
    pub phase: String,
    pub gp_seq_needed: Option<u64>,
    pub gp_seq_needed_exp: Option<u64>,
    /// Grace periods requested beyond the current one (Tree: `(needed − seq) / 4`).
    pub gp_requested: bool,
    pub gp_start: Option<u64>,
    pub gp_age_jiffies: Option<i64>,
    /// The index new readers take.
    pub current_idx: u32,
    /// The index the running grace period waits to drain (`!current` while SCAN1/SCAN2).
    pub waits_on_idx: Option<u32>,
    /// Readers inside per index: Σlocks − Σunlocks (signed).
    pub readers: [i64; 2],
    pub cpus: Vec<SrcuCpu>,
    pub size_state: Option<Named>,
    pub reader_flavor: Option<u64>,
    /// `SRCU_READ_FLAVOR_*` names of the bits of `reader_flavor`.
    pub reader_flavor_names: Vec<&'static str>,
    /// An `srcu_struct` no updater has initialized yet (`srcu_gp_seq_needed` state ≠ 0).
    pub initialized: bool,
    pub callbacks: Vec<Callback>,
    pub gp_work: Option<WorkStatus>,
    /// Tasks the queued `wakeme_after_rcu` callbacks will wake (synchronize_srcu callers).
    pub waiters: Vec<TaskRef>,
    /// What stands out, one line each.
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

impl SrcuDomain {
    /// Callbacks by function name, as `{name: count}` in first-seen order.
    pub fn callback_functions(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for c in &self.callbacks {
            let n = c.func.describe();
            match out.iter_mut().find(|(m, _)| *m == n) {
                Some((_, c)) => *c += 1,
                None => out.push((n, 1)),
            }
        }
        out
    }
}

/// Decodes `srcu_struct`s of one kernel; layouts probed once.
pub struct SrcuDecoder<'k> {
    pub k: &'k Kernel,
    pub layout: SrcuLayout,
    seg: SegLayout,
    comp: Option<CompletionLayout>,
    jiffies: Option<u64>,
    workers: OnceLock<Vec<Worker>>,
}

impl<'k> SrcuDecoder<'k> {
    pub fn new(k: &'k Kernel) -> Result<SrcuDecoder<'k>, KernelError> {
        Ok(SrcuDecoder {
            k,
            layout: SrcuLayout::probe(k)?,
            seg: SegLayout::probe(k)?,
            comp: CompletionLayout::probe(k).ok(),
            jiffies: k.jiffies(),
            workers: OnceLock::new(),
        })
    }

    fn workers(&self) -> &[Worker] {
        self.workers
            .get_or_init(|| workers(self.k).unwrap_or_default())
    }

    /// Is `addr` plausibly a live Tree `srcu_struct`? 6.4+: `ssp->srcu_sup->srcu_ssp ==
    /// ssp`; before: `per_cpu_ptr(ssp->sda, cpu)->ssp == ssp` on some possible CPU.
    /// Classic and Tiny have no back-pointer: never validated (false).
    pub fn validate(&self, addr: Kva) -> bool {
        let k = self.k;
        let SrcuLayout::Tree(t) = &self.layout else {
            return false;
        };
        if let (Some(sup), Some(back)) = (t.sup, t.sup_ssp) {
            return k
                .read_ptr(addr.add(sup), "srcu_struct.srcu_sup")
                .and_then(|u| k.read_ptr(u.add(back), "srcu_usage.srcu_ssp"))
                .is_ok_and(|p| p == addr);
        }
        let Some(sd_ssp) = t.sd_ssp else { return false };
        let Ok(sda) = k.read_ptr(addr.add(t.sda), "srcu_struct.sda") else {
            return false;
        };
        let cpus = k.cpus().map(|c| c.possible.clone()).unwrap_or_default();
        cpus.iter().take(4).any(|&cpu| {
            k.per_cpu(sda, cpu)
                .and_then(|sdp| Ok(k.read_ptr(sdp.add(sd_ssp), "srcu_data.ssp")?))
                .is_ok_and(|p| p == addr)
        })
    }

    pub fn decode(&self, addr: Kva, name: &str, found: Vec<Found>) -> SrcuDomain {
        let mut d = SrcuDomain {
            name: name.to_string(),
            addr: addr.0,
            found,
            implementation: self.layout.implementation(),
            generation: self.layout.generation(),
            gp_seq: 0,
            phase: "?".into(),
            gp_seq_needed: None,
            gp_seq_needed_exp: None,
            gp_requested: false,
            gp_start: None,
            gp_age_jiffies: None,
            current_idx: 0,
            waits_on_idx: None,
            readers: [0; 2],
            cpus: Vec::new(),
            size_state: None,
            reader_flavor: None,
            reader_flavor_names: Vec::new(),
            initialized: true,
            callbacks: Vec::new(),
            gp_work: None,
            waiters: Vec::new(),
            notes: Vec::new(),
            errors: Vec::new(),
        };
        let r = match &self.layout {
            SrcuLayout::Tree(t) => self.tree(t, addr, &mut d),
            SrcuLayout::Tiny(t) => self.tiny(t, addr, &mut d),
            SrcuLayout::Classic(c) => self.classic(c, addr, &mut d),
        };
        if let Err(e) = r {
            d.errors.push(e.to_string());
        }
        self.finish(&mut d);
        d
    }

    fn cpus(&self) -> Vec<u32> {
        self.k
            .cpus()
            .map(|c| c.possible.clone())
            .unwrap_or_else(|_| vec![0])
    }

    fn tree(
        &self,
        t: &super::srcu_layout::TreeLayout,
        ssp: Kva,
        d: &mut SrcuDomain,
    ) -> Result<(), KernelError> {
        let k = self.k;
        let upd = match t.sup {
            Some(o) => k.read_ptr(ssp.add(o), "srcu_struct.srcu_sup")?,
            None => ssp,
        };
        d.gp_seq = k.read_u64(upd.add(t.gp_seq), "srcu_gp_seq")?;
        let needed = k.read_u64(upd.add(t.gp_seq_needed), "srcu_gp_seq_needed")?;
        d.gp_seq_needed = Some(needed);
        d.gp_seq_needed_exp = t
            .gp_seq_needed_exp
            .and_then(|o| k.read_u64(upd.add(o), "srcu_gp_seq_needed_exp").ok());
        d.phase = PHASE_NAMES[seq_state(d.gp_seq) as usize].to_string();
        // check_init_srcu_struct(): a static srcu_struct starts with a non-zero state in
        // srcu_gp_seq_needed until the first updater initializes it.
        d.initialized = seq_state(needed) == 0;
        d.gp_requested = d.initialized && ulong_cmp_lt(d.gp_seq, needed);
        if let Some(o) = t.gp_start {
            let s = k.read_u64(upd.add(o), "srcu_gp_start")?;
            d.gp_start = Some(s);
            if seq_state(d.gp_seq) != 0 {
                d.gp_age_jiffies = self.jiffies.map(|j| j.wrapping_sub(s) as i64);
            }
        }
        if let Some(o) = t.size_state {
            let v = k.read_i32(upd.add(o), "srcu_size_state")?;
            d.size_state = Some(Named::lookup(
                k,
                v as i64,
                "srcu_size_state_name",
                "dump:srcu_size_state_name",
                &SIZE_STATE_NAMES,
            ));
        }
        let sda = k.read_ptr(ssp.add(t.sda), "srcu_struct.sda")?;
        d.current_idx = match (t.idx, t.ctrp, &t.counters) {
            (_, Some(o), Counters::Ctrs { ctrs, size, .. }) => {
                // 6.15+: srcu_ctrp = &this_cpu(sda)->srcu_ctrs[idx], a __percpu address.
                let p = k.read_u64(ssp.add(o), "srcu_struct.srcu_ctrp")?;
                let i = p.wrapping_sub(sda.0 + ctrs) / size.max(&1);
                if i > 1 {
                    d.errors.push(format!(
                        "srcu_ctrp {p:#x} is not &sda->srcu_ctrs[0|1] (sda {:#x})",
                        sda.0
                    ));
                }
                (i & 1) as u32
            }
            (Some(o), _, _) => k.read_u32(ssp.add(o), "srcu_struct.srcu_idx")? & 1,
            _ => 0,
        };
        if seq_state(d.gp_seq) != 0 {
            d.waits_on_idx = Some(d.current_idx ^ 1);
        }
        if let Some(o) = t.ssp_flavor {
            let mut b = [0u8; 1];
            if k.read(ssp.add(o), &mut b, "srcu_struct.srcu_reader_flavor")
                .is_ok()
            {
                d.reader_flavor = Some(b[0] as u64);
            }
        }
        let mut flavor_or = None;
        for cpu in self.cpus() {
            let sdp = match k.per_cpu(sda, cpu) {
                Ok(a) => a,
                Err(e) => {
                    d.errors.push(format!("cpu {cpu}: {e}"));
                    continue;
                }
            };
            let mut buf = vec![0u8; t.sd_size.clamp(64, 4096) as usize];
            if let Err(e) = k.read(sdp, &mut buf, "srcu_data") {
                d.errors.push(format!("cpu {cpu}: {e}"));
                continue;
            }
            let u64_at = |o: u64| {
                buf.get(o as usize..o as usize + 8)
                    .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                    .unwrap_or(0)
            };
            let (locks, unlocks) = match &t.counters {
                Counters::Arrays { lock, unlock, elt } => (
                    [u64_at(*lock), u64_at(lock + elt)],
                    [u64_at(*unlock), u64_at(unlock + elt)],
                ),
                Counters::Ctrs {
                    ctrs,
                    size,
                    locks,
                    unlocks,
                } => (
                    [u64_at(ctrs + locks), u64_at(ctrs + size + locks)],
                    [u64_at(ctrs + unlocks), u64_at(ctrs + size + unlocks)],
                ),
            };
            let flavor = t.sd_flavor.map(|(o, sz)| match sz {
                1 => buf.get(o as usize).copied().unwrap_or(0) as u64,
                _ => u64_at(o) & 0xffff_ffff,
            });
            if let Some(f) = flavor {
                flavor_or = Some(flavor_or.unwrap_or(0) | f);
            }
            let list = walk_segcblist(k, &self.seg, sdp.add(t.sd_cblist), Some(cpu));
            if let Some(e) = &list.error {
                d.errors.push(format!("cpu {cpu} callbacks: {e}"));
            }
            d.cpus.push(SrcuCpu {
                cpu,
                sdp: sdp.0,
                locks,
                unlocks: Some(unlocks),
                callbacks: list.len,
                cblist_invoking: t
                    .sd_invoking
                    .map(|o| buf.get(o as usize).copied().unwrap_or(0) != 0),
                reader_flavor: flavor,
            });
            d.callbacks.extend(list.callbacks);
        }
        if d.reader_flavor.is_none() {
            d.reader_flavor = flavor_or;
        }
        if let Some(f) = d.reader_flavor {
            d.reader_flavor_names = flavor_names(f, t.ssp_flavor.is_some());
        }
        d.gp_work = Some(work_status(
            k,
            upd.add(t.work),
            true,
            self.jiffies,
            self.workers(),
        )?);
        Ok(())
    }

    fn classic(
        &self,
        c: &super::srcu_layout::ClassicLayout,
        sp: Kva,
        d: &mut SrcuDomain,
    ) -> Result<(), KernelError> {
        let k = self.k;
        d.gp_seq = k.read_u64(sp.add(c.completed), "srcu_struct.completed")?;
        let mut running = [0u8; 1];
        k.read(sp.add(c.running), &mut running, "srcu_struct.running")?;
        let running = running[0] != 0;
        d.phase = if running { "RUNNING" } else { "IDLE" }.into();
        d.gp_requested = running;
        d.current_idx = (d.gp_seq & 1) as u32;
        // srcu_advance_batches(): both waiting steps drain (completed & 1) ^ 1.
        if running {
            d.waits_on_idx = Some(d.current_idx ^ 1);
        }
        let pcr = k.read_ptr(sp.add(c.per_cpu_ref), "srcu_struct.per_cpu_ref")?;
        for cpu in self.cpus() {
            let a = k.per_cpu(pcr, cpu)?;
            let l0 = k.read_u64(a.add(c.lock), "srcu lock_count[0]")?;
            let l1 = k.read_u64(a.add(c.lock + 8), "srcu lock_count[1]")?;
            let unlocks = match c.unlock {
                Some(u) => Some([
                    k.read_u64(a.add(u), "srcu unlock_count[0]")?,
                    k.read_u64(a.add(u + 8), "srcu unlock_count[1]")?,
                ]),
                None => None,
            };
            d.cpus.push(SrcuCpu {
                cpu,
                sdp: a.0,
                locks: [l0, l1],
                unlocks,
                callbacks: 0,
                cblist_invoking: None,
                reader_flavor: None,
            });
        }
        for (name, off) in &c.batches {
            // struct rcu_batch { head; tail }: head first.
            if let Some(e) = walk_chain(k, &self.seg, sp.add(*off), name, &mut d.callbacks) {
                d.errors.push(format!("{name}: {e}"));
            }
        }
        d.gp_work = Some(work_status(
            k,
            sp.add(c.work),
            true,
            self.jiffies,
            self.workers(),
        )?);
        Ok(())
    }

    fn tiny(
        &self,
        t: &super::srcu_layout::TinyLayout,
        ssp: Kva,
        d: &mut SrcuDomain,
    ) -> Result<(), KernelError> {
        let k = self.k;
        let mut b = [0u8; 4];
        k.read(ssp.add(t.lock_nesting), &mut b, "srcu_lock_nesting")?;
        let nesting = [
            i16::from_le_bytes([b[0], b[1]]) as i64,
            i16::from_le_bytes([b[2], b[3]]) as i64,
        ];
        let mut ib = [0u8; 2];
        k.read(ssp.add(t.idx), &mut ib, "srcu_idx")?;
        let idx = u16::from_le_bytes(ib) as u64;
        d.gp_seq = idx;
        let byte = |o: Option<u64>, what: &str| -> Option<bool> {
            let mut b = [0u8; 1];
            k.read(ssp.add(o?), &mut b, what).ok()?;
            Some(b[0] != 0)
        };
        let waiting = byte(t.gp_waiting, "srcu_gp_waiting").unwrap_or(false);
        let gp_running = byte(t.gp_running, "srcu_gp_running").unwrap_or(false);
        if t.idx_max.is_some() {
            // Polling generation: odd srcu_idx = GP in progress, waiting on (idx & 2) >> 1;
            // readers take ((idx + 1) & 2) >> 1.
            d.current_idx = (((idx + 1) & 2) >> 1) as u32;
            if idx & 1 == 1 {
                d.waits_on_idx = Some(((idx & 2) >> 1) as u32);
            }
            let mut mb = [0u8; 2];
            if let Some(o) = t.idx_max
                && k.read(ssp.add(o), &mut mb, "srcu_idx_max").is_ok()
            {
                let max = u16::from_le_bytes(mb) as u64;
                d.gp_seq_needed = Some(max);
                d.gp_requested = (max.wrapping_sub(idx) as u16 as i16) > 0;
            }
        } else {
            // Toggling generation: srcu_drive_gp() flips srcu_idx, then waits on the old one.
            d.current_idx = (idx & 1) as u32;
            if waiting {
                d.waits_on_idx = Some(d.current_idx ^ 1);
            }
            d.gp_requested = gp_running;
        }
        d.phase = if d.waits_on_idx.is_some() {
            "WAITING"
        } else if gp_running {
            "RUNNING"
        } else {
            "IDLE"
        }
        .into();
        d.readers = nesting;
        if let Some(e) = walk_chain(
            k,
            &self.seg,
            ssp.add(t.cb_head),
            "srcu_cb_head",
            &mut d.callbacks,
        ) {
            d.errors.push(format!("srcu_cb_head: {e}"));
        }
        d.gp_work = Some(work_status(
            k,
            ssp.add(t.work),
            false,
            self.jiffies,
            self.workers(),
        )?);
        Ok(())
    }

    /// Sums, waiter tasks and notes common to every layout.
    fn finish(&self, d: &mut SrcuDomain) {
        if d.implementation != "tiny" {
            for i in 0..2 {
                let l: u64 = d.cpus.iter().fold(0, |a, c| a.wrapping_add(c.locks[i]));
                let u: u64 = d
                    .cpus
                    .iter()
                    .fold(0, |a, c| a.wrapping_add(c.unlocks.map_or(0, |u| u[i])));
                d.readers[i] = l.wrapping_sub(u) as i64;
            }
        }
        if let Some(comp) = &self.comp {
            for cb in &mut d.callbacks {
                if cb.func.name() == Some("wakeme_after_rcu") {
                    cb.wakes = comp.synchronize_waiters(self.k, Kva(cb.addr));
                    for t in &cb.wakes {
                        if !d.waiters.contains(t) {
                            d.waiters.push(t.clone());
                        }
                    }
                }
            }
        }
        if let Some(i) = d.waits_on_idx {
            let n = d.readers[i as usize];
            if n != 0 {
                d.notes.push(format!(
                    "grace period ({}) waits for {n} reader{} on index {i} to leave",
                    d.phase,
                    if n == 1 { "" } else { "s" }
                ));
            } else {
                d.notes.push(format!(
                    "grace period ({}) has no readers left on index {i}: the GP work must run",
                    d.phase
                ));
            }
        }
        if let Some(w) = &d.gp_work
            && d.gp_requested
            && w.state == "idle"
        {
            d.notes.push(
                "LOST: a grace period is requested but the GP work is neither queued, \
                 timer-armed nor running"
                    .into(),
            );
        }
        if let Some(w) = &d.gp_work
            && let Some(e) = w.expires_in
            && e < -(10 * 100)
        {
            d.notes.push(format!(
                "GP work timer expired {} jiffies ago and is still armed: timers not running on cpu {}?",
                -e,
                w.timer_cpu.map_or("?".into(), |c| c.to_string())
            ));
        }
        if !d.initialized {
            d.notes.push(
                "never initialized by an updater (static, no call_srcu/synchronize_srcu yet)"
                    .into(),
            );
        }
        if let (Some(needed), true) = (d.gp_seq_needed, d.implementation == "tree" && d.initialized)
        {
            let gps = seq_ctr(needed.wrapping_sub(d.gp_seq & !3));
            if gps > 0 && d.gp_requested {
                d.notes.push(format!(
                    "grace periods needed up to {} ({gps} from the current counter)",
                    // Signed, as the kernel prints these counters (%ld): they start
                    // at SRCU_GP_SEQ_INITIAL_VAL = -400 since 6.8 or so.
                    needed as i64
                ));
            }
        }
    }
}

/// Every SRCU domain quiesce can find, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct SrcuReport {
    #[serde(serialize_with = "super::hex_opt")]
    pub jiffies: Option<u64>,
    pub domains: Vec<SrcuDomain>,
    pub errors: Vec<String>,
}

/// Find and decode every domain (`filter`: a name or address picks one).
pub fn srcu_report(k: &Kernel, filter: Option<&str>) -> Result<SrcuReport, KernelError> {
    srcu_report_with(k, filter, None)
}

/// [`srcu_report`] reusing backtraces the caller already has (the wait graph unwinds every
/// task once; finding domains from `synchronize_srcu` waiters needs the same stacks).
pub fn srcu_report_with(
    k: &Kernel,
    filter: Option<&str>,
    traces: Option<&[crate::unwind::task::Backtrace]>,
) -> Result<SrcuReport, KernelError> {
    let dec = SrcuDecoder::new(k)?;
    let (found, errors) = super::srcu_find::find_domains(&dec, traces);
    let want_addr = filter.and_then(|f| {
        let f = f.trim_start_matches("0x");
        u64::from_str_radix(f, 16).ok()
    });
    let mut domains = Vec::new();
    for f in found {
        if let Some(name) = filter
            && f.name != name
            && Some(f.addr.0) != want_addr
        {
            continue;
        }
        domains.push(dec.decode(f.addr, &f.name, f.how));
    }
    if domains.is_empty()
        && let Some(a) = want_addr
    {
        domains.push(dec.decode(Kva(a), &format!("{a:#x}"), vec![Found::Address]));
    }
    Ok(SrcuReport {
        jiffies: dec.jiffies,
        domains,
        errors,
    })
}
