//! The corruption corpus (issue 17): copies of a release's real dumps damaged the ways real
//! dumps are — cut short, pages zeroed or overwritten, kernel lists and pointers corrupted,
//! VMCOREINFO missing or lying, `NT_PRSTATUS` notes gone, a vmlinux of another build.
//!
//! A damaged copy is described by a [`Recipe`] (a base file, how many of its bytes to keep,
//! byte patches, which vmlinux goes with it). Describing a release's corpus takes seconds
//! and a few KiB; a copy is written only while it is being run ([`Recipe::materialize`])
//! and removed after: the ELF dumps are 512 MiB, and a corpus of them kept on disk would
//! need hundreds of GiB. Recipes are deterministic (a fixed-seed generator), so a failing
//! copy can be made again from its id.
//!
//! Where a damage needs to know where a kernel object lies (the task list, a mutex's wait
//! list, an `srcu_struct`, an `rcu_node`, the printk ring), the clean dump is opened once
//! with quiesce's own reader to find the object's physical address; the damage itself is
//! then plain bytes in the ELF file, which the run reads like any other dump.

use super::Release;
use quiesce::addr::Kva;
use quiesce::kernel::Kernel;
use quiesce::kernel::expr::Evaluated;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A pointer into nowhere: canonical on x86_64 and in arm64's kernel half, mapped by
/// neither.
pub const NOWHERE: u64 = 0xffff_dead_beef_0000;

#[derive(Debug, Clone)]
pub struct Recipe {
    /// Unique and stable: `kind/base@detail`.
    pub id: String,
    /// The damage class (a row of the corpus table).
    pub kind: &'static str,
    /// What was done, in words.
    pub what: String,
    pub base: PathBuf,
    /// Bytes of the base kept (the file's size: not truncated).
    pub len: u64,
    /// (file offset, bytes) written over the copy.
    pub patches: Vec<(u64, Vec<u8>)>,
    /// The vmlinux to run with; `None`: the release's own.
    pub vmlinux: Option<PathBuf>,
    /// Byte patches to a copy of the release's vmlinux (another build of the same kernel).
    pub vmlinux_patches: Vec<(u64, Vec<u8>)>,
}

/// A damaged copy on disk, with the files to run it with.
pub struct Copy {
    pub core: PathBuf,
    pub vmlinux: PathBuf,
    /// Files written for this copy (removed by [`Copy::remove`]).
    pub written: Vec<PathBuf>,
}

impl Copy {
    pub fn remove(&self) {
        for f in &self.written {
            std::fs::remove_file(f).ok();
        }
    }
}

impl Recipe {
    pub fn new(kind: &'static str, base: &Path, detail: &str, what: String) -> Recipe {
        let len = std::fs::metadata(base).map(|m| m.len()).unwrap_or(0);
        Recipe {
            id: format!("{kind}/{}@{detail}", file_name(base)),
            kind,
            what,
            base: base.to_path_buf(),
            len,
            patches: Vec::new(),
            vmlinux: None,
            vmlinux_patches: Vec::new(),
        }
    }

