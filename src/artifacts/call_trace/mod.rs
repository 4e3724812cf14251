//! Stack traces inside console logs and notes.
//!
//! Styles recognised (frames are always stored innermost first):
//! - x86 / arm64 / riscv `Call Trace:` / `Call trace:` blocks: `func+0x1a4/0x1d8 [module]`,
//!   `? func+...` (unreliable: the unwinder found the address on the stack but could not prove
//!   it is a return address — kept with `reliable: false`), old `[<ffffffff810a1234>] func+...`,
//!   arm64 6.x source marks `func+0x18/0x24 (C)`, context markers `<IRQ>`, `</IRQ>`, `<TASK>`,
//!   `<NMI>`, `<EOI>`, and `RIP: 0010:func+0x../0x..` (the interrupted kernel location, inserted
//!   as a frame where it is printed);
//! - arm32 "A from B": `unwind_backtrace from show_stack+0x10/0x14` (newer) and
//!   `[<c0110d2c>] (unwind_backtrace) from [<c010c5a4>] (show_stack+0x10/0x14)` (older). Each line
//!   names a function and, with offset, the caller it returns into; the offset belongs to the
//!   caller's frame on the next line;
//! - bpftrace stacks, `func+123` (decimal offset) one per line, at least two lines;
//! - a stack condensed into one line, `folio_wait_writeback ← filemap_fdatawait_keep_errors ←
//!   sync_bdevs` (innermost first; `→` chains caller first);
//! - indented caller-first trees inside ```` ``` ```` fences, as written by people and AI
//!   bug bots (seed 001): `__x64_sys_close` / `  fput_close_sync` / ..., with `[file:line]`,
//!   `← BLOCKED` notes and `a → b → c` chains; the heading above the fence names the tasks,
//!   `repro2 (pid 4086)`.
//!
//! Frame shapes beyond these (syzbot's source locations and `[inline]` rows, `decode_stacktrace.sh`
//! output, s390 `([<addr>] f)` rows, build ids on modules) are in `frame.rs`.
//!
//! Identity lines before a trace — `task:comm state:D ... pid:N` (sched_show_task, also the
//! older column form), `CPU: 1 PID: 34 Comm: kworker/1:4`, `Pid: 576, comm: kswapd0`, `NMI
//! backtrace for cpu 1`, `Task dump for CPU 14:` — name the task it belongs to; a `Workqueue:`
//! line names the work function it runs, a `Stopper:` line what a CPU stopper runs.

use serde::Serialize;

mod frame;
mod tree;

pub use frame::is_location_note;
use frame::{
    context_marker, frame_from_rip, is_trace_header, parse_arm_from, parse_arrow_chain,
    parse_bpftrace_line, parse_cpu_pid_comm,
};
pub(crate) use frame::{is_context_line, is_register_line, is_symbol};
pub use frame::{parse_frame_line, parse_func_offset};
use tree::fenced_tree;

use super::hung_task::{SchedInfo, parse_sched_line};
use super::{Line, StackOrigin, TaskStack, parse_hex, ser_kva_opt};
use crate::addr::Kva;

/// One stack frame, innermost first in every list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub func: String,
    pub offset: Option<u64>,
    pub size: Option<u64>,
    pub module: Option<String>,
    /// Return / program-counter address when printed (crash `at ADDR`, `[<addr>]`).
    #[serde(serialize_with = "ser_kva_opt")]
    pub addr: Option<Kva>,
    /// Stack pointer of the frame (crash `[sp]`).
    #[serde(serialize_with = "ser_kva_opt")]
    pub sp: Option<Kva>,
    /// crash frame number `#N`.
    pub index: Option<u32>,
    /// False for `? func` frames (a stack scan found the address; it may be stale).
    pub reliable: bool,
    /// `IRQ`, `TASK`, `NMI`, `SOFTIRQ`, ... from `<IRQ>` markers or crash `--- <IRQ stack> ---`.
    pub context: Option<String>,
    /// `file:line` from crash `bt -l`, a `[file:line]` annotation, syzbot's or
    /// `decode_stacktrace.sh`'s source location.
    pub source_loc: Option<String>,
    /// An inlined function (syzbot's `func file.c:N [inline]` rows): no frame of its own.
    pub inlined: bool,
    /// Free text printed next to the frame (user annotation, `RIP`, `← BLOCKED`, arguments).
    pub note: Option<String>,
    pub line: usize,
}

