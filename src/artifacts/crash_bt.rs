//! crash `bt` / `foreach bt` output.
//!
//! ```text
//! PID: 916    TASK: ffff8000b4958c80  CPU: 0   COMMAND: "fanotify07"
//!  #0 [ffff8000f9827b60] __switch_to at ffff800000086c0c
//!  #5 [ffffb3c7c1e2bd78] nfs_wait_bit_killable at ffffffffc0a1e7b6 [nfs]
//!     /usr/src/debug/kernel/sched/completion.c: 138          (bt -l)
//! --- <IRQ stack> ---
//!     [exception RIP: native_safe_halt+6]
//!     RIP: ffffffff8106d4b6  RSP: ffffffff81a03e58  RFLAGS: 00000246   (exception frame)
//! bt: cannot transition from IRQ stack to current process stack
//! ```
//!
//! Quirks of pasted sessions (seed 000):
//! - people annotate frames in place (`... at ffff8000007662ec\t- waiting for ...`): the text
//!   after the address (and module) becomes the frame's `note`, and prose between frames is
//!   skipped without ending the task;
//! - people collapse identical stacks by hand: a run of header lines with no frames, followed
//!   by one header with frames. crash itself never prints a header without frames or an error
//!   line, so every header of the run gets a copy of the stack, marked `stack_shared_by_hand`;
//! - the same task printed twice (once in full, once again while explaining it): merged, the
//!   longer stack kept, counted in `duplicates_merged`;
//! - `[xxx]` in place of the stack pointer (redacted): sp is `None`;
//! - `crash> bt 10462` followed by frames with no `PID:` line (the header cut from the paste):
//!   the prompt names the pid; frames with neither (`#10 [...] async_page_fault at ...`) form a
//!   task with no pid;
//! - `[exception RIP: sysrq_handle_crash+0x16]`: kept raw in `exception_frames` and inserted as a
//!   frame (note `exception RIP`) where it was printed: the code the exception interrupted;
//! - `bt -F` stack words (`ffffb198b95b7c68: cgroup_threadgroup_rwsem+72 ffffffff00000000`, also
//!   with markdown `**` around them): consumed, data symbols kept in `stack_symbols`.

use serde::Serialize;

use super::call_trace::{Frame, is_register_line, is_symbol};
use super::{Line, parse_hex, ser_kva_opt};
use crate::addr::Kva;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BtTask {
    /// None for frames pasted without their `PID:` header or a `crash> bt PID` prompt.
    pub pid: Option<u32>,
    #[serde(serialize_with = "ser_kva_opt")]
    pub task: Option<Kva>,
    pub cpu: Option<u32>,
    pub comm: Option<String>,
    pub frames: Vec<Frame>,
    pub stack_shared_by_hand: bool,
    /// Exception-frame register lines skipped (kept raw in `exception_frames`).
    pub exception_frames: Vec<String>,
    /// Data symbols among the stack words of `bt -F` (`cgroup_threadgroup_rwsem+72`), with the
    /// frame number they were printed under: the objects the frame's function was handed.
    pub stack_symbols: Vec<(u32, String)>,
    pub errors: Vec<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct BtOutput {
    pub tasks: Vec<BtTask>,
    /// `bt: ...` lines, wherever they appeared.
    pub errors: Vec<String>,
    pub duplicates_merged: usize,
}

/// `PID: 915    TASK: ffff800008863200  CPU: 3   COMMAND: "fanotify07"`.
pub fn parse_header(text: &str) -> Option<(u32, Option<Kva>, Option<u32>, String)> {
    let t = text.trim();
    let rest = t.strip_prefix("PID:")?;
    let pid = rest.split_whitespace().next()?.parse().ok()?;
    let task = super::value_after(t, "TASK:").and_then(parse_hex).map(Kva);
    let cpu = super::value_after(t, "CPU:").and_then(|v| v.parse().ok());
    let c = t.find("COMMAND:")?;
    let comm = t[c + 8..].trim();
    let comm = comm
        .strip_prefix('"')
        .map(|s| s.rsplit_once('"').map(|x| x.0).unwrap_or(s))
        .unwrap_or(comm);
    Some((pid, task, cpu, comm.to_string()))
}

/// ` #0 [ffff8000fabebd50] __switch_to at ffff800000086c0c [mod] trailing note`.
pub fn parse_frame(text: &str, line: usize) -> Option<Frame> {
    let t = text.trim_start();
    let rest = t.strip_prefix('#')?;
    let (num, rest) = rest.split_once(|c: char| c.is_whitespace())?;
    let index: u32 = num.parse().ok()?;
    let rest = rest.trim_start();
    let (sp, rest) = if let Some(r) = rest.strip_prefix('[') {
        let end = r.find(']')?;
        (parse_hex(&r[..end]).map(Kva), r[end + 1..].trim_start())
    } else {
        (None, rest)
    };
    let (func, rest) = rest.split_once(" at ")?;
    let func = func.trim();
    // `bt -s` prints `func+off`; `bt` prints the bare name.
    let (name, offset) = match super::parse_func_offset(func) {
        Some((f, off, _, _)) => (f, Some(off)),
        None if is_symbol(func) => (func.to_string(), None),
        None => return None,
    };
    let rest = rest.trim_start();
    let addr_end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    let addr = parse_hex(&rest[..addr_end]).map(Kva)?;
    let mut tail = rest[addr_end..].trim();
    let mut module = None;
    if let Some(r) = tail.strip_prefix('[')
        && let Some(end) = r.find(']')
        && !r[..end].contains(' ')
    {
        module = Some(r[..end].to_string());
        tail = r[end + 1..].trim();
    }
    Some(Frame {
        offset,
        module,
        addr: Some(addr),
        sp,
        index: Some(index),
        note: (!tail.is_empty()).then(|| tail.to_string()),
        ..Frame::named(&name, line)
    })
}

/// `bt -l` line: `    /usr/src/linux/kernel/sched/core.c: 3456`.
fn parse_source_line(text: &str) -> Option<String> {
    let t = text.trim();
    let (file, line) = t.rsplit_once(": ")?;
    (file.starts_with('/')
        && file.contains('.')
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit()))
    .then(|| format!("{file}:{line}"))
}

