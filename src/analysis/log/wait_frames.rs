//! The blocking frames of each wait kind the text side reads ([`super::waits`]), innermost
//! API first; `base_name()` strips compiler suffixes (`__mutex_lock.isra.7`) before lookup.

pub(super) const MUTEX: &[&str] = &[
    "__mutex_lock",
    "__mutex_lock_common",
    "__mutex_lock_slowpath",
    "__mutex_lock_killable_slowpath",
    "__mutex_lock_interruptible_slowpath",
    "mutex_lock",
    "mutex_lock_killable",
    "mutex_lock_interruptible",
    "mutex_lock_nested",
    "mutex_lock_killable_nested",
    "mutex_lock_interruptible_nested",
    "mutex_lock_io",
    "mutex_lock_io_nested",
    "mutex_optimistic_spin",
    "mutex_spin_on_owner",
];

pub(super) const RWSEM: &[&str] = &[
    "rwsem_down_write_slowpath",
    "rwsem_down_read_slowpath",
    "rwsem_down_write_failed",
    "rwsem_down_read_failed",
    "rwsem_down_failed_common",
    "rwsem_down_write_failed_killable",
    "rwsem_down_read_failed_killable",
    "call_rwsem_down_write_failed",
    "call_rwsem_down_read_failed",
    "call_rwsem_down_write_failed_killable",
    "call_rwsem_down_read_failed_killable",
    "__down_write",
    "__down_read",
    "__down_write_common",
    "__down_read_common",
    "__down_write_killable",
    "__down_read_killable",
    "down_read",
    "down_write",
    "down_read_killable",
    "down_write_killable",
    "down_read_nested",
    "down_write_nested",
    "down_read_interruptible",
    "percpu_down_write",
    "percpu_down_read",
    "__percpu_down_read",
    "percpu_rwsem_wait",
    "percpu_rwsem_down_read",
    "rwsem_optimistic_spin",
];

pub(super) const RT: &[&str] = &[
    "rt_mutex_slowlock",
    "rt_mutex_slowlock_block",
    "__rt_mutex_slowlock",
    "__rt_mutex_slowlock_locked",
    "rt_mutex_lock",
    "rt_mutex_lock_nested",
    "rt_mutex_lock_interruptible",
    "rt_mutex_lock_killable",
    "rtlock_slowlock",
    "rtlock_slowlock_locked",
    "schedule_rtlock",
    "rwbase_read_lock",
    "__rwbase_read_lock",
    "rwbase_write_lock",
    "rt_spin_lock",
    "rt_read_lock",
    "rt_write_lock",
    "rt_spin_lock_slowlock",
    "rt_spin_lock_slowlock_locked",
];

/// The same frames the dump's semaphore decoder looks for.
pub(super) const SEMAPHORE: &[&str] = crate::analysis::waits::semaphore::FRAMES;

pub(super) const SOCK: &[&str] = &[
    "__lock_sock",
    "lock_sock_nested",
    "lock_sock",
    "lock_sock_fast",
];

pub(super) const PAGE_LOCK: &[&str] = &[
    "__folio_lock",
    "folio_lock",
    "__folio_lock_killable",
    "__folio_lock_or_retry",
    "__lock_page",
    "lock_page",
    "__lock_page_killable",
    "__lock_page_or_retry",
    "wait_on_page_locked",
    "wait_on_page_locked_killable",
    "folio_wait_locked",
    "put_and_wait_on_page_locked",
    "migration_entry_wait_on_locked",
];

/// Bit waits shared by page locks and page writeback: the caller decides.
pub(super) const PAGE_BIT: &[&str] = &[
    "folio_wait_bit_common",
    "folio_wait_bit",
    "folio_wait_bit_killable",
    "wait_on_page_bit_common",
    "wait_on_page_bit",
    "wait_on_page_bit_killable",
];

pub(super) const WRITEBACK: &[&str] = &[
    "folio_wait_writeback",
    "wait_on_page_writeback",
    "folio_wait_stable",
    "wait_for_stable_page",
    "__filemap_fdatawait_range",
    "filemap_fdatawait_range",
    "filemap_fdatawait_range_keep_errors",
    "filemap_fdatawait_keep_errors",
    "filemap_fdatawait",
    "__inode_wait_for_writeback",
    "inode_wait_for_writeback",
];

pub(super) const WB_WORK: &[&str] = &["wb_wait_for_completion"];

pub(super) const BUFFER: &[&str] = &[
    "__wait_on_buffer",
    "wait_on_buffer",
    "sleep_on_buffer",
    "__lock_buffer",
    "lock_buffer",
];

pub(super) const JBD2: &[&str] = &[
    "jbd2_log_wait_commit",
    "jbd2_journal_wait_updates",
    "wait_transaction_locked",
    "wait_transaction_switching",
    "add_transaction_credits",
    "jbd2_journal_lock_updates",
    "__jbd2_log_wait_for_space",
    "jbd2_log_wait_for_space",
];

pub(super) const INODE: &[&str] = &["__wait_on_freeing_inode", "inode_wait_for_lru_isolating"];

pub(super) const CLAIM: &[&str] = &["__mmc_claim_host", "mmc_claim_host"];

pub(super) const CONDVAR: &[&str] = &[
    "cv_wait_common",
    "__cv_wait",
    "cv_wait",
    "__cv_wait_io",
    "__cv_wait_sig",
    "__cv_timedwait_common",
    "mb_cache_entry_wait_unused",
];

pub(super) const IO: &[&str] = &[
    "io_schedule",
    "io_schedule_timeout",
    "bit_wait_io",
    "blk_mq_get_tag",
    "rq_qos_wait",
    "wbt_wait",
];

pub(super) const SLEEP: &[&str] = &[
    "msleep",
    "msleep_interruptible",
    "schedule_timeout_uninterruptible",
    "schedule_timeout_interruptible",
    "schedule_timeout_killable",
    "schedule_hrtimeout",
    "schedule_hrtimeout_range",
    "usleep_range_state",
    "do_nanosleep",
];

pub(super) const COMPLETION: &[&str] = &[
    "__wait_for_common",
    "wait_for_common",
    "do_wait_for_common",
    "wait_for_completion",
    "wait_for_completion_io",
    "wait_for_completion_io_timeout",
    "wait_for_completion_killable",
    "wait_for_completion_killable_timeout",
    "wait_for_completion_interruptible",
    "wait_for_completion_interruptible_timeout",
    "wait_for_completion_timeout",
    "wait_for_completion_state",
];
