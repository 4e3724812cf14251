//! A running QEMU guest read over QMP (`-c qmp:SOCK`), as one snapshot: the guest is
//! stopped while quiesce reads it and resumed when the snapshot is dropped (unless it was
//! already stopped: then it is left so). Needs nothing but `-qmp unix:SOCK,server=on,
//! wait=off` on QEMU's command line.
//!
//! - **RAM** is the `ram`/`rom` regions of the flat view of the "memory" address space
//!   (`info mtree -f`), each read the fastest way that works: a region backed by a shared
//!   file (`-object memory-backend-file,share=on,mem-path=…`) is mapped from that file;
//!   otherwise the QEMU process's memory is read through `/proc/PID/mem` at the host address
//!   `gpa2hva` gives (the pid from the socket's `SO_PEERCRED`: same user, and ptrace allowed);
//!   otherwise through the monitor's `xp`, 1 KiB per command (slow: a QEMU of another user,
//!   or a TCP monitor). `QUIESCE_QMP_READ=map|procmem|xp` forces a way (tests).
//! - **Registers**: `info registers -a`, as the `NT_PRSTATUS` notes `dump-guest-memory`
//!   writes ([`super::qemu_regs`]).
//! - **VMCOREINFO**: QEMU hands it out only in a dump and only with `-device vmcoreinfo`,
//!   so it is found in guest memory instead: the kernel keeps it page-aligned
//!   (`vmcoreinfo_note`, an ELF note "VMCOREINFO" at the start of a page,
//!   `kernel/vmcore_info.c`, formerly `crash_core.c`), so the start of every page is
//!   checked — the note `dump-guest-memory` would copy, byte for byte.

use super::qmp::{Qmp, QmpError};
use super::{Machine, MemError, PrStatus};
use crate::addr::Pa;
use memmap2::Mmap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

const PAGE: u64 = 4096;
/// Bytes per `xp` command (the monitor prints each as ` 0x..`: ~5 KiB of text).
const XP_CHUNK: u64 = 1024;

/// How a RAM region's bytes are read.
#[derive(Clone)]
enum Reader {
    /// A shared backing file, mapped: `map[off..]` is the region's first byte.
    Map { map: Arc<Mmap>, off: u64 },
    /// `/proc/PID/mem` at the region's host address.
    ProcMem { mem: Arc<File>, hva: u64 },
    /// The monitor's `xp`.
    Xp,
}

impl Reader {
    fn kind(&self) -> &'static str {
        match self {
            Reader::Map { .. } => "map",
            Reader::ProcMem { .. } => "procmem",
            Reader::Xp => "xp",
        }
    }
}

/// One guest-physical region `[start, end)`.
#[derive(Clone)]
struct Region {
    start: u64,
    end: u64,
    name: String,
    reader: Reader,
}

/// An attached guest: the connection, its RAM regions and whether to resume it.
pub(crate) struct QemuGuest {
    qmp: Mutex<Qmp>,
    regions: Vec<Region>,
    resume: bool,
}

/// What attaching found, for [`super::Dump`].
pub(crate) struct Attached {
    pub guest: QemuGuest,
    pub machine: Machine,
    pub prstatus: Vec<PrStatus>,
    pub vmcoreinfo: Option<String>,
    /// Where the VMCOREINFO note was found.
    pub vmcoreinfo_at: Option<Pa>,
    /// "stopped while read, resumed after" or why not.
    pub stopped: String,
    pub warnings: Vec<String>,
}

/// A VMCOREINFO note found in guest memory: where, and its text.
type Found = (Pa, String);

/// Why an `xp` read failed: the monitor did not answer (asking again is pointless), or it
/// answered without these bytes.
enum XpError {
    Monitor(String),
    Memory(String),
}

impl std::fmt::Display for XpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XpError::Monitor(s) | XpError::Memory(s) => f.write_str(s),
        }
    }
}

fn qmp_err(e: QmpError) -> String {
    e.to_string()
}

impl QemuGuest {
    /// Connect to the QMP socket `addr`, stop the guest, and read what a dump would hold.
    pub(crate) fn attach(addr: &str) -> Result<Attached, String> {
        Self::attach_over(Qmp::connect(addr).map_err(qmp_err)?)
    }

