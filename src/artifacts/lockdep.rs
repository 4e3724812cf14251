//! Lockdep's list of held locks (kernel/locking/lockdep.c `lockdep_print_held_locks()`), as
//! printed by `debug_show_all_locks()` ("Showing all locks held in the system:", hung-task
//! reports with CONFIG_LOCKDEP, sysrq-d) and by `debug_show_held_locks()` after a single task:
//!
//! ```text
//! Showing all locks held in the system:
//! 3 locks held by kworker/u1280:2/2688:
//!  #0: ffff2820116d5948 ((wq_completion)mlx5_health0000:97:00.1){+.+.}-{0:0}, at: process_one_work+0x1c0/0x768
//!  #2: ffff2820116b2250 (&devlink->lock_key#4){+.+.}-{4:4}, at: devl_lock+0x20/0x38
//! =============================================
//! ```
//!
//! Lockdep records a lock when the acquisition starts, so a task sleeping in `mutex_lock()`
//! lists the mutex it waits for as "held": the same address under two tasks means one holds
//! it and the other waits (the analysis tells them apart by their stacks).
//!
//! Shapes seen in pasted reports: syzbot prints one row per inlined frame of the acquisition
//! site (`at: wiphy_lock include/net/cfg80211.h:5773 [inline]` then `at:
//! cfg80211_event_work+0x1f/0x40 ...`), and its consoles break an entry over lines (`#0: ` /
//! `ffff888016688938` / ` (` / `(wq_completion)cfg80211){+.+.}-{0:0}, at: ...`); a mail client
//! wraps one after `at:`. The lines of one entry are put back together here.

use serde::Serialize;

use super::{Line, parse_hex};
use crate::addr::Kva;

/// Most entries kept for one task (lockdep prints at most MAX_LOCK_DEPTH = 48).
pub const MAX_HELD: usize = 64;

/// One `N locks held by comm/pid:` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldLocks {
    pub line: usize,
    pub comm: String,
    pub pid: u32,
    /// The count lockdep printed (entries may be fewer: syzbot cuts long lists).
    pub count: u32,
    pub locks: Vec<HeldLock>,
    /// Part of a "Showing all locks held in the system" dump (not a single task's list).
    pub all_locks_dump: bool,
}

/// One ` #N: addr (class){usage}-{wait:inner}, at: site` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLock {
    pub line: usize,
    pub index: u32,
    /// The lock's address (`lockdep_map` of the instance); None in hand-condensed lists.
    #[serde(serialize_with = "super::ser_kva_opt")]
    pub addr: Option<Kva>,
    /// The lock class name: `&devlink->lock_key#4`, `rtnl_mutex`, `(wq_completion)events`.
    pub class: String,
    /// The acquisition sites as printed, innermost first: the function that called the
    /// locking API (`devl_lock`), then the functions it was inlined into (syzbot).
    pub sites: Vec<String>,
    /// `{+.+.}` usage bits when printed; a `.+.+` / `++++` read-capable class can be held
    /// by several readers at once.
    pub usage: Option<String>,
}

impl HeldLock {
    /// The function that took the lock (the first site).
    pub fn site(&self) -> Option<&str> {
        self.sites.first().map(String::as_str)
    }

    /// A class that lockdep tracks for read acquisitions (rwsem, rwlock, RCU, percpu-rwsem):
    /// one of the usage characters is `+` in a read position or `-`/`?` shows read use.
    pub fn read_capable(&self) -> bool {
        self.usage
            .as_deref()
            .is_some_and(|u| u.chars().nth(1).is_some_and(|c| c == '+' || c == '-'))
    }
}

/// What [`parse_lines`] found.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LockdepDump {
    pub holders: Vec<HeldLocks>,
    /// "Showing all locks held in the system:" headings seen.
    pub all_locks_headers: usize,
}

/// `3 locks held by kworker/u1280:2/2688:` / `1 lock held by ksoftirqd/1/23:` (comm may
/// contain `/`; the pid is after the last one). Also `no locks held by X/1.` (not returned).
pub fn parse_held_by(text: &str) -> Option<(u32, String, u32)> {
    let t = text.trim();
    let (n, rest) = t.split_once(' ')?;
    let count: u32 = n.parse().ok()?;
    let rest = rest
        .strip_prefix("locks held by ")
        .or_else(|| rest.strip_prefix("lock held by "))?;
    let who = rest.strip_suffix(':').unwrap_or(rest).trim();
    let (comm, pid) = who.rsplit_once('/')?;
    if comm.is_empty() {
        return None;
    }
    Some((count, comm.to_string(), pid.parse().ok()?))
}

