//! Tests of the DWARF location evaluation and value formatting in `locals.rs`.

use super::*;
use crate::arch::x86_64::NREGS;
use crate::debuginfo::{CfiRow, RegRule};
use std::collections::HashMap;

struct Mem(HashMap<u64, u64>);
impl LocalsMemory for Mem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        let v = self
            .0
            .get(&addr)
            .ok_or_else(|| format!("{addr:#x} not in the dump"))?;
        let b = v.to_le_bytes();
        let n = buf.len().min(8);
        buf[..n].copy_from_slice(&b[..n]);
        Ok(())
    }
}

fn regs(v: &[(u16, u64)]) -> Regs {
    let mut r = Regs::new(NREGS);
    for &(i, x) in v {
        r.set(i, Some(x));
    }
    r
}

fn frame(r: Regs, cfa: Option<u64>, returned_to: bool) -> FrameRegs {
    FrameRegs {
        regs: r,
        cfa,
        di_pc: 0x1000,
        returned_to,
    }
}

/// The callee saved rbx at CFA-16 and left r12 alone; r13 is undefined; r14 was never
/// known: the caller gets rbx from the stack, r12 from the callee, nothing else.
#[test]
fn cfi_recovers_callee_saved_registers() {
    let mem = Mem(HashMap::from([(0x2000 - 16, 0xabc)]));
    let row = CfiRow {
        cfa: Some((x86_64::RSP, 16)),
        rules: vec![(RBX, RegRule::AtCfa(-16)), (13, RegRule::Undefined)],
    };
    let callee = regs(&[(x86_64::RSP, 0x2000 - 16), (RBX, 1), (12, 5), (13, 6)]);
    let caller = regs(&[(x86_64::RSP, 0x2000), (x86_64::RIP, 0x4242)]);
    let mut frames = vec![
        frame(callee.clone(), Some(0x2000), false),
        frame(caller.clone(), None, true),
    ];
    recover_callee_saved(&mut frames, &|_| Some(row.clone()), &mem);
    let c = &frames[1].regs;
    assert_eq!(c.get(RBX), Some(0xabc));
    assert_eq!(c.get(12), Some(5));
    assert_eq!(c.get(13), None);
    assert_eq!(c.get(14), None);
    assert_eq!(c.get(RBP), None);

    // A row whose CFA disagrees with the walker's is not trusted.
    let mut frames = vec![
        frame(callee.clone(), Some(0x3000), false),
        frame(caller.clone(), None, true),
    ];
    recover_callee_saved(&mut frames, &|_| Some(row.clone()), &mem);
    assert_eq!(frames[1].regs.get(RBX), None);
    assert_eq!(frames[1].regs.get(12), None);

    // No FDE: nothing recovered; a frame restored from pt_regs is left alone.
    let mut frames = vec![
        frame(callee.clone(), Some(0x2000), false),
        frame(caller.clone(), None, true),
        frame(regs(&[(RBX, 9)]), None, false),
    ];
    recover_callee_saved(&mut frames, &|_| None, &mem);
    assert_eq!(frames[1].regs.get(RBX), None);
    assert_eq!(frames[2].regs.get(RBX), Some(9));
    assert_eq!(frames[2].regs.get(12), None);
}

/// A function that realigns its stack (CFA given by an expression): rbx saved at
/// `rbp - 8` (DW_CFA_expression `DW_OP_breg6 -8`), r12 equal to `rbp - 16`
/// (DW_CFA_val_expression); an expression needing an unknown register gives nothing.
#[test]
fn cfi_expression_rules() {
    let rbp = 0x5000u64;
    let mem = Mem(HashMap::from([(rbp - 8, 0x77)]));
    let at: std::sync::Arc<[u8]> = vec![0x76, 0x78].into(); // DW_OP_breg6 -8
    let val: std::sync::Arc<[u8]> = vec![0x76, 0x70].into(); // DW_OP_breg6 -16
    let needs_r15: std::sync::Arc<[u8]> = vec![0x7f, 0x00].into(); // DW_OP_breg15 0
    let row = CfiRow {
        cfa: None,
        rules: vec![
            (RBX, RegRule::AtExpression(at)),
            (12, RegRule::ValExpression(val)),
            (13, RegRule::AtExpression(needs_r15)),
        ],
    };
    let callee = regs(&[(x86_64::RSP, 0x4f00), (RBP, rbp)]);
    let mut frames = vec![
        frame(callee, Some(0x5010), false),
        frame(regs(&[(x86_64::RSP, 0x5010)]), None, true),
    ];
    recover_callee_saved(&mut frames, &|_| Some(row.clone()), &mem);
    let c = &frames[1].regs;
    assert_eq!(c.get(RBX), Some(0x77));
    assert_eq!(c.get(12), Some(rbp - 16));
    assert_eq!(c.get(13), None);
}

fn enc() -> gimli::Encoding {
    gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 5,
        address_size: 8,
    }
}

fn eval(expr: &[u8], r: &Regs, cfa: Option<u64>, fb: Option<&[u8]>) -> Result<Located, Absent> {
    let mem = Mem(HashMap::from([(0x1ff8, 77)]));
    let f = EvalFrame {
        regs: r,
        cfa,
        frame_base: fb,
        encoding: enc(),
        reloc: 0x1000_0000,
        arch: &x86_64::X86_64,
    };
    locate(expr, &f, &mem)
}

