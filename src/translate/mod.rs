//! Kernel virtual → physical translation. arm64 is in [`arm64`] (the image, the linear map
//! and a TTBR1 walk, chosen when VMCOREINFO states `kimage_voffset`); the rest of this
//! file is x86_64: the kernel text mapping
//! (`__START_KERNEL_map` + `phys_base`), the direct map (`page_offset_base`, bounded by what
//! the kernel itself set up: [`LayoutVars`]) and a 4- or 5-level page-table walk from
//! `init_top_pgt` for everything else (vmalloc'd stacks, modules, vmemmap). KASLR and
//! `phys_base` come from VMCOREINFO. A failed read names the way it was translated
//! ([`Via`]).
//!
//! [`KernelMem`] puts a byte source and a translator together and is what the kernel model
//! reads through: `read(kva, buf, what)` with errors that say what was being read.

pub mod arm64;
pub mod vmcoreinfo;

use crate::addr::{Kva, PAGE_SIZE, Pa};
use crate::arch::x86_64::{PTE_PFN_MASK, PTE_PRESENT, PTE_PROTNONE, PTE_PSE, START_KERNEL_MAP};
use crate::dump::{MemError, PhysMem};
use std::sync::Arc;
use std::sync::OnceLock;
use thiserror::Error;
pub use vmcoreinfo::VmcoreInfo;

/// A failed kernel memory read: which address, what was being read, and why.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("cannot read {what} at {addr}: {cause}")]
pub struct ReadError {
    pub addr: Kva,
    pub what: String,
    pub cause: TranslateError,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TranslateError {
    /// The translation succeeded but the physical page cannot be read; `via` says how the
    /// physical address was found, so a wrong shortcut shows at once.
    #[error("{err} (translated {via})")]
    Read { err: MemError, via: Via },
    /// A page-table page could not be read during the walk.
    #[error("page-table walk ({levels} levels) for {kva}: level {level} table unreadable: {err}")]
    Table {
        kva: Kva,
        level: u8,
        levels: u8,
        err: MemError,
    },
    #[error("page-table entry at level {level} of {levels} for {kva} is not present")]
    NotMapped { kva: Kva, level: u8, levels: u8 },
    #[error("no page table root (VMCOREINFO lacks SYMBOL({0}))")]
    NoPageTable(&'static str),
    /// A virtually indexed source (`/proc/kcore`) failed.
    #[error("{0}")]
    Mem(#[from] MemError),
}

/// How a kernel virtual address was turned into a physical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The kernel image mapping: `kva - __START_KERNEL_map + phys_base` (arm64: `kva -
    /// kimage_voffset` inside `[_stext, _end)`).
    KernelImage,
    /// The direct map: `kva - page_offset_base`, inside the bounds the kernel set up.
    DirectMap { base: u64, end: u64 },
    /// arm64's linear map: `kva - PAGE_OFFSET + PHYS_OFFSET`, inside `[base, end)`.
    LinearMap { base: u64, end: u64 },
    /// A page-table walk from `init_top_pgt` with this many levels.
    Walk { levels: u8 },
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::KernelImage => write!(f, "through the kernel image mapping"),
            Via::DirectMap { base, end } => write!(
                f,
                "through the direct map [{base:#x}, {end:#x}) without a page-table walk"
            ),
            Via::LinearMap { base, end } => write!(
                f,
                "through the linear map [{base:#x}, {end:#x}) without a page-table walk"
            ),
            Via::Walk { levels } => write!(f, "by a {levels}-level page-table walk"),
        }
    }
}

/// `KERNEL_IMAGE_SIZE` when VMCOREINFO does not say (x86_64's
/// `arch_crash_save_vmcoreinfo()` writes `NUMBER(KERNEL_IMAGE_SIZE)`, in
/// arch/x86/kernel/crash_core_64.c, machine_kexec_64.c before v5.2): 512 MiB, the size
/// without KASLR, which is also the smaller of the two, so the image shortcut never reaches
/// into the module area (`MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE`).
pub const DEFAULT_KERNEL_IMAGE_SIZE: u64 = 512 << 20;

