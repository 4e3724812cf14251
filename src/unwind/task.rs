//! Backtraces of tasks: where to start (a running task's CPU registers, a sleeping task's
//! saved context), the walk, and symbolized frames with inline expansion and `file:line`.

use super::locals::{FrameRegs, Local};
use super::orc::{OrcEntry, OrcFormat, OrcTable, RegNumbering};
use super::walk::{FrameSource, PtRegsLayout, RawFrame, StackEnd, StackMemory, WalkRegs, Walker};
use crate::addr::Kva;
use crate::arch::{Arch, x86_64};
use crate::kernel::layout::Probe;
use crate::kernel::modules::Module;
use crate::kernel::tasks::Task;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// One frame as shown to the user. Inline frames share the physical frame's pc and sp.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Frame {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub pc: u64,
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub sp: u64,
    pub function: Option<String>,
    pub offset: u64,
    pub module: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub inlined: bool,
    pub how: FrameSource,
    /// The pt_regs this frame was restored from (an interrupt/exception/syscall entry).
    pub regs_at: Option<String>,
    /// The physical frame's registers (shared by its inline frames), for locals.
    #[serde(skip)]
    pub regs: Option<Arc<FrameRegs>>,
    /// Parameters and local variables, when asked for ([`Unwinder::add_locals`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locals: Option<Vec<Local>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backtrace {
    pub task: Task,
    pub frames: Vec<Frame>,
    pub end: StackEnd,
}

impl Backtrace {
    /// No frame at all: the starting registers could not be read (`why`).
    fn no_start(task: &Task, why: impl std::fmt::Display) -> Backtrace {
        Backtrace {
            task: task.clone(),
            frames: vec![],
            end: StackEnd::Truncated(format!("no starting registers: {why}")),
        }
    }

    /// Function names of physical frames (inline frames left out), crash's view.
    pub fn functions(&self) -> Vec<&str> {
        self.frames
            .iter()
            .filter(|f| !f.inlined)
            .map(|f| f.function.as_deref().unwrap_or("?"))
            .collect()
    }
}

/// Everything the unwinder needs, resolved once per kernel.
pub struct Unwinder {
    vmlinux_orc: Option<OrcTable>,
    modules: Vec<(Module, Option<OrcTable>)>,
    regs: PtRegsLayout,
    /// `inactive_task_frame.{bp, ret_addr}` and its size.
    itf: (u64, u64, u64),
    /// The callee-saved registers `inactive_task_frame` holds: (DWARF number, offset).
    itf_regs: Vec<(u16, u64)>,
    /// vmlinux text ranges: `[_stext, _etext)` and `[_sinittext, _einittext)` (init code
    /// is freed after boot, but the idle task of CPU 0 still returns into it).
    text: Vec<(u64, u64)>,
    /// arm64: what its walker needs (no ORC, no `inactive_task_frame`).
    arm64: Option<Arm64>,
    /// Module text ranges `(start, end, index into modules)`, sorted by start.
    mod_text: Vec<(u64, u64, usize)>,
    /// What a looked-up pc names (function, module, source lines), by that pc: 10 000
    /// sleeping tasks return into a few hundred places.
    names: std::sync::Mutex<HashMap<u64, Arc<PcNames>>>,
}

/// The names of one looked-up pc (see [`Unwinder::symbolize`]).
struct PcNames {
    function: Option<String>,
    /// Offset of the looked-up pc into `function`.
    offset: u64,
    module: Option<String>,
    /// addr2line's frames at the pc, innermost first: (function, file, line).
    lines: Vec<(Option<String>, Option<String>, Option<u32>)>,
}

/// Module text ranges sorted by start, for [`Unwinder::module_of`].
fn text_ranges(modules: &[(Module, Option<OrcTable>)]) -> Vec<(u64, u64, usize)> {
    let mut v: Vec<_> = modules
        .iter()
        .enumerate()
        .map(|(i, (m, _))| (m.text_start, m.text_start + m.text_len.max(1), i))
        .collect();
    v.sort_unstable();
    v
}

