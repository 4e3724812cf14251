//! Backtraces of every task on every real fixture dump agree with crash's `foreach bt`;
//! where crash and drgn disagree, quiesce follows drgn and the test says which task and why.

mod common;

use common::{parse_crash_bt, release};
use quiesce::kernel::{self, OpenOptions};
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
    let Some(rel) = release("bookworm") else {
        return;
    };
    for d in rel.dumps() {
        let k = kernel::open(&OpenOptions {
            core: d.path.clone(),
            vmlinux: rel.vmlinux(),
            modules: vec![rel.modules_dir()],
        })
        .unwrap();
        let u = Unwinder::new(&k).unwrap();
        let tasks = k.tasks().unwrap().tasks;
        let crash_text = rel
            .crash_ref(&d.name, "foreach_bt.txt")
            .or_else(|| rel.crash_ref(&format!("{}.elf", d.scenario), "foreach_bt.txt"))
            .expect("crash foreach bt reference");
        let crash = parse_crash_bt(&crash_text);
        // drgn 0.3.0 cannot open QEMU's kdump files; the ELF of the same boot is the same
        // machine state.
        let drgn = rel
            .drgn_ref(&d.name)
            .filter(|j| j.get("stacks").is_some())
            .or_else(|| rel.drgn_ref(&format!("{}.elf", d.scenario)));
        assert_eq!(crash.len(), tasks.len(), "{}: task count vs crash", d.name);
        let mut disagreements = Vec::new();
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
                ours, dr,
                "{}: pid {} {} agrees with neither crash {:?} nor drgn",
                d.name, t.pid, t.comm, c.functions
            );
            let missing_in_crash: Vec<String> = ours
                .iter()
                .filter(|f| !c.functions.contains(f))
                .cloned()
                .collect();
            disagreements.push((t.comm.clone(), missing_in_crash));
        }
        // The only known disagreement: crash leaves out `do_dentry_open` under the fanotify
        // readers (`cat`). The return address into do_dentry_open is on their stacks (it
        // called security_file_open → fsnotify), drgn's DWARF-CFI unwinder and quiesce's
        // ORC walk both find it; quiesce follows drgn.
        for (comm, missing) in &disagreements {
            assert_eq!(
                comm, "cat",
                "{}: unexpected disagreement {disagreements:?}",
                d.name
            );
            assert_eq!(missing, &vec!["do_dentry_open"], "{}", d.name);
        }
        let readers = tasks
            .iter()
            .filter(|t| t.comm == "cat" && t.st == "UN")
            .count();
        assert_eq!(
            disagreements.len(),
            readers,
            "{}: the fanotify readers",
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
    let k = kernel::open(&OpenOptions {
        core: d.path.clone(),
        vmlinux: rel.vmlinux(),
        modules: vec![rel.modules_dir()],
    })
    .unwrap();
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
