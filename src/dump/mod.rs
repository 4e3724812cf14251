//! Byte sources with no kernel knowledge: ELF cores (kdump vmcore, QEMU
//! `dump-guest-memory`, `/proc/kcore`), kdump-compressed files (makedumpfile and QEMU) and
//! the flattened format, plus the notes they carry (`NT_PRSTATUS` per CPU, VMCOREINFO); and
//! a running QEMU guest read over QMP (`qmp:SOCK`), stopped for the time it is read.
//!
//! Everything above this module reads memory through [`PhysMem`] (and, for sources that
//! are indexed by virtual address such as `/proc/kcore`, [`Dump::read_virt_direct`]).
//!
//! [`Dump::open`] sniffs the format from the first bytes (never the file name, except that
//! the path `/proc/kcore` means "live: read with pread, cache nothing"). A dump is untrusted
//! input: header fields that look wrong become lines in [`Dump::warnings`], damaged regions
//! fail the reads that touch them with an error naming the address, and nothing panics.
//!
//! Files: `source` (mmap / pread / flattened byte sources), `flat` (flattened-format index),
//! `elf` (ELF cores), `kdump` (kdump-compressed), `bitmap` (page bitmaps with rank),
//! `compress` (page decompressors), `cache` (decompressed pages), `notes` (ELF notes),
//! `qmp` (the QMP client), `attach` (a QEMU guest as a `Dump`: attach, replay, stop and
//! resume), `qemu_guest` (a guest's RAM, registers and VMCOREINFO over QMP),
//! `qemu_regs` (the monitor's register dump as `NT_PRSTATUS` notes).

mod attach;
mod bitmap;
mod cache;
mod compress;
mod elf;
mod flat;
mod kdump;
mod notes;
mod qemu_guest;
mod qemu_regs;
mod qmp;
mod source;
#[cfg(test)]
mod tests;

pub use compress::Compression;
pub use notes::{QemuCpuState, QemuSegment};
pub use qmp::{Qmp, QmpError};

use crate::addr::{Kva, Pa, Pfn};
use elf::{ElfCore, Fault};
use flat::FlatFile;
use kdump::KdumpFile;
use memmap2::Mmap;
use source::{Backing, ReadFail, Source};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use thiserror::Error;

/// Why a read of dump memory failed. Every variant names the address.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum MemError {
    /// No segment / no page of the dump covers this physical address.
    #[error("physical address {0} is not in the dump")]
    NotPresent(Pa),
    /// The page exists in the machine but makedumpfile excluded it (`-d` dump level).
    #[error("physical address {0} is in a page excluded from the dump")]
    Excluded(Pa),
    /// A kernel virtual address that the source (e.g. /proc/kcore) does not map.
    #[error("virtual address {0} is not mapped by the dump")]
    VirtNotPresent(Kva),
    /// The dump's bytes for this page are damaged (bad compressed data, truncated file).
    #[error("page at physical address {pa} is corrupt: {why}")]
    Corrupt { pa: Pa, why: String },
    /// The dump file ends before this page's data (a truncated copy, or an incomplete dump).
    #[error("physical address {pa} lies in a missing part of the dump file: {why}")]
    Truncated { pa: Pa, why: String },
    #[error("I/O error reading physical address {pa}: {why}")]
    Io { pa: Pa, why: String },
    /// Reading a virtually indexed source (`/proc/kcore`) failed at this address.
    #[error("I/O error reading virtual address {kva}: {why}")]
    VirtIo { kva: Kva, why: String },
}

/// A source of physical memory. Implementations are cheap to share between threads.
pub trait PhysMem: Send + Sync {
    /// Fill `buf` with the bytes at `pa`. Reads may cross page boundaries.
    fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError>;

    /// For sources indexed by virtual address (`/proc/kcore`): read `buf` at `kva`
    /// directly. `None` means "this source has no virtual view; translate instead".
    fn read_virt_direct(&self, _kva: Kva, _buf: &mut [u8]) -> Option<Result<(), MemError>> {
        None
    }
}

/// One `NT_PRSTATUS` note: the registers of one CPU at dump time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrStatus {
    /// Position of the note among the dump's NT_PRSTATUS notes (usually the CPU number).
    pub index: usize,
    /// `pr_pid`: the task running on that CPU (0 for the idle task).
    pub pid: u32,
    /// `pr_reg` as 64-bit words, in the architecture's `user_regs_struct` order.
    pub regs: Vec<u64>,
    /// The whole note descriptor.
    pub raw: Vec<u8>,
}

