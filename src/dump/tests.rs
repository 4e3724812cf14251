//! Whole-dump tests: files built in code for every format, opened through `Dump`, read
//! back, and damaged in every region to check that errors name what broke.

use super::compress::Compression as C;
use super::elf::build::{Seg, core};
use super::elf::{EM_AARCH64, EM_X86_64};
use super::flat::flatten;
use super::kdump::build::{Layout, Spec, kdump};
use super::notes::{self, NT_PRSTATUS, NT_TASKSTRUCT};
use super::*;

const BS: usize = 4096;
const LZO_UNIT: &[u8] = b"lzo-page-unit-";
const VMCI: &str = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nNUMBER(phys_base)=16777216\nSYMBOL(init_top_pgt)=ffffffff82a0c000\n";

/// Compressible page contents that differ per pfn (period 251, so every LZ77 coder finds
/// matches and no compressed page exceeds a block).
fn content(pfn: u64) -> Vec<u8> {
    (0..BS as u64)
        .map(|i| ((i % 251) * 7 + pfn * 13) as u8)
        .collect()
}

fn lzo_content() -> Vec<u8> {
    LZO_UNIT.iter().copied().cycle().take(BS).collect()
}

fn two_cpu_notes(with_vmcoreinfo: bool) -> Vec<u8> {
    let r0: Vec<u64> = (0..27).map(|i| 0x100 + i).collect();
    let r1: Vec<u64> = (0..27).map(|i| 0x200 + i).collect();
    let (p0, p1) = (
        notes::build_prstatus(100, &r0),
        notes::build_prstatus(0, &r1),
    );
    let (q0, q1) = (
        notes::build_qemu_state(0xffffffff81000010, 0x10_0000, 0xfffffe0000001000),
        notes::build_qemu_state(0xffffffff81000020, 0x10_0000, 0xfffffe0000002000),
    );
    let mut v: Vec<(&str, u32, &[u8])> = vec![
        ("CORE", NT_PRSTATUS, &p0),
        ("CORE", NT_PRSTATUS, &p1),
        ("QEMU", 0, &q0),
        ("QEMU", 0, &q1),
    ];
    if with_vmcoreinfo {
        v.push(("VMCOREINFO", 0, VMCI.as_bytes()));
    }
    notes::build(&v)
}

/// pfn 0 raw, 1 zlib, 2 lzo, 3 snappy, 4 zstd, 5 excluded, 6 not RAM, 7 zlib, 8 raw,
/// 9 excluded; max_mapnr 12 (10, 11 not RAM).
fn spec() -> Spec {
    let pages = vec![
        (0, content(0), C::None),
        (1, content(1), C::Zlib),
        (2, lzo_content(), C::Lzo),
        (3, content(3), C::Snappy),
        (4, content(4), C::Zstd),
        (7, content(7), C::Zlib),
        (8, content(8), C::None),
    ];
    Spec {
        block_size: BS as u32,
        header_version: 6,
        max_mapnr: 12,
        ram: vec![0, 1, 2, 3, 4, 5, 7, 8, 9],
        pages,
        lzo_unit: LZO_UNIT.to_vec(),
        utsname: ["Linux", "guest", "6.1.0-test", "#1 SMP", "x86_64", "(none)"],
        phys_base: 16777216,
        status: 0x1 | 0x2 | 0x4 | 0x20,
        nr_cpus: 2,
        vmcoreinfo: VMCI.as_bytes().to_vec(),
        notes: two_cpu_notes(false),
    }
}

fn expected(pfn: u64) -> Option<Vec<u8>> {
    match pfn {
        2 => Some(lzo_content()),
        0 | 1 | 3 | 4 | 7 | 8 => Some(content(pfn)),
        _ => None,
    }
}

fn page(d: &Dump, pfn: u64) -> Result<Vec<u8>, MemError> {
    let mut b = vec![0u8; BS];
    d.read_phys(Pa(pfn * BS as u64), &mut b).map(|_| b)
}

