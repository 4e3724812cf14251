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

use super::{Line, parse_hex, parse_num, value_after};

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

// ---- per-CPU line ---------------------------------------------------------------------

/// Parses `3-...!: (4 ticks this GP) idle=f824/0/0x1 softirq=4614/4614 fqs=0 ...`.
pub fn parse_cpu_line(text: &str, line: usize) -> Option<CpuStall> {
    let t = strip_rcu(text);
    let (head, rest) = t.split_once(": ")?;
    let (cpu, flags) = head.split_once('-')?;
    let cpu: u32 = cpu.parse().ok()?;
    if !(3..=4).contains(&flags.len()) || !flags.is_ascii() {
        return None;
    }
    let rest = rest.trim_start();
    if !rest.starts_with('(') {
        return None;
    }
    let mut c = flags_to_cpu(cpu, flags, line, false)?;
    let close = rest.find(')')?;
    let (val, title) = rest[1..close].split_once(' ')?;
    let val: u64 = val.parse().ok()?;
    match title {
        "ticks this GP" => {
            c.ticks_this_gp = Some(val);
            note(
                &mut c.notes,
                "ticks this GP",
                rest[..=close].to_string(),
                format!(
                    "scheduling-clock ticks this CPU took during the current grace period (rdp->ticks_this_gp): {val}; the CPU knows about this GP{}",
                    if val == 0 {
                        ", but no tick reached it (interrupts off or tickless)"
                    } else {
                        ""
                    }
                ),
            );
        }
        "GPs behind" => {
            c.gps_behind = Some(val);
            note(
                &mut c.notes,
                "GPs behind",
                rest[..=close].to_string(),
                format!(
                    "this CPU has not noticed the last {val} grace period(s) (rcu_state.gp_seq - rdp->gp_seq)"
                ),
            );
        }
        _ => return None,
    }
    let mut tail = rest[close + 1..].trim();
    if let Some(v) = tail.strip_prefix("idle=") {
        let end = v.find(' ').unwrap_or(v.len());
        c.idle = parse_idle(&v[..end], &mut c.notes);
        tail = v[end..].trim();
    }
    if let Some(v) = tail.strip_prefix("softirq=") {
        let end = v.find(' ').unwrap_or(v.len());
        if let Some((a, b)) = v[..end].split_once('/')
            && let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>())
        {
            c.softirq = Some((a, b));
            note(
                &mut c.notes,
                "softirq",
                &v[..end],
                format!(
                    "RCU softirqs handled on this CPU: {a} when it last noticed a GP start, {b} now{}",
                    if a == b {
                        " — RCU softirq has not run there since"
                    } else {
                        ""
                    }
                ),
            );
        }
        tail = v[end..].trim();
    }
    if let Some(v) = tail.strip_prefix("fqs=") {
        let end = v.find(' ').unwrap_or(v.len());
        if let Ok(n) = v[..end].parse::<i64>() {
            c.fqs = Some(n);
            let m = if n == 0 {
                "force-quiescent-state scans that reached this CPU during this stall: none — the grace-period kthread has not run its FQS loop".to_string()
            } else {
                format!(
                    "force-quiescent-state scans since the GP started (n_force_qs - n_force_qs_gpstart): {n}"
                )
            };
            note(&mut c.notes, "fqs", &v[..end], m);
        }
        tail = v[end..].trim();
    }
    let mut tail = tail.to_string();
    if tail.contains("(false positive?)") {
        c.false_positive = true;
        tail = tail.replace("(false positive?)", "");
        note(
            &mut c.notes,
            "false positive?",
            "(false positive?)",
            "the GP kthread is starving and this CPU is idle (in an extended quiescent state): likely the kthread, not this CPU, is the problem",
        );
    }
    if let Some(i) = tail.find("rcuc=")
        && let Some(j) = tail[i..].find(" jiffies(starved)")
    {
        let raw = tail[i..i + j + 17].to_string();
        if let Ok(n) = tail[i + 5..i + j].parse::<i64>() {
            c.rcuc_starved_jiffies = Some(n);
            note(
                &mut c.notes,
                "rcuc",
                raw.clone(),
                format!("this CPU's rcuc kthread has not run for {n} jiffies (starved)"),
            );
        }
        tail = tail.replace(&raw, "");
    }
    let tail = tail.trim();
    if let Some(v) = tail.strip_prefix("last_accelerate:") {
        note(
            &mut c.notes,
            "last_accelerate",
            v.trim(),
            "RCU_FAST_NO_HZ (≤5.x): low 16 bits of jiffies when callbacks were last accelerated / now; \"Nonlazy posted:\" flags l = all callbacks lazy, L = no non-lazy callbacks, D = dyntick-idle disabled (tick_nohz_enabled_snap clear)",
        );
    }
    if !tail.is_empty() {
        c.extra = Some(tail.to_string());
    }
    Some(c)
}

