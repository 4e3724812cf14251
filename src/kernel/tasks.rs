//! Tasks: every `task_struct` reachable from the dump, the way crash's task table has them
//! (the idle task of each CPU, then every thread of every process on `init_task.tasks`),
//! and the state letters crash prints.

use super::{Kernel, KernelError};
use crate::addr::Kva;
use serde::Serialize;
use std::collections::HashSet;

/// Task state bits (include/linux/sched.h). These are `#define`s, so DWARF does not carry
/// them; the values below hold from 4.14 (commit 92c4bc9f9cd9 renumbered them) to today.
pub mod state {
    pub const RUNNING: u64 = 0x0;
    pub const INTERRUPTIBLE: u64 = 0x1;
    pub const UNINTERRUPTIBLE: u64 = 0x2;
    pub const STOPPED: u64 = 0x4;
    pub const TRACED: u64 = 0x8;
    pub const EXIT_DEAD: u64 = 0x10;
    pub const EXIT_ZOMBIE: u64 = 0x20;
    pub const PARKED: u64 = 0x40;
    pub const DEAD: u64 = 0x80;
    pub const WAKEKILL: u64 = 0x100;
    pub const WAKING: u64 = 0x200;
    pub const NOLOAD: u64 = 0x400;
    pub const NEW: u64 = 0x800;
    pub const IDLE: u64 = UNINTERRUPTIBLE | NOLOAD;
    /// The bit names, for decoding a raw state in explanations.
    pub const NAMES: &[(u64, &str)] = &[
        (INTERRUPTIBLE, "TASK_INTERRUPTIBLE"),
        (UNINTERRUPTIBLE, "TASK_UNINTERRUPTIBLE"),
        (STOPPED, "__TASK_STOPPED"),
        (TRACED, "__TASK_TRACED"),
        (EXIT_DEAD, "EXIT_DEAD"),
        (EXIT_ZOMBIE, "EXIT_ZOMBIE"),
        (PARKED, "TASK_PARKED"),
        (DEAD, "TASK_DEAD"),
        (WAKEKILL, "TASK_WAKEKILL"),
        (WAKING, "TASK_WAKING"),
        (NOLOAD, "TASK_NOLOAD"),
        (NEW, "TASK_NEW"),
    ];
}

/// `PF_KTHREAD` (include/linux/sched.h, unchanged since 2.6.27).
pub const PF_KTHREAD: u64 = 0x0020_0000;
/// `PF_WQ_WORKER`: the task is a workqueue worker.
pub const PF_WQ_WORKER: u64 = 0x0000_0020;

/// One task, as `ps` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Task {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    pub pid: i32,
    pub tgid: i32,
    pub ppid: i32,
    pub cpu: u32,
    /// `__state` / `state` as read.
    pub state: u64,
    pub exit_state: u64,
    /// crash's two-letter state (RU, IN, UN, ID, ZO, ST, TR, DE, WA, PA, NE).
    pub st: &'static str,
    pub comm: String,
    pub flags: u64,
    pub kthread: bool,
    /// The task is `rq->curr` of its CPU (crash marks these with `>`).
    pub active: bool,
    /// `sched_info.last_arrival` (ns of rq clock), when the kernel has it.
    pub last_arrival: Option<u64>,
    /// How long a task that is not running has been off the CPU, in ns: see
    /// [`Kernel::sched_clock_now`] for the clock and why. Set by [`Kernel::tasks`] (it
    /// needs every CPU's run queue), `None` for running tasks and where the kernel has no
    /// `sched_info.last_arrival` (`CONFIG_SCHED_INFO` off).
    pub blocked_ns: Option<u64>,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub stack: u64,
    /// The saved stack pointer (`thread.sp`; arm64 `thread.cpu_context.sp`) as read with
    /// the rest of the task, 0 when not read: the unwinder starts from it without reading
    /// the task_struct's page again (for 10 000 tasks, long evicted from the page cache).
    #[serde(skip)]
    pub saved_sp: u64,
}

/// crash's state letters for a `__state | exit_state` value (crash task.c
/// `task_state_string`).
pub fn state_letters(state: u64, exit_state: u64) -> &'static str {
    let s = state | exit_state;
    if s & (state::EXIT_ZOMBIE) != 0 {
        return "ZO";
    }
    if s & (state::EXIT_DEAD | state::DEAD) != 0 {
        return "DE";
    }
    if s == state::RUNNING {
        return "RU";
    }
    if s & state::INTERRUPTIBLE != 0 {
        return "IN";
    }
    if s & state::UNINTERRUPTIBLE != 0 {
        return if s & state::NOLOAD != 0 { "ID" } else { "UN" };
    }
    if s & state::STOPPED != 0 {
        return "ST";
    }
    if s & state::TRACED != 0 {
        return "TR";
    }
    if s & state::PARKED != 0 {
        return "PA";
    }
    if s & state::WAKING != 0 {
        return "WA";
    }
    if s & state::NEW != 0 {
        return "NE";
    }
    "??"
}

