//! The stack walker: from starting registers, step frame by frame with ORC (crossing IRQ
//! and exception stacks through `pt_regs`), falling back to the frame-pointer chain. Pure
//! logic over two small interfaces so it is tested on stacks built in code.

use super::orc::{OrcEntry, OrcType, reg};
use crate::arch::Regs;
use crate::arch::x86_64::{NREGS, RBP, RIP, RSP};
use serde::Serialize;
use std::collections::HashSet;

/// Stack memory as the walker needs it.
pub trait StackMemory {
    fn read_u64(&self, addr: u64) -> Option<u64>;
}

/// Offsets in `struct pt_regs` (from the debug info).
#[derive(Debug, Clone, Copy)]
pub struct PtRegsLayout {
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
    pub cs: u64,
    pub dx: u64,
    pub di: u64,
    pub r10: u64,
    pub r13: u64,
    /// Offset of every general register and rip, by DWARF register number (`None`: the
    /// member is absent), for the register values of a frame restored from a full `pt_regs`.
    pub all: [Option<u64>; NREGS],
}

/// `struct pt_regs` member names by DWARF register number (x86_64).
pub const PT_REGS_NAMES: [&str; NREGS] = [
    "ax", "dx", "cx", "bx", "si", "di", "bp", "sp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15", "ip",
];

impl Default for PtRegsLayout {
    /// The x86_64 layout that has not changed since 2.6 (r15 first, ss last).
    fn default() -> Self {
        PtRegsLayout {
            bp: 32,
            r13: 16,
            r10: 56,
            dx: 96,
            di: 112,
            ip: 128,
            cs: 136,
            sp: 152,
            all: [
                Some(80),
                Some(96),
                Some(88),
                Some(40),
                Some(104),
                Some(112),
                Some(32),
                Some(152),
                Some(72),
                Some(64),
                Some(56),
                Some(48),
                Some(24),
                Some(16),
                Some(8),
                Some(0),
                Some(128),
            ],
        }
    }
}

/// How a frame's registers were recovered, so the user knows how far to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameSource {
    /// The CPU's registers saved in the dump (`NT_PRSTATUS`).
    Prstatus,
    /// A sleeping task's saved context (`inactive_task_frame` at `thread.sp`).
    SavedContext,
    /// ORC unwind tables.
    Orc,
    /// A `struct pt_regs` on the stack (interrupt, exception or system-call entry).
    PtRegs,
    /// The frame-pointer chain (no unwind entry covered the previous pc).
    FramePointer,
    /// DWARF call-frame information (`.debug_frame`; arm64, where there is no ORC).
    Cfi,
    /// The link register (arm64 x30) of an interrupted leaf with no frame record and no
    /// CFI row: its caller.
    LinkRegister,
}

/// One physical frame (inline frames are expanded later, from DWARF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawFrame {
    pub pc: u64,
    /// Stack pointer at this frame (the CFA of the frame below, crash's `[sp]` column).
    pub sp: u64,
    pub how: FrameSource,
    /// The pc is exact (first frame, or interrupted) rather than a return address.
    pub exact_pc: bool,
    /// Address of the `pt_regs` this frame was restored from, if any.
    pub regs_at: Option<u64>,
    /// The register values known at this frame, by DWARF number: rip and rsp always; rbp
    /// when ORC restored it; all of them from `NT_PRSTATUS` or a full `pt_regs`; the
    /// callee-saved ones of a sleeping task's saved context. Never guessed.
    #[serde(skip)]
    pub regs: Regs,
    /// This frame's canonical frame address (the stack pointer before the call into it), as
    /// the step to its caller computed it; `None` for the last frame.
    pub cfa: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum StackEnd {
    /// An end-of-stack marker (ORC `end`/END_OF_STACK) or a zero return address.
    Complete,
    /// A `pt_regs` from user mode: the kernel part of the stack is complete.
    UserMode,
    /// The walk stopped early; the reason says where.
    Truncated(String),
}

/// Registers the walker tracks.
#[derive(Debug, Clone, Default)]
pub struct WalkRegs {
    pub pc: u64,
    pub sp: u64,
    pub bp: u64,
    /// Extra registers ORC may name (known only after a full `pt_regs`).
    pub dx: Option<u64>,
    pub di: Option<u64>,
    pub r10: Option<u64>,
    pub r13: Option<u64>,
    /// Every register value known at this point (see [`RawFrame::regs`]); pc and sp are
    /// added by the walker.
    pub known: Regs,
}