impl Frame {
    pub fn named(func: &str, line: usize) -> Frame {
        Frame {
            func: func.to_string(),
            offset: None,
            size: None,
            module: None,
            addr: None,
            sp: None,
            index: None,
            reliable: true,
            context: None,
            source_loc: None,
            inlined: false,
            note: None,
            line,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceStyle {
    /// `func+0x../0x..` lines (x86, arm64, riscv), with or without a `Call Trace:` header.
    Kernel,
    /// arm32 `A from B+0x../0x..`.
    ArmFrom,
    Bpftrace,
    IndentedTree,
    /// A stack condensed by a person into one `a ← b ← c` line.
    Condensed,
}

/// Who a trace belongs to, from the lines before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceIdentity {
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub cpu: Option<u32>,
    pub state: Option<String>,
    pub origin: StackOrigin,
    /// Line of the identity (`task:` / `CPU:` / heading) line.
    pub line: Option<usize>,
    pub sched: Option<SchedInfo>,
    /// `Workqueue: events bpf_prog_free_deferred`: the workqueue and the work function; for a
    /// `Stopper: multi_cpu_stop+0x0/0x120 <- stop_machine_cpuslocked+...` line, `("cpu
    /// stopper", "multi_cpu_stop <- stop_machine_cpuslocked")`.
    pub workqueue: Option<(String, String)>,
}

impl TraceIdentity {
    fn anonymous() -> Self {
        TraceIdentity {
            pid: None,
            comm: None,
            cpu: None,
            state: None,
            origin: StackOrigin::Anonymous,
            line: None,
            sched: None,
            workqueue: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallTrace {
    /// First line of the trace itself (header or first frame).
    pub line: usize,
    pub end_line: usize,
    pub style: TraceStyle,
    pub identity: TraceIdentity,
    pub frames: Vec<Frame>,
    /// `RIP: 0033:0x7fe729e23aae`: the user-space location, when printed.
    pub user_rip: Option<String>,
    /// Register dump, `Code:` and `Exception stack` lines skipped inside the trace.
    pub register_lines: usize,
}

impl CallTrace {
    pub fn into_task(self) -> TaskStack {
        TaskStack {
            pid: self.identity.pid,
            comm: self.identity.comm,
            task: None,
            cpu: self.identity.cpu,
            state: self.identity.state,
            origin: match self.style {
                TraceStyle::Bpftrace => StackOrigin::Bpftrace,
                _ => self.identity.origin,
            },
            frames: self.frames,
            stack_shared_by_hand: false,
            workqueue: self.identity.workqueue,
            data_symbols: Vec::new(),
            line: self.identity.line.unwrap_or(self.line),
        }
    }
}
struct Builder {
    tr: CallTrace,
    ctx_stack: Vec<String>,
    pending_from: Option<Frame>,
}

impl Builder {
    fn new(line: usize, style: TraceStyle, identity: TraceIdentity) -> Self {
        Builder {
            tr: CallTrace {
                line,
                end_line: line,
                style,
                identity,
                frames: Vec::new(),
                user_rip: None,
                register_lines: 0,
            },
            ctx_stack: Vec::new(),
            pending_from: None,
        }
    }

    fn push(&mut self, mut f: Frame) {
        f.context = self.ctx_stack.last().cloned();
        self.tr.end_line = f.line;
        self.tr.frames.push(f);
    }

    fn push_from(&mut self, a: Frame, b: Frame) {
        // syzbot prints a function inlined into its caller as two rows with the same left side:
        // `(a) from (b kernel/x.c:1 [inline])` then `(a) from (c+0x2c/0x130)`: a, b, c.
        match self.pending_from.take() {
            Some(p) if p.inlined && self.tr.frames.last().is_some_and(|l| l.func == a.func) => {
                self.push(p)
            }
            Some(p) if p.func == a.func => self.push(p),
            Some(p) => {
                self.push(p);
                self.push(a);
            }
            None => self.push(a),
        }
        self.pending_from = Some(b);
    }

    fn finish(mut self) -> CallTrace {
        if let Some(p) = self.pending_from.take() {
            self.push(p);
        }
        self.tr
    }
}

/// Finds every trace in `lines`, marking consumed lines in `used`.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> Vec<CallTrace> {
    let mut out = Vec::new();
    let mut identity: Option<(TraceIdentity, usize)> = None;
    let mut cur: Option<Builder> = None;
    let mut i = 0;
    while i < lines.len() {
        if used[i] {
            if let Some(b) = cur.take() {
                out.push(b.finish());
            }
            i += 1;
            continue;
        }
        let l = &lines[i];
        let t = l.text.trim();

        // Inside a trace: continue while lines belong to it.
        if let Some(b) = cur.as_mut() {
            if let Some(f) = parse_frame_line(t, l.no).filter(|_| b.tr.style == TraceStyle::Kernel)
            {
                b.push(f);
                used[i] = true;
                i += 1;
                continue;
            }
            // arm32 prints `Call trace:` (or `Backtrace:`) before "A from B" rows too.
            if b.tr.style == TraceStyle::Kernel
                && b.tr.frames.is_empty()
                && parse_arm_from(t, l.no).is_some()
            {
                b.tr.style = TraceStyle::ArmFrom;
            }
            if b.tr.style == TraceStyle::ArmFrom
                && let Some((fa, fb)) = parse_arm_from(t, l.no)
            {
                b.push_from(fa, fb);
                used[i] = true;
                i += 1;
                continue;
            }
            if b.tr.style == TraceStyle::Bpftrace
                && let Some(f) = parse_bpftrace_line(t, l.no)
            {
                b.push(f);
                used[i] = true;
                i += 1;
                continue;
            }
            if let Some((name, end, rest)) = context_marker_and_rest(t) {
                if end {
                    b.ctx_stack.pop();
                } else {
                    b.ctx_stack.push(name);
                }
                // ` <IRQ>  [<ffffffff8107c4cd>] ? f+0x1/0x2`: old kernels put the first
                // frame on the marker's line.
                if let Some(f) = rest.and_then(|r| parse_frame_line(r, l.no)) {
                    b.push(f);
                }
                used[i] = true;
                i += 1;
                continue;
            }
            // `[<          (null)>]           (null)`: a frame the kernel could not read.
            if b.tr.style == TraceStyle::Kernel && t.starts_with("[<") && t.ends_with("(null)") {
                used[i] = true;
                b.tr.register_lines += 1;
                i += 1;
                continue;
            }
            if let Some(r) = frame_from_rip(t, l.no) {
                match r {
                    Ok(f) => b.push(f),
                    Err(u) => b.tr.user_rip = Some(u),
                }
                used[i] = true;
                i += 1;
                continue;
            }
            if is_register_line(t) {
                b.tr.register_lines += 1;
                used[i] = true;
                i += 1;
                continue;
            }
            // x86 WARNING / panic: RIP and registers come before "Call Trace:".
            if is_trace_header(t)
                && b.tr
                    .frames
                    .iter()
                    .all(|f| is_location_note(f.note.as_deref()))
            {
                used[i] = true;
                i += 1;
                continue;
            }
            // Console output interleaved into a trace line (seed 004: `In[c o n s38.631092]
            // do_exit.cold+0x15/0x45`): keep the frame if the tail after the last `] ` is one.
            if b.tr.style == TraceStyle::Kernel
                && let Some((_, tail)) = t.rsplit_once("] ")
                && let Some(mut f) = parse_frame_line(tail, l.no)
            {
                f.note = Some("salvaged from interleaved console output".to_string());
                b.push(f);
                used[i] = true;
                i += 1;
                continue;
            }
            if t.starts_with("---[ end trace") {
                used[i] = true;
            }
            let b = cur.take().unwrap();
            // Safety: a trace that started on this very line but could not take it must not
            // make the loop revisit the line forever.
            let stuck = b.tr.line == l.no && b.tr.frames.is_empty() && b.pending_from.is_none();
            out.push(b.finish());
            if used[i] || stuck {
                i += 1;
            }
            continue;
        }

        // Fenced blocks: indented trees.
        if t.starts_with("```") {
            used[i] = true;
            if let Some((traces, end)) = fenced_tree(lines, i, used) {
                out.extend(traces);
                identity = None;
                i = end + 1;
                continue;
            }
            i += 1;
            continue;
        }

        // Identity lines.
        if let Some(s) = parse_sched_line(t) {
            // The CPU of a `Task dump for CPU N:` line just before.
            let dump_cpu = identity
                .as_ref()
                .filter(|(id, j)| id.pid.is_none() && i - j <= 2)
                .and_then(|(id, _)| id.cpu);
            identity = Some((
                TraceIdentity {
                    pid: s.pid,
                    comm: Some(s.comm.clone()),
                    cpu: dump_cpu,
                    state: Some(s.state.clone()),
                    origin: StackOrigin::SchedShowTask,
                    line: Some(l.no),
                    sched: Some(s),
                    workqueue: None,
                },
                i,
            ));
            used[i] = true;
            i += 1;
            continue;
        }
        if let Some((cpu, pid, comm)) = parse_cpu_pid_comm(t) {
            let prev_cpu = identity.as_ref().and_then(|(id, _)| id.cpu);
            identity = Some((
                TraceIdentity {
                    pid: Some(pid),
                    comm: Some(comm),
                    cpu: cpu.or(prev_cpu),
                    state: None,
                    origin: StackOrigin::CpuContext,
                    line: Some(l.no),
                    sched: None,
                    workqueue: None,
                },
                i,
            ));
            used[i] = true;
            i += 1;
            continue;
        }
        if let Some(rest) = t.strip_prefix("NMI backtrace for cpu ") {
            let cpu: Option<u32> = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok());
            let mut id = TraceIdentity {
                cpu,
                origin: StackOrigin::CpuContext,
                line: Some(l.no),
                ..TraceIdentity::anonymous()
            };
            used[i] = true;
            // "NMI backtrace for cpu 1 skipped: idling at default_idle+0xb/0x10": a one-frame stack.
            if let Some(at) = rest.split_once("idling at ").map(|x| x.1)
                && let Some(mut f) = parse_frame_line(at, l.no)
            {
                f.note = Some("idling".to_string());
                id.state = Some("I".to_string());
                let mut b = Builder::new(l.no, TraceStyle::Kernel, id);
                b.push(f);
                out.push(b.finish());
                identity = None;
            } else {
                identity = Some((id, i));
            }
            i += 1;
            continue;
        }
        // `Task dump for CPU 14:` (rcu_dump_cpu_stacks on kernels that print the task with
        // sched_show_task): the CPU of the task line that follows.
        if let Some(rest) = t.strip_prefix("Task dump for CPU ") {
            let cpu = rest.trim_end_matches(':').trim().parse().ok();
            identity = Some((
                TraceIdentity {
                    cpu,
                    origin: StackOrigin::CpuContext,
                    line: Some(l.no),
                    ..TraceIdentity::anonymous()
                },
                i,
            ));
            used[i] = true;
            i += 1;
            continue;
        }
        if let Some(rest) = t.strip_prefix("Workqueue: ") {
            let mut w = rest.split_whitespace();
            if let (Some(wq), Some(func)) = (w.next(), w.next())
                && let Some((id, _)) = identity.as_mut()
            {
                id.workqueue = Some((wq.to_string(), func.to_string()));
            }
        }
        // `Stopper: multi_cpu_stop+0x0/0x120 <- stop_machine_cpuslocked+0x11c/0x180`
        // (print_stop_info(), after the task line of a CPU stopper): what the stopper runs.
        if let Some(rest) = t.strip_prefix("Stopper: ") {
            if let Some((id, _)) = identity.as_mut() {
                let name = |x: &str| x.trim().split('+').next().unwrap_or("").to_string();
                let (f, by) = rest.split_once(" <- ").unwrap_or((rest, ""));
                id.workqueue = Some(("cpu stopper".into(), format!("{} <- {}", name(f), name(by))));
            }
            used[i] = true;
            i += 1;
            continue;
        }
        if is_context_line(t) || is_trace_header(t) {
            used[i] = true;
            if is_trace_header(t) {
                cur = Some(Builder::new(
                    l.no,
                    TraceStyle::Kernel,
                    take_identity(&mut identity, i),
                ));
            }
            i += 1;
            continue;
        }

        // Stack words and registers between an identity line and its `Call Trace:` (old x86
        // printed the stack contents after the sched line).
        if identity.as_ref().is_some_and(|(_, j)| i - j <= 24)
            && is_register_line(t)
            && frame_from_rip(t, l.no).is_none()
        {
            used[i] = true;
            i += 1;
            continue;
        }

        // A condensed one-line stack.
        if let Some(frames) = parse_arrow_chain(t, l.no) {
            let mut b = Builder::new(l.no, TraceStyle::Condensed, take_identity(&mut identity, i));
            for f in frames {
                b.push(f);
            }
            out.push(b.finish());
            used[i] = true;
            i += 1;
            continue;
        }

        // Headerless trace starts.
        let start = if parse_frame_line(t, l.no).is_some()
            || context_marker_and_rest(t).is_some()
            || frame_from_rip(t, l.no).is_some_and(|r| r.is_ok())
        {
            Some(TraceStyle::Kernel)
        } else if parse_arm_from(t, l.no)
            .is_some_and(|(_, b)| b.offset.is_some() || b.addr.is_some())
        {
            Some(TraceStyle::ArmFrom)
        } else if parse_bpftrace_line(t, l.no).is_some()
            && lines
                .get(i + 1)
                .is_some_and(|n| parse_bpftrace_line(&n.text, n.no).is_some())
        {
            Some(TraceStyle::Bpftrace)
        } else {
            None
        };
        if let Some(style) = start {
            cur = Some(Builder::new(l.no, style, take_identity(&mut identity, i)));
            continue; // re-process this line inside the trace
        }
        i += 1;
    }
    if let Some(b) = cur.take() {
        out.push(b.finish());
    }
    out
}

/// A context marker, alone or followed by a frame on the same line (`<IRQ>  [<addr>] f+..`).
fn context_marker_and_rest(t: &str) -> Option<(String, bool, Option<&str>)> {
    if let Some((name, end)) = context_marker(t) {
        return Some((name, end, None));
    }
    let close = t.find('>')?;
    let (name, end) = context_marker(&t[..=close])?;
    let rest = t[close + 1..].trim();
    parse_frame_line(rest, 0)?;
    Some((name, end, Some(rest)))
}

/// The pending identity applies if it was seen within the last lines: the header of a
/// report (`CPU:`, `task:`) is followed by hardware, workqueue and register lines (up to
/// two dozen on arm64 and s390) before the trace.
fn take_identity(identity: &mut Option<(TraceIdentity, usize)>, at: usize) -> TraceIdentity {
    match identity.take() {
        Some((id, i)) if at - i <= 24 => id,
        _ => TraceIdentity::anonymous(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_func_offset() {
        assert_eq!(
            parse_func_offset("kernfs_put.part.0+0x1a4/0x1d8"),
            Some(("kernfs_put.part.0".into(), 0x1a4, Some(0x1d8), None))
        );
        assert_eq!(
            parse_func_offset("nfs_wait+0x10/0x20 [nfs]"),
            Some(("nfs_wait".into(), 0x10, Some(0x20), Some("nfs".into())))
        );
        assert_eq!(
            parse_func_offset("default_idle+0xb"),
            Some(("default_idle".into(), 0xb, None, None))
        );
        assert_eq!(
            parse_func_offset("invoke_rcu_core+1"),
            Some(("invoke_rcu_core".into(), 1, None, None))
        );
        for bad in [
            "",
            "+0x1/0x2",
            "a b+0x1/0x2",
            "f+0xzz/0x1",
            "f+0x1/0x2 [a b]",
            "f+0x1/",
        ] {
            assert_eq!(parse_func_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn artifacts_frame_lines() {
        let f = parse_frame_line(" ? rcu_gp_cleanup+0x4f0/0x4f0", 3).unwrap();
        assert_eq!(
            (f.func.as_str(), f.reliable, f.offset, f.size),
            ("rcu_gp_cleanup", false, Some(0x4f0), Some(0x4f0))
        );
        let f =
            parse_frame_line(" [<ffffffff8106d4b6>] ? native_safe_halt+0x6/0x10 [kvm]", 1).unwrap();
        assert_eq!(f.addr, Some(Kva(0xffffffff8106d4b6)));
        assert_eq!(f.module.as_deref(), Some("kvm"));
        let f = parse_frame_line("  show_stack+0x18/0x24 (C)", 1).unwrap();
        assert_eq!(f.func, "show_stack");
        assert!(parse_frame_line("invoke_rcu_core+1", 1).is_none());
        assert!(parse_frame_line("idling at default_idle+0xb/0x10", 1).is_none());
    }

    #[test]
    fn artifacts_register_lines() {
        for s in [
            "RSP: 0018:ffffc9000009bee8 EFLAGS: 00000256",
            "RAX: ffffffff81eb71d0 RBX: 0000000000000003 RCX: 0000000000000000",
            "R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000",
            "Code: 0a 00 00 eb 81 4c 89 ef",
            "Exception stack(0xf099dfb0 to 0xf099dff8)",
            "x29: ffff80000a0bbd60 x28: 0000000000000000",
            "pc : __switch_to+0x98/0xb0",
            "RSP: 002b:00007ffeace91708 EFLAGS: 00000246 ORIG_RAX: 00000000000000e7",
        ] {
            assert!(is_register_line(s), "{s}");
        }
        for s in [
            "task:rcu_preempt state:R",
            "rcu: INFO: x",
            "softirq=1/2",
            "CPU: 1 PID: 34 Comm: x",
        ] {
            assert!(!is_register_line(s), "{s}");
        }
    }

    #[test]
    fn artifacts_identity_extras() {
        // Synthetic, in the shapes sched_show_task() and print_stop_info() print.
        let text = "Task dump for CPU 3:\ntask:migration/3     state:S stack:0     pid:27    ppid:2      flags:0x00004000\nStopper: multi_cpu_stop+0x0/0x120 <- stop_machine_cpuslocked+0x11c/0x180\nCall Trace:\n <TASK>\n __schedule+0x1/0x2\n </TASK>\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let tr = parse_lines(&lines, &mut used);
        assert_eq!(tr.len(), 1);
        let id = &tr[0].identity;
        assert_eq!((id.pid, id.cpu), (Some(27), Some(3)));
        assert_eq!(
            id.workqueue,
            Some((
                "cpu stopper".to_string(),
                "multi_cpu_stop <- stop_machine_cpuslocked".to_string()
            ))
        );
        assert!(used.iter().all(|u| *u));
    }

    #[test]
    fn artifacts_arm_from_chain() {
        let text = "unwind_backtrace from show_stack+0x10/0x14\nshow_stack from dump_stack_lvl+0x40/0x4c\n[<c0110d2c>] (dump_stack_lvl) from [<c010c5a4>] (__warn+0xc8/0x13c)\n__warn from 0xef7cbb00\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let tr = parse_lines(&lines, &mut used);
        assert_eq!(tr.len(), 1);
        let f = &tr[0].frames;
        let names: Vec<_> = f.iter().map(|f| f.func.as_str()).collect();
        assert_eq!(
            names,
            [
                "unwind_backtrace",
                "show_stack",
                "dump_stack_lvl",
                "__warn",
                "0xef7cbb00"
            ]
        );
        assert_eq!(
            (f[0].offset, f[1].offset, f[2].offset, f[3].offset),
            (None, Some(0x10), Some(0x40), Some(0xc8))
        );
        assert_eq!(f[3].addr, Some(Kva(0xc010c5a4)));
        assert_eq!(f[4].addr, Some(Kva(0xef7cbb00)));
        assert!(used.iter().all(|u| *u));
    }
}