/// Facts needed to translate, taken from VMCOREINFO (and later refined from memory).
#[derive(Debug, Clone, Default)]
pub struct TranslateConfig {
    /// KASLR slide of the kernel image (`KERNELOFFSET`).
    pub kaslr_offset: u64,
    /// `phys_base`: where the kernel image was loaded physically, minus its link address.
    pub phys_base: u64,
    /// Runtime address of `init_top_pgt` (the kernel's top-level page table).
    pub init_top_pgt: Option<u64>,
    pub five_level: bool,
    /// Clear these bits (AMD SME `sme_mask`) from page-table entries.
    pub sme_mask: u64,
    /// `KERNEL_IMAGE_SIZE`: the kernel image mapping's size; modules start right after it.
    pub kernel_image_size: u64,
    /// arm64 (VMCOREINFO states `kimage_voffset`): everything above is x86_64's.
    pub arm64: Option<arm64::Arm64Paging>,
}

impl TranslateConfig {
    pub fn from_vmcoreinfo(vi: &VmcoreInfo) -> Self {
        TranslateConfig {
            kaslr_offset: vi.kernel_offset().unwrap_or(0),
            phys_base: vi.number("phys_base").unwrap_or(0) as u64,
            init_top_pgt: vi.symbol("init_top_pgt"),
            five_level: vi.number("pgtable_l5_enabled").unwrap_or(0) != 0,
            sme_mask: vi.number("sme_mask").unwrap_or(0) as u64,
            kernel_image_size: vi
                .number("KERNEL_IMAGE_SIZE")
                .filter(|&n| n > 0)
                .map_or(DEFAULT_KERNEL_IMAGE_SIZE, |n| n as u64),
            arm64: arm64::Arm64Paging::from_vmcoreinfo(vi),
        }
    }
}

/// What the kernel's own variables say about where the direct map is and how far it goes.
/// Every field is what the kernel set at boot; `None` = not known (no symbol, unreadable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutVars {
    pub page_offset_base: Option<u64>,
    pub vmalloc_base: Option<u64>,
    pub vmemmap_base: Option<u64>,
    pub max_pfn: Option<u64>,
}

impl LayoutVars {
    /// The direct map's bounds `[base, end)`, or `None` when they cannot be known for sure
    /// (then every address that is not in the kernel image is translated by a walk).
    ///
    /// The bounds follow the kernel's construction in `kernel_randomize_memory()`
    /// (arch/x86/mm/kaslr.c, `kaslr_regions[] = { &page_offset_base, &vmalloc_base,
    /// &vmemmap_base }`, commit 0483e1fa6e09 "x86/mm: Implement ASLR for kernel memory
    /// regions", v4.8): the regions are placed in that order, each after the previous one's
    /// size, so the direct map ends before `vmalloc_base` and before `vmemmap_base`. It
    /// maps physical memory only up to `max_pfn` (`init_memory_mapping` over the e820 RAM
    /// ranges; the region's size is `max_pfn` rounded up to a TiB plus
    /// `CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING`). Without memory randomization the
    /// variables still exist (`CONFIG_DYNAMIC_MEMORY_LAYOUT`, commit a7412546d8cb, v4.17)
    /// and hold the fixed layout, where the same order holds. An address at or past the
    /// end is vmalloc, vmemmap or a hole: it is walked.
    pub fn direct_map(&self) -> Option<(u64, u64)> {
        let base = self.page_offset_base?;
        let ends = [
            self.vmalloc_base.filter(|&v| v > base),
            self.vmemmap_base.filter(|&v| v > base),
            self.max_pfn
                .and_then(|p| p.checked_mul(PAGE_SIZE))
                .and_then(|len| base.checked_add(len)),
        ];
        // At least one bound from the kernel, or the shortcut could reach into vmalloc.
        ends.into_iter().flatten().min().map(|end| (base, end))
    }
}

/// x86_64 address translation.
#[derive(Debug)]
pub struct Translator {
    cfg: TranslateConfig,
    /// The direct map's bounds `[base, end)`, once known from the kernel's variables
    /// (arm64: the linear map's).
    direct_map: OnceLock<(u64, u64)>,
    /// arm64: the kernel image `[_stext, _end)`, once known from the symbols.
    image: OnceLock<(u64, u64)>,
}

impl Translator {
    pub fn new(cfg: TranslateConfig) -> Self {
        Translator {
            cfg,
            direct_map: OnceLock::new(),
            image: OnceLock::new(),
        }
    }

