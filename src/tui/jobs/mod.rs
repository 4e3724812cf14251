//! Background jobs on std threads, reporting over the UI's channel: open the dump, read the
//! tasks and the log, unwind every task (progress n/total), load names for the finder, run
//! command lines. The UI thread never waits on one; each message wakes the event loop, which
//! applies it to the model and redraws.

mod text;

use super::app::{FinderKind, UiEvent};
use crate::kernel::Kernel;
use crate::kernel::printk::LogRecord;
use crate::kernel::tasks::Task;
use crate::rcu::srcu::SrcuReport;
use crate::rcu::tree::RcuReport;
use crate::report::{ParseCommand, Target};
use crate::unwind::task::{Backtrace, Unwinder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use text::{command, decode_log_text, decode_records, describe};

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
    /// The task list of `moment` (see `Jobs::snapshot`): the backtraces and locals of an
    /// earlier moment are stale once it arrives.
    Tasks {
        moment: u64,
        tasks: Vec<Task>,
        errors: Vec<String>,
    },
    Backtraces {
        moment: u64,
        traces: Vec<Backtrace>,
    },
    /// One task's backtrace with its frames' locals.
    Locals {
        moment: u64,
        trace: Box<Backtrace>,
    },
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
    Srcu(Arc<Result<SrcuReport, String>>),
    Rcu(Arc<Result<RcuReport, String>>),
    /// Decoded hung-task and stall reports: (log record index, field lines).
    LogDecoded(Vec<(usize, Vec<String>)>),
    Source(Result<super::source::SourceFile, String>),
    NotesSaved(Result<std::path::PathBuf, String>),
    /// The wait graph (sent once the analysis exists) and the walkthrough steps of
    /// `explain` on it.
    Graph {
        moment: u64,
        graph: super::graph::GraphData,
        steps: Vec<super::walkthrough::Step>,
    },
}

/// A value of the moment the TUI shows, computed by whichever job asks first (the others
/// wait for it), replaced when a snapshot of a live guest makes a new moment.
struct OfMoment<T>(Mutex<Option<T>>);

