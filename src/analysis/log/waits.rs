//! Which wait a pasted stack shows, and on what: the text-side twin of `analysis::waits`
//! (which reads the objects themselves from a dump). A stack is matched against tables of
//! blocking frames, most specific first (an SRCU grace period before the completion it is
//! built on, a mutex before the scheduler); the object is known by what the text says:
//!
//! - a lock by the function that called the locking API (`rtnetlink_rcv` → `mutex_lock`),
//!   and by name when that function takes one known lock (`rtnl_lock`, `rtnetlink_rcv`,
//!   `rtnl_net_lock` → `rtnl_mutex`; [`super::lock_names`]), so that all waiters of one lock meet
//!   on one node. Lock API wrappers (`mutex_lock`, `down_write`,
//!   `call_rwsem_down_write_failed`, `__mutex_lock.isra.7`) are never the name;
//! - page, writeback, buffer and journal waits by kind (the text never says which page);
//! - a completion or flush by the function that waits.
//!
//! A lock known only as "taken in f" is per call site: two waiters meet only if they wait in
//! the same function. Per-instance locks (an inode's `i_rwsem`, a device's mutex, a process's
//! `mmap_lock`) are never merged across call sites; lockdep addresses, when the text has
//! them, merge them exactly (`holders`).

use super::super::graph::NodeKind;
use super::super::waits::base_name;
use super::lock_names::{is_lock_api, is_lock_wrapper, lock_name};
use super::wait_frames::*;
use crate::artifacts::TaskStack;

/// A wait read from one stack.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextWait {
    pub kind: NodeKind,
    /// The wait in words: `mutex`, `page lock`, `jbd2 commit`.
    pub what: &'static str,
    /// What identifies the object among the text's waits (see the module doc).
    pub key: String,
    /// The object as the report names it: `rtnl_mutex`, `a mutex taken in do_last`.
    pub label: String,
    /// The object has a name (a lock variable, a lockdep class), not just a call site.
    pub named: bool,
    /// Index of the blocking frame (the innermost frame of the matched table).
    pub frame: usize,
    /// Index of the first frame outside the locking / waiting API: who waits.
    pub caller: Option<usize>,
    /// Only `? ` frames showed the wait (a stack-scan guess).
    pub unreliable: bool,
    /// A reader of an rw-semaphore (the wait frames say `read`).
    pub reader: bool,
    /// The task is spinning on the lock (optimistic spin, spinlock), not sleeping.
    pub spinning: bool,
    /// Why nothing may be found to act on the object, when the text has no holder.
    pub no_holder: &'static str,
}

/// Frames of one wait kind.
struct Kind {
    frames: &'static [&'static str],
    kind: NodeKind,
    what: &'static str,
    /// How an unnamed object is called: `{noun} {caller}` ("a mutex taken in f").
    noun: &'static str,
    /// The object is one thing whatever the caller (one journal, "a page" of unknown file).
    shared: Option<&'static str>,
    no_holder: &'static str,
}

const NO_LOCK_HOLDER: &str = "the text shows no task that holds it";

