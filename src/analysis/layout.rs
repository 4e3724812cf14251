//! Offsets the wait decoders read, probed once from the debug info with
//! [`crate::kernel::layout::Probe`]. Each group is an `Option`: a kernel without the struct
//! (or a member) just loses that wait kind, reported as such, never a failure.

use crate::kernel::Kernel;
use crate::kernel::layout::Probe;
use crate::rcu::waiters::CompletionLayout;

/// `struct X_waiter { list_head list; task_struct *task; … }` and the lock it queues on.
#[derive(Debug, Clone)]
pub struct LockLayout {
    pub waiter_list: u64,
    pub waiter_task: u64,
    /// `rwsem_waiter.type` (`RWSEM_WAITING_FOR_WRITE 0`, `FOR_READ 1`).
    pub waiter_type: Option<u64>,
    pub owner: u64,
    /// `lock.wait_list` (a list head the waiters link into) …
    pub wait_list: Option<u64>,
    /// … or, 7.x, `lock.first_waiter`: a pointer to the first waiter of a headless ring
    /// of waiters (`struct mutex` / `struct rw_semaphore` both).
    pub first_waiter: Option<u64>,
    /// `rw_semaphore.count`.
    pub count: Option<u64>,
}

/// Where the hung-task detector records what a task is blocked on. Chosen by which member
/// the debug info has, never by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockerLayout {
    /// `unsigned long task_struct.blocker`: the lock's address with the lock type in the
    /// low 2 bits (commit e711faaafbe5 "hung_task: replace blocker_mutex with encoded
    /// blocker", v6.16: mutex 0, semaphore 1; commit 77da18de55ac "hung_task: extend hung
    /// task blocker tracking to rwsems", v6.17: rwsem reader 2, writer 3).
    Encoded(u64),
    /// `struct mutex *task_struct.blocker_mutex` (commit 3cf67d61ff98 "hung_task: show the
    /// blocker task if the task is hung on mutex", v6.15): mutexes only.
    MutexOnly(u64),
}