/// drgn's `task_state_to_char` letter (R S D T t X Z P I), for comparison and JSON.
pub fn state_char(state: u64, exit_state: u64) -> char {
    let s = (state | exit_state) & 0x7f;
    if state & state::IDLE == state::IDLE {
        return 'I';
    }
    const CHARS: &[u8] = b"RSDTtXZP";
    if s == 0 {
        return 'R';
    }
    let bit = 63 - s.leading_zeros() as usize + 1;
    CHARS.get(bit).map(|&c| c as char).unwrap_or('?')
}

/// How long `t` has been off the CPU at scheduler-clock time `now`: `now −
/// sched_info.last_arrival` for a task that is neither running nor on a CPU. An upper bound
/// of the time it has slept: `last_arrival` is when it was last switched in, and it ran for
/// a moment (usually well under a time slice) before it blocked. `None` when it never ran
/// (`last_arrival` 0) or the clock is behind it (a stale run-queue clock).
pub fn blocked_ns(t: &Task, now: u64) -> Option<u64> {
    if t.active || t.st == "RU" {
        return None;
    }
    let a = t.last_arrival.filter(|&a| a != 0)?;
    now.checked_sub(a)
}

/// `12.345s`, `3m07.250s`, `2h03m07.250s`, `1d02h03m07s` — a blocked time for `ps`.
pub fn duration_words(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (s, ms) = (ms / 1000, ms % 1000);
    let (m, s) = (s / 60, s % 60);
    let (h, m) = (m / 60, m % 60);
    let (d, h) = (h / 24, h % 24);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}.{ms:03}s")
    } else if m > 0 {
        format!("{m}m{s:02}.{ms:03}s")
    } else {
        format!("{s}.{ms:03}s")
    }
}

/// The task list and anything that went wrong while reading it (a partial list is still
/// returned; `errors` says where it was cut).
#[derive(Debug, Default)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    pub errors: Vec<String>,
}