/// Why a dump could not be opened.
#[derive(Debug, Error)]
pub enum DumpError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file is empty")]
    Empty,
    #[error(
        "not a dump quiesce knows (ELF core, kdump-compressed, flattened): first bytes {first_bytes}"
    )]
    UnknownFormat { first_bytes: String },
    #[error(
        "the file ends before the {what}: {len:#x} bytes at offset {offset:#x} needed, the file has {file_len:#x}"
    )]
    Truncated {
        what: String,
        offset: u64,
        len: u64,
        file_len: u64,
    },
    #[error("bad {what} at file offset {offset:#x}: {why}")]
    Invalid {
        what: String,
        offset: u64,
        why: String,
    },
    #[error("I/O error reading the {what} at offset {offset:#x}: {why}")]
    Io {
        what: String,
        offset: u64,
        why: String,
    },
    #[error("unsupported dump: {0}")]
    Unsupported(String),
    /// Attaching to a QEMU guest over QMP failed.
    #[error("{0}")]
    Qemu(String),
}

impl DumpError {
    fn from_read(what: &str, f: ReadFail) -> DumpError {
        match f {
            ReadFail::Eof { off, len, file_len } => DumpError::Truncated {
                what: what.to_string(),
                offset: off,
                len,
                file_len,
            },
            ReadFail::Io { off, why } => DumpError::Io {
                what: what.to_string(),
                offset: off,
                why,
            },
        }
    }
}

/// The container format of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DumpFormat {
    /// An ELF core indexed by physical address (vmcore, `makedumpfile -E`, QEMU).
    Elf,
    /// An ELF core indexed by virtual address (`/proc/kcore`).
    Kcore,
    /// kdump-compressed; `flattened` when it came wrapped in the flattened format.
    Kdump { flattened: bool },
    /// A running QEMU guest over QMP, stopped while read.
    Qmp,
}

impl std::fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DumpFormat::Elf => "ELF",
            DumpFormat::Kcore => "/proc/kcore",
            DumpFormat::Kdump { flattened: false } => "kdump-compressed",
            DumpFormat::Kdump { flattened: true } => "kdump-compressed, flattened",
            DumpFormat::Qmp => "live QEMU guest (QMP)",
        })
    }
}

/// The machine the dump was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Machine {
    X86_64,
    Aarch64,
    /// Anything else, by ELF `e_machine` (0 when the dump does not say).
    Other(u16),
}

impl Machine {
    fn from_e_machine(m: u16) -> Machine {
        match m {
            elf::EM_X86_64 => Machine::X86_64,
            elf::EM_AARCH64 => Machine::Aarch64,
            o => Machine::Other(o),
        }
    }
}

/// `struct new_utsname` of a kdump header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utsname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

impl Utsname {
    fn is_empty(&self) -> bool {
        [
            &self.sysname,
            &self.nodename,
            &self.release,
            &self.version,
            &self.machine,
            &self.domainname,
        ]
        .iter()
        .all(|s| s.is_empty())
    }
}

/// How the warning about a kdump header's `phys_base` that VMCOREINFO contradicts begins
/// (the kernel, which can check which one is right, replaces it when it takes the header's).
pub const PHYS_BASE_DISAGREES: &str = "kdump header phys_base";

/// Header fields as the dump wrote them (raw: see [`Dump::warnings`] for the ones that
/// disagree with VMCOREINFO). `None` = this format has no such field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpHeaderInfo {
    /// kdump: `utsname`, `None` when all fields are empty (QEMU).
    pub utsname: Option<Utsname>,
    /// kdump sub-header `phys_base` (wrong in QEMU ≤ 8.x output; see warnings).
    pub phys_base: Option<u64>,
    pub nr_cpus: Option<u32>,
    pub block_size: Option<u32>,
    /// Number of page frames the dump describes (the 64-bit field from version 6 on).
    pub max_mapnr: Option<u64>,
    pub header_version: Option<i32>,
    /// `DUMP_DH_*` flags.
    pub status: Option<u32>,
    /// makedumpfile `-d` level.
    pub dump_level: Option<i32>,
    /// `(seconds, microseconds)`.
    pub timestamp: Option<(i64, i64)>,
    pub current_cpu: Option<u32>,
    /// `[start_pfn, end_pfn)` held by this file of a split dump.
    pub split: Option<(u64, u64)>,
    /// ELF `e_machine`.
    pub e_machine: Option<u16>,
}