#[test]
fn locations_and_absence_reasons() {
    let none = regs(&[]);
    let rbx = regs(&[(RBX, 0x55)]);
    const CFA: &[u8] = &[0x9c]; // DW_OP_call_frame_cfa
    // DW_OP_reg3 (rbx)
    assert_eq!(
        eval(&[0x53], &none, None, None),
        Err(Absent::NeedsRegister("rbx".into()))
    );
    assert_eq!(
        eval(&[0x53], &rbx, None, None),
        Ok(Located::Bytes(0x55u64.to_le_bytes().to_vec()))
    );
    assert_eq!(
        Absent::NeedsRegister("rbx".into()).to_string(),
        "<unavailable: needs %rbx>"
    );
    // DW_OP_fbreg -8 with the CFA as frame base.
    assert_eq!(
        eval(&[0x91, 0x78], &none, Some(0x2000), Some(CFA)),
        Ok(Located::Memory(0x1ff8))
    );
    assert_eq!(
        eval(&[0x91, 0x78], &none, None, Some(CFA)),
        Err(Absent::NeedsFrameBase)
    );
    assert_eq!(
        eval(&[0x91, 0x78], &none, Some(0x2000), None),
        Err(Absent::NeedsFrameBase)
    );
    // DW_OP_breg3 0; DW_OP_deref: rbx points nowhere readable.
    assert!(matches!(
        eval(&[0x73, 0x00, 0x06], &rbx, None, None),
        Err(Absent::Unreadable(e)) if e.contains("0x55")
    ));
    // DW_OP_lit5; DW_OP_stack_value
    assert_eq!(
        eval(&[0x35, 0x9f], &none, None, None),
        Ok(Located::Bytes(5u64.to_le_bytes().to_vec()))
    );
    // DW_OP_addr: relocated by the KASLR offset.
    let mut addr = vec![0x03];
    addr.extend_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
    assert_eq!(
        eval(&addr, &none, None, None),
        Ok(Located::Memory(0xffff_ffff_9100_0000))
    );
    // DW_OP_entry_value(DW_OP_reg5); DW_OP_stack_value
    assert_eq!(
        eval(&[0xa3, 0x01, 0x55, 0x9f], &none, None, None),
        Err(Absent::EntryValue)
    );
    // DW_OP_implicit_pointer <die 0x1234> 0
    assert_eq!(
        eval(&[0xa0, 0x34, 0x12, 0, 0, 0x00], &none, None, None),
        Err(Absent::ImplicitPointer)
    );
    // Pieces: rbx in the low 4 bytes, the rest optimized out.
    assert!(matches!(
        eval(&[0x53, 0x93, 0x04, 0x93, 0x04], &rbx, None, None),
        Err(Absent::BadExpression(_))
    ));
    assert_eq!(
        eval(&[0x53, 0x93, 0x04], &rbx, None, None),
        Ok(Located::Pieces(vec![0x55, 0, 0, 0]))
    );
    // Empty: optimized out.
    assert_eq!(eval(&[], &none, None, None), Err(Absent::OptimizedOut));
}

/// Untrusted expressions: unknown opcodes, truncated operands and loops end in a
/// reason, never a panic or a hang.
#[test]
fn bad_expressions_are_reasons() {
    let none = regs(&[]);
    for e in [
        &[0xff, 0x12][..],
        &[0x03, 0x01],       // DW_OP_addr with 1 of 8 bytes
        &[0x2f, 0xfd, 0xff], // DW_OP_skip -3: jumps to itself forever
        &[0x06],             // DW_OP_deref of an empty stack
        &[0x91],             // DW_OP_fbreg without its operand
        &[0x9f],             // DW_OP_stack_value of nothing
    ] {
        let r = eval(e, &none, Some(0x2000), Some(&[0x91, 0x00]));
        assert!(matches!(r, Err(Absent::BadExpression(_))), "{e:x?}: {r:?}");
    }
    // A frame base that is itself DW_OP_fbreg: recursion is bounded.
    let r = eval(&[0x91, 0x00], &none, Some(0x2000), Some(&[0x91, 0x00]));
    assert!(matches!(r, Err(Absent::BadExpression(_))), "{r:?}");
}

/// Location expressions and CFI rules come from the debug info and the dump: any bytes
/// at all give a value or a reason, never a panic or an endless loop. 20 000 random
/// expressions (a fixed-seed xorshift, so a failure repeats), half of them starting
/// with a real opcode byte.
#[test]
fn random_expressions_end_with_a_value_or_a_reason() {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let known = regs(&[(RBX, 0x1000), (RBP, 0x2000), (x86_64::RSP, 0x1ff0)]);
    let mem = Mem(HashMap::from([(0x1000, 0x2000), (0x2000, 0x1000)]));
    // A piece claiming 2^35 bytes, and one claiming 2^63 bits.
    let huge: [&[u8]; 2] = [
        &[0x30, 0x93, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        &[
            0x30, 0x9d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00,
        ],
    ];
    for e in huge {
        let r = eval(e, &known, Some(0x2000), None);
        assert!(matches!(r, Err(Absent::BadExpression(_))), "{e:x?}: {r:?}");
    }
    for i in 0..20_000 {
        let len = (next() % 12) as usize;
        let mut e: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && !e.is_empty() {
            e[0] = 0x03 + (next() % 0x9c) as u8; // DW_OP_addr ..= DW_OP_call_frame_cfa
        }
        let _ = eval(&e, &known, Some(0x2000), Some(&[0x9c]));
        let _ = cfi_expression(&e, &known, 0x2000, &mem);
    }
}
