//! Timelines: snapshots of a live QEMU guest's SRCU and RCU state (and of any expression,
//! and the state and stack of the tasks followed with `--task`) taken over time (`quiesce watch -c qmp:SOCK`), each compared with the one before, every
//! changed value shown with the field explanation it belongs to (`rcu::fields`). A
//! timeline is saved as JSON and replayed later (`quiesce timeline FILE`) without the guest.
//!
//! A snapshot stops the guest, reads what it needs (the SRCU and RCU reports, the
//! expressions), and lets it run again; between snapshots the guest runs. The values are
//! kept flattened, `path → text`, paths keyed by identity rather than position
//! (`srcu.domains[lesson_srcu].cpus[1].locks[0]`, `rcu.nodes[0].qsmask`), so that a list
//! that grows or reorders still compares value by value.

use super::Report;
use crate::kernel::Kernel;
use crate::kernel::printk::LogRecord;
use crate::kernel::tasks::TaskList;
use crate::rcu::srcu::SrcuReport;
use crate::rcu::tree::RcuReport;
use crate::unwind::task::Unwinder;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One moment of the guest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Snapshot {
    pub index: usize,
    /// Milliseconds since the first snapshot (host time; the guest is stopped while read).
    pub at_ms: u64,
    /// The guest's jiffies, when RCU's report had them.
    pub jiffies: Option<u64>,
    pub values: BTreeMap<String, String>,
    /// Kernel log lines written since the snapshot before (`[seconds] text`): what the
    /// kernel said happened in between.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

/// Snapshots in order, with where they were taken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Timeline {
    /// The QMP socket (or dump) they were taken from.
    pub source: String,
    /// The guest kernel's release (VMCOREINFO `OSRELEASE`).
    pub release: String,
    pub every_ms: u64,
    /// Expressions evaluated at each snapshot (`print.EXPR` values).
    pub prints: Vec<String>,
    pub snapshots: Vec<Snapshot>,
}

/// A value that differs between two snapshots.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The `rcu::fields` key explaining it, if any.
    pub field: Option<&'static str>,
}

/// Values that move with the clock alone: recorded, but not reported as changes.
const CLOCK: &[&str] = &[
    "jiffies",
    "gp_age_jiffies",
    "jiffies_since_gp_activity",
    "stall_in",
    "gp_activity",
    "expires_in",
    "timer_expires",
    "ticks_this_gp",
    "data",
];

fn is_clock(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    CLOCK.contains(&last)
}

/// The identity of an array element: its name, node index, address (a callback: several
/// share a CPU), CPU or pid, else its position.
fn element_key(v: &Value, i: usize) -> String {
    for k in ["name", "index", "addr", "cpu", "pid"] {
        match v.get(k) {
            Some(Value::String(s)) => return s.clone(),
            Some(Value::Number(n)) => return n.to_string(),
            _ => {}
        }
    }
    i.to_string()
}

/// `value` flattened into `out` under `at`.
pub fn flatten(value: &Value, at: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(v, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(v, &format!("{at}[{}]", element_key(v, i)), out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(at.to_string(), s.clone());
        }
        // sequence counters start "negative" (RCU's gp_seq: -300 << 2): shown signed, as
        // the reports print them
        Value::Number(n) if n.as_u64().is_some_and(|u| u > i64::MAX as u64) => {
            let u = n.as_u64().unwrap_or_default();
            out.insert(at.to_string(), (u as i64).to_string());
        }
        other => {
            out.insert(at.to_string(), other.to_string());
        }
    }
}

/// The `rcu::fields` key of a flattened path: `srcu.domains[x].cpus[1].locks[0]` is the
/// JSON path `domains[].cpus[].locks[]` of `srcu --json`.
pub fn field_of(path: &str) -> Option<&'static str> {
    let rest = path
        .strip_prefix("srcu.")
        .or_else(|| path.strip_prefix("rcu."))?;
    let mut json = String::new();
    let mut depth = 0;
    for c in rest.chars() {
        match c {
            '[' => {
                depth += 1;
                if depth == 1 {
                    json.push_str("[]");
                }
            }
            ']' => depth -= 1,
            c if depth == 0 => json.push(c),
            _ => {}
        }
    }
    crate::rcu::fields::lookup(&json).map(|f| f.key)
}

