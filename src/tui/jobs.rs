//! Background jobs on std threads, reporting over the UI's channel: open the dump, read the
//! tasks and the log, unwind every task (progress n/total), load names for the finder, run
//! command lines. The UI thread never waits on one; each message wakes the event loop, which
//! applies it to the model and redraws.

use super::app::{FinderKind, UiEvent};
use crate::kernel::Kernel;
use crate::kernel::printk::LogRecord;
use crate::kernel::tasks::Task;
use crate::report::commands::command_text;
use crate::report::{ParseCommand, Target};
use crate::unwind::task::{Backtrace, Unwinder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, OnceLock};
use std::thread;

/// What jobs report.
#[derive(Debug)]
pub enum JobMsg {
    Started {
        id: u64,
        name: String,
        total: usize,
    },
    Progress {
        id: u64,
        done: usize,
        total: usize,
    },
    Finished {
        id: u64,
        error: Option<String>,
    },
    Opened {
        title: String,
        warnings: Vec<String>,
    },
    Tasks {
        tasks: Vec<Task>,
        errors: Vec<String>,
    },
    Backtraces(Vec<Backtrace>),
    /// One task's backtrace with its frames' locals.
    Locals(Box<Backtrace>),
    Log {
        records: Vec<LogRecord>,
        errors: Vec<String>,
    },
    Symbols(Arc<Vec<String>>),
    /// A snapshot of the live guest: its flattened values and jiffies (the fresh SRCU and
    /// RCU reports come as `Srcu`/`Rcu` too).
    Snapshot {
        values: std::collections::BTreeMap<String, String>,
        jiffies: Option<u64>,
        /// Kernel log lines since the snapshot before, and the last record's number.
        log: Vec<String>,
        last_seq: Option<u64>,
    },
    /// A timeline loaded from a file.
    Timeline(Box<crate::report::timeline::Timeline>),
    /// Every SRCU/RCU field explanation resolved against the dump's debug info.
    Fields(Arc<Vec<crate::rcu::fields::Resolved>>),
    Types(Arc<Vec<String>>),
    /// A command's or a description's text for the result pane.
    Output {
        title: String,
        text: String,
    },
    Srcu(Box<Result<crate::rcu::srcu::SrcuReport, String>>),
    Rcu(Box<Result<crate::rcu::tree::RcuReport, String>>),
    /// Decoded hung-task and stall reports: (log record index, field lines).
    LogDecoded(Vec<(usize, Vec<String>)>),
    Source(Result<super::source::SourceFile, String>),
    NotesSaved(Result<std::path::PathBuf, String>),
    /// The wait graph (sent once the analysis exists).
    Graph(super::graph::GraphData),
    /// Walkthrough steps from `explain`.
    Steps(Vec<super::walkthrough::Step>),
}

struct Shared {
    tx: Sender<UiEvent>,
    next: AtomicU64,
    kernel: OnceLock<Arc<Kernel>>,
    tasks: OnceLock<Vec<Task>>,
    unwinder: OnceLock<Result<Unwinder, String>>,
    /// The SRCU and Tree RCU reports, decoded once: the panes and the wait graph share them.
    srcu: OnceLock<Result<crate::rcu::srcu::SrcuReport, String>>,
    rcu: OnceLock<Result<crate::rcu::tree::RcuReport, String>>,
    target: Target,
    /// Reads the `:` line's words as the command line reads its arguments.
    parse: ParseCommand,
}

