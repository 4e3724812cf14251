//! fanotify permission events (rcu-srcu.md §4.5): a task in `fanotify_get_response()` (often
//! inlined into `fanotify_handle_event()`) waits for the listener to write a response. The
//! `struct fsnotify_group *` is found in the waiting frame's stack words, validated by
//! `group->ops == &fanotify_fsnotify_ops`; the listener is every process with an fd whose
//! `file->f_op == &fanotify_fops` and `file->private_data == group`. Where kallsyms lists
//! functions only (no CONFIG_KALLSYMS_ALL) the two tables are recognized by what they hold:
//! `ops->handle_event == fanotify_handle_event`, `f_op->read == fanotify_read`
//! (fs/notify/fanotify/fanotify.c and fanotify_user.c).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &["fanotify_get_response", "fanotify_handle_event"];

/// Most fds looked at per process.
const MAX_FDS: u64 = 4096;

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = &cx.l.fanotify else {
        return false;
    };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let k = cx.k;
    let (Some(ops), Some(fops)) = (
        Table::find(
            cx,
            "fanotify_fsnotify_ops",
            "fanotify_handle_event",
            l.ops_handle_event,
        ),
        Table::find(cx, "fanotify_fops", "fanotify_read", l.fops_read),
    ) else {
        return false;
    };
    let t = cx.task_node(g, ti);
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let found = cx.stack_words(ti, fi).into_iter().find(|&(_, v)| {
        k.mem.xlat.is_kernel_ptr(v)
            && k.read_u64(Kva(v + l.group_ops), "fsnotify_group.ops")
                .is_ok_and(|p| ops.is(cx, p))
    });
    let Some((at, group)) = found else {
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "fanotify: group not found on the stack".into(),
            ));
        }
        return true;
    };
    let gid = NodeId::new(NodeKind::FanotifyGroup, group);
    let fresh = g.get(gid).is_none();
    g.node(gid, format!("fanotify group {group:#x}"));
    g.edge(Edge {
        from: t,
        to: gid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("fanotify permission event".into()),
        evidence: vec![
            frame,
            Evidence {
                note: Some(ops.why("group->ops")),
                ..Evidence::field("struct fsnotify_group *", format!("{group:#x}"), Some(at))
            },
        ],
    });
    if !fresh {
        return true;
    }
    // Events the listener has read but not answered (fanotify_read() moves a permission
    // event from the notification queue to access_list; a response removes it).
    let unanswered = l.access_list.map(|off| {
        let w = k.list_walk(Kva(group + off), "fanotify_data.access_list");
        (w.nodes.len(), w.error.is_some(), group + off)
    });
    let mut any = false;
    for li in 0..cx.tasks.len() {
        let task = &cx.tasks[li];
        if task.kthread || task.pid != task.tgid {
            continue;
        }
        for (fd, file) in open_files(cx, task.addr) {
            let fop = k
                .read_u64(Kva(file + l.file_f_op), "file.f_op")
                .unwrap_or(0);
            let pd = k
                .read_u64(Kva(file + l.file_private), "file.private_data")
                .unwrap_or(0);
            if pd == group && fops.is(cx, fop) {
                any = true;
                let lt = cx.task_node(g, li);
                let mut evidence = vec![Evidence {
                    note: Some(format!(
                        "fd {fd} of {} is this group's fanotify fd: it must read the event and write a response",
                        cx.task_label(li)
                    )),
                    // The open fanotify fd is the kernel's own record of who listens.
                    ..Evidence::exact(
                        "file.private_data",
                        format!("{pd:#x}"),
                        Some(file + l.file_private),
                    )
                }];
                if let Some((n, cut, at)) = unanswered {
                    evidence.push(Evidence {
                        note: Some(format!(
                            "{n}{} permission event(s) read by the listener and not answered yet",
                            if cut {
                                " (list cut short: corrupt link)"
                            } else {
                                ""
                            }
                        )),
                        ..Evidence::field(
                            "fanotify_data.access_list",
                            format!("{n} entries"),
                            Some(at),
                        )
                    });
                }
                g.edge(Edge {
                    from: gid,
                    to: lt,
                    kind: EdgeKind::ListenedBy,
                    candidate: false,
                    what: None,
                    evidence,
                });
                // A listener asleep in fanotify_read() has taken the events and waits for
                // more: nothing in the kernel will answer for it. (If it waits on
                // something decodable instead, its own wait edge continues the chain.)
                if let Some(rf) = cx.find_frame(li, &["fanotify_read"]) {
                    let read = match unanswered {
                        Some((n, _, _)) => {
                            format!("has read {n} permission event(s) without answering them and ")
                        }
                        None => String::new(),
                    };
                    let why = format!(
                        "{} {read}sleeps in fanotify_read() (frame #{}) waiting for more: only a response (FAN_ALLOW/FAN_DENY) written to its fd {fd} wakes the waiters — the listener is alive but not answering",
                        cx.task_label(li),
                        cx.frames[li][rf].no
                    );
                    if let Some(n) = g.get_mut(lt) {
                        n.no_waker.get_or_insert(why);
                    }
                }
            }
        }
    }
    if !any && let Some(n) = g.get_mut(gid) {
        n.no_waker =
            Some("no process holds an fd of this group (listener gone or fd passed away)".into());
    }
    true
}