    /// Stop the guest behind a connected monitor and read what a dump would hold.
    pub(crate) fn attach_over(mut q: Qmp) -> Result<Attached, String> {
        let arch = q.execute("query-target", None).map_err(qmp_err)?;
        let machine = match arch.get("arch").and_then(|a| a.as_str()) {
            Some("x86_64") => Machine::X86_64,
            Some("aarch64") => Machine::Aarch64,
            other => {
                return Err(format!(
                    "QEMU emulates {other:?}: quiesce reads x86_64 and aarch64 guests"
                ));
            }
        };
        let status = q.execute("query-status", None).map_err(qmp_err)?;
        let running = status
            .get("running")
            .and_then(|r| r.as_bool())
            .unwrap_or(false);
        let mut warnings = Vec::new();
        let stopped = if running {
            q.execute("stop", None).map_err(qmp_err)?;
            "stopped while it is read, resumed after".to_string()
        } else {
            let st = status.get("status").and_then(|s| s.as_str()).unwrap_or("?");
            format!("already stopped (status {st}): read as it is and left stopped")
        };
        // From here on, a failure must resume a guest this function stopped.
        let mut guest = QemuGuest {
            qmp: Mutex::new(q),
            regions: Vec::new(),
            resume: running,
        };
        let (prstatus, found) = guest.read_state(machine, &mut warnings)?;
        Ok(Attached {
            guest,
            machine,
            prstatus,
            vmcoreinfo_at: found.as_ref().map(|(pa, _)| *pa),
            vmcoreinfo: found.map(|(_, t)| t),
            stopped,
            warnings,
        })
    }

    fn read_state(
        &mut self,
        machine: Machine,
        warnings: &mut Vec<String>,
    ) -> Result<(Vec<PrStatus>, Option<Found>), String> {
        let q = self.qmp.get_mut().map_err(|_| "QMP connection poisoned")?;
        let mtree = q.hmp("info mtree -f").map_err(qmp_err)?;
        let ranges = ram_ranges(&mtree);
        if ranges.is_empty() {
            return Err(
                "QEMU's memory map (info mtree -f) has no RAM in the \"memory\" address space"
                    .into(),
            );
        }
        let forced = std::env::var("QUIESCE_QMP_READ").ok();
        let pid = q.peer_pid();
        let maps = pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/maps")).ok());
        let mem = match (pid, forced.as_deref()) {
            (_, Some("xp" | "map")) | (None, _) => None,
            (Some(p), _) => File::open(format!("/proc/{p}/mem")).ok().map(Arc::new),
        };
        let mut files: Vec<(String, Arc<Mmap>)> = Vec::new();
        for (start, end, name) in ranges {
            let hva = match q.hmp(&format!("gpa2hva {start:#x}")) {
                Ok(t) => parse_gpa2hva(&t),
                Err(e) => return Err(qmp_err(e)),
            };
            let mut reader = Reader::Xp;
            if let (Some(hva), Some(maps)) = (hva, &maps)
                && forced.as_deref().is_none_or(|f| f == "map")
                && let Some((path, off)) = shared_file_of(maps, hva, end - start)
            {
                let map = match files.iter().find(|(p, _)| *p == path) {
                    Some((_, m)) => Some(m.clone()),
                    None => map_file(&path).map(|m| {
                        let m = Arc::new(m);
                        files.push((path.clone(), m.clone()));
                        m
                    }),
                };
                if let Some(map) = map.filter(|m| off + (end - start) <= m.len() as u64) {
                    reader = Reader::Map { map, off };
                }
            }
            if let (Reader::Xp, Some(hva), Some(mem)) = (&reader, hva, &mem)
                && forced.as_deref() != Some("xp")
                && mem.read_at(&mut [0u8; 1], hva).is_ok()
            {
                reader = Reader::ProcMem {
                    mem: mem.clone(),
                    hva,
                };
            }
            self.regions.push(Region {
                start,
                end,
                name,
                reader,
            });
        }
        if let Some(f) = forced.as_deref()
            && let Some(r) = self.regions.iter().find(|r| r.reader.kind() != f)
        {
            return Err(format!(
                "QUIESCE_QMP_READ={f}: region {} at {:#x} cannot be read that way",
                r.name, r.start
            ));
        }
        let xp = self
            .regions
            .iter()
            .filter(|r| matches!(r.reader, Reader::Xp))
            .count();
        if xp > 0 && forced.is_none() {
            warnings.push(format!(
                "{xp} of {} guest memory regions are read through the monitor's xp command \
                 (slow): QEMU's memory is not readable here ({})",
                self.regions.len(),
                match pid {
                    None =>
                        "no peer pid: a TCP monitor, or QEMU in another pid namespace".to_string(),
                    Some(p) => format!("/proc/{p}/mem: another user, or ptrace not allowed"),
                }
            ));
        }
        let (prstatus, missing) = self.registers(machine)?;
        if !missing.is_empty() {
            warnings.push(format!(
                "the monitor's register dump lacks {}: taken as 0",
                missing.join(", ")
            ));
        }
        let vmcoreinfo = match self.find_vmcoreinfo() {
            Some((pa, text, others)) => {
                if others > 0 {
                    warnings.push(format!(
                        "VMCOREINFO: {} copies in guest memory; using the one at {pa}",
                        others + 1
                    ));
                }
                Some((pa, text))
            }
            None => None,
        };
        Ok((prstatus, vmcoreinfo))
    }

