//! `bt`: backtraces in crash's shape (`#N [sp] func at pc`), with inline frames, `file:line`
//! (`-l`) and the way each frame was found; `stacks`: identical stacks grouped.

use super::Report;
use crate::unwind::task::{Backtrace, Frame};
use crate::unwind::walk::{FrameSource, StackEnd};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct BtReport {
    pub traces: Vec<Backtrace>,
    #[serde(skip)]
    pub lines: bool,
}

fn frame_text(n: usize, f: &Frame, lines: bool, out: &mut String) {
    let func = f.function.as_deref().unwrap_or("?");
    let module = f
        .module
        .as_ref()
        .map(|m| format!(" [{m}]"))
        .unwrap_or_default();
    let how = match f.how {
        FrameSource::FramePointer => " (frame pointer)",
        FrameSource::LinkRegister => " (link register)",
        _ => "",
    };
    // crash's `[sp]` column is the stack slot holding the return address into this
    // frame's function, one word below the frame's CFA.
    out.push_str(&format!(
        "{}#{n} [{:016x}] {func} at {:016x}{module}{how}\n",
        if n < 10 { " " } else { "" },
        f.sp.wrapping_sub(8),
        f.pc
    ));
    if lines && let (Some(file), Some(line)) = (&f.file, f.line) {
        out.push_str(&format!("    {file}: {line}\n"));
    }
    locals_text(f, "    ", out);
}

/// `    name = value` lines under a frame, when its locals were computed.
fn locals_text(f: &Frame, indent: &str, out: &mut String) {
    for l in f.locals.iter().flatten() {
        out.push_str(&format!("{indent}{}\n", l.text()));
    }
}

/// One task's backtrace as crash prints it (inline frames as indented notes).
pub fn trace_text(t: &Backtrace, lines: bool) -> String {
    let mut s = format!(
        "PID: {:<6} TASK: {:016x}  CPU: {:<3} COMMAND: \"{}\"\n",
        t.task.pid, t.task.addr, t.task.cpu, t.task.comm
    );
    let mut n = 0;
    let mut pending_inline: Vec<&Frame> = Vec::new();
    for f in &t.frames {
        if f.inlined {
            pending_inline.push(f);
            continue;
        }
        if f.how == FrameSource::PtRegs
            && let Some(at) = &f.regs_at
        {
            s.push_str(&format!("    --- pt_regs at {at} ---\n"));
        }
        if n == 0 && f.how == FrameSource::Prstatus {
            // crash shows a running task's saved registers as an exception frame and starts
            // numbering at the caller.
            // The register names of the dump's architecture: only arm64 frames carry the
            // pc column (DWARF has no number for it; quiesce keeps it at 32).
            let arm64 = f
                .regs
                .as_ref()
                .is_some_and(|r| r.regs.get(crate::arch::aarch64::PC).is_some());
            let (pc, sp) = if arm64 { ("PC", "SP") } else { ("RIP", "RSP") };
            s.push_str(&format!(
                "    [exception {pc}: {}+{}]\n    {pc}: {:016x}  {sp}: {:016x}\n",
                f.function.as_deref().unwrap_or("?"),
                f.offset,
                f.pc,
                f.sp
            ));
            if lines && let (Some(file), Some(line)) = (&f.file, f.line) {
                s.push_str(&format!("    {file}: {line}\n"));
            }
            for i in pending_inline.drain(..) {
                if i.locals.as_ref().is_some_and(|l| !l.is_empty()) {
                    s.push_str(&format!(
                        "    inlined: {}\n",
                        i.function.as_deref().unwrap_or("?")
                    ));
                    locals_text(i, "        ", &mut s);
                }
            }
            locals_text(f, "    ", &mut s);
            continue;
        }
        frame_text(n, f, lines, &mut s);
        for i in pending_inline.drain(..) {
            let loc = match (&i.file, i.line) {
                (Some(file), Some(line)) if lines => format!(" ({file}:{line})"),
                _ => String::new(),
            };
            s.push_str(&format!(
                "    inlined: {}{loc}\n",
                i.function.as_deref().unwrap_or("?")
            ));
            locals_text(i, "        ", &mut s);
        }
        n += 1;
    }
    match &t.end {
        StackEnd::Complete | StackEnd::UserMode => {}
        StackEnd::Truncated(why) => s.push_str(&format!("    (TRUNCATED: {why})\n")),
    }
    s
}

