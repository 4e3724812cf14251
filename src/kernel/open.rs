//! Opening a kernel: the dump, its VMCOREINFO, the vmlinux (refused if it does not match),
//! translation set-up and module debug info; or, without a vmlinux, the dump-only debug
//! info (kallsyms, BTF and ORC from the dump's memory, `debuginfo::dumponly`).

use super::{Kernel, KernelError};
use crate::addr::Kva;
use crate::debuginfo::DebugInfo;
use crate::debuginfo::dumponly::{DumpOnly, DumpOnlyInputs, MemRead, kallsyms::KallsymsAddrs};
use crate::dump::{Dump, PhysMem};
use crate::translate::{KernelMem, LayoutVars, TranslateConfig, Translator, VmcoreInfo};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The dump (`-c`); `/proc/kcore` for the live kernel.
    pub core: PathBuf,
    /// The vmlinux with DWARF (`-s`); empty: found by the dump's release and build-id (see
    /// [`super::find`]), and when none is found, the dump alone ([`open_dump_only`]).
    pub vmlinux: PathBuf,
    /// Module debug files (any name: each is recognized by its contents) or directories to
    /// search first (`-s MODULE.ko|DIR`); the distribution paths and debuginfod follow.
    pub modules: Vec<PathBuf>,
}

/// What the dump-only mode cannot show, said once where it would be shown: source lines,
/// inline frames, locals and the source pane need DWARF.
pub const NEEDS_DWARF: &str = "file:line, inline frames, locals and source need the vmlinux \
     debug info (this is the dump-only mode: symbols, types and unwinding come from the \
     dump; give the vmlinux with -s)";

/// Open a dump with its vmlinux.
pub fn open(opts: &OpenOptions) -> Result<Kernel, KernelError> {
    crate::timing::lap("start");
    let dump = Dump::open(&opts.core)
        .map_err(|e| KernelError::Open(format!("{}: {e}", opts.core.display())))?;
    open_dump(dump, opts)
}

/// [`open`] with the dump already open (`opts.core` names it in messages).
pub fn open_dump(dump: Dump, opts: &OpenOptions) -> Result<Kernel, KernelError> {
    crate::timing::lap("dump opened");
    let mut skipped = Vec::new();
    let found;
    let opts = if opts.vmlinux.as_os_str().is_empty() {
        match super::find::vmlinux_of(&dump, &opts.core) {
            Ok(located) => {
                skipped = located.skipped;
                found = OpenOptions {
                    vmlinux: located.path,
                    ..opts.clone()
                };
                &found
            }
            Err(e) => {
                // No vmlinux anywhere: the dump's own kallsyms, BTF and ORC.
                let why = e.to_string();
                let mut k = open_dump_only(dump, opts)?;
                k.warnings.insert(
                    0,
                    format!(
                        "{}; reading the dump's own symbols and types",
                        why.lines()
                            .next()
                            .unwrap_or_default()
                            .trim_end_matches("; looked at:")
                    ),
                );
                return Ok(k);
            }
        }
    } else {
        opts
    };
    let di = DebugInfo::open_vmlinux(&opts.vmlinux)
        .map_err(|e| KernelError::Open(format!("{}: {e}", opts.vmlinux.display())))?;
    crate::timing::lap("vmlinux mapped");
    let mut k = open_with(dump, di, opts)?;
    k.warnings
        .extend(skipped.iter().map(|s| format!("vmlinux: skipped {s}")));
    Ok(k)
}

fn vmcoreinfo_of(dump: &Dump, opts: &OpenOptions) -> Result<VmcoreInfo, KernelError> {
    match dump.vmcoreinfo() {
        Some(t) => Ok(VmcoreInfo::parse(t)),
        None => Err(KernelError::Open(format!(
            "{}: the dump has no VMCOREINFO (for QEMU dumps, load qemu_fw_cfg in the guest \
             and start QEMU with -device vmcoreinfo)",
            opts.core.display()
        ))),
    }
}

/// Open from an already opened dump and debug info (tests and benchmarks use this).
pub fn open_with(dump: Dump, di: DebugInfo, opts: &OpenOptions) -> Result<Kernel, KernelError> {
    let vmcoreinfo = vmcoreinfo_of(&dump, opts)?;
    check_match(&vmcoreinfo, &di, opts)?;
    crate::timing::lap("build-id/release checked");
    let dump = Arc::new(dump);
    let mut cfg = TranslateConfig::from_vmcoreinfo(&vmcoreinfo);
    let header_phys_base = pick_phys_base(&dump, &di, &mut cfg);
    let mut kernel = assemble(dump, di, vmcoreinfo, cfg, opts)?;
    if let Some(w) = header_phys_base {
        // the dump's own warning said VMCOREINFO's would be used
        kernel
            .warnings
            .retain(|x| !x.starts_with(crate::dump::PHYS_BASE_DISAGREES));
        kernel.warnings.insert(0, w);
    }
    load_modules(&mut kernel, &opts.modules);
    crate::timing::lap("modules loaded");
    Ok(kernel)
}

