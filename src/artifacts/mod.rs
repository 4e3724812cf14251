//! Text people paste: crash `bt` output, dmesg / console logs, call traces, hung-task reports
//! and RCU stall warnings. No dump is needed.
//!
//! Every parser here is *permissive*: it never fails on input it does not understand, it
//! counts what it skips, and it returns plain data (`serde::Serialize`, no printing). Pasted
//! text is messy — mail clients wrap lines at 72 columns, replace spaces with U+00A0, add CRLF,
//! quote with `> `; consoles interleave messages — so the pipeline is:
//!
//! 1. [`kernel_log`] splits the text into lines, strips CR / NBSP and log prefixes
//!    (`[  123.456]`, `<4>`, syslog, `[T123]`, `dmesg -T`, `/dev/kmsg` records, pager gutters)
//!    and keeps one [`kernel_log::LogRecord`] per line;
//! 2. `# ...` notes about the paste (a header naming its source, `# [...]`) and lines a second
//!    console printed again are set aside and counted;
//! 3. [`unwrap_lines`] re-joins lines a mail client wrapped, where the continuation is
//!    unambiguous (a stall line split before `softirq=`, an "A from" trace line, a lockdep
//!    entry cut after `at:` in a prefixed log, ...);
//! 4. each parser walks the logical lines and marks those it consumed, in this order:
//!    [`crash_bt`], [`crash_session`] (`ps`, `struct`, `list`, `sym`), [`lockdep`] (held-lock
//!    lists), [`workqueue`] (lockups and busy-pool dumps), [`soft_lockup`], the RCU GP-kthread
//!    dumps of [`rcu_stall`], [`call_trace`], [`hung_task`], the stall reports of [`rcu_stall`];
//! 5. [`parse_text`] gathers tasks with their stacks, reports, and the unconsumed lines:
//!    unprefixed ones are "not understood" (counted, samples kept), prefixed ones are other
//!    kernel messages (counted as unread).

pub mod call_trace;
pub mod crash_bt;
pub mod crash_session;
pub mod hung_task;
pub mod kernel_log;
pub mod lockdep;
pub mod rcu_stall;
pub mod soft_lockup;
pub mod workqueue;

use serde::Serialize;

use crate::addr::Kva;

pub use call_trace::{CallTrace, Frame, TraceStyle, parse_func_offset};
pub use crash_bt::BtTask;
pub use crash_session::CrashSession;
pub use hung_task::{Blocker, HungTaskReport, SchedInfo};
pub use kernel_log::LogRecord;
pub use lockdep::{HeldLock, HeldLocks};
pub use rcu_stall::{GpKthreadDump, StallReport};
pub use soft_lockup::SoftLockup;
pub use workqueue::{BusyDump, WqLockup};

/// How many unparsed lines are kept verbatim as samples.
pub const UNPARSED_SAMPLES: usize = 8;

/// One logical line of pasted text: the message after any log prefix, with the number of the
/// first physical line it came from (1-based) and how many physical lines were joined into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub no: usize,
    pub text: String,
    pub joined: usize,
    /// The first physical line carried a log prefix (`[  12.3]`, syslog, `<4>`...).
    pub prefixed: bool,
}

impl Line {
    /// Each physical line of `text` as its own logical line, numbered from 1 (for parsers'
    /// unit tests, which feed text with no log prefixes).
    #[cfg(test)]
    pub(crate) fn numbered(text: &str) -> Vec<Line> {
        text.lines()
            .enumerate()
            .map(|(i, t)| Line {
                no: i + 1,
                text: t.into(),
                joined: 1,
                prefixed: false,
            })
            .collect()
    }
}

/// Where a task's stack came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackOrigin {
    /// crash `bt` / `foreach bt`.
    CrashBt,
    /// A console call trace following a `task:` (sched_show_task) line, e.g. in a hung-task
    /// report or an RCU "grace-period kthread stack dump".
    SchedShowTask,
    /// A console call trace following `CPU: N PID: N Comm: X` (WARNING, NMI backtrace, panic).
    CpuContext,
    /// A console call trace with no identity line before it.
    Anonymous,
    /// bpftrace-style `func+123` stack.
    Bpftrace,
    /// An indented caller-first tree written by a person or an AI ("AI analysis" style).
    IndentedTree,
}