enum Mem {
    Elf { src: Source, core: ElfCore },
    Kdump(Box<KdumpFile>),
    Qemu(Box<qemu_guest::QemuGuest>),
}

/// An opened dump. `Send + Sync`; reads take `&self`.
pub struct Dump {
    mem: Mem,
    format: DumpFormat,
    live: bool,
    machine: Machine,
    vmcoreinfo: Option<String>,
    /// The CPUs' registers: a dump's notes, or a live QEMU guest's registers as of its
    /// last stop (replaced by [`Dump::pause`]).
    prstatus: RwLock<Arc<Vec<PrStatus>>>,
    qemu: Vec<QemuCpuState>,
    header: DumpHeaderInfo,
    warnings: Vec<String>,
}

/// The path of the live kernel core.
const PROC_KCORE: &str = "/proc/kcore";

/// The prefix of a QMP socket given as the dump: `qmp:/path/to/sock` or `qmp:HOST:PORT`.
pub const QMP_PREFIX: &str = "qmp:";

/// The QMP address of a dump argument `qmp:ADDR`, if it is one.
pub fn qmp_address(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(QMP_PREFIX)
}

fn is_proc_kcore(path: &Path) -> bool {
    path == Path::new(PROC_KCORE)
        || std::fs::canonicalize(path).is_ok_and(|p| p == Path::new(PROC_KCORE))
}

fn describe_bytes(b: &[u8]) -> String {
    let head = &b[..b.len().min(16)];
    let hex: Vec<String> = head.iter().map(|c| format!("{c:02x}")).collect();
    let text: String = head
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{} \"{text}\"", hex.join(" "))
}

/// The value of `key=` in VMCOREINFO text (`key` includes any `NUMBER(...)` wrapper).
fn vmcoreinfo_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

impl Dump {
    /// Open a dump file read-only, sniffing its format from its content; `qmp:ADDR`
    /// attaches to a running QEMU guest instead ([`Dump::attach_qemu`]).
    pub fn open(path: &Path) -> Result<Dump, DumpError> {
        if let Some(addr) = qmp_address(path) {
            return Dump::attach_qemu(addr);
        }
        let open_err = |source| DumpError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        if is_proc_kcore(path) {
            let len = file.metadata().map_err(open_err)?.len();
            let mut d = Dump::from_source(Source::Pread { file, len }, true)?;
            d.live = true;
            return Ok(d);
        }
        let len = file.metadata().map_err(open_err)?.len();
        if len == 0 {
            return Err(DumpError::Empty);
        }
        // SAFETY: the map is read-only and we never hand out references that outlive the
        // Dump. If another process truncates the file while we read it, accesses past the
        // new end fault (SIGBUS) — the accepted risk of mapping any file; dumps are not
        // modified in place by the tools that write them.
        let map = unsafe { Mmap::map(&file) }.map_err(open_err)?;
        Dump::from_backing(Backing::Mapped(map))
    }