impl<T: Clone> OfMoment<T> {
    fn new() -> Self {
        OfMoment(Mutex::new(None))
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<T>> {
        // a job that panicked holding it left a value or none: both are usable
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn get(&self) -> Option<T> {
        self.lock().clone()
    }
    fn get_or(&self, f: impl FnOnce() -> T) -> T {
        self.lock().get_or_insert_with(f).clone()
    }
    fn set(&self, v: T) {
        *self.lock() = Some(v);
    }
}

impl<V: Clone> OfMoment<(u64, V)> {
    /// Keep `v` as moment `moment`'s value unless a newer moment's is already kept; whether
    /// it was kept.
    fn set_unless_newer(&self, moment: u64, v: V) -> bool {
        let mut g = self.lock();
        if g.as_ref().is_some_and(|(m, _)| *m > moment) {
            return false;
        }
        *g = Some((moment, v));
        true
    }
}

struct Shared {
    tx: Sender<UiEvent>,
    next: AtomicU64,
    kernel: OnceLock<Arc<Kernel>>,
    /// Which moment the values below are of: 0 the attach (or the dump), n the n-th
    /// snapshot of a live guest. Messages of an earlier moment are dropped.
    moment: AtomicU64,
    /// The task list and the moment it is of (read together: a list and the moment of
    /// another would tag one moment's backtraces as the other's).
    tasks: OfMoment<(u64, Arc<Vec<Task>>)>,
    unwinder: OfMoment<Result<Arc<Unwinder>, String>>,
    /// The SRCU and Tree RCU reports, decoded once a moment: the panes and the wait graph
    /// share them.
    srcu: OfMoment<Arc<Result<SrcuReport, String>>>,
    rcu: OfMoment<Arc<Result<RcuReport, String>>>,
    target: Target,
    /// Reads the `:` line's words as the command line reads its arguments.
    parse: ParseCommand,
}

impl Shared {
    /// The one unwinder (ORC tables parsed once a moment), shared by every job.
    fn unwinder(&self, k: &Kernel) -> Result<Arc<Unwinder>, String> {
        self.unwinder
            .get_or(|| Unwinder::new(k).map(Arc::new).map_err(|e| e.to_string()))
    }

    fn srcu(&self, k: &Kernel) -> Arc<Result<SrcuReport, String>> {
        self.srcu
            .get_or(|| Arc::new(crate::rcu::srcu::srcu_report(k, None).map_err(|e| e.to_string())))
    }

    fn rcu(&self, k: &Kernel) -> Arc<Result<RcuReport, String>> {
        self.rcu
            .get_or(|| Arc::new(crate::rcu::tree::rcu_report(k).map_err(|e| e.to_string())))
    }

    fn moment(&self) -> u64 {
        self.moment.load(Ordering::SeqCst)
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
    /// The log pane's records and their decoded reports.
    fn send_log(&self, log: crate::kernel::printk::Log) {
        let decoded = decode_records(&log.records);
        self.send(JobMsg::Log {
            records: log.records,
            errors: log.errors,
        });
        self.send(JobMsg::LogDecoded(decoded));
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
            moment: AtomicU64::new(0),
            tasks: OfMoment::new(),
            unwinder: OfMoment::new(),
            srcu: OfMoment::new(),
            rcu: OfMoment::new(),
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
            job.send_log(log);
            Ok(())
        });
    }

    fn read_tasks(&self) {
        let Some(k) = self.kernel() else { return };
        let me = self.clone();
        self.spawn("read tasks", 1, move |job| {
            let moment = job.s.moment();
            let list = k.tasks().map_err(|e| e.to_string())?;
            // a snapshot taken meanwhile has read its own
            if !job
                .s
                .tasks
                .set_unless_newer(moment, Arc::new(list.tasks.clone()))
            {
                return Ok(());
            }
            job.send(JobMsg::Tasks {
                moment,
                tasks: list.tasks,
                errors: list.errors,
            });
            me.unwind_all();
            Ok(())
        });
    }

    /// Unwind every task of the moment, then build the wait graph; a newer moment (a
    /// snapshot taken meanwhile) ends it.
    fn unwind_all(&self) {
        let (Some(k), Some((moment, tasks))) = (self.kernel(), self.0.tasks.get()) else {
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
                    if job.s.moment() != moment {
                        return Ok(());
                    }
                    all.extend(batch.iter().cloned());
                    job.send(JobMsg::Backtraces {
                        moment,
                        traces: std::mem::take(&mut batch),
                    });
                    job.progress(i + 1, total);
                }
            }
            me.build_graph(moment, all);
            Ok(())
        });
    }

    /// One task's backtrace with the locals of every frame (DWARF scopes and location
    /// evaluation: never on the UI thread).
    pub fn locals(&self, task_addr: u64) {
        let (Some(k), Some((moment, tasks))) = (self.kernel(), self.0.tasks.get()) else {
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
            job.send(JobMsg::Locals {
                moment,
                trace: Box::new(bt),
            });
            Ok(())
        });
    }

    /// The wait graph and the walkthrough steps of `explain`, from the backtraces just taken.
    fn build_graph(&self, moment: u64, traces: Vec<Backtrace>) {
        let Some(k) = self.kernel() else { return };
        self.spawn("wait graph", 1, move |job| {
            // The reports the SRCU and RCU jobs decode (waiting for them if they run).
            let known = crate::analysis::Known {
                srcu: job.s.srcu(&k).as_ref().as_ref().ok().cloned(),
                rcu: job.s.rcu(&k).as_ref().as_ref().ok().cloned(),
            };
            let g = crate::analysis::graph_from_traces(&k, &*job.s.unwinder(&k)?, traces, known);
            let e = crate::analysis::walkthrough::explain(g);
            job.send(JobMsg::Graph {
                moment,
                graph: super::graph::from_analysis(&e.graph),
                steps: super::graph::steps_from(&e),
            });
            Ok(())
        });
    }

    /// SRCU domains and Tree RCU state.
    fn decode_rcu(&self) {
        let Some(k) = self.kernel() else { return };
        let k2 = k.clone();
        self.spawn("decode srcu", 1, move |job| {
            job.send(JobMsg::Srcu(job.s.srcu(&k)));
            Ok(())
        });
        self.spawn("decode rcu", 1, move |job| {
            job.send(JobMsg::Rcu(job.s.rcu(&k2)));
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

    /// Live guest: let it run `run_ms`, stop it, and make the moment it stopped at the one
    /// the TUI shows: SRCU and RCU read afresh (their panes get the new reports), the task
    /// list, every backtrace and the wait graph again, the log; then report the snapshot's
    /// values, the followed `tasks` among them.
    pub fn snapshot(&self, run_ms: u64, log_after: Option<u64>, tasks: Vec<String>) {
        let Some(k) = self.kernel() else { return };
        let me = self.clone();
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
            let s = &job.s;
            let moment = s.moment.fetch_add(1, Ordering::SeqCst) + 1;
            let o = crate::report::timeline::WatchOptions {
                tasks,
                ..Default::default()
            };
            let mut uw = s.unwinder.get().and_then(Result::ok);
            let r = crate::report::timeline::read_values(&k, &o, &mut uw);
            let uw = match uw {
                Some(u) => Ok(u),
                None => Unwinder::reuse_or_new(&k, None).map_err(|e| e.to_string()),
            };
            let list = r
                .tasks
                .unwrap_or_else(|| k.tasks().map_err(|e| e.to_string()));
            let (srcu, rcu) = (Arc::new(r.srcu), Arc::new(r.rcu));
            s.srcu.set(srcu.clone());
            s.rcu.set(rcu.clone());
            s.unwinder.set(uw);
            job.send(JobMsg::Srcu(srcu));
            job.send(JobMsg::Rcu(rcu));
            // the log read once: the timeline's new lines and the log pane
            let full_log = k.log();
            let (log, last_seq) = crate::report::timeline::new_log_lines(
                full_log.as_ref().map_or(&[][..], |l| &l.records),
                log_after,
            );
            job.send(JobMsg::Snapshot {
                values: r.values,
                jiffies: r.jiffies,
                log,
                last_seq,
            });
            let (tasks, errors) = match list {
                Ok(l) => (l.tasks, l.errors),
                Err(e) => (Vec::new(), vec![e]),
            };
            if !s.tasks.set_unless_newer(moment, Arc::new(tasks.clone())) {
                return Ok(());
            }
            job.send(JobMsg::Tasks {
                moment,
                tasks,
                errors,
            });
            me.unwind_all();
            let l = full_log.map_err(|e| format!("read log: {e}"))?;
            job.send_log(l);
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
