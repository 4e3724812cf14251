//! Kernel virtual → physical translation for arm64: the kernel image (`virt -
//! kimage_voffset`), the linear map (`virt - PAGE_OFFSET + PHYS_OFFSET`), both bounded by
//! what the kernel set up, and a TTBR1 walk from `swapper_pg_dir` for everything else
//! (vmalloc'd stacks, modules anywhere in vmalloc, vmemmap) in any granule (4K, 16K, 64K)
//! and with 52-bit output addresses (LPA2 for 4K/16K, LPA for 64K).
//!
//! The kernel's definitions (arch/arm64/include/asm/memory.h):
//! - `PAGE_OFFSET = -(1 << VA_BITS)` (`_PAGE_OFFSET(VA_BITS)`, the configured VA_BITS, also
//!   when the CPU runs with fewer: then `memstart_addr` is lowered so the formula holds);
//! - `__is_lm_address(a) = (a - PAGE_OFFSET) < (PAGE_END - PAGE_OFFSET)`,
//!   `PAGE_END = -(1 << (VA_BITS_MIN - 1))`, `VA_BITS_MIN` = 48 (47 with 16K pages) when
//!   `VA_BITS` > 48, else `VA_BITS`;
//! - `__lm_to_phys(a) = a - PAGE_OFFSET + PHYS_OFFSET` (6.1 writes `(a & ~PAGE_OFFSET) +
//!   PHYS_OFFSET`, the same inside the linear range); `PHYS_OFFSET` is `memstart_addr`,
//!   which VMCOREINFO states (it can be "negative" when the linear map is randomized);
//! - `__kimg_to_phys(a) = a - kimage_voffset` for the kernel image `[_stext, _end)` (what `map_kernel()` maps).
//!
//! The translation regime (Arm ARM D8): the TTBR1 region has `64 - TCR_EL1.T1SZ` bits
//! (VMCOREINFO `NUMBER(TCR_EL1_T1SZ)`, the size the CPU really uses); each level resolves
//! `granule_shift - 3` bits; descriptors are valid when bit 0 is set, bit 1 tells a table
//! from a block above the last level and must be set (page) at the last level.

use crate::arch::aarch64::{DESC_TABLE, DESC_VALID};
use crate::translate::VmcoreInfo;

/// What arm64 translation needs, from VMCOREINFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arm64Paging {
    /// log2 of the granule (12, 14 or 16), from `PAGESIZE`.
    pub page_shift: u32,
    /// The TTBR1 region's size in bits as the CPU runs it (`64 - TCR_EL1_T1SZ`).
    pub va_bits: u32,
    /// `VA_BITS` as configured (`NUMBER(VA_BITS)`): what `PAGE_OFFSET` is made of.
    pub va_bits_config: u32,
    pub kimage_voffset: u64,
    /// `PHYS_OFFSET` (`memstart_addr`).
    pub phys_offset: u64,
    /// Runtime address of `swapper_pg_dir`, the TTBR1 table.
    pub swapper_pg_dir: Option<u64>,
    /// `NUMBER(KERNELPACMASK)` (0 without pointer authentication).
    pub pac_mask: u64,
}

impl Arm64Paging {
    /// `None` when VMCOREINFO lacks `kimage_voffset` (not an arm64 kernel, or one older
    /// than v4.6, where arm64 started writing it).
    pub fn from_vmcoreinfo(vi: &VmcoreInfo) -> Option<Self> {
        let kimage_voffset = vi.number_u64("kimage_voffset")?;
        let page_shift = match vi.page_size() {
            Some(s) if s.is_power_of_two() => s.trailing_zeros(),
            _ => 12,
        };
        let va_bits_config = vi.number_u64("VA_BITS").map_or(48, |v| v as u32);
        let va_bits = vi
            .number_u64("TCR_EL1_T1SZ")
            .filter(|&t| (12..=39).contains(&t))
            .map_or(va_bits_config, |t| 64 - t as u32);
        Some(Arm64Paging {
            page_shift,
            va_bits,
            va_bits_config,
            kimage_voffset,
            phys_offset: vi.number_u64("PHYS_OFFSET").unwrap_or(0),
            swapper_pg_dir: vi.symbol("swapper_pg_dir"),
            pac_mask: vi.number_u64("KERNELPACMASK").unwrap_or(0),
        })
    }

    fn bits_per_level(&self) -> u32 {
        self.page_shift - 3
    }

    /// Levels of the TTBR1 walk: enough to resolve `va_bits` (4K: 48 → 4, 52 → 5; 16K: 47
    /// → 3, 48 → 4, 52 → 4; 64K: 42 → 2, 48 and 52 → 3).
    pub fn levels(&self) -> u8 {
        let b = self.bits_per_level();
        (self.va_bits.saturating_sub(self.page_shift)).div_ceil(b) as u8
    }