/// arm64's saved context and exception layout.
struct Arm64 {
    /// `task_struct.thread.cpu_context`: x19–x28, fp (x29), sp, pc (arch/arm64/include/asm/
    /// processor.h; saved by `cpu_switch_to`, arch/arm64/kernel/entry.S).
    x19: u64,
    fp: u64,
    sp: u64,
    pc: u64,
    pt_regs: super::arm64::PtRegs,
    pac_mask: u64,
    va_bits: u32,
    /// Exception vector entries: `[start, end)` of every `el1h_64_*`/`el1t_64_*` vector
    /// (not their C `_handler`s).
    entries: Vec<(u64, u64)>,
}

impl Arm64 {
    fn new(k: &Kernel) -> Result<Arm64, KernelError> {
        let di = &k.di;
        let t = Probe::new(di, "struct task_struct")?;
        let why = "sleeping task registers (thread.cpu_context)";
        let cc = |m: &str| t.off(&format!("thread.cpu_context.{m}"), why);
        let mut pt_regs = super::arm64::PtRegs::default();
        if let Ok(p) = Probe::new(di, "struct pt_regs") {
            pt_regs.regs = p.opt("regs").unwrap_or(pt_regs.regs);
            pt_regs.sp = p.opt("sp").unwrap_or(pt_regs.sp);
            pt_regs.pc = p.opt("pc").unwrap_or(pt_regs.pc);
            pt_regs.pstate = p.opt("pstate").unwrap_or(pt_regs.pstate);
            pt_regs.stackframe = p.opt("stackframe");
            pt_regs.meta_type = p.opt("stackframe.type");
        }
        let a = k.mem.xlat.arm64();
        let entries = k
            .di
            .symbols()
            .filter(|s| s.module.is_none())
            .filter(|s| {
                let n = s.name.as_str();
                (n.starts_with("el1h_64_") || n.starts_with("el1t_64_")) && !n.ends_with("_handler")
            })
            .map(|s| {
                let start = k.relocate(s.addr, false).0;
                (start, start + s.size.max(4))
            })
            .collect();
        Ok(Arm64 {
            x19: cc("x19")?,
            fp: cc("fp")?,
            sp: cc("sp")?,
            pc: cc("pc")?,
            pt_regs,
            pac_mask: a.map_or(0, |a| a.pac_mask),
            va_bits: a.map_or(48, |a| a.va_bits),
            entries,
        })
    }
}

struct Mem<'k>(&'k Kernel);

impl StackMemory for Mem<'_> {
    fn read_u64(&self, addr: u64) -> Option<u64> {
        self.0.read_u64(Kva(addr), "stack").ok()
    }
}

