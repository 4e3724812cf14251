//! Frame locals (`bt --locals`) on the real `hang` dump of every fixture release (6.1, 6.12,
//! 7.x), compared with drgn's `StackFrame.locals()` (`fixtures/ref/drgn_locals.py`, run at test
//! time with the fixture venv's drgn 0.3.0).
//!
//! For every (task, frame, variable) both tools recover, the values must be equal (integers
//! and pointers numerically, aggregates by address). Variables only one tool recovers are
//! counted and listed by reason. The values that matter for the hang are asserted outright:
//! `__synchronize_srcu`'s `ssp` is `&quiesce_srcu`, `__mutex_lock`'s `lock` is the mutex the
//! ABBA thread waits for.
//!
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::kernel::Kernel;
use quiesce::unwind::locals::Local;
use quiesce::unwind::task::{Backtrace, Unwinder};
use serde_json::Value;
use std::collections::BTreeMap;

/// What one tool says about one variable.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Int(i128),
    Addr(Option<u64>),
    Absent(String),
}

fn ours(l: &Local) -> Got {
    if let Some(n) = l.number {
        return Got::Int(n);
    }
    if l.value.is_some() {
        return Got::Addr(l.address);
    }
    Got::Absent(l.absent.as_ref().map(|a| a.to_string()).unwrap_or_default())
}

fn theirs(v: &Value) -> Got {
    if let Some(s) = v.get("int").and_then(Value::as_str) {
        return Got::Int(s.parse().unwrap());
    }
    if let Some(a) = v.get("address") {
        return Got::Addr(a.as_str().map(|s| s.parse().unwrap()));
    }
    if v.get("absent").is_some() {
        return Got::Absent("absent".into());
    }
    Got::Absent(format!("{v}"))
}

fn same(a: &Got, b: &Got) -> bool {
    match (a, b) {
        // drgn gives signed values of unsigned chars and the like as their bit patterns.
        (Got::Int(x), Got::Int(y)) => x == y || (x - y) % (1i128 << 64) == 0,
        _ => a == b,
    }
}

/// The frames of one task, grouped by physical frame (pc), each group outermost first.
fn groups<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<Vec<&T>> {
    let mut out: Vec<Vec<&T>> = Vec::new();
    for it in items {
        match out.last_mut() {
            Some(g) if key(g[0]) == key(it) => g.push(it),
            _ => out.push(vec![it]),
        }
    }
    for g in &mut out {
        g.reverse();
    }
    out
}

#[derive(Default, Debug)]
struct Tally {
    both: usize,
    equal: usize,
    ours_only: usize,
    drgn_only: usize,
    quiesce_total: usize,
    drgn_total: usize,
    mismatches: Vec<String>,
    drgn_only_list: Vec<String>,
    ours_only_reasons: BTreeMap<String, usize>,
}

fn compare(rel: &str, k: &Kernel, u: &Unwinder, want: &Value) -> (Tally, Vec<Backtrace>) {
    let list = k.tasks().unwrap();
    let mut t = Tally::default();
    let mut traces = Vec::new();
    for task in want["tasks"].as_array().unwrap() {
        let pid = task["pid"].as_i64().unwrap() as i32;
        let Some(qt) = list.tasks.iter().find(|x| x.pid == pid) else {
            panic!("{rel}: no task {pid}");
        };
        let mut bt = u.backtrace(k, qt);
        u.add_locals(k, &mut bt);
        let dframes = task["frames"].as_array().unwrap();
        let qg = groups(&bt.frames, |f| f.pc);
        let dg = groups(dframes, |f| f["pc"].as_u64().unwrap());
        for qf in bt.frames.iter() {
            let locals = qf.locals.as_deref().unwrap_or_default();
            t.quiesce_total += locals.iter().filter(|l| l.value.is_some()).count();
        }
        for df in dframes {
            t.drgn_total += df["locals"]
                .as_object()
                .unwrap()
                .values()
                .filter(|v| matches!(theirs(v), Got::Int(_) | Got::Addr(_)))
                .count();
        }
        for q in &qg {
            let Some(d) = dg.iter().find(|d| d[0]["pc"].as_u64() == Some(q[0].pc)) else {
                continue;
            };
            for (qf, df) in q.iter().zip(d.iter()) {
                let fname = df["name"].as_str().unwrap_or("?");
                let dl = df["locals"].as_object().unwrap();
                let ql = qf.locals.as_deref().unwrap_or_default();
                for (name, dv) in dl {
                    // The innermost declaration of a name, as `frame[name]` resolves it.
                    let Some(l) = ql.iter().rev().find(|l| &l.name == name) else {
                        continue;
                    };
                    let (a, b) = (ours(l), theirs(dv));
                    let ar = !matches!(a, Got::Absent(_));
                    let br = !matches!(b, Got::Absent(_));
                    let what = format!("{rel} pid {pid} {fname} {name}");
                    match (ar, br) {
                        (true, true) => {
                            t.both += 1;
                            if same(&a, &b) {
                                t.equal += 1;
                            } else {
                                t.mismatches
                                    .push(format!("{what}: quiesce {a:?} drgn {b:?}"));
                            }
                        }
                        (true, false) => {
                            t.ours_only += 1;
                            *t.ours_only_reasons.entry(format!("{b:?}")).or_default() += 1;
                        }
                        (false, true) => {
                            t.drgn_only += 1;
                            t.drgn_only_list
                                .push(format!("{what}: quiesce {a:?} drgn {b:?}"));
                        }
                        (false, false) => {}
                    }
                }
            }
        }
        traces.push(bt);
    }
    (t, traces)
}

