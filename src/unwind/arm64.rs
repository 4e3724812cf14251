//! The arm64 stack walker: AAPCS64 frame records (`x29` points at `{caller's x29, x30}`),
//! return addresses stripped of their pointer-authentication code, DWARF CFI first where
//! the debug info has a row (leaf functions and prologues, whose return address is still
//! in `x30`), exception boundaries through the `pt_regs` the entry code saved.
//!
//! Exception entry (arch/arm64/kernel/entry.S `kernel_entry`): up to 6.12 an EL1 exception
//! writes the frame record `{x29, elr}` into `pt_regs->stackframe` and points x29 at it, so
//! the record after the vector (`el1h_64_irq`, `el1h_64_sync`, …) lies inside a `pt_regs`;
//! EL0 entries and new tasks write a zero "final" record. Since 6.13 (commit
//! "arm64: stacktrace: unwind exception boundaries") every entry writes a zero record
//! followed by a type, `struct frame_record_meta` (`FRAME_META_TYPE_FINAL` = 1,
//! `FRAME_META_TYPE_PT_REGS` = 2), and the unwinder continues from the `pt_regs` it marks.
//!
//! Pure logic over small interfaces, tested on stacks built in code.

use super::walk::{FrameSource, RawFrame, StackEnd, StackMemory};
use crate::arch::Regs;
use crate::arch::aarch64::{NREGS, PC, PSR_MODE_MASK, SP, X29, X30, strip_pac};
use crate::debuginfo::{CfiRow, RegRule};
use std::collections::HashSet;

/// `struct pt_regs` offsets (from the debug info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtRegs {
    /// `regs[0]`; `regs[n]` is at `regs + 8n`.
    pub regs: u64,
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    /// `stackframe`: the frame record the entry code writes.
    pub stackframe: Option<u64>,
    /// `stackframe.type` (6.13+ `struct frame_record_meta`).
    pub meta_type: Option<u64>,
}

impl Default for PtRegs {
    /// `user_pt_regs` has not moved since arm64 was merged (3.7); `stackframe` has.
    fn default() -> Self {
        PtRegs {
            regs: 0,
            sp: 248,
            pc: 256,
            pstate: 264,
            stackframe: None,
            meta_type: None,
        }
    }
}

pub const FRAME_META_TYPE_FINAL: u64 = 1;
pub const FRAME_META_TYPE_PT_REGS: u64 = 2;

/// Where the walk is.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub pc: u64,
    pub sp: u64,
    pub fp: u64,
    /// x30 when known (NT_PRSTATUS, a `pt_regs`): the return address of a leaf.
    pub lr: Option<u64>,
    /// Every register value known here (see [`RawFrame::regs`]).
    pub known: Regs,
}

pub struct Walker<'a> {
    pub mem: &'a dyn StackMemory,
    /// The CFI row for a runtime pc, `None` when no FDE covers it.
    pub cfi: &'a dyn Fn(u64) -> Option<CfiRow>,
    pub is_text: &'a dyn Fn(u64) -> bool,
    /// The start of the function holding a pc (its symbol), when known.
    pub function_start: &'a dyn Fn(u64) -> Option<u64>,
    /// Is this pc inside an EL1 exception vector entry (`el1h_64_irq`…)?
    pub is_exception_entry: &'a dyn Fn(u64) -> bool,
    pub pt_regs: PtRegs,
    pub pac_mask: u64,
    pub va_bits: u32,
    pub max_frames: usize,
}

enum Step {
    Next {
        st: State,
        how: FrameSource,
        exact: bool,
        regs_at: Option<u64>,
        cfa: u64,
    },
    End(StackEnd),
}

