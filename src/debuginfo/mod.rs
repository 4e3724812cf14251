//! vmlinux and module debug info: ELF symbols, the DWARF type model, variables, enumerators,
//! functions and source lines.
//!
//! Speed is the point. Opening maps the file and reads the section table and symbol table;
//! nothing in `.debug_info` is touched. Name lookups go through an incremental index of
//! top-level DIEs (see [`index`]): units are scanned in parallel, in link order, only until the
//! name is found. Types are materialized one DIE at a time on request and cached by
//! [`TypeId`]; member paths are cached too. Callers (the kernel layer) resolve each layout once
//! and never look types up per object.
//!
//! Addresses: vmlinux addresses are link-time addresses (add the KASLR offset elsewhere);
//! per-CPU variables of the vmlinux are offsets into the per-CPU area (`percpu: true`); module
//! addresses are the runtime addresses the caller placed the sections at in
//! [`DebugInfo::add_module`].

mod cache;
mod cfi;
pub mod debuginfod;
mod decl;
pub mod dumponly;
pub mod elfid;
mod error;
mod hash;
mod image;
mod index;
mod lines;
pub mod locate;
mod member;
mod names;
mod scopes;
pub mod sources;
mod symbols;
mod types;

pub use cfi::{CfiRow, RegRule};
pub use error::DebugError;
pub use lines::{FunctionInfo, LineFrame};
pub use scopes::{Scope, ScopeVar, Scopes, VarKind, VarLoc};
pub use symbols::{SymKind, Symbol};
pub use types::{BaseEncoding, Member, MemberInfo, Type, TypeId, TypeKind};

use image::Image;
use index::Ns;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

/// A global or static variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    /// Link-time address in the vmlinux (an offset into the per-CPU area when `percpu`), or
    /// runtime address in a module.
    pub addr: u64,
    pub ty: TypeId,
    pub percpu: bool,
}

/// One vmlinux plus zero or more modules.
pub struct DebugInfo {
    /// `images[0]` is the vmlinux; modules follow in the order added.
    images: Vec<Image>,
    types: RwLock<HashMap<TypeId, Arc<Type>>>,
    members: RwLock<HashMap<(TypeId, String), MemberInfo>>,
    names: OnceLock<Vec<String>>,
    /// Where the vmlinux name-index cache lives (`None`: not used).
    cache_dir: Option<PathBuf>,
    /// The dump-only source (kallsyms, BTF, the table of globals), used instead of
    /// `images` when no vmlinux is at hand. See [`dumponly`].
    dump: Option<dumponly::DumpOnly>,
}

impl DebugInfo {
    /// Map a vmlinux. Cheap: DWARF is indexed lazily, on the first lookup that needs it.
    /// The on-disk index cache (see [`Self::use_index_cache`]) is used from its default
    /// directory unless `QUIESCE_INDEX_CACHE=0`.
    pub fn open_vmlinux(path: &Path) -> Result<DebugInfo, DebugError> {
        let mut di = Self::open_vmlinux_uncached(path)?;
        di.use_index_cache(cache::default_dir());
        Ok(di)
    }

    /// Map a vmlinux without the on-disk index cache.
    pub fn open_vmlinux_uncached(path: &Path) -> Result<DebugInfo, DebugError> {
        let img = Image::open(path, None, &HashMap::new())?;
        // The vmlinux's DWARF is what every lookup needs: load it now, and refuse a file
        // whose sections cannot be read (a module's loads when first asked for).
        if let Some(e) = img.dwarf_error() {
            return Err(DebugError::Elf {
                path: path.to_owned(),
                msg: e.to_owned(),
            });
        }
        Ok(DebugInfo {
            images: vec![img],
            types: RwLock::default(),
            members: RwLock::default(),
            names: OnceLock::new(),
            cache_dir: None,
            dump: None,
        })
    }

    /// Debug info from the dump alone: symbols, types and variables as the dump-only source
    /// provides them ([`dumponly`]). Everything above works the same; what needs DWARF
    /// (source lines, inline frames, locals, CFI) is absent.
    pub fn from_dump(src: dumponly::DumpOnly) -> DebugInfo {
        DebugInfo {
            images: Vec::new(),
            types: RwLock::default(),
            members: RwLock::default(),
            names: OnceLock::new(),
            cache_dir: None,
            dump: Some(src),
        }
    }