/// Parses crash bt output in `lines`, marking consumed lines.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> BtOutput {
    let mut out = BtOutput::default();
    let mut cur: Option<BtTask> = None;
    let mut context: Option<String> = None;
    // `crash> bt 10462` / `crash> bt -F 0xffff97e15bda86c0`: who the next frames belong to.
    let mut prompt: Option<(Option<u32>, Option<Kva>)> = None;
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        let t = l.text.trim();
        if let Some((pid, task, cpu, comm)) = parse_header(t) {
            used[i] = true;
            if let Some(c) = cur.take() {
                out.tasks.push(c);
            }
            context = None;
            prompt = None;
            cur = Some(BtTask::new(Some(pid), task, cpu, Some(comm), l.no));
            continue;
        }
        // A crash prompt (`crash> foreach fanotify07 bt`) starts new command output.
        if let Some(cmd) = t.strip_prefix("crash>") {
            used[i] = true;
            if let Some(c) = cur.take() {
                out.tasks.push(c);
            }
            context = None;
            prompt = bt_prompt(cmd);
            continue;
        }
        if cur.is_none()
            && let Some(f) = parse_frame(&l.text, l.no)
        {
            // Frames with no header: the task the prompt named, or nobody known.
            let (pid, task) = prompt.take().unwrap_or((None, None));
            cur = Some(BtTask::new(pid, task, None, None, f.line));
        }
        if let Some(e) = t.strip_prefix("bt: ") {
            used[i] = true;
            out.errors.push(e.to_string());
            if let Some(c) = cur.as_mut() {
                c.errors.push(e.to_string());
            }
            continue;
        }
        // `[...]`: the person left lines out of the output.
        if t == "[...]" {
            used[i] = true;
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if let Some(mut f) = parse_frame(&l.text, l.no) {
            used[i] = true;
            // Frame numbers restart: a new, header-less bt of the same task; keep the first.
            if c.frames
                .iter()
                .rev()
                .find_map(|p| p.index)
                .is_some_and(|pi| Some(pi) >= f.index)
            {
                continue;
            }
            f.context = context.clone();
            c.frames.push(f);
            continue;
        }
        if let Some(src) = parse_source_line(t) {
            if let Some(f) = c.frames.last_mut() {
                f.source_loc = Some(src);
                used[i] = true;
            }
            continue;
        }
        if let Some(ctx) = t
            .strip_prefix("--- <")
            .and_then(|r| r.strip_suffix("> ---"))
        {
            used[i] = true;
            context = Some(
                ctx.trim_end_matches(" stack")
                    .trim_end_matches(" exception")
                    .to_string(),
            );
            continue;
        }
        if !c.frames.is_empty()
            && (t.starts_with("[exception RIP:")
                || t.starts_with("[exception PC:")
                || is_register_line(t)
                || is_crash_regs(t))
        {
            used[i] = true;
            if let Some(f) = exception_frame(t, l.no) {
                c.frames.push(f);
            }
            if c.exception_frames.len() < 64 {
                c.exception_frames.push(t.to_string());
            }
            continue;
        }
        if let Some(syms) = stack_words(t) {
            used[i] = true;
            let at = c.frames.last().and_then(|f| f.index).unwrap_or(0);
            for s in syms {
                if c.stack_symbols.len() < 256 {
                    c.stack_symbols.push((at, s));
                }
            }
            continue;
        }
    }
    if let Some(c) = cur.take() {
        out.tasks.push(c);
    }
    share_hand_collapsed(&mut out.tasks, lines);
    merge_duplicates(&mut out);
    out
}