fn flags_to_cpu(cpu: u32, flags: &str, line: usize, expedited: bool) -> Option<CpuStall> {
    let b = flags.as_bytes();
    let ok = |i: usize, set: u8| b[i] == set || b[i] == b'.';
    if !(ok(0, b'O') && ok(1, b'o') && ok(2, b'N')) {
        return None;
    }
    let mut notes = Vec::new();
    note(
        &mut notes,
        "cpu",
        cpu.to_string(),
        format!("CPU {cpu} is holding up the grace period"),
    );
    let offline = b[0] == b'O';
    let not_init = b[1] == b'o';
    let not_next = b[2] == b'N';
    let (mask, masknext) = if expedited {
        ("expmaskinit", "expmaskinitnext")
    } else {
        ("qsmaskinit", "qsmaskinitnext")
    };
    note(
        &mut notes,
        "flag O",
        (b[0] as char).to_string(),
        if offline {
            "O: the CPU is offline".to_string()
        } else {
            ".: the CPU is online".to_string()
        },
    );
    note(
        &mut notes,
        "flag o",
        (b[1] as char).to_string(),
        if not_init {
            format!(
                "o: the CPU is not in its rcu_node's ->{mask} (it was offline when the GP started)"
            )
        } else {
            format!(".: the CPU is in ->{mask} (online when the GP started)")
        },
    );
    note(
        &mut notes,
        "flag N",
        (b[2] as char).to_string(),
        if not_next {
            format!("N: the CPU is not in ->{masknext} (offline for the next GP)")
        } else {
            format!(".: the CPU is in ->{masknext}")
        },
    );
    let mut irq_work = IrqWork::Absent;
    let mut exp_deferred = None;
    if b.len() == 4 {
        let ch = b[3] as char;
        if expedited {
            exp_deferred = match ch {
                'D' => Some(true),
                '.' => Some(false),
                _ => return None,
            };
            note(
                &mut notes,
                "flag D",
                ch.to_string(),
                if ch == 'D' {
                    "D: rdp->cpu_no_qs.b.exp is clear — this CPU's expedited quiescent state is deferred, not yet reported (printed \"D.\"[!!cpu_no_qs.b.exp])"
                } else {
                    ".: the CPU still owes an expedited quiescent state (rdp->cpu_no_qs.b.exp set)"
                },
            );
        } else {
            irq_work = match ch {
                '0'..='9' => IrqWork::PendingGps(ch as u8 - b'0'),
                '.' => IrqWork::RanThisGp,
                '!' => IrqWork::NotQueued,
                '?' => IrqWork::NoIrqWork,
                _ => return None,
            };
            let m = match irq_work {
                IrqWork::PendingGps(n) => format!("{n}: an irq-work probe has been pending for {n} grace period(s): the CPU is not taking interrupts"),
                IrqWork::RanThisGp => ".: the irq-work probe ran during this GP: the CPU takes interrupts".to_string(),
                IrqWork::NotQueued => "!: no irq-work probe was queued/handled this GP (FQS never reached the CPU, consistent with fqs=0)".to_string(),
                _ => "?: kernel built without CONFIG_IRQ_WORK, no probe".to_string(),
            };
            note(&mut notes, "flag irq-work", ch.to_string(), m);
        }
    }
    Some(CpuStall {
        line,
        cpu,
        flags: flags.to_string(),
        offline,
        not_in_qsmaskinit: not_init,
        not_in_qsmaskinitnext: not_next,
        irq_work,
        exp_deferred,
        ticks_this_gp: None,
        gps_behind: None,
        idle: None,
        softirq: None,
        fqs: None,
        rcuc_starved_jiffies: None,
        false_positive: false,
        extra: None,
        notes,
    })
}