impl Shared {
    /// The one unwinder (ORC tables parsed once), shared by every job.
    fn unwinder(&self, k: &Kernel) -> Result<&Unwinder, String> {
        self.unwinder
            .get_or_init(|| Unwinder::new(k).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn srcu(&self, k: &Kernel) -> &Result<crate::rcu::srcu::SrcuReport, String> {
        self.srcu
            .get_or_init(|| crate::rcu::srcu::srcu_report(k, None).map_err(|e| e.to_string()))
    }

    fn rcu(&self, k: &Kernel) -> &Result<crate::rcu::tree::RcuReport, String> {
        self.rcu
            .get_or_init(|| crate::rcu::tree::rcu_report(k).map_err(|e| e.to_string()))
    }
}

/// Handle to start jobs; cheap to clone.
#[derive(Clone)]
pub struct Jobs(Arc<Shared>);

/// A running job's reporter.
struct Job {
    id: u64,
    s: Arc<Shared>,
}

impl Job {
    fn send(&self, m: JobMsg) {
        // The UI may be gone (quitting); nothing to do then.
        let _ = self.s.tx.send(UiEvent::Job(m));
    }
    fn progress(&self, done: usize, total: usize) {
        self.send(JobMsg::Progress {
            id: self.id,
            done,
            total,
        });
    }
    fn finish(&self, r: Result<(), String>) {
        self.send(JobMsg::Finished {
            id: self.id,
            error: r.err(),
        });
    }
}

impl Jobs {
    /// Jobs on `target`; `parse` reads the `:` line (`quiesce::cli::parse_words`).
    pub fn new(tx: Sender<UiEvent>, target: Target, parse: ParseCommand) -> Jobs {
        Jobs(Arc::new(Shared {
            tx,
            next: AtomicU64::new(1),
            kernel: OnceLock::new(),
            tasks: OnceLock::new(),
            unwinder: OnceLock::new(),
            srcu: OnceLock::new(),
            rcu: OnceLock::new(),
            target,
            parse,
        }))
    }

    pub fn kernel(&self) -> Option<Arc<Kernel>> {
        self.0.kernel.get().cloned()
    }

    fn spawn(
        &self,
        name: &str,
        total: usize,
        f: impl FnOnce(&Job) -> Result<(), String> + Send + 'static,
    ) {
        let job = Job {
            id: self.0.next.fetch_add(1, Ordering::Relaxed),
            s: self.0.clone(),
        };
        job.send(JobMsg::Started {
            id: job.id,
            name: name.to_string(),
            total,
        });
        let name = name.to_string();
        let r = thread::Builder::new()
            .name(format!("quiesce-{name}"))
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&job)))
                    .unwrap_or_else(|_| Err("the job panicked".to_string()));
                job.finish(r);
            });
        if let Err(e) = r {
            let _ = self.0.tx.send(UiEvent::Job(JobMsg::Finished {
                id: 0,
                error: Some(format!("cannot start {name}: {e}")),
            }));
        }
    }

    /// Open the dump, then read tasks and unwind them all; the log is read beside.
    pub fn open(&self) {
        let me = self.clone();
        self.spawn("open dump", 1, move |job| {
            let t = &job.s.target;
            // The CLI's choice of source: the vmlinux, or the dump alone.
            let k = crate::report::commands::open_kernel(t).map_err(|e| format!("{e:#}"))?;
            let title = format!(
                "{} {}",
                t.core.display(),
                k.uts_field("release").unwrap_or_default()
            );
            let mut warnings = k.warnings.clone();
            if !k.di.has_dwarf() {
                warnings.insert(0, crate::kernel::NEEDS_DWARF.to_string());
            }
            job.send(JobMsg::Opened { title, warnings });
            let _ = job.s.kernel.set(Arc::new(k));
            me.read_log();
            me.read_tasks();
            me.decode_rcu();
            Ok(())
        });
    }

    fn read_log(&self) {
        let Some(k) = self.kernel() else { return };
        self.spawn("read log", 1, move |job| {
            let log = k.log().map_err(|e| e.to_string())?;
            let decoded = decode_records(&log.records);
            job.send(JobMsg::Log {
                records: log.records,
                errors: log.errors,
            });
            job.send(JobMsg::LogDecoded(decoded));
            Ok(())
        });
    }

    fn read_tasks(&self) {
        let Some(k) = self.kernel() else { return };
        let me = self.clone();
        self.spawn("read tasks", 1, move |job| {
            let list = k.tasks().map_err(|e| e.to_string())?;
            let _ = job.s.tasks.set(list.tasks.clone());
            job.send(JobMsg::Tasks {
                tasks: list.tasks,
                errors: list.errors,
            });
            me.unwind_all();
            Ok(())
        });
    }

    fn unwind_all(&self) {
        let (Some(k), Some(tasks)) = (self.kernel(), self.0.tasks.get().cloned()) else {
            return;
        };
        let total = tasks.len();
        let me = self.clone();
        self.spawn("unwind tasks", total, move |job| {
            let uw = job.s.unwinder(&k)?;
            let mut batch = Vec::new();
            let mut all = Vec::with_capacity(total);
            for (i, t) in tasks.iter().enumerate() {
                batch.push(uw.backtrace(&k, t));
                if batch.len() == 32 || i + 1 == total {
                    all.extend(batch.iter().cloned());
                    job.send(JobMsg::Backtraces(std::mem::take(&mut batch)));
                    job.progress(i + 1, total);
                }
            }
            me.build_graph(all);
            Ok(())
        });
    }

    /// One task's backtrace with the locals of every frame (DWARF scopes and location
    /// evaluation: never on the UI thread).
    pub fn locals(&self, task_addr: u64) {
        let (Some(k), Some(tasks)) = (self.kernel(), self.0.tasks.get().cloned()) else {
            return;
        };
        let Some(task) = tasks.iter().find(|t| t.addr == task_addr).cloned() else {
            return;
        };
        self.spawn("locals", 1, move |job| {
            if !k.di.has_dwarf() {
                return Err(crate::kernel::NEEDS_DWARF.to_string());
            }
            let uw = job.s.unwinder(&k)?;
            let mut bt = uw.backtrace(&k, &task);
            uw.add_locals(&k, &mut bt);
            job.send(JobMsg::Locals(Box::new(bt)));
            Ok(())
        });
    }

    /// The wait graph and the walkthrough steps of `explain`, from the backtraces just taken.
    fn build_graph(&self, traces: Vec<Backtrace>) {
        let Some(k) = self.kernel() else { return };
        self.spawn("wait graph", 1, move |job| {
            // The reports the SRCU and RCU jobs decode (waiting for them if they run).
            let known = crate::analysis::Known {
                srcu: job.s.srcu(&k).as_ref().ok().cloned(),
                rcu: job.s.rcu(&k).as_ref().ok().cloned(),
            };
            let g = crate::analysis::graph_from_traces(&k, job.s.unwinder(&k)?, traces, known);
            let e = crate::analysis::walkthrough::explain(g);
            job.send(JobMsg::Graph(super::graph::from_analysis(&e.graph)));
            job.send(JobMsg::Steps(super::graph::steps_from(&e)));
            Ok(())
        });
    }

    /// SRCU domains and Tree RCU state.
    fn decode_rcu(&self) {
        let Some(k) = self.kernel() else { return };
        let k2 = k.clone();
        self.spawn("decode srcu", 1, move |job| {
            job.send(JobMsg::Srcu(Box::new(job.s.srcu(&k).clone())));
            Ok(())
        });
        self.spawn("decode rcu", 1, move |job| {
            job.send(JobMsg::Rcu(Box::new(job.s.rcu(&k2).clone())));
            Ok(())
        });
    }

    /// Read and highlight a source file.
    pub fn open_source(
        &self,
        root: Option<std::path::PathBuf>,
        file: &str,
        line: u32,
        syntax_theme: &str,
    ) {
        let file = file.to_string();
        let theme = syntax_theme.to_string();
        self.spawn("open source", 1, move |job| {
            let k = job.s.kernel.get().cloned();
            job.send(JobMsg::Source(super::source::load(
                root.as_deref(),
                k.as_deref(),
                &file,
                line,
                &theme,
            )));
            Ok(())
        });
    }

    /// Save notes to `path` (atomically).
    pub fn save_notes(&self, path: Option<std::path::PathBuf>, notes: super::notes::Notes) {
        self.spawn("save notes", 1, move |job| {
            let r = match path {
                Some(p) => super::notes::save(&p, &notes).map(|()| p),
                None => Err("notes: nowhere to save them (no HOME or XDG_DATA_HOME)".into()),
            };
            job.send(JobMsg::NotesSaved(r));
            Ok(())
        });
    }

    /// Symbol names now, type names (a full DWARF index) after.
    pub fn load_names(&self) {
        let Some(k) = self.kernel() else {
            let _ = self.0.tx.send(UiEvent::Job(JobMsg::Output {
                title: "finder".into(),
                text: "the dump is still opening; symbols and types come once it is open".into(),
            }));
            return;
        };
        self.spawn("index names", 2, move |job| {
            let mut syms: Vec<String> = k.di.symbols().map(|s| s.name.clone()).collect();
            syms.sort_unstable();
            syms.dedup();
            job.send(JobMsg::Symbols(Arc::new(syms)));
            job.progress(1, 2);
            let types: Vec<String> = k
                .di
                .type_names()
                .filter(|n| {
                    n.starts_with("struct ") || n.starts_with("union ") || n.starts_with("enum ")
                })
                .map(str::to_string)
                .collect();
            job.send(JobMsg::Types(Arc::new(types)));
            Ok(())
        });
    }

    /// Resolve every SRCU/RCU field explanation (members present, functions' file:line).
    pub fn resolve_fields(&self) {
        let Some(k) = self.kernel() else {
            return;
        };
        self.spawn("explain fields", 1, move |job| {
            let all = crate::rcu::fields::all()
                .map(|f| crate::rcu::fields::resolve(&k, f))
                .collect();
            job.send(JobMsg::Fields(Arc::new(all)));
            Ok(())
        });
    }

    /// Live guest: let it run `run_ms`, stop it, read SRCU and RCU afresh (the panes get the
    /// new reports) and the followed `tasks`, and report the snapshot's values.
    pub fn snapshot(&self, run_ms: u64, log_after: Option<u64>, tasks: Vec<String>) {
        let Some(k) = self.kernel() else { return };
        self.spawn("snapshot", 1, move |job| {
            if k.dump.format() != crate::dump::DumpFormat::Qmp {
                return Err(
                    "snapshots need a live QEMU guest (-c qmp:SOCK): a dump holds one moment"
                        .into(),
                );
            }
            if run_ms > 0 {
                k.dump.resume().map_err(|e| e.to_string())?;
                std::thread::sleep(std::time::Duration::from_millis(run_ms));
                k.dump.pause().map_err(|e| e.to_string())?;
            }
            let srcu = crate::rcu::srcu::srcu_report(&k, None).map_err(|e| e.to_string());
            let rcu = crate::rcu::tree::rcu_report(&k).map_err(|e| e.to_string());
            let (mut values, jiffies) = crate::report::timeline::values_of(&srcu, &rcu);
            if !tasks.is_empty() {
                crate::report::timeline::task_values(&k, &tasks, &mut values);
            }
            let (log, last_seq) = crate::report::timeline::new_log_lines(&k, log_after);
            job.send(JobMsg::Srcu(Box::new(srcu)));
            job.send(JobMsg::Rcu(Box::new(rcu)));
            job.send(JobMsg::Snapshot {
                values,
                jiffies,
                log,
                last_seq,
            });
            Ok(())
        });
    }

    /// Write the timeline to `path` (atomically).
    pub fn save_timeline(&self, path: std::path::PathBuf, tl: crate::report::timeline::Timeline) {
        self.spawn("save timeline", 1, move |job| {
            crate::report::timeline::save(&tl, &path).map_err(|e| format!("{e:#}"))?;
            job.send(JobMsg::Output {
                title: "timeline saved".into(),
                text: format!(
                    "{} snapshots written to {}\n",
                    tl.snapshots.len(),
                    path.display()
                ),
            });
            Ok(())
        });
    }

    /// Run a command line: the CLI's subcommands, plus `bt PID`.
    pub fn run_command(&self, line: &str) {
        let Some(k) = self.kernel() else {
            let _ = self.0.tx.send(UiEvent::Job(JobMsg::Output {
                title: format!(":{line}"),
                text: "the dump is still opening".into(),
            }));
            return;
        };
        let line = line.to_string();
        self.spawn(&format!(":{line}"), 1, move |job| {
            // `:timeline FILE` loads the file into the Timeline pane too
            if let Some(f) = line.strip_prefix("timeline ").map(str::trim)
                && let Ok(tl) = crate::report::timeline::load(std::path::Path::new(f))
            {
                job.send(JobMsg::Timeline(Box::new(tl)));
            }
            let text = command(&k, &job.s, &line);
            job.send(JobMsg::Output {
                title: format!(":{line}"),
                text,
            });
            Ok(())
        });
    }

    pub fn describe(&self, kind: FinderKind, name: &str) {
        let Some(k) = self.kernel() else { return };
        let name = name.to_string();
        self.spawn("describe", 1, move |job| {
            job.send(JobMsg::Output {
                title: format!("{} {name}", kind.label()),
                text: describe(&k, kind, &name),
            });
            Ok(())
        });
    }

    pub fn decode_log(&self) {
        let Some(k) = self.kernel() else { return };
        self.spawn("decode log", 1, move |job| {
            let log = k.log().map_err(|e| e.to_string())?;
            let text: String = log.records.iter().map(|r| r.crash_line() + "\n").collect();
            job.send(JobMsg::Output {
                title: "decoded log".into(),
                text: decode_log_text(&text),
            });
            Ok(())
        });
    }
}

