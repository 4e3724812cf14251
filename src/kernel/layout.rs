//! The one place where struct members are probed. [`Layout::probe`] resolves every member
//! quiesce reads, once, from the debug info; absent members are `Option`s, checked where
//! used. No code elsewhere looks up a member by name in a loop.

use super::KernelError;
use crate::debuginfo::{DebugInfo, TypeId};

/// Offsets of `struct task_struct` members.
#[derive(Debug, Clone)]
pub struct TaskLayout {
    pub ty: TypeId,
    pub size: u64,
    /// How many bytes from the start of a task_struct cover every member read here. Less
    /// than `size`: the real object can be shorter than DWARF's `sizeof` (x86 sizes the
    /// trailing FPU state at boot, `arch_task_struct_size`), and the bytes past it may be
    /// in a page the dump excluded.
    pub read_len: u64,
    pub tasks: u64,
    pub pid: u64,
    pub tgid: u64,
    pub comm: u64,
    pub comm_len: u64,
    /// `__state` (5.14+, commit 2f064a59a11f "sched: Change task_struct::state") or `state`.
    pub state: u64,
    /// Width in bytes of the state member (unsigned int `__state`, long `state`).
    pub state_size: u64,
    pub exit_state: u64,
    pub real_parent: u64,
    pub parent: u64,
    pub mm: u64,
    pub flags: u64,
    pub stack: u64,
    /// `on_cpu` (SMP kernels): set while the task runs on a CPU.
    pub on_cpu: Option<u64>,
    /// CPU the task last ran on: `thread_info.cpu` (5.16+, commit bcf9033e5449 moved it
    /// there on x86) or `task_struct.cpu` (4.9–5.15 with THREAD_INFO_IN_TASK).
    pub cpu: Option<u64>,
    /// Saved kernel stack pointer of a sleeping task (`thread.sp`).
    pub thread_sp: u64,
    /// Thread list: `thread_node` in `signal->thread_head` (4.x+) …
    pub thread_node: Option<u64>,
    pub signal: u64,
    pub signal_thread_head: Option<u64>,
    /// … or the older `thread_group` list.
    pub thread_group: Option<u64>,
    /// `last_run`-style timestamp for `ps -l`: `sched_info.last_arrival`.
    pub last_arrival: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct RqLayout {
    pub ty: TypeId,
    pub curr: u64,
    pub idle: u64,
    pub nr_running: u64,
    pub clock: Option<u64>,
}

/// Every layout quiesce needs to list tasks, CPUs and the log.
#[derive(Debug, Clone)]
pub struct Layout {
    pub task: TaskLayout,
    pub rq: RqLayout,
    pub list_next: u64,
    pub list_prev: u64,
}

/// Member offset helpers over one struct type.
pub struct Probe<'a> {
    pub di: &'a DebugInfo,
    pub ty: TypeId,
    pub name: &'static str,
}

impl<'a> Probe<'a> {
    pub fn new(di: &'a DebugInfo, name: &'static str) -> Result<Self, KernelError> {
        let ty = di
            .find_type(name)
            .map_err(|e| KernelError::Debug(format!("{name}: {e}")))?;
        Ok(Probe { di, ty, name })
    }

    pub fn off(&self, path: &str, why: &'static str) -> Result<u64, KernelError> {
        self.opt(path).ok_or_else(|| KernelError::NoMember {
            strukt: self.name.to_string(),
            member: path.to_string(),
            why,
        })
    }

    pub fn opt(&self, path: &str) -> Option<u64> {
        self.di.member(self.ty, path).ok().map(|m| m.offset)
    }

    /// The first of several alternative member paths that exists, with its index.
    pub fn first_of(&self, paths: &[&str], why: &'static str) -> Result<(usize, u64), KernelError> {
        paths
            .iter()
            .enumerate()
            .find_map(|(i, p)| self.opt(p).map(|o| (i, o)))
            .ok_or_else(|| KernelError::NoMember {
                strukt: self.name.to_string(),
                member: paths.join("|"),
                why,
            })
    }

    pub fn size(&self) -> u64 {
        self.di.sizeof(self.ty).unwrap_or(0)
    }

    pub fn member_size(&self, path: &str) -> Option<u64> {
        let m = self.di.member(self.ty, path).ok()?;
        self.di.sizeof(m.ty)
    }
}

impl Layout {
    pub fn probe(di: &DebugInfo) -> Result<Layout, KernelError> {
        let t = Probe::new(di, "struct task_struct")?;
        let (state_idx, state) = t.first_of(&["__state", "state"], "task state")?;
        let state_size = t
            .member_size(if state_idx == 0 { "__state" } else { "state" })
            .unwrap_or(8);
        let task = TaskLayout {
            ty: t.ty,
            size: t.size(),
            tasks: t.off("tasks", "the task list")?,
            pid: t.off("pid", "pids")?,
            tgid: t.off("tgid", "thread groups")?,
            comm: t.off("comm", "command names")?,
            comm_len: t.member_size("comm").unwrap_or(16),
            state,
            state_size,
            exit_state: t.off("exit_state", "task state")?,
            real_parent: t.off("real_parent", "parent pids")?,
            parent: t.off("parent", "parent pids")?,
            mm: t.off("mm", "kernel thread detection")?,
            flags: t.off("flags", "task flags")?,
            stack: t.off("stack", "kernel stacks")?,
            on_cpu: t.opt("on_cpu"),
            cpu: t.opt("thread_info.cpu").or_else(|| t.opt("cpu")),
            // x86_64 `thread.sp`; arm64 keeps it in `thread.cpu_context.sp` (cpu_switch_to,
            // arch/arm64/kernel/entry.S).
            thread_sp: match t.opt("thread.sp") {
                Some(o) => o,
                None => t.off("thread.cpu_context.sp", "saved stack pointers")?,
            },
            thread_node: t.opt("thread_node"),
            signal: t.off("signal", "thread groups")?,
            signal_thread_head: Probe::new(di, "struct signal_struct")
                .ok()
                .and_then(|s| s.opt("thread_head")),
            thread_group: t.opt("thread_group"),
            last_arrival: t.opt("sched_info.last_arrival"),
            read_len: 0,
        };
        let mut task = task;
        task.read_len = [
            task.tasks + 16,
            task.pid + 4,
            task.tgid + 4,
            task.comm + task.comm_len,
            task.state + task.state_size,
            task.exit_state + 4,
            task.real_parent + 8,
            task.parent + 8,
            task.mm + 8,
            task.flags + 4,
            task.stack + 8,
            task.thread_sp + 8,
            task.signal + 8,
        ]
        .into_iter()
        .chain(task.on_cpu.map(|o| o + 4))
        .chain(task.cpu.map(|o| o + 4))
        .chain(task.thread_node.map(|o| o + 16))
        .chain(task.thread_group.map(|o| o + 16))
        .chain(task.last_arrival.map(|o| o + 8))
        .max()
        .unwrap_or(task.size)
        .min(task.size);
        let r = Probe::new(di, "struct rq")?;
        let rq = RqLayout {
            ty: r.ty,
            curr: r.off("curr", "running tasks")?,
            idle: r.off("idle", "idle tasks")?,
            nr_running: r.off("nr_running", "run queues")?,
            clock: r.opt("clock"),
        };
        let l = Probe::new(di, "struct list_head")?;
        Ok(Layout {
            task,
            rq,
            list_next: l.off("next", "lists")?,
            list_prev: l.off("prev", "lists")?,
        })
    }
}
