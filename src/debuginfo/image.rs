//! One loaded ELF file (the vmlinux or a module `.ko`): the mapping, its sections, its DWARF
//! sections (decompressed and, for `ET_REL` modules, relocated), and the lazily parsed units.

use super::DebugError;
use super::index::NameIndex;
use super::symbols::SymTable;
use gimli::{DebugInfoOffset, RunTimeEndian, Section, UnitOffset};
use memmap2::Mmap;
use object::{Object, ObjectSection, ObjectSymbol, RelocationKind, RelocationTarget, SectionIndex};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The gimli reader used everywhere: slices of the mapping (or of owned, relocated copies) that
/// live as long as the [`Image`] that holds them.
pub(crate) type R = gimli::EndianSlice<'static, RunTimeEndian>;

/// Where a unit is, with its lazily parsed [`gimli::Unit`].
pub(crate) struct UnitSlot {
    pub start: DebugInfoOffset<usize>,
    /// Length including the initial length field.
    pub len: usize,
    unit: OnceLock<Result<gimli::Unit<R>, gimli::Error>>,
    line_program: OnceLock<Option<gimli::IncompleteLineProgram<R>>>,
}

/// An allocated section of the ELF, at its link-time (vmlinux) or runtime (module) address.
pub(crate) struct PlacedSection {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub data: Option<&'static [u8]>,
    /// `SHF_ALLOC`: part of the loaded image (others, such as `.debug_frame`, have address 0).
    pub alloc: bool,
}

pub(crate) struct Image {
    pub path: PathBuf,
    /// `None` for the vmlinux.
    pub module: Option<String>,
    /// The DWARF sections, decompressed and (modules) relocated on first use: a module's
    /// relocated copies cost time and memory (117 modules: 1.3 s, 130 MB), and most
    /// commands never read a module's DWARF.
    dwarf: OnceLock<LoadedDwarf>,
    pub build_id: Option<Vec<u8>>,
    pub sections: Vec<PlacedSection>,
    /// `[start, end)` of the per-CPU area as link-time (vmlinux) or runtime (module) addresses.
    percpu: OnceLock<Option<(u64, u64)>>,
    symbols: OnceLock<SymTable>,
    pub(crate) obj: object::File<'static>,
    bases: HashMap<String, u64>,
    units: OnceLock<Result<Vec<UnitSlot>, gimli::Error>>,
    /// The file, for reading unit lengths without mapping the pages in between.
    file: std::fs::File,
    pub index: Mutex<NameIndex>,
    pub lines: OnceLock<Option<Mutex<addr2line::Context<R>>>>,
    pub aranges: OnceLock<super::lines::Aranges>,
    pub unit_lines: super::lines::UnitContexts,
    /// `.debug_frame` FDEs as sorted `(start, end, offset)`, built on first use.
    pub cfi_index: OnceLock<Vec<(u64, u64, usize)>>,
    /// Top-level extern variable declarations by name (`.debug_info` offsets), built by one
    /// pass on first need (see `decl.rs`).
    pub decls: OnceLock<HashMap<Vec<u8>, usize>>,
    // The data the `'static` slices above point into. Declared last so that it is dropped last;
    // nothing above reads through its slices while being dropped.
    _owned: Vec<Box<[u8]>>,
    /// The relocated or decompressed DWARF sections (filled when `dwarf` is loaded).
    _dwarf_owned: Mutex<Vec<Box<[u8]>>>,
    _map: Mmap,
}

/// An image's DWARF once loaded (see [`Image::dwarf`]).
struct LoadedDwarf {
    dwarf: Arc<gimli::Dwarf<R>>,
    /// File offset of `.debug_info` when it is read straight from the mapping.
    debug_info_file_off: Option<u64>,
    /// Why the sections could not be loaded (then `dwarf` is empty).
    error: Option<String>,
}