/// An ops table known by its symbol, or (without it) by the function in one member.
enum Table {
    At(u64, &'static str),
    Holding {
        member: u64,
        func: u64,
        name: &'static str,
        fname: &'static str,
    },
}

impl Table {
    fn find(
        cx: &Ctx,
        name: &'static str,
        fname: &'static str,
        member: Option<u64>,
    ) -> Option<Table> {
        if let Ok(a) = cx.k.symbol_addr(name) {
            return Some(Table::At(a.0, name));
        }
        let func = cx.k.symbol_addr(fname).ok()?.0;
        Some(Table::Holding {
            member: member?,
            func,
            name,
            fname,
        })
    }

    /// Is `p` this table?
    fn is(&self, cx: &Ctx, p: u64) -> bool {
        match *self {
            Table::At(a, _) => p == a,
            Table::Holding { member, func, .. } => {
                p != 0 && cx.k.read_u64(Kva(p + member), "an ops table's member") == Ok(func)
            }
        }
    }

    /// The evidence note for a pointer `what` that was found to be this table.
    fn why(&self, what: &str) -> String {
        match self {
            Table::At(_, name) => format!("{what} == &{name}"),
            Table::Holding { name, fname, .. } => {
                format!("{what} is {name} (kallsyms lacks it; the table holds {fname})")
            }
        }
    }
}

/// (fd, struct file *) of a task's open files, bounded.
fn open_files(cx: &Ctx, task: u64) -> Vec<(u64, u64)> {
    let Some(l) = &cx.l.fanotify else {
        return vec![];
    };
    let k = cx.k;
    let Ok(files) = k.read_u64(Kva(task + l.task_files), "task_struct.files") else {
        return vec![];
    };
    if files == 0 {
        return vec![];
    }
    let Ok(fdt) = k.read_u64(Kva(files + l.files_fdt), "files_struct.fdt") else {
        return vec![];
    };
    let max = k
        .read_u32(Kva(fdt + l.fdt_max_fds), "fdtable.max_fds")
        .unwrap_or(0) as u64;
    let Ok(arr) = k.read_u64(Kva(fdt + l.fdt_fd), "fdtable.fd") else {
        return vec![];
    };
    let n = max.min(MAX_FDS);
    let mut buf = vec![0u8; (n * 8) as usize];
    if k.read(Kva(arr), &mut buf, "fdtable.fd[]").is_err() {
        return vec![];
    }
    buf.chunks_exact(8)
        .enumerate()
        .map(|(i, w)| (i as u64, u64::from_le_bytes(w.try_into().unwrap())))
        .filter(|&(_, f)| f != 0)
        .collect()
}
