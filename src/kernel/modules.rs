//! Loaded modules, from the dump's `modules` list: name, where their text lives, their
//! section addresses (to place `.ko` debug info) and their ORC tables in memory.

use super::layout::Probe;
use super::{Kernel, KernelError};
use crate::addr::Kva;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct Module {
    pub name: String,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    /// Executable text: [start, start+len).
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub text_start: u64,
    pub text_len: u64,
    /// Whole core image (text, rodata, data): [start, start+len).
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub core_start: u64,
    pub core_len: u64,
    /// Section name → runtime address, from `mod->sect_attrs`.
    pub sections: HashMap<String, u64>,
    /// `mod->arch.{orc_unwind_ip, orc_unwind, num_orcs}` when present.
    #[serde(skip)]
    pub orc: Option<(Kva, Kva, u64)>,
    /// Function symbols from the module's own kallsyms in memory (`mod->kallsyms`),
    /// sorted by address: symbolization without the `.ko`.
    #[serde(skip)]
    pub kallsyms: Vec<ModSym>,
    /// Every symbol of `mod->kallsyms` with its `nm` type letter (functions and data), for
    /// the dump-only debug info.
    #[serde(skip)]
    pub all_symbols: Vec<(ModSym, u8)>,
    /// The `NT_GNU_BUILD_ID` of the loaded module, from `mod->notes_attrs`, when it has one.
    #[serde(skip)]
    pub build_id: Option<Vec<u8>>,
}

/// A module's BTF as the kernel keeps it: (bytes, `start_id`, `start_str_off`).
pub type ModuleBtf = (Vec<u8>, u32, u32);

/// A module symbol from `mod->kallsyms`: runtime address, size, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModSym {
    pub addr: u64,
    pub size: u64,
    pub name: String,
}

impl Module {
    /// The function containing (or nearest before) `pc`, with the offset into it.
    pub fn symbolize(&self, pc: u64) -> Option<(&ModSym, u64)> {
        let i = self.kallsyms.partition_point(|s| s.addr <= pc);
        let s = self.kallsyms.get(i.checked_sub(1)?)?;
        Some((s, pc - s.addr))
    }
}

