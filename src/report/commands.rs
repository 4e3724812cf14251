//! The commands, one place for both callers: the CLI (`quiesce ps …`, whose arguments
//! `crate::cli` parses into a [`Command`]) and the TUI's `:` line (whose words a
//! [`ParseCommand`] given to it turns into one). Each opens nothing itself but the kernel
//! the [`Target`] names, builds a report and prints it as text or JSON.

use super::Report;
use super::bt::{BtReport, StacksReport};
use super::ps::PsReport;
use super::sys::SysReport;
use super::target::Target;
use crate::analysis::walkthrough::WaitGraphReport;
use crate::kernel::expr::Evaluated;
use crate::kernel::value::{ReadLimits, Value, type_name};
use crate::kernel::{self, Kernel, OpenOptions};
use crate::unwind::task::{Backtrace, Unwinder};
use anyhow::Result;
use anyhow::bail;
use serde::Serialize;
use std::path::PathBuf;

/// A subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The task table.
    Ps,
    /// The kernel log.
    Log,
    /// What machine and kernel the dump is of.
    Sys,
    /// Backtraces of tasks by pid or address, of the active tasks, or of all.
    Bt {
        targets: Vec<String>,
        active: bool,
        all: bool,
        lines: bool,
        locals: bool,
    },
    /// Identical stacks grouped, filtered by state, function or module.
    Stacks {
        state: Option<String>,
        function: Option<String>,
        module: Option<String>,
    },
    /// SRCU domains, or the one named.
    Srcu { domain: Option<String> },
    /// Tree RCU.
    Rcu,
    /// The walkthrough from each stuck task to its root cause (of pasted text with `log`).
    Explain { log: Option<PathBuf> },
    /// The wait graph (of pasted text with `log`).
    Waitgraph {
        dot: bool,
        svg: bool,
        log: Option<PathBuf>,
    },
    /// Print an expression.
    Print { expr: Vec<String> },
    /// What the SRCU and RCU fields mean, with this kernel's source locations.
    Fields { filter: Option<String> },
    /// Snapshots of a live QEMU guest over time, each compared with the one before.
    Watch(Box<super::timeline::WatchOptions>),
    /// Replay a saved timeline.
    Timeline { file: PathBuf },
}

/// A command as a command line asks for it: which, and whether as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: Command,
    pub json: bool,
}

/// Turns the words of a command line (`stacks --state UN`) into a request, or says why not
/// (with the commands there are). The CLI's argument parser provides it; the TUI is given
/// one so that its `:` line reads exactly as the command line does.
pub type ParseCommand = fn(&[&str]) -> Result<Request, String>;

/// Open the kernel the target names (warnings are in `Kernel::warnings`). Without a
/// vmlinux (none given or found, or `--no-debuginfo`), from the dump alone.
pub fn open_kernel(t: &Target) -> Result<Kernel> {
    let opts = OpenOptions {
        core: t.core.clone(),
        vmlinux: t.debuginfo().unwrap_or_default(),
        modules: t.modules(),
    };
    // the dump `find_vmlinux` opened, else opened here
    let dump = match t.opened.take() {
        Some(d) => d,
        None => crate::dump::Dump::open(&t.core)
            .map_err(|e| anyhow::anyhow!("{}: {e}", t.core.display()))?,
    };
    if opts.vmlinux.as_os_str().is_empty() {
        // `--no-debuginfo`, or none given and `run` found none: the dump alone.
        return Ok(kernel::open::open_dump_only(dump, &opts)?);
    }
    Ok(kernel::open::open_dump(dump, &opts)?)
}

fn emit<R: Report>(r: &R, json: bool) -> String {
    if json {
        format!("{}\n", r.json())
    } else {
        r.text()
    }
}

