//! The SRCU fields quiesce shows, explained (see `fields.rs`). Tree SRCU
//! (`kernel/rcu/srcutree.c`); the members move between generations:
//!
//! - ≤ 6.3: update-side state in `struct srcu_struct` itself;
//! - 6.4+: in `struct srcu_usage` behind `srcu_struct.srcu_sup` (commit "srcu: Begin
//!   offloading srcu_struct fields to srcu_update", then the series that moved each field);
//! - ≤ 6.14: per-CPU counters `srcu_data.srcu_lock_count[2]`/`srcu_unlock_count[2]` and the
//!   reader index `srcu_struct.srcu_idx`;
//! - 6.15+: `srcu_data.srcu_ctrs[2].srcu_locks`/`.srcu_unlocks` and `srcu_struct.srcu_ctrp`,
//!   a pointer to the current `srcu_ctrs` element ("srcu: Make Tree SRCU updates
//!   independent of ->srcu_idx").

use super::fields::{FieldDoc, m};

const IN_STRUCT: &str = "≤ 6.3: in srcu_struct";
const IN_USAGE: &str = "6.4+: in srcu_usage via srcu_struct.srcu_sup (\"srcu: Begin offloading srcu_struct fields to srcu_update\")";

pub(super) static FIELDS: &[FieldDoc] = &[
    FieldDoc {
        key: "srcu.gp_seq",
        label: "gp_seq",
        members: &[
            m("srcu_struct", "srcu_gp_seq", IN_STRUCT),
            m("srcu_usage", "srcu_gp_seq", IN_USAGE),
        ],
        derived: None,
        meaning: "The domain's grace-period sequence counter: the low two bits are the phase of the grace period in progress (0 IDLE, 1 SCAN1, 2 SCAN2), the rest counts grace periods, so each full grace period adds 4. rcu_seq_start() sets the phase to SCAN1 when a grace period begins, rcu_seq_set_state() moves it to SCAN2 after the index flip, and rcu_seq_end() rounds it up to the next multiple of 4.",
        set_by: &[
            "srcu_gp_start",
            "srcu_advance_state",
            "srcu_gp_end",
            "process_srcu",
        ],
        read_by: &[
            "srcu_funnel_gp_start",
            "poll_state_synchronize_srcu",
            "start_poll_synchronize_srcu",
            "srcu_torture_stats_print",
        ],
        normal: "Grows by 4 per grace period and sits in IDLE (a multiple of 4) between them; SCAN1 and SCAN2 last a few jiffies while the process_srcu work checks the counters.",
        stuck: "The same value in SCAN1 or SCAN2 for seconds: the grace period waits for readers of one index to leave (see readers and GP waits on idx), and every synchronize_srcu() and call_srcu() callback of the domain waits with it.",
        json: &["domains[].gp_seq"],
    },
    FieldDoc {
        key: "srcu.phase",
        label: "IDLE/SCAN1/SCAN2",
        members: &[],
        derived: Some(
            "the low two bits of gp_seq (rcu_seq_state(); SRCU_STATE_IDLE 0, SRCU_STATE_SCAN1 1, SRCU_STATE_SCAN2 2)",
        ),
        meaning: "Where the grace period is: IDLE, none running; SCAN1, waiting for readers of the index new readers do not take (normally none) before flipping the index; SCAN2, after the flip, waiting for the readers of the previously current index to leave. A reader that entered before the grace period started is waited for in SCAN2.",
        set_by: &["srcu_gp_start", "srcu_advance_state", "srcu_gp_end"],
        read_by: &[
            "srcu_advance_state",
            "srcu_funnel_gp_start",
            "srcu_torture_stats_print",
            "process_srcu",
        ],
        normal: "IDLE most of the time; SCAN1 then SCAN2 for a few jiffies per grace period.",
        stuck: "SCAN2 for seconds names a reader still inside on the old index; SCAN1 that lasts means a reader took the index just before a flip, or the process_srcu work does not get to run.",
        json: &["domains[].phase"],
    },
    FieldDoc {
        key: "srcu.current_idx",
        label: "idx",
        members: &[
            m("srcu_struct", "srcu_idx", "≤ 6.14"),
            m(
                "srcu_struct",
                "srcu_ctrp",
                "6.15+: a pointer to the current srcu_ctrs element (\"srcu: Make Tree SRCU updates independent of ->srcu_idx\")",
            ),
        ],
        derived: None,
        meaning: "The index (0 or 1) new readers take: srcu_read_lock() reads it, increments this CPU's lock counter of that index and returns the index, which srcu_read_unlock() is given back. srcu_flip() changes it once per grace period, between SCAN1 and SCAN2.",
        set_by: &["srcu_advance_state", "srcu_flip", "process_srcu"],
        read_by: &[
            "__srcu_read_lock",
            "srcu_advance_state",
            "srcu_torture_stats_print",
        ],
        normal: "Alternates between 0 and 1, one flip per grace period.",
        stuck: "Unchanged while gp_seq sits in SCAN1: the grace period has not reached its flip.",
        json: &["domains[].current_idx"],
    },
    FieldDoc {
        key: "srcu.gp_seq_needed",
        label: "needed",
        members: &[
            m("srcu_struct", "srcu_gp_seq_needed", IN_STRUCT),
            m("srcu_usage", "srcu_gp_seq_needed", IN_USAGE),
        ],
        derived: None,
        meaning: "The furthest grace period anyone has asked for (in gp_seq units): call_srcu() and synchronize_srcu() compute the grace period their callback needs and srcu_funnel_gp_start() raises this to it; when a grace period ends and this is still ahead, the next one starts at once. Its low bits say whether the domain was ever initialized by an updater.",
        set_by: &["srcu_funnel_gp_start", "init_srcu_struct"],
        read_by: &["srcu_gp_end", "srcu_torture_stats_print"],
        normal: "Equal to gp_seq when idle, or one grace period (4) ahead while one is wanted.",
        stuck: "Several grace periods ahead of a gp_seq that does not move: requests pile up behind a grace period that cannot end.",
        json: &[
            "domains[].gp_seq_needed",
            "domains[].gp_requested",
            "domains[].initialized",
        ],
    },
    FieldDoc {
        key: "srcu.gp_seq_needed_exp",
        label: "needed_exp",
        members: &[
            m("srcu_struct", "srcu_gp_seq_needed_exp", IN_STRUCT),
            m("srcu_usage", "srcu_gp_seq_needed_exp", IN_USAGE),
        ],
        derived: None,
        meaning: "The furthest grace period asked for as expedited (synchronize_srcu_expedited(), or synchronize_srcu() when the domain looks idle): while gp_seq is behind it the process_srcu work polls the counters with no delay.",
        set_by: &[
            "srcu_funnel_exp_start",
            "srcu_funnel_gp_start",
            "srcu_gp_end",
        ],
        read_by: &["srcu_get_delay", "srcu_gp_end", "srcu_torture_stats_print"],
        normal: "At or behind gp_seq: no expedited request outstanding.",
        stuck: "Ahead of a stuck gp_seq: an expedited waiter is among those blocked; expediting makes the polling faster, not the readers leave.",
        json: &["domains[].gp_seq_needed_exp"],
    },
    FieldDoc {
        key: "srcu.gp_start",
        label: "gp age",
        members: &[
            m("srcu_struct", "srcu_gp_start", IN_STRUCT),
            m("srcu_usage", "srcu_gp_start", IN_USAGE),
        ],
        derived: None,
        meaning: "jiffies when the current grace period started (set by srcu_gp_start()); quiesce shows its age against the dump's jiffies. srcu_get_delay() lengthens the polling interval of a grace period that has lasted long.",
        set_by: &["srcu_gp_start", "srcu_funnel_gp_start"],
        read_by: &["srcu_get_delay", "process_srcu"],
        normal: "A few jiffies old while a grace period runs.",
        stuck: "Thousands of jiffies (seconds) old: the grace period has been waiting that long; the hung-task detector reports its synchronize_srcu() callers after 120 s by default.",
        json: &["domains[].gp_start", "domains[].gp_age_jiffies"],
    },
    FieldDoc {
        key: "srcu.size_state",
        label: "size",
        members: &[
            m(
                "srcu_struct",
                "srcu_size_state",
                "5.19–6.3 (\"srcu: Dynamically allocate srcu_node array\")",
            ),
            m("srcu_usage", "srcu_size_state", IN_USAGE),
        ],
        derived: None,
        meaning: "Whether the domain uses its srcu_node tree: SRCU_SIZE_SMALL keeps all callbacks on CPU 0's srcu_data; contention (lock retries counted in srcu_n_lock_retries) or the srcutree.convert_to_big boot parameter moves it through SRCU_SIZE_ALLOC … SRCU_SIZE_BIG, one step per grace period end.",
        set_by: &["srcu_transition_to_big", "srcu_gp_end", "init_srcu_struct"],
        read_by: &[
            "srcu_gp_start_if_needed",
            "srcu_funnel_gp_start",
            "srcu_torture_stats_print",
        ],
        normal: "SRCU_SIZE_SMALL for most domains; SRCU_SIZE_BIG for busy ones.",
        stuck: "Not a cause of hangs; an intermediate state (SRCU_SIZE_WAIT_*) that never advances shows grace periods stopped ending.",
        json: &["domains[].size_state.name", "domains[].size_state.value"],
    },
    FieldDoc {
        key: "srcu.reader_flavor",
        label: "flavor",
        members: &[
            m(
                "srcu_struct",
                "srcu_reader_flavor",
                "the SRCU-fast era (DEFINE_SRCU_FAST: the domain's flavour fixed at definition)",
            ),
            m(
                "srcu_data",
                "srcu_reader_flavor",
                "6.13+ (\"srcu: Convert ->srcu_nmi_safety to ->srcu_reader_flavor\")",
            ),
            m("srcu_data", "srcu_nmi_safety", "6.2–6.12"),
        ],
        derived: None,
        meaning: "Which read-side primitives the domain's readers have used (SRCU_READ_FLAVOR_NORMAL, _NMI, _LITE, _FAST bits, or NMI safety before 6.13): recorded by the debug check on each srcu_read_lock*() variant, which warns when one domain mixes flavours. Fast/lite readers skip the memory barrier, so the grace period then needs synchronize_rcu() to order them.",
        set_by: &["__srcu_check_read_flavor", "srcu_check_nmi_safety"],
        read_by: &["srcu_readers_active_idx_check", "srcu_torture_stats_print"],
        normal: "One flavour bit (or 0 with the debug check off).",
        stuck: "Several bits: the domain mixes reader flavours, which the kernel warns about.",
        json: &[
            "domains[].reader_flavor",
            "domains[].reader_flavor_names[]",
            "domains[].cpus[].reader_flavor",
        ],
    },
    FieldDoc {
        key: "srcu.readers",
        label: "readers",
        members: &[],
        derived: Some("Σ over CPUs of the lock counters minus Σ of the unlock counters, per index"),
        meaning: "How many readers are inside the domain on each index: every srcu_read_lock() adds one to its CPU's lock counter of the current index, every srcu_read_unlock() one to the unlock counter of the same index, possibly on another CPU, so only the sums mean anything. srcu_readers_active_idx_check() compares them (unlocks first) to decide whether an index has drained.",
        set_by: &["__srcu_read_lock", "__srcu_read_unlock"],
        read_by: &[
            "srcu_readers_active_idx_check",
            "srcu_advance_state",
            "process_srcu",
        ],
        normal: "0 on both indexes, or small numbers that drop back to 0 within milliseconds.",
        stuck: "A count that stays above 0 on the index the grace period waits on: that many readers never called srcu_read_unlock(), usually because they are blocked themselves (the counters do not say which tasks: look for stacks inside srcu_read_lock() sections).",
        json: &["domains[].readers[]", "domains[].waits_on_idx"],
    },
    FieldDoc {
        key: "srcu.cpu.counters",
        label: "locks/unlocks",
        members: &[
            m(
                "srcu_data",
                "srcu_lock_count",
                "≤ 6.14 (atomic_long_t since 6.2)",
            ),
            m("srcu_data", "srcu_unlock_count", "≤ 6.14"),
            m(
                "srcu_data",
                "srcu_ctrs",
                "6.15+: srcu_ctrs[2].srcu_locks/srcu_unlocks (\"srcu: Make Tree SRCU updates independent of ->srcu_idx\")",
            ),
        ],
        derived: None,
        meaning: "This CPU's per-index reader counters in its srcu_data: srcu_read_lock() increments the lock counter of the index it took on the CPU it runs on; srcu_read_unlock() the unlock counter on whatever CPU it runs on. They only ever grow (modulo wrap); a single CPU's difference may be negative.",
        set_by: &["__srcu_read_lock", "__srcu_read_unlock"],
        read_by: &[
            "srcu_readers_lock_idx",
            "srcu_readers_unlock_idx",
            "srcu_readers_active_idx_check",
            "process_srcu",
        ],
        normal: "Locks and unlocks equal when summed over all CPUs.",
        stuck: "The sums differ on the waited index for as long as the grace period lasts.",
        json: &["domains[].cpus[].locks[]", "domains[].cpus[].unlocks[]"],
    },
    FieldDoc {
        key: "srcu.cpu.callbacks",
        label: "cbs",
        members: &[m("srcu_data", "srcu_cblist", "4.12+ (rcu_segcblist)")],
        derived: None,
        meaning: "Callbacks queued on this CPU's srcu_data by call_srcu(), and by synchronize_srcu() (its wakeme_after_rcu). They are kept in a segmented list (DONE, WAIT, NEXT_READY, NEXT), each segment tagged with the grace period it waits for; in SRCU_SIZE_SMALL all go to CPU 0's list.",
        set_by: &[
            "srcu_gp_start_if_needed",
            "srcu_invoke_callbacks",
            "srcu_gp_start",
        ],
        read_by: &[
            "srcu_invoke_callbacks",
            "srcu_barrier",
            "srcu_torture_stats_print",
        ],
        normal: "0, or a few that move to DONE and are invoked as grace periods end.",
        stuck: "Callbacks that stay in WAIT or NEXT_READY: their grace period has not ended.",
        json: &["domains[].cpus[].callbacks"],
    },
    FieldDoc {
        key: "srcu.cpu.cblist_invoking",
        label: "invoking",
        members: &[m("srcu_data", "srcu_cblist_invoking", "4.12+")],
        derived: None,
        meaning: "Set while srcu_invoke_callbacks() runs this CPU's DONE callbacks, so that a second invocation does not start.",
        set_by: &["srcu_invoke_callbacks"],
        read_by: &["srcu_invoke_callbacks"],
        normal: "false, except while its callbacks run.",
        stuck: "true in a dump while a callback function blocks: the callback itself is the problem.",
        json: &["domains[].cpus[].cblist_invoking"],
    },
    FieldDoc {
        key: "srcu.callback.segment",
        label: "segment",
        members: &[m(
            "rcu_segcblist",
            "tails",
            "4.12+ (the segment boundaries; gp_seq[] tags them)",
        )],
        derived: None,
        meaning: "Which segment of the callback list holds the callback: NEXT (not yet assigned a grace period), NEXT_READY (assigned the grace period in its tag), WAIT (waiting for the grace period in progress), DONE (its grace period ended: to be invoked). rcu_segcblist_accelerate() assigns, rcu_segcblist_advance() moves callbacks to DONE when gp_seq passes their tag.",
        set_by: &[
            "rcu_segcblist_advance",
            "rcu_segcblist_accelerate",
            "srcu_gp_start_if_needed",
        ],
        read_by: &["srcu_invoke_callbacks", "srcu_gp_start"],
        normal: "Callbacks pass NEXT → WAIT → DONE and leave within a few grace periods.",
        stuck: "A callback in WAIT with a tag (ready at gp_seq) the domain never reaches.",
        json: &[
            "domains[].callbacks[]",
            "domains[].callbacks[].segment",
            "domains[].callbacks[].gp_seq",
            "domains[].callbacks[].cpu",
        ],
    },
    FieldDoc {
        key: "srcu.gp_work",
        label: "GP work",
        members: &[
            m("srcu_struct", "work", IN_STRUCT),
            m("srcu_usage", "work", IN_USAGE),
        ],
        derived: None,
        meaning: "The delayed work that drives the grace period: process_srcu() runs srcu_advance_state() and, while readers remain, requeues itself (srcu_reschedule()) after srcu_get_delay() jiffies. Its timer and pending bit say whether the next check is queued.",
        set_by: &["srcu_funnel_gp_start", "srcu_reschedule", "process_srcu"],
        read_by: &["process_srcu", "srcu_delay_timer"],
        normal: "Pending with its timer armed while a grace period runs; idle otherwise.",
        stuck: "Pending and re-armed forever: the work runs but readers never drain. Not pending while gp_seq is in SCAN1/SCAN2 would mean nobody drives the grace period.",
        json: &["domains[].gp_work"],
    },
    FieldDoc {
        key: "srcu.waiters",
        label: "waiter",
        members: &[],
        derived: Some(
            "the tasks the queued wakeme_after_rcu callbacks complete (struct rcu_synchronize.completion)",
        ),
        meaning: "Tasks inside synchronize_srcu(): each queued a wakeme_after_rcu callback embedded in an rcu_synchronize on its stack and sleeps on its completion until that callback runs after the grace period.",
        set_by: &["__synchronize_srcu", "synchronize_srcu"],
        read_by: &["wakeme_after_rcu"],
        normal: "None, or tasks that leave within milliseconds.",
        stuck: "Tasks in D state here for seconds: they wait for the grace period, which waits for the readers.",
        json: &["domains[].waiters[]", "domains[].callbacks[].wakes[]"],
    },
];
