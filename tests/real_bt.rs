//! Backtraces of every task on every real fixture dump agree with crash's `foreach bt`;
//! where crash and drgn disagree, quiesce follows drgn and the test says which task and why.

mod common;

use common::{parse_crash_bt, release};
use quiesce::kernel;
use quiesce::unwind::task::Unwinder;
use quiesce::unwind::walk::{FrameSource, StackEnd};
use serde_json::Value;

/// drgn's non-inline function names for a task, as crash would name them: drgn names the
/// syscall entry frame `entry_SYSCALL_64` (the FUNC symbol) where crash and quiesce name
/// the label `entry_SYSCALL_64_after_hwframe` the pc is at, and drgn appends user-space pcs.
fn drgn_functions(stack: &Value) -> Option<Vec<String>> {
    let frames = stack["frames"].as_array()?;
    Some(
        frames
            .iter()
            .filter(|f| !f["is_inline"].as_bool().unwrap_or(false))
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .filter(|n| !n.starts_with("0x"))
            .map(|n| {
                if n == "entry_SYSCALL_64" {
                    "entry_SYSCALL_64_after_hwframe".to_string()
                } else {
                    n
                }
            })
            .collect(),
    )
}

#[test]
fn backtraces_match_crash_and_drgn() {
    for rel in common::releases() {
        backtraces_match_on(&rel);
    }
}