    /// The dump-only source, when that is what this is.
    pub fn dump_only(&self) -> Option<&dumponly::DumpOnly> {
        self.dump.as_ref()
    }

    /// The dump-only source, mutable (adding modules at open time).
    pub fn dump_only_mut(&mut self) -> Option<&mut dumponly::DumpOnly> {
        self.types
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.members
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.dump.as_mut()
    }

    /// Whether source lines, inline frames, locals and CFI are available (a vmlinux with
    /// DWARF), as opposed to the dump-only source.
    pub fn has_dwarf(&self) -> bool {
        self.dump.is_none()
    }

    /// Use (`Some(dir)`) or stop using (`None`) an on-disk cache of the vmlinux name index in
    /// `dir`, loading it now if there is a valid one for this vmlinux. Whether one was loaded.
    pub fn use_index_cache(&mut self, dir: Option<PathBuf>) -> bool {
        if self.images.is_empty() {
            return false;
        }
        self.cache_dir = dir;
        match &self.cache_dir {
            Some(d) => self.images[0].load_index_cache(d),
            None => false,
        }
    }

    /// Save what the vmlinux name index learned in this run to the index cache, when one is
    /// in use and the index grew. The file written, if any. Failures only cost speed; callers
    /// may ignore them.
    pub fn save_index_cache(&self) -> Result<Option<PathBuf>, DebugError> {
        let (Some(dir), false) = (&self.cache_dir, self.images.is_empty()) else {
            return Ok(None);
        };
        self.images[0]
            .save_index_cache(dir)
            .map_err(|source| DebugError::Io {
                path: dir.clone(),
                source,
            })
    }

    /// Add a module's `.ko` (debug) file. Its `ET_REL` relocations are applied to the debug
    /// sections with the allocated sections placed at `section_bases` (section name → runtime
    /// address, as in `/sys/module/<name>/sections/`). Sections not listed stay unplaced.
    pub fn add_module(
        &mut self,
        name: &str,
        path: &Path,
        section_bases: &HashMap<String, u64>,
    ) -> Result<(), DebugError> {
        if self.dump.is_some() {
            return Err(DebugError::Elf {
                path: path.to_owned(),
                msg: "module debug files need the vmlinux's DWARF; the dump-only source \
                      reads modules from memory"
                    .into(),
            });
        }
        if self
            .images
            .iter()
            .any(|i| i.module.as_deref() == Some(name))
        {
            return Err(DebugError::DuplicateModule(name.to_owned()));
        }
        let img = Image::open(path, Some(name), section_bases)?;
        self.images.push(img);
        self.names = OnceLock::new();
        Ok(())
    }

    /// What a module debug file says it is, without loading it: the module name from its
    /// `.modinfo` (`name=`) or `.gnu.linkonce.this_module`, and its `NT_GNU_BUILD_ID`.
    /// Compressed files (`.ko.xz`, `.ko.zst`, `.ko.gz`) are read decompressed.
    pub fn ko_identity(path: &Path) -> Result<(Option<String>, Option<Vec<u8>>), DebugError> {
        let data = elfid::read_module(path).map_err(|msg| DebugError::Elf {
            path: path.to_owned(),
            msg,
        })?;
        let id = elfid::ko_identity(&data).map_err(|msg| DebugError::Elf {
            path: path.to_owned(),
            msg,
        })?;
        Ok((id.name, id.build_id))
    }

    /// Module debug files whose DWARF could not be loaded when it was first needed (they
    /// are loaded lazily, so this is known only after the work that needed them).
    pub fn dwarf_problems(&self) -> Vec<String> {
        self.images
            .iter()
            .filter_map(|i| {
                let e = i.dwarf_error()?;
                Some(format!(
                    "module {}: {}: {e}",
                    i.module.as_deref().unwrap_or("vmlinux"),
                    i.path.display()
                ))
            })
            .collect()
    }

    /// Names of the loaded modules, in order.
    pub fn modules(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        if let Some(d) = &self.dump {
            return Box::new(d.modules());
        }
        Box::new(self.images.iter().filter_map(|i| i.module.as_deref()))
    }