/// x86_64: the `phys_base` the kernel image is translated with. VMCOREINFO's
/// `NUMBER(phys_base)`, unless `linux_banner` does not read as the vmlinux's through it and
/// the kdump header's (`kdump_sub_header.phys_base`, makedumpfile's copy of the same number)
/// differs and does: then the header's, and the warning that says so is returned. QEMU's
/// kdump files have the header wrong (it read the decimal value as hex); a damaged
/// VMCOREINFO has its own wrong. One read of the banner per candidate.
fn pick_phys_base(dump: &Arc<Dump>, di: &DebugInfo, cfg: &mut TranslateConfig) -> Option<String> {
    let header = dump.header().phys_base?;
    if cfg.arm64.is_some() || header == cfg.phys_base {
        return None;
    }
    let want = di.linux_banner()?;
    let at = Kva(di
        .symbol("linux_banner")?
        .addr
        .wrapping_add(cfg.kaslr_offset));
    let reads_banner = |phys_base: u64| {
        let phys: Arc<dyn PhysMem> = dump.clone();
        let mem = KernelMem::new(
            phys,
            Translator::new(TranslateConfig {
                phys_base,
                ..cfg.clone()
            }),
        );
        let mut buf = vec![0u8; want.len()];
        mem.read(at, &mut buf, "linux_banner").is_ok() && buf == want.as_bytes()
    };
    if reads_banner(cfg.phys_base) || !reads_banner(header) {
        return None;
    }
    let w = format!(
        "phys_base: VMCOREINFO says {:#x}, the kdump header {header:#x}; linux_banner reads as \
         the vmlinux's only through the header's: using it",
        cfg.phys_base
    );
    cfg.phys_base = header;
    Some(w)
}

/// A hook over the dump-only source's reads (tests: damage what it reads).
pub type Tamper = Arc<dyn Fn(u64, &mut [u8]) -> Result<(), String> + Send + Sync>;

/// [`MemRead`] for the dump-only source: kernel virtual memory of the dump.
struct DumpMem(KernelMem, Option<Tamper>);

impl MemRead for DumpMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        self.0
            .read(Kva(addr), buf, "dump-only debug info")
            .map_err(|e| e.cause.to_string())?;
        match &self.1 {
            Some(t) => t(addr, buf),
            None => Ok(()),
        }
    }
}

/// Open a dump without a vmlinux: symbols from kallsyms, types from BTF, ORC from memory,
/// modules from their `struct module` (see `debuginfo::dumponly`). What is missing or
/// damaged becomes a warning, and whatever still works is kept; only a dump with no
/// readable symbols at all is refused.
pub fn open_dump_only(dump: Dump, opts: &OpenOptions) -> Result<Kernel, KernelError> {
    open_dump_only_tampered(dump, opts, None)
}

/// [`open_dump_only`] with the source's reads (kallsyms, BTF, ORC) passed through
/// `tamper`, which may change the bytes or fail the read: how the tests make a dump whose
/// kallsyms or BTF is excluded, truncated or corrupt.
#[doc(hidden)]
pub fn open_dump_only_tampered(
    dump: Dump,
    opts: &OpenOptions,
    tamper: Option<Tamper>,
) -> Result<Kernel, KernelError> {
    let vi = vmcoreinfo_of(&dump, opts)?;
    let dump = Arc::new(dump);
    let cfg = TranslateConfig::from_vmcoreinfo(&vi);
    let phys: Arc<dyn PhysMem> = dump.clone();
    let reader = Arc::new(DumpMem(
        KernelMem::new(phys, Translator::new(cfg.clone())),
        tamper,
    ));
    let inputs = DumpOnlyInputs {
        kallsyms: KallsymsAddrs {
            names: vi.symbol("kallsyms_names"),
            num_syms: vi.symbol("kallsyms_num_syms"),
            token_table: vi.symbol("kallsyms_token_table"),
            token_index: vi.symbol("kallsyms_token_index"),
            offsets: vi.symbol("kallsyms_offsets"),
            relative_base: vi.symbol("kallsyms_relative_base"),
            addresses: vi.symbol("kallsyms_addresses"),
            stext: vi.symbol("_stext"),
        },
        vmcoreinfo_symbols: vi
            .keys()
            .filter_map(|k| {
                let name = k.strip_prefix("SYMBOL(")?.strip_suffix(')')?;
                Some((name.to_owned(), vi.symbol(name)?))
            })
            .collect(),
        kaslr_offset: cfg.kaslr_offset,
    };
    let src = DumpOnly::open(reader, inputs).map_err(|e| {
        KernelError::Open(format!(
            "{}: no vmlinux given and the dump's own symbols are unreadable: {e}",
            opts.core.display()
        ))
    })?;
    crate::timing::lap("kallsyms and BTF read");
    let notes = src.notes.clone();
    let mut kernel = assemble(dump, DebugInfo::from_dump(src), vi, cfg, opts)?;
    kernel.warnings.extend(notes);
    super::unlisted::find_unlisted(&mut kernel);
    load_dump_modules(&mut kernel);
    crate::timing::lap("modules read");
    Ok(kernel)
}