/// What changed from `prev` to `cur`, clock-driven values left out.
pub fn changes(prev: &BTreeMap<String, String>, cur: &BTreeMap<String, String>) -> Vec<Change> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = prev.keys().chain(cur.keys()).collect();
    for k in keys {
        let (a, b) = (prev.get(k), cur.get(k));
        if a != b && !is_clock(k) {
            out.push(Change {
                path: k.clone(),
                from: a.cloned(),
                to: b.cloned(),
                field: field_of(k),
            });
        }
    }
    out
}

/// What `watch` reads and how often.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchOptions {
    pub every: Duration,
    /// Stop after this many snapshots (0: no limit).
    pub count: usize,
    /// Stop after this long.
    pub max: Duration,
    /// Expressions to record at each snapshot.
    pub prints: Vec<String>,
    /// Stop once this expression has this value (`lesson_step=9`).
    pub until: Option<(String, i128)>,
    /// Only this SRCU domain (name or address).
    pub srcu: Option<String>,
    /// Tasks to follow (a pid or a command name): their state, CPU and stack.
    pub tasks: Vec<String>,
    pub out: Option<PathBuf>,
}

/// The flattened values of an SRCU and an RCU report (or their errors), and the jiffies
/// RCU's report read.
pub fn values_of(
    srcu: &Result<SrcuReport, String>,
    rcu: &Result<RcuReport, String>,
) -> (BTreeMap<String, String>, Option<u64>) {
    let mut values = BTreeMap::new();
    match srcu {
        Ok(r) => flatten(
            &serde_json::to_value(r).unwrap_or(Value::Null),
            "srcu",
            &mut values,
        ),
        Err(e) => {
            values.insert("srcu.error".into(), e.clone());
        }
    }
    match rcu {
        Ok(r) => flatten(
            &serde_json::to_value(r).unwrap_or(Value::Null),
            "rcu",
            &mut values,
        ),
        Err(e) => {
            values.insert("rcu.error".into(), e.clone());
        }
    }
    (values, rcu.as_ref().ok().and_then(|r| r.jiffies))
}

/// What one snapshot read: its flattened values, the jiffies RCU's report read, and what
/// they were flattened from (the TUI's panes show the reports and the task list).
pub struct Reading {
    pub values: BTreeMap<String, String>,
    pub jiffies: Option<u64>,
    pub srcu: Result<SrcuReport, String>,
    pub rcu: Result<RcuReport, String>,
    /// The task list, read when tasks are followed (`o.tasks`).
    pub tasks: Option<Result<TaskList, String>>,
}

