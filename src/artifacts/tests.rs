//! Seed and edge-case tests for [`parse_text`]. Seeds are read from `fixtures/seeds/` (see its
//! README for where each came from).

use super::rcu_stall::{IrqWork, StallKind};
use super::*;

fn seed(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seeds")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn task(p: &ParsedArtifact, pid: u32) -> &TaskStack {
    p.tasks
        .iter()
        .find(|t| t.pid == Some(pid))
        .unwrap_or_else(|| panic!("no task {pid}"))
}

fn note<'a>(notes: &'a [rcu_stall::Note], field: &str) -> &'a rcu_stall::Note {
    notes
        .iter()
        .find(|n| n.field == field)
        .unwrap_or_else(|| panic!("no note {field}"))
}

#[test]
fn artifacts_seed_000_crash_foreach_bt() {
    let p = parse_text(&seed("000_crash_foreach_bt_fanotify.txt"));
    let pids: Vec<u32> = p.tasks.iter().filter_map(|t| t.pid).collect();
    assert_eq!(
        pids,
        [
            915, 916, 929, 930, 931, 932, 919, 918, 917, 920, 921, 922, 923, 924, 925, 926, 927,
            928, 44
        ]
    );
    assert!(p.tasks.iter().all(|t| t.origin == StackOrigin::CrashBt));
    assert_eq!(task(&p, 44).comm.as_deref(), Some("fsnotify_mark"));
    assert!(
        p.tasks[..18]
            .iter()
            .all(|t| t.comm.as_deref() == Some("fanotify07"))
    );
    // 916 is printed twice (in full, then again with notes): merged, the full stack kept.
    assert_eq!(p.duplicate_tasks_merged, 1);
    let t916 = task(&p, 916);
    assert_eq!(t916.task, Some(Kva(0xffff8000b4958c80)));
    assert_eq!(t916.cpu, Some(0));
    assert_eq!(
        t916.funcs(),
        [
            "__switch_to",
            "__schedule",
            "schedule",
            "schedule_timeout",
            "wait_for_common",
            "wait_for_completion",
            "__synchronize_srcu",
            "synchronize_srcu",
            "fsnotify_destroy_group",
            "fanotify_release",
            "__fput",
            "____fput",
            "task_work_run",
            "do_notify_resume",
            "work_pending"
        ]
    );
    let f6 = &t916.frames[6];
    assert_eq!(
        (f6.index, f6.sp, f6.addr),
        (
            Some(6),
            Some(Kva(0xffff8000f9827d10)),
            Some(Kva(0xffff80000011f83c))
        )
    );
    assert_eq!(
        task(&p, 44).funcs()[6..],
        [
            "__synchronize_srcu",
            "synchronize_srcu",
            "fsnotify_mark_destroy",
            "kthread"
        ]
    );
    // The 16 waiters were listed as headers and one stack, by hand: the grouping finds 16.
    let groups = p.stack_groups();
    assert_eq!(
        groups.iter().map(|g| g.members.len()).collect::<Vec<_>>(),
        [16, 1, 1, 1]
    );
    let g = &groups[0];
    assert_eq!(g.shared_by_hand, 16);
    assert_eq!(
        g.funcs,
        [
            "__switch_to",
            "__schedule",
            "schedule",
            "fanotify_handle_event",
            "fsnotify",
            "security_file_permission",
            "rw_verify_area",
            "vfs_read",
            "sys_read",
            "el0_svc_naked"
        ]
    );
    let mut gp: Vec<u32> = g.members.iter().filter_map(|m| m.pid).collect();
    gp.sort();
    assert_eq!(gp, (917..=932).collect::<Vec<_>>());
    // `[xxx]` redacted stack pointers.
    assert_eq!(task(&p, 928).frames[3].sp, None);
    // The notes and quoted source are counted, not fatal.
    assert!(p.unparsed_lines > 40, "{}", p.unparsed_lines);
    assert_eq!(p.unparsed_samples[0], (1, "##".to_string()));
}

