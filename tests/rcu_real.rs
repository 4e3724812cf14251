//! SRCU and RCU decoders on the real `hang` and `rcustall` dumps of every fixture release
//! (6.1, 6.12, 7.x), compared with drgn
//! (`fixtures/ref/drgn_rcu.py`, run at test time with the fixture venv's drgn).
//!
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use quiesce::kernel::{self, Kernel, OpenOptions};
use std::path::PathBuf;

/// (release name, vmlinux, `<scenario>.elf`, modules dir) of every fixture release
/// (bookworm 6.1, trixie 6.12, sid 7.x: three SRCU/RCU generations).
fn fixtures(scenario: &str) -> Vec<(String, PathBuf, PathBuf, PathBuf)> {
    common::releases()
        .into_iter()
        .map(|r| {
            let dump = r.dir.join(format!("dumps/{scenario}.elf"));
            assert!(dump.exists(), "{}: no {}", r.name, dump.display());
            (r.name.clone(), r.vmlinux(), dump, r.modules_dir())
        })
        .collect()
}

fn open(vmlinux: &std::path::Path, core: &std::path::Path, mods: &std::path::Path) -> Kernel {
    kernel::open(&OpenOptions {
        core: core.to_path_buf(),
        vmlinux: vmlinux.to_path_buf(),
        modules: vec![mods.to_path_buf()],
    })
    .unwrap_or_else(|e| panic!("{}: {e}", core.display()))
}

#[test]
fn module_debug_info_is_placed() {
    for (rel, vmlinux, dump, mods) in fixtures("hang") {
        let k = open(&vmlinux, &dump, &mods);
        module_debug_info_is_placed_on(&rel, &k);
    }
}

