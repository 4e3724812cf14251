//! Names that match the world's buckets: per report, the title syzbot would give it
//! (syzkaller `pkg/report/linux.go`: the hang-task and stall frame extractors, after its
//! common frame-skip list), next to quiesce's own wait-graph signature (the chain of the
//! finding that explains the report, with pids and CPU numbers left out, so the same hang
//! reads the same on every boot); and stacks grouped by the caller of the locking API
//! rather than by whole stacks (waiters of one lock from one call site are one group,
//! whatever sits above them).

use serde::Serialize;

use super::super::find::Finding;
use super::super::graph::{EdgeKind, Graph, NodeKind};
use super::super::waits::base_name;
use super::super::walkthrough::Explanation;
use super::location::interrupted;
use crate::artifacts::{ParsedArtifact, TaskStack};

/// A report of the text with its titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTitle {
    pub line: usize,
    /// `hung task`, `rcu stall`, `soft lockup`, `workqueue lockup`.
    pub kind: String,
    /// The title syzbot's rules give (`INFO: task hung in find_inode_fast`); None when the
    /// text has no stack for it.
    pub syzbot: Option<String>,
    /// quiesce's signature of the finding that explains it, when one does.
    pub signature: Option<String>,
}

/// syzkaller's common skip list (frames never used in a title), as substring, prefix and
/// exact matches.
const SKIP_CONTAINS: &[&str] = &[
    "__sanitizer",
    "__asan",
    "kasan",
    "hwasan",
    "__msan",
    "kmsan",
    "check_memory_region",
    "print_address_description",
    "panic",
    "invalid_op",
    "report_bug",
    "fixup_bug",
    "print_report",
    "show_stack",
    "dump_stack",
    "walk_stack",
    "dump_backtrace",
    "warn_slowpath",
    "warn_alloc",
    "__warn",
    "kmem_cache",
    "slab_",
    "debug_object",
    "__might_fault",
    "lockdep",
    "bh_enable",
    "bh_disable",
    "perf_trace",
    "lock_acquire",
    "lock_release",
    "lock_class",
    "mark_lock",
    "held_locks",
    "raw_spin_rq",
    "spin_lock",
    "spin_trylock",
    "spin_unlock",
    "read_lock",
    "read_trylock",
    "write_lock",
    "write_trylock",
    "read_unlock",
    "write_unlock",
    "down_read",
    "down_write",
    "down_trylock",
    "up_read",
    "up_write",
    "owner_on_cpu",
    "osq_lock",
    "osq_unlock",
    "__wake_up",
    "ref_tracker",
    "memcpy",
    "memcmp",
    "memset",
    "memmove",
    "copy_to_user",
    "copy_from_user",
    "copy_to_iter",
    "copy_from_iter",
    "put_user",
    "get_user",
    "might_fault",
    "might_sleep",
    "list_add",
    "list_del",
    "_indirect_thunk_",
    "printk",
    "del_timer",
    "flush_work",
    "__cancel_work_timer",
    "cancel_work_sync",
    "flush_workqueue",
    "drain_workqueue",
    "destroy_workqueue",
    "queue_work",
    "finish_wait",
    "kthread_stop",
    "kobject_",
    "device_del",
    "wait_for_completion",
    "kfree_skb",
    "__might_resched",
    "trace_hardirq",
    "trace_softirq",
    "lockdep_hardirq",
    "lockdep_softirq",
    "stack_trace_save",
    "arch_stack_walk",
    "insert_work",
    "queue_delayed_work_on",
    "lock_timer_base",
    "__timer_delete_sync",
    "__mod_timer",
    "dput",
];
const SKIP_PREFIX: &[&str] = &[
    "mutex_",
    "__mutex_",
    "rt_mutex_",
    "refcount_",
    "kref_",
    "rb_",
    "__rb_",
    "klist_",
];
const SKIP_EXACT: &[&str] = &[
    "down",
    "complete",
    "kfree",
    "kvfree",
    "iput",
    "iput_final",
    "ihold",
    "put_device",
    "lock_page",
    "unlock_page",
];
const STRIP_PREFIXES: &[&str] = &[
    "compat_SYSC_",
    "compat_SyS_",
    "__se_sys_",
    "__do_sys_",
    "____sys_",
    "___sys_",
    "__sys_",
    "__x64_",
    "__ia32_",
    "__arm64_",
    "__se_",
    "SYSC_",
    "SyS_",
    "sys_",
    "ksys_",
];

fn skipped(f: &str) -> bool {
    SKIP_CONTAINS.iter().any(|s| f.contains(s))
        || SKIP_PREFIX.iter().any(|s| f.starts_with(s))
        || SKIP_EXACT.contains(&f)
}