#[test]
fn artifacts_seed_001_ai_trees() {
    let p = parse_text(&seed("001_ai_analysis_stack_trees.txt"));
    let who: Vec<(Option<u32>, Option<&str>)> =
        p.tasks.iter().map(|t| (t.pid, t.comm.as_deref())).collect();
    assert_eq!(
        who,
        [
            (Some(4086), Some("repro2")),
            (Some(9), Some("kworker/0:0")),
            (Some(11), Some("kworker/0:1")),
            (Some(4093), Some("repro2"))
        ]
    );
    assert!(
        p.tasks
            .iter()
            .all(|t| t.origin == StackOrigin::IndentedTree)
    );
    let t = task(&p, 4086);
    assert_eq!(
        t.funcs(),
        [
            "wait_for_completion",
            "__synchronize_srcu",
            "synchronize_srcu",
            "tracepoint_synchronize_unregister",
            "perf_trace_event_unreg",
            "perf_trace_destroy",
            "__free_event",
            "put_event",
            "perf_event_release_kernel",
            "perf_release",
            "__fput",
            "fput_close_sync",
            "__x64_sys_close"
        ]
    );
    assert_eq!(t.frames[0].note.as_deref(), Some("BLOCKED"));
    assert_eq!(t.frames[2].note.as_deref(), Some("args (&tracepoint_srcu)"));
    // The mail-wrapped `[file:line]` lines attach to the frame above them.
    assert_eq!(
        t.frames[4].source_loc.as_deref(),
        Some("kernel/trace/trace_event_perf.c:154")
    );
    assert_eq!(
        t.frames[3].source_loc.as_deref(),
        Some("include/linux/tracepoint.h:116")
    );
    let k = task(&p, 9);
    assert_eq!(
        k.funcs(),
        [
            "wait_for_completion",
            "synchronize_rcu_normal",
            "synchronize_rcu",
            "srcu_readers_active_idx_check",
            "try_check_zero",
            "srcu_advance_state",
            "process_srcu"
        ]
    );
    assert_eq!(
        k.frames[6].source_loc.as_deref(),
        Some("kernel/rcu/srcutree.c:1304")
    );
    assert_eq!(
        k.frames[2].note.as_deref(),
        Some("SRCU-fast path, line 569")
    );
    let r = task(&p, 4093);
    assert_eq!(r.state.as_deref(), Some("R"));
    assert_eq!(
        r.funcs(),
        [
            "finish_task_switch",
            "__schedule",
            "preempt_schedule_irq",
            "irqentry_exit",
            "asm_sysvec_apic_timer_interrupt"
        ]
    );
    let groups = p.stack_groups();
    assert_eq!(groups[0].members.len(), 2);
    assert_eq!(
        groups[0]
            .members
            .iter()
            .map(|m| m.pid.unwrap())
            .collect::<Vec<_>>(),
        [9, 11]
    );
    // The quoted `rcu: Tasks blocked on level-0 rcu_node (CPUs 0-1): P4093` line is decoded.
    assert_eq!(p.stalls.len(), 1);
    let s = &p.stalls[0];
    assert_eq!(s.kind, StallKind::Fragment);
    let b = &s.blocked_tasks[0];
    assert_eq!((b.level, b.cpus), (Some(0), Some((0, 1))));
    assert_eq!(b.tasks[0].pid, 4093);
    assert_eq!(p.unparsed_lines, 4);
}