impl Kernel {
    /// Every module on the `modules` list (bounded, cycle-safe). Partial on damage.
    pub fn modules(&self) -> Result<(Vec<Module>, Vec<String>), KernelError> {
        let di = &self.di;
        let m = Probe::new(di, "struct module")?;
        let why = "modules";
        let o_list = m.off("list", why)?;
        let o_name = m.off("name", why)?;
        // 6.4+ (commit ac3b43283923 "module: replace module_layout with module_memory"):
        // mem[MOD_TEXT]; before: core_layout.{base,size,text_size}.
        let text = if let Some(mem) = m.opt("mem") {
            let mm = Probe::new(di, "struct module_memory")?;
            Layouts::Mem {
                base: mem + mm.off("base", why)?,
                size: mem + mm.off("size", why)?,
            }
        } else {
            Layouts::Core {
                base: m.off("core_layout.base", why)?,
                size: m.off("core_layout.size", why)?,
                text_size: m.opt("core_layout.text_size"),
            }
        };
        let orc = (
            m.opt("arch.orc_unwind_ip"),
            m.opt("arch.orc_unwind"),
            m.opt("arch.num_orcs"),
        );
        let o_sect = m.opt("sect_attrs");
        let o_kallsyms = m.opt("kallsyms");
        let o_notes = m.opt("notes_attrs");
        let notes = Probe::new(di, "struct module_notes_attrs").ok();
        let battr = Probe::new(di, "struct bin_attribute").ok();
        let sect = Probe::new(di, "struct module_sect_attrs").ok();
        // `struct module_sect_attr` exists only with `nsections` (up to 6.13, see
        // `section_addrs`): asking the DWARF index for a type it lacks scans every unit.
        let attr = sect
            .as_ref()
            .filter(|s| s.opt("nsections").is_some())
            .and_then(|_| Probe::new(di, "struct module_sect_attr").ok());
        let head = self.symbol_addr("modules")?;
        let walk = self.list_walk(head, "modules");
        let mut errors: Vec<String> = walk.error.iter().map(|e| e.to_string()).collect();
        let mut out = Vec::new();
        for node in walk.nodes {
            let addr = node.sub(o_list);
            let name = match self.read_cstr(addr.add(o_name), 56, "module.name") {
                Ok(n) => n,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            let (core_start, core_len, text_start, text_len) = match text {
                Layouts::Core {
                    base,
                    size,
                    text_size,
                } => {
                    let b = self
                        .read_u64(addr.add(base), "module.core_layout.base")
                        .unwrap_or(0);
                    let s = self
                        .read_u32(addr.add(size), "module.core_layout.size")
                        .unwrap_or(0) as u64;
                    let t = text_size
                        .and_then(|o| {
                            self.read_u32(addr.add(o), "module.core_layout.text_size")
                                .ok()
                        })
                        .map(|v| v as u64)
                        .unwrap_or(s);
                    (b, s, b, t)
                }
                Layouts::Mem { base, size } => {
                    // mem[0] is MOD_TEXT.
                    let b = self
                        .read_u64(addr.add(base), "module.mem[MOD_TEXT].base")
                        .unwrap_or(0);
                    let s = self
                        .read_u32(addr.add(size), "module.mem[MOD_TEXT].size")
                        .unwrap_or(0) as u64;
                    (b, s, b, s)
                }
            };
            let mut sections = HashMap::new();
            if let (Some(o_sect), Some(sect)) = (o_sect, &sect)
                && let Err(e) = self.read_sections(
                    addr.add(o_sect),
                    sect,
                    attr.as_ref(),
                    battr.as_ref(),
                    &mut sections,
                )
            {
                errors.push(format!("module {name}: sections: {e}"));
            }
            let orc = match orc {
                (Some(ip), Some(u), Some(n)) => {
                    let ip = self
                        .read_ptr(addr.add(ip), "module.arch.orc_unwind_ip")
                        .ok();
                    let u = self.read_ptr(addr.add(u), "module.arch.orc_unwind").ok();
                    let n = self.read_u32(addr.add(n), "module.arch.num_orcs").ok();
                    match (ip, u, n) {
                        (Some(ip), Some(u), Some(n)) if n > 0 && n < 1 << 22 => {
                            Some((ip, u, n as u64))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let all_symbols = match o_kallsyms {
                Some(o) => self.read_mod_kallsyms(addr.add(o)).unwrap_or_else(|e| {
                    errors.push(format!("module {name}: kallsyms: {e}"));
                    Vec::new()
                }),
                None => Vec::new(),
            };
            let kallsyms = all_symbols
                .iter()
                .filter(|(_, t)| *t == b't' || *t == b'T')
                .map(|(s, _)| s.clone())
                .collect();
            let build_id = match (o_notes, &notes, &battr) {
                (Some(o), Some(n), Some(b)) => self.read_build_id(addr.add(o), n, b).ok().flatten(),
                _ => None,
            };
            out.push(Module {
                kallsyms,
                all_symbols,
                build_id,
                name,
                addr: addr.0,
                text_start,
                text_len,
                core_start,
                core_len,
                sections,
                orc,
            });
        }
        Ok((out, errors))
    }

    /// Each loaded module's BTF, by module address, as the BPF subsystem keeps it: the
    /// `btf_modules` list of `struct btf_module { list, module, btf }` (kernel/bpf/btf.c,
    /// 5.11+, commit 36e68442d1af "bpf: Load and verify kernel module BTFs"), each
    /// `struct btf` holding its own copy (`data`, `data_size`) and where it continues the
    /// vmlinux BTF (`start_id`, `start_str_off`). Returns (bytes, start_id, start_str_off).
    /// A module whose BTF does not read is left out.
    pub fn module_btfs(&self) -> Result<HashMap<u64, ModuleBtf>, KernelError> {
        let di = &self.di;
        let bm = Probe::new(di, "struct btf_module")?;
        let b = Probe::new(di, "struct btf")?;
        let why = "module BTF";
        let (o_list, o_mod, o_btf) = (
            bm.off("list", why)?,
            bm.off("module", why)?,
            bm.off("btf", why)?,
        );
        let (o_data, o_size, o_id, o_str) = (
            b.off("data", why)?,
            b.off("data_size", why)?,
            b.off("start_id", why)?,
            b.off("start_str_off", why)?,
        );
        let head = self.symbol_addr("btf_modules")?;
        let walk = self.list_walk(head, "btf_modules");
        let mut out = HashMap::new();
        for node in walk.nodes.iter().take(4096) {
            let a = node.sub(o_list);
            let one = || -> Result<(u64, ModuleBtf), KernelError> {
                let m = self.read_ptr(a.add(o_mod), "btf_module.module")?;
                let btf = self.read_ptr(a.add(o_btf), "btf_module.btf")?;
                let data = self.read_ptr(btf.add(o_data), "btf.data")?;
                let size = self.read_u32(btf.add(o_size), "btf.data_size")?;
                let start_id = self.read_u32(btf.add(o_id), "btf.start_id")?;
                let start_str = self.read_u32(btf.add(o_str), "btf.start_str_off")?;
                if size == 0 || size > 64 << 20 {
                    return Err(KernelError::Open(format!(
                        "module BTF of {size} bytes: implausible"
                    )));
                }
                let mut buf = vec![0u8; size as usize];
                self.read(data, &mut buf, "module BTF")?;
                Ok((m.0, (buf, start_id, start_str)))
            };
            if let Ok((m, v)) = one() {
                out.insert(m, v);
            }
        }
        Ok(out)
    }

    /// `struct mod_kallsyms { Elf_Sym *symtab; unsigned int num_symtab; char *strtab;
    /// char *typetab; }`: the kernel keeps the module's symbols with final addresses in
    /// `st_value`. Each with its `nm` letter (`typetab`, 5.2+ commit 1c7651f43777; before,
    /// from `st_info`: STT_FUNC → `t`, STT_OBJECT → `d`), sorted by address.
    fn read_mod_kallsyms(&self, ptr_at: Kva) -> Result<Vec<(ModSym, u8)>, KernelError> {
        let ks = self.read_ptr(ptr_at, "module.kallsyms")?;
        if ks.0 == 0 {
            return Ok(vec![]);
        }
        let p = Probe::new(&self.di, "struct mod_kallsyms")?;
        let why = "module symbols";
        let symtab = self.read_ptr(ks.add(p.off("symtab", why)?), "mod_kallsyms.symtab")?;
        let n = self.read_u32(ks.add(p.off("num_symtab", why)?), "mod_kallsyms.num_symtab")?;
        let strtab = self.read_ptr(ks.add(p.off("strtab", why)?), "mod_kallsyms.strtab")?;
        let typetab = match p.opt("typetab") {
            Some(o) => Some(self.read_ptr(ks.add(o), "mod_kallsyms.typetab")?),
            None => None,
        };
        if n > 1 << 20 {
            return Err(KernelError::Open(format!(
                "module has {n} symbols: implausible"
            )));
        }
        let n = n as usize;
        // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value, st_size.
        let mut raw = vec![0u8; n * 24];
        self.read(symtab, &mut raw, "mod_kallsyms.symtab[]")?;
        let mut types = vec![0u8; if typetab.is_some() { n } else { 0 }];
        if let Some(t) = typetab {
            self.read(t, &mut types, "mod_kallsyms.typetab[]")?;
        }
        // The string table in one read (the symbols' names end within 128 bytes of the
        // largest offset; a hundred modules' tens of thousands of names read one by one cost
        // a tenth of `bt --all`); a table that does not read whole (a page excluded) is read
        // name by name.
        let max_off = (0..n)
            .map(|i| u32::from_le_bytes(raw[i * 24..i * 24 + 4].try_into().unwrap()) as usize)
            .max()
            .unwrap_or(0);
        let mut strings = vec![0u8; (max_off + 128).min(4 << 20)];
        if self
            .read(strtab, &mut strings, "mod_kallsyms.strtab")
            .is_err()
        {
            strings.clear();
        }
        let name_at = |off: u64| -> Result<String, KernelError> {
            let start = off as usize;
            // (a name the table read cut short — one past a 4 MiB table — is read alone)
            match strings.get(start..(start + 128).min(strings.len())) {
                Some(b) if b.len() == 128 || b.contains(&0) => {
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    Ok(String::from_utf8_lossy(&b[..end]).into_owned())
                }
                _ => Ok(self.read_cstr(strtab.add(off), 128, "module symbol name")?),
            }
        };
        let mut out = Vec::new();
        for i in 0..n {
            let e = &raw[i * 24..i * 24 + 24];
            let name_off = u32::from_le_bytes(e[0..4].try_into().unwrap()) as u64;
            let info = e[4];
            let value = u64::from_le_bytes(e[8..16].try_into().unwrap());
            let size = u64::from_le_bytes(e[16..24].try_into().unwrap());
            let ty = match types.get(i) {
                Some(&t) => t,
                None => match info & 0xf {
                    2 => b't',
                    1 => b'd',
                    _ => b'?',
                },
            };
            if !ty.is_ascii_alphabetic() || value == 0 || name_off == 0 {
                continue;
            }
            let name = name_at(name_off)?;
            out.push((
                ModSym {
                    addr: value,
                    size,
                    name,
                },
                ty,
            ));
        }
        out.sort_by_key(|s| s.0.addr);
        Ok(out)
    }

    /// The build-id note among `mod->notes_attrs` (sysfs `notes/.note.gnu.build-id`).
    fn read_build_id(
        &self,
        ptr_at: Kva,
        notes: &Probe,
        battr: &Probe,
    ) -> Result<Option<Vec<u8>>, KernelError> {
        let na = self.read_ptr(ptr_at, "module.notes_attrs")?;
        if na.0 == 0 {
            return Ok(None);
        }
        let why = "module notes";
        // 6.14+ dropped the count (`notes`): the group's NULL-terminated `bin_attrs`
        // array lists the same attributes.
        let list: Vec<Kva> = match notes.opt("notes") {
            Some(o) => {
                let n = self.read_u32(na.add(o), "module_notes_attrs.notes")?;
                let attrs = na.add(notes.off("attrs", why)?);
                (0..u64::from(n.min(64)))
                    .map(|i| attrs.add(i * battr.size()))
                    .collect()
            }
            None => self.bin_attrs_of_group(na.add(notes.off("grp.bin_attrs", why)?), 64)?,
        };
        let (o_name, o_size, o_priv) = (
            battr.off("attr.name", why)?,
            battr.off("size", why)?,
            battr.off("private", why)?,
        );
        for a in list {
            let name_ptr = self.read_ptr(a.add(o_name), "bin_attribute.attr.name")?;
            if self.read_cstr(name_ptr, 64, "module note name")? != ".note.gnu.build-id" {
                continue;
            }
            let size = self.read_u64(a.add(o_size), "bin_attribute.size")?.min(256) as usize;
            let data = self.read_ptr(a.add(o_priv), "bin_attribute.private")?;
            let mut buf = vec![0u8; size];
            self.read(data, &mut buf, "module build-id note")?;
            // Elf_Nhdr: namesz, descsz, type, then the name and the descriptor, 4-aligned.
            let word = |i: usize| {
                buf.get(i..i + 4)
                    .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            };
            let (Some(namesz), Some(descsz)) = (word(0), word(4)) else {
                return Ok(None);
            };
            let desc = 12 + (namesz as usize).div_ceil(4) * 4;
            return Ok(buf.get(desc..desc + descsz as usize).map(<[u8]>::to_vec));
        }
        Ok(None)
    }

    /// A sysfs `attribute_group`'s `bin_attrs`: a NULL-terminated array of pointers.
    fn bin_attrs_of_group(&self, ptr_at: Kva, max: u64) -> Result<Vec<Kva>, KernelError> {
        let arr = self.read_ptr(ptr_at, "attribute_group.bin_attrs")?;
        let mut out = Vec::new();
        if arr.0 == 0 {
            return Ok(out);
        }
        for i in 0..max {
            let p = self.read_ptr(arr.add(i * 8), "attribute_group.bin_attrs[]")?;
            if p.0 == 0 {
                break;
            }
            out.push(p);
        }
        Ok(out)
    }

    /// Section name → address from `mod->sect_attrs` (sysfs `sections/`).
    ///
    /// Two layouts, told apart by member presence:
    /// - up to 6.13: `{grp, nsections, struct module_sect_attr attrs[]}` with
    ///   `module_sect_attr = {battr, address}` (5.8+, commit ed66f991bb19 "module: Refactor
    ///   section attr into bin attribute"; before, `{mattr, name, address}`);
    /// - 6.14+: `{grp, struct bin_attribute attrs[]}`: commit d8959b947a8d ("module: sysfs:
    ///   Drop member 'module_sect_attrs::nsections'") and the same series' "module: sysfs:
    ///   Drop 'struct module_sect_attr'", which keeps the address in the bin_attribute's
    ///   `private` pointer. The count is gone: the group's NULL-terminated `bin_attrs`
    ///   array points at each attribute.
    fn read_sections(
        &self,
        ptr_at: Kva,
        sect: &Probe,
        attr: Option<&Probe>,
        battr: Option<&Probe>,
        out: &mut HashMap<String, u64>,
    ) -> Result<(), KernelError> {
        let sa = self.read_ptr(ptr_at, "module.sect_attrs")?;
        if sa.0 == 0 {
            return Ok(());
        }
        let why = "module sections";
        if let (Some(o_n), Some(attr)) = (sect.opt("nsections"), attr) {
            let n = self.read_u32(sa.add(o_n), "module_sect_attrs.nsections")?;
            let attrs = sa.add(sect.off("attrs", why)?);
            let size = attr.size();
            let (_, o_name) = attr.first_of(&["battr.attr.name", "name"], why)?;
            let o_addr = attr.off("address", why)?;
            for i in 0..n.min(512) as u64 {
                let a = attrs.add(i * size);
                let name_ptr = self.read_ptr(a.add(o_name), "module_sect_attr.name")?;
                let name = self.read_cstr(name_ptr, 64, "module section name")?;
                let addr = self.read_u64(a.add(o_addr), "module_sect_attr.address")?;
                out.insert(name, addr);
            }
            return Ok(());
        }
        let battr = battr.ok_or_else(|| KernelError::NoMember {
            strukt: "struct bin_attribute".into(),
            member: "private".into(),
            why,
        })?;
        let (o_name, o_priv) = (battr.off("attr.name", why)?, battr.off("private", why)?);
        for a in self.bin_attrs_of_group(sa.add(sect.off("grp.bin_attrs", why)?), 512)? {
            let name_ptr = self.read_ptr(a.add(o_name), "bin_attribute.attr.name")?;
            let name = self.read_cstr(name_ptr, 64, "module section name")?;
            let addr = self.read_u64(a.add(o_priv), "bin_attribute.private")?;
            out.insert(name, addr);
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Layouts {
    Core {
        base: u64,
        size: u64,
        text_size: Option<u64>,
    },
    Mem {
        base: u64,
        size: u64,
    },
}
