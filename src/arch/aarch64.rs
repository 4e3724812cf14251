//! aarch64: DWARF register numbering (AAPCS64 DWARF: x0–x30 = 0–30, sp = 31; the pc has no
//! DWARF number, quiesce keeps it in column 32), the `user_pt_regs` layout of `NT_PRSTATUS`
//! (`regs[31], sp, pc, pstate`: arch/arm64/include/uapi/asm/ptrace.h), the stage-1
//! translation-table descriptor format and pointer-authentication stripping.

use super::{Arch, Regs};
use crate::dump::PrStatus;

pub const X0: u16 = 0;
/// The callee-saved registers `cpu_context` holds start here (x19–x28).
pub const X19: u16 = 19;
/// The frame pointer.
pub const X29: u16 = 29;
/// The link register.
pub const X30: u16 = 30;
pub const SP: u16 = 31;
/// The program counter's column (DWARF for AArch64 gives it no number; 32 is free: the
/// next numbers, 33–, are reserved/ELR_mode and unused by kernel CFI).
pub const PC: u16 = 32;
pub const NREGS: usize = 33;

/// `user_pt_regs` word index of sp, pc and pstate.
const PR_SP: usize = 31;
const PR_PC: usize = 32;
pub const PR_PSTATE: usize = 33;

const NAMES: [&str; NREGS] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "x30", "sp", "pc",
];

/// Stage-1 descriptor bits (Arm ARM D8.3, "Translation table descriptor formats").
/// Bit 0: valid.
pub const DESC_VALID: u64 = 1 << 0;
/// Bit 1 at levels 0–2: table (1) or block (0); at level 3 it must be 1 (page).
pub const DESC_TABLE: u64 = 1 << 1;

/// `PSR_MODE_MASK` and the EL0 mode (`PSR_MODE_EL0t` = 0): a `pt_regs` from user mode.
pub const PSR_MODE_MASK: u64 = 0xf;

/// Strip a pointer-authentication code from a kernel return address: the kernel's own
/// `ptrauth_strip_kernel_insn_pac()` (arch/arm64/include/asm/pointer_auth.h) ORs in
/// `ptrauth_kernel_pac_mask()`, which VMCOREINFO states as `NUMBER(KERNELPACMASK)`
/// (arch/arm64/kernel/vmcore_info.c). Without PAC the mask is 0 and kernel addresses are
/// unchanged; `va_bits` (the TTBR1 size) gives the mask when the dump does not say: every
/// bit above the virtual address is 1 in a kernel address.
pub fn strip_pac(addr: u64, pac_mask: u64, va_bits: u32) -> u64 {
    let mask = if pac_mask != 0 {
        pac_mask
    } else if (1..64).contains(&va_bits) {
        !((1u64 << va_bits) - 1)
    } else {
        0
    };
    // Bit 55 selects TTBR1 (kernel) or TTBR0 (user): only kernel addresses get the mask.
    if addr & (1 << 55) != 0 {
        addr | mask
    } else {
        addr
    }
}