impl Kernel {
    /// Read one task_struct.
    pub fn task(&self, addr: Kva) -> Result<Task, KernelError> {
        let l = &self.layout()?.task;
        let mut buf = vec![0u8; l.read_len as usize];
        if let Err(e) = self.read(addr, &mut buf, "task_struct") {
            // A task_struct spans 2–3 pages, and a dump filter can drop one of them
            // (makedumpfile 1.7.8 `-d 31` on 7.2 does). Read page by page; go on when the
            // members that identify the task (pid, comm, state, parent, flags) are there,
            // and leave the rest zero.
            let mut missing = Vec::new();
            let mut off = 0usize;
            while off < buf.len() {
                let page_end = ((addr.0 + off as u64) | 0xfff) + 1;
                let end = ((page_end - addr.0) as usize).min(buf.len());
                if self
                    .read(addr.add(off as u64), &mut buf[off..end], "task_struct")
                    .is_err()
                {
                    buf[off..end].fill(0);
                    missing.push(off as u64..end as u64);
                }
                off = end;
            }
            let needed = [
                (l.pid, 4),
                (l.tgid, 4),
                (l.comm, l.comm_len),
                (l.state, l.state_size),
                (l.exit_state, 4),
                (l.real_parent, 8),
                (l.flags, 4),
                (l.tasks, 16),
            ];
            if needed
                .iter()
                .any(|&(o, n)| missing.iter().any(|m| o < m.end && o + n > m.start))
            {
                return Err(e.into());
            }
        }
        let u64_at = |off: u64| -> u64 {
            let o = off as usize;
            buf.get(o..o + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                .unwrap_or(0)
        };
        let u32_at = |off: u64| -> u32 {
            let o = off as usize;
            buf.get(o..o + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .unwrap_or(0)
        };
        let state = if l.state_size == 4 {
            u32_at(l.state) as u64
        } else {
            u64_at(l.state)
        };
        let exit_state = u32_at(l.exit_state) as u64;
        let comm_bytes = buf
            .get(l.comm as usize..(l.comm + l.comm_len) as usize)
            .unwrap_or(&[]);
        let end = comm_bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(comm_bytes.len());
        let comm = String::from_utf8_lossy(&comm_bytes[..end]).into_owned();
        let parent = Kva(u64_at(l.real_parent));
        let pid = u32_at(l.pid) as i32;
        // crash shows ppid 0 for idle tasks (pid 0); their real_parent is whichever task
        // brought the CPU up (pid 1 for secondary CPUs on 6.1).
        let ppid = if parent.0 == 0 || parent == addr || u32_at(l.pid) == 0 {
            0
        } else {
            self.read_i32(parent.add(l.pid), "task_struct.real_parent->pid")
                .unwrap_or(-1)
        };
        let flags = u32_at(l.flags) as u64;
        let cpu = l.cpu.map(u32_at).unwrap_or(0);
        Ok(Task {
            addr: addr.0,
            pid,
            tgid: u32_at(l.tgid) as i32,
            ppid,
            cpu,
            state,
            exit_state,
            st: state_letters(state, exit_state),
            comm,
            flags,
            kthread: flags & PF_KTHREAD != 0 || u64_at(l.mm) == 0,
            active: false,
            last_arrival: l.last_arrival.map(u64_at),
            blocked_ns: None,
            stack: u64_at(l.stack),
            saved_sp: u64_at(l.thread_sp),
        })
    }

    /// Every task: idle tasks (one per possible CPU) first, then every thread of every
    /// process, in list order. Bounded and cycle-safe.
    pub fn tasks(&self) -> Result<TaskList, KernelError> {
        let l = self.layout()?;
        crate::timing::lap("layout probed");
        let cpus = self.cpus()?.clone();
        crate::timing::lap("cpus read");
        let mut out = TaskList::default();
        let mut seen = HashSet::new();
        let mut active = HashSet::new();
        for &cpu in &cpus.possible {
            match self.cpu_curr(cpu) {
                Ok(t) => {
                    active.insert((t, cpu));
                }
                Err(e) => out.errors.push(format!("CPU {cpu}: rq->curr: {e}")),
            }
        }
        let mut push = |k: &Kernel, addr: Kva, out: &mut TaskList, idle_cpu: Option<u32>| {
            if !seen.insert(addr) {
                return;
            }
            match k.task(addr) {
                Ok(mut t) => {
                    if let Some(c) = idle_cpu {
                        t.cpu = c;
                    }
                    t.active = active.contains(&(addr, t.cpu));
                    out.tasks.push(t)
                }
                Err(e) => out.errors.push(format!("task at {addr}: {e}")),
            }
        };
        for &cpu in &cpus.possible {
            match self.cpu_idle(cpu) {
                Ok(t) => push(self, t, &mut out, Some(cpu)),
                Err(e) => out.errors.push(format!("CPU {cpu}: rq->idle: {e}")),
            }
        }
        crate::timing::lap("runqueues read");
        let init = self.symbol_addr("init_task")?;
        let procs = self.list_walk(init.add(l.task.tasks), "init_task.tasks");
        if let Some(e) = procs.error {
            out.errors.push(format!("process list: {e}"));
        }
        for node in procs.nodes {
            let leader = node.sub(l.task.tasks);
            push(self, leader, &mut out, None);
            for thread in self.threads_of(leader, &mut out.errors) {
                push(self, thread, &mut out, None);
            }
        }
        // A CPU's current task off the lists (exiting, or a damaged runqueue): read it
        // from the runqueue like crash does; one that is not a task is an error, never a
        // CPU silently shown idle.
        let mut off_list: Vec<(Kva, u32)> = active
            .iter()
            .filter(|(t, _)| !seen.contains(t))
            .copied()
            .collect();
        off_list.sort_by_key(|&(_, cpu)| cpu);
        for (t, cpu) in off_list {
            match self.task(t) {
                Ok(mut task) => {
                    task.active = true;
                    out.tasks.push(task);
                }
                Err(e) => out
                    .errors
                    .push(format!("CPU {cpu}: rq->curr {t} is not a task: {e}")),
            }
        }
        if let Some(now) = self.sched_clock_now() {
            for t in &mut out.tasks {
                t.blocked_ns = blocked_ns(t, now);
            }
        }
        Ok(out)
    }

    /// The nodes of a thread ring whose head cannot be read, from one known member: forward
    /// (`next`) from `start` to the head, then backward (`prev`) from `start` to the head.
    /// `None` unless both walks reach the head (then the ring is complete) within the
    /// bound and without revisiting a node.
    fn threads_around(&self, start: Kva, head: Kva) -> Option<Vec<Kva>> {
        let l = self.layout().ok()?;
        let mut seen = HashSet::new();
        let mut out = vec![start];
        seen.insert(start);
        for off in [l.list_next, l.list_prev] {
            let mut cur = start;
            loop {
                cur = self
                    .read_ptr(cur.add(off), "task_struct.thread_node")
                    .ok()?;
                if cur == head {
                    break;
                }
                if cur == start {
                    // closed without passing the head: not the ring of this head
                    return None;
                }
                if !cur.0.is_multiple_of(8) || out.len() >= super::lists::MAX_LIST_ENTRIES {
                    return None;
                }
                if !seen.insert(cur) {
                    return None;
                }
                out.push(cur);
            }
        }
        Some(out)
    }

    /// The threads of a thread-group leader (the leader included).
    fn threads_of(&self, leader: Kva, errors: &mut Vec<String>) -> Vec<Kva> {
        let Ok(l) = self.layout() else {
            return vec![];
        };
        let t = &l.task;
        if let (Some(node), Some(head)) = (t.thread_node, t.signal_thread_head) {
            let signal = match self.read_ptr(leader.add(t.signal), "task_struct.signal") {
                Ok(s) if s.0 != 0 => s,
                Ok(_) => return vec![],
                Err(e) => {
                    errors.push(format!("threads of {leader}: {e}"));
                    return vec![];
                }
            };
            let w = self.list_walk(signal.add(head), "signal_struct.thread_head");
            if let Some(e) = w.error {
                // The head lives in the signal_struct, which a makedumpfile output may have
                // excluded (seen: 7.x `-d 31`) while every thread's task_struct is there:
                // the ring can be walked from the leader's own node, both ways, to the head.
                if w.nodes.is_empty()
                    && let Some(ts) = self.threads_around(leader.add(node), signal.add(head))
                {
                    return ts.into_iter().map(|n| n.sub(node)).collect();
                }
                errors.push(format!("threads of {leader}: {e}"));
            }
            return w.nodes.into_iter().map(|n| n.sub(node)).collect();
        }
        if let Some(tg) = t.thread_group {
            let w = self.list_walk(leader.add(tg), "task_struct.thread_group");
            if let Some(e) = w.error {
                errors.push(format!("threads of {leader}: {e}"));
            }
            return w.nodes.into_iter().map(|n| n.sub(tg)).collect();
        }
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_state_letters() {
        assert_eq!(state_letters(0, 0), "RU");
        assert_eq!(state_letters(0x1, 0), "IN");
        assert_eq!(state_letters(0x2, 0), "UN");
        assert_eq!(state_letters(0x102, 0), "UN"); // TASK_KILLABLE
        assert_eq!(state_letters(0x402, 0), "ID"); // TASK_IDLE
        assert_eq!(state_letters(0, 0x20), "ZO");
        assert_eq!(state_letters(0x80, 0x10), "DE");
        assert_eq!(state_letters(0x40, 0), "PA");
        assert_eq!(state_letters(0x200, 0), "WA");
    }

    #[test]
    fn blocked_time_from_last_arrival() {
        let mut t = Task {
            addr: 0,
            pid: 1,
            tgid: 1,
            ppid: 0,
            cpu: 0,
            state: state::UNINTERRUPTIBLE,
            exit_state: 0,
            st: "UN",
            comm: "x".into(),
            flags: 0,
            kthread: false,
            active: false,
            last_arrival: Some(1_000),
            blocked_ns: None,
            stack: 0,
            saved_sp: 0,
        };
        assert_eq!(blocked_ns(&t, 5_000), Some(4_000));
        // A clock behind the arrival (a stale run queue) gives nothing, not a wrap.
        assert_eq!(blocked_ns(&t, 500), None);
        t.last_arrival = Some(0);
        assert_eq!(blocked_ns(&t, 5_000), None);
        t.last_arrival = Some(1_000);
        t.active = true;
        assert_eq!(blocked_ns(&t, 5_000), None);
        assert_eq!(duration_words(12_345_678_901), "12.345s");
        assert_eq!(duration_words(187_250_000_000), "3m07.250s");
        assert_eq!(duration_words(7_387_250_000_000), "2h03m07.250s");
        assert_eq!(duration_words(93_787_000_000_000), "1d02h03m07s");
    }

    #[test]
    fn drgn_state_chars() {
        assert_eq!(state_char(0, 0), 'R');
        assert_eq!(state_char(1, 0), 'S');
        assert_eq!(state_char(2, 0), 'D');
        assert_eq!(state_char(0x402, 0), 'I');
        assert_eq!(state_char(0x102, 0), 'D');
        assert_eq!(state_char(0, 0x20), 'Z');
        assert_eq!(state_char(0x4, 0), 'T');
    }
}