/// ` #2: ffff2820116b2250 (&devlink->lock_key#4){+.+.}-{4:4}, at: devl_lock+0x20/0x38`, also
/// the author-condensed `#0: (&disk->open_mutex) at: sync_bdevs+0xec (block/bdev.c:1369)`.
/// Returns None while the entry is incomplete (no class or no `at:` yet).
pub fn parse_entry(text: &str, line: usize) -> Option<HeldLock> {
    let t = text.trim();
    let rest = t.strip_prefix('#')?;
    let (idx, rest) = rest.split_once(':')?;
    let index: u32 = idx.parse().ok()?;
    let mut rest = rest.trim_start();
    let mut addr = None;
    if let Some((a, r)) = rest.split_once(' ')
        && a.len() >= 8
        && a.bytes().all(|b| b.is_ascii_hexdigit())
    {
        addr = parse_hex(a).map(Kva);
        rest = r.trim_start();
    }
    let (class, usage, after) = parse_class(rest)?;
    let site = after
        .trim_start_matches(',')
        .trim()
        .strip_prefix("at:")?
        .trim();
    let func = site_func(site)?;
    Some(HeldLock {
        line,
        index,
        addr,
        class,
        sites: vec![func],
        usage,
    })
}

/// `(&devlink->lock_key#4){+.+.}-{4:4}, at: ...` → (class, usage, rest after the braces).
/// The class may itself hold parentheses: `((wq_completion)events)`, `((work_completion)(&w))`.
fn parse_class(s: &str) -> Option<(String, Option<String>, &str)> {
    let s = s.strip_prefix('(')?;
    // The class ends at the parenthesis that closes the first one.
    let mut depth = 1usize;
    let mut end = None;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end?;
    let class = s[..end].trim().to_string();
    if class.is_empty() {
        return None;
    }
    let mut rest = &s[end + 1..];
    let mut usage = None;
    if let Some(r) = rest.strip_prefix('{')
        && let Some((u, r2)) = r.split_once('}')
    {
        usage = Some(u.to_string());
        rest = r2;
        // `-{4:4}` wait-type annotation (5.x+).
        if let Some(r3) = rest.strip_prefix("-{")
            && let Some((_, r4)) = r3.split_once('}')
        {
            rest = r4;
        }
    }
    Some((class, usage, rest))
}

/// The function of an `at:` site: `devl_lock+0x20/0x38`, `wiphy_lock include/x.h:1 [inline]`,
/// `ublk_stop_dev`, `mlx5_fw_tracer_init.part.0+0x3c/0x1f8 [mlx5_core]`.
fn site_func(site: &str) -> Option<String> {
    let w = site.split_whitespace().next()?;
    let func = w.split('+').next()?;
    super::call_trace::is_symbol(func).then(|| func.to_string())
}

/// Finds held-lock lists. A list starts at `N lock(s) held by comm/pid:` and takes the entry
/// lines after it, joining an entry's broken pieces; other lines end it.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> LockdepDump {
    let mut out = LockdepDump::default();
    let mut in_dump = false;
    let mut cur: Option<HeldLocks> = None;
    // An entry whose pieces are still arriving: (text so far, first line).
    let mut partial: Option<(String, usize)> = None;
    let finish = |cur: &mut Option<HeldLocks>, out: &mut LockdepDump| {
        if let Some(h) = cur.take() {
            out.holders.push(h);
        }
    };
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        let t = l.text.trim();
        if t.starts_with("Showing all locks held in the system") {
            finish(&mut cur, &mut out);
            partial = None;
            in_dump = true;
            out.all_locks_headers += 1;
            used[i] = true;
            continue;
        }
        if in_dump && !t.is_empty() && t.bytes().all(|b| b == b'=') {
            finish(&mut cur, &mut out);
            partial = None;
            in_dump = false;
            used[i] = true;
            continue;
        }
        if let Some((count, comm, pid)) = parse_held_by(t) {
            finish(&mut cur, &mut out);
            partial = None;
            cur = Some(HeldLocks {
                line: l.no,
                comm,
                pid,
                count,
                locks: Vec::new(),
                all_locks_dump: in_dump,
            });
            used[i] = true;
            continue;
        }
        if t.starts_with("no locks held by ") {
            used[i] = true;
            continue;
        }
        let Some(h) = cur.as_mut() else {
            continue;
        };
        if t.is_empty() {
            continue;
        }
        // A new entry, or the next piece of a broken one.
        let text = if t.starts_with('#') && t[1..].split(':').next().is_some_and(is_digits) {
            t.to_string()
        } else if let Some((p, _)) = partial.as_ref() {
            let sep = if p.ends_with('(') || p.ends_with(' ') {
                ""
            } else {
                " "
            };
            format!("{p}{sep}{t}")
        } else if let Some(last) = h.locks.last_mut()
            && let Some(extra) = repeated_site(t, last)
        {
            // syzbot's next inline row of the same entry without its `#N: addr`.
            if last.sites.len() < 16 {
                last.sites.push(extra);
            }
            used[i] = true;
            continue;
        } else {
            finish(&mut cur, &mut out);
            continue;
        };
        used[i] = true;
        let first = partial.as_ref().map(|p| p.1).unwrap_or(l.no);
        match parse_entry(&text, first) {
            Some(e) => {
                partial = None;
                if let Some(last) = h.locks.last_mut()
                    && last.index == e.index
                    && last.addr == e.addr
                    && last.class == e.class
                {
                    // The next inline row of the same entry.
                    if last.sites.len() < 16 {
                        last.sites.extend(e.sites);
                    }
                } else if h.locks.len() < MAX_HELD {
                    h.locks.push(e);
                }
            }
            None if text.len() < 512 => partial = Some((text, first)),
            None => partial = None,
        }
    }
    finish(&mut cur, &mut out);
    out
}