impl Unwinder {
    pub fn new(k: &Kernel) -> Result<Unwinder, KernelError> {
        if k.is_arm64() {
            let (mods, _) = k.modules().unwrap_or_default();
            let text = [("_stext", "_etext"), ("_sinittext", "_einittext")]
                .iter()
                .filter_map(|(a, b)| Some((k.symbol_addr(a).ok()?.0, k.symbol_addr(b).ok()?.0)))
                .collect();
            let modules: Vec<_> = mods.into_iter().map(|m| (m, None)).collect();
            return Ok(Unwinder {
                vmlinux_orc: None,
                mod_text: text_ranges(&modules),
                modules,
                regs: PtRegsLayout::default(),
                itf: (0, 0, 0),
                itf_regs: Vec::new(),
                text,
                arm64: Some(Arm64::new(k)?),
                names: Default::default(),
            });
        }
        let di = &k.di;
        let format = match Probe::new(di, "struct orc_entry") {
            Ok(p) if p.opt("end").is_none() && p.opt("signal").is_some() => {
                OrcFormat::WithUndefinedType
            }
            _ => OrcFormat::WithEndBit,
        };
        let vmlinux_orc = match (
            di.section(".orc_unwind_ip"),
            di.section_addr(".orc_unwind_ip"),
            di.section(".orc_unwind"),
        ) {
            (Some(ip), Some(ip_addr), Some(orc)) => Some(
                OrcTable::new(ip, ip_addr.wrapping_add(k.kaslr_offset), orc, format)
                    .with_numbering(RegNumbering::detect(di.section(".orc_header"), orc, format)),
            ),
            _ => None,
        };
        // Modules are loaded only when their `.orc_header` matches the kernel's, so their
        // tables use the vmlinux's numbering.
        let numbering = vmlinux_orc
            .as_ref()
            .map(OrcTable::numbering)
            .unwrap_or_default();
        let (mods, _) = k.modules().unwrap_or_default();
        let modules: Vec<_> = mods
            .into_iter()
            .map(|m| {
                let t = m.orc.and_then(|(ip, u, n)| {
                    let mut ipb = vec![0u8; (n * 4) as usize];
                    let mut ub = vec![0u8; (n * 6) as usize];
                    k.read(ip, &mut ipb, "module ORC ip table").ok()?;
                    k.read(u, &mut ub, "module ORC table").ok()?;
                    Some(OrcTable::new(&ipb, ip.0, &ub, format).with_numbering(numbering))
                });
                (m, t)
            })
            .collect();
        let pr = Probe::new(di, "struct pt_regs")?;
        let why = "pt_regs frames";
        let mut all = [None; x86_64::NREGS];
        for (i, name) in super::walk::PT_REGS_NAMES.iter().enumerate() {
            all[i] = pr.opt(name);
        }
        let regs = PtRegsLayout {
            all,
            ip: pr.off("ip", why)?,
            sp: pr.off("sp", why)?,
            bp: pr.off("bp", why)?,
            cs: pr.off("cs", why)?,
            dx: pr.off("dx", why)?,
            di: pr.off("di", why)?,
            r10: pr.off("r10", why)?,
            r13: pr.off("r13", why)?,
        };
        let itf = Probe::new(di, "struct inactive_task_frame")?;
        let itf_regs = [
            ("r15", 15),
            ("r14", 14),
            ("r13", 13),
            ("r12", 12),
            ("bx", x86_64::RBX),
            ("bp", x86_64::RBP),
        ]
        .iter()
        .filter_map(|&(n, r)| Some((r, itf.opt(n)?)))
        .collect();
        let itf = (
            itf.off("bp", "sleeping task registers")?,
            itf.off("ret_addr", "sleeping task registers")?,
            itf.size(),
        );
        let text = [("_stext", "_etext"), ("_sinittext", "_einittext")]
            .iter()
            .filter_map(|(a, b)| Some((k.symbol_addr(a).ok()?.0, k.symbol_addr(b).ok()?.0)))
            .collect();
        Ok(Unwinder {
            vmlinux_orc,
            mod_text: text_ranges(&modules),
            modules,
            regs,
            itf,
            itf_regs,
            text,
            arm64: None,
            names: Default::default(),
        })
    }

    /// An unwinder for `k`: `prev` while the kernel's module list is still the one it was
    /// built from (a live kernel loads and unloads modules between snapshots; rebuilding
    /// re-reads every module's ORC tables and forgets the looked-up names), else a new one.
    pub fn reuse_or_new(
        k: &Kernel,
        prev: Option<Arc<Unwinder>>,
    ) -> Result<Arc<Unwinder>, KernelError> {
        match prev {
            Some(u) if u.modules_current(k) => Ok(u),
            _ => Unwinder::new(k).map(Arc::new),
        }
    }

    /// Whether `k`'s module list names the modules this unwinder was built from, at the
    /// same addresses.
    fn modules_current(&self, k: &Kernel) -> bool {
        let (mods, _) = k.modules().unwrap_or_default();
        mods.len() == self.modules.len()
            && mods.iter().zip(&self.modules).all(|(a, (b, _))| {
                a.addr == b.addr && a.text_start == b.text_start && a.name == b.name
            })
    }