/// The production-sized fixture (`fixtures/build.sh bookworm-big`): every one of its
/// 10 000+ tasks, module frames included (several dozen modules loaded).
#[test]
fn backtraces_match_crash_and_drgn_on_the_big_dumps() {
    for rel in common::big_releases() {
        backtraces_match_on(&rel);
        // `stacks` groups the tasks as drgn's traces do: its largest group (in the crowd,
        // the thread pools' futex wait) has as many tasks as drgn's largest set of
        // identical stacks.
        for d in rel.dumps() {
            let (drgn, from) = rel.drgn_for(&d);
            let mut sizes: std::collections::HashMap<Vec<String>, usize> = Default::default();
            for stack in drgn["stacks"].as_object().expect("drgn stacks").values() {
                if let Some(f) = drgn_functions(stack) {
                    *sizes.entry(f).or_default() += 1;
                }
            }
            let (want_fns, want) = sizes.into_iter().max_by_key(|(_, n)| *n).unwrap();
            let (code, out, err) = common::run_quiesce(&[
                "stacks".as_ref(),
                "--json".as_ref(),
                "-c".as_ref(),
                d.path.as_os_str(),
                "-s".as_ref(),
                rel.vmlinux().as_os_str(),
                "-s".as_ref(),
                rel.modules_dir().as_os_str(),
            ]);
            assert_eq!(code, 0, "{} {}: {err}", rel.name, d.name);
            let j: Value = serde_json::from_str(&out).unwrap();
            let top = &j["groups"][0];
            if d.scenario == "hang" {
                assert!(want >= 3_000, "{from}: largest drgn group {want}");
            }
            assert_eq!(
                top["count"].as_u64(),
                Some(want as u64),
                "{} {}",
                rel.name,
                d.name
            );
            let fns: Vec<String> = top["functions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect();
            assert_eq!(fns, want_fns, "{} {}", rel.name, d.name);
        }
    }
}

/// Where crash cannot read a release (sid: crash 9.0.2 stops at start-up on 7.x), drgn is
/// the reference: every task both read has the same non-inline function sequence.
fn backtraces_match_drgn_only(rel: &common::Release, d: &common::DumpEntry, k: &kernel::Kernel) {
    let u = Unwinder::new(k).unwrap();
    let drgn = rel
        .drgn_ref(&rel.twin(d))
        .expect("drgn reference of the ELF");
    let mut compared = 0;
    for t in k.tasks().unwrap().tasks {
        let key = format!("{}@{:#x}", t.pid, t.addr);
        let Some(want) = drgn_functions(&drgn["stacks"][&key]) else {
            continue;
        };
        let bt = u.backtrace(k, &t);
        // sid's makedumpfile (1.7.8 on a 7.x kernel) excluded pages the tasks still use: a
        // trace cut there is marked and names the excluded page; the ELF has them all.
        if let StackEnd::Truncated(why) = &bt.end
            && d.name.contains(".mkd-")
            && why.contains("excluded")
        {
            continue;
        }
        assert!(
            !matches!(bt.end, StackEnd::Truncated(_)),
            "{} {}: pid {} {} truncated: {:?}",
            rel.name,
            d.name,
            t.pid,
            t.comm,
            bt.end
        );
        let ours: Vec<String> = bt.functions().iter().map(|s| s.to_string()).collect();
        // quiesce, like crash, names a pc by the nearest label (`common_startup_64`), drgn by
        // the function symbol that contains it (`secondary_startup_64`): the same frame.
        let inside = |label: &str, func: &str| match (k.di.symbol(label), k.di.symbol(func)) {
            (Some(l), Some(f)) => l.addr >= f.addr && l.addr < f.addr + f.size.max(1),
            _ => false,
        };
        // And drgn names a GCC clone by its DWARF name (`__mutex_lock`, `__clocksource_register_scale`),
        // crash and quiesce by the symbol (`__mutex_lock.constprop.0`, `….cold`); C function
        // names have no dots, so the source name is what precedes the first one.
        let source_name = |o: &str| o.split('.').next().unwrap_or(o).to_string();
        let same = ours.len() == want.len()
            && ours
                .iter()
                .zip(&want)
                .all(|(o, w)| o == w || source_name(o) == *w || inside(o, w));
        assert!(
            same,
            "{} {}: pid {} {}:\n ours {ours:?}\n drgn {want:?}",
            rel.name, d.name, t.pid, t.comm
        );
        compared += 1;
    }
    let enough = if d.name.contains(".mkd-") { 30 } else { 50 };
    assert!(
        compared > enough,
        "{} {}: only {compared} tasks compared",
        rel.name,
        d.name
    );
}

fn backtraces_match_on(rel: &common::Release) {
    for d in rel.dumps() {
        if d.name.contains(".mkd-") && rel.unreadable_by_references(&d.name) {
            // makedumpfile -d 31 dropped pages of task_structs here (sid: drgn reads 0
            // tasks, quiesce a marked partial list); tests/real_ps_log.rs covers that case.
            continue;
        }
        let k = rel.open(&d.path);
        let u = Unwinder::new(&k).unwrap_or_else(|e| panic!("{} {}: {e}", rel.name, d.name));
        let tasks = k.tasks().unwrap().tasks;
        let crash_text = rel
            .crash_ref(&d.name, "foreach_bt.txt")
            .or_else(|| rel.crash_ref(&rel.twin(&d), "foreach_bt.txt"))
            .expect("crash foreach bt reference");
        let crash = parse_crash_bt(&crash_text);
        if crash.is_empty() {
            backtraces_match_drgn_only(rel, &d, &k);
            continue;
        }
        // drgn 0.3.0 cannot open QEMU's kdump files; the ELF of the same boot (the big
        // fixture: its makedumpfile dump) is the same machine state.
        let drgn = rel
            .drgn_ref(&d.name)
            .filter(|j| j.get("stacks").is_some())
            .or_else(|| rel.drgn_ref(&rel.twin(&d)));
        assert_eq!(crash.len(), tasks.len(), "{}: task count vs crash", d.name);
        let mut disagreements = Vec::new();
        let mut in_pause = 0;
        for t in &tasks {
            let c = crash
                .iter()
                .find(|c| c.task == t.addr)
                .unwrap_or_else(|| panic!("{}: crash has no task {:#x}", d.name, t.addr));
            let bt = u.backtrace(&k, t);
            assert!(
                !matches!(bt.end, StackEnd::Truncated(_)),
                "{}: pid {} {} truncated: {:?}",
                d.name,
                t.pid,
                t.comm,
                bt.end
            );
            let mut ours: Vec<String> = bt.functions().iter().map(|s| s.to_string()).collect();
            in_pause += usize::from(ours.iter().any(|f| f == "__do_sys_pause"));
            // drgn lists the running task's prstatus frame like any other.
            let all = ours.clone();
            // A running task's first frame is its prstatus pc: crash's "exception RIP".
            if bt.frames.first().map(|f| f.how) == Some(FrameSource::Prstatus) {
                let first = ours.remove(0);
                assert_eq!(
                    c.exception_rip.as_deref(),
                    Some(first.as_str()),
                    "{}: pid {}",
                    d.name,
                    t.pid
                );
            }
            if ours == c.functions {
                continue;
            }
            // crash and quiesce differ: drgn decides, and the difference must be explained.
            let key = format!("{}@{:#x}", t.pid, t.addr);
            let dr = drgn
                .as_ref()
                .and_then(|j| drgn_functions(&j["stacks"][&key]))
                .unwrap_or_else(|| panic!("{}: pid {} differs from crash and drgn has no stack:\n ours  {ours:?}\n crash {:?}", d.name, t.pid, c.functions));
            assert_eq!(
                all, dr,
                "{}: pid {} {} agrees with neither crash {:?} nor drgn",
                d.name, t.pid, t.comm, c.functions
            );
            let missing_in_crash: Vec<String> = ours
                .iter()
                .filter(|f| !c.functions.contains(f))
                .cloned()
                .collect();
            // crash can list an interrupted function twice across an IRQ exception frame
            // (the pt_regs RIP, then the same function again from a stack word); drgn and
            // quiesce list it once (seen on a fresh rcustall dump whose staller was caught
            // in its timer interrupt).
            let mut once = c.functions.clone();
            once.dedup();
            if missing_in_crash.is_empty() && once == ours {
                continue;
            }
            disagreements.push((t.comm.clone(), missing_in_crash));
        }
        // The known disagreements, each a frame crash leaves out whose return address is
        // on the stack, found by drgn's DWARF-CFI unwinder and quiesce's ORC walk alike
        // (quiesce follows drgn, checked above): `do_dentry_open` under the fanotify
        // readers (`cat`: it called security_file_open → fsnotify), and, in the big
        // fixture, `__do_sys_pause` under the crowd's 500 main threads blocked in pause().
        let known = |comm: &str, missing: &[String]| match comm {
            "cat" => missing == ["do_dentry_open"],
            "crowd" => missing == ["__do_sys_pause"],
            _ => false,
        };
        for (comm, missing) in &disagreements {
            assert!(
                known(comm, missing),
                "{}: unexpected disagreement {comm} {missing:?}",
                d.name
            );
        }
        // crash leaves __do_sys_pause out of every such stack, not of some.
        let paused = disagreements.iter().filter(|(c, _)| c == "crowd").count();
        assert!(
            paused == 0 || paused == in_pause,
            "{} {}: crash left __do_sys_pause out of {paused} of the {in_pause} stacks that have it",
            rel.name,
            d.name
        );
        let disagreements: Vec<_> = disagreements.iter().filter(|(c, _)| c == "cat").collect();
        let readers = tasks
            .iter()
            .filter(|t| t.comm == "cat" && t.st == "UN")
            .count();
        // On 6.1 crash drops do_dentry_open under every fanotify reader; on 6.12 it agrees.
        assert!(
            disagreements.is_empty() || disagreements.len() == readers,
            "{} {}: the fanotify readers: {disagreements:?}",
            rel.name,
            d.name
        );
    }
}

#[test]
fn module_tasks_show_their_chains_with_lines() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let d = &rel.dumps_of("hang")[0];
    let k = rel.open(&d.path);
    let u = Unwinder::new(&k).unwrap();
    let tasks = k.tasks().unwrap().tasks;
    let sync = tasks.iter().find(|t| t.comm == "qh_srcu_sync").unwrap();
    let bt = u.backtrace(&k, sync);
    assert_eq!(
        bt.functions(),
        [
            "__schedule",
            "schedule",
            "schedule_timeout",
            "__wait_for_common",
            "__synchronize_srcu",
            "qh_srcu_sync",
            "kthread",
            "ret_from_fork"
        ]
    );
    // file:line on every vmlinux frame, kernel-tree relative.
    for f in bt.frames.iter().filter(|f| f.module.is_none()) {
        let file = f
            .file
            .as_deref()
            .unwrap_or_else(|| panic!("no file for {:?}", f.function));
        assert!(
            !file.starts_with('/') && !file.starts_with("debian/"),
            "{file}"
        );
        assert!(f.line.is_some_and(|l| l > 0));
    }
    let wfc = bt
        .frames
        .iter()
        .find(|f| f.function.as_deref() == Some("__wait_for_common"))
        .unwrap();
    assert_eq!(wfc.file.as_deref(), Some("kernel/sched/completion.c"));
    let module_frame = bt
        .frames
        .iter()
        .find(|f| f.function.as_deref() == Some("qh_srcu_sync"))
        .unwrap();
    assert_eq!(module_frame.module.as_deref(), Some("quiesce_hang"));
    // The fanotify readers form one group of four identical stacks.
    let traces: Vec<_> = tasks.iter().map(|t| u.backtrace(&k, t)).collect();
    let groups = quiesce::report::bt::StacksReport::new(&traces);
    let fan = groups
        .groups
        .iter()
        .find(|g| g.functions.iter().any(|f| f == "fanotify_handle_event"))
        .unwrap();
    assert_eq!(fan.count, 4);
    assert_eq!(fan.comms, ["cat"]);
}
