//! The dump-only mode (no vmlinux: kallsyms, BTF and ORC read from the dump) against the
//! DWARF mode on every fixture dump of every release, field by field: `ps`, `log`, `sys`,
//! `srcu` and `rcu` as their JSON, every task's backtrace (pc, sp, function, offset,
//! module, how each frame was found; DWARF's inline frames and file:line left out), the
//! `explain` findings and wait-graph edges, and the values the print tests read.

mod common;

use common::modes::{dump_only, json_of};

use quiesce::kernel::Kernel;
use quiesce::kernel::expr::Evaluated;
use quiesce::kernel::value::ReadLimits;
use quiesce::report::commands::Command;
use serde_json::Value;

/// The value `expr` reads, as JSON (type ids differ between the modes; values may not).
fn value(k: &Kernel, expr: &str) -> Value {
    let r = k.eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let v: Vec<Value> = r
        .iter()
        .map(|p| match p.result {
            Evaluated::Object(o) => {
                serde_json::to_value(k.value(o, ReadLimits::default())).unwrap()
            }
            Evaluated::Const { value, .. } => Value::from(value),
        })
        .collect();
    Value::from(v)
}

/// A backtrace report without what only DWARF gives: inline frames, file:line, locals.
fn physical(mut bt: Value) -> Value {
    for t in bt["traces"].as_array_mut().into_iter().flatten() {
        let frames = t["frames"].as_array_mut().expect("frames");
        frames.retain(|f| f["inlined"] != Value::Bool(true));
        for f in frames.iter_mut() {
            let o = f.as_object_mut().unwrap();
            for k in ["file", "line", "locals", "inlined"] {
                o.remove(k);
            }
        }
    }
    bt
}

