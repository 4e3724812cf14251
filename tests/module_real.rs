//! Module debug info on a real dump: the fixture's `quiesce_hang.ko` placed at the section
//! addresses the dump's `struct module` records, checked against the dump's memory and against
//! drgn's backtraces of the same dump (`ref/drgn/hang.elf.json`).

mod common;

use common::release;
use quiesce::addr::Kva;
use quiesce::debuginfo::DebugInfo;
use quiesce::kernel::{self, OpenOptions};
use std::collections::BTreeMap;

#[test]
fn quiesce_hang_ko_at_runtime_addresses() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let dump = rel
        .dumps()
        .into_iter()
        .find(|d| d.name == "hang.elf")
        .expect("hang.elf in the manifest");
    let ko = rel.modules_dir().join("quiesce_hang.ko");
    // The kernel without module debug info: only the dump's module list is needed.
    let k = kernel::open(&OpenOptions {
        core: dump.path.clone(),
        vmlinux: rel.vmlinux(),
        modules: vec![],
    })
    .unwrap();
    let (mods, errors) = k.modules().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let m = mods
        .iter()
        .find(|m| m.name == "quiesce_hang")
        .expect("quiesce_hang is loaded");
    assert!(m.sections.contains_key(".text"), "{:?}", m.sections);
    // The build-id note of the loaded module is the .ko's.
    let (ko_name, ko_id) = DebugInfo::ko_identity(&ko).unwrap();
    assert_eq!(ko_name.as_deref(), Some("quiesce_hang"));
    assert!(ko_id.is_some());
    assert_eq!(m.build_id, ko_id);

    let mut di = DebugInfo::open_vmlinux(&rel.vmlinux()).unwrap();
    di.add_module("quiesce_hang", &ko, &m.sections).unwrap();
    assert_eq!(di.modules().collect::<Vec<_>>(), ["quiesce_hang"]);

    // A function: its symbol lies in the module's text, and symbolizes back to itself.
    let cb = di.symbol("qh_srcu_cb").expect("qh_srcu_cb");
    assert_eq!(cb.module.as_deref(), Some("quiesce_hang"));
    assert!(cb.addr >= m.text_start && cb.addr < m.text_start + m.text_len);
    let (s, off) = di.symbolize(cb.addr + 3).unwrap();
    assert_eq!((s.name.as_str(), off), ("qh_srcu_cb", 3));
    let f = di.find_function("qh_srcu_cb").unwrap();
    assert_eq!(f.low_pc, cb.addr);
    assert!(f.decl_file.unwrap().ends_with("quiesce_hang.c"));

    // Variables at runtime addresses: their values in the dump are the ones drgn read.
    let drgn = rel
        .drgn_ref("hang.elf")
        .expect("drgn reference for hang.elf");
    let want = |k: &str| drgn["values"][k].as_u64().unwrap_or_else(|| panic!("{k}"));
    let srcu = di.find_variable("quiesce_srcu").unwrap();
    assert!(!srcu.percpu);
    assert_eq!(Some(srcu.addr), di.symbol("quiesce_srcu").map(|s| s.addr));
    let t = di.ty(di.strip(srcu.ty)).unwrap();
    assert_eq!(t.c_name(), "struct srcu_struct");
    let idx = di.member(srcu.ty, "srcu_idx").unwrap();
    let v = k.read_u32(Kva(srcu.addr + idx.offset), "srcu_idx").unwrap();
    assert_eq!(u64::from(v), want("quiesce_srcu.srcu_idx"));
    let n = di.find_variable("qh_ntasks").unwrap();
    let v = k.read_u32(Kva(n.addr), "qh_ntasks").unwrap();
    assert_eq!(u64::from(v), want("qh_ntasks"));

    // Types from the module's own DWARF: `struct task_struct *[16]` of `qh_tasks`.
    let tasks = di.find_variable("qh_tasks").unwrap();
    let arr = di.ty(tasks.ty).unwrap();
    assert_eq!(arr.count, Some(16));
    assert_eq!(di.sizeof(tasks.ty), Some(16 * 8));

    // Lines of module code equal drgn's backtrace frames (function and line, inline frames
    // included) at every quiesce_hang pc of every stack.
    let mut by_pc: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
    for stack in drgn["stacks"].as_object().unwrap().values() {
        for fr in stack["frames"].as_array().unwrap() {
            let src = fr["source"].as_str().unwrap_or("");
            if !src.contains("quiesce_hang.c") || fr["interrupted"].as_bool() == Some(true) {
                continue;
            }
            let pc = u64::from_str_radix(fr["pc"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
            let line = src.rsplit(':').next().unwrap().parse().unwrap();
            let v = by_pc.entry(pc).or_default();
            let item = (fr["name"].as_str().unwrap().to_owned(), line);
            if !v.contains(&item) {
                v.push(item);
            }
        }
    }
    assert!(by_pc.len() >= 5, "{by_pc:?}");
    for (pc, want) in by_pc {
        // drgn looks up a return address at pc - 1.
        let got: Vec<(String, u64)> = di
            .lines(pc - 1)
            .into_iter()
            .map(|l| {
                (
                    l.function.unwrap_or_default(),
                    u64::from(l.line.unwrap_or(0)),
                )
            })
            .collect();
        assert_eq!(got, want, "lines at {pc:#x}");
        let l = di.lines(pc - 1);
        assert!(l[0].file.as_deref().unwrap().ends_with("quiesce_hang.c"));
    }
}

fn hang_dump(rel: &common::Release) -> std::path::PathBuf {
    rel.dumps()
        .into_iter()
        .find(|d| d.name == "hang.elf")
        .expect("hang.elf in the manifest")
        .path
}

/// `kernel::open` loads modules from a directory, matches `-`/`_` spellings, takes a file
/// named for one module as the module it is, and warns about modules without debug info.
#[test]
fn open_loads_matching_module_files() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let open = |modules: Vec<std::path::PathBuf>| {
        kernel::open(&OpenOptions {
            core: hang_dump(&rel),
            vmlinux: rel.vmlinux(),
            modules,
        })
        .unwrap()
    };
    // A directory: every module with a .ko there, no warning about modules.
    let k = open(vec![rel.modules_dir()]);
    let mut loaded: Vec<&str> = k.di.modules().collect();
    loaded.sort();
    assert_eq!(loaded, ["qemu_fw_cfg", "quiesce_hang"]);
    assert!(
        !k.warnings.iter().any(|w| w.contains("module")),
        "{:?}",
        k.warnings
    );
    let (v, _) = k.variable("quiesce_srcu").unwrap();
    let srcu_addr = v.addr;
    let v = k.read_u32(k.variable("qh_ntasks").unwrap().0.addr, "qh_ntasks");
    // The module's kthreads: abba ×3, srcu reader and sync, completion, rwsem reader and
    // writer, flusher, and qh_fan_sync (the seed-shaped scenario).
    assert_eq!(v.unwrap(), 10);

    let tmp = std::env::temp_dir().join(format!("quiesce-module-real-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // `quiesce-hang.ko` is `quiesce_hang`; the other module is reported missing.
    let dashed = tmp.join("quiesce-hang.ko");
    std::fs::copy(rel.modules_dir().join("quiesce_hang.ko"), &dashed).unwrap();
    let k = open(vec![dashed]);
    assert_eq!(k.di.modules().collect::<Vec<_>>(), ["quiesce_hang"]);
    assert_eq!(k.variable("quiesce_srcu").unwrap().0.addr, srcu_addr);
    assert!(
        k.warnings
            .iter()
            .any(|w| w.contains("no debug info for module qemu_fw_cfg")),
        "{:?}",
        k.warnings
    );
    // Another module's file under this module's name is that other module: a file is
    // recognized by what it is (its .modinfo name and build-id), not by its file name.
    let impostor = tmp.join("quiesce_hang.ko");
    std::fs::copy(rel.modules_dir().join("qemu_fw_cfg.ko"), &impostor).unwrap();
    let k = open(vec![impostor]);
    assert_eq!(k.di.modules().collect::<Vec<_>>(), ["qemu_fw_cfg"]);
    assert!(
        k.warnings
            .iter()
            .any(|w| w.contains("no debug info for module quiesce_hang")),
        "{:?}",
        k.warnings
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