    /// Write the damaged copy (and its vmlinux, when that is damaged too) under `dir`.
    pub fn materialize(&self, rel: &Release, dir: &Path) -> std::io::Result<Copy> {
        std::fs::create_dir_all(dir)?;
        let stem = self.id.replace(['/', '@'], "_");
        let core = dir.join(format!("{stem}.{}", extension(&self.base)));
        copy_prefix(&self.base, &core, self.len, &self.patches)?;
        let mut written = vec![core.clone()];
        let vmlinux = if !self.vmlinux_patches.is_empty() {
            let v = dir.join(format!("{stem}.vmlinux"));
            let src = rel.vmlinux();
            let len = std::fs::metadata(&src)?.len();
            copy_prefix(&src, &v, len, &self.vmlinux_patches)?;
            written.push(v.clone());
            v
        } else {
            self.vmlinux.clone().unwrap_or_else(|| rel.vmlinux())
        };
        Ok(Copy {
            core,
            vmlinux,
            written,
        })
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The dump's format suffix (`elf`, `kdump`, `flat`), kept so the copy reads as the same kind.
fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bin".into())
}

fn copy_prefix(
    src: &Path,
    dst: &Path,
    len: u64,
    patches: &[(u64, Vec<u8>)],
) -> std::io::Result<()> {
    let mut from = std::fs::File::open(src)?;
    let mut to = std::fs::File::create(dst)?;
    // io::copy between files uses copy_file_range: the kernel copies, not this process.
    std::io::copy(&mut (&mut from).take(len), &mut to)?;
    for (off, bytes) in patches {
        if *off < len {
            let n = bytes.len().min((len - off) as usize);
            to.write_all_at(&bytes[..n], *off)?;
        }
    }
    to.flush()
}

/// splitmix64: a fixed-seed generator, so every recipe is made again the same.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Every recipe for one release: its `hang` dumps in every format, plus the semantic
/// damages made on the `hang` ELF dump. Damages that a layout does not allow (a member the
/// release does not have) are left out and named in the second list.
pub fn recipes(rel: &Release) -> (Vec<Recipe>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let dumps = rel.dumps_of("hang");
    for d in &dumps {
        out.extend(truncations(&d.path, 100));
    }
    let elf = dumps.iter().find(|d| d.name.ends_with(".elf"));
    let kdump = dumps
        .iter()
        .find(|d| d.name.ends_with("zstd.kdump"))
        .or_else(|| dumps.iter().find(|d| d.name.ends_with(".kdump")));
    let k = elf.map(|e| rel.open(&e.path));
    if let (Some(e), Some(k)) = (elf, &k) {
        out.extend(elf_pages(&e.path, k, 10));
        let (sem, skip) = super::corpus_objects::semantic(&e.path, k);
        out.extend(sem);
        skipped.extend(skip);
    }
    if let Some(d) = kdump {
        out.extend(file_pages(&d.path, 10));
    }
    for d in elf.into_iter().chain(kdump) {
        out.extend(vmcoreinfo_lies(&d.path, &mut skipped));
        out.extend(prstatus_missing(&d.path, &mut skipped));
    }
    if let Some(e) = elf {
        out.extend(vmlinux_of_another_build(rel, &e.path, &mut skipped));
    }
    (out, skipped)
}

/// `n` truncation points spread over the file: a third of them log-spaced through the
/// first MiB (headers, notes, bitmaps, page descriptors), the rest evenly over the whole.
pub fn truncations(base: &Path, n: usize) -> Vec<Recipe> {
    let size = std::fs::metadata(base).map(|m| m.len()).unwrap_or(0);
    if size < 2 {
        return Vec::new();
    }
    let head = size.min(1 << 20) as f64;
    let n_head = n / 3;
    let mut offs: Vec<u64> = (0..n_head)
        .map(|i| head.powf(i as f64 / (n_head.max(2) - 1) as f64) as u64)
        .chain((0..n - n_head).map(|i| size * (2 * i as u64 + 1) / (2 * (n - n_head) as u64)))
        .map(|o| o.clamp(1, size - 1))
        .collect();
    offs.sort_unstable();
    offs.dedup();
    // Log spacing repeats small offsets: fill up with their neighbours.
    let mut extra = 2;
    while offs.len() < n && extra < size {
        if !offs.contains(&extra) {
            offs.push(extra);
        }
        extra = extra * 3 / 2 + 1;
    }
    offs.sort_unstable();
    offs.into_iter()
        .map(|o| {
            let mut r = Recipe::new(
                "truncated",
                base,
                &o.to_string(),
                format!("cut at byte {o} of {size}"),
            );
            r.len = o;
            r
        })
        .collect()
}

/// Program headers of a 64-bit little-endian ELF core: (type, file offset, physical
/// address, size in the file); empty when the file is not one.
fn elf_segments(path: &Path) -> Vec<(u32, u64, u64, u64)> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut eh = [0u8; 64];
    if f.read_exact(&mut eh).is_err() || &eh[..4] != b"\x7fELF" {
        return Vec::new();
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(&eh, 0x20), u16_at(&eh, 0x36), u16_at(&eh, 0x38));
    let mut ph = vec![0u8; phentsize as usize * phnum as usize];
    if f.seek(SeekFrom::Start(phoff)).is_err() || f.read_exact(&mut ph).is_err() {
        return Vec::new();
    }
    ph.chunks(phentsize as usize)
        .map(|p| {
            let ty = u32::from_le_bytes(p[..4].try_into().unwrap());
            (ty, u64_at(p, 8), u64_at(p, 24), u64_at(p, 32))
        })
        .collect()
}