impl BtTask {
    fn new(
        pid: Option<u32>,
        task: Option<Kva>,
        cpu: Option<u32>,
        comm: Option<String>,
        line: usize,
    ) -> Self {
        BtTask {
            pid,
            task,
            cpu,
            comm,
            frames: Vec::new(),
            stack_shared_by_hand: false,
            exception_frames: Vec::new(),
            stack_symbols: Vec::new(),
            errors: Vec::new(),
            line,
        }
    }
}

/// `bt 10462`, `bt -F 0xffff97e15bda86c0`, `bt -l 81`: the pid or task address of a single-task
/// `bt` command (None for `foreach`, `bt -a` and other commands).
fn bt_prompt(cmd: &str) -> Option<(Option<u32>, Option<Kva>)> {
    let mut w = cmd.split_whitespace();
    if w.next()? != "bt" {
        return None;
    }
    let arg = w.find(|a| !a.starts_with('-'))?;
    if let Some(h) = arg.strip_prefix("0x") {
        return Some((None, parse_hex(h).map(Kva)));
    }
    if arg.len() >= 12 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some((None, parse_hex(arg).map(Kva)));
    }
    Some((Some(arg.parse().ok()?), None))
}

/// `[exception RIP: sysrq_handle_crash+0x16]` / `[exception PC: f+32]` as a frame.
fn exception_frame(t: &str, line: usize) -> Option<Frame> {
    let inner = t
        .strip_prefix("[exception RIP:")
        .or_else(|| t.strip_prefix("[exception PC:"))?
        .trim()
        .strip_suffix(']')?
        .trim();
    let (func, off) = match inner.split_once('+') {
        Some((f, o)) => (f, super::parse_num(o)),
        None => (inner, None),
    };
    is_symbol(func).then(|| Frame {
        offset: off,
        note: Some("exception RIP".to_string()),
        ..Frame::named(func, line)
    })
}

/// `bt -F` / `bt -f` stack rows: `ffffb198b95b7c68: cgroup_threadgroup_rwsem+72 ffffffff00000000`,
/// `ffffb198b95b7c18: [task_struct] [task_struct]`. Returns the symbol words (markdown `**`
/// stripped) that are not slab names or plain numbers; None if the line is not such a row.
fn stack_words(t: &str) -> Option<Vec<String>> {
    let t = t.trim_matches('*').trim();
    let (addr, rest) = t.split_once(": ")?;
    let addr = addr.trim_matches('*');
    if !(8..=16).contains(&addr.len()) || !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut syms = Vec::new();
    let words: Vec<&str> = rest.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    for w in words {
        let w = w.trim_matches('*');
        if w.is_empty() || (w.starts_with('[') && w.ends_with(']')) || parse_hex(w).is_some() {
            continue;
        }
        let name = w.split('+').next().unwrap_or(w);
        if !is_symbol(name) {
            return None;
        }
        syms.push(w.to_string());
    }
    Some(syms)
}