    /// 52-bit output addresses in the LPA2 format (`TCR_EL1.DS` = 1): 4K and 16K granules
    /// with a 52-bit TTBR1 region (`lpa2_is_enabled()`: the kernel uses 52-bit VAs with
    /// 4K/16K pages only when the CPU has LPA2). OA[51:50] sit in descriptor bits [9:8].
    pub fn lpa2(&self) -> bool {
        self.page_shift != 16 && self.va_bits > 48
    }

    /// `PAGE_OFFSET`: the start of the linear map.
    pub fn page_offset(&self) -> u64 {
        0u64.wrapping_sub(1u64 << self.va_bits_config.min(63))
    }

    /// `PAGE_END`: the end of the linear map's range.
    pub fn page_end(&self) -> u64 {
        let min = if self.va_bits_config > 48 {
            if self.page_shift == 14 { 47 } else { 48 }
        } else {
            self.va_bits_config
        };
        0u64.wrapping_sub(1u64 << (min - 1))
    }

    /// The first kernel (TTBR1) address the CPU translates.
    pub fn kernel_space_start(&self) -> u64 {
        0u64.wrapping_sub(1u64 << self.va_bits.min(63))
    }

    /// The linear map's bounds `[start, end)`: the kernel's `__is_lm_address` range, cut at
    /// the end of RAM (`max_pfn`, which arm64's `bootmem_init()` sets to
    /// `PFN_DOWN(memblock_end_of_DRAM())`, arch/arm64/mm/init.c) when known: past it the
    /// linear map has nothing mapped.
    pub fn linear_map(&self, max_pfn: Option<u64>) -> (u64, u64) {
        let start = self.page_offset();
        let mut end = self.page_end();
        if let Some(pfn) = max_pfn
            && let Some(pa_end) = pfn.checked_mul(1u64 << self.page_shift)
        {
            let kva_end = pa_end.wrapping_sub(self.phys_offset).wrapping_add(start);
            // Only when it lands inside the range (a damaged max_pfn is ignored).
            if kva_end > start && kva_end < end {
                end = kva_end;
            }
        }
        (start, end)
    }

    /// The physical address of a linear-map address.
    pub fn lm_to_phys(&self, kva: u64) -> u64 {
        kva.wrapping_sub(self.page_offset())
            .wrapping_add(self.phys_offset)
    }

    /// The physical address of a kernel-image address.
    pub fn kimg_to_phys(&self, kva: u64) -> u64 {
        kva.wrapping_sub(self.kimage_voffset)
    }

    /// The output address of a descriptor (a table's, a block's or a page's base).
    pub fn output_address(&self, desc: u64) -> u64 {
        let low = |hi: u32| desc & (((1u64 << hi) - 1) & !((1u64 << self.page_shift) - 1));
        if self.page_shift == 16 {
            // 64K: OA[47:16] in place, OA[51:48] in bits [15:12] (FEAT_LPA; RES0 without).
            low(48) | (((desc >> 12) & 0xf) << 48)
        } else if self.lpa2() {
            low(50) | (((desc >> 8) & 0x3) << 50)
        } else {
            low(48)
        }
    }
}

/// One step of a walk that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkFail {
    /// The table at this level could not be read.
    Table {
        level: u8,
        err: crate::dump::MemError,
    },
    /// The entry at this level is not valid (or a block where none may be).
    NotMapped { level: u8 },
}

