//! CPUs of the dumped machine: which exist (`__cpu_possible_mask`, `__cpu_present_mask`,
//! `__cpu_online_mask`),
//! their per-CPU offsets (`__per_cpu_offset[]`) and run queues.

use super::{Kernel, KernelError};
use crate::addr::Kva;

#[derive(Debug, Clone)]
pub struct Cpus {
    /// `nr_cpu_ids`.
    pub nr_cpu_ids: u32,
    /// CPUs in `__cpu_possible_mask`, ascending.
    pub possible: Vec<u32>,
    /// CPUs in `__cpu_present_mask` (crash's `sys` counts these).
    pub present: Vec<u32>,
    pub online: Vec<u32>,
    offsets: Vec<u64>,
}

impl Cpus {
    pub fn read(k: &Kernel) -> Result<Cpus, KernelError> {
        let nr_cpu_ids = match k.symbol_addr("nr_cpu_ids") {
            Ok(a) => k.read_u32(a, "nr_cpu_ids")?,
            // Uniprocessor kernels have no nr_cpu_ids variable.
            Err(_) => 1,
        };
        // Bound what a corrupt value can make us read.
        let nr = nr_cpu_ids.clamp(1, 8192);
        let offsets = match k.symbol_addr("__per_cpu_offset") {
            Ok(a) => {
                let mut buf = vec![0u8; nr as usize * 8];
                k.read(a, &mut buf, "__per_cpu_offset[]")?;
                buf.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            }
            Err(_) => vec![0],
        };
        let mask = |name: &str| -> Vec<u32> {
            let Ok(a) = k.symbol_addr(name) else {
                return (0..nr).collect();
            };
            let words = (nr as usize).div_ceil(64);
            let mut buf = vec![0u8; words * 8];
            if k.read(a, &mut buf, name).is_err() {
                return (0..nr).collect();
            }
            (0..nr)
                .filter(|&c| buf[(c / 8) as usize] & (1 << (c % 8)) != 0)
                .collect()
        };
        Ok(Cpus {
            nr_cpu_ids: nr,
            possible: mask("__cpu_possible_mask"),
            present: mask("__cpu_present_mask"),
            online: mask("__cpu_online_mask"),
            offsets,
        })
    }

    /// CPUs known only by their per-CPU offsets (found by `kernel::unlisted` where the
    /// symbol table has no `__per_cpu_offset`, `nr_cpu_ids` or CPU masks): CPUs
    /// `0..offsets.len()`, all taken as possible, present and online.
    pub(super) fn from_offsets(offsets: Vec<u64>) -> Cpus {
        let all: Vec<u32> = (0..offsets.len() as u32).collect();
        Cpus {
            nr_cpu_ids: offsets.len() as u32,
            possible: all.clone(),
            present: all.clone(),
            online: all,
            offsets,
        }
    }

    pub fn per_cpu_offset(&self, cpu: u32) -> Option<u64> {
        self.offsets.get(cpu as usize).copied()
    }
}

impl Kernel {
    /// The `NT_PRSTATUS` note (registers at the crash) of `cpu`.
    ///
    /// A dump has one note per online CPU, in CPU order, so position names the CPU. When
    /// some are missing (a damaged dump), position no longer does: QEMU's notes still say
    /// which vCPU they are of (`pr_pid` is the vCPU index + 1, QEMU's `dump.c`), a kernel's
    /// do not (`pr_pid` is the running task's, 0 for every idle CPU), and then no note is
    /// used rather than another CPU's.
    pub fn prstatus_of(&self, cpu: u32) -> Option<crate::dump::PrStatus> {
        let notes = self.dump.prstatus();
        let online = self.cpus().map_or(notes.len(), |c| c.online.len());
        if notes.len() >= online {
            return notes.get(cpu as usize).cloned();
        }
        let mut pids: Vec<u32> = notes.iter().map(|n| n.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        let by_vcpu =
            pids.len() == notes.len() && pids.iter().all(|&p| p >= 1 && p as usize <= online);
        by_vcpu
            .then(|| notes.iter().find(|n| n.pid == cpu + 1).cloned())
            .flatten()
    }

    /// A warning when the CPUs' registers at the crash are missing: no `NT_PRSTATUS` note
    /// at all (a live kernel has none to record: no warning), or fewer than online CPUs.
    pub fn prstatus_warning(&self) -> Option<String> {
        let notes = self.dump.prstatus().len();
        if notes == 0 {
            return (self.dump.format() != crate::dump::DumpFormat::Kcore).then(|| {
                "no NT_PRSTATUS note in the dump: the registers of the tasks running at the \
                 crash are unknown, so their backtraces begin at their last saved context \
                 (stale for a running task)"
                    .to_string()
            });
        }
        let online = self.cpus().ok()?.online.len();
        (notes < online).then(|| {
            format!(
                "{notes} NT_PRSTATUS notes for {online} online CPUs: the CPUs without one \
                 have no registers at the crash, and their running tasks' backtraces begin \
                 at their last saved context"
            )
        })
    }

    /// Address of CPU `cpu`'s `struct rq`.
    pub fn runqueue(&self, cpu: u32) -> Result<Kva, KernelError> {
        let rq = self
            .di
            .find_variable("runqueues")
            .map_err(|e| KernelError::Debug(e.to_string()))?;
        self.per_cpu(self.percpu_ptr_of_link(rq.addr), cpu)
    }

    /// The task running on `cpu` at dump time (`rq->curr`).
    pub fn cpu_curr(&self, cpu: u32) -> Result<Kva, KernelError> {
        let l = self.layout()?;
        let rq = self.runqueue(cpu)?;
        Ok(self.read_ptr(rq.add(l.rq.curr), "rq.curr")?)
    }

    /// The idle task of `cpu` (`rq->idle`).
    pub fn cpu_idle(&self, cpu: u32) -> Result<Kva, KernelError> {
        let l = self.layout()?;
        let rq = self.runqueue(cpu)?;
        Ok(self.read_ptr(rq.add(l.rq.idle), "rq.idle")?)
    }
}