/// JSON flattened to `path: value` lines, empty values left out; a list of frames is one
/// `path: func < func < …` line.
/// Fields of a decoded report that record how it was parsed (whether the header line was
/// present, the line its stack starts on): not shown in the pane.
const BOOKKEEPING: &[&str] = &["header", "stack_line"];

fn flatten(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Null => {}
        Value::Array(a) if a.is_empty() => {}
        Value::Object(o) if o.is_empty() => {}
        Value::Bool(false) => {}
        // A stack (frames with a `func`): one line, innermost first, as the report lists it.
        Value::Array(a)
            if a.iter()
                .all(|f| f.get("func").is_some_and(Value::is_string)) =>
        {
            let funcs: Vec<String> = a
                .iter()
                .map(|f| {
                    let unreliable = f.get("reliable") == Some(&Value::Bool(false));
                    format!(
                        "{}{}",
                        if unreliable { "? " } else { "" },
                        f["func"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            out.push(format!("{path}: {}", funcs.join(" < ")));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                // where the parser found things, not what the report says
                if path.is_empty() && BOOKKEEPING.contains(&k.as_str()) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(x, &p, out);
            }
        }
        Value::String(s) => out.push(format!("{path}: {s}")),
        other => out.push(format!("{path}: {other}")),
    }
}

/// The hung-task and RCU stall reports in a log, by the record they start at, each as its
/// decoded fields (the artifacts parsers' output flattened).
pub fn decode_records(records: &[LogRecord]) -> Vec<(usize, Vec<String>)> {
    let mut text = String::new();
    // 1-based physical line → record.
    let mut line_rec = vec![usize::MAX];
    for (i, r) in records.iter().enumerate() {
        for l in r.crash_line().split('\n') {
            text.push_str(l);
            text.push('\n');
            line_rec.push(i);
        }
    }
    let a = crate::artifacts::parse_text(&text);
    let rec = |line: usize| line_rec.get(line).copied().filter(|&r| r != usize::MAX);
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut add = |line: usize, v: serde_json::Value, head: String| {
        if let Some(r) = rec(line) {
            let mut lines = vec![head];
            flatten(&v, "", &mut lines);
            out.push((r, lines));
        }
    };
    for h in &a.hung_tasks {
        add(
            h.line,
            serde_json::to_value(h).unwrap_or_default(),
            format!("hung task {}:{} (decoded)", h.comm, h.pid),
        );
    }
    for st in &a.stalls {
        add(
            st.line,
            serde_json::to_value(st).unwrap_or_default(),
            format!(
                "{} stall, {} (decoded)",
                st.flavor.as_deref().unwrap_or("rcu"),
                stall_kind(st.kind)
            ),
        );
    }
    out
}

/// How a stall report was detected, in words.
fn stall_kind(k: crate::artifacts::rcu_stall::StallKind) -> &'static str {
    use crate::artifacts::rcu_stall::StallKind::*;
    match k {
        OtherCpus => "detected on another CPU",
        SelfDetected => "self-detected",
        Expedited => "expedited",
        Fragment => "partial report",
    }
}

/// The hung-task and RCU stall reports the pasted-text parsers find in a log.
pub fn decode_log_text(text: &str) -> String {
    let a = crate::artifacts::parse_text(text);
    let mut s = format!(
        "{} hung-task report(s), {} RCU stall report(s), {} task stack(s) in {} lines\n\n",
        a.hung_tasks.len(),
        a.stalls.len(),
        a.tasks.len(),
        a.total_lines
    );
    for h in &a.hung_tasks {
        s.push_str(&format!(
            "line {}: task {}:{} blocked for more than {} seconds\n",
            h.line,
            h.comm,
            h.pid,
            h.blocked_secs.map(|b| b.to_string()).unwrap_or("?".into())
        ));
        for f in &h.frames {
            s.push_str(&format!(
                "    {}{}\n",
                if f.reliable { "" } else { "? " },
                f.func
            ));
        }
    }
    for st in &a.stalls {
        s.push_str(&format!(
            "line {}: {} stall ({}), {} CPU(s), {} blocked task group(s)\n",
            st.line,
            st.flavor.as_deref().unwrap_or("rcu"),
            stall_kind(st.kind),
            st.cpus.len(),
            st.blocked_tasks.len()
        ));
    }
    for g in a.stack_groups() {
        s.push_str(&format!(
            "{} task(s): {}\n",
            g.members.len(),
            g.funcs.join(" < ")
        ));
    }
    s
}

fn command(k: &Kernel, s: &Shared, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"bt") {
        return bt_command(k, s, &words[1..]);
    }
    match (s.parse)(&words) {
        Ok(req) => {
            let t = Target {
                json: req.json,
                ..s.target.clone()
            };
            match command_text(k, &t, &req.command) {
                Ok((text, _)) => text,
                Err(e) => format!("error: {e:#}"),
            }
        }
        Err(e) => e,
    }
}