/// PT_LOAD segments of an ELF core: (file offset, physical address, size in the file).
pub fn elf_loads(path: &Path) -> Vec<(u64, u64, u64)> {
    elf_segments(path)
        .into_iter()
        .filter(|s| s.0 == 1)
        .map(|(_, off, pa, size)| (off, pa, size))
        .collect()
}

/// The file offset of physical address `pa` in an ELF core.
pub fn elf_offset(loads: &[(u64, u64, u64)], pa: u64, len: u64) -> Option<u64> {
    loads
        .iter()
        .find(|&&(_, base, size)| pa >= base && pa + len <= base + size)
        .map(|&(off, base, _)| off + pa - base)
}

/// The file offset of a kernel virtual address in the ELF core `k` was opened on.
pub fn kva_offset(k: &Kernel, loads: &[(u64, u64, u64)], kva: u64, len: u64) -> Option<u64> {
    let pa = k.mem.translate(Kva(kva)).ok()?.0;
    elf_offset(loads, pa, len)
}

/// The address of an lvalue expression (`rcu_state.node[0].qsmask`), trying each spelling
/// in turn (layouts differ between releases).
pub fn lvalue(k: &Kernel, spellings: &[String]) -> Option<(u64, String)> {
    spellings
        .iter()
        .find_map(|s| match k.eval(s).ok()?.first()?.result {
            Evaluated::Object(o) => Some((o.addr.0, s.clone())),
            // `&x` is the address as a constant.
            Evaluated::Const { value, .. } => Some((value, s.clone())),
        })
}

/// Page-sized regions of an ELF core zeroed (`zeroed-pages`) or filled with garbage
/// (`garbage-pages`): 64 random pages of memory, plus 4 of the pages that matter (the
/// task_struct and stack pages of the blocked tasks, in turn), so that a copy does not
/// only damage memory nobody reads.
fn elf_pages(base: &Path, k: &Kernel, copies: usize) -> Vec<Recipe> {
    let loads = elf_loads(base);
    let total_pages: u64 = loads.iter().map(|l| l.2 / 4096).sum();
    let hot: Vec<u64> = k
        .tasks()
        .map(|t| t.tasks)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.st == "UN")
        .flat_map(|t| [t.addr, t.stack, t.stack + 8192])
        .filter_map(|a| kva_offset(k, &loads, a & !4095, 4096))
        .collect();
    let mut out = Vec::new();
    for (kind, garbage) in [("zeroed-pages", false), ("garbage-pages", true)] {
        for c in 0..copies {
            let mut rng = Rng::new(seed_of(&format!("{kind}{c}")));
            let mut offs = Vec::new();
            for _ in 0..64 {
                let mut p = rng.below(total_pages.max(1));
                for &(off, _, size) in &loads {
                    if p < size / 4096 {
                        offs.push(off + p * 4096);
                        break;
                    }
                    p -= size / 4096;
                }
            }
            for i in 0..4 {
                if !hot.is_empty() {
                    offs.push(hot[(c * 4 + i) % hot.len()]);
                }
            }
            let mut r = Recipe::new(
                kind,
                base,
                &c.to_string(),
                format!(
                    "{} pages {}",
                    offs.len(),
                    if garbage {
                        "filled with garbage"
                    } else {
                        "zeroed"
                    }
                ),
            );
            r.patches = offs
                .into_iter()
                .map(|o| (o, page_bytes(&mut rng, garbage)))
                .collect();
            out.push(r);
        }
    }
    out
}