    fn module_of(&self, pc: u64) -> Option<&(Module, Option<OrcTable>)> {
        // The last range starting at or before pc (module texts do not overlap; if damaged
        // ones do, a pc inside several is looked for from the highest start down).
        let n = self.mod_text.partition_point(|&(start, _, _)| start <= pc);
        self.mod_text[..n]
            .iter()
            .rev()
            .find(|&&(start, end, _)| pc >= start && pc < end)
            .map(|&(_, _, i)| &self.modules[i])
    }

    fn in_vmlinux_text(&self, pc: u64) -> bool {
        self.text.iter().any(|&(a, b)| pc >= a && pc < b)
    }

    fn is_text(&self, pc: u64) -> bool {
        self.in_vmlinux_text(pc) || self.module_of(pc).is_some()
    }

    fn orc(&self, pc: u64) -> Option<OrcEntry> {
        if self.in_vmlinux_text(pc) {
            return self.vmlinux_orc.as_ref()?.find(pc);
        }
        self.module_of(pc)?.1.as_ref()?.find(pc)
    }

    /// Where a task's stack starts: the CPU's registers if the task was running there,
    /// else the context `__switch_to_asm` saved at `thread.sp`.
    pub fn start(&self, k: &Kernel, task: &Task) -> Result<(WalkRegs, FrameSource), KernelError> {
        if task.active
            && let Some(pr) = k.prstatus_of(task.cpu)
        {
            let r = x86_64::X86_64.regs_from_prstatus(&pr);
            if let (Some(pc), Some(sp)) = (r.get(x86_64::RIP), r.get(x86_64::RSP))
                && pc >= k.mem.xlat.kernel_space_start()
            {
                return Ok((
                    WalkRegs {
                        pc,
                        sp,
                        bp: r.get(x86_64::RBP).unwrap_or(0),
                        known: r.clone(),
                        ..Default::default()
                    },
                    FrameSource::Prstatus,
                ));
            }
        }
        let sp = if task.saved_sp != 0 {
            task.saved_sp
        } else {
            let l = k.layout()?;
            k.read_u64(
                Kva(task.addr).add(l.task.thread_sp),
                "task_struct.thread.sp",
            )?
        };
        let (bp_off, ra_off, size) = self.itf;
        let bp = k.read_u64(Kva(sp).add(bp_off), "inactive_task_frame.bp")?;
        let pc = k.read_u64(Kva(sp).add(ra_off), "inactive_task_frame.ret_addr")?;
        let mut known = crate::arch::Regs::new(x86_64::NREGS);
        for &(r, off) in &self.itf_regs {
            known.set(r, k.read_u64(Kva(sp).add(off), "inactive_task_frame").ok());
        }
        Ok((
            WalkRegs {
                pc,
                sp: sp + size,
                bp,
                known,
                ..Default::default()
            },
            FrameSource::SavedContext,
        ))
    }

    pub fn backtrace(&self, k: &Kernel, task: &Task) -> Backtrace {
        if let Some(a) = &self.arm64 {
            return self.backtrace_arm64(k, task, a);
        }
        let (start, how) = match self.start(k, task) {
            Ok(s) => s,
            Err(e) => return Backtrace::no_start(task, e),
        };
        let mem = Mem(k);
        let orc = |pc: u64| self.orc(pc);
        let is_text = |pc: u64| self.is_text(pc);
        let w = Walker {
            mem: &mem,
            orc: &orc,
            is_text: &is_text,
            regs: self.regs,
            max_frames: 256,
        };
        let (raw, end) = w.walk(start, how);
        let frames = raw.iter().flat_map(|f| self.symbolize(k, f)).collect();
        Backtrace {
            task: task.clone(),
            frames,
            end,
        }
    }

