//! The dump-only source: symbols, types and variables from what the kernel keeps in its own
//! memory, for when no vmlinux with DWARF is at hand.
//!
//! - symbols: kallsyms decoded through VMCOREINFO ([`kallsyms`]), plus VMCOREINFO's own
//!   `SYMBOL()` lines for names kallsyms lacks (kernels without `CONFIG_KALLSYMS_ALL`), plus
//!   each module's `mod->kallsyms` (added by the kernel layer, [`DumpOnly::add_module`]);
//! - types: the vmlinux BTF between `__start_BTF` and `__stop_BTF` and each module's BTF
//!   ([`btf`]), turned into the same [`Type`] model the DWARF source builds (`types.rs`);
//! - variables: per-CPU ones from BTF's `.data..percpu` `DATASEC`; the globals quiesce
//!   reads from [`globals`], the one table of their C types;
//! - sections: the ORC tables (`__start_orc_unwind_ip` …) and `.orc_header`, read from
//!   memory on first use.
//!
//! Addresses follow the DWARF source's convention so the kernel layer does not change:
//! vmlinux symbols are link-time addresses (kallsyms gives runtime addresses; the KASLR
//! offset is taken off), per-CPU symbols are offsets into the per-CPU area where the
//! kernel links that section at 0, module symbols are runtime addresses.
//!
//! Memory is read through [`MemRead`], which the kernel layer implements over
//! `translate::KernelMem`: `debuginfo` never depends on how the dump is read.

pub mod btf;
pub mod globals;
pub mod kallsyms;
mod types;

use super::hash::FxMap;
use super::index::Ns;
use super::names::parse_type_name;
use super::{
    BaseEncoding, DebugError, FunctionInfo, Member, SymKind, Symbol, Type, TypeId, TypeKind,
    Variable,
};
use btf::{Btf, Raw, Sorted};
use std::sync::{Arc, OnceLock, RwLock};

/// Reading kernel virtual memory, for the sources that live in the dump.
pub trait MemRead: Send + Sync {
    /// Read `buf.len()` bytes at kernel virtual address `addr`; the error says why not.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String>;
}

/// The `image` part of [`TypeId`]s made here rather than read from BTF (pointers and arrays
/// that the globals table spells).
const SYNTH: usize = 0xfff0;

/// What the dump-only source is built from.
pub struct DumpOnlyInputs {
    pub kallsyms: kallsyms::KallsymsAddrs,
    /// VMCOREINFO's `SYMBOL(name)=addr` lines (runtime addresses).
    pub vmcoreinfo_symbols: Vec<(String, u64)>,
    /// The KASLR slide (VMCOREINFO `KERNELOFFSET`).
    pub kaslr_offset: u64,
}

/// One symbol as stored.
#[derive(Clone, Copy)]
struct Sym {
    name_off: u32,
    name_len: u16,
    /// 0: vmlinux; i + 1: `modules[i]`.
    module: u16,
    kind: SymKind,
    global: bool,
    /// Symbolizes addresses (not the absolute per-CPU values).
    searchable: bool,
    /// An absolute value (per-CPU offset), not an address in the image.
    absolute: bool,
    addr: u64,
    size: u64,
}

impl Sym {
    /// A vmlinux data object not from kallsyms (VMCOREINFO's `SYMBOL()`, or found in
    /// memory), at link address `addr`.
    fn object(addr: u64, size: u64, searchable: bool) -> Sym {
        Sym {
            name_off: 0,
            name_len: 0,
            module: 0,
            kind: SymKind::Object,
            global: true,
            searchable,
            absolute: false,
            addr,
            size,
        }
    }
}

struct Syms {
    names: String,
    syms: Vec<Sym>,
    /// FxHash of the name → first index (a global beats a local); `collide` holds names
    /// whose hash another name already took.
    by_hash: FxMap<u64, u32>,
    collide: FxMap<String, u32>,
    by_addr: Vec<u32>,
}