fn bt_command(k: &Kernel, s: &Shared, args: &[&str]) -> String {
    let Some(tasks) = s.tasks.get() else {
        return "tasks are still being read".into();
    };
    let Some(pid) = args.first().and_then(|p| p.parse::<i32>().ok()) else {
        return "usage: bt PID".into();
    };
    let uw = match s.unwinder(k) {
        Ok(u) => u,
        Err(e) => return format!("bt: no unwinder: {e}"),
    };
    let mut out = String::new();
    for t in tasks.iter().filter(|t| t.pid == pid) {
        let bt = uw.backtrace(k, t);
        for l in super::panes::backtrace::lines(&bt) {
            out.push_str(&l.text());
            out.push('\n');
        }
        out.push('\n');
    }
    if out.is_empty() {
        out = format!("bt: no task with pid {pid}");
    }
    out
}

fn describe(k: &Kernel, kind: FinderKind, name: &str) -> String {
    let di = &k.di;
    let mut s = String::new();
    if let Some(sym) = di.symbol(name) {
        let addr = k.relocate(sym.addr, sym.module.is_some());
        let what = match sym.kind {
            crate::debuginfo::SymKind::Func => "function",
            crate::debuginfo::SymKind::Object => "variable",
            crate::debuginfo::SymKind::Other => "symbol",
        };
        s.push_str(&format!(
            "{name}: {what} at {:#x}, size {}{}\n",
            addr.0,
            sym.size,
            sym.module
                .as_ref()
                .map(|m| format!(" [{m}]"))
                .unwrap_or_default()
        ));
        for l in di.lines(sym.addr) {
            s.push_str(&format!(
                "  {} {}:{}\n",
                l.function.unwrap_or_default(),
                l.file.unwrap_or_default(),
                l.line.unwrap_or(0)
            ));
        }
    }
    if kind == FinderKind::Type || s.is_empty() {
        match di.find_type(name) {
            Ok(id) => s.push_str(&format!(
                "{}: size {}\n",
                crate::kernel::value::type_name(di, id),
                di.sizeof(id).map(|n| n.to_string()).unwrap_or("?".into())
            )),
            Err(e) if s.is_empty() => s.push_str(&format!("{name}: {e}\n")),
            Err(_) => {}
        }
    }
    s
}
