//! `print` of named values on every real dump equals drgn's reads of the same dump.

mod common;

use common::release;
use quiesce::kernel;
use quiesce::kernel::expr::Evaluated;
use quiesce::kernel::value::{ReadLimits, Value};
use serde_json::Value as Json;

/// quiesce's value of `expr` as drgn's JSON writes it: numbers as numbers, pointers as
/// `0x…` strings, char arrays as strings.
fn ours(k: &kernel::Kernel, expr: &str) -> Json {
    let r = k.eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(r.len(), 1, "{expr}");
    let v = match r[0].result {
        Evaluated::Object(o) => k.value(o, ReadLimits::default()),
        Evaluated::Const { value, .. } => Value::Int {
            value: value as i128,
        },
    };
    match v {
        Value::Int { value } => Json::from(value as i64),
        Value::Pointer { value, .. } => Json::from(format!("{value:#x}")),
        Value::String { value, .. } => Json::from(value),
        other => panic!("{expr}: unexpected {other:?}"),
    }
}

#[test]
fn named_values_equal_drgns() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    named_values_on(&rel, true);
}

/// The same on the arm64 fixtures (skipped when absent; CI does not build them). The test
/// module's `srcu_struct` fields are compared on 6.1 only, as on x86_64 (6.12 moved them).
#[test]
fn named_values_equal_drgns_arm64() {
    for rel in common::releases_of_arch("aarch64") {
        let suite = rel.manifest["suite"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        eprintln!("{}: print against drgn", rel.name);
        named_values_on(&rel, suite == "bookworm");
    }
}

fn named_values_on(rel: &common::Release, module_values_too: bool) {
    let names = [
        "jiffies",
        "init_task.comm",
        "init_task.pid",
        "per_cpu(runqueues, 0).nr_running",
        "per_cpu(runqueues, 0).curr",
        "per_cpu(runqueues, 1).nr_running",
        "per_cpu(runqueues, 1).curr",
        "nr_cpu_ids",
        "max_pfn",
        "system_wq",
        "linux_banner",
        "init_uts_ns.name.release",
        "init_uts_ns.name.nodename",
    ];
    for d in rel.dumps_of("hang") {
        let Some(drgn) = rel.drgn_ref(&d.name).filter(|j| j.get("values").is_some()) else {
            // drgn 0.3.0 cannot open QEMU's kdump-compressed files; its ELF reference is
            // the same machine state.
            assert!(d.name.contains("qemu"), "{}: no drgn reference", d.name);
            continue;
        };
        let k = rel.open(&d.path);
        for n in names {
            let want = &drgn["values"][n];
            assert!(
                want.get("error").is_none(),
                "{}: drgn could not read {n}",
                d.name
            );
            assert_eq!(&ours(&k, n), want, "{}: {n}", d.name);
        }
        if !module_values_too {
            continue;
        }
        // Values of the test module (its debug info placed at the module's runtime
        // addresses): drgn key → quiesce expression.
        let hex = |j: Json| Json::from(format!("{:#x}", j.as_i64().unwrap() as u64));
        let module_values: [(&str, &str, bool); 8] = [
            ("quiesce_srcu.srcu_idx", "quiesce_srcu.srcu_idx", false),
            (
                "quiesce_srcu.srcu_gp_seq",
                "quiesce_srcu.srcu_gp_seq",
                false,
            ),
            (
                "quiesce_srcu.srcu_gp_seq_needed",
                "quiesce_srcu.srcu_gp_seq_needed",
                false,
            ),
            ("qh_mutex_a.owner", "qh_mutex_a.owner.counter", true),
            ("qh_mutex_b.owner", "qh_mutex_b.owner.counter", true),
            ("qh_never_done.done", "qh_never_done.done", false),
            ("qh_rwsem.count", "qh_rwsem.count.counter", true),
            ("qh_ntasks", "qh_ntasks", false),
        ];
        for (key, expr, as_hex) in module_values {
            let want = &drgn["values"][key];
            assert!(
                want.get("error").is_none(),
                "{}: drgn could not read {key}",
                d.name
            );
            let got = ours(&k, expr);
            let got = if as_hex { hex(got) } else { got };
            assert_eq!(&got, want, "{}: {key}", d.name);
        }
        for cpu in ["0", "1"] {
            let locks = &drgn["values"]["quiesce_srcu.sda.srcu_lock_count"][cpu];
            for idx in 0..2 {
                let e = format!("per_cpu(quiesce_srcu.sda, {cpu}).srcu_lock_count[{idx}]");
                assert_eq!(&ours(&k, &e), &locks[idx], "{}: {e}", d.name);
            }
        }
        // crash's per-CPU selector names the same object as drgn's per_cpu().
        assert_eq!(
            ours(&k, "runqueues:1.curr"),
            drgn["values"]["per_cpu(runqueues, 1).curr"]
        );
        // `:a` (every CPU) before a member, as the help advertises: one value per CPU,
        // each drgn's, labelled as drgn writes it.
        let all = k.eval("runqueues:a.curr").unwrap();
        assert_eq!(all.len(), 2, "{}", d.name);
        for p in all {
            let cpu = p.cpu.unwrap();
            let label = quiesce::kernel::expr::per_cpu_label("runqueues:a.curr", cpu);
            let Evaluated::Object(o) = p.result else {
                panic!("{label}: not an object")
            };
            let Value::Pointer { value, .. } = k.value(o, ReadLimits::default()) else {
                panic!("{label}: not a pointer")
            };
            assert_eq!(
                Json::from(format!("{value:#x}")),
                drgn["values"][&label],
                "{label}"
            );
        }
    }
}
