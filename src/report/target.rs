//! What a command looks at: the dump, its debug info (`-c`, `-s` on the command line) and
//! the kernel source tree; data that the CLI fills from its arguments and the TUI keeps for
//! its jobs, plus the dump itself once finding the vmlinux has opened it ([`OpenedDump`]).

use crate::dump::Dump;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    /// Read no vmlinux even if one is given or found (`--no-debuginfo`): the dump-only mode.
    pub no_debuginfo: bool,
    /// The dump as [`Target::find_vmlinux`] opened it, for the kernel's opening to take.
    pub opened: OpenedDump,
}

/// A dump opened once and handed on: finding the vmlinux reads the dump's VMCOREINFO, and
/// the kernel is then opened from that same `Dump`, not a second open. For a file this
/// saves a header parse; for a live QEMU guest it is one attach (the guest stopped once,
/// its memory scanned once), and the vmlinux is chosen by the moment that is read.
/// Clones share it; the first to take it has it.
#[derive(Clone, Default)]
pub struct OpenedDump(Arc<Mutex<Option<Dump>>>);

impl OpenedDump {
    /// The dump, if one was opened and not yet taken.
    pub fn take(&self) -> Option<Dump> {
        self.0.lock().ok()?.take()
    }

    fn put(&self, d: Dump) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(d);
        }
    }
}

impl std::fmt::Debug for OpenedDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.lock().map(|g| g.is_some()).unwrap_or(false);
        f.write_str(if held {
            "OpenedDump(held)"
        } else {
            "OpenedDump(none)"
        })
    }
}

impl Target {
    /// A dump with its debug info, text output, no source tree.
    pub fn new(core: impl Into<PathBuf>, symbols: Vec<PathBuf>) -> Target {
        Target {
            core: core.into(),
            symbols,
            json: false,
            source: None,
            no_debuginfo: false,
            opened: OpenedDump::default(),
        }
    }

    /// `-c demo`: the bookworm `hang` fixture that `fixtures/build.sh` builds (dump, vmlinux
    /// and the test module, and the kernel source tree `fixtures/source.sh` unpacks), so the
    /// README's demo command needs no paths.
    pub fn resolve_demo(&mut self) -> Result<()> {
        if self.core != Path::new("demo") {
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
        self.source = self.source.take().or_else(demo_source);
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
        let dump = Dump::open(&self.core).with_context(|| self.core.display().to_string())?;
        let found = crate::kernel::find::vmlinux_of(&dump, &self.core);
        self.opened.put(dump);
        let found = found?;
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

fn is_vmlinux_arg(p: &Path) -> bool {
    !p.is_dir() && !crate::debuginfo::elfid::is_module_arg(p)
}
