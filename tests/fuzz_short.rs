//! A short run of every fuzz target (`quiesce::fuzz`) in the test suite: the seeds, then
//! mutations of them (a fixed-seed generator, so a failure repeats) for about two seconds
//! per target. Seeds are real bytes: the logs of `tests/data/logs`, the keymap and theme
//! presets, ELF objects of `tests/data`, and — when the fixtures are built — the first
//! 128 KiB of each format of a real dump, the vmlinux's BTF and ORC sections, and its
//! dump's VMCOREINFO. Long coverage-guided runs: `fuzz/run.sh` (docs/reliability.md).
//!
//! Each input must return (any error is fine) within the time limit; a panic saves the
//! input under `target/fuzz-failures/` and fails with its path.

mod common;

use quiesce::fuzz;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const BUDGET: Duration = Duration::from_secs(2);
const MAX_EXECS: u64 = 200_000;
/// No input may take longer (release build; the long runs use 5 s).
const LIMIT: Duration = Duration::from_secs(1);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &[&str]) -> Vec<Vec<u8>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ext.contains(&e))
        })
        .collect();
    v.sort();
    v.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn prefix(p: &Path, n: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut b = Vec::new();
    std::fs::File::open(p)
        .ok()?
        .take(n as u64)
        .read_to_end(&mut b)
        .ok()?;
    Some(b)
}

/// The first fixture release present (bookworm first), for real seeds.
fn release() -> Option<common::Release> {
    ["bookworm", "trixie", "sid"]
        .iter()
        .find_map(|r| common::release(r))
}

fn vmlinux_section(name: &str) -> Option<Vec<u8>> {
    let r = release()?;
    let di = quiesce::debuginfo::DebugInfo::open_vmlinux(&r.vmlinux()).ok()?;
    di.section(name).map(<[u8]>::to_vec)
}

/// The first `n` symbols of a real kernel's kallsyms tables (the fixture dump read with its
/// vmlinux), laid out as the `kallsyms` target takes them: eight address words (offsets
/// into the memory that follows), then `num_syms`, the names, the token table and index,
/// the offsets and the relative base.
fn real_kallsyms(n: u32) -> Option<Vec<u8>> {
    use quiesce::addr::Kva;
    let r = release()?;
    let k = quiesce::kernel::open(&quiesce::kernel::OpenOptions {
        core: r.elf_of("hang")?.path,
        vmlinux: r.vmlinux(),
        modules: vec![],
    })
    .ok()?;
    let sym = |name: &str| k.symbol_addr(name).ok();
    let bytes = |addr: Kva, len: usize| {
        let mut b = vec![0u8; len];
        k.read(addr, &mut b, "kallsyms").ok().map(|_| b)
    };
    let total = k
        .read_u32(sym("kallsyms_num_syms")?, "kallsyms_num_syms")
        .ok()?;
    let n = n.min(total);
    // Names: a length byte (two when its top bit is set, 6.1's "big" symbols), then
    // that many token indexes.
    let names_at = sym("kallsyms_names")?;
    let head = bytes(names_at, 64 << 10)?;
    let mut end = 0usize;
    for _ in 0..n {
        let b0 = *head.get(end)? as usize;
        let (len, hdr) = if b0 & 0x80 != 0 {
            ((b0 & 0x7f) | ((*head.get(end + 1)? as usize) << 7), 2)
        } else {
            (b0, 1)
        };
        end += hdr + len;
    }
    let names = head.get(..end)?.to_vec();
    let index = bytes(sym("kallsyms_token_index")?, 512)?;
    // The reader reads 256 bytes past the furthest token.
    let furthest = index
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
        .max()?;
    let table = bytes(sym("kallsyms_token_table")?, furthest + 256)?;
    let offsets = bytes(sym("kallsyms_offsets")?, 4 * n as usize)?;
    let base = bytes(sym("kallsyms_relative_base")?, 8)?;
    let mut mem = Vec::new();
    let mut place = |part: &[u8]| {
        let at = mem.len() as u64;
        mem.extend_from_slice(part);
        mem.resize(mem.len().next_multiple_of(8), 0);
        at
    };
    let words = [
        place(&names),
        place(&n.to_le_bytes()),
        place(&table),
        place(&index),
        place(&offsets),
        place(&base),
        1 << 63,
        sym("_stext")?.0,
    ];
    // Readable to the end of the last page, as kernel memory is (the reader reads whole
    // pages past the token table).
    mem.resize(mem.len().next_multiple_of(4096), 0);
    let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    out.extend_from_slice(&mem);
    Some(out)
}