    /// arm64's paging facts, when this is an arm64 kernel.
    pub fn arm64(&self) -> Option<&arm64::Arm64Paging> {
        self.cfg.arm64.as_ref()
    }

    /// arm64: enable the kernel-image shortcut for `[_stext, _end)` (the image is mapped
    /// at `kimage_voffset` from its physical load address: `__kimg_to_phys`). Until then
    /// image addresses are walked (`swapper_pg_dir` maps the image too).
    pub fn set_image(&self, start: u64, end: u64) {
        let _ = self.image.set((start, end));
    }

    pub fn config(&self) -> &TranslateConfig {
        &self.cfg
    }

    /// Enable the direct-map shortcut for `[base, end)` (see [`LayoutVars::direct_map`]).
    pub fn set_direct_map(&self, base: u64, end: u64) {
        let _ = self.direct_map.set((base, end));
    }

    /// The direct map's bounds, when the shortcut is enabled.
    pub fn direct_map(&self) -> Option<(u64, u64)> {
        self.direct_map.get().copied()
    }

    pub fn levels(&self) -> u8 {
        if let Some(a) = self.arm64() {
            return a.levels();
        }
        if self.cfg.five_level { 5 } else { 4 }
    }

    /// The lowest kernel address: the start of the upper canonical half, which depends on
    /// the paging mode (0xffff800000000000 with 4 levels, 0xff00000000000000 with 5: the
    /// 5-level direct map starts at 0xff11000000000000).
    pub fn kernel_space_start(&self) -> u64 {
        if let Some(a) = self.arm64() {
            return a.kernel_space_start();
        }
        if self.cfg.five_level {
            0xff00_0000_0000_0000
        } else {
            0xffff_8000_0000_0000
        }
    }

    /// Could `v` point to kernel data: a kernel address, 8-byte aligned. The scans of stack
    /// words for a lock or an object use this as their first filter.
    pub fn is_kernel_ptr(&self, v: u64) -> bool {
        v >= self.kernel_space_start() && v.is_multiple_of(8)
    }

    /// Is this address in the kernel image mapping (text, data, bss, modules excluded)?
    fn in_kernel_image(&self, kva: Kva) -> bool {
        // The image mapping spans __START_KERNEL_map .. +KERNEL_IMAGE_SIZE (512 MiB, or 1 GiB
        // with KASLR); modules start at MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE.
        let size = match self.cfg.kernel_image_size {
            0 => DEFAULT_KERNEL_IMAGE_SIZE,
            n => n,
        };
        kva.0 >= START_KERNEL_MAP && kva.0 - START_KERNEL_MAP < size
    }

    /// Translate without touching page tables where a fixed mapping applies.
    pub fn fast_path(&self, kva: Kva) -> Option<(Pa, Via)> {
        if let Some(a) = self.arm64() {
            if let Some(&(s, e)) = self.image.get()
                && kva.0 >= s
                && kva.0 < e
            {
                return Some((Pa(a.kimg_to_phys(kva.0)), Via::KernelImage));
            }
            let (base, end) = self.direct_map()?;
            return (kva.0 >= base && kva.0 < end)
                .then(|| (Pa(a.lm_to_phys(kva.0)), Via::LinearMap { base, end }));
        }
        if self.in_kernel_image(kva) {
            let pa = kva
                .0
                .wrapping_sub(START_KERNEL_MAP)
                .wrapping_add(self.cfg.phys_base);
            return Some((Pa(pa), Via::KernelImage));
        }
        let (base, end) = self.direct_map()?;
        (kva.0 >= base && kva.0 < end).then(|| (Pa(kva.0 - base), Via::DirectMap { base, end }))
    }