impl Report for BtReport {
    fn text(&self) -> String {
        self.traces
            .iter()
            .map(|t| trace_text(t, self.lines))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A group of tasks with the same stack (same function sequence).
#[derive(Debug, Serialize)]
pub struct StackGroup {
    pub count: usize,
    pub functions: Vec<String>,
    /// State letters with their counts, e.g. `UN×4`.
    pub states: Vec<(String, usize)>,
    pub pids: Vec<i32>,
    pub comms: Vec<String>,
    pub modules: Vec<String>,
    /// The task of the group that has been off the CPU longest: (pid, ns), from
    /// `Task::blocked_ns`.
    pub longest_blocked: Option<(i32, u64)>,
}

#[derive(Debug, Serialize)]
pub struct StacksReport {
    pub groups: Vec<StackGroup>,
    pub tasks: usize,
}

impl StacksReport {
    /// Group traces by their function sequence; largest group first, then by first pid.
    pub fn new(traces: &[Backtrace]) -> Self {
        let mut groups: Vec<StackGroup> = Vec::new();
        let mut index: std::collections::HashMap<Vec<String>, usize> = Default::default();
        for t in traces {
            let key: Vec<String> = t.functions().iter().map(|s| s.to_string()).collect();
            let i = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(StackGroup {
                    count: 0,
                    functions: key,
                    states: vec![],
                    pids: vec![],
                    comms: vec![],
                    modules: vec![],
                    longest_blocked: None,
                });
                groups.len() - 1
            });
            let g = &mut groups[i];
            g.count += 1;
            g.pids.push(t.task.pid);
            if let Some(ns) = t.task.blocked_ns
                && g.longest_blocked.is_none_or(|(_, old)| ns > old)
            {
                g.longest_blocked = Some((t.task.pid, ns));
            }
            if !g.comms.contains(&t.task.comm) {
                g.comms.push(t.task.comm.clone());
            }
            match g.states.iter_mut().find(|(s, _)| s == t.task.st) {
                Some((_, n)) => *n += 1,
                None => g.states.push((t.task.st.to_string(), 1)),
            }
            for m in t.frames.iter().filter_map(|f| f.module.as_ref()) {
                if !g.modules.contains(m) {
                    g.modules.push(m.clone());
                }
            }
        }
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.pids.first().cmp(&b.pids.first()))
        });
        StacksReport {
            groups,
            tasks: traces.len(),
        }
    }
}

impl Report for StacksReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for g in &self.groups {
            let states: Vec<String> = g.states.iter().map(|(st, n)| format!("{st}×{n}")).collect();
            let mut pids: Vec<String> = g.pids.iter().take(16).map(|p| p.to_string()).collect();
            if g.pids.len() > 16 {
                pids.push(format!("… +{}", g.pids.len() - 16));
            }
            s.push_str(&format!(
                "{} task{}  [{}]  {}  pids: {}{}\n",
                g.count,
                if g.count == 1 { "" } else { "s" },
                states.join(" "),
                g.comms.join(", "),
                pids.join(" "),
                g.longest_blocked
                    .map(|(pid, ns)| format!(
                        "  blocked longest: {} (pid {pid})",
                        crate::kernel::tasks::duration_words(ns)
                    ))
                    .unwrap_or_default()
            ));
            for f in &g.functions {
                s.push_str(&format!("    {f}\n"));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "{} tasks in {} groups\n",
            self.tasks,
            self.groups.len()
        ));
        s
    }
}