    /// arm64: a sleeping task from `thread.cpu_context`, a running one from its CPU's
    /// `NT_PRSTATUS` (x30 stripped of its PAC), then frame records and CFI.
    fn backtrace_arm64(&self, k: &Kernel, task: &Task, a: &Arm64) -> Backtrace {
        use super::arm64::{State, Walker as A64Walker};
        use crate::arch::aarch64::{self as arch, strip_pac};
        let strip = |v: u64| strip_pac(v, a.pac_mask, a.va_bits);
        let mut start = None;
        if task.active
            && let Some(pr) = k.prstatus_of(task.cpu)
        {
            let r = arch::Aarch64.regs_from_prstatus(&pr);
            let el1 = pr
                .regs
                .get(arch::PR_PSTATE)
                .is_some_and(|p| p & arch::PSR_MODE_MASK != 0);
            if let (Some(pc), Some(sp)) = (r.get(arch::PC), r.get(arch::SP))
                && el1
                && pc >= k.mem.xlat.kernel_space_start()
            {
                start = Some((
                    State {
                        pc,
                        sp,
                        fp: r.get(arch::X29).unwrap_or(0),
                        lr: r.get(arch::X30).map(strip),
                        known: r.clone(),
                    },
                    FrameSource::Prstatus,
                    true,
                ));
            }
        }
        let start = match start {
            Some(s) => Ok(s),
            None => (|| {
                let t = Kva(task.addr);
                let rd = |off: u64, what: &str| k.read_u64(t.add(off), what);
                let mut known = crate::arch::Regs::new(arch::NREGS);
                for i in 0..10u16 {
                    known.set(
                        arch::X19 + i,
                        rd(a.x19 + 8 * i as u64, "thread.cpu_context").ok(),
                    );
                }
                let fp = rd(a.fp, "thread.cpu_context.fp")?;
                Ok::<_, crate::translate::ReadError>((
                    State {
                        pc: strip(rd(a.pc, "thread.cpu_context.pc")?),
                        sp: rd(a.sp, "thread.cpu_context.sp")?,
                        fp,
                        lr: None,
                        known,
                    },
                    FrameSource::SavedContext,
                    false,
                ))
            })(),
        };
        let (start, how, exact) = match start {
            Ok(s) => s,
            Err(e) => return Backtrace::no_start(task, e),
        };
        let mem = Mem(k);
        let cfi = |pc: u64| k.di.cfi_row(k.di_address(pc));
        let is_text = |pc: u64| self.is_text(pc);
        let function_start = |pc: u64| k.symbolize(pc).map(|(_, off)| pc - off);
        let is_entry = |pc: u64| a.entries.iter().any(|&(s, e)| pc >= s && pc < e);
        let w = A64Walker {
            mem: &mem,
            cfi: &cfi,
            is_text: &is_text,
            function_start: &function_start,
            is_exception_entry: &is_entry,
            pt_regs: a.pt_regs,
            pac_mask: a.pac_mask,
            va_bits: a.va_bits,
            max_frames: 256,
        };
        let (raw, end) = w.walk(start, how, exact);
        let frames = raw.iter().flat_map(|f| self.symbolize(k, f)).collect();
        Backtrace {
            task: task.clone(),
            frames,
            end,
        }
    }

