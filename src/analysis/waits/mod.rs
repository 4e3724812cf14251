//! Task → what it waits on, read from its stack: one file per wait kind (rcu-srcu.md §4.1).
//!
//! The common recipe: the blocking function keeps a waiter struct on the stack
//! (`mutex_waiter`, `rwsem_waiter`, `swait_queue`, `process_timer`) whose `task` member is
//! the task itself. So every stack word of the blocking frame range equal to the task's own
//! address is a candidate `&waiter.task`; it is kept only if the waiter's list node is
//! linked (`next->prev == node`) and the ring it is on holds exactly one node that is not
//! an on-stack waiter of some task — the head inside the lock or completion
//! ([`Ctx::find_waiter`]). `container_of` that head gives the waited object.

pub mod blkio;
pub mod blocker;
pub mod buffer;
pub mod completion;
pub mod fanotify;
pub mod folio;
pub mod jbd2;
pub mod mutex;
pub mod percpu_rwsem;
pub mod rcu;
pub mod rwsem;
pub mod semaphore;
pub mod sleep;
pub mod srcu;
pub mod waitqueue;
pub mod work;

use super::graph::{Evidence, Graph, NodeId, NodeKind};
use super::layout::WaitLayout;
use crate::addr::Kva;
use crate::debuginfo::VarKind;
use crate::kernel::Kernel;
use crate::kernel::tasks::Task;
use crate::rcu::srcu::SrcuReport;
use crate::rcu::tree::RcuReport;
use crate::rcu::work::Worker;
use crate::unwind::task::{Backtrace, Unwinder};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One physical frame with its inline chain (innermost first, physical last).
#[derive(Debug, Clone)]
pub struct PFrame {
    /// `#N` as `bt` numbers it.
    pub no: usize,
    pub sp: u64,
    /// (function, `file:line`) innermost inline first.
    pub names: Vec<(String, Option<String>)>,
}

/// Scheduler frames above every sleep, skipped when naming where a task sleeps.
pub const SCHED_FRAMES: &[&str] = &[
    "__switch_to",
    "__switch_to_asm",
    "context_switch",
    "__schedule",
    // schedule()'s loop since 6.6 (commit "sched: Extract __schedule_loop()"), inlined.
    "__schedule_loop",
    "schedule",
    "schedule_preempt_disabled",
    "schedule_timeout",
    "io_schedule",
    "io_schedule_timeout",
    "do_wait_for_common",
    "__wait_for_common",
    "wait_for_common",
    // The completion waits themselves: where a task sleeps is their caller (inlined into
    // it on some builds, a frame of its own on others).
    "wait_for_completion",
    "wait_for_completion_io",
    "wait_for_completion_timeout",
    "wait_for_completion_io_timeout",
    "wait_for_completion_interruptible",
    "wait_for_completion_interruptible_timeout",
    "wait_for_completion_killable",
    "wait_for_completion_killable_timeout",
    "wait_for_completion_state",
];

/// `__mutex_lock.constprop.0` → `__mutex_lock`.
pub fn base_name(f: &str) -> &str {
    f.split('.').next().unwrap_or(f)
}

pub fn pframes(bt: &Backtrace) -> Vec<PFrame> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for f in &bt.frames {
        let loc = match (&f.file, f.line) {
            (Some(file), Some(l)) => Some(format!("{file}:{l}")),
            _ => None,
        };
        names.push((f.function.clone().unwrap_or_else(|| "?".into()), loc));
        if !f.inlined {
            out.push(PFrame {
                no: out.len(),
                sp: f.sp,
                names: std::mem::take(&mut names),
            });
        }
    }
    out
}

