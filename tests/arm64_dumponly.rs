//! The dump-only mode (no vmlinux) on the real arm64 fixtures, against the DWARF mode.
//!
//! Debian's arm64 6.1 kernel is built without `CONFIG_KALLSYMS_ALL`: kallsyms lists its
//! functions only, so `init_task`, `modules`, `btf_modules`, `rcu_state` and the per-CPU
//! offsets are found by their shape in the kernel's data (`kernel::unlisted`). Each one
//! found must sit at the address the vmlinux's own symbol table gives; the task list,
//! every task's backtrace, the SRCU domains of the test module and the explain findings
//! must then equal the DWARF mode's (names of module variables aside: the module's data
//! symbols are not in its kallsyms either, so they are shown as `module:address`).
//!
//! Skips, like `arm64_real.rs`, when no arm64 fixture is built.

mod common;

use common::modes::{dump_only, json_of};

use quiesce::kernel::Kernel;
use quiesce::report::commands::Command;
use quiesce::unwind::task::Unwinder;
use serde_json::Value;

/// Every task's physical frames' function names, by task address.
fn functions(k: &Kernel) -> Vec<(u64, Vec<String>)> {
    let u = Unwinder::new(k).unwrap();
    let mut v: Vec<_> = k
        .tasks()
        .unwrap()
        .tasks
        .iter()
        .map(|t| {
            let bt = u.backtrace(k, t);
            let f = bt
                .frames
                .iter()
                .filter(|f| !f.inlined)
                .map(|f| f.function.clone().unwrap_or_else(|| "?".into()))
                .collect();
            (t.addr, f)
        })
        .collect();
    v.sort();
    v
}

/// What each finding says about the tasks and objects, without names (module variables
/// have none in the dump-only mode).
fn findings(ex: &Value) -> Vec<Value> {
    ex["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let f = &f["finding"];
            serde_json::json!([f["kind"], f["tasks"], f["cycle"], f["behind"]])
        })
        .collect()
}

const FOUND_BY_SHAPE: [&str; 6] = [
    "init_task",
    "modules",
    "btf_modules",
    "rcu_state",
    "__per_cpu_offset",
    "__per_cpu_start",
];

#[test]
fn arm64_dump_only_equals_dwarf() {
    let rels = common::releases_of_arch("aarch64");
    if rels.is_empty() {
        eprintln!("SKIP: no arm64 fixtures (fixtures/build.sh arm64)");
        return;
    }
    let mut by_shape = 0;
    for rel in rels {
        for d in rel.dumps() {
            let what = format!("{} {}", rel.name, d.name);
            let dw = rel.open(&d.path);
            let du = dump_only(&d.path);
            for name in FOUND_BY_SHAPE {
                let found = du.warnings.iter().any(|w| {
                    w.starts_with(&format!("{name} not in kallsyms")) && w.contains("found at")
                }) || (name.starts_with("__per_cpu")
                    && du.warnings.iter().any(|w| w.contains("__per_cpu_start at")));
                if !found {
                    continue;
                }
                by_shape += 1;
                assert_eq!(
                    du.symbol_addr(name).ok(),
                    dw.symbol_addr(name).ok(),
                    "{what}: {name} found by shape at the wrong address"
                );
            }
            assert_eq!(
                json_of(&du, &d.path, &Command::Ps),
                json_of(&dw, &d.path, &Command::Ps),
                "{what}: ps"
            );
            let (a, b) = (functions(&du), functions(&dw));
            assert!(a.len() > 40, "{what}: {} tasks", a.len());
            for ((ta, fa), (tb, fb)) in a.iter().zip(&b) {
                assert_eq!(ta, tb);
                assert_eq!(fa, fb, "{what}: task {ta:#x}: dump-only vs DWARF frames");
            }
            // The SRCU domains the dump-only mode finds are the DWARF mode's, counter for
            // counter; the test module's (on the stacks of its waiters) are among them.
            let (sa, sb) = (
                json_of(&du, &d.path, &Command::Srcu { domain: None }),
                json_of(&dw, &d.path, &Command::Srcu { domain: None }),
            );
            let domains =
                |j: &Value| -> Vec<Value> { j["domains"].as_array().cloned().unwrap_or_default() };
            let (da, db) = (domains(&sa), domains(&sb));
            for x in &da {
                let y = db
                    .iter()
                    .find(|y| y["addr"] == x["addr"])
                    .unwrap_or_else(|| {
                        panic!("{what}: SRCU domain {} only in dump-only", x["addr"])
                    });
                for field in [
                    "gp_seq",
                    "phase",
                    "current_idx",
                    "readers",
                    "cpus",
                    "callbacks",
                ] {
                    assert_eq!(x[field], y[field], "{what}: SRCU {} {field}", x["addr"]);
                }
            }
            if d.scenario == "hang" {
                for y in db.iter().filter(|y| {
                    y["name"]
                        .as_str()
                        .is_some_and(|n| n == "quiesce_srcu" || n == "quiesce_fan_srcu")
                }) {
                    assert!(
                        da.iter().any(|x| x["addr"] == y["addr"]),
                        "{what}: dump-only misses {}",
                        y["name"]
                    );
                }
            }
            if d.name.ends_with(".elf") {
                let ex = Command::Explain { log: None };
                let (ea, eb) = (json_of(&du, &d.path, &ex), json_of(&dw, &d.path, &ex));
                if d.scenario == "hang" {
                    assert!(findings(&ea).len() >= 6, "{what}: {:?}", findings(&ea));
                }
                assert_eq!(findings(&ea), findings(&eb), "{what}: explain findings");
            }
        }
    }
    // bookworm's arm64 kernel has no CONFIG_KALLSYMS_ALL: the shape search ran there.
    if common::release("bookworm-arm64").is_some() {
        assert!(by_shape > 0, "no global was found by shape");
    }
    eprintln!("{by_shape} globals found by shape, each at the vmlinux's address");
}
