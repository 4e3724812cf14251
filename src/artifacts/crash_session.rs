//! crash(8) command output other than `bt`, as people paste it into bug reports: the rows and
//! values that say who a task is, what state it is in, and who owns a lock.
//!
//! ```text
//! crash> ps | grep UN
//!      81      2   2  ffff9a6475e62f70  UN   0.0       0      0  [kworker/2:1]
//! crash> ps -m ffff97dad1568840
//! [ 0 00:02:14.088] [RU] PID: 14309 TASK: ffff97dad1568840 CPU: 3 COMMAND: "runc:[2:INIT]"
//! crash> struct mutex.owner cgroup_mutex -x
//!   owner = {
//!     counter = 0xffff97e15bda86c1
//!   }
//! crash> list -l rwsem_waiter.list -s rwsem_waiter.task 0xffffb198b95b7cd0
//! ffffb198b95b7cd0
//!   task = 0xffff97e15bda86c0
//! crash> sym 0xffffffff836fe760
//! ffffffff836fe760 (d) rtnl_mutex
//!               [120] PID: 14309  TASK: ffff97dad1568840  COMMAND: "runc:[2:INIT]"  (runq -g)
//! ```
//!
//! The owner word of a mutex (`->owner`, 4.10+) is the owning task's address with flag bits
//! in the low three bits (MUTEX_FLAG_WAITERS/HANDOFF/PICKUP); an rwsem's `->owner` likewise
//! (RWSEM_READER_OWNED = 1, so `owner = 0x1` means "readers, not recorded").

use serde::Serialize;

use super::{Line, parse_hex, value_after};
use crate::addr::Kva;

/// Most rows kept of each kind.
pub const MAX_ROWS: usize = 4096;

/// A `ps` row or a `ps -m` / `runq` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsRow {
    pub line: usize,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub cpu: Option<u32>,
    #[serde(serialize_with = "super::ser_kva_opt")]
    pub task: Option<Kva>,
    /// `RU`, `IN`, `UN`, `ZO`, `ID`, ... as printed.
    pub state: Option<String>,
    /// Kernel threads are printed in brackets by `ps`; the brackets are removed.
    pub comm: String,
    /// `ps -m`: time since the task last ran, `[days hh:mm:ss.ms]` as printed.
    pub last_ran: Option<String>,
    /// Queued in a CFS group `runq -g` marked `(THROTTLED)`.
    pub throttled: bool,
}

/// A `struct X.owner lock` (or `struct mutex lock`) value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerWord {
    pub line: usize,
    /// The lock as the command named it (`cgroup_mutex`, `rtnl_mutex`, an address).
    pub lock: String,
    /// The struct type from the command (`mutex`, `rw_semaphore`, `percpu_rw_semaphore`).
    pub lock_type: Option<String>,
    /// `owner` (or `counter` of the owner atomic), or `count` of a pre-4.10 mutex.
    pub field: String,
    pub value: u64,
}

impl OwnerWord {
    /// The owning task's address: the owner word with its flag bits masked off; None for
    /// 0 (no owner), reader-owned rwsems and the old `count` field.
    pub fn owner_task(&self) -> Option<Kva> {
        if self.field != "owner" {
            return None;
        }
        let v = self.value & !0x7;
        (v >= 0xffff_0000_0000_0000 || (0xc000_0000..=0xffff_ffff).contains(&v)).then_some(Kva(v))
    }
}

/// `list -l ... -s rwsem_waiter.task`: the tasks on a lock's wait list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitList {
    pub line: usize,
    /// The struct.member the command walked (`rwsem_waiter.list`).
    pub member: String,
    #[serde(serialize_with = "super::ser_kva_vec")]
    pub tasks: Vec<Kva>,
}

/// What [`parse_lines`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct CrashSession {
    pub ps: Vec<PsRow>,
    pub owners: Vec<OwnerWord>,
    pub wait_lists: Vec<WaitList>,
    /// `sym` output: (address, symbol).
    pub symbols: Vec<(u64, String)>,
    /// crash prompts seen (`crash> ...`, `sh> ...`).
    pub prompts: usize,
}

/// `   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM` rows: pid ppid cpu
/// task state %mem vsz rss comm (a leading `>` marks the running task).
fn parse_ps_row(t: &str, line: usize) -> Option<PsRow> {
    let t = t.trim_start_matches('>').trim();
    let w: Vec<&str> = t.split_whitespace().collect();
    if w.len() < 9 {
        return None;
    }
    let pid = w[0].parse().ok()?;
    let ppid = w[1].parse().ok()?;
    let cpu = w[2].parse().ok()?;
    let task = (w[3].len() >= 8 && w[3].bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| parse_hex(w[3]).map(Kva))??;
    let st = w[4];
    if st.len() != 2 || !st.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    if !w[5].contains('.') || w[6].parse::<u64>().is_err() || w[7].parse::<u64>().is_err() {
        return None;
    }
    // The comm is the rest (it may contain spaces); notes a person added after it are cut at
    // two spaces.
    let comm_start = nth_word_start(t, 8)?;
    let comm = t[comm_start..].split("  ").next()?.trim();
    let comm = comm
        .strip_prefix('[')
        .and_then(|c| c.strip_suffix(']'))
        .unwrap_or(comm);
    Some(PsRow {
        line,
        pid,
        ppid: Some(ppid),
        cpu: Some(cpu),
        task: Some(task),
        state: Some(st.to_string()),
        comm: comm.to_string(),
        last_ran: None,
        throttled: false,
    })
}