/// `ffff888058a1e9f8 (&ei->xattr_sem){++++}-{4:4}, at: f+0x1/0x2` or `(class){..}, at: f`:
/// the same lock as `last` printed again for the next inlined site.
fn repeated_site(t: &str, last: &HeldLock) -> Option<String> {
    let mut rest = t;
    if let Some((a, r)) = t.split_once(' ')
        && a.bytes().all(|b| b.is_ascii_hexdigit())
    {
        if parse_hex(a).map(Kva) != last.addr {
            return None;
        }
        rest = r.trim_start();
    }
    // syzbot's broken rows lose the class's opening parenthesis: `(wq_completion)x){..}`.
    let reopened = format!("({rest}");
    for s in [rest, reopened.as_str()] {
        if let Some((class, _, after)) = parse_class(s)
            && class == last.class
        {
            let site = after
                .trim_start_matches(',')
                .trim()
                .strip_prefix("at:")?
                .trim();
            return site_func(site);
        }
    }
    None
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_lockdep_entries() {
        let e = parse_entry(
            " #2: ffff2820116b2250 (&devlink->lock_key#4){+.+.}-{4:4}, at: devl_lock+0x20/0x38",
            3,
        )
        .unwrap();
        assert_eq!(
            (e.index, e.addr, e.class.as_str(), e.site()),
            (
                2,
                Some(Kva(0xffff2820116b2250)),
                "&devlink->lock_key#4",
                Some("devl_lock")
            )
        );
        let e = parse_entry(
            "#0: ffff2820116d5948 ((wq_completion)mlx5_health0000:97:00.1){+.+.}-{0:0}, at: process_one_work+0x1c0/0x768",
            1,
        )
        .unwrap();
        assert_eq!(e.class, "(wq_completion)mlx5_health0000:97:00.1");
        let e = parse_entry(
            "#0: (&disk->open_mutex) at: sync_bdevs+0xec        (block/bdev.c:1369)",
            1,
        )
        .unwrap();
        assert_eq!((e.addr, e.site()), (None, Some("sync_bdevs")));
        assert!(parse_entry("#0: ffff888016688938 (", 1).is_none());
        assert_eq!(
            parse_held_by("1 lock held by ksoftirqd/1/23:"),
            Some((1, "ksoftirqd/1".into(), 23))
        );
        assert_eq!(parse_held_by("3 locks held by a b"), None);
    }

    #[test]
    fn artifacts_lockdep_broken_entries() {
        // Synthetic, in the shape of syzbot's console output (tests/data/logs/syzbot_*).
        let text = "Showing all locks held in the system:\n3 locks held by kworker/u4:0/10:\n #0: \nffff888016688938\n (\n(wq_completion)cfg80211){+.+.}-{0:0}, at: set_work_data kernel/workqueue.c:675 [inline]\n(wq_completion)cfg80211){+.+.}-{0:0}, at: process_one_work+0x8fd/0x16f0 kernel/workqueue.c:2567\n #2: ffff88807dc48768 (&rdev->wiphy.mtx){+.+.}-{3:3}, at: wiphy_lock include/net/cfg80211.h:5773 [inline]\n #2: ffff88807dc48768 (&rdev->wiphy.mtx){+.+.}-{3:3}, at: cfg80211_event_work+0x1f/0x40 net/wireless/core.c:332\n1 lock held by getty/4776:\n\n=============================================\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let d = parse_lines(&lines, &mut used);
        assert_eq!(d.holders.len(), 2);
        let h = &d.holders[0];
        assert_eq!((h.pid, h.count, h.locks.len()), (10, 3, 2));
        assert_eq!(h.locks[0].class, "(wq_completion)cfg80211");
        assert_eq!(h.locks[0].sites, ["set_work_data", "process_one_work"]);
        assert_eq!(h.locks[1].sites, ["wiphy_lock", "cfg80211_event_work"]);
        assert!(d.holders[1].locks.is_empty());
        assert!(
            used.iter()
                .zip(&lines)
                .all(|(u, l)| *u || l.text.trim().is_empty())
        );
    }
}
