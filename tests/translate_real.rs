//! Address translation on every real fixture dump, 4-level and 5-level paging (the
//! `<suite>-la57` releases boot the same kernels on QEMU's `-cpu max`, which has LA57):
//! - the dump says which paging mode it ran with, and the la57 ones really are 5-level;
//! - every task's stack (vmalloc'd: `CONFIG_VMAP_STACK`) and every module's text are
//!   translated by a page-table walk, never taken for direct-map addresses;
//! - every `task_struct` (slab memory in the direct map) translates through the direct-map
//!   shortcut to the same physical address the page-table walk of the dump gives.
//!
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::addr::Kva;
use quiesce::translate::Via;

#[test]
fn shortcut_agrees_with_the_page_tables_on_every_dump() {
    let mut five_level_dumps = 0;
    for rel in common::releases() {
        for d in rel.dumps() {
            if !d.name.ends_with(".elf") && !d.name.contains("mkd-zlib.kdump") {
                continue; // one full dump and one filtered one per scenario
            }
            let k = rel.open(&d.path);
            let five = k.vmcoreinfo.number("pgtable_l5_enabled") == Some(1);
            let la57 = rel.manifest["la57"].as_bool().unwrap_or(false);
            assert_eq!(five, la57, "{} {}: pgtable_l5_enabled", rel.name, d.name);
            five_level_dumps += usize::from(five);
            let x = &k.mem.xlat;
            let (base, end) = x
                .direct_map()
                .unwrap_or_else(|| panic!("{} {}: no direct-map bounds", rel.name, d.name));
            let pob = k
                .read_u64(k.symbol_addr("page_offset_base").unwrap(), "pob")
                .unwrap();
            assert_eq!(base, pob);
            let mem = k.dump.as_ref();
            let list = k.tasks().unwrap();
            let (mut stacks, mut structs) = (0, 0);
            for t in &list.tasks {
                // The task_struct: shortcut, and the same page as the walk (init_task, the
                // boot CPU's idle task, is in the kernel image instead).
                let (pa, via) = x.translate_via(mem, Kva(t.addr)).unwrap();
                if via == Via::KernelImage {
                    assert_eq!(t.pid, 0, "{}: only init_task is in the image", d.name);
                    continue;
                }
                assert!(
                    matches!(via, Via::DirectMap { .. }),
                    "{}: task {} at {:#x} {via}",
                    d.name,
                    t.pid,
                    t.addr
                );
                if let Ok(walked) = x.walk(mem, Kva(t.addr)) {
                    assert_eq!(pa, walked, "{}: task {} at {:#x}", d.name, t.pid, t.addr);
                    structs += 1;
                }
                // The stack: outside the direct map, walked, and readable.
                if t.stack == 0 {
                    continue;
                }
                assert!(
                    t.stack < base || t.stack >= end,
                    "{}: stack {:#x} of {} inside the direct map [{base:#x}, {end:#x})",
                    d.name,
                    t.stack,
                    t.pid
                );
                let (_, via) = x.translate_via(mem, Kva(t.stack)).unwrap_or_else(|e| {
                    panic!("{} {}: stack of pid {}: {e}", rel.name, d.name, t.pid)
                });
                assert_eq!(
                    via,
                    Via::Walk {
                        levels: if five { 5 } else { 4 }
                    }
                );
                stacks += 1;
            }
            assert!(
                stacks > 30 && structs > 30,
                "{}: {stacks} stacks, {structs} tasks",
                d.name
            );
            let (mods, _) = k.modules().unwrap();
            let qh = mods.iter().find(|m| m.name == "quiesce_hang").unwrap();
            let (_, via) = x.translate_via(mem, Kva(qh.text_start)).unwrap();
            assert!(
                matches!(via, Via::Walk { .. }),
                "{}: module text {via}",
                d.name
            );
        }
    }
    if common::releases()
        .iter()
        .any(|r| r.manifest["la57"] == true)
    {
        assert!(five_level_dumps > 0);
    }
}