/// Everything the wait decoders share for one dump.
pub struct Ctx<'k> {
    pub k: &'k Kernel,
    pub l: WaitLayout,
    pub tasks: Vec<Task>,
    pub traces: Vec<Backtrace>,
    pub frames: Vec<Vec<PFrame>>,
    pub by_addr: HashMap<u64, usize>,
    pub srcu: OnceLock<Option<SrcuReport>>,
    pub rcu: OnceLock<Option<RcuReport>>,
    pub workers: OnceLock<Vec<Worker>>,
    /// Disks and their in-flight requests, read the first time a block wait needs them.
    pub disks: OnceLock<Option<blkio::Disks>>,
    /// The layouts probed on first need (see `analysis::layout::probe_block`).
    block_l: OnceLock<Option<blkio::BlockLayout>>,
    buffer_l: OnceLock<Option<buffer::BufferLayout>>,
    jbd2_l: OnceLock<Option<jbd2::JournalLayout>>,
    /// The live part of each task's stack, read when first scanned (`stack_word`).
    live_stacks: Vec<OnceLock<(u64, Box<[u64]>)>>,
    /// `code_references` answers by target, then function (looked up without copying the
    /// name: asked for every frame of every task).
    code_refs: std::sync::Mutex<HashMap<u64, HashMap<String, bool>>>,
    /// The unwinder the traces came from: for the arguments of the frames tasks block in.
    pub unwinder: &'k Unwinder,
}