/// Run a command on the target and print its output; returns the process exit code (2 when
/// the result is partial).
pub fn run(target: &Target, cmd: &Command) -> Result<i32> {
    if let Some(text) = log_command_text(cmd, target.json)? {
        print!("{text}");
        return Ok(0);
    }
    let k = open_kernel(target)?;
    for w in &k.warnings {
        eprintln!("quiesce: warning: {w}");
    }
    if let Command::Watch(o) = cmd {
        // Printed as each snapshot is taken (text), or the whole timeline at the end.
        use std::io::Write;
        let source = target.core.display().to_string();
        let json = target.json;
        let tl = super::timeline::watch(&k, &source, o, |s, ch| {
            if !json && (s.index == 0 || !ch.is_empty()) {
                print!("{}", super::timeline::snapshot_text(s, ch));
                let _ = std::io::stdout().flush();
            }
        })?;
        if json {
            println!("{}", tl.json());
        }
        return Ok(0);
    }
    let (text, code) = command_text(&k, target, cmd)?;
    print!("{text}");
    crate::timing::lap("output printed");
    // Module DWARF is loaded when first needed: a module whose sections could not be
    // relocated is known only now.
    for p in k.di.dwarf_problems() {
        eprintln!("quiesce: warning: {p}");
    }
    // What the name index learned speeds up the next run; failing to save only costs that.
    if let Err(e) = k.di.save_index_cache() {
        eprintln!("quiesce: warning: index cache not saved: {e}");
    }
    crate::timing::lap("index cache saved");
    Ok(code)
}

/// A command's output on an open kernel (text or JSON, as the target says) and exit code.
/// The TUI's `:` line uses this too.
pub fn command_text(k: &Kernel, t: &Target, cmd: &Command) -> Result<(String, i32)> {
    let json = t.json;
    match cmd {
        Command::Ps => {
            let list = k.tasks()?;
            crate::timing::lap("tasks read");
            let r = PsReport::new(list.tasks, list.errors);
            Ok((emit(&r, json), if r.partial { 2 } else { 0 }))
        }
        Command::Log => {
            let log = k.log()?;
            crate::timing::lap("log read");
            let r = LogReport {
                records: log.records,
                errors: log.errors,
            };
            let code = if r.errors.is_empty() { 0 } else { 2 };
            Ok((emit(&r, json), code))
        }
        Command::Sys => {
            let r = SysReport::read(k, t);
            Ok((emit(&r, json), if r.partial() { 2 } else { 0 }))
        }
        Command::Bt {
            targets,
            active,
            all,
            lines,
            locals,
        } => {
            if (*lines || *locals) && !k.di.has_dwarf() {
                // Once, not per frame.
                let (r, whole) = bt(k, targets, *active, *all, false, false)?;
                let note = format!("note: {}\n", crate::kernel::NEEDS_DWARF);
                let text = emit(&r, json);
                let code = if whole { 0 } else { 2 };
                return Ok((if json { text } else { note + &text }, code));
            }
            if *all && !json && !*locals {
                let (text, whole) = all_traces_text(k, *lines)?;
                return Ok((text, if whole { 0 } else { 2 }));
            }
            let (r, whole) = bt(k, targets, *active, *all, *lines, *locals)?;
            Ok((emit(&r, json), if whole { 0 } else { 2 }))
        }
        Command::Stacks {
            state,
            function,
            module,
        } => {
            let (traces, whole) = all_traces(k)?;
            let traces: Vec<_> = traces
                .into_iter()
                .filter(|t| {
                    state
                        .as_ref()
                        .is_none_or(|s| t.task.st.eq_ignore_ascii_case(s))
                })
                .filter(|t| {
                    function
                        .as_ref()
                        .is_none_or(|f| t.frames.iter().any(|x| x.function.as_deref() == Some(f)))
                })
                .filter(|t| {
                    module
                        .as_ref()
                        .is_none_or(|m| t.frames.iter().any(|x| x.module.as_deref() == Some(m)))
                })
                .collect();
            Ok((
                emit(&StacksReport::new(&traces), json),
                if whole { 0 } else { 2 },
            ))
        }
        Command::Srcu { domain } => {
            let r = crate::rcu::srcu::srcu_report(k, domain.as_deref())?;
            let partial = !r.errors.is_empty() || r.domains.iter().any(|d| !d.errors.is_empty());
            Ok((emit(&r, json), if partial { 2 } else { 0 }))
        }
        Command::Watch(_) => anyhow::bail!(
            "watch takes snapshots until it is told to stop: run it from the command line"
        ),
        // the CLI replays it without a dump (`log_command_text`); the TUI's `:timeline FILE`
        // comes here
        Command::Timeline { file } => Ok((emit(&super::timeline::load(file)?, json), 0)),
        Command::Fields { filter } => {
            let r = super::fields::FieldsReport::new(k, filter.as_deref()).ok_or_else(|| {
                anyhow::anyhow!(
                    "no SRCU or RCU field {:?}: try srcu, rcu, rcu.node or a label such as gp_seq",
                    filter.as_deref().unwrap_or_default()
                )
            })?;
            Ok((emit(&r, json), 0))
        }
        Command::Rcu => {
            let r = crate::rcu::tree::rcu_report(k)?;
            Ok((emit(&r, json), if r.errors.is_empty() { 0 } else { 2 }))
        }
        Command::Explain { .. } => {
            let g = crate::analysis::graph_from_dump(k)?;
            let r = crate::analysis::walkthrough::explain(g);
            let code = if r.graph.errors.is_empty() { 0 } else { 2 };
            Ok((emit(&r, json), code))
        }
        Command::Waitgraph { dot, svg, .. } => {
            let graph = crate::analysis::graph_from_dump(k)?;
            let code = if graph.errors.is_empty() { 0 } else { 2 };
            let r = WaitGraphReport {
                graph,
                dot: *dot,
                svg: *svg,
            };
            Ok((emit(&r, json), code))
        }
        Command::Print { expr } => {
            let expr = expr.join(" ");
            let r = print(k, &expr)?;
            // A value that could not be read at all is an error; one with unreadable parts
            // is printed, marked, and exits 2.
            if let [item] = r.items.as_slice()
                && let Value::Unreadable { error } = &item.value
            {
                bail!("{expr}: {error}");
            }
            let code = if r.items.iter().any(|i| i.value.has_unreadable()) {
                2
            } else {
                0
            };
            Ok((emit(&r, json), code))
        }
    }
}