fn name_hash(s: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<super::hash::FxHasher>::default().hash_one(s)
}

impl Syms {
    fn new() -> Syms {
        Syms {
            names: String::new(),
            syms: Vec::new(),
            by_hash: FxMap::default(),
            collide: FxMap::default(),
            by_addr: Vec::new(),
        }
    }

    fn name(&self, s: &Sym) -> &str {
        let a = s.name_off as usize;
        self.names.get(a..a + s.name_len as usize).unwrap_or("")
    }

    fn push(&mut self, name: &str, s: Sym) {
        let name_off = self.names.len() as u32;
        self.names.push_str(name);
        self.syms.push(Sym {
            name_off,
            name_len: name.len().min(u16::MAX as usize) as u16,
            ..s
        });
    }

    /// Build the name and address indexes (after all pushes), and give every searchable
    /// symbol without a size the distance to the next higher address (kallsyms' own
    /// `kallsyms_lookup_size_offset()` rule).
    fn finish(&mut self) {
        self.by_hash = FxMap::default();
        self.by_hash.reserve(self.syms.len());
        self.collide = FxMap::default();
        for i in 0..self.syms.len() {
            let s = self.syms[i];
            let name = self.name(&s);
            let h = name_hash(name);
            match self.by_hash.get(&h) {
                None => {
                    self.by_hash.insert(h, i as u32);
                }
                Some(&j) => {
                    let other = self.syms[j as usize];
                    if self.name(&other) == name {
                        if s.global && !other.global && s.module == other.module {
                            self.by_hash.insert(h, i as u32);
                        }
                    } else {
                        let n = name.to_owned();
                        match self.collide.get(&n) {
                            Some(&k) if !s.global || self.syms[k as usize].global => {}
                            _ => {
                                self.collide.insert(n, i as u32);
                            }
                        }
                    }
                }
            }
        }
        let mut by_addr: Vec<u32> = (0..self.syms.len() as u32)
            .filter(|&i| self.syms[i as usize].searchable)
            .collect();
        // At one address the larger symbol first (as the ELF symbol table is searched:
        // a module's `qh_stuck_work` before the empty `__stop_alloc_tags` beside it), else
        // the kernel's order (stable: scripts/kallsyms sorts vmlinux aliases non-weak
        // first, then by fewer leading underscores).
        by_addr.sort_by_key(|&i| {
            let s = &self.syms[i as usize];
            (s.addr, std::cmp::Reverse(s.size))
        });
        for w in 0..by_addr.len() {
            let i = by_addr[w] as usize;
            if self.syms[i].size != 0 {
                continue;
            }
            let a = self.syms[i].addr;
            let m = self.syms[i].module;
            let next = by_addr[w + 1..]
                .iter()
                .map(|&j| &self.syms[j as usize])
                .find(|s| s.addr > a && s.module == m)
                .map(|s| s.addr);
            if let Some(n) = next {
                self.syms[i].size = n - a;
            }
        }
        self.by_addr = by_addr;
    }

    fn by_name(&self, name: &str) -> Option<&Sym> {
        if let Some(&i) = self.collide.get(name) {
            return self.syms.get(i as usize);
        }
        let &i = self.by_hash.get(&name_hash(name))?;
        let s = self.syms.get(i as usize)?;
        (self.name(s) == name).then_some(s)
    }

    fn preceding(&self, addr: u64) -> Option<&Sym> {
        let n = self
            .by_addr
            .partition_point(|&i| self.syms[i as usize].addr <= addr);
        if n == 0 {
            return None;
        }
        let at = self.syms[self.by_addr[n - 1] as usize].addr;
        let first = self.by_addr[..n].partition_point(|&i| self.syms[i as usize].addr < at);
        self.syms.get(self.by_addr[first] as usize)
    }
}

/// kallsyms' type letter → kind and binding.
fn kind_of(ty: u8) -> (SymKind, bool) {
    let kind = match ty.to_ascii_lowercase() {
        b't' | b'w' => SymKind::Func,
        b'd' | b'b' | b'r' | b'v' | b'g' | b's' => SymKind::Object,
        _ => SymKind::Other,
    };
    (kind, ty.is_ascii_uppercase())
}