/// Every page of `spec()` reads back right, and every hole says why.
fn check_kdump_contents(d: &Dump) {
    for pfn in 0..14u64 {
        let pa = Pa(pfn * BS as u64);
        match expected(pfn) {
            Some(want) => assert_eq!(page(d, pfn).unwrap(), want, "pfn {pfn}"),
            None if pfn == 5 || pfn == 9 => {
                assert_eq!(page(d, pfn), Err(MemError::Excluded(pa)), "pfn {pfn}");
                assert!(d.is_excluded(Pfn(pfn)));
            }
            None => {
                assert_eq!(page(d, pfn), Err(MemError::NotPresent(pa)), "pfn {pfn}");
                assert!(!d.is_excluded(Pfn(pfn)));
            }
        }
    }
    // Across page boundaries: end of pfn 0 (raw) into pfn 1 (zlib) into pfn 2 (lzo).
    let mut b = vec![0u8; BS + 200];
    d.read_phys(Pa(BS as u64 - 100), &mut b).unwrap();
    assert_eq!(&b[..100], &content(0)[BS - 100..]);
    assert_eq!(&b[100..100 + BS], &content(1)[..]);
    assert_eq!(&b[100 + BS..], &lzo_content()[..100]);
    // A read running from a dumped page into an excluded one fails at the excluded page.
    let mut b = vec![0u8; 16];
    assert_eq!(
        d.read_phys(Pa(5 * BS as u64 - 8), &mut b),
        Err(MemError::Excluded(Pa(5 * BS as u64)))
    );
    // The last byte of the last dumped page, then one past the end of memory.
    let mut one = [0u8; 1];
    d.read_phys(Pa(9 * BS as u64 - 1), &mut one).unwrap();
    assert_eq!(one[0], content(8)[BS - 1]);
    assert_eq!(
        d.read_phys(Pa(12 * BS as u64), &mut one),
        Err(MemError::NotPresent(Pa(12 * BS as u64)))
    );
    assert_eq!(
        d.read_phys(Pa(u64::MAX), &mut one),
        Err(MemError::NotPresent(Pa(u64::MAX)))
    );
    assert_eq!(
        d.phys_ranges(),
        vec![(Pa(0), 5 * BS as u64), (Pa(7 * BS as u64), 2 * BS as u64)]
    );
}

#[test]
fn dump_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Dump>();
}

#[test]
fn kdump_reads_every_compression() {
    let (bytes, _) = kdump(&spec());
    let d = Dump::from_bytes(bytes).unwrap();
    assert_eq!(d.format(), DumpFormat::Kdump { flattened: false });
    assert_eq!(d.machine(), Machine::X86_64);
    check_kdump_contents(&d);
    assert_eq!(
        d.compressions(),
        vec![C::None, C::Zlib, C::Lzo, C::Snappy, C::Zstd]
    );
    assert_eq!(d.vmcoreinfo(), Some(VMCI));
    assert_eq!(d.prstatus().len(), 2);
    assert_eq!(d.prstatus()[0].pid, 100);
    assert_eq!(d.prstatus()[1].regs[16], 0x200 + 16); // rip slot
    assert_eq!(d.qemu_cpu_states().len(), 2);
    assert_eq!(d.qemu_cpu_states()[1].rip, 0xffffffff81000020);
    let h = d.header();
    assert_eq!(h.utsname.as_ref().unwrap().release, "6.1.0-test");
    assert_eq!(h.phys_base, Some(16777216));
    assert_eq!(
        (h.nr_cpus, h.block_size, h.max_mapnr, h.header_version),
        (Some(2), Some(4096), Some(12), Some(6))
    );
    assert!(d.warnings().is_empty(), "{:?}", d.warnings());
    assert!(!d.is_live());
    assert!(
        d.read_virt_direct(Kva(0xffffffff81000000), &mut [0u8; 8])
            .is_none()
    );
}

#[test]
fn kdump_parallel_readers_agree() {
    let (bytes, _) = kdump(&spec());
    let d = Dump::from_bytes(bytes).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let d = &d;
            s.spawn(move || {
                for round in 0..50u64 {
                    let pfn = [0, 1, 2, 3, 4, 7, 8][((round + t) % 7) as usize];
                    assert_eq!(page(d, pfn).unwrap(), expected(pfn).unwrap());
                }
            });
        }
    });
}