fn page_bytes(rng: &mut Rng, garbage: bool) -> Vec<u8> {
    if garbage {
        (0..512).flat_map(|_| rng.next().to_le_bytes()).collect()
    } else {
        vec![0; 4096]
    }
}

/// Page-sized regions anywhere past the first page of a (compressed) file: compressed pages,
/// bitmaps and descriptors alike.
fn file_pages(base: &Path, copies: usize) -> Vec<Recipe> {
    let size = std::fs::metadata(base).map(|m| m.len()).unwrap_or(0);
    if size <= 8192 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (kind, garbage) in [("zeroed-pages", false), ("garbage-pages", true)] {
        for c in 0..copies {
            let mut rng = Rng::new(seed_of(&format!("{kind}{c}{size}")));
            let mut r = Recipe::new(kind, base, &c.to_string(), String::new());
            r.patches = (0..32)
                .map(|_| (4096 + rng.below(size - 8192), page_bytes(&mut rng, garbage)))
                .collect();
            r.what = format!(
                "32 page-sized regions of the file {}",
                if garbage {
                    "filled with garbage"
                } else {
                    "zeroed"
                }
            );
            out.push(r);
        }
    }
    out
}

/// Every occurrence of `needle` in the first 16 MiB of a file (where ELF notes and the
/// kdump sub-header's VMCOREINFO and notes live).
pub fn find_all(path: &Path, needle: &[u8]) -> Vec<u64> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut head = Vec::new();
    if f.take(16 << 20).read_to_end(&mut head).is_err() {
        return Vec::new();
    }
    head.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i as u64)
        .collect()
}

/// The value after `key` at `at` (up to the newline).
fn value_at(path: &Path, at: u64, key: &str) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 128];
    let n = f.read_at(&mut buf, at + key.len() as u64).ok()?;
    let v = &buf[..n];
    let end = v.iter().position(|&b| b == b'\n')?;
    Some(String::from_utf8_lossy(&v[..end]).into_owned())
}