/// The lock and sleep kinds, most specific first. SRCU, RCU, fanotify and flush_work are
/// matched before these (by `classify`).
const KINDS: &[Kind] = &[
    Kind {
        frames: MUTEX,
        kind: NodeKind::Mutex,
        what: "mutex",
        noun: "a mutex taken in",
        shared: None,
        no_holder: NO_LOCK_HOLDER,
    },
    Kind {
        frames: RWSEM,
        kind: NodeKind::Rwsem,
        what: "rwsem",
        noun: "an rwsem taken in",
        shared: None,
        no_holder: "rw-semaphore readers are not recorded; the text shows no task inside it",
    },
    Kind {
        frames: RT,
        kind: NodeKind::RtMutex,
        what: "rt_mutex (PREEMPT_RT sleeping lock)",
        noun: "an rt lock taken in",
        shared: None,
        no_holder: NO_LOCK_HOLDER,
    },
    Kind {
        frames: SEMAPHORE,
        kind: NodeKind::Semaphore,
        what: "semaphore",
        noun: "a semaphore taken in",
        shared: None,
        no_holder: "a semaphore has no owner; the text shows no task that would up() it",
    },
    Kind {
        frames: SOCK,
        kind: NodeKind::SocketLock,
        what: "socket lock",
        noun: "a socket locked in",
        shared: None,
        no_holder: "the socket's owner is not recorded; the text shows no task inside it",
    },
    Kind {
        frames: PAGE_LOCK,
        kind: NodeKind::PageLock,
        what: "page lock",
        noun: "a page locked in",
        shared: Some("page / folio locks"),
        no_holder: "a page lock records no owner; the text shows no task that locked the page (a dump would show the page's flags and who holds PG_locked)",
    },
    Kind {
        frames: WRITEBACK,
        kind: NodeKind::Writeback,
        what: "writeback",
        noun: "writeback waited for in",
        shared: Some("page / folio writeback"),
        no_holder: "writeback ends when the device completes the I/O; the text shows no I/O progress (a dump would show the request queue and in-flight requests)",
    },
    Kind {
        frames: BUFFER,
        kind: NodeKind::BufferIo,
        what: "buffer I/O",
        noun: "a buffer waited for in",
        shared: Some("buffer heads under I/O"),
        no_holder: "a buffer is unlocked when its I/O completes; the text shows no I/O progress (a dump would show the buffer's state and the device queue)",
    },
    Kind {
        frames: JBD2,
        kind: NodeKind::Journal,
        what: "jbd2 journal",
        noun: "the journal, waited for in",
        shared: Some("jbd2 journal"),
        no_holder: "the jbd2 commit thread is not in the text (a dump would show the journal's running and committing transactions)",
    },
    Kind {
        frames: INODE,
        kind: NodeKind::Inode,
        what: "inode being freed",
        noun: "an inode being freed, waited for in",
        shared: None,
        no_holder: "the task evicting the inode is not in the text",
    },
    Kind {
        frames: CLAIM,
        kind: NodeKind::DeviceClaim,
        what: "MMC host claim",
        noun: "an MMC host claimed in",
        shared: None,
        no_holder: "the host is released by whoever claimed it (mmc_release_host); the text shows no other task in MMC code",
    },
    Kind {
        frames: CONDVAR,
        kind: NodeKind::CondVar,
        what: "condition wait",
        noun: "a condition waited for in",
        shared: None,
        no_holder: "a condition variable records no waker; the text shows no task that would signal it",
    },
];

/// Reliable frames when there are any past the scheduler, else all (a stack made only of
/// `? ` frames still says something: marked unreliable).
fn frames_to_read(t: &TaskStack) -> (Vec<usize>, bool) {
    let sched = super::super::waits::SCHED_FRAMES;
    let reliable: Vec<usize> = (0..t.frames.len())
        .filter(|&i| t.frames[i].reliable)
        .collect();
    if reliable
        .iter()
        .any(|&i| !sched.contains(&base_name(&t.frames[i].func)))
    {
        (reliable, false)
    } else {
        ((0..t.frames.len()).collect(), true)
    }
}

/// The first frame (index into `t.frames`, outward from `from`) for which `f` holds.
fn find_in(t: &TaskStack, idx: &[usize], names: &[&str]) -> Option<usize> {
    idx.iter()
        .copied()
        .find(|&i| names.contains(&base_name(&t.frames[i].func)))
}

/// The first frame after `fi` (outward) in `idx` that is not an API / scheduler frame.
fn caller_after(t: &TaskStack, idx: &[usize], fi: usize, api: &[&str]) -> Option<usize> {
    let sched = super::super::waits::SCHED_FRAMES;
    idx.iter().copied().filter(|&i| i > fi).find(|&i| {
        let f = base_name(&t.frames[i].func);
        !api.contains(&f)
            && !is_lock_api(f)
            && !sched.contains(&f)
            && !t.frames[i].func.starts_with("0x")
    })
}