    /// The first page-aligned VMCOREINFO note in guest RAM (lowest address first: the
    /// kernel allocates it early, in the first tens of MiB on the fixtures): its address, its
    /// text, and how many other notes with a different text were seen. Through `xp` (a
    /// command per page, ~0.4 ms) the scan stops at the first note; otherwise it reads all
    /// of RAM's page heads (~0.1 s per GiB) to see any other copy.
    fn find_vmcoreinfo(&self) -> Option<(Pa, String, usize)> {
        let mut found: Option<(Pa, String)> = None;
        let mut others = 0;
        let mut chunk = vec![0u8; 1 << 20];
        let mut regions: Vec<&Region> = self.regions.iter().collect();
        regions.sort_by_key(|r| r.start);
        for r in regions {
            let mut at = r.start.div_ceil(PAGE) * PAGE;
            while at < r.end {
                if found.is_some() && matches!(r.reader, Reader::Xp) {
                    return found.map(|(pa, t)| (pa, t, others));
                }
                let len = ((r.end - at) as usize).min(chunk.len());
                // The monitor gone or wedged (every later command would fail, or wait its
                // 60 s): the scan ends with what it found.
                let Ok(heads) = self.page_heads(r, at, &mut chunk[..len]) else {
                    return found.map(|(pa, t)| (pa, t, others));
                };
                for (i, head) in heads.into_iter().enumerate() {
                    let pa = at + i as u64 * PAGE;
                    let Some(descsz) = note_head(&head) else {
                        continue;
                    };
                    let mut desc = vec![0u8; descsz];
                    if self.read_phys(Pa(pa + 24), &mut desc).is_err() {
                        continue;
                    }
                    let text = vmcoreinfo_text(&desc);
                    match &found {
                        None => found = Some((Pa(pa), text)),
                        Some((_, t)) if *t != text => others += 1,
                        Some(_) => {}
                    }
                }
                at += len as u64;
            }
        }
        found.map(|(pa, t)| (pa, t, others))
    }

    /// The first 36 bytes of each page in `[at, at + buf.len())` of region `r` (a page that
    /// cannot be read gives zeros); an error when the monitor stops answering. `buf` is
    /// scratch space for the bulk readers.
    fn page_heads(&self, r: &Region, at: u64, buf: &mut [u8]) -> Result<Vec<[u8; 36]>, XpError> {
        let pages = buf.len() / PAGE as usize;
        let mut out = vec![[0u8; 36]; pages];
        match &r.reader {
            Reader::Xp => {
                for (i, h) in out.iter_mut().enumerate() {
                    match self.read_xp(at + i as u64 * PAGE, h) {
                        Err(e @ XpError::Monitor(_)) => return Err(e),
                        Err(XpError::Memory(_)) | Ok(()) => {}
                    }
                }
            }
            _ => {
                if self.read_region(r, at, buf).is_ok() {
                    for (i, h) in out.iter_mut().enumerate() {
                        let o = i * PAGE as usize;
                        h.copy_from_slice(&buf[o..o + 36]);
                    }
                }
            }
        }
        Ok(out)
    }

    fn read_region(&self, r: &Region, pa: u64, buf: &mut [u8]) -> Result<(), String> {
        let off = pa - r.start;
        match &r.reader {
            Reader::Map { map, off: base } => {
                let s = (base + off) as usize;
                let src = map
                    .get(s..s + buf.len())
                    .ok_or_else(|| "past the end of the backing file".to_string())?;
                buf.copy_from_slice(src);
                Ok(())
            }
            Reader::ProcMem { mem, hva } => mem
                .read_exact_at(buf, hva + off)
                .map_err(|e| format!("reading QEMU's memory at {:#x}: {e}", hva + off)),
            Reader::Xp => {
                let mut done = 0usize;
                while done < buf.len() {
                    let n = (buf.len() - done).min(XP_CHUNK as usize);
                    self.read_xp(pa + done as u64, &mut buf[done..done + n])
                        .map_err(|e| e.to_string())?;
                    done += n;
                }
                Ok(())
            }
        }
    }