    /// Expand one physical frame into its inline chain (innermost first), with lines.
    fn symbolize(&self, k: &Kernel, f: &RawFrame) -> Vec<Frame> {
        let lookup = if f.exact_pc {
            f.pc
        } else {
            f.pc.wrapping_sub(1)
        };
        let names = self.names_of(k, lookup);
        let function = names.function.clone();
        let offset = if function.is_some() {
            names.offset + (f.pc - lookup)
        } else {
            0
        };
        let module = names.module.clone();
        // A sleeping task's first pc is the return address into `__schedule`: its variables
        // are looked up at the call, like any caller's.
        let call_site = !f.exact_pc || f.how == FrameSource::SavedContext;
        let locals_pc = if call_site {
            f.pc.wrapping_sub(1)
        } else {
            f.pc
        };
        let regs = Arc::new(FrameRegs {
            regs: f.regs.clone(),
            cfa: f.cfa,
            di_pc: k.di_address(locals_pc),
            returned_to: !f.exact_pc,
        });
        let base = Frame {
            pc: f.pc,
            sp: f.sp,
            function,
            offset,
            module,
            file: None,
            line: None,
            inlined: false,
            how: f.how,
            regs_at: f.regs_at.map(|a| format!("{a:#x}")),
            regs: Some(regs),
            locals: None,
        };
        if names.lines.is_empty() {
            return vec![base];
        }
        let n = names.lines.len();
        names
            .lines
            .iter()
            .enumerate()
            .map(|(i, (function, file, line))| {
                let outer = i + 1 == n;
                Frame {
                    function: if outer {
                        base.function.clone().or(function.clone())
                    } else {
                        function.clone()
                    },
                    file: file.clone(),
                    line: *line,
                    inlined: !outer,
                    ..base.clone()
                }
            })
            .collect()
    }

    /// What `lookup` names: its function (the vmlinux's or a loaded `.ko`'s symbol, else
    /// the module's own kallsyms in memory), its module, and its source lines with inline
    /// frames. Computed once per pc.
    fn names_of(&self, k: &Kernel, lookup: u64) -> Arc<PcNames> {
        let cached = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&lookup)
            .cloned();
        if let Some(n) = cached {
            return n;
        }
        let module = self.module_of(lookup).map(|(m, _)| m);
        let di_addr = k.di_address(lookup);
        let (function, offset) = match (k.di.symbolize(di_addr), module) {
            (Some((s, off)), None) => (Some(s.name.clone()), off),
            (Some((s, off)), Some(_)) if s.module.is_some() => (Some(s.name.clone()), off),
            // No .ko loaded for the module: its own kallsyms in memory.
            (_, Some(m)) => match m.symbolize(lookup) {
                Some((s, off)) => (Some(s.name.clone()), off),
                None => (None, 0),
            },
            (None, None) => (None, 0),
        };
        let lines =
            k.di.lines(di_addr)
                .into_iter()
                .map(|l| (l.function, l.file.as_deref().map(kernel_relative), l.line))
                .collect();
        let names = Arc::new(PcNames {
            function: function.map(|f| crash_name(&f)),
            offset,
            module: module.map(|m| m.name.clone()),
            lines,
        });
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(lookup, names.clone());
        names
    }
}

impl Unwinder {
    /// Fill in every frame's locals: callee-saved registers of caller frames from the
    /// callees' `.debug_frame` rows, then each scope's variables evaluated with the registers
    /// known in its frame. Costs a DWARF scope walk per physical frame: only on request.
    pub fn add_locals(&self, k: &Kernel, bt: &mut Backtrace) {
        self.add_locals_where(k, bt, |_| true)
    }