/// The globals a function's code names. AArch64 code (`-mcmodel=small`, kernel and
/// modules) forms an address with `adrp xN, sym` and `add xN, xN, #:lo12:sym` (or a
/// load/store `[xN, #:lo12:sym]`). With GCC's section anchors (on by default at -O2) the
/// pair forms the address of an anchor (`.LANCHOR0`, the start of the object file's
/// section) kept in a register, and each global is `add xM, xN, #offset` from it: so
/// values are followed through registers (a linear scan; `bl`/`blr` clobber x0–x18), and a
/// value used as a base for a non-zero offset is an anchor, not a reference to the object
/// that happens to sit at it. `code` starts at `start`.
///
/// Encodings (Arm ARM C6.2): ADRP `1 immlo(2) 10000 immhi(19) Rd`, page = (pc & ~0xfff) +
/// (sign-extended imm << 12); ADD (immediate, 64-bit) `1 0 0 100010 sh imm12 Rn Rd`;
/// LDR/STR (unsigned immediate, 64-bit) `11 111 0 01 0x imm12 Rn Rt`, offset imm12 × 8;
/// MOV (register) = ORR `10101010000 Rm 000000 11111 Rd`; BL `100101 imm26`; BLR
/// `1101011000111111000000 Rn 00000`.
pub fn global_references(code: &[u8], start: u64) -> Vec<u64> {
    // (value, used as a base with a non-zero offset, is a reference candidate)
    let mut defs: Vec<(u64, bool, bool)> = Vec::new();
    let mut regs: [Option<usize>; 32] = [None; 32];
    let mut loads = Vec::new();
    for (i, c) in code.chunks_exact(4).enumerate() {
        let w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let rd = (w & 0x1f) as usize;
        let rn = ((w >> 5) & 0x1f) as usize;
        let imm12 = ((w >> 10) & 0xfff) as u64;
        if w & 0x9f00_0000 == 0x9000_0000 {
            let imm = ((((w >> 5) & 0x7_ffff) as u64) << 2) | ((w >> 29) & 0x3) as u64;
            let off = (((imm << 43) as i64) >> 43) << 12;
            let pc = start + 4 * i as u64;
            defs.push(((pc & !0xfff).wrapping_add(off as u64), false, false));
            regs[rd] = Some(defs.len() - 1);
        } else if w & 0xff80_0000 == 0x9100_0000 {
            // ADD (immediate), 64-bit, sh in bit 22.
            let imm = if w & (1 << 22) != 0 {
                imm12 << 12
            } else {
                imm12
            };
            match regs[rn] {
                Some(d) if rd != 31 => {
                    let v = defs[d].0.wrapping_add(imm);
                    // The first add after an adrp completes the address; later ones
                    // offset from it, which makes it a base.
                    if imm != 0 && defs[d].2 {
                        defs[d].1 = true;
                    }
                    defs.push((v, false, true));
                    regs[rd] = Some(defs.len() - 1);
                }
                _ if rd != 31 => regs[rd] = None,
                _ => {}
            }
        } else if w & 0xffc0_0000 == 0xf940_0000 || w & 0xffc0_0000 == 0xf900_0000 {
            if let Some(d) = regs[rn] {
                if imm12 != 0 && defs[d].2 {
                    defs[d].1 = true;
                }
                loads.push(defs[d].0.wrapping_add(imm12 * 8));
            }
            if w & 0x0040_0000 != 0 {
                regs[rd] = None;
            }
        } else if w & 0xffe0_ffe0 == 0xaa00_03e0 {
            regs[rd] = regs[((w >> 16) & 0x1f) as usize];
        } else if w & 0xfc00_0000 == 0x9400_0000 || w & 0xffff_fc1f == 0xd63f_0000 {
            for r in regs.iter_mut().take(19) {
                *r = None;
            }
            regs[30] = None;
        } else if w & 0x1c00_0000 == 0x1000_0000 || w & 0x0e00_0000 == 0x0a00_0000 {
            // Other data processing (immediate or register) writes Rd; loads and stores,
            // branches and SIMD leave the general registers we follow alone (an `ldp` in
            // an early-return epilogue must not drop the anchor the rest still uses).
            regs[rd] = None;
        }
    }
    defs.iter()
        .filter(|d| d.2 && !d.1)
        .map(|d| d.0)
        .chain(loads)
        .collect()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Aarch64;

impl Arch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }
    fn pc_reg(&self) -> u16 {
        PC
    }
    fn sp_reg(&self) -> u16 {
        SP
    }
    fn fp_reg(&self) -> u16 {
        X29
    }
    fn nregs(&self) -> usize {
        NREGS
    }
    fn reg_name(&self, r: u16) -> Option<&'static str> {
        NAMES.get(r as usize).copied()
    }
    fn callee_saved(&self) -> &'static [u16] {
        // AAPCS64: x19–x28 and the frame pointer x29.
        &[19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]
    }
    fn regs_from_prstatus(&self, pr: &PrStatus) -> Regs {
        let mut regs = Regs::new(NREGS);
        for (i, v) in pr.regs.iter().enumerate().take(PR_PC + 1) {
            let dw = match i {
                0..=30 => i as u16,
                PR_SP => SP,
                PR_PC => PC,
                _ => continue,
            };
            regs.set(dw, Some(*v));
        }
        regs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prstatus_words_map_to_dwarf_numbers() {
        let pr = PrStatus {
            index: 0,
            pid: 1,
            regs: (0..34u64).map(|i| 0x1000 + i).collect(),
            raw: vec![],
        };
        let r = Aarch64.regs_from_prstatus(&pr);
        assert_eq!(r.get(X0), Some(0x1000));
        assert_eq!(r.get(X29), Some(0x1000 + 29));
        assert_eq!(r.get(X30), Some(0x1000 + 30));
        assert_eq!(r.get(SP), Some(0x1000 + 31));
        assert_eq!(r.get(PC), Some(0x1000 + 32));
        assert_eq!(Aarch64.reg_name(SP), Some("sp"));
        assert_eq!(Aarch64.reg_name(X29), Some("x29"));
        let short = PrStatus {
            index: 0,
            pid: 1,
            regs: vec![1, 2],
            raw: vec![],
        };
        let r = Aarch64.regs_from_prstatus(&short);
        assert_eq!(r.get(PC), None);
        assert_eq!(r.get(1), Some(2));
    }

    #[test]
    fn adrp_add_names_a_global() {
        // At 0xffff800008001000: adrp x0, 0xffff800009234000; add x0, x0, #0x568;
        // bl …; ldr x1, [x19, #16] (another base: ignored).
        let start = 0xffff_8000_0800_1000u64;
        let page_delta = (0xffff_8000_0923_4000u64 - 0xffff_8000_0800_1000) >> 12; // 0x1233
        let immlo = (page_delta & 3) as u32;
        let immhi = (page_delta >> 2) as u32;
        let adrp = 0x9000_0000 | (immlo << 29) | (immhi << 5);
        let add = 0x9100_0000 | (0x568 << 10);
        let bl = 0x9400_0010u32;
        let ldr = 0xf940_0000 | (2 << 10) | (19 << 5) | 1;
        let code: Vec<u8> = [adrp, add, bl, ldr]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let refs = global_references(&code, start);
        assert!(refs.contains(&0xffff_8000_0923_4568), "{refs:x?}");
        assert!(!refs.contains(&(0xffff_8000_0923_4000 + 16)));
        // A section anchor in x19: `adrp x19; add x19, x19, #0x10; add x0, x19, #0x40`
        // names anchor+0x40, not the object at the anchor itself.
        let adrp19 = adrp | 19;
        let add19 = 0x9100_0000 | (0x10 << 10) | (19 << 5) | 19;
        let add0 = 0x9100_0000 | (0x40 << 10) | (19 << 5);
        let code: Vec<u8> = [adrp19, add19, add0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let refs = global_references(&code, 0xffff_8000_0800_1000);
        assert!(refs.contains(&0xffff_8000_0923_4050), "{refs:x?}");
        assert!(!refs.contains(&0xffff_8000_0923_4010), "{refs:x?}");
        // A negative page offset.
        let start = 0xffff_8000_0923_4000u64;
        let back = (-(0x1233i64)) as u64 & 0x1f_ffff;
        let adrp = 0x9000_0000 | (((back & 3) as u32) << 29) | (((back >> 2) as u32) << 5) | 2;
        let ldr = 0xf940_0000 | (3 << 10) | (2 << 5) | 4;
        let code: Vec<u8> = [adrp, ldr].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert!(global_references(&code, start).contains(&(0xffff_8000_0800_1000 + 24)));
    }

    #[test]
    fn pac_is_stripped_from_kernel_addresses_only() {
        // A PAC-signed LR as the fixtures hold it (48-bit VA, KERNELPACMASK 0xffff…).
        let signed = 0x003c_bb79_933b_55c0;
        // Bit 55 is 1 in a signed kernel address (it is kept by PAC).
        assert_eq!(
            strip_pac(signed | (1 << 55), 0xffff_0000_0000_0000, 48),
            0xffff_bb79_933b_55c0
        );
        // No PAC: already canonical.
        assert_eq!(
            strip_pac(0xffff_bb79_933b_55c0, 0, 48),
            0xffff_bb79_933b_55c0
        );
        // 52-bit VA: the mask from va_bits when VMCOREINFO has none.
        assert_eq!(
            strip_pac(0x00f0_8000_0000_1000 | (1 << 55), 0, 52) >> 52,
            0xfff
        );
        // User addresses are left alone.
        assert_eq!(
            strip_pac(0x0000_aaaa_0000_1000, 0xffff_0000_0000_0000, 48),
            0x0000_aaaa_0000_1000
        );
    }
}