impl WalkRegs {
    fn known_with_pc_sp(&self) -> Regs {
        let mut r = self.known.clone();
        r.set(RIP, Some(self.pc));
        r.set(RSP, Some(self.sp));
        r
    }
}

pub struct Walker<'a> {
    pub mem: &'a dyn StackMemory,
    /// ORC entry for a pc (vmlinux or module tables); `None` = not covered.
    pub orc: &'a dyn Fn(u64) -> Option<OrcEntry>,
    /// Is this a kernel text address (to validate return addresses)?
    pub is_text: &'a dyn Fn(u64) -> bool,
    pub regs: PtRegsLayout,
    pub max_frames: usize,
}

impl Walker<'_> {
    pub fn walk(&self, start: WalkRegs, first: FrameSource) -> (Vec<RawFrame>, StackEnd) {
        let mut frames = vec![RawFrame {
            pc: start.pc,
            sp: start.sp,
            how: first,
            exact_pc: true,
            regs_at: None,
            regs: start.known_with_pc_sp(),
            cfa: None,
        }];
        let mut st = start;
        let mut signal = true;
        let mut seen = HashSet::new();
        loop {
            if frames.len() >= self.max_frames {
                return (
                    frames,
                    StackEnd::Truncated(format!("more than {} frames", self.max_frames)),
                );
            }
            if !seen.insert((st.pc, st.sp)) {
                return (
                    frames,
                    StackEnd::Truncated(format!("loop at pc {:#x} sp {:#x}", st.pc, st.sp)),
                );
            }
            let lookup = if signal { st.pc } else { st.pc.wrapping_sub(1) };
            let step = match (self.orc)(lookup) {
                Some(e) => self.orc_step(&st, e),
                None => self.fp_step(&st),
            };
            match step {
                Step::Next {
                    regs,
                    how,
                    exact,
                    regs_at,
                    cfa,
                } => {
                    if let Some(last) = frames.last_mut() {
                        last.cfa = Some(cfa);
                    }
                    if regs.pc == 0 {
                        return (frames, StackEnd::Complete);
                    }
                    if !(self.is_text)(regs.pc) {
                        return (
                            frames,
                            StackEnd::Truncated(format!(
                                "return address {:#x} at sp {:#x} is not kernel text",
                                regs.pc, regs.sp
                            )),
                        );
                    }
                    frames.push(RawFrame {
                        pc: regs.pc,
                        sp: regs.sp,
                        how,
                        exact_pc: exact,
                        regs_at,
                        regs: regs.known_with_pc_sp(),
                        cfa: None,
                    });
                    signal = exact;
                    st = regs;
                }
                Step::End(e) => return (frames, e),
            }
        }
    }

    fn orc_step(&self, st: &WalkRegs, e: OrcEntry) -> Step {
        let rd = |a: u64| self.mem.read_u64(a);
        let trunc = |what: &str| Step::End(StackEnd::Truncated(what.to_string()));
        match e.ty {
            OrcType::End => return Step::End(StackEnd::Complete),
            OrcType::Undefined => {
                return trunc(&format!("no unwind information at {:#x}", st.pc));
            }
            _ => {}
        }
        let (base, indirect) = match e.sp_reg {
            reg::SP => (Some(st.sp), false),
            reg::BP => (Some(st.bp), false),
            reg::SP_INDIRECT => (Some(st.sp), true),
            reg::BP_INDIRECT => (Some(st.bp.wrapping_add(e.sp_offset as i64 as u64)), true),
            reg::R10 => (st.r10, false),
            reg::R13 => (st.r13, false),
            reg::DI => (st.di, false),
            reg::DX => (st.dx, false),
            _ => (None, false),
        };
        let Some(mut cfa) = base else {
            return trunc(&format!(
                "ORC names an unknown register {} at {:#x}",
                e.sp_reg, st.pc
            ));
        };
        if indirect {
            match rd(cfa) {
                Some(v) => cfa = v,
                None => {
                    return trunc(&format!(
                        "cannot read the indirect stack pointer at {cfa:#x}"
                    ));
                }
            }
            if e.sp_reg == reg::SP_INDIRECT {
                cfa = cfa.wrapping_add(e.sp_offset as i64 as u64);
            }
        } else if !matches!(e.sp_reg, reg::R10 | reg::R13 | reg::DI | reg::DX) {
            cfa = cfa.wrapping_add(e.sp_offset as i64 as u64);
        }
        let mut next = WalkRegs {
            bp: st.bp,
            known: Regs::new(NREGS),
            ..Default::default()
        };
        let (how, exact, regs_at);
        match e.ty {
            OrcType::Call => {
                let Some(ra) = rd(cfa.wrapping_sub(8)) else {
                    return trunc(&format!("cannot read the return address at {:#x}", cfa - 8));
                };
                next.pc = ra;
                next.sp = cfa;
                how = FrameSource::Orc;
                exact = false;
                regs_at = None;
            }
            OrcType::Regs => {
                let r = &self.regs;
                let (Some(ip), Some(sp), Some(cs)) =
                    (rd(cfa + r.ip), rd(cfa + r.sp), rd(cfa + r.cs))
                else {
                    return trunc(&format!("cannot read pt_regs at {cfa:#x}"));
                };
                if cs & 3 == 3 {
                    return Step::End(StackEnd::UserMode);
                }
                next.pc = ip;
                next.sp = sp;
                next.bp = rd(cfa + r.bp).unwrap_or(st.bp);
                next.dx = rd(cfa + r.dx);
                next.di = rd(cfa + r.di);
                next.r10 = rd(cfa + r.r10);
                next.r13 = rd(cfa + r.r13);
                for (i, off) in r.all.iter().enumerate() {
                    if let Some(off) = off {
                        next.known.set(i as u16, rd(cfa + off));
                    }
                }
                how = FrameSource::PtRegs;
                exact = true;
                regs_at = Some(cfa);
            }
            OrcType::RegsPartial => {
                // The iret frame: ip, cs, flags, sp, ss at the CFA.
                let (Some(ip), Some(cs), Some(sp)) = (rd(cfa), rd(cfa + 8), rd(cfa + 24)) else {
                    return trunc(&format!("cannot read the iret frame at {cfa:#x}"));
                };
                if cs & 3 == 3 {
                    return Step::End(StackEnd::UserMode);
                }
                next.pc = ip;
                next.sp = sp;
                how = FrameSource::PtRegs;
                exact = true;
                regs_at = Some(cfa.wrapping_sub(self.regs.ip));
            }
            OrcType::End | OrcType::Undefined => unreachable!("handled above"),
        }
        match e.bp_reg {
            reg::PREV_SP => match rd(cfa.wrapping_add(e.bp_offset as i64 as u64)) {
                Some(v) => {
                    next.bp = v;
                    next.known.set(RBP, Some(v));
                }
                None => return trunc("cannot read the saved frame pointer"),
            },
            reg::BP => match rd(st.bp.wrapping_add(e.bp_offset as i64 as u64)) {
                Some(v) => {
                    next.bp = v;
                    next.known.set(RBP, Some(v));
                }
                None => return trunc("cannot read the saved frame pointer"),
            },
            _ => {}
        }
        Step::Next {
            regs: next,
            how,
            exact,
            regs_at,
            cfa,
        }
    }

    /// Frame-pointer step: `[bp]` = caller's bp, `[bp+8]` = return address.
    fn fp_step(&self, st: &WalkRegs) -> Step {
        if st.bp == 0 || !st.bp.is_multiple_of(8) || st.bp < st.sp {
            return Step::End(StackEnd::Truncated(format!(
                "no unwind information at {:#x} and no usable frame pointer (bp {:#x})",
                st.pc, st.bp
            )));
        }
        let (Some(bp), Some(ra)) = (self.mem.read_u64(st.bp), self.mem.read_u64(st.bp + 8)) else {
            return Step::End(StackEnd::Truncated(format!(
                "cannot read the frame at bp {:#x}",
                st.bp
            )));
        };
        let mut known = Regs::new(NREGS);
        known.set(RBP, Some(bp));
        Step::Next {
            regs: WalkRegs {
                pc: ra,
                sp: st.bp + 16,
                bp,
                known,
                ..Default::default()
            },
            how: FrameSource::FramePointer,
            exact: false,
            regs_at: None,
            cfa: st.bp + 16,
        }
    }
}