#[test]
fn artifacts_seed_002_lkml_self_detected_stall() {
    let p = parse_text(&seed("002_lkml_rcu_self_detected_stall.txt"));
    // Mail wrapping undone: cpu line, summary-less starved line, Unless line, task line (x2),
    // two "CPU: ... Not tainted" release lines and one "A from" line.
    assert_eq!(p.joined_lines, 7);
    assert_eq!(p.stalls.len(), 1);
    let s = &p.stalls[0];
    assert_eq!(
        (s.flavor.as_deref(), s.kind),
        (Some("rcu_sched"), StallKind::SelfDetected)
    );
    assert_eq!(s.cpus.len(), 1);
    let c = &s.cpus[0];
    assert_eq!((c.cpu, c.flags.as_str()), (1, "...!"));
    assert!(!c.offline && !c.not_in_qsmaskinit && !c.not_in_qsmaskinitnext);
    assert_eq!(c.irq_work, IrqWork::NotQueued);
    assert_eq!((c.ticks_this_gp, c.gps_behind), (Some(2099), None));
    let idle = c.idle.as_ref().unwrap();
    assert_eq!(
        (
            idle.counter,
            idle.counter_digits,
            idle.nesting,
            idle.nmi_nesting
        ),
        (0x403c, 4, 1, 0x40000002)
    );
    assert_eq!(idle.rcu_watching, Some(true));
    assert_eq!(c.softirq, Some((33, 33)));
    assert_eq!(c.fqs, Some(1));
    assert!(
        note(&c.notes, "softirq")
            .meaning
            .contains("has not run there")
    );
    assert_eq!(note(&c.notes, "flag irq-work").raw, "!");
    let sum = s.summary.as_ref().unwrap();
    assert_eq!(
        (
            sum.detected_by,
            sum.t_jiffies,
            sum.g,
            sum.c,
            sum.q,
            sum.ncpus
        ),
        (None, Some(2100), Some(-1135), None, Some(4), Some(2))
    );
    let st = s.starved.as_ref().unwrap();
    assert_eq!(
        (st.flavor.as_str(), st.jiffies, st.g, st.gp_flags),
        ("rcu_sched", 2098, Some(-1135), Some(0))
    );
    assert_eq!(
        (st.gp_state_name.as_deref(), st.gp_state_num),
        (Some("RCU_GP_WAIT_FQS"), Some(5))
    );
    assert_eq!(
        (st.task_state, st.cpu, st.task_state_names.clone()),
        (Some(0), Some(1), vec!["TASK_RUNNING".to_string()])
    );
    assert!(
        note(&st.notes, "->state")
            .meaning
            .contains("runnable but not getting CPU")
    );
    assert!(
        note(&st.notes, "gp_state")
            .meaning
            .contains("4.19+ numbering")
    );
    assert!(s.oom_expected);

    // The WARNING trace (arm32 "A from B"), the GP kthread's stack, the NMI backtrace.
    assert_eq!(p.tasks.len(), 3);
    let w = &p.tasks[0];
    assert_eq!(
        (w.pid, w.comm.as_deref(), w.cpu, w.origin),
        (
            Some(34),
            Some("kworker/1:4"),
            Some(1),
            StackOrigin::CpuContext
        )
    );
    assert_eq!(w.frames.len(), 11);
    assert_eq!(w.frames[5].func, "kernfs_put.part.0");
    assert_eq!(
        (w.frames[5].offset, w.frames[5].size),
        (Some(0x1a4), Some(0x1d8))
    );
    assert_eq!(w.frames[10].func, "ret_from_fork");
    let k = task(&p, 10);
    assert_eq!(
        (k.comm.as_deref(), k.state.as_deref(), k.origin),
        (Some("rcu_sched"), Some("R"), StackOrigin::SchedShowTask)
    );
    assert_eq!(
        k.funcs(),
        [
            "__schedule",
            "schedule",
            "schedule_timeout",
            "rcu_gp_fqs_loop",
            "rcu_gp_kthread",
            "kthread",
            "ret_from_fork"
        ]
    );
    let n = &p.tasks[2];
    assert_eq!(n.frames.len(), 22);
    // The wrapped `nmi_trigger_cpumask_backtrace from` / `rcu_check_gp_kthread_starvation+..`.
    assert_eq!(n.frames[5].func, "rcu_check_gp_kthread_starvation");
    assert_eq!(n.frames[5].offset, Some(0x138));
    // Through the `Exception stack(...)` / `...` lines to the raw return address.
    assert_eq!(n.frames[19].func, "__irq_svc");
    assert_eq!(n.frames[21].addr, Some(Kva(0xef7cbb00)));
    assert_eq!(p.unparsed_lines, 3);
}

#[test]
fn artifacts_seed_003_prose_only() {
    let text = seed("003_nocb_race_prose.txt");
    let p = parse_text(&text);
    assert!(p.tasks.is_empty() && p.stalls.is_empty() && p.hung_tasks.is_empty());
    let nonblank = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(p.unparsed_lines, nonblank);
    assert_eq!(p.unparsed_samples.len(), UNPARSED_SAMPLES);
    assert_eq!(p.total_lines, 22); // 21 newlines, no newline after the last line
}

