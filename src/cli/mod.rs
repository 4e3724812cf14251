//! The command line: `quiesce SUBCOMMAND -c DUMP -s VMLINUX [-s MODULE.ko|DIR ...] [--json]`
//! (drgn's `-c`/`-s`; `-c` defaults to `/proc/kcore`). clap parses the arguments into
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
    about = "A terminal debugger for Linux kernel hangs"
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
    /// Kernel source tree, for the TUI's source pane.
    #[arg(long, global = true)]
    pub source: Option<PathBuf>,
}

impl From<TargetArgs> for Target {
    fn from(a: TargetArgs) -> Target {
        Target {
            core: a.core,
            symbols: a.symbols,
            json: a.json,
            source: a.source,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The task table: pid, ppid, cpu, state (as crash prints it), task address, command.
    Ps,
    /// The kernel log (printk ring buffer).
    Log,
    /// Release, CPUs, uptime and panic message.
    Sys,
    /// Backtraces: of tasks by pid or task address, `-a` the tasks active on each CPU,
    /// `--all` every task (crash's `foreach bt`).
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
    Stacks {
        /// Only tasks in this state (crash letters: UN, IN, RU, ID, …).
        #[arg(short = 's', long)]
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
    Srcu { domain: Option<String> },
    /// Tree RCU: grace period, GP kthread, rcu_node tree, per-CPU rcu_data, holdouts.
    Rcu,
    /// Walk each stuck task to its root cause: numbered steps with evidence (frames, fields)
    /// and notes on the RCU/SRCU mechanisms. `--log FILE` explains pasted text (crash bt,
    /// dmesg, hung-task and RCU stall reports) instead of a dump.
    Explain {
        /// Pasted text to explain instead of a dump (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// The wait graph: one line per edge (task → waited object → holder …).
    Waitgraph {
        /// Graphviz dot instead of text.
        #[arg(long)]
        dot: bool,
        /// Build it from pasted text instead of a dump (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Print an expression: globals, `a.b`, `p->q`, `x[3]`, `(struct foo *)0x…`,
    /// per-CPU values with a CPU selector (`runqueues:1.nr_running`, `:a` for all CPUs).
    #[command(alias = "p")]
    Print {
        #[arg(required = true)]
        expr: Vec<String>,
    },
}

impl From<Command> for report::Command {
    fn from(c: Command) -> report::Command {
        use report::Command as R;
        match c {
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
            Command::Explain { log } => R::Explain { log },
            Command::Waitgraph { dot, log } => R::Waitgraph { dot, log },
            Command::Print { expr } => R::Print { expr },
        }
    }
}

/// What the process is to do, from its arguments.
pub enum Invocation {
    /// No subcommand: the TUI on the target.
    Tui(Target),
    /// A command on the target.
    Command(Target, report::Command),
}

impl Cli {
    /// The target (with `-c demo` resolved) and what to do with it.
    pub fn invocation(self) -> anyhow::Result<Invocation> {
        let mut target = Target::from(self.target);
        target.resolve_demo()?;
        Ok(match self.command {
            None => Invocation::Tui(target),
            Some(c) => Invocation::Command(target, c.into()),
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
        }) => Ok(Request {
            command: cmd.into(),
            json: target.json,
        }),
        Ok(_) => Err(command_list()),
        Err(e) => Err(format!("{e}\n{}", command_list())),
    }
}

/// The subcommands there are, as one line.
fn command_list() -> String {
    use clap::CommandFactory;
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    format!("commands: {}", names.join(", "))
}