/// `f824/0/0x1`, `403c/1/0x40000002`, old `b9e/140000000000000/0`.
fn parse_idle(v: &str, notes: &mut Vec<Note>) -> Option<IdleTriple> {
    let mut it = v.split('/');
    let a = it.next()?;
    let b = it.next()?;
    let c = it.next()?;
    let counter = parse_hex(a)?;
    // Very old kernels printed the nesting with %llx; accept hex digits there too.
    let nesting = b
        .parse::<i64>()
        .ok()
        .or_else(|| parse_hex(b).map(|x| x as i64))?;
    let nmi_nesting = parse_num(c)?;
    let digits = a.len();
    let rcu_watching = (digits >= 4).then_some(counter & 0x4 != 0);
    let a_meaning = match rcu_watching {
        Some(true) => format!(
            "dynticks/context-tracking counter low 16 bits = {a}: bit 0x4 (RCU watching) set — the CPU was not in an extended quiescent state"
        ),
        Some(false) => format!(
            "dynticks/context-tracking counter low 16 bits = {a}: bit 0x4 clear — the CPU was in an extended quiescent state (idle/user/guest)"
        ),
        None => format!(
            "dynticks counter low 12 bits = {a} (%03x era): in 4.x–~5.11 bit 0x2 set means RCU watching (here {}); ~5.12–5.19 used odd = watching (here {})",
            if counter & 0x2 != 0 { "set" } else { "clear" },
            if counter & 0x1 != 0 { "odd" } else { "even" }
        ),
    };
    note(notes, "idle counter", a, a_meaning);
    note(
        notes,
        "idle nesting",
        b,
        format!(
            "dynticks_nesting = {nesting}: {}",
            match nesting {
                0 => "0, process-level nesting says idle (or user/guest)".to_string(),
                n if n.unsigned_abs() > 0xffff =>
                    "very large: non-idle task context (DYNTICK_TASK_EXIT_IDLE bias)".to_string(),
                n => format!("{n} level(s) of non-idle process context"),
            }
        ),
    );
    note(
        notes,
        "idle nmi_nesting",
        c,
        format!(
            "dynticks_nmi_nesting = {c}: {}",
            if nmi_nesting >= 0x4000_0000
                && (nmi_nesting == 0x4000_0000
                    || nmi_nesting & 0x3fff_ffff < 0x100
                    || nmi_nesting >= 0x4000_0000_0000_0000)
            {
                "DYNTICK_IRQ_NONIDLE bias: not in an irq/NMI entered from idle; the low bits count irq (+2) / NMI (+1) nesting"
            } else if nmi_nesting == 0 {
                "0: not in an interrupt or NMI"
            } else {
                "small: inside an interrupt/NMI taken from an extended quiescent state"
            }
        ),
    );
    Some(IdleTriple {
        counter,
        counter_digits: digits,
        nesting,
        nmi_nesting,
        rcu_watching,
    })
}

// ---- other lines -----------------------------------------------------------------------