fn local<'a>(bt: &'a Backtrace, func: &str, name: &str) -> Option<&'a Local> {
    bt.frames
        .iter()
        .filter(|f| f.function.as_deref().is_some_and(|f| f.starts_with(func)))
        .flat_map(|f| f.locals.iter().flatten())
        .find(|l| l.name == name && l.value.is_some())
}

/// quiesce's locals against drgn's on one dump of release `r`: no value differs and
/// nothing is recovered by drgn alone. `None` (skip) without drgn.
fn against_drgn(r: &common::Release, dump: &str) -> Option<(Kernel, Tally, Vec<Backtrace>)> {
    let dump = r.dir.join("dumps").join(dump);
    let mods = r.modules_dir();
    let ko = mods.join("quiesce_hang.ko");
    let want = common::drgn_script("drgn_locals.py", &dump, &r.vmlinux(), &ko)?;
    let k = r.open(&dump);
    let u = Unwinder::new(&k).unwrap();
    let (t, traces) = compare(&r.name, &k, &u, &want);
    eprintln!(
        "{} {}: locals recovered: quiesce {} drgn {}; compared {} ({} equal); quiesce only {} {:?}; drgn only {}",
        r.name,
        dump.display(),
        t.quiesce_total,
        t.drgn_total,
        t.both,
        t.equal,
        t.ours_only,
        t.ours_only_reasons,
        t.drgn_only
    );
    for m in &t.mismatches {
        eprintln!("  MISMATCH {m}");
    }
    assert!(t.mismatches.is_empty(), "{}: {:#?}", r.name, t.mismatches);
    // Whatever drgn recovers, quiesce recovers too.
    assert!(
        t.drgn_only_list.is_empty(),
        "{}: {:#?}",
        r.name,
        t.drgn_only_list
    );
    Some((k, t, traces))
}

#[test]
fn locals_match_drgn() {
    locals_match_drgn_for(common::releases());
}

/// The same on the arm64 fixtures (callee-saved x19–x29 from `.debug_frame`; skipped when
/// they are absent: CI does not build them).
#[test]
fn locals_match_drgn_arm64() {
    locals_match_drgn_for(common::releases_of_arch("aarch64"));
}

fn locals_match_drgn_for(rels: Vec<common::Release>) {
    for r in rels {
        let Some((k, t, traces)) = against_drgn(&r, "hang.elf") else {
            return;
        };
        assert!(t.both > 50, "{}: too few locals compared: {t:?}", r.name);

        // The values that matter for the hang.
        let srcu = k.symbol_addr("quiesce_srcu").unwrap().0;
        let by_comm = |c: &str| traces.iter().find(|b| b.task.comm == c).unwrap();
        let ssp = local(by_comm("qh_srcu_sync"), "__synchronize_srcu", "ssp")
            .unwrap_or_else(|| panic!("{}: no ssp in __synchronize_srcu", r.name));
        assert_eq!(ssp.number, Some(srcu as i128), "{}: ssp", r.name);
        for (comm, mutex) in [("qh_abba_a", "qh_mutex_b"), ("qh_abba_b", "qh_mutex_a")] {
            let want = k.symbol_addr(mutex).unwrap().0;
            let lock = local(by_comm(comm), "__mutex_lock", "lock")
                .unwrap_or_else(|| panic!("{}: {comm}: no lock in __mutex_lock", r.name));
            assert_eq!(lock.number, Some(want as i128), "{}: {comm} lock", r.name);
        }
    }
}

/// A running task's frames start from the CPU's saved registers (NT_PRSTATUS), where every
/// register is known: the RCU staller spinning on CPU 1 of the rcustall dump.
#[test]
fn running_task_locals_match_drgn() {
    for r in common::releases() {
        let Some((_, _, traces)) = against_drgn(&r, "rcustall.elf") else {
            return;
        };
        let staller = traces
            .iter()
            .find(|b| b.task.comm == "qh_rcu_staller")
            .unwrap_or_else(|| panic!("{}: no qh_rcu_staller", r.name));
        assert!(staller.task.active, "{}: the staller runs", r.name);
        let known = staller
            .frames
            .iter()
            .flat_map(|f| f.locals.iter().flatten())
            .filter(|l| l.value.is_some())
            .count();
        assert!(known > 0, "{}: no locals in the staller's frames", r.name);
    }
}