/// One blob's lazily built name indexes.
#[derive(Default)]
struct BlobIndex {
    types: OnceLock<Sorted<u32>>,
    enumerators: OnceLock<Sorted<(i64, u32)>>,
    percpu: OnceLock<Sorted<(u32, u32, u32)>>,
}

/// The dump-only source. Built by the kernel layer at open time.
pub struct DumpOnly {
    mem: Arc<dyn MemRead>,
    kaslr: u64,
    syms: Syms,
    /// The vmlinux image's link range, `[_text, _end)`: only addresses inside it are
    /// symbolized to vmlinux symbols.
    image: Option<(u64, u64)>,
    /// Loaded modules' names, by `Sym::module - 1`.
    modules: Vec<String>,
    /// `[0]`: the vmlinux BTF (when it could be read); then modules' BTF.
    btfs: Vec<Btf>,
    /// The module each BTF blob belongs to (`None`: vmlinux).
    btf_owner: Vec<Option<String>>,
    /// Per-blob name indexes, each built on its first use.
    index: Vec<BlobIndex>,
    synth: RwLock<Vec<(String, Type)>>,
    sections: [OnceLock<Option<Vec<u8>>>; 3],
    /// What could not be read or was damaged, for the kernel's warnings.
    pub notes: Vec<String>,
    /// How kallsyms addresses were encoded.
    pub kallsyms_scheme: &'static str,
}

/// The vmlinux BTF, between `__start_BTF` and `__stop_BTF` (runtime addresses); without
/// those symbols (kallsyms without `CONFIG_KALLSYMS_ALL`, e.g. Debian's arm64 cloud 6.1)
/// the header is searched for in `rodata` (`scan`: the kernel's read-only data between
/// `_etext` and `_sinittext`, where `RO_DATA()` places `.BTF`).
fn read_btf(
    mem: &dyn MemRead,
    range: Option<(Option<u64>, Option<u64>)>,
    scan: Option<(u64, u64)>,
) -> Result<Btf, String> {
    let Some((Some(a), Some(b))) = range else {
        let why = "kallsyms has no __start_BTF/__stop_BTF (a kernel without \
             CONFIG_DEBUG_INFO_BTF, or without CONFIG_KALLSYMS_ALL)";
        return match scan {
            Some((s, e)) => scan_btf(mem, s, e).map_err(|e| format!("{why}; {e}")),
            None => Err(why.into()),
        };
    };
    let len = b.saturating_sub(a);
    if len == 0 || len > btf::MAX_BTF_BYTES as u64 {
        return Err(format!(
            "__start_BTF..__stop_BTF is {len} bytes: implausible"
        ));
    }
    let mut data = vec![0u8; len as usize];
    mem.read(a, &mut data)
        .map_err(|e| format!("{len} bytes at {a:#x} unreadable: {e}"))?;
    Btf::parse(data, 1, 0)
}

/// The largest read-only data range searched for the BTF header.
const MAX_BTF_SCAN: u64 = 128 << 20;