fn new_wait(kind: NodeKind, what: &'static str, label: String, key: String, fi: usize) -> TextWait {
    TextWait {
        kind,
        what,
        key,
        label,
        named: false,
        frame: fi,
        caller: None,
        unreliable: false,
        reader: false,
        spinning: false,
        no_holder: NO_LOCK_HOLDER,
    }
}

/// The lock name a crash `bt -F` stack shows among its stack words (`cgroup_threadgroup_rwsem+80`
/// next to `rwsem_down_write_failed`): a data symbol whose name says lock.
fn data_symbol_lock(t: &TaskStack) -> Option<String> {
    t.data_symbols.iter().find_map(|(_, s)| {
        let name = s.split('+').next()?;
        let lockish = ["rwsem", "mutex", "_sem", "_lock"]
            .iter()
            .any(|k| name.contains(k));
        lockish.then(|| name.to_string())
    })
}

/// Reads the wait a stack shows. SRCU / RCU / fanotify / flush_work are read by the caller
/// (`mod.rs`), which knows their domains; this covers locks, pages, I/O, journals, completions
/// and sleeps.
pub(super) fn classify(t: &TaskStack) -> Option<TextWait> {
    let (idx, unreliable) = frames_to_read(t);
    let mut w = classify_in(t, &idx)?;
    w.unreliable = unreliable;
    Some(w)
}

