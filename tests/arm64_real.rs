//! quiesce on the real arm64 fixtures (`<suite>-arm64`: `-cpu max` with pointer
//! authentication, trixie and sid running 52-bit VAs with LPA2 and 5 levels;
//! `<suite>-arm64-a57`: no PAC, 48-bit), against drgn on every dump and crash ARM64 on
//! bookworm (crash 9.0.2 cannot start on the 6.12/7.x dumps: see the manifests).
//!
//! CI does not build the arm64 fixtures (`QUIESCE_ARM64` is off): these tests skip, even
//! under `QUIESCE_REQUIRE_FIXTURES=1`, when no `"arch": "aarch64"` manifest is present.

mod common;

use common::{Release, drgn_ps, parse_crash_bt, parse_crash_ps};
use quiesce::kernel::Kernel;
use quiesce::unwind::task::Unwinder;
use quiesce::unwind::walk::StackEnd;
use serde_json::Value;

fn arm64_releases() -> Vec<Release> {
    let r = common::releases_of_arch("aarch64");
    if r.is_empty() {
        eprintln!("SKIP: no arm64 fixtures (fixtures/build.sh arm64)");
    }
    r
}

/// drgn's non-inline function names of a task's stack (user-space pcs left out).
fn drgn_functions(stack: &Value) -> Option<Vec<String>> {
    let frames = stack["frames"].as_array()?;
    Some(
        frames
            .iter()
            .filter(|f| !f["is_inline"].as_bool().unwrap_or(false))
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .filter(|n| !n.starts_with("0x"))
            .collect(),
    )
}

/// Same function: equal, or drgn's DWARF name of a GCC clone (`el0_svc_common` for
/// `el0_svc_common.constprop.0`).
fn same_function(ours: &str, theirs: &str) -> bool {
    ours == theirs || ours.split('.').next() == Some(theirs)
}

fn same_sequence(ours: &[String], theirs: &[String]) -> bool {
    ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(o, t)| same_function(o, t))
}