/// Find the vmlinux BTF in `[start, end)` by its header: magic 0xeb9f, version 1, flags
/// 0, `hdr_len` 24, type section first (`type_off` 0) and strings right after it, as
/// pahole writes it; the first candidate that parses is taken.
fn scan_btf(mem: &dyn MemRead, start: u64, end: u64) -> Result<Btf, String> {
    const HEAD: [u8; 8] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
    let len = end.saturating_sub(start);
    if len == 0 || len > MAX_BTF_SCAN {
        return Err(format!(
            "no BTF header searched: read-only data range {start:#x}..{end:#x} implausible"
        ));
    }
    const CHUNK: u64 = 1 << 20;
    let mut at = start;
    while at < end {
        let n = CHUNK.min(end - at) as usize;
        let mut buf = vec![0u8; n + HEAD.len() + 16];
        let got = mem.read(at, &mut buf).is_ok() || {
            buf.truncate(n);
            mem.read(at, &mut buf).is_ok()
        };
        if got {
            for i in 0..n {
                if buf.len() < i + 24 || buf[i..i + 8] != HEAD {
                    continue;
                }
                let w = |o: usize| u32::from_le_bytes(buf[i + o..i + o + 4].try_into().unwrap());
                let (type_off, type_len, str_off, str_len) = (w(8), w(12), w(16), w(20));
                let total = 24u64 + str_off as u64 + str_len as u64;
                if type_off != 0
                    || str_off != type_len
                    || total > btf::MAX_BTF_BYTES as u64
                    || type_len == 0
                {
                    continue;
                }
                let here = at + i as u64;
                let mut data = vec![0u8; total as usize];
                if mem.read(here, &mut data).is_ok()
                    && let Ok(b) = Btf::parse(data, 1, 0)
                {
                    return Ok(b);
                }
            }
        }
        at += n as u64;
    }
    Err(format!(
        "no BTF header found in the read-only data {start:#x}..{end:#x}"
    ))
}

/// The sections the dump-only source serves from memory: (section, start, stop symbol).
const SECTIONS: [(&str, &str, &str); 3] = [
    (
        ".orc_unwind_ip",
        "__start_orc_unwind_ip",
        "__stop_orc_unwind_ip",
    ),
    (".orc_unwind", "__start_orc_unwind", "__stop_orc_unwind"),
    (".orc_header", "__start_orc_header", "__stop_orc_header"),
];

/// At most this much ORC (a 7.x kernel has ~4 MB of it).
const MAX_SECTION: u64 = 64 << 20;

impl DumpOnly {
    /// Decode kallsyms and read the vmlinux BTF. Fails only when no symbols at all can be
    /// had; a missing or damaged BTF leaves a source with symbols and no types (noted).
    pub fn open(mem: Arc<dyn MemRead>, inputs: DumpOnlyInputs) -> Result<DumpOnly, String> {
        let kaslr = inputs.kaslr_offset;
        let mut notes = Vec::new();
        let ks = kallsyms::read(mem.as_ref(), &inputs.kallsyms);
        crate::timing::lap("kallsyms decoded");
        // The BTF is located through kallsyms; read and index it while the symbol table
        // is built.
        let btf_range = ks.as_ref().ok().map(|ks| {
            let at = |n: &str| ks.syms.iter().find(|s| ks.name(s) == n).map(|s| s.addr);
            (at("__start_BTF"), at("__stop_BTF"))
        });
        let rodata = ks.as_ref().ok().and_then(|ks| {
            let at = |n: &str| ks.syms.iter().find(|s| ks.name(s) == n).map(|s| s.addr);
            Some((at("_etext")?, at("_sinittext")?))
        });
        let (built, btf) = rayon::join(
            || Self::build_syms(ks, &inputs, &mut notes),
            || -> Result<(Btf, Sorted<u32>), String> {
                let b = read_btf(mem.as_ref(), btf_range, rodata)?;
                let idx = btf::index_types(&b, &|o| b.own_str(o));
                Ok((b, idx))
            },
        );
        crate::timing::lap("symbols indexed, BTF read");
        let (syms, scheme) = built?;
        let mut src = DumpOnly {
            mem,
            kaslr,
            image: None,
            syms,
            modules: Vec::new(),
            btfs: Vec::new(),
            btf_owner: Vec::new(),
            index: Vec::new(),
            synth: RwLock::default(),
            sections: Default::default(),
            notes,
            kallsyms_scheme: scheme,
        };
        src.image = match (src.syms.by_name("_text"), src.syms.by_name("_end")) {
            (Some(a), Some(b)) if a.addr < b.addr => Some((a.addr, b.addr)),
            _ => {
                let v = src
                    .syms
                    .syms
                    .iter()
                    .filter(|s| s.searchable && s.module == 0);
                let lo = v.clone().map(|s| s.addr).min();
                let hi = v.map(|s| s.addr + s.size.max(1)).max();
                lo.zip(hi)
            }
        };
        match btf {
            Ok((b, idx)) => {
                src.btfs.push(b);
                src.btf_owner.push(None);
                let bi = BlobIndex::default();
                let _ = bi.types.set(idx);
                src.index.push(bi);
            }
            Err(e) => src.notes.push(format!("vmlinux BTF: {e}: no types")),
        }
        Ok(src)
    }

