//! The types of the global variables quiesce reads, for the dump-only source.
//!
//! The kernel's BTF describes per-CPU variables (a `VAR` in the `.data..percpu` `DATASEC`)
//! and no other global: pahole emits only those by default. kallsyms says where a global
//! is, not what it is. So the globals quiesce itself reads by name, and the ones `print`
//! is most often asked for, get their C type here, each with the kernel declaration it
//! copies (file, and the commit where it changed). The type names are resolved through
//! the dump's BTF, so struct layouts still come from the kernel itself; only the outer
//! type (`struct rcu_state`, `unsigned long`, `struct workqueue_struct *`) is written down.
//!
//! A global missing here has no type in dump-only mode: `print` says so and suggests a
//! cast (`*(struct foo *)&foo`); everything quiesce decodes itself goes through this table.
//! Array lengths that depend on the configuration (`NR_CPUS`) are left open (`[]`): the
//! readers bound their own indices.

/// (variable, C type, declaration).
pub const GLOBALS: &[(&str, &str, &str)] = &[
    // Tasks, CPUs, time.
    (
        "init_task",
        "struct task_struct",
        "init/init_task.c: struct task_struct init_task",
    ),
    (
        "init_uts_ns",
        "struct uts_namespace",
        "init/version.c: struct uts_namespace init_uts_ns",
    ),
    (
        "linux_banner",
        "const char []",
        "init/version.c: const char linux_banner[]",
    ),
    (
        "jiffies",
        "volatile unsigned long",
        "include/linux/jiffies.h: extern unsigned long volatile jiffies (an alias of jiffies_64 \
         made by the linker script on 64-bit)",
    ),
    ("jiffies_64", "u64", "kernel/time/timer.c: u64 jiffies_64"),
    (
        "shadow_timekeeper",
        "struct timekeeper",
        "kernel/time/timekeeping.c: static struct timekeeper shadow_timekeeper (kernels \
         before struct tk_data, which holds it as a member)",
    ),
    (
        "timekeeper_data",
        "struct tk_data []",
        "kernel/time/timekeeping.c: static struct tk_data timekeeper_data[TIMEKEEPERS_MAX]",
    ),
    (
        "avenrun",
        "unsigned long [3]",
        "kernel/sched/loadavg.c: unsigned long avenrun[3]",
    ),
    (
        "tainted_mask",
        "unsigned long",
        "kernel/panic.c: unsigned long tainted_mask",
    ),
    (
        "nr_node_ids",
        "unsigned int",
        "mm/page_alloc.c (mm/mm_init.c from 6.4): unsigned int nr_node_ids",
    ),
    (
        "node_data",
        "struct pglist_data *[]",
        "arch/x86/mm/numa.c: struct pglist_data *node_data[MAX_NUMNODES] (NUMA kernels)",
    ),
    (
        "contig_page_data",
        "struct pglist_data",
        "mm/memblock.c: struct pglist_data contig_page_data (kernels without NUMA)",
    ),
    (
        "cpu_khz",
        "unsigned int",
        "arch/x86/kernel/tsc.c: unsigned int cpu_khz",
    ),
    (
        "tick_nsec",
        "unsigned long",
        "kernel/time/ntp.c: unsigned long tick_nsec",
    ),
    (
        "clocksource_jiffies",
        "struct clocksource",
        "kernel/time/jiffies.c: static struct clocksource clocksource_jiffies (HZ on kernels \
         without tick_nsec)",
    ),
    (
        "nr_cpu_ids",
        "unsigned int",
        "kernel/smp.c: unsigned int nr_cpu_ids",
    ),
    (
        "__per_cpu_offset",
        "unsigned long []",
        "arch/x86/kernel/setup_percpu.c: unsigned long __per_cpu_offset[NR_CPUS]",
    ),
    (
        "max_pfn",
        "unsigned long",
        "mm/memblock.c: unsigned long max_pfn",
    ),
    (
        "page_offset_base",
        "unsigned long",
        "arch/x86/kernel/head64.c: unsigned long page_offset_base",
    ),
    (
        "vmalloc_base",
        "unsigned long",
        "arch/x86/kernel/head64.c: unsigned long vmalloc_base",
    ),
    (
        "vmemmap_base",
        "unsigned long",
        "arch/x86/kernel/head64.c: unsigned long vmemmap_base",
    ),
    (
        "system_wq",
        "struct workqueue_struct *",
        "kernel/workqueue.c: struct workqueue_struct *system_wq",
    ),
    // The log.
    (
        "prb",
        "struct printk_ringbuffer *",
        "kernel/printk/printk.c: struct printk_ringbuffer *prb (5.10+, commit 896fbe20b4e2)",
    ),
    // Modules and their BTF.
    (
        "modules",
        "struct list_head",
        "kernel/module/main.c (kernel/module.c before 5.19): LIST_HEAD(modules)",
    ),
    (
        "btf_modules",
        "struct list_head",
        "kernel/bpf/btf.c: static LIST_HEAD(btf_modules)",
    ),
    // Tree RCU.
    (
        "rcu_state",
        "struct rcu_state",
        "kernel/rcu/tree.c: static struct rcu_state rcu_state (4.20+, commit b8c78d3afc6a)",
    ),
    (
        "rcu_num_nodes",
        "int",
        "kernel/rcu/tree.c: int rcu_num_nodes",
    ),
    (
        "gp_state_names",
        "const char *const []",
        "kernel/rcu/tree.h: static const char * const gp_state_names[]",
    ),
    // SRCU.
    (
        "srcu_size_state_name",
        "const char *const []",
        "kernel/rcu/srcutree.c: static const char * const srcu_size_state_name[] (5.19+)",
    ),
    // Static srcu_structs (DEFINE_SRCU / DEFINE_STATIC_SRCU, or a plain definition later set
    // up by init_srcu_struct()). Names not in a kernel cost nothing.
    (
        "console_srcu",
        "struct srcu_struct",
        "kernel/printk/printk.c: DEFINE_STATIC_SRCU(console_srcu) (6.2+)",
    ),
    (
        "dax_srcu",
        "struct srcu_struct",
        "drivers/dax/super.c: DEFINE_STATIC_SRCU(dax_srcu)",
    ),
    (
        "device_links_srcu",
        "struct srcu_struct",
        "drivers/base/core.c: DEFINE_STATIC_SRCU(device_links_srcu)",
    ),
    (
        "dquot_srcu",
        "struct srcu_struct",
        "fs/quota/dquot.c: DEFINE_STATIC_SRCU(dquot_srcu)",
    ),
    (
        "eventfs_srcu",
        "struct srcu_struct",
        "fs/tracefs/event_inode.c: DEFINE_STATIC_SRCU(eventfs_srcu) (6.6+)",
    ),
    (
        "fsnotify_mark_srcu",
        "struct srcu_struct",
        "fs/notify/mark.c: struct srcu_struct fsnotify_mark_srcu",
    ),
    (
        "netpoll_srcu",
        "struct srcu_struct",
        "net/core/netpoll.c: DEFINE_STATIC_SRCU(netpoll_srcu) (until 6.4)",
    ),
    (
        "pmus_srcu",
        "struct srcu_struct",
        "kernel/events/core.c: static struct srcu_struct pmus_srcu",
    ),
    (
        "rcu_tasks_trace_srcu_struct",
        "struct srcu_struct",
        "kernel/rcu/tasks.h: Tasks Trace RCU over SRCU-fast (7.x)",
    ),
    (
        "srcu",
        "struct srcu_struct",
        "mm/mmu_notifier.c: DEFINE_STATIC_SRCU(srcu)",
    ),
    (
        "tasks_rcu_exit_srcu",
        "struct srcu_struct",
        "kernel/rcu/tasks.h: DEFINE_STATIC_SRCU(tasks_rcu_exit_srcu) (until 6.6)",
    ),
    (
        "tomoyo_ss",
        "struct srcu_struct",
        "security/tomoyo/tomoyo.c: DEFINE_SRCU(tomoyo_ss)",
    ),
    (
        "tracepoint_srcu",
        "struct srcu_struct",
        "kernel/tracepoint.c: DEFINE_SRCU(tracepoint_srcu)",
    ),
    (
        "unwind_srcu",
        "struct srcu_struct",
        "kernel/unwind/deferred.c: DEFINE_STATIC_SRCU(unwind_srcu) (6.17+)",
    ),
    (
        "uretprobes_srcu",
        "struct srcu_struct",
        "kernel/events/uprobes.c: DEFINE_STATIC_SRCU(uretprobes_srcu) (6.12+)",
    ),
    (
        "vclock_srcu",
        "struct srcu_struct",
        "drivers/ptp/ptp_vclock.c: DEFINE_STATIC_SRCU(vclock_srcu)",
    ),
    (
        "vmcore_cb_srcu",
        "struct srcu_struct",
        "fs/proc/vmcore.c: DEFINE_STATIC_SRCU(vmcore_cb_srcu)",
    ),
    (
        "wakeup_srcu",
        "struct srcu_struct",
        "drivers/base/power/wakeup.c: DEFINE_STATIC_SRCU(wakeup_srcu)",
    ),
];