/// `explain --log FILE` / `waitgraph --log FILE`: pasted text, no dump opened.
pub fn log_command_text(cmd: &Command, json: bool) -> Result<Option<String>> {
    if let Command::Timeline { file } = cmd {
        return Ok(Some(emit(&super::timeline::load(file)?, json)));
    }
    let (path, dot, svg, explain) = match cmd {
        Command::Explain { log: Some(p) } => (p, false, false, true),
        Command::Waitgraph {
            log: Some(p),
            dot,
            svg,
        } => (p, *dot, *svg, false),
        _ => return Ok(None),
    };
    let text = if path == std::path::Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        s
    } else {
        let bytes =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let r = crate::analysis::log::explain_text(&text);
    Ok(Some(if explain {
        emit(&r, json)
    } else {
        emit(
            &WaitGraphReport {
                graph: r.graph,
                dot,
                svg,
            },
            json,
        )
    }))
}

#[derive(Serialize)]
struct LogReport {
    records: Vec<kernel::printk::LogRecord>,
    errors: Vec<String>,
}

impl Report for LogReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            s.push_str(&r.crash_line());
            s.push('\n');
        }
        for e in &self.errors {
            s.push_str(&format!("log: PARTIAL: {e}\n"));
        }
        s
    }
}

#[derive(Serialize)]
struct PrintItem {
    expr: String,
    cpu: Option<u32>,
    #[serde(rename = "type")]
    ty: Option<String>,
    address: Option<String>,
    value: Value,
}

#[derive(Serialize)]
struct PrintReport {
    items: Vec<PrintItem>,
}

impl Report for PrintReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for i in &self.items {
            s.push_str(&format!("{} = ", i.expr));
            s.push_str(&i.value.fmt_c());
            s.push('\n');
        }
        s
    }
}