#[test]
fn qemu_style_kdump_opens_with_warnings() {
    // QEMU 7.2: empty utsname, phys_base = the decimal VMCOREINFO string read as hex,
    // VMCOREINFO only inside the notes, zlib only.
    let mut s = spec();
    s.utsname = [""; 6];
    s.phys_base = 0x16777216;
    s.vmcoreinfo = Vec::new();
    s.notes = two_cpu_notes(true);
    s.status = 0x1;
    let (bytes, _) = kdump(&s);
    let d = Dump::from_bytes(bytes).unwrap();
    check_kdump_contents(&d);
    assert_eq!(d.header().utsname, None);
    assert_eq!(d.header().phys_base, Some(0x16777216));
    assert_eq!(d.vmcoreinfo(), Some(VMCI));
    // Machine from the 336-byte NT_PRSTATUS notes.
    assert_eq!(d.machine(), Machine::X86_64);
    let w = d.warnings().join("\n");
    assert!(
        w.contains("utsname is empty") && w.contains("OSRELEASE=6.1.0-test"),
        "{w}"
    );
    assert!(
        w.contains("phys_base 0x16777216 disagrees with VMCOREINFO NUMBER(phys_base)=16777216 (0x1000000) (QEMU read the decimal value as hex)"),
        "{w}"
    );
    assert_eq!(d.warnings().len(), 2, "{w}");
    // Raw pages and LZO pages were read although the header declares only zlib.
    assert_eq!(
        d.compressions(),
        vec![C::None, C::Zlib, C::Lzo, C::Snappy, C::Zstd]
    );
}

/// A flattened copy of `bytes`: 1000-byte records in a scrambled order, plus garbage
/// records that later records overwrite (last writer wins).
fn scrambled_flat(bytes: &[u8]) -> Vec<u8> {
    let chunks: Vec<(u64, &[u8])> = bytes
        .chunks(1000)
        .enumerate()
        .map(|(i, c)| ((i * 1000) as u64, c))
        .collect();
    let n = chunks.len();
    let garbage = vec![0xa5u8; 3000];
    let mut writes: Vec<(u64, &[u8])> = vec![(0, &garbage[..]), (5500, &garbage[..])];
    // A permutation of 0..n (7 is coprime with any n that is not a multiple of 7).
    let step = if n.is_multiple_of(7) { 11 } else { 7 };
    writes.extend((0..n).map(|i| chunks[(i * step) % n]));
    flatten(&writes)
}

#[test]
fn flattened_kdump_reads_like_the_original() {
    let (bytes, _) = kdump(&spec());
    let flat = scrambled_flat(&bytes);
    let d = Dump::from_bytes(flat).unwrap();
    assert_eq!(d.format(), DumpFormat::Kdump { flattened: true });
    assert!(d.is_flattened());
    check_kdump_contents(&d);
    assert_eq!(d.prstatus().len(), 2);
    assert!(d.warnings().is_empty(), "{:?}", d.warnings());
}

#[test]
fn kdump_truncated_in_each_region() {
    let (bytes, l): (Vec<u8>, Layout) = kdump(&spec());
    let open = |n: u64| Dump::from_bytes(bytes[..n as usize].to_vec());

    // Header and bitmaps: the open fails, naming the region.
    for (cut, what) in [
        (100, "disk_dump_header"),
        (BS as u64 + 50, "kdump_sub_header"),
        (l.bitmap_off + 10, "bitmaps"),
    ] {
        let e = open(cut).err().expect("open must fail");
        assert!(
            matches!(e, DumpError::Truncated { .. }) && e.to_string().contains(what),
            "cut at {cut:#x}: {e}"
        );
    }
    // Descriptors: opens with a warning; pages whose descriptor is gone fail.
    let d = open(l.desc_off + 24 * 3 + 5).unwrap();
    assert!(
        d.warnings().iter().any(|w| w.contains("descriptor table")),
        "{:?}",
        d.warnings()
    );
    let e = page(&d, 3).unwrap_err();
    assert!(
        matches!(e, MemError::Truncated { pa: Pa(0x3000), .. })
            && e.to_string().contains("page descriptor #3"),
        "{e}"
    );
    // pfn 0's descriptor survived but its data (after the table) did not.
    let e = page(&d, 0).unwrap_err();
    assert!(e.to_string().contains("raw page data"), "{e}");
    // Page data: early pages read, the cut page fails.
    let d = open(l.len - 10).unwrap();
    assert_eq!(page(&d, 7).unwrap(), content(7));
    let e = page(&d, 8).unwrap_err();
    assert!(
        matches!(e, MemError::Truncated { pa: Pa(0x8000), .. }),
        "{e}"
    );
    let d = open(l.data_off + 10).unwrap();
    assert!(matches!(page(&d, 0), Err(MemError::Truncated { .. })));
    assert!(matches!(page(&d, 1), Err(MemError::Truncated { .. })));
}