    /// Walk the page tables rooted at `init_top_pgt`.
    pub fn walk(&self, mem: &dyn PhysMem, kva: Kva) -> Result<Pa, TranslateError> {
        if let Some(a) = self.arm64() {
            let root = a
                .swapper_pg_dir
                .ok_or(TranslateError::NoPageTable("swapper_pg_dir"))?;
            let levels = a.levels();
            return arm64::walk(a, a.kimg_to_phys(root), mem, kva.0)
                .map(Pa)
                .map_err(|f| match f {
                    arm64::WalkFail::Table { level, err } => TranslateError::Table {
                        kva,
                        level,
                        levels,
                        err,
                    },
                    arm64::WalkFail::NotMapped { level } => {
                        TranslateError::NotMapped { kva, level, levels }
                    }
                });
        }
        let root = self
            .cfg
            .init_top_pgt
            .ok_or(TranslateError::NoPageTable("init_top_pgt"))?;
        let root_pa = root
            .wrapping_sub(START_KERNEL_MAP)
            .wrapping_add(self.cfg.phys_base);
        let mask = PTE_PFN_MASK & !self.cfg.sme_mask;
        let levels: &[(u8, u32)] = if self.cfg.five_level {
            &[(5, 48), (4, 39), (3, 30), (2, 21), (1, 12)]
        } else {
            &[(4, 39), (3, 30), (2, 21), (1, 12)]
        };
        let nlevels = self.levels();
        let mut table = root_pa & mask;
        for &(level, shift) in levels {
            let index = (kva.0 >> shift) & 0x1ff;
            let mut b = [0u8; 8];
            mem.read_phys(Pa(table + index * 8), &mut b)
                .map_err(|err| TranslateError::Table {
                    kva,
                    level,
                    levels: nlevels,
                    err,
                })?;
            let entry = u64::from_le_bytes(b);
            if entry & (PTE_PRESENT | PTE_PROTNONE) == 0 {
                return Err(TranslateError::NotMapped {
                    kva,
                    level,
                    levels: nlevels,
                });
            }
            let base = entry & mask;
            if (level == 3 || level == 2) && entry & PTE_PSE != 0 {
                let page_mask = (1u64 << shift) - 1;
                return Ok(Pa((base & !page_mask) | (kva.0 & page_mask)));
            }
            if level == 1 {
                return Ok(Pa(base | (kva.0 & (PAGE_SIZE - 1))));
            }
            table = base;
        }
        unreachable!("the loop returns at level 1")
    }

    /// Translate, saying which way the physical address was found.
    pub fn translate_via(&self, mem: &dyn PhysMem, kva: Kva) -> Result<(Pa, Via), TranslateError> {
        match self.fast_path(kva) {
            Some(hit) => Ok(hit),
            None => Ok((
                self.walk(mem, kva)?,
                Via::Walk {
                    levels: self.levels(),
                },
            )),
        }
    }

    pub fn translate(&self, mem: &dyn PhysMem, kva: Kva) -> Result<Pa, TranslateError> {
        self.translate_via(mem, kva).map(|(pa, _)| pa)
    }
}

/// Kernel virtual memory: a dump plus a translator.
pub struct KernelMem {
    pub dump: Arc<dyn PhysMem>,
    pub xlat: Translator,
}

impl KernelMem {
    pub fn new(dump: Arc<dyn PhysMem>, xlat: Translator) -> Self {
        KernelMem { dump, xlat }
    }

    /// Read `buf.len()` bytes at `kva`; `what` names the object for the error message
    /// (e.g. `"task_struct.comm"`).
    pub fn read(&self, kva: Kva, buf: &mut [u8], what: &str) -> Result<(), ReadError> {
        self.read_inner(kva, buf).map_err(|cause| ReadError {
            addr: kva,
            what: what.to_string(),
            cause,
        })
    }

    fn read_inner(&self, kva: Kva, buf: &mut [u8]) -> Result<(), TranslateError> {
        if let Some(r) = self.dump.read_virt_direct(kva, buf) {
            return r.map_err(TranslateError::from);
        }
        let mut done = 0usize;
        while done < buf.len() {
            let cur = kva.add(done as u64);
            let in_page = (PAGE_SIZE - (cur.0 & (PAGE_SIZE - 1))) as usize;
            let n = in_page.min(buf.len() - done);
            let (pa, via) = self.xlat.translate_via(self.dump.as_ref(), cur)?;
            self.dump
                .read_phys(pa, &mut buf[done..done + n])
                .map_err(|err| TranslateError::Read { err, via })?;
            done += n;
        }
        Ok(())
    }