fn strip_prefix(f: &str) -> String {
    let mut s = f;
    for p in STRIP_PREFIXES {
        if let Some(r) = s.strip_prefix(p) {
            s = r;
            break;
        }
    }
    s.to_string()
}

/// The frames syzbot reads: reliable ones (its frame pattern does not take `? f` rows),
/// in order, minus the common skip list.
fn frames_for_title(t: &TaskStack, from: usize) -> Vec<String> {
    t.frames[from.min(t.frames.len())..]
        .iter()
        .filter(|f| f.reliable && !f.func.starts_with("0x"))
        .map(|f| f.func.clone())
        .filter(|f| !skipped(f))
        .collect()
}

/// syzkaller `linuxHangTaskFrameExtractor`: the rtnl_lock / synchronize_* buckets, else the
/// first frame that is not a scheduler or wait primitive.
pub fn hang_task_frame(frames: &[String]) -> Option<String> {
    for f in frames {
        if f.contains("rtnl_lock") {
            return Some(f.clone());
        }
        for a in [
            "synchronize_rcu",
            "synchronize_srcu",
            "synchronize_net",
            "synchronize_sched",
        ] {
            if f.contains(a) {
                return Some("synchronize_rcu".into());
            }
        }
    }
    const SKIP: &[&str] = &[
        "sched",
        "_lock",
        "_slowlock",
        "down",
        "rwsem",
        "completion",
        "kthread",
        "wait",
        "synchronize",
        "context_switch",
        "__switch_to",
        "cancel_delayed_work",
        "rcu_barrier",
    ];
    frames
        .iter()
        .find(|f| !SKIP.iter().any(|s| f.contains(s)))
        .cloned()
}

/// syzkaller `linuxStallAnchorFrames` (substring matches unless marked `^` / `$`).
const STALL_ANCHORS: &[&str] = &[
    "process_one_work",
    "do_syscall_",
    "do_fast_syscall_",
    "sysenter_dispatch",
    "tracesys_phase2",
    "el0_svc_handler",
    "invoke_syscall",
    "ret_fast_syscall",
    "netif_receive_skb",
    "do_softirq",
    "call_timer_fn",
    "_run_timers",
    "run_timer_softirq",
    "hrtimer_run",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "^kthread$",
    "start_secondary",
    "cpu_startup_entry",
    "ret_from_fork",
    "vfs_write",
    "vfs_read",
    "vfs_iter_read",
    "vfs_iter_write",
    "do_iter_read",
    "do_iter_write",
    "call_read_iter",
    "call_write_iter",
    "new_sync_read",
    "new_sync_write",
    "vfs_ioctl",
    "ksys_ioctl",
    "compat_ioctl",
    "compat_sys_ioctl",
    "blkdev_driver_ioctl",
    "blkdev_ioctl",
    "do_iter_readv_writev",
    "^call_mmap",
    "mmap_region",
    "do_mmap",
    "do_dentry_open",
    "vfs_open",
    "^sock_sendmsg",
    "^sock_recvmsg",
    "^sock_release",
    "^__sock_release",
    "^setsockopt$",
    "kernel_setsockopt",
    "sock_common_setsockopt",
    "^listen$",
    "kernel_listen",
    "sk_common_release",
    "^sock_mmap",
    "^accept$",
    "kernel_accept",
    "^sock_do_ioctl",
    "^sock_ioctl",
    "^compat_sock_ioctl",
    "^nfnetlink_rcv_msg",
    "^rtnetlink_rcv_msg",
    "^netlink_dump",
    "^socketpair",
    "^connect",
    "^ioctl",
    "^sys_socketpair",
    "^sys_connect",
    "^sys_ioctl",
    "__do_fault",
    "do_page_fault",
    "^page_fault$",
    "__fput",
    "task_work_run",
    "exit_to_usermode",
    "smp_call_function",
    "tasklet_action",
    "tasklet_hi_action",
];

fn is_anchor(f: &str) -> bool {
    STALL_ANCHORS
        .iter()
        .any(|a| match (a.strip_prefix('^'), a.ends_with('$')) {
            (Some(r), true) => f == &r[..r.len() - 1],
            (Some(r), false) => f.starts_with(r),
            (None, _) => f.contains(a),
        })
}

/// syzkaller `linuxStallFrameExtractor`: the frame before the first dispatching anchor
/// (the syscall, work function or timer the CPU loops under).
pub fn stall_frame(frames: &[String]) -> Option<String> {
    let mut prev = frames.first()?.clone();
    for f in frames {
        if is_anchor(f) {
            if f.contains("smp_call_function") {
                prev = "smp_call_function".into();
            }
            return Some(prev);
        }
        prev = f.clone();
    }
    None
}