fn nth_word_start(s: &str, n: usize) -> Option<usize> {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            if count == n {
                return Some(i);
            }
            count += 1;
            in_word = true;
        }
    }
    None
}

/// `[ 0 00:02:14.088] [RU] PID: 14309 TASK: ffff97dad1568840 CPU: 3 COMMAND: "runc:[2:INIT]"`
/// (`ps -m`) and `[120] PID: 14309  TASK: ffff97dad1568840  COMMAND: "runc:[2:INIT]"` (`runq`).
fn parse_pid_line(t: &str, line: usize) -> Option<PsRow> {
    let t = t.trim();
    let mut last_ran = None;
    let mut state = None;
    let mut rest = t;
    if let Some(r) = rest.strip_prefix('[')
        && let Some((inside, after)) = r.split_once(']')
    {
        if inside.contains(':') {
            last_ran = Some(inside.trim().to_string());
        }
        rest = after.trim_start();
        if let Some(r2) = rest.strip_prefix('[')
            && let Some((st, after2)) = r2.split_once(']')
        {
            state = Some(st.to_string());
            rest = after2.trim_start();
        }
    }
    let (pid, task, cpu, comm) = super::crash_bt::parse_header(rest)?;
    Some(PsRow {
        line,
        pid,
        ppid: None,
        cpu,
        task,
        state,
        comm,
        last_ran,
        throttled: false,
    })
}

/// `struct mutex.owner cgroup_mutex -x` → (type, member, lock); `struct mutex rtnl_mutex |
/// head`; `p rtnl_mutex` / `p rtnl_mutex.owner` (no type: "lock").
fn struct_cmd(cmd: &str) -> Option<(String, Option<String>, String)> {
    let cmd = cmd.split('|').next()?.trim();
    let mut w = cmd.split_whitespace().filter(|a| !a.starts_with('-'));
    match w.next()? {
        "struct" => {
            let ty = w.next()?;
            let lock = w.next()?;
            let (ty, member) = match ty.split_once('.') {
                Some((t, m)) => (t.to_string(), Some(m.to_string())),
                None => (ty.to_string(), None),
            };
            Some((ty, member, lock.to_string()))
        }
        "p" | "print" | "px" => {
            let expr = w.next()?.trim_start_matches(['&', '*']);
            let (lock, member) = match expr.split_once('.') {
                Some((l, m)) => (l.to_string(), Some(m.to_string())),
                None => (expr.to_string(), None),
            };
            Some(("lock".to_string(), member, lock))
        }
        _ => None,
    }
}