/// A task (or anonymous context) with its stack, innermost frame first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStack {
    pub pid: Option<u32>,
    pub comm: Option<String>,
    #[serde(serialize_with = "ser_kva_opt")]
    pub task: Option<Kva>,
    pub cpu: Option<u32>,
    /// One-letter state (`D`, `R`, ...) when the source printed it.
    pub state: Option<String>,
    pub origin: StackOrigin,
    pub frames: Vec<Frame>,
    /// crash output where a person listed several task headers and then one stack for all of
    /// them (see [`crash_bt`]); the frames were copied from the task that had them.
    pub stack_shared_by_hand: bool,
    /// `Workqueue: events_unbound fsnotify_mark_destroy_workfn` printed with the stack: the
    /// workqueue and the work function the worker runs (`("cpu stopper", "multi_cpu_stop <-
    /// stop_machine_cpuslocked")` from a `Stopper:` line).
    pub workqueue: Option<(String, String)>,
    /// crash `bt -F`: data symbols among the stack words, with the frame number they were
    /// printed under (`(2, "cgroup_threadgroup_rwsem+80")`).
    pub data_symbols: Vec<(u32, String)>,
    /// First line (1-based) of this task's text.
    pub line: usize,
}

impl TaskStack {
    /// The function names, innermost first, including unreliable `?` frames.
    pub fn funcs(&self) -> Vec<&str> {
        self.frames.iter().map(|f| f.func.as_str()).collect()
    }

    /// The grouping key of [`ParsedArtifact::stack_groups`]: function names of the reliable
    /// frames, innermost first. `? func` frames are left out: they are stale return addresses
    /// found by scanning the stack and differ between otherwise identical waits.
    pub fn stack_key(&self) -> Vec<&str> {
        self.frames
            .iter()
            .filter(|f| f.reliable)
            .map(|f| f.func.as_str())
            .collect()
    }
}

/// Tasks with the same function sequence (offsets ignored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackGroup {
    pub funcs: Vec<String>,
    pub members: Vec<GroupMember>,
    /// Members whose stack was shared by hand in the paste (not printed for each of them).
    pub shared_by_hand: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    pub index: usize,
    pub pid: Option<u32>,
    pub comm: Option<String>,
}

/// What [`parse_text`] found in one pasted text.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ParsedArtifact {
    pub tasks: Vec<TaskStack>,
    pub stalls: Vec<StallReport>,
    pub hung_tasks: Vec<HungTaskReport>,
    pub soft_lockups: Vec<SoftLockup>,
    pub wq_lockups: Vec<WqLockup>,
    /// "Showing busy workqueues and worker pools" dumps.
    pub busy_workqueues: Vec<BusyDump>,
    /// `show_rcu_gp_kthreads()` dumps.
    pub gp_dumps: Vec<GpKthreadDump>,
    /// Lockdep held-lock lists, one per `N locks held by comm/pid:` line.
    pub held_locks: Vec<HeldLocks>,
    /// "Showing all locks held in the system" headings.
    pub all_locks_dumps: usize,
    /// crash `ps`, `struct`, `list`, `sym` output.
    pub crash: CrashSession,
    pub log_records: Vec<LogRecord>,
    /// `bt: ...` errors and similar tool complaints found in crash output.
    pub tool_errors: Vec<String>,
    /// Physical lines seen (including blank ones).
    pub total_lines: usize,
    /// Physical lines re-joined to the line before them (mail wrapping).
    pub joined_lines: usize,
    /// Lines written about the log rather than by it, set aside before parsing: a `# ...`
    /// header naming where a paste came from, `# [...]` where something was left out.
    pub annotation_lines: usize,
    /// Log lines a second console printed again (same timestamp, same text as one of the two
    /// lines before), dropped before parsing.
    pub duplicate_lines: usize,
    /// Non-blank logical lines no parser recognised.
    pub unparsed_lines: usize,
    /// Lines with a log prefix that no parser read (other kernel messages: boot noise, driver
    /// chatter). Counted, not shown.
    pub unread_log_lines: usize,
    /// The first few of them, as `(line number, text)`.
    pub unparsed_samples: Vec<(usize, String)>,
    /// crash tasks printed twice (same pid and task address) and merged into one.
    pub duplicate_tasks_merged: usize,
}

