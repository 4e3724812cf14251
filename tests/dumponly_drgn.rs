//! The dump-only mode against drgn's own no-debug-info mode on the same dump: drgn 0.3.0
//! decodes kallsyms itself (`load_vmlinux_kallsyms`) and unwinds with the ORC tables in
//! kernel memory (its built-in ORC), `tests/data/drgn_kallsyms_orc.py`. drgn cannot list
//! tasks without types, so it is given each task's starting registers as quiesce found
//! them and unwinds from there on its own.
//!
//! Compared: every kallsyms symbol (name and runtime address) both decoded, and every
//! task's frames (pc, function, offset) as far as drgn unwinds: drgn has no module
//! symbols or module ORC without debug info, so a trace is compared up to and including
//! its first module frame (pc only there).

mod common;

use quiesce::kernel::{self, OpenOptions};
use quiesce::unwind::task::Unwinder;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Command;

const DWARF_REG_NAMES: [&str; 16] = [
    "ax", "dx", "cx", "bx", "si", "di", "bp", "sp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

/// quiesce names GCC's `.isra.N` / `.part.N` clones by their source name, as crash does
/// (unwind::task); drgn shows the symbol.
fn source_name(n: &str) -> String {
    let mut n = n.to_string();
    while let Some(i) = [".isra.", ".part."].iter().filter_map(|s| n.find(s)).min() {
        let rest = &n[i + 6..];
        if rest.is_empty() || !rest.chars().next().unwrap().is_ascii_digit() {
            break;
        }
        n.truncate(i);
    }
    n
}

#[test]
fn symbols_and_stacks_match_drgn_kallsyms_orc() {
    let python = common::fixtures_root().join("tools/venv/bin/python");
    if !python.exists() {
        eprintln!("SKIP: no drgn at {}", python.display());
        return;
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/drgn_kallsyms_orc.py");
    let mut releases = 0;
    for rel in common::releases() {
        let Some(d) = rel
            .dumps_of("hang")
            .into_iter()
            .find(|d| d.name.ends_with(".elf"))
        else {
            continue;
        };
        let k = kernel::open::open_dump_only(
            quiesce::dump::Dump::open(&d.path).unwrap(),
            &OpenOptions {
                core: d.path.clone(),
                vmlinux: Default::default(),
                modules: vec![],
            },
        )
        .unwrap();
        let u = Unwinder::new(&k).unwrap();
        let tasks = k.tasks().unwrap().tasks;
        let mut starts = Vec::new();
        let mut ours = HashMap::new();
        for t in &tasks {
            let key = format!("{}@{:#x}", t.pid, t.addr);
            let Ok((regs, _)) = u.start(&k, t) else {
                continue;
            };
            let mut r = serde_json::Map::new();
            for (i, n) in DWARF_REG_NAMES.iter().enumerate() {
                if let Some(v) = regs.known.get(i as u16) {
                    r.insert(n.to_string(), json!(v));
                }
            }
            r.insert("ip".into(), json!(regs.pc));
            r.insert("sp".into(), json!(regs.sp));
            r.insert("bp".into(), json!(regs.bp));
            starts.push(json!({"key": key, "regs": r}));
            ours.insert(key, u.backtrace(&k, t));
        }
        let tmp = std::env::temp_dir().join(format!(
            "quiesce-drgn-starts-{}-{}.json",
            rel.name,
            std::process::id()
        ));
        std::fs::write(&tmp, json!({"tasks": starts}).to_string()).unwrap();
        let out = Command::new(&python)
            .arg(&script)
            .arg(&d.path)
            .arg(&tmp)
            .output()
            .expect("run drgn");
        let _ = std::fs::remove_file(&tmp);
        assert!(
            out.status.success(),
            "{}: drgn failed: {}",
            rel.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let drgn: Value = serde_json::from_slice(&out.stdout).unwrap();

        // Symbols: drgn's kallsyms, every one, at the same runtime address.
        let syms = drgn["symbols"].as_array().unwrap();
        assert!(syms.len() > 50_000, "{}: {} symbols", rel.name, syms.len());
        let mut missing = Vec::new();
        for s in syms {
            let (name, addr) = (s[0].as_str().unwrap(), s[1].as_u64().unwrap());
            // Per-CPU symbols are absolute values (offsets), not relocated.
            let ours = k.di.symbol(name).map(|s| {
                if s.addr < 1 << 32 {
                    s.addr
                } else {
                    k.relocate(s.addr, s.module.is_some()).0
                }
            });
            match ours {
                Some(a) if a == addr => {}
                // A name kallsyms has twice (static functions in several files): the
                // one quiesce returns for the name is another address of the same name.
                Some(_) if syms.iter().filter(|x| x[0] == s[0]).count() > 1 => {}
                other => missing.push(format!("{name}@{addr:#x}: {other:?}")),
            }
        }
        assert!(
            missing.is_empty(),
            "{}: {} symbols differ, e.g. {:?}",
            rel.name,
            missing.len(),
            &missing[..missing.len().min(5)]
        );

        // Stacks.
        let mut frames_compared = 0;
        let mut aliases = 0;
        for (key, bt) in &ours {
            let theirs = drgn["stacks"][key].as_array().unwrap();
            let phys: Vec<_> = bt.frames.iter().filter(|f| !f.inlined).collect();
            for (i, f) in phys.iter().enumerate() {
                // drgn's trace ends, or ends in an error it could not unwind past.
                let Some(t) = theirs.get(i).filter(|t| t[2].as_u64() != Some(0)) else {
                    // drgn stopped: only where quiesce went on through what drgn cannot
                    // unwind without debug info (a module frame, or the user-mode return
                    // after the syscall entry).
                    assert!(
                        phys[..=i].iter().any(|f| f.module.is_some())
                            || f.pc < 0xffff_8000_0000_0000
                            || i > 0
                                && phys[i - 1]
                                    .function
                                    .as_deref()
                                    .is_some_and(|n| n.starts_with("entry_SYSCALL_64")
                                        || n == "ret_from_fork"
                                        || n == "ret_from_fork_asm"),
                        "{} {key}: drgn stopped at frame {i} of {:?} (drgn: {theirs:?})",
                        rel.name,
                        phys.iter().map(|f| f.function.clone()).collect::<Vec<_>>()
                    );
                    break;
                };
                assert_eq!(
                    t[2].as_u64(),
                    Some(f.pc),
                    "{} {key} frame {i}: pc",
                    rel.name
                );
                frames_compared += 1;
                if f.module.is_some() {
                    break; // drgn has no module symbols or ORC from kallsyms alone
                }
                assert_eq!(
                    t[1].as_u64(),
                    Some(f.offset),
                    "{} {key} frame {i}",
                    rel.name
                );
                if t[0].as_str().map(source_name).as_deref() != f.function.as_deref() {
                    // Two names for one address (`sigsuspend` and `sigsuspend.isra.0`):
                    // drgn takes another alias than the ELF symbol table (and quiesce).
                    let same_place =
                        |n: Option<&str>| n.and_then(|n| k.di.symbol(n)).map(|s| s.addr);
                    assert_eq!(
                        same_place(t[0].as_str()),
                        same_place(f.function.as_deref()),
                        "{} {key} frame {i}: drgn {:?}, quiesce {:?}",
                        rel.name,
                        t[0],
                        f.function
                    );
                    aliases += 1;
                }
            }
        }
        assert!(
            frames_compared > 200,
            "{}: {frames_compared} frames",
            rel.name
        );
        eprintln!(
            "{}: {} symbols, {} tasks, {frames_compared} frames as drgn ({aliases} named by another alias)",
            rel.name,
            syms.len(),
            ours.len()
        );
        releases += 1;
    }
    eprintln!("compared {releases} releases");
}
