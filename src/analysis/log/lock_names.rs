//! Locks known by the function that takes them: `rtnl_lock`, `rtnetlink_rcv`,
//! `rtnl_net_lock` all take `rtnl_mutex`, so their waiters meet on one node. The locking API
//! itself (`mutex_lock`, `down_write`, `call_rwsem_down_write_failed`, spinlock slow paths)
//! never names a lock, and wrappers that lock for a caller (`inode_lock`) name it but are
//! not "the caller".

use super::super::waits::base_name;
use super::wait_frames::{MUTEX, RT, RWSEM, SEMAPHORE, SOCK};

/// Functions that take one known lock: (functions, lock name, one lock for the whole system).
pub(super) const LOCK_NAMES: &[(&[&str], &str, bool)] = &[
    (
        &[
            "rtnl_lock",
            "rtnl_lock_killable",
            "rtnl_lock_interruptible",
            "rtnetlink_rcv",
            "rtnl_net_lock",
            "__rtnl_net_lock",
            "rtnl_net_lock_killable",
            "rtnl_nets_lock",
        ],
        "rtnl_mutex",
        true,
    ),
    (
        &[
            "cgroup_lock",
            "proc_cgroup_show",
            "cgroup_kn_lock_live",
            "cgroup_lock_and_drain_offline",
        ],
        "cgroup_mutex",
        true,
    ),
    (
        &["cgroup_threadgroup_change_begin", "cgroup_attach_lock"],
        "cgroup_threadgroup_rwsem",
        true,
    ),
    (
        &["_vm_unmap_aliases", "purge_vmap_area_lazy"],
        "vmap_purge_lock",
        true,
    ),
    (&["exp_funnel_lock"], "rcu_state.exp_mutex", true),
    (&["console_lock"], "console_sem", true),
    (&["wiphy_lock"], "wiphy mutex (wiphy->mtx)", false),
    (&["devl_lock"], "devlink lock (devlink->lock)", false),
    (&["ubifs_write_inode"], "ubifs ui_mutex", false),
    (
        &["device_lock", "__driver_attach", "__device_attach"],
        "device mutex (dev->mutex)",
        false,
    ),
    (
        &[
            "do_page_fault",
            "__do_page_fault",
            "do_user_addr_fault",
            "lock_mm_and_find_vma",
            "mmap_read_lock",
            "mmap_write_lock",
            "mmap_write_lock_killable",
            "mmap_read_lock_killable",
            "sys_mmap_pgoff",
            "vm_mmap_pgoff",
            "vm_munmap",
            "do_mprotect_pkey",
        ],
        "mmap_lock (mmap_sem)",
        false,
    ),
    (
        &[
            "inode_lock",
            "inode_lock_nested",
            "inode_lock_shared",
            "lock_rename",
            "do_last",
            "lookup_slow",
            "do_lookup",
            "open_last_lookups",
            "filename_create",
        ],
        "inode i_rwsem (i_mutex)",
        false,
    ),
    (
        &["anon_vma_fork", "anon_vma_lock_write"],
        "anon_vma lock",
        false,
    ),
];

/// Frames of the locking API itself (never the caller a lock is named after).
pub(super) fn is_lock_api(f: &str) -> bool {
    let f = base_name(f);
    MUTEX.contains(&f)
        || RWSEM.contains(&f)
        || RT.contains(&f)
        || SEMAPHORE.contains(&f)
        || SOCK.contains(&f)
        || f.starts_with("_raw_")
        || f.starts_with("do_raw_")
        || f.starts_with("queued_")
        || f.starts_with("native_queued_")
        || f.starts_with("__pv_queued_")
        || f == "osq_lock"
        || f == "lock_acquire"
        || f == "__schedule_loop"
}

/// Functions that just call a locking API on someone else's behalf (`inode_lock`): named by
/// [`LOCK_NAMES`] but never "the caller".
pub(super) fn is_lock_wrapper(f: &str) -> bool {
    let f = base_name(f);
    f.ends_with("_lock") || f.ends_with("_lock_nested") || f.ends_with("_lock_killable")
}

/// The known lock `f` takes, with whether it is one lock for the whole system.
pub(super) fn lock_name(f: &str) -> Option<(&'static str, bool)> {
    let f = base_name(f);
    LOCK_NAMES
        .iter()
        .find(|(fs, _, _)| fs.contains(&f))
        .map(|(_, n, global)| (*n, *global))
}
