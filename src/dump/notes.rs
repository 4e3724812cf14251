//! ELF notes as dumps carry them: in `PT_NOTE` segments of ELF cores, and copied verbatim
//! into the `offset_note` area of kdump-compressed files.
//!
//! We decode three kinds: `NT_PRSTATUS` ("CORE", one per CPU), VMCOREINFO ("VMCOREINFO",
//! type 0: the kernel's `KEY=value` lines) and QEMU's per-CPU state ("QEMU", type 0,
//! `QEMUCPUState` of `target/i386/arch_dump.c`). A malformed note stops the walk with a
//! warning; everything before it is kept.

use super::PrStatus;

pub(crate) const NT_PRSTATUS: u32 = 1;
pub(crate) const NT_TASKSTRUCT: u32 = 4;

/// One note: name without its NUL, type, descriptor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Note<'a> {
    pub name: &'a [u8],
    pub ntype: u32,
    pub desc: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Walk the notes in `buf` (4-byte aligned `Elf64_Nhdr` records). `what` names the note
/// area for warnings ("PT_NOTE #0 at file offset 0x…").
pub(crate) fn parse<'a>(buf: &'a [u8], what: &str, warnings: &mut Vec<String>) -> Vec<Note<'a>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 12 <= buf.len() {
        let (Some(namesz), Some(descsz), Some(ntype)) =
            (u32_at(buf, pos), u32_at(buf, pos + 4), u32_at(buf, pos + 8))
        else {
            break;
        };
        if namesz == 0 && descsz == 0 && ntype == 0 {
            // Zero padding after the last note (kdump's per-CPU note buffers have some).
            break;
        }
        let name_at = pos + 12;
        let desc_at = name_at.checked_add((namesz as usize).next_multiple_of(4));
        let desc_end = desc_at.and_then(|d| d.checked_add(descsz as usize));
        let (Some(desc_at), Some(desc_end)) = (desc_at, desc_end.filter(|&e| e <= buf.len()))
        else {
            warnings.push(format!(
                "{what}: note at offset {pos:#x} (namesz {namesz:#x}, descsz {descsz:#x}) runs past the end of the {:#x}-byte note area; ignoring it and any after it",
                buf.len()
            ));
            break;
        };
        let mut name = &buf[name_at..name_at + namesz as usize];
        while let [rest @ .., 0] = name {
            name = rest;
        }
        out.push(Note {
            name,
            ntype,
            desc: &buf[desc_at..desc_end],
        });
        pos = desc_end.next_multiple_of(4);
    }
    out
}

/// Size of the `elf_prstatus` fields before `pr_reg` on 64-bit Linux (siginfo, cursig,
/// sigpend, sighold, pid, ppid, pgrp, sid, four timevals).
const PRSTATUS_REG_OFFSET: usize = 112;
const PRSTATUS_PID_OFFSET: usize = 32;

/// Decode an `NT_PRSTATUS` descriptor. `pr_reg` is everything between offset 112 and the
/// trailing `pr_fpvalid` int (padded to 8): 27 words on x86_64, 34 on arm64.
pub(crate) fn prstatus(index: usize, desc: &[u8]) -> PrStatus {
    let pid = u32_at(desc, PRSTATUS_PID_OFFSET).unwrap_or(0);
    let nregs = desc.len().saturating_sub(PRSTATUS_REG_OFFSET + 8) / 8;
    let regs = (0..nregs)
        .filter_map(|i| u64_at(desc, PRSTATUS_REG_OFFSET + 8 * i))
        .collect();
    PrStatus {
        index,
        pid,
        regs,
        raw: desc.to_vec(),
    }
}

/// A segment register as QEMU saves it (`QEMUCPUSegment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QemuSegment {
    pub selector: u32,
    pub limit: u32,
    pub flags: u32,
    pub base: u64,
}

/// One CPU's state from QEMU's "QEMU" note (`QEMUCPUState`, x86_64 layout). QEMU writes it
/// from the vCPU's architectural state, so unlike `NT_PRSTATUS` it has the control and
/// descriptor-table registers (cr3, gdt, idt, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuCpuState {
    /// Position among the dump's QEMU notes (the vCPU index).
    pub index: usize,
    pub version: u32,
    /// `size` as QEMU wrote it; fields past it (e.g. `kernel_gs_base`) are absent.
    pub size: u32,
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub cs: QemuSegment,
    pub ds: QemuSegment,
    pub es: QemuSegment,
    pub fs: QemuSegment,
    pub gs: QemuSegment,
    pub ss: QemuSegment,
    pub ldt: QemuSegment,
    pub tr: QemuSegment,
    pub gdt: QemuSegment,
    pub idt: QemuSegment,
    /// cr0, cr1 (unused, 0), cr2, cr3, cr4.
    pub cr: [u64; 5],
    /// Present when `size` covers it (QEMU 6.0 and later).
    pub kernel_gs_base: Option<u64>,
}