impl Walker<'_> {
    fn strip(&self, a: u64) -> u64 {
        strip_pac(a, self.pac_mask, self.va_bits)
    }

    fn with_pc_sp(st: &State) -> Regs {
        let mut r = st.known.clone();
        r.set(PC, Some(st.pc));
        r.set(SP, Some(st.sp));
        r.set(X29, Some(st.fp));
        r
    }

    /// Walk from `start`; `exact` says whether its pc is exact (NT_PRSTATUS) or a return
    /// address (a sleeping task's `cpu_context.pc`, returning into `__switch_to`).
    pub fn walk(&self, start: State, first: FrameSource, exact: bool) -> (Vec<RawFrame>, StackEnd) {
        let mut frames = vec![RawFrame {
            pc: start.pc,
            sp: start.sp,
            how: first,
            exact_pc: true,
            regs_at: None,
            regs: Self::with_pc_sp(&start),
            cfa: None,
        }];
        let mut st = start;
        let mut exact = exact;
        let mut seen = HashSet::new();
        loop {
            if frames.len() >= self.max_frames {
                return (
                    frames,
                    StackEnd::Truncated(format!("more than {} frames", self.max_frames)),
                );
            }
            if !seen.insert((st.pc, st.sp, st.fp)) {
                return (
                    frames,
                    StackEnd::Truncated(format!(
                        "loop at pc {:#x} sp {:#x} fp {:#x}",
                        st.pc, st.sp, st.fp
                    )),
                );
            }
            match self.step(&st, exact) {
                Step::Next {
                    st: next,
                    how,
                    exact: ex,
                    regs_at,
                    cfa,
                } => {
                    if let Some(last) = frames.last_mut() {
                        last.cfa = Some(cfa);
                    }
                    if next.pc == 0 {
                        return (frames, StackEnd::Complete);
                    }
                    if !(self.is_text)(next.pc) {
                        return (
                            frames,
                            StackEnd::Truncated(format!(
                                "return address {:#x} (frame record at {:#x}) is not kernel text",
                                next.pc, st.fp
                            )),
                        );
                    }
                    frames.push(RawFrame {
                        pc: next.pc,
                        sp: next.sp,
                        how,
                        exact_pc: ex,
                        regs_at,
                        regs: Self::with_pc_sp(&next),
                        cfa: None,
                    });
                    exact = ex;
                    st = next;
                }
                Step::End(e) => return (frames, e),
            }
        }
    }

    fn step(&self, st: &State, exact: bool) -> Step {
        if (self.is_exception_entry)(st.pc)
            && let Some(off) = self.pt_regs.stackframe
            && st.fp != 0
        {
            // Up to 6.12 the record x29 points at is pt_regs->stackframe.
            return self.resume_pt_regs(st.fp.wrapping_sub(off));
        }
        let lookup = if exact { st.pc } else { st.pc.wrapping_sub(4) };
        if let Some(row) = (self.cfi)(lookup)
            && let Some(s) = self.cfi_step(st, &row)
        {
            return s;
        }
        self.fp_step(st)
    }

    /// One step by the CFI row at the pc; `None` when the row cannot be used (then the
    /// frame record is).
    fn cfi_step(&self, st: &State, row: &CfiRow) -> Option<Step> {
        let (reg, off) = row.cfa?;
        let base = match reg {
            SP => st.sp,
            X29 => st.fp,
            _ => return None,
        };
        let cfa = base.wrapping_add(off as u64);
        let rd = |r: &RegRule, same: Option<u64>| -> Option<Option<u64>> {
            match r {
                RegRule::AtCfa(n) => Some(self.mem.read_u64(cfa.wrapping_add(*n as u64))),
                RegRule::SameValue => Some(same),
                RegRule::CfaPlus(n) => Some(Some(cfa.wrapping_add(*n as u64))),
                _ => None,
            }
        };
        let ra = rd(&row.rule(X30), st.lr)??;
        let fp = rd(&row.rule(X29), Some(st.fp))??;
        let mut known = Regs::new(NREGS);
        known.set(X29, Some(fp));
        Some(Step::Next {
            st: State {
                pc: self.strip(ra),
                sp: cfa,
                fp,
                lr: None,
                known,
            },
            how: FrameSource::Cfi,
            exact: false,
            regs_at: None,
            cfa,
        })
    }

    /// One step by the frame record at x29, or first by the link register.
    ///
    /// Where the pc and x30 come from registers (NT_PRSTATUS, a `pt_regs`) and no CFI row
    /// says how the function was entered, the function may be a leaf, or still in its
    /// prologue, with no frame record of its own: x29 is then its caller's record, and the
    /// caller is known only from x30 (GCC omits leaf frame records on arm64:
    /// `-momit-leaf-frame-pointer`). x30 is taken as a frame when it is text in another
    /// function than the pc's (a function that called something since holds a return into
    /// itself) and is not the return address the record at x29 holds (a function with
    /// its own record, which still holds its caller's return in x30). The kernel's own
    /// unwinder does not do this (arch/arm64/kernel/stacktrace.c starts at the record), so
    /// such frames are marked as coming from the link register.
    fn fp_step(&self, st: &State) -> Step {
        if let Some(lr) = st.lr
            && (self.is_text)(lr)
            && self
                .mem
                .read_u64(st.fp.wrapping_add(8))
                .map(|r| self.strip(r))
                != Some(lr)
            && let (Some(f_lr), Some(f_pc)) =
                ((self.function_start)(lr), (self.function_start)(st.pc))
            && f_lr != f_pc
        {
            return Step::Next {
                st: State {
                    pc: lr,
                    sp: st.sp,
                    fp: st.fp,
                    lr: None,
                    known: {
                        let mut known = Regs::new(NREGS);
                        known.set(X29, Some(st.fp));
                        known
                    },
                },
                how: FrameSource::LinkRegister,
                exact: false,
                regs_at: None,
                cfa: st.sp,
            };
        }
        if st.fp == 0 {
            return Step::End(StackEnd::Complete);
        }
        if !st.fp.is_multiple_of(8) || st.fp < st.sp {
            return Step::End(StackEnd::Truncated(format!(
                "no usable frame record at x29 {:#x} (sp {:#x}, pc {:#x})",
                st.fp, st.sp, st.pc
            )));
        }
        let (Some(fp), Some(lr)) = (self.mem.read_u64(st.fp), self.mem.read_u64(st.fp + 8)) else {
            return Step::End(StackEnd::Truncated(format!(
                "cannot read the frame record at {:#x}",
                st.fp
            )));
        };
        if fp == 0 && lr == 0 {
            // A zero record: the end, unless its metadata says a pt_regs (6.13+).
            if let (Some(sf), Some(ty)) = (self.pt_regs.stackframe, self.pt_regs.meta_type)
                && self.mem.read_u64(st.fp.wrapping_add(ty - sf)) == Some(FRAME_META_TYPE_PT_REGS)
            {
                return self.resume_pt_regs(st.fp.wrapping_sub(sf));
            }
            return Step::End(StackEnd::Complete);
        }
        let mut known = Regs::new(NREGS);
        known.set(X29, Some(fp));
        Step::Next {
            st: State {
                pc: self.strip(lr),
                sp: st.fp + 16,
                fp,
                lr: None,
                known,
            },
            how: FrameSource::FramePointer,
            exact: false,
            regs_at: None,
            cfa: st.fp + 16,
        }
    }

    /// Continue from the `pt_regs` at `at`: the interrupted pc, sp, x29 and x30.
    fn resume_pt_regs(&self, at: u64) -> Step {
        let r = &self.pt_regs;
        let rd = |o: u64| self.mem.read_u64(at.wrapping_add(o));
        let (Some(pc), Some(sp), Some(pstate)) = (rd(r.pc), rd(r.sp), rd(r.pstate)) else {
            return Step::End(StackEnd::Truncated(format!(
                "cannot read pt_regs at {at:#x}"
            )));
        };
        if pstate & PSR_MODE_MASK == 0 {
            return Step::End(StackEnd::UserMode);
        }
        let mut known = Regs::new(NREGS);
        for i in 0..31u16 {
            known.set(i, rd(r.regs + 8 * i as u64));
        }
        let fp = known.get(X29).unwrap_or(0);
        let lr = known.get(X30).map(|v| self.strip(v));
        Step::Next {
            st: State {
                pc,
                sp,
                fp,
                lr,
                known,
            },
            how: FrameSource::PtRegs,
            exact: true,
            regs_at: Some(at),
            cfa: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Mem(HashMap<u64, u64>);
    impl StackMemory for Mem {
        fn read_u64(&self, a: u64) -> Option<u64> {
            self.0.get(&a).copied()
        }
    }

    const K: u64 = 0xffff_8000_0000_0000;
    const PAC: u64 = 0xffff_0000_0000_0000;

    fn walker<'a>(
        mem: &'a Mem,
        cfi: &'a dyn Fn(u64) -> Option<CfiRow>,
        exc: &'a dyn Fn(u64) -> bool,
        pt: PtRegs,
    ) -> Walker<'a> {
        Walker {
            mem,
            cfi,
            is_text: &|pc| (K + 0x1000..K + 0x9000).contains(&pc),
            function_start: &|pc| Some(pc & !0xfff),
            is_exception_entry: exc,
            pt_regs: pt,
            pac_mask: PAC,
            va_bits: 48,
            max_frames: 64,
        }
    }

    /// A PAC-signed return address as the fixtures hold it: top bits replaced by a code,
    /// bit 55 kept.
    fn signed(a: u64) -> u64 {
        (a & !PAC) | (0x3c << 48) | (1 << 55)
    }

    #[test]
    fn frame_records_with_pac_to_the_final_record() {
        let s = 0xffff_8000_0810_0000u64;
        let mem = Mem(HashMap::from([
            (s + 0x10, s + 0x40),
            (s + 0x18, signed(K + 0x2010)),
            (s + 0x40, s + 0x80),
            (s + 0x48, signed(K + 0x3020)),
            // The final record (a kthread's pt_regs->stackframe before 6.13).
            (s + 0x80, 0),
            (s + 0x88, 0),
        ]));
        let w = walker(&mem, &|_| None, &|_| false, PtRegs::default());
        let (f, end) = w.walk(
            State {
                pc: K + 0x1004,
                sp: s,
                fp: s + 0x10,
                ..Default::default()
            },
            FrameSource::SavedContext,
            false,
        );
        let pcs: Vec<u64> = f.iter().map(|f| f.pc).collect();
        assert_eq!(pcs, vec![K + 0x1004, K + 0x2010, K + 0x3020]);
        assert_eq!(f[1].how, FrameSource::FramePointer);
        assert_eq!(end, StackEnd::Complete);
    }

    #[test]
    fn leaf_function_by_cfi_then_exception_boundary() {
        let s = 0xffff_8000_0820_0000u64;
        let pt_at = s + 0x100;
        let pt = PtRegs {
            stackframe: Some(0x130),
            ..PtRegs::default()
        };
        let mut m = HashMap::new();
        // The leaf at K+0x1000 (no frame record: x30 is the return address, CFA = sp).
        // Its caller K+0x2000 is the vector entry (`el1h_64_irq`): x29 points at
        // pt_regs->stackframe.
        m.insert(pt_at + pt.pc, K + 0x5555);
        m.insert(pt_at + pt.sp, s + 0x400);
        m.insert(pt_at + pt.pstate, 0x3c5); // EL1h
        m.insert(pt_at + 29 * 8, s + 0x500);
        m.insert(pt_at + 30 * 8, signed(K + 0x6060));
        // The interrupted function's caller by frame record.
        m.insert(s + 0x500, 0);
        m.insert(s + 0x508, signed(K + 0x7070));
        m.insert(s + 0x510, 0);
        let mem = Mem(m);
        let cfi = |pc: u64| {
            (pc >> 12 == K >> 12 | 1).then(|| CfiRow {
                cfa: Some((SP, 0)),
                rules: vec![],
            })
        };
        let exc = |pc: u64| (K + 0x2000..K + 0x3000).contains(&pc);
        let w = walker(&mem, &cfi, &exc, pt);
        let mut known = Regs::new(NREGS);
        known.set(X30, Some(signed(K + 0x2010)));
        let (f, end) = w.walk(
            State {
                pc: K + 0x1008,
                sp: s,
                fp: pt_at + 0x130,
                lr: Some(K + 0x2010),
                known,
            },
            FrameSource::Prstatus,
            true,
        );
        let pcs: Vec<u64> = f.iter().map(|f| f.pc).collect();
        // The interrupted K+0x5555 had no CFI row and its x30 (K+0x6060, another function,
        // not the record's return) is its caller: a leaf interrupted before any record.
        assert_eq!(
            pcs,
            vec![K + 0x1008, K + 0x2010, K + 0x5555, K + 0x6060, K + 0x7070]
        );
        assert_eq!(f[3].how, FrameSource::LinkRegister);
        assert_eq!(f[1].how, FrameSource::Cfi);
        assert_eq!(f[2].how, FrameSource::PtRegs);
        assert_eq!(f[2].regs_at, Some(pt_at));
        assert!(f[2].exact_pc);
        assert_eq!(end, StackEnd::Complete);
    }

    #[test]
    fn meta_records_mark_pt_regs_and_user_mode() {
        let s = 0xffff_8000_0830_0000u64;
        let pt = PtRegs {
            stackframe: Some(0x130),
            meta_type: Some(0x140),
            ..PtRegs::default()
        };
        let pt_at = s + 0x200;
        let mut m = HashMap::new();
        m.insert(s + 0x10, pt_at + 0x130);
        m.insert(s + 0x18, signed(K + 0x2010));
        m.insert(pt_at + 0x130, 0);
        m.insert(pt_at + 0x138, 0);
        m.insert(pt_at + 0x140, FRAME_META_TYPE_PT_REGS);
        m.insert(pt_at + pt.pc, K + 0x4444);
        m.insert(pt_at + pt.sp, s + 0x400);
        m.insert(pt_at + pt.pstate, 0); // EL0t: user mode
        let mem = Mem(m);
        let w = walker(&mem, &|_| None, &|_| false, pt);
        let (f, end) = w.walk(
            State {
                pc: K + 0x1004,
                sp: s,
                fp: s + 0x10,
                ..Default::default()
            },
            FrameSource::SavedContext,
            false,
        );
        assert_eq!(f.len(), 2);
        assert_eq!(end, StackEnd::UserMode);
    }

    #[test]
    fn garbage_stops_with_a_reason() {
        let s = 0xffff_8000_0840_0000u64;
        let mem = Mem(HashMap::from([
            (s + 0x10, s + 0x10),
            (s + 0x18, K + 0x1000),
        ]));
        let w = walker(&mem, &|_| None, &|_| false, PtRegs::default());
        let (f, end) = w.walk(
            State {
                pc: K + 0x1004,
                sp: s,
                fp: s + 0x10,
                ..Default::default()
            },
            FrameSource::SavedContext,
            false,
        );
        assert!(f.len() <= 3);
        assert!(matches!(end, StackEnd::Truncated(_)), "{end:?}");
        // An address outside kernel text ends the walk too.
        let mem = Mem(HashMap::from([(s + 0x10, 0x1234), (s + 0x18, 0xdead)]));
        let w = walker(&mem, &|_| None, &|_| false, PtRegs::default());
        let (_, end) = w.walk(
            State {
                pc: K + 0x1004,
                sp: s,
                fp: s + 0x10,
                ..Default::default()
            },
            FrameSource::SavedContext,
            false,
        );
        assert!(
            matches!(end, StackEnd::Truncated(ref r) if r.contains("not kernel text")),
            "{end:?}"
        );
    }
}