#[test]
fn artifacts_seed_004_qemu_stall_logs() {
    let p = parse_text(&seed("004_qemu_rcu_stall_logs.txt"));
    assert_eq!(p.stalls.len(), 3);
    for (s, (t, act, jif, timer, starved, q, by)) in p.stalls[..2].iter().zip([
        (42141, 42025, 4298858205u64, 42031, 42048, 61, 7),
        (63241, 63126, 4298879306, 63133, 63151, 151, 0),
    ]) {
        assert_eq!(
            (s.flavor.as_deref(), s.kind),
            (Some("rcu_preempt"), StallKind::OtherCpus)
        );
        assert!(s.cpus.is_empty());
        let sum = s.summary.as_ref().unwrap();
        assert_eq!(
            (sum.detected_by, sum.t_jiffies, sum.g, sum.q, sum.ncpus),
            (Some(by), Some(t), Some(10393), Some(q), Some(8))
        );
        assert!(
            note(&sum.notes, "g")
                .meaning
                .contains("counter 2598 with state bits 1")
        );
        let a = s.all_qs_seen.as_ref().unwrap();
        assert_eq!(
            (
                a.kthread_inactive_jiffies,
                a.jiffies,
                a.gp_activity,
                a.jiffies_till_next_fqs,
                a.root_qsmask
            ),
            (act, Some(jif), Some(4298816180), Some(3), Some(0))
        );
        let tw = s.timer_wakeup.as_ref().unwrap();
        assert_eq!(
            (
                tw.jiffies,
                tw.g,
                tw.gp_flags,
                tw.gp_state_num,
                tw.task_state
            ),
            (timer, Some(10393), Some(2), Some(5), Some(0x200))
        );
        assert_eq!(tw.gp_flag_names, ["RCU_GP_FLAG_FQS"]);
        assert_eq!(tw.task_state_names, ["TASK_WAKING"]);
        let ti = s.timer_issue.as_ref().unwrap();
        assert_eq!((ti.cpu, ti.timer_softirq), (1, 2124));
        let st = s.starved.as_ref().unwrap();
        assert_eq!(
            (st.jiffies, st.cpu, st.task_state),
            (starved, Some(1), Some(0x200))
        );
        assert!(s.oom_expected);
    }
    let s = &p.stalls[2];
    assert_eq!(s.kind, StallKind::SelfDetected);
    let c = &s.cpus[0];
    assert_eq!(
        (c.cpu, c.flags.as_str(), c.ticks_this_gp, c.softirq, c.fqs),
        (3, "...!", Some(4), Some((4614, 4614)), Some(0))
    );
    let idle = c.idle.as_ref().unwrap();
    assert_eq!(
        (
            idle.counter,
            idle.nesting,
            idle.nmi_nesting,
            idle.rcu_watching
        ),
        (0xf824, 0, 1, Some(true))
    );
    assert_eq!(
        note(&c.notes, "fqs").meaning,
        "force-quiescent-state scans that reached this CPU during this stall: none — the grace-period kthread has not run its FQS loop"
    );
    let sum = s.summary.as_ref().unwrap();
    assert_eq!(
        (sum.t_jiffies, sum.g, sum.q, sum.ncpus),
        (Some(39404443), Some(18581), Some(33), Some(8))
    );

    // Stacks: two bpftrace, two GP-kthread dumps, two "idling at", the NMI backtrace, the panic.
    let origins: Vec<StackOrigin> = p.tasks.iter().map(|t| t.origin).collect();
    use StackOrigin::*;
    assert_eq!(
        origins,
        [
            Bpftrace,
            Bpftrace,
            SchedShowTask,
            CpuContext,
            SchedShowTask,
            CpuContext,
            CpuContext,
            CpuContext
        ]
    );
    let b = &p.tasks[0];
    assert_eq!(b.frames.len(), 17);
    assert_eq!(
        (b.frames[0].func.as_str(), b.frames[0].offset),
        ("invoke_rcu_core", Some(1))
    );
    assert_eq!(b.frames[16].func, "secondary_startup_64_no_verify");
    assert_eq!(p.tasks[1].frames.len(), 12);
    let k = &p.tasks[2];
    assert_eq!(
        (k.pid, k.comm.as_deref(), k.state.as_deref()),
        (Some(14), Some("rcu_preempt"), Some("R"))
    );
    assert_eq!(k.frames.len(), 11);
    assert_eq!(k.frames.iter().filter(|f| !f.reliable).count(), 4);
    assert_eq!(
        k.stack_key(),
        [
            "__schedule",
            "schedule",
            "schedule_timeout",
            "rcu_gp_fqs_loop",
            "rcu_gp_kthread",
            "kthread",
            "ret_from_fork"
        ]
    );
    assert!(
        k.frames
            .iter()
            .all(|f| f.context.as_deref() == Some("TASK"))
    );
    assert_eq!(
        (p.tasks[3].cpu, p.tasks[3].funcs()),
        (Some(1), vec!["default_idle"])
    );
    let sw = &p.tasks[6];
    assert_eq!(
        (sw.pid, sw.comm.as_deref(), sw.cpu),
        (Some(0), Some("swapper/3"), Some(3))
    );
    assert_eq!(sw.frames.len(), 26);
    assert_eq!(sw.frames[0].context.as_deref(), Some("IRQ"));
    let rip = sw
        .frames
        .iter()
        .position(|f| f.note.as_deref() == Some("RIP"))
        .unwrap();
    assert_eq!(sw.frames[rip].func, "default_idle");
    assert_eq!(sw.frames[rip - 1].func, "asm_sysvec_apic_timer_interrupt");
    assert_eq!(sw.frames[rip].context.as_deref(), Some("TASK"));
    let panic = &p.tasks[7];
    assert_eq!((panic.pid, panic.comm.as_deref()), (Some(1), Some("init")));
    assert_eq!(
        panic.stack_key(),
        [
            "dump_stack_lvl",
            "panic",
            "do_exit.cold",
            "do_group_exit",
            "__x64_sys_exit_group",
            "do_syscall_64",
            "entry_SYSCALL_64_after_hwframe"
        ]
    );
    assert_eq!(
        panic
            .frames
            .iter()
            .filter(|f| f.note.as_deref() == Some("salvaged from interleaved console output"))
            .count(),
        3
    );
    // Same GP-kthread stack twice (unreliable frames ignored), "idling" twice.
    let g = p.stack_groups();
    assert_eq!(g[0].members.len(), 2);
    assert_eq!(g[0].members[0].pid, Some(14));
    assert_eq!(g[1].funcs, ["default_idle"]);
    assert_eq!(p.unparsed_lines, 1);
    assert!(
        p.log_records
            .iter()
            .filter(|r| r.timestamp.is_some())
            .count()
            > 100
    );
}

