//! ELF core files: kdump's `/proc/vmcore` and its copies, `makedumpfile -E`, QEMU
//! `dump-guest-memory` (paging off), and `/proc/kcore`.
//!
//! A small parser of our own over a [`Source`] (not `object`): it has to work on a live,
//! unmappable `/proc/kcore` and on the virtual file of a flattened dump, and it must keep
//! going on damaged files. Only 64-bit little-endian cores are accepted.
//!
//! `PT_LOAD`s become sorted, disjoint address pieces — by `p_paddr` for physical reads and,
//! for kcore, by `p_vaddr`. Producers overlap segments (kexec-tools adds a kernel-text
//! segment that repeats part of a RAM segment); when two segments cover an address, the one
//! that starts first serves it. Bytes past `p_filesz` (up to `p_memsz`) read as zeros: the
//! producer knew they were zero. A segment whose file data lies past the end of the file
//! (a truncated dump) is kept, with a warning; reads there fail with `MemError::Truncated`.

use super::DumpError;
use super::notes::{self, NoteSet};
use super::source::{ReadFail, Source};

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const ET_CORE: u16 = 4;
const PN_XNUM: u16 = 0xffff;
pub(crate) const EM_X86_64: u16 = 62;
pub(crate) const EM_AARCH64: u16 = 183;

/// Note areas and header tables above this size are refused as garbage.
const MAX_TABLE: u64 = 256 << 20;

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Load {
    pub offset: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// A disjoint address range `[start, end)`; bytes below `data_end` come from the file at
/// `foff + (addr - start)`, the rest are zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub start: u64,
    pub end: u64,
    pub data_end: u64,
    pub foff: u64,
}

/// A parsed ELF core.
pub(crate) struct ElfCore {
    pub machine: u16,
    pub notes: NoteSet,
    /// Indexed by physical address.
    pub phys: Vec<Piece>,
    /// Indexed by virtual address (kcore only; empty otherwise).
    pub virt: Vec<Piece>,
    /// Indexed by virtual address, the way /proc/kcore is.
    pub kcore: bool,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// Parse the ELF core in `src`. `kcore` says the source is known to be `/proc/kcore`; a
/// core whose notes look like kcore's is treated the same way.
pub(crate) fn parse(
    src: &Source,
    kcore: bool,
    warnings: &mut Vec<String>,
) -> Result<ElfCore, DumpError> {
    let mut eh = [0u8; 64];
    src.read_at(0, &mut eh)
        .map_err(|f| DumpError::from_read("ELF header", f))?;
    if eh[4] != 2 {
        return Err(DumpError::Unsupported(format!(
            "ELF class {} (only 64-bit cores are supported)",
            eh[4]
        )));
    }
    if eh[5] != 1 {
        return Err(DumpError::Unsupported(
            "big-endian ELF core (only little-endian is supported)".into(),
        ));
    }
    let e_type = u16_at(&eh, 16);
    if e_type != ET_CORE {
        return Err(DumpError::Unsupported(format!(
            "ELF type {e_type} is not a core file (ET_CORE = 4)"
        )));
    }
    let machine = u16_at(&eh, 18);
    let phoff = u64_at(&eh, 32);
    let shoff = u64_at(&eh, 40);
    let phentsize = u16_at(&eh, 54) as u64;
    let mut phnum = u16_at(&eh, 56) as u64;
    if phnum == PN_XNUM as u64 {
        // More than 65534 segments: the real count is in section header 0's sh_info.
        let mut sh = [0u8; 64];
        src.read_at(shoff, &mut sh).map_err(|f| {
            DumpError::from_read("section header 0 (holding the PN_XNUM segment count)", f)
        })?;
        phnum = u32_at(&sh, 44) as u64;
    }
    if phentsize < 56 {
        return Err(DumpError::Invalid {
            what: "ELF header".into(),
            offset: 54,
            why: format!("e_phentsize {phentsize} is smaller than Elf64_Phdr (56)"),
        });
    }
    let table = src
        .read_vec(phoff, phnum * phentsize, MAX_TABLE)
        .map_err(|f| DumpError::from_read(&format!("{phnum} ELF program headers"), f))?;

    let mut set = NoteSet::default();
    let mut loads = Vec::new();
    for (i, ph) in table.chunks_exact(phentsize as usize).enumerate() {
        let p_type = u32_at(ph, 0);
        let offset = u64_at(ph, 8);
        let filesz = u64_at(ph, 32);
        match p_type {
            PT_NOTE => {
                let what = format!("PT_NOTE #{i} at file offset {offset:#x}");
                let avail = if kcore {
                    filesz
                } else {
                    filesz.min(src.len().saturating_sub(offset))
                };
                if avail < filesz {
                    warnings.push(format!(
                        "{what}: {filesz:#x} bytes claimed, only {avail:#x} in the file (truncated)"
                    ));
                }
                match src.read_vec(offset, avail, MAX_TABLE) {
                    Ok(buf) => notes::collect(&buf, &what, &mut set, warnings),
                    Err(f) => warnings.push(format!("{what}: unreadable: {f}")),
                }
            }
            PT_LOAD => {
                let mut l = Load {
                    offset,
                    vaddr: u64_at(ph, 16),
                    paddr: u64_at(ph, 24),
                    filesz,
                    memsz: u64_at(ph, 40),
                };
                if l.filesz > l.memsz {
                    warnings.push(format!(
                        "PT_LOAD #{i}: p_filesz {:#x} > p_memsz {:#x}; using p_filesz",
                        l.filesz, l.memsz
                    ));
                    l.memsz = l.filesz;
                }
                let file_end = l.offset.checked_add(l.filesz);
                if !kcore && file_end.is_none_or(|e| e > src.len()) {
                    warnings.push(format!(
                        "PT_LOAD #{i} (paddr {:#x}, {:#x} bytes) has file data at offset {:#x}..{:#x}, past the end of the file ({:#x} bytes): the dump is truncated; reads there fail",
                        l.paddr,
                        l.memsz,
                        l.offset,
                        l.offset.saturating_add(l.filesz),
                        src.len()
                    ));
                }
                loads.push(l);
            }
            _ => {}
        }
    }
    let kcore = kcore || set.kcore_like;
    let phys = pieces(
        loads
            .iter()
            // kcore sets p_paddr only for RAM and kernel text (others get -1; kernels
            // before 4.x left it 0 everywhere).
            .filter(|l| !kcore || (l.paddr != u64::MAX && l.paddr != 0))
            .map(|l| (l.paddr, l)),
        warnings,
    );
    let virt = if kcore {
        pieces(loads.iter().map(|l| (l.vaddr, l)), warnings)
    } else {
        Vec::new()
    };
    Ok(ElfCore {
        machine,
        notes: set,
        phys,
        virt,
        kcore,
    })
}

/// Sorted disjoint pieces from segments keyed by `start`.
fn pieces<'a>(
    segs: impl Iterator<Item = (u64, &'a Load)>,
    warnings: &mut Vec<String>,
) -> Vec<Piece> {
    let mut v: Vec<(u64, &Load)> = segs.filter(|(_, l)| l.memsz > 0).collect();
    v.sort_by_key(|&(s, l)| (s, std::cmp::Reverse(l.memsz)));
    let mut out: Vec<Piece> = Vec::with_capacity(v.len());
    let mut covered = 0u64;
    for (start, l) in v {
        let Some(end) = start.checked_add(l.memsz) else {
            warnings.push(format!(
                "PT_LOAD at {start:#x} with size {:#x} wraps around the address space; ignored",
                l.memsz
            ));
            continue;
        };
        let s = start.max(covered);
        if s >= end {
            continue;
        }
        out.push(Piece {
            start: s,
            end,
            data_end: start + l.filesz,
            foff: l.offset.wrapping_add(s - start),
        });
        covered = end;
    }
    out
}

/// Why a read through pieces failed, and at which address.
pub(crate) enum Fault {
    NotPresent(u64),
    Read(u64, ReadFail),
}

/// Read `buf` at `addr` through `pieces`.
pub(crate) fn read(pieces: &[Piece], src: &Source, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
    let mut done = 0usize;
    while done < buf.len() {
        // A read running off the top of the address space is not present, not wrapped.
        let a = addr
            .checked_add(done as u64)
            .ok_or(Fault::NotPresent(u64::MAX))?;
        let i = pieces.partition_point(|p| p.end <= a);
        let p = match pieces.get(i) {
            Some(p) if p.start <= a => p,
            _ => return Err(Fault::NotPresent(a)),
        };
        let want = buf.len() - done;
        let n = want.min(usize::try_from(p.end - a).unwrap_or(usize::MAX));
        let out = &mut buf[done..done + n];
        if a < p.data_end {
            let m = n.min(usize::try_from(p.data_end - a).unwrap_or(usize::MAX));
            let off = p.foff.wrapping_add(a - p.start);
            src.read_at(off, &mut out[..m])
                .map_err(|f| Fault::Read(a, f))?;
            out[m..].fill(0);
        } else {
            out.fill(0);
        }
        done += n;
    }
    Ok(())
}

/// Builds ELF cores for tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    /// One PT_LOAD: addresses, file bytes, and `p_memsz` (≥ `data.len()`).
    pub(crate) struct Seg {
        pub paddr: u64,
        pub vaddr: u64,
        pub data: Vec<u8>,
        pub memsz: u64,
    }

