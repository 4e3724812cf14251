//! Locals of backtrace frames, as drgn's `StackFrame.locals()`: per physical frame the
//! register values that are known (see [`super::walk::RawFrame::regs`]) plus the callee-saved
//! registers DWARF CFI says the callee saved (`.debug_frame`; the walk itself stays ORC), then
//! each scope's parameters and variables evaluated from their DWARF location descriptions
//! with those registers, the frame's CFA as frame base, and dump memory. A value that needs a
//! register not known is reported unavailable with that register's name: never guessed.

use crate::addr::Kva;
use crate::arch::x86_64::{self, RBP, RBX};
use crate::arch::{Arch, Regs};
use crate::debuginfo::{CfiRow, RegRule, Scopes, TypeId, TypeKind, VarKind, VarLoc};
use crate::kernel::Kernel;
use crate::kernel::value::{Value, type_name};
use serde::Serialize;

/// Callee-saved registers of the x86_64 psABI.
pub const CALLEE_SAVED: [u16; 6] = [RBX, RBP, 12, 13, 14, 15];

/// The registers of one physical frame, shared by its inline frames.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameRegs {
    pub regs: Regs,
    /// The frame's CFA (the frame base of `DW_OP_call_frame_cfa`).
    pub cfa: Option<u64>,
    /// Where to look the frame up in the debug info: the vmlinux link address or module
    /// runtime address of the pc, or of `pc - 1` for a return address.
    pub di_pc: u64,
    /// The frame is a caller's (its pc is a return address), so callee-saved registers may
    /// be recovered from its callee's CFI.
    pub returned_to: bool,
}

/// Why a variable has no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum Absent {
    /// The DWARF gives no location at this pc.
    OptimizedOut,
    /// The location needs a register whose value in this frame is not known.
    NeedsRegister(String),
    /// The frame's CFA (frame base) is not known.
    NeedsFrameBase,
    /// `DW_OP_entry_value`: the value the register had on entry, which is gone.
    EntryValue,
    /// `DW_OP_implicit_pointer`: a pointer to a value that has no address.
    ImplicitPointer,
    /// Memory the location names could not be read.
    Unreadable(String),
    /// The location description is malformed or uses something not supported.
    BadExpression(String),
}

impl std::fmt::Display for Absent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absent::OptimizedOut => write!(f, "<optimized out>"),
            Absent::NeedsRegister(r) => write!(f, "<unavailable: needs %{r}>"),
            Absent::NeedsFrameBase => write!(f, "<unavailable: needs the frame's CFA>"),
            Absent::EntryValue => write!(f, "<unavailable: entry value>"),
            Absent::ImplicitPointer => write!(f, "<unavailable: implicit pointer>"),
            Absent::Unreadable(e) => write!(f, "<unavailable: {e}>"),
            Absent::BadExpression(e) => write!(f, "<unavailable: {e}>"),
        }
    }
}

/// One parameter or local variable of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Local {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub kind: VarKind,
    /// The value as text (`(struct completion *)0xffff…`, `9223372036854775807`, …).
    pub value: Option<String>,
    /// The number, for integers, enums, bools and pointers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<i128>,
    /// Where the variable lives, when it is in memory.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_hex"
    )]
    pub address: Option<u64>,
    /// Why there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent: Option<Absent>,
}

fn ser_opt_hex<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&format!("{v:#x}")),
        None => s.serialize_none(),
    }
}

impl Local {
    /// `name = value` as the text output shows it.
    pub fn text(&self) -> String {
        match (&self.value, &self.absent) {
            (Some(v), _) => format!("{} = {v}", self.name),
            (None, Some(a)) => format!("{} = {a}", self.name),
            (None, None) => format!("{} = ?", self.name),
        }
    }
}

/// Memory as the evaluator needs it; errors say what was read.
pub trait LocalsMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String>;
}

impl LocalsMemory for Kernel {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        Kernel::read(self, Kva(addr), buf, "local variable").map_err(|e| e.to_string())
    }
}

