//! Architecture interfaces: register layout and DWARF numbering, `NT_PRSTATUS` → registers,
//! and the page-table format. One implementation per architecture (x86_64 now; aarch64 is
//! the next one and must fit the same trait).

pub mod aarch64;
pub mod x86_64;

use crate::dump::PrStatus;

/// A register file indexed by DWARF register number. `None` = unknown (not recovered).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regs {
    values: Vec<Option<u64>>,
}

impl Regs {
    pub fn new(nregs: usize) -> Self {
        Regs {
            values: vec![None; nregs],
        }
    }
    pub fn get(&self, dwarf_reg: u16) -> Option<u64> {
        self.values.get(dwarf_reg as usize).copied().flatten()
    }
    pub fn set(&mut self, dwarf_reg: u16, v: Option<u64>) {
        let i = dwarf_reg as usize;
        if i >= self.values.len() {
            self.values.resize(i + 1, None);
        }
        self.values[i] = v;
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }
}

/// What the rest of quiesce needs to know about a CPU architecture.
pub trait Arch: Send + Sync {
    fn name(&self) -> &'static str;
    /// DWARF register numbers of the program counter, stack pointer and frame pointer.
    fn pc_reg(&self) -> u16;
    fn sp_reg(&self) -> u16;
    fn fp_reg(&self) -> u16;
    /// Number of DWARF registers tracked.
    fn nregs(&self) -> usize;
    /// DWARF register number → the name the user knows ("rip", "x29").
    fn reg_name(&self, dwarf_reg: u16) -> Option<&'static str>;
    /// The callee-saved registers of the kernel's calling convention, by DWARF number: what
    /// a caller's frame can recover from its callee's CFI.
    fn callee_saved(&self) -> &'static [u16];
    /// Registers saved in a CPU's `NT_PRSTATUS` note (the `pr_reg` words).
    fn regs_from_prstatus(&self, pr: &PrStatus) -> Regs;
}

/// The architecture of a dump's machine (ELF `e_machine`, kdump `utsname.machine` or its
/// notes and VMCOREINFO: `dump::Dump::machine`). Anything not arm64 is read as x86_64, the
/// one other architecture quiesce knows.
pub fn for_machine(m: crate::dump::Machine) -> &'static dyn Arch {
    match m {
        crate::dump::Machine::Aarch64 => &aarch64::Aarch64,
        _ => &x86_64::X86_64,
    }
}
