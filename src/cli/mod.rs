//! The command line: `quiesce SUBCOMMAND -c DUMP [-s VMLINUX] [-s MODULE.ko|DIR ...] [--json]`
//! (drgn's `-c`/`-s`; `-c` defaults to `/proc/kcore`; without `-s VMLINUX` the dump's vmlinux
//! is found by its build-id, see `kernel::find`). clap parses the arguments into
//! `crate::report`'s commands and target; `main.rs` runs them, or opens the TUI when there is
//! no subcommand. Nothing in the library imports this module: the TUI gets
//! [`parse_words`] from `main.rs` to read its `:` line the same way.

use crate::report::{self, Request, Target};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "quiesce",
    version,
    about = "A terminal debugger for Linux kernel hangs",
    long_about = "A terminal debugger for Linux kernel hangs: opens a vmcore (ELF, \
kdump-compressed, flattened) or /proc/kcore with the vmlinux's DWARF and shows the hung \
tasks, SRCU/RCU state and a wait graph. Without a subcommand the TUI opens.",
    after_help = "Examples:
  quiesce -c demo                          the TUI on the fixture dump
  quiesce -c vmcore -s vmlinux -s mods/    the TUI on a dump and its modules
  quiesce explain -c vmcore -s vmlinux     walk each stuck task to its cause
  quiesce completions bash > ~/.local/share/bash-completion/completions/quiesce

Exit status: 0 a full result; 2 a partial result (a damaged or truncated dump: the output \
says what could not be read and why); 1 an error (one line on stderr, `quiesce: error: …`)."
)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Without a subcommand, the TUI opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The global options: what to open.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// The dump: an ELF vmcore, a kdump-compressed or flattened file, /proc/kcore, or
    /// `demo` for the fixture dump that `fixtures/build.sh` builds.
    #[arg(
        short = 'c',
        long = "core",
        global = true,
        default_value = "/proc/kcore"
    )]
    pub core: PathBuf,
    /// Debug info: the vmlinux first, then module .ko files or directories holding them.
    #[arg(short = 's', long = "symbols", global = true)]
    pub symbols: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Kernel source tree (or a linux-source `.tar.xz`), for the TUI's source pane. Without
    /// it, the dump release's source is looked for in /usr/src/linux-source-X.Y[.tar.xz] and
    /// /lib/modules/REL/{source,build}; the demo uses its fixture's tree.
    #[arg(long, global = true)]
    pub source: Option<PathBuf>,
    /// Use no vmlinux even if one is given or found: symbols, types and unwind tables
    /// from the dump itself (kallsyms, BTF, ORC). Without a vmlinux this is the default.
    #[arg(long = "no-debuginfo", global = true)]
    pub no_debuginfo: bool,
}

