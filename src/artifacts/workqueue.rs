//! Workqueue lockups (kernel/workqueue.c `wq_watchdog_timer_fn`) and the busy-pool dump that
//! follows them (`show_all_workqueues()` / `show_one_workqueue()` / `show_pwq()`, also sysrq-t
//! and `show_workqueue_state()` before 6.x):
//!
//! ```text
//! BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 59s!
//! Showing busy workqueues and worker pools:
//! workqueue events: flags=0x0
//!   pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=2/256 refcnt=3
//!     in-flight: 11518:wb_workfn, 1705:wb_workfn
//!     pending: psi_avgs_work, stop_one_cpu_nowait_workfn
//! pool 1: cpus=0 node=0 flags=0x1 nice=-20 hung=31s workers=2 manager: 816094 idle: 823322
//! Showing backtraces of running workers in stalled CPU-bound worker pools:
//! ```
//!
//! A pool is stuck when none of its work items completed for `workqueue.watchdog_thresh`: the
//! `in-flight` items name the worker (`pid:func`) that runs each; `pending`/`inactive` items
//! wait behind them. Long lists wrap; a wrapped tail (`update_balloon_size_func
//! [virtio_balloon]`) is put back on its list.

use serde::Serialize;

use super::{Line, parse_hex, value_after};

/// Most items kept per list, pwqs per workqueue, workqueues per dump.
pub const MAX_ITEMS: usize = 256;

/// `BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 59s!`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WqLockup {
    pub line: usize,
    /// `cpus=` as printed (`0`, `0-1`, `0-3`).
    pub cpus: String,
    pub node: Option<u32>,
    pub flags: Option<u64>,
    pub nice: Option<i32>,
    pub stuck_secs: Option<u64>,
}

impl WqLockup {
    /// The single CPU of a per-CPU pool (`cpus=3`), None for unbound pools (`cpus=0-1`).
    pub fn cpu(&self) -> Option<u32> {
        self.cpus.parse().ok()
    }
}

/// One `Showing busy workqueues and worker pools:` dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct BusyDump {
    pub line: usize,
    pub workqueues: Vec<BusyWorkqueue>,
    pub pools: Vec<PoolState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusyWorkqueue {
    pub line: usize,
    pub name: String,
    pub flags: Option<u64>,
    pub pwqs: Vec<Pwq>,
}

/// `pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=2/256 refcnt=3` and its lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pwq {
    pub line: usize,
    pub pool: u32,
    pub cpus: String,
    pub active: Option<(u32, u32)>,
    /// `pid:func` pairs (a worker runs `func`); `BAR(pid)` barrier markers left in the name.
    pub in_flight: Vec<(u32, String)>,
    pub pending: Vec<String>,
    /// `inactive:` (6.x) / `delayed:` (older): items held back by max_active.
    pub inactive: Vec<String>,
}

/// `pool 1: cpus=0 node=0 flags=0x1 nice=-20 hung=31s workers=2 manager: 816094 idle: 823322`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolState {
    pub line: usize,
    pub id: u32,
    pub cpus: String,
    pub hung_secs: Option<u64>,
    pub workers: Option<u32>,
    pub manager: Option<u32>,
    pub idle: Vec<u32>,
}

/// What [`parse_lines`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct WorkqueueReports {
    pub lockups: Vec<WqLockup>,
    pub dumps: Vec<BusyDump>,
}

/// Parses a workqueue-lockup header.
pub fn parse_lockup(text: &str, line: usize) -> Option<WqLockup> {
    let rest = text.trim().strip_prefix("BUG: workqueue lockup - pool ")?;
    let cpus = value_after(rest, "cpus=")?.to_string();
    Some(WqLockup {
        line,
        cpus,
        node: value_after(rest, "node=").and_then(|v| v.parse().ok()),
        flags: value_after(rest, "flags=").and_then(parse_hex),
        nice: value_after(rest, "nice=").and_then(|v| v.parse().ok()),
        stuck_secs: rest
            .split_once("stuck for ")
            .and_then(|(_, s)| s.split('s').next()?.parse().ok()),
    })
}

fn parse_pool(t: &str, line: usize) -> Option<PoolState> {
    let rest = t.strip_prefix("pool ")?;
    let (id, rest) = rest.split_once(':')?;
    let id = id.parse().ok()?;
    let cpus = value_after(rest, "cpus=")?.to_string();
    let idle = rest
        .split_once("idle: ")
        .map(|(_, ids)| {
            ids.split_whitespace()
                .map_while(|w| w.parse().ok())
                .take(MAX_ITEMS)
                .collect()
        })
        .unwrap_or_default();
    Some(PoolState {
        line,
        id,
        cpus,
        hung_secs: value_after(rest, "hung=").and_then(|v| v.trim_end_matches('s').parse().ok()),
        workers: value_after(rest, "workers=").and_then(|v| v.parse().ok()),
        manager: value_after(rest, "manager:").and_then(|v| v.parse().ok()),
        idle,
    })
}

fn parse_pwq(t: &str, line: usize) -> Option<Pwq> {
    let rest = t.strip_prefix("pwq ")?;
    let (id, rest) = rest.split_once(':')?;
    Some(Pwq {
        line,
        pool: id.parse().ok()?,
        cpus: value_after(rest, "cpus=")?.to_string(),
        active: value_after(rest, "active=").and_then(|v| {
            let (a, b) = v.split_once('/')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        }),
        in_flight: Vec::new(),
        pending: Vec::new(),
        inactive: Vec::new(),
    })
}