/// Recover callee-saved registers of caller frames from their callees' CFI rows:
/// `frames[i + 1]` (the caller) gets each callee-saved register the callee `frames[i]`
/// saved (`CFA + n`) or left alone (same value, when the callee's value is known). Frames
/// restored from `pt_regs` or `NT_PRSTATUS` already know everything and are left as they are;
/// a row whose CFA disagrees with the walker's is not trusted.
pub fn recover_callee_saved(
    frames: &mut [FrameRegs],
    cfi: &dyn Fn(u64) -> Option<CfiRow>,
    mem: &dyn LocalsMemory,
) {
    recover_callee_saved_of(frames, cfi, mem, &CALLEE_SAVED)
}

/// [`recover_callee_saved`] for the callee-saved registers of an architecture
/// ([`Arch::callee_saved`]).
pub fn recover_callee_saved_of(
    frames: &mut [FrameRegs],
    cfi: &dyn Fn(u64) -> Option<CfiRow>,
    mem: &dyn LocalsMemory,
    callee_saved: &[u16],
) {
    for i in 0..frames.len().saturating_sub(1) {
        if !frames[i + 1].returned_to {
            continue;
        }
        let callee = &frames[i];
        let Some(cfa) = callee.cfa else { continue };
        let Some(row) = cfi(callee.di_pc) else {
            continue;
        };
        if let Some((reg, off)) = row.cfa
            && let Some(base) = callee.regs.get(reg)
            && base.wrapping_add(off as u64) != cfa
        {
            continue;
        }
        let mut got = Vec::new();
        for &r in callee_saved {
            if frames[i + 1].regs.get(r).is_some() {
                continue;
            }
            let v = match row.rule(r) {
                RegRule::SameValue => callee.regs.get(r),
                RegRule::AtCfa(n) => {
                    let mut b = [0u8; 8];
                    mem.read(cfa.wrapping_add(n as u64), &mut b)
                        .ok()
                        .map(|_| u64::from_le_bytes(b))
                }
                RegRule::CfaPlus(n) => Some(cfa.wrapping_add(n as u64)),
                RegRule::InRegister(x) => callee.regs.get(x),
                RegRule::AtExpression(e) => {
                    cfi_expression(&e, &callee.regs, cfa, mem).and_then(|a| {
                        let mut b = [0u8; 8];
                        mem.read(a, &mut b).ok().map(|_| u64::from_le_bytes(b))
                    })
                }
                RegRule::ValExpression(e) => cfi_expression(&e, &callee.regs, cfa, mem),
                RegRule::Undefined | RegRule::Unsupported => None,
            };
            got.push((r, v));
        }
        for (r, v) in got {
            frames[i + 1].regs.set(r, v);
        }
    }
}

