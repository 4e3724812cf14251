//! Many boots' worth of x86_64 memory layouts, computed the way the kernel computes them in
//! `kernel_randomize_memory()` (arch/x86/mm/kaslr.c, v6.1), checked against the direct-map
//! bounds the translator uses: no vmalloc, vmemmap or module address may ever be taken for a
//! direct-map one, and every direct-map address of RAM must be.
//!
//! The kernel places three regions in order from `__PAGE_OFFSET_BASE_L4/L5`, each at a random
//! PUD-aligned distance after the previous one's end:
//! ```text
//! kaslr_regions[] = { &page_offset_base, &vmalloc_base, &vmemmap_base }
//! size_tb[0] = min(1 << (MAX_PHYSMEM_BITS - 40), DIV_ROUND_UP(max_pfn << 12, 1 TiB) + PADDING)
//! size_tb[1] = VMALLOC_SIZE_TB
//! size_tb[2] = DIV_ROUND_UP(size_tb[0] TiB / 4 KiB * sizeof(struct page), 1 TiB)
//! ```

use super::*;

const TB: u64 = 1 << 40;
const PUD: u64 = 1 << 30;
/// `CPU_ENTRY_AREA_BASE` (both paging modes): the end of the randomized area.
const VADDR_END: u64 = 0xffff_fe00_0000_0000;

struct Mode {
    levels: u8,
    page_offset_base: u64,
    max_physmem_bits: u32,
    vmalloc_size_tb: u64,
}

const L4: Mode = Mode {
    levels: 4,
    page_offset_base: 0xffff_8880_0000_0000,
    max_physmem_bits: 46,
    vmalloc_size_tb: 32,
};
const L5: Mode = Mode {
    levels: 5,
    page_offset_base: 0xff11_0000_0000_0000,
    max_physmem_bits: 52,
    vmalloc_size_tb: 12800,
};

/// One boot's layout: (page_offset_base, vmalloc_base, vmemmap_base).
fn randomize(mode: &Mode, max_pfn: u64, padding_tb: u64, rng: &mut u64) -> (u64, u64, u64) {
    let mut size_tb = [
        1u64 << (mode.max_physmem_bits - 40),
        mode.vmalloc_size_tb,
        0,
    ];
    let memory_tb = ((max_pfn << 12).div_ceil(TB)) + padding_tb;
    size_tb[0] = size_tb[0].min(memory_tb);
    let vmemmap_size = (size_tb[0] << (40 - 12)) * 64; // sizeof(struct page)
    size_tb[2] = vmemmap_size.div_ceil(TB);
    let mut remain = VADDR_END - mode.page_offset_base;
    for s in size_tb {
        remain -= s * TB;
    }
    let mut vaddr = mode.page_offset_base;
    let mut bases = [0u64; 3];
    for (i, s) in size_tb.iter().enumerate() {
        let entropy = remain / (3 - i as u64);
        // xorshift64*: the kernel's prandom stream is as good as any for placement.
        *rng ^= *rng >> 12;
        *rng ^= *rng << 25;
        *rng ^= *rng >> 27;
        let rand = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let entropy_used = (rand % (entropy + 1)) & !(PUD - 1);
        vaddr += entropy_used;
        bases[i] = vaddr;
        vaddr += s * TB;
        vaddr = (vaddr + 1).div_ceil(PUD) * PUD;
        remain -= entropy_used;
    }
    (bases[0], bases[1], bases[2])
}

/// The rule the translator used before: anything within 64 TiB / 32 PiB of
/// `page_offset_base` is direct-mapped.
fn old_rule(mode: &Mode, pob: u64, kva: u64) -> bool {
    let span: u64 = if mode.levels == 5 { 1 << 55 } else { 1 << 46 };
    kva >= pob && kva - pob < span
}

#[test]
fn direct_map_bounds_hold_on_every_simulated_boot() {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mems: [u64; 6] = [512 << 20, 3 << 30, 16 << 30, 768 << 30, 6 * TB, 70 * TB];
    let mut boots = 0;
    let mut old_rule_wrong = 0;
    for mode in [&L4, &L5] {
        for &mem in &mems {
            for padding_tb in [0u64, 10] {
                for _ in 0..200 {
                    let max_pfn = mem >> 12;
                    let (pob, vmalloc, vmemmap) = randomize(mode, max_pfn, padding_tb, &mut rng);
                    let vars = LayoutVars {
                        page_offset_base: Some(pob),
                        vmalloc_base: Some(vmalloc),
                        vmemmap_base: Some(vmemmap),
                        max_pfn: Some(max_pfn),
                    };
                    let x = Translator::new(TranslateConfig {
                        five_level: mode.levels == 5,
                        kernel_image_size: 1 << 30,
                        ..Default::default()
                    });
                    let (base, end) = vars.direct_map().expect("bounds from the variables");
                    x.set_direct_map(base, end);
                    // RAM in the direct map: first and last page, and a middle one.
                    let ram_len = (max_pfn << 12).min(1 << mode.max_physmem_bits);
                    for off in [0, (ram_len / 2) & !0xfff, ram_len - 4096] {
                        let hit = x.fast_path(Kva(pob + off));
                        assert_eq!(hit.map(|h| h.0), Some(Pa(off)), "RAM at +{off:#x}");
                    }
                    // Never a vmalloc, vmemmap or module address.
                    let vmalloc_len = mode.vmalloc_size_tb * TB;
                    let others = [
                        vmalloc,
                        vmalloc + 0x1234_5000,
                        vmalloc + vmalloc_len / 2,
                        vmalloc + vmalloc_len - 4096,
                        vmemmap,
                        vmemmap + 0x40_0000,
                        START_KERNEL_MAP + (1 << 30), // MODULES_VADDR
                        START_KERNEL_MAP + (1 << 30) + 0x1000, // a module page
                    ];
                    for kva in others {
                        assert!(
                            !matches!(x.fast_path(Kva(kva)), Some((_, Via::DirectMap { .. }))),
                            "{kva:#x} taken for the direct map (pob {pob:#x}, vmalloc {vmalloc:#x})"
                        );
                        if old_rule(mode, pob, kva) {
                            old_rule_wrong += 1;
                        }
                    }
                    boots += 1;
                }
            }
        }
    }
    assert_eq!(boots, 2 * 6 * 2 * 200);
    // The old fixed-span rule took vmalloc/vmemmap addresses for direct-map ones on many of
    // these boots (every 5-level one): the bug this replaces.
    assert!(old_rule_wrong > boots, "{old_rule_wrong} of {boots}");
}

#[test]
fn direct_map_needs_a_bound_from_the_kernel() {
    let base = L4.page_offset_base;
    // page_offset_base alone: no shortcut (walk everything).
    let only_base = LayoutVars {
        page_offset_base: Some(base),
        ..Default::default()
    };
    assert_eq!(only_base.direct_map(), None);
    // max_pfn alone bounds it to RAM.
    let with_pfn = LayoutVars {
        max_pfn: Some(0x2_0000),
        ..only_base
    };
    assert_eq!(with_pfn.direct_map(), Some((base, base + 0x2000_0000)));
    // A vmalloc_base below page_offset_base (nonsense from a corrupt dump) is ignored.
    let bad = LayoutVars {
        vmalloc_base: Some(base - TB),
        ..with_pfn
    };
    assert_eq!(bad.direct_map(), Some((base, base + 0x2000_0000)));
    // An absurd max_pfn cannot overflow.
    let huge = LayoutVars {
        max_pfn: Some(u64::MAX),
        ..only_base
    };
    assert_eq!(huge.direct_map(), None);
}