fn patch_desc(
    bytes: &mut [u8],
    l: &Layout,
    idx: usize,
    offset: Option<u64>,
    size: Option<u32>,
    flags: Option<u32>,
) {
    let at = l.desc_off as usize + 24 * idx;
    if let Some(o) = offset {
        bytes[at..at + 8].copy_from_slice(&o.to_le_bytes());
    }
    if let Some(s) = size {
        bytes[at + 8..at + 12].copy_from_slice(&s.to_le_bytes());
    }
    if let Some(f) = flags {
        bytes[at + 12..at + 16].copy_from_slice(&f.to_le_bytes());
    }
}

#[test]
fn kdump_bad_descriptors() {
    let (orig, l) = kdump(&spec());
    let check = |f: &dyn Fn(&mut Vec<u8>), pfn: u64, want: &str| {
        let mut b = orig.clone();
        f(&mut b);
        let d = Dump::from_bytes(b).unwrap();
        let e = page(&d, pfn).unwrap_err();
        assert!(e.to_string().contains(want), "pfn {pfn}: {e}");
        assert_eq!(page(&d, 7).unwrap(), content(7), "other pages still read");
    };
    // Descriptor #1 (pfn 1, zlib) points past the end of the file.
    check(
        &|b| patch_desc(b, &l, 1, Some(1 << 40), None, None),
        1,
        "past the end",
    );
    // Negative / zero offset.
    check(
        &|b| patch_desc(b, &l, 1, Some(u64::MAX), None, None),
        1,
        "no page data",
    );
    // Compressed size larger than a block.
    check(
        &|b| patch_desc(b, &l, 1, None, Some(BS as u32 + 1), None),
        1,
        "does not fit",
    );
    // Raw page whose size is not a block.
    check(
        &|b| patch_desc(b, &l, 0, None, Some(100), None),
        0,
        "does not fit",
    );
    // Two compression bits at once.
    check(
        &|b| patch_desc(b, &l, 1, None, None, Some(0x3)),
        1,
        "unknown compression flags 0x3",
    );
    // Claimed zstd, actually zlib data.
    check(&|b| patch_desc(b, &l, 1, None, None, Some(0x20)), 1, "zstd");
    // Corrupt payloads of each compressed page.
    for (idx, pfn) in [(1usize, 1u64), (2, 2), (3, 3), (4, 4)] {
        check(
            &|b| {
                let at = l.desc_off as usize + 24 * idx;
                let off = u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
                for x in &mut b[off..off + 12] {
                    *x ^= 0x5a;
                }
            },
            pfn,
            "corrupt",
        );
    }
}

#[test]
fn kdump_decompressed_size_mismatch() {
    let mut s = spec();
    s.pages[1].1.truncate(2048); // pfn 1: zlib data that inflates to half a page
    s.pages[3].1.truncate(1000); // pfn 3: snappy
    s.pages[4].1.extend_from_slice(&content(4)); // pfn 4: zstd, two pages worth
    let (bytes, _) = kdump(&s);
    let d = Dump::from_bytes(bytes).unwrap();
    for pfn in [1, 3, 4] {
        let e = page(&d, pfn).unwrap_err();
        assert!(matches!(e, MemError::Corrupt { .. }), "pfn {pfn}: {e}");
    }
}

#[test]
fn kdump_old_header_version_and_incomplete_flag() {
    let mut s = spec();
    s.header_version = 5; // no 64-bit max_mapnr: the 32-bit field is used
    s.status |= 0x8; // DUMP_DH_COMPRESSED_INCOMPLETE
    let (mut bytes, l) = kdump(&s);
    patch_desc(&mut bytes, &l, 6, Some(0), Some(0), None); // pfn 8 never written
    let d = Dump::from_bytes(bytes).unwrap();
    assert_eq!(d.header().max_mapnr, Some(12));
    assert!(d.warnings().iter().any(|w| w.contains("INCOMPLETE")));
    assert_eq!(page(&d, 7).unwrap(), content(7));
    let e = page(&d, 8).unwrap_err();
    assert!(
        matches!(e, MemError::Truncated { .. }) && e.to_string().contains("incomplete"),
        "{e}"
    );
}