/// The frames of a CPU's stack from where it was interrupted.
fn stall_frames(t: &TaskStack) -> Vec<String> {
    let from = interrupted(t).map(|l| l.frame).unwrap_or(0);
    frames_for_title(t, from)
}

/// quiesce's signature of a finding: the chain (or cycle) as `kind:object` and
/// `task[function]` hops, no pids, no CPU numbers.
pub fn signature(g: &Graph, f: &Finding) -> String {
    let nodes = if f.cycle.is_empty() {
        &f.chain.nodes
    } else {
        &f.cycle
    };
    let hops: Vec<String> = nodes
        .iter()
        .map(|&n| match n.kind {
            NodeKind::Task => {
                let at = g
                    .get(n)
                    .and_then(|x| x.field("in"))
                    .map(|s| base_name(s.split('+').next().unwrap_or(s)).to_string());
                format!("task[{}]", at.unwrap_or_else(|| "?".into()))
            }
            NodeKind::Cpu => "cpu".into(),
            k => {
                let l = g.label(n);
                // Labels of per-report roots carry numbers (CPU, seconds): keep the kind.
                if matches!(k, NodeKind::SoftLockup | NodeKind::WorkerPool) {
                    k.name().to_string()
                } else {
                    format!("{}:{l}", k.name())
                }
            }
        })
        .collect();
    let sep = if f.cycle.is_empty() { " → " } else { " ⇄ " };
    format!("{}: {}", f.kind.name().to_lowercase(), hops.join(sep))
}

/// The finding whose tasks include `pid` (or whose chain passes through its CPU).
fn finding_for(
    e: &Explanation,
    pred: impl Fn(&Graph, super::super::graph::NodeId) -> bool,
) -> Option<String> {
    e.findings
        .iter()
        .find(|w| {
            w.finding
                .tasks
                .iter()
                .chain(&w.finding.chain.nodes)
                .chain(&w.finding.cycle)
                .any(|&n| pred(&e.graph, n))
        })
        .map(|w| w.signature.clone())
}

/// Titles for every report of the text.
pub fn report_titles(p: &ParsedArtifact, e: &Explanation) -> Vec<ReportTitle> {
    let mut out = Vec::new();
    let task_of = |pid: u32| {
        p.tasks
            .iter()
            .find(|t| t.pid == Some(pid) && !t.frames.is_empty())
    };
    for h in p.hung_tasks.iter().filter(|h| h.header) {
        let t = task_of(h.pid);
        let syzbot = t
            .and_then(|t| hang_task_frame(&frames_for_title(t, 0)))
            .map(|f| format!("INFO: task hung in {}", strip_prefix(&f)));
        let label_pid = h.pid as u64;
        out.push(ReportTitle {
            line: h.line,
            kind: "hung task".into(),
            syzbot,
            signature: finding_for(e, |g, n| {
                n.kind == NodeKind::Task
                    && (n.key == label_pid || g.label(n).ends_with(&format!(":{}", h.pid)))
            }),
        });
    }
    for s in &p.stalls {
        let cpus: Vec<u32> = s.cpus.iter().map(|c| c.cpu).collect();
        let t = p
            .tasks
            .iter()
            .filter(|t| t.line > s.line && t.cpu.is_some_and(|c| cpus.contains(&c)))
            .find(|t| interrupted(t).is_some());
        let syzbot = t
            .and_then(|t| stall_frame(&stall_frames(t)))
            .map(|f| format!("INFO: rcu detected stall in {}", strip_prefix(&f)));
        let label = s.flavor.as_ref().map(|f| format!("{f} grace period"));
        out.push(ReportTitle {
            line: s.line,
            kind: "rcu stall".into(),
            syzbot,
            signature: finding_for(e, |g, n| {
                n.kind == NodeKind::RcuGp && label.as_ref().is_none_or(|l| g.label(n) == *l)
            }),
        });
    }
    for s in &p.soft_lockups {
        let t = p.tasks.iter().find(|t| {
            t.line > s.line
                && (t.cpu == Some(s.cpu) || t.pid.is_some() && t.pid == s.pid)
                && !t.frames.is_empty()
        });
        let syzbot = t
            .and_then(|t| stall_frame(&stall_frames(t)))
            .map(|f| format!("BUG: soft lockup in {}", strip_prefix(&f)));
        out.push(ReportTitle {
            line: s.line,
            kind: "soft lockup".into(),
            syzbot,
            signature: finding_for(e, |g, n| {
                n.kind == NodeKind::SoftLockup
                    && g.label(n)
                        .starts_with(&format!("soft lockup on CPU {}", s.cpu))
            }),
        });
    }
    for w in &p.wq_lockups {
        out.push(ReportTitle {
            line: w.line,
            kind: "workqueue lockup".into(),
            syzbot: Some("BUG: workqueue lockup".into()),
            signature: finding_for(e, |g, n| {
                n.kind == NodeKind::WorkerPool
                    && g.label(n)
                        .starts_with(&format!("workqueue pool cpus={}", w.cpus))
            }),
        });
    }
    out.sort_by_key(|r| r.line);
    out
}