    fn read_xp(&self, pa: u64, buf: &mut [u8]) -> Result<(), XpError> {
        let mut q = self
            .qmp
            .lock()
            .map_err(|_| XpError::Monitor("QMP connection poisoned".into()))?;
        let text = q
            .hmp(&format!("xp /{}xb {pa:#x}", buf.len()))
            .map_err(|e| XpError::Monitor(qmp_err(e)))?;
        parse_xp(&text, buf).map_err(XpError::Memory)
    }

    /// Read guest-physical memory.
    pub(crate) fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = pa.0 + done as u64;
            let Some(r) = self.regions.iter().find(|r| r.start <= a && a < r.end) else {
                return Err(MemError::NotPresent(Pa(a)));
            };
            let n = ((r.end - a) as usize).min(buf.len() - done);
            self.read_region(r, a, &mut buf[done..done + n])
                .map_err(|why| MemError::Io { pa: Pa(a), why })?;
            done += n;
        }
        Ok(())
    }

    /// `(start, length)` of each region, sorted by address.
    pub(crate) fn ranges(&self) -> Vec<(Pa, u64)> {
        let mut v: Vec<(Pa, u64)> = self
            .regions
            .iter()
            .map(|r| (Pa(r.start), r.end - r.start))
            .collect();
        v.sort_by_key(|(p, _)| p.0);
        v
    }

    /// How the regions are read, e.g. "procmem" or "map, xp".
    pub(crate) fn readers(&self) -> String {
        let mut k: Vec<&str> = self.regions.iter().map(|r| r.reader.kind()).collect();
        k.dedup();
        k.join(", ")
    }
}

impl QemuGuest {
    /// Stop the guest (`stop`): memory and registers hold still until [`Self::resume`].
    pub(crate) fn pause(&self) -> Result<(), String> {
        let mut q = self.qmp.lock().map_err(|_| "QMP connection poisoned")?;
        q.execute("stop", None).map(drop).map_err(qmp_err)
    }

    /// The vCPUs' registers now (`info registers -a`), as `NT_PRSTATUS` notes, and the
    /// register names the monitor's text lacked.
    pub(crate) fn registers(
        &self,
        machine: Machine,
    ) -> Result<(Vec<PrStatus>, Vec<String>), String> {
        let mut q = self.qmp.lock().map_err(|_| "QMP connection poisoned")?;
        let regs = q.hmp("info registers -a").map_err(qmp_err)?;
        Ok(super::qemu_regs::prstatus_notes(machine, &regs))
    }

    /// Let the guest run again (`cont`).
    pub(crate) fn resume(&self) -> Result<(), String> {
        let mut q = self.qmp.lock().map_err(|_| "QMP connection poisoned")?;
        q.execute("cont", None).map(drop).map_err(qmp_err)
    }

    /// Whether the guest was running when quiesce attached (and is resumed when it leaves).
    pub(crate) fn was_running(&self) -> bool {
        self.resume
    }
}

impl Drop for QemuGuest {
    fn drop(&mut self) {
        if self.resume
            && let Ok(q) = self.qmp.get_mut()
        {
            let _ = q.execute("cont", None);
        }
    }
}

/// The `ram`/`rom` regions `(start, end exclusive, name)` of the flat view that holds the
/// "memory" address space in `info mtree -f` output:
///
/// ```text
/// FlatView #3
///  AS "memory", root: system
///  Root memory region: system
///   0000000000000000-000000000009ffff (prio 0, ram): pc.ram
///   00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem
/// ```
fn ram_ranges(text: &str) -> Vec<(u64, u64, String)> {
    let mut out = Vec::new();
    let (mut in_view, mut in_regions) = (false, false);
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("FlatView") {
            if in_view {
                break;
            }
            continue;
        }
        if t.starts_with("AS \"memory\"") {
            in_view = true;
            continue;
        }
        if t.starts_with("Root memory region:") {
            in_regions = in_view;
            continue;
        }
        if !in_regions {
            continue;
        }
        let Some((span, rest)) = t.split_once(' ') else {
            continue;
        };
        let Some((a, b)) = span.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        let kind = rest
            .split_once(", ")
            .and_then(|(_, k)| k.split_once(')'))
            .map(|(k, _)| k.trim_start_matches("nv-"));
        if !matches!(kind, Some("ram" | "rom" | "romd")) || b < a || b == u64::MAX {
            continue;
        }
        let name = rest
            .split_once("): ")
            .map_or("", |(_, n)| n)
            .trim()
            .to_string();
        out.push((a, b + 1, name));
    }
    out
}