/// The first `n` types of the real vmlinux's BTF as a blob of its own (under libFuzzer's
/// 1 MiB input limit, which the whole 4–5 MiB section is not): the header rewritten for
/// the types kept, the string section cut to `strs` bytes. References past the kept types
/// and names past the cut stay, as errors for the parser to meet.
fn real_btf_prefix(n: usize, strs: usize) -> Option<Vec<u8>> {
    let b = vmlinux_section(".BTF")?;
    let u32_at = |o: usize| Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?) as usize);
    let hdr_len = u32_at(4)?;
    let (type_off, type_len, str_off, str_len) =
        (u32_at(8)?, u32_at(12)?, u32_at(16)?, u32_at(20)?);
    let types = b.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
    // Walk n records: 12 bytes of common header, then what the kind adds.
    let mut at = 0usize;
    for _ in 0..n {
        let info = u32::from_le_bytes(types.get(at + 4..at + 8)?.try_into().ok()?);
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        at += 12
            + match kind {
                1 | 14 | 17 => 4,             // INT, VAR, DECL_TAG
                3 => 12,                      // ARRAY
                4 | 5 | 15 | 19 => 12 * vlen, // STRUCT, UNION, DATASEC, ENUM64
                6 | 13 => 8 * vlen,           // ENUM, FUNC_PROTO
                _ => 0,
            };
        if at >= types.len() {
            break;
        }
    }
    let kept = types.get(..at.min(types.len()))?;
    let strings = b.get(hdr_len + str_off..hdr_len + str_off + str_len.min(strs))?;
    let mut out = b.get(..hdr_len)?.to_vec();
    let put = |out: &mut Vec<u8>, o: usize, v: usize| {
        out[o..o + 4].copy_from_slice(&(v as u32).to_le_bytes())
    };
    put(&mut out, 8, 0);
    put(&mut out, 12, kept.len());
    put(&mut out, 16, kept.len());
    put(&mut out, 20, strings.len());
    out.extend_from_slice(kept);
    out.extend_from_slice(strings);
    Some(out)
}

