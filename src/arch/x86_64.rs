//! x86_64: DWARF register numbering (System V psABI), the `user_regs_struct` layout of
//! `NT_PRSTATUS`, and the 4/5-level page-table format.

use super::{Arch, Regs};
use crate::dump::PrStatus;

pub const RAX: u16 = 0;
pub const RDX: u16 = 1;
pub const RCX: u16 = 2;
pub const RBX: u16 = 3;
pub const RSI: u16 = 4;
pub const RDI: u16 = 5;
pub const RBP: u16 = 6;
pub const RSP: u16 = 7;
pub const R8: u16 = 8;
pub const R15: u16 = 15;
/// The return address column (rip) in DWARF CFI.
pub const RIP: u16 = 16;
pub const NREGS: usize = 17;

const NAMES: [&str; NREGS] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];

/// `struct user_regs_struct` word index → DWARF register number.
/// Order: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags
/// rsp ss fs_base gs_base ds es fs gs.
const PRSTATUS_ORDER: [(usize, u16); 17] = [
    (0, 15),
    (1, 14),
    (2, 13),
    (3, 12),
    (4, RBP),
    (5, RBX),
    (6, 11),
    (7, 10),
    (8, 9),
    (9, R8),
    (10, RAX),
    (11, RCX),
    (12, RDX),
    (13, RSI),
    (14, RDI),
    (16, RIP),
    (19, RSP),
];

/// Kernel text mapping base (`__START_KERNEL_map`); fixed on x86_64.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// Physical-address bits of a page-table entry (`PTE_PFN_MASK` with 52-bit physical).
pub const PTE_PFN_MASK: u64 = 0x000f_ffff_ffff_f000;
pub const PTE_PRESENT: u64 = 1 << 0;
/// Set in a PUD/PMD entry that maps a 1 GiB / 2 MiB page directly.
pub const PTE_PSE: u64 = 1 << 7;
/// `_PAGE_PROTNONE` (bit 8, the global bit reused): a PROT_NONE entry is still present.
pub const PTE_PROTNONE: u64 = 1 << 8;

#[derive(Debug, Clone, Copy, Default)]
pub struct X86_64;

impl Arch for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }
    fn pc_reg(&self) -> u16 {
        RIP
    }
    fn sp_reg(&self) -> u16 {
        RSP
    }
    fn fp_reg(&self) -> u16 {
        RBP
    }
    fn nregs(&self) -> usize {
        NREGS
    }
    fn reg_name(&self, r: u16) -> Option<&'static str> {
        NAMES.get(r as usize).copied()
    }
    fn callee_saved(&self) -> &'static [u16] {
        // System V psABI: rbx, rbp, r12–r15.
        &[RBX, RBP, 12, 13, 14, 15]
    }
    fn regs_from_prstatus(&self, pr: &PrStatus) -> Regs {
        let mut regs = Regs::new(NREGS);
        for (word, dw) in PRSTATUS_ORDER {
            if let Some(v) = pr.regs.get(word) {
                regs.set(dw, Some(*v));
            }
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
            regs: (0..27u64).map(|i| 0x1000 + i).collect(),
            raw: vec![],
        };
        let r = X86_64.regs_from_prstatus(&pr);
        assert_eq!(r.get(RIP), Some(0x1000 + 16));
        assert_eq!(r.get(RSP), Some(0x1000 + 19));
        assert_eq!(r.get(RBP), Some(0x1000 + 4));
        assert_eq!(r.get(R15), Some(0x1000));
        assert_eq!(X86_64.reg_name(RIP), Some("rip"));
        // A short note (truncated dump) leaves the rest unknown instead of panicking.
        let short = PrStatus {
            index: 0,
            pid: 1,
            regs: vec![1, 2],
            raw: vec![],
        };
        let r = X86_64.regs_from_prstatus(&short);
        assert_eq!(r.get(RIP), None);
        assert_eq!(r.get(14), Some(2));
    }
}