/// `QEMUCPUState` without `kernel_gs_base`, the smallest layout QEMU has written.
const QEMU_STATE_MIN: usize = 432;

/// Decode a "QEMU" note descriptor (x86_64 layout); `None` when it is too short.
pub(crate) fn qemu_cpu_state(index: usize, desc: &[u8]) -> Option<QemuCpuState> {
    if desc.len() < QEMU_STATE_MIN {
        return None;
    }
    let q = |i: usize| u64_at(desc, 8 + 8 * i).unwrap_or(0);
    let seg = |at: usize| QemuSegment {
        selector: u32_at(desc, at).unwrap_or(0),
        limit: u32_at(desc, at + 4).unwrap_or(0),
        flags: u32_at(desc, at + 8).unwrap_or(0),
        base: u64_at(desc, at + 16).unwrap_or(0),
    };
    let size = u32_at(desc, 4)?;
    let seg_at = |i: usize| 152 + 24 * i;
    let mut cr = [0u64; 5];
    for (i, c) in cr.iter_mut().enumerate() {
        *c = u64_at(desc, 392 + 8 * i).unwrap_or(0);
    }
    Some(QemuCpuState {
        index,
        version: u32_at(desc, 0)?,
        size,
        rax: q(0),
        rbx: q(1),
        rcx: q(2),
        rdx: q(3),
        rsi: q(4),
        rdi: q(5),
        rsp: q(6),
        rbp: q(7),
        r8: q(8),
        r9: q(9),
        r10: q(10),
        r11: q(11),
        r12: q(12),
        r13: q(13),
        r14: q(14),
        r15: q(15),
        rip: q(16),
        rflags: q(17),
        cs: seg(seg_at(0)),
        ds: seg(seg_at(1)),
        es: seg(seg_at(2)),
        fs: seg(seg_at(3)),
        gs: seg(seg_at(4)),
        ss: seg(seg_at(5)),
        ldt: seg(seg_at(6)),
        tr: seg(seg_at(7)),
        gdt: seg(seg_at(8)),
        idt: seg(seg_at(9)),
        cr,
        kernel_gs_base: if size as usize >= 440 {
            u64_at(desc, 432)
        } else {
            None
        },
    })
}

/// What the notes of a dump hold, decoded.
#[derive(Debug, Default)]
pub(crate) struct NoteSet {
    pub prstatus: Vec<PrStatus>,
    pub qemu: Vec<QemuCpuState>,
    pub vmcoreinfo: Option<Vec<u8>>,
    /// The note area looks like `/proc/kcore`'s (a "CORE" `NT_TASKSTRUCT` note, which only
    /// kcore writes).
    pub kcore_like: bool,
}

/// Decode the notes in `buf`, appending to `set`.
pub(crate) fn collect(buf: &[u8], what: &str, set: &mut NoteSet, warnings: &mut Vec<String>) {
    for n in parse(buf, what, warnings) {
        match (n.name, n.ntype) {
            (b"CORE", NT_PRSTATUS) => {
                if n.desc.len() < PRSTATUS_REG_OFFSET + 8 {
                    warnings.push(format!(
                        "{what}: NT_PRSTATUS note #{} is only {:#x} bytes; no registers in it",
                        set.prstatus.len(),
                        n.desc.len()
                    ));
                }
                set.prstatus.push(prstatus(set.prstatus.len(), n.desc));
            }
            (b"CORE", NT_TASKSTRUCT) => set.kcore_like = true,
            (b"VMCOREINFO", 0) if set.vmcoreinfo.is_none() => {
                set.vmcoreinfo = Some(n.desc.to_vec());
            }
            (b"QEMU", 0) => match qemu_cpu_state(set.qemu.len(), n.desc) {
                Some(s) => set.qemu.push(s),
                None => warnings.push(format!(
                    "{what}: QEMU note #{} is {:#x} bytes, shorter than QEMUCPUState; ignored",
                    set.qemu.len(),
                    n.desc.len()
                )),
            },
            _ => {}
        }
    }
}