/// `a, b [mod], c` → items (a module tag stays with its item).
fn items(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// A wrapped tail of a work list: symbols, optional `[module]`, commas.
fn is_item_tail(t: &str) -> bool {
    let mut any = false;
    for w in t.split([',', ' ']).filter(|w| !w.is_empty()) {
        let ok = super::call_trace::is_symbol(w)
            || (w.starts_with('[') && w.ends_with(']') && w.len() > 2)
            || w.split_once(':').is_some_and(|(p, f)| {
                p.bytes().all(|b| b.is_ascii_digit()) && super::call_trace::is_symbol(f)
            });
        if !ok {
            return false;
        }
        any = true;
    }
    any
}

#[derive(Clone, Copy, PartialEq)]
enum List {
    InFlight,
    Pending,
    Inactive,
}

/// Finds workqueue-lockup headers and busy dumps, marking consumed lines.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> WorkqueueReports {
    let mut out = WorkqueueReports::default();
    let mut dump: Option<BusyDump> = None;
    let mut last_list: Option<List> = None;
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        let t = l.text.trim();
        if let Some(w) = parse_lockup(t, l.no) {
            out.dumps.extend(dump.take());
            out.lockups.push(w);
            used[i] = true;
            continue;
        }
        if t.starts_with("Showing busy workqueues and worker pools") {
            out.dumps.extend(dump.take());
            dump = Some(BusyDump {
                line: l.no,
                ..Default::default()
            });
            last_list = None;
            used[i] = true;
            continue;
        }
        if t.starts_with("Showing backtraces of running workers in stalled") {
            used[i] = true;
            continue;
        }
        let Some(d) = dump.as_mut() else {
            continue;
        };
        if let Some(rest) = t.strip_prefix("workqueue ")
            && let Some((name, fl)) = rest.split_once(':')
            && !name.contains(' ')
        {
            if d.workqueues.len() < MAX_ITEMS {
                d.workqueues.push(BusyWorkqueue {
                    line: l.no,
                    name: name.to_string(),
                    flags: value_after(fl, "flags=").and_then(parse_hex),
                    pwqs: Vec::new(),
                });
            }
            last_list = None;
            used[i] = true;
            continue;
        }
        if let Some(p) = parse_pwq(t, l.no) {
            if let Some(wq) = d.workqueues.last_mut()
                && wq.pwqs.len() < MAX_ITEMS
            {
                wq.pwqs.push(p);
            }
            last_list = None;
            used[i] = true;
            continue;
        }
        if let Some(p) = parse_pool(t, l.no) {
            if d.pools.len() < MAX_ITEMS {
                d.pools.push(p);
            }
            last_list = None;
            used[i] = true;
            continue;
        }
        let pwq = d.workqueues.last_mut().and_then(|w| w.pwqs.last_mut());
        let (list, body) = if let Some(r) = t.strip_prefix("in-flight:") {
            (Some(List::InFlight), r)
        } else if let Some(r) = t.strip_prefix("pending:") {
            (Some(List::Pending), r)
        } else if let Some(r) = t
            .strip_prefix("inactive:")
            .or_else(|| t.strip_prefix("delayed:"))
        {
            (Some(List::Inactive), r)
        } else if last_list.is_some() && is_item_tail(t) {
            (last_list, t)
        } else {
            // Anything else ends the dump.
            out.dumps.extend(dump.take());
            last_list = None;
            continue;
        };
        used[i] = true;
        last_list = list;
        let Some(pwq) = pwq else { continue };
        match list {
            Some(List::InFlight) => {
                for it in items(body) {
                    if pwq.in_flight.len() >= MAX_ITEMS {
                        break;
                    }
                    if let Some((pid, f)) = it.split_once(':')
                        && let Ok(pid) = pid.trim().parse()
                    {
                        pwq.in_flight.push((pid, f.trim().to_string()));
                    }
                }
            }
            Some(List::Pending) => pwq.pending.extend(items(body).into_iter().take(MAX_ITEMS)),
            Some(List::Inactive) => pwq.inactive.extend(items(body).into_iter().take(MAX_ITEMS)),
            None => {}
        }
        pwq.pending.truncate(MAX_ITEMS);
        pwq.inactive.truncate(MAX_ITEMS);
    }
    out.dumps.extend(dump.take());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_workqueue_dump() {
        // Synthetic, in the shape of the corpus' workqueue reports (tests/data/logs/wq_*).
        let text = "BUG: workqueue lockup - pool cpus=0-1 flags=0x4 nice=0 stuck for 2530s!\nShowing busy workqueues and worker pools:\nworkqueue events: flags=0x0\n  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3/256 refcnt=4\n    in-flight: 11518:wb_workfn, 1705:wb_workfn\n    pending: vmstat_update, balloon_fn,\nupdate_balloon_size_func [virtio_balloon]\npool 1: cpus=0 node=0 flags=0x1 nice=-20 hung=31s workers=2 manager: 816094 idle: 823322\nrcu: INFO: other\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let r = parse_lines(&lines, &mut used);
        assert_eq!(r.lockups.len(), 1);
        assert_eq!(
            (
                r.lockups[0].cpus.as_str(),
                r.lockups[0].cpu(),
                r.lockups[0].stuck_secs
            ),
            ("0-1", None, Some(2530))
        );
        let d = &r.dumps[0];
        let p = &d.workqueues[0].pwqs[0];
        assert_eq!(
            p.in_flight,
            [
                (11518, "wb_workfn".to_string()),
                (1705, "wb_workfn".to_string())
            ]
        );
        assert_eq!(p.pending.len(), 3);
        assert_eq!(p.active, Some((3, 256)));
        assert_eq!(
            (d.pools[0].hung_secs, d.pools[0].idle.as_slice()),
            (Some(31), &[823322][..])
        );
        assert!(!used[8]);
    }
}