/// `(detected by 7, t=42141 jiffies, g=10393, q=61 ncpus=8)`, `(t=2100 jiffies g=-1135 q=4
/// ncpus=2)`, `(detected by 2, t=21002 jiffies, g=10393, c=10392, q=12)`.
pub fn parse_summary(text: &str, line: usize) -> Option<StallSummary> {
    let t = strip_rcu(text);
    let inner = t.strip_prefix('(')?.split(')').next()?;
    if !inner.contains("t=") || !inner.contains("jiffies") {
        return None;
    }
    let num_i = |k: &str| value_after(inner, k).and_then(|v| v.parse::<i64>().ok());
    let mut s = StallSummary {
        line,
        detected_by: value_after(inner, "detected by").and_then(|v| v.parse().ok()),
        t_jiffies: num_i("t=").map(|v| v as u64),
        g: num_i("g="),
        c: num_i("c="),
        q: num_i("q=").map(|v| v as u64),
        ncpus: num_i("ncpus=").map(|v| v as u32),
        notes: Vec::new(),
    };
    if let Some(d) = s.detected_by {
        note(
            &mut s.notes,
            "detected by",
            d.to_string(),
            format!("CPU {d} noticed the stall and printed this report"),
        );
    }
    if let Some(tj) = s.t_jiffies {
        note(
            &mut s.notes,
            "t",
            tj.to_string(),
            format!("{tj} jiffies since the grace period started (jiffies - gp_start)"),
        );
    }
    if let Some(g) = s.g {
        let m = if let Some(c) = s.c {
            format!(
                "gpnum = {g} (≤4.18 numbering); c={c} is the last completed GP; {}",
                if g != c {
                    "a GP is in progress"
                } else {
                    "no GP in progress"
                }
            )
        } else {
            format!(
                "grace-period sequence {g}: counter {} with state bits {} ({})",
                g >> 2,
                g & 3,
                if g & 3 != 0 { "GP in progress" } else { "idle" }
            )
        };
        note(&mut s.notes, "g", g.to_string(), m);
    }
    if let Some(c) = s.c {
        note(
            &mut s.notes,
            "c",
            c.to_string(),
            "last completed grace period (rsp->completed, kernels ≤4.18)",
        );
    }
    if let Some(q) = s.q {
        note(
            &mut s.notes,
            "q",
            q.to_string(),
            format!("{q} RCU callbacks queued across all CPUs"),
        );
    }
    if let Some(n) = s.ncpus {
        note(
            &mut s.notes,
            "ncpus",
            n.to_string(),
            format!("{n} CPUs online (rcu_state.n_online_cpus, printed since ~5.15)"),
        );
    }
    Some(s)
}

/// `P4093`, `P12/1:b..l` tokens.
fn parse_task_tokens(s: &str) -> Vec<BlockedTask> {
    s.split_whitespace()
        .filter_map(|tok| {
            let r = tok.strip_prefix('P')?;
            let (pid, more) = match r.split_once('/') {
                Some((p, m)) => (p, Some(m)),
                None => (r, None),
            };
            let pid: u32 = pid.parse().ok()?;
            let (nesting, flags) = match more.and_then(|m| m.split_once(':')) {
                Some((n, f)) => (n.parse().ok(), Some(f.to_string())),
                None => (None, None),
            };
            Some(BlockedTask {
                pid,
                nesting,
                flags,
            })
        })
        .collect()
}

fn parse_blocked_line(text: &str, line: usize) -> Option<BlockedTasks> {
    let t = strip_rcu(text);
    let rest = t.strip_prefix("Tasks blocked on level-")?;
    let (level, rest) = rest.split_once(' ')?;
    let level = level.parse().ok();
    let cpus = value_after(rest, "(CPUs").and_then(|v| {
        let (a, b) = v.split_once('-')?;
        Some((
            a.parse().ok()?,
            b.trim_end_matches(['(', ')', ':']).parse().ok()?,
        ))
    });
    let list = rest.split_once("):").map(|x| x.1).unwrap_or("");
    let tasks = parse_task_tokens(list);
    let mut notes = Vec::new();
    let pids: Vec<String> = tasks.iter().map(|t| t.pid.to_string()).collect();
    note(
        &mut notes,
        "tasks",
        list.trim(),
        format!(
            "tasks preempted or blocked inside an RCU read-side critical section that started before this GP (rcu_node ->blkd_tasks from ->gp_tasks){}",
            if pids.is_empty() {
                String::new()
            } else {
                format!(": pid {}", pids.join(", "))
            }
        ),
    );
    for t in &tasks {
        if let Some(f) = &t.flags {
            note(
                &mut notes,
                "task flags",
                format!("P{}/{}:{}", t.pid, t.nesting.unwrap_or(0), f),
                "rcu_read_lock_nesting / b = blocked, q = needs QS, e = expedited hint, l = on blkd list",
            );
        }
    }
    Some(BlockedTasks {
        line,
        level,
        cpus,
        tasks,
        notes,
    })
}