enum Step {
    Next {
        regs: WalkRegs,
        how: FrameSource,
        exact: bool,
        regs_at: Option<u64>,
        cfa: u64,
    },
    End(StackEnd),
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

    fn call(sp_offset: i16) -> OrcEntry {
        OrcEntry {
            sp_offset,
            bp_offset: 0,
            sp_reg: reg::SP,
            bp_reg: reg::UNDEFINED,
            ty: OrcType::Call,
            signal: false,
        }
    }

    /// f1 (0x1000..) called by f2 (0x2000..) called by f3 (0x3000..), whose ORC says END.
    #[test]
    fn orc_call_frames_to_end() {
        let mem = Mem(HashMap::from([
            (0x7000 + 16 - 8, 0x2010),
            (0x7010 + 32 - 8, 0x3020),
        ]));
        let orc = |pc: u64| match pc >> 12 {
            1 => Some(call(16)),
            2 => Some(call(32)),
            3 => Some(OrcEntry {
                ty: OrcType::End,
                ..call(0)
            }),
            _ => None,
        };
        let w = Walker {
            mem: &mem,
            orc: &orc,
            is_text: &|pc| (0x1000..0x4000).contains(&pc),
            regs: PtRegsLayout::default(),
            max_frames: 64,
        };
        let (frames, end) = w.walk(
            WalkRegs {
                pc: 0x1004,
                sp: 0x7000,
                ..Default::default()
            },
            FrameSource::Prstatus,
        );
        let pcs: Vec<u64> = frames.iter().map(|f| f.pc).collect();
        assert_eq!(pcs, vec![0x1004, 0x2010, 0x3020]);
        assert_eq!(frames[1].sp, 0x7010);
        assert_eq!(frames[1].how, FrameSource::Orc);
        assert_eq!(end, StackEnd::Complete);
    }