/// Where section `idx` sits: a vmlinux section at its sh_addr, a module section where the
/// kernel put it (`bases`; an unplaced module section keeps address 0).
fn section_base(
    obj: &object::File<'_>,
    bases: &HashMap<String, u64>,
    relocatable: bool,
    idx: SectionIndex,
) -> u64 {
    match obj.section_by_index(idx) {
        Ok(s) if relocatable => s
            .name()
            .ok()
            .and_then(|n| bases.get(n))
            .copied()
            .unwrap_or(0),
        Ok(s) => s.address(),
        Err(_) => 0,
    }
}

/// Turn a borrow of data we own (mapping or boxed copy, both at stable addresses and never
/// mutated nor freed before the `Image` is dropped) into a `'static` slice.
fn extend(data: &[u8]) -> &'static [u8] {
    // SAFETY: callers only pass slices of `Image::_map` or of a `Box<[u8]>` that is moved into
    // `Image::_owned`; both keep their heap/mapping address when moved, are never written, and
    // outlive every reader stored in the same `Image` (fields are dropped after the readers,
    // and the readers are never handed out beyond `&self` lifetimes by the public API).
    unsafe { std::slice::from_raw_parts(data.as_ptr(), data.len()) }
}

impl Image {
    /// Map and parse an ELF file. `bases` places the sections of an `ET_REL` module at their
    /// runtime addresses (ignored for the vmlinux).
    pub fn open(
        path: &Path,
        module: Option<&str>,
        bases: &HashMap<String, u64>,
    ) -> Result<Image, DebugError> {
        let io = |source| DebugError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the file is mapped read-only; like every debugger we assume it is not
        // truncated underneath us.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        // Lookups touch scattered pages of a file of hundreds of MB: no readahead.
        let _ = map.advise(memmap2::Advice::Random);
        let data = extend(&map);
        let elf_err = |msg: String| DebugError::Elf {
            path: path.to_owned(),
            msg,
        };
        let obj = object::File::parse(data).map_err(|e| elf_err(e.to_string()))?;
        let relocatable = obj.kind() == object::ObjectKind::Relocatable;
        let mut owned: Vec<Box<[u8]>> = Vec::new();

        let section_base = |idx: SectionIndex| section_base(&obj, bases, relocatable, idx);

        let mut sections = Vec::new();
        for s in obj.sections() {
            let Ok(name) = s.name() else { continue };
            let is_alloc = match s.flags() {
                object::SectionFlags::Elf { sh_flags, .. } => {
                    sh_flags.0 & object::elf::SHF_ALLOC.0 != 0
                }
                _ => false,
            };
            if !is_alloc {
                // Of the unloaded sections only the unwinder's `.debug_frame` is kept.
                if name == ".debug_frame" {
                    let data = match s.uncompressed_data() {
                        // A module's FDEs name their functions through relocations.
                        Ok(b) if relocatable && s.relocations().next().is_some() => {
                            let mut buf = b.into_owned();
                            match relocate(&obj, &s, &mut buf, &section_base) {
                                Ok(()) => {
                                    let b = buf.into_boxed_slice();
                                    let d = extend(&b);
                                    owned.push(b);
                                    Some(d)
                                }
                                Err(_) => None,
                            }
                        }
                        Ok(Cow::Borrowed(b)) => Some(b),
                        Ok(Cow::Owned(v)) => {
                            let b = v.into_boxed_slice();
                            let d = extend(&b);
                            owned.push(b);
                            Some(d)
                        }
                        Err(_) => None,
                    };
                    sections.push(PlacedSection {
                        name: name.to_owned(),
                        addr: 0,
                        size: s.size(),
                        data,
                        alloc: false,
                    });
                }
                continue;
            }
            let addr = if relocatable {
                match bases.get(name) {
                    Some(a) => *a,
                    None => continue,
                }
            } else {
                s.address()
            };
            let data = match s.kind() {
                object::SectionKind::UninitializedData | object::SectionKind::UninitializedTls => {
                    None
                }
                _ => s.data().ok().map(extend),
            };
            sections.push(PlacedSection {
                name: name.to_owned(),
                addr,
                size: s.size(),
                data,
                alloc: true,
            });
        }

        let build_id = obj.build_id().ok().flatten().map(<[u8]>::to_vec);
        Ok(Image {
            path: path.to_owned(),
            module: module.map(str::to_owned),
            dwarf: OnceLock::new(),
            build_id,
            sections,
            percpu: OnceLock::new(),
            symbols: OnceLock::new(),
            obj,
            bases: bases.clone(),
            units: OnceLock::new(),
            file,
            index: Mutex::new(NameIndex::default()),
            lines: OnceLock::new(),
            aranges: OnceLock::new(),
            unit_lines: Default::default(),
            cfi_index: OnceLock::new(),
            decls: OnceLock::new(),
            _owned: owned,
            _dwarf_owned: Mutex::new(Vec::new()),
            _map: map,
        })
    }