    /// An ELF core: ehdr, PT_NOTE + PT_LOAD headers, notes, then segment data.
    pub(crate) fn core(machine: u16, notes: &[u8], segs: &[Seg]) -> Vec<u8> {
        let phnum = 1 + segs.len();
        let mut out = vec![0u8; 64 + 56 * phnum];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        out[18..20].copy_from_slice(&machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[32..40].copy_from_slice(&64u64.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        let mut phdr =
            |i: usize, ty: u32, off: u64, vaddr: u64, paddr: u64, filesz: u64, memsz: u64| {
                let at = 64 + 56 * i;
                let h = &mut out[at..at + 56];
                h[0..4].copy_from_slice(&ty.to_le_bytes());
                h[4..8].copy_from_slice(&7u32.to_le_bytes());
                h[8..16].copy_from_slice(&off.to_le_bytes());
                h[16..24].copy_from_slice(&vaddr.to_le_bytes());
                h[24..32].copy_from_slice(&paddr.to_le_bytes());
                h[32..40].copy_from_slice(&filesz.to_le_bytes());
                h[40..48].copy_from_slice(&memsz.to_le_bytes());
            };
        let note_off = (64 + 56 * phnum) as u64;
        phdr(0, PT_NOTE, note_off, 0, 0, notes.len() as u64, 0);
        let mut off = (note_off + notes.len() as u64).next_multiple_of(4096);
        for (i, s) in segs.iter().enumerate() {
            phdr(
                1 + i,
                PT_LOAD,
                off,
                s.vaddr,
                s.paddr,
                s.data.len() as u64,
                s.memsz,
            );
            off += (s.data.len() as u64).next_multiple_of(4096);
        }
        out.extend_from_slice(notes);
        for s in segs {
            out.resize(out.len().next_multiple_of(4096), 0);
            out.extend_from_slice(&s.data);
        }
        out
    }
}