/// A minimal valid BTF blob: `int` and `struct foo { int a; }`.
fn tiny_btf() -> Vec<u8> {
    let strs = b"\0int\0foo\0a\0";
    let mut types = Vec::new();
    let w = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    // [1] INT "int" size 4, 32 bits
    w(&mut types, 1);
    w(&mut types, 1 << 24);
    w(&mut types, 4);
    w(&mut types, 32);
    // [2] STRUCT "foo" vlen 1 size 4 { a: [1] at bit 0 }
    w(&mut types, 5);
    w(&mut types, (4 << 24) | 1);
    w(&mut types, 4);
    w(&mut types, 9);
    w(&mut types, 1);
    w(&mut types, 0);
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.push(1);
    b.push(0);
    w(&mut b, 24);
    w(&mut b, 0);
    w(&mut b, types.len() as u32);
    w(&mut b, types.len() as u32);
    w(&mut b, strs.len() as u32);
    b.extend_from_slice(&types);
    b.extend_from_slice(strs);
    b
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let data = repo().join("tests/data");
    let mut s: Vec<Vec<u8>> = match target {
        "dump" => {
            let mut v = Vec::new();
            if let Some(r) = release() {
                for d in r.dumps_of("hang") {
                    v.extend(prefix(&d.path, 128 << 10));
                }
            }
            v
        }
        "text" => files(&data.join("logs"), &["txt", "log"]),
        "btf" => {
            let mut v = vec![tiny_btf()];
            // the real vmlinux's BTF (a few MiB: few mutations in the budget, deep ones)
            if let Some(b) = vmlinux_section(".BTF") {
                v.push(b);
            }
            // and its first types as blobs under libFuzzer's input limit
            v.extend(real_btf_prefix(3000, 200 << 10));
            v.extend(real_btf_prefix(300, 16 << 10));
            v
        }
        "orc" => {
            let mut v = vec![vec![0u8; 61]];
            if let (Some(ip), Some(orc)) = (
                vmlinux_section(".orc_unwind_ip"),
                vmlinux_section(".orc_unwind"),
            ) {
                let n = (ip.len() / 4).min(orc.len() / 6).min(4096);
                let mut b = vec![0u8];
                b.extend_from_slice(&ip[..4 * n]);
                b.extend_from_slice(&orc[..6 * n]);
                v.push(b);
            }
            v
        }
        "dwarf_expr" => vec![
            vec![0x91, 0x10],             // DW_OP_fbreg 16
            vec![0x9c],                   // DW_OP_call_frame_cfa
            vec![0x53],                   // DW_OP_reg3
            vec![0x73, 0x08, 0x9f],       // DW_OP_breg3 8; DW_OP_stack_value
            vec![0x50, 0x93, 0x08, 0x51, 0x93, 0x08], // reg0 piece 8, reg1 piece 8
            vec![0x03, 0, 0x10, 0, 0, 0, 0, 0, 0, 0x06], // addr; deref
            vec![1, 0x9c, 0x91, 0x00],    // frame base = CFA; fbreg 0
        ],
        "printk_legacy" => {
            // two records: ts, len 32, text_len 5, facility/flags, level 6 << 5
            let mut rec = vec![0u8; 32];
            rec[8] = 32;
            rec[10] = 5;
            rec[15] = 6 << 5;
            rec[16..21].copy_from_slice(b"hello");
            let mut b = rec.clone();
            b.extend_from_slice(&rec);
            vec![b]
        }
        "ko_elf" => {
            let mut v = Vec::new();
            for p in ["debuginfo/types.o", "srcu/classic.o"] {
                v.extend(std::fs::read(data.join(p)).ok());
            }
            if let Some(r) = release() {
                v.extend(prefix(&r.modules_dir().join("quiesce_hang.ko"), 1 << 20));
            }
            v
        }
        "keymap" => files(&repo().join("keymaps"), &["toml"]),
        "theme" => files(&repo().join("themes"), &["toml"]),
        "notes" => vec![
            br#"{"version":1,"notes":{"fs/jbd2/journal.c":{"710":{"text":"waits here","updated":0}}}}"#.to_vec(),
            b"{}".to_vec(),
        ],
        "vmcoreinfo" => {
            let mut v = vec![
                b"OSRELEASE=6.1.0-57-cloud-amd64\nPAGESIZE=4096\nKERNELOFFSET=1c000000\nNUMBER(phys_base)=-1e000000\nSYMBOL(init_top_pgt)=ffffffff9d60a000\nOFFSET(page.flags)=0\n".to_vec(),
            ];
            if let Some(r) = release()
                && let Some(d) = r.elf_of("hang")
                && let Ok(dump) = quiesce::dump::Dump::open(&d.path)
                && let Some(t) = dump.vmcoreinfo()
            {
                v.push(t.as_bytes().to_vec());
            }
            v
        }
        // real QMP conversations (QEMU's side) and real monitor text
        "qemu_monitor" => files(&data.join("qmp"), &["jsonl", "txt"]),
        "type_spelling" => vec![
            b"struct task_struct".to_vec(),
            b"const struct file_operations *[4]".to_vec(),
            b"unsigned long []".to_vec(),
            b"volatile int **".to_vec(),
        ],
        "kallsyms" => {
            // addresses of names, num_syms, token table, token index, offsets (relative
            // base, no absolute addresses), _stext; then the tables
            let mut b = Vec::new();
            for w in [64u64, 0, 80, 112, 128, 144, 1 << 63, 0xffff_ffff_8100_0000] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            let mut mem = vec![0u8; 160];
            mem[0] = 1; // num_syms = 1
            mem[64..67].copy_from_slice(&[2, 0x41, 0x42]); // names: len 2, tokens 'A' 'B'
            b.extend_from_slice(&mem);
            let mut v = vec![b];
            v.extend(real_kallsyms(400));
            v
        }
        _ => Vec::new(),
    };
    s.retain(|x| !x.is_empty());
    s
}

