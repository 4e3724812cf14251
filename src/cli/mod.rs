//! The command line: `quiesce SUBCOMMAND -c DUMP -s VMLINUX [-s MODULE.ko|DIR ...] [--json]`
//! (drgn's `-c`/`-s`; `-c` defaults to `/proc/kcore`). Errors end as one line on stderr and
//! a non-zero exit status.

mod commands;

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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The dump: an ELF vmcore, a kdump-compressed or flattened file, or /proc/kcore.
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The task table: pid, ppid, cpu, state (as crash prints it), task address, command.
    Ps,
    /// The kernel log (printk ring buffer).
    Log,
    /// Release, CPUs, uptime and panic message.
    Sys,
    /// SRCU domains: grace-period phase, readers per index, callbacks, GP work, waiters.
    /// NAME or ADDR picks one domain.
    Srcu { domain: Option<String> },
    /// Tree RCU: grace period, GP kthread, rcu_node tree, per-CPU rcu_data, holdouts.
    Rcu,
    /// Print an expression: globals, `a.b`, `p->q`, `x[3]`, `(struct foo *)0x…`,
    /// per-CPU values with a CPU selector (`runqueues:1.nr_running`, `:a` for all CPUs).
    #[command(alias = "p")]
    Print {
        #[arg(required = true)]
        expr: Vec<String>,
    },
}

impl Target {
    /// The vmlinux: the first `-s` that is not a module or directory, or the running
    /// kernel's debug file when reading /proc/kcore.
    pub fn vmlinux(&self) -> Result<PathBuf> {
        if let Some(p) = self
            .symbols
            .iter()
            .find(|p| !p.is_dir() && p.extension().is_none_or(|e| e != "ko"))
        {
            return Ok(p.clone());
        }
        if self.core == std::path::Path::new("/proc/kcore") {
            let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .context("reading /proc/sys/kernel/osrelease")?;
            let p = PathBuf::from(format!("/usr/lib/debug/boot/vmlinux-{}", rel.trim()));
            if p.exists() {
                return Ok(p);
            }
        }
        bail!("no vmlinux given: use -s VMLINUX (a vmlinux with DWARF debug info)")
    }

    pub fn modules(&self) -> Vec<PathBuf> {
        self.symbols
            .iter()
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "ko"))
            .cloned()
            .collect()
    }
}

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    commands::run(cli)
}