/// The findings of `explain` (kind, title, explanation, tasks, cycle, chain) and the wait
/// graph's nodes and edges (without per-frame evidence, which names inline frames and
/// file:line in DWARF mode).
fn findings(mut ex: Value) -> Value {
    let f: Vec<Value> = ex["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["finding"].clone())
        .collect();
    let edges: Vec<Value> = ex["graph"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| serde_json::json!([e["from"], e["to"], e["kind"], e["candidate"], e["what"]]))
        .collect();
    let nodes: Vec<Value> = ex["graph"]["nodes"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .map(|n| serde_json::json!([n["id"], n["label"], n["no_waker"]]))
        .collect();
    serde_json::json!({"findings": f, "edges": edges, "nodes": nodes, "undecoded": ex["undecoded"]})
}

/// The DWARF mode names an offset into a typed global as its member (`qh_box.wq`); the
/// dump-only mode has no type for a module's globals (module BTF describes no variables),
/// so it says `qh_box+0x8`. Spell the DWARF side's members as the dump-only side's offsets
/// where the dump-only side has `sym+0x…` and the DWARF side has `sym.` but not the offset.
fn members_as_offsets(dump_only: &Value, dwarf: &Value) -> Value {
    let a = dump_only.to_string();
    let mut b = dwarf.to_string();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut offsets: Vec<(String, String)> = Vec::new();
    for (i, _) in a.match_indices("+0x") {
        let start = a[..i].rfind(|c: char| !ident(c)).map_or(0, |p| p + 1);
        let end = a[i + 3..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .map_or(a.len(), |p| i + 3 + p);
        let (sym, off) = (&a[start..i], &a[start..end]);
        if !sym.is_empty() && !b.contains(off) {
            offsets.push((sym.to_string(), off.to_string()));
        }
    }
    for (sym, off) in offsets {
        let dotted = format!("{sym}.");
        let mut from = 0;
        while let Some(p) = b[from..].find(&dotted) {
            let i = from + p;
            // `.member` (and `.member.inner`), not the full stop after it.
            let mut end = i + sym.len();
            while b[end..].starts_with('.') && b[end + 1..].starts_with(ident) {
                end += 1;
                end += b[end..].find(|c: char| !ident(c)).unwrap_or(b.len() - end);
            }
            if end == i + sym.len() {
                from = i + dotted.len();
                continue;
            }
            b.replace_range(i..end, &off);
            from = i + off.len();
        }
    }
    serde_json::from_str(&b).expect("still JSON")
}

fn same(what: &str, a: &Value, b: &Value) {
    if a != b {
        let (sa, sb) = (
            serde_json::to_string_pretty(a).unwrap(),
            serde_json::to_string_pretty(b).unwrap(),
        );
        let first = sa
            .lines()
            .zip(sb.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| format!("line {i}: dump-only `{x}` vs DWARF `{y}`"))
            .unwrap_or_else(|| "lengths differ".into());
        panic!("{what}: dump-only and DWARF modes differ: {first}");
    }
}

#[test]
fn dump_only_equals_dwarf_on_every_dump() {
    let mut compared = 0;
    for rel in common::releases() {
        for d in rel.dumps() {
            let dw = rel.open(&d.path);
            let du = dump_only(&d.path);
            // makedumpfile 1.7.8's -d 31 on a 7.x kernel can drop an in-use slab page (the
            // ELF of the same boot has it): when that page holds a module's section table,
            // the DWARF mode cannot place the module's .ko and the two modes legitimately
            // differ. Both must say so; the rest of that dump is not compared.
            if let Some(w) = dw
                .warnings
                .iter()
                .find(|w| w.contains("does not record its section addresses"))
            {
                assert!(!d.name.ends_with(".elf"), "{} {}: {w}", rel.name, d.name);
                assert!(
                    du.warnings
                        .iter()
                        .any(|w| w.contains("sections: cannot read") && w.contains("excluded")),
                    "{} {}: dump-only mode did not report the lost page: {:?}",
                    rel.name,
                    d.name,
                    du.warnings
                );
                eprintln!(
                    "{} {}: not compared, the dump lost a module's section table: {w}",
                    rel.name, d.name
                );
                continue;
            }
            let src = du.di.dump_only().expect("the dump-only source");
            // Every module whose BTF the kernel kept (its btf_modules list) has it in the
            // dump-only source, split on the vmlinux BTF.
            let (mods, _) = du.modules().unwrap();
            let kept = du.module_btfs().unwrap();
            // (sid's makedumpfile outputs lost pages the kernel still used: ELF only.)
            if d.name.ends_with(".elf") {
                assert!(!kept.is_empty(), "{} {}: no module BTF", rel.name, d.name);
            }
            for m in mods.iter().filter(|m| kept.contains_key(&m.addr)) {
                assert!(
                    src.modules_with_btf().any(|x| x == m.name),
                    "{} {}: module {} has BTF in the dump but not in the source: {:?}",
                    rel.name,
                    d.name,
                    m.name,
                    du.warnings
                );
            }
            let what = |c: &str| format!("{} {} {c}", rel.name, d.name);
            for (name, cmd) in [
                ("ps", Command::Ps),
                ("log", Command::Log),
                ("sys", Command::Sys),
                ("srcu", Command::Srcu { domain: None }),
                ("rcu", Command::Rcu),
            ] {
                same(
                    &what(name),
                    &json_of(&du, &d.path, &cmd),
                    &json_of(&dw, &d.path, &cmd),
                );
            }
            let bt = Command::Bt {
                targets: vec![],
                active: false,
                all: true,
                lines: false,
                locals: false,
            };
            let (a, b) = (json_of(&du, &d.path, &bt), json_of(&dw, &d.path, &bt));
            assert!(a["traces"].as_array().is_some_and(|t| t.len() > 10));
            same(&what("bt --all"), &physical(a), &physical(b));
            // explain unwinds and decodes every blocked task again: the ELF and one
            // makedumpfile output per scenario are enough.
            if d.name.ends_with(".elf") || d.name.ends_with(".mkd-zstd.kdump") {
                let ex = Command::Explain { log: None };
                let (a, b) = (json_of(&du, &d.path, &ex), json_of(&dw, &d.path, &ex));
                // (sid's makedumpfile outputs lose task_structs, which ones differs from boot
                // to boot: one boot dropped enough blocked tasks to leave 3 findings. The two
                // modes must still agree, below.)
                if d.scenario == "hang" && !rel.unreadable_by_references(&d.name) {
                    assert!(a["findings"].as_array().is_some_and(|f| f.len() >= 4));
                }
                let (fa, fb) = (findings(a), findings(b));
                same(&what("explain"), &fa, &members_as_offsets(&fa, &fb));
            }
            compared += 1;
        }
    }
    eprintln!("compared {compared} dumps");
}

/// `print` of what `real_print.rs` checks reads the same from BTF as from DWARF. Module
/// globals have no type in the dump (module BTF has no variables), so the dump-only mode
/// reads them through a cast of their address.
#[test]
fn print_from_btf_equals_dwarf() {
    let vmlinux_values = [
        "jiffies",
        "init_task.comm",
        "init_task.pid",
        "per_cpu(runqueues, 0).nr_running",
        "per_cpu(runqueues, 0).curr",
        "per_cpu(runqueues, 1).nr_running",
        "per_cpu(runqueues, 1).curr",
        "runqueues:1.curr",
        "nr_cpu_ids",
        "max_pfn",
        "system_wq",
        "linux_banner",
        "init_uts_ns.name.release",
        "init_uts_ns.name.nodename",
        "init_task.se.load.weight",
        "init_task.__state",
    ];
    let module_values = [
        (
            "quiesce_srcu.srcu_idx",
            "((struct srcu_struct *)&quiesce_srcu)->srcu_idx",
        ),
        (
            "qh_mutex_a.owner.counter",
            "((struct mutex *)&qh_mutex_a)->owner.counter",
        ),
        (
            "qh_mutex_b.owner.counter",
            "((struct mutex *)&qh_mutex_b)->owner.counter",
        ),
        (
            "qh_never_done.done",
            "((struct completion *)&qh_never_done)->done",
        ),
        (
            "qh_rwsem.count.counter",
            "((struct rw_semaphore *)&qh_rwsem)->count.counter",
        ),
    ];
    for rel in common::releases() {
        for d in rel.dumps_of("hang") {
            if !(d.name.ends_with(".elf") || d.name.ends_with(".mkd-lzo.kdump")) {
                continue;
            }
            let dw = rel.open(&d.path);
            let du = dump_only(&d.path);
            for e in vmlinux_values {
                // init_task.__state is `state` before 5.14: skip what DWARF cannot read.
                if dw.eval(e).is_err() {
                    continue;
                }
                assert_eq!(value(&du, e), value(&dw, e), "{} {}: {e}", rel.name, d.name);
            }
            for (dwarf_expr, cast) in module_values {
                // Members that moved between releases (srcu_idx went into srcu_usage):
                // compared where DWARF reads them.
                if dw.eval(dwarf_expr).is_err() {
                    continue;
                }
                assert_eq!(
                    value(&du, cast),
                    value(&dw, dwarf_expr),
                    "{} {}: {dwarf_expr} vs {cast}",
                    rel.name,
                    d.name
                );
            }
            // A module global with no type says so, and suggests the cast.
            let e = du.eval("qh_ntasks").unwrap_err().to_string();
            assert!(e.contains("no type") && e.contains("cast"), "{e}");
        }
    }
}