fn module_debug_info_is_placed_on(rel: &str, k: &Kernel) {
    assert!(
        k.di.modules().any(|m| m == "quiesce_hang"),
        "{rel}: warnings: {:?}",
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

/// (address, segment, gp_seq, function, pids woken)
type CbRow = (String, String, Option<u64>, String, Vec<i64>);

/// drgn's reading of the RCU and SRCU state of a dump (`fixtures/ref/drgn_rcu.py`).
fn drgn_rcu(
    dump: &std::path::Path,
    vmlinux: &std::path::Path,
    mods: &std::path::Path,
) -> Option<serde_json::Value> {
    common::drgn_script("drgn_rcu.py", dump, vmlinux, &mods.join("quiesce_hang.ko"))
}

#[test]
fn srcu_matches_drgn() {
    for (rel, vmlinux, dump, mods) in fixtures("hang") {
        let k = open(&vmlinux, &dump, &mods);
        let Some(want) = drgn_rcu(&dump, &vmlinux, &mods) else {
            return;
        };
        eprintln!("{rel}: SRCU against drgn");
        srcu_matches_drgn_on(&k, &want);
    }
}

fn srcu_matches_drgn_on(k: &Kernel, want: &serde_json::Value) {
    let r = quiesce::rcu::srcu::srcu_report(k, None).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);

    // Every static srcu_struct of the vmlinux, by name.
    let mut got: Vec<&str> = r
        .domains
        .iter()
        .filter(|d| d.found.contains(&quiesce::rcu::srcu::Found::Vmlinux))
        .map(|d| d.name.as_str())
        .collect();
    got.sort();
    let want_vm: Vec<&str> = want["vmlinux"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got, want_vm);

    // The module's domain, field by field.
    let w = &want["modules"]["quiesce_srcu"];
    let d = r
        .domains
        .iter()
        .find(|d| d.name == "quiesce_srcu")
        .expect("quiesce_srcu found");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(
        d.found
            .contains(&quiesce::rcu::srcu::Found::Module("quiesce_hang".into()))
    );
    assert_eq!(format!("{:#x}", d.addr), w["addr"].as_str().unwrap());
    assert_eq!(d.gp_seq, w["gp_seq"].as_u64().unwrap());
    assert_eq!(d.phase, w["phase"].as_str().unwrap());
    assert_eq!(d.gp_seq_needed, w["gp_seq_needed"].as_u64());
    assert_eq!(d.current_idx as u64, w["current_idx"].as_u64().unwrap());
    assert_eq!(d.waits_on_idx.map(u64::from), w["waits_on_idx"].as_u64());
    let readers: Vec<i64> = w["readers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(d.readers.to_vec(), readers);
    // The scenario itself: exactly one reader, on the index the GP waits for.
    let idx = d.waits_on_idx.expect("a grace period is in progress") as usize;
    assert_eq!(d.readers[idx], 1);
    assert_eq!(d.readers[idx ^ 1], 0);

    let cbs: Vec<CbRow> = d
        .callbacks
        .iter()
        .map(|c| {
            (
                format!("{:#x}", c.addr),
                c.segment.clone(),
                c.gp_seq,
                c.func.describe(),
                c.wakes.iter().map(|t| t.pid as i64).collect(),
            )
        })
        .collect();
    let want_cbs: Vec<CbRow> = w["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["addr"].as_str().unwrap().to_string(),
                c["segment"].as_str().unwrap().to_string(),
                c["gp_seq"].as_u64(),
                c["func"].as_str().unwrap_or("?").to_string(),
                c["wakes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_i64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(cbs, want_cbs);
    let names = d.callback_functions();
    assert_eq!(
        names,
        vec![
            ("qh_srcu_cb".to_string(), 3),
            ("wakeme_after_rcu".to_string(), 1)
        ]
    );

    // The synchronize_srcu waiter drgn's unwinder sees is the task wakeme_after_rcu wakes,
    // and the stack scan found the same domain from it.
    let sync: Vec<i64> = want["synchronize_srcu_waiters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pid"].as_i64().unwrap())
        .collect();
    // Two tasks sit in __synchronize_srcu: qh_srcu_sync on quiesce_srcu and qh_fan_sync
    // on quiesce_fan_srcu (the seed-shaped scenario); each domain has its own.
    assert_eq!(sync.len(), 2, "{sync:?}");
    assert_eq!(d.waiters.len(), 1);
    assert_eq!(d.waiters[0].comm, "qh_srcu_sync");
    let fan = r
        .domains
        .iter()
        .find(|d| d.name == "quiesce_fan_srcu")
        .expect("quiesce_fan_srcu found");
    assert_eq!(fan.waiters.len(), 1);
    assert_eq!(fan.waiters[0].comm, "qh_fan_sync");
    let mut waiters: Vec<i64> = [d, fan].iter().map(|d| d.waiters[0].pid as i64).collect();
    waiters.sort();
    let mut sync_sorted = sync.clone();
    sync_sorted.sort();
    assert_eq!(waiters, sync_sorted);
    assert!(
        d.found
            .contains(&quiesce::rcu::srcu::Found::WaiterStack(d.waiters[0].pid))
    );
    // The seed's domain against drgn: two readers on the index the GP waits for.
    let wf = &want["modules"]["quiesce_fan_srcu"];
    assert_eq!(format!("{:#x}", fan.addr), wf["addr"].as_str().unwrap());
    assert_eq!(fan.gp_seq, wf["gp_seq"].as_u64().unwrap());
    assert_eq!(fan.phase, wf["phase"].as_str().unwrap());
    let fan_readers: Vec<i64> = wf["readers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(fan.readers.to_vec(), fan_readers);
    let fidx = fan.waits_on_idx.expect("a grace period is in progress") as usize;
    assert_eq!(fan.readers[fidx], 2);

    // The GP work: pending with its timer armed (process_srcu re-arms while readers hold).
    let work = d.gp_work.as_ref().unwrap();
    assert_eq!(work.pending, w["work_pending"].as_bool().unwrap());
    assert_eq!(work.timer_armed, w["timer_armed"].as_bool().unwrap());
    assert_eq!(work.func.as_deref(), Some("process_srcu"));
    assert_eq!(
        d.size_state.as_ref().and_then(|s| s.name.as_deref()),
        Some("SRCU_SIZE_SMALL")
    );
}

fn check_rcu(k: &Kernel, want: &serde_json::Value) -> quiesce::rcu::tree::RcuReport {
    let r = quiesce::rcu::tree::rcu_report(k).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let w = &want["rcu"];
    assert_eq!(r.name.as_deref(), w["name"].as_str());
    assert_eq!(r.gp_seq, w["gp_seq"].as_u64().unwrap());
    assert_eq!(
        r.gp_state.as_ref().and_then(|g| g.name.as_deref()),
        w["gp_state"].as_str()
    );
    assert_eq!(
        r.gp_state.as_ref().map(|g| g.source),
        Some("dump:gp_state_names")
    );
    assert_eq!(r.gp_flags, w["gp_flags"].as_u64());
    assert_eq!(
        r.gp_kthread.as_ref().map(|t| t.pid as i64),
        w["gp_kthread_pid"].as_i64()
    );
    assert_eq!(r.expedited_sequence, w["expedited_sequence"].as_u64());
    let nodes: Vec<(u64, u64, i64, i64)> = r
        .nodes
        .iter()
        .map(|n| (n.qsmask, n.qsmaskinit, n.grplo as i64, n.grphi as i64))
        .collect();
    let want_nodes: Vec<(u64, u64, i64, i64)> = w["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["qsmask"].as_u64().unwrap(),
                n["qsmaskinit"].as_u64().unwrap(),
                n["grplo"].as_i64().unwrap(),
                n["grphi"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(nodes, want_nodes);
    let holdouts: Vec<i64> = r.holdouts.iter().map(|h| h.cpu as i64).collect();
    let want_h: Vec<i64> = w["holdouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(holdouts, want_h);
    r
}

#[test]
fn rcu_matches_drgn_on_hang() {
    for (rel, vmlinux, dump, mods) in fixtures("hang") {
        let k = open(&vmlinux, &dump, &mods);
        let Some(want) = drgn_rcu(&dump, &vmlinux, &mods) else {
            return;
        };
        eprintln!("{rel}: Tree RCU against drgn");
        check_rcu(&k, &want);
    }
}

#[test]
fn rcu_stall_holdout_matches_drgn() {
    for (rel, vmlinux, core, mods) in fixtures("rcustall") {
        let k = open(&vmlinux, &core, &mods);
        let Some(want) = drgn_rcu(&core, &vmlinux, &mods) else {
            return;
        };
        let r = check_rcu(&k, &want);
        // The scenario: a grace period held up by the CPU running the staller kthread, the
        // CPU the stall warning in the console log names.
        assert!(r.gp_in_progress, "{rel}");
        assert_eq!(r.holdouts.len(), 1, "{rel}");
        let h = &r.holdouts[0];
        assert_eq!(
            h.curr.as_ref().map(|t| t.comm.as_str()),
            Some("qh_rcu_staller"),
            "{rel}"
        );
        let console =
            std::fs::read_to_string(core.parent().unwrap().join("../console/rcustall.log"))
                .unwrap_or_else(|e| panic!("{rel}: console log: {e}"));
        let named = format!(
            "CPU: {} PID: {} Comm: qh_rcu_staller",
            h.cpu,
            h.curr.as_ref().unwrap().pid
        );
        assert!(
            console.contains(&named)
                || console.contains(&format!(
                    "CPU: {} UID: 0 PID: {} Comm: qh_rcu_staller",
                    h.cpu,
                    h.curr.as_ref().unwrap().pid
                )),
            "{rel}: the stall warning in the console names {named}"
        );
        assert!(console.contains("stall"), "{rel}");
    }
}