impl From<TargetArgs> for Target {
    fn from(a: TargetArgs) -> Target {
        Target {
            core: a.core,
            symbols: a.symbols,
            json: a.json,
            source: a.source,
            no_debuginfo: a.no_debuginfo,
            opened: Default::default(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The task table: pid, ppid, cpu, state (as crash prints it), task address, command.
    #[command(
        after_help = "Example:\n  quiesce ps -c /var/crash/vmcore -s /usr/lib/debug/boot/vmlinux-$(uname -r)"
    )]
    Ps,
    /// The kernel log (printk ring buffer).
    #[command(
        after_help = "Example:\n  quiesce log -c DUMP -s VMLINUX | grep -A20 \"blocked for more than\""
    )]
    Log,
    /// The machine and kernel, as crash's `sys`: CPUs, date, uptime, load average, tasks,
    /// release, memory, panic message.
    #[command(after_help = "Example:\n  quiesce sys -c DUMP -s VMLINUX")]
    Sys,
    /// Backtraces: of tasks by pid or task address, `-a` the tasks active on each CPU,
    /// `--all` every task (crash's `foreach bt`).
    #[command(after_help = "Example:\n  quiesce bt -l 1234 -c DUMP -s VMLINUX -s MODULE.ko")]
    Bt {
        /// PIDs or task addresses (hex).
        targets: Vec<String>,
        /// The task running on each CPU at dump time.
        #[arg(short = 'a', long = "active")]
        active: bool,
        /// Every task.
        #[arg(long)]
        all: bool,
        /// Show file:line for each frame.
        #[arg(short = 'l', long = "lines")]
        lines: bool,
        /// Show each frame's parameters and local variables, where DWARF can recover them.
        #[arg(long)]
        locals: bool,
    },
    /// Identical stacks grouped, largest group first (sdb's `stacks`).
    #[command(
        after_help = "Example:\n  quiesce stacks --state UN -m quiesce_hang -c DUMP -s VMLINUX -s MODULE.ko"
    )]
    Stacks {
        /// Only tasks in this state (crash letters: UN, IN, RU, ID, …). No short form: `-s`
        /// is the global `--symbols`.
        #[arg(long)]
        state: Option<String>,
        /// Only stacks containing this function.
        #[arg(short = 'f', long)]
        function: Option<String>,
        /// Only stacks with a frame in this module.
        #[arg(short = 'm', long)]
        module: Option<String>,
    },
    /// SRCU domains: grace-period phase, readers per index, callbacks, GP work, waiters.
    /// NAME or ADDR picks one domain.
    #[command(after_help = "Example:\n  quiesce srcu quiesce_srcu -c DUMP -s VMLINUX -s MODULE.ko")]
    Srcu { domain: Option<String> },
    /// Tree RCU: grace period, GP kthread, rcu_node tree, per-CPU rcu_data, holdouts.
    #[command(after_help = "Example:\n  quiesce rcu -c DUMP -s VMLINUX")]
    Rcu,
    /// What each SRCU and RCU field shown means: its kernel member per layout generation,
    /// the functions that set and read it (file:line in this dump's kernel), normal values
    /// against stuck ones. FIELD: a key (srcu.gp_seq), a prefix (srcu, rcu.node) or a label.
    #[command(after_help = "Example:\n  quiesce fields rcu.node.qsmask -c DUMP -s VMLINUX")]
    Fields { field: Option<String> },
    /// Watch a live QEMU guest (-c qmp:SOCK): a snapshot of its SRCU and RCU state (and of
    /// each --print EXPR) every --every ms, the guest stopped only while read; prints what
    /// changed since the previous snapshot, each value with its field (see `fields`).
    #[command(
        after_help = "Example:\n  quiesce watch -c qmp:/tmp/vm.sock -s VMLINUX --every 200 --print lesson_step --until lesson_step=13 --out lesson.json"
    )]
    Watch {
        /// Milliseconds between snapshots.
        #[arg(long, default_value_t = 250)]
        every: u64,
        /// Stop after this many snapshots (0: no limit).
        #[arg(long, default_value_t = 0)]
        count: usize,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// An expression to record at each snapshot (repeatable).
        #[arg(long = "print", value_name = "EXPR")]
        prints: Vec<String>,
        /// Stop once EXPR has the integer VALUE.
        #[arg(long, value_name = "EXPR=VALUE")]
        until: Option<String>,
        /// Only this SRCU domain (name or address).
        #[arg(long)]
        srcu: Option<String>,
        /// Follow a task (a pid, or every task of a command name; repeatable): its state,
        /// CPU and stack at each snapshot.
        #[arg(long = "task", value_name = "PID|COMM")]
        tasks: Vec<String>,
        /// Save the timeline (JSON) to FILE; `quiesce timeline FILE` replays it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Replay a timeline `watch --out` saved: each snapshot's changes (no dump needed).
    #[command(after_help = "Example:\n  quiesce timeline lesson.json")]
    Timeline { file: PathBuf },
    /// Walk each stuck task to its root cause: numbered steps with evidence (frames, fields)
    /// and notes on the RCU/SRCU mechanisms. `--log FILE` explains pasted text (crash bt,
    /// dmesg, hung-task and RCU stall reports) instead of a dump.
    #[command(
        after_help = "Example:\n  quiesce explain -c DUMP -s VMLINUX;  quiesce explain --log dmesg.txt"
    )]
    Explain {
        /// Pasted text to explain instead of a dump (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// The wait graph: one line per edge (task → waited object → holder …).
    #[command(
        after_help = "Examples:\n  quiesce waitgraph --svg -c DUMP -s VMLINUX > graph.svg\n  \
                      quiesce waitgraph --dot -c DUMP -s VMLINUX | dot -Tsvg > graph.svg"
    )]
    Waitgraph {
        /// Graphviz dot instead of text.
        #[arg(long, conflicts_with = "svg")]
        dot: bool,
        /// A standalone SVG (each chain a column of boxes, no Graphviz needed).
        #[arg(long)]
        svg: bool,
        /// Build it from pasted text instead of a dump (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Print an expression: globals, `a.b`, `p->q`, `x[3]`, `(struct foo *)0x…`,
    /// per-CPU values with a CPU selector (`runqueues:1.nr_running`, `:a` for all CPUs).
    #[command(
        alias = "p",
        after_help = "Examples:\n  quiesce print 'runqueues:a.nr_running' -c DUMP -s VMLINUX\n  \
quiesce print '((struct task_struct *)0xffff8b30c2529800)->comm' -c DUMP -s VMLINUX"
    )]
    Print {
        #[arg(required = true)]
        expr: Vec<String>,
    },
    /// A shell completion script on stdout (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example:\n  \
