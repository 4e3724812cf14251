//! The kernel object model: a dump's memory seen through the vmlinux's types.
//!
//! [`Kernel`] ties together the byte source (`dump`), address translation (`translate`) and
//! debug info (`debuginfo`). Everything kernel-specific above it (tasks, per-CPU data, the
//! printk log, expressions) reads through [`Kernel`] and the [`Layout`] it probes once.

pub mod cpus;
pub mod error;
pub mod expr;
pub mod find;
pub mod layout;
pub mod lists;
pub mod modules;
pub mod open;
pub mod printk;
pub mod tasks;
pub mod time;
pub mod unlisted;
pub mod value;

pub use error::KernelError;
pub use layout::Layout;
pub use open::{NEEDS_DWARF, OpenOptions, open};

use crate::addr::Kva;
use crate::debuginfo::{DebugInfo, Type, TypeId};
use crate::dump::Dump;
use crate::translate::{KernelMem, ReadError, VmcoreInfo};
use std::sync::{Arc, OnceLock};

/// An opened kernel: dump + debug info + translation, with lazily probed layouts.
pub struct Kernel {
    pub mem: KernelMem,
    pub dump: Arc<Dump>,
    pub di: Arc<DebugInfo>,
    pub vmcoreinfo: VmcoreInfo,
    /// KASLR slide added to vmlinux link-time addresses.
    pub kaslr_offset: u64,
    /// Warnings collected while opening (untrusted header fields, missing modules…).
    pub warnings: Vec<String>,
    layout: OnceLock<Result<Layout, KernelError>>,
    cpus: OnceLock<Result<cpus::Cpus, KernelError>>,
    /// The vmlinux image's link range `[_text, _end)` (see [`Kernel::di_address`]).
    image: OnceLock<Option<std::ops::Range<u64>>>,
}

/// A typed object at an address: the unit that expressions and printers work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    pub addr: Kva,
    pub ty: TypeId,
}

