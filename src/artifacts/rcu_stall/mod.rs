//! RCU CPU stall warnings decoded field by field, following Documentation/RCU/stallwarn.rst
//! and kernel/rcu/tree_stall.h (tree.c / tree_plugin.h / tree_exp.h before ~5.2); see
//! docs rcu-srcu.md §3. Every decoded field carries a [`Note`] with a short meaning, used later
//! for teaching notes.
//!
//! Lines understood (the `rcu: ` pr_fmt prefix and tabs optional):
//! - `INFO: rcu_preempt detected stalls on CPUs/tasks:` (print_other_cpu_stall), optionally
//!   followed on the same line by an old-style `{ 3} ` CPU list, ` P1234` tasks and the summary;
//! - `INFO: rcu_sched self-detected stall on CPU` (print_cpu_stall);
//! - `INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-...D } 2651 jiffies s: 2425
//!   root: 0x2/.` and `blocking rcu_node structures (internal RCU debug): l=...`;
//! - per-CPU `3-...!: (4 ticks this GP) idle=f824/0/0x1 softirq=4614/4614 fqs=0` with the
//!   4.x `last_accelerate: ...` / `Nonlazy posted: ...` and 5.x+ `rcuc=N jiffies(starved)` /
//!   `(false positive?)` tails; 3-flag pre-4.12 form accepted;
//! - `Tasks blocked on level-0 rcu_node (CPUs 0-1): P4093 P12/1:b..l`;
//! - summaries `(detected by 2, t=21002 jiffies, g=10393, q=12 ncpus=4)`, `(t=2100 jiffies
//!   g=-1135 q=4 ncpus=2)` and the ≤4.18 `g=%ld, c=%ld` pairs;
//! - `All QSes seen, last rcu_preempt kthread activity 42025 (4298858205-4298816180),
//!   jiffies_till_next_fqs=3, root ->qsmask 0x0`;
//! - `rcu_sched kthread starved for 2098 jiffies! g-1135 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0
//!   ->cpu=1` (≤4.18: `g%lu c%lu f%#x ...`), `... kthread timer wakeup didn't happen for 42031
//!   jiffies! g10393 f0x2 RCU_GP_WAIT_FQS(5) ->state=0x200`, `Possible timer handling issue on
//!   cpu=1 timer-softirq=2124`, `Unless rcu_sched kthread gets sufficient CPU time, OOM is now
//!   expected behavior.`, and the stack-dump headings.

use serde::Serialize;

mod cpu_line;
mod gp_dump;
mod kthread;
mod summary;

pub use cpu_line::parse_cpu_line;
pub use gp_dump::{GpKthreadDump, RcuNodeState, parse_gp_dumps, parse_gp_head};

pub use kthread::{gp_flag_names, parse_kthread_line, task_state_names};
pub use summary::parse_summary;

use super::{Line, parse_hex, parse_num, value_after};
use cpu_line::flags_to_cpu;
use kthread::parse_timer_issue;
use summary::{parse_all_qs_seen, parse_blocked_line, parse_task_tokens};

/// One decoded field: name as printed, raw text, and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub field: String,
    pub raw: String,
    pub meaning: String,
}

