//! Semantic damages for the corruption corpus: kernel objects the readers walk, corrupted
//! in an ELF dump on purpose — pointers into nowhere, cycles, absurd counts — the way memory
//! corrupted by the bug being chased looks. Each object is found by a C expression (several
//! spellings where layouts differ between releases) on the clean dump.

use super::corpus::{NOWHERE, Recipe, elf_loads, kva_offset, lvalue};
use quiesce::kernel::Kernel;
use std::path::Path;

/// What is written over the object.
enum Bad {
    /// An 8-byte pointer into nowhere.
    Nowhere,
    /// An 8-byte pointer to the object itself (a list that loops on one entry).
    ToItself,
    /// An 8-byte value (another list entry: a cycle).
    Ptr(u64),
    /// `width` bytes of 0xff: an absurd count or mask.
    AllOnes(usize),
    /// Bytes as given.
    Bytes(Vec<u8>),
}

struct Target {
    kind: &'static str,
    name: &'static str,
    spellings: Vec<String>,
    bad: Bad,
}

fn t(kind: &'static str, name: &'static str, spellings: &[&str], bad: Bad) -> Target {
    Target {
        kind,
        name,
        spellings: spellings.iter().map(|s| s.to_string()).collect(),
        bad,
    }
}

/// The semantic recipes for the ELF dump `base` that `k` has open, and the damages its
/// layout does not allow (with why).
pub fn semantic(base: &Path, k: &Kernel) -> (Vec<Recipe>, Vec<String>) {
    let loads = elf_loads(base);
    let mut targets = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let tasks = k.tasks().map(|t| t.tasks).unwrap_or_default();
    let procs: Vec<_> = tasks
        .iter()
        .filter(|t| t.pid == t.tgid && t.pid > 0)
        .collect();
    let task = |addr: u64, m: &str| format!("&((struct task_struct *){addr:#x})->{m}");
    if procs.len() > 40 {
        let (victim, earlier) = (procs[40], procs[30]);
        let next = task(victim.addr, "tasks.next");
        targets.push(t("task-list", "nowhere", &[&next], Bad::Nowhere));
        targets.push(t("task-list", "self", &[&next], Bad::ToItself));
        if let Some((at, _)) = lvalue(k, &[task(earlier.addr, "tasks")]) {
            targets.push(t("task-list", "cycle", &[&next], Bad::Ptr(at)));
        }
    }
    targets.push(t(
        "task-list",
        "head-nowhere",
        &["&init_task.tasks.next"],
        Bad::Nowhere,
    ));
    if let Some(h) = tasks.iter().find(|t| t.st == "UN") {
        targets.push(t(
            "task",
            "stack-nowhere",
            &[&task(h.addr, "stack")],
            Bad::Nowhere,
        ));
        targets.push(t(
            "task",
            "comm-garbage",
            &[&task(h.addr, "comm")],
            Bad::Bytes(vec![0xff; 16]),
        ));
        targets.push(t(
            "task",
            "state-absurd",
            &[&task(h.addr, "__state"), &task(h.addr, "state")],
            Bad::AllOnes(4),
        ));
    }

    // The module list: the first module's list.next.
    if let Some(first) = k.eval_int("modules.next").map(|v| v as u64) {
        let next = format!("&((struct list_head *){first:#x})->next");
        targets.push(t("module-list", "nowhere", &[&next], Bad::Nowhere));
        targets.push(t("module-list", "self", &[&next], Bad::ToItself));
    }

    // A mutex's wait list and owner (the test module's ABBA pair). 7.x's mutex keeps a
    // pointer to the first waiter of a headless ring (`first_waiter`) where older kernels
    // have the `wait_list` head; both are spelled, the first that evaluates is damaged.
    targets.push(t(
        "wait-list",
        "nowhere",
        &["&qh_mutex_a.wait_list.next", "&qh_mutex_a.first_waiter"],
        Bad::Nowhere,
    ));
    // The first waiter's list_head: the wait list's first entry, or 7.x's first_waiter's
    // own `list`.
    let next = match k.eval_int("qh_mutex_a.wait_list.next") {
        Some(w) => Some(format!("&((struct list_head *){:#x})->next", w as u64)),
        None => k
            .eval_int("qh_mutex_a.first_waiter")
            .map(|w| format!("&((struct mutex_waiter *){:#x})->list.next", w as u64)),
    };
    match next {
        Some(next) => targets.push(t("wait-list", "self", &[&next], Bad::ToItself)),
        None => skipped
            .push("wait-list/self: qh_mutex_a has neither wait_list.next nor first_waiter".into()),
    }
    targets.push(t(
        "wait-list",
        "owner-nowhere",
        &["&qh_mutex_a.owner.counter"],
        Bad::Nowhere,
    ));

    // An srcu_struct: its node pointer (moved to srcu_usage in 6.3, commit 95433f726301
    // "srcu: Begin offloading srcu_struct fields to srcu_update"), its per-CPU data, its
    // index.
    targets.push(t(
        "srcu",
        "node-nowhere",
        &["&quiesce_srcu.srcu_sup->node", "&quiesce_srcu.node"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "srcu",
        "sda-nowhere",
        &["&quiesce_srcu.sda"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "srcu",
        "gp-seq-absurd",
        &[
            "&quiesce_srcu.srcu_sup->srcu_gp_seq",
            "&quiesce_srcu.srcu_gp_seq",
        ],
        Bad::AllOnes(8),
    ));

    // rcu_state's tree.
    targets.push(t(
        "rcu-node",
        "qsmask-absurd",
        &["&rcu_state.node[0].qsmask"],
        Bad::AllOnes(8),
    ));
    targets.push(t(
        "rcu-node",
        "level-nowhere",
        &["&rcu_state.level[0]"],
        Bad::Nowhere,
    ));
    if let Some((node, _)) = lvalue(k, &["&rcu_state.node[0]".to_string()]) {
        let parent = &["&rcu_state.node[0].parent"];
        targets.push(t("rcu-node", "parent-self", parent, Bad::Ptr(node)));
    }
    targets.push(t(
        "rcu-node",
        "gp-tasks-nowhere",
        &["&rcu_state.node[0].gp_tasks"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "rcu-node",
        "blkd-nowhere",
        &["&rcu_state.node[0].blkd_tasks.next"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "rcu-node",
        "ncpus-absurd",
        &["&rcu_state.ncpus"],
        Bad::AllOnes(4),
    ));

    // The printk ring.
    targets.push(t(
        "printk",
        "count-bits-absurd",
        &["&prb->desc_ring.count_bits"],
        Bad::Bytes(60u32.to_le_bytes().to_vec()),
    ));
    targets.push(t(
        "printk",
        "descs-nowhere",
        &["&prb->desc_ring.descs"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "printk",
        "text-nowhere",
        &["&prb->text_data_ring.data"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "printk",
        "record-lpos-absurd",
        &["&prb->desc_ring.descs[3].text_blk_lpos"],
        Bad::AllOnes(16),
    ));
    targets.push(t(
        "printk",
        "head-absurd",
        &["&prb->desc_ring.head_id.counter"],
        Bad::AllOnes(8),
    ));

    // Per-CPU areas and run queues.
    targets.push(t(
        "cpu",
        "per-cpu-offset-nowhere",
        &["&__per_cpu_offset[1]"],
        Bad::Nowhere,
    ));
    targets.push(t(
        "cpu",
        "rq-curr-nowhere",
        &["&per_cpu(runqueues, 0).curr"],
        Bad::Nowhere,
    ));

    let mut out = Vec::new();
    for tg in targets {
        let Some((at, spelling)) = lvalue(k, &tg.spellings) else {
            skipped.push(format!(
                "{}/{}: none of {:?} evaluates",
                tg.kind, tg.name, tg.spellings
            ));
            continue;
        };
        let (bytes, what) = match tg.bad {
            Bad::Nowhere => (
                NOWHERE.to_le_bytes().to_vec(),
                format!("{spelling} = {NOWHERE:#x}"),
            ),
            Bad::ToItself => (at.to_le_bytes().to_vec(), format!("{spelling} = itself")),
            Bad::Ptr(p) => (p.to_le_bytes().to_vec(), format!("{spelling} = {p:#x}")),
            Bad::AllOnes(w) => (vec![0xff; w], format!("{spelling}: {w} bytes of 0xff")),
            Bad::Bytes(b) => {
                let what = format!("{spelling} = {:02x?}", b);
                (b, what)
            }
        };
        let Some(off) = kva_offset(k, &loads, at, bytes.len() as u64) else {
            skipped.push(format!(
                "{}/{}: {at:#x} is not in the ELF file",
                tg.kind, tg.name
            ));
            continue;
        };
        let mut r = Recipe::new(tg.kind, base, tg.name, what);
        r.patches = vec![(off, bytes)];
        out.push(r);
    }
    (out, skipped)
}