fn print(k: &Kernel, expr: &str) -> Result<PrintReport> {
    let items = k
        .eval(expr)?
        .into_iter()
        .map(|p| {
            let shown = match p.cpu {
                Some(c) => crate::kernel::expr::per_cpu_label(expr, c),
                None => expr.to_string(),
            };
            match p.result {
                Evaluated::Object(o) => PrintItem {
                    expr: shown.clone(),
                    cpu: p.cpu,
                    ty: Some(type_name(&k.di, o.ty)),
                    address: Some(format!("{:#x}", o.addr.0)),
                    value: k.value(o, ReadLimits::default()),
                },
                Evaluated::Const { value, pointee } => PrintItem {
                    expr: shown,
                    cpu: p.cpu,
                    ty: pointee.map(|t| format!("{} *", type_name(&k.di, t))),
                    address: None,
                    value: if pointee.is_some() {
                        Value::Pointer {
                            value,
                            symbol: k.symbol_name_exact(value),
                        }
                    } else {
                        Value::Int {
                            value: value as i128,
                        }
                    },
                },
            }
        })
        .collect();
    Ok(PrintReport { items })
}

/// Every task's backtrace, in task-list order, unwound in parallel, and whether the task
/// list was read whole (its problems are printed as warnings; the caller exits 2).
fn all_traces(k: &Kernel) -> Result<(Vec<Backtrace>, bool)> {
    map_traces(k, |b| b)
}

/// `f` of every task's backtrace, in task-list order, unwound in parallel; each trace is
/// dropped once `f` has made what it keeps of it. And whether the task list was read whole.
fn map_traces<T: Send>(k: &Kernel, f: impl Fn(Backtrace) -> T + Sync) -> Result<(Vec<T>, bool)> {
    use rayon::prelude::*;
    let list = k.tasks()?;
    for e in &list.errors {
        eprintln!("quiesce: warning: task list: {e}");
    }
    let u = Unwinder::new(k)?;
    let out = list
        .tasks
        .par_iter()
        .map(|t| f(u.backtrace(k, t)))
        .collect();
    Ok((out, list.errors.is_empty()))
}

/// `bt --all` as text, each task's trace formatted as soon as it is unwound: 10 000 tasks'
/// frames (their registers, names and files, 55 MB) are never all held at once. The same
/// text as `BtReport::text` over `bt`'s sorted traces.
fn all_traces_text(k: &Kernel, lines: bool) -> Result<(String, bool)> {
    let (mut texts, whole) = map_traces(k, |b| {
        (
            (b.task.pid, b.task.cpu),
            crate::report::bt::trace_text(&b, lines),
        )
    })?;
    texts.sort_by_key(|(key, _)| *key);
    let texts: Vec<String> = texts.into_iter().map(|(_, t)| t).collect();
    Ok((texts.join("\n"), whole))
}

fn bt(
    k: &Kernel,
    targets: &[String],
    active: bool,
    all: bool,
    lines: bool,
    locals: bool,
) -> Result<(BtReport, bool)> {
    if all {
        let (mut traces, whole) = all_traces(k)?;
        traces.sort_by_key(|t| (t.task.pid, t.task.cpu));
        if locals {
            use rayon::prelude::*;
            let u = Unwinder::new(k)?;
            traces.par_iter_mut().for_each(|t| u.add_locals(k, t));
        }
        return Ok((BtReport { traces, lines }, whole));
    }
    let list = k.tasks()?;
    let u = Unwinder::new(k)?;
    let mut chosen = Vec::new();
    if active {
        chosen.extend(list.tasks.iter().filter(|t| t.active));
    }
    for t in targets {
        let found: Vec<_> =
            if let Some(hex) = t.strip_prefix("0x").or((t.len() > 8).then_some(t.as_str())) {
                let addr = u64::from_str_radix(hex, 16)
                    .map_err(|_| anyhow::anyhow!("bad task address `{t}`"))?;
                list.tasks.iter().filter(|x| x.addr == addr).collect()
            } else {
                let pid: i32 = t.parse().map_err(|_| anyhow::anyhow!("bad pid `{t}`"))?;
                list.tasks.iter().filter(|x| x.pid == pid).collect()
            };
        if found.is_empty() {
            bail!("no task {t}");
        }
        chosen.extend(found);
    }
    if chosen.is_empty() {
        bail!("bt: give PIDs or task addresses, -a (active tasks) or --all");
    }
    let traces = chosen
        .iter()
        .map(|t| {
            let mut b = u.backtrace(k, t);
            if locals {
                u.add_locals(k, &mut b);
            }
            b
        })
        .collect();
    Ok((BtReport { traces, lines }, true))
}