fn note(v: &mut Vec<Note>, field: &str, raw: impl Into<String>, meaning: impl Into<String>) {
    v.push(Note {
        field: field.to_string(),
        raw: raw.into(),
        meaning: meaning.into(),
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StallKind {
    /// `detected stalls on CPUs/tasks` (another CPU noticed).
    OtherCpus,
    /// `self-detected stall on CPU`.
    SelfDetected,
    /// `detected expedited stalls on CPUs/tasks`.
    Expedited,
    /// Stall-related lines with no header before them (a partial paste).
    Fragment,
}

/// The irq-work probe character (4th flag) of a per-CPU stall line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IrqWork {
    /// Digit: the probe has been pending for this many grace periods (capped at 9).
    PendingGps(u8),
    /// `.`: the probe ran during this GP (the CPU takes interrupts).
    RanThisGp,
    /// `!`: no probe was queued/handled this GP.
    NotQueued,
    /// `?`: kernel built without CONFIG_IRQ_WORK.
    NoIrqWork,
    /// Pre-4.12 kernels printed only three flags.
    Absent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleTriple {
    /// Low bits of the dynticks / context-tracking counter (hex as printed).
    pub counter: u64,
    /// 3 digits (`%03x`, ≤~5.19, masked 0xfff) or 4 (`%04x`, context tracking, 0xffff).
    pub counter_digits: usize,
    pub nesting: i64,
    pub nmi_nesting: u64,
    /// Whether RCU was watching (not in an extended quiescent state) at the snapshot, when
    /// the format identifies the encoding (4-digit context-tracking era: bit 0x4).
    pub rcu_watching: Option<bool>,
}

/// A per-CPU line (`print_cpu_stall_info`) or an expedited `{ 1-...D }` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuStall {
    pub line: usize,
    pub cpu: u32,
    /// The flag characters exactly as printed (`...!`).
    pub flags: String,
    pub offline: bool,
    pub not_in_qsmaskinit: bool,
    pub not_in_qsmaskinitnext: bool,
    pub irq_work: IrqWork,
    /// Expedited only: `D` printed (see [`StallReport::kind`]).
    pub exp_deferred: Option<bool>,
    pub ticks_this_gp: Option<u64>,
    pub gps_behind: Option<u64>,
    pub idle: Option<IdleTriple>,
    pub softirq: Option<(u64, u64)>,
    pub fqs: Option<i64>,
    pub rcuc_starved_jiffies: Option<i64>,
    pub false_positive: bool,
    /// Text after the known fields (`last_accelerate: ...`, unknown additions).
    pub extra: Option<String>,
    pub notes: Vec<Note>,
}

/// `Tasks blocked on level-0 rcu_node (CPUs 0-1): P4093 ...` or bare ` P%d` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedTasks {
    pub line: usize,
    pub level: Option<u32>,
    pub cpus: Option<(u32, u32)>,
    pub tasks: Vec<BlockedTask>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedTask {
    pub pid: u32,
    /// `rcu_read_lock_nesting` (`P%d/%d:%c%c%c%c` form, 5.x+).
    pub nesting: Option<i64>,
    /// The four `b q e l` flag characters when printed.
    pub flags: Option<String>,
}

/// `(detected by 2, t=21002 jiffies, g=10393, q=12 ncpus=4)` and variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StallSummary {
    pub line: usize,
    pub detected_by: Option<u32>,
    pub t_jiffies: Option<u64>,
    pub g: Option<i64>,
    /// ≤4.18 only: `c=` (rsp->completed).
    pub c: Option<i64>,
    pub q: Option<u64>,
    pub ncpus: Option<u32>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllQsSeen {
    pub line: usize,
    pub flavor: String,
    pub kthread_inactive_jiffies: i64,
    pub jiffies: Option<u64>,
    pub gp_activity: Option<u64>,
    pub jiffies_till_next_fqs: Option<u64>,
    pub root_qsmask: Option<u64>,
    pub notes: Vec<Note>,
}

/// `kthread starved for ...` and `kthread timer wakeup didn't happen for ...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpKthreadState {
    pub line: usize,
    pub flavor: String,
    pub jiffies: i64,
    pub g: Option<i64>,
    pub c: Option<i64>,
    pub gp_flags: Option<u64>,
    pub gp_flag_names: Vec<String>,
    pub gp_state_name: Option<String>,
    pub gp_state_num: Option<i64>,
    pub task_state: Option<u64>,
    pub task_state_names: Vec<String>,
    pub cpu: Option<u32>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimerIssue {
    pub line: usize,
    pub cpu: u32,
    pub timer_softirq: u64,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpeditedInfo {
    pub jiffies: Option<u64>,
    pub s: Option<u64>,
    pub root_expmask: Option<u64>,
    /// `T` after the root mask: tasks block the expedited GP (`exp_tasks`).
    pub root_tasks: Option<bool>,
    /// `l=%u:%d-%d:%#lx/%c` entries of the `blocking rcu_node structures` line.
    pub blocking_nodes: Vec<String>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StallReport {
    pub line: usize,
    /// `rcu_preempt`, `rcu_sched`, `rcu_bh`.
    pub flavor: Option<String>,
    pub kind: StallKind,
    pub cpus: Vec<CpuStall>,
    pub blocked_tasks: Vec<BlockedTasks>,
    pub summary: Option<StallSummary>,
    pub all_qs_seen: Option<AllQsSeen>,
    pub timer_wakeup: Option<GpKthreadState>,
    pub timer_issue: Option<TimerIssue>,
    pub starved: Option<GpKthreadState>,
    /// `Unless ... OOM is now expected behavior.` printed.
    pub oom_expected: bool,
    pub expedited: Option<ExpeditedInfo>,
    /// Lines consumed into this report.
    pub lines: usize,
}

impl StallReport {
    fn new(line: usize, flavor: Option<String>, kind: StallKind) -> Self {
        StallReport {
            line,
            flavor,
            kind,
            cpus: Vec::new(),
            blocked_tasks: Vec::new(),
            summary: None,
            all_qs_seen: None,
            timer_wakeup: None,
            timer_issue: None,
            starved: None,
            oom_expected: false,
            expedited: None,
            lines: 0,
        }
    }
}

fn strip_rcu(t: &str) -> &str {
    let t = t.trim();
    t.strip_prefix("rcu:").map(str::trim).unwrap_or(t)
}

/// The header: (flavor, kind, text after the header).
fn parse_header(text: &str) -> Option<(String, StallKind, &str)> {
    let t = strip_rcu(text);
    let rest = t.strip_prefix("INFO: ")?;
    let (flavor, rest) = rest.split_once(' ')?;
    if let Some(r) = rest.strip_prefix("detected expedited stalls on CPUs/tasks:") {
        return Some((flavor.to_string(), StallKind::Expedited, r));
    }
    if let Some(r) = rest.strip_prefix("detected stalls on CPUs/tasks:") {
        return Some((flavor.to_string(), StallKind::OtherCpus, r));
    }
    if let Some(r) = rest.strip_prefix("self-detected stall on CPU") {
        return Some((flavor.to_string(), StallKind::SelfDetected, r));
    }
    // ≤3.x: `INFO: rcu_sched_state detected stall on CPU 0 (t=105060 jiffies)`, printed by
    // the stalled CPU itself.
    if let Some(r) = rest.strip_prefix("detected stall on CPU ") {
        return Some((flavor.to_string(), StallKind::SelfDetected, r));
    }
    None
}

/// The text after a header: `{ 1-...D } 2651 jiffies s: 2425 root: 0x2/.` (expedited),
/// old `{ 3} (detected by ...)` CPU lists and ` P1234` task lists.
fn parse_header_tail(rep: &mut StallReport, tail: &str, line: usize) {
    let mut tail = tail.trim();
    // The old single-CPU header: `0 (t=105060 jiffies)`.
    if rep.kind == StallKind::SelfDetected
        && let Some((cpu, after)) = tail.split_once(' ')
        && let Ok(cpu) = cpu.parse::<u32>()
    {
        if let Some(mut c) = flags_to_cpu(cpu, "...", line, false) {
            c.flags.clear();
            rep.cpus.push(c);
        }
        tail = after.trim();
    }
    if let Some(r) = tail.strip_prefix('{')
        && let Some((inner, after)) = r.split_once('}')
    {
        for item in inner.split_whitespace() {
            let c = match item.split_once('-') {
                Some((cpu, flags)) => cpu.parse().ok().and_then(|cpu| {
                    flags_to_cpu(cpu, flags, line, rep.kind == StallKind::Expedited)
                }),
                None => item.parse().ok().and_then(|cpu: u32| {
                    let mut n = Vec::new();
                    note(
                        &mut n,
                        "cpu",
                        cpu.to_string(),
                        format!("CPU {cpu} is holding up the grace period"),
                    );
                    let mut c = flags_to_cpu(cpu, "...", line, false)?;
                    c.flags.clear();
                    c.notes = n;
                    Some(c)
                }),
            };
            if let Some(c) = c {
                rep.cpus.push(c);
            } else {
                rep.blocked_tasks
                    .extend(parse_task_tokens(item).into_iter().map(|t| BlockedTasks {
                        line,
                        level: None,
                        cpus: None,
                        tasks: vec![t],
                        notes: Vec::new(),
                    }));
            }
        }
        tail = after.trim();
    }
    if rep.kind == StallKind::Expedited {
        let mut e = ExpeditedInfo {
            jiffies: tail.split_whitespace().next().and_then(|v| v.parse().ok()),
            s: value_after(tail, "s:").and_then(|v| v.parse().ok()),
            root_expmask: None,
            root_tasks: None,
            blocking_nodes: Vec::new(),
            notes: Vec::new(),
        };
        if let Some(r) = value_after(tail, "root:") {
            let (m, tt) = r.split_once('/').unwrap_or((r, ""));
            e.root_expmask = parse_hex(m);
            e.root_tasks = match tt {
                "T" => Some(true),
                "." => Some(false),
                _ => None,
            };
            note(
                &mut e.notes,
                "root",
                r,
                format!(
                    "root rcu_node ->expmask {m} (subtrees still owing an expedited QS){}",
                    match e.root_tasks {
                        Some(true) => "; T: tasks block the expedited GP (->exp_tasks)",
                        Some(false) => "; .: no blocked tasks",
                        None => "",
                    }
                ),
            );
        }
        if let Some(j) = e.jiffies {
            note(
                &mut e.notes,
                "jiffies",
                j.to_string(),
                format!("the expedited grace period has run for {j} jiffies"),
            );
        }
        if let Some(s) = e.s {
            note(
                &mut e.notes,
                "s",
                s.to_string(),
                format!(
                    "rcu_state.expedited_sequence = {s} ({})",
                    if s & 1 == 1 {
                        "odd: an expedited GP is in flight"
                    } else {
                        "even"
                    }
                ),
            );
        }
        rep.expedited = Some(e);
        return;
    }
    let tasks = parse_task_tokens(tail.split('(').next().unwrap_or(""));
    if !tasks.is_empty() {
        rep.blocked_tasks.push(BlockedTasks {
            line,
            level: None,
            cpus: None,
            tasks,
            notes: Vec::new(),
        });
    }
    if let Some(p) = tail.find('(')
        && let Some(s) = parse_summary(&tail[p..], line)
    {
        rep.summary = Some(s);
    }
}

/// Finds stall reports in `lines`, marking consumed lines.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> Vec<StallReport> {
    let mut out: Vec<StallReport> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        let t = strip_rcu(&l.text);
        if let Some((flavor, kind, tail)) = parse_header(&l.text) {
            let mut rep = StallReport::new(l.no, Some(flavor), kind);
            parse_header_tail(&mut rep, tail, l.no);
            rep.lines = 1;
            out.push(rep);
            used[i] = true;
            continue;
        }
        macro_rules! cur {
            () => {{
                if out.is_empty() {
                    out.push(StallReport::new(l.no, None, StallKind::Fragment));
                }
                let r = out.last_mut().unwrap();
                r.lines += 1;
                used[i] = true;
                r
            }};
        }
        if let Some(c) = parse_cpu_line(t, l.no) {
            cur!().cpus.push(c);
        } else if let Some(s) = parse_summary(t, l.no) {
            cur!().summary = Some(s);
        } else if let Some(b) = parse_blocked_line(t, l.no) {
            cur!().blocked_tasks.push(b);
        } else if let Some(a) = parse_all_qs_seen(t, l.no) {
            cur!().all_qs_seen = Some(a);
        } else if let Some((timer, st)) = parse_kthread_line(t, l.no) {
            let r = cur!();
            if timer {
                r.timer_wakeup = Some(st);
            } else {
                r.starved = Some(st);
            }
        } else if let Some(ti) = parse_timer_issue(t, l.no) {
            cur!().timer_issue = Some(ti);
        } else if t.starts_with("Unless ") && t.contains("OOM is now expected behavior") {
            cur!().oom_expected = true;
        } else if let Some(r) = t.strip_prefix("blocking rcu_node structures") {
            let nodes: Vec<String> = r
                .split_whitespace()
                .filter(|w| w.starts_with("l="))
                .map(str::to_string)
                .collect();
            let rep = cur!();
            rep.expedited
                .get_or_insert_with(|| ExpeditedInfo {
                    jiffies: None,
                    s: None,
                    root_expmask: None,
                    root_tasks: None,
                    blocking_nodes: Vec::new(),
                    notes: Vec::new(),
                })
                .blocking_nodes
                .extend(nodes);
        } else if t == "RCU grace-period kthread stack dump:"
            || t == "Stack dump where RCU GP kthread last ran:"
        {
            cur!();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_rcu_cpu_line_doc_example() {
        let c = parse_cpu_line(
            "rcu: \t3-...!: (4 ticks this GP) idle=f824/0/0x1 softirq=4614/4614 fqs=0",
            1,
        )
        .unwrap();
        assert_eq!(c.cpu, 3);
        assert_eq!(c.flags, "...!");
        assert!(!c.offline && !c.not_in_qsmaskinit && !c.not_in_qsmaskinitnext);
        assert_eq!(c.irq_work, IrqWork::NotQueued);
        assert_eq!(c.ticks_this_gp, Some(4));
        let idle = c.idle.as_ref().unwrap();
        assert_eq!(
            (
                idle.counter,
                idle.nesting,
                idle.nmi_nesting,
                idle.rcu_watching
            ),
            (0xf824, 0, 1, Some(true))
        );
        assert_eq!(c.softirq, Some((4614, 4614)));
        assert_eq!(c.fqs, Some(0));
        let fqs = c.notes.iter().find(|n| n.field == "fqs").unwrap();
        assert!(fqs.meaning.starts_with(
            "force-quiescent-state scans that reached this CPU during this stall: none"
        ));
    }

    #[test]
    fn artifacts_rcu_cpu_line_variants() {
        // 4.x: %03x counter, decimal nmi nesting, FAST_NO_HZ tail, GPs behind, offline flags.
        let c = parse_cpu_line("\t5-O.N5: (2 GPs behind) idle=b9e/140000000000000/0 softirq=10/12 fqs=3 last_accelerate: 3e4b/3e4e, Nonlazy posted: .LD", 1).unwrap();
        assert!(c.offline && c.not_in_qsmaskinitnext && !c.not_in_qsmaskinit);
        assert_eq!(c.irq_work, IrqWork::PendingGps(5));
        assert_eq!(c.gps_behind, Some(2));
        let idle = c.idle.as_ref().unwrap();
        assert_eq!(
            (idle.counter_digits, idle.nesting, idle.rcu_watching),
            (3, 140000000000000, None)
        );
        assert_eq!(
            c.extra.as_deref(),
            Some("last_accelerate: 3e4b/3e4e, Nonlazy posted: .LD")
        );
        // 6.x: rcuc starvation + false positive.
        let c = parse_cpu_line("\t2-....: (1 GPs behind) idle=21c4/1/0x4000000000000000 softirq=9503/9503 fqs=95261 rcuc=21004 jiffies(starved) (false positive?)", 1).unwrap();
        assert_eq!(c.rcuc_starved_jiffies, Some(21004));
        assert!(c.false_positive);
        assert_eq!(c.extra, None);
        // 3-flag pre-4.12 form.
        let c = parse_cpu_line(
            "\t0-...: (1 ticks this GP) idle=1bb/0/0 softirq=1/1 fqs=0",
            1,
        )
        .unwrap();
        assert_eq!(c.irq_work, IrqWork::Absent);
        for bad in [
            "3-...!: x",
            "3-abc!: (4 ticks this GP)",
            "x-...!: (4 ticks this GP)",
            "3-...!: (4 ticks this",
            "1-...!: (2099 ticks this GP) idle=403c/1/0x40000002",
        ] {
            let r = parse_cpu_line(bad, 1);
            if bad.contains("idle=403c") {
                // Truncated (mail-wrapped) lines still decode what is there.
                let r = r.unwrap();
                assert_eq!(
                    (r.ticks_this_gp, r.softirq, r.fqs),
                    (Some(2099), None, None)
                );
            } else {
                assert!(r.is_none(), "{bad}");
            }
        }
    }

    #[test]
    fn artifacts_rcu_summary_forms() {
        let s = parse_summary(
            "\t(detected by 2, t=21002 jiffies, g=10393, q=12 ncpus=4)",
            1,
        )
        .unwrap();
        assert_eq!(
            (s.detected_by, s.t_jiffies, s.g, s.c, s.q, s.ncpus),
            (Some(2), Some(21002), Some(10393), None, Some(12), Some(4))
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.field == "g" && n.meaning.contains("counter 2598 with state bits 1"))
        );
        let s = parse_summary("(detected by 0, t=60002 jiffies, g=1234, c=1233, q=7)", 1).unwrap();
        assert_eq!((s.g, s.c, s.ncpus), (Some(1234), Some(1233), None));
    }

    /// Found by libFuzzer (tests/data/fuzz/text-0d7f14cf71f94b6e.bin, the lkrg log cut
    /// and spliced): a CPU item with nothing after its dash indexed an empty flags field.
    #[test]
    fn a_cpu_item_without_flags_is_not_a_cpu() {
        let text = "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0- 1-.. 2-...D } 6 jiffies s: 85 root: 0x1/.\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let r = parse_lines(&lines, &mut used);
        assert_eq!(r.len(), 1);
        let cpus: Vec<u32> = r[0].cpus.iter().map(|c| c.cpu).collect();
        assert_eq!(cpus, [2], "only the item with whole flags");
    }

    #[test]
    fn artifacts_rcu_expedited_and_old_headers() {
        let text = "INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-...D 3-O... } 2651 jiffies s: 2425 root: 0x2/T\nblocking rcu_node structures (internal RCU debug): l=1:0-15:0x2/T\nINFO: rcu_sched detected stalls on CPUs/tasks: { 3} (detected by 0, t=60002 jiffies, g=1234, c=1233, q=7)\nINFO: rcu_preempt detected stalls on CPUs/tasks: P1234 P99\n\tTasks blocked on level-0 rcu_node (CPUs 0-1): P4093 P12/1:b..l\n";
        let lines = Line::numbered(text);
        let mut used = vec![false; lines.len()];
        let r = parse_lines(&lines, &mut used);
        assert!(used.iter().all(|u| *u));
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].kind, StallKind::Expedited);
        assert_eq!(
            r[0].cpus
                .iter()
                .map(|c| (c.cpu, c.exp_deferred, c.offline))
                .collect::<Vec<_>>(),
            [(1, Some(true), false), (3, Some(false), true)]
        );
        let e = r[0].expedited.as_ref().unwrap();
        assert_eq!(
            (e.jiffies, e.s, e.root_expmask, e.root_tasks),
            (Some(2651), Some(2425), Some(2), Some(true))
        );
        assert_eq!(e.blocking_nodes, ["l=1:0-15:0x2/T"]);
        assert_eq!(r[1].cpus[0].cpu, 3);
        assert_eq!(r[1].summary.as_ref().unwrap().c, Some(1233));
        assert_eq!(
            r[2].blocked_tasks[0]
                .tasks
                .iter()
                .map(|t| t.pid)
                .collect::<Vec<_>>(),
            [1234, 99]
        );
        let b = &r[2].blocked_tasks[1];
        assert_eq!((b.level, b.cpus), (Some(0), Some((0, 1))));
        assert_eq!(
            b.tasks[1],
            BlockedTask {
                pid: 12,
                nesting: Some(1),
                flags: Some("b..l".into())
            }
        );
    }

    #[test]
    fn artifacts_rcu_task_state_and_flags() {
        assert_eq!(
            task_state_names(0x402),
            ["TASK_UNINTERRUPTIBLE", "TASK_NOLOAD"]
        );
        assert_eq!(task_state_names(0), ["TASK_RUNNING"]);
        assert_eq!(task_state_names(0x10000), ["unknown bits 0x10000"]);
        assert_eq!(gp_flag_names(0x3), ["RCU_GP_FLAG_INIT", "RCU_GP_FLAG_FQS"]);
        let (timer, s) = parse_kthread_line(
            "rcu_bh kthread starved for 100 jiffies! g5 c4 f0x1 RCU_GP_WAIT_FQS(3) ->state=0x402",
            1,
        )
        .unwrap();
        assert!(!timer);
        assert_eq!(
            (s.g, s.c, s.gp_state_num, s.cpu),
            (Some(5), Some(4), Some(3), None)
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.field == "gp_state" && n.meaning.contains("pre-4.19 numbering"))
        );
    }
}