/// Stacks grouped by their wait: the object and the caller of the locking / waiting API;
/// stacks without a wait by their top frames (offsets, `?` frames and scheduler frames
/// left out). Largest group first.
pub fn stack_groups(p: &ParsedArtifact, g: &Graph) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    let by_label: std::collections::HashMap<&str, super::super::graph::NodeId> = g
        .nodes
        .iter()
        .filter(|n| n.id.kind == NodeKind::Task)
        .map(|n| (n.label.as_str(), n.id))
        .collect();
    let ids: Vec<Option<super::super::graph::NodeId>> = p
        .tasks
        .iter()
        .map(|t| by_label.get(super::task_label(t).as_str()).copied())
        .collect();
    for (t, id) in p.tasks.iter().zip(&ids) {
        if t.frames.is_empty() {
            continue;
        }
        let wait = id.and_then(|id| g.out_edges(id).find(|e| e.kind == EdgeKind::WaitsOn));
        let (key, caller) = match wait {
            Some(e) => {
                let caller = e
                    .evidence
                    .get(1)
                    .or(e.evidence.first())
                    .and_then(|x| x.function.clone())
                    .map(|f| base_name(&f).to_string());
                (
                    format!(
                        "{} on {}",
                        e.what.as_deref().unwrap_or("wait"),
                        g.label(e.to)
                    ),
                    caller,
                )
            }
            None => {
                let top: Vec<&str> = t
                    .stack_key()
                    .into_iter()
                    .map(base_name)
                    .filter(|f| !super::super::waits::SCHED_FRAMES.contains(f))
                    .take(3)
                    .collect();
                (top.join(" ← "), None)
            }
        };
        let who = super::task_label(t);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, callers, members)) => {
                if let Some(c) = caller
                    && !callers.contains(&c)
                {
                    callers.push(c);
                }
                if !members.contains(&who) {
                    members.push(who);
                }
            }
            None => groups.push((key, caller.into_iter().collect(), vec![who])),
        }
    }
    groups.sort_by_key(|(_, _, m)| std::cmp::Reverse(m.len()));
    groups
        .into_iter()
        .map(|(k, callers, m)| {
            let from = if callers.is_empty() {
                String::new()
            } else {
                format!(", from {}", callers.join(" / "))
            };
            format!("{}× {k}{from} — {}", m.len(), m.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn analysis_syzbot_frame_rules() {
        // Frame lists in the shapes of the corpus' syzbot reports (after the skip list).
        assert_eq!(
            hang_task_frame(&v(&[
                "context_switch",
                "__schedule",
                "schedule",
                "schedule_preempt_disabled",
                "wiphy_lock",
                "cfg80211_event_work",
                "process_one_work"
            ])),
            Some("cfg80211_event_work".into())
        );
        assert_eq!(
            hang_task_frame(&v(&[
                "__schedule",
                "__wait_on_freeing_inode",
                "find_inode_fast",
                "iget_locked"
            ])),
            Some("find_inode_fast".into())
        );
        assert_eq!(
            hang_task_frame(&v(&[
                "__schedule",
                "__lock_sock",
                "lock_sock_nested",
                "mptcp_close"
            ])),
            Some("lock_sock_nested".into())
        );
        assert_eq!(
            hang_task_frame(&v(&["schedule", "rtnl_lock", "x"])),
            Some("rtnl_lock".into())
        );
        assert_eq!(
            hang_task_frame(&v(&["synchronize_srcu", "x"])),
            Some("synchronize_rcu".into())
        );
        assert_eq!(
            stall_frame(&v(&[
                "inet_rtm_newaddr",
                "rtnetlink_rcv_msg",
                "netlink_rcv_skb"
            ])),
            Some("inet_rtm_newaddr".into())
        );
        assert_eq!(
            stall_frame(&v(&["a", "smp_call_function_many_cond", "b"])),
            Some("smp_call_function".into())
        );
        assert_eq!(stall_frame(&v(&["a", "b"])), None);
        assert!(skipped("__mutex_lock") && skipped("down") && !skipped("download"));
        assert_eq!(strip_prefix("__x64_sys_sendto"), "sys_sendto");
    }
}