/// Build a note area (for tests).
#[cfg(test)]
pub(crate) fn build(notes: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, ty, desc) in notes {
        let namesz = name.len() + 1;
        v.extend_from_slice(&(namesz as u32).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        v.resize(v.len().next_multiple_of(4), 0);
        v.extend_from_slice(desc);
        v.resize(v.len().next_multiple_of(4), 0);
    }
    v
}

/// An x86_64 `elf_prstatus` descriptor (336 bytes) with `pid` and `pr_reg[i] = regs[i]`.
#[cfg(test)]
pub(crate) fn build_prstatus(pid: u32, regs: &[u64]) -> Vec<u8> {
    prstatus_desc(pid, regs)
}

/// An `elf_prstatus` descriptor holding `pr_pid = pid` and `pr_reg = regs` (27 words on
/// x86_64, 34 on arm64), sized as the kernel's: the header, `pr_reg`, `pr_fpvalid` and its
/// padding (336 bytes on x86_64, 392 on arm64) — what QEMU writes for a vCPU.
pub(crate) fn prstatus_desc(pid: u32, regs: &[u64]) -> Vec<u8> {
    let mut d = vec![0u8; PRSTATUS_REG_OFFSET + 8 * regs.len().max(27) + 8];
    d[PRSTATUS_PID_OFFSET..PRSTATUS_PID_OFFSET + 4].copy_from_slice(&pid.to_le_bytes());
    for (i, r) in regs.iter().enumerate() {
        let at = PRSTATUS_REG_OFFSET + 8 * i;
        d[at..at + 8].copy_from_slice(&r.to_le_bytes());
    }
    d
}

/// A QEMUCPUState descriptor (440 bytes) with rip, cr3 and gdt base set.
#[cfg(test)]
pub(crate) fn build_qemu_state(rip: u64, cr3: u64, gdt_base: u64) -> Vec<u8> {
    let mut d = vec![0u8; 440];
    d[0..4].copy_from_slice(&1u32.to_le_bytes());
    d[4..8].copy_from_slice(&440u32.to_le_bytes());
    d[136..144].copy_from_slice(&rip.to_le_bytes());
    d[152 + 24 * 8 + 16..152 + 24 * 8 + 24].copy_from_slice(&gdt_base.to_le_bytes());
    d[392 + 24..392 + 32].copy_from_slice(&cr3.to_le_bytes());
    d[432..440].copy_from_slice(&0xffff_8880_0000_1000u64.to_le_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_prstatus_qemu_and_vmcoreinfo() {
        let regs: Vec<u64> = (0..27).map(|i| 0x1000 + i).collect();
        let buf = build(&[
            ("CORE", NT_PRSTATUS, &build_prstatus(42, &regs)),
            (
                "QEMU",
                0,
                &build_qemu_state(0xffffffff81000000, 0x1234000, 0xfffffe0000001000),
            ),
            ("VMCOREINFO", 0, b"OSRELEASE=6.1.0\n"),
            ("CORE", NT_PRSTATUS, &build_prstatus(0, &[])),
        ]);
        let (mut set, mut w) = (NoteSet::default(), Vec::new());
        collect(&buf, "test", &mut set, &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(set.prstatus.len(), 2);
        assert_eq!(set.prstatus[0].pid, 42);
        assert_eq!(set.prstatus[0].regs, regs);
        assert_eq!(set.prstatus[1].index, 1);
        assert_eq!(set.vmcoreinfo.as_deref(), Some(&b"OSRELEASE=6.1.0\n"[..]));
        let q = &set.qemu[0];
        assert_eq!(
            (q.rip, q.cr[3], q.gdt.base),
            (0xffffffff81000000, 0x1234000, 0xfffffe0000001000)
        );
        assert_eq!(q.kernel_gs_base, Some(0xffff_8880_0000_1000));
    }

    #[test]
    fn malformed_notes_stop_with_a_warning() {
        let mut buf = build(&[("CORE", NT_PRSTATUS, &build_prstatus(1, &[]))]);
        buf.extend_from_slice(&build(&[("VMCOREINFO", 0, b"X=1\n")])[..20]);
        let (mut set, mut w) = (NoteSet::default(), Vec::new());
        collect(&buf, "test", &mut set, &mut w);
        assert_eq!(set.prstatus.len(), 1);
        assert!(set.vmcoreinfo.is_none());
        assert_eq!(w.len(), 1, "{w:?}");
        // Huge sizes must not overflow.
        let mut evil = vec![0u8; 12];
        evil[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        evil[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        evil[8] = 1;
        assert!(parse(&evil, "evil", &mut w).is_empty());
    }
}