/// VMCOREINFO missing (its note's name changed), its keys gone, or lying: KERNELOFFSET,
/// phys_base, OSRELEASE or BUILD-ID changed (the same length, so nothing else moves).
fn vmcoreinfo_lies(base: &Path, skipped: &mut Vec<String>) -> Vec<Recipe> {
    let mut out = Vec::new();
    let names = find_all(base, b"VMCOREINFO");
    if names.is_empty() {
        skipped.push(format!("{}: no VMCOREINFO to damage", file_name(base)));
        return out;
    }
    let mut r = Recipe::new(
        "vmcoreinfo",
        base,
        "missing",
        "the VMCOREINFO note renamed".into(),
    );
    r.patches = names.iter().map(|&o| (o, b"XMCOREINFO".to_vec())).collect();
    out.push(r);

    let keys = [
        "OSRELEASE=",
        "PAGESIZE=",
        "KERNELOFFSET=",
        "SYMBOL(swapper_pg_dir)=",
        "NUMBER(phys_base)=",
        "NUMBER(PHYS_OFFSET)=",
    ];
    let mut r = Recipe::new(
        "vmcoreinfo",
        base,
        "no-keys",
        format!("keys renamed: {}", keys.join(" ")),
    );
    for key in keys {
        for o in find_all(base, key.as_bytes()) {
            r.patches.push((o, b"X".to_vec()));
        }
    }
    out.push(r);

    // Each lie: a key, and how its value is changed (same length).
    type Lie = (&'static str, &'static str, fn(&str) -> Option<String>);
    let lies: [Lie; 4] = [
        ("KERNELOFFSET=", "kerneloffset", |v| {
            let n = u64::from_str_radix(v, 16).ok()?;
            Some(format!("{:0w$x}", n ^ 0x0400_0000, w = v.len()))
        }),
        ("NUMBER(phys_base)=", "phys-base", |v| {
            let n: i64 = v.parse().ok()?;
            let s = (n ^ 0x0020_0000).to_string();
            (s.len() == v.len()).then_some(s).or_else(|| {
                let s = (n + 1).to_string();
                (s.len() == v.len()).then_some(s)
            })
        }),
        ("OSRELEASE=", "osrelease", |v| {
            let i = v.find(|c: char| c.is_ascii_digit())?;
            let d = v.as_bytes()[i];
            let mut s = v.to_string();
            s.replace_range(i..i + 1, if d == b'9' { "8" } else { "9" });
            Some(s)
        }),
        ("BUILD-ID=", "build-id", |v| {
            let mut s = v.to_string();
            let c = if v.starts_with('0') { "1" } else { "0" };
            s.replace_range(0..1, c);
            Some(s)
        }),
    ];
    for (key, name, change) in lies {
        let at = find_all(base, key.as_bytes());
        let mut r = Recipe::new("vmcoreinfo", base, name, String::new());
        for o in at {
            if let Some(v) = value_at(base, o, key)
                && let Some(nv) = change(&v)
                && nv.len() == v.len()
                && nv != v
            {
                r.what = format!("{key}{v} → {nv}");
                r.patches.push((o + key.len() as u64, nv.into_bytes()));
            }
        }
        if r.patches.is_empty() {
            skipped.push(format!("{}: no {key} to change", file_name(base)));
        } else {
            out.push(r);
        }
    }
    out
}

/// ELF notes of a core: (file offset of the note header, name, type).
fn elf_notes(path: &Path) -> Vec<(u64, String, u32)> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, off, _, size) in elf_segments(path).into_iter().filter(|s| s.0 == 4) {
        let mut notes = vec![0u8; size.min(16 << 20) as usize];
        if f.read_exact_at(&mut notes, off).is_ok() {
            out.extend(walk_notes(&notes, off));
        }
    }
    out
}

/// Notes in a buffer that starts at file offset `at`.
fn walk_notes(b: &[u8], at: u64) -> Vec<(u64, String, u32)> {
    let mut out = Vec::new();
    let mut i = 0usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    while i + 12 <= b.len() {
        let (namesz, descsz, ty) = (u32_at(i), u32_at(i + 4), u32_at(i + 8));
        let name_end = i + 12 + namesz;
        if name_end > b.len() || namesz == 0 && descsz == 0 {
            break;
        }
        let name = String::from_utf8_lossy(&b[i + 12..name_end])
            .trim_end_matches('\0')
            .to_string();
        out.push((at + i as u64, name, ty as u32));
        i = name_end.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
    }
    out
}

/// The notes area of a kdump-compressed file: `kdump_sub_header.offset_note/size_note`
/// (the sub-header is the block after the `disk_dump_header`).
fn kdump_notes(path: &Path) -> Vec<(u64, String, u32)> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut h = [0u8; 4096];
    if f.read_exact_at(&mut h[..512], 0).is_err() || !h.starts_with(b"KDUMP   ") {
        return Vec::new();
    }
    // disk_dump_header: signature[8], header_version, utsname (6 × 65), timestamp (16),
    // status, block_size.
    // The timeval is 8-byte aligned: 8 + 4 + 390 = 402 → 408; status at 424.
    let bs_at = 408 + 16 + 4;
    let block_size = u32::from_le_bytes(h[bs_at..bs_at + 4].try_into().unwrap()) as u64;
    let mut sub = [0u8; 64];
    if block_size == 0 || f.read_exact_at(&mut sub, block_size).is_err() {
        return Vec::new();
    }
    let u64_at = |o: usize| u64::from_le_bytes(sub[o..o + 8].try_into().unwrap());
    let (off, size) = (u64_at(48), u64_at(56).min(16 << 20));
    let mut notes = vec![0u8; size as usize];
    if off == 0 || f.read_exact_at(&mut notes, off).is_err() {
        return Vec::new();
    }
    walk_notes(&notes, off)
}