impl<'k> Ctx<'k> {
    pub fn new(
        k: &'k Kernel,
        unwinder: &'k Unwinder,
        tasks: Vec<Task>,
        traces: Vec<Backtrace>,
    ) -> Ctx<'k> {
        let frames = traces.iter().map(pframes).collect();
        let by_addr = tasks.iter().enumerate().map(|(i, t)| (t.addr, i)).collect();
        let n = tasks.len();
        Ctx {
            k,
            l: WaitLayout::probe(k),
            tasks,
            traces,
            frames,
            by_addr,
            srcu: OnceLock::new(),
            rcu: OnceLock::new(),
            workers: OnceLock::new(),
            disks: OnceLock::new(),
            block_l: OnceLock::new(),
            buffer_l: OnceLock::new(),
            jbd2_l: OnceLock::new(),
            code_refs: Default::default(),
            live_stacks: (0..n).map(|_| OnceLock::new()).collect(),
            unwinder,
        }
    }

    /// The block layer's layout (probed the first time a wait needs it).
    pub fn block_layout(&self) -> Option<&blkio::BlockLayout> {
        self.block_l
            .get_or_init(|| crate::analysis::layout::probe_block(self.k))
            .as_ref()
    }

    /// Buffer heads' layout (probed the first time a wait needs it).
    pub fn buffer_layout(&self) -> Option<&buffer::BufferLayout> {
        self.buffer_l
            .get_or_init(|| crate::analysis::layout::probe_buffer(self.k))
            .as_ref()
    }

    /// jbd2's layout (probed the first time a wait needs it).
    pub fn jbd2_layout(&self) -> Option<&jbd2::JournalLayout> {
        self.jbd2_l
            .get_or_init(|| crate::analysis::layout::probe_jbd2(self.k))
            .as_ref()
    }

    pub fn srcu(&self) -> Option<&SrcuReport> {
        self.srcu
            .get_or_init(|| {
                crate::rcu::srcu::srcu_report_with(self.k, None, Some(&self.traces)).ok()
            })
            .as_ref()
    }

    pub fn rcu(&self) -> Option<&RcuReport> {
        self.rcu
            .get_or_init(|| crate::rcu::tree::rcu_report(self.k).ok())
            .as_ref()
    }

    pub fn workers(&self) -> &[Worker] {
        self.workers
            .get_or_init(|| crate::rcu::work::workers_of(self.k, &self.tasks).unwrap_or_default())
    }

    pub fn disks(&self) -> Option<&blkio::Disks> {
        self.disks
            .get_or_init(|| self.block_layout().map(|l| blkio::read_disks(self.k, l)))
            .as_ref()
    }

    /// Add (or find) the node of task `ti`: label `comm:pid`, state, CPU, where it sleeps.
    pub fn task_node(&self, g: &mut Graph, ti: usize) -> NodeId {
        let t = &self.tasks[ti];
        let id = NodeId::new(NodeKind::Task, t.addr);
        if g.get(id).is_some() {
            return id;
        }
        let top = self.frames[ti]
            .iter()
            .flat_map(|f| f.names.iter().rev())
            .map(|(n, _)| n.as_str())
            .find(|n| !SCHED_FRAMES.contains(&base_name(n)))
            .map(str::to_string);
        let n = g.node(id, self.task_label(ti));
        n.fields.push(("state".into(), t.st.to_string()));
        n.fields.push(("cpu".into(), t.cpu.to_string()));
        n.fields.push(("task".into(), format!("{:#x}", t.addr)));
        if let Some(f) = top {
            let args = self.args_of(ti, &f);
            n.fields.push(("in".into(), f));
            if let Some(a) = args {
                n.fields.push(("args".into(), a));
            }
        }
        n.running = t.st == "RU" || t.active;
        if let Some(ns) = t.blocked_ns {
            n.blocked_ns = Some(ns);
            n.fields
                .push(("blocked".into(), crate::kernel::tasks::duration_words(ns)));
        }
        id
    }

    /// The arguments the frame `func` of task `ti` was called with, as far as the DWARF
    /// locations recover them: `(lock = &qh_mutex_b, state = 2)`.
    fn args_of(&self, ti: usize, func: &str) -> Option<String> {
        let mut bt = self.traces.get(ti)?.clone();
        self.unwinder
            .add_locals_where(self.k, &mut bt, |f| f.function.as_deref() == Some(func));
        let f = bt
            .frames
            .iter()
            .find(|f| f.function.as_deref() == Some(func))?;
        let args: Vec<String> = f
            .locals
            .as_ref()?
            .iter()
            .filter(|l| l.kind == VarKind::Param)
            .filter_map(|l| Some(format!("{} = {}", l.name, short_value(l.value.as_ref()?))))
            .collect();
        (!args.is_empty()).then(|| format!("({})", args.join(", ")))
    }

    /// A task node for an address that may not be in the task list.
    pub fn task_node_addr(&self, g: &mut Graph, addr: u64) -> Option<NodeId> {
        if let Some(&ti) = self.by_addr.get(&addr) {
            return Some(self.task_node(g, ti));
        }
        let t = self.k.task(Kva(addr)).ok()?;
        let id = NodeId::new(NodeKind::Task, addr);
        let n = g.node(id, format!("{}:{}", t.comm, t.pid));
        n.fields.push(("state".into(), t.st.to_string()));
        Some(id)
    }

    /// The first physical frame (innermost first) whose function, or one inlined into it,
    /// is one of `names` (compared without `.constprop.0`-style suffixes).
    pub fn find_frame(&self, ti: usize, names: &[&str]) -> Option<usize> {
        self.frames[ti]
            .iter()
            .position(|f| f.names.iter().any(|(n, _)| names.contains(&base_name(n))))
    }

    /// Evidence naming frame `fi` of task `ti` (the matching inline name when one of
    /// `names` matches, else the physical function).
    pub fn frame_ev(&self, ti: usize, fi: usize, names: &[&str]) -> Evidence {
        let f = &self.frames[ti][fi];
        let (func, loc) = f
            .names
            .iter()
            .find(|(n, _)| names.contains(&base_name(n)))
            .or(f.names.last())
            .cloned()
            .unwrap_or_default();
        Evidence {
            frame: Some(f.no),
            function: Some(func),
            location: loc,
            ..Default::default()
        }
    }

    /// Stack words `(address, value)` from the innermost frame up to the end of frame `fi`.
    pub fn stack_words(&self, ti: usize, fi: usize) -> Vec<(u64, u64)> {
        let fr = &self.frames[ti];
        let Some(first) = fr.first() else {
            return vec![];
        };
        let lo = first.sp & !7;
        let mut hi = fr.get(fi + 1).map_or(fr[fi].sp + 512, |f| f.sp);
        // Past the outermost frame, not past the top of the stack: with VMAP_STACK the page
        // above it is a guard page, and a read that reaches it reads nothing at all.
        let t = &self.tasks[ti];
        if self.on_stack_of(ti, lo) {
            hi = hi.min(t.stack + self.l.thread_size);
        }
        self.read_words(lo, hi)
    }

    /// Where on task `ti`'s stack, from its innermost frame to the top, the word `value` is
    /// (the first such address). The live part of each stack is read once and kept (for
    /// 10 000 sleeping tasks about 20 MB): every object whose holders are looked for on the
    /// stacks scans all of them again.
    pub fn stack_word(&self, ti: usize, value: u64) -> Option<u64> {
        let (lo, words) = self.live_stacks[ti].get_or_init(|| {
            let t = &self.tasks[ti];
            let top = t.stack + self.l.thread_size;
            let Some(first) = self.frames[ti]
                .first()
                .filter(|f| f.sp >= t.stack && f.sp < top)
            else {
                return (0, Box::default());
            };
            let lo = first.sp & !7;
            let words: Box<[u64]> = self
                .read_words(lo, top)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            (lo, words)
        });
        words
            .iter()
            .position(|&v| v == value)
            .map(|i| lo + 8 * i as u64)
    }

    fn read_words(&self, lo: u64, hi: u64) -> Vec<(u64, u64)> {
        if hi <= lo || hi - lo > 32768 {
            return vec![];
        }
        let mut buf = vec![0u8; (hi - lo) as usize];
        if self.k.read(Kva(lo), &mut buf, "task stack").is_err() {
            return vec![];
        }
        buf.chunks_exact(8)
            .enumerate()
            .map(|(i, w)| (lo + 8 * i as u64, u64::from_le_bytes(w.try_into().unwrap())))
            .collect()
    }

    /// The physical frame of task `ti` whose range holds stack address `a`.
    pub fn frame_of_addr(&self, ti: usize, a: u64) -> Option<usize> {
        let fr = &self.frames[ti];
        (0..fr.len()).find(|&i| fr[i].sp <= a && fr.get(i + 1).is_none_or(|n| a < n.sp))
    }

    /// Is `a` inside the kernel stack of task `ti`?
    pub fn on_stack_of(&self, ti: usize, a: u64) -> bool {
        let s = self.tasks[ti].stack;
        s != 0 && a >= s && a < s + self.l.thread_size
    }

    /// Whose stack holds `a`, if any task's.
    pub fn stack_owner(&self, a: u64) -> Option<usize> {
        (0..self.tasks.len()).find(|&i| self.on_stack_of(i, a))
    }

    pub fn task_label(&self, ti: usize) -> String {
        format!("{}:{}", self.tasks[ti].comm, self.tasks[ti].pid)
    }

    /// Find the on-stack waiter of task `ti` within frames `..=fi`: returns the waiter's
    /// address, the ring's head (inside the waited object), and evidence.
    pub fn find_waiter(
        &self,
        ti: usize,
        fi: usize,
        node_off: u64,
        task_off: u64,
        what: &str,
    ) -> Option<(u64, u64, Evidence)> {
        let me = self.tasks[ti].addr;
        let k = self.k;
        for (a, v) in self.stack_words(ti, fi) {
            if v != me || a < task_off {
                continue;
            }
            let w = a - task_off;
            let node = w + node_off;
            let Ok(next) = k.read_u64(Kva(node), "waiter.list.next") else {
                continue;
            };
            if next == 0 || next % 8 != 0 {
                continue;
            }
            if k.read_u64(Kva(next + 8), "list.prev") != Ok(node) {
                continue;
            }
            let ring = k.list_walk(Kva(node), "wait list");
            if ring.error.is_some() {
                continue;
            }
            let heads: Vec<u64> = ring
                .nodes
                .iter()
                .map(|n| n.0)
                .filter(|&n| !self.is_waiter(n, node_off, task_off))
                .collect();
            if let [head] = heads.as_slice() {
                let ev = self.waiter_evidence(
                    ti,
                    a,
                    what,
                    format!("on-stack {what} at {w:#x} linked into the wait list at {head:#x}"),
                );
                return Some((w, *head, ev));
            }
        }
        None
    }

    /// Evidence for an on-stack waiter: its `task` field at `a` (the task itself), the frame
    /// that holds it, and a note.
    fn waiter_evidence(&self, ti: usize, a: u64, what: &str, note: String) -> Evidence {
        let me = self.tasks[ti].addr;
        let mut ev = Evidence::field(
            format!("{what}.task"),
            format!("{me:#x} ({})", self.task_label(ti)),
            Some(a),
        );
        if let Some(f) = self.frame_of_addr(ti, a) {
            let fr = &self.frames[ti][f];
            ev.frame = Some(fr.no);
            ev.function = fr.names.last().map(|n| n.0.clone());
            ev.location = fr.names.last().and_then(|n| n.1.clone());
        }
        ev.note = Some(note);
        ev
    }

    /// The lock a task waits on, through its on-stack waiter: with a `wait_list` head the
    /// head gives the lock; with 7.x's headless ring (`lock->first_waiter`) the lock is
    /// the pointer on the task's stack whose `first_waiter` is one of the ring's waiters.
    /// Returns (waiter, lock, evidence).
    pub fn find_lock_waiter(
        &self,
        ti: usize,
        fi: usize,
        l: &super::layout::LockLayout,
        what: &str,
    ) -> Option<(u64, u64, Evidence)> {
        if let Some(wl) = l.wait_list {
            let (w, head, ev) = self.find_waiter(ti, fi, l.waiter_list, l.waiter_task, what)?;
            return Some((w, head - wl, ev));
        }
        let first = l.first_waiter?;
        let me = self.tasks[ti].addr;
        let k = self.k;
        let words: Vec<(u64, u64)> = self.stack_words(ti, fi);
        for &(a, v) in &words {
            if v != me || a < l.waiter_task {
                continue;
            }
            let w = a - l.waiter_task;
            let ring = k.list_walk(Kva(w + l.waiter_list), "wait ring");
            if ring.error.is_some() {
                continue;
            }
            let waiters: Vec<u64> = std::iter::once(w)
                .chain(ring.nodes.iter().map(|n| n.0 - l.waiter_list))
                .collect();
            let is_lock = |p: u64| {
                k.mem.xlat.is_kernel_ptr(p)
                    && k.read_u64(Kva(p + first), "lock.first_waiter")
                        .is_ok_and(|f| waiters.contains(&f))
            };
            // A lock outside this task's own stack first: a slot of its stack that holds
            // the waiter's address (a local pointing at the on-stack waiter) looks like a
            // lock whose first_waiter is the waiter. Seen on arm64, where the lock's own
            // address need not be on the stack at all (it is formed from a section anchor
            // kept in a callee-saved register).
            let lock = words
                .iter()
                .map(|&(_, p)| p)
                .find(|&p| !self.on_stack_of(ti, p) && is_lock(p))
                .or_else(|| words.iter().map(|&(_, p)| p).find(|&p| is_lock(p)))?;
            let ev = self.waiter_evidence(
                ti,
                a,
                what,
                format!(
                    "on-stack {what} at {w:#x} in the waiter ring whose first waiter the lock at {lock:#x} points to"
                ),
            );
            return Some((w, lock, ev));
        }
        None
    }

    /// A list node that is the `node_off` member of some task's on-stack waiter.
    fn is_waiter(&self, n: u64, node_off: u64, task_off: u64) -> bool {
        let Some(w) = n.checked_sub(node_off) else {
            return false;
        };
        let Ok(t) = self.k.read_u64(Kva(w + task_off), "waiter.task") else {
            return false;
        };
        self.by_addr
            .get(&t)
            .is_some_and(|&ti| self.on_stack_of(ti, n))
    }

    /// The name of a global at exactly `a`, else `None`.
    pub fn symbol_at(&self, a: u64) -> Option<String> {
        crate::rcu::symbolize(self.k, a).filter(|s| !s.contains('+'))
    }

    /// A name for an object at `a`: its symbol, `on the stack of X`, or the address.
    pub fn object_label(&self, a: u64) -> String {
        if let Some(s) = self.symbol_at(a) {
            return s;
        }
        if let Some(ti) = self.stack_owner(a) {
            return format!("{a:#x} (on the stack of {})", self.task_label(ti));
        }
        format!("{a:#x}")
    }

    /// arm64: is `addr` the start of a module's or the vmlinux's `.data`/`.bss`? GCC's
    /// section anchors keep that address in a callee-saved register as the base of every
    /// object in the section, so it is saved on stacks that never touch the object that
    /// happens to sit there: a stack word equal to it names nothing.
    pub fn is_section_anchor(&self, addr: u64) -> bool {
        if !self.k.is_arm64() {
            return false;
        }
        const SECTIONS: [&str; 2] = [".data", ".bss"];
        let vmlinux = SECTIONS.iter().any(|s| {
            self.k
                .di
                .section_addr(s)
                .is_some_and(|a| self.k.relocate(a, false).0 == addr)
        });
        vmlinux
            || self.k.modules().is_ok_and(|(mods, _)| {
                mods.iter()
                    .any(|m| SECTIONS.iter().any(|s| m.sections.get(*s) == Some(&addr)))
            })
    }

    /// Does the machine code of the function around `pc` reference `target` (x86_64: a
    /// 32-bit sign-extended immediate or a RIP-relative displacement; arm64: `adrp` + `add`
    /// or a load/store offset)? Used to name likely SRCU
    /// readers: a frame whose function passes `&domain` to `srcu_read_lock()`.
    pub fn code_references(&self, func: &str, target: u64) -> bool {
        // Asked for every frame of every task (10 000 tasks share a few dozen functions):
        // each (function, target) is decided once.
        if let Some(&known) = self
            .code_refs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&target)
            .and_then(|by_func| by_func.get(func))
        {
            return known;
        }
        let found = self.code_references_uncached(func, target);
        self.code_refs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(target)
            .or_default()
            .insert(func.to_string(), found);
        found
    }

    fn code_references_uncached(&self, func: &str, target: u64) -> bool {
        let Some(sym) = self.k.di.symbol(func) else {
            return false;
        };
        if sym.size == 0 || sym.size > 65536 {
            return false;
        }
        let start = self.k.relocate(sym.addr, sym.module.is_some()).0;
        let mut code = vec![0u8; sym.size as usize];
        if self.k.read(Kva(start), &mut code, "function code").is_err() {
            return false;
        }
        if self.k.is_arm64() {
            return crate::arch::aarch64::global_references(&code, start).contains(&target);
        }
        // Modules and the kernel image live in the top 2 GiB (-mcmodel=kernel): their
        // addresses fit a sign-extended imm32 (`mov $quiesce_srcu, %rdi`).
        let imm = target >= crate::arch::x86_64::START_KERNEL_MAP;
        (0..code.len().saturating_sub(3)).any(|i| {
            let d = i32::from_le_bytes(code[i..i + 4].try_into().unwrap());
            let abs = d as i64 as u64;
            let rel = (start + i as u64 + 4).wrapping_add(d as i64 as u64);
            // The instruction may end up to 4 bytes after the displacement (an immediate).
            (imm && abs == target) || target.wrapping_sub(rel) <= 4
        })
    }
}

/// A local's value as an argument list shows it: a pointer to a symbol as `&symbol`, other
/// pointers without their cast, the rest as they are.
fn short_value(v: &str) -> String {
    if let Some(i) = v.rfind(" <")
        && v.ends_with('>')
        && !v[i..].contains('+')
    {
        return format!("&{}", &v[i + 2..v.len() - 1]);
    }
    if v.starts_with('(')
        && let Some(i) = v.find(")0x")
    {
        return v[i + 1..].to_string();
    }
    v.to_string()
}