fn ps_rows(k: &Kernel) -> Vec<(i64, i64, u64, String, String)> {
    let mut v: Vec<_> = k
        .tasks()
        .expect("task list")
        .tasks
        .iter()
        .map(|t| {
            (
                t.pid as i64,
                t.ppid as i64,
                t.addr,
                t.st.to_string(),
                t.comm.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn arm64_ps_matches_drgn_and_crash() {
    for rel in arm64_releases() {
        for d in rel.dumps() {
            let k = rel.open(&d.path);
            let ours = ps_rows(&k);
            let (drgn, name) = rel.drgn_for(&d);
            let mut want: Vec<_> = drgn_ps(&drgn)
                .into_iter()
                .map(|r| (r.pid, r.ppid, r.task, r.st, r.comm))
                .collect();
            want.sort();
            assert_eq!(ours, want, "{} {} vs drgn {name}", rel.name, d.name);
            if rel.crash_reads(&d.name) {
                let text = rel.crash_ref(&d.name, "ps.txt").unwrap();
                let mut c: Vec<_> = parse_crash_ps(&text)
                    .into_iter()
                    .map(|r| (r.pid, r.ppid, r.task, r.st, r.comm))
                    .collect();
                c.sort();
                assert_eq!(ours, c, "{} {} vs crash", rel.name, d.name);
            }
            eprintln!("{} {}: {} tasks match", rel.name, d.name, ours.len());
        }
    }
}

/// Tasks whose drgn stack is not a stack: in the rcustall dumps of trixie (both CPU
/// models) and sid (`-cpu max`) QEMU stopped the spinning task's CPU at `vectors+0x280`,
/// the EL1h IRQ vector, before the entry code saved anything: the interrupted pc is only
/// in ELR_EL1, which `NT_PRSTATUS` does not hold. drgn prints `vectors`, `ret_from_fork`;
/// so does quiesce (the frame record at x29 is kthread's), so the trace is only checked
/// for ending cleanly.
fn drgn_unusable(want: &[String]) -> bool {
    want.first().is_some_and(|f| f == "vectors")
}

#[test]
fn arm64_backtraces_match_drgn() {
    for rel in arm64_releases() {
        for d in rel.dumps() {
            let k = rel.open(&d.path);
            let u = Unwinder::new(&k).unwrap_or_else(|e| panic!("{} {}: {e}", rel.name, d.name));
            let (drgn, name) = rel.drgn_for(&d);
            let (mut matched, mut frames, mut skipped) = (0, 0, 0);
            let mut bad = Vec::new();
            for t in k.tasks().unwrap().tasks {
                let key = format!("{}@{:#x}", t.pid, t.addr);
                let Some(want) = drgn_functions(&drgn["stacks"][&key]) else {
                    continue;
                };
                let bt = u.backtrace(&k, &t);
                let ours: Vec<String> = bt.functions().iter().map(|s| s.to_string()).collect();
                if drgn_unusable(&want) {
                    skipped += 1;
                    assert!(
                        !matches!(bt.end, StackEnd::Truncated(_)) && ours.len() >= 2,
                        "{} {}: pid {} {}: {ours:?} {:?}",
                        rel.name,
                        d.name,
                        t.pid,
                        t.comm,
                        bt.end
                    );
                    continue;
                }
                if same_sequence(&ours, &want) && !matches!(bt.end, StackEnd::Truncated(_)) {
                    matched += 1;
                    frames += ours.len();
                } else {
                    bad.push(format!(
                        "pid {} {}:\n  ours {ours:?} {:?}\n  drgn {want:?}",
                        t.pid, t.comm, bt.end
                    ));
                }
            }
            eprintln!(
                "{} {}: {matched} tasks ({frames} frames) match drgn {name}, {skipped} skipped, {} differ",
                rel.name,
                d.name,
                bad.len()
            );
            assert!(
                bad.is_empty(),
                "{} {}: {} tasks differ from drgn:\n{}",
                rel.name,
                d.name,
                bad.len(),
                bad.join("\n")
            );
            assert!(
                matched > 50,
                "{} {}: only {matched} compared",
                rel.name,
                d.name
            );
        }
    }
}

/// crash ARM64 (bookworm only) leaves out frames quiesce and drgn show: it stops kthread
/// stacks at `kthread` (no `ret_from_fork`; on the running spinner it drops `kthread`
/// instead), skips the leaf `arch_cpu_idle` (its return address is only in x30) and the
/// idle tasks' `__primary_switched`/`__secondary_switched`. Every crash frame must be
/// quiesce's, in order, and every quiesce frame crash lacks must be one of those.
#[test]
fn arm64_backtraces_match_crash_on_bookworm() {
    const CRASH_DROPS: &[&str] = &[
        "ret_from_fork",
        "kthread",
        "arch_cpu_idle",
        "__primary_switched",
        "__secondary_switched",
    ];
    for rel in arm64_releases() {
        for d in rel.dumps() {
            let crash_dump = if rel.crash_reads(&d.name) {
                d.name.clone()
            } else {
                continue;
            };
            let text = rel.crash_ref(&crash_dump, "foreach_bt.txt").unwrap();
            let crash = parse_crash_bt(&text);
            let k = rel.open(&d.path);
            let u = Unwinder::new(&k).unwrap();
            let tasks = k.tasks().unwrap().tasks;
            assert_eq!(crash.len(), tasks.len(), "{} {}", rel.name, d.name);
            let (mut exact, mut frames) = (0, 0);
            for t in &tasks {
                let c = crash
                    .iter()
                    .find(|c| c.task == t.addr)
                    .unwrap_or_else(|| panic!("{}: crash has no task {:#x}", d.name, t.addr));
                let ours: Vec<String> = u
                    .backtrace(&k, t)
                    .functions()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                let mut it = ours.iter();
                let mut extra = Vec::new();
                for want in &c.functions {
                    loop {
                        let o = it.next().unwrap_or_else(|| {
                            panic!(
                                "{} {}: pid {} {}: crash frame {want} not in ours {ours:?} (crash {:?})",
                                rel.name, d.name, t.pid, t.comm, c.functions
                            )
                        });
                        if o == want {
                            break;
                        }
                        extra.push(o.clone());
                    }
                }
                extra.extend(it.cloned());
                for e in &extra {
                    assert!(
                        CRASH_DROPS.contains(&e.as_str()),
                        "{} {}: pid {} {}: {e} not in crash {:?} (ours {ours:?})",
                        rel.name,
                        d.name,
                        t.pid,
                        t.comm,
                        c.functions
                    );
                }
                frames += c.functions.len();
                if extra.is_empty() {
                    exact += 1;
                }
            }
            eprintln!(
                "{} {}: {} tasks, {frames} crash frames all found in order; {exact} tasks identical",
                rel.name,
                d.name,
                tasks.len()
            );
        }
    }
}

/// The image and linear-map shortcuts give what the dump's own page tables give (the TTBR1
/// walk from swapper_pg_dir: 4 levels at 48 bits, 5 with LPA2 at 52), for every task
/// structure (linear map), kernel-image symbols and vmalloc'd stacks (walked only).
#[test]
fn arm64_shortcuts_agree_with_the_page_tables() {
    use quiesce::addr::Kva;
    use quiesce::translate::Via;
    for rel in arm64_releases() {
        for d in rel.dumps().into_iter().filter(|d| d.name.ends_with(".elf")) {
            let k = rel.open(&d.path);
            let x = &k.mem.xlat;
            let a = x.arm64().expect("arm64 translation");
            let want_levels = if a.va_bits > 48 { 5 } else { 4 };
            assert_eq!(x.levels(), want_levels, "{} {}", rel.name, d.name);
            let tasks = k.tasks().unwrap().tasks;
            let mut addrs: Vec<u64> = tasks.iter().map(|t| t.addr).collect();
            for s in [
                "init_task",
                "jiffies",
                "linux_banner",
                "swapper_pg_dir",
                "_stext",
            ] {
                addrs.push(k.symbol_addr(s).unwrap().0);
            }
            let (mut image, mut linear) = (0, 0);
            for v in addrs {
                let (pa, via) = x
                    .fast_path(Kva(v))
                    .unwrap_or_else(|| panic!("{} {}: {v:#x} has no shortcut", rel.name, d.name));
                match via {
                    Via::KernelImage => image += 1,
                    Via::LinearMap { .. } => linear += 1,
                    other => panic!("{v:#x}: {other:?}"),
                }
                let walked = x
                    .walk(k.dump.as_ref(), Kva(v))
                    .unwrap_or_else(|e| panic!("{} {}: {v:#x}: {e}", rel.name, d.name));
                assert_eq!(pa, walked, "{} {}: {v:#x} {via}", rel.name, d.name);
            }
            // Stacks are vmalloc'd (VMAP_STACK): walked, no shortcut; CPU 0's idle task
            // runs on init_stack, in the image, where the shortcut must agree.
            let mut vmalloc = 0;
            for t in &tasks {
                let walked = x.walk(k.dump.as_ref(), Kva(t.stack)).unwrap_or_else(|e| {
                    panic!("{} {}: stack {:#x}: {e}", rel.name, d.name, t.stack)
                });
                match x.fast_path(Kva(t.stack)) {
                    None => vmalloc += 1,
                    Some((pa, via)) => {
                        assert_eq!(via, Via::KernelImage, "{:#x}", t.stack);
                        assert_eq!(pa, walked, "{:#x}", t.stack);
                    }
                }
            }
            assert!(vmalloc + 1 >= tasks.len(), "{vmalloc} of {}", tasks.len());
            eprintln!(
                "{} {}: {} levels; {image} image and {linear} linear-map addresses equal to the walk; {vmalloc} vmalloc'd stacks walked",
                rel.name,
                d.name,
                x.levels()
            );
        }
    }
}