/// What a CFI register expression computes: evaluated with the callee's registers, the CFA
/// pushed first (DWARF 5 section 6.4.2.3). `None` when it needs what the frame lacks.
fn cfi_expression(expr: &[u8], regs: &Regs, cfa: u64, mem: &dyn LocalsMemory) -> Option<u64> {
    let encoding = gimli::Encoding {
        address_size: 8,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut ev = Eval::new(gimli::EndianSlice::new(expr, gimli::LittleEndian), encoding);
    ev.set_max_iterations(MAX_STEPS);
    ev.set_initial_value(cfa);
    let f = EvalFrame {
        regs,
        cfa: Some(cfa),
        frame_base: None,
        encoding,
        reloc: 0,
        // Only the value is used here; a failure's register name is dropped.
        arch: &x86_64::X86_64,
    };
    run(&mut ev, &f, mem, 0).ok()?;
    match ev.result().as_slice() {
        [p] if p.size_in_bits.is_none() => match p.location {
            gimli::Location::Address { address } => Some(address),
            gimli::Location::Value { value } => value.to_u64(!0).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Where a variable's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    Memory(u64),
    /// The value itself (register contents, `DW_OP_stack_value`, implicit value): a value
    /// shorter than its type is zero-extended, as for an implicit value of a constant.
    Bytes(Vec<u8>),
    /// The value assembled from `DW_OP_piece`s: exactly the bytes the pieces give.
    Pieces(Vec<u8>),
}

/// What evaluating a location needs from the frame.
pub struct EvalFrame<'a> {
    pub regs: &'a Regs,
    pub cfa: Option<u64>,
    pub frame_base: Option<&'a [u8]>,
    pub encoding: gimli::Encoding,
    /// Added to `DW_OP_addr` operands (the KASLR offset for the vmlinux, 0 for modules).
    pub reloc: u64,
    /// Names registers in "needs register" reasons.
    pub arch: &'static dyn Arch,
}

const MAX_STEPS: u32 = 10_000;
/// The largest `DW_OP_piece` accepted.
const MAX_PIECE: usize = 4096;

fn reg_name(arch: &dyn Arch, r: u16) -> String {
    arch.reg_name(r)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("dwarf register {r}"))
}

fn value_bytes(v: gimli::Value) -> Vec<u8> {
    use gimli::Value as V;
    match v {
        V::Generic(x) | V::U64(x) => x.to_le_bytes().to_vec(),
        V::I8(x) => x.to_le_bytes().to_vec(),
        V::U8(x) => x.to_le_bytes().to_vec(),
        V::I16(x) => x.to_le_bytes().to_vec(),
        V::U16(x) => x.to_le_bytes().to_vec(),
        V::I32(x) => x.to_le_bytes().to_vec(),
        V::U32(x) => x.to_le_bytes().to_vec(),
        V::I64(x) => x.to_le_bytes().to_vec(),
        V::F32(x) => x.to_le_bytes().to_vec(),
        V::F64(x) => x.to_le_bytes().to_vec(),
    }
}

type Eval<'a> = gimli::Evaluation<gimli::EndianSlice<'a, gimli::LittleEndian>>;

/// Run an evaluation to completion, answering its questions from the frame.
fn run(ev: &mut Eval<'_>, f: &EvalFrame, mem: &dyn LocalsMemory, depth: u32) -> Result<(), Absent> {
    use gimli::EvaluationResult as E;
    let bad = |e: gimli::Error| Absent::BadExpression(format!("bad location expression: {e}"));
    let mut r = ev.evaluate().map_err(bad)?;
    loop {
        r = match r {
            E::Complete => return Ok(()),
            E::RequiresMemory { address, size, .. } => {
                let n = (size as usize).clamp(1, 8);
                let mut b = [0u8; 8];
                mem.read(address, &mut b[..n])
                    .map_err(|e| Absent::Unreadable(format!("cannot read {address:#x}: {e}")))?;
                ev.resume_with_memory(gimli::Value::Generic(u64::from_le_bytes(b)))
                    .map_err(bad)?
            }
            E::RequiresRegister { register, .. } => {
                let v = f
                    .regs
                    .get(register.0)
                    .ok_or_else(|| Absent::NeedsRegister(reg_name(f.arch, register.0)))?;
                ev.resume_with_register(gimli::Value::Generic(v))
                    .map_err(bad)?
            }
            E::RequiresFrameBase => {
                let fb = frame_base(f, mem, depth)?;
                ev.resume_with_frame_base(fb).map_err(bad)?
            }
            E::RequiresCallFrameCfa => {
                let cfa = f.cfa.ok_or(Absent::NeedsFrameBase)?;
                ev.resume_with_call_frame_cfa(cfa).map_err(bad)?
            }
            E::RequiresRelocatedAddress(a) => ev
                .resume_with_relocated_address(a.wrapping_add(f.reloc))
                .map_err(bad)?,
            E::RequiresEntryValue(_) => return Err(Absent::EntryValue),
            E::RequiresTls(_) => {
                return Err(Absent::BadExpression("thread-local storage".into()));
            }
            E::RequiresAtLocation(_) | E::RequiresParameterRef(_) => {
                return Err(Absent::BadExpression(
                    "DW_OP_call/DW_OP_GNU_parameter_ref not supported".into(),
                ));
            }
            E::RequiresIndexedAddress { .. } => {
                return Err(Absent::BadExpression("DW_OP_addrx not supported".into()));
            }
            E::RequiresBaseType(_) => {
                return Err(Absent::BadExpression(
                    "typed DWARF stack not supported".into(),
                ));
            }
            _ => return Err(Absent::BadExpression("unsupported operation".into())),
        };
    }
}

fn frame_base(f: &EvalFrame, mem: &dyn LocalsMemory, depth: u32) -> Result<u64, Absent> {
    let expr = f.frame_base.ok_or(Absent::NeedsFrameBase)?;
    if depth > 2 {
        return Err(Absent::BadExpression("recursive frame base".into()));
    }
    match locate_depth(expr, f, mem, depth + 1)? {
        Located::Memory(a) => Ok(a),
        Located::Bytes(b) if b.len() >= 8 => Ok(u64::from_le_bytes(b[..8].try_into().unwrap())),
        Located::Bytes(_) | Located::Pieces(_) => {
            Err(Absent::BadExpression("frame base too short".into()))
        }
    }
}

/// Evaluate a location description.
pub fn locate(expr: &[u8], f: &EvalFrame, mem: &dyn LocalsMemory) -> Result<Located, Absent> {
    locate_depth(expr, f, mem, 0)
}

fn locate_depth(
    expr: &[u8],
    f: &EvalFrame,
    mem: &dyn LocalsMemory,
    depth: u32,
) -> Result<Located, Absent> {
    if expr.is_empty() {
        return Err(Absent::OptimizedOut);
    }
    let mut ev = Eval::new(
        gimli::EndianSlice::new(expr, gimli::LittleEndian),
        f.encoding,
    );
    ev.set_max_iterations(MAX_STEPS);
    run(&mut ev, f, mem, depth)?;
    let pieces = ev.result();
    let single = pieces.len() == 1 && pieces[0].size_in_bits.is_none();
    let mut out = Vec::new();
    for p in &pieces {
        let n = p.size_in_bits.map(|b| b.div_ceil(8) as usize);
        // Sizes come from the debug info: no value the evaluator hands back is this big.
        if n.is_some_and(|n| n > MAX_PIECE) || out.len() > MAX_PIECE {
            return Err(Absent::BadExpression("a piece larger than 4 KiB".into()));
        }
        let bytes = match &p.location {
            gimli::Location::Address { address } if single => {
                return Ok(Located::Memory(*address));
            }
            gimli::Location::Address { address } => {
                let mut b = vec![0u8; n.unwrap_or(8).min(64)];
                mem.read(*address, &mut b)
                    .map_err(|e| Absent::Unreadable(format!("cannot read {address:#x}: {e}")))?;
                b
            }
            gimli::Location::Register { register } => f
                .regs
                .get(register.0)
                .ok_or_else(|| Absent::NeedsRegister(reg_name(f.arch, register.0)))?
                .to_le_bytes()
                .to_vec(),
            gimli::Location::Value { value } => value_bytes(*value),
            gimli::Location::Bytes { value } => value.slice().to_vec(),
            gimli::Location::ImplicitPointer { .. } => return Err(Absent::ImplicitPointer),
            gimli::Location::Empty if pieces.len() == 1 => return Err(Absent::OptimizedOut),
            gimli::Location::Empty => {
                return Err(Absent::BadExpression(
                    "part of the value is optimized out".into(),
                ));
            }
        };
        match n {
            Some(n) => {
                let mut b = bytes;
                b.resize(n.max(b.len().min(n)), 0);
                out.extend_from_slice(&b[..n.min(b.len())]);
            }
            None => out.extend_from_slice(&bytes),
        }
    }
    Ok(if single {
        Located::Bytes(out)
    } else {
        Located::Pieces(out)
    })
}

/// A variable's value as text (and number, address) from where it is.
pub fn format_value(
    k: &Kernel,
    ty: Option<TypeId>,
    loc: &Located,
) -> Result<(String, Option<i128>, Option<u64>), Absent> {
    let Some(ty) = ty else {
        return Err(Absent::BadExpression("variable has no type".into()));
    };
    let di = &k.di;
    let sty = di.strip(ty);
    let t = k.type_of(sty);
    let tname = type_name(di, ty);
    let aggregate = matches!(t.kind, TypeKind::Struct | TypeKind::Union | TypeKind::Array);
    let size = di.sizeof(sty).unwrap_or(0) as usize;
    if aggregate {
        return Ok(match loc {
            Located::Memory(a) => (format!("({tname}){{...}} at {a:#x}"), None, Some(*a)),
            Located::Bytes(b) | Located::Pieces(b) => {
                (format!("({tname}){}", summary(k, sty, b)), None, None)
            }
        });
    }
    let (bytes, addr) = match loc {
        Located::Memory(a) => {
            let mut b = vec![0u8; size.clamp(1, 16)];
            LocalsMemory::read(k, *a, &mut b)
                .map_err(|e| Absent::Unreadable(format!("cannot read {a:#x}: {e}")))?;
            (b, Some(*a))
        }
        Located::Bytes(b) => {
            let mut b = b.clone();
            if b.len() < size {
                b.resize(size, 0);
            }
            (b, None)
        }
        Located::Pieces(b) if b.len() < size => {
            return Err(Absent::BadExpression(format!(
                "only {} of {size} bytes known",
                b.len()
            )));
        }
        Located::Pieces(b) => (b.clone(), None),
    };
    let Some(v) = k.scalar_from_bytes(ty, &bytes) else {
        return Err(Absent::BadExpression(format!(
            "{} bytes for a {tname}",
            bytes.len()
        )));
    };
    let number = v.as_int();
    let text = match &v {
        Value::Pointer { value, symbol } => {
            let mut s = format!("({tname}){value:#x}");
            if let Some(sym) = symbol {
                s.push_str(&format!(" <{sym}>"));
            } else if *value != 0
                && is_char_pointer(k, sty)
                && let Ok(st) = k.read_cstr(Kva(*value), 48, "string")
            {
                s.push_str(&format!(" \"{}\"", st.escape_default()));
            }
            s
        }
        other => other.fmt_c(),
    };
    Ok((text, number, addr))
}

/// A short summary of a struct whose bytes are known but not in memory: its first scalar
/// members that the bytes cover, `{.a = 1, .b = 0x…, ...}`.
fn summary(k: &Kernel, sty: TypeId, bytes: &[u8]) -> String {
    let t = k.type_of(sty);
    let mut parts = Vec::new();
    for m in t.members.iter().filter(|m| m.bit_size.is_none()) {
        let Some(size) = k.di.sizeof(m.ty) else {
            continue;
        };
        let (start, end) = (m.offset as usize, (m.offset + size) as usize);
        let Some(b) = bytes.get(start..end) else {
            continue;
        };
        if let (Some(name), Some(v)) = (&m.name, k.scalar_from_bytes(m.ty, b)) {
            parts.push(format!(".{name} = {}", v.fmt_c()));
        }
        if parts.len() == 4 {
            parts.push("...".into());
            break;
        }
    }
    format!("{{{}}}", parts.join(", "))
}

fn is_char_pointer(k: &Kernel, ptr: TypeId) -> bool {
    let t = k.type_of(ptr);
    let Some(target) = t.target else { return false };
    matches!(
        k.type_of(k.di.strip(target)).kind,
        TypeKind::Base {
            encoding: crate::debuginfo::BaseEncoding::Char,
            ..
        }
    )
}

/// The locals of every scope at one physical frame, innermost scope first (as
/// [`Scopes::scopes`]).
pub fn frame_locals(k: &Kernel, scopes: &Scopes, fr: &FrameRegs) -> Vec<Vec<Local>> {
    let ef = EvalFrame {
        regs: &fr.regs,
        cfa: fr.cfa,
        frame_base: scopes.frame_base.as_deref(),
        encoding: scopes.encoding,
        reloc: if scopes.module { 0 } else { k.kaslr_offset },
        arch: k.arch(),
    };
    scopes
        .scopes
        .iter()
        .map(|s| {
            s.vars
                .iter()
                .map(|v| {
                    let located = match &v.loc {
                        VarLoc::Expr(e) => locate(e, &ef, k),
                        VarLoc::Const(b) => Ok(Located::Bytes(b.clone())),
                        VarLoc::OptimizedOut => Err(Absent::OptimizedOut),
                        VarLoc::Bad(e) => Err(Absent::BadExpression(e.clone())),
                    };
                    let r = located.and_then(|l| format_value(k, v.ty, &l));
                    let ty =
                        v.ty.map(|t| type_name(&k.di, t))
                            .unwrap_or_else(|| "?".into());
                    match r {
                        Ok((value, number, address)) => Local {
                            name: v.name.clone(),
                            ty,
                            kind: v.kind,
                            value: Some(value),
                            number,
                            address,
                            absent: None,
                        },
                        Err(a) => Local {
                            name: v.name.clone(),
                            ty,
                            kind: v.kind,
                            value: None,
                            number: None,
                            address: None,
                            absent: Some(a),
                        },
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
#[path = "locals_tests.rs"]
mod tests;
