//! ELF symbol tables: name lookup and address → nearest preceding symbol (sorted vector +
//! binary search).
//!
//! Compact: one 40-byte entry per symbol whose name borrows the mapped `.strtab`, so reading
//! the ~150k symbols of a vmlinux allocates a few MB in a handful of vectors instead of two
//! strings per symbol. [`Symbol`]s are built on request.

use super::hash::FxMap;
use object::{Object, ObjectSection, ObjectSymbol, SectionIndex, SymbolKind};
use std::collections::hash_map::Entry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymKind {
    Func,
    Object,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// Link-time address (vmlinux) or runtime address (module sections placed by `add_module`).
    pub addr: u64,
    pub size: u64,
    pub kind: SymKind,
    /// The module the symbol belongs to; `None` for the vmlinux.
    pub module: Option<String>,
}

/// One symbol as stored: the name points into the image's mapping (`'static` for as long as
/// the image lives, see `image::extend`).
#[derive(Clone, Copy)]
pub(crate) struct RawSym {
    pub name: &'static str,
    pub addr: u64,
    pub size: u64,
    pub kind: SymKind,
    global: bool,
}

impl RawSym {
    /// `STB_GLOBAL` (or weak): visible to other units.
    pub fn is_global(&self) -> bool {
        self.global
    }
}

pub(crate) struct SymTable {
    syms: Vec<RawSym>,
    by_name: FxMap<&'static str, u32>,
    /// Indices of address-searchable symbols, sorted by address.
    by_addr: Vec<u32>,
    module: Option<String>,
}

impl SymTable {
    pub fn new(
        obj: &object::File<'static>,
        module: Option<&str>,
        relocatable: bool,
        section_base: &dyn Fn(SectionIndex) -> u64,
    ) -> SymTable {
        // Per-CPU symbols of the vmlinux are offsets into the per-CPU area, not addresses:
        // keep them for lookup by name but never symbolize an address to them.
        let percpu_sec = obj.section_by_name(".data..percpu").map(|s| s.index());
        // A capacity hint (ELF64 symbols are 24 bytes): saves rehashing 150k names.
        let n = obj
            .section_by_name(".symtab")
            .map_or(0, |s| (s.size() / 24) as usize);
        let mut syms = Vec::with_capacity(n);
        let mut by_name: FxMap<&'static str, u32> = FxMap::default();
        by_name.reserve(n);
        let mut by_addr = Vec::with_capacity(n);
        for s in obj.symbols() {
            let Some(sec) = s.section_index() else {
                continue;
            };
            let kind = match s.kind() {
                SymbolKind::Text => SymKind::Func,
                SymbolKind::Data => SymKind::Object,
                SymbolKind::Section | SymbolKind::File => continue,
                _ => SymKind::Other,
            };
            let Ok(name) = s.name() else { continue };
            if name.is_empty() {
                continue;
            }
            let base = if relocatable { section_base(sec) } else { 0 };
            if relocatable && base == 0 && !matches!(kind, SymKind::Other) {
                // Section not placed by the caller: no meaningful address.
                continue;
            }
            let idx = syms.len() as u32;
            let global = s.is_global();
            syms.push(RawSym {
                name,
                addr: base.wrapping_add(s.address()),
                size: s.size(),
                kind,
                global,
            });
            // Entry code is made of untyped labels (SYM_CODE_START, SYM_INNER_LABEL give
            // STT_NOTYPE): `entry_SYSCALL_64_after_hwframe` must name its pc, as crash does,
            // so untyped symbols in executable sections are searchable too.
            let exec = obj
                .section_by_index(sec)
                .is_ok_and(|x| x.kind() == object::SectionKind::Text);
            if (kind != SymKind::Other || exec) && Some(sec) != percpu_sec {
                by_addr.push(idx);
            }
            // First definition wins, but a global beats a local of the same name.
            match by_name.entry(name) {
                Entry::Occupied(mut e) => {
                    if global && !syms[*e.get() as usize].global {
                        e.insert(idx);
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(idx);
                }
            }
        }
        // Sort direct keys rather than indices (no indirection per comparison).
        let mut keyed: Vec<(u64, std::cmp::Reverse<u64>, u32)> = by_addr
            .iter()
            .map(|&i| {
                let s = &syms[i as usize];
                (s.addr, std::cmp::Reverse(s.size), i)
            })
            .collect();
        keyed.sort_unstable();
        let by_addr: Vec<u32> = keyed.into_iter().map(|k| k.2).collect();
        SymTable {
            syms,
            by_name,
            by_addr,
            module: module.map(str::to_owned),
        }
    }

    pub fn raw_by_name(&self, name: &str) -> Option<&RawSym> {
        self.by_name.get(name).map(|&i| &self.syms[i as usize])
    }

    pub fn by_name(&self, name: &str) -> Option<Symbol> {
        self.raw_by_name(name).map(|s| self.symbol(s))
    }

    /// The function/object symbol at or before `addr`.
    pub fn preceding(&self, addr: u64) -> Option<Symbol> {
        let n = self
            .by_addr
            .partition_point(|&i| self.syms[i as usize].addr <= addr);
        if n == 0 {
            return None;
        }
        // Several symbols can share an address; prefer the first (largest) one there.
        let at = self.syms[self.by_addr[n - 1] as usize].addr;
        let first = self.by_addr[..n].partition_point(|&i| self.syms[i as usize].addr < at);
        Some(self.symbol(&self.syms[self.by_addr[first] as usize]))
    }

    pub fn iter(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.syms.iter().map(|s| self.symbol(s))
    }

    fn symbol(&self, s: &RawSym) -> Symbol {
        Symbol {
            name: s.name.to_owned(),
            addr: s.addr,
            size: s.size,
            kind: s.kind,
            module: self.module.clone(),
        }
    }
}