    #[test]
    fn pt_regs_frame_and_user_mode() {
        let r = PtRegsLayout::default();
        let regs_at = 0x8000u64;
        let mut m = HashMap::new();
        m.insert(regs_at + r.ip, 0x2222);
        m.insert(regs_at + r.sp, 0x9000);
        m.insert(regs_at + r.cs, 0x10);
        m.insert(regs_at + r.bp, 0x9100);
        // The interrupted function 0x2222 is a call frame whose caller is in user mode regs.
        m.insert(0x9000 + 8 - 8, 0x3333);
        let mem = Mem(m);
        let orc = |pc: u64| match pc {
            0x1000..=0x1fff => Some(OrcEntry {
                ty: OrcType::Regs,
                ..call(0)
            }),
            0x2000..=0x2fff => Some(call(8)),
            _ => None,
        };
        let w = Walker {
            mem: &mem,
            orc: &orc,
            is_text: &|pc| (0x1000..0x4000).contains(&pc),
            regs: r,
            max_frames: 64,
        };
        let (frames, end) = w.walk(
            WalkRegs {
                pc: 0x1000,
                sp: regs_at,
                ..Default::default()
            },
            FrameSource::SavedContext,
        );
        assert_eq!(frames[1].pc, 0x2222);
        assert_eq!(frames[1].how, FrameSource::PtRegs);
        assert_eq!(frames[1].regs_at, Some(regs_at));
        assert!(frames[1].exact_pc);
        assert_eq!(frames[2].pc, 0x3333);
        // 0x3333 has no ORC and bp 0x9100 cannot be read: truncated, not a panic.
        assert!(matches!(end, StackEnd::Truncated(_)), "{end:?}");
    }

    #[test]
    fn cycles_and_garbage_stop() {
        // A frame pointer chain that points to itself.
        let mem = Mem(HashMap::from([(0x5000, 0x5000), (0x5008, 0x1000)]));
        let orc = |_: u64| None;
        let w = Walker {
            mem: &mem,
            orc: &orc,
            is_text: &|pc| (0x1000..0x4000).contains(&pc),
            regs: PtRegsLayout::default(),
            max_frames: 64,
        };
        let (frames, end) = w.walk(
            WalkRegs {
                pc: 0x1000,
                sp: 0x4ff0,
                bp: 0x5000,
                ..Default::default()
            },
            FrameSource::Prstatus,
        );
        assert!(frames.len() <= 3);
        // The second step finds bp below sp (a frame pointing back up the stack): stopped.
        assert!(
            matches!(end, StackEnd::Truncated(ref s) if s.contains("frame pointer")),
            "{end:?}"
        );
    }
}