    /// The symbol table from kallsyms and VMCOREINFO.
    fn build_syms(
        ks: Result<kallsyms::Kallsyms, String>,
        inputs: &DumpOnlyInputs,
        notes: &mut Vec<String>,
    ) -> Result<(Syms, &'static str), String> {
        let kaslr = inputs.kaslr_offset;
        let mut syms = Syms::new();
        let mut scheme = "none";
        match ks {
            Ok(ks) => {
                scheme = ks.scheme;
                syms.names.reserve(ks.names.len() + 4096);
                syms.syms.reserve(ks.syms.len() + 64);
                for s in &ks.syms {
                    let (kind, global) = kind_of(s.ty);
                    let addr = if s.absolute {
                        s.addr
                    } else {
                        s.addr.wrapping_sub(kaslr)
                    };
                    syms.push(
                        ks.name(s),
                        Sym {
                            name_off: 0,
                            name_len: 0,
                            module: 0,
                            kind,
                            global,
                            searchable: !s.absolute && kind != SymKind::Other,
                            absolute: s.absolute,
                            addr,
                            size: 0,
                        },
                    );
                }
            }
            Err(e) => notes.push(format!("kallsyms: {e}")),
        }
        let from_kallsyms = syms.syms.len();
        syms.finish();
        // `nm` letters follow the section's flags, and some kernels link `.data` executable
        // (Debian's 7.x: `.data` is WAX, so `init_uts_ns` is `T`): a "text" symbol outside
        // the kernel's text ranges is data, as the ELF symbol type (STT_OBJECT) says.
        let text: Vec<(u64, u64)> = [("_stext", "_etext"), ("_sinittext", "_einittext")]
            .iter()
            .filter_map(|(a, b)| Some((syms.by_name(a)?.addr, syms.by_name(b)?.addr)))
            .collect();
        if !text.is_empty() {
            for s in syms.syms.iter_mut() {
                if s.kind == SymKind::Func && !text.iter().any(|&(a, b)| s.addr >= a && s.addr < b)
                {
                    s.kind = SymKind::Object;
                }
            }
        }
        // VMCOREINFO's SYMBOL() lines fill in what kallsyms lacks (all of it when kallsyms
        // is unreadable; the data symbols of a kernel without CONFIG_KALLSYMS_ALL). Only
        // addresses in the kernel image are symbols: `SYMBOL(mem_section)` and
        // `SYMBOL(vmemmap)` are values.
        let image_start = inputs.kallsyms.stext.unwrap_or(u64::MAX);
        let mut added = 0;
        for (name, addr) in &inputs.vmcoreinfo_symbols {
            if *addr < image_start || syms.by_name(name).is_some() {
                continue;
            }
            syms.push(
                name,
                Sym::object(addr.wrapping_sub(kaslr), 0, from_kallsyms == 0),
            );
            added += 1;
        }
        if added > 0 {
            syms.finish();
        }
        if syms.syms.is_empty() {
            return Err(notes.join("; "));
        }
        Ok((syms, scheme))
    }

    /// Runtime address of a vmlinux symbol (link address + KASLR; absolute values as they are).
    fn runtime(&self, name: &str) -> Option<u64> {
        let s = self.syms.by_name(name)?;
        Some(if s.module != 0 || s.absolute {
            s.addr
        } else {
            s.addr.wrapping_add(self.kaslr)
        })
    }