/// The host address in `gpa2hva`'s answer: "Host virtual address for 0x100000 (pc.ram) is
/// 0x7f403ff00000".
fn parse_gpa2hva(text: &str) -> Option<u64> {
    let v = text.trim().rsplit_once(" is ")?.1.trim();
    u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
}

/// The shared file mapping that holds `[hva, hva + len)` in `/proc/PID/maps` text: its
/// path and the file offset of `hva`. Private or anonymous mappings give `None`.
fn shared_file_of(maps: &str, hva: u64, len: u64) -> Option<(String, u64)> {
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (span, perms, off) = (f.next()?, f.next()?, f.next()?);
        let (_dev, _inode) = (f.next()?, f.next()?);
        let path: Vec<&str> = f.collect();
        let (a, b) = span.split_once('-')?;
        let (a, b) = (
            u64::from_str_radix(a, 16).ok()?,
            u64::from_str_radix(b, 16).ok()?,
        );
        if !(a <= hva && hva < b) {
            continue;
        }
        let path = path.join(" ");
        if !perms.ends_with('s')
            || !path.starts_with('/')
            || path.ends_with("(deleted)")
            || hva + len > b
        {
            return None;
        }
        let off = u64::from_str_radix(off, 16).ok()?;
        return Some((path, off + (hva - a)));
    }
    None
}

fn map_file(path: &str) -> Option<Mmap> {
    let f = File::open(path).ok()?;
    // SAFETY: a read-only shared map of the guest's RAM file. The guest changes it only
    // while running; it is stopped while this snapshot is read, and the bytes are copied
    // out (no reference into the map outlives a read).
    unsafe { Mmap::map(&f) }.ok()
}

/// `xp /Nxb` output, one byte per ` 0x..` token after each line's "ADDR:", into `buf`.
fn parse_xp(text: &str, buf: &mut [u8]) -> Result<(), String> {
    let mut n = 0;
    for line in text.lines() {
        let Some((_, vals)) = line.split_once(':') else {
            continue;
        };
        if vals.contains("Cannot access memory") {
            return Err(format!(
                "the monitor cannot read guest memory: {}",
                line.trim()
            ));
        }
        for tok in vals.split_whitespace() {
            let v = tok
                .strip_prefix("0x")
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("xp printed {tok:?}"))?;
            *buf.get_mut(n).ok_or("xp printed more bytes than asked")? = v;
            n += 1;
        }
    }
    if n != buf.len() {
        return Err(format!("xp printed {n} of {} bytes", buf.len()));
    }
    Ok(())
}

/// The descriptor size of a VMCOREINFO ELF note starting `head` (namesz 11, type 0, name
/// "VMCOREINFO", text beginning "OSRELEASE="), if it is one.
fn note_head(head: &[u8; 36]) -> Option<usize> {
    let u32_at = |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().expect("4 bytes"));
    let ok = u32_at(0) == 11
        && u32_at(8) == 0
        && &head[12..24] == b"VMCOREINFO\0\0"
        && head[24..].starts_with(b"OSRELEASE=");
    let descsz = u32_at(4) as usize;
    (ok && descsz > 10 && descsz <= PAGE as usize * 4).then_some(descsz)
}

/// A VMCOREINFO descriptor as text: up to its first NUL, invalid UTF-8 replaced.
fn vmcoreinfo_text(desc: &[u8]) -> String {
    let end = desc.iter().position(|&c| c == 0).unwrap_or(desc.len());
    String::from_utf8_lossy(&desc[..end]).into_owned()
}