/// `NT_PRSTATUS` notes (the CPUs' registers at the crash) gone: every one, or the first.
fn prstatus_missing(base: &Path, skipped: &mut Vec<String>) -> Vec<Recipe> {
    let notes = if base.extension().is_some_and(|e| e == "elf") {
        elf_notes(base)
    } else {
        kdump_notes(base)
    };
    let prstatus: Vec<u64> = notes
        .iter()
        .filter(|(_, name, ty)| name == "CORE" && *ty == 1)
        .map(|(o, _, _)| o + 8)
        .collect();
    if prstatus.is_empty() {
        skipped.push(format!("{}: no NT_PRSTATUS note found", file_name(base)));
        return Vec::new();
    }
    // A type nobody defines: the note is still there, but is no longer a CPU's registers.
    let unknown = 0x7fff_0001u32.to_le_bytes().to_vec();
    let mut all = Recipe::new(
        "prstatus",
        base,
        "all",
        format!("all {} NT_PRSTATUS notes retyped", prstatus.len()),
    );
    all.patches = prstatus.iter().map(|&o| (o, unknown.clone())).collect();
    let mut first = Recipe::new(
        "prstatus",
        base,
        "first",
        "CPU 0's NT_PRSTATUS note retyped".into(),
    );
    first.patches = vec![(prstatus[0], unknown)];
    vec![all, first]
}

/// A vmlinux that does not belong to the dump: the same kernel with its build id changed
/// (what a rebuild of the same source gives), and another release's vmlinux when the
/// fixtures have one of the same architecture.
fn vmlinux_of_another_build(rel: &Release, base: &Path, skipped: &mut Vec<String>) -> Vec<Recipe> {
    let mut out = Vec::new();
    let vm = rel.vmlinux();
    match build_id_offset(&vm) {
        Some(at) => {
            let mut r = Recipe::new(
                "vmlinux",
                base,
                "build-id",
                "the release's vmlinux with another build id".into(),
            );
            r.vmlinux_patches = vec![(at, vec![0x5a, 0xa5, 0x5a, 0xa5])];
            out.push(r);
        }
        None => skipped.push(format!("{}: no build id note", vm.display())),
    }
    let other = super::releases_of_arch(rel.arch())
        .into_iter()
        .find(|o| o.name != rel.name && o.kernel() != rel.kernel());
    match other {
        Some(o) => {
            let mut r = Recipe::new(
                "vmlinux",
                base,
                "other-release",
                format!("{}'s vmlinux ({})", o.name, o.kernel()),
            );
            r.vmlinux = Some(o.vmlinux());
            out.push(r);
        }
        None => skipped.push(format!(
            "{}: no other release's vmlinux in the fixtures",
            rel.name
        )),
    }
    out
}

/// The file offset of the build id's bytes in an ELF file (its GNU build-id note, in
/// `.notes` for a vmlinux).
fn build_id_offset(path: &Path) -> Option<u64> {
    use object::Object;
    let f = std::fs::File::open(path).ok()?;
    // SAFETY: a fixture file nobody writes while the corpus is described.
    let map = unsafe { memmap2::Mmap::map(&f) }.ok()?;
    let obj = object::File::parse(&*map).ok()?;
    let id = obj.build_id().ok()??;
    let base = id.as_ptr() as usize - map.as_ptr() as usize;
    Some(base as u64)
}