/// Finds the crash output this module knows, marking consumed lines.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> CrashSession {
    let mut out = CrashSession::default();
    // The command whose output follows.
    let mut cmd: Option<String> = None;
    let mut throttled_depth: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.text.trim();
        if let Some(c) = t.strip_prefix("crash>").or_else(|| t.strip_prefix("sh>")) {
            out.prompts += 1;
            cmd = Some(c.trim().to_string());
            throttled_depth = None;
            used[i] = true;
            continue;
        }
        let c = cmd.as_deref().unwrap_or("");
        if c.starts_with("ps")
            || c.starts_with("foreach") && c.contains(" ps")
            || c.starts_with("runq")
            || cmd.is_none()
        {
            if t.starts_with("PID ") && t.contains("PPID") && t.contains("COMM") {
                used[i] = true;
                continue;
            }
            if !used[i]
                && let Some(r) = parse_ps_row(t, l.no)
            {
                used[i] = true;
                if out.ps.len() < MAX_ROWS {
                    out.ps.push(r);
                }
                continue;
            }
        }
        if c.starts_with("ps") || c.starts_with("foreach") || c.starts_with("runq") {
            if c.starts_with("runq") {
                let indent = l.text.len() - l.text.trim_start().len();
                if t.ends_with("(THROTTLED)") {
                    throttled_depth = Some(throttled_depth.map_or(indent, |d| d.min(indent)));
                    used[i] = true;
                    continue;
                }
                if throttled_depth.is_some_and(|d| indent <= d) && t.starts_with("TASK_GROUP:") {
                    throttled_depth = None;
                }
            }
            if !used[i]
                && let Some(mut r) = parse_pid_line(t, l.no)
            {
                r.throttled = throttled_depth.is_some();
                used[i] = true;
                if out.ps.len() < MAX_ROWS {
                    out.ps.push(r);
                }
                continue;
            }
            if c.starts_with("runq")
                && (t.starts_with("CPU ")
                    || t.starts_with("CURRENT:")
                    || t.contains("_RQ:")
                    || t == "[no tasks queued]")
            {
                used[i] = true;
                continue;
            }
        }
        if used[i] {
            continue;
        }
        if let Some((ty, member, lock)) = struct_cmd(c) {
            // `owner = 0x1`, `counter = 0xffff97e15bda86c1` (inside `owner = {`), 3.10's
            // `count = { counter = 0xfffffffd }`.
            let field = match member.as_deref() {
                Some(m) if m.ends_with("owner") => "owner",
                _ => "",
            };
            if let Some((k, v)) = t.split_once(" = ")
                && let Some(v) = parse_hex(v.trim().trim_end_matches(','))
            {
                let k = k.trim();
                let which = if k == "owner" || (field == "owner" && k == "counter") {
                    Some("owner")
                } else if k == "counter" && out.owners.last().is_none_or(|o| o.line + 3 < l.no) {
                    Some("count")
                } else {
                    None
                };
                if let Some(f) = which
                    && out.owners.len() < MAX_ROWS
                {
                    out.owners.push(OwnerWord {
                        line: l.no,
                        lock: lock.clone(),
                        lock_type: Some(ty.clone()),
                        field: f.to_string(),
                        value: v,
                    });
                }
            }
            if t.ends_with('{')
                || t.starts_with('}')
                || t.contains(" = ")
                || t == "[...]"
                || t.starts_with("struct ")
            {
                used[i] = true;
            }
            continue;
        }
        if c.starts_with("list ") {
            if let Some(v) = value_after(t, "task =").and_then(parse_hex) {
                let member = c
                    .split_whitespace()
                    .find(|w| w.contains('.'))
                    .unwrap_or("")
                    .to_string();
                if out
                    .wait_lists
                    .last()
                    .is_none_or(|w| w.member != member || w.line + 64 < l.no)
                {
                    out.wait_lists.push(WaitList {
                        line: l.no,
                        member,
                        tasks: Vec::new(),
                    });
                }
                if let Some(w) = out.wait_lists.last_mut()
                    && v != 0
                    && w.tasks.len() < MAX_ROWS
                {
                    w.tasks.push(Kva(v));
                }
                used[i] = true;
            } else if t.len() >= 8 && t.len() <= 16 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                used[i] = true;
            }
            continue;
        }
        if c.starts_with("sym ") {
            let mut w = t.split_whitespace();
            if let (Some(a), Some(kind), Some(name)) = (w.next(), w.next(), w.next())
                && let Some(a) = parse_hex(a)
                && kind.starts_with('(')
                && kind.ends_with(')')
            {
                out.symbols.push((a, name.to_string()));
                used[i] = true;
            }
            continue;
        }
        if c.starts_with("whatis ") && t.ends_with(';') {
            used[i] = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_crash_session_rows() {
        // Synthetic, in the shape of tests/data/logs/crash_*.
        let text = "crash> ps | grep UN\n     81      2   2  ffff9a6475e62f70  UN   0.0       0      0  [kworker/2:1]    <----- ???\n  10433   9175   4  ffff9a647594cf10  UN   0.0    7700    556  ethtool\ncrash> struct mutex.owner cgroup_mutex -x\n  owner = {\n    counter = 0xffff97e15bda86c1\n  }\ncrash> list -l rwsem_waiter.list -s rwsem_waiter.task 0xffffb198b95b7cd0\nffffb198b95b7cd0\ntask = 0xffff97e15bda86c0\nffffffffb48b4630\ntask = 0x0\ncrash> ps -m ffff97dad1568840\n[ 0 00:02:14.088] [RU] PID: 14309 TASK: ffff97dad1568840 CPU: 3 COMMAND: \"runc:[2:INIT]\"\ncrash> sym 0xffffffff836fe760\nffffffff836fe760 (d) rtnl_mutex         <---- good boy\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let s = parse_lines(&lines, &mut used);
        assert_eq!(s.ps.len(), 3);
        assert_eq!(
            (s.ps[0].pid, s.ps[0].comm.as_str(), s.ps[0].state.as_deref()),
            (81, "kworker/2:1", Some("UN"))
        );
        assert_eq!(
            (s.ps[2].last_ran.as_deref(), s.ps[2].state.as_deref()),
            (Some("0 00:02:14.088"), Some("RU"))
        );
        assert_eq!(s.owners.len(), 1);
        assert_eq!(s.owners[0].owner_task(), Some(Kva(0xffff97e15bda86c0)));
        assert_eq!(s.wait_lists[0].tasks, [Kva(0xffff97e15bda86c0)]);
        assert_eq!(s.symbols, [(0xffffffff836fe760, "rtnl_mutex".to_string())]);
        assert!(used.iter().all(|u| *u));
        assert_eq!(
            struct_cmd("p rtnl_mutex.owner"),
            Some(("lock".into(), Some("owner".into()), "rtnl_mutex".into()))
        );
        assert_eq!(
            struct_cmd("struct mutex rtnl_mutex | head"),
            Some(("mutex".into(), None, "rtnl_mutex".into()))
        );
    }
}