    /// [`Self::add_locals`] for the physical frames that hold a frame `want` picks (their
    /// inline chains included); the others keep `locals: None`. Callee-saved registers are
    /// still recovered through every frame below.
    pub fn add_locals_where(&self, k: &Kernel, bt: &mut Backtrace, want: impl Fn(&Frame) -> bool) {
        // Physical frames in order, and the range of `bt.frames` each covers.
        let mut phys: Vec<(FrameRegs, std::ops::Range<usize>)> = Vec::new();
        for (i, f) in bt.frames.iter().enumerate() {
            let Some(r) = &f.regs else { continue };
            match phys.last_mut() {
                Some((_, range))
                    if range.end == i
                        && bt.frames[range.start]
                            .regs
                            .as_ref()
                            .is_some_and(|x| Arc::ptr_eq(x, r)) =>
                {
                    range.end = i + 1
                }
                _ => phys.push(((**r).clone(), i..i + 1)),
            }
        }
        let mut regs: Vec<FrameRegs> = phys.iter().map(|(r, _)| r.clone()).collect();
        super::locals::recover_callee_saved_of(
            &mut regs,
            &|pc| k.di.cfi_row(pc),
            k,
            k.arch().callee_saved(),
        );
        for (fr, (_, range)) in regs.into_iter().zip(phys) {
            if !bt.frames[range.clone()].iter().any(&want) {
                continue;
            }
            let frames = &mut bt.frames[range];
            let per_scope = match k.di.scopes(fr.di_pc) {
                Some(s) => super::locals::frame_locals(k, &s, &fr),
                None => Vec::new(),
            };
            // Frames and scopes are both innermost first with the function last: pair them
            // from the outer end (the inline chains of the line table and of the scope walk
            // can differ in depth at a call site).
            for f in frames.iter_mut() {
                f.locals = Some(Vec::new());
            }
            for (f, l) in frames.iter_mut().rev().zip(per_scope.into_iter().rev()) {
                f.locals = Some(l);
            }
            let shared = Arc::new(fr);
            for f in frames.iter_mut() {
                f.regs = Some(shared.clone());
            }
        }
    }
}

/// A function name as crash prints it: GCC's interprocedural-SRA and partial-inlining
/// clones (`sigsuspend.isra.0`, `synchronize_rcu_normal.part.0`) under their source name, as
/// crash and drgn show them; constant-propagation clones (`__mutex_lock.constprop.0`) keep
/// their suffix, as crash keeps it (seen on the 6.1 and 6.12 fixtures).
pub fn crash_name(sym: &str) -> String {
    let mut name = sym;
    loop {
        let stripped = [".isra.", ".part."].iter().find_map(|suffix| {
            let i = name.rfind(suffix)?;
            let digits = &name[i + suffix.len()..];
            (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| &name[..i])
        });
        match stripped {
            Some(s) => name = s,
            None => return name.to_string(),
        }
    }
}

/// A source path as the kernel tree names it: `kernel/sched/core.c`, not the build
/// machine's `debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c` or
/// `/build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S`.
pub fn kernel_relative(path: &str) -> String {
    const TOP: &[&str] = &[
        "arch", "block", "certs", "crypto", "drivers", "fs", "include", "init", "io_uring", "ipc",
        "kernel", "lib", "mm", "net", "rust", "samples", "scripts", "security", "sound", "usr",
        "virt",
    ];
    let parts: Vec<&str> = path.split('/').collect();
    // The first path component that is a top-level kernel directory starts the tree path,
    // unless it is the very first component already.
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < parts.len() && TOP.contains(p) {
            return parts[i..].join("/");
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::kernel_relative;

    #[test]
    fn isra_clones_keep_their_source_name() {
        use super::crash_name;
        assert_eq!(crash_name("sigsuspend.isra.0"), "sigsuspend");
        assert_eq!(
            crash_name("__mutex_lock.constprop.0"),
            "__mutex_lock.constprop.0"
        );
        assert_eq!(crash_name("x.isra.y"), "x.isra.y");
        assert_eq!(
            crash_name("synchronize_rcu_normal.part.0"),
            "synchronize_rcu_normal"
        );
        assert_eq!(crash_name("f.isra.0.part.0"), "f");
    }

    #[test]
    fn build_paths_become_tree_paths() {
        assert_eq!(
            kernel_relative("debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c"),
            "kernel/sched/core.c"
        );
        assert_eq!(
            kernel_relative("/build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S"),
            "arch/x86/entry/entry_64.S"
        );
        assert_eq!(kernel_relative("quiesce_hang.c"), "quiesce_hang.c");
        assert_eq!(
            kernel_relative("/tmp/x/fs/notify/fsnotify.c"),
            "fs/notify/fsnotify.c"
        );
    }
}