    /// The vmlinux `NT_GNU_BUILD_ID` (`None` for the dump-only source).
    pub fn build_id(&self) -> Option<&[u8]> {
        self.images.first()?.build_id.as_deref()
    }

    /// Each loaded image (vmlinux first, then modules): its build-id and the compilation
    /// directory of its first unit, the prefix of the absolute source paths a debuginfod
    /// server serves its sources by. Empty for the dump-only source.
    pub fn source_origins(&self) -> Vec<(Option<Vec<u8>>, Option<String>)> {
        self.images
            .iter()
            .map(|img| {
                let dir = img
                    .unit(0)
                    .ok()
                    .and_then(|u| u.comp_dir)
                    .map(|d| String::from_utf8_lossy(d.slice()).into_owned());
                (img.build_id.clone(), dir)
            })
            .collect()
    }

    /// The `linux_banner` string as stored in the vmlinux's `.rodata` (`None` for the
    /// dump-only source: there is no file to compare the dump with).
    pub fn linux_banner(&self) -> Option<String> {
        let img = self.images.first()?;
        let sym = img.symbols().raw_by_name("linux_banner")?;
        let len = if sym.size > 0 { sym.size } else { 1024 };
        let bytes = img.bytes_at(sym.addr, len)?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }

    /// An ELF symbol by name (vmlinux first, then modules in order).
    pub fn symbol(&self, name: &str) -> Option<Symbol> {
        if let Some(d) = &self.dump {
            return d.symbol(name);
        }
        self.images.iter().find_map(|i| i.symbols().by_name(name))
    }

    /// The function or object symbol at or before `addr`, and `addr`'s offset from it. Only
    /// addresses inside a loaded section of some image are symbolized.
    pub fn symbolize(&self, addr: u64) -> Option<(Symbol, u64)> {
        if let Some(d) = &self.dump {
            return d.symbolize(addr);
        }
        let img = self.images.iter().find(|i| i.contains(addr))?;
        let s = img.symbols().preceding(addr)?;
        let off = addr - s.addr;
        Some((s, off))
    }

