//! Hung-task reports (kernel/hung_task.c) and `sched_show_task()` lines.
//!
//! ```text
//! INFO: task fanotify07:916 blocked for more than 120 seconds.
//!       Not tainted 4.19.0 #1
//! "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
//! task:fanotify07      state:D stack:0     pid:916   ppid:915    flags:0x00000000
//! Call Trace:
//! ...
//! INFO: task a:1 is blocked on a mutex likely owned by task b:2.
//! ```
//!
//! `N seconds` is the `hung_task_timeout_secs` threshold in 4.19 and the time since the task
//! last ran in current mainline (rcu-srcu.md §3.6). The `sched_show_task()` line has two
//! shapes: `task:%-15.15s state:%c stack:%-5lu pid:%-5d [tgid:%-5d] ppid:%-6d
//! [task_flags:0x%04x] flags:0x%08lx` (5.10+; " running task    " after the state when
//! running) and the older `%-15.15s %c [running task] %5lu %5d %6d 0x%08lx` (free stack, pid,
//! ppid, thread flags; 3.x also printed a saved-pc word after the state). The blocker lines
//! come from `debug_show_blocker()` (CONFIG_DETECT_HUNG_TASK_BLOCKER, 6.15+).

use serde::Serialize;

use super::call_trace::{CallTrace, Frame};
use super::{Line, parse_hex, value_after};

/// A `sched_show_task()` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchedInfo {
    pub comm: String,
    /// `task_state_to_char()`: R, S, D, T, t, X, Z, P, I.
    pub state: String,
    pub running: bool,
    /// Free stack bytes (only meaningful with CONFIG_DEBUG_STACK_USAGE; 0 otherwise).
    pub stack_free: Option<u64>,
    pub pid: Option<u32>,
    pub tgid: Option<u32>,
    pub ppid: Option<u32>,
    /// `task_thread_info(p)->flags` (TIF_* bits).
    pub flags: Option<u64>,
    /// `task->flags` (PF_* bits), printed as `task_flags:` by recent kernels.
    pub task_flags: Option<u64>,
    /// `true` for the `task:... state:...` format, `false` for the pre-5.10 column format.
    pub keyed_format: bool,
}

/// Parses either shape of the `sched_show_task()` line.
pub fn parse_sched_line(text: &str) -> Option<SchedInfo> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("task:") {
        let st = rest.find(" state:")?;
        let comm = rest[..st].trim().to_string();
        let state = rest[st + 7..]
            .chars()
            .next()
            .filter(|c| c.is_ascii_alphabetic())?;
        let num = |k: &str| value_after(t, k).and_then(|v| v.parse().ok());
        let hex = |k: &str| value_after(t, k).and_then(parse_hex);
        return Some(SchedInfo {
            comm,
            state: state.to_string(),
            running: t.contains("running task"),
            stack_free: value_after(t, "stack:").and_then(|v| v.parse().ok()),
            pid: num("pid:"),
            tgid: num("tgid:"),
            ppid: num("ppid:"),
            flags: hex("flags:"),
            task_flags: hex("task_flags:"),
            keyed_format: true,
        });
    }
    // Old column format: comm state [running task | saved pc] free pid ppid 0xflags.
    let mut toks: Vec<&str> = t.split_whitespace().collect();
    if toks.len() < 5 {
        return None;
    }
    let flags = parse_hex(toks.pop()?.strip_prefix("0x")?)?;
    let ppid: u32 = toks.pop()?.parse().ok()?;
    let pid: u32 = toks.pop()?.parse().ok()?;
    let free_tok = toks.pop()?;
    // `%c%5lu` with a free-stack count of five digits leaves no space: `I15016`.
    let glued = free_tok
        .split_at_checked(1)
        .filter(|(st, n)| st.bytes().all(|b| b.is_ascii_alphabetic()) && !n.is_empty())
        .and_then(|(st, n)| Some((st, n.parse::<u64>().ok()?)));
    let free: u64 = match glued {
        Some((st, n)) => {
            toks.push(st);
            n
        }
        None => free_tok.parse().ok()?,
    };
    let mut running = false;
    if toks.ends_with(&["running", "task"]) {
        toks.truncate(toks.len() - 2);
        running = true;
    } else if toks.ends_with(&["running"]) {
        // 4.x arm: `swapper/1       R running      0     0      1 0x00000002`.
        toks.pop();
        running = true;
    } else if toks
        .last()
        .is_some_and(|w| w.len() >= 8 && parse_hex(w).is_some())
    {
        toks.pop();
    }
    let state = toks.pop()?;
    if state.len() != 1 || !"RSDTtXZPIKWNx".contains(state) || toks.is_empty() {
        return None;
    }
    Some(SchedInfo {
        comm: toks.join(" "),
        state: state.to_string(),
        running,
        stack_free: Some(free),
        pid: Some(pid),
        tgid: None,
        ppid: Some(ppid),
        flags: Some(flags),
        task_flags: None,
        keyed_format: false,
    })
}