    /// The DWARF sections (loaded on first use: decompressed, and for a module relocated to
    /// where the kernel placed its sections). A module whose sections cannot be relocated
    /// has empty DWARF, and [`Self::dwarf_error`] says why.
    pub fn dwarf(&self) -> &Arc<gimli::Dwarf<R>> {
        &self.loaded_dwarf().dwarf
    }

    /// Why this image's DWARF could not be loaded. Asked of the vmlinux it loads the DWARF
    /// (the vmlinux's is always needed); of a module only what an earlier use found.
    pub fn dwarf_error(&self) -> Option<&str> {
        if self.module.is_none() {
            return self.loaded_dwarf().error.as_deref();
        }
        self.dwarf.get()?.error.as_deref()
    }

    fn loaded_dwarf(&self) -> &LoadedDwarf {
        self.dwarf.get_or_init(|| {
            let endian = if self.obj.is_little_endian() {
                RunTimeEndian::Little
            } else {
                RunTimeEndian::Big
            };
            let (dwarf, error) = match self.load_dwarf(endian) {
                Ok(d) => (d, None),
                Err(e) => {
                    let empty = gimli::Dwarf::load(|_| {
                        Ok::<_, gimli::Error>(gimli::EndianSlice::new(&[][..], endian))
                    })
                    .expect("empty sections load");
                    (empty, Some(e.to_string()))
                }
            };
            let info = dwarf.debug_info.reader().slice();
            let (start, len) = self.map_range();
            let map_range = start..start + len;
            let debug_info_file_off = (!info.is_empty()
                && map_range.contains(&(info.as_ptr() as usize))
                && map_range.contains(&(info.as_ptr() as usize + info.len() - 1)))
            .then(|| (info.as_ptr() as usize - map_range.start) as u64);
            LoadedDwarf {
                dwarf: Arc::new(dwarf),
                debug_info_file_off,
                error,
            }
        })
    }

