//! SRCU and RCU decoders on the real bookworm `hang` dump, compared with drgn
//! (`fixtures/ref/drgn_rcu.py`, run at test time with the fixture venv's drgn).
//!
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::kernel::{self, Kernel, OpenOptions};
use std::path::PathBuf;

/// (vmlinux, hang.elf, modules dir): from the manifest when there is one, else the
/// standard file names (the manifest is written last by fixtures/build.sh).
fn fixture() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let root = common::fixtures_root().join("bookworm");
    let (vmlinux, dump, mods) = if root.join("manifest.json").exists() {
        let r = common::release("bookworm")?;
        let dump = r
            .dumps_of("hang")
            .into_iter()
            .find(|d| d.format == "elf" || d.name.ends_with(".elf"))
            .map(|d| d.path)
            .unwrap_or_else(|| r.dir.join("dumps/hang.elf"));
        (r.vmlinux(), dump, r.modules_dir())
    } else {
        (
            root.join("vmlinux"),
            root.join("dumps/hang.elf"),
            root.join("modules"),
        )
    };
    let ko = mods.join("quiesce_hang.ko");
    if vmlinux.exists() && dump.exists() && ko.exists() {
        return Some((vmlinux, dump, mods));
    }
    if std::env::var("QUIESCE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!(
            "QUIESCE_REQUIRE_FIXTURES=1 but the bookworm hang fixtures are missing under {}",
            root.display()
        );
    }
    eprintln!(
        "SKIP: no bookworm hang fixtures under {} (run fixtures/build.sh)",
        root.display()
    );
    None
}

fn open_hang() -> Option<Kernel> {
    let (vmlinux, core, mods) = fixture()?;
    let k = kernel::open(&OpenOptions {
        core,
        vmlinux,
        modules: vec![mods],
    })
    .expect("hang.elf opens");
    Some(k)
}

#[test]
fn module_debug_info_is_placed() {
    let Some(k) = open_hang() else { return };
    assert!(
        k.di.modules().any(|m| m == "quiesce_hang"),
        "warnings: {:?}",
        k.warnings
    );
    let a = k.symbol_addr("quiesce_srcu").unwrap();
    let (v, _) = k.variable("quiesce_srcu").unwrap();
    assert_eq!(a, v.addr);
    assert_eq!(
        quiesce::kernel::value::type_name(&k.di, v.ty),
        "struct srcu_struct"
    );
    let (m, _) = k.modules().unwrap();
    let qh = m.iter().find(|m| m.name == "quiesce_hang").unwrap();
    assert!(qh.sections.values().any(|&s| s <= a.0 && a.0 - s < 1 << 20));
}
