//! The vCPUs' registers of a live QEMU guest, from the human monitor's `info registers -a`,
//! turned into the `NT_PRSTATUS` notes QEMU's own `dump-guest-memory` would write for the
//! same stopped machine (`target/i386/arch_dump.c`, `target/arm/arch_dump.c`): the same
//! registers in the same order, `pr_pid` = vCPU index + 1.
//!
//! The text is QEMU's `x86_cpu_dump_state` / `aarch64_cpu_dump_state` output, one block per
//! vCPU after a `CPU#N` line:
//!
//! ```text
//! CPU#0
//! RAX=0000000000000000 RBX=ffffffff82a0f940 RCX=0000000000000000 RDX=0000000000000000
//! …
//! R8 =0000000000000000 R9 =…                      (a space before '=' for short names)
//! RIP=ffffffff81f5a1ce RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
//! CS =0010 0000000000000000 ffffffff 00a09b00 DPL=0 CS64 [-RA]   (selector, base, …)
//! ```
//!
//! arm64: ` PC=… X00=… … X30=…  SP=…` and `PSTATE=400003c5 -Z-- EL1h …`. A vCPU in 32-bit
//! x86 mode prints `EAX=` etc.: those are taken as the low halves. A register the text does
//! not give is 0 and named in the warning of [`parse`]'s caller.

use super::Machine;
use super::PrStatus;
use super::notes;
use std::collections::HashMap;

/// x86_64 `user_regs_struct` order (`arch/x86/include/asm/user_64.h`), as QEMU 7.2 fills
/// it (checked against its dumps): `orig_rax` left 0 (no such register: [`ZERO`]), segment
/// slots hold selectors, `fs_base`/`gs_base` the bases.
const X86_64_ORDER: [&str; 27] = [
    "R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8", "RAX", "RCX", "RDX", "RSI",
    "RDI", ZERO, "RIP", "CS", "RFL", "RSP", "SS", "FS.base", "GS.base", "DS", "ES", "FS", "GS",
];

/// A slot QEMU's note leaves 0.
const ZERO: &str = "-";

const X86_SEGMENTS: [&str; 6] = ["ES", "CS", "SS", "DS", "FS", "GS"];

/// One vCPU's registers by the monitor's names (upper case; segment bases as `FS.base`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VcpuRegs {
    pub index: usize,
    pub regs: HashMap<String, u64>,
}

/// Split `info registers -a` output into vCPU blocks and read each block's `NAME=hex`
/// pairs. Text before the first `CPU#` line (a single-vCPU `info registers`) is vCPU 0.
pub fn parse_blocks(text: &str) -> Vec<VcpuRegs> {
    let mut out: Vec<VcpuRegs> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(n) = t.strip_prefix("CPU#") {
            let index = n
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(out.len());
            out.push(VcpuRegs {
                index,
                regs: HashMap::new(),
            });
            continue;
        }
        if out.is_empty() {
            if t.is_empty() {
                continue;
            }
            out.push(VcpuRegs::default());
        }
        let cur = out.last_mut().expect("a block was pushed");
        read_pairs(t, &mut cur.regs);
    }
    out.retain(|b| !b.regs.is_empty());
    out
}