    /// Whether the vmlinux BTF was read: without it there are no types.
    pub fn has_types(&self) -> bool {
        self.btf_owner.first().is_some_and(Option::is_none)
    }

    /// Bytes of BTF held (vmlinux and modules).
    pub fn btf_bytes(&self) -> usize {
        self.btfs.iter().map(Btf::len).sum()
    }

    /// The modules whose BTF was added.
    pub fn modules_with_btf(&self) -> impl Iterator<Item = &str> {
        self.btf_owner.iter().filter_map(|o| o.as_deref())
    }

    /// How many symbols (vmlinux and modules).
    pub fn symbol_count(&self) -> usize {
        self.syms.syms.len()
    }

    /// The vmlinux BTF's type count and string size: what a module's split BTF continues.
    pub fn base_btf_ends(&self) -> Option<(u32, u32)> {
        self.has_types()
            .then(|| (self.btfs[0].end_id(), self.btfs[0].str_len()))
    }

    /// Add a loaded module: its symbols from `mod->kallsyms` (runtime addresses) and, when
    /// it has one, its split BTF (`start_id`/`start_str`: where it continues the vmlinux
    /// BTF). A damaged BTF is noted and left out.
    pub fn add_module(
        &mut self,
        name: &str,
        symbols: &[(String, u64, u64, u8)],
        btf: Option<(Vec<u8>, u32, u32)>,
    ) {
        if self.modules.iter().any(|m| m == name) || self.modules.len() >= u16::MAX as usize - 1 {
            return;
        }
        self.modules.push(name.to_owned());
        let m = self.modules.len() as u16;
        for (n, addr, size, ty) in symbols {
            if n.is_empty() || *addr == 0 {
                continue;
            }
            let (kind, global) = kind_of(*ty);
            self.syms.push(
                n,
                Sym {
                    name_off: 0,
                    name_len: 0,
                    module: m,
                    kind,
                    global,
                    searchable: kind != SymKind::Other,
                    absolute: false,
                    addr: *addr,
                    size: *size,
                },
            );
        }
        if let Some((data, start_id, start_str)) = btf {
            match (self.has_types(), Btf::parse(data, start_id, start_str)) {
                (true, Ok(b)) if b.start_id == self.btfs[0].end_id() => {
                    self.btfs.push(b);
                    self.btf_owner.push(Some(name.to_owned()));
                    self.index.push(BlobIndex::default());
                }
                (true, Ok(b)) => self.notes.push(format!(
                    "module {name}: BTF starts at type {} but the vmlinux BTF ends at {}: not used",
                    b.start_id,
                    self.btfs[0].end_id()
                )),
                (false, _) => {}
                (_, Err(e)) => self.notes.push(format!("module {name}: BTF: {e}")),
            }
        }
    }

    /// A vmlinux global that kallsyms does not list, found in memory by the kernel layer
    /// (`kernel::unlisted`): `link` is its link-time address, `size` its object's size.
    /// A name already known is left as it is.
    pub fn add_found_global(&mut self, name: &str, link: u64, size: u64) {
        if self.syms.by_name(name).is_some() {
            return;
        }
        self.syms.push(name, Sym::object(link, size, size > 0));
        self.syms.finish();
    }

    /// Rebuild the symbol indexes after modules were added.
    pub fn finish_modules(&mut self) {
        self.syms.finish();
    }