impl ParsedArtifact {
    /// Groups tasks with identical function sequences (offsets, addresses and unreliable `?`
    /// frames ignored, see [`TaskStack::stack_key`]), largest group first; ties keep the order of
    /// first appearance. Tasks without frames are left out.
    pub fn stack_groups(&self) -> Vec<StackGroup> {
        let mut groups: Vec<StackGroup> = Vec::new();
        let mut index: std::collections::HashMap<Vec<&str>, usize> = Default::default();
        for (i, t) in self.tasks.iter().enumerate() {
            if t.frames.is_empty() {
                continue;
            }
            let key = t.stack_key();
            let gi = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(StackGroup {
                    funcs: key.iter().map(|s| s.to_string()).collect(),
                    members: Vec::new(),
                    shared_by_hand: 0,
                });
                groups.len() - 1
            });
            let g = &mut groups[gi];
            g.members.push(GroupMember {
                index: i,
                pid: t.pid,
                comm: t.comm.clone(),
            });
            if t.stack_shared_by_hand {
                g.shared_by_hand += 1;
            }
        }
        // Stable sort: equal sizes stay in order of first appearance.
        groups.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
        groups
    }
}

/// Runs every parser over `text`. Never fails; what is not understood is counted in
/// [`ParsedArtifact::unparsed_lines`].
pub fn parse_text(text: &str) -> ParsedArtifact {
    let log_records = kernel_log::parse_log(text);
    let total_lines = log_records.len();
    let annotation_lines = log_records.iter().filter(|r| is_annotation(r)).count();
    let duplicate = duplicate_records(&log_records);
    let duplicate_lines = duplicate.iter().filter(|d| **d).count();
    let physical: Vec<Line> = log_records
        .iter()
        .zip(&duplicate)
        .filter(|(r, d)| !is_annotation(r) && !**d)
        .map(|(r, _)| r)
        .map(|r| Line {
            no: r.line,
            text: r.message.clone(),
            joined: 1,
            prefixed: r.has_prefix(),
        })
        .collect();
    let lines = unwrap_lines(physical);
    let joined_lines = lines.iter().map(|l| l.joined - 1).sum();
    let mut used = vec![false; lines.len()];

    let bt = crash_bt::parse_lines(&lines, &mut used);
    let crash = crash_session::parse_lines(&lines, &mut used);
    let lockdep = lockdep::parse_lines(&lines, &mut used);
    let wq = workqueue::parse_lines(&lines, &mut used);
    let soft_lockups = soft_lockup::parse_lines(&lines, &mut used);
    let gp_dumps = rcu_stall::parse_gp_dumps(&lines, &mut used);
    let traces = call_trace::parse_lines(&lines, &mut used);
    let hung = hung_task::parse_lines(&lines, &traces, &mut used);
    let stalls = rcu_stall::parse_lines(&lines, &mut used);

    let mut out = ParsedArtifact {
        stalls,
        hung_tasks: hung,
        soft_lockups,
        wq_lockups: wq.lockups,
        busy_workqueues: wq.dumps,
        gp_dumps,
        held_locks: lockdep.holders,
        all_locks_dumps: lockdep.all_locks_headers,
        total_lines,
        joined_lines,
        annotation_lines,
        duplicate_lines,
        tool_errors: bt.errors.clone(),
        duplicate_tasks_merged: bt.duplicates_merged,
        ..Default::default()
    };
    for t in bt.tasks {
        // A `bt` whose header was left out: the `ps` rows name the task.
        let row = crash
            .ps
            .iter()
            .find(|r| t.pid.is_some_and(|p| p == r.pid) || t.task.is_some() && r.task == t.task);
        out.tasks.push(TaskStack {
            pid: t.pid.or(row.map(|r| r.pid)),
            comm: t.comm.or(row.map(|r| r.comm.clone())),
            data_symbols: t.stack_symbols,
            task: t.task,
            cpu: t.cpu,
            state: None,
            origin: StackOrigin::CrashBt,
            frames: t.frames,
            stack_shared_by_hand: t.stack_shared_by_hand,
            workqueue: None,
            line: t.line,
        });
    }
    for tr in traces {
        if tr.frames.is_empty() {
            continue;
        }
        let mut t = tr.into_task();
        // A hung-task report printed without its `task:` line: its header names the stack.
        if t.pid.is_none()
            && let Some(h) = out.hung_tasks.iter().find(|h| h.stack_line == Some(t.line))
        {
            t.pid = Some(h.pid);
            t.comm = Some(h.comm.clone());
            t.state.get_or_insert_with(|| "D".to_string());
        }
        out.tasks.push(t);
    }
    out.tasks.sort_by_key(|t| t.line);

    // Lines with a recognised log prefix are log records even when their message is not
    // understood; everything else unconsumed and non-blank is "unparsed".
    let prefixed: std::collections::HashSet<usize> = log_records
        .iter()
        .filter(|r| r.has_prefix())
        .map(|r| r.line)
        .collect();
    for (l, u) in lines.iter().zip(&used) {
        if *u || l.text.trim().is_empty() {
            continue;
        }
        if prefixed.contains(&l.no) {
            out.unread_log_lines += 1;
            continue;
        }
        out.unparsed_lines += 1;
        if out.unparsed_samples.len() < UNPARSED_SAMPLES {
            out.unparsed_samples
                .push((l.no, truncate(l.text.trim(), 160)));
        }
    }
    out.log_records = log_records;
    out.crash = crash;
    out
}