fn parse_all_qs_seen(text: &str, line: usize) -> Option<AllQsSeen> {
    let t = strip_rcu(text);
    let rest = t.strip_prefix("All QSes seen, last ")?;
    let (flavor, rest) = rest.split_once(" kthread activity ")?;
    let (delta, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let delta: i64 = delta.trim_end_matches(',').parse().ok()?;
    let (jiffies, gp_activity) = rest
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .and_then(|(pair, _)| pair.split_once('-'))
        .map(|(a, b)| (a.parse().ok(), b.parse().ok()))
        .unwrap_or((None, None));
    let jtnf: Option<u64> =
        value_after(rest, "jiffies_till_next_fqs=").and_then(|v| v.parse().ok());
    let root = value_after(rest, "->qsmask").and_then(parse_hex);
    let mut notes = Vec::new();
    note(
        &mut notes,
        "kthread activity",
        delta.to_string(),
        format!(
            "no CPU or task still owes a quiescent state, yet the GP has not ended: the {flavor} grace-period kthread last did anything {delta} jiffies ago (jiffies - gp_activity)"
        ),
    );
    if let (Some(j), Some(a)) = (jiffies, gp_activity) {
        note(
            &mut notes,
            "jiffies-gp_activity",
            format!("({j}-{a})"),
            "raw jiffies now and rcu_state.gp_activity",
        );
    }
    if let Some(v) = jtnf {
        note(
            &mut notes,
            "jiffies_till_next_fqs",
            v.to_string(),
            format!("the FQS scan period is {v} jiffies"),
        );
    }
    if let Some(m) = root {
        note(
            &mut notes,
            "root ->qsmask",
            format!("{m:#x}"),
            if m == 0 {
                "root rcu_node owes nothing: the GP kthread only has to notice and end the GP"
                    .to_string()
            } else {
                format!("root rcu_node still waits on subtrees {m:#x}")
            },
        );
    }
    Some(AllQsSeen {
        line,
        flavor: flavor.to_string(),
        kthread_inactive_jiffies: delta,
        jiffies,
        gp_activity,
        jiffies_till_next_fqs: jtnf,
        root_qsmask: root,
        notes,
    })
}

/// 4.19+ `gp_state` numbering (kernel/rcu/tree.h); ≤~4.16 had IDLE 0, WAIT_GPS 1, DONE_GPS 2,
/// WAIT_FQS 3, DOING_FQS 4, CLEANUP 5, CLEANED 6.
const GP_STATES: [(&str, i64, Option<i64>, &str); 9] = [
    ("RCU_GP_IDLE", 0, Some(0), "no grace period in progress"),
    (
        "RCU_GP_WAIT_GPS",
        1,
        Some(1),
        "waiting for a request to start a grace period",
    ),
    (
        "RCU_GP_DONE_GPS",
        2,
        Some(2),
        "woken to start a grace period",
    ),
    (
        "RCU_GP_ONOFF",
        3,
        None,
        "GP initialization: applying CPU-hotplug changes to the rcu_node tree",
    ),
    (
        "RCU_GP_INIT",
        4,
        None,
        "GP initialization: setting up the rcu_node tree",
    ),
    (
        "RCU_GP_WAIT_FQS",
        5,
        Some(3),
        "sleeping until the next force-quiescent-state scan or until all quiescent states are in",
    ),
    (
        "RCU_GP_DOING_FQS",
        6,
        Some(4),
        "running a force-quiescent-state scan",
    ),
    ("RCU_GP_CLEANUP", 7, Some(5), "grace-period cleanup"),
    ("RCU_GP_CLEANED", 8, Some(6), "grace-period cleanup done"),
];

/// TASK_* bits, 4.14+ numbering (include/linux/sched.h; rcu-srcu.md §3.7).
const TASK_BITS: [(u64, &str); 15] = [
    (0x1, "TASK_INTERRUPTIBLE"),
    (0x2, "TASK_UNINTERRUPTIBLE"),
    (0x4, "__TASK_STOPPED"),
    (0x8, "__TASK_TRACED"),
    (0x10, "EXIT_DEAD"),
    (0x20, "EXIT_ZOMBIE"),
    (0x40, "TASK_PARKED"),
    (0x80, "TASK_DEAD"),
    (0x100, "TASK_WAKEKILL"),
    (0x200, "TASK_WAKING"),
    (0x400, "TASK_NOLOAD"),
    (0x800, "TASK_NEW"),
    (0x1000, "TASK_RTLOCK_WAIT"),
    (0x2000, "TASK_FREEZABLE"),
    (0x8000, "TASK_FROZEN"),
];

/// Names of the TASK_* bits set in `state` (4.14+ numbering); `["TASK_RUNNING"]` for 0.
pub fn task_state_names(state: u64) -> Vec<String> {
    if state == 0 {
        return vec!["TASK_RUNNING".to_string()];
    }
    let mut v: Vec<String> = TASK_BITS
        .iter()
        .filter(|(b, _)| state & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u64 = TASK_BITS.iter().map(|(b, _)| b).sum();
    if state & !known != 0 {
        v.push(format!("unknown bits {:#x}", state & !known));
    }
    v
}

/// `gp_flags` bits: RCU_GP_FLAG_INIT 0x1, _FQS 0x2, _OVLD 0x4 (5.x+).
pub fn gp_flag_names(f: u64) -> Vec<String> {
    let mut v = Vec::new();
    for (b, n) in [
        (0x1, "RCU_GP_FLAG_INIT"),
        (0x2, "RCU_GP_FLAG_FQS"),
        (0x4, "RCU_GP_FLAG_OVLD"),
    ] {
        if f & b != 0 {
            v.push(n.to_string());
        }
    }
    if f & !0x7 != 0 {
        v.push(format!("unknown bits {:#x}", f & !0x7));
    }
    v
}

/// `rcu_sched kthread starved for 2098 jiffies! g-1135 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0
/// ->cpu=1` and `rcu_preempt kthread timer wakeup didn't happen for 42031 jiffies! g10393 f0x2
/// RCU_GP_WAIT_FQS(5) ->state=0x200`. Returns (is_timer_line, state).
pub fn parse_kthread_line(text: &str, line: usize) -> Option<(bool, GpKthreadState)> {
    let t = strip_rcu(text);
    let (flavor, rest, timer) = if let Some((f, r)) = t.split_once(" kthread starved for ") {
        (f, r, false)
    } else if let Some((f, r)) = t.split_once(" kthread timer wakeup didn't happen for ") {
        (f, r, true)
    } else {
        return None;
    };
    if flavor.contains(' ') {
        return None;
    }
    let (j, rest) = rest.split_once(" jiffies")?;
    let jiffies: i64 = j.trim().parse().ok()?;
    let rest = rest.trim_start_matches('!').trim();
    let mut st = GpKthreadState {
        line,
        flavor: flavor.to_string(),
        jiffies,
        g: None,
        c: None,
        gp_flags: None,
        gp_flag_names: Vec::new(),
        gp_state_name: None,
        gp_state_num: None,
        task_state: None,
        task_state_names: Vec::new(),
        cpu: None,
        notes: Vec::new(),
    };
    note(
        &mut st.notes,
        if timer { "timer wakeup" } else { "starved" },
        j.trim(),
        if timer {
            format!(
                "the {flavor} GP kthread's FQS timeout expired {jiffies} jiffies ago but the kthread is still not on a runqueue"
            )
        } else {
            format!(
                "the {flavor} grace-period kthread has not run for {jiffies} jiffies (jiffies - gp_activity > 2*HZ)"
            )
        },
    );
    for tok in rest.split_whitespace() {
        if let Some(v) = tok.strip_prefix("->state=") {
            let s = parse_hex(v);
            st.task_state = s;
            if let Some(s) = s {
                st.task_state_names = task_state_names(s);
                let why = match s {
                    0 => " — runnable but not getting CPU time",
                    0x402 => " (TASK_IDLE) — sleeping, as in its normal swait",
                    0x200 => {
                        " — a wakeup started but the task was never enqueued (remote wakeup/IPI not processed on its CPU?)"
                    }
                    _ => "",
                };
                note(
                    &mut st.notes,
                    "->state",
                    v,
                    format!(
                        "GP kthread task state {}{why}",
                        st.task_state_names.join("|")
                    ),
                );
            }
        } else if let Some(v) = tok.strip_prefix("->cpu=") {
            st.cpu = v.parse().ok();
            note(
                &mut st.notes,
                "->cpu",
                v,
                format!("the GP kthread last ran on CPU {v}"),
            );
        } else if let Some(v) = tok.strip_prefix("f0x").or_else(|| tok.strip_prefix("f0X")) {
            if let Some(f) = parse_hex(v) {
                st.gp_flags = Some(f);
                st.gp_flag_names = gp_flag_names(f);
                let names = if st.gp_flag_names.is_empty() {
                    "none".to_string()
                } else {
                    st.gp_flag_names.join("|")
                };
                note(
                    &mut st.notes,
                    "f",
                    tok,
                    format!(
                        "rcu_state.gp_flags = {names} (INIT = start a GP requested, FQS = force-quiescent-state scan requested, OVLD = callback overload)"
                    ),
                );
            }
        } else if let Some(v) = tok.strip_prefix('g').filter(|v| v.parse::<i64>().is_ok()) {
            let g: i64 = v.parse().unwrap();
            st.g = Some(g);
            note(
                &mut st.notes,
                "g",
                tok,
                if g < 0 {
                    format!(
                        "rcu_state.gp_seq = {g} (negative: the counter starts near -300 GPs after boot so wrap bugs show early)"
                    )
                } else {
                    format!("rcu_state.gp_seq = {g}")
                },
            );
        } else if let Some(v) = tok.strip_prefix('c').filter(|v| v.parse::<i64>().is_ok()) {
            st.c = v.parse().ok();
            note(&mut st.notes, "c", tok, "last completed GP (≤4.18)");
        } else if tok.starts_with("RCU_GP_")
            && let Some((name, num)) = tok.split_once('(')
        {
            let num: Option<i64> = num.trim_end_matches(')').parse().ok();
            st.gp_state_name = Some(name.to_string());
            st.gp_state_num = num;
            let entry = GP_STATES.iter().find(|e| e.0 == name);
            let era = match (entry, num) {
                (Some(e), Some(n)) if e.1 == n => " (4.19+ numbering)",
                (Some(e), Some(n)) if e.2 == Some(n) => " (pre-4.19 numbering)",
                (Some(_), Some(_)) => " (number does not match known numberings)",
                _ => "",
            };
            note(
                &mut st.notes,
                "gp_state",
                tok,
                format!(
                    "GP kthread state: {}{era}",
                    entry.map(|e| e.3).unwrap_or("unknown state name")
                ),
            );
        }
    }
    Some((timer, st))
}

fn parse_timer_issue(text: &str, line: usize) -> Option<TimerIssue> {
    let t = strip_rcu(text);
    if !t.starts_with("Possible timer handling issue on cpu=") {
        return None;
    }
    let cpu: u32 = value_after(t, "cpu=")?.parse().ok()?;
    let ts: u64 = value_after(t, "timer-softirq=")?.parse().ok()?;
    let mut notes = Vec::new();
    note(
        &mut notes,
        "cpu",
        cpu.to_string(),
        format!("the GP kthread's CPU ({cpu}), where its timer should have fired"),
    );
    note(
        &mut notes,
        "timer-softirq",
        ts.to_string(),
        format!(
            "TIMER_SOFTIRQ count on CPU {cpu}: {ts}; unchanged across warnings ⇒ timers are not being handled there"
        ),
    );
    Some(TimerIssue {
        line,
        cpu,
        timer_softirq: ts,
        notes,
    })
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
    None
}

/// The text after a header: `{ 1-...D } 2651 jiffies s: 2425 root: 0x2/.` (expedited),
/// old `{ 3} (detected by ...)` CPU lists and ` P1234` task lists.
fn parse_header_tail(rep: &mut StallReport, tail: &str, line: usize) {
    let mut tail = tail.trim();
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
