//! Kernel virtual → physical translation for x86_64: the kernel text mapping
//! (`__START_KERNEL_map` + `phys_base`), the direct map (`page_offset_base`) and a 4- or
//! 5-level page-table walk from `init_top_pgt`. KASLR and `phys_base` come from VMCOREINFO.
//!
//! [`KernelMem`] puts a byte source and a translator together and is what the kernel model
//! reads through: `read(kva, buf, what)` with errors that say what was being read.

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
    #[error("{0}")]
    Mem(#[from] MemError),
    #[error("page-table entry at level {level} for {kva} is not present")]
    NotMapped { kva: Kva, level: u8 },
    #[error("no page table root (VMCOREINFO lacks SYMBOL(init_top_pgt))")]
    NoPageTable,
}

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
}

impl TranslateConfig {
    pub fn from_vmcoreinfo(vi: &VmcoreInfo) -> Self {
        TranslateConfig {
            kaslr_offset: vi.kernel_offset().unwrap_or(0),
            phys_base: vi.number("phys_base").unwrap_or(0) as u64,
            init_top_pgt: vi.symbol("init_top_pgt"),
            five_level: vi.number("pgtable_l5_enabled").unwrap_or(0) != 0,
            sme_mask: vi.number("sme_mask").unwrap_or(0) as u64,
        }
    }
}

/// x86_64 address translation.
#[derive(Debug)]
pub struct Translator {
    cfg: TranslateConfig,
    /// The direct map base (`page_offset_base`), once known; used as a shortcut.
    page_offset_base: OnceLock<u64>,
}

impl Translator {
    pub fn new(cfg: TranslateConfig) -> Self {
        Translator {
            cfg,
            page_offset_base: OnceLock::new(),
        }
    }

    pub fn config(&self) -> &TranslateConfig {
        &self.cfg
    }

    /// Record the direct-map base read from the kernel's `page_offset_base` variable.
    pub fn set_page_offset_base(&self, v: u64) {
        let _ = self.page_offset_base.set(v);
    }

    pub fn page_offset_base(&self) -> Option<u64> {
        self.page_offset_base.get().copied()
    }

    /// Is this address in the kernel image mapping (text, data, bss, modules excluded)?
    fn in_kernel_image(&self, kva: Kva) -> bool {
        // The image mapping spans __START_KERNEL_map .. +KERNEL_IMAGE_SIZE (1 GiB max);
        // modules start at MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE.
        kva.0 >= START_KERNEL_MAP && kva.0 < START_KERNEL_MAP + (1 << 30)
    }

    /// Translate without touching page tables where a fixed mapping applies.
    pub fn fast_path(&self, kva: Kva) -> Option<Pa> {
        if self.in_kernel_image(kva) {
            return Some(Pa(kva
                .0
                .wrapping_sub(START_KERNEL_MAP)
                .wrapping_add(self.cfg.phys_base)));
        }
        if let Some(pob) = self.page_offset_base() {
            // The direct map covers at most 64 TiB (4-level) / 32 PiB (5-level).
            let span: u64 = if self.cfg.five_level {
                1 << 55
            } else {
                1 << 46
            };
            if kva.0 >= pob && kva.0 - pob < span {
                return Some(Pa(kva.0 - pob));
            }
        }
        None
    }

    /// Walk the page tables rooted at `init_top_pgt`.
    pub fn walk(&self, mem: &dyn PhysMem, kva: Kva) -> Result<Pa, TranslateError> {
        let root = self.cfg.init_top_pgt.ok_or(TranslateError::NoPageTable)?;
        let root_pa = root
            .wrapping_sub(START_KERNEL_MAP)
            .wrapping_add(self.cfg.phys_base);
        let mask = PTE_PFN_MASK & !self.cfg.sme_mask;
        let levels: &[(u8, u32)] = if self.cfg.five_level {
            &[(5, 48), (4, 39), (3, 30), (2, 21), (1, 12)]
        } else {
            &[(4, 39), (3, 30), (2, 21), (1, 12)]
        };
        let mut table = root_pa & mask;
        for &(level, shift) in levels {
            let index = (kva.0 >> shift) & 0x1ff;
            let mut b = [0u8; 8];
            mem.read_phys(Pa(table + index * 8), &mut b)?;
            let entry = u64::from_le_bytes(b);
            if entry & (PTE_PRESENT | PTE_PROTNONE) == 0 {
                return Err(TranslateError::NotMapped { kva, level });
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

    pub fn translate(&self, mem: &dyn PhysMem, kva: Kva) -> Result<Pa, TranslateError> {
        match self.fast_path(kva) {
            Some(pa) => Ok(pa),
            None => self.walk(mem, kva),
        }
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
            let pa = self.xlat.translate(self.dump.as_ref(), cur)?;
            self.dump.read_phys(pa, &mut buf[done..done + n])?;
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
                level: 2
            })
        );
        // Kernel image shortcut.
        assert_eq!(
            x.translate(&m, Kva(START_KERNEL_MAP + 0x1234)).unwrap(),
            Pa(phys_base + 0x1234)
        );
        // Direct map shortcut once page_offset_base is known.
        x.set_page_offset_base(0xffff_8880_0000_0000);
        assert_eq!(
            x.fast_path(Kva(0xffff_8880_0123_4000)),
            Some(Pa(0x123_4000))
        );
    }
}