/// What the blocked task waits on, from `debug_show_blocker()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub line: usize,
    /// `mutex`, `semaphore` or `rwsem`.
    pub kind: String,
    pub waiter_comm: String,
    pub waiter_pid: u32,
    /// `reader` / `writer` for rw-semaphores.
    pub waiter_role: Option<String>,
    /// None when the kernel printed "but the owner is not found".
    pub owner_comm: Option<String>,
    pub owner_pid: Option<u32>,
    pub owner_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HungTaskReport {
    pub line: usize,
    pub comm: String,
    pub pid: u32,
    /// None when only a blocker line was found for this task, or the header was cut.
    pub blocked_secs: Option<u64>,
    /// An `INFO: task ... blocked ...` header was printed (false: only a blocker line).
    pub header: bool,
    /// The header said `blocked in I/O wait` (the task sleeps in io_schedule()).
    pub io_wait: bool,
    /// `Not tainted` or `Tainted: G        W`.
    pub tainted: Option<String>,
    pub release: Option<String>,
    /// Build string after the release (`#12317`, `#1 SMP PREEMPT ...`).
    pub version: Option<String>,
    pub sched: Option<SchedInfo>,
    pub frames: Vec<Frame>,
    /// The line the stack's task (or trace) starts on, to find it among the parsed stacks.
    pub stack_line: Option<usize>,
    pub blockers: Vec<Blocker>,
}

fn split_comm_pid(s: &str) -> Option<(String, u32)> {
    let (c, p) = s.trim().rsplit_once(':')?;
    Some((c.to_string(), p.trim().parse().ok()?))
}

/// A hung-task header as [`parse_header`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub comm: String,
    pub pid: u32,
    /// None when the paste ends inside the header (`... blocked for more`).
    pub secs: Option<u64>,
    /// `blocked in I/O wait for more than N seconds` (6.x+, a task in io_schedule()).
    pub io_wait: bool,
}

/// `INFO: task comm:pid blocked for more than N seconds.`, the I/O form `INFO: task comm:pid
/// blocked in I/O wait for more than N seconds.`, and a header cut at the end of a paste
/// (`INFO: task node:896551 blocked for more`).
pub fn parse_header(text: &str) -> Option<Header> {
    let rest = text.trim().strip_prefix("INFO: task ")?;
    let (who, after, io_wait) =
        if let Some((w, a)) = rest.split_once(" blocked in I/O wait for more") {
            (w, a, true)
        } else {
            let (w, a) = rest.split_once(" blocked for more")?;
            (w, a, false)
        };
    let (comm, pid) = split_comm_pid(who)?;
    let after = after.trim();
    let secs = match after.strip_prefix("than") {
        Some(n) => Some(n.split_whitespace().next()?.parse().ok()?),
        None if after.is_empty() => None,
        None => return None,
    };
    Some(Header {
        comm,
        pid,
        secs,
        io_wait,
    })
}

/// The blocker lines of `debug_show_blocker()`.
pub fn parse_blocker(text: &str, line: usize) -> Option<Blocker> {
    let rest = text.trim().strip_prefix("INFO: task ")?;
    let (who, what) = rest.split_once(" blocked on ")?;
    let who = who.strip_suffix(" is").unwrap_or(who);
    let (who, waiter_role) = strip_role(who);
    let (waiter_comm, waiter_pid) = split_comm_pid(who)?;
    let kind = if what.contains("rw-semaphore") {
        "rwsem"
    } else if what.contains("semaphore") {
        "semaphore"
    } else if what.contains("mutex") {
        "mutex"
    } else {
        return None;
    };
    let (mut owner_comm, mut owner_pid, mut owner_role) = (None, None, None);
    if let Some((_, owner)) = what.split_once(" by task ") {
        let owner = owner.trim().trim_end_matches('.');
        let (owner, role) = strip_role(owner);
        if let Some((c, p)) = split_comm_pid(owner) {
            owner_comm = Some(c);
            owner_pid = Some(p);
            owner_role = role;
        }
    }
    Some(Blocker {
        line,
        kind: kind.to_string(),
        waiter_comm,
        waiter_pid,
        waiter_role,
        owner_comm,
        owner_pid,
        owner_role,
    })
}

/// `comm:pid <reader>` → (`comm:pid`, Some("reader")).
fn strip_role(s: &str) -> (&str, Option<String>) {
    let s = s.trim();
    if s.ends_with('>')
        && let Some(i) = s.rfind(" <")
    {
        return (s[..i].trim(), Some(s[i + 2..s.len() - 1].to_string()));
    }
    (s, None)
}

