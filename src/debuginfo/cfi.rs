//! DWARF call-frame information (`.debug_frame`) of the vmlinux and modules, used only to learn
//! where a function saved its caller's callee-saved registers: the stack walk itself uses ORC.
//! FDEs are indexed once per image on first use (sorted by address); one lookup parses one FDE.

use super::DebugInfo;
use super::image::{Image, R};
use gimli::{BaseAddresses, CfaRule, DebugFrame, Reader, RegisterRule, Section, UnwindSection};

/// How to recover one register of the caller, from the callee's row at its pc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegRule {
    /// No rule: unchanged from the callee's value (`DW_CFA_same_value`, or no rule for a
    /// callee-saved register).
    SameValue,
    /// Not recoverable (`DW_CFA_undefined`).
    Undefined,
    /// Saved at `CFA + n`.
    AtCfa(i64),
    /// Equal to `CFA + n`.
    CfaPlus(i64),
    /// Held in another register of the callee.
    InRegister(u16),
    /// Saved at the address a DWARF expression computes (`DW_CFA_expression`, evaluated
    /// with the callee's registers and the CFA pushed first). GCC writes these for the
    /// callee-saved registers of functions that realign the stack through a DRAP register
    /// (`rbx` at `rbp - 8`).
    AtExpression(std::sync::Arc<[u8]>),
    /// Equal to what a DWARF expression computes (`DW_CFA_val_expression`).
    ValExpression(std::sync::Arc<[u8]>),
    /// An architectural rule: not evaluated.
    Unsupported,
}

/// The CFI row at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfiRow {
    /// `CFA = reg + offset`, when the rule is that simple.
    pub cfa: Option<(u16, i64)>,
    pub rules: Vec<(u16, RegRule)>,
}

impl CfiRow {
    /// The rule for `reg` (registers without a rule keep their value).
    pub fn rule(&self, reg: u16) -> RegRule {
        self.rules
            .iter()
            .find(|(r, _)| *r == reg)
            .map(|(_, x)| x.clone())
            .unwrap_or(RegRule::SameValue)
    }
}

impl Image {
    fn debug_frame(&self) -> Option<DebugFrame<R>> {
        let data = self
            .sections
            .iter()
            .find(|s| s.name == ".debug_frame")?
            .data?;
        let endian = self.dwarf().debug_info.reader().endian();
        let mut f = DebugFrame::new(data, endian);
        f.set_address_size(8);
        // arm64 kernels sign return addresses: GCC writes DW_CFA_AARCH64_negate_ra_state
        // (0x2d, SPARC's GNU_window_save elsewhere), which gimli parses only for AArch64.
        if object::Object::architecture(&self.obj) == object::Architecture::Aarch64 {
            f.set_vendor(gimli::Vendor::AArch64);
        }
        Some(f)
    }

    fn cfi_index(&self) -> &[(u64, u64, usize)] {
        self.cfi_index.get_or_init(|| {
            let Some(f) = self.debug_frame() else {
                return Vec::new();
            };
            let bases = BaseAddresses::default();
            let mut v = Vec::new();
            let mut entries = f.entries(&bases);
            // Bounded: a damaged section stops the scan, it does not loop.
            while let Ok(Some(e)) = entries.next() {
                if let gimli::CieOrFde::Fde(p) = e
                    && let Ok(fde) = p.parse(DebugFrame::cie_from_offset)
                    && fde.len() > 0
                    && fde.initial_address() != 0
                {
                    let start = fde.initial_address();
                    v.push((start, start.saturating_add(fde.len()), fde.offset()));
                }
            }
            v.sort_unstable();
            v
        })
    }

    pub(crate) fn cfi_row(&self, addr: u64) -> Option<CfiRow> {
        let idx = self.cfi_index();
        let n = idx.partition_point(|e| e.0 <= addr);
        let &(_, end, off) = idx[..n].iter().rev().take(4).find(|e| addr < e.1)?;
        debug_assert!(addr < end);
        let f = self.debug_frame()?;
        let bases = BaseAddresses::default();
        let fde = f
            .fde_from_offset(&bases, off.into(), DebugFrame::cie_from_offset)
            .ok()?;
        let mut ctx = Box::new(gimli::UnwindContext::new());
        let row = fde
            .unwind_info_for_address(&f, &bases, &mut ctx, addr)
            .ok()?;
        let cfa = match row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => Some((register.0, *offset)),
            CfaRule::Expression(_) => None,
        };
        let rules = row
            .registers()
            .map(|(r, rule)| {
                let rr = match rule {
                    RegisterRule::Undefined => RegRule::Undefined,
                    RegisterRule::SameValue => RegRule::SameValue,
                    RegisterRule::Offset(n) => RegRule::AtCfa(*n),
                    RegisterRule::ValOffset(n) => RegRule::CfaPlus(*n),
                    RegisterRule::Register(x) => RegRule::InRegister(x.0),
                    RegisterRule::Expression(e) => match e.get(&f) {
                        Ok(x) => RegRule::AtExpression(x.0.slice().into()),
                        Err(_) => RegRule::Unsupported,
                    },
                    RegisterRule::ValExpression(e) => match e.get(&f) {
                        Ok(x) => RegRule::ValExpression(x.0.slice().into()),
                        Err(_) => RegRule::Unsupported,
                    },
                    _ => RegRule::Unsupported,
                };
                (r.0, rr)
            })
            .collect();
        Some(CfiRow { cfa, rules })
    }
}

impl DebugInfo {
    /// The `.debug_frame` row covering `addr` (a vmlinux link address or a module runtime
    /// address), `None` when no FDE covers it.
    pub fn cfi_row(&self, addr: u64) -> Option<CfiRow> {
        let img = self.images.iter().find(|i| i.contains(addr))?;
        img.cfi_row(addr)
    }
}