/// Every parser of monitor text on `text` as it is (the `qemu_monitor` fuzz target's
/// second half: the parsers reached without a QMP envelope around them).
pub(crate) fn parse_monitor_text(text: &str) {
    let _ = ram_ranges(text);
    let _ = parse_gpa2hva(text);
    let _ = shared_file_of(text, 0x7f00_0000_0000, 1 << 30);
    let _ = parse_xp(text, &mut [0u8; 64]);
    let _ = super::qemu_regs::prstatus_notes(Machine::X86_64, text);
    let _ = super::qemu_regs::prstatus_notes(Machine::Aarch64, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_regions_of_the_memory_address_space() {
        // QEMU 7.2, -machine pc -m 5G: the view after the "memory" AS, not the I/O one
        let t = "FlatView #0\n AS \"I/O\", root: io\n Root memory region: io\n  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n\nFlatView #3\n AS \"memory\", root: system\n AS \"cpu-memory-0\", root: system\n Root memory region: system\n  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\n  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n  0000000000100000-00000000bfffffff (prio 0, ram): pc.ram @0000000000100000\n  0000000100000000-000000017fffffff (prio 0, ram): pc.ram @00000000c0000000\n\nFlatView #4\n AS \"cpu-smm-1\", root: memory\n Root memory region: memory\n  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n";
        let r = ram_ranges(t);
        assert_eq!(
            r.iter().map(|(a, b, _)| (*a, *b)).collect::<Vec<_>>(),
            vec![
                (0, 0xa0000),
                (0xc0000, 0xe0000),
                (0x100000, 0xc000_0000),
                (0x1_0000_0000, 0x1_8000_0000)
            ]
        );
        assert_eq!(r[2].2, "pc.ram @0000000000100000");
        assert!(
            ram_ranges("garbage\nFlatView\n AS \"memory\"\n  zz-yy (prio 0, ram): x\n").is_empty()
        );
    }

    #[test]
    fn monitor_answers() {
        assert_eq!(
            parse_gpa2hva("Host virtual address for 0x100000 (pc.ram) is 0x7f403ff00000\r\n"),
            Some(0x7f403ff00000)
        );
        assert_eq!(
            parse_gpa2hva("Memory at address 0x40000000 is not RAM\r\n"),
            None
        );
        let mut b = [0u8; 10];
        parse_xp(
            "00000000000f0000: 0x43 0x24 0x83 0xc4 0x20 0x5b 0x5e 0x5f\r\n00000000000f0008: 0x5d 0xc3\r\n",
            &mut b,
        )
        .unwrap();
        assert_eq!(
            b,
            [0x43, 0x24, 0x83, 0xc4, 0x20, 0x5b, 0x5e, 0x5f, 0x5d, 0xc3]
        );
        let e = parse_xp("0000000040000000: Cannot access memory\r\n", &mut b).unwrap_err();
        assert!(e.contains("Cannot access memory"), "{e}");
        assert!(
            parse_xp("0000: 0x01\r\n", &mut b)
                .unwrap_err()
                .contains("1 of 10")
        );
        assert!(parse_xp("0000: 0x01 0x02\r\n", &mut [0u8; 1]).is_err());
    }

    #[test]
    fn shared_backing_files_only() {
        let maps = "7f4000000000-7f4020000000 rw-s 00000000 00:1a 1234 /dev/shm/guest ram\n\
                    7f5000000000-7f5020000000 rw-p 00000000 00:00 0 \n\
                    7f6000000000-7f6020000000 rw-s 00000000 00:01 99 /memfd:mem (deleted)\n";
        assert_eq!(
            shared_file_of(maps, 0x7f4000100000, 0x1000),
            Some(("/dev/shm/guest ram".to_string(), 0x100000))
        );
        assert_eq!(
            shared_file_of(maps, 0x7f4000100000, 0x2000_0000),
            None,
            "runs past the mapping"
        );
        assert_eq!(
            shared_file_of(maps, 0x7f5000000000, 0x1000),
            None,
            "anonymous"
        );
        assert_eq!(
            shared_file_of(maps, 0x7f6000000000, 0x1000),
            None,
            "deleted memfd"
        );
        assert_eq!(shared_file_of(maps, 0x1000, 0x1000), None);
    }

    #[test]
    fn vmcoreinfo_note_heads() {
        let mut h = [0u8; 36];
        h[0] = 11;
        h[4..8].copy_from_slice(&1500u32.to_le_bytes());
        h[12..22].copy_from_slice(b"VMCOREINFO");
        h[24..34].copy_from_slice(b"OSRELEASE=");
        assert_eq!(note_head(&h), Some(1500));
        let mut bad = h;
        bad[8] = 1;
        assert_eq!(note_head(&bad), None, "type must be 0");
        let mut huge = h;
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(note_head(&huge), None, "absurd size");
        assert_eq!(
            vmcoreinfo_text(b"OSRELEASE=6.1\nPAGESIZE=4096\n\0\0junk"),
            "OSRELEASE=6.1\nPAGESIZE=4096\n"
        );
    }
}