    /// Open a dump held in memory (tests; small dumps received from elsewhere).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dump, DumpError> {
        Dump::from_backing(Backing::Bytes(bytes))
    }

    fn from_backing(b: Backing) -> Result<Dump, DumpError> {
        if b.is_empty() {
            return Err(DumpError::Empty);
        }
        if b.starts_with(flat::MDF_SIGNATURE) {
            let mut warnings = Vec::new();
            let f = FlatFile::parse(b, &mut warnings)?;
            let mut d = Dump::from_source(Source::Flat(f), false).map_err(|e| match e {
                DumpError::UnknownFormat { first_bytes } => DumpError::UnknownFormat {
                    first_bytes: format!("{first_bytes} (inside a flattened file)"),
                },
                e => e,
            })?;
            warnings.append(&mut d.warnings);
            d.warnings = warnings;
            return Ok(d);
        }
        Dump::from_source(Source::Whole(b), false)
    }

    fn from_source(src: Source, kcore: bool) -> Result<Dump, DumpError> {
        let mut head = [0u8; 16];
        let n = (src.len().min(16)) as usize;
        src.read_at(0, &mut head[..n])
            .map_err(|f| DumpError::from_read("file signature", f))?;
        let head = &head[..n];
        if n == 0 {
            return Err(DumpError::Empty);
        }
        if head.starts_with(b"\x7fELF") {
            Dump::from_elf(src, kcore)
        } else if head.starts_with(kdump::KDUMP_SIGNATURE) {
            Dump::from_kdump(src)
        } else if head.starts_with(b"DISKDUMP") {
            Err(DumpError::Unsupported(
                "the old diskdump format (\"DISKDUMP\" signature)".into(),
            ))
        } else {
            Err(DumpError::UnknownFormat {
                first_bytes: describe_bytes(head),
            })
        }
    }

    fn from_elf(src: Source, kcore: bool) -> Result<Dump, DumpError> {
        let mut warnings = Vec::new();
        let mut core = elf::parse(&src, kcore, &mut warnings)?;
        let notes = std::mem::take(&mut core.notes);
        let machine = Machine::from_e_machine(core.machine);
        let vmcoreinfo = notes.vmcoreinfo.as_deref().map(|b| text(b, &mut warnings));
        if vmcoreinfo.is_none() {
            warnings.push(
                "no VMCOREINFO note (QEMU adds one only when the guest has -device vmcoreinfo; /proc/kcore before 4.19 has none)".into(),
            );
        }
        if core.kcore
            && notes
                .prstatus
                .iter()
                .all(|p| p.regs.iter().all(|&r| r == 0))
        {
            warnings.push(
                "kcore's NT_PRSTATUS note is a placeholder: it carries no CPU registers".into(),
            );
        }
        let header = DumpHeaderInfo {
            e_machine: Some(core.machine),
            ..DumpHeaderInfo::default()
        };
        Ok(Dump {
            format: if core.kcore {
                DumpFormat::Kcore
            } else {
                DumpFormat::Elf
            },
            mem: Mem::Elf { src, core },
            live: false,
            machine,
            vmcoreinfo,
            prstatus: RwLock::new(Arc::new(notes.prstatus)),
            qemu: notes.qemu,
            header,
            warnings,
        })
    }

    fn from_kdump(src: Source) -> Result<Dump, DumpError> {
        let mut warnings = Vec::new();
        let mut k = KdumpFile::parse(src, &mut warnings)?;
        let mut notes = std::mem::take(&mut k.notes);
        let raw = k.vmcoreinfo.take().or_else(|| notes.vmcoreinfo.take());
        let vmcoreinfo = raw.as_deref().map(|b| text(b, &mut warnings));
        let h = &k.hdr;
        let utsname = (!h.utsname.is_empty()).then(|| h.utsname.clone());
        let osrelease = vmcoreinfo
            .as_deref()
            .and_then(|t| vmcoreinfo_value(t, "OSRELEASE"));
        match (&utsname, osrelease) {
            (None, Some(rel)) => warnings.push(format!(
                "kdump header utsname is empty (QEMU leaves it blank); VMCOREINFO says OSRELEASE={rel}"
            )),
            (None, None) => warnings.push("kdump header utsname is empty".into()),
            (Some(u), Some(rel)) if u.release.is_empty() => warnings.push(format!(
                "kdump header utsname.release is empty (QEMU fills in only utsname.machine); VMCOREINFO says OSRELEASE={rel}"
            )),
            (Some(u), Some(rel)) if u.release != rel => warnings.push(format!(
                "kdump header utsname.release {:?} disagrees with VMCOREINFO OSRELEASE={rel}",
                u.release
            )),
            _ => {}
        }
        if vmcoreinfo.is_none() {
            warnings.push("kdump file has no VMCOREINFO".into());
        }
        if let (Some(hpb), Some(text)) = (
            h.phys_base,
            vmcoreinfo
                .as_deref()
                .and_then(|t| vmcoreinfo_value(t, "NUMBER(phys_base)")),
        ) {
            let parsed = text
                .parse::<i64>()
                .map(|v| v as u64)
                .or_else(|_| u64::from_str_radix(text.trim_start_matches("0x"), 16));
            if let Ok(v) = parsed
                && v != hpb
            {
                let qemu = if i64::from_str_radix(text, 16).map(|v| v as u64) == Ok(hpb) {
                    " (QEMU read the decimal value as hex)"
                } else {
                    ""
                };
                warnings.push(format!(
                    "{PHYS_BASE_DISAGREES} {hpb:#x} disagrees with VMCOREINFO NUMBER(phys_base)={text} ({v:#x}){qemu}; using VMCOREINFO"
                ));
            }
        }
        if !notes.prstatus.is_empty() && notes.prstatus.len() as u64 != h.nr_cpus as u64 {
            warnings.push(format!(
                "kdump header nr_cpus {} but {} NT_PRSTATUS notes",
                h.nr_cpus,
                notes.prstatus.len()
            ));
        }
        let machine = kdump_machine(&h.utsname.machine, &notes, vmcoreinfo.as_deref());
        if let Machine::Other(_) = machine {
            warnings.push(format!(
                "cannot tell the machine type (utsname.machine {:?}, no recognisable notes)",
                h.utsname.machine
            ));
        }
        let header = DumpHeaderInfo {
            utsname,
            phys_base: h.phys_base,
            nr_cpus: Some(h.nr_cpus),
            block_size: Some(h.block_size),
            max_mapnr: Some(h.max_mapnr),
            header_version: Some(h.header_version),
            status: Some(h.status),
            dump_level: h.dump_level,
            timestamp: Some(h.timestamp),
            current_cpu: Some(h.current_cpu),
            split: h.split,
            e_machine: None,
        };
        let flattened = k.is_flat();
        Ok(Dump {
            mem: Mem::Kdump(Box::new(k)),
            format: DumpFormat::Kdump { flattened },
            live: false,
            machine,
            vmcoreinfo,
            prstatus: RwLock::new(Arc::new(notes.prstatus)),
            qemu: notes.qemu,
            header,
            warnings,
        })
    }

    pub fn format(&self) -> DumpFormat {
        self.format
    }

    /// Whether the dump came wrapped in the flattened format (kdump or ELF inside).
    pub fn is_flattened(&self) -> bool {
        match &self.mem {
            Mem::Elf { src, .. } => matches!(src, Source::Flat(_)),
            Mem::Kdump(k) => k.is_flat(),
            Mem::Qemu(_) => false,
        }
    }

    /// Page compressions of a kdump file: those its header declares plus any met while
    /// reading pages (so `None` appears once a raw page was read). `[None]` for ELF.
    pub fn compressions(&self) -> Vec<Compression> {
        match &self.mem {
            Mem::Elf { .. } | Mem::Qemu(_) => vec![Compression::None],
            Mem::Kdump(k) => k.compressions(),
        }
    }

    pub fn machine(&self) -> Machine {
        self.machine
    }

    /// The raw VMCOREINFO text.
    pub fn vmcoreinfo(&self) -> Option<&str> {
        self.vmcoreinfo.as_deref()
    }

    /// `NT_PRSTATUS` notes in file order (a live QEMU guest: its registers at its last
    /// stop, one per vCPU, as QEMU's dump would write them).
    pub fn prstatus(&self) -> Arc<Vec<PrStatus>> {
        self.prstatus
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// QEMU's per-vCPU "QEMU" notes (x86_64 guests dumped by QEMU).
    pub fn qemu_cpu_states(&self) -> &[QemuCpuState] {
        &self.qemu
    }

    pub fn header(&self) -> &DumpHeaderInfo {
        &self.header
    }

    /// Things about this dump not to trust, one line each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// `Some` only for sources indexed by virtual address (`/proc/kcore`).
    pub fn read_virt_direct(&self, kva: Kva, buf: &mut [u8]) -> Option<Result<(), MemError>> {
        match &self.mem {
            Mem::Elf { src, core } if core.kcore => {
                Some(elf::read(&core.virt, src, kva.0, buf).map_err(|f| match f {
                    Fault::NotPresent(a) => MemError::VirtNotPresent(Kva(a)),
                    Fault::Read(a, f) => MemError::VirtIo {
                        kva: Kva(a),
                        why: f.to_string(),
                    },
                }))
            }
            _ => None,
        }
    }

    /// Whether this is the running kernel (`/proc/kcore`): memory changes under us.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Physical ranges `(start, len)` whose bytes the dump holds, sorted. For kdump files
    /// these are the dumped pages; excluded pages are not in them (see [`Dump::is_excluded`]).
    pub fn phys_ranges(&self) -> Vec<(Pa, u64)> {
        match &self.mem {
            Mem::Elf { core, .. } => {
                let mut out: Vec<(Pa, u64)> = Vec::new();
                for p in &core.phys {
                    match out.last_mut() {
                        Some((s, len)) if s.0 + *len == p.start => *len += p.end - p.start,
                        _ => out.push((Pa(p.start), p.end - p.start)),
                    }
                }
                out
            }
            Mem::Kdump(k) => k.ranges(),
            Mem::Qemu(g) => g.ranges(),
        }
    }

    /// kdump: the page is RAM (1st bitmap) but was not dumped (2nd bitmap). `pfn` counts
    /// 4 KiB pages; with larger kdump block sizes the block holding it is checked.
    pub fn is_excluded(&self, pfn: Pfn) -> bool {
        match &self.mem {
            Mem::Elf { .. } | Mem::Qemu(_) => false,
            Mem::Kdump(k) => k.is_excluded(pfn.pa().0 / k.block_size()),
        }
    }
}