    pub fn read_u64(&self, kva: Kva, what: &str) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.read(kva, &mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn read_u32(&self, kva: Kva, what: &str) -> Result<u32, ReadError> {
        let mut b = [0u8; 4];
        self.read(kva, &mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn translate(&self, kva: Kva) -> Result<Pa, TranslateError> {
        self.xlat.translate(self.dump.as_ref(), kva)
    }
}

#[cfg(test)]
mod kaslr_layouts;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Physical memory made of a few pages, built in code.
    struct Pages(HashMap<u64, Vec<u8>>);

    impl PhysMem for Pages {
        fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError> {
            let page = self
                .0
                .get(&(pa.0 & !0xfff))
                .ok_or(MemError::NotPresent(pa))?;
            let off = (pa.0 & 0xfff) as usize;
            buf.copy_from_slice(&page[off..off + buf.len()]);
            Ok(())
        }
    }

    fn put(pages: &mut Pages, pa: u64, val: u64) {
        let page = pages.0.entry(pa & !0xfff).or_insert_with(|| vec![0; 4096]);
        let off = (pa & 0xfff) as usize;
        page[off..off + 8].copy_from_slice(&val.to_le_bytes());
    }

    #[test]
    fn four_level_walk_with_huge_and_small_pages() {
        let phys_base = 0x100_0000u64;
        let pgt_kva = START_KERNEL_MAP + 0x20_0000;
        let root = pgt_kva - START_KERNEL_MAP + phys_base; // 0x1200000
        let kva: u64 = 0xffff_c900_0012_3456; // a vmalloc address
        let idx = |s: u32| (kva >> s) & 0x1ff;
        let mut m = Pages(HashMap::new());
        put(&mut m, root + idx(39) * 8, 0x2000 | 0x63);
        put(&mut m, 0x2000 + idx(30) * 8, 0x3000 | 0x63);
        put(&mut m, 0x3000 + idx(21) * 8, 0x4000 | 0x63);
        put(&mut m, 0x4000 + idx(12) * 8, 0x8000_0000_0777_7000 | 0x63); // NX bit set
        let x = Translator::new(TranslateConfig {
            phys_base,
            init_top_pgt: Some(pgt_kva),
            ..Default::default()
        });
        assert_eq!(x.walk(&m, Kva(kva)).unwrap(), Pa(0x777_7456));

        // 2 MiB page at the PMD level.
        let kva2: u64 = 0xffff_c900_0040_0010;
        put(
            &mut m,
            0x3000 + ((kva2 >> 21) & 0x1ff) * 8,
            0x4000_0000 | 0xe3,
        );
        assert_eq!(x.walk(&m, Kva(kva2)).unwrap(), Pa(0x4000_0010));

        // Not present.
        let kva3: u64 = 0xffff_c900_0060_0000;
        assert_eq!(
            x.walk(&m, Kva(kva3)),
            Err(TranslateError::NotMapped {
                kva: Kva(kva3),
                level: 2,
                levels: 4
            })
        );
        // Kernel image shortcut.
        assert_eq!(
            x.translate(&m, Kva(START_KERNEL_MAP + 0x1234)).unwrap(),
            Pa(phys_base + 0x1234)
        );
        // Module addresses right after a 512 MiB image are not in the image mapping.
        assert_eq!(x.fast_path(Kva(START_KERNEL_MAP + (512 << 20))), None);
        // Direct map shortcut once its bounds are known; past the end it walks.
        let (base, end) = (0xffff_8880_0000_0000, 0xffff_8880_2000_0000);
        x.set_direct_map(base, end);
        assert_eq!(
            x.fast_path(Kva(0xffff_8880_0123_4000)),
            Some((Pa(0x123_4000), Via::DirectMap { base, end }))
        );
        assert_eq!(x.fast_path(Kva(end)), None);
        // A failed read says how the address was translated.
        let mem = KernelMem::new(Arc::new(m), x);
        let e = mem
            .read_u64(Kva(0xffff_8880_0123_4000), "task_struct.stack")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read task_struct.stack at 0xffff888001234000: physical address 0x1234000 \
             is not in the dump (translated through the direct map \
             [0xffff888000000000, 0xffff888020000000) without a page-table walk)"
        );
        let e = mem.read_u64(Kva(kva3), "stack").unwrap_err();
        assert!(
            e.to_string().ends_with(
                "page-table entry at level 2 of 4 for 0xffffc90000600000 is not present"
            ),
            "{e}"
        );
    }
}