    /// Loaded module names.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.modules.iter().map(String::as_str)
    }

    fn symbol_of(&self, s: &Sym) -> Symbol {
        Symbol {
            name: self.syms.name(s).to_owned(),
            addr: s.addr,
            size: s.size,
            kind: s.kind,
            module: (s.module > 0).then(|| self.modules[s.module as usize - 1].clone()),
        }
    }

    pub fn symbol(&self, name: &str) -> Option<Symbol> {
        self.syms.by_name(name).map(|s| self.symbol_of(s))
    }

    /// The vmlinux image's link-time span: `_text`..`_end`, or where kallsyms lacks them
    /// the span of the vmlinux symbols it has.
    pub fn image(&self) -> Option<(u64, u64)> {
        self.image
    }

    pub fn symbolize(&self, addr: u64) -> Option<(Symbol, u64)> {
        let s = self.syms.preceding(addr)?;
        // vmlinux: anywhere in the image, as the ELF symbol table does; modules: within the
        // symbol (mod_kallsyms keeps st_size), since their sections are not all known.
        let inside = if s.module == 0 {
            self.image.is_some_and(|(a, b)| addr >= a && addr < b)
        } else {
            addr - s.addr < s.size.max(1)
        };
        inside.then(|| (self.symbol_of(s), addr - s.addr))
    }

    pub fn symbols(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.syms.syms.iter().map(|s| self.symbol_of(s))
    }

    /// The link address where `.data..percpu` starts (`__per_cpu_start`): 0 where the
    /// kernel links per-CPU data at 0 (x86_64 up to 6.14).
    fn percpu_start(&self) -> Option<u64> {
        self.syms.by_name("__per_cpu_start").map(|s| s.addr)
    }

    pub fn section_addr(&self, name: &str) -> Option<u64> {
        if name == ".data..percpu" {
            return self.percpu_start();
        }
        let (_, start, _) = SECTIONS.iter().find(|s| s.0 == name)?;
        self.syms.by_name(start).map(|s| s.addr)
    }

    pub fn section(&self, name: &str) -> Option<&[u8]> {
        let i = SECTIONS.iter().position(|s| s.0 == name)?;
        self.sections[i]
            .get_or_init(|| {
                let (_, a, b) = SECTIONS[i];
                let (a, b) = (self.runtime(a)?, self.runtime(b)?);
                let len = b.checked_sub(a).filter(|&l| l > 0 && l <= MAX_SECTION)?;
                let mut buf = vec![0u8; len as usize];
                self.mem.read(a, &mut buf).ok()?;
                Some(buf)
            })
            .as_deref()
    }

    /// Why a section could not be had from memory (for messages), when it could not.
    pub fn section_problem(&self, name: &str) -> Option<String> {
        if self.section(name).is_some() {
            return None;
        }
        let (_, a, b) = SECTIONS.iter().find(|s| s.0 == name)?;
        Some(match (self.runtime(a), self.runtime(b)) {
            (Some(x), Some(y)) => {
                format!("{name} [{x:#x}, {y:#x}) is unreadable in the dump or implausibly large")
            }
            _ => format!("kallsyms has no {a}/{b}"),
        })
    }
}

#[cfg(test)]
mod scan_tests {
    use super::btf::tests::Builder;
    use super::*;

    /// Kernel memory as one byte vector at `base`.
    struct Bytes(u64, Vec<u8>);
    impl MemRead for Bytes {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
            let off = addr.checked_sub(self.0).ok_or("below")? as usize;
            let src = self.1.get(off..off + buf.len()).ok_or("past the end")?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    #[test]
    fn btf_found_in_rodata_without_its_symbols() {
        let mut b = Builder::new();
        b.add("int", btf::KIND_INT, 0, false, 4, &[(1 << 24) | 32]);
        let blob = b.build();
        // Rodata: a decoy header whose lengths do not add up, then the real one.
        let mut ro = vec![0x5au8; 3000];
        ro[100..108].copy_from_slice(&blob[..8]);
        ro[1001..1001 + blob.len()].copy_from_slice(&blob);
        let base = 0xffff_8000_0900_0000;
        let end = base + ro.len() as u64;
        let mem = Bytes(base, ro);
        let got = read_btf(&mem, Some((None, None)), Some((base, end))).unwrap();
        assert_eq!(got.end_id(), 2);
        // Nothing there: the reason names both.
        let mem = Bytes(base, vec![0; 4096]);
        let e = read_btf(&mem, Some((None, None)), Some((base, base + 4096))).unwrap_err();
        assert!(
            e.contains("KALLSYMS_ALL") && e.contains("no BTF header"),
            "{e}"
        );
    }
}