    fn load_dwarf(&self, endian: RunTimeEndian) -> Result<gimli::Dwarf<R>, DebugError> {
        let obj = &self.obj;
        let path = &self.path;
        let relocatable = self.relocatable();
        let elf_err = |msg: String| DebugError::Elf {
            path: path.to_owned(),
            msg,
        };
        let section_base = |idx: SectionIndex| section_base(obj, &self.bases, relocatable, idx);
        let mut owned = self._dwarf_owned.lock().unwrap_or_else(|e| e.into_inner());
        let mut load = |id: gimli::SectionId| -> Result<&'static [u8], DebugError> {
            let Some(sec) = obj.section_by_name(id.name()) else {
                return Ok(&[]);
            };
            let bytes = sec
                .uncompressed_data()
                .map_err(|e| elf_err(format!("{}: {e}", id.name())))?;
            let has_relocs = relocatable && sec.relocations().next().is_some();
            let bytes: Cow<'static, [u8]> = if has_relocs {
                let mut buf = bytes.into_owned();
                relocate(obj, &sec, &mut buf, &section_base).map_err(|msg| {
                    DebugError::Relocation {
                        path: path.to_owned(),
                        section: id.name().to_owned(),
                        msg,
                    }
                })?;
                Cow::Owned(buf)
            } else {
                bytes
            };
            Ok(match bytes {
                Cow::Borrowed(b) => b,
                Cow::Owned(v) => {
                    let b = v.into_boxed_slice();
                    let s = extend(&b);
                    owned.push(b);
                    s
                }
            })
        };
        gimli::Dwarf::load(|id| load(id).map(|d| gimli::EndianSlice::new(d, endian)))
    }

    /// Start address and length of the file mapping.
    pub(crate) fn map_range(&self) -> (usize, usize) {
        (self._map.as_ptr() as usize, self._map.len())
    }

    /// Size and mtime of the file (for the index cache).
    pub(crate) fn stamp(&self) -> Option<super::cache::FileStamp> {
        super::cache::FileStamp::of(&self.file)
    }

    fn relocatable(&self) -> bool {
        self.obj.kind() == object::ObjectKind::Relocatable
    }

    /// The ELF symbol table, read on first use.
    pub fn symbols(&self) -> &SymTable {
        self.symbols.get_or_init(|| {
            let relocatable = self.relocatable();
            let base = |idx: SectionIndex| -> u64 {
                match self.obj.section_by_index(idx) {
                    Ok(s) => s
                        .name()
                        .ok()
                        .and_then(|n| self.bases.get(n))
                        .copied()
                        .unwrap_or(0),
                    Err(_) => 0,
                }
            };
            SymTable::new(&self.obj, self.module.as_deref(), relocatable, &base)
        })
    }

    /// `[start, end)` of the per-CPU area: the `.data..percpu` section, linked at 0 in the
    /// vmlinux (so equal to `__per_cpu_start..__per_cpu_end` without reading the symbol
    /// table), placed by the caller in a module.
    pub fn percpu(&self) -> Option<(u64, u64)> {
        *self.percpu.get_or_init(|| {
            self.sections
                .iter()
                .find(|s| s.alloc && s.name == ".data..percpu")
                .map(|s| (s.addr, s.addr + s.size))
        })
    }

    pub fn dwarf_err(&self, what: impl Into<String>, source: gimli::Error) -> DebugError {
        DebugError::Dwarf {
            path: self.path.clone(),
            what: what.into(),
            source,
        }
    }

    /// Where every unit of `.debug_info` is (read once). Only the length fields are read,
    /// with `pread` when the section is in the mapping: walking the headers through the
    /// mapping would fault in (and, with fault-around, count as resident) most of a
    /// `.debug_info` of 150+ MB to learn 2000 lengths.
    pub fn units(&self) -> Result<&[UnitSlot], DebugError> {
        let r = self.units.get_or_init(|| {
            let info = self.dwarf().debug_info.reader().slice();
            let little = self.obj.is_little_endian();
            let read = |off: usize, buf: &mut [u8]| -> bool {
                match self.loaded_dwarf().debug_info_file_off {
                    Some(base) => {
                        use std::os::unix::fs::FileExt;
                        self.file.read_exact_at(buf, base + off as u64).is_ok()
                    }
                    None => match info.get(off..off + buf.len()) {
                        Some(b) => {
                            buf.copy_from_slice(b);
                            true
                        }
                        None => false,
                    },
                }
            };
            let mut v = Vec::new();
            let mut off = 0usize;
            while off < info.len() {
                let mut b = [0u8; 12];
                let n = (info.len() - off).min(12);
                if n < 4 || !read(off, &mut b[..n]) {
                    return Err(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(
                        off as u64,
                    )));
                }
                let u32_at = |b: &[u8]| {
                    let a = [b[0], b[1], b[2], b[3]];
                    if little {
                        u32::from_le_bytes(a)
                    } else {
                        u32::from_be_bytes(a)
                    }
                };
                let len = match u32_at(&b[..4]) {
                    0xffff_ffff if n == 12 => {
                        let a: [u8; 8] = b[4..12].try_into().expect("8 bytes");
                        let l = if little {
                            u64::from_le_bytes(a)
                        } else {
                            u64::from_be_bytes(a)
                        };
                        usize::try_from(l).ok().and_then(|l| l.checked_add(12))
                    }
                    l if l < 0xffff_fff0 => Some(l as usize + 4),
                    _ => None,
                };
                let Some(len) = len.filter(|&l| l <= info.len() - off) else {
                    return Err(gimli::Error::UnknownReservedLength(u32_at(&b[..4])));
                };
                v.push(UnitSlot {
                    start: DebugInfoOffset(off),
                    len,
                    unit: OnceLock::new(),
                    line_program: OnceLock::new(),
                });
                off += len;
            }
            Ok(v)
        });
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.dwarf_err("unit headers", *e)),
        }
    }

    /// The parsed unit number `idx`, without its line program (see [`Self::line_program`]):
    /// `gimli::Unit::new` parses the line-program header, whose DWARF 5 file tables are most
    /// of the cost of opening a unit, and name lookups never need it.
    pub fn unit(&self, idx: usize) -> Result<&gimli::Unit<R>, DebugError> {
        let slot = &self.units()?[idx];
        let r = slot.unit.get_or_init(|| {
            let header = self.dwarf().debug_info.header_from_offset(slot.start)?;
            light_unit(self.dwarf(), header)
        });
        r.as_ref()
            .map_err(|e| self.dwarf_err(format!("unit at {:#x}", slot.start.0), *e))
    }

    /// The line program of unit `idx` (parsed on first use).
    pub fn line_program(&self, idx: usize) -> Option<&gimli::IncompleteLineProgram<R>> {
        let unit = self.unit(idx).ok()?;
        let slot = &self.units().ok()?[idx];
        slot.line_program
            .get_or_init(|| {
                let root = unit.entry(unit.header.root_offset()).ok()?;
                let Some(gimli::AttributeValue::DebugLineRef(off)) =
                    root.attr_value(gimli::constants::DW_AT_stmt_list)
                else {
                    return None;
                };
                self.dwarf()
                    .debug_line
                    .program(off, unit.header.address_size(), unit.comp_dir, unit.name)
                    .ok()
            })
            .as_ref()
    }

    /// The unit containing the `.debug_info` offset, and the offset within it.
    pub fn locate(&self, off: usize) -> Result<Option<(usize, UnitOffset<usize>)>, DebugError> {
        let units = self.units()?;
        let i = units.partition_point(|u| u.start.0 <= off);
        if i == 0 {
            return Ok(None);
        }
        let u = &units[i - 1];
        let rel = off - u.start.0;
        if rel >= u.len {
            return Ok(None);
        }
        Ok(Some((i - 1, UnitOffset(rel))))
    }

    /// The bytes at a placed address (for reading initialised data such as `linux_banner`).
    pub fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let s = self
            .sections
            .iter()
            .find(|s| s.alloc && s.data.is_some() && addr >= s.addr && addr - s.addr < s.size)?;
        let data = s.data?;
        let start = usize::try_from(addr - s.addr).ok()?;
        let end = start
            .checked_add(usize::try_from(len).ok()?)?
            .min(data.len());
        data.get(start..end)
    }

    /// Whether `addr` falls in one of this image's placed sections.
    pub fn contains(&self, addr: u64) -> bool {
        self.sections
            .iter()
            .any(|s| s.alloc && s.addr != 0 && addr >= s.addr && addr - s.addr < s.size)
    }
}