/// The C type the table gives `name` (asked once per symbol when every symbol is listed:
/// a hash lookup, not a scan of the table).
pub fn type_of(name: &str) -> Option<&'static str> {
    static BY_NAME: std::sync::OnceLock<std::collections::HashMap<&str, &str>> =
        std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| GLOBALS.iter().map(|g| (g.0, g.1)).collect())
        .get(name)
        .copied()
}

/// A C type spelling split into its parts: qualifiers, the base name, pointer depth and
/// array suffix (`Some(None)` for `[]`, `Some(Some(n))` for `[n]`).
#[derive(Debug, PartialEq, Eq)]
pub struct Spelled<'a> {
    pub constant: bool,
    pub volatile: bool,
    pub base: String,
    pub stars: usize,
    pub array: Option<Option<u64>>,
    #[allow(dead_code)]
    pub text: &'a str,
}

pub fn parse(text: &str) -> Option<Spelled<'_>> {
    let mut s = text.trim();
    let mut array = None;
    if let Some(i) = s.find('[') {
        let inner = s[i + 1..].strip_suffix(']')?.trim();
        array = Some(if inner.is_empty() {
            None
        } else {
            Some(inner.parse().ok()?)
        });
        s = s[..i].trim();
    }
    // `const char *const`: a const on the pointer itself changes nothing for reading.
    let s = s.strip_suffix("const").map(str::trim).unwrap_or(s);
    let stars = s
        .chars()
        .rev()
        .take_while(|c| *c == '*' || c.is_whitespace())
        .filter(|c| *c == '*')
        .count();
    let s = s.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let mut constant = false;
    let mut volatile = false;
    let mut words = Vec::new();
    for w in s.split_whitespace() {
        match w {
            "const" => constant = true,
            "volatile" => volatile = true,
            _ => words.push(w),
        }
    }
    if words.is_empty() {
        return None;
    }
    Some(Spelled {
        constant,
        volatile,
        base: words.join(" "),
        stars,
        array,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_parses_and_is_unique() {
        for (name, ty, decl) in GLOBALS {
            assert!(parse(ty).is_some(), "{name}: {ty}");
            assert!(decl.contains('/'), "{name}: the declaration names a file");
            assert_eq!(GLOBALS.iter().filter(|g| g.0 == *name).count(), 1, "{name}");
        }
        let p = parse("const char *const []").unwrap();
        assert_eq!(
            (p.constant, p.base.as_str(), p.stars, p.array),
            (true, "char", 1, Some(None))
        );
        let p = parse("volatile unsigned long").unwrap();
        assert_eq!(
            (p.volatile, p.base.as_str(), p.stars),
            (true, "unsigned long", 0)
        );
        let p = parse("struct workqueue_struct *").unwrap();
        assert_eq!(
            (p.base.as_str(), p.stars, p.array),
            ("struct workqueue_struct", 1, None)
        );
        assert_eq!(parse("int [4]").unwrap().array, Some(Some(4)));
        assert!(parse("[3]").is_none());
    }
}