/// Marks records that repeat one of the two records kept before them with the same
/// timestamp: a kernel with two consoles logging into one capture prints every line twice,
/// adjacent (`a a b b`) or interleaved (`a b a b`). Unreliable `? f+0x1/0x2` frames are never
/// dropped: the same stale address can legitimately appear twice in one trace.
fn duplicate_records(recs: &[LogRecord]) -> Vec<bool> {
    let mut dup = vec![false; recs.len()];
    let mut kept: [Option<usize>; 2] = [None, None];
    for (i, r) in recs.iter().enumerate() {
        if r.message.trim().is_empty() {
            continue;
        }
        let same = |j: Option<usize>| {
            j.is_some_and(|j| {
                let o = &recs[j];
                r.timestamp.is_some() && o.timestamp == r.timestamp && o.message == r.message
            })
        };
        if (same(kept[0]) || same(kept[1])) && !r.message.trim_start().starts_with("? ") {
            dup[i] = true;
            continue;
        }
        kept = [kept[1], Some(i)];
    }
    dup
}

/// A `# ...` line with no log prefix: a note about the paste (a shell comment, a header
/// block, `# [...]`). crash's frame numbers (`#0 [ffff...]`) have no space after the `#`.
fn is_annotation(r: &LogRecord) -> bool {
    let m = r.message.trim_start();
    !r.has_prefix() && (m == "#" || m.starts_with("# "))
}

/// Re-joins physical lines that a mail client or terminal wrapped, where the continuation is
/// unambiguous. Quirk (seed 002, an LKML mail): `1-...!: (2099 ticks this GP)
/// idle=403c/1/0x40000002` / `softirq=33/33 fqs=1` arrive as two lines, as do `kthread starved
/// for 2098 jiffies! g-1135 f0x0` / `RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=1` and
/// `nmi_trigger_cpumask_backtrace from` / `rcu_check_gp_kthread_starvation+0x138/0x154`.
///
/// In a log where nearly every line carries a prefix (a console capture a mail client
/// wrapped), a line without one that starts like the middle of a sentence is also joined:
/// `INFO: task a:1 blocked for more` / `than 120 seconds.`, `task:x state:D ... pid:2258` /
/// ` tgid:2258 ppid:2250 ...`, lockdep's ` #2: ffff2820116b2250` / `(&devlink->lock_key#4)...,
/// at: devl_lock+0x20/0x38` (mlx5 log in tests/data/logs), at most [`MAX_WRAP_JOIN`] lines.
pub fn unwrap_lines(lines: Vec<Line>) -> Vec<Line> {
    let non_blank = lines.iter().filter(|l| !l.text.trim().is_empty()).count();
    let prefixed = lines.iter().filter(|l| l.prefixed).count();
    let mostly_prefixed = non_blank >= 8 && prefixed * 10 >= non_blank * 8;
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    for l in lines {
        if let Some(prev) = out.last_mut()
            && (is_continuation(&prev.text, &l.text)
                || mostly_prefixed
                    && prev.prefixed
                    && !l.prefixed
                    && prev.joined <= MAX_WRAP_JOIN
                    && is_wrapped_tail(&prev.text, &l.text))
        {
            let t = prev.text.trim_end().to_string();
            prev.text = format!("{t} {}", l.text.trim());
            prev.joined += l.joined;
            continue;
        }
        out.push(l);
    }
    out
}

/// Most physical lines joined into one by the prefixed-log rule of [`unwrap_lines`].
pub const MAX_WRAP_JOIN: usize = 4;