/// `struct semaphore { raw_spinlock_t lock; unsigned int count; … }`.
#[derive(Debug, Clone)]
pub struct SemLayout {
    pub count: u64,
    /// `wait_list` (a list head) or 7.x's `first_waiter` (a headless ring).
    pub wait_list: Option<u64>,
    pub first_waiter: Option<u64>,
    /// `last_holder` (`unsigned long`, the task that last took it, cleared by its `up()`;
    /// commit 194a9b9e843b "hung_task: show the blocker task if the task is hung on
    /// semaphore", v6.16, with CONFIG_DETECT_HUNG_TASK_BLOCKER).
    pub last_holder: Option<u64>,
    /// `struct semaphore_waiter { list, task, up }`.
    pub waiter_list: Option<u64>,
    pub waiter_task: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct FanotifyLayout {
    pub group_ops: u64,
    pub task_files: u64,
    pub files_fdt: u64,
    pub fdt_max_fds: u64,
    pub fdt_fd: u64,
    pub file_f_op: u64,
    pub file_private: u64,
    /// `fsnotify_group.fanotify_data.access_list`: permission events the listener has
    /// read and not answered yet (absent from some BTF-only kernels: then not counted).
    pub access_list: Option<u64>,
    /// `fsnotify_ops.handle_event` and `file_operations.read`: the ops tables recognized by
    /// the functions they hold when kallsyms lacks the tables themselves (no
    /// CONFIG_KALLSYMS_ALL).
    pub ops_handle_event: Option<u64>,
    pub fops_read: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct WaitLayout {
    pub mutex: Option<LockLayout>,
    pub rwsem: Option<LockLayout>,
    pub completion: Option<CompletionLayout>,
    /// `callback_head.func`.
    pub cb_func: Option<u64>,
    /// `wq_barrier.{work, done}` and `work_struct.func`.
    pub wq_barrier: Option<(u64, u64, u64)>,
    /// `process_timer.{timer, task}`, `timer_list.{expires, function}`.
    pub process_timer: Option<(u64, u64, u64, u64)>,
    pub fanotify: Option<FanotifyLayout>,
    /// `task_struct.blocked_on` (DEBUG_MUTEXES: `struct mutex_waiter *`; mainline with
    /// proxy-exec prep: `struct mutex *`), with whether it points at the mutex itself.
    pub blocked_on: Option<(u64, bool)>,
    /// `mutex_waiter.lock` (DEBUG_MUTEXES), for a `blocked_on` that points at the waiter.
    pub mutex_waiter_lock: Option<u64>,
    /// The hung-task detector's record of the lock a task sleeps on
    /// (`CONFIG_DETECT_HUNG_TASK_BLOCKER`), see [`crate::analysis::waits::blocker`].
    pub blocker: Option<BlockerLayout>,
    /// `struct semaphore` (`down*()`): its waiters and, with the blocker tracking, the
    /// last task that took it.
    pub semaphore: Option<SemLayout>,
    /// `wait_queue_entry` / `wait_queue_head` (`wait_event*()`).
    pub waitq: Option<crate::analysis::waits::waitqueue::WqLayout>,
    /// `struct percpu_rw_semaphore` (`percpu_down_write()`, `percpu_down_read()`).
    pub percpu_rwsem: Option<crate::analysis::waits::percpu_rwsem::PcpuLayout>,
    /// `struct wait_page_queue` and what names a folio's file (`folio_lock()`,
    /// `folio_wait_writeback()`).
    pub folio: Option<crate::analysis::waits::folio::FolioLayout>,
    /// `sizeof(union thread_union)` = THREAD_SIZE (16 KiB on x86_64 without KASAN).
    pub thread_size: u64,
}

impl WaitLayout {
    pub fn probe(k: &Kernel) -> WaitLayout {
        let di = &k.di;
        let why = "wait graph";
        let lock = |waiter: &'static str, lock: &'static str, ty: bool| -> Option<LockLayout> {
            let w = Probe::new(di, waiter).ok()?;
            let l = Probe::new(di, lock).ok()?;
            if l.opt("wait_list").is_none() && l.opt("first_waiter").is_none() {
                return None;
            }
            Some(LockLayout {
                waiter_list: w.off("list", why).ok()?,
                waiter_task: w.off("task", why).ok()?,
                waiter_type: if ty { w.opt("type") } else { None },
                owner: l.off("owner", why).ok()?,
                wait_list: l.opt("wait_list"),
                first_waiter: l.opt("first_waiter"),
                count: l.opt("count"),
            })
        };
        let cb_func = Probe::new(di, "struct callback_head")
            .ok()
            .and_then(|p| p.opt("func"));
        let wq_barrier = (|| {
            let b = Probe::new(di, "struct wq_barrier").ok()?;
            let w = Probe::new(di, "struct work_struct").ok()?;
            Some((b.opt("work")?, b.opt("done")?, w.opt("func")?))
        })();
        let process_timer = (|| {
            let p = Probe::new(di, "struct process_timer").ok()?;
            let t = Probe::new(di, "struct timer_list").ok()?;
            Some((
                p.opt("timer")?,
                p.opt("task")?,
                t.opt("expires")?,
                t.opt("function")?,
            ))
        })();
        let fanotify = (|| {
            let g = Probe::new(di, "struct fsnotify_group").ok()?;
            let t = Probe::new(di, "struct task_struct").ok()?;
            let fs = Probe::new(di, "struct files_struct").ok()?;
            let fdt = Probe::new(di, "struct fdtable").ok()?;
            let f = Probe::new(di, "struct file").ok()?;
            Some(FanotifyLayout {
                group_ops: g.opt("ops")?,
                task_files: t.opt("files")?,
                files_fdt: fs.opt("fdt")?,
                fdt_max_fds: fdt.opt("max_fds")?,
                fdt_fd: fdt.opt("fd")?,
                file_f_op: f.opt("f_op")?,
                file_private: f.opt("private_data")?,
                access_list: g.opt("fanotify_data.access_list"),
                ops_handle_event: Probe::new(di, "struct fsnotify_ops")
                    .ok()
                    .and_then(|o| o.opt("handle_event")),
                fops_read: Probe::new(di, "struct file_operations")
                    .ok()
                    .and_then(|o| o.opt("read")),
            })
        })();
        let t = Probe::new(di, "struct task_struct").ok();
        let blocked_on = t.as_ref().and_then(|t| {
            let off = t.opt("blocked_on")?;
            let m = di.member(t.ty, "blocked_on").ok()?;
            let name = crate::kernel::value::type_name(di, m.ty);
            Some((off, name.starts_with("struct mutex *")))
        });
        let blocker = t.as_ref().and_then(|t| {
            t.opt("blocker")
                .map(BlockerLayout::Encoded)
                .or_else(|| t.opt("blocker_mutex").map(BlockerLayout::MutexOnly))
        });
        let semaphore = (|| {
            let s = Probe::new(di, "struct semaphore").ok()?;
            let w = Probe::new(di, "struct semaphore_waiter").ok();
            Some(SemLayout {
                count: s.opt("count")?,
                wait_list: s.opt("wait_list"),
                first_waiter: s.opt("first_waiter"),
                last_holder: s.opt("last_holder"),
                waiter_list: w.as_ref().and_then(|w| w.opt("list")),
                waiter_task: w.as_ref().and_then(|w| w.opt("task")),
            })
        })();
        // THREAD_SIZE: the init task's stack the linker script lays out (`INIT_TASK_DATA`:
        // `__start_init_stack`..`__end_init_stack`, named `__start_init_task`..
        // `__end_init_task` before 6.9), from the symbol table; else the size of
        // `union thread_union` (asking the DWARF index for a type it lacks scans every unit:
        // these vmlinux files declare it without defining it); else 16 KiB.
        let span = |a: &str, b: &str| match (k.symbol_addr(a), k.symbol_addr(b)) {
            (Ok(a), Ok(b)) if b.0 > a.0 => Some(b.0 - a.0),
            _ => None,
        };
        let thread_size = span("__start_init_stack", "__end_init_stack")
            .or_else(|| span("__start_init_task", "__end_init_task"))
            .or_else(|| Probe::new(di, "union thread_union").map(|p| p.size()).ok())
            .filter(|&s| (4096..=1 << 20).contains(&s))
            .unwrap_or(16384);
        let waitq = (|| {
            let e = Probe::new(di, "struct wait_queue_entry").ok()?;
            let h = Probe::new(di, "struct wait_queue_head").ok()?;
            Some(crate::analysis::waits::waitqueue::WqLayout {
                entry_flags: e.opt("flags")?,
                entry_private: e.opt("private")?,
                entry_func: e.opt("func")?,
                entry_entry: e.opt("entry")?,
                head_head: h.opt("head")?,
            })
        })();
        let percpu_rwsem = (|| {
            let p = Probe::new(di, "struct percpu_rw_semaphore").ok()?;
            Some(crate::analysis::waits::percpu_rwsem::PcpuLayout {
                read_count: p.opt("read_count")?,
                writer_task: p.opt("writer.task")?,
                waiters: p.opt("waiters")?,
                block: p.opt("block")?,
            })
        })();
        let folio = (|| {
            let q = Probe::new(di, "struct wait_page_queue").ok()?;
            // 5.16+ (commit 6974d7c977a7 "mm/filemap: Add folio_wait_bit()") waits on a
            // folio; before, on a page. The folio's first members are the page's.
            let (obj, is_folio) = match q.opt("folio") {
                Some(o) => (o, true),
                None => (q.opt("page")?, false),
            };
            let page = Probe::new(
                di,
                if is_folio {
                    "struct folio"
                } else {
                    "struct page"
                },
            )
            .ok()?;
            let a = Probe::new(di, "struct address_space").ok()?;
            let i = Probe::new(di, "struct inode").ok()?;
            let d = Probe::new(di, "struct dentry").ok()?;
            let sb = Probe::new(di, "struct super_block").ok()?;
            Some(crate::analysis::waits::folio::FolioLayout {
                wpq_obj: obj,
                wpq_bit: q.opt("bit_nr")?,
                wpq_wait: q.opt("wait")?,
                is_folio,
                flags: page.opt("flags")?,
                mapping: page.opt("mapping")?,
                index: page.opt("index")?,
                host: a.opt("host")?,
                i_ino: i.opt("i_ino")?,
                i_sb: i.opt("i_sb")?,
                i_dentry: i.opt("i_dentry")?,
                d_alias: d.opt("d_u.d_alias").or_else(|| d.opt("d_alias"))?,
                d_parent: d.opt("d_parent")?,
                d_name: d.opt("d_name.name")?,
                s_id: sb.opt("s_id")?,
                pg_writeback: di.find_enumerator("PG_writeback").map(|(v, _)| v as u32),
            })
        })();
        let mutex_waiter_lock = Probe::new(di, "struct mutex_waiter")
            .ok()
            .and_then(|w| w.opt("lock"));
        WaitLayout {
            waitq,
            mutex_waiter_lock,
            mutex: lock("struct mutex_waiter", "struct mutex", false),
            rwsem: lock("struct rwsem_waiter", "struct rw_semaphore", true),
            completion: CompletionLayout::probe(k).ok(),
            cb_func,
            wq_barrier,
            process_timer,
            fanotify,
            blocked_on,
            blocker,
            semaphore,
            percpu_rwsem,
            folio,
            thread_size,
        }
    }
}

// The block layer's, buffer heads' and jbd2's layouts are probed when a wait first needs
// them (`Ctx::block_layout` …), not with the rest: on a distribution's generic kernel they
// live in modules (jbd2, ext4's buffer heads), and asking for a type no image has loaded
// yet indexes every module's DWARF — a second and hundreds of MB with a hundred modules.

/// Every enumerator of the enum that defines `anchor` (one lookup: asking for names a
/// kernel lacks would search all of its debug info).
fn enums(di: &crate::debuginfo::DebugInfo, anchor: &str) -> Vec<(u32, String)> {
    di.find_enumerator(anchor)
        .and_then(|(_, ty)| di.ty(ty).ok())
        .map(|t| {
            t.enumerators
                .iter()
                .map(|(n, v)| (*v as u32, n.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The block layer: disks, their in-flight requests, bios, tag waiters.
pub fn probe_block(k: &Kernel) -> Option<crate::analysis::waits::blkio::BlockLayout> {
    let di = &k.di;
    let enums = |a: &str| enums(di, a);

    let rq = Probe::new(di, "struct request").ok()?;
    let q = Probe::new(di, "struct request_queue").ok()?;
    let set = Probe::new(di, "struct blk_mq_tag_set").ok()?;
    let tags = Probe::new(di, "struct blk_mq_tags").ok()?;
    let disk = Probe::new(di, "struct gendisk").ok()?;
    let bio = Probe::new(di, "struct bio").ok()?;
    let bvec = Probe::new(di, "struct bio_vec").ok()?;
    let bdev = Probe::new(di, "struct block_device").ok()?;
    let bi = Probe::new(di, "struct bdev_inode").ok()?;
    let inode = Probe::new(di, "struct inode").ok()?;
    let sb = Probe::new(di, "struct super_block").ok()?;
    let sbq_wait = Probe::new(di, "struct sbq_wait")
        .ok()
        .and_then(|w| Some((w.opt("sbq")?, w.opt("wait")?)));
    // The bitmaps are embedded only when the member is a struct, not a pointer.
    let embedded = |m: &str| {
        let o = tags.opt(m)?;
        let ty = di.member(tags.ty, m).ok()?.ty;
        crate::kernel::value::type_name(di, ty)
            .starts_with("struct sbitmap_queue")
            .then_some(o)
            .filter(|_| !crate::kernel::value::type_name(di, ty).ends_with('*'))
    };
    Some(crate::analysis::waits::blkio::BlockLayout {
        rq_q: rq.opt("q")?,
        rq_cmd_flags: rq.opt("cmd_flags")?,
        rq_tag: rq.opt("tag")?,
        rq_state: rq.opt("state")?,
        rq_start_ns: rq.opt("start_time_ns"),
        rq_data_len: rq.opt("__data_len")?,
        rq_sector: rq.opt("__sector")?,
        rq_bio: rq.opt("bio")?,
        q_tag_set: q.opt("tag_set")?,
        set_tags: set.opt("tags")?,
        set_nr_hw: set.opt("nr_hw_queues")?,
        tags_nr: tags.opt("nr_tags")?,
        tags_rqs: tags.opt("rqs")?,
        tags_bitmaps: ["bitmap_tags", "breserved_tags"]
            .iter()
            .filter_map(|m| embedded(m))
            .collect(),
        disk_name: disk.opt("disk_name")?,
        disk_queue: disk.opt("queue")?,
        disk_part0: disk.opt("part0")?,
        bio_next: bio.opt("bi_next")?,
        bio_bdev: bio.opt("bi_bdev")?,
        bio_private: bio.opt("bi_private")?,
        bio_sector: bio.opt("bi_iter.bi_sector")?,
        bio_io_vec: bio.opt("bi_io_vec")?,
        bio_vcnt: bio.opt("bi_vcnt")?,
        bvec_size: bvec.size(),
        bv_page: bvec.opt("bv_page")?,
        bd_disk: bdev.opt("bd_disk")?,
        bdev_inode: (bi.opt("bdev")?, bi.opt("vfs_inode")?),
        i_sb_list: inode.opt("i_sb_list")?,
        s_inodes: sb.opt("s_inodes")?,
        sbq_wait,
        in_flight: di
            .find_enumerator("MQ_RQ_IN_FLIGHT")
            .map_or(1, |(v, _)| v as u32),
        ops: enums("REQ_OP_READ")
            .into_iter()
            .map(|(v, n)| (v, n.trim_start_matches("REQ_OP_").to_string()))
            .collect(),
    })
}

/// Bit waits on buffer heads (`wait_on_buffer()`, jbd2's `BH_Shadow`).
pub fn probe_buffer(k: &Kernel) -> Option<crate::analysis::waits::buffer::BufferLayout> {
    let di = &k.di;
    let enums = |a: &str| enums(di, a);

    let w = Probe::new(di, "struct wait_bit_queue_entry").ok()?;
    let bh = Probe::new(di, "struct buffer_head").ok()?;
    let jh = Probe::new(di, "struct journal_head").ok();
    let tr = Probe::new(di, "struct transaction_s").ok();
    Some(crate::analysis::waits::buffer::BufferLayout {
        key_flags: w.opt("key.flags")?,
        key_bit: w.opt("key.bit_nr")?,
        wq_entry: w.opt("wq_entry")?,
        b_state: bh.opt("b_state")?,
        b_blocknr: bh.opt("b_blocknr")?,
        b_size: bh.opt("b_size")?,
        b_bdev: bh.opt("b_bdev")?,
        b_private: bh.opt("b_private")?,
        jh_transaction: jh.and_then(|j| j.opt("b_transaction")),
        t_journal: tr.and_then(|t| t.opt("t_journal")),
        bits: [enums("BH_Lock"), enums("BH_Shadow")]
            .concat()
            .into_iter()
            .filter(|(_, n)| !n.ends_with("PrivateStart"))
            .collect(),
    })
}

/// jbd2's `journal_t` and `transaction_t`.
pub fn probe_jbd2(k: &Kernel) -> Option<crate::analysis::waits::jbd2::JournalLayout> {
    let di = &k.di;
    let enums = |a: &str| enums(di, a);

    let j = Probe::new(di, "struct journal_s").ok()?;
    let t = Probe::new(di, "struct transaction_s").ok()?;
    Some(crate::analysis::waits::jbd2::JournalLayout {
        j_task: j.opt("j_task")?,
        j_wait_done_commit: j.opt("j_wait_done_commit")?,
        j_wait_transaction_locked: j.opt("j_wait_transaction_locked")?,
        j_commit_sequence: j.opt("j_commit_sequence")?,
        j_commit_request: j.opt("j_commit_request")?,
        j_running: j.opt("j_running_transaction")?,
        j_committing: j.opt("j_committing_transaction")?,
        j_devname: j.opt("j_devname")?,
        t_tid: t.opt("t_tid")?,
        t_state: t.opt("t_state")?,
        states: enums("T_RUNNING"),
    })
}