/// `Not tainted 5.19.0-rc4 #12317` / `Tainted: G        W         5.10.0 #1`.
fn parse_taint_line(text: &str) -> Option<(String, Option<String>, Option<String>)> {
    let t = text.trim();
    let (taint, rest) = if let Some(r) = t.strip_prefix("Not tainted") {
        ("Not tainted".to_string(), r.trim())
    } else if let Some(r) = t.strip_prefix("Tainted:") {
        let toks: Vec<&str> = r.split_whitespace().collect();
        let rel = toks
            .iter()
            .position(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'));
        let flags = toks[..rel.unwrap_or(toks.len())].join(" ");
        let rest = rel.map(|i| toks[i..].join(" ")).unwrap_or_default();
        return Some(split_release(
            format!("Tainted: {flags}").trim_end().to_string(),
            &rest,
        ));
    } else {
        return None;
    };
    Some(split_release(taint, rest))
}

fn split_release(taint: String, rest: &str) -> (String, Option<String>, Option<String>) {
    let rest = rest.trim();
    if rest.is_empty() {
        return (taint, None, None);
    }
    let (rel, ver) = rest.split_once(' ').unwrap_or((rest, ""));
    (
        taint,
        Some(rel.to_string()),
        (!ver.trim().is_empty()).then(|| ver.trim().to_string()),
    )
}

/// `"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`
fn is_timeout_hint(t: &str) -> bool {
    t.contains("hung_task_timeout_secs") && t.contains("disables this message")
}

/// Finds hung-task reports; stacks come from the traces `call_trace` already found.
pub fn parse_lines(lines: &[Line], traces: &[CallTrace], used: &mut [bool]) -> Vec<HungTaskReport> {
    let mut out: Vec<HungTaskReport> = Vec::new();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| !used[i] && parse_header(&lines[i].text).is_some())
        .collect();
    for (k, &i) in headers.iter().enumerate() {
        let Some(Header {
            comm,
            pid,
            secs,
            io_wait,
        }) = parse_header(&lines[i].text)
        else {
            continue;
        };
        used[i] = true;
        let next_no = headers
            .get(k + 1)
            .map(|&j| lines[j].no)
            .unwrap_or(usize::MAX);
        let mut rep = HungTaskReport {
            line: lines[i].no,
            comm,
            pid,
            blocked_secs: secs,
            header: true,
            io_wait,
            tainted: None,
            release: None,
            version: None,
            sched: None,
            frames: Vec::new(),
            stack_line: None,
            blockers: Vec::new(),
        };
        for j in i + 1..lines.len().min(i + 4) {
            let t = lines[j].text.trim();
            if used[j] {
                continue;
            }
            if let Some((taint, rel, ver)) = parse_taint_line(t) {
                (rep.tainted, rep.release, rep.version) = (Some(taint), rel, ver);
                used[j] = true;
            } else if is_timeout_hint(t) {
                used[j] = true;
            }
        }
        let here = rep.line;
        // Traces are in text order: start at the first one after the header.
        let first = traces.partition_point(|tr| tr.line <= here);
        let tr = traces[first..]
            .iter()
            .take_while(|tr| tr.line < next_no)
            .find(|tr| {
                let at = tr.identity.line.unwrap_or(tr.line);
                at > here
                    && at < next_no
                    && (tr.identity.pid == Some(pid) || tr.identity.pid.is_none() && at - here <= 6)
            });
        if let Some(tr) = tr {
            rep.sched = tr.identity.sched.clone();
            rep.frames = tr.frames.clone();
            rep.stack_line = Some(tr.identity.line.unwrap_or(tr.line));
        }
        out.push(rep);
    }
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        // The hint line of a report whose header the paste left out.
        if is_timeout_hint(&l.text) {
            used[i] = true;
            continue;
        }
        let Some(b) = parse_blocker(&l.text, l.no) else {
            continue;
        };
        used[i] = true;
        match out
            .iter_mut()
            .rev()
            .find(|r| r.pid == b.waiter_pid && r.line < b.line)
        {
            Some(r) => r.blockers.push(b),
            None => out.push(HungTaskReport {
                line: b.line,
                comm: b.waiter_comm.clone(),
                pid: b.waiter_pid,
                blocked_secs: None,
                header: false,
                io_wait: false,
                tainted: None,
                release: None,
                version: None,
                sched: None,
                frames: Vec::new(),
                stack_line: None,
                blockers: vec![b],
            }),
        }
    }
    out.sort_by_key(|r| r.line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_sched_line_formats() {
        let s = parse_sched_line(
            "task:rcu_preempt     state:R stack:14976 pid:   14 ppid:     2 flags:0x00004000",
        )
        .unwrap();
        assert_eq!(
            (
                s.comm.as_str(),
                s.state.as_str(),
                s.stack_free,
                s.pid,
                s.ppid,
                s.flags
            ),
            (
                "rcu_preempt",
                "R",
                Some(14976),
                Some(14),
                Some(2),
                Some(0x4000)
            )
        );
        assert!(s.keyed_format && !s.running);
        let s = parse_sched_line("task:kworker/u8:3   state:D stack:0     pid:123   tgid:123   ppid:2      task_flags:0x4208060 flags:0x00004000").unwrap();
        assert_eq!(
            (s.comm.as_str(), s.tgid, s.task_flags, s.flags),
            ("kworker/u8:3", Some(123), Some(0x4208060), Some(0x4000))
        );
        let s = parse_sched_line("task:repro2   state:R  running task").unwrap();
        assert!(s.running);
        assert_eq!(s.pid, None);
        let s = parse_sched_line("fanotify07      D    0   916    915 0x00000000").unwrap();
        assert_eq!(
            (
                s.comm.as_str(),
                s.state.as_str(),
                s.pid,
                s.ppid,
                s.keyed_format
            ),
            ("fanotify07", "D", Some(916), Some(915), false)
        );
        let s =
            parse_sched_line("kworker/0:1     D ffff88007fc13780     0    11      2 0x00000000")
                .unwrap();
        assert_eq!((s.comm.as_str(), s.pid), ("kworker/0:1", Some(11)));
        let s =
            parse_sched_line("rcu_sched       R  running task        0    10      2 0x00000000")
                .unwrap();
        assert!(s.running);
        // Synthetic: a vendor kernel's extra key after the flags (no real log in the corpus).
        let s = parse_sched_line(
            "task:kworker/1:2     state:D stack:0     pid:88    ppid:2      flags:0x00000008 last_sleep:1234567890",
        )
        .unwrap();
        assert_eq!((s.pid, s.ppid, s.flags), (Some(88), Some(2), Some(8)));
        // Synthetic, in the shapes of tests/data/logs (5.4 x86 glued state, 4.4 arm32).
        let s = parse_sched_line("rcu_sched       I15016    11      2 0x80004000").unwrap();
        assert_eq!(
            (s.state.as_str(), s.stack_free, s.pid),
            ("I", Some(15016), Some(11))
        );
        let s =
            parse_sched_line("swapper/1       R running      0     0      1 0x00000002").unwrap();
        assert!(s.running && s.comm == "swapper/1");
        assert!(parse_sched_line("the quick brown fox jumps over").is_none());
        assert!(parse_sched_line("task:").is_none());
    }

    #[test]
    fn artifacts_hung_task_lines() {
        let h = parse_header("INFO: task kworker/0:1:11 blocked for more than 143 seconds.");
        assert_eq!(
            h.map(|h| (h.comm, h.pid, h.secs, h.io_wait)),
            Some(("kworker/0:1".into(), 11, Some(143), false))
        );
        // Synthetic, in the shapes of tests/data/logs (ublk, sophgo).
        let h = parse_header("INFO: task a:1 blocked in I/O wait for more than 122 seconds.");
        assert_eq!(h.map(|h| (h.secs, h.io_wait)), Some((Some(122), true)));
        let h = parse_header("INFO: task node:896551 blocked for more");
        assert_eq!(h.map(|h| (h.pid, h.secs)), Some((896551, None)));
        assert!(parse_header("INFO: task a:1 blocked for more fun").is_none());
        let b = parse_blocker(
            "INFO: task a:1 is blocked on a mutex likely owned by task b c:2.",
            5,
        )
        .unwrap();
        assert_eq!(
            (
                b.kind.as_str(),
                b.waiter_pid,
                b.owner_comm.as_deref(),
                b.owner_pid
            ),
            ("mutex", 1, Some("b c"), Some(2))
        );
        let b = parse_blocker(
            "INFO: task a:1 blocked on a semaphore likely last held by task b:2",
            5,
        )
        .unwrap();
        assert_eq!((b.kind.as_str(), b.owner_pid), ("semaphore", Some(2)));
        let b = parse_blocker(
            "INFO: task a:1 <reader> blocked on an rw-semaphore likely owned by task b:2 <writer>",
            5,
        )
        .unwrap();
        assert_eq!(
            (
                b.kind.as_str(),
                b.waiter_role.as_deref(),
                b.owner_role.as_deref()
            ),
            ("rwsem", Some("reader"), Some("writer"))
        );
        let b = parse_blocker(
            "INFO: task a:1 is blocked on a mutex, but the owner is not found.",
            5,
        )
        .unwrap();
        assert_eq!(b.owner_pid, None);
        assert_eq!(
            parse_taint_line("      Tainted: G        W  O      5.10.0-rc1 #1 SMP"),
            Some((
                "Tainted: G W O".into(),
                Some("5.10.0-rc1".into()),
                Some("#1 SMP".into())
            ))
        );
    }
}