/// The values of one snapshot, read now (the guest stopped by the caller). `unwinder` is
/// the one the snapshot before used, kept while the module list stays the same.
pub fn read_values(k: &Kernel, o: &WatchOptions, unwinder: &mut Option<Arc<Unwinder>>) -> Reading {
    let srcu = crate::rcu::srcu::srcu_report(k, o.srcu.as_deref()).map_err(|e| e.to_string());
    let rcu = crate::rcu::tree::rcu_report(k).map_err(|e| e.to_string());
    let (mut values, jiffies) = values_of(&srcu, &rcu);
    for p in &o.prints {
        let v = match k.eval_int(p) {
            Some(v) => v.to_string(),
            None => k
                .eval(p)
                .map(|r| {
                    r.iter()
                        .map(|x| format!("{:?}", x.result))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|e| format!("error: {e}")),
        };
        values.insert(format!("print.{p}"), v);
    }
    let mut tasks = None;
    if !o.tasks.is_empty() {
        let list = k.tasks().map_err(|e| e.to_string());
        let uw = Unwinder::reuse_or_new(k, unwinder.take()).map_err(|e| e.to_string());
        task_values(k, &list, &uw, &o.tasks, &mut values);
        *unwinder = uw.ok();
        tasks = Some(list);
    }
    Reading {
        values,
        jiffies,
        srcu,
        rcu,
        tasks,
    }
}

/// The most frames of a followed task's stack recorded (innermost first).
const STACK_FRAMES: usize = 12;

/// The state, CPU and stack of each task `specs` names (a pid, or every task of that
/// command name, at most 16) in `list`: `task[COMM:PID].state` (crash's two letters),
/// `.cpu`, `.stack` (function names, innermost first). A name that matches no task is
/// recorded as `task[NAME]` = "no such task", so a task that exits shows as a change.
pub fn task_values(
    k: &Kernel,
    list: &Result<TaskList, String>,
    unwinder: &Result<Arc<Unwinder>, String>,
    specs: &[String],
    out: &mut BTreeMap<String, String>,
) {
    let list = match list {
        Ok(l) => l,
        Err(e) => {
            out.insert("task.error".into(), e.clone());
            return;
        }
    };
    for spec in specs {
        let pid: Option<i32> = spec.parse().ok();
        let matching: Vec<_> = list
            .tasks
            .iter()
            .filter(|t| pid.map_or(t.comm == *spec, |p| t.pid == p))
            .take(16)
            .collect();
        if matching.is_empty() {
            out.insert(format!("task[{spec}]"), "no such task".into());
        }
        for t in matching {
            let key = format!("task[{}:{}]", t.comm, t.pid);
            out.insert(format!("{key}.state"), t.st.to_string());
            out.insert(format!("{key}.cpu"), t.cpu.to_string());
            let stack = match unwinder {
                Ok(u) => {
                    let bt = u.backtrace(k, t);
                    let names: Vec<&str> = bt
                        .frames
                        .iter()
                        .take(STACK_FRAMES)
                        .map(|f| f.function.as_deref().unwrap_or("?"))
                        .collect();
                    if names.is_empty() {
                        "(no frames)".to_string()
                    } else {
                        names.join(" < ")
                    }
                }
                Err(e) => format!("(no unwinder: {e})"),
            };
            out.insert(format!("{key}.stack"), stack);
        }
    }
}

/// Take snapshots of the live kernel `k` reads (`-c qmp:SOCK`, `/proc/kcore`) until a limit
/// is reached, calling `each` with every snapshot and its changes as it is taken. A QEMU
/// guest runs between snapshots and is left as it was found (see
/// `dump::Dump::guest_was_running`).
pub fn watch(
    k: &Kernel,
    source: &str,
    o: &WatchOptions,
    mut each: impl FnMut(&Snapshot, &[Change]),
) -> Result<Timeline> {
    // The guest is stopped after the last snapshot; dropping the dump resumes it if it
    // was running when attached.
    let dump = &k.dump;
    // A QEMU guest is stopped for each snapshot; the running kernel (/proc/kcore) cannot
    // be: its snapshots are read while it runs (values read a little apart in time).
    let guest = dump.format() == crate::dump::DumpFormat::Qmp;
    if !guest && !dump.is_live() && o.count != 1 {
        anyhow::bail!(
            "{source} holds one moment: watch needs a live kernel (-c qmp:SOCK or /proc/kcore), or --count 1"
        );
    }
    let t0 = Instant::now();
    let mut tl = Timeline {
        source: source.to_string(),
        release: k.vmcoreinfo.osrelease().unwrap_or_default().to_string(),
        every_ms: o.every.as_millis() as u64,
        prints: o.prints.clone(),
        snapshots: Vec::new(),
    };
    let mut next = t0;
    // the log's last record at the previous snapshot (the first shows none of the log)
    let mut seen: Option<u64> = None;
    let mut unwinder = None;
    loop {
        // the guest is stopped here: on the first pass by the attach, later by `pause`
        let Reading {
            values, jiffies, ..
        } = read_values(k, o, &mut unwinder);
        let records = k.log().map(|l| l.records).unwrap_or_default();
        let (log, last) = new_log_lines(&records, seen);
        seen = last.or(seen);
        let snap = Snapshot {
            index: tl.snapshots.len(),
            at_ms: t0.elapsed().as_millis() as u64,
            jiffies,
            values,
            log,
        };
        let ch = match tl.snapshots.last() {
            Some(p) => changes(&p.values, &snap.values),
            None => Vec::new(),
        };
        each(&snap, &ch);
        let done_until = o.until.as_ref().is_some_and(|(e, want)| {
            snap.values
                .get(&format!("print.{e}"))
                .and_then(|v| v.parse::<i128>().ok())
                .or_else(|| k.eval_int(e))
                == Some(*want)
        });
        tl.snapshots.push(snap);
        if done_until || (o.count > 0 && tl.snapshots.len() >= o.count) || t0.elapsed() >= o.max {
            break;
        }
        if guest {
            dump.resume().context("letting the guest run")?;
        }
        next += o.every;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
        if guest {
            dump.pause().context("stopping the guest")?;
        }
    }
    if let Some(p) = &o.out {
        save(&tl, p)?;
    }
    Ok(tl)
}

/// A snapshot as saved: the values that differ from the snapshot before (all of them for
/// the first) and the paths that are gone, so that a file grows with what changes.
#[derive(Serialize, Deserialize)]
struct SavedSnapshot {
    index: usize,
    at_ms: u64,
    jiffies: Option<u64>,
    set: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unset: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    log: Vec<String>,
}

/// The file: a timeline with its snapshots saved as differences.
#[derive(Serialize, Deserialize)]
struct SavedTimeline {
    /// `quiesce-timeline-1`.
    format: String,
    source: String,
    release: String,
    every_ms: u64,
    prints: Vec<String>,
    snapshots: Vec<SavedSnapshot>,
}

const FORMAT: &str = "quiesce-timeline-1";

/// The kernel log's records after sequence number `after` as `[seconds] text` lines (none
/// when `after` is `None`: the first snapshot), and the last record's sequence number.
pub fn new_log_lines(records: &[LogRecord], after: Option<u64>) -> (Vec<String>, Option<u64>) {
    let last = records.last().map(|r| r.seq);
    let lines = match after {
        None => Vec::new(),
        Some(a) => records
            .iter()
            .filter(|r| r.seq > a)
            .map(|r| {
                format!(
                    "[{:5}.{:06}] {}",
                    r.ts_nsec / 1_000_000_000,
                    r.ts_nsec % 1_000_000_000 / 1000,
                    r.text
                )
            })
            .collect(),
    };
    (lines, last)
}

/// Write a timeline as JSON, atomically (a temporary file renamed over `path`).
pub fn save(tl: &Timeline, path: &std::path::Path) -> Result<()> {
    let empty = BTreeMap::new();
    let mut prev = &empty;
    let mut snapshots = Vec::new();
    for s in &tl.snapshots {
        snapshots.push(SavedSnapshot {
            index: s.index,
            at_ms: s.at_ms,
            jiffies: s.jiffies,
            set: s
                .values
                .iter()
                .filter(|(k, v)| prev.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            unset: prev
                .keys()
                .filter(|k| !s.values.contains_key(*k))
                .cloned()
                .collect(),
            log: s.log.clone(),
        });
        prev = &s.values;
    }
    let saved = SavedTimeline {
        format: FORMAT.into(),
        source: tl.source.clone(),
        release: tl.release.clone(),
        every_ms: tl.every_ms,
        prints: tl.prints.clone(),
        snapshots,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&saved)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Read a saved timeline.
pub fn load(path: &std::path::Path) -> Result<Timeline> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let saved: SavedTimeline = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a quiesce timeline", path.display()))?;
    if saved.format != FORMAT {
        anyhow::bail!(
            "{}: timeline format {:?}, this quiesce reads {FORMAT:?}",
            path.display(),
            saved.format
        );
    }
    let mut values = BTreeMap::new();
    let mut snapshots = Vec::with_capacity(saved.snapshots.len());
    for s in saved.snapshots {
        for k in &s.unset {
            values.remove(k);
        }
        values.extend(s.set);
        snapshots.push(Snapshot {
            index: s.index,
            at_ms: s.at_ms,
            jiffies: s.jiffies,
            values: values.clone(),
            log: s.log,
        });
    }
    Ok(Timeline {
        source: saved.source,
        release: saved.release,
        every_ms: saved.every_ms,
        prints: saved.prints,
        snapshots,
    })
}

/// One snapshot's header and changes, as `watch` prints them.
pub fn snapshot_text(s: &Snapshot, ch: &[Change]) -> String {
    let mut out = format!(
        "#{:<4} +{:>7.3} s{}",
        s.index,
        s.at_ms as f64 / 1000.0,
        s.jiffies
            .map(|j| format!("  jiffies {j}"))
            .unwrap_or_default()
    );
    if s.index == 0 {
        out.push_str(&format!("  ({} values)\n", s.values.len()));
        for (k, v) in s.values.iter().filter(|(k, _)| k.starts_with("print.")) {
            out.push_str(&format!("  {k} = {v}\n"));
        }
        return out;
    }
    out.push('\n');
    for l in &s.log {
        out.push_str(&format!("  log {l}\n"));
    }
    for c in ch {
        out.push_str(&format!(
            "  {:<56} {} → {}{}\n",
            c.path,
            c.from.as_deref().unwrap_or("(none)"),
            c.to.as_deref().unwrap_or("(none)"),
            c.field.map(|f| format!("   [{f}]")).unwrap_or_default()
        ));
    }
    out
}

impl Report for Timeline {
    /// Every snapshot that changed something, with its changes.
    fn text(&self) -> String {
        let mut s = format!(
            "timeline of {} ({}), {} snapshots every {} ms\n",
            self.source,
            self.release,
            self.snapshots.len(),
            self.every_ms
        );
        let mut prev: Option<&Snapshot> = None;
        for snap in &self.snapshots {
            let ch = prev
                .map(|p| changes(&p.values, &snap.values))
                .unwrap_or_default();
            if prev.is_none() || !ch.is_empty() || !snap.log.is_empty() {
                s.push_str(&snapshot_text(snap, &ch));
            }
            prev = Some(snap);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattened_by_identity_and_compared() {
        let a = json!({"domains": [{"name": "s", "gp_seq": 4, "cpus": [{"cpu": 1, "locks": [1, 0]}],
                                    "callbacks": [{"addr": "0x10", "cpu": 0}, {"addr": "0x20", "cpu": 0}]}],
                       "jiffies": 100, "gp_seq": 18446744073709550713u64});
        let b = json!({"domains": [{"name": "t", "gp_seq": 0}, {"name": "s", "gp_seq": 5, "cpus": [{"cpu": 1, "locks": [2, 0]}]}],
                       "jiffies": 160});
        let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
        flatten(&a, "srcu", &mut fa);
        flatten(&b, "srcu", &mut fb);
        assert_eq!(fa["srcu.domains[s].cpus[1].locks[0]"], "1");
        assert_eq!(
            fa["srcu.domains[s].callbacks[0x20].cpu"], "0",
            "callbacks by address"
        );
        assert_eq!(fa["srcu.gp_seq"], "-903", "shown signed");
        let ch = changes(&fa, &fb);
        let paths: Vec<&str> = ch.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "srcu.domains[s].callbacks[0x10].addr",
                "srcu.domains[s].callbacks[0x10].cpu",
                "srcu.domains[s].callbacks[0x20].addr",
                "srcu.domains[s].callbacks[0x20].cpu",
                "srcu.domains[s].cpus[1].locks[0]",
                "srcu.domains[s].gp_seq",
                "srcu.domains[t].gp_seq",
                "srcu.domains[t].name",
                "srcu.gp_seq",
            ],
            "reordered domains compare by name; jiffies is clock"
        );
        assert_eq!(ch[0].field, Some("srcu.callback.segment"));
        assert_eq!(ch[4].field, Some("srcu.cpu.counters"));
        assert_eq!(ch[5].field, Some("srcu.gp_seq"));
        assert_eq!(ch[6].from, None);
        assert_eq!(field_of("rcu.nodes[0].qsmask"), Some("rcu.node.qsmask"));
        assert_eq!(field_of("print.lesson_step"), None);
    }

    #[test]
    fn saved_and_loaded() {
        let mut values = BTreeMap::new();
        values.insert("print.x".to_string(), "1".to_string());
        let mut second = values.clone();
        second.insert("print.x".to_string(), "2".to_string());
        second.insert("print.y".to_string(), "3".to_string());
        let mut third = second.clone();
        third.remove("print.x");
        let snap = |index, values| Snapshot {
            index,
            at_ms: index as u64 * 200,
            jiffies: Some(5 + index as u64),
            values,
            log: if index == 1 {
                vec!["[    1.000000] hello".into()]
            } else {
                vec![]
            },
        };
        let tl = Timeline {
            source: "qmp:/tmp/s".into(),
            release: "6.1".into(),
            every_ms: 200,
            prints: vec!["x".into()],
            snapshots: vec![snap(0, values), snap(1, second), snap(2, third)],
        };
        let dir = std::env::temp_dir().join(format!("quiesce-tl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.json");
        save(&tl, &p).unwrap();
        assert_eq!(load(&p).unwrap(), tl);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text.matches("print.y").count(),
            1,
            "saved as differences: {text}"
        );
        std::fs::write(&p, text.replace("quiesce-timeline-1", "quiesce-timeline-9")).unwrap();
        assert!(
            load(&p)
                .unwrap_err()
                .to_string()
                .contains("timeline format")
        );
        std::fs::write(&p, b"{not json").unwrap();
        assert!(
            load(&p)
                .unwrap_err()
                .to_string()
                .contains("not a quiesce timeline")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