/// VMCOREINFO bytes as text: NUL padding trimmed, invalid UTF-8 replaced (with a warning).
fn text(b: &[u8], warnings: &mut Vec<String>) -> String {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    match std::str::from_utf8(&b[..end]) {
        Ok(s) => s.to_string(),
        Err(e) => {
            warnings.push(format!(
                "VMCOREINFO is not valid UTF-8 (at byte {}); bad bytes replaced",
                e.valid_up_to()
            ));
            String::from_utf8_lossy(&b[..end]).into_owned()
        }
    }
}

/// The machine of a kdump file: `utsname.machine` when set, else the size of the
/// `NT_PRSTATUS` notes (336 bytes on x86_64, 392 on arm64), else QEMU's x86-only CPU notes,
/// else symbols only one architecture exports in VMCOREINFO.
fn kdump_machine(uts_machine: &str, notes: &notes::NoteSet, vmci: Option<&str>) -> Machine {
    match uts_machine {
        "x86_64" => return Machine::X86_64,
        "aarch64" | "arm64" => return Machine::Aarch64,
        _ => {}
    }
    match notes.prstatus.first().map(|p| p.raw.len()) {
        Some(336) => return Machine::X86_64,
        Some(392) => return Machine::Aarch64,
        _ => {}
    }
    if !notes.qemu.is_empty() {
        return Machine::X86_64;
    }
    if let Some(t) = vmci {
        if vmcoreinfo_value(t, "SYMBOL(init_top_pgt)").is_some() {
            return Machine::X86_64;
        }
        if vmcoreinfo_value(t, "NUMBER(kimage_voffset)").is_some() {
            return Machine::Aarch64;
        }
    }
    Machine::Other(0)
}

