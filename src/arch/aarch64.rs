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
