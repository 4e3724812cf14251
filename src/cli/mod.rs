//! The command line: `quiesce SUBCOMMAND -c DUMP [-s VMLINUX] [-s MODULE.ko|DIR ...] [--json]`
//! (drgn's `-c`/`-s`; `-c` defaults to `/proc/kcore`; without `-s VMLINUX` the dump's vmlinux
//! is found by its build-id, see `kernel::find`). Errors end as one line on stderr and
//! a non-zero exit status. With no subcommand, the TUI opens (`crate::tui`).

mod commands;

pub use commands::{command_text, open_kernel};

use anyhow::{Context, Result, bail};
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
    pub target: Target,
    /// Kernel source tree (or a linux-source `.tar.xz`), for the TUI's source pane. Without
    /// it, the dump release's source is looked for in /usr/src/linux-source-X.Y[.tar.xz] and
    /// /lib/modules/REL/{source,build}; the demo uses its fixture's tree.
    #[arg(long, global = true)]
    pub source: Option<PathBuf>,
    /// Without a subcommand, the TUI opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The dump: an ELF vmcore, a kdump-compressed or flattened file, /proc/kcore, or
    /// `demo` for the fixture dump that `fixtures/build.sh` builds.
    #[arg(
        short = 'c',
        long = "core",
        global = true,
        default_value = "/proc/kcore"
    )]
    pub core: PathBuf,
    /// Debug info: the vmlinux, module files (`.ko`, `.ko.xz|zst|gz`, `.ko.debug`, any name)
    /// or directories holding them. Optional: without it the vmlinux and modules are looked
    /// for where distributions install them, in QUIESCE_DEBUG_PATH, and via DEBUGINFOD_URLS.
    #[arg(short = 's', long = "symbols", global = true)]
    pub symbols: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Use no vmlinux even if one is given or found: symbols, types and unwind tables
    /// from the dump itself (kallsyms, BTF, ORC). Without a vmlinux this is the default.
    #[arg(long = "no-debuginfo", global = true)]
    pub no_debuginfo: bool,
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

impl Target {
    /// `-c demo`: the bookworm `hang` fixture that `fixtures/build.sh` builds (dump, vmlinux
    /// and the test module), so the README's demo command needs no paths.
    pub fn resolve_demo(&mut self) -> Result<()> {
        if self.core != std::path::Path::new("demo") {
            return Ok(());
        }
        let root = fixtures_root()
            .context("no HOME to find the demo fixtures in")?
            .join("bookworm");
        let dump = root.join("dumps/hang.elf");
        if !dump.exists() {
            bail!(
                "the demo dump {} is not built yet: run `bash fixtures/build.sh` first",
                dump.display()
            );
        }
        self.core = dump;
        if self.symbols.is_empty() {
            self.symbols = vec![root.join("vmlinux"), root.join("modules")];
        }
        Ok(())
    }

    /// The vmlinux to use, or `None` for the dump-only mode (`--no-debuginfo`, or no
    /// vmlinux given or found).
    pub fn debuginfo(&self) -> Option<PathBuf> {
        if self.no_debuginfo {
            return None;
        }
        self.vmlinux().ok()
    }

    /// The vmlinux: the first `-s` that is neither a directory nor a module file (judged by
    /// its contents, see [`crate::debuginfo::elfid::is_module_arg`]). [`Self::find_vmlinux`]
    /// puts one there when none was given.
    pub fn vmlinux(&self) -> Result<PathBuf> {
        if let Some(p) = self.symbols.iter().find(|p| is_vmlinux_arg(p)) {
            return Ok(p.clone());
        }
        bail!("no vmlinux given: use -s VMLINUX (a vmlinux with DWARF debug info)")
    }

    /// Module files and directories among `-s`.
    pub fn modules(&self) -> Vec<PathBuf> {
        self.symbols
            .iter()
            .filter(|p| !is_vmlinux_arg(p))
            .cloned()
            .collect()
    }

    /// With no vmlinux among `-s`, find the dump's by its release and build-id where
    /// distributions install it, or through debuginfod (`crate::kernel::find`), and put it
    /// first. Candidates skipped on the way are warned about; finding none is an error that
    /// lists every place looked.
    pub fn find_vmlinux(&mut self) -> Result<()> {
        if self.symbols.iter().any(|p| is_vmlinux_arg(p)) {
            return Ok(());
        }
        let found = crate::kernel::find::vmlinux(&self.core)?;
        for s in &found.skipped {
            eprintln!("quiesce: warning: vmlinux: skipped {s}");
        }
        self.symbols.insert(0, found.path);
        Ok(())
    }
}

/// `$QUIESCE_FIXTURES`, else `~/.cache/quiesce/fixtures`.
fn fixtures_root() -> Option<PathBuf> {
    std::env::var_os("QUIESCE_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/quiesce/fixtures"))
        })
}

/// The demo's kernel source: the tree `fixtures/build.sh` unpacks, when it is there.
fn demo_source() -> Option<PathBuf> {
    Some(fixtures_root()?.join("src/linux-source-6.1")).filter(|p| p.is_dir())
}

fn is_vmlinux_arg(p: &std::path::Path) -> bool {
    !p.is_dir() && !crate::debuginfo::elfid::is_module_arg(p)
}

/// Run the CLI; returns the process exit code. No subcommand opens the TUI.
pub fn run(mut cli: Cli) -> Result<i32> {
    if cli.target.core == std::path::Path::new("demo") && cli.source.is_none() {
        cli.source = demo_source();
    }
    cli.target.resolve_demo()?;
    // `--log FILE` explains pasted text: no dump, no debug info to find.
    let pasted = matches!(
        cli.command,
        Some(Command::Explain { log: Some(_) } | Command::Waitgraph { log: Some(_), .. })
    );
    if !pasted
        && !cli.target.no_debuginfo
        && let Err(e) = cli.target.find_vmlinux()
    {
        // No vmlinux given or found: the dump-only mode (kallsyms, BTF, ORC from the dump).
        let first = format!("{e:#}");
        let first = first.lines().next().unwrap_or_default();
        let first = first.trim_end_matches("; looked at:");
        eprintln!("quiesce: note: {first}; reading the dump's own symbols and types instead");
    }
    match cli.command {
        Some(_) => commands::run(cli),
        None => {
            // Module files fetched while the TUI owns the terminal must not draw on it.
            crate::debuginfo::debuginfod::set_progress(false);
            crate::tui::run(cli.target, cli.source)?;
            Ok(0)
        }
    }
}