fn run(target: &str) {
    let f = fuzz::target(target).unwrap_or_else(|| panic!("no fuzz target {target}"));
    let seeds = seeds(target);
    let current = Mutex::new(Vec::new());
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fuzz::short_run(
            f,
            &seeds,
            BUDGET,
            MAX_EXECS,
            0x5eed_0000 ^ target.len() as u64,
            |i| {
                *current.lock().unwrap() = i.to_vec();
            },
        )
    }));
    match res {
        Ok(r) => {
            eprintln!(
                "{target}: {} executions from {} seeds, slowest {} µs ({} bytes)",
                r.executions,
                seeds.len(),
                r.slowest_ns / 1000,
                r.slowest.len()
            );
            assert!(
                r.executions > seeds.len() as u64,
                "{target}: no mutation ran"
            );
            assert!(
                Duration::from_nanos(r.slowest_ns) < LIMIT,
                "{target}: an input took {} ms",
                r.slowest_ns / 1_000_000
            );
        }
        Err(_) => {
            let dir = repo().join("target/fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let input = current.lock().unwrap().clone();
            let p = dir.join(format!("{target}-{:016x}.bin", fnv(&input)));
            std::fs::write(&p, &input).unwrap();
            panic!("{target} panicked on the input saved as {}", p.display());
        }
    }
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn every_target_has_seeds_and_a_test() {
    let tested = [
        "dump",
        "text",
        "btf",
        "kallsyms",
        "orc",
        "dwarf_expr",
        "printk_legacy",
        "ko_elf",
        "keymap",
        "theme",
        "notes",
        "vmcoreinfo",
        "type_spelling",
        "qemu_monitor",
    ];
    let names: Vec<&str> = fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, tested);
    for t in tested {
        // the dump's seeds come only from the fixtures
        if t != "dump" || release().is_some() {
            assert!(!seeds(t).is_empty(), "{t}: no seeds");
        }
    }
}

/// Every input a fuzzer ever broke a target with (`tests/data/fuzz/<target>-<hash>.bin`),
/// run again: each bug found stays fixed.
#[test]
fn regressions() {
    let dir = repo().join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some((target, _)) = name.rsplit_once('-') else {
            continue;
        };
        let f = fuzz::target(target).unwrap_or_else(|| panic!("{name}: no target {target}"));
        f(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n >= 1, "no regression inputs in {}", dir.display());
}

#[test]
fn fuzz_dump() {
    run("dump")
}
#[test]
fn fuzz_text() {
    run("text")
}
#[test]
fn fuzz_btf() {
    run("btf")
}
#[test]
fn fuzz_kallsyms() {
    run("kallsyms")
}
#[test]
fn fuzz_orc() {
    run("orc")
}
#[test]
fn fuzz_dwarf_expr() {
    run("dwarf_expr")
}
#[test]
fn fuzz_printk_legacy() {
    run("printk_legacy")
}
#[test]
fn fuzz_ko_elf() {
    run("ko_elf")
}
#[test]
fn fuzz_keymap() {
    run("keymap")
}
#[test]
fn fuzz_theme() {
    run("theme")
}
#[test]
fn fuzz_notes() {
    run("notes")
}
#[test]
fn fuzz_vmcoreinfo() {
    run("vmcoreinfo")
}
#[test]
fn fuzz_type_spelling() {
    run("type_spelling")
}
#[test]
fn fuzz_qemu_monitor() {
    run("qemu_monitor")
}