/// In a mostly prefixed log: does the unprefixed `next` continue `prev`? It must start like
/// the middle of a message (lower case, `(`, `/`, `[` of a module, a digit, indentation
/// before a lower-case `key:`) and not be a line of its own (a frame, a context marker).
fn is_wrapped_tail(prev: &str, next: &str) -> bool {
    let p = prev.trim_end();
    let n = next.trim_start();
    if p.is_empty() || n.is_empty() || n.starts_with("[<") || n.starts_with('<') {
        return false;
    }
    // A lockdep entry or a `task:` line cut after its key: the rest follows.
    if p.ends_with("at:") || p.ends_with(" by task") || p.ends_with(" >") || p.ends_with(" from") {
        return true;
    }
    if call_trace::parse_frame_line(n, 0).is_some() && !p.ends_with(',') {
        // A frame on its own line, unless the line before was cut mid-list.
        return n.starts_with('[') && n.ends_with(']') && !n.contains(' ');
    }
    let c = n.chars().next().unwrap_or(' ');
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || matches!(c, '(' | '/' | '"' | '_' | '&')
        || (c == '[' && n.ends_with(']') && !n.contains(' '))
}

fn is_continuation(prev: &str, next: &str) -> bool {
    let p = prev.trim_end();
    let n = next.trim();
    if p.is_empty() || n.is_empty() {
        return false;
    }
    // Per-CPU stall line split before softirq= / fqs=.
    if (p.contains("ticks this GP)") || p.contains("GPs behind)"))
        && p.contains("idle=")
        && !p.contains("softirq=")
        && n.starts_with("softirq=")
    {
        return true;
    }
    // kthread starved / timer wakeup line split before the gp_state name.
    if (p.contains("kthread starved for") || p.contains("kthread timer wakeup didn't happen"))
        && !p.contains("RCU_GP_")
        && n.starts_with("RCU_GP_")
    {
        return true;
    }
    if p.contains("Unless ") && p.ends_with("OOM is now") && n.starts_with("expected behavior") {
        return true;
    }
    // sched_show_task line split before ppid:/flags:.
    if p.starts_with("task:")
        && !p.contains("flags:")
        && (n.starts_with("ppid:")
            || n.starts_with("flags:")
            || n.starts_with("pid:")
            || n.starts_with("stack:"))
    {
        return true;
    }
    // arm32 "A from B" line split after "from".
    if p.ends_with(" from")
        && !n.contains(' ')
        && (parse_func_offset(n).is_some() || n.starts_with("0x"))
    {
        return true;
    }
    // `CPU: 1 PID: 34 Comm: kworker/1:4 Not tainted` / `5.19.0-rc4-05465-g5732b42edfd1 #12317`.
    if p.starts_with("CPU: ")
        && p.contains(" Comm: ")
        && (p.ends_with("tainted") || p.contains("Tainted:"))
        && n.starts_with(|c: char| c.is_ascii_digit())
        && n.split_whitespace().next().is_some_and(|w| w.contains('.'))
    {
        return true;
    }
    // Hung-task header split before "seconds.".
    if p.starts_with("INFO: task ")
        && (p.ends_with("blocked for more than")
            || p.ends_with("for more") && n.starts_with("than "))
    {
        return true;
    }
    // RCU blocked-task list continued on the next line: `P4784/2:b..l P1049/8:b..l`.
    if p.contains("Tasks blocked on level-")
        && n.split_whitespace().all(|w| {
            w.strip_prefix('P')
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
    {
        return true;
    }
    // Blocker line split after "blocked on a".
    if p.starts_with("INFO: task ")
        && (p.ends_with(" blocked on a") || p.ends_with(" blocked on an"))
        && !n.contains(": ")
    {
        return true;
    }
    false
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) fn ser_kva_opt<S: serde::Serializer>(v: &Option<Kva>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(k) => s.serialize_some(&format!("{:#x}", k.get())),
        None => s.serialize_none(),
    }
}

pub(crate) fn ser_kva_vec<S: serde::Serializer>(v: &[Kva], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for k in v {
        seq.serialize_element(&format!("{:#x}", k.get()))?;
    }
    seq.end()
}

/// Parses a hexadecimal number with or without `0x`.
pub(crate) fn parse_hex(s: &str) -> Option<u64> {
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// Parses a decimal or `0x` hexadecimal number.
pub(crate) fn parse_num(s: &str) -> Option<u64> {
    if s.starts_with("0x") || s.starts_with("0X") {
        parse_hex(s)
    } else {
        s.parse().ok()
    }
}

/// Reads the value after `key` (e.g. `"pid:"`) in `s`, skipping spaces, up to the next space.
pub(crate) fn value_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = s[from..].find(key) {
        let at = from + pos;
        // The key must start a word (so "flags:" does not match inside "task_flags:").
        let ok = at == 0 || !s[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            let rest = s[at + key.len()..].trim_start();
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == ')')
                .unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests;