/// crash exception-frame rows: `    PC: ffff000008b7a2f8  [_raw_spin_unlock_irq+32]`,
/// `    ORIG_X0: ...  SYSCALLNO: ...  PSTATE: ...`.
fn is_crash_regs(t: &str) -> bool {
    let mut it = t.split_whitespace();
    let Some(first) = it.next() else { return false };
    first.ends_with(':')
        && first.len() <= 12
        && first[..first.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && it.next().is_some_and(|v| parse_hex(v).is_some())
}

/// Gives a copy of the stack to each header of a run of frame-less headers that ends with a
/// header that has frames, when the headers are on consecutive lines.
fn share_hand_collapsed(tasks: &mut [BtTask], lines: &[Line]) {
    let line_index: std::collections::HashMap<usize, usize> =
        lines.iter().enumerate().map(|(i, l)| (l.no, i)).collect();
    let adjacent = |a: &BtTask, b: &BtTask| -> bool {
        match (line_index.get(&a.line), line_index.get(&b.line)) {
            (Some(&x), Some(&y)) => y == x + 1,
            _ => false,
        }
    };
    let mut i = 0;
    while i < tasks.len() {
        if !tasks[i].frames.is_empty() || !tasks[i].errors.is_empty() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < tasks.len()
            && tasks[j].frames.is_empty()
            && tasks[j].errors.is_empty()
            && adjacent(&tasks[j], &tasks[j + 1])
        {
            j += 1;
        }
        if j > i || (j == i && j + 1 < tasks.len() && adjacent(&tasks[j], &tasks[j + 1])) {
            // tasks[i..=j] have no frames; tasks[j] or tasks[j+1] is the one with frames.
            let k = if tasks[j].frames.is_empty() { j + 1 } else { j };
            if k < tasks.len() && !tasks[k].frames.is_empty() {
                let frames = tasks[k].frames.clone();
                for t in &mut tasks[i..k] {
                    t.frames = frames.clone();
                    t.stack_shared_by_hand = true;
                }
                tasks[k].stack_shared_by_hand = true;
                i = k + 1;
                continue;
            }
        }
        i = j + 1;
    }
}

/// Merges tasks printed more than once (same pid and task address): keeps the longer stack.
fn merge_duplicates(out: &mut BtOutput) {
    let mut kept: Vec<BtTask> = Vec::new();
    let mut seen: std::collections::HashMap<(u32, Kva), usize> = Default::default();
    for t in out.tasks.drain(..) {
        let (Some(pid), Some(addr)) = (t.pid, t.task) else {
            kept.push(t);
            continue;
        };
        if let Some(&ki) = seen.get(&(pid, addr)) {
            let k = &mut kept[ki];
            out.duplicates_merged += 1;
            if t.frames.len() > k.frames.len() {
                let line = k.line;
                *k = t;
                k.line = line;
            }
            continue;
        }
        seen.insert((pid, addr), kept.len());
        kept.push(t);
    }
    out.tasks = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<Line> {
        Line::numbered(s)
    }

    #[test]
    fn artifacts_crash_frame_forms() {
        let f = parse_frame(
            " #5 [ffffb3c7c1e2bd78] nfs_wait_bit_killable at ffffffffc0a1e7b6 [nfs]",
            1,
        )
        .unwrap();
        assert_eq!(
            (f.index, f.module.as_deref(), f.sp),
            (Some(5), Some("nfs"), Some(Kva(0xffffb3c7c1e2bd78)))
        );
        let f = parse_frame("#10 [xxx] __fput at ffff80000022bd00\t\tlast reference", 1).unwrap();
        assert_eq!(
            (f.index, f.sp, f.note.as_deref()),
            (Some(10), None, Some("last reference"))
        );
        assert!(parse_frame("#include <linux/x.h>", 1).is_none());
        assert!(parse_frame(" #3 [ffff] truncated at", 1).is_none());
    }

    #[test]
    fn artifacts_crash_exception_frames_and_errors() {
        let text = "PID: 0      TASK: ffffffff81a8d020  CPU: 0   COMMAND: \"swapper/0\"\n #0 [ffff88003fc03e90] crash_nmi_callback at ffffffff8104a4f2\n    /usr/src/debug/arch/x86/kernel/reboot.c: 770\n--- <NMI exception stack> ---\n #1 [ffffffff81a01e98] native_safe_halt at ffffffff8105c4b6\n    [exception RIP: native_safe_halt+6]\n    RIP: ffffffff8105c4b6  RSP: ffffffff81a01e98  RFLAGS: 00000286\n    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018\nbt: cannot transition from IRQ stack to current process stack\nPID: 1 TASK: ffff88003e1b0000 CPU: 1 COMMAND: \"init\"\nbt: invalid kernel virtual address: 0  type: \"stack contents\"\n";
        let ls = lines(text);
        let mut used = vec![false; ls.len()];
        let o = parse_lines(&ls, &mut used);
        assert_eq!(o.tasks.len(), 2);
        let t = &o.tasks[0];
        assert_eq!(
            (t.pid, t.comm.as_deref(), t.cpu),
            (Some(0), Some("swapper/0"), Some(0))
        );
        // The exception RIP is a frame of its own after the frame that took the exception.
        assert_eq!(t.frames.len(), 3);
        assert_eq!(
            (t.frames[2].func.as_str(), t.frames[2].offset),
            ("native_safe_halt", Some(6))
        );
        assert_eq!(
            t.frames[0].source_loc.as_deref(),
            Some("/usr/src/debug/arch/x86/kernel/reboot.c:770")
        );
        assert_eq!(t.frames[1].context.as_deref(), Some("NMI"));
        assert_eq!(t.exception_frames.len(), 3);
        assert_eq!(
            t.errors,
            ["cannot transition from IRQ stack to current process stack"]
        );
        assert_eq!(o.tasks[1].errors.len(), 1);
        assert!(!o.tasks[1].stack_shared_by_hand);
        assert_eq!(o.errors.len(), 2);
        assert!(used.iter().all(|u| *u));
    }
}