#[test]
fn kdump_garbage_never_panics() {
    let (orig, _) = kdump(&spec());
    let flat = scrambled_flat(&orig);
    for base in [orig, flat] {
        // Flip bytes all over the headers, bitmaps and descriptors; open and read everything.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % b.len().min(5 * BS + 600);
                b[at] = (x >> 32) as u8;
            }
            if let Ok(d) = Dump::from_bytes(b) {
                for pfn in 0..16 {
                    let _ = page(&d, pfn);
                }
                let _ = d.phys_ranges();
            }
        }
    }
}

#[test]
fn empty_garbage_and_unknown_files() {
    assert!(matches!(
        Dump::from_bytes(Vec::new()),
        Err(DumpError::Empty)
    ));
    let e = Dump::from_bytes(b"PK\x03\x04 not a dump at all".to_vec())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("50 4b 03 04") && e.to_string().contains("\"PK.. not a dump"),
        "{e}"
    );
    assert!(matches!(
        Dump::from_bytes(b"KDUMP   ".to_vec()),
        Err(DumpError::Truncated { .. })
    ));
    assert!(Dump::from_bytes(b"\x7fELF".to_vec()).is_err());
    assert!(matches!(
        Dump::from_bytes(flatten(&[(0, b"garbage!")])),
        Err(DumpError::UnknownFormat { .. })
    ));
    let dir = std::env::temp_dir().join(format!("quiesce-dump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(Dump::open(&empty), Err(DumpError::Empty)));
    assert!(matches!(
        Dump::open(&dir.join("missing")),
        Err(DumpError::Open { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// RAM at 0..0x4000 (file holds 0x3000: the last page is zero-filled), 0x10000..0x14000,
/// and a kernel-text segment repeating 0x11000..0x12000 at a kernel virtual address.
fn elf_segs() -> Vec<Seg> {
    let low: Vec<u8> = (0..3).flat_map(content).collect();
    let high: Vec<u8> = (16..20).flat_map(content).collect();
    vec![
        Seg {
            paddr: 0x10000,
            vaddr: 0xffff888000010000,
            data: high.clone(),
            memsz: 0x4000,
        },
        Seg {
            paddr: 0,
            vaddr: 0xffff888000000000,
            data: low,
            memsz: 0x4000,
        },
        Seg {
            paddr: 0x11000,
            vaddr: 0xffffffff81000000,
            data: high[0x1000..0x2000].to_vec(),
            memsz: 0x1000,
        },
    ]
}

#[test]
fn elf_core_reads_by_physical_address() {
    let bytes = core(EM_X86_64, &two_cpu_notes(true), &elf_segs());
    let d = Dump::from_bytes(bytes.clone()).unwrap();
    assert_eq!(d.format(), DumpFormat::Elf);
    assert_eq!(d.machine(), Machine::X86_64);
    assert_eq!(d.vmcoreinfo(), Some(VMCI));
    assert_eq!(d.prstatus().len(), 2);
    assert_eq!(d.qemu_cpu_states()[0].cr[3], 0x10_0000);
    assert_eq!(d.compressions(), vec![C::None]);
    assert!(d.warnings().is_empty(), "{:?}", d.warnings());
    for pfn in [0, 1, 2, 16, 17, 18, 19] {
        assert_eq!(page(&d, pfn).unwrap(), content(pfn), "pfn {pfn}");
    }
    assert_eq!(
        page(&d, 3).unwrap(),
        vec![0u8; BS],
        "p_filesz < p_memsz tail is zeros"
    );
    assert_eq!(page(&d, 4), Err(MemError::NotPresent(Pa(0x4000))));
    // Across the file-data / zero-fill boundary, and off the end of a segment.
    let mut b = vec![0u8; 32];
    d.read_phys(Pa(0x3000 - 16), &mut b).unwrap();
    assert_eq!(&b[..16], &content(2)[BS - 16..]);
    assert_eq!(&b[16..], &[0u8; 16]);
    assert_eq!(
        d.read_phys(Pa(0x4000 - 16), &mut b),
        Err(MemError::NotPresent(Pa(0x4000)))
    );
    assert_eq!(
        d.read_phys(Pa(0x14000 - 16), &mut b),
        Err(MemError::NotPresent(Pa(0x14000)))
    );
    assert_eq!(
        d.phys_ranges(),
        vec![(Pa(0), 0x4000), (Pa(0x10000), 0x4000)]
    );
    // Off the top of the address space: not present, never wrapped around to 0.
    assert_eq!(
        d.read_phys(Pa(u64::MAX - 3), &mut b),
        Err(MemError::NotPresent(Pa(u64::MAX - 3)))
    );
    assert!(
        d.read_virt_direct(Kva(0xffffffff81000000), &mut b)
            .is_none()
    );
    assert!(!d.is_excluded(Pfn(0)));

    // The same core, flattened and scrambled.
    let f = Dump::from_bytes(scrambled_flat(&bytes)).unwrap();
    assert_eq!(f.format(), DumpFormat::Elf);
    assert!(f.is_flattened());
    assert_eq!(page(&f, 17).unwrap(), content(17));
}

#[test]
fn elf_core_truncated_and_damaged() {
    let bytes = core(EM_X86_64, &two_cpu_notes(true), &elf_segs());
    // In the ELF header, then in the program headers.
    for cut in [40, 64 + 56 + 10] {
        let e = Dump::from_bytes(bytes[..cut].to_vec()).err().unwrap();
        assert!(matches!(e, DumpError::Truncated { .. }), "{e}");
    }
    // Inside the second segment's data (the first segment in file order is pfn 16..20).
    let first_data = bytes.len() - 0x1000 - 0x3000 - 0x4000;
    let cut = first_data + 0x4000 + 0x1800;
    let d = Dump::from_bytes(bytes[..cut].to_vec()).unwrap();
    assert!(
        d.warnings().iter().any(|w| w.contains("truncated")),
        "{:?}",
        d.warnings()
    );
    assert_eq!(page(&d, 16).unwrap(), content(16));
    assert_eq!(page(&d, 0).unwrap(), content(0));
    let e = page(&d, 1).unwrap_err();
    assert!(
        matches!(e, MemError::Truncated { pa: Pa(0x1000), .. }),
        "{e}"
    );
    // Not a core; 32-bit; big-endian.
    for (at, val, want) in [
        (16usize, 2u8, "not a core"),
        (4, 1, "64-bit"),
        (5, 2, "big-endian"),
    ] {
        let mut b = bytes.clone();
        b[at] = val;
        let e = Dump::from_bytes(b).err().unwrap();
        assert!(e.to_string().contains(want), "{e}");
    }
    // A note area whose sizes are garbage: notes are dropped with a warning.
    let mut b = bytes.clone();
    let note_off = 64 + 56 * 4;
    b[note_off..note_off + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let d = Dump::from_bytes(b).unwrap();
    assert!(d.prstatus().is_empty());
    assert!(
        d.warnings().iter().any(|w| w.contains("runs past the end")),
        "{:?}",
        d.warnings()
    );
}

#[test]
fn qemu_elf_without_vmcoreinfo_and_aarch64() {
    let d = Dump::from_bytes(core(EM_X86_64, &two_cpu_notes(false), &elf_segs())).unwrap();
    assert_eq!(d.vmcoreinfo(), None);
    assert!(
        d.warnings()[0].contains("-device vmcoreinfo"),
        "{:?}",
        d.warnings()
    );
    let d = Dump::from_bytes(core(EM_AARCH64, &[], &elf_segs())).unwrap();
    assert_eq!(d.machine(), Machine::Aarch64);
    let d = Dump::from_bytes(core(8, &[], &[])).unwrap();
    assert_eq!(d.machine(), Machine::Other(8));
    assert_eq!(page(&d, 0), Err(MemError::NotPresent(Pa(0))));
}

#[test]
fn kcore_like_core_reads_by_virtual_address() {
    let prs = notes::build_prstatus(0, &[]);
    let task = vec![0u8; 64];
    let n = notes::build(&[
        ("CORE", NT_PRSTATUS, &prs),
        ("CORE", NT_TASKSTRUCT, &task),
        ("VMCOREINFO", 0, VMCI.as_bytes()),
    ]);
    let mut segs = elf_segs();
    segs[1].paddr = u64::MAX; // a vmalloc-like segment: no physical address
    let d = Dump::from_bytes(core(EM_X86_64, &n, &segs)).unwrap();
    assert_eq!(d.format(), DumpFormat::Kcore);
    assert!(!d.is_live(), "only /proc/kcore itself is live");
    assert!(
        d.warnings().iter().any(|w| w.contains("placeholder")),
        "{:?}",
        d.warnings()
    );
    let mut b = vec![0u8; BS];
    d.read_virt_direct(Kva(0xffff888000011000), &mut b)
        .unwrap()
        .unwrap();
    assert_eq!(b, content(17));
    d.read_virt_direct(Kva(0xffffffff81000000), &mut b)
        .unwrap()
        .unwrap();
    assert_eq!(b, content(17));
    d.read_virt_direct(Kva(0xffff888000001000), &mut b)
        .unwrap()
        .unwrap();
    assert_eq!(b, content(1));
    assert_eq!(
        d.read_virt_direct(Kva(0xffff888000020000), &mut b),
        Some(Err(MemError::VirtNotPresent(Kva(0xffff888000020000))))
    );
    // Physical reads work through segments with a valid p_paddr only.
    assert_eq!(page(&d, 18).unwrap(), content(18));
    assert_eq!(page(&d, 1), Err(MemError::NotPresent(Pa(0x1000))));
}

#[test]
fn live_kcore_if_readable() {
    // Only meaningful as root on a kernel with /proc/kcore; otherwise it checks the error.
    match Dump::open(Path::new("/proc/kcore")) {
        Ok(d) => {
            assert!(d.is_live());
            assert_eq!(d.format(), DumpFormat::Kcore);
        }
        Err(e) => assert!(
            matches!(
                e,
                DumpError::Open { .. } | DumpError::Truncated { .. } | DumpError::Io { .. }
            ),
            "{e}"
        ),
    }
}

#[test]
fn kdump_single_bitmap_and_split_parts() {
    // Old single-bitmap layout: when max_mapnr needs more than half of the bitmap area,
    // the whole area is one bitmap, used as both the RAM and the dumpable map.
    let (mut bytes, l) = kdump(&spec());
    let big = (l.desc_off - l.bitmap_off) * 8 / 2 + 1;
    bytes[440..444].copy_from_slice(&(big as u32).to_le_bytes());
    let sub = BS + 96;
    bytes[sub..sub + 8].copy_from_slice(&big.to_le_bytes());
    let d = Dump::from_bytes(bytes).unwrap();
    assert!(
        d.warnings()
            .iter()
            .any(|w| w.contains("single page bitmap")),
        "{:?}",
        d.warnings()
    );
    // The 1st bitmap (RAM) now decides, so pfn 5 and 9 count as dumped and shift the
    // descriptor ranks: only pfns before 5 still match; nothing may panic.
    assert_eq!(page(&d, 0).unwrap(), content(0));
    for pfn in 0..12 {
        let _ = page(&d, pfn);
    }

    // A split part holding pfns 3..8: descriptors are counted from pfn 3.
    let mut s = spec();
    s.pages.retain(|(p, _, _)| (3..8).contains(p));
    let (mut bytes, _) = kdump(&s);
    let sub = BS;
    bytes[sub + 12..sub + 16].copy_from_slice(&1u32.to_le_bytes()); // split
    bytes[sub + 80..sub + 88].copy_from_slice(&3u64.to_le_bytes()); // start_pfn_64
    bytes[sub + 88..sub + 96].copy_from_slice(&8u64.to_le_bytes()); // end_pfn_64
    let d = Dump::from_bytes(bytes).unwrap();
    assert_eq!(d.header().split, Some((3, 8)));
    assert!(d.warnings().iter().any(|w| w.contains("split dump")));
    for pfn in [3, 4, 7] {
        assert_eq!(page(&d, pfn).unwrap(), expected(pfn).unwrap(), "pfn {pfn}");
    }
    assert_eq!(page(&d, 5), Err(MemError::Excluded(Pa(0x5000))));
    assert_eq!(page(&d, 0), Err(MemError::NotPresent(Pa(0))));
    assert_eq!(page(&d, 8), Err(MemError::NotPresent(Pa(0x8000))));
    assert_eq!(
        d.phys_ranges(),
        vec![(Pa(0x3000), 2 * BS as u64), (Pa(0x7000), BS as u64)]
    );
}