const HUNG: &str = "\
[  246.123456] INFO: task kworker/0:1:11 blocked for more than 143 seconds.
[  246.123460]       Tainted: G        W          7.0.0-rc1 #1
[  246.123461] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.
[  246.123462] task:kworker/0:1     state:D stack:0     pid:11    tgid:11    ppid:2      task_flags:0x4208060 flags:0x00004000
[  246.123463] Workqueue: rcu_gp process_srcu
[  246.123464] Call Trace:
[  246.123465]  <TASK>
[  246.123466]  __schedule+0x4a3/0x1000
[  246.123467]  schedule+0x27/0xd0
[  246.123468]  schedule_timeout+0xfd/0x110
[  246.123469]  ? __pfx_process_timeout+0x10/0x10
[  246.123470]  wait_for_completion+0x8c/0x140
[  246.123471]  synchronize_rcu_normal+0x10e/0x150
[  246.123472]  srcu_readers_active_idx_check+0x1b2/0x1c0 [srcu_mod]
[  246.123473]  process_srcu+0x6d/0x3a0
[  246.123474]  </TASK>
[  246.123475] INFO: task kworker/0:1:11 is blocked on a mutex likely owned by task repro2:4086.
[  246.123476] task:repro2          state:D stack:0     pid:4086  tgid:4086  ppid:1      flags:0x00000002
[  246.123477] Call Trace:
[  246.123478]  <TASK>
[  246.123479]  __schedule+0x4a3/0x1000
[  246.123480]  schedule+0x27/0xd0
[  246.123481]  </TASK>
[  300.000001] INFO: task fanotify07:916 blocked for more than 120 seconds.
[  300.000002]       Not tainted 4.19.0-rc1 #3
[  300.000003] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.
[  300.000004] fanotify07      D    0   916    915 0x00000000
[  300.000005] Call trace:
[  300.000006]  __switch_to+0x94/0xd8
[  300.000007]  __schedule+0x2a0/0x8a8
[  300.000008]  schedule+0x38/0xa0
";

