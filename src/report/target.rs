//! What a command looks at: the dump, its debug info (`-c`, `-s` on the command line) and
//! the kernel source tree; plain data that the CLI fills from its arguments and the TUI
//! keeps for its jobs.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Target {
    /// The dump: an ELF vmcore, a kdump-compressed or flattened file, `/proc/kcore`, or
    /// `demo` (see [`Target::resolve_demo`]).
    pub core: PathBuf,
    /// Debug info: the vmlinux first, then module `.ko` files or directories holding them.
    pub symbols: Vec<PathBuf>,
    /// Print JSON instead of text.
    pub json: bool,
    /// The kernel source tree, for the TUI's source pane.
    pub source: Option<PathBuf>,
}

impl Target {
    /// A dump with its debug info, text output, no source tree.
    pub fn new(core: impl Into<PathBuf>, symbols: Vec<PathBuf>) -> Target {
        Target {
            core: core.into(),
            symbols,
            json: false,
            source: None,
        }
    }

    /// `-c demo`: the bookworm `hang` fixture that `fixtures/build.sh` builds (dump, vmlinux
    /// and the test module, and the kernel source tree `fixtures/source.sh` unpacks), so the
    /// README's demo command needs no paths.
    pub fn resolve_demo(&mut self) -> Result<()> {
        if self.core != Path::new("demo") {
            return Ok(());
        }
        let root = std::env::var_os("QUIESCE_FIXTURES")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/quiesce/fixtures"))
            })
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
        self.source = (self.source.take())
            .or_else(|| Some(root.with_file_name("src/linux-source-6.1")).filter(|s| s.is_dir()));
        Ok(())
    }

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
        if self.core == Path::new("/proc/kcore") {
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