/// A [`gimli::Unit`] with abbreviations and the root DIE's bases but no line program.
fn light_unit(
    dwarf: &gimli::Dwarf<R>,
    header: gimli::UnitHeader<R>,
) -> gimli::Result<gimli::Unit<R>> {
    use gimli::constants as dw;
    let abbreviations = dwarf.abbreviations(&header)?;
    let enc = header.encoding();
    let mut unit = gimli::Unit {
        header,
        abbreviations,
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            enc,
            dwarf.file_type,
        ),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(
            enc,
            dwarf.file_type,
        ),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(
            enc,
            dwarf.file_type,
        ),
        line_program: None,
        dwo_id: None,
    };
    let root = unit.entry(unit.header.root_offset())?;
    let (mut name, mut comp_dir, mut low_pc) = (None, None, None);
    for a in root.attrs() {
        match (a.name(), a.value()) {
            (dw::DW_AT_str_offsets_base, gimli::AttributeValue::DebugStrOffsetsBase(b)) => {
                unit.str_offsets_base = b
            }
            (
                dw::DW_AT_addr_base | dw::DW_AT_GNU_addr_base,
                gimli::AttributeValue::DebugAddrBase(b),
            ) => unit.addr_base = b,
            (dw::DW_AT_loclists_base, gimli::AttributeValue::DebugLocListsBase(b)) => {
                unit.loclists_base = b
            }
            (dw::DW_AT_rnglists_base, gimli::AttributeValue::DebugRngListsBase(b)) => {
                unit.rnglists_base = b
            }
            (dw::DW_AT_name, v) => name = Some(v),
            (dw::DW_AT_low_pc, v) => low_pc = Some(v),
            (dw::DW_AT_comp_dir, v) => comp_dir = Some(v),
            _ => {}
        }
    }
    // The base address of location and range lists (addrx forms need addr_base).
    if let Some(v) = low_pc {
        unit.low_pc = dwarf.attr_address(&unit, v).ok().flatten().unwrap_or(0);
    }
    // Strings last: strx forms need str_offsets_base.
    unit.name = name.and_then(|v| dwarf.attr_string(&unit, v).ok());
    unit.comp_dir = comp_dir.and_then(|v| dwarf.attr_string(&unit, v).ok());
    Ok(unit)
}