fn classify_in(t: &TaskStack, idx: &[usize]) -> Option<TextWait> {
    for k in KINDS {
        let Some(fi) = find_in(t, idx, k.frames) else {
            continue;
        };
        let caller = caller_after(t, idx, fi, k.frames);
        let caller_name = caller.map(|c| t.frames[c].func.clone()).unwrap_or_default();
        let mut w = new_wait(k.kind, k.what, String::new(), String::new(), fi);
        w.caller = caller;
        w.no_holder = k.no_holder;
        w.spinning = idx.iter().any(|&i| {
            matches!(
                base_name(&t.frames[i].func),
                "mutex_spin_on_owner"
                    | "mutex_optimistic_spin"
                    | "osq_lock"
                    | "rwsem_optimistic_spin"
            )
        });
        w.reader = k.kind == NodeKind::Rwsem
            && idx
                .iter()
                .take_while(|&&i| Some(i) != caller)
                .any(|&i| t.frames[i].func.contains("read"));
        if let Some(shared) = k.shared {
            w.label = shared.to_string();
            w.key = shared.to_string();
            w.named = true;
            return Some(w);
        }
        // Lock identity: a known lock taken by the caller or a wrapper between the API and
        // the caller; else a data symbol crash printed; else the call site.
        let mut named: Option<(&str, bool)> = None;
        let mut site = caller;
        for &i in idx.iter().filter(|&&i| i > fi) {
            let f = &t.frames[i].func;
            if let Some(n) = lock_name(f) {
                named = Some(n);
            }
            if !is_lock_api(f)
                && !k.frames.contains(&base_name(f))
                && !super::super::waits::SCHED_FRAMES.contains(&base_name(f))
            {
                if is_lock_wrapper(f) && lock_name(f).is_some() {
                    // `rtnl_lock`, `inode_lock`: name the lock, keep looking for the caller.
                    site = idx.iter().copied().find(|&j| j > i);
                    continue;
                }
                break;
            }
        }
        let site_name = site
            .map(|s| t.frames[s].func.clone())
            .unwrap_or_else(|| caller_name.clone());
        match (named, data_symbol_lock(t)) {
            (Some((name, true)), _) => {
                w.label = name.to_string();
                w.key = name.to_string();
                w.named = true;
            }
            (Some((name, false)), _) => {
                w.label = format!("{name}, taken in {}", base_name(&site_name));
                w.key = w.label.clone();
            }
            (None, Some(sym)) => {
                w.label = sym.clone();
                w.key = sym;
                w.named = true;
            }
            (None, None) => {
                w.label = format!("{} {}", k.noun, base_name(&caller_name))
                    .trim_end()
                    .to_string();
                w.key = w.label.clone();
            }
        }
        return Some(w);
    }
    // Page bit waits: writeback if a writeback caller is above, else the page lock.
    if let Some(fi) = find_in(t, idx, PAGE_BIT) {
        let wb = idx
            .iter()
            .any(|&i| i > fi && WRITEBACK.contains(&base_name(&t.frames[i].func)));
        let want = if wb {
            NodeKind::Writeback
        } else {
            NodeKind::PageLock
        };
        let k = KINDS.iter().find(|k| k.kind == want)?;
        let mut w = new_wait(
            k.kind,
            k.what,
            k.shared.unwrap_or("").into(),
            k.shared.unwrap_or("").into(),
            fi,
        );
        w.named = true;
        w.caller = caller_after(t, idx, fi, PAGE_BIT);
        w.no_holder = k.no_holder;
        return Some(w);
    }
    if let Some(fi) = find_in(t, idx, WB_WORK) {
        let mut w = new_wait(
            NodeKind::WorkItem,
            "writeback work",
            "writeback work (wb_workfn)".into(),
            "writeback work (wb_workfn)".into(),
            fi,
        );
        w.named = true;
        w.caller = caller_after(t, idx, fi, WB_WORK);
        w.no_holder = "the writeback work runs in a flusher worker (wb_workfn) the text does not show; it may be slow rather than stuck (a dump would show wb->work_list and the bandwidth)";
        return Some(w);
    }
    if let Some(fi) = find_in(t, idx, COMPLETION) {
        let caller = caller_after(t, idx, fi, COMPLETION);
        let name = caller
            .map(|c| base_name(&t.frames[c].func).to_string())
            .unwrap_or_default();
        let label = format!("a completion waited for in {name}")
            .trim_end()
            .to_string();
        let mut w = new_wait(NodeKind::Completion, "completion", label.clone(), label, fi);
        w.caller = caller;
        w.no_holder =
            "a completion records no owner and the text shows no task that would complete it";
        return Some(w);
    }
    if let Some(fi) = find_in(t, idx, IO) {
        let caller = caller_after(t, idx, fi, IO);
        let name = caller
            .map(|c| base_name(&t.frames[c].func).to_string())
            .unwrap_or_default();
        let label = format!("I/O waited for in {name}").trim_end().to_string();
        let mut w = new_wait(NodeKind::IoWait, "I/O", label.clone(), label, fi);
        w.caller = caller;
        w.no_holder = "the task waits for block I/O; the text shows no I/O progress";
        return Some(w);
    }
    if let Some(fi) = find_in(t, idx, SLEEP) {
        let caller = caller_after(t, idx, fi, SLEEP);
        let name = caller
            .map(|c| base_name(&t.frames[c].func).to_string())
            .unwrap_or_default();
        let label = format!("a timed sleep in {name}").trim_end().to_string();
        let mut w = new_wait(NodeKind::Timer, "timed sleep", label.clone(), label, fi);
        w.caller = caller;
        w.no_holder = "";
        return Some(w);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::{Frame, StackOrigin};

    /// A synthetic stack of the named frames (innermost first).
    fn stack(funcs: &[&str]) -> TaskStack {
        TaskStack {
            pid: Some(1),
            comm: Some("t".into()),
            task: None,
            cpu: None,
            state: Some("D".into()),
            origin: StackOrigin::SchedShowTask,
            frames: funcs
                .iter()
                .enumerate()
                .map(|(i, f)| Frame::named(f, i))
                .collect(),
            stack_shared_by_hand: false,
            workqueue: None,
            data_symbols: Vec::new(),
            line: 1,
        }
    }

    #[test]
    fn analysis_text_wait_lock_identity() {
        // Synthetic stacks in the shapes of tests/data/logs.
        let w = classify(&stack(&[
            "__schedule",
            "schedule_preempt_disabled",
            "__mutex_lock_slowpath",
            "mutex_lock",
            "rtnetlink_rcv",
            "netlink_unicast",
        ]))
        .unwrap();
        assert_eq!(
            (w.kind, w.label.as_str(), w.named),
            (NodeKind::Mutex, "rtnl_mutex", true)
        );
        let w2 = classify(&stack(&[
            "__schedule",
            "__mutex_lock_slowpath",
            "mutex_lock",
            "rtnl_lock",
            "linkwatch_event",
        ]))
        .unwrap();
        assert_eq!(w.key, w2.key);
        let w = classify(&stack(&[
            "schedule",
            "__mutex_lock.isra.7",
            "proc_cgroup_show",
        ]))
        .unwrap();
        assert_eq!(w.label, "cgroup_mutex");
        let w = classify(&stack(&[
            "schedule",
            "__mutex_lock",
            "read_dummy",
            "full_proxy_read",
        ]))
        .unwrap();
        assert_eq!(
            (w.label.as_str(), w.named),
            ("a mutex taken in read_dummy", false)
        );
        let w = classify(&stack(&[
            "schedule",
            "rwsem_down_write_failed",
            "call_rwsem_down_write_failed",
            "sys_mmap_pgoff",
        ]))
        .unwrap();
        assert_eq!((w.kind, w.reader), (NodeKind::Rwsem, false));
        assert!(
            w.label.starts_with("mmap_lock (mmap_sem), taken in"),
            "{}",
            w.label
        );
        let w = classify(&stack(&[
            "schedule",
            "rwsem_down_read_failed",
            "down_read",
            "do_page_fault",
        ]))
        .unwrap();
        assert!(w.reader);
        let w = classify(&stack(&[
            "schedule",
            "folio_wait_bit_common",
            "filemap_page_mkwrite",
        ]))
        .unwrap();
        assert_eq!(w.kind, NodeKind::PageLock);
        let w = classify(&stack(&[
            "schedule",
            "folio_wait_bit_common",
            "folio_wait_writeback",
            "x",
        ]))
        .unwrap();
        assert_eq!(w.kind, NodeKind::Writeback);
        let w = classify(&stack(&[
            "schedule",
            "io_schedule",
            "sleep_on_buffer",
            "__wait_on_bit",
            "out_of_line_wait_on_bit",
        ]))
        .unwrap();
        assert_eq!(w.kind, NodeKind::BufferIo);
        let w = classify(&stack(&[
            "schedule_rtlock",
            "rtlock_slowlock_locked",
            "rt_read_lock",
            "nvmet_tcp_listen_data_ready",
        ]))
        .unwrap();
        assert_eq!(
            (w.kind, w.label.as_str()),
            (
                NodeKind::RtMutex,
                "an rt lock taken in nvmet_tcp_listen_data_ready"
            )
        );
        let w = classify(&stack(&[
            "schedule",
            "schedule_timeout",
            "wait_for_completion",
            "__flush_work",
        ]))
        .unwrap();
        assert_eq!(w.kind, NodeKind::Completion);
        let w = classify(&stack(&[
            "schedule",
            "schedule_timeout",
            "msleep_interruptible",
            "read_dummy",
        ]))
        .unwrap();
        assert_eq!(
            (w.kind, w.label.as_str()),
            (NodeKind::Timer, "a timed sleep in read_dummy")
        );
        assert!(classify(&stack(&["__schedule", "schedule", "do_idle"])).is_none());
        // Only `?` frames: still read, marked unreliable.
        let mut s = stack(&[
            "__schedule",
            "__mutex_lock_slowpath",
            "mutex_lock",
            "do_last",
        ]);
        for f in &mut s.frames[1..] {
            f.reliable = false;
        }
        let w = classify(&s).unwrap();
        assert!(w.unreliable && w.label.starts_with("inode i_rwsem"));
    }
}