impl Kernel {
    /// Probe every struct member quiesce uses, once. Later reads use plain offsets.
    pub fn layout(&self) -> Result<&Layout, KernelError> {
        self.layout
            .get_or_init(|| Layout::probe(&self.di))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The type `id` names; a type the debug info cannot build reads as `void` (and
    /// values of it as unreadable) rather than failing the whole operation.
    pub fn type_of(&self, id: TypeId) -> Arc<Type> {
        self.di.ty(id).unwrap_or_else(|_| Arc::new(Type::void()))
    }

    pub fn cpus(&self) -> Result<&cpus::Cpus, KernelError> {
        self.cpus
            .get_or_init(|| cpus::Cpus::read(self))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The dump's architecture (ELF machine, kdump `utsname`, its notes or VMCOREINFO: see
    /// `dump::Dump::machine`); a dump that does not say but whose VMCOREINFO gave arm64's
    /// translation facts is arm64.
    pub fn arch(&self) -> &'static dyn crate::arch::Arch {
        match self.dump.machine() {
            crate::dump::Machine::Other(_) if self.mem.xlat.arm64().is_some() => {
                &crate::arch::aarch64::Aarch64
            }
            m => crate::arch::for_machine(m),
        }
    }

    /// Is this an arm64 kernel?
    pub fn is_arm64(&self) -> bool {
        self.arch().name() == "aarch64"
    }

    /// Runtime address of a vmlinux or module symbol (ELF symbol table, KASLR applied).
    pub fn symbol_addr(&self, name: &str) -> Result<Kva, KernelError> {
        let sym = self
            .di
            .symbol(name)
            .ok_or_else(|| KernelError::NoSymbol(name.to_string()))?;
        Ok(self.relocate(sym.addr, sym.module.is_some()))
    }

    /// Link-time address → runtime address. Module debug info is already placed at its
    /// runtime addresses; vmlinux addresses get the KASLR slide.
    pub fn relocate(&self, addr: u64, in_module: bool) -> Kva {
        if in_module {
            Kva(addr)
        } else {
            Kva(addr.wrapping_add(self.kaslr_offset))
        }
    }

    /// The debug-info address of a runtime address, the inverse of [`Kernel::relocate`]: an
    /// address in the vmlinux image (`[_text, _end)` once shifted) loses the KASLR offset;
    /// anything else (module text and data, whose debug info is placed at runtime
    /// addresses) is kept.
    pub fn di_address(&self, addr: u64) -> u64 {
        let link = addr.wrapping_sub(self.kaslr_offset);
        let image = self.image.get_or_init(|| {
            self.di
                .symbol("_text")
                .zip(self.di.symbol("_end"))
                .map(|(s, e)| s.addr..e.addr)
                // kallsyms without CONFIG_KALLSYMS_ALL lists neither: the dump-only source's
                // span of its vmlinux symbols.
                .or_else(|| self.di.dump_only()?.image().map(|(a, b)| a..b))
        });
        match image {
            Some(r) if r.contains(&link) => link,
            _ => addr,
        }
    }

    /// The symbol at or before a runtime address, and the offset into it.
    pub fn symbolize(&self, addr: u64) -> Option<(crate::debuginfo::Symbol, u64)> {
        self.di.symbolize(self.di_address(addr))
    }

    /// A global variable as a typed object (per-CPU variables give the per-CPU offset
    /// address; use [`Kernel::per_cpu`]).
    pub fn variable(&self, name: &str) -> Result<(Object, bool), KernelError> {
        // A global with a location has a symbol; asking the DWARF index for a name the
        // symbol table lacks (another generation's spelling, tried as a fallback) would
        // send it through every unit — on a damaged dump, where fallbacks run, that tripled
        // the memory `sys` used.
        if self.di.symbol(name).is_none() {
            return Err(KernelError::Debug(format!("no symbol {name}")));
        }
        let v = self
            .di
            .find_variable(name)
            .map_err(|e| KernelError::Debug(e.to_string()))?;
        let in_module = self
            .di
            .symbol(name)
            .and_then(|s| s.module.clone())
            .is_some();
        Ok((
            Object {
                addr: if v.percpu {
                    self.percpu_ptr_of_link(v.addr)
                } else {
                    self.relocate(v.addr, in_module)
                },
                ty: v.ty,
            },
            v.percpu,
        ))
    }

    /// The `__percpu` pointer of a vmlinux per-CPU variable linked at `link`: what
    /// [`Kernel::per_cpu`] adds `__per_cpu_offset[cpu]` to.
    ///
    /// Up to 6.14 the x86_64 per-CPU section is linked at 0 and its symbols are not
    /// relocated by KASLR, so the link address is the offset itself (e.g. `runqueues` =
    /// 0x2f3c0). Since 6.15 (commit 9d7de2aa8b41 "x86/percpu/64: Use relative percpu
    /// offsets") `.data..percpu` is linked at a kernel address like any other data section
    /// (`runqueues` = 0xffffffff83dd7100) and `__per_cpu_offset[cpu]` is relative to it, so
    /// the symbol is relocated like any other. Decided by where the section is linked.
    pub fn percpu_ptr_of_link(&self, link: u64) -> Kva {
        match self.di.section_addr(".data..percpu") {
            Some(start) if start != 0 => self.relocate(link, false),
            _ => Kva(link),
        }
    }

    /// `per_cpu_ptr(var, cpu)`: the address on `cpu` of the per-CPU object whose `__percpu`
    /// pointer is `var` (a static variable's pointer comes from
    /// [`Kernel::percpu_ptr_of_link`], a dynamic one is read from memory).
    pub fn per_cpu(&self, var: Kva, cpu: u32) -> Result<Kva, KernelError> {
        let cpus = self.cpus()?;
        let off = cpus
            .per_cpu_offset(cpu)
            .ok_or(KernelError::NoSuchCpu(cpu))?;
        Ok(Kva(var.0.wrapping_add(off)))
    }

    pub fn read(&self, addr: Kva, buf: &mut [u8], what: &str) -> Result<(), ReadError> {
        self.mem.read(addr, buf, what)
    }

    pub fn read_u64(&self, addr: Kva, what: &str) -> Result<u64, ReadError> {
        self.mem.read_u64(addr, what)
    }

    pub fn read_u32(&self, addr: Kva, what: &str) -> Result<u32, ReadError> {
        self.mem.read_u32(addr, what)
    }

    pub fn read_i32(&self, addr: Kva, what: &str) -> Result<i32, ReadError> {
        Ok(self.mem.read_u32(addr, what)? as i32)
    }

    pub fn read_ptr(&self, addr: Kva, what: &str) -> Result<Kva, ReadError> {
        self.mem.read_u64(addr, what).map(Kva)
    }

    /// A NUL-terminated string of at most `max` bytes (lossy UTF-8).
    pub fn read_cstr(&self, addr: Kva, max: usize, what: &str) -> Result<String, ReadError> {
        let mut buf = vec![0u8; max];
        // Read page by page so a string near the end of a mapping still reads.
        let mut got = 0;
        while got < max {
            let page_left = (4096 - ((addr.0 + got as u64) & 4095)) as usize;
            let n = page_left.min(max - got);
            self.read(addr.add(got as u64), &mut buf[got..got + n], what)?;
            if buf[got..got + n].contains(&0) {
                break;
            }
            got += n;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(max);
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }
}