    /// Every symbol of every image. The dump-only source gives a global listed in its
    /// table of types the size of that type (kallsyms has no sizes).
    pub fn symbols(&self) -> Box<dyn Iterator<Item = Symbol> + '_> {
        if let Some(d) = &self.dump {
            return Box::new(d.symbols().map(move |mut s| {
                if s.module.is_none()
                    && let Some(c) = dumponly::globals::type_of(&s.name)
                    && let Some(n) = d.spelled_type(c).ok().and_then(|t| self.sizeof(t))
                {
                    s.size = n;
                }
                s
            }));
        }
        Box::new(self.images.iter().flat_map(|i| i.symbols().iter()))
    }

    /// A type by C name: `struct task_struct`, `union foo`, `enum bar`, a typedef
    /// (`atomic_long_t`) or a base type (`unsigned long`). A complete definition is preferred;
    /// a declaration is returned only when no unit defines the type.
    pub fn find_type(&self, name: &str) -> Result<TypeId, DebugError> {
        if let Some(d) = &self.dump {
            return d.find_type(name);
        }
        let (ns, bare) = names::parse_type_name(name);
        let key: &[u8] = bare.as_bytes();
        let mut fallback = None;
        for (i, img) in self.images.iter().enumerate() {
            let slot = img.lookup(name, |idx, complete| {
                let s = idx.types.get(&(ns, key))?;
                match (s.def, complete) {
                    (Some(_), _) | (None, true) => Some(*s),
                    _ => None,
                }
            })?;
            if let Some(s) = slot {
                if let Some(d) = s.def {
                    return TypeId::new(i, d, 0).ok_or(DebugError::TypeNotFound(name.to_owned()));
                }
                if fallback.is_none() {
                    fallback = s.decl.and_then(|d| TypeId::new(i, d, 0));
                }
            }
        }
        fallback.ok_or_else(|| DebugError::TypeNotFound(name.to_owned()))
    }

    /// The type `id` names (cached).
    pub fn ty(&self, id: TypeId) -> Result<Arc<Type>, DebugError> {
        static VOID: OnceLock<Arc<Type>> = OnceLock::new();
        if id == TypeId::VOID {
            return Ok(VOID.get_or_init(|| Arc::new(Type::void())).clone());
        }
        if let Some(t) = self
            .types
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(t.clone());
        }
        let t = match &self.dump {
            Some(d) => Arc::new(d.load_type(id)?),
            None => {
                let img = self
                    .images
                    .get(id.image())
                    .ok_or(DebugError::BadTypeId(id.raw()))?;
                Arc::new(img.load_type(id.image(), id)?)
            }
        };
        self.types
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, t.clone());
        Ok(t)
    }

    /// Drop typedefs and qualifiers (const, volatile, restrict, _Atomic).
    pub fn strip(&self, id: TypeId) -> TypeId {
        let mut id = id;
        for _ in 0..64 {
            let Ok(t) = self.ty(id) else { return id };
            match t.kind {
                TypeKind::Typedef
                | TypeKind::Const
                | TypeKind::Volatile
                | TypeKind::Restrict
                | TypeKind::Atomic => match t.target {
                    Some(next) => id = next,
                    None => return id,
                },
                _ => return id,
            }
        }
        id
    }

    /// Size in bytes, through typedefs, qualifiers and arrays. `None` for void, functions,
    /// declarations and flexible arrays.
    pub fn sizeof(&self, id: TypeId) -> Option<u64> {
        let mut id = id;
        let mut factor = 1u64;
        for _ in 0..64 {
            let t = self.ty(self.strip(id)).ok()?;
            match t.kind {
                TypeKind::Array => {
                    factor = factor.checked_mul(t.count?)?;
                    id = t.target?;
                }
                TypeKind::Void | TypeKind::Function => return None,
                _ if t.declaration => return None,
                _ => return t.size?.checked_mul(factor),
            }
        }
        None
    }

    /// A global or static variable (including per-CPU variables). When the ELF symbol table
    /// has the name, the DWARF definition at the symbol's address is preferred.
    pub fn find_variable(&self, name: &str) -> Result<Variable, DebugError> {
        if let Some(d) = &self.dump {
            return d.find_variable(name);
        }
        // Compiler-made symbols (`CSWTCH.102`, `__func__.3`, `foo.isra.0`) name no DWARF
        // variable under that spelling; asking the index would scan every unit.
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(DebugError::VariableNotFound(name.to_owned()));
        }
        for img in &self.images {
            // A global is unique: take it without reading the symbol table. A static may
            // repeat across units: prefer the one the ELF symbol table names.
            let mut want = None;
            let found = img.lookup(name, |idx, complete| {
                let v = idx.vars.get(name.as_bytes())?;
                if let Some(e) = v.iter().find(|e| e.external) {
                    return Some(*e);
                }
                let want =
                    *want.get_or_insert_with(|| img.symbols().raw_by_name(name).map(|s| s.addr));
                match want.and_then(|a| v.iter().find(|e| e.addr == a)) {
                    Some(e) => Some(*e),
                    None if complete || want.is_none() => v.first().copied(),
                    None => None,
                }
            })?;
            if let Some(e) = found {
                let i = self.image_index(img);
                let ty = img.var_type(i, e.die)?;
                let percpu = img
                    .percpu()
                    .is_some_and(|(s, end)| e.addr >= s && e.addr < end);
                return Ok(Variable {
                    name: name.to_owned(),
                    addr: e.addr,
                    ty,
                    percpu,
                });
            }
        }
        self.find_declared_variable(name)
    }

    /// An enumerator's value and its enum type.
    pub fn find_enumerator(&self, name: &str) -> Option<(i64, TypeId)> {
        if let Some(d) = &self.dump {
            return d.find_enumerator(name);
        }
        for (i, img) in self.images.iter().enumerate() {
            let e = img
                .lookup(name, |idx, _| idx.enumerators.get(name.as_bytes()).copied())
                .ok()
                .flatten();
            if let Some(e) = e {
                return Some((e.value, TypeId::new(i, e.enum_die, 0)?));
            }
        }
        None
    }

    /// A function with code: its range and declaration. When the ELF symbol table has the
    /// name, the definition at the symbol's address is preferred.
    pub fn find_function(&self, name: &str) -> Option<FunctionInfo> {
        if let Some(d) = &self.dump {
            return d.find_function(name);
        }
        for img in &self.images {
            let want = img.symbols().raw_by_name(name).map(|s| s.addr);
            let e = img
                .lookup(name, |idx, complete| {
                    let v = idx.funcs.get(name.as_bytes())?;
                    match want.and_then(|a| v.iter().find(|e| e.low_pc == a)) {
                        Some(e) => Some(*e),
                        None if complete || want.is_none() => v.first().copied(),
                        None => None,
                    }
                })
                .ok()
                .flatten();
            if let Some(e) = e {
                let (decl_file, decl_line) = img.decl_of(e.die);
                return Some(FunctionInfo {
                    name: name.to_owned(),
                    low_pc: e.low_pc,
                    high_pc: e.high_pc,
                    decl_file,
                    decl_line,
                });
            }
        }
        None
    }

    /// Source frames at `addr`, innermost (inlined) first, the containing function last.
    /// Empty for the dump-only source.
    pub fn lines(&self, addr: u64) -> Vec<LineFrame> {
        let Some(first) = self.images.first() else {
            return Vec::new();
        };
        let img = self
            .images
            .iter()
            .find(|i| i.contains(addr))
            .unwrap_or(first);
        img.frames(addr)
    }

    /// [`Self::lines`] through one `addr2line` context over the whole file: the reference the
    /// per-unit contexts are tested against (slow to set up; not for normal use).
    #[doc(hidden)]
    pub fn lines_whole_file(&self, addr: u64) -> Vec<LineFrame> {
        let Some(first) = self.images.first() else {
            return Vec::new();
        };
        let img = self
            .images
            .iter()
            .find(|i| i.contains(addr))
            .unwrap_or(first);
        img.frames_whole_file(addr)
    }

    /// Raw bytes of a vmlinux section (`.orc_unwind`, `.orc_unwind_ip`, `.eh_frame`,
    /// `.debug_frame`, ...).
    pub fn section(&self, name: &str) -> Option<&[u8]> {
        if let Some(d) = &self.dump {
            return d.section(name);
        }
        self.images
            .first()?
            .sections
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.data)
    }

    /// Link-time address of a loaded vmlinux section.
    pub fn section_addr(&self, name: &str) -> Option<u64> {
        if let Some(d) = &self.dump {
            return d.section_addr(name);
        }
        self.images
            .first()?
            .sections
            .iter()
            .find(|s| s.name == name && s.alloc)
            .map(|s| s.addr)
    }

    /// Every named type (`struct x`, `union x`, `enum x`, typedefs, base types), variable and
    /// function, sorted, for a fuzzy finder. Forces a full index of every image (once).
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.names
            .get_or_init(|| {
                if let Some(d) = &self.dump {
                    return d.type_names();
                }
                let mut v = Vec::new();
                for img in &self.images {
                    let Ok(idx) = img.index_all() else { continue };
                    for (ns, n) in idx.types.keys() {
                        let n = String::from_utf8_lossy(n);
                        v.push(match ns {
                            Ns::Struct => format!("struct {n}"),
                            Ns::Union => format!("union {n}"),
                            Ns::Enum => format!("enum {n}"),
                            Ns::Ordinary => n.into_owned(),
                        });
                    }
                    for n in idx.vars.keys().chain(idx.funcs.keys()) {
                        v.push(String::from_utf8_lossy(n).into_owned());
                    }
                }
                v.sort_unstable();
                v.dedup();
                v
            })
            .iter()
            .map(String::as_str)
    }

    fn image_index(&self, img: &Image) -> usize {
        self.images
            .iter()
            .position(|i| std::ptr::eq(i, img))
            .unwrap_or(0)
    }
}

impl DebugInfo {
    /// How far the vmlinux name index has got: (units scanned, units in total).
    pub fn index_progress(&self) -> (usize, usize) {
        let Some(img) = self.images.first() else {
            return (0, 0);
        };
        let total = img.units().map(|u| u.len()).unwrap_or(0);
        let idx = img.index.lock().unwrap_or_else(|p| p.into_inner());
        (idx.next_unit, total)
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<DebugInfo>();
}

#[cfg(test)]
mod tests;