#[test]
fn artifacts_hung_task_reports() {
    let p = parse_text(HUNG);
    assert_eq!(p.hung_tasks.len(), 2);
    let h = &p.hung_tasks[0];
    assert_eq!(
        (h.comm.as_str(), h.pid, h.blocked_secs),
        ("kworker/0:1", 11, Some(143))
    );
    assert_eq!(
        (
            h.tainted.as_deref(),
            h.release.as_deref(),
            h.version.as_deref()
        ),
        (Some("Tainted: G W"), Some("7.0.0-rc1"), Some("#1"))
    );
    let s = h.sched.as_ref().unwrap();
    assert_eq!(
        (
            s.state.as_str(),
            s.pid,
            s.tgid,
            s.ppid,
            s.flags,
            s.task_flags
        ),
        (
            "D",
            Some(11),
            Some(11),
            Some(2),
            Some(0x4000),
            Some(0x4208060)
        )
    );
    assert_eq!(h.frames.len(), 8);
    assert_eq!(h.frames[3].func, "__pfx_process_timeout");
    assert!(!h.frames[3].reliable);
    assert_eq!(h.frames[6].module.as_deref(), Some("srcu_mod"));
    assert_eq!(h.blockers.len(), 1);
    let b = &h.blockers[0];
    assert_eq!(
        (b.kind.as_str(), b.owner_comm.as_deref(), b.owner_pid),
        ("mutex", Some("repro2"), Some(4086))
    );
    let h = &p.hung_tasks[1];
    assert_eq!((h.pid, h.blocked_secs), (916, Some(120)));
    assert_eq!(
        (h.tainted.as_deref(), h.release.as_deref()),
        (Some("Not tainted"), Some("4.19.0-rc1"))
    );
    let s = h.sched.as_ref().unwrap();
    assert!(!s.keyed_format);
    assert_eq!((s.pid, s.ppid), (Some(916), Some(915)));
    assert_eq!(h.frames.len(), 3);
    // Three stacks: the hung kworker, the mutex owner, the 4.19 task.
    assert_eq!(
        p.tasks.iter().map(|t| t.pid).collect::<Vec<_>>(),
        [Some(11), Some(4086), Some(916)]
    );
    assert_eq!(p.unparsed_lines, 0);
    assert!(p.log_records.iter().all(|r| r.timestamp.is_some()));
}

#[test]
fn artifacts_crlf_tabs_and_nbsp_match_plain() {
    let plain = seed("002_lkml_rcu_self_detected_stall.txt");
    let crlf = plain.replace('\n', "\r\n");
    let a = parse_text(&plain);
    let b = parse_text(&crlf);
    assert_eq!(a.stalls, b.stalls);
    assert_eq!(a.tasks, b.tasks);
    assert_eq!(a.unparsed_lines, b.unparsed_lines);
    // Tabs and non-breaking spaces as separators.
    let p = parse_text(
        "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\nrcu:\t\u{a0}0-....: (21002 ticks this GP)\tidle=0a3/1/0x4000000000000000 softirq=100/101 fqs=5\n\t(detected by 1, t=21003 jiffies, g=4321, q=9 ncpus=2)\n",
    );
    let c = &p.stalls[0].cpus[0];
    assert_eq!((c.cpu, c.ticks_this_gp, c.fqs), (0, Some(21002), Some(5)));
    assert_eq!(c.idle.as_ref().unwrap().counter_digits, 3);
    assert_eq!(p.stalls[0].summary.as_ref().unwrap().detected_by, Some(1));
}

