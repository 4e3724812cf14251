//! ELF symbol tables: name lookup and address → nearest preceding symbol (sorted vector +
//! binary search).

use super::hash::FxMap;
use object::{Object, ObjectSection, ObjectSymbol, SectionIndex, SymbolKind};

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

pub(crate) struct SymTable {
    syms: Vec<Symbol>,
    by_name: FxMap<&'static str, u32>,
    /// Indices of address-searchable symbols, sorted by address.
    by_addr: Vec<u32>,
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
        let mut syms = Vec::new();
        let mut by_name: FxMap<&'static str, u32> = FxMap::default();
        let mut by_addr = Vec::new();
        let mut global = Vec::new();
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
            syms.push(Symbol {
                name: name.to_owned(),
                addr: base.wrapping_add(s.address()),
                size: s.size(),
                kind,
                module: module.map(str::to_owned),
            });
            global.push(s.is_global());
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
            match by_name.get(name) {
                Some(&old) if global[old as usize] || !s.is_global() => {}
                _ => {
                    by_name.insert(name, idx);
                }
            }
        }
        by_addr.sort_by_key(|&i| {
            (
                syms[i as usize].addr,
                std::cmp::Reverse(syms[i as usize].size),
            )
        });
        SymTable {
            syms,
            by_name,
            by_addr,
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&Symbol> {
        self.by_name.get(name).map(|&i| &self.syms[i as usize])
    }

    /// The function/object symbol at or before `addr`.
    pub fn preceding(&self, addr: u64) -> Option<&Symbol> {
        let n = self
            .by_addr
            .partition_point(|&i| self.syms[i as usize].addr <= addr);
        if n == 0 {
            return None;
        }
        // Several symbols can share an address; prefer the first (largest) one there.
        let at = self.syms[self.by_addr[n - 1] as usize].addr;
        let first = self.by_addr[..n].partition_point(|&i| self.syms[i as usize].addr < at);
        Some(&self.syms[self.by_addr[first] as usize])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.syms.iter()
    }
}