/// Walk the TTBR1 tables from the physical address `root` for `kva`. Levels are numbered
/// as the x86_64 walk numbers them: the top is `levels()`, the last (pages) is 1.
pub fn walk(
    p: &Arm64Paging,
    root: u64,
    mem: &dyn crate::dump::PhysMem,
    kva: u64,
) -> Result<u64, WalkFail> {
    let b = p.bits_per_level();
    let levels = p.levels();
    let mut table = root;
    for level in (1..=levels).rev() {
        let shift = p.page_shift + b * (level as u32 - 1);
        // The top level resolves only what is left of va_bits (4K LPA2: 4 bits, 16 entries).
        let bits = b.min(p.va_bits.saturating_sub(shift));
        let index = (kva >> shift) & ((1u64 << bits) - 1);
        let mut buf = [0u8; 8];
        mem.read_phys(crate::addr::Pa(table + index * 8), &mut buf)
            .map_err(|err| WalkFail::Table { level, err })?;
        let desc = u64::from_le_bytes(buf);
        if desc & DESC_VALID == 0 {
            return Err(WalkFail::NotMapped { level });
        }
        let oa = p.output_address(desc);
        if level == 1 {
            if desc & DESC_TABLE == 0 {
                return Err(WalkFail::NotMapped { level });
            }
            return Ok(oa | (kva & ((1u64 << p.page_shift) - 1)));
        }
        if desc & DESC_TABLE == 0 {
            // A block: maps 1 << shift bytes.
            let m = (1u64 << shift) - 1;
            return Ok((oa & !m) | (kva & m));
        }
        table = oa;
    }
    Err(WalkFail::NotMapped { level: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Pa;
    use crate::dump::{MemError, PhysMem};
    use std::collections::HashMap;

    /// Physical memory as 8-byte words, built in code.
    struct Words(HashMap<u64, u64>);
    impl PhysMem for Words {
        fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError> {
            let w = self.0.get(&pa.0).ok_or(MemError::NotPresent(pa))?;
            buf.copy_from_slice(&w.to_le_bytes()[..buf.len()]);
            Ok(())
        }
    }

    fn paging(page_shift: u32, va_bits: u32) -> Arm64Paging {
        Arm64Paging {
            page_shift,
            va_bits,
            va_bits_config: va_bits,
            kimage_voffset: 0xffff_8000_0000_0000 - 0x4000_0000,
            phys_offset: 0x4000_0000,
            swapper_pg_dir: None,
            pac_mask: 0,
        }
    }

    /// Build a chain of tables for `kva` ending in a page at `page_pa`, the way the
    /// kernel's descriptors are written (`encode` places an output address).
    fn chain(p: &Arm64Paging, kva: u64, page_pa: u64, encode: impl Fn(u64) -> u64) -> (Words, u64) {
        let mut m = HashMap::new();
        let b = p.page_shift - 3;
        let levels = p.levels();
        let root = 0x10_0000u64;
        let mut table = root;
        for level in (1..=levels).rev() {
            let shift = p.page_shift + b * (level as u32 - 1);
            let bits = b.min(p.va_bits - shift);
            let index = (kva >> shift) & ((1 << bits) - 1);
            let next = if level == 1 {
                page_pa
            } else {
                0x20_0000 + (level as u64) * (1 << p.page_shift)
            };
            m.insert(table + index * 8, encode(next) | 0b11 | (1 << 10));
            table = next;
        }
        (Words(m), root)
    }

    #[test]
    fn levels_per_granule_and_va_size() {
        assert_eq!(paging(12, 48).levels(), 4);
        assert_eq!(paging(12, 52).levels(), 5);
        assert_eq!(paging(12, 39).levels(), 3);
        assert_eq!(paging(14, 47).levels(), 3);
        assert_eq!(paging(14, 48).levels(), 4);
        assert_eq!(paging(14, 52).levels(), 4);
        assert_eq!(paging(16, 42).levels(), 2);
        assert_eq!(paging(16, 48).levels(), 3);
        assert_eq!(paging(16, 52).levels(), 3);
    }

    #[test]
    fn four_k_48_bit_four_levels() {
        let p = paging(12, 48);
        let kva = 0xffff_8000_8012_3456;
        let (m, root) = chain(&p, kva, 0x4567_8000, |a| a);
        assert_eq!(walk(&p, root, &m, kva), Ok(0x4567_8456));
        // Bits [9:8] are shareability here, not address bits.
        let (m, root) = chain(&p, kva, 0x4567_8000, |a| a | (3 << 8));
        assert_eq!(walk(&p, root, &m, kva), Ok(0x4567_8456));
        // Another address under the same tables is not mapped at the last level.
        assert!(matches!(
            walk(&p, root, &m, kva + 0x1000),
            Err(WalkFail::Table { level: 1, .. })
        ));
    }

    #[test]
    fn four_k_52_bit_lpa2_five_levels() {
        let p = paging(12, 52);
        assert!(p.lpa2());
        assert_eq!(p.page_offset(), 0xfff0_0000_0000_0000);
        assert_eq!(p.kernel_space_start(), 0xfff0_0000_0000_0000);
        // A page above 1 PiB: OA[51:50] go to bits [9:8].
        let pa = 0x000c_0012_3456_7000u64;
        let enc = |a: u64| (a & 0x0003_ffff_ffff_f000) | (((a >> 50) & 3) << 8);
        let kva = 0xfff0_8000_0000_0abc;
        let (m, root) = chain(&p, kva, pa, enc);
        assert_eq!(walk(&p, root, &m, kva), Ok(pa | 0xabc));
    }

    #[test]
    fn sixteen_k_granule() {
        let p = paging(14, 48);
        assert!(!p.lpa2());
        let kva = 0xffff_8000_1234_5678;
        let (m, root) = chain(&p, kva, 0x4000_c000, |a| a);
        assert_eq!(walk(&p, root, &m, kva), Ok(0x4000_c000 | (kva & 0x3fff)));
        // 52-bit VA with 16K pages is LPA2 too.
        let p = paging(14, 52);
        assert!(p.lpa2());
        let pa = 0x0008_0000_4000_4000u64;
        let enc = |a: u64| (a & 0x0003_ffff_ffff_c000) | (((a >> 50) & 3) << 8);
        let kva = 0xfff8_0000_0000_1234;
        let (m, root) = chain(&p, kva, pa, enc);
        assert_eq!(walk(&p, root, &m, kva), Ok(pa | 0x1234));
    }

    #[test]
    fn sixty_four_k_granule_with_52_bit_pa() {
        let p = paging(16, 48);
        assert_eq!(p.levels(), 3);
        let kva = 0xffff_8000_1234_5678;
        let (m, root) = chain(&p, kva, 0x4001_0000, |a| a);
        assert_eq!(walk(&p, root, &m, kva), Ok(0x4001_0000 | (kva & 0xffff)));
        // FEAT_LPA: OA[51:48] in bits [15:12].
        let pa = 0x000f_0000_4002_0000u64;
        let enc = |a: u64| (a & 0x0000_ffff_ffff_0000) | (((a >> 48) & 0xf) << 12);
        let (m, root) = chain(&p, kva, pa, enc);
        assert_eq!(walk(&p, root, &m, kva), Ok(pa | (kva & 0xffff)));
    }

    #[test]
    fn blocks_and_invalid_entries() {
        let p = paging(12, 48);
        let kva = 0xffff_0000_0123_4567u64;
        let b = 9;
        let idx = |level: u32| (kva >> (12 + b * (level - 1))) & 0x1ff;
        let mut m = HashMap::new();
        let root = 0x10_0000u64;
        m.insert(root + idx(4) * 8, 0x20_0000 | 0b11);
        m.insert(0x20_0000 + idx(3) * 8, 0x30_0000 | 0b11);
        // A 2 MiB block at level 2.
        m.insert(0x30_0000 + idx(2) * 8, 0x4000_0000 | 0b01);
        let w = Words(m);
        assert_eq!(walk(&p, root, &w, kva), Ok(0x4000_0000 | (kva & 0x1f_ffff)));
        // An invalid entry names its level; an unreadable table too.
        let other = kva + (1 << 30);
        assert!(matches!(
            walk(&p, root, &w, other),
            Err(WalkFail::Table { level: 3, .. })
        ));
        let mut w = w;
        w.0.insert(0x20_0000 + ((other >> 30) & 0x1ff) * 8, 0x50_0000 | 0b10);
        assert_eq!(
            walk(&p, root, &w, other),
            Err(WalkFail::NotMapped { level: 3 })
        );
    }

    #[test]
    fn linear_map_and_image_formulas() {
        // bookworm-arm64 (48-bit): PHYS_OFFSET 0x40000000, RAM 512 MiB.
        let mut p = paging(12, 48);
        p.kimage_voffset = 0xffff_bb79_5260_0000;
        assert_eq!(p.page_offset(), 0xffff_0000_0000_0000);
        assert_eq!(p.page_end(), 0xffff_8000_0000_0000);
        let max_pfn = (0x4000_0000u64 + (512 << 20)) >> 12;
        assert_eq!(
            p.linear_map(Some(max_pfn)),
            (0xffff_0000_0000_0000, 0xffff_0000_2000_0000)
        );
        assert_eq!(p.lm_to_phys(0xffff_0000_0227_b0c0), 0x4227_b0c0);
        assert_eq!(p.kimg_to_phys(0xffff_bb79_9402_8c80), 0x41a2_8c80);
        // trixie-arm64-a57: VA_BITS 52 configured, 48 run, memstart_addr lowered.
        let mut p = paging(12, 48);
        p.va_bits_config = 52;
        p.phys_offset = 0xfff0_c2df_c000_0000;
        assert!(!p.lpa2());
        assert_eq!(p.levels(), 4);
        assert_eq!(p.kernel_space_start(), 0xffff_0000_0000_0000);
        assert_eq!(p.lm_to_phys(0xffff_3d20_8000_0000), 0x4000_0000);
        // A max_pfn that lands outside the range (here below PHYS_OFFSET) is ignored.
        let p = paging(12, 48);
        assert_eq!(p.linear_map(Some(0)).1, p.page_end());
    }
}