#[test]
fn artifacts_garbage_and_truncation_are_counted() {
    let text = "\u{0}\u{7f}garbage line\n%%%% ####\n PID: x TASK:\n #3 [ffff] trunc\n INFO: task foo\n3-...!: (4 ticks th\n(t=\nsoftirq=1/1\nP\n<\n[ 1.0\n\u{fffd}\u{fffd}\n\n";
    let p = parse_text(text);
    assert!(p.tasks.is_empty() && p.stalls.is_empty() && p.hung_tasks.is_empty());
    assert_eq!(p.unparsed_lines, 12);
    assert_eq!(p.unparsed_samples.len(), UNPARSED_SAMPLES);
    assert_eq!(p.total_lines, 13);
    // Every prefix of a real report parses without panicking (truncated pastes).
    let s = seed("004_qemu_rcu_stall_logs.txt");
    let mut cut = 0;
    while cut < s.len() {
        if s.is_char_boundary(cut) {
            let _ = parse_text(&s[..cut]);
        }
        cut += 97;
    }
    // A stall line cut mid-field keeps what was there.
    let p = parse_text(
        "rcu: INFO: rcu_sched self-detected stall on CPU\nrcu: \t1-...!: (2099 ticks this GP) idle=403c/1/0x4000",
    );
    let c = &p.stalls[0].cpus[0];
    assert_eq!(c.ticks_this_gp, Some(2099));
    assert_eq!(c.idle.as_ref().unwrap().nmi_nesting, 0x4000);
    assert_eq!(c.softirq, None);
}

#[test]
fn artifacts_large_input_bounded_time() {
    // ~600 KB of mixed real and random-ish lines (QUIESCE_BIG_BYTES=10000000 for the 10 MB
    // run; it takes a few seconds in a debug build).
    let real = seed("004_qemu_rcu_stall_logs.txt") + &seed("000_crash_foreach_bt_fanotify.txt");
    let mut text = String::new();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut i = 0;
    let size: usize = std::env::var("QUIESCE_BIG_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600_000);
    while text.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 6 {
            0 => text.push_str(&format!(
                "[{:>5}.{:06}] random {:x} func+0x{:x}/0x{:x}\n",
                i,
                x % 1_000_000,
                x,
                x % 0xfff,
                x % 0xffff
            )),
            1 => text.push_str(&format!(
                "{:x} {} P{} (t= idle=\n",
                x,
                "x".repeat((x % 200) as usize),
                x % 9999
            )),
            3 => text.push_str(&format!(
                "PID: {}  TASK: {:x}  CPU: {}  COMMAND: \"t{}\"\n",
                x % 5000,
                x % 4096,
                x % 8,
                x % 3
            )),
            2 => text.push_str(&format!(" #{} [{:x}] f{} at {:x}\n", x % 40, x, x % 7, x)),
            _ => text.push_str(
                &real[(x as usize % (real.len() - 200))..][..150]
                    .replace(|c: char| !c.is_ascii(), "?"),
            ),
        }
        i += 1;
    }
    let start = std::time::Instant::now();
    let p = parse_text(&text);
    let took = start.elapsed();
    assert!(took.as_secs() < 20, "took {took:?}");
    assert!(p.total_lines > 5000);
    assert!(p.unparsed_lines > 0);
    let _ = p.stack_groups();
}

#[test]
fn artifacts_serializes_to_json() {
    let p = parse_text(&seed("002_lkml_rcu_self_detected_stall.txt"));
    let j = serde_json::to_value(&p).unwrap();
    assert_eq!(j["stalls"][0]["cpus"][0]["idle"]["counter"], 0x403c);
    assert_eq!(j["tasks"][2]["frames"][21]["addr"], "0xef7cbb00");
    let g = serde_json::to_value(p.stack_groups()).unwrap();
    assert_eq!(g.as_array().unwrap().len(), 3);
}