/// Modules in dump-only mode: each module's symbols from `mod->kallsyms` and its BTF from
/// the BPF subsystem's `btf_modules` list (`struct btf_module { list, module, btf }`:
/// `mod->btf_data` itself is cleared once the module is initialized, kernel/module/main.c
/// `do_init_module()`).
fn load_dump_modules(k: &mut Kernel) {
    let (mods, errors) = match k.modules() {
        Ok(m) => m,
        Err(e) => {
            k.warnings
                .push(format!("module list unreadable, no module symbols: {e}"));
            return;
        }
    };
    k.warnings
        .extend(errors.into_iter().map(|e| format!("module list: {e}")));
    let (mut btfs, btf_err) = match k.module_btfs() {
        Ok(b) => (b, None),
        Err(e) => (std::collections::HashMap::new(), Some(e.to_string())),
    };
    if let Some(e) = btf_err
        && k.di.dump_only().is_some_and(|d| d.has_types())
    {
        k.warnings
            .push(format!("module BTF unreadable, module types missing: {e}"));
    }
    let Some(di) = Arc::get_mut(&mut k.di) else {
        return;
    };
    let Some(src) = di.dump_only_mut() else {
        return;
    };
    let notes = src.notes.len();
    for m in &mods {
        let syms: Vec<(String, u64, u64, u8)> = m
            .all_symbols
            .iter()
            .map(|(s, t)| (s.name.clone(), s.addr, s.size, *t))
            .collect();
        src.add_module(&m.name, &syms, btfs.remove(&m.addr));
    }
    src.finish_modules();
    let new: Vec<String> = src.notes[notes..].to_vec();
    k.warnings.extend(new);
}

/// The shared part of opening: translation, the direct map's bounds, the banner check.
fn assemble(
    dump: Arc<Dump>,
    di: DebugInfo,
    vmcoreinfo: VmcoreInfo,
    cfg: TranslateConfig,
    opts: &OpenOptions,
) -> Result<Kernel, KernelError> {
    let mut warnings: Vec<String> = dump.warnings().to_vec();
    let kaslr_offset = cfg.kaslr_offset;
    let phys: Arc<dyn PhysMem> = dump.clone();
    let mem = KernelMem::new(phys, Translator::new(cfg));
    let kernel = Kernel {
        mem,
        dump,
        di: Arc::new(di),
        vmcoreinfo,
        kaslr_offset,
        warnings: Vec::new(),
        layout: OnceLock::new(),
        cpus: OnceLock::new(),
        image: OnceLock::new(),
    };
    // The direct map's bounds come from the kernel's own variables (randomized under
    // CONFIG_RANDOMIZE_MEMORY); until they are known every address outside the kernel image
    // is walked. See translate::LayoutVars::direct_map for why these bound it.
    let mut var = |name: &str| -> Option<u64> {
        let a = kernel.symbol_addr(name).ok()?;
        match kernel.read_u64(a, name) {
            Ok(v) => Some(v),
            Err(e) => {
                warnings.push(format!("{name} unreadable: {e}"));
                None
            }
        }
    };
    if let Some(a) = kernel.mem.xlat.arm64().cloned() {
        // arm64: the image is mapped from _stext to _end (`map_kernel()` maps its segments
        // from _stext, arch/arm64/mm/mmu.c: the header at [_text, _stext) has no mapping,
        // as the fixtures' page tables show), translated by `__kimg_to_phys`; the linear
        // map is `__is_lm_address`'s range cut at max_pfn
        // (translate::arm64::Arm64Paging::linear_map). Everything else is walked.
        if let (Ok(s), Ok(e)) = (kernel.symbol_addr("_stext"), kernel.symbol_addr("_end"))
            && s.0 < e.0
        {
            kernel.mem.xlat.set_image(s.0, e.0);
        }
        let (base, end) = a.linear_map(var("max_pfn"));
        kernel.mem.xlat.set_direct_map(base, end);
    } else {
        let vars = LayoutVars {
            page_offset_base: var("page_offset_base"),
            vmalloc_base: var("vmalloc_base"),
            vmemmap_base: var("vmemmap_base"),
            max_pfn: var("max_pfn"),
        };
        match vars.direct_map() {
            Some((base, end)) => kernel.mem.xlat.set_direct_map(base, end),
            None if vars.page_offset_base.is_some() => warnings.push(
                "direct map bounds unknown (no vmalloc_base, vmemmap_base or max_pfn): every \
                 address outside the kernel image is translated by a page-table walk"
                    .into(),
            ),
            None => {}
        }
    }
    // The banner in memory must equal the vmlinux's: the definitive match test.
    if let (Ok(a), Some(want)) = (kernel.symbol_addr("linux_banner"), kernel.di.linux_banner()) {
        match kernel.read_cstr(a, want.len() + 1, "linux_banner") {
            Ok(got) if got.trim_end() != want.trim_end() => {
                return Err(KernelError::Mismatch(format!(
                    "the dump's linux_banner is \"{}\" but {} has \"{}\"",
                    got.trim_end(),
                    opts.vmlinux.display(),
                    want.trim_end()
                )));
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("could not verify linux_banner: {e}")),
        }
    }
    crate::timing::lap("banner checked");
    warnings.extend(kernel.prstatus_warning());
    Ok(Kernel { warnings, ..kernel })
}

