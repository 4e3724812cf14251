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
            vec![b]
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
