//! The dump-only mode on damaged input: a dump whose BTF or kallsyms is excluded, truncated
//! or corrupt opens with a warning that says what is missing and why, keeps what still
//! works, and never panics. The damage is applied to what the dump-only source reads
//! (`kernel::open::open_dump_only_tampered`) of a real fixture dump.

mod common;

use quiesce::dump::Dump;
use quiesce::kernel::open::{Tamper, open_dump_only_tampered};
use quiesce::kernel::{Kernel, OpenOptions};
use quiesce::unwind::task::Unwinder;
use std::path::Path;
use std::sync::Arc;

fn open(core: &Path, tamper: Option<Tamper>) -> Result<Kernel, String> {
    let opts = OpenOptions {
        core: core.to_path_buf(),
        vmlinux: Default::default(),
        modules: vec![],
    };
    let dump = Dump::open(core).map_err(|e| e.to_string())?;
    open_dump_only_tampered(dump, &opts, tamper).map_err(|e| e.to_string())
}

/// Runtime [start, end) of a pair of vmlinux symbols.
fn range(k: &Kernel, a: &str, b: &str) -> (u64, u64) {
    (k.symbol_addr(a).unwrap().0, k.symbol_addr(b).unwrap().0)
}

fn overlaps(addr: u64, len: usize, (a, b): (u64, u64)) -> bool {
    addr < b && addr + len as u64 > a
}

/// Fail reads that touch `r`, as an excluded page does.
fn exclude(r: (u64, u64)) -> Tamper {
    Arc::new(move |addr, buf: &mut [u8]| {
        if overlaps(addr, buf.len(), r) {
            Err(format!("page of {addr:#x} excluded from the dump (test)"))
        } else {
            Ok(())
        }
    })
}

/// Overwrite the bytes of `r` that a read returns with `f(offset in r)`.
fn corrupt(r: (u64, u64), f: fn(u64) -> Option<u8>) -> Tamper {
    Arc::new(move |addr, buf: &mut [u8]| {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            if a >= r.0
                && a < r.1
                && let Some(v) = f(a - r.0)
            {
                *b = v;
            }
        }
        Ok(())
    })
}

#[track_caller]
fn warned(k: &Kernel, what: &str) -> String {
    match k.warnings.iter().find(|w| w.contains(what)) {
        Some(w) => w.clone(),
        None => panic!("no warning about {what}: {:?}", k.warnings),
    }
}

#[test]
fn damaged_btf_and_kallsyms_fall_back_with_a_message() {
    let mut n = 0;
    for rel in common::releases() {
        // The ELF dump: all of memory, so the undamaged open has nothing to warn about and
        // every warning below comes from the damage applied. (A makedumpfile -d 31 output
        // can itself lack a page the module list reads: a fresh sid build's zstd dump lost
        // the page of quiesce_hang's sect_attrs.)
        let Some(d) = rel
            .dumps_of("hang")
            .into_iter()
            .find(|d| d.name.ends_with(".elf"))
        else {
            continue;
        };
        let good = open(&d.path, None).unwrap();
        assert!(good.warnings.is_empty(), "{:?}", good.warnings);
        let btf = range(&good, "__start_BTF", "__stop_BTF");
        let names = good.symbol_addr("kallsyms_token_table").ok().map(|a| a.0);
        let tasks = good.tasks().unwrap().tasks.len();

        // BTF excluded: symbols still resolve, types are reported missing by name.
        let k = open(&d.path, Some(exclude(btf))).unwrap();
        let w = warned(&k, "vmlinux BTF");
        assert!(w.contains("unreadable") && w.contains("no types"), "{w}");
        assert!(k.symbol_addr("init_task").is_ok());
        assert!(
            k.symbolize(good.symbol_addr("schedule").unwrap().0 + 4)
                .is_some()
        );
        let e = k.tasks().map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("BTF could not be read"), "{e}");

        // BTF corrupt: a bad magic, a string section past the end, a record past the end.
        for (what, f, say) in [
            (
                "magic",
                (|o| (o == 0).then_some(0)) as fn(u64) -> Option<u8>,
                "magic",
            ),
            (
                "string section length",
                |o| (o == 23).then_some(0x7f),
                "outside",
            ),
            (
                "first type's kind",
                |o| (o == 24 + 7).then_some(0x1f),
                "unknown kind",
            ),
        ] {
            let k = open(&d.path, Some(corrupt(btf, f))).unwrap();
            let w = warned(&k, "vmlinux BTF");
            assert!(w.contains(say), "{what}: {w}");
        }
        // BTF truncated: its second half unreadable.
        let half = (btf.0 + (btf.1 - btf.0) / 2, btf.1);
        let k = open(&d.path, Some(exclude(half))).unwrap();
        assert!(warned(&k, "vmlinux BTF").contains("unreadable"));

        // kallsyms excluded or corrupt: VMCOREINFO's SYMBOL()s are all that is left; no
        // __start_BTF, so no types; the message names kallsyms and the reason.
        if let Some(tt) = names {
            let k = open(&d.path, Some(exclude((tt, tt + 1)))).unwrap();
            let w = warned(&k, "kallsyms");
            assert!(w.contains("kallsyms_token_table"), "{w}");
            assert!(
                k.symbol_addr("init_uts_ns").is_ok(),
                "VMCOREINFO symbols kept"
            );
            assert!(warned(&k, "vmlinux BTF").contains("__start_BTF"));
        }
        let num = good.symbol_addr("kallsyms_num_syms");
        if let Ok(num) = num {
            let at = num.0;
            let k = open(
                &d.path,
                Some(Arc::new(move |addr, buf: &mut [u8]| {
                    if overlaps(addr, buf.len(), (at, at + 4)) {
                        let i = (at - addr) as usize;
                        buf[i..i + 4].copy_from_slice(&u32::MAX.to_le_bytes());
                    }
                    Ok(())
                })),
            )
            .unwrap();
            assert!(warned(&k, "kallsyms").contains("implausible"));
        }

        // ORC excluded: the unwinder still runs (no panic); every task still listed.
        let orc = range(&good, "__start_orc_unwind", "__stop_orc_unwind");
        let k = open(&d.path, Some(exclude(orc))).unwrap();
        let u = Unwinder::new(&k).unwrap();
        let list = k.tasks().unwrap().tasks;
        assert_eq!(list.len(), tasks);
        for t in &list {
            let _ = u.backtrace(&k, t);
        }
        n += 1;
    }
    eprintln!("checked {n} releases");
}
