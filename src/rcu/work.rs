//! Work items: is a `struct delayed_work` pending, is its timer armed, is a worker running
//! it, or is it lost?
//!
//! Bits of `work_struct.data` come from the kernel's `enum work_bits` /
//! `WORK_STRUCT_*_BIT` enumerators, read from the debug info (PENDING is bit 0 in every
//! kernel). A timer is armed while `timer.entry.pprev != NULL` (`timer_pending()`); its CPU
//! is `timer.flags & TIMER_CPUMASK` (0x3ffff, a `#define` since 4.8, commit 500462a9de65
//! "timers: Switch to a non-cascading wheel").
//! Running: a kworker (`PF_WQ_WORKER`) whose `struct worker` has `current_work == &work`;
//! the worker is `kthread->data`, and the `struct kthread` is `task->worker_private` (5.17+,
//! "kthread: Generalize pf_io_worker so it can point to struct kthread") or
//! `task->set_child_tid` (before).

use super::TaskRef;
use crate::addr::Kva;
use crate::kernel::layout::Probe;
use crate::kernel::tasks::PF_WQ_WORKER;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;

pub const TIMER_CPUMASK: u64 = 0x3ffff;

/// A kworker and the work it is executing.
#[derive(Debug, Clone, Serialize)]
pub struct Worker {
    pub task: TaskRef,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub worker: u64,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub current_work: u64,
    pub current_func: Option<String>,
}

/// Every kworker with its `struct worker` (those whose worker does not read are skipped).
pub fn workers(k: &Kernel) -> Result<Vec<Worker>, KernelError> {
    workers_of(k, &k.tasks()?.tasks)
}

/// [`workers`] among tasks already read (the wait graph has the task list: walking 10 000
/// tasks again was a fifth of `explain`).
pub fn workers_of(
    k: &Kernel,
    tasks: &[crate::kernel::tasks::Task],
) -> Result<Vec<Worker>, KernelError> {
    let why = "workqueue workers";
    let t = Probe::new(&k.di, "struct task_struct")?;
    let (_, kthread_at) = t.first_of(&["worker_private", "set_child_tid"], why)?;
    let kt = Probe::new(&k.di, "struct kthread")?;
    let data = kt.off("data", why)?;
    let w = Probe::new(&k.di, "struct worker")?;
    let cur_work = w.off("current_work", why)?;
    let cur_func = w.off("current_func", why)?;
    let mut out = Vec::new();
    for task in tasks {
        if task.flags & PF_WQ_WORKER == 0 {
            continue;
        }
        let Ok(kthread) = k.read_ptr(Kva(task.addr + kthread_at), "task_struct.worker_private")
        else {
            continue;
        };
        let Ok(worker) = k.read_ptr(kthread.add(data), "kthread.data") else {
            continue;
        };
        if worker.0 == 0 {
            continue;
        }
        let current_work = k
            .read_u64(worker.add(cur_work), "worker.current_work")
            .unwrap_or(0);
        let func = k
            .read_u64(worker.add(cur_func), "worker.current_func")
            .unwrap_or(0);
        out.push(Worker {
            task: TaskRef {
                addr: task.addr,
                pid: task.pid,
                comm: task.comm.clone(),
                st: task.st,
            },
            worker: worker.0,
            current_work,
            current_func: (func != 0).then(|| super::symbolize(k, func)).flatten(),
        });
    }
    Ok(out)
}

/// State of a `struct delayed_work` (or a bare `work_struct` when `timer` is `None`).
#[derive(Debug, Clone, Serialize)]
pub struct WorkStatus {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    pub func: Option<String>,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub data: u64,
    /// `WORK_STRUCT_PENDING`: queued, or its timer armed.
    pub pending: bool,
    pub timer_armed: bool,
    pub timer_expires: Option<u64>,
    /// `expires − jiffies` (negative: expired that long ago).
    pub expires_in: Option<i64>,
    pub timer_cpu: Option<u32>,
    /// Workers executing it now.
    pub running: Vec<Worker>,
    /// One word: `running`, `timer`, `queued`, `idle`.
    pub state: &'static str,
}

impl WorkStatus {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} work {:#x} ({}): ",
            self.state,
            self.addr,
            self.func.as_deref().unwrap_or("no function set")
        );
        if self.pending {
            s.push_str("PENDING");
        } else {
            s.push_str("not pending");
        }
        if self.timer_armed {
            s.push_str(&format!(
                ", timer armed on cpu {} expires {}",
                self.timer_cpu.map_or("?".into(), |c| c.to_string()),
                match self.expires_in {
                    Some(d) if d >= 0 => format!("in {d} jiffies"),
                    Some(d) => format!("{} jiffies AGO (timer not firing?)", -d),
                    None => "?".into(),
                }
            ));
        }
        for w in &self.running {
            s.push_str(&format!(", running on {}", w.task.short()));
        }
        s
    }
}

/// Read the work item at `work` (a `delayed_work` when `delayed`).
pub fn work_status(
    k: &Kernel,
    work: Kva,
    delayed: bool,
    jiffies: Option<u64>,
    workers: &[Worker],
) -> Result<WorkStatus, KernelError> {
    let why = "work items";
    let ws = Probe::new(&k.di, "struct work_struct")?;
    let data = k.read_u64(work.add(ws.off("data", why)?), "work_struct.data")?;
    let func = k.read_u64(work.add(ws.off("func", why)?), "work_struct.func")?;
    let pending_bit =
        k.di.find_enumerator("WORK_STRUCT_PENDING_BIT")
            .map(|(v, _)| v as u32)
            .unwrap_or(0);
    let pending = data & (1 << pending_bit) != 0;
    let (mut timer_armed, mut timer_expires, mut timer_cpu) = (false, None, None);
    if delayed {
        let dw = Probe::new(&k.di, "struct delayed_work")?;
        let tl = Probe::new(&k.di, "struct timer_list")?;
        let timer = work.add(dw.off("timer", why)?);
        let pprev = k.read_u64(
            timer.add(tl.off("entry.pprev", why)?),
            "delayed_work.timer.entry.pprev",
        )?;
        timer_armed = pprev != 0;
        if timer_armed {
            timer_expires =
                Some(k.read_u64(timer.add(tl.off("expires", why)?), "timer_list.expires")?);
            timer_cpu = tl
                .opt("flags")
                .and_then(|o| k.read_u32(timer.add(o), "timer_list.flags").ok())
                .map(|f| (f as u64 & TIMER_CPUMASK) as u32);
        }
    }
    let running: Vec<Worker> = workers
        .iter()
        .filter(|w| w.current_work == work.0)
        .cloned()
        .collect();
    let state = if !running.is_empty() {
        "running"
    } else if timer_armed {
        "timer"
    } else if pending {
        "queued"
    } else {
        "idle"
    };
    Ok(WorkStatus {
        addr: work.0,
        func: super::symbolize(k, func),
        data,
        pending,
        timer_armed,
        timer_expires,
        expires_in: match (timer_expires, jiffies) {
            (Some(e), Some(j)) => Some(e.wrapping_sub(j) as i64),
            _ => None,
        },
        timer_cpu,
        running,
        state,
    })
}