quiesce completions bash > ~/.local/share/bash-completion/completions/quiesce")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The man page (roff) on stdout.
    #[command(after_help = "Example:\n  quiesce man > ~/.local/share/man/man1/quiesce.1")]
    Man,
}

impl Command {
    /// The command as `report` runs it, or `None` for the ones only the shell needs.
    fn into_report(self) -> Option<report::Command> {
        use report::Command as R;
        Some(match self {
            Command::Ps => R::Ps,
            Command::Log => R::Log,
            Command::Sys => R::Sys,
            Command::Bt {
                targets,
                active,
                all,
                lines,
                locals,
            } => R::Bt {
                targets,
                active,
                all,
                lines,
                locals,
            },
            Command::Stacks {
                state,
                function,
                module,
            } => R::Stacks {
                state,
                function,
                module,
            },
            Command::Srcu { domain } => R::Srcu { domain },
            Command::Rcu => R::Rcu,
            Command::Fields { field } => R::Fields { filter: field },
            Command::Watch {
                every,
                count,
                seconds,
                prints,
                until,
                srcu,
                tasks,
                out,
            } => {
                let until = until.and_then(|u| {
                    let (e, v) = u.rsplit_once('=')?;
                    Some((e.trim().to_string(), v.trim().parse().ok()?))
                });
                R::Watch(Box::new(report::timeline::WatchOptions {
                    every: std::time::Duration::from_millis(every.max(1)),
                    count,
                    max: std::time::Duration::from_secs(seconds),
                    prints,
                    until,
                    srcu,
                    tasks,
                    out,
                }))
            }
            Command::Timeline { file } => R::Timeline { file },
            Command::Explain { log } => R::Explain { log },
            Command::Waitgraph { dot, svg, log } => R::Waitgraph { dot, svg, log },
            Command::Print { expr } => R::Print { expr },
            Command::Completions { .. } | Command::Man => return None,
        })
    }
}

/// The subcommands only the shell needs (not on the TUI's `:` line: the TUI takes snapshots
/// with `S` rather than `watch`).
const SHELL_ONLY: &[&str] = &["completions", "man", "watch"];