/// Not a test: `fuzz/run.sh` writes every target's seeds to `$QUIESCE_FUZZ_SEEDS/<target>/`
/// through it (`cargo test --test fuzz_short -- --ignored export_seeds`), so the long runs
/// start from the same real bytes.
#[test]
#[ignore]
fn export_seeds() {
    let out = PathBuf::from(std::env::var("QUIESCE_FUZZ_SEEDS").expect("QUIESCE_FUZZ_SEEDS"));
    for (t, _) in fuzz::TARGETS {
        let d = out.join(t);
        std::fs::create_dir_all(&d).unwrap();
        for (i, s) in seeds(t).iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s).unwrap();
        }
    }
}

/// Found by libFuzzer (tests/data/fuzz/dump-8d5345fd89cd97b3.bin: a real kdump header
/// mutated into a split dump whose end precedes its start): the descriptor count
/// underflowed (a panic with overflow checks, a wrapped count without). Now a warning.
#[test]
fn a_split_range_that_ends_before_it_starts_is_reported() {
    let b = std::fs::read(repo().join("tests/data/fuzz/dump-8d5345fd89cd97b3.bin")).unwrap();
    let d = quiesce::dump::Dump::from_bytes(b).unwrap();
    assert!(
        d.warnings()
            .iter()
            .any(|w| w.contains("before it starts") && w.contains("header is damaged")),
        "{:?}",
        d.warnings()
    );
}

/// The cut BTF seeds parse, and name most of their types (names within the cut).
#[test]
fn the_real_btf_seeds_parse() {
    use quiesce::debuginfo::dumponly::btf::Btf;
    let Some(seed) = real_btf_prefix(3000, 200 << 10) else {
        return;
    };
    assert!(seed.len() < 1 << 20, "{} bytes", seed.len());
    let b = Btf::parse(seed, 1, 0).expect("parses");
    let n = b.iter().count();
    assert_eq!(n, 3000);
    let named = |b: &Btf| {
        b.iter()
            .take(3000)
            .filter(|(_, t)| b.own_str(t.name_off).is_some_and(|s| !s.is_empty()))
            .count()
    };
    let whole = Btf::parse(vmlinux_section(".BTF").unwrap(), 1, 0).unwrap();
    let (cut, all) = (named(&b), named(&whole));
    // Most names of the first types lie in the first 200 KiB of strings.
    assert!(
        cut * 10 >= all * 9 && cut > 500,
        "{cut} of {all} names kept"
    );
}

/// The real kallsyms seed is a table the reader decodes whole (a seed that fails at once
/// teaches the fuzzer nothing): 400 symbols, their names, addresses at or after _stext.
#[test]
fn the_real_kallsyms_seed_decodes() {
    use quiesce::debuginfo::dumponly::MemRead;
    use quiesce::debuginfo::dumponly::kallsyms::{KallsymsAddrs, read};
    let Some(seed) = real_kallsyms(400) else {
        return;
    };
    struct Mem<'a>(&'a [u8]);
    impl MemRead for Mem<'_> {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
            let off = (addr - 0x1000) as usize;
            buf.copy_from_slice(self.0.get(off..off + buf.len()).ok_or("past the end")?);
            Ok(())
        }
    }
    let word = |i: usize| u64::from_le_bytes(seed[i * 8..i * 8 + 8].try_into().unwrap());
    let a = KallsymsAddrs {
        names: Some(0x1000 + word(0)),
        num_syms: Some(0x1000 + word(1)),
        token_table: Some(0x1000 + word(2)),
        token_index: Some(0x1000 + word(3)),
        offsets: Some(0x1000 + word(4)),
        relative_base: Some(0x1000 + word(5)),
        addresses: None,
        stext: Some(word(7)),
    };
    let ks = read(&Mem(&seed[64..]), &a).expect("decodes");
    assert_eq!(ks.syms.len(), 400, "{ks:?}");
    let names: Vec<&str> = ks.syms.iter().map(|s| ks.name(s)).collect();
    assert!(names.iter().all(|n| !n.is_empty()), "{names:?}");
    assert!(
        names.contains(&"_stext") || names.iter().any(|n| n.starts_with("__")),
        "{names:?}"
    );
}