/// `NAME=hex` pairs of one line into `regs`. "R8 =" is "R8="; a segment line's second
/// field is its base (`FS.base`).
fn read_pairs(line: &str, regs: &mut HashMap<String, u64>) {
    let norm = line.replace(" =", "=");
    let mut toks = norm.split_whitespace().peekable();
    while let Some(tok) = toks.next() {
        let Some((name, value)) = tok.split_once('=') else {
            continue;
        };
        let Ok(v) = u64::from_str_radix(value, 16) else {
            continue;
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        regs.entry(name.to_string()).or_insert(v);
        if X86_SEGMENTS.contains(&name)
            && let Some(base) = toks.peek().and_then(|b| u64::from_str_radix(b, 16).ok())
        {
            regs.insert(format!("{name}.base"), base);
            toks.next();
        }
    }
}

/// The value of `name`, or of its 32-bit form (`RAX` → `EAX`, `RIP` → `EIP`, `RFL` →
/// `EFL`) for a vCPU not in long mode; `None` when the text has neither.
fn x86_value(r: &HashMap<String, u64>, name: &str) -> Option<u64> {
    if let Some(v) = r.get(name) {
        return Some(*v);
    }
    let short = name.strip_prefix('R')?;
    if short.chars().next()?.is_ascii_digit() {
        return None;
    }
    r.get(&format!("E{short}")).copied()
}

/// The `NT_PRSTATUS` notes for `machine` from `info registers -a` text, in vCPU order,
/// and the names of registers the text lacked (a format this code does not know).
pub fn prstatus_notes(machine: Machine, text: &str) -> (Vec<PrStatus>, Vec<String>) {
    let mut blocks = parse_blocks(text);
    blocks.sort_by_key(|b| b.index);
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        // QEMU's pr_pid: the vCPU index + 1 (a block numbered past u32 is not QEMU's)
        let Some(pid) = u32::try_from(b.index).ok().and_then(|i| i.checked_add(1)) else {
            continue;
        };
        let mut miss = |n: &str| {
            if !missing.iter().any(|m| m == n) {
                missing.push(n.to_string());
            }
            0
        };
        let regs: Vec<u64> = match machine {
            Machine::X86_64 => X86_64_ORDER
                .iter()
                .map(|&n| match n {
                    ZERO => 0,
                    n => x86_value(&b.regs, n).unwrap_or_else(|| miss(n)),
                })
                .collect(),
            Machine::Aarch64 => (0..31)
                .map(|n| format!("X{n:02}"))
                .chain(["SP".into(), "PC".into(), "PSTATE".into()])
                .map(|n| b.regs.get(&n).copied().unwrap_or_else(|| miss(&n)))
                .collect(),
            Machine::Other(_) => Vec::new(),
        };
        out.push(notes::prstatus(i, &notes::prstatus_desc(pid, &regs)));
    }
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU 7.2's `info registers -a` of the bookworm fixture guest (6.1 kernel, 2 vCPUs,
    /// stopped while hung; `tests/data/qmp/README.md`).
    const X86: &str = include_str!("../../tests/data/qmp/x86_64-info-registers.txt");

    /// Found by libFuzzer (tests/data/fuzz/qemu_monitor-911af50aeaf08b9f.bin): a `CPU#`
    /// number past u32 overflowed the note's pr_pid (vCPU + 1).
    #[test]
    fn a_vcpu_number_past_u32_is_skipped() {
        let t = "CPU#4294967295\r\nX00=0000000000000001\r\nCPU#1\r\nX00=0000000000000002\r\n";
        let (notes, _) = prstatus_notes(Machine::Aarch64, t);
        assert_eq!(notes.len(), 1);
        assert_eq!((notes[0].pid, notes[0].regs[0]), (2, 2));
    }

    #[test]
    fn x86_64_blocks_become_qemu_style_prstatus() {
        let (notes, missing) = prstatus_notes(Machine::X86_64, X86);
        assert!(missing.is_empty(), "{missing:?}");
        assert_eq!(notes.len(), 2);
        let r = &notes[0].regs;
        assert_eq!(r.len(), 27);
        assert_eq!(notes[0].raw.len(), 336);
        assert_eq!(
            notes[0].pid, 1,
            "pr_pid = vCPU index + 1, as QEMU writes it"
        );
        assert_eq!(notes[1].pid, 2);
        assert_eq!(r[0], 0x14790, "r15");
        assert_eq!(r[4], 0xffffffffb861aa40, "rbp");
        assert_eq!(r[8], 0x314dd5bd, "r9 (printed as \"R9 =\")");
        assert_eq!(r[10], 0x1ad40, "rax");
        assert_eq!(r[11], 0x7ffffffa3f0ccdff, "rcx");
        assert_eq!(r[15], 0, "orig_rax: 0, as QEMU leaves it");
        assert_eq!(r[16], 0xffffffffb7617a0b, "rip");
        assert_eq!(r[17], 0x10, "cs selector");
        assert_eq!(r[18], 0x246, "eflags");
        assert_eq!(r[19], 0xffffffffb8603e98, "rsp");
        assert_eq!(r[20], 0x18, "ss selector");
        assert_eq!(r[22], 0xffff8dd59f400000, "gs_base");
        assert_ne!(notes[1].regs[19], r[19], "each vCPU its own block");
        // a block cut short: its absent registers are named, and are 0
        let cut = &X86[..X86.find("RIP=").unwrap()];
        let (notes, missing) = prstatus_notes(Machine::X86_64, cut);
        assert!(missing.contains(&"RIP".to_string()), "{missing:?}");
        assert_eq!(notes[0].regs[16], 0);
    }

    /// QEMU 7.2's `info registers -a` for an arm64 `virt` machine (2 vCPUs) stopped in a
    /// tiny program that put 0x1000 + n in xn, 0x2000 in x29 and sp
    /// (`tests/data/qmp/README.md`).
    const ARM64: &str = include_str!("../../tests/data/qmp/arm64-info-registers.txt");

    #[test]
    fn arm64_blocks_become_user_pt_regs_order() {
        let (notes, missing) = prstatus_notes(Machine::Aarch64, ARM64);
        assert!(missing.is_empty(), "{missing:?}");
        assert_eq!(notes.len(), 2);
        let r = &notes[0].regs;
        assert_eq!(r.len(), 34);
        assert_eq!(notes[0].raw.len(), 392, "arm64 elf_prstatus size");
        for n in (0..31).filter(|&n| n != 29) {
            assert_eq!(r[n], 0x1000 + n as u64, "x{n}");
        }
        assert_eq!(r[29], 0x2000, "x29");
        assert_eq!(r[31], 0x2000, "sp");
        assert_eq!(r[32], 0x40080080, "pc");
        assert_eq!(r[33], 0x400003c5, "pstate");
        assert_eq!(notes[1].regs[32], 0, "the second vCPU never started");
    }

    #[test]
    fn real_mode_x86_reads_the_32_bit_names_and_junk_is_skipped() {
        let text = "CPU#0\nEAX=00000001 EBX=00000002 ESP=00000010\nEIP=0000fff0 EFL=00000002 [-------] CPL=0\nCS =f000 ffff0000 0000ffff 00009b00\nFPR0=0000000000000000 0000 junk= ==== X=zz\n";
        let (notes, _) = prstatus_notes(Machine::X86_64, text);
        let r = &notes[0].regs;
        assert_eq!((r[10], r[5], r[19], r[16], r[18]), (1, 2, 0x10, 0xfff0, 2));
        assert_eq!(r[17], 0xf000);
        assert!(prstatus_notes(Machine::X86_64, "").0.is_empty());
        assert!(
            prstatus_notes(Machine::X86_64, "no registers here\n")
                .0
                .is_empty()
        );
    }
}