/// A completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "quiesce", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page, roff: the options, then every subcommand with its options and example.
pub fn man_page() -> std::io::Result<String> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH SUBCOMMANDS\n");
    for sub in cmd.get_subcommands() {
        out.extend_from_slice(format!(".SS {}\n", sub.get_name()).as_bytes());
        let sub = sub.clone().bin_name(format!("quiesce {}", sub.get_name()));
        let m = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        m.render_description_section(&mut part)?;
        m.render_synopsis_section(&mut part)?;
        m.render_options_section(&mut part)?;
        // A subcommand's sections are paragraphs of its .SS.
        let part = String::from_utf8_lossy(&part).replace(".SH ", ".TP\n.B ");
        out.extend_from_slice(part.as_bytes());
        if let Some(h) = sub.get_after_help() {
            out.extend_from_slice(b".TP\n.B EXAMPLE\n");
            out.extend_from_slice(roff_example(&h.to_string()).as_bytes());
        }
    }
    if let Some(h) = cmd.get_after_help() {
        out.extend_from_slice(b".SH EXAMPLES\n");
        out.extend_from_slice(roff_example(&h.to_string()).as_bytes());
    }
    man.render_version_section(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// An `Example:` help text as unfilled roff (its first line, the heading, left out).
fn roff_example(help: &str) -> String {
    let mut s = String::from(".nf\n");
    for l in help.lines().skip(1) {
        let l = l.replace('\\', "\\e").replace('-', "\\-");
        if l.starts_with(['.', '\'']) {
            s.push_str("\\&");
        }
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str(".fi\n");
    s
}

/// What the process is to do, from its arguments.
pub enum Invocation {
    /// No subcommand: the TUI on the target.
    Tui(Target),
    /// A command on the target.
    Command(Target, report::Command),
    /// Text for stdout that needs no dump (completions, the man page).
    Print(String),
}

impl Cli {
    /// The target (with `-c demo` resolved) and what to do with it.
    pub fn invocation(self) -> anyhow::Result<Invocation> {
        match self.command {
            Some(Command::Completions { shell }) => {
                return Ok(Invocation::Print(completions(shell)));
            }
            Some(Command::Man) => return Ok(Invocation::Print(man_page()?)),
            _ => {}
        }
        let mut target = Target::from(self.target);
        target.resolve_demo()?;
        // `--log FILE` explains pasted text: no dump, no debug info to find.
        let pasted = matches!(
            self.command,
            Some(
                Command::Explain { log: Some(_) }
                    | Command::Waitgraph { log: Some(_), .. }
                    | Command::Timeline { .. }
            )
        );
        if !pasted
            && !target.no_debuginfo
            && let Err(e) = target.find_vmlinux()
        {
            // No vmlinux given or found: the dump-only mode (kallsyms, BTF, ORC from the dump).
            let first = format!("{e:#}");
            let first = first.lines().next().unwrap_or_default();
            let first = first.trim_end_matches("; looked at:");
            eprintln!("quiesce: note: {first}; reading the dump's own symbols and types instead");
            // A candidate that was there but wrong (another build's vmlinux) is worth a
            // line; the places where nothing was (`locate::NotFound`'s "absent") are not.
            let all = format!("{e:#}");
            for l in all.lines().skip(1) {
                if let Some(l) = l.strip_prefix("  ")
                    && !l.ends_with(": absent")
                {
                    eprintln!("quiesce: note:   skipped {l}");
                }
            }
        }
        Ok(match self.command.and_then(Command::into_report) {
            None => Invocation::Tui(target),
            Some(c) => Invocation::Command(target, c),
        })
    }
}

/// A `:` line's words parsed as the command line parses them (the global options other than
/// `--json` are the TUI's own and ignored). Errors carry clap's message and the commands.
pub fn parse_words(words: &[&str]) -> Result<Request, String> {
    match Cli::try_parse_from(std::iter::once("quiesce").chain(words.iter().copied())) {
        Ok(Cli {
            command: Some(cmd),
            target,
        }) => match cmd.into_report() {
            Some(command) => Ok(Request {
                command,
                json: target.json,
            }),
            None => Err(format!("that one is for the shell\n{}", command_list())),
        },
        Ok(_) => Err(command_list()),
        Err(e) => Err(format!("{e}\n{}", command_list())),
    }
}

/// The subcommands the `:` line runs, as one line.
fn command_list() -> String {
    use clap::CommandFactory;
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| !SHELL_ONLY.contains(&n.as_str()))
        .collect();
    format!("commands: {}", names.join(", "))
}