/// Apply the relocations of an `ET_REL` file to a copy of a debug section. Only absolute
/// relocations appear in DWARF sections; anything else is an error naming the offset.
fn relocate(
    obj: &object::File<'static>,
    sec: &object::Section<'static, '_>,
    buf: &mut [u8],
    section_base: &dyn Fn(SectionIndex) -> u64,
) -> Result<(), String> {
    let little = obj.is_little_endian();
    for (off, rel) in sec.relocations() {
        let RelocationTarget::Symbol(si) = rel.target() else {
            return Err(format!("relocation at {off:#x} has no symbol target"));
        };
        let sym = obj
            .symbol_by_index(si)
            .map_err(|e| format!("relocation at {off:#x}: {e}"))?;
        let base = sym.section_index().map(section_base).unwrap_or(0);
        let value = base
            .wrapping_add(sym.address())
            .wrapping_add(rel.addend() as u64);
        let size = match (rel.kind(), rel.size()) {
            (RelocationKind::Absolute, 64) => 8,
            (RelocationKind::Absolute, 32) => 4,
            (RelocationKind::None, _) => continue,
            (k, s) => return Err(format!("unsupported relocation {k:?}/{s} at {off:#x}")),
        };
        let start = usize::try_from(off).map_err(|_| format!("offset {off:#x}"))?;
        let Some(dst) = buf.get_mut(start..start + size) else {
            return Err(format!("relocation at {off:#x} beyond the section"));
        };
        match (size, little) {
            (8, true) => dst.copy_from_slice(&value.to_le_bytes()),
            (8, false) => dst.copy_from_slice(&value.to_be_bytes()),
            (_, true) => dst.copy_from_slice(&(value as u32).to_le_bytes()),
            (_, false) => dst.copy_from_slice(&(value as u32).to_be_bytes()),
        }
    }
    Ok(())
}