/// Add the debug info of every module in the dump that has a file among `paths` or in the
/// places [`super::find::modules`] searches, placed at the section addresses the dump
/// records. Files are matched by their own module name and build-id, whatever they are
/// called. Files skipped, and modules left without debug info, are warnings.
fn load_modules(k: &mut Kernel, paths: &[PathBuf]) {
    let (mods, errors) = match k.modules() {
        Ok(m) => m,
        Err(e) => {
            k.warnings
                .push(format!("module list unreadable, no module debug info: {e}"));
            return;
        }
    };
    k.warnings
        .extend(errors.into_iter().map(|e| format!("module list: {e}")));
    if mods.is_empty() {
        return;
    }
    let release = k.vmcoreinfo.osrelease().map(str::to_owned);
    let located = super::find::modules(release.as_deref(), paths, &mods);
    k.warnings.extend(
        located
            .skipped
            .iter()
            .map(|s| format!("module debug info: skipped {s}")),
    );
    let mut to_add = Vec::new();
    for m in &mods {
        let Some(path) = located.found.get(&m.name) else {
            continue;
        };
        if m.sections.is_empty() {
            k.warnings.push(format!(
                "module {}: not using {}: the dump does not record its section addresses",
                m.name,
                path.display()
            ));
            continue;
        }
        to_add.push((m.name.clone(), path.clone(), m.sections.clone()));
    }
    if !located.missing.is_empty() {
        k.warnings.push(format!(
            "no debug info for module{} {} (looked in {}; give the .ko files, or a directory \
             holding them, with -s)",
            if located.missing.len() == 1 { "" } else { "s" },
            located.missing.join(", "),
            located.places.join(", ")
        ));
    }
    let Some(di) = Arc::get_mut(&mut k.di) else {
        k.warnings
            .push("module debug info not loaded: debug info already shared".into());
        return;
    };
    for (name, path, sections) in to_add {
        if let Err(e) = di.add_module(&name, &path, &sections) {
            k.warnings
                .push(format!("module {name}: {}: {e}", path.display()));
        }
    }
}

/// Refuse a vmlinux whose release or build-id differs from the dump's VMCOREINFO.
fn check_match(vi: &VmcoreInfo, di: &DebugInfo, opts: &OpenOptions) -> Result<(), KernelError> {
    if let (Some(want), Some(have)) = (vi.build_id(), di.build_id())
        && !want.is_empty()
        && !have.starts_with(&want)
        && !want.starts_with(have)
    {
        return Err(KernelError::Mismatch(format!(
            "{} has build-id {} but {} was made from build-id {}",
            opts.vmlinux.display(),
            hex(have),
            opts.core.display(),
            hex(&want)
        )));
    }
    if let (Some(rel), Some(banner)) = (vi.osrelease(), di.linux_banner()) {
        let vm_rel = banner.split_whitespace().nth(2).unwrap_or("");
        if !vm_rel.is_empty() && vm_rel != rel {
            return Err(KernelError::Mismatch(format!(
                "{} is release {vm_rel} but {} is release {rel}",
                opts.vmlinux.display(),
                opts.core.display()
            )));
        }
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Kernel {
    /// `utsname()->release` etc. as `sys` shows them, read from `init_uts_ns`.
    pub fn uts_field(&self, field: &str) -> Result<String, KernelError> {
        let (obj, _) = self.variable("init_uts_ns")?;
        let m = self
            .di
            .member(obj.ty, &format!("name.{field}"))
            .map_err(|e| KernelError::Debug(e.to_string()))?;
        Ok(self.read_cstr(Kva(obj.addr.0 + m.offset), 65, "init_uts_ns.name")?)
    }
}