impl PhysMem for Dump {
    fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError> {
        match &self.mem {
            Mem::Elf { src, core } => elf::read(&core.phys, src, pa.0, buf).map_err(|f| match f {
                Fault::NotPresent(a) => MemError::NotPresent(Pa(a)),
                Fault::Read(a, f @ ReadFail::Eof { .. }) => MemError::Truncated {
                    pa: Pa(a),
                    why: f.to_string(),
                },
                Fault::Read(a, f @ ReadFail::Io { .. }) => MemError::Io {
                    pa: Pa(a),
                    why: f.to_string(),
                },
            }),
            Mem::Kdump(k) => k.read_phys(pa, buf),
            Mem::Qemu(g) => g.read_phys(pa, buf),
        }
    }

    fn read_virt_direct(&self, kva: Kva, buf: &mut [u8]) -> Option<Result<(), MemError>> {
        Dump::read_virt_direct(self, kva, buf)
    }
}

/// An in-memory ELF core for other modules' tests: `(paddr, vaddr, bytes)` segments and a
/// VMCOREINFO note.
#[cfg(test)]
pub(crate) fn test_elf_core(segs: &[(u64, u64, Vec<u8>)], vmcoreinfo: &str) -> Dump {
    let notes = notes::build(&[("VMCOREINFO", 0, vmcoreinfo.as_bytes())]);
    let segs: Vec<elf::build::Seg> = segs
        .iter()
        .map(|(p, v, d)| elf::build::Seg {
            paddr: *p,
            vaddr: *v,
            data: d.clone(),
            memsz: d.len() as u64,
        })
        .collect();
    Dump::from_bytes(elf::build::core(62, &notes, &segs)).expect("test core parses")
}
